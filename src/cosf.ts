// glibc's float32 cosf, which TensorFlow (Eigen's scalar cos, std::cos(float)) and XLA CPU call for
// keras.ops.cos on one value (Keras's CosineDecay). It is not correctly rounded: over [0, pi] it differs
// from the correctly rounded cosine for about 1 input in 90 (1 schedule rate in about 800 in practice).
//
// The algorithm of glibc sysdeps/ieee754/flt-32/s_cosf.c with s_sincosf.h and sincosf_poly.h (from ARM's
// optimized-routines): below |x| ~ 0.75 (compared on the float's top 12 bits) a degree-8 even polynomial
// in double; up to 120 a fast reduction by pi/2 (quadrant from a 2^24-scaled product), the sine or cosine
// polynomial of the remainder with the quadrant's signs, rounded once to float. The constants are glibc's
// (s_sincosf_data.c). glibc's x86-64 build contracts the steps into FMAs; plain double arithmetic gave
// the same float as this machine's libm cosf on 350,000 inputs in [0, pi]. Larger inputs (reduce_large)
// never occur in a schedule (its argument is pi * a fraction in [0, 1]); they fall back to Math.cos.
const f = Math.fround;

const HPI_INV = 0x145f306dc9c883 * 2 ** -29; // 0x1.45F306DC9C883p+23: 2/pi scaled by 2^24
const HPI = 0x1921fb54442d18 * 2 ** -52; // 0x1.921FB54442D18p0: pi/2
const C = [1, -0x1ffffffd0c621c * 2 ** -54, 0x155553e1068f19 * 2 ** -57, -0x16c087e89a359d * 2 ** -62, 0x199343027bf8c3 * 2 ** -68];
const S = [-0x1555545995a603 * 2 ** -55, 0x11107605230bc4 * 2 ** -59, -0x1994eb3774cf24 * 2 ** -65];
const SIGN = [1, -1, -1, 1];
const bits = new DataView(new ArrayBuffer(4));

/** The float's bits >> 20 with the sign cleared: exponent and the top 3 mantissa bits. */
function abstop12(x: number): number {
  bits.setFloat32(0, x);
  return (bits.getUint32(0) >>> 20) & 0x7ff;
}
const TOP_PIO4 = abstop12(0x1921fb54442d18 * 2 ** -53); // pi/4 as a float
const TOP_TINY = abstop12(2 ** -12);
const TOP_120 = abstop12(120);

/** sinf_poly: the sine polynomial for even n, the cosine one (negated when `neg`) for odd n. */
function poly(x: number, x2: number, n: number, neg: boolean): number {
  if ((n & 1) === 0) {
    const x3 = x * x2;
    const s1 = S[1] + x2 * S[2];
    const x7 = x3 * x2;
    const s = x + x3 * S[0];
    return f(s + x7 * s1);
  }
  const g = neg ? -1 : 1;
  const x4 = x2 * x2;
  const c2 = g * C[3] + x2 * (g * C[4]);
  const c1 = g * C[0] + x2 * (g * C[1]);
  const x6 = x4 * x2;
  const c = c1 + x4 * (g * C[2]);
  return f(c + x6 * c2);
}

/** cosf(y) as glibc computes it, for a float32 y. */
export function cosfGlibc(y: number): number {
  y = f(y);
  const top = abstop12(y);
  if (top < TOP_PIO4) return top < TOP_TINY ? 1 : poly(y, y * y, 1, false);
  if (top >= TOP_120 || !Number.isFinite(y)) return Number.isFinite(y) ? f(Math.cos(y)) : NaN;
  // reduce_fast: the quadrant sits in bits 24..31 of the scaled product ((int32_t) truncates).
  const n = (Math.trunc(y * HPI_INV) + 0x800000) >> 24;
  const x = y - n * HPI;
  return poly(x * SIGN[n & 3], x * x, n ^ 1, (n & 2) !== 0);
}
