// NAdam (torch/optim/nadam.py _single_tensor_nadam and _multi_tensor_nadam): Adam's moments (torch 2.x's
// lerp for m), den = sqrt(v/bc2) + eps (single; F_VHAT) or sqrt(v)/sqrt(bc2) + eps (foreach; F_RDIV), and
// two addcdivs on the same denominator: p += K*g/den (K = -lr*(1-mu_t)/(1-mu_product)), then p += A*m/den
// (A = -lr*mu_{t+1}/(1-mu_product*mu_{t+1})). The host computes mu_product (src/nadam.ts).
// Keras 3 (A_KERAS, keras/src/optimizers/nadam.py): TF's moment updates, then
// m_hat = f(f(A*m)/BC1) + f(f(K*g)/POST) (A = u_{t+1}, BC1 = 1 - u_product*u_{t+1}, K = 1 - u_t, POST = 1 -
// u_product), den = sqrt(v/BC2) + eps, p -= f(m_hat*LAM)/den (LAM = lr). On JAX (F_XLA) each division by a
// scalar is XLA's multiplication by its reciprocal (the slots hold the reciprocals) and subnormals flush.
import {
  REC_P, REC_G, REC_M, REC_V,
  S_RS, S_WD, S_CLIP, S_PRE, S_PRE2, S_B1, S_C1, S_B2, S_C2, S_BC1, S_BC2, S_R, S_EPS, S_A, S_K, S_LAM, S_POST, S_LERP,
  F_FMA, F_SCALE, F_L2, F_CLIP, F_PRE_MUL, F_PRE_KERAS, F_M_DELTA, F_V_DELTA, F_M_LERP, F_M_LERP_END, F_VHAT, F_RDIV,
  F_SQRT_R14, F_XLA, A_KERAS,
} from "./abi";
import { add, sub, mul, div, sqrt, min, max, neg, fma } from "./lanes";
import { gradStage, torchFirstMoment, torchSecondMoment } from "./stages";
import { sqrtR14 } from "./sqrt14";
import { scalar, q } from "./record";

@inline export function nadamSegment(rec: usize, algo: u32, flags: u32, a: usize, b: usize): void {
  let i: usize = a;
  if (ASC_FEATURE_SIMD) {
    i = a + ((b - a) & ~(<usize>3));
    if (algo & A_KERAS) kerasRun<v128>(rec, flags, a, i);
    else nadamRun<v128>(rec, flags, a, i);
  }
  if (algo & A_KERAS) kerasRun<f32>(rec, flags, i, b);
  else nadamRun<f32>(rec, flags, i, b);
}

@inline function nadamRun<T>(rec: usize, flags: u32, from: usize, to: usize): void {
  const stride = <usize>sizeof<T>();
  const pp = <usize>load<u32>(rec, REC_P);
  const gp = <usize>load<u32>(rec, REC_G);
  const mp = <usize>load<u32>(rec, REC_M);
  const vp = <usize>load<u32>(rec, REC_V);
  const end = to << 2;
  let o = from << 2;
  const rs = scalar<T>(rec, S_RS), wd = scalar<T>(rec, S_WD), clip = scalar<T>(rec, S_CLIP), pre = scalar<T>(rec, S_PRE);
  const b1 = scalar<T>(rec, S_B1), c1 = scalar<T>(rec, S_C1), lw = scalar<T>(rec, S_LERP);
  const b2 = scalar<T>(rec, S_B2), c2 = scalar<T>(rec, S_C2), bc2 = scalar<T>(rec, S_BC2), rr = scalar<T>(rec, S_R);
  const eps = scalar<T>(rec, S_EPS), a = scalar<T>(rec, S_A), k = scalar<T>(rec, S_K);
  const nclip = neg<T>(clip);
  if (isVector<T>()) {
    for (; o + 2 * stride <= end; o += 2 * stride) {
      nadamBody<T>(flags, pp, gp, mp, vp, o, rs, wd, clip, nclip, pre, b1, c1, lw, b2, c2, bc2, rr, eps, a, k);
      nadamBody<T>(flags, pp, gp, mp, vp, o + stride, rs, wd, clip, nclip, pre, b1, c1, lw, b2, c2, bc2, rr, eps, a, k);
    }
  }
  for (; o < end; o += stride) nadamBody<T>(flags, pp, gp, mp, vp, o, rs, wd, clip, nclip, pre, b1, c1, lw, b2, c2, bc2, rr, eps, a, k);
}

@inline function nadamBody<T>(
  flags: u32, pp: usize, gp: usize, mp: usize, vp: usize, o: usize,
  rs: T, wd: T, clip: T, nclip: T, pre: T, b1: T, c1: T, lw: T, b2: T, c2: T, bc2: T, rr: T, eps: T, a: T, k: T,
): void {
  const fused = (flags & F_FMA) != 0;
  let p = load<T>(pp + o);
  let g = load<T>(gp + o);
  let m = load<T>(mp + o);
  let v = load<T>(vp + o);

  // Gradient (maximize and clipping in RS; L2 as grad.add(param, alpha=wd), one FMA in the vector kernels),
  // or the decoupled shrink param.mul_(1 - lr*wd).
  g = gradStage<T>(flags, g, p, rs, wd, clip, nclip);
  if (flags & F_PRE_MUL) p = mul<T>(p, pre);

  // exp_avg.lerp_(grad, 1-beta1) (aten Lerp.h), else b1*m + (1-b1)*g; exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2).
  m = torchFirstMoment<T>(flags, m, g, b1, c1, lw);
  v = torchSecondMoment<T>(flags, v, g, b2, c2);
  store<T>(mp + o, m);
  store<T>(vp + o, v);

  // Denominator: sqrt(v/bc2) + eps (single) or sqrt(v)/sqrt(bc2) + eps (foreach), MKL's sqrt on x86 torch.
  let r = v;
  if (flags & F_VHAT) r = div<T>(r, bc2);
  r = flags & F_SQRT_R14 ? sqrtR14<T>(r) : sqrt<T>(r);
  if (flags & F_RDIV) r = div<T>(r, rr);
  const den = add<T>(r, eps);
  p = add<T>(p, div<T>(mul<T>(k, g), den));
  p = add<T>(p, div<T>(mul<T>(a, m), den));
  store<T>(pp + o, p);
}

@inline function kerasRun<T>(rec: usize, flags: u32, from: usize, to: usize): void {
  const stride = <usize>sizeof<T>();
  const pp = <usize>load<u32>(rec, REC_P);
  const gp = <usize>load<u32>(rec, REC_G);
  const mp = <usize>load<u32>(rec, REC_M);
  const vp = <usize>load<u32>(rec, REC_V);
  const end = to << 2;
  let o = from << 2;
  const rs = scalar<T>(rec, S_RS), clip = scalar<T>(rec, S_CLIP), pre = scalar<T>(rec, S_PRE), pre2 = scalar<T>(rec, S_PRE2);
  const c1 = scalar<T>(rec, S_C1), c2 = scalar<T>(rec, S_C2), bc1 = scalar<T>(rec, S_BC1), bc2 = scalar<T>(rec, S_BC2);
  const eps = scalar<T>(rec, S_EPS), a = scalar<T>(rec, S_A), k = scalar<T>(rec, S_K), lr = scalar<T>(rec, S_LAM);
  const post = scalar<T>(rec, S_POST);
  const nclip = neg<T>(clip);
  for (; o < end; o += stride) kerasBody<T>(flags, pp, gp, mp, vp, o, rs, clip, nclip, pre, pre2, c1, c2, bc1, bc2, eps, a, k, lr, post);
}

// A division by a scalar: XLA (Keras on JAX) multiplies by the reciprocal the slot holds.
@inline function byScalar<T>(flags: u32, x: T, s: T): T {
  return flags & F_XLA ? q<T>(flags, mul<T>(x, s)) : div<T>(x, s);
}

@inline function kerasBody<T>(
  flags: u32, pp: usize, gp: usize, mp: usize, vp: usize, o: usize,
  rs: T, clip: T, nclip: T, pre: T, pre2: T, c1: T, c2: T, bc1: T, bc2: T, eps: T, a: T, k: T, lr: T, post: T,
): void {
  let p = q<T>(flags, load<T>(pp + o));
  let g = q<T>(flags, load<T>(gp + o));
  let m = q<T>(flags, load<T>(mp + o));
  let v = q<T>(flags, load<T>(vp + o));
  if (flags & F_SCALE) g = q<T>(flags, mul<T>(g, rs));
  if (flags & F_CLIP) g = min<T>(max<T>(g, nclip), clip);
  if (flags & F_PRE_KERAS) p = q<T>(flags, sub<T>(p, q<T>(flags, mul<T>(q<T>(flags, mul<T>(p, pre)), pre2))));
  m = q<T>(flags, add<T>(m, q<T>(flags, mul<T>(q<T>(flags, sub<T>(g, m)), c1))));
  v = q<T>(flags, add<T>(v, q<T>(flags, mul<T>(q<T>(flags, sub<T>(q<T>(flags, mul<T>(g, g)), v)), c2))));
  store<T>(mp + o, m);
  store<T>(vp + o, v);
  const x1 = byScalar<T>(flags, q<T>(flags, mul<T>(a, m)), bc1);
  const x0 = byScalar<T>(flags, q<T>(flags, mul<T>(k, g)), post);
  const mh = q<T>(flags, add<T>(x1, x0));
  const den = q<T>(flags, add<T>(q<T>(flags, sqrt<T>(byScalar<T>(flags, v, bc2))), eps));
  p = q<T>(flags, sub<T>(p, q<T>(flags, div<T>(q<T>(flags, mul<T>(mh, lr)), den))));
  store<T>(pp + o, p);
}
