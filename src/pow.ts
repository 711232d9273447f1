// Integer powers of a double, correctly rounded, as python's `beta ** t` (the C library's pow) gives them.
// JavaScript's Math.pow is off by one ulp for about 9% of (beta, t) pairs (0.9 ** 4 is 0.6561 in python,
// 0.6561000000000001 in V8), and bias corrections such as HuggingFace's step size carry that ulp into the
// float32 result. Binary powering in double-double arithmetic keeps ~104 bits, enough to round correctly.
//
// The products are written out inline on locals (Dekker's exact product with Veltkamp's split, then the
// double-double multiply): powi runs twice per parameter group on every optimizer step, and helper calls
// taking and returning doubles would box them on the heap.

const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitting constant

const one = new Float64Array(1);

/** `base ** t` for an integer t >= 0, correctly rounded to double (python's float power). */
export function powi(base: number, t: number): number {
  one[0] = base;
  powInPlace(one, 0, t);
  return one[0];
}

/**
 * io[at] = io[at] ** t: the step path's form. V8 boxes a double passed to or returned from a call it does
 * not inline, so the base and the result travel through the array.
 */
export function powInPlace(io: Float64Array, at: number, t: number): void {
  const base = io[at];
  if (!Number.isInteger(t) || t < 0) throw new RangeError(`powi: exponent must be a whole number >= 0, got ${t}`);
  if (t === 0 || !Number.isFinite(base) || base === 0 || t > 2 ** 31) {
    io[at] = t === 0 ? 1 : Math.pow(base, t);
    return;
  }
  // acc = ah + al (the result so far), sq = sh + sl (base^(2^k)).
  let ah = 1;
  let al = 0;
  let sh = base;
  let sl = 0;
  let n = t;
  for (;;) {
    if (n & 1) {
      // (ah + al) * (sh + sl): p + e = ah * sh exactly, then the cross terms.
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
    n = Math.floor(n / 2);
    if (n === 0) break;
    // (sh + sl)^2, the same product with both operands equal.
    const p = sh * sh;
    const c = SPLIT * sh;
    const xh = c - (c - sh);
    const xl = sh - xh;
    const e = xh * xh - p + xh * xl + xl * xh + xl * xl;
    const lo = e + (sh * sl + sl * sh);
    const hi = p + lo;
    sl = lo - (hi - p);
    sh = hi;
  }
  // Below the normal range the low word is no longer exact; the value then only feeds 1 - beta^t.
  io[at] = ah + al;
}
