// Lion (optax/_src/transform.py scale_by_lion + add_decayed_weights + scale_by_learning_rate; keras/src/
// optimizers/lion.py): u = sign(b1*m + (1-b1)*g) reads the old moment, then m = b2*m + (1-b2)*g, with the
// decay where the convention puts it, p += -lr*u. One moment: 20 bytes of memory traffic per parameter.
// golden/real/family/README.md has the op sequences (XLA jit: three multiply-adds; eager and Keras: none).
import {
  REC_P, REC_G, REC_M, S_RS, S_CLIP, S_PRE, S_PRE2, S_B1, S_C1, S_B2, S_C2, S_LAM, S_K, S_GDIV,
  F_FMA, F_GDIV, F_SCALE, F_CLIP, F_PRE_MUL, F_PRE_KERAS, F_UDECAY,
} from "./abi";
import { add, sub, mul, div, min, max, neg, fma } from "./lanes";
import { scalar, q } from "./record";

@inline export function lionSegment(rec: usize, flags: u32, a: usize, b: usize): void {
  let i: usize = a;
  if (ASC_FEATURE_SIMD) {
    i = a + ((b - a) & ~(<usize>3));
    lionRun<v128>(rec, flags, a, i);
  }
  lionRun<f32>(rec, flags, i, b);
}

/** sign(x): 1, -1, or x itself for zeros of either sign and NaN (jnp.sign, ops.sign, torch.sign). */
@inline function sign<T>(x: T): T {
  if (isVector<T>()) {
    const zero = f32x4.splat(0);
    const neg1 = v128.bitselect(f32x4.splat(-1), x, f32x4.lt(x, zero));
    return v128.bitselect(f32x4.splat(1), neg1, f32x4.gt(x, zero));
  } else {
    return <f32>x > 0 ? <T>(<f32>1) : <f32>x < 0 ? <T>(<f32>-1) : x;
  }
}

// Two lane groups per iteration in the SIMD loop, as Adam's: measured 1.5x faster than one at 64K.
@inline function lionRun<T>(rec: usize, flags: u32, from: usize, to: usize): void {
  const stride = <usize>sizeof<T>();
  const pp = <usize>load<u32>(rec, REC_P);
  const gp = <usize>load<u32>(rec, REC_G);
  const mp = <usize>load<u32>(rec, REC_M);
  const end = to << 2;
  let o = from << 2;
  const gdiv = scalar<T>(rec, S_GDIV), rs = scalar<T>(rec, S_RS), clip = scalar<T>(rec, S_CLIP);
  const pre = scalar<T>(rec, S_PRE), pre2 = scalar<T>(rec, S_PRE2);
  const b1 = scalar<T>(rec, S_B1), c1 = scalar<T>(rec, S_C1), b2 = scalar<T>(rec, S_B2), c2 = scalar<T>(rec, S_C2);
  const lam = scalar<T>(rec, S_LAM), k = scalar<T>(rec, S_K);
  const nclip = neg<T>(clip);
  if (isVector<T>()) {
    for (; o + 2 * stride <= end; o += 2 * stride) {
      lionBody<T>(flags, pp, gp, mp, o, gdiv, rs, clip, nclip, pre, pre2, b1, c1, b2, c2, lam, k);
      lionBody<T>(flags, pp, gp, mp, o + stride, gdiv, rs, clip, nclip, pre, pre2, b1, c1, b2, c2, lam, k);
    }
  }
  for (; o < end; o += stride) lionBody<T>(flags, pp, gp, mp, o, gdiv, rs, clip, nclip, pre, pre2, b1, c1, b2, c2, lam, k);
}

@inline function lionBody<T>(
  flags: u32, pp: usize, gp: usize, mp: usize, o: usize,
  gdiv: T, rs: T, clip: T, nclip: T, pre: T, pre2: T, b1: T, c1: T, b2: T, c2: T, lam: T, k: T,
): void {
  const fused = (flags & F_FMA) != 0;
  let p = q<T>(flags, load<T>(pp + o));
  let g = q<T>(flags, load<T>(gp + o));
  let m = q<T>(flags, load<T>(mp + o));

  // optax clip_by_global_norm: g/norm under jit, g*(1/norm) eagerly (GDIV holds what the host chose).
  if (flags & F_GDIV) g = fused ? q<T>(flags, div<T>(g, gdiv)) : q<T>(flags, mul<T>(g, gdiv));
  if (flags & F_SCALE) g = q<T>(flags, mul<T>(g, rs));
  if (flags & F_CLIP) g = min<T>(max<T>(g, nclip), clip);

  // Decay of the weight before the update: torch-style p*(1-lr*wd), Keras 3's p - (p*wd)*lr.
  if (flags & F_PRE_MUL) p = mul<T>(p, pre);
  if (flags & F_PRE_KERAS) p = sub<T>(p, mul<T>(mul<T>(p, pre), pre2));

  const bm = q<T>(flags, mul<T>(m, b1));
  const c = fused ? q<T>(flags, fma<T>(c1, g, bm)) : q<T>(flags, add<T>(q<T>(flags, mul<T>(c1, g)), bm));
  let u = sign<T>(c);
  const bm2 = q<T>(flags, mul<T>(m, b2));
  m = fused ? q<T>(flags, fma<T>(c2, g, bm2)) : q<T>(flags, add<T>(q<T>(flags, mul<T>(c2, g)), bm2));
  store<T>(mp + o, m);

  // optax add_decayed_weights (u + wd*p), then -lr*u added to p.
  if (flags & F_UDECAY) u = fused ? q<T>(flags, fma<T>(p, lam, u)) : q<T>(flags, add<T>(u, q<T>(flags, mul<T>(p, lam))));
  p = fused ? q<T>(flags, fma<T>(u, k, p)) : q<T>(flags, add<T>(p, q<T>(flags, mul<T>(u, k))));
  store<T>(pp + o, p);
}
