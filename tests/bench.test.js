// The benchmark's smoke run: every case once at small size; fused-adam and every peer must agree.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test("bench smoke: every peer agrees with fused-adam on every case", () => {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL("../bench/smoke.js", import.meta.url))], { encoding: "utf8" });
  assert.is(r.status, 0, r.stdout + r.stderr);
});

test.run();
