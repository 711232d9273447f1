// The public optimizer API: zero-copy views, steps, groups, state, growth of memory, dispose.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Optimizer } from "../dist/src/index.js";
import { ready, rng, randomArray, firstBitDiff } from "./helpers.js";

await ready;
const f = Math.fround;

/**
 * Straightforward PyTorch AdamW, torch 2.x with ATen's scalar kernels (golden/real/torch/README.md: the
 * first moment is exp_avg.lerp_(grad, 1-beta1)), one element at a time.
 */
function referenceAdamW(p, g, m, v, lr, b1, b2, eps, wd, t) {
  const bc1 = 1 - b1 ** t;
  const bc2 = 1 - b2 ** t;
  const S = f(-(lr / bc1));
  const R = f(Math.sqrt(bc2));
  for (let i = 0; i < p.length; i++) {
    p[i] = f(p[i] * f(1 - lr * wd));
    m[i] = f(m[i] + f(f(1 - b1) * f(g[i] - m[i])));
    v[i] = f(f(v[i] * f(b2)) + f(f(f(1 - b2) * g[i]) * g[i]));
    const den = f(f(f(Math.sqrt(v[i])) / R) + f(eps));
    p[i] = f(p[i] + f(f(S * m[i]) / den));
  }
}

test("AdamW steps equal a straightforward float32 implementation, bit for bit", () => {
  const rand = rng(1);
  const n = 203;
  const init = randomArray(rand, n);
  const opt = new Optimizer([{ name: "w", shape: [7, 29], data: init }], { lr: 0.01, weightDecay: 0.1, betas: [0.9, 0.99], eps: 1e-8 });
  const p = Float32Array.from(init);
  const m = new Float32Array(n);
  const v = new Float32Array(n);
  for (let t = 1; t <= 6; t++) {
    const g = randomArray(rand, n);
    opt.step({ w: g });
    // b ** t with 0.9 and 0.99 and t <= 6 is exact enough here: the float32 scalars do not change.
    referenceAdamW(p, g, m, v, 0.01, 0.9, 0.99, 1e-8, 0.1, t);
    assert.is(firstBitDiff(opt.param("w").data, p), -1, `weights at step ${t}`);
    assert.is(firstBitDiff(opt.param("w").expAvg, m), -1);
    assert.is(firstBitDiff(opt.param("w").expAvgSq, v), -1);
    assert.is(opt.param("w").step, t);
  }
  opt.dispose();
});

test("views are zero-copy: writes through grad and data are what step() uses", () => {
  const opt = new Optimizer([{ name: "a", shape: [5] }, { name: "b", shape: [3] }], { lr: 0.1, convention: "torch-adam", weightDecay: 0 });
  const a = opt.param("a");
  assert.equal([...a.data], [0, 0, 0, 0, 0]);
  a.data.set([1, 2, 3, 4, 5]);
  a.grad.fill(1);
  opt.step();
  // Adam's first step moves every weight by lr against the gradient's sign.
  assert.equal([...a.data].map((x) => Math.round(x * 1e6) / 1e6), [0.9, 1.9, 2.9, 3.9, 4.9]);
  assert.equal([...opt.param("b").data], [0, 0, 0]);
  assert.is(opt.state().params.a.param[0], a.data[0]);
  opt.zeroGrad();
  assert.ok(a.grad.every((x) => x === 0));
  opt.dispose();
});

test("step() takes gradients as an object or a Map, copied into the grad views", () => {
  const mk = () => new Optimizer([{ name: "w", shape: [4], data: [1, 1, 1, 1] }], { lr: 0.1 });
  const x = mk();
  const y = mk();
  x.step({ w: [1, -2, 3, -4] });
  y.step(new Map([["w", new Float64Array([1, -2, 3, -4])]]));
  assert.is(firstBitDiff(x.param("w").data, y.param("w").data), -1);
  assert.equal([...x.param("w").grad], [1, -2, 3, -4]);
  x.dispose();
  y.dispose();
});

test("parameter groups take their own lr and weight decay; paramGroups is live", () => {
  const opt = new Optimizer(
    [
      { params: [{ name: "w", shape: [2], data: [1, 1] }], lr: 0.1, weightDecay: 0.5 },
      { params: [{ name: "b", shape: [2], data: [1, 1] }], lr: 0.2, weightDecay: 0 },
    ],
    { convention: "torch-adamw" },
  );
  opt.step({ w: [0, 0], b: [0, 0] });
  // Zero gradients: only the decoupled decay moves w (1 - 0.1*0.5), and b not at all.
  assert.is(opt.param("w").data[0], f(1 * f(1 - 0.1 * 0.5)));
  assert.is(opt.param("b").data[0], 1);
  opt.paramGroups[1].weightDecay = 0.25;
  opt.step({ w: [0, 0], b: [0, 0] });
  assert.is(opt.param("b").data[0], f(1 * f(1 - 0.2 * 0.25)));
  assert.equal(opt.paramGroups[0].params, ["w"]);
  opt.dispose();
});

test("a preset's name rule decides which parameters decay (BERT excludes LayerNorm and bias)", () => {
  const opt = new Optimizer(
    ["encoder/kernel", "encoder/bias", "encoder/LayerNorm/gamma", "embeddings"].map((name) => ({ name, shape: [2] })),
    { convention: "bert" },
  );
  assert.equal(opt.params.map((p) => p.decays), [true, false, false, true]);
  const own = new Optimizer([{ name: "x.bias", shape: [1] }, { name: "x.weight", shape: [2, 2] }], {
    decayRule: (name, shape) => shape.length > 1,
  });
  assert.equal(own.params.map((p) => p.decays), [false, true]);
  opt.dispose();
  own.dispose();
});

test("state() and loadState(): k steps, save, load into a fresh optimizer, continue = straight run", () => {
  for (const convention of ["torch-adamw", "tf1-adam", "tfjs-adam", "caffe-adam", { base: "torch-adam", fma: true }]) {
    const rand = rng(5);
    const init = randomArray(rand, 37);
    const grads = Array.from({ length: 8 }, () => randomArray(rand, 37));
    const mk = () => new Optimizer([{ name: "w", shape: [37], data: init }], { convention, amsgrad: true, lr: 0.01, weightDecay: 0.01 });
    const straight = mk();
    for (const g of grads) straight.step({ w: g });
    const first = mk();
    for (const g of grads.slice(0, 3)) first.step({ w: g });
    const saved = first.state();
    first.dispose();
    const resumed = mk();
    resumed.loadState(saved);
    assert.is(resumed.param("w").step, 3);
    for (const g of grads.slice(3)) resumed.step({ w: g });
    for (const k of ["data", "expAvg", "expAvgSq", "maxExpAvgSq"]) {
      assert.is(firstBitDiff(resumed.param("w")[k], straight.param("w")[k]), -1, `${JSON.stringify(convention)} ${k}`);
    }
    straight.dispose();
    resumed.dispose();
  }
});

test("views stay valid after the memory grows: getters re-derive them, values are kept", () => {
  const small = new Optimizer([{ name: "w", shape: [3], data: [1, 2, 3] }], { lr: 0.1 });
  const before = small.param("w").data;
  const big = new Optimizer([{ name: "big", shape: [4, 1 << 20] }]); // 4M floats x 4 regions: forces growth
  assert.is(before.length, 0, "the old view is detached by the growth (that is why getters re-derive)");
  const after = small.param("w").data;
  assert.equal([...after], [1, 2, 3]);
  small.step({ w: [1, 1, 1] });
  assert.ok(small.param("w").data[0] < 1);
  big.param("big").grad[12345] = 1;
  big.step();
  assert.ok(big.param("big").data[12345] < 0);
  big.dispose();
  small.dispose();
});

test("dispose() releases memory for reuse; a disposed optimizer refuses to work", () => {
  const a = new Optimizer([{ name: "w", shape: [1000] }]);
  a.dispose();
  const b = new Optimizer([{ name: "w", shape: [1000] }]);
  assert.ok(b.param("w").data.every((x) => x === 0), "reused memory starts zeroed");
  const disposed = (e) => e.code === "DISPOSED";
  assert.throws(() => a.step(), disposed);
  assert.throws(() => a.param("w").data, disposed);
  assert.throws(() => a.state(), disposed);
  a.dispose(); // twice is harmless
  b.dispose();
});

test.run();
