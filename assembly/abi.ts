// The kernel/host ABI: one segment record per parameter tensor, written by the host (src/) and read by the
// kernel (assembly/). This file is valid AssemblyScript and valid TypeScript, so both sides import the same
// numbers. The kernel knows nothing else about parameters: no names, groups or conventions.

// Record layout, in bytes. Pointers and the element count are u32; scalars are f32.
export const REC_P = 0; // weights
export const REC_G = 4; // gradients
export const REC_M = 8; // first moment
export const REC_V = 12; // second moment
export const REC_VMAX = 16; // running max of the second moment (amsgrad), 0 when unused
export const REC_N = 20; // element count
export const REC_FLAGS = 24; // which stages run, see F_* below
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
export const S_COUNT = 18;

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

// PyTorch Adam and AdamW (with and without amsgrad) get instantiations of their own with the flags
// known at compile time; every other combination runs the same loop with the flags read at run time.
export const TORCH_ADAM = F_RDIV | F_A;
export const TORCH_ADAM_L2 = TORCH_ADAM | F_L2;
export const TORCH_ADAMW = TORCH_ADAM | F_PRE_MUL;
// The same in fast mode (bias corrections folded into A and eps: one division per element), which is also
// the flag set of the epsilon-hat conventions with torch's moments.
export const FAST_ADAM = F_A;
export const FAST_ADAM_L2 = FAST_ADAM | F_L2;
export const FAST_ADAMW = FAST_ADAM | F_PRE_MUL;
