// Zero allocation per step: 100k steps of a small model (3 tensors) with a scheduler, in each mode of the
// step path (clipping off and on, loss scaling with skipped steps, running beta powers, amsgrad, threads),
// allocate nothing on the JS heap: the young generation does not grow and no garbage collection runs. Each
// configuration runs in its own process (tests/allocation/measure.js), with --expose-gc for a full GC
// before and after, and a 64 MiB young generation so that a step allocating even a few bytes shows.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("./allocation/measure.js", import.meta.url));

function measure(config) {
  const out = execFileSync(
    process.execPath,
    ["--expose-gc", "--min-semi-space-size=64", "--max-semi-space-size=64", script, JSON.stringify(config)],
    { encoding: "utf8" },
  );
  return JSON.parse(out.trim().split("\n").pop());
}

const CONFIGS = [
  ["torch AdamW, no clipping, cosine schedule", { options: {} }],
  ["torch AdamW, global-norm clipping (torch), linear warmup schedule", { options: { clipGradNorm: 1 }, scheduler: "lambda" }],
  ["torch Adam, amsgrad, optax clipping, non-finite skip", { options: { convention: "torch-adam", weightDecay: 1e-4, amsgrad: true, clipGradNorm: { maxNorm: 0.5, mode: "optax" }, nonFinite: "skip" }, badEvery: 997 }],
  ["tf1-adam (running float32 beta powers), loss scaling with an overflow every 500 steps", { options: { convention: "tf1-adam", lossScale: { growthInterval: 250 } }, badEvery: 500 }],
  ["bert, tf.clip_by_global_norm (Eigen's sums in the kernel)", { options: { convention: "bert", clipGradNorm: { maxNorm: 1, mode: "tf" } } }],
  ["keras-adamw, Keras global_clipnorm", { options: { convention: "keras-adamw", clipGradNorm: { maxNorm: 1.5, mode: "keras" } } }],
  ["caffe-adam, Caffe clipping, per-element clip value", { options: { convention: "caffe-adam", clipGradNorm: { maxNorm: 1, mode: "caffe" }, clipValue: 0.02 } }],
  ["Lion (optax under jit), optax clipping, warm-up schedule", { options: { algorithm: "lion", convention: "optax-adamw", clipGradNorm: { maxNorm: 1, mode: "optax" } }, scheduler: "lambda" }],
  ["Adamax (torch 2.13 vector kernels), torch clipping", { options: { algorithm: "adamax", convention: { base: "torch-adam", fma: true }, weightDecay: 0.01, clipGradNorm: 1 } }],
  ["NAdam (torch 2.13, MKL sqrt), mu_product per parameter", { options: { algorithm: "nadam", convention: { base: "torch-adamw", fma: true, sqrt: "mkl" }, weightDecay: 0.01 } }],
  ["RAdam (torch 2.13 foreach, vector kernels)", { options: { algorithm: "radam", convention: { base: "torch-adam", impl: "foreach", fma: true, sqrt: "mkl" }, weightDecay: 0.01 } }],
  ["optax-adamw under jit (glibc's powf of the beta powers per step)", { options: { convention: "optax-adamw" } }],
  ["Adamax (optax under jit: glibc's powf per step), optax clipping", { options: { algorithm: "adamax", convention: "optax-adamw", clipGradNorm: { maxNorm: 1, mode: "optax" } } }],
  ["Nadam (Keras on JAX: u_product, glibc's powf per step)", { options: { algorithm: "nadam", convention: { base: "keras-adamw", xla: true, jit: false }, weightDecay: 0.01 } }],
  ["2 threads (init({ threads: 2 }), steps and norms split), clipping", { threads: 2, options: { threads: 2, clipGradNorm: 1 } }],
  ["step(grads) with an object of Float32Arrays, nonFinite throw (checked before the copy)", { grads: "object", options: { nonFinite: "throw" } }],
  ["step(grads) with a Map of Float32Arrays, clipping", { grads: "map", options: { clipGradNorm: 1 } }],
  // "auto" reads a clock around the few steps it compares (2 of every 256): a boxed number each time.
  ["threads auto, clipping (clock readings on the compared steps only)", { threads: 2, options: { threads: "auto", clipGradNorm: 1 } }, 4],
];

for (const [name, config, perStep = 1] of CONFIGS) {
  test(`no allocation per step: ${name}`, () => {
    const r = measure(config);
    // Bounded, not per step: under 1 byte per step over 100k steps (one boxed number per step is 16).
    assert.ok(r.gcs === 0, `${r.gcs} garbage collections ran during ${r.steps} steps (${JSON.stringify(r)})`);
    assert.ok(r.allocated < perStep * r.steps, `${(r.allocated / r.steps).toFixed(2)} bytes allocated per step (${JSON.stringify(r)})`);
    assert.ok(r.retained < 256 * 1024, `the heap kept ${r.retained} more bytes after ${r.steps} steps (${JSON.stringify(r)})`);
  });
}

test.run();
