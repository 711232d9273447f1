// Adamax (torch/optim/adamax.py _single_tensor_adamax and _multi_tensor_adamax; optax/_src/transform.py
// scale_by_adamax [+ add_decayed_weights] + scale_by_learning_rate; keras/src/optimizers/adamax.py): the
// first moment as Adam's, the infinity norm u = max(b2*u, |g| + eps) in REC_V, and p += (step size)*m/u.
// Keras (A_EPS_AFTER_MAX) keeps eps out of the max and divides by (1-b1^t)*(u + eps).
// golden/real/family/README.md has each framework's op sequence.
import {
  REC_P, REC_G, REC_M, REC_V,
  S_RS, S_WD, S_CLIP, S_PRE, S_PRE2, S_B1, S_C1, S_B2, S_BC1, S_EPS, S_A, S_LAM, S_K, S_GDIV, S_LERP,
  F_FMA, F_GDIV, F_SCALE, F_L2, F_CLIP, F_PRE_MUL, F_PRE_KERAS, F_M_DELTA, F_M_LERP, F_M_LERP_END,
  F_DEN_BC1, F_MHAT, F_A, F_UDECAY, F_K, A_EPS_AFTER_MAX,
} from "./abi";
import { add, sub, mul, div, min, max, neg, fma } from "./lanes";
import { scalar, q } from "./record";

@inline export function adamaxSegment(rec: usize, algo: u32, flags: u32, a: usize, b: usize): void {
  let i: usize = a;
  if (ASC_FEATURE_SIMD) {
    i = a + ((b - a) & ~(<usize>3));
    adamaxRun<v128>(rec, algo, flags, a, i);
  }
  adamaxRun<f32>(rec, algo, flags, i, b);
}

@inline function adamaxRun<T>(rec: usize, algo: u32, flags: u32, from: usize, to: usize): void {
  const stride = <usize>sizeof<T>();
  const pp = <usize>load<u32>(rec, REC_P);
  const gp = <usize>load<u32>(rec, REC_G);
  const mp = <usize>load<u32>(rec, REC_M);
  const up = <usize>load<u32>(rec, REC_V);
  const end = to << 2;
  let o = from << 2;
  const gdiv = scalar<T>(rec, S_GDIV), rs = scalar<T>(rec, S_RS), wd = scalar<T>(rec, S_WD), clip = scalar<T>(rec, S_CLIP);
  const pre = scalar<T>(rec, S_PRE), pre2 = scalar<T>(rec, S_PRE2);
  const b1 = scalar<T>(rec, S_B1), c1 = scalar<T>(rec, S_C1), lw = scalar<T>(rec, S_LERP), b2 = scalar<T>(rec, S_B2);
  const bc1 = scalar<T>(rec, S_BC1), eps = scalar<T>(rec, S_EPS), a = scalar<T>(rec, S_A), lam = scalar<T>(rec, S_LAM);
  const k = scalar<T>(rec, S_K);
  const nclip = neg<T>(clip);
  if (isVector<T>()) {
    for (; o + 2 * stride <= end; o += 2 * stride) {
      adamaxBody<T>(algo, flags, pp, gp, mp, up, o, gdiv, rs, wd, clip, nclip, pre, pre2, b1, c1, lw, b2, bc1, eps, a, lam, k);
      adamaxBody<T>(algo, flags, pp, gp, mp, up, o + stride, gdiv, rs, wd, clip, nclip, pre, pre2, b1, c1, lw, b2, bc1, eps, a, lam, k);
    }
  }
  for (; o < end; o += stride) adamaxBody<T>(algo, flags, pp, gp, mp, up, o, gdiv, rs, wd, clip, nclip, pre, pre2, b1, c1, lw, b2, bc1, eps, a, lam, k);
}

@inline function abs<T>(x: T): T {
  if (isVector<T>()) return f32x4.abs(x);
  else return <T>Mathf.abs(<f32>x);
}

@inline function adamaxBody<T>(
  algo: u32, flags: u32, pp: usize, gp: usize, mp: usize, up: usize, o: usize,
  gdiv: T, rs: T, wd: T, clip: T, nclip: T, pre: T, pre2: T, b1: T, c1: T, lw: T, b2: T, bc1: T, eps: T, a: T, lam: T, k: T,
): void {
  const fused = (flags & F_FMA) != 0;
  let p = q<T>(flags, load<T>(pp + o));
  let g = q<T>(flags, load<T>(gp + o));
  let m = q<T>(flags, load<T>(mp + o));
  let u = q<T>(flags, load<T>(up + o));

  // Gradient: optax's clip division, the multiplier (rescale, clip coefficient, maximize), torch's L2 term
  // (grad.add(param, alpha=wd): one FMA in the vector kernels), the per-element clip.
  if (flags & F_GDIV) g = fused ? q<T>(flags, div<T>(g, gdiv)) : q<T>(flags, mul<T>(g, gdiv));
  if (flags & F_SCALE) g = q<T>(flags, mul<T>(g, rs));
  if (flags & F_L2) g = fused ? fma<T>(wd, p, g) : add<T>(g, mul<T>(wd, p));
  if (flags & F_CLIP) g = min<T>(max<T>(g, nclip), clip);
  if (flags & F_PRE_MUL) p = mul<T>(p, pre);
  if (flags & F_PRE_KERAS) p = sub<T>(p, mul<T>(mul<T>(p, pre), pre2));

  // First moment: Keras m += (g-m)*(1-b1); torch's lerp (aten Lerp.h); optax (1-b1)*g + b1*m.
  if (flags & F_M_DELTA) m = add<T>(m, mul<T>(sub<T>(g, m), c1));
  else if (flags & F_M_LERP) {
    const d = sub<T>(g, m);
    const base = flags & F_M_LERP_END ? g : m;
    m = fused ? fma<T>(lw, d, base) : add<T>(base, mul<T>(lw, d));
  } else {
    const bm = q<T>(flags, mul<T>(m, b1));
    m = fused ? q<T>(flags, fma<T>(c1, g, bm)) : q<T>(flags, add<T>(q<T>(flags, mul<T>(c1, g)), bm));
  }

  // Infinity norm (max propagates NaN, as torch.maximum, jnp.maximum and ops.maximum do).
  const after = (algo & A_EPS_AFTER_MAX) != 0;
  const ag = after ? abs<T>(g) : q<T>(flags, add<T>(abs<T>(g), eps));
  u = max<T>(q<T>(flags, mul<T>(u, b2)), ag);
  store<T>(mp + o, m);
  store<T>(up + o, u);

  // Denominator: u, Keras's (1-b1^t)*(u + eps), or XLA's (m/bc1)/u rewritten to m/(bc1*u).
  let den = u;
  if (after) den = add<T>(den, eps);
  if (flags & F_DEN_BC1) den = q<T>(flags, mul<T>(bc1, den));
  let r = m;
  if (flags & F_MHAT) r = q<T>(flags, div<T>(r, bc1));
  if (flags & F_A) r = q<T>(flags, mul<T>(a, r));
  r = q<T>(flags, div<T>(r, den));
  if (flags & F_UDECAY) r = q<T>(flags, add<T>(r, q<T>(flags, mul<T>(p, lam))));
  if (flags & F_K) p = fused ? q<T>(flags, fma<T>(r, k, p)) : q<T>(flags, add<T>(p, q<T>(flags, mul<T>(r, k))));
  else p = add<T>(p, r);
  store<T>(pp + o, p);
}
