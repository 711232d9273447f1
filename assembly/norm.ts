// Gradient norms for global-norm clipping and the non-finite check, one read of every gradient.
//
// PyTorch's float32 2-norm of one tensor (ATen's vectorized reduction, as the golden README describes it):
// 8 float32 lanes accumulate acc[j] += x*x over whole 8-element chunks, the lanes are summed in order
// acc[0] + acc[1] + ... + acc[7], the tail is added one element at a time, then sqrt. Rounded op by op in
// ATen's scalar kernels; its vector kernels fuse multiply-adds (emulated as in lanes.ts), differently by
// version: torch 1.13 fuses every acc += x*x; torch 2.13 rounds the squares of the 8-lane chunks and of each
// whole group of 4 tail elements and fuses only the last n % 4 (golden/real/torch/README.md). Caffe's
// ClipGradients instead takes each blob's dot product in double (cblas_sdot, here accumulated in float64)
// and rounds it once. XLA CPU's loop emitter (optax's optax.tree.norm: jnp.sum of the squares) adds the
// squares one at a time in float32, with subnormals flushed; under jit LLVM contracts each step into a
// multiply-add. TensorFlow's sums (the tf and keras clip modes) are Eigen's: assembly/eigen.ts.
import {
  REC_G, REC_N, REC_BYTES, NORM_TORCH_FMA, NORM_SUMSQ_F64, NORM_XLA, NORM_XLA_FMA, NORM_TORCH2_FMA, NORM_EIGEN,
  NORM_EIGEN_L2LOSS, NORM_THREADS_SHIFT, NORM_RECIPE_MASK, OUT_SCALE, OUT_TOTAL,
} from "./abi";
import { fma } from "./lanes";
import { z } from "./xla";
import { eigenFullSum, COST_SUM, COST_L2LOSS } from "./eigen";

// Squares below these count as 0 in TensorFlow (subnormals flushed): x*x, and l2_loss's x*x*0.5.
const FLUSH_SQ: f32 = 1.17549435e-38; // 2^-126
const FLUSH_HALF_SQ: f32 = 2.3509887e-38; // 2^-125

// The norms area `out` and the recipes: assembly/abi.ts.

/**
 * For segment records [first, last) of `count`, writes the norm of (gradient * scale) to out[s] (f32; for
 * NORM_SUMSQ_F64, NORM_XLA* and NORM_EIGEN* the float32 sum of squares instead) and 1 to out[count + s] if one of its scaled
 * elements is NaN or infinite (else 0). Returns 1 if any of these tensors has such an element. Each tensor
 * is reduced whole, in one call, so splitting the records between threads does not change a norm.
 */
export function gradNorms(table: usize, count: i32, first: i32, last: i32, out: usize, recipe: i32): i32 {
  const mode = recipe & NORM_RECIPE_MASK;
  const threads = recipe >> NORM_THREADS_SHIFT;
  const scale = load<f32>(out + (<usize>(2 * count + OUT_SCALE) << 2));
  let nonFinite = 0;
  for (let s = first; s < last; s++) {
    const rec = table + <usize>s * REC_BYTES;
    const g = <usize>load<u32>(rec, REC_G);
    const n = <usize>load<u32>(rec, REC_N);
    let r: f32;
    if (mode == NORM_SUMSQ_F64) r = sumsq64(g, n, scale);
    else if (mode == NORM_XLA || mode == NORM_XLA_FMA) r = sumsqXla(g, n, scale, mode == NORM_XLA_FMA);
    else if (mode == NORM_EIGEN) r = eigenFullSum(g, n, scale, true, FLUSH_SQ, threads, COST_SUM);
    else if (mode == NORM_EIGEN_L2LOSS) r = eigenFullSum(g, n, scale, true, FLUSH_HALF_SQ, threads, COST_L2LOSS);
    else r = Mathf.sqrt(lanes8(g, n, scale, mode));
    store<f32>(out + (<usize>s << 2), r);
    // A finite sum of squares proves every element finite; otherwise look (it may only be overflow).
    const bad = !isFinite(r) && hasNonFinite(g, n, scale);
    store<f32>(out + (<usize>(count + s) << 2), bad ? 1 : 0);
    if (bad) nonFinite = 1;
  }
  return nonFinite;
}

/**
 * torch's global norm: the norm of the `count` per-tensor norms at `out` with the same recipe (torch stacks
 * them and takes their norm), written to out[2*count + OUT_TOTAL].
 */
export function normOfNorms(out: usize, count: i32, recipe: i32): void {
  const mode = recipe & NORM_RECIPE_MASK;
  if (mode == NORM_EIGEN || mode == NORM_EIGEN_L2LOSS) {
    // TensorFlow and Keras stack the per-tensor sums and reduce_sum them. l2_loss's halves sum to exactly
    // half of this (scaling by 2 is exact; the sums are of normal numbers), and TF doubles it back.
    const total = eigenFullSum(out, <usize>count, 1, false, 0, recipe >> NORM_THREADS_SHIFT, COST_SUM);
    store<f32>(out + (<usize>(2 * count + OUT_TOTAL) << 2), Mathf.sqrt(total));
    return;
  }
  store<f32>(out + (<usize>(2 * count + OUT_TOTAL) << 2), Mathf.sqrt(lanes8(out, <usize>count, 1, mode)));
}

@inline function sq(acc: f32, x: f32, fused: bool): f32 {
  return fused ? fma<f32>(x, x, acc) : acc + x * x;
}

function lanes8(g: usize, n: usize, scale: f32, mode: i32): f32 {
  const fused = mode == NORM_TORCH_FMA; // the 8-lane chunks
  const end = g + ((n & ~(<usize>7)) << 2);
  let p = g;
  let total: f32;
  if (ASC_FEATURE_SIMD) {
    const k = f32x4.splat(scale);
    let lo = f32x4.splat(0);
    let hi = f32x4.splat(0);
    for (; p < end; p += 32) {
      const a = f32x4.mul(v128.load(p), k);
      const b = f32x4.mul(v128.load(p, 16), k);
      if (fused) {
        lo = fma<v128>(a, a, lo);
        hi = fma<v128>(b, b, hi);
      } else {
        lo = f32x4.add(lo, f32x4.mul(a, a));
        hi = f32x4.add(hi, f32x4.mul(b, b));
      }
    }
    total = f32x4.extract_lane(lo, 0) + f32x4.extract_lane(lo, 1);
    total += f32x4.extract_lane(lo, 2);
    total += f32x4.extract_lane(lo, 3);
    total += f32x4.extract_lane(hi, 0);
    total += f32x4.extract_lane(hi, 1);
    total += f32x4.extract_lane(hi, 2);
    total += f32x4.extract_lane(hi, 3);
  } else {
    let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0, a4: f32 = 0, a5: f32 = 0, a6: f32 = 0, a7: f32 = 0;
    for (; p < end; p += 32) {
      a0 = sq(a0, load<f32>(p) * scale, fused);
      a1 = sq(a1, load<f32>(p, 4) * scale, fused);
      a2 = sq(a2, load<f32>(p, 8) * scale, fused);
      a3 = sq(a3, load<f32>(p, 12) * scale, fused);
      a4 = sq(a4, load<f32>(p, 16) * scale, fused);
      a5 = sq(a5, load<f32>(p, 20) * scale, fused);
      a6 = sq(a6, load<f32>(p, 24) * scale, fused);
      a7 = sq(a7, load<f32>(p, 28) * scale, fused);
    }
    total = a0 + a1;
    total += a2;
    total += a3;
    total += a4;
    total += a5;
    total += a6;
    total += a7;
  }
  const stop = g + (n << 2);
  if (mode == NORM_TORCH2_FMA) {
    // Whole groups of 4 with rounded squares, added in order; the last n % 4 fused.
    const quads = stop - ((((stop - p) >> 2) & 3) << 2);
    for (; p < quads; p += 4) total = sq(total, load<f32>(p) * scale, false);
    for (; p < stop; p += 4) total = sq(total, load<f32>(p) * scale, true);
  } else {
    for (; p < stop; p += 4) total = sq(total, load<f32>(p) * scale, fused);
  }
  return total;
}

function sumsq64(g: usize, n: usize, scale: f32): f32 {
  let acc: f64 = 0;
  const stop = g + (n << 2);
  for (let p = g; p < stop; p += 4) {
    const x = <f64>(load<f32>(p) * scale);
    acc += x * x;
  }
  return <f32>acc;
}

function sumsqXla(g: usize, n: usize, scale: f32, fused: bool): f32 {
  let acc: f32 = 0;
  const stop = g + (n << 2);
  for (let p = g; p < stop; p += 4) {
    const x = z<f32>(load<f32>(p) * scale);
    acc = z<f32>(fused ? fma<f32>(x, x, acc) : acc + z<f32>(x * x));
  }
  return acc;
}

function hasNonFinite(g: usize, n: usize, scale: f32): bool {
  const stop = g + (n << 2);
  for (let p = g; p < stop; p += 4) if (!isFinite(load<f32>(p) * scale)) return true;
  return false;
}
