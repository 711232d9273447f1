// Every golden trace (golden/seed, with torch_scalar/) through the public API: teacher-forced and
// free-running, exact where the golden README says a same-recipe implementation is exact.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { check } from "./replay.js";
import { ready } from "./helpers.js";

await ready;
const dir = fileURLToPath(new URL("../golden/seed/", import.meta.url));
const files = [
  ...readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "manifest.json").map((f) => dir + f),
  ...readdirSync(dir + "torch_scalar").filter((f) => f.endsWith(".json")).map((f) => `${dir}torch_scalar/${f}`),
];

test("the golden folder is there and complete", () => {
  assert.ok(files.length >= 67, `found ${files.length} traces`);
});

for (const file of files) {
  test(`golden ${file.slice(dir.length)}`, () => {
    const r = check(file, JSON.parse(readFileSync(file, "utf8")));
    assert.ok(r.pass, JSON.stringify(r));
    if (r.exactRequired) assert.is(r.teacherForced.maxUlp, 0);
    assert.is(r.decayRule.length, 0);
  });
}

test.run();
