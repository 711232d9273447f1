// The fused Adam-family step. One call walks every segment record (one per parameter tensor) and updates
// weights and moments in a single pass over memory: f32x4 lanes, then a scalar tail. The per-element
// operation order is the one in golden/seed/README.md ("Exact op sequences"); each stage is one rounded
// float32 operation per element, so the SIMD lanes, the scalar tail and the non-SIMD build agree bit for bit.
import {
  LINE_FLOATS, REC_P, REC_G, REC_M, REC_V, REC_VMAX, REC_N, REC_FLAGS, REC_ALGO, REC_SCALARS, REC_BYTES, ALGO_ADAM,
  S_RS, S_WD, S_CLIP, S_PRE, S_PRE2, S_B1, S_C1, S_B2, S_C2, S_BC1, S_BC2, S_R, S_EROOT, S_EPS,
  S_A, S_LAM, S_K, S_POST, S_LERP, S_GDIV,
  F_XLA, F_DEN_BC1, F_V_FMA_B, F_GDIV,
  F_L2, F_CLIP, F_PRE_MUL, F_PRE_SUB, F_PRE_KERAS, F_M_DELTA, F_V_SQ, F_V_DELTA, F_AMS, F_MHAT, F_VHAT,
  F_EROOT, F_RDIV, F_A, F_UDECAY, F_K, F_POST, F_FMA, F_SCALE,
  F_M_LERP, F_M_LERP_END, F_V_TAIL8, F_V_FMA_ALT, F_SQRT_R14,
  TORCH_ADAM, TORCH_ADAM_L2, TORCH_ADAMW, LERP_ADAM, LERP_ADAM_L2, LERP_ADAMW, FAST_ADAM, FAST_ADAM_L2, FAST_ADAMW,
} from "./abi";
import { splat, add, sub, mul, div, sqrt, min, max, neg, fma } from "./lanes";
import { gradStage, torchFirstMoment, torchSecondMoment } from "./stages";
import { sqrtR14 } from "./sqrt14";
import { bodyXla } from "./xla";
import { familySegment } from "./family";

/** Start of the memory the host may manage (everything above the static data). */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * Runs one optimizer step over the elements at padded positions [from, to) of the `count` segment records
 * starting at `table`. Positions number the elements of all records in order, each record's count rounded
 * up to 16 (a 64-byte line): [0, 0xffffffff) is the whole step; threads take ranges split on multiples of 16,
 * so every element goes through the same operations (f32x4 body or scalar tail) as in a one-thread step.
 */
export function step(table: usize, count: i32, from: u32, to: u32): void {
  let pos: u32 = 0;
  for (let s = 0; s < count && pos < to; s++) {
    const rec = table + <usize>s * REC_BYTES;
    const n = load<u32>(rec, REC_N);
    const lo = from > pos ? from - pos : 0;
    const hi = to - pos < n ? to - pos : n;
    pos += (n + LINE_FLOATS - 1) & ~(LINE_FLOATS - 1);
    if (lo >= hi) continue;
    const a = <usize>lo;
    const b = <usize>hi;
    const algo = load<u32>(rec, REC_ALGO);
    if (algo != ALGO_ADAM) {
      familySegment(rec, algo, a, b);
      continue;
    }
    const flags = load<u32>(rec, REC_FLAGS);
    // The hot presets run instantiations with their flags known at compile time, so the optimizer drops
    // the unused stages; every other combination reads its flags at run time in the same loop.
    if (flags == LERP_ADAMW) lerpAdamW(rec, a, b);
    else if (flags == LERP_ADAM) lerpAdam(rec, a, b);
    else if (flags == LERP_ADAM_L2) lerpAdamL2(rec, a, b);
    else if (flags == (LERP_ADAMW | F_AMS)) lerpAdamWAms(rec, a, b);
    else if (flags == (LERP_ADAM | F_AMS)) lerpAdamAms(rec, a, b);
    else if (flags == (LERP_ADAM_L2 | F_AMS)) lerpAdamL2Ams(rec, a, b);
    else if (flags == (LERP_ADAMW | F_SCALE)) lerpAdamWScaled(rec, a, b);
    else if (flags == (LERP_ADAM_L2 | F_SCALE)) lerpAdamL2Scaled(rec, a, b);
    else if (flags == (LERP_ADAM | F_SCALE)) lerpAdamScaled(rec, a, b);
    else if (flags == (LERP_ADAMW | F_FMA)) lerpAdamWFma(rec, a, b);
    else if (flags == (LERP_ADAM_L2 | F_FMA)) lerpAdamL2Fma(rec, a, b);
    else if (flags == (LERP_ADAM | F_FMA)) lerpAdamFma(rec, a, b);
    else if (flags == TORCH_ADAMW) adamW(rec, a, b);
    else if (flags == TORCH_ADAM) adam(rec, a, b);
    else if (flags == TORCH_ADAM_L2) adamL2(rec, a, b);
    else if (flags == (TORCH_ADAMW | F_AMS)) adamWAms(rec, a, b);
    else if (flags == (TORCH_ADAM | F_AMS)) adamAms(rec, a, b);
    else if (flags == (TORCH_ADAM_L2 | F_AMS)) adamL2Ams(rec, a, b);
    else if (flags == (TORCH_ADAMW | F_SCALE)) adamWScaled(rec, a, b);
    else if (flags == (TORCH_ADAM_L2 | F_SCALE)) adamL2Scaled(rec, a, b);
    else if (flags == (TORCH_ADAM | F_SCALE)) adamScaled(rec, a, b);
    else if (flags == FAST_ADAMW) fastAdamW(rec, a, b);
    else if (flags == FAST_ADAM_L2) fastAdamL2(rec, a, b);
    else if (flags == FAST_ADAM) fastAdam(rec, a, b);
    else if (flags == (FAST_ADAMW | F_SCALE)) fastAdamWScaled(rec, a, b);
    else if (flags == (FAST_ADAM_L2 | F_SCALE)) fastAdamL2Scaled(rec, a, b);
    else generic(rec, flags, a, b);
  }
}

function adamW(rec: usize, a: usize, b: usize): void { segment(rec, TORCH_ADAMW, a, b); }
function adam(rec: usize, a: usize, b: usize): void { segment(rec, TORCH_ADAM, a, b); }
function adamL2(rec: usize, a: usize, b: usize): void { segment(rec, TORCH_ADAM_L2, a, b); }
function adamWAms(rec: usize, a: usize, b: usize): void { segment(rec, TORCH_ADAMW | F_AMS, a, b); }
function adamAms(rec: usize, a: usize, b: usize): void { segment(rec, TORCH_ADAM | F_AMS, a, b); }
function adamL2Ams(rec: usize, a: usize, b: usize): void { segment(rec, TORCH_ADAM_L2 | F_AMS, a, b); }
function adamWScaled(rec: usize, a: usize, b: usize): void { segment(rec, TORCH_ADAMW | F_SCALE, a, b); }
function adamL2Scaled(rec: usize, a: usize, b: usize): void { segment(rec, TORCH_ADAM_L2 | F_SCALE, a, b); }
function adamScaled(rec: usize, a: usize, b: usize): void { segment(rec, TORCH_ADAM | F_SCALE, a, b); }
function fastAdamW(rec: usize, a: usize, b: usize): void { segment(rec, FAST_ADAMW, a, b); }
function fastAdamL2(rec: usize, a: usize, b: usize): void { segment(rec, FAST_ADAM_L2, a, b); }
function fastAdam(rec: usize, a: usize, b: usize): void { segment(rec, FAST_ADAM, a, b); }
function fastAdamWScaled(rec: usize, a: usize, b: usize): void { segment(rec, FAST_ADAMW | F_SCALE, a, b); }
function fastAdamL2Scaled(rec: usize, a: usize, b: usize): void { segment(rec, FAST_ADAM_L2 | F_SCALE, a, b); }
function lerpAdamW(rec: usize, a: usize, b: usize): void { segment(rec, LERP_ADAMW, a, b); }
function lerpAdam(rec: usize, a: usize, b: usize): void { segment(rec, LERP_ADAM, a, b); }
function lerpAdamL2(rec: usize, a: usize, b: usize): void { segment(rec, LERP_ADAM_L2, a, b); }
function lerpAdamWAms(rec: usize, a: usize, b: usize): void { segment(rec, LERP_ADAMW | F_AMS, a, b); }
function lerpAdamAms(rec: usize, a: usize, b: usize): void { segment(rec, LERP_ADAM | F_AMS, a, b); }
function lerpAdamL2Ams(rec: usize, a: usize, b: usize): void { segment(rec, LERP_ADAM_L2 | F_AMS, a, b); }
function lerpAdamWScaled(rec: usize, a: usize, b: usize): void { segment(rec, LERP_ADAMW | F_SCALE, a, b); }
function lerpAdamL2Scaled(rec: usize, a: usize, b: usize): void { segment(rec, LERP_ADAM_L2 | F_SCALE, a, b); }
function lerpAdamScaled(rec: usize, a: usize, b: usize): void { segment(rec, LERP_ADAM | F_SCALE, a, b); }
// torch 2.x as its vector kernels round (fma: true), single and foreach.
function lerpAdamWFma(rec: usize, a: usize, b: usize): void { segment(rec, LERP_ADAMW | F_FMA, a, b); }
function lerpAdamL2Fma(rec: usize, a: usize, b: usize): void { segment(rec, LERP_ADAM_L2 | F_FMA, a, b); }
function lerpAdamFma(rec: usize, a: usize, b: usize): void { segment(rec, LERP_ADAM | F_FMA, a, b); }

// Every other flag set, read at run time. F_V_TAIL8 splits the record at its last n % 8 elements, which run
// with F_V_FMA_ALT; elements are independent, so where the split falls in a lane group changes no bits.
function generic(rec: usize, flags: u32, a: usize, b: usize): void {
  if (!(flags & F_V_TAIL8)) {
    segment(rec, flags, a, b);
    return;
  }
  const n = <usize>load<u32>(rec, REC_N);
  const t = n - (n & 7);
  const body = flags & ~F_V_TAIL8;
  if (a < t) segment(rec, body, a, b < t ? b : t);
  if (b > t) segment(rec, body | F_V_FMA_ALT, a > t ? a : t, b);
}

// Elements [a, b) of one record: f32x4 lane groups while four remain, then the scalar tail. `a` is 0 or a
// multiple of 16, so the tail is always the record's own last n % 4 elements.
@inline function segment(rec: usize, flags: u32, a: usize, b: usize): void {
  let i: usize = a;
  if (ASC_FEATURE_SIMD) {
    i = a + ((b - a) & ~(<usize>3));
    run<v128>(rec, flags, a, i);
  }
  run<f32>(rec, flags, i, b);
}

// Scalar slot `k` of the record, splatted to the lane type.
@inline function s<T>(rec: usize, k: i32): T {
  return splat<T>(load<f32>(rec + REC_SCALARS + (<usize>k << 2)));
}

// Elements [from, to) of one segment, one lane group (T = v128) or one element (T = f32) per body.
// Pointers and scalars are read into locals before the loop (loads cannot be hoisted past the stores);
// one byte offset walks all buffers, and the SIMD loop runs two independent bodies per iteration so the
// divides and square roots of one overlap the loads of the other.
@inline function run<T>(rec: usize, flags: u32, from: usize, to: usize): void {
  const stride = <usize>sizeof<T>();
  const pp = <usize>load<u32>(rec, REC_P);
  const gp = <usize>load<u32>(rec, REC_G);
  const mp = <usize>load<u32>(rec, REC_M);
  const vp = <usize>load<u32>(rec, REC_V);
  const xp = <usize>load<u32>(rec, REC_VMAX);
  const end = to << 2;
  let o = from << 2;
  const rs = s<T>(rec, S_RS), wd = s<T>(rec, S_WD), clip = s<T>(rec, S_CLIP);
  const pre = s<T>(rec, S_PRE), pre2 = s<T>(rec, S_PRE2);
  const b1 = s<T>(rec, S_B1), c1 = s<T>(rec, S_C1), b2 = s<T>(rec, S_B2), c2 = s<T>(rec, S_C2);
  const bc1 = s<T>(rec, S_BC1), bc2 = s<T>(rec, S_BC2), rr = s<T>(rec, S_R);
  const eroot = s<T>(rec, S_EROOT), eps = s<T>(rec, S_EPS);
  const a = s<T>(rec, S_A), lam = s<T>(rec, S_LAM), k = s<T>(rec, S_K), post = s<T>(rec, S_POST);
  const lw = s<T>(rec, S_LERP);
  const nclip = neg<T>(clip);
  if (flags & F_XLA) {
    const gdiv = s<T>(rec, S_GDIV);
    for (; o < end; o += stride) bodyXla<T>(flags, pp, gp, mp, vp, xp, o, gdiv, rs, clip, nclip, b1, c1, b2, c2, bc1, bc2, eroot, eps, a, lam, k);
    return;
  }
  if (isVector<T>()) {
    for (; o + 2 * stride <= end; o += 2 * stride) {
      body<T>(flags, pp, gp, mp, vp, xp, o, rs, wd, clip, nclip, pre, pre2, b1, c1, b2, c2, bc1, bc2, rr, eroot, eps, a, lam, k, post, lw);
      body<T>(flags, pp, gp, mp, vp, xp, o + stride, rs, wd, clip, nclip, pre, pre2, b1, c1, b2, c2, bc1, bc2, rr, eroot, eps, a, lam, k, post, lw);
    }
  }
  for (; o < end; o += stride) {
    body<T>(flags, pp, gp, mp, vp, xp, o, rs, wd, clip, nclip, pre, pre2, b1, c1, b2, c2, bc1, bc2, rr, eroot, eps, a, lam, k, post, lw);
  }
}

// One element (or lane group) at byte offset o: the stages in the order of golden/seed/README.md.
@inline function body<T>(
  flags: u32, pp: usize, gp: usize, mp: usize, vp: usize, xp: usize, o: usize,
  rs: T, wd: T, clip: T, nclip: T, pre: T, pre2: T, b1: T, c1: T, b2: T, c2: T,
  bc1: T, bc2: T, rr: T, eroot: T, eps: T, a: T, lam: T, k: T, post: T, lw: T,
): void {
  const fused = (flags & F_FMA) != 0;
  let p = load<T>(pp + o);
  let g = load<T>(gp + o);
  let m = load<T>(mp + o);
  let v = load<T>(vp + o);

  // Gradient: rescale / unscale / clip coefficient / maximize sign, the L2 term (torch Adam, Caffe,
  // MXNet >= 0.9), then MXNet's per-element clip.
  g = gradStage<T>(flags, g, p, rs, wd, clip, nclip);

  // Decay of the weight before the update.
  if (flags & F_PRE_MUL) p = mul<T>(p, pre);
  if (flags & F_PRE_SUB) p = add<T>(p, mul<T>(pre, p));
  if (flags & F_PRE_KERAS) p = sub<T>(p, mul<T>(mul<T>(p, pre), pre2));

  // First moment: m = b1*m + (1-b1)*g, TF's m += (g-m)*(1-b1), or the lerp m + w*(g-m) / g + (w-1)*(g-m).
  if (flags & F_M_DELTA) m = add<T>(m, mul<T>(sub<T>(g, m), c1));
  else m = torchFirstMoment<T>(flags, m, g, b1, c1, lw);

  // Second moment: torch's addcmul (c2*g)*g, the (g*g) form, or TF's v += (g*g-v)*(1-b2).
  if (flags & F_V_DELTA) v = add<T>(v, mul<T>(sub<T>(mul<T>(g, g), v), c2));
  else {
    const bv = mul<T>(v, b2);
    if (flags & F_V_SQ) v = add<T>(bv, mul<T>(c2, mul<T>(g, g)));
    else if (flags & F_V_FMA_ALT) v = fused ? fma<T>(v, b2, mul<T>(mul<T>(c2, g), g)) : add<T>(bv, mul<T>(mul<T>(c2, g), g));
    else v = torchSecondMoment<T>(flags, v, g, b2, c2);
  }
  store<T>(mp + o, m);
  store<T>(vp + o, v);

  let r = v;
  if (flags & F_AMS) {
    r = max<T>(load<T>(xp + o), v);
    store<T>(xp + o, r);
  }

  // Denominator.
  if (flags & F_VHAT) r = div<T>(r, bc2);
  if (flags & F_EROOT) r = add<T>(r, eroot);
  r = flags & F_SQRT_R14 ? sqrtR14<T>(r) : sqrt<T>(r);
  if (flags & F_RDIV) r = div<T>(r, rr);
  const den = add<T>(r, eps);

  // Update.
  let q = m;
  if (flags & F_MHAT) q = div<T>(q, bc1);
  if (flags & F_A) q = mul<T>(a, q);
  q = div<T>(q, den);
  if (flags & F_UDECAY) q = add<T>(q, mul<T>(lam, p));
  if (flags & F_K) q = mul<T>(k, q);
  p = add<T>(p, q);

  // Decay of the weight after the update (MXNet 0.7, HuggingFace, SGD on the L2 loss).
  if (flags & F_POST) p = add<T>(p, mul<T>(post, p));
  store<T>(pp + o, p);
}

/** 1 in the SIMD build, 0 in the scalar one: lets the host report which build it was handed. */
export const simd: i32 = ASC_FEATURE_SIMD ? 1 : 0;

export { gradNorms, normOfNorms } from "./norm";
