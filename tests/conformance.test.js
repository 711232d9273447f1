// Every golden trace (golden/seed, with torch_scalar/, and the real runs under golden/real/) through the
// public API: teacher-forced and free-running, exact where the golden README says a same-recipe
// implementation is exact.
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

// golden/real/<framework>/...: the traces the generators of golden/generate/ made from real runs.
const real = fileURLToPath(new URL("../golden/real/", import.meta.url));
const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? walk(`${d}${e.name}/`) : e.name.endsWith(".json") ? [`${d}${e.name}`] : []);
const realFiles = walk(real);

test("the golden folder is there and complete", () => {
  assert.ok(files.length >= 67, `found ${files.length} traces`);
});

test("the real-run traces are there (golden/real/optax: 34)", () => {
  assert.ok(realFiles.filter((f) => f.includes("/optax/")).length >= 34, `found ${realFiles.length} real traces`);
});

test("the real-run traces are there (golden/real/torch: 42 scenarios x 3 implementations x 2 flavours)", () => {
  assert.ok(realFiles.filter((f) => f.includes("/torch/")).length >= 252, `found ${realFiles.length} real traces`);
});

for (const file of [...files, ...realFiles]) {
  test(`golden ${file.startsWith(dir) ? file.slice(dir.length) : file.slice(real.length - "real/".length)}`, () => {
    const r = check(file, JSON.parse(readFileSync(file, "utf8")));
    assert.ok(r.pass, JSON.stringify(r));
    if (r.exactRequired) assert.is(r.teacherForced.maxUlp, 0);
    assert.is(r.decayRule.length, 0);
  });
}

test.run();
