// Integer powers of a double, correctly rounded, as python's `beta ** t` (the C library's pow) gives them.
// JavaScript's Math.pow is off by one ulp for about 9% of (beta, t) pairs (0.9 ** 4 is 0.6561 in python,
// 0.6561000000000001 in V8), and bias corrections such as HuggingFace's step size carry that ulp into the
// float32 result. Binary powering in double-double arithmetic keeps ~104 bits, enough to round correctly.

const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitting constant

/** hi + lo = a * b exactly (Dekker's product). */
function twoProd(a: number, b: number, out: Float64Array): void {
  const p = a * b;
  const ca = SPLIT * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = SPLIT * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  out[0] = p;
  out[1] = ah * bh - p + ah * bl + al * bh + al * bl;
}

const tmp = new Float64Array(2);

/** (xh + xl) * (yh + yl) in double-double, written to out. */
function ddMul(xh: number, xl: number, yh: number, yl: number, out: Float64Array): void {
  twoProd(xh, yh, tmp);
  const lo = tmp[1] + (xh * yl + xl * yh);
  const hi = tmp[0] + lo;
  out[0] = hi;
  out[1] = lo - (hi - tmp[0]);
}

const acc = new Float64Array(2);
const sq = new Float64Array(2);

/** `base ** t` for an integer t >= 0, correctly rounded to double (python's float power). */
export function powi(base: number, t: number): number {
  if (!Number.isInteger(t) || t < 0) throw new RangeError(`powi: exponent must be a whole number >= 0, got ${t}`);
  if (t === 0) return 1;
  if (!Number.isFinite(base) || base === 0) return Math.pow(base, t);
  if (t > 2 ** 31) return Math.pow(base, t);
  acc[0] = 1;
  acc[1] = 0;
  sq[0] = base;
  sq[1] = 0;
  let n = t;
  for (;;) {
    if (n & 1) ddMul(acc[0], acc[1], sq[0], sq[1], acc);
    n = Math.floor(n / 2);
    if (n === 0) break;
    ddMul(sq[0], sq[1], sq[0], sq[1], sq);
  }
  // Below the normal range the low word is no longer exact; the value then only feeds 1 - beta^t.
  return acc[0] + acc[1];
}
