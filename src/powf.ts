// glibc's float32 powf, which XLA CPU calls for jnp.power (optax's bias corrections 1 - b**count under
// jax.jit and eagerly alike: optax.tree.bias_correction is itself jitted). It is not correctly rounded:
// for beta2 = 0.999 it differs from the correctly rounded power first at count 873 and then at about 2%
// of counts, so the optax preset computes it as glibc does.
//
// The algorithm of glibc sysdeps/ieee754/flt-32/e_powf.c (from ARM's optimized-routines): log2(x) from a
// 16-entry table of c near x's mantissa and a degree-5 polynomial of r = z/c - 1, then 2^(y*log2 x) from
// a 32-entry table of 2^(i/32) and a cubic, all in double, rounded once to float. glibc's x86-64 build
// contracts the polynomial steps into FMAs; plain double arithmetic gives the same float on every one of
// 440,000 (x, y) pairs checked against libm (tests/powf.test.js checks more where python3 runs).
// The log2 table (invc, logc) and both polynomials are glibc's constants (e_powf_log2_data.c,
// e_exp2f_data.c); EXP2 holds 2^(i/32) rounded to double.
const f = Math.fround;

const INVC = Float64Array.of(
  1.398907162146528, 1.3403141896637998, 1.286432210124115, 1.2367150214269895, 1.1906977166711752, 1.1479821020556429, 1.1082251448272158, 1.0711297413057381, 1.036437278977283, 1.0, 0.9492859795739057, 0.8951049428609004, 0.8476821620351103, 0.8050314851692001, 0.7664671008843108, 0.731428603316328,
);
const LOGC = Float64Array.of(
  -0.48430022186289673, -0.42257122959194704, -0.3633754347673556, -0.30651309567405577, -0.25180720160537634, -0.19910014943794563, -0.14825100623281615, -0.09913323807318392, -0.051632812977629436, 0.0, 0.07508531937943004, 0.15987125980713107, 0.2384046664317681, 0.31288288605863257, 0.38370422656453185, 0.451211048935815,
);
const A = Float64Array.of(0.288457581109214, -0.36092606229713164, 0.480898481472577, -0.7213474675006291, 1.4426950408774342);
const C = Float64Array.of(0.05550361559341535, 0.2402284522445722, 0.6931471806916203);
const EXP2 = Float64Array.of(
  1.0, 1.0218971486541166, 1.0442737824274138, 1.0671404006768237, 1.0905077326652577, 1.1143867425958924, 1.1387886347566916, 1.1637248587775775, 1.189207115002721, 1.215247359980469, 1.241857812073484, 1.2690509571917332, 1.2968395546510096, 1.3252366431597413, 1.3542555469368927, 1.383909881963832, 1.4142135623730951, 1.4451808069770467, 1.4768261459394993, 1.5091644275934228, 1.5422108254079407, 1.5759808451078865, 1.6104903319492543, 1.645755478153965, 1.681792830507429, 1.718619298122478, 1.7562521603732995, 1.7947090750031072, 1.8340080864093424, 1.8741676341103, 1.9152065613971474, 1.9571441241754002,
);
// 1.5 * 2^47: adding it rounds a double in [-2^46, 2^46] to a multiple of 1/32.
const SHIFT = 1.5 * 2 ** 47;
const bits = new DataView(new ArrayBuffer(8));

// The functions below pass their float64 results through S, not as return values: a double passed to or
// returned from a call V8 does not inline is boxed, and optimizers call powf on every step.
const S = new Float64Array(1);

/** S[0] = log2 of a positive normal float32, given its bits (glibc's log2_inline, POWF_SCALE_BITS = 0). */
function log2(ix: number): void {
  const tmp = (ix - 0x3f330000) >>> 0;
  const i = (tmp >>> 19) & 15;
  const top = tmp & 0xff800000; // signed: its exponent field is k
  const k = top >> 23;
  bits.setUint32(0, (ix - top) >>> 0);
  const z = bits.getFloat32(0); // x / 2^k, in [0x3f330000, 2*0x3f330000]
  const r = z * INVC[i] - 1;
  const r2 = r * r;
  const y = A[0] * r + A[1];
  const p = A[2] * r + A[3];
  const q = p * r2 + (A[4] * r + (LOGC[i] + k));
  S[0] = y * (r2 * r2) + q;
}

/** S[0] = 2^S[0] rounded to float32, for S[0] in (-150, 128) (glibc's exp2_inline without TOINT_INTRINSICS). */
function exp2(): void {
  const xd = S[0];
  const kd = xd + SHIFT - SHIFT; // j/32, j = round(32*xd)
  const r = xd - kd;
  const j = kd * 32;
  const i = ((j % 32) + 32) % 32;
  // s = 2^(i/32) * 2^((j-i)/32): the table entry with (j-i)/32 added to its exponent field.
  bits.setUint32(0, ((j - i) / 32 + 1023) << 20);
  bits.setUint32(4, 0);
  const s = EXP2[i] * bits.getFloat64(0);
  const z = C[0] * r + C[1];
  const y = z * (r * r) + (C[2] * r + 1);
  S[0] = f(y * s);
}

/**
 * powf(x, y) as glibc computes it, for a float32 x in [0, 1] and a float32 y >= 1 (a beta and a step
 * count). Subnormal x reads as 0, as XLA CPU flushes it.
 */
export function powfGlibc(x: number, y: number): number {
  io[0] = x;
  io[1] = y;
  powfInPlace(io, 0);
  return io[0];
}
const io = new Float64Array(2);

/** a[i] = powfGlibc(a[i], a[i + 1]), with no double passed or returned (nothing allocated per call). */
export function powfInPlace(a: Float64Array, i: number): void {
  const x = f(a[i]);
  if (x === 1) a[i] = 1;
  else if (!(x >= 1.1754943508222875e-38)) a[i] = x === x ? 0 : NaN;
  else {
    bits.setFloat32(0, x);
    log2(bits.getUint32(0));
    S[0] *= f(a[i + 1]);
    if (S[0] <= -150) a[i] = 0;
    else {
      exp2();
      a[i] = S[0];
    }
  }
}
