// What the algorithms beyond Adam share on the host: whether a step runs XLA's arithmetic (optax's own
// sequence: decay added to the update, or none) and the XLA stages every optax program starts with.
import * as abi from "../assembly/abi.js";
import { lerpWeight, type Knobs, type StepInputs } from "./conventions.js";

const f = Math.fround;

/** Whether an optax-family step runs XLA's arithmetic (assembly/record.ts q()): the xla knob on optax's decay. */
export function familyRunsXla(k: Knobs): boolean {
  return k.xla && !k.fast && (k.decay === "update" || k.decay === "none");
}

/**
 * F_XLA, and under jit F_FMA (LLVM's multiply-adds); optax's clip division: g / norm under jit, eagerly
 * XLA's rewrite g * (1/norm). Outside XLA, the fma knob (ATen's vector kernels).
 */
export function familyPrefix(k: Knobs, h: StepInputs, out: Float32Array): number {
  if (!familyRunsXla(k)) return k.fma ? abi.F_FMA : 0;
  let flags = abi.F_XLA;
  if (k.jit) flags |= abi.F_FMA;
  if (h.gradDivisor !== 1) {
    flags |= abi.F_GDIV;
    out[abi.S_GDIV] = k.jit ? h.gradDivisor : f(1 / f(h.gradDivisor));
  }
  return flags;
}

// torch 2.x's lerp (aten/src/ATen/native/Lerp.h: self + w*(end-self) for |w| < 0.5, else end + (w-1)*(end-self)),
// TF/Keras's m += (g-m)*(1-b1), or (1-b1)*g + b1*m.
export function firstMoment(k: Knobs, h: StepInputs, out: Float32Array): number {
  if (k.moments === "lerp") return lerpWeight(h, out);
  out[abi.S_C1] = k.oneMinusBeta === "f32" ? 1 - f(h.beta1) : 1 - h.beta1;
  return k.moments === "tf" ? abi.F_M_DELTA : 0;
}
