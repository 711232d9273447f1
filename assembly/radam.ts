// RAdam (torch/optim/radam.py, torch 2.13): Adam's moments (lerp for m), then
// - single (_single_tensor_radam): q = f(f(m/BC1)*A) with A = lr; when rho_t > 5 (F_K) also
//   q = f(f(q * f(R/den)) * K) with den = sqrt(v) + eps, R = sqrt(1 - beta2^t), K = the rectification; p -= q;
// - foreach (A_FOREACH, _multi_tensor_radam): buf = 1/f(den/R) + K with R = -sqrt(bc2)*lr*rect/bc1 and
//   K = -lr/bc1 when not rectified (else -0), p = p + m*buf (addcmul: one FMA in the vector kernels).
import {
  REC_P, REC_G, REC_M, REC_V,
  S_RS, S_WD, S_CLIP, S_PRE, S_B1, S_C1, S_B2, S_C2, S_BC1, S_R, S_EPS, S_A, S_K, S_LERP,
  F_FMA, F_SCALE, F_L2, F_CLIP, F_PRE_MUL, F_M_LERP, F_M_LERP_END, F_K, F_SQRT_R14, A_FOREACH,
} from "./abi";
import { splat, add, sub, mul, div, sqrt, min, max, neg, fma } from "./lanes";
import { gradStage, torchFirstMoment, torchSecondMoment } from "./stages";
import { sqrtR14 } from "./sqrt14";
import { scalar } from "./record";

@inline export function radamSegment(rec: usize, algo: u32, flags: u32, a: usize, b: usize): void {
  let i: usize = a;
  if (ASC_FEATURE_SIMD) {
    i = a + ((b - a) & ~(<usize>3));
    radamRun<v128>(rec, algo, flags, a, i);
  }
  radamRun<f32>(rec, algo, flags, i, b);
}

@inline function radamRun<T>(rec: usize, algo: u32, flags: u32, from: usize, to: usize): void {
  const stride = <usize>sizeof<T>();
  const pp = <usize>load<u32>(rec, REC_P);
  const gp = <usize>load<u32>(rec, REC_G);
  const mp = <usize>load<u32>(rec, REC_M);
  const vp = <usize>load<u32>(rec, REC_V);
  const end = to << 2;
  let o = from << 2;
  const rs = scalar<T>(rec, S_RS), wd = scalar<T>(rec, S_WD), clip = scalar<T>(rec, S_CLIP), pre = scalar<T>(rec, S_PRE);
  const b1 = scalar<T>(rec, S_B1), c1 = scalar<T>(rec, S_C1), lw = scalar<T>(rec, S_LERP);
  const b2 = scalar<T>(rec, S_B2), c2 = scalar<T>(rec, S_C2), bc1 = scalar<T>(rec, S_BC1), rr = scalar<T>(rec, S_R);
  const eps = scalar<T>(rec, S_EPS), a = scalar<T>(rec, S_A), k = scalar<T>(rec, S_K);
  const nclip = neg<T>(clip);
  if (isVector<T>()) {
    for (; o + 2 * stride <= end; o += 2 * stride) {
      radamBody<T>(algo, flags, pp, gp, mp, vp, o, rs, wd, clip, nclip, pre, b1, c1, lw, b2, c2, bc1, rr, eps, a, k);
      radamBody<T>(algo, flags, pp, gp, mp, vp, o + stride, rs, wd, clip, nclip, pre, b1, c1, lw, b2, c2, bc1, rr, eps, a, k);
    }
  }
  for (; o < end; o += stride) radamBody<T>(algo, flags, pp, gp, mp, vp, o, rs, wd, clip, nclip, pre, b1, c1, lw, b2, c2, bc1, rr, eps, a, k);
}

@inline function radamBody<T>(
  algo: u32, flags: u32, pp: usize, gp: usize, mp: usize, vp: usize, o: usize,
  rs: T, wd: T, clip: T, nclip: T, pre: T, b1: T, c1: T, lw: T, b2: T, c2: T, bc1: T, rr: T, eps: T, a: T, k: T,
): void {
  const fused = (flags & F_FMA) != 0;
  let p = load<T>(pp + o);
  let g = load<T>(gp + o);
  let m = load<T>(mp + o);
  let v = load<T>(vp + o);

  g = gradStage<T>(flags, g, p, rs, wd, clip, nclip);
  if (flags & F_PRE_MUL) p = mul<T>(p, pre);

  m = torchFirstMoment<T>(flags, m, g, b1, c1, lw);
  v = torchSecondMoment<T>(flags, v, g, b2, c2);
  store<T>(mp + o, m);
  store<T>(vp + o, v);

  if (algo & A_FOREACH) {
    let buf = add<T>(flags & F_SQRT_R14 ? sqrtR14<T>(v) : sqrt<T>(v), eps);
    buf = add<T>(div<T>(splat<T>(1), div<T>(buf, rr)), k);
    p = fused ? fma<T>(m, buf, p) : add<T>(p, mul<T>(m, buf));
  } else {
    let q = mul<T>(div<T>(m, bc1), a);
    if (flags & F_K) {
      const den = add<T>(flags & F_SQRT_R14 ? sqrtR14<T>(v) : sqrt<T>(v), eps);
      q = mul<T>(mul<T>(q, div<T>(rr, den)), k);
    }
    p = sub<T>(p, q);
  }
  store<T>(pp + o, p);
}
