// The per-element stages that the Adam, NAdam and RAdam bodies share, written once (torch's arithmetic for
// the gradient and both moments). Each is @inline, so with a body's flags known at compile time the unused
// branches fold away exactly as if written in place; the operations and their order are those of
// golden/seed/README.md and golden/real/torch/README.md.
import { F_FMA, F_SCALE, F_L2, F_CLIP, F_M_LERP, F_M_LERP_END } from "./abi";
import { add, sub, mul, min, max, fma } from "./lanes";

/** Gradient: rescale / unscale / clip coefficient / maximize sign (RS), the L2 term, then the per-element clip. */
@inline export function gradStage<T>(flags: u32, g: T, p: T, rs: T, wd: T, clip: T, nclip: T): T {
  if (flags & F_SCALE) g = mul<T>(g, rs);
  if (flags & F_L2) g = flags & F_FMA ? fma<T>(wd, p, g) : add<T>(g, mul<T>(wd, p));
  if (flags & F_CLIP) g = min<T>(max<T>(g, nclip), clip);
  return g;
}

/**
 * torch's first moment: exp_avg.lerp_(grad, 1-b1) (ATen Lerp.h: m + w*(g-m), or g + (w-1)*(g-m) on its
 * other branch) in torch 2.x, else torch 1.13's b1*m + (1-b1)*g; one FMA in the vector kernels.
 */
@inline export function torchFirstMoment<T>(flags: u32, m: T, g: T, b1: T, c1: T, lw: T): T {
  const fused = (flags & F_FMA) != 0;
  if (flags & F_M_LERP) {
    const d = sub<T>(g, m);
    const base = flags & F_M_LERP_END ? g : m;
    return fused ? fma<T>(lw, d, base) : add<T>(base, mul<T>(lw, d));
  }
  const bm = mul<T>(m, b1);
  return fused ? fma<T>(c1, g, bm) : add<T>(bm, mul<T>(c1, g));
}

/** torch's second moment exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2): b2*v + ((1-b2)*g)*g, the add an FMA in the vector kernels. */
@inline export function torchSecondMoment<T>(flags: u32, v: T, g: T, b2: T, c2: T): T {
  const bv = mul<T>(v, b2);
  return flags & F_FMA ? fma<T>(mul<T>(c2, g), g, bv) : add<T>(bv, mul<T>(mul<T>(c2, g), g));
}
