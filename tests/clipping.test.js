// Global-norm clipping fused into the step: torch's clip_grad_norm_ bit for bit (real torch, both kernel
// variants), optax's and Caffe's rules, and step() reporting the norm.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Optimizer, encodeSafetensors } from "../dist/src/index.js";
import { ready, rng, randomArray, tempDir } from "./helpers.js";
import { needs, TORCH } from "./needs.js";

await ready;
const f = Math.fround;

// 11 tensors (so the stacked norms take torch's 8-lane path too), lengths with every tail.
const SIZES = [1, 7, 8, 9, 15, 16, 17, 33, 100, 1000, 3];

function gradients(seed, scale = 1) {
  const rand = rng(seed);
  return SIZES.map((n, i) => [`g${i}`, randomArray(rand, n, scale)]);
}

/** The gradients the engine actually applied: with lr, betas and eps chosen so m after step 1 = 0.5*g. */
function clippedBy(convention, grads, clipGradNorm) {
  const opt = new Optimizer(grads.map(([name, g]) => ({ name, shape: [g.length] })), {
    convention, clipGradNorm, lr: 0, weightDecay: 0, betas: [0.5, 0.5],
  });
  const r = opt.step(Object.fromEntries(grads));
  // m = 0.5*0 + 0.5*g' is exact, so g' = 2*m.
  const out = Object.fromEntries(opt.params.map((p) => [p.name, p.expAvg.map((x) => 2 * x)]));
  const total = r.totalNorm;
  const coef = r.clipCoef;
  const divisor = r.clipDivisor;
  opt.dispose();
  return { out, total, coef, divisor };
}

for (const [variant, convention] of [["default", "torch-adam"], ["avx2", { base: "torch-adam", fma: true }]]) {
  needs(TORCH)(`torch clip_grad_norm_ (ATEN_CPU_CAPABILITY=${variant}): same total norm and clipped gradients, bit for bit`, () => {
    const dir = tempDir("fused-adam-clip-");
    for (const [seed, scale, maxNorm] of [[1, 1, 1.0], [2, 100, 1.5], [3, 0.001, 1.0], [4, 1, 1000]]) {
      const grads = gradients(seed, scale);
      writeFileSync(join(dir, "g.safetensors"), encodeSafetensors(grads.map(([n, g]) => [n, [g.length], g]), {}));
      const want = JSON.parse(execFileSync(TORCH.path, [fileURLToPath(new URL("./torch/clip.py", import.meta.url)), join(dir, "g.safetensors"), String(maxNorm)], {
        encoding: "utf8", env: { ...process.env, ATEN_CPU_CAPABILITY: variant },
      }));
      const got = clippedBy(convention, grads, maxNorm);
      assert.is(got.total, want.total, `total norm, seed ${seed}`);
      for (const [name] of grads) {
        assert.equal([...new Int32Array(got.out[name].buffer)], want.clipped[name], `${name}, seed ${seed}`);
      }
    }
  });
}

test("torch semantics without torch: coef = min(1, reciprocal(total + 1e-6) * max_norm), always applied", () => {
  const grads = [["a", Float32Array.of(3, 4)]]; // norm 5
  const got = clippedBy("torch-adam", grads, 1);
  assert.is(got.total, 5);
  const coef = f(f(1 / f(5 + f(1e-6))) * 1);
  assert.is(got.coef, coef);
  assert.equal([...got.out.a], [f(3 * coef), f(4 * coef)]);
  const small = clippedBy("torch-adam", [["a", Float32Array.of(0.3, 0.4)]], 1);
  assert.is(small.coef, 1);
  assert.equal([...small.out.a], [f(0.3), f(0.4)]);
});

test("optax semantics on other presets: untouched while norm < max_norm, else scaled to max_norm, no epsilon", () => {
  const at = clippedBy("torch-adam", [["a", Float32Array.of(3, 4)]], { maxNorm: 5, mode: "optax" });
  assert.is(at.coef, 1, "norm == max_norm scales by max_norm/norm = 1");
  const over = clippedBy("torch-adam", [["a", Float32Array.of(3, 4)]], { maxNorm: 2.5, mode: "optax" });
  assert.is(over.coef, 0.5);
  assert.equal([...over.out.a], [1.5, 2]);
  const under = clippedBy("torch-adam", [["a", Float32Array.of(0.3, 0.4)]], { maxNorm: 1, mode: "optax" });
  assert.is(under.coef, 1);
});

// optax.clip_by_global_norm is select(norm < max_norm, g, (g / norm) * max_norm) (optax/transforms/_clipping.py):
// at norm == max_norm it clips. Under jax.jit XLA divides; eagerly it multiplies by float32(1/norm).
for (const jit of [true, false]) {
  test(`optax-adamw clips as XLA does (${jit ? "jit" : "eager"}): (g ⊘ norm) * max_norm, two roundings`, () => {
    const g = Float32Array.of(3, 4, 0.3); // norm f32(sqrt(25.09))
    const total = f(Math.sqrt(f(f(f(9) + 16) + f(f(0.3) * f(0.3)))));
    for (const maxNorm of [total, 2.5, 0.7]) {
      const got = clippedBy({ base: "optax-adamw", jit }, [["a", g]], { maxNorm, mode: "optax" });
      assert.is(got.total, total);
      assert.is(got.divisor, total);
      assert.is(got.coef, f(maxNorm));
      const byNorm = (x) => (jit ? f(x / total) : f(x * f(1 / total)));
      assert.equal([...got.out.a], [...g].map((x) => f(byNorm(x) * f(maxNorm))), `max_norm ${maxNorm}`);
    }
    const under = clippedBy({ base: "optax-adamw", jit }, [["a", g]], { maxNorm: 6, mode: "optax" });
    assert.is(under.coef, 1);
    assert.is(under.divisor, 1);
    assert.equal([...under.out.a], [...g]);
  });
}

test("Caffe semantics: clip only when l2 > clip (strict), by clip/l2", () => {
  const eq = clippedBy("caffe-adam", [["a", Float32Array.of(3, 4)]], { maxNorm: 5, mode: "caffe" });
  assert.is(eq.coef, 1);
  const over = clippedBy("caffe-adam", [["a", Float32Array.of(6, 8)], ["b", Float32Array.of(0)]], { maxNorm: 5, mode: "caffe" });
  assert.is(over.total, 10);
  assert.is(over.coef, 0.5);
});

test("step() reports the global norm; without clipping or checks it computes none", () => {
  const opt = new Optimizer([{ name: "w", shape: [2] }], { clipGradNorm: 10 });
  assert.is(opt.step({ w: [3, 4] }).totalNorm, 5);
  const plain = new Optimizer([{ name: "w", shape: [2] }]);
  const r = plain.step({ w: [3, 4] });
  assert.ok(Number.isNaN(r.totalNorm));
  assert.is(r.clipCoef, 1);
  opt.dispose();
  plain.dispose();
});

test("clipping composes with per-element clipping and gradient rescaling (MXNet)", () => {
  const opt = new Optimizer([{ name: "fc_weight", shape: [2] }], {
    convention: "mxnet-adam", gradScale: 0.5, clipValue: 1, lr: 0, betas: [0.5, 0.5], weightDecay: 0,
  });
  opt.step({ fc_weight: [1, 10] });
  // rescale then clip to +-1: [0.5, 1]; m = 0.5*g.
  assert.equal([...opt.param("fc_weight").expAvg], [0.25, 0.5]);
  opt.dispose();
});

test.run();
