// RAdam's kernel flags and scalars (assembly/radam.ts), torch 2.13 (torch/optim/radam.py): rho_inf =
// 2/(1-beta2) - 1, rho_t = rho_inf - 2*t*beta2^t/(1 - beta2^t), and the rectification
// sqrt((rho_t-4)(rho_t-2)rho_inf / ((rho_inf-4)(rho_inf-2)rho_t)) when rho_t > 5, all python floats.
// single and foreach compute the update differently (impl knob): see assembly/radam.ts.
import * as abi from "../assembly/abi.js";
import { betaPowers, gradientStage, plainDecay, type Knobs, type StepInputs } from "./conventions.js";
import { firstMoment } from "./family.js";

const pw = new Float64Array(2);

/** The record's algorithm word: RAdam, with torch's foreach arithmetic for impl "foreach". */
export function radamWord(k: Knobs): number {
  return abi.ALGO_RADAM | (k.impl === "foreach" ? abi.A_FOREACH : 0);
}

export function compileRadam(k: Knobs, h: StepInputs, out: Float32Array): number {
  out.fill(0);
  let flags = (k.fma ? abi.F_FMA : 0) | gradientStage(h, out) | firstMoment(k, h, out);
  if (k.sqrt === "mkl") flags |= abi.F_SQRT_R14;
  out[abi.S_B1] = h.beta1;
  out[abi.S_B2] = h.beta2;
  out[abi.S_C2] = 1 - h.beta2;
  out[abi.S_EPS] = h.eps;
  betaPowers(k, h, pw);
  const bc1 = 1 - pw[0];
  const bc2 = 1 - pw[1];
  const lr = h.lr * h.lrMult;
  const rhoInf = 2 / (1 - h.beta2) - 1;
  const rho = rhoInf - (2 * h.t * pw[1]) / bc2;
  const rect = rho > 5 ? Math.sqrt(((rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho)) : 0;
  if (k.impl === "foreach") {
    // bias_correction2 = (1 - beta2**step)**0.5 * (lr*rect/bc) * -1; unrect_step_size = (lr*unrectified/bc) * -1.
    out[abi.S_R] = Math.sqrt(bc2) * ((lr * rect) / bc1) * -1;
    out[abi.S_K] = ((lr * (rect > 0 ? 0 : 1.0)) / bc1) * -1;
  } else {
    out[abi.S_BC1] = bc1;
    out[abi.S_A] = lr;
    if (rect > 0) {
      flags |= abi.F_K;
      out[abi.S_R] = Math.sqrt(bc2);
      out[abi.S_K] = rect;
    }
  }
  return flags | plainDecay(k, h, out);
}
