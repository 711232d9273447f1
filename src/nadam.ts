// NAdam's kernel flags and scalars (assembly/nadam.ts), torch 2.13 (torch/optim/nadam.py): the momentum
// schedule mu_t = beta1*(1 - 0.5*0.96^(t*psi)), mu_product (a float32 tensor in torch: mu_product *= mu_t
// rounds to float32 every step), and the step sizes of its two addcdivs in float64 from the float32
// mu_product. foreach (impl) divides sqrt(v) by sqrt(1 - beta2^t); single takes sqrt(v / (1 - beta2^t)).
// Python's float ** is glibc's pow; JavaScript's Math.pow (used for the non-integer 0.96^(t*psi)) is not
// always correctly rounded: a 1-ulp difference in mu_t in float64 reaches a float32 result very rarely.
import * as abi from "../assembly/abi.js";
import { biasCorrection2, gradientStage, plainDecay, type Knobs, type StepInputs } from "./conventions.js";
import { firstMoment } from "./family.js";
import { powfInPlace } from "./powf.js";

const f = Math.fround;
const bc = new Float64Array(2);
const pw = new Float64Array(2); // powfInPlace's base and exponent

// Nothing below passes or returns a double through a call V8 may not inline (it would box it: compile runs
// on every step); the momentum schedule is written out where it is needed.

/** Whether the convention is Keras's (TF's moment updates): Keras 3's Nadam arithmetic. */
export function kerasNadam(k: Knobs): boolean {
  return k.moments === "tf";
}

/** The record's algorithm word: NAdam, or Keras's Nadam. */
export function nadamWord(k: Knobs): number {
  return abi.ALGO_NADAM | (kerasNadam(k) ? abi.A_KERAS : 0);
}

/** pw[0] = f(1 - f(0.5*powf(0.96, t))), Keras's momentum factor (keras/src/optimizers/nadam.py). */
function kerasFactor(t: number): void {
  pw[0] = 0.96;
  pw[1] = t;
  powfInPlace(pw, 0);
  pw[0] = f(1 - f(0.5 * pw[0]));
}

export function compileNadam(k: Knobs, h: StepInputs, out: Float32Array): number {
  out.fill(0);
  if (kerasNadam(k)) return compileKeras(k, h, out);
  let flags = (k.fma ? abi.F_FMA : 0) | gradientStage(h, out) | firstMoment(k, h, out);
  out[abi.S_B1] = h.beta1;
  out[abi.S_B2] = h.beta2;
  out[abi.S_C2] = 1 - h.beta2;
  out[abi.S_EPS] = h.eps;
  biasCorrection2(k, h, bc);
  if (k.impl === "foreach") {
    flags |= abi.F_RDIV;
    out[abi.S_R] = Math.sqrt(bc[1]); // (1 - beta2**step) ** 0.5: the same double as sqrt
  } else {
    flags |= abi.F_VHAT;
    out[abi.S_BC2] = bc[1];
  }
  if (k.sqrt === "mkl") flags |= abi.F_SQRT_R14;
  const lr = h.lr * h.lrMult;
  const muT = h.beta1 * (1.0 - 0.5 * 0.96 ** (h.t * h.momentumDecay));
  const muNext = h.beta1 * (1.0 - 0.5 * 0.96 ** ((h.t + 1) * h.momentumDecay));
  const product = f(h.muProduct * f(muT));
  out[abi.S_K] = (-lr * (1.0 - muT)) / (1.0 - product);
  out[abi.S_A] = (-lr * muNext) / (1.0 - product * muNext);
  return flags | plainDecay(k, h, out);
}

// Keras 3 Nadam: u_product (one float32 variable per optimizer, the same for every parameter) is updated
// before the step: u_product = f(f(u_product*beta_1) * f(1 - f(0.5*0.96^t))); then m += (g-m)*(1-beta_1),
// v += (g^2-v)*(1-beta_2) with 1-beta in float32, m_hat = u_{t+1}*m/(1-u_product*u_{t+1}) + (1-u_t)*g/(1-u_product),
// p -= (m_hat*lr)/(sqrt(v/(1-beta_2^t)) + eps). Keras's schedule is 0.96^t (no momentum_decay). On JAX
// (the xla knob) each division by a scalar is a multiplication by its float32 reciprocal.
function compileKeras(k: Knobs, h: StepInputs, out: Float32Array): number {
  let flags = gradientStage(h, out) | abi.F_M_DELTA | abi.F_V_DELTA;
  if (k.xla) flags |= abi.F_XLA;
  out[abi.S_C1] = 1 - f(h.beta1);
  out[abi.S_C2] = 1 - f(h.beta2);
  out[abi.S_EPS] = h.eps;
  kerasFactor(h.t);
  const factor = pw[0];
  const product = f(f(h.muProduct * f(h.beta1)) * factor);
  const uT = f(f(h.beta1) * factor);
  kerasFactor(h.t + 1);
  const uNext = f(f(h.beta1) * pw[0]);
  const d1 = f(1 - f(product * uNext));
  const d0 = f(1 - product);
  pw[0] = h.beta2;
  pw[1] = h.t;
  powfInPlace(pw, 0);
  const bc2 = f(1 - pw[0]);
  out[abi.S_A] = uNext;
  out[abi.S_K] = 1 - uT;
  out[abi.S_BC1] = k.xla ? f(1 / d1) : d1;
  out[abi.S_POST] = k.xla ? f(1 / d0) : d0;
  out[abi.S_BC2] = k.xla ? f(1 / bc2) : bc2;
  out[abi.S_LAM] = h.lr * h.lrMult;
  return flags | plainDecay(k, h, out);
}

/** Parameter i's mu_product after step t (torch: mu_product *= mu_t on a float32 tensor; Keras: u_product), in place. */
export function nextMuProduct(k: Knobs, betas: readonly number[], g: { momentumDecay: number }, t: number, product: Float64Array, i: number): void {
  if (kerasNadam(k)) {
    kerasFactor(t);
    product[i] = f(f(product[i] * f(betas[0])) * pw[0]);
  } else product[i] = f(product[i] * f(betas[0] * (1.0 - 0.5 * 0.96 ** (t * g.momentumDecay))));
}

/** mu_product after `steps` steps from 1 (a loaded step count without a saved product). */
export function muProductAfter(k: Knobs, betas: readonly number[], g: { momentumDecay: number }, steps: number): number {
  const one = new Float64Array(1).fill(1);
  for (let t = 1; t <= steps && one[0] !== 0; t++) nextMuProduct(k, betas, g, t, one, 0);
  return one[0];
}
