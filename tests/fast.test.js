// Fast mode (`convention: { base, fast: true }`): the bias corrections folded into the step size and epsilon,
// one division per element. Not bit-exact, so it is held to the golden README's tight bound instead: every
// golden trace (golden/seed, with torch_scalar/) replayed in fast mode, teacher-forced within
// 1e-6·max|want| or 4 ulp per value (exact agreement on non-finite values), free-running within the loose
// bound, with the replay of tests/replay.js. Conformance itself runs the exact mode only.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { replay } from "./replay.js";
import { Optimizer, conventions } from "../dist/src/index.js";
import { ready, rng, randomArray, firstBitDiff } from "./helpers.js";

await ready;
const dir = fileURLToPath(new URL("../golden/seed/", import.meta.url));
const files = [
  ...readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "manifest.json").map((f) => dir + f),
  ...readdirSync(dir + "torch_scalar").filter((f) => f.endsWith(".json")).map((f) => `${dir}torch_scalar/${f}`),
];

const worst = { ulp: 0, rel: 0, where: "" };
let changed = 0;
for (const file of files) {
  const name = file.slice(dir.length);
  test(`fast mode within the tight bound: ${name}`, () => {
    const trace = JSON.parse(readFileSync(file, "utf8"));
    const r = replay(trace, { fma: trace.kernel_variant === "avx2", fast: true });
    assert.ok(r.teacher.ok, `teacher-forced outside the tight bound: ${JSON.stringify(r.teacher)}`);
    assert.ok(r.free.ok, `free-running outside the loose bound: ${JSON.stringify(r.free)}`);
    assert.is(r.decay.length, 0);
    assert.is(r.lr.length, 0, r.lr.join("; "));
    if (r.teacher.ulp > 0) changed++;
    if (r.teacher.rel > worst.rel) Object.assign(worst, { ulp: r.teacher.ulp, rel: r.teacher.rel, where: name });
  });
}

test("fast mode really takes the other path: it differs from the exact recipe on the torch traces", () => {
  // (If `fast` were ignored, every exact trace would replay at 0 ulp.)
  assert.ok(changed >= 10, `only ${changed} traces differ from the exact result in fast mode`);
  console.log(`fast mode: ${changed} of ${files.length} traces differ from exact; worst teacher-forced ${worst.rel.toExponential(1)} of max|want| (${worst.ulp} ulp) in ${worst.where}`);
});

test("fast mode changes nothing where the convention has no division to fold (epsilon hat, no bias correction)", () => {
  const run = (convention) => {
    const rand = rng(3);
    const opt = new Optimizer([{ name: "w", shape: [67], data: randomArray(rand, 67) }], { convention, lr: 0.01, weightDecay: 0.01 });
    for (let s = 0; s < 4; s++) opt.step({ w: randomArray(rand, 67) });
    const out = opt.param("w").data.slice();
    opt.dispose();
    return out;
  };
  for (const name of ["tf1-adam", "hf-adamw", "mxnet-adam", "caffe-adam", "bert"]) {
    assert.is(firstBitDiff(run(name), run({ base: name, fast: true })), -1, name);
  }
  assert.is.not(firstBitDiff(run("torch-adamw"), run({ base: "torch-adamw", fast: true })), -1);
  assert.is(conventions["torch-adamw"].fast, false);
});

test("fast is validated like the other knobs", () => {
  assert.throws(() => new Optimizer([{ name: "w", shape: [2] }], { convention: { base: "torch-adamw", fast: "yes" } }), (e) => e.code === "BAD_OPTION" && /convention\.fast/.test(e.message));
});

test.run();
