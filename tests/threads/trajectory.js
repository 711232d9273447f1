// A random trajectory for the threads tests, hashed: several conventions and options over tensors whose
// sizes put the threads' cut points inside tensors, on tensor edges and in ragged tails, and many tensors
// so that clipping's per-tensor norms are dealt out to threads. `threads` is passed to every optimizer.
// Returns the FNV-1a 64 hex of every state and step report (NaNs canonicalized).
import { rng } from "../rng.js";


let h = 0xcbf29ce484222325n;
const word = (w) => (h = ((h ^ BigInt(w >>> 0)) * 0x100000001b3n) & 0xffffffffffffffffn);
const f64 = new Float64Array(1);
const f64w = new Uint32Array(f64.buffer);
function mixF32(a) {
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  word(a.length);
  for (let i = 0; i < u.length; i++) word((u[i] & 0x7fffffff) > 0x7f800000 ? 0x7fc00000 : u[i]);
}
function mixF64(x) {
  f64[0] = Number.isNaN(x) ? NaN : x;
  word(Number.isNaN(x) ? 0 : f64w[0]);
  word(Number.isNaN(x) ? 0x7ff80000 : f64w[1]);
}

const SHAPES = [[70001], [3, 1001], [17], [4099], [256, 64], [5], [1], [0], [33333]];
const RUNS = [
  { convention: "torch-adamw", weightDecay: 0.01, clipGradNorm: 1 },
  { convention: "torch-adam", weightDecay: 1e-3, amsgrad: true, clipGradNorm: { maxNorm: 0.5, mode: "optax" } },
  { convention: { base: "torch-adamw", fma: true }, weightDecay: 0.05, clipGradNorm: 2 },
  // torch 2.x's fused kernel (its tail, the last n % 8, computes v otherwise) with MKL's square root.
  { convention: { base: "torch-adamw", fma: true, impl: "fused", sqrt: "mkl" }, weightDecay: 0.01, clipGradNorm: 1 },
  { convention: { base: "torch-adamw", fast: true }, weightDecay: 0.01, maximize: true },
  { convention: "caffe-adam", weightDecay: 5e-4, clipGradNorm: { maxNorm: 2, mode: "caffe" } },
  { convention: "hf-adamw", weightDecay: 0.02, inject: true, nonFinite: "skip", lossScale: { init: 1024, growthInterval: 5 }, clipGradNorm: 3 },
  { convention: "mxnet-adam", weightDecay: 1e-3, gradScale: 0.125, clipValue: 0.5, inject: true },
  { convention: "optax-adamw", weightDecay: 1e-4, epsRoot: 1e-12 },
  { algorithm: "lion", convention: "optax-adamw", weightDecay: 0.1, clipGradNorm: { maxNorm: 1, mode: "optax" } },
  { algorithm: "lion", weightDecay: 0.1, inject: true },
  { algorithm: "adamax", convention: { base: "torch-adam", fma: true }, weightDecay: 0.01, clipGradNorm: 1, maximize: true },
  { algorithm: "adamax", convention: "keras-adamw", weightDecay: 0.05, inject: true },
  { algorithm: "adamax", convention: "optax-adamw", clipGradNorm: { maxNorm: 1, mode: "optax" } },
  { algorithm: "nadam", convention: { base: "torch-adamw", fma: true, sqrt: "mkl" }, weightDecay: 0.02, clipGradNorm: 1 },
  { algorithm: "nadam", convention: { base: "torch-adam", impl: "foreach" }, weightDecay: 0.01, inject: true },
  { algorithm: "radam", convention: { base: "torch-adamw", impl: "foreach", fma: true, sqrt: "mkl" }, weightDecay: 0.02, clipGradNorm: 1 },
  { algorithm: "radam", convention: "torch-adam", weightDecay: 0.01, inject: true },
  { algorithm: "nadam", convention: { base: "keras-adamw", xla: true, jit: false }, weightDecay: 0.01, clipGradNorm: { maxNorm: 1, mode: "keras" } },
];

export function trajectory(Optimizer, { threads = "auto", steps = 12 } = {}) {
  h = 0xcbf29ce484222325n;
  RUNS.forEach((cfg, r) => {
    const rand = rng(0x7eed + r);
    const { inject, ...options } = cfg;
    const params = SHAPES.map((shape, i) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return { name: `p${i}`, shape, data: Float32Array.from({ length: n }, () => rand() * 2 - 1) };
    });
    const opt = new Optimizer(params, { lr: 1e-2, ...options, threads });
    try {
      for (let t = 1; t <= steps; t++) {
        opt.paramGroups[0].lr = 1e-2 * (1 - t / (2 * steps));
        for (const p of opt.params) {
          const g = p.grad;
          for (let i = 0; i < g.length; i++) g[i] = (rand() * 2 - 1) * (rand() < 0.5 ? 1e-3 : 3);
        }
        if (inject && t % 5 === 0) opt.params[2].grad[3] = t % 10 === 0 ? NaN : -Infinity;
        const res = opt.step();
        mixF64(res.totalNorm);
        mixF64(res.clipCoef);
        mixF64(res.lossScale);
        word(res.skipped ? 1 : 0);
      }
      for (const p of opt.params) [p.data, ...opt.algorithm.states.map((s) => p.state(s.key)), ...(p.maxExpAvgSq ? [p.maxExpAvgSq] : [])].forEach(mixF32);
    } finally {
      opt.dispose();
    }
  });
  return h.toString(16).padStart(16, "0");
}
