// Property tests (fast-check): random shapes, groups, conventions, options and inputs agree with the
// float64 reference of tests/reference.js within a float32-sized tolerance.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Optimizer, conventions } from "../dist/src/index.js";
import { referenceStep } from "./reference.js";
import { ready } from "./helpers.js";

await ready;
const NAMES = Object.keys(conventions);
const f32 = (min, max) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });

const caseArb = fc.record({
  convention: fc.constantFrom(...NAMES),
  sizes: fc.array(fc.integer({ min: 0, max: 41 }), { minLength: 1, maxLength: 4 }),
  split: fc.integer({ min: 0, max: 4 }),
  lr: fc.tuple(f32(1e-4, 0.05), f32(1e-4, 0.05)),
  wd: fc.tuple(f32(0, 0.1), f32(0, 0.1)),
  b1: f32(0.5, 0.95),
  b2: f32(0.9, 0.9999),
  eps: f32(1e-8, 1e-3),
  amsgrad: fc.boolean(),
  maximize: fc.boolean(),
  clip: fc.option(fc.record({ maxNorm: f32(0.1, 10), mode: fc.constantFrom("torch", "optax", "caffe") }), { nil: undefined }),
  steps: fc.integer({ min: 1, max: 4 }),
  seed: fc.integer(),
});

function values(seed, n) {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = (a & 7) === 0 ? 0 : (a / 2 ** 32) * 2 - 1;
  }
  return out;
}

function check(c) {
  const preset = conventions[c.convention];
  const names = c.sizes.map((_, i) => (i % 2 ? `layer${i}.bias` : `layer${i}.weight`));
  const specs = c.sizes.map((n, i) => ({ name: names[i], shape: [n], data: values(c.seed + i, n) }));
  const cut = Math.min(c.split, specs.length);
  const groups = [specs.slice(0, cut), specs.slice(cut)].filter((g) => g.length).map((params, gi) => ({ params, lr: c.lr[gi], weightDecay: c.wd[gi] }));
  const opt = new Optimizer(groups, {
    convention: c.convention, betas: [c.b1, c.b2], eps: c.eps, amsgrad: c.amsgrad, maximize: c.maximize, clipGradNorm: c.clip,
  });
  const ref = opt.params.map((p) => {
    const g = opt.paramGroups[p.group];
    return { name: p.name, data: Float64Array.from(p.data), lr: g.lr, wd: g.weightDecay, decays: p.decays, lrMult: 1, decayMult: 1 };
  });
  const state = {};
  const hyper = { b1: c.b1, b2: c.b2, eps: c.eps, maximize: c.maximize, amsgrad: c.amsgrad };
  for (let s = 0; s < c.steps; s++) {
    const grads = Object.fromEntries(opt.params.map((p, i) => [p.name, values(c.seed * 7 + s * 13 + i, p.size)]));
    opt.step(grads);
    referenceStep(preset, hyper, ref, grads, state, c.clip);
  }
  for (const p of opt.params) {
    const want = ref.find((r) => r.name === p.name).data;
    for (let i = 0; i < p.size; i++) {
      // float32 against float64: a few ulps of the weight and of the accumulated updates.
      const tol = 4e-6 * (Math.abs(want[i]) + 1) + 2e-4 * c.steps * Math.max(...c.lr);
      if (!(Math.abs(p.data[i] - want[i]) <= tol)) {
        opt.dispose();
        throw new Error(`${c.convention} ${p.name}[${i}]: engine ${p.data[i]}, reference ${want[i]} (tolerance ${tol})`);
      }
    }
  }
  opt.dispose();
}

test("random shapes, groups, conventions and inputs agree with a float64 reference", () => {
  fc.assert(fc.property(caseArb, (c) => check(c)), { numRuns: Number(process.env.PROPERTY_RUNS ?? 2000), seed: 20261125 });
});

test("the reference is not vacuous: a wrong convention is caught", () => {
  const c = { convention: "torch-adam", sizes: [20], split: 0, lr: [0.05, 0.05], wd: [0.1, 0.1], b1: 0.9, b2: 0.99, eps: 1e-8, amsgrad: false, maximize: false, clip: undefined, steps: 3, seed: 1 };
  check(c);
  // Swap the preset behind the reference's back: decoupled decay where the engine runs L2.
  const saved = conventions["torch-adam"];
  assert.throws(() => {
    const fake = { ...c, convention: "torch-adamw" };
    const opt = new Optimizer([{ name: "w", shape: [20], data: values(1, 20) }], { convention: "torch-adam", lr: 0.05, weightDecay: 0.1, betas: [0.9, 0.99], eps: 1e-8 });
    const ref = [{ name: "w", data: Float64Array.from(opt.param("w").data), lr: 0.05, wd: 0.1, decays: true, lrMult: 1, decayMult: 1 }];
    const state = {};
    for (let s = 0; s < 3; s++) {
      const g = { w: values(s, 20) };
      opt.step(g);
      referenceStep(conventions[fake.convention], { b1: 0.9, b2: 0.99, eps: 1e-8 }, ref, g, state);
    }
    const d = Math.max(...opt.param("w").data.map((x, i) => Math.abs(x - ref[0].data[i])));
    opt.dispose();
    if (d > 1e-5) throw new Error(`differs by ${d}`);
  }, /differs/);
  assert.ok(saved);
});

test.run();
