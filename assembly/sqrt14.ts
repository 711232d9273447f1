// A float32 square root that is not IEEE's: s = y + (x - y*y)*(r/2) with y = x*r, where r is a 14-bit
// estimate of 1/sqrt(x) and both multiply-adds are fused. Its last bit differs from the correctly rounded
// root for about 0.7% of inputs (always towards zero). This is how Intel MKL's vsSqrt (VML, high-accuracy
// mode) computes on AVX-512 CPUs; torch's x86 builds run Tensor.sqrt through it. Checked against torch
// 2.13.0+cpu (MKL 2024.2) on every non-negative float32, bit for bit (golden/real/torch/README.md).
import { fma } from "./lanes";

// The estimate r is VRSQRT14's, computed as Intel's reference implementation for the instruction does:
// per interval of the scaled input (32 in [1,2), 32 in [2,4)) a line c - d*(x - y_i), evaluated exactly in
// float64 on the input truncated to 15 fraction bits, then truncated to 16 fraction bits. Per interval i:
// [d for [1,2), c for [1,2), d for [2,4), c for [2,4)].
const LINES = memory.data<u32>([
  1001, 520261, 707, 367881, 955, 512437, 675, 362349, 915, 504953, 647, 357056, 877, 497790, 619, 351992,
  841, 490922, 595, 347136, 807, 484331, 571, 342475, 775, 478001, 549, 337997, 747, 471909, 527, 333693,
  719, 466046, 509, 329545, 693, 460397, 491, 325551, 669, 454947, 473, 321697, 647, 449688, 457, 317977,
  625, 444606, 441, 314385, 603, 439694, 427, 310910, 585, 434939, 413, 307549, 567, 430335, 401, 304295,
  549, 425875, 389, 301139, 533, 421551, 377, 298079, 517, 417355, 365, 295115, 501, 413284, 355, 292237,
  487, 409329, 345, 289439, 473, 405487, 335, 286722, 461, 401748, 325, 284080, 449, 398111, 317, 281508,
  437, 394571, 309, 279006, 425, 391127, 301, 276569, 415, 387770, 293, 274195, 403, 384498, 285, 271882,
  393, 381307, 279, 269625, 385, 378194, 271, 267425, 375, 375155, 265, 265276, 367, 372190, 259, 263178,
]);

/** The 14-bit estimate of 1/sqrt(x) for a positive normal x. */
function rsqrt14(x: f32): f32 {
  const u = reinterpret<u32>(x);
  const e = <i32>(u >> 23) - 127;
  const odd = e & 1;
  const n = (e - odd) >> 1; // x = 4^n * xs with xs in [1,2) (even e) or [2,4) (odd e)
  const m = u & 0x7fffff;
  if (!odd && m == 0) return reinterpret<f32>(<u32>(127 - n) << 23); // a power of 4: exact
  const i = m >> 18;
  const xt = <f64>reinterpret<f32>(((odd ? <u32>128 : <u32>127) << 23) | (m & 0x7fff00));
  const y = odd ? 2.0 + 1.0 / 32 + <f64>i / 16 : 1.0 + 1.0 / 64 + <f64>i / 32;
  const at = LINES + ((<usize>(4 * i) + (odd ? 2 : 0)) << 2);
  const d = <f64>load<u32>(at) * (odd ? 128.0 : 256.0);
  const c = <f64>load<u32>(at, 4);
  const r = reinterpret<f64>((reinterpret<u64>(c - d * (xt - y)) & 0xfffffff000000000) - 0x0130000000000000);
  return reinterpret<f32>(reinterpret<u32>(<f32>r) - (<u32>n << 23));
}

/** The square root described above, for one float32. */
export function sqrt14(x: f32): f32 {
  if (!(x > 0) || x == Infinity) return Mathf.sqrt(x); // 0, inf, NaN and negatives as IEEE
  // Small inputs are scaled by 2^64 (exactly) so that x - y*y does not underflow.
  let back: f32 = 1;
  if (x < 5.421010862427522e-20) {
    x *= 18446744073709551616.0;
    back = 2.3283064365386963e-10;
  }
  const r = rsqrt14(x);
  const y = x * r;
  return fma<f32>(fma<f32>(-y, y, x), r * 0.5, y) * back;
}

/** sqrt14 per lane (T = v128; the same bits as sqrt14 on each lane) or for one element (T = f32). */
@inline export function sqrtR14<T>(a: T): T {
  if (isVector<T>()) {
    const special = v128.or(v128.not(f32x4.gt(a, f32x4.splat(0))), f32x4.eq(a, f32x4.splat(Infinity)));
    const small = f32x4.lt(a, f32x4.splat(5.421010862427522e-20));
    const x = v128.bitselect(f32x4.mul(a, f32x4.splat(18446744073709551616.0)), a, small);
    const back = v128.bitselect(f32x4.splat(2.3283064365386963e-10), f32x4.splat(1), small);
    const r = rsqrt14x4(x);
    const y = f32x4.mul(x, r);
    const s = f32x4.mul(fma<v128>(fma<v128>(f32x4.neg(y), y, x), f32x4.mul(r, f32x4.splat(0.5)), y), back);
    return v128.bitselect(f32x4.sqrt(a), s, special);
  } else {
    return sqrt14(a);
  }
}

// rsqrt14 on four lanes (positive normal inputs; other lanes give unused values). The line's inputs are exact
// in float32 (c, d*128 or d*256 < 2^24; y and x - y have at most 23 significant bits), its value exact in float64.
@inline function rsqrt14x4(x: v128): v128 {
  const e = i32x4.sub(i32x4.shr_u(x, 23), i32x4.splat(127));
  const odd = v128.and(e, i32x4.splat(1));
  const oddMask = i32x4.eq(odd, i32x4.splat(1));
  const n = i32x4.shr_s(i32x4.sub(e, odd), 1);
  const m = v128.and(x, i32x4.splat(0x7fffff));
  const i = i32x4.shr_u(m, 18);
  const at = i32x4.add(i32x4.shl(i, 4), i32x4.shl(odd, 3)); // byte offset of d; c follows
  let d = i32x4.splat(0);
  let c = i32x4.splat(0);
  d = i32x4.replace_lane(d, 0, load<u32>(LINES + <usize>i32x4.extract_lane(at, 0)));
  c = i32x4.replace_lane(c, 0, load<u32>(LINES + <usize>i32x4.extract_lane(at, 0), 4));
  d = i32x4.replace_lane(d, 1, load<u32>(LINES + <usize>i32x4.extract_lane(at, 1)));
  c = i32x4.replace_lane(c, 1, load<u32>(LINES + <usize>i32x4.extract_lane(at, 1), 4));
  d = i32x4.replace_lane(d, 2, load<u32>(LINES + <usize>i32x4.extract_lane(at, 2)));
  c = i32x4.replace_lane(c, 2, load<u32>(LINES + <usize>i32x4.extract_lane(at, 2), 4));
  d = i32x4.replace_lane(d, 3, load<u32>(LINES + <usize>i32x4.extract_lane(at, 3)));
  c = i32x4.replace_lane(c, 3, load<u32>(LINES + <usize>i32x4.extract_lane(at, 3), 4));
  const xt = v128.or(v128.bitselect(i32x4.splat(128 << 23), i32x4.splat(127 << 23), oddMask), v128.and(m, i32x4.splat(0x7fff00)));
  const fi = f32x4.convert_i32x4_u(i);
  const y = v128.bitselect(
    f32x4.add(f32x4.splat(2.03125), f32x4.mul(fi, f32x4.splat(0.0625))),
    f32x4.add(f32x4.splat(1.015625), f32x4.mul(fi, f32x4.splat(0.03125))),
    oddMask,
  );
  const dd = f32x4.mul(f32x4.convert_i32x4_u(d), v128.bitselect(f32x4.splat(128), f32x4.splat(256), oddMask));
  const cf = f32x4.convert_i32x4_u(c);
  const xmy = f32x4.sub(xt, y);
  const lo = line2(cf, dd, xmy);
  const hi = line2(i32x4.shuffle(cf, cf, 2, 3, 0, 1), i32x4.shuffle(dd, dd, 2, 3, 0, 1), i32x4.shuffle(xmy, xmy, 2, 3, 0, 1));
  const r = i32x4.sub(i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5), i32x4.shl(n, 23));
  const power4 = v128.and(v128.not(oddMask), i32x4.eq(m, i32x4.splat(0)));
  return v128.bitselect(i32x4.shl(i32x4.sub(i32x4.splat(127), n), 23), r, power4);
}

// c - d*xmy for the two low lanes, in float64 (exact), truncated to 16 fraction bits and divided by 2^19.
@inline function line2(c: v128, d: v128, xmy: v128): v128 {
  const v = f64x2.sub(f64x2.promote_low_f32x4(c), f64x2.mul(f64x2.promote_low_f32x4(d), f64x2.promote_low_f32x4(xmy)));
  return i64x2.sub(v128.and(v, i64x2.splat(0xfffffff000000000)), i64x2.splat(0x0130000000000000));
}
