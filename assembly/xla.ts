// optax's Adam step as XLA CPU runs it (jax 0.10.2; golden/real/optax/README.md has the HLO behind each
// line). XLA CPU runs with denormals flushed: subnormal inputs read as zero and subnormal results become
// zero (with their sign), so every value passes through z(). Under jax.jit LLVM contracts three
// multiply-adds (F_FMA, set exactly for jitted programs) and XLA rewrites (m/bc1)/den into m/(bc1*den)
// (F_DEN_BC1); eagerly every op rounds on its own. A program with one parameter tensor instead has both
// corrections rewritten into multiplies by their reciprocals (F_A: m*A, and v*BC2 with BC2 = 1/bc2).
// Scalars are float32 values computed on the host (src/conventions.ts).
import { F_SCALE, F_CLIP, F_AMS, F_FMA, F_V_FMA_B, F_GDIV, F_VHAT, F_EROOT, F_DEN_BC1, F_MHAT, F_A, F_UDECAY } from "./abi";
import { add, mul, div, sqrt, min, max, fma } from "./lanes";

const TINY: f32 = 1.17549435e-38; // smallest normal float32

/** x, or a zero of x's sign where x is subnormal (MXCSR flush-to-zero / denormals-are-zero). */
@inline export function z<T>(x: T): T {
  if (isVector<T>()) {
    const small = f32x4.lt(f32x4.abs(x), f32x4.splat(TINY));
    return v128.andnot(x, v128.and(small, i32x4.splat(0x7fffffff)));
  } else {
    // Keep the sign bit only: a zero of x's sign (NaN and normal values pass unchanged).
    return Mathf.abs(<f32>x) < TINY ? <T>reinterpret<f32>(reinterpret<u32>(<f32>x) & 0x80000000) : x;
  }
}

@inline export function bodyXla<T>(
  flags: u32, pp: usize, gp: usize, mp: usize, vp: usize, xp: usize, o: usize,
  gdiv: T, rs: T, clip: T, nclip: T, b1: T, c1: T, b2: T, c2: T, bc1: T, bc2: T, eroot: T, eps: T, a: T, lam: T, k: T,
): void {
  const fused = (flags & F_FMA) != 0;
  let p = z<T>(load<T>(pp + o));
  let g = z<T>(load<T>(gp + o));
  let m = z<T>(load<T>(mp + o));
  let v = z<T>(load<T>(vp + o));

  // clip_by_global_norm: g/norm under jit; eagerly XLA rewrites it to g*(1/norm) (GDIV holds 1/norm).
  // Then *max_norm (F_SCALE, skipped for 1).
  if (flags & F_GDIV) g = fused ? z<T>(div<T>(g, gdiv)) : z<T>(mul<T>(g, gdiv));
  if (flags & F_SCALE) g = z<T>(mul<T>(g, rs));
  // The library's options beyond optax (maximize is in RS): MXNet-style element clip, amsgrad's max.
  if (flags & F_CLIP) g = min<T>(max<T>(g, nclip), clip);

  // mu = (1-b1)*g + b1*mu; nu = (1-b2)*g^2 + b2*nu (optax tree_update_moment[_per_elem_norm]).
  const bm = z<T>(mul<T>(m, b1));
  m = fused ? z<T>(fma<T>(c1, g, bm)) : z<T>(add<T>(z<T>(mul<T>(c1, g)), bm));
  const gg = z<T>(mul<T>(g, g));
  if (!fused) v = z<T>(add<T>(z<T>(mul<T>(gg, c2)), z<T>(mul<T>(v, b2))));
  else if (flags & F_V_FMA_B) v = z<T>(fma<T>(v, b2, z<T>(mul<T>(gg, c2))));
  else v = z<T>(fma<T>(gg, c2, z<T>(mul<T>(v, b2))));
  store<T>(mp + o, m);
  store<T>(vp + o, v);

  // m_hat / (sqrt(nu_hat + eps_root) + eps).
  let r = v;
  if (flags & F_AMS) {
    r = max<T>(z<T>(load<T>(xp + o)), v);
    store<T>(xp + o, r);
  }
  if (flags & F_VHAT) r = flags & F_A ? z<T>(mul<T>(r, bc2)) : z<T>(div<T>(r, bc2));
  if (flags & F_EROOT) r = z<T>(add<T>(r, eroot));
  let den = z<T>(add<T>(z<T>(sqrt<T>(r)), eps));
  if (flags & F_DEN_BC1) den = z<T>(mul<T>(bc1, den));
  let q = m;
  if (flags & F_MHAT) q = z<T>(div<T>(q, bc1));
  if (flags & F_A) q = z<T>(mul<T>(q, a));
  q = z<T>(div<T>(q, den));

  // add_decayed_weights (u + wd*p), scale_by_learning_rate (-lr*u), apply_updates (p + u).
  if (flags & F_UDECAY) q = z<T>(add<T>(q, z<T>(mul<T>(p, lam))));
  p = fused ? z<T>(fma<T>(q, k, p)) : z<T>(add<T>(p, z<T>(mul<T>(q, k))));
  store<T>(pp + o, p);
}
