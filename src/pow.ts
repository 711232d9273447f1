// Integer powers of a double, correctly rounded, as python's `beta ** t` (the C library's pow) gives them.
// JavaScript's Math.pow is off by one ulp for about 9% of (beta, t) pairs (0.9 ** 4 is 0.6561 in python,
// 0.6561000000000001 in V8), and bias corrections such as HuggingFace's step size carry that ulp into the
// float32 result. Binary powering in double-double arithmetic keeps ~104 bits, enough to round correctly.
//
// The products are written out inline on locals (Dekker's exact product with Veltkamp's split, then the
// double-double multiply): powi runs twice per parameter group on every optimizer step, and helper calls
// taking and returning doubles would box them on the heap.
import { fail } from "./errors.js";

const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitting constant
const EPS_STEP = 2 ** -100; // error bound per power of a run of steps (relative), see powInPlace
const TINY = 2 ** -900; // below this a double-double product loses its low word to underflow

const one = new Float64Array(1);

/** `base ** t` for an integer t >= 0, correctly rounded to double (python's float power). */
export function powi(base: number, t: number): number {
  one[0] = base;
  powInPlace(one, 0, t);
  return one[0];
}

// The squares base^(2^k) (double-double) of the last few bases, filled as far as an exponent has needed:
// optimizers ask for beta1^t and beta2^t of the same betas on every step, so a power costs one double-double
// product per set bit of t. The squares are the ones binary powering computes, in the same order, so the
// result is bit for bit the same as without the cache.
const WAYS = 4;
const BITS = 32; // t <= 2^31
const cachedBase = new Float64Array(WAYS).fill(NaN); // NaN matches no base
const filled = new Int32Array(WAYS); // squares known: k < filled[w]
const squares = new Float64Array(WAYS * BITS * 2); // [w][k] = (hi, lo) of base^(2^k)
// The last power asked of each base, rounded and as a double-double: every tensor of a group asks for the
// same beta^t on a step, and the next step asks for beta^(t+1), one product away.
const lastT = new Float64Array(WAYS).fill(-1);
const lastPower = new Float64Array(WAYS);
const lastHi = new Float64Array(WAYS);
const lastLo = new Float64Array(WAYS);
let victim = 0;

/** The cache way holding io[at]'s squares up to base^(2^(bits-1)), filling it as needed. */
function squaresOf(io: Float64Array, at: number, bits: number): number {
  const base = io[at];
  let w = 0;
  while (w < WAYS && cachedBase[w] !== base) w++;
  if (w === WAYS) {
    w = victim;
    victim = (victim + 1) % WAYS;
    cachedBase[w] = base;
    lastT[w] = -1;
    squares[w * BITS * 2] = base;
    squares[w * BITS * 2 + 1] = 0;
    filled[w] = 1;
  }
  for (let k = filled[w]; k < bits; k++) {
    // (sh + sl)^2: Dekker's exact product of sh with itself, then the cross terms.
    const o = (w * BITS + k - 1) * 2;
    const sh = squares[o];
    const sl = squares[o + 1];
    const p = sh * sh;
    const c = SPLIT * sh;
    const xh = c - (c - sh);
    const xl = sh - xh;
    const e = xh * xh - p + xh * xl + xl * xh + xl * xl;
    const lo = e + (sh * sl + sl * sh);
    const hi = p + lo;
    squares[o + 2] = hi;
    squares[o + 3] = lo - (hi - p);
    filled[w] = k + 1;
  }
  return w;
}

/**
 * io[at] = io[at] ** t: the step path's form. V8 boxes a double passed to or returned from a call it does
 * not inline, so the base and the result travel through the array.
 */
export function powInPlace(io: Float64Array, at: number, t: number): void {
  const base = io[at];
  if (!Number.isInteger(t) || t < 0) fail("BAD_OPTION", `powi: the exponent must be a whole number >= 0, got ${t}`);
  if (t === 0 || !Number.isFinite(base) || base === 0 || t > 2 ** 31) {
    io[at] = t === 0 ? 1 : Math.pow(base, t);
    return;
  }
  const w = squaresOf(io, at, 32 - Math.clz32(t)); // up to the highest set bit of t (t <= 2^31)
  if (lastT[w] === t) {
    io[at] = lastPower[w];
    return;
  }
  const o = w * BITS * 2;
  if (lastT[w] === t - 1 && lastPower[w] === 0 && base > 0 && base < 1) {
    // Past the underflow (0.9^t for t above ~7,100): beta^(t-1) rounded to 0, so it was at most half the
    // smallest subnormal, and beta^t is smaller still.
    lastT[w] = t;
    io[at] = 0;
    return;
  }
  // Pass 0, for the next power of a run of steps: the last power (double-double) times the base, one
  // product. Each such product adds at most ~2^-104 of relative error to binary powering's own ~2^-99, so
  // the value is within (t + 64) * 2^-100 of beta^t, relatively; when that whole interval rounds to one
  // double, the true power rounds to it too, as binary powering's result does. Otherwise (near a rounding
  // midpoint, rarely), and for any other t, pass 1: binary powering from 1. Either way the bits are binary
  // powering's.
  for (let pass = lastT[w] === t - 1 && Math.abs(lastHi[w]) > TINY ? 0 : 1; pass < 2; pass++) {
    // acc = ah + al, multiplied by base^(2^k) for every set bit k of n, lowest first.
    let ah = pass === 0 ? lastHi[w] : 1;
    let al = pass === 0 ? lastLo[w] : 0;
    // t arrives as a double (step counts live in a Float64Array); unsigned 32-bit keeps the loop in integers.
    for (let n = pass === 0 ? 1 : t >>> 0, k = 0; n !== 0; n >>>= 1, k++) {
      if (n & 1) {
        // (ah + al) * (sh + sl): p + e = ah * sh exactly, then the cross terms.
        const sh = squares[o + 2 * k];
        const sl = squares[o + 2 * k + 1];
        const p = ah * sh;
        const ca = SPLIT * ah;
        const xh = ca - (ca - ah);
        const xl = ah - xh;
        const cb = SPLIT * sh;
        const yh = cb - (cb - sh);
        const yl = sh - yh;
        const e = xh * yh - p + xh * yl + xl * yh + xl * yl;
        const lo = e + (ah * sl + al * sh);
        const hi = p + lo;
        al = lo - (hi - p);
        ah = hi;
      }
    }
    // Below the normal range the low word is no longer exact; the value then only feeds 1 - beta^t.
    const r = ah + al;
    if (pass === 0) {
      const err = Math.abs(ah) * (t + 64) * EPS_STEP;
      if (ah + (al + err) !== r || ah + (al - err) !== r) continue;
    }
    lastT[w] = t;
    lastHi[w] = ah;
    lastLo[w] = al;
    lastPower[w] = r;
    io[at] = r;
    return;
  }
}

// The float32 running product of TF1's and TF.js's beta powers, p_t = f32(p_(t-1) * f32(beta)), after
// `steps` steps, for resuming at any step without replaying it. Within a binade [2^e, 2^(e+1)) every
// float32 is m * 2^(e-23) with a whole m, and one step takes m to m - round(m * (1 - beta)) (ties to an
// even m), exactly, as long as the result stays in the binade. That decrement stays the same integer c
// over long runs of m, which are jumped at once: about 1 / sqrt(1 - beta) runs per binade at most
// (~2,000 for beta = 1 - 2^-12, 1 for beta = 1 - 2^-24), ~150 binades to the underflow. Bit for bit the
// product of `steps` float32 multiplications (tested against it).
const f32 = Math.fround;
const MIN_EXP = -126; // float32's smallest normal exponent; below it the spacing stays 2^-149

function exponentOf(p: number): number {
  let e = Math.floor(Math.log2(p));
  if (2 ** e > p) e--;
  else if (2 ** (e + 1) <= p) e++;
  return Math.max(e, MIN_EXP);
}

/** f32(...f32(f32(1 * b) * b)...) with `steps` factors b = f32(beta), beta in [0, 1). */
export function runningPower(beta: number, steps: number): number {
  const b = f32(beta);
  const d = 1 - b; // exact: b is a float32 in [0, 1)
  let p = 1;
  let t = 0;
  while (t < steps) {
    if (p > 0 && b > 0.5) {
      // Through this binade in whole mantissas m (m * d is exact: at most 24 x 24 significant bits).
      const e = exponentOf(p);
      const u = 2 ** (e - 23);
      const low = e > MIN_EXP ? 2 ** 23 : 0;
      let m = p / u;
      while (t < steps) {
        const delta = m * d;
        if (m - delta < low) break; // the next value lies in the binade below: one float32 step
        const fl = Math.floor(delta);
        const fr = delta - fl;
        const c = fr > 0.5 || (fr === 0.5 && (m - fl) % 2 === 1) ? fl + 1 : fl;
        if (c === 0) return m * u; // a fixed point: the product rounds back to p
        // Steps j = 0, 1, ... keep this decrement while (m - j*c) * d stays above c - 0.5 (no tie) and
        // m - (j+1)*c stays in the binade. The bound is computed in floating point, so its last step is
        // checked exactly (the products are exact) and dropped when it fails.
        let k = fr === 0.5 ? 1 : Math.min(Math.floor((m - (c - 0.5) / d) / c), Math.floor((m - c - low) / c), steps - t);
        if (k > 1 && !((m - (k - 1) * c) * d > c - 0.5 && m - k * c >= low)) k--;
        k = Math.max(k, 1);
        m -= k * c;
        t += k;
      }
      p = m * u;
      if (t >= steps) break;
    }
    const next = f32(p * b);
    if (next === p) return p; // a fixed point (0, or a subnormal the product rounds back to itself)
    p = next;
    t++;
  }
  return p;
}
