// The Adam family beyond Adam: one body per algorithm (REC_ALGO), each a single pass over its record's
// buffers like assembly/index.ts's Adam body, f32x4 lane groups then a scalar tail, every stage one rounded
// float32 operation (or the documented FMA emulation) so both give the same bits. Stage flags and scalar
// slots mean what assembly/abi.ts says; a body reads only those its algorithm uses. Frequent flag sets get
// instantiations with the flags known at compile time (the optimizer drops the unused stages); every other
// combination reads them at run time in the same loop.
import {
  REC_FLAGS, F_XLA, F_FMA, F_UDECAY, F_PRE_MUL, F_L2, F_A, F_M_LERP, F_VHAT, F_SQRT_R14, ALGO_LION, ALGO_ADAMAX, ALGO_NADAM,
  ALGO_RADAM, ALGO_MASK,
} from "./abi";
import { lionSegment } from "./lion";
import { adamaxSegment } from "./adamax";
import { nadamSegment } from "./nadam";
import { radamSegment } from "./radam";

// optax lion under jax.jit with decay (its default), and torch-style decoupled decay.
const LION_XLA_JIT = F_XLA | F_FMA | F_UDECAY;
const LION_DECOUPLED = F_PRE_MUL;
// torch 2.13 Adamax (lerp moment, -lr/bc1 on m) without and with weight decay, plain and vector (FMA) kernels.
const ADAMAX_TORCH = F_M_LERP | F_A;
const ADAMAX_TORCH_L2 = ADAMAX_TORCH | F_L2;
// torch 2.13 NAdam, foreach=False on x86 (MKL's sqrt of v/bc2), vector kernels, without decay.
const NADAM_TORCH = F_M_LERP | F_VHAT | F_SQRT_R14 | F_FMA;

/** Elements [a, b) of a record whose algorithm is not Adam. */
export function familySegment(rec: usize, algo: u32, a: usize, b: usize): void {
  const flags = load<u32>(rec, REC_FLAGS);
  const id = algo & ALGO_MASK;
  if (id == ALGO_LION) {
    if (flags == LION_XLA_JIT) lionXlaJit(rec, a, b);
    else if (flags == LION_DECOUPLED) lionDecoupled(rec, a, b);
    else lionGeneric(rec, flags, a, b);
  } else if (id == ALGO_ADAMAX) {
    if (algo == ALGO_ADAMAX && flags == ADAMAX_TORCH) adamaxTorch(rec, a, b);
    else if (algo == ALGO_ADAMAX && flags == ADAMAX_TORCH_L2) adamaxTorchL2(rec, a, b);
    else adamaxGeneric(rec, algo, flags, a, b);
  } else if (id == ALGO_NADAM) {
    if (algo == ALGO_NADAM && flags == NADAM_TORCH) nadamTorch(rec, a, b);
    else nadamGeneric(rec, algo, flags, a, b);
  } else if (id == ALGO_RADAM) radamGeneric(rec, algo, flags, a, b);
}

function lionXlaJit(rec: usize, a: usize, b: usize): void { lionSegment(rec, LION_XLA_JIT, a, b); }
function lionDecoupled(rec: usize, a: usize, b: usize): void { lionSegment(rec, LION_DECOUPLED, a, b); }
function lionGeneric(rec: usize, flags: u32, a: usize, b: usize): void { lionSegment(rec, flags, a, b); }
function adamaxTorch(rec: usize, a: usize, b: usize): void { adamaxSegment(rec, ALGO_ADAMAX, ADAMAX_TORCH, a, b); }
function adamaxTorchL2(rec: usize, a: usize, b: usize): void { adamaxSegment(rec, ALGO_ADAMAX, ADAMAX_TORCH_L2, a, b); }
function adamaxGeneric(rec: usize, algo: u32, flags: u32, a: usize, b: usize): void { adamaxSegment(rec, algo, flags, a, b); }
function nadamTorch(rec: usize, a: usize, b: usize): void { nadamSegment(rec, ALGO_NADAM, NADAM_TORCH, a, b); }
function nadamGeneric(rec: usize, algo: u32, flags: u32, a: usize, b: usize): void { nadamSegment(rec, algo, flags, a, b); }
function radamGeneric(rec: usize, algo: u32, flags: u32, a: usize, b: usize): void { radamSegment(rec, algo, flags, a, b); }
