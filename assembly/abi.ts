// The kernel/host ABI: one segment record per parameter tensor, written by the host (src/) and read by the
// kernel (assembly/). This file is valid AssemblyScript and valid TypeScript, so both sides import the same
// numbers. The kernel knows nothing else about parameters: no names, groups or conventions.

// Element positions. A step numbers the elements of all records in order, each record's count rounded up
// to LINE_FLOATS (one 64-byte line: the host aligns every tensor to it, and threads cut a step on it);
// [0, ALL_POSITIONS) is the whole step.
export const LINE_FLOATS = 16;
export const ALL_POSITIONS = 0xffffffff;

// Record layout, in bytes. Pointers and the element count are u32; scalars are f32.
export const REC_P = 0; // weights
export const REC_G = 4; // gradients
export const REC_M = 8; // first moment
export const REC_V = 12; // second moment
export const REC_VMAX = 16; // running max of the second moment (amsgrad), 0 when unused
export const REC_N = 20; // element count
export const REC_FLAGS = 24; // which stages run, see F_* below
export const REC_ALGO = 28; // which algorithm's body runs the record, see ALGO_* below (u32)
export const REC_SCALARS = 32; // first f32 scalar
export const REC_BYTES = 128;

// Scalar slots (f32 index after REC_SCALARS). Every value is computed on the host in float64 and rounded
// where the convention's recipe says; the kernel only multiplies, adds, divides and takes square roots.
export const S_RS = 0; // gradient multiplier (F_SCALE): rescale x clip coefficient x (-1 when maximizing)
export const S_WD = 1; // L2 coefficient added to the gradient (F_L2)
export const S_CLIP = 2; // per-element gradient clip bound (F_CLIP)
export const S_PRE = 3; // decay applied to the weight before the update (F_PRE_*)
export const S_PRE2 = 4; // second factor of the Keras pre-decay (lr)
export const S_B1 = 5;
export const S_C1 = 6; // 1 - beta1, rounded as the convention rounds it
export const S_B2 = 7;
export const S_C2 = 8;
export const S_BC1 = 9; // divisor of m in the explicit bias correction (F_MHAT)
export const S_BC2 = 10; // divisor of v in the explicit bias correction (F_VHAT)
export const S_R = 11; // PyTorch's sqrt(1 - beta2^t) divisor of sqrt(v) (F_RDIV)
export const S_EROOT = 12; // optax eps_root, added under the square root (F_EROOT)
export const S_EPS = 13;
export const S_A = 14; // multiplier of the numerator m (F_A): torch -lr/(1-beta1^t), TF alpha, paper alpha
export const S_LAM = 15; // decay added to the normalized update (F_UDECAY): BERT, optax, paper
export const S_K = 16; // multiplier of the normalized update (F_K)
export const S_POST = 17; // decay applied after the update: p += POST * p (F_POST)
// Slots 18-19: torch; 20-21: optax; 22-23: TF/Keras.
export const S_LERP = 18; // lerp weight of the first moment (F_M_LERP): 1-beta1, or 1-beta1 - 1 with F_M_LERP_END
export const S_GDIV = 20; // divisor of the gradient (F_GDIV): optax's global norm under jit
export const S_COUNT = 24;

// Stage flags.
export const F_L2 = 1; // g = g + WD*p
export const F_CLIP = 2; // g = clamp(g, -CLIP, CLIP)
export const F_PRE_MUL = 4; // p = p*PRE (torch AdamW, multiplicative shrink)
export const F_PRE_SUB = 8; // p = p + PRE*p (tensorflow_addons, PRE = -wd)
export const F_PRE_KERAS = 16; // p = p - (p*PRE)*PRE2 (Keras 3)
export const F_M_DELTA = 32; // m = m + (g-m)*C1 (TF) instead of m = B1*m + C1*g
export const F_V_SQ = 64; // v = B2*v + C2*(g*g) instead of v = B2*v + (C2*g)*g
export const F_V_DELTA = 128; // v = v + (g*g-v)*C2 (TF)
export const F_AMS = 256; // vmax = max(vmax, v); the denominator uses vmax
export const F_MHAT = 512; // numerator m/BC1
export const F_VHAT = 1024; // v/BC2 under the square root
export const F_EROOT = 2048;
export const F_RDIV = 4096; // sqrt(v)/R
export const F_A = 8192; // numerator A*m
export const F_UDECAY = 16384; // u = u + LAM*p
export const F_K = 32768; // u = K*u
export const F_POST = 65536;
export const F_FMA = 131072; // emulate the FMAs of ATen's AVX2 kernels: f32(f64(a)*f64(b)+f64(c))
export const F_SCALE = 262144; // g = g*RS (skipped when RS is 1: multiplying by 1 is exact)
// First moment as a linear interpolation towards g (ATen's lerp: aten/src/ATen/native/Lerp.h): with a weight
// w < 0.5, m = m + LERP*(g-m) (LERP = w); otherwise m = g + LERP*(g-m) (LERP = w-1, F_M_LERP_END). One
// fused multiply-add under F_FMA (the vector kernels' vec::fmadd), two rounded ops without.
export const F_M_LERP = 1 << 19;
export const F_M_LERP_END = 1 << 20;
// With F_FMA, the last n % 8 elements of a record take F_V_FMA_ALT: a kernel whose 8-lane vector body and
// scalar tail contract v = v*B2 + (C2*g)*g into different fused multiply-adds.
export const F_V_TAIL8 = 1 << 21;
export const F_V_FMA_ALT = 1 << 22; // v = fma(v, B2, (C2*g)*g) instead of fma(C2*g, g, v*B2)
// The square root of the denominator from a 14-bit reciprocal-square-root estimate and one fused Newton
// step (assembly/sqrt14.ts) instead of IEEE sqrt: the last bit differs for about 0.7% of inputs.
export const F_SQRT_R14 = 1 << 23;
// Bits 24-27: XLA CPU (optax on jax). F_XLA selects the stage sequence of XLA's compiled update (bodyXla in
// assembly/index.ts), with XLA CPU's flush of subnormal inputs and results to zero; F_FMA there means the
// multiply-adds LLVM contracts in a jitted program.
export const F_XLA = 16777216;
export const F_DEN_BC1 = 33554432; // den = BC1*den instead of m/BC1 (XLA's (m/a)/b -> m/(a*b) under jit)
export const F_V_FMA_B = 67108864; // with F_FMA: v = fma(v, B2, C2*g^2) instead of fma(g^2, C2, B2*v)
export const F_GDIV = 134217728; // g = g/GDIV before F_SCALE (optax clip_by_global_norm under jit)

// Algorithms (REC_ALGO). ALGO_ADAM runs the stage flags above in assembly/index.ts; the others run their own
// bodies in assembly/family.ts, reading the same flags and slots where a stage means the same thing.
export const ALGO_ADAM = 0;
export const ALGO_LION = 1; // sign(b1*m + (1-b1)*g) with one moment: REC_V and REC_VMAX are unused
export const ALGO_ADAMAX = 2; // m as Adam's, u = max(b2*u, |g| + eps) in REC_V (torch exp_inf, optax nu, Keras norm)
export const ALGO_NADAM = 3; // torch NAdam: Adam's moments, p += K*g/den, then p += A*m/den (A, K from mu_t, mu_{t+1})
export const ALGO_RADAM = 4; // torch RAdam: Adam's moments, the rectified step when rho_t > 5, else m/bc1 alone
// REC_ALGO holds the algorithm in its low byte (ALGO_MASK) and the algorithm's own options above it (A_*).
export const ALGO_MASK = 0xff;
export const A_EPS_AFTER_MAX = 1 << 8; // Adamax: u = max(b2*u, |g|), then u + EPS in the denominator (Keras)
export const A_FOREACH = 1 << 9; // RAdam: torch's _multi_tensor_radam arithmetic (a reciprocal buffer and addcmul)
export const A_KERAS = 1 << 10; // NAdam: Keras 3's Nadam (m_hat from both moments' corrections, one division by den)

// PyTorch Adam and AdamW (with and without amsgrad) get instantiations of their own with the flags
// known at compile time; every other combination runs the same loop with the flags read at run time.
export const TORCH_ADAM = F_RDIV | F_A;
export const TORCH_ADAM_L2 = TORCH_ADAM | F_L2;
export const TORCH_ADAMW = TORCH_ADAM | F_PRE_MUL;
// The same with the first moment as a lerp (F_M_LERP).
export const LERP_ADAM = TORCH_ADAM | F_M_LERP;
export const LERP_ADAM_L2 = TORCH_ADAM_L2 | F_M_LERP;
export const LERP_ADAMW = TORCH_ADAMW | F_M_LERP;
// The same in fast mode (bias corrections folded into A and eps: one division per element), which is also
// the flag set of the epsilon-hat conventions with torch's moments.
export const FAST_ADAM = F_A;
export const FAST_ADAM_L2 = FAST_ADAM | F_L2;
export const FAST_ADAMW = FAST_ADAM | F_PRE_MUL;

// Gradient norms (assembly/norm.ts gradNorms): the per-tensor recipe, chosen by the host (src/clipping.ts).
export const NORM_TORCH = 0; // torch's 8-lane float32 norm (ATen's vectorized reduction)
export const NORM_TORCH_FMA = 1; // the same with the fused multiply-adds of ATen's AVX2 kernels
export const NORM_SUMSQ_F64 = 2; // float64 sum of squares, rounded once (Caffe's cblas_sdot; optax on other presets)
export const NORM_XLA = 3; // XLA CPU's loop: float32 sum of the squares one at a time, subnormals flushed (optax eager)
export const NORM_XLA_FMA = 4; // the same with each step a multiply-add (optax under jax.jit)
export const NORM_TORCH2_FMA = 5; // torch 2.x's AVX2 kernels: other fused multiply-adds than 1.13's (assembly/norm.ts)
export const NORM_EIGEN = 6; // Eigen's float32 sum of squares (TF's reduce_sum(square(g)): Keras global_clipnorm), assembly/eigen.ts
export const NORM_EIGEN_L2LOSS = 7; // the same as tf.nn.l2_loss sums it (halved squares, then doubled: tf.clip_by_global_norm)
// The recipe argument of gradNorms/normOfNorms is recipe | (threads << NORM_THREADS_SHIFT): for the Eigen
// recipes, the intra-op thread count TensorFlow ran with, which decides how Eigen shards a large sum.
export const NORM_THREADS_SHIFT = 8;
export const NORM_RECIPE_MASK = 0xff;

// The norms area, host-allocated right after the `count` records: f32 per-tensor norms [0, count), f32
// per-tensor non-finite flags [count, 2*count), then OUT_COUNT floats: the gradient scale (read by the
// kernel) at OUT_SCALE and the global norm (written) at OUT_TOTAL, indices past 2*count. Scalars travel
// through memory, not as call arguments or results: a double crossing the JS-wasm boundary is boxed on
// the JS heap, and the step path allocates nothing.
export const NORM_BYTES_PER_TENSOR = 8; // its norm and its non-finite flag
export const OUT_SCALE = 0;
export const OUT_TOTAL = 1;
export const OUT_COUNT = 2;
