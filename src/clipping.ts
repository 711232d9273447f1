// Global-norm clipping: which norm recipe the kernel runs and the clip coefficient, per framework.
// - torch: torch.nn.utils.clip_grad_norm_ (torch/nn/utils/clip_grad.py, 1.13 and 2.13 alike): total = ||(||g_i||)_i||,
//   coef = min(1, max_norm / (total + 1e-6)) evaluated as reciprocal(total + 1e-6) * max_norm in float32,
//   and every gradient is multiplied by coef (by 1.0 when not clipping).
// - optax: optax.clip_by_global_norm (optax/transforms/_clipping.py): no epsilon, gradients untouched
//   while norm < max_norm, else (g / norm) * max_norm per element: clipDivisor = norm, clipCoef = max_norm
//   (the kernel's XLA body divides under jit and multiplies by f32(1/norm) eagerly, as XLA rewrites it).
//   Presets that do not run XLA's arithmetic get one multiply by the float32 ratio max_norm / norm.
// - caffe: Caffe SGDSolver::ClipGradients (sgd_solver.cpp): l2 = sqrt(sum of per-blob dots); only when
//   l2 > clip_gradients (strict) every gradient is scaled by clip_gradients / l2.
// - tf: tf.clip_by_global_norm (tensorflow/python/ops/clip_ops.py, TF 2.21): norm = sqrt(2 * sum of the
//   stacked l2_loss(g)), each sum Eigen's float32 reduction (assembly/eigen.ts; sharded between
//   intraOpThreads threads above ~100K elements, as Eigen's cost model decides); every gradient is
//   multiplied by scale = clip * min(1/norm, 1/clip) + (norm - norm), all float32 (1/clip too), so a
//   norm below clip still multiplies by clip*(1/clip), which need not be 1.
// - keras: Keras 3's global_clipnorm (keras/src/optimizers/base_optimizer.py clip_by_global_norm,
//   global_norm): norm = sqrt(sum(stack([sum(square(g))]))), the same scale with 1/clip taken in float64 by
//   python. Exact for the TensorFlow backend (Eigen's order); on JAX, XLA sums in an order of its own.
import {
  NORM_EIGEN, NORM_EIGEN_L2LOSS, NORM_SUMSQ_F64, NORM_THREADS_SHIFT, NORM_TORCH, NORM_TORCH_FMA, NORM_TORCH2_FMA, NORM_XLA, NORM_XLA_FMA,
} from "../assembly/abi.js";
import { fail, show } from "./errors.js";

const f = Math.fround;

export const CLIP_MODES = ["torch", "optax", "caffe", "tf", "keras"] as const;
export type ClipMode = (typeof CLIP_MODES)[number];
export interface ClipOptions {
  maxNorm: number;
  mode?: ClipMode;
  /**
   * "tf" and "keras" (TensorFlow backend): the intra-op thread count TensorFlow ran with
   * (tf.config.threading.get_intra_op_parallelism_threads(); by default the machine's cores). Eigen splits
   * the sum of a tensor above about 100K elements between that many threads, which changes its rounding.
   * Default 1.
   */
  intraOpThreads?: number;
}

export function resolveClip(x: number | ClipOptions | undefined | null): Required<ClipOptions> | null {
  if (x === undefined || x === null) return null;
  const o = typeof x === "number" ? { maxNorm: x } : x;
  if (typeof o !== "object") fail("BAD_OPTION", `clipGradNorm: expected a number or { maxNorm, mode }, got ${show(x)}`);
  if (typeof o.maxNorm !== "number" || !(o.maxNorm > 0) || !Number.isFinite(o.maxNorm)) {
    fail("BAD_OPTION", `clipGradNorm.maxNorm is ${show(o.maxNorm)}; it must be a finite number > 0`);
  }
  const mode = o.mode ?? "torch";
  if (!(CLIP_MODES as readonly string[]).includes(mode)) fail("BAD_OPTION", `clipGradNorm.mode: ${show(mode)} is not one of ${CLIP_MODES.map((m) => `"${m}"`).join(", ")}`);
  const threads = o.intraOpThreads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 4096) fail("BAD_OPTION", `clipGradNorm.intraOpThreads is ${show(threads)}; it must be a whole number from 1 to 4096`);
  return { maxNorm: o.maxNorm, mode, intraOpThreads: threads };
}

/**
 * The kernel's per-tensor recipe: torch's lane norms (with the FMAs of ATen's vector kernels when emulated,
 * which torch 1.13 and 2.x place differently: assembly/norm.ts); optax on XLA's arithmetic: XLA's
 * sequential float32 sums (multiply-adds under jit); Eigen's sums on `threads` intra-op threads (TF,
 * Keras); else float64 sums of squares.
 */
export function normRecipe(mode: ClipMode, k: { fma: boolean; torch: string }, xla: boolean, jit: boolean, threads = 1): number {
  if (mode === "torch") return !k.fma ? NORM_TORCH : k.torch === "1.13" ? NORM_TORCH_FMA : NORM_TORCH2_FMA;
  if (mode === "optax" && xla) return jit ? NORM_XLA_FMA : NORM_XLA;
  if (mode === "tf") return NORM_EIGEN_L2LOSS | (threads << NORM_THREADS_SHIFT);
  if (mode === "keras") return NORM_EIGEN | (threads << NORM_THREADS_SHIFT);
  return NORM_SUMSQ_F64;
}

/** Whether the kernel combines the per-tensor results into the global norm (normOfNorms) for this mode. */
export function kernelTotal(mode: ClipMode): boolean {
  return mode === "torch" || mode === "tf" || mode === "keras";
}

/** What a step reports about its gradients; globalNorm and clipCoefficient write into it. */
export interface NormReport {
  totalNorm: number;
  clipCoef: number;
  clipDivisor: number;
}

// Both run on every step with clipping: they write into `out` instead of returning a number, because V8
// boxes a double returned from (or passed to) a call it does not inline, and a step allocates nothing.

/**
 * The global norm from the kernel's per-tensor results (`mem[at .. at+count)`), to out.totalNorm: torch
 * stacks the norms and takes their norm with the same recipe, TF and Keras reduce the stacked sums of
 * squares with Eigen's (both run in the kernel, at mem[total]); optax
 * and Caffe add the per-tensor sums of squares in float32 and take one square root.
 */
export function globalNorm(mode: ClipMode, mem: Float32Array, at: number, count: number, total: number, out: NormReport): void {
  if (kernelTotal(mode)) {
    out.totalNorm = mem[total];
    return;
  }
  let s = 0;
  for (let i = 0; i < count; i++) s = f(s + mem[at + i]);
  out.totalNorm = f(Math.sqrt(s));
}

/** out.clipCoef: the multiplier every gradient gets, from out.totalNorm. NaN and Infinity propagate as in each framework. */
export function clipCoefficient(clip: Required<ClipOptions>, out: NormReport, xla = false): void {
  const { mode, maxNorm } = clip;
  const total = out.totalNorm;
  out.clipDivisor = 1;
  if (mode === "torch") out.clipCoef = Math.min(1, f(f(1 / f(total + f(1e-6))) * f(maxNorm)));
  else if (mode === "caffe") out.clipCoef = total > f(maxNorm) ? f(f(maxNorm) / total) : 1;
  else if (mode === "tf" || mode === "keras") {
    // 1/clip: a float32 division in TF (clip is a float32 tensor), python's float64 one in Keras.
    const inv = mode === "tf" ? f(1 / f(maxNorm)) : f(1 / maxNorm);
    out.clipCoef = f(f(f(maxNorm) * Math.min(f(1 / total), inv)) + (total - total));
  }
  else if (total < maxNorm) out.clipCoef = 1; // optax's trigger: NaN clips (and propagates)
  else if (xla) {
    out.clipDivisor = total;
    out.clipCoef = f(maxNorm);
  } else out.clipCoef = f(maxNorm / total);
}
