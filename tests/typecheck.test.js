// npm run typecheck inside npm test: tsc over src/ and asc over assembly/ (scripts/typecheck.js).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test("tsc over src/ and asc over assembly/ (every build target) report no error", () => {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL("../scripts/typecheck.js", import.meta.url))], { encoding: "utf8" });
  assert.is(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /typecheck: ok/);
});

test.run();
