// Global-norm clipping: which norm recipe the kernel runs and the clip coefficient, per framework.
// - torch: torch.nn.utils.clip_grad_norm_ (torch/nn/utils/clip_grad.py, 1.13): total = ||(||g_i||)_i||,
//   coef = min(1, max_norm / (total + 1e-6)) evaluated as reciprocal(total + 1e-6) * max_norm in float32,
//   and every gradient is multiplied by coef (by 1.0 when not clipping).
// - optax: optax.clip_by_global_norm (optax/_src/clipping.py): no epsilon, gradients untouched while
//   norm < max_norm, else scaled by max_norm / norm (optax divides then multiplies per element; here one
//   multiply by the float32 ratio, within an ulp of it).
// - caffe: Caffe SGDSolver::ClipGradients (sgd_solver.cpp): l2 = sqrt(sum of per-blob dots); only when
//   l2 > clip_gradients (strict) every gradient is scaled by clip_gradients / l2.
import { fail } from "./errors.js";

const f = Math.fround;

export type ClipMode = "torch" | "optax" | "caffe";
export interface ClipOptions {
  maxNorm: number;
  mode?: ClipMode;
}

// Kernel norm recipes (assembly/norm.ts).
export const NORM_TORCH = 0;
export const NORM_TORCH_FMA = 1;
export const NORM_SUMSQ_F64 = 2;

export function resolveClip(x: number | ClipOptions | undefined | null): Required<ClipOptions> | null {
  if (x === undefined || x === null) return null;
  const o = typeof x === "number" ? { maxNorm: x } : x;
  if (typeof o !== "object") fail(`clipGradNorm: expected a number or { maxNorm, mode }, got ${String(x)}`);
  if (typeof o.maxNorm !== "number" || !(o.maxNorm > 0) || !Number.isFinite(o.maxNorm)) {
    fail(`clipGradNorm.maxNorm is ${String(o.maxNorm)}; it must be a finite number > 0`);
  }
  const mode = o.mode ?? "torch";
  if (mode !== "torch" && mode !== "optax" && mode !== "caffe") fail(`clipGradNorm.mode: "${String(mode)}" is not one of "torch", "optax", "caffe"`);
  return { maxNorm: o.maxNorm, mode };
}

/** The kernel's per-tensor recipe: torch's lane norms (with ATen's FMAs when emulated), else float64 sums of squares. */
export function normRecipe(mode: ClipMode, fma: boolean): number {
  return mode === "torch" ? (fma ? NORM_TORCH_FMA : NORM_TORCH) : NORM_SUMSQ_F64;
}

/** What a step reports about its gradients; globalNorm and clipCoefficient write into it. */
export interface NormReport {
  totalNorm: number;
  clipCoef: number;
}

// Both run on every step with clipping: they write into `out` instead of returning a number, because V8
// boxes a double returned from (or passed to) a call it does not inline, and a step allocates nothing.

/**
 * The global norm from the kernel's per-tensor results (`mem[at .. at+count)`), to out.totalNorm: torch
 * stacks the norms and takes their norm with the same recipe (run in the kernel, at mem[total]); optax
 * and Caffe add the per-tensor sums of squares in float32 and take one square root.
 */
export function globalNorm(mode: ClipMode, mem: Float32Array, at: number, count: number, total: number, out: NormReport): void {
  if (mode === "torch") {
    out.totalNorm = mem[total];
    return;
  }
  let s = 0;
  for (let i = 0; i < count; i++) s = f(s + mem[at + i]);
  out.totalNorm = f(Math.sqrt(s));
}

/** out.clipCoef: the multiplier every gradient gets, from out.totalNorm. NaN and Infinity propagate as in each framework. */
export function clipCoefficient(clip: Required<ClipOptions>, out: NormReport): void {
  const { mode, maxNorm } = clip;
  const total = out.totalNorm;
  if (mode === "torch") out.clipCoef = Math.min(1, f(f(1 / f(total + f(1e-6))) * f(maxNorm)));
  else if (mode === "optax") out.clipCoef = total < maxNorm ? 1 : f(maxNorm / total);
  else out.clipCoef = total > f(maxNorm) ? f(f(maxNorm) / total) : 1;
}
