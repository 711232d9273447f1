// Lion's kernel scalars (assembly/family.ts lionBody): c = b1*m + (1-b1)*g, u = sign(c) [+ wd*p], m = b2*m +
// (1-b2)*g, p += -lr*u, with the decay where the convention puts it. optax (xla knob): the constants are
// python floats rounded to float32 where they meet a tensor, and under jax.jit LLVM contracts three
// multiply-adds (golden/real/family/README.md). Elsewhere every op rounds on its own.
import * as abi from "../assembly/abi.js";
import { betaStage, gradientStage, plainDecay, type Knobs, type StepInputs } from "./conventions.js";
import { familyPrefix, familyRunsXla } from "./family.js";


export function compileLion(k: Knobs, h: StepInputs, out: Float32Array): number {
  out.fill(0);
  const xla = familyRunsXla(k);
  let flags = familyPrefix(k, h, out);
  flags |= gradientStage(h, out);
  // Keras casts the betas to float32 before 1 - beta (oneMinusBeta "f32"); optax and torch subtract in float64.
  betaStage(k, h, out);
  out[abi.S_K] = -(h.lr * h.lrMult);
  if (xla) {
    if (k.decay === "update" && h.weightDecay * h.decayMult !== 0) {
      flags |= abi.F_UDECAY;
      out[abi.S_LAM] = h.weightDecay * h.decayMult;
    }
    return flags;
  }
  return flags | plainDecay(k, h, out);
}
