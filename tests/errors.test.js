// Bad input: an error that names the parameter and the problem, and nothing changed (weights, moments,
// step counts are bit for bit what they were).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Optimizer, FusedAdamError } from "../dist/src/index.js";
import { ready, rng, randomArray, firstBitDiff } from "./helpers.js";

await ready;

function stepped() {
  const rand = rng(3);
  const opt = new Optimizer(
    [
      { params: [{ name: "enc.weight", shape: [4, 3], data: randomArray(rand, 12) }], lr: 0.01 },
      { params: [{ name: "enc.bias", shape: [3], data: randomArray(rand, 3) }], lr: 0.02, weightDecay: 0 },
    ],
    { amsgrad: true },
  );
  opt.step({ "enc.weight": randomArray(rand, 12), "enc.bias": randomArray(rand, 3) });
  return opt;
}

function snapshot(opt) {
  return opt.params.map((p) => ({ step: p.step, bufs: [p.data, p.grad, p.expAvg, p.expAvgSq, p.maxExpAvgSq].map((a) => a.slice()) }));
}

function assertUnchanged(opt, snap) {
  opt.params.forEach((p, i) => {
    assert.is(p.step, snap[i].step, `${p.name} step count changed`);
    [p.data, p.grad, p.expAvg, p.expAvgSq, p.maxExpAvgSq].forEach((a, j) => assert.is(firstBitDiff(a, snap[i].bufs[j]), -1, `${p.name} buffer ${j} changed`));
  });
}

// Errors are matched by their stable code; the message only has to name what it is about.
function rejects(fn, code, names) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof FusedAdamError, `expected a FusedAdamError, got ${err}`);
  assert.is(err.code, code, err.message);
  if (names) assert.ok(err.message.includes(names), `the message names ${names}: ${err.message}`);
}

const stepCases = [
  ["a gradient of the wrong length", (o) => o.step({ "enc.weight": new Float32Array(11) }), "BAD_SHAPE", "enc.weight"],
  ["a gradient for an unknown name", (o) => o.step({ "enc.weight": new Float32Array(12), "dec.bias": [1] }), "UNKNOWN_NAME", "dec.bias"],
  ["lr NaN", (o) => (o.paramGroups[1].lr = NaN, o.step()), "BAD_OPTION", "paramGroups[1].lr"],
  ["negative lr", (o) => (o.paramGroups[0].lr = -1e-3, o.step()), "BAD_OPTION", "paramGroups[0].lr"],
  ["infinite lr", (o) => (o.paramGroups[0].lr = Infinity, o.step()), "BAD_OPTION", "lr"],
  ["eps = 0", (o) => (o.paramGroups[0].eps = 0, o.step()), "BAD_OPTION", "paramGroups[0].eps"],
  ["eps < 0", (o) => (o.paramGroups[1].eps = -1e-8, o.step()), "BAD_OPTION", "paramGroups[1].eps"],
  ["beta1 = 1", (o) => (o.paramGroups[0].betas[0] = 1, o.step()), "BAD_OPTION", "betas[0]"],
  ["beta2 < 0", (o) => (o.paramGroups[0].betas[1] = -0.5, o.step()), "BAD_OPTION", "betas[1]"],
  ["beta NaN", (o) => (o.paramGroups[0].betas[1] = NaN, o.step()), "BAD_OPTION", "betas[1]"],
  ["negative weight decay", (o) => (o.paramGroups[0].weightDecay = -0.1, o.step()), "BAD_OPTION", "weightDecay"],
  ["loadState with a wrong length", (o) => o.loadState({ params: { "enc.bias": { expAvg: new Float32Array(4) } } }), "BAD_SHAPE", "enc.bias"],
  ["loadState of an unknown name", (o) => o.loadState({ params: { "enc.weight": { step: 9 }, nope: { step: 1 } } }), "UNKNOWN_NAME", "nope"],
  ["loadState with a fractional step", (o) => o.loadState({ params: { "enc.weight": { step: 1.5 } } }), "BAD_STATE", "step"],
];

for (const [what, fn, code, names] of stepCases) {
  test(`${what}: a clear error, and nothing changes`, () => {
    const opt = stepped();
    const snap = snapshot(opt);
    rejects(() => fn(opt), code, names);
    assertUnchanged(opt, snap);
    opt.dispose();
  });
}

test("amsgrad turned on after creation: a clear error, nothing changes", () => {
  const opt = new Optimizer([{ name: "w", shape: [2], data: [1, 2] }]);
  opt.paramGroups[0].amsgrad = true;
  rejects(() => opt.step({ w: [1, 1] }), "BAD_OPTION", "amsgrad");
  assert.equal([...opt.param("w").data], [1, 2]);
  assert.is(opt.param("w").step, 0);
  opt.dispose();
});

test("construction errors name the parameter", () => {
  rejects(() => new Optimizer([{ name: "w", shape: [2] }, { name: "w", shape: [3] }]), "BAD_NAME", "w");
  rejects(() => new Optimizer([{ name: "w", shape: [2, 3], data: [1, 2, 3] }]), "BAD_SHAPE", "w");
  rejects(() => new Optimizer([{ name: "w", shape: [2, -1] }]), "BAD_SHAPE", "w");
  rejects(() => new Optimizer([{ name: "", shape: [2] }]), "BAD_NAME", "name");
  rejects(() => new Optimizer([{ name: "w", shape: [2] }], { lr: -1 }), "BAD_OPTION", "lr");
  rejects(() => new Optimizer([{ name: "w", shape: [2] }], { betas: [0.9, 1] }), "BAD_OPTION", "betas[1]");
  rejects(() => new Optimizer([{ name: "w", shape: [2] }], { eps: 0 }), "BAD_OPTION", "eps");
  rejects(() => new Optimizer([{ name: "w", shape: [2] }], { convention: "adamax" }), "BAD_OPTION", "adamax");
  rejects(() => new Optimizer([{ name: "w", shape: [2] }], { convention: { base: "bert", decay: "sideways" } }), "BAD_OPTION", "sideways");
  // optax's eps_root keeps the denominator positive, so eps = 0 is allowed there.
  const ok = new Optimizer([{ name: "w", shape: [2] }], { convention: "optax-adamw", eps: 0, epsRoot: 1e-8 });
  ok.step({ w: [1, 1] });
  assert.ok(ok.param("w").data.every(Number.isFinite));
  ok.dispose();
});

test("running out of the 4 GiB wasm32 memory: an error, and the engine still works", () => {
  const keep = stepped();
  const snap = snapshot(keep);
  rejects(() => new Optimizer([{ name: "huge", shape: [1 << 28, 2] }]), "OUT_OF_MEMORY");
  rejects(() => new Optimizer([{ name: "a", shape: [1 << 27] }, { name: "b", shape: [1 << 27] }]), "OUT_OF_MEMORY");
  assertUnchanged(keep, snap);
  keep.step();
  keep.dispose();
});

test.run();
