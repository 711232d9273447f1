// Eigen's float32 full sum reduction as TensorFlow's CPU kernels run it (tf.nn.l2_loss, tf.reduce_sum),
// for TensorFlow's and Keras's global norms. Eigen's InnerMostDimReducer
// (unsupported/Eigen/CXX11/src/Tensor/TensorReduction.h) with the 8-float AVX packets of the TF wheels:
// - above 8 packets x 1024 elements it splits the range in two at a packet boundary (`split`, below) and
//   adds the halves' sums (a tree);
// - a leaf keeps four 8-lane accumulators over chunks of 32, adds accumulators 1, 2, 3 into 0 in that
//   order, adds the remaining whole packets into accumulator 0 and the last n % 8 elements one by one into
//   a scalar from 0; the result is scalar + predux(accumulator 0), where predux adds lane i and lane i+4,
//   then (b0 + b2) + (b1 + b3).
// Found empirically against tf.nn.l2_loss and tf.reduce_sum(tf.square(x)) on TF 2.21 for sizes 1 to 20000
// (0 ulp). Above about 100K elements Eigen's FullReducer (TensorReduction.h, ThreadPoolDevice) shards the
// sum between TensorFlow's intra-op threads, as many as its cost model (TensorCostModel.h) asks for:
// eigenFullSum. Checked with 2, 5 and 16 threads up to 4M elements.
//
// TensorFlow runs its kernels with subnormals flushed to zero: a square below `flush` counts as 0
// (2^-126 for x*x; 2^-125 for l2_loss, whose x*x*0.5 must be normal).

const LEAF: usize = 8 * 1024;
// The scalar build's accumulators (it has no threads, so one static block serves every call).
const ACC: usize = memory.data(128);

@inline function term(p: usize, scale: f32, square: bool, flush: f32): f32 {
  const x = load<f32>(p);
  if (!square) return x;
  const y = x * scale;
  const q = y * y;
  return q < flush ? 0 : q;
}

@inline function terms(p: usize, k: v128, square: bool, fl: v128): v128 {
  const x = v128.load(p);
  if (!square) return x;
  const y = f32x4.mul(x, k);
  const q = f32x4.mul(y, y);
  return v128.andnot(q, f32x4.lt(q, fl));
}

function leafSimd(p: usize, n: usize, scale: f32, square: bool, flush: f32): f32 {
  const k = f32x4.splat(scale);
  const fl = f32x4.splat(flush);
  let lo = f32x4.splat(0);
  let hi = f32x4.splat(0);
  let i: usize = 0;
  if (n >= 32) {
    let a1l = lo, a1h = lo, a2l = lo, a2h = lo, a3l = lo, a3h = lo;
    const n32 = n & ~(<usize>31);
    for (; i < n32; i += 32) {
      const q = p + (i << 2);
      lo = f32x4.add(lo, terms(q, k, square, fl));
      hi = f32x4.add(hi, terms(q + 16, k, square, fl));
      a1l = f32x4.add(a1l, terms(q + 32, k, square, fl));
      a1h = f32x4.add(a1h, terms(q + 48, k, square, fl));
      a2l = f32x4.add(a2l, terms(q + 64, k, square, fl));
      a2h = f32x4.add(a2h, terms(q + 80, k, square, fl));
      a3l = f32x4.add(a3l, terms(q + 96, k, square, fl));
      a3h = f32x4.add(a3h, terms(q + 112, k, square, fl));
    }
    lo = f32x4.add(f32x4.add(f32x4.add(lo, a1l), a2l), a3l);
    hi = f32x4.add(f32x4.add(f32x4.add(hi, a1h), a2h), a3h);
  }
  const n8 = n & ~(<usize>7);
  for (; i < n8; i += 8) {
    const q = p + (i << 2);
    lo = f32x4.add(lo, terms(q, k, square, fl));
    hi = f32x4.add(hi, terms(q + 16, k, square, fl));
  }
  let s: f32 = 0;
  for (; i < n; i++) s += term(p + (i << 2), scale, square, flush);
  const b = f32x4.add(lo, hi);
  const c0 = f32x4.extract_lane(b, 0) + f32x4.extract_lane(b, 2);
  const c1 = f32x4.extract_lane(b, 1) + f32x4.extract_lane(b, 3);
  return s + (c0 + c1);
}

@inline function lane(j: usize): f32 {
  return load<f32>(ACC + (j << 2));
}

function leafScalar(p: usize, n: usize, scale: f32, square: bool, flush: f32): f32 {
  for (let j: usize = 0; j < 32; j++) store<f32>(ACC + (j << 2), 0);
  let i: usize = 0;
  if (n >= 32) {
    const n32 = n & ~(<usize>31);
    for (; i < n32; i += 32) {
      for (let j: usize = 0; j < 32; j++) {
        const a = ACC + (j << 2);
        store<f32>(a, load<f32>(a) + term(p + ((i + j) << 2), scale, square, flush));
      }
    }
    for (let r: usize = 1; r < 4; r++) {
      for (let j: usize = 0; j < 8; j++) store<f32>(ACC + (j << 2), load<f32>(ACC + (j << 2)) + load<f32>(ACC + ((8 * r + j) << 2)));
    }
  }
  const n8 = n & ~(<usize>7);
  for (; i < n8; i += 8) {
    for (let j: usize = 0; j < 8; j++) {
      const a = ACC + (j << 2);
      store<f32>(a, load<f32>(a) + term(p + ((i + j) << 2), scale, square, flush));
    }
  }
  let s: f32 = 0;
  for (; i < n; i++) s += term(p + (i << 2), scale, square, flush);
  const b0 = lane(0) + lane(4), b1 = lane(1) + lane(5), b2 = lane(2) + lane(6), b3 = lane(3) + lane(7);
  return s + ((b0 + b2) + (b1 + b3));
}

// Eigen's cost per element of the two reductions: 4 bytes loaded at 11/64 cycles a byte, plus compute
// cycles over 8-float packets: the reducer's 10 (SumReducer has no functor_traits, so Eigen's default) and,
// for l2_loss's (x.square() * 0.5).sum(), 1 for the square and 1 for the halving.
export const COST_SUM: f64 = (4.0 * 11.0) / 64.0 + 10.0 / 8.0;
export const COST_L2LOSS: f64 = COST_SUM + 2.0 / 8.0;

/**
 * Eigen's full reduction of n elements on a pool of `threads`: TensorCostModel::numThreads picks
 * k = min(threads, max(1, int((n*cost - 100000)/100000 + 0.9))); with k > 1 the range is cut into blocks of
 * floor(float(n)/k), the leftover past the last whole block is summed first, then each block's sum is
 * added in order.
 */
export function eigenFullSum(p: usize, n: usize, scale: f32, square: bool, flush: f32, threads: i32, cost: f64): f32 {
  let k: i32 = 1;
  if (threads > 1) k = max(1, min(threads, <i32>((<f64>n * cost - 100000.0) / 100000.0 + 0.9)));
  if (k == 1) return eigenSum(p, 0, n, scale, square, flush);
  const block = <usize>Mathf.floor(<f32>n / <f32>k);
  const blocks = n / block;
  let acc: f32 = blocks * block < n ? eigenSum(p, blocks * block, n - blocks * block, scale, square, flush) : 0;
  for (let i: usize = 0; i < blocks; i++) acc += eigenSum(p, i * block, block, scale, square, flush);
  return acc;
}

/**
 * Eigen's sum of elements [first, first + n) of the f32 array at p: of their squares (times scale) when
 * `square`, else of the values themselves.
 */
export function eigenSum(p: usize, first: usize, n: usize, scale: f32, square: bool, flush: f32): f32 {
  if (n > LEAF) {
    // Eigen: split = packetSize * div_ceil(first + div_ceil(n, 2), packetSize).
    const split = ((first + ((n + 1) >> 1) + 7) >> 3) << 3;
    const left = min(split - first, n);
    let acc: f32 = 0;
    acc += eigenSum(p, first, left, scale, square, flush);
    if (left < n) acc += eigenSum(p, split, n - left, scale, square, flush);
    return acc;
  }
  const q = p + (first << 2);
  if (ASC_FEATURE_SIMD) return leafSimd(q, n, scale, square, flush);
  return leafScalar(q, n, scale, square, flush);
}
