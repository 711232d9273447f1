// Arithmetic that reads the same for four lanes (T = v128) and one element (T = f32), so a kernel is
// written once and instantiated for the f32x4 body and the scalar tail. Each helper is exactly one rounded
// IEEE float32 operation per lane (or the documented FMA emulation), which is why both give the same bits.

@inline export function splat<T>(x: f32): T {
  if (isVector<T>()) return f32x4.splat(x);
  else return x;
}
@inline export function add<T>(a: T, b: T): T {
  if (isVector<T>()) return f32x4.add(a, b);
  else return a + b;
}
@inline export function sub<T>(a: T, b: T): T {
  if (isVector<T>()) return f32x4.sub(a, b);
  else return a - b;
}
@inline export function mul<T>(a: T, b: T): T {
  if (isVector<T>()) return f32x4.mul(a, b);
  else return a * b;
}
@inline export function div<T>(a: T, b: T): T {
  if (isVector<T>()) return f32x4.div(a, b);
  else return a / b;
}
@inline export function sqrt<T>(a: T): T {
  if (isVector<T>()) return f32x4.sqrt(a);
  else return Mathf.sqrt(a);
}
@inline export function neg<T>(a: T): T {
  if (isVector<T>()) return f32x4.neg(a);
  else return -a;
}
// min and max propagate NaN, as torch.maximum and MXNet's clip do. They are spelled with compares and
// selects because engines answer f32.max and f32x4.max with different NaN bit patterns (V8: 0xffc00000 for
// the scalar op, the operand's NaN for the vector one); this way both builds give the canonical 0x7fc00000.
@inline export function min<T>(a: T, b: T): T {
  if (isVector<T>()) {
    const m = v128.bitselect(a, b, f32x4.le(a, b));
    return v128.bitselect(f32x4.splat(NaN), m, v128.or(f32x4.ne(a, a), f32x4.ne(b, b)));
  } else {
    return a != a || b != b ? <f32>NaN : a <= b ? a : b;
  }
}
@inline export function max<T>(a: T, b: T): T {
  if (isVector<T>()) {
    const m = v128.bitselect(a, b, f32x4.ge(a, b));
    return v128.bitselect(f32x4.splat(NaN), m, v128.or(f32x4.ne(a, a), f32x4.ne(b, b)));
  } else {
    return a != a || b != b ? <f32>NaN : a >= b ? a : b;
  }
}

/**
 * fma(a, b, c) as ATen's AVX2 kernels compute it, emulated as f32(f64(a)*f64(b) + f64(c)): the product
 * of two floats is exact in double, and the golden README measured this double rounding to match every
 * value of the AVX2 traces. Relaxed SIMD's madd is not used: it may or may not fuse, per engine.
 */
@inline export function fma<T>(a: T, b: T, c: T): T {
  if (isVector<T>()) {
    const lo = f64x2.add(
      f64x2.mul(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b)),
      f64x2.promote_low_f32x4(c),
    );
    const ah = i32x4.shuffle(a, a, 2, 3, 0, 1);
    const bh = i32x4.shuffle(b, b, 2, 3, 0, 1);
    const ch = i32x4.shuffle(c, c, 2, 3, 0, 1);
    const hi = f64x2.add(
      f64x2.mul(f64x2.promote_low_f32x4(ah), f64x2.promote_low_f32x4(bh)),
      f64x2.promote_low_f32x4(ch),
    );
    return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
  } else {
    return <f32>(<f64>a * <f64>b + <f64>c);
  }
}
