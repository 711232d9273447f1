// The README's convention table is the presets' own (scripts/conventions-table.js prints it).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

test("README convention table matches the presets", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const table = readme.split("<!-- conventions:start -->")[1].split("<!-- conventions:end -->")[0].trim();
  const want = execFileSync(process.execPath, [fileURLToPath(new URL("../scripts/conventions-table.js", import.meta.url))], { encoding: "utf8" }).trim();
  assert.is(table, want);
});

test.run();
