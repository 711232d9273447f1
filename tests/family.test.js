// The algorithm option (src/algorithms.ts): Lion's state (one moment, so three buffers instead of four),
// its step against an independent float32 transcription, its checkpoints (torch names, the algorithm in
// the metadata) and its validation; Adamax's state names and step. The golden traces (golden/real/family/) check it against real runs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Optimizer, FusedAdamError, decodeSafetensors } from "../dist/src/index.js";
import { ready, rng, randomArray } from "./helpers.js";

await ready;
const f = Math.fround;

function lion(extra = {}, seed = 1) {
  const rand = rng(seed);
  return new Optimizer(
    [{ name: "w", shape: [5, 7], data: randomArray(rand, 35) }, { name: "b", shape: [7], data: randomArray(rand, 7) }],
    { algorithm: "lion", lr: 3e-3, weightDecay: 0.5, ...extra },
  );
}

test("Lion keeps one moment: state(), loadState and the expAvgSq view say so", () => {
  const opt = lion();
  const s = opt.state();
  assert.is(s.algorithm, "lion");
  assert.equal(Object.keys(s.params.w).sort(), ["expAvg", "param", "step"]);
  assert.throws(() => opt.param("w").expAvgSq, (e) => e instanceof FusedAdamError && /lion keeps no expAvgSq/.test(e.message));
  const before = opt.param("w").data.slice();
  assert.throws(
    () => opt.loadState({ params: { w: { param: new Float32Array(35).fill(9), expAvgSq: new Float32Array(35) } } }),
    (e) => e instanceof FusedAdamError && /"w"\.expAvgSq given but lion keeps no expAvgSq/.test(e.message),
  );
  assert.equal(opt.param("w").data, before);
  opt.dispose();
});

test("Lion with torch-style decoupled decay: the step is the float32 transcription, element by element", () => {
  const opt = lion({ betas: [0.9, 0.99] });
  const rand = rng(7);
  for (let t = 0; t < 5; t++) {
    const g = { w: randomArray(rand, 35), b: randomArray(rand, 7) };
    if (t === 2) g.b[3] = 0;
    const want = {};
    for (const p of opt.params) {
      const x = p.data.slice();
      const m = p.expAvg.slice();
      const lr = 3e-3;
      for (let i = 0; i < x.length; i++) {
        const gi = f(g[p.name][i]);
        // torch/optim/adamw.py-style shrink p *= 1 - lr*wd, then sign(b1*m + (1-b1)*g), m = b2*m + (1-b2)*g.
        let pi = f(x[i] * f(1 - lr * 0.5));
        const c = f(f(f(1 - 0.9) * gi) + f(m[i] * f(0.9)));
        const s = c > 0 ? 1 : c < 0 ? -1 : c;
        m[i] = f(f(f(1 - 0.99) * gi) + f(m[i] * f(0.99)));
        pi = f(pi + f(s * f(-lr)));
        x[i] = pi;
      }
      want[p.name] = { x, m };
    }
    opt.step(g);
    for (const p of opt.params) {
      assert.equal(p.data, want[p.name].x, `step ${t + 1} ${p.name} weights`);
      assert.equal(p.expAvg, want[p.name].m, `step ${t + 1} ${p.name} moment`);
    }
  }
  opt.dispose();
});

test("Lion checkpoints: exp_avg only, the algorithm and the frameworks' names in the metadata; Adam refuses it", () => {
  const rand = rng(3);
  const a = lion({ convention: "optax-adamw", betas: [0.95, 0.98] });
  for (let t = 0; t < 3; t++) a.step({ w: randomArray(rand, 35), b: randomArray(rand, 7) });
  const bytes = a.stateDict();
  const d = decodeSafetensors(bytes);
  assert.equal([...d.tensors.keys()].sort(), ["state.b.exp_avg", "state.b.step", "state.w.exp_avg", "state.w.step"]);
  assert.is(d.metadata.algorithm, "lion");
  assert.equal(JSON.parse(d.metadata.state_names), { exp_avg: { optax: "mu", keras: "momentum" } });
  const b = lion({ convention: "optax-adamw", betas: [0.95, 0.98] }, 99);
  b.loadStateDict(bytes);
  b.loadWeights(a.saveWeights());
  const g = { w: randomArray(rand, 35), b: randomArray(rand, 7) };
  a.step(g);
  b.step(g);
  for (const p of a.params) {
    assert.equal(b.param(p.name).data, p.data);
    assert.equal(b.param(p.name).expAvg, p.expAvg);
  }
  const adam = new Optimizer([{ name: "w", shape: [5, 7] }, { name: "b", shape: [7] }], { convention: "optax-adamw" });
  const before = adam.param("w").expAvg.slice();
  assert.throws(() => adam.loadStateDict(bytes), (e) => e instanceof FusedAdamError && /holds the state of "lion"; this optimizer runs "adam"/.test(e.message));
  assert.equal(adam.param("w").expAvg, before);
  for (const o of [a, b, adam]) o.dispose();
});

test("algorithm validation: unknown names, amsgrad, decay placements Lion has no recipe for", () => {
  const p = [{ name: "w", shape: [3] }];
  assert.throws(() => new Optimizer(p, { algorithm: "adamax9" }), (e) => e instanceof FusedAdamError && /algorithm: "adamax9" is not one of "adam", "lion", "adamax", "nadam", "radam"/.test(e.message));
  assert.throws(() => new Optimizer(p, { algorithm: "lion", amsgrad: true }), (e) => e instanceof FusedAdamError && /amsgrad: lion has no amsgrad/.test(e.message));
  assert.throws(() => new Optimizer(p, { algorithm: "lion", convention: "hf-adamw" }), (e) => e instanceof FusedAdamError && /lion takes weight decay .*"hf-adamw" puts it at "after"/.test(e.message));
  // Keras's Lion casts the betas to float32 before 1 - beta; its Adam does not (golden/real/family/README.md).
  const keras = (algorithm, convention = "keras-adamw") => {
    const o = new Optimizer(p, { algorithm, convention });
    const k = o.convention.oneMinusBeta;
    o.dispose();
    return k;
  };
  assert.equal([keras("lion"), keras("adam"), keras("lion", { base: "keras-adamw", oneMinusBeta: "f64" })], ["f32", "f64", "f64"]);
  const opt = new Optimizer(p, { algorithm: "lion" });
  assert.equal(opt.paramGroups[0].betas, [0.9, 0.99]);
  assert.is(opt.paramGroups[0].weightDecay, 1e-3);
  opt.dispose();
});

test("Adamax keeps exp_avg and exp_inf: state(), views, checkpoint names; torch's foreach step transcribed", () => {
  const rand = rng(5);
  const opt = new Optimizer([{ name: "w", shape: [9], data: randomArray(rand, 9) }], { algorithm: "adamax", convention: "torch-adam", lr: 2e-3, weightDecay: 0.1 });
  assert.equal(Object.keys(opt.state().params.w).sort(), ["expAvg", "expInf", "param", "step"]);
  assert.throws(() => opt.param("w").expAvgSq, (e) => e instanceof FusedAdamError && /adamax keeps no expAvgSq/.test(e.message));
  for (let t = 1; t <= 4; t++) {
    const g = randomArray(rand, 9);
    const p = opt.param("w");
    const x = p.data.slice(), m = p.expAvg.slice(), u = p.expInf.slice();
    // torch/optim/adamax.py, plain kernels: grad + wd*p, exp_avg.lerp_(grad, 0.1), max(b2*u, |g| + eps), p + (-lr/bc1)*m/u.
    const s = f(-(2e-3 / (1 - 0.9 ** t)));
    for (let i = 0; i < 9; i++) {
      const gi = f(f(g[i]) + f(f(0.1) * x[i]));
      m[i] = f(m[i] + f(f(0.1) * f(gi - m[i])));
      u[i] = Math.max(f(u[i] * f(0.999)), f(Math.abs(gi) + f(1e-8)));
      x[i] = f(x[i] + f(f(s * m[i]) / u[i]));
    }
    opt.step({ w: g });
    assert.equal(p.data, x, `step ${t} weights`);
    assert.equal(p.expAvg, m, `step ${t} exp_avg`);
    assert.equal(p.expInf, u, `step ${t} exp_inf`);
  }
  const d = decodeSafetensors(opt.stateDict());
  assert.equal([...d.tensors.keys()].sort(), ["state.w.exp_avg", "state.w.exp_inf", "state.w.step"]);
  assert.equal(JSON.parse(d.metadata.state_names).exp_inf, { optax: "nu", keras: "norm" });
  assert.throws(() => new Optimizer([{ name: "w", shape: [3] }], { algorithm: "adamax", convention: { base: "torch-adam", impl: "fused" } }),
    (e) => e instanceof FusedAdamError && /torch has no fused adamax/.test(e.message));
  opt.dispose();
});

test("NAdam: mu_product per parameter (float32, from the step count when not given), checkpoints, momentumDecay", () => {
  const rand = rng(9);
  const make = () => new Optimizer([{ name: "w", shape: [6], data: randomArray(rand, 6) }], { algorithm: "nadam", convention: "torch-adam", lr: 2e-3, momentumDecay: 4e-3 });
  const opt = make();
  assert.is(opt.param("w").muProduct, 1);
  let want = 1;
  for (let t = 1; t <= 3; t++) {
    opt.step({ w: randomArray(rand, 6) });
    // torch/optim/nadam.py: mu_product *= beta1*(1 - 0.5*0.96**(t*psi)) on a float32 tensor.
    want = f(want * f(0.9 * (1 - 0.5 * 0.96 ** (t * 4e-3))));
    assert.is(opt.param("w").muProduct, want, `step ${t}`);
  }
  assert.is(opt.state().params.w.muProduct, want);
  const d = decodeSafetensors(opt.stateDict());
  assert.equal([...d.tensors.keys()].sort(), ["state.w.exp_avg", "state.w.exp_avg_sq", "state.w.mu_product", "state.w.step"]);
  assert.equal([...d.tensors.get("state.w.mu_product").shape], []);
  const other = make();
  other.loadState({ params: { w: { step: 3 } } });
  assert.is(other.param("w").muProduct, want, "recomputed from the step count");
  other.loadState({ params: { w: { step: 0 } } });
  other.loadStateDict(opt.stateDict());
  assert.is(other.param("w").muProduct, want);
  assert.throws(() => other.loadState({ params: { w: { muProduct: 2 } } }), (e) => e instanceof FusedAdamError && /muProduct must be a number in \[-1, 1\]/.test(e.message));
  assert.is(other.param("w").muProduct, want);
  const adam = new Optimizer([{ name: "w", shape: [6] }]);
  assert.throws(() => adam.loadState({ params: { w: { muProduct: 0.5 } } }), (e) => e instanceof FusedAdamError && /adam keeps none \(it is NAdam's\)/.test(e.message));
  assert.throws(() => new Optimizer([{ name: "w", shape: [6] }], { algorithm: "nadam", momentumDecay: -1 }), (e) => e instanceof FusedAdamError && /momentumDecay must be a number >= 0, finite in float32/.test(e.message));
  assert.throws(() => new Optimizer([{ name: "w", shape: [6] }], { algorithm: "nadam", convention: "hf-adamw" }), (e) => e instanceof FusedAdamError && /nadam takes weight decay/.test(e.message));
  for (const o of [opt, other, adam]) o.dispose();
});

test("RAdam: momentum SGD while rho_t <= 5, then the rectified step (torch's single-tensor arithmetic)", () => {
  const rand = rng(11);
  const opt = new Optimizer([{ name: "w", shape: [5], data: randomArray(rand, 5) }], { algorithm: "radam", convention: "torch-adam", lr: 1e-2 });
  const rhoInf = 2 / (1 - 0.999) - 1;
  for (let t = 1; t <= 8; t++) {
    const g = randomArray(rand, 5);
    const p = opt.param("w");
    const x = p.data.slice(), m = p.expAvg.slice(), v = p.expAvgSq.slice();
    const bc1 = 1 - 0.9 ** t, bc2 = 1 - 0.999 ** t;
    const rho = rhoInf - (2 * t * 0.999 ** t) / bc2;
    const rect = rho > 5 ? Math.sqrt(((rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho)) : 0;
    for (let i = 0; i < 5; i++) {
      const gi = f(g[i]);
      m[i] = f(m[i] + f(f(0.1) * f(gi - m[i])));
      v[i] = f(f(v[i] * f(0.999)) + f(f(f(1 - 0.999) * gi) * gi));
      let q = f(f(m[i] / f(bc1)) * f(1e-2));
      if (rect > 0) q = f(f(q * f(f(Math.sqrt(bc2)) / f(Math.sqrt(v[i]) + f(1e-8)))) * f(rect));
      x[i] = f(x[i] - q);
    }
    opt.step({ w: g });
    assert.equal(p.data, x, `step ${t} (rho_t ${rho.toFixed(2)})`);
  }
  opt.dispose();
});

test.run();
