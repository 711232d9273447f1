// Gradient norms for global-norm clipping and the non-finite check, one read of every gradient.
//
// PyTorch's float32 2-norm of one tensor (ATen's vectorized reduction, as the golden README describes it):
// 8 float32 lanes accumulate acc[j] += x*x over whole 8-element chunks, the lanes are summed in order
// acc[0] + acc[1] + ... + acc[7], the tail is added one element at a time, then sqrt. On AVX2 each += is
// a fused multiply-add; `fused` emulates it. Caffe's ClipGradients instead takes each blob's dot product
// in double (cblas_sdot, here accumulated in float64) and rounds it once.
import { REC_G, REC_N, REC_BYTES } from "./abi";
import { fma } from "./lanes";

export const NORM_TORCH = 0;
export const NORM_TORCH_FMA = 1;
export const NORM_SUMSQ_F64 = 2;

// The norms area (host-allocated, `out`): f32 per-tensor norms [0, count), f32 per-tensor non-finite flags
// [count, 2*count), then the gradient scale (read) and the global norm (written) at OUT_SCALE and OUT_TOTAL
// floats past 2*count. Scalars travel through memory, not as call arguments or results: a double crossing
// the JS-wasm boundary is boxed on the JS heap, and the step path allocates nothing.
export const OUT_SCALE = 0;
export const OUT_TOTAL = 1;

/**
 * For segment records [first, last) of `count`, writes the norm of (gradient * scale) to out[s] (f32; for
 * NORM_SUMSQ_F64 the float32-rounded sum of squares instead) and 1 to out[count + s] if one of its scaled
 * elements is NaN or infinite (else 0). Returns 1 if any of these tensors has such an element. Each tensor
 * is reduced whole, in one call, so splitting the records between threads does not change a norm.
 */
export function gradNorms(table: usize, count: i32, first: i32, last: i32, out: usize, mode: i32): i32 {
  const scale = load<f32>(out + (<usize>(2 * count + OUT_SCALE) << 2));
  let nonFinite = 0;
  for (let s = first; s < last; s++) {
    const rec = table + <usize>s * REC_BYTES;
    const g = <usize>load<u32>(rec, REC_G);
    const n = <usize>load<u32>(rec, REC_N);
    let r: f32;
    if (mode == NORM_SUMSQ_F64) r = sumsq64(g, n, scale);
    else if (mode == NORM_TORCH_FMA) r = Mathf.sqrt(lanes8(g, n, scale, true));
    else r = Mathf.sqrt(lanes8(g, n, scale, false));
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
export function normOfNorms(out: usize, count: i32, mode: i32): void {
  store<f32>(out + (<usize>(2 * count + OUT_TOTAL) << 2), Mathf.sqrt(lanes8(out, <usize>count, 1, mode == NORM_TORCH_FMA)));
}

@inline function sq(acc: f32, x: f32, fused: bool): f32 {
  return fused ? fma<f32>(x, x, acc) : acc + x * x;
}

function lanes8(g: usize, n: usize, scale: f32, fused: bool): f32 {
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
  for (; p < stop; p += 4) total = sq(total, load<f32>(p) * scale, fused);
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

function hasNonFinite(g: usize, n: usize, scale: f32): bool {
  const stop = g + (n << 2);
  for (let p = g; p < stop; p += 4) if (!isFinite(load<f32>(p) * scale)) return true;
  return false;
}
