// Adamax's kernel flags and scalars (assembly/adamax.ts). Per framework (golden/real/family/README.md):
// torch 2.13 (preset torch-adam: L2 decay, lerp moment, p += f(-lr/bc1)*m / u), optax (the optax-adamw
// preset's XLA arithmetic: m/bc1/u [+ wd*p], then -lr), Keras 3 (keras-adamw: p -= (lr*m)/((1-b1^t)*(u+eps)),
// eps out of the max). Which of those a convention means follows from where it puts epsilon: `torch` and
// `explicit` inside the max (torch, optax), `hat` outside (Keras, as TF's Adam folds it).
import * as abi from "../assembly/abi.js";
import { biasCorrection1, gradientStage, plainDecay, type Knobs, type StepInputs } from "./conventions.js";
import { powfInPlace } from "./powf.js";
import { familyPrefix, familyRunsXla, firstMoment } from "./family.js";

const f = Math.fround;
const bc = new Float64Array(2);

/** The record's algorithm word: Adamax, with eps after the max for the epsilon-hat (Keras) conventions. */
export function adamaxWord(k: Knobs): number {
  return abi.ALGO_ADAMAX | (k.eps === "hat" && !familyRunsXla(k) ? abi.A_EPS_AFTER_MAX : 0);
}

export function compileAdamax(k: Knobs, h: StepInputs, out: Float32Array): number {
  out.fill(0);
  let flags = familyPrefix(k, h, out) | gradientStage(h, out);
  out[abi.S_B1] = h.beta1;
  out[abi.S_B2] = h.beta2;
  out[abi.S_EPS] = h.eps;
  if (familyRunsXla(k)) return flags | xlaUpdate(k, h, out);
  flags |= firstMoment(k, h, out);
  biasCorrection1(k, h, bc);
  const lr = h.lr * h.lrMult;
  if (k.eps === "hat") {
    // Keras: (lr*m) / ((1 - b1^t) * (u + eps)), the correction in float32 (1 - beta_1_power).
    flags |= abi.F_A | abi.F_DEN_BC1;
    out[abi.S_A] = -lr;
    out[abi.S_BC1] = bc[0];
  } else if (k.eps === "explicit") {
    flags |= abi.F_MHAT | abi.F_K;
    out[abi.S_BC1] = bc[0];
    out[abi.S_K] = -lr;
  } else if (k.decay === "update") {
    flags |= abi.F_A | abi.F_K;
    out[abi.S_A] = 1 / bc[0];
    out[abi.S_K] = -lr;
  } else {
    // torch: clr = lr / bias_correction; param.addcdiv_(exp_avg, exp_inf, value=-clr).
    flags |= abi.F_A;
    out[abi.S_A] = -(lr / bc[0]);
  }
  return flags | plainDecay(k, h, out);
}

// optax scale_by_adamax as XLA CPU runs it: mu_hat = mu / (1 - b1^count) with glibc's powf; one tensor:
// mu * (1/bc1) (the jitted tree_bias_correction's reciprocal); jit, several: mu / (bc1 * nu); eager: (mu/bc1)/nu.
function xlaUpdate(k: Knobs, h: StepInputs, out: Float32Array): number {
  out[abi.S_C1] = 1 - h.beta1;
  bc[0] = h.beta1;
  bc[1] = h.t;
  powfInPlace(bc, 0);
  const bc1 = f(1 - bc[0]);
  let flags = abi.F_K;
  if (h.tensors <= 1) {
    flags |= abi.F_A;
    out[abi.S_A] = f(1 / bc1);
  } else {
    flags |= k.jit ? abi.F_DEN_BC1 : abi.F_MHAT;
    out[abi.S_BC1] = bc1;
  }
  if (k.decay === "update" && h.weightDecay * h.decayMult !== 0) {
    flags |= abi.F_UDECAY;
    out[abi.S_LAM] = h.weightDecay * h.decayMult;
  }
  out[abi.S_K] = -(h.lr * h.lrMult);
  return flags;
}
