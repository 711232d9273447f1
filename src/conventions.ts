// The weight-decay conventions of the Adam family. Each preset is a set of knobs: the semantic ones a user
// can override (where the decay goes, what scales it, where epsilon sits, bias correction on or off) and
// the arithmetic ones that pin each framework's float32 rounding (golden/seed/README.md, "Exact op
// sequences"). compile() turns knobs plus the step's hyperparameters into the kernel's stage flags and
// float32 scalars. Every scalar is computed here in float64 and rounded once, where the source rounds it.
import * as abi from "../assembly/abi.js";
import { fail } from "./errors.js";
import { powInPlace } from "./pow.js";

const f = Math.fround;

/**
 * Where weight decay enters the step.
 * - `none`
 * - `l2`: added to the gradient before the moments, `g += wd*p` (PyTorch Adam, Caffe, MXNet >= 0.9).
 * - `decoupled`: the weight shrinks before the update, `p *= 1 - s*wd` (PyTorch AdamW).
 * - `subtract`: the same written as `p -= (s*wd)*p` (tensorflow_addons).
 * - `keras`: `p -= (p*wd)*lr` before the update (Keras 3).
 * - `update`: added to the normalized update, `u += wd*p`, then scaled with it (BERT, optax, the paper).
 * - `after`: the weight shrinks after the update, `p -= (s*wd)*p` (MXNet 0.7, HuggingFace).
 */
export type DecayMode = "none" | "l2" | "decoupled" | "subtract" | "keras" | "update" | "after";
/** What multiplies `wd` (s above): the learning rate, nothing, the bias-corrected rate, or the schedule multiplier. */
export type DecayScale = "lr" | "none" | "corrected-lr" | "multiplier";
/**
 * Where epsilon sits. `torch`: `sqrt(v)/sqrt(1-b2^t) + eps`; `hat`: `sqrt(v) + eps` with the correction
 * folded into the step size (TF1's epsilon hat); `explicit`: `sqrt(v/(1-b2^t)) + eps` on bias-corrected moments.
 */
export type EpsMode = "torch" | "hat" | "explicit";

export interface Knobs {
  decay: DecayMode;
  decayScale: DecayScale;
  eps: EpsMode;
  biasCorrection: boolean;
  /** `torch`: m = b1*m + (1-b1)*g, v = b2*v + ((1-b2)*g)*g; `sq`: v = b2*v + (1-b2)*(g*g); `tf`: m += (g-m)*(1-b1), v += (g*g-v)*(1-b2). */
  moments: "torch" | "sq" | "tf";
  /** 1-beta from the float64 beta (`f64`) or in float32 from the float32 beta (`f32`, TF kernels, MXNet, Caffe). */
  oneMinusBeta: "f64" | "f32";
  /** beta^t: correctly rounded float64 `pow`, its float32 rounding of the float32 beta (`pow-f32`), TF1's running float32 product, or the float64 power of the float32 beta (Caffe). */
  betaPower: "pow" | "pow-f32" | "running-f32" | "pow-of-f32";
  /** How lr*sqrt(1-b2^t)/(1-b1^t) is rounded: MXNet `lr*(a/b)`, HuggingFace left to right, TF in float32 ops, Caffe. */
  alpha: "f64" | "f64-ltr" | "f32" | "caffe";
  /** Whether the step size multiplies m before the division (`numerator`) or the quotient after it (`update`). */
  lrAt: "numerator" | "update";
  /** Emulate the fused multiply-adds of ATen's AVX2 kernels (bit-exact with torch on AVX2 machines). */
  fma: boolean;
  /**
   * Fast mode: the bias corrections are folded into the step size and epsilon (TF1's "epsilon hat" form,
   * eps_hat = eps*sqrt(1-b2^t)), leaving one division per element instead of two (`torch` eps) or three
   * (`explicit`). Not bit-exact: within the golden README's tight tolerance of the exact recipe. No effect
   * where the convention already has that form (`hat` eps, or no bias correction).
   */
  fast: boolean;
}

/** Which parameters decay: regexes searched in the name (python re.search), or a predicate. */
export type NameRule =
  | { include?: readonly (string | RegExp)[]; exclude?: readonly (string | RegExp)[] }
  | ((name: string, shape: readonly number[]) => boolean);

export interface Preset extends Knobs {
  name: string;
  title: string;
  /** The file (and version) whose arithmetic the preset reproduces. */
  source: string;
  math: string;
  defaults: { lr: number; eps: number; weightDecay: number; betas: readonly [number, number] };
  decayRule?: NameRule;
}

const TORCH: Knobs = {
  decay: "l2", decayScale: "lr", eps: "torch", biasCorrection: true, moments: "torch", oneMinusBeta: "f64",
  betaPower: "pow", alpha: "f64", lrAt: "numerator", fma: false, fast: false,
};
const TF1: Knobs = { ...TORCH, decay: "none", eps: "hat", moments: "tf", oneMinusBeta: "f32", betaPower: "running-f32", alpha: "f32" };
const HAT: Knobs = { ...TORCH, eps: "hat" };
const EXPLICIT: Knobs = { ...TORCH, eps: "explicit", moments: "sq", lrAt: "update" };
const torchDefaults = { lr: 1e-3, eps: 1e-8, weightDecay: 0, betas: [0.9, 0.999] as const };

const list: Preset[] = [
  {
    ...TORCH, name: "torch-adam", title: "PyTorch Adam (L2)", decay: "l2",
    source: "torch/optim/adam.py (torch 1.13, _single_tensor_adam)",
    math: "g += wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; p -= lr/(1-b1^t) * m/(sqrt(v)/sqrt(1-b2^t) + eps)",
    defaults: torchDefaults,
  },
  {
    ...TORCH, name: "torch-adamw", title: "PyTorch AdamW", decay: "decoupled",
    source: "torch/optim/adamw.py (torch 1.13, _single_tensor_adamw)",
    math: "p *= 1 - lr*wd; then Adam on the raw gradient",
    defaults: { ...torchDefaults, weightDecay: 1e-2 },
  },
  {
    ...TORCH, name: "shrink", title: "Multiplicative shrink, then Adam", decay: "decoupled", decayScale: "none",
    source: "p.mul_(1 - d) before torch.optim.Adam.step (torch 1.13)",
    math: "p *= 1 - wd (not scaled by lr); then Adam",
    defaults: torchDefaults,
  },
  {
    ...TF1, name: "tf1-adam", title: "tf.train.AdamOptimizer (epsilon hat)", decay: "l2",
    source: "tensorflow/core/kernels/training_ops.cc ApplyAdam; python/training/adam.py (TF1)",
    math: "alpha = lr*sqrt(1-b2p)/(1-b1p) (running float32 beta powers); m += (g-m)*(1-b1); v += (g^2-v)*(1-b2); p -= alpha*m/(sqrt(v) + eps)",
    defaults: torchDefaults,
  },
  {
    ...TF1, name: "tfa-adamw", title: "tensorflow_addons AdamW", decay: "subtract", decayScale: "none", betaPower: "pow-f32",
    source: "tensorflow_addons/optimizers/weight_decay_optimizers.py (DecoupledWeightDecayExtension) over ApplyAdam",
    math: "p -= wd*p (not scaled by lr), then the tf1-adam step with beta powers pow(b, t) in float32",
    defaults: { ...torchDefaults, eps: 1e-7 },
  },
  {
    ...TF1, name: "tf-sgd-after", title: "Adam, then SGD(1.0) on the L2 loss", decay: "after", decayScale: "none", betaPower: "pow-f32",
    source: "ApplyAdam (training_ops.cc) followed by a GradientDescent(1.0) step on wd/2*|p|^2",
    math: "the tf1-adam step, then p -= wd*p on the updated p",
    defaults: { ...torchDefaults, eps: 1e-7 },
  },
  {
    ...TF1, name: "keras-adamw", title: "Keras 3 Adam/AdamW (weight_decay)", decay: "keras", oneMinusBeta: "f64", betaPower: "pow-f32",
    source: "keras/src/optimizers/base_optimizer.py _apply_weight_decay + adam.py update_step (Keras 3.15.1)",
    math: "p -= (p*wd)*lr; alpha = lr*sqrt(1-b2^t)/(1-b1^t) (float32); m += (g-m)*(1-b1); v += (g^2-v)*(1-b2); p -= alpha*m/(sqrt(v) + eps)",
    defaults: { lr: 1e-3, eps: 1e-7, weightDecay: 0.004, betas: [0.9, 0.999] },
  },
  {
    ...EXPLICIT, name: "bert", title: "Google BERT AdamWeightDecayOptimizer", decay: "update", biasCorrection: false,
    source: "google-research/bert optimization.py AdamWeightDecayOptimizer",
    math: "m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; u = m/(sqrt(v) + eps) + wd*p; p -= lr*u (no bias correction)",
    defaults: { lr: 5e-5, eps: 1e-6, weightDecay: 0.01, betas: [0.9, 0.999] },
    decayRule: { exclude: ["LayerNorm", "layer_norm", "bias"] },
  },
  {
    ...HAT, name: "hf-adamw", title: "HuggingFace transformers.AdamW", decay: "after", alpha: "f64-ltr",
    source: "huggingface/transformers src/transformers/optimization.py AdamW (removed in v4.x)",
    math: "m, v as torch; p -= (lr*sqrt(1-b2^t)/(1-b1^t))*m/(sqrt(v) + eps); then p -= lr*wd*p on the updated p",
    defaults: { lr: 1e-3, eps: 1e-6, weightDecay: 0, betas: [0.9, 0.999] },
  },
  {
    ...EXPLICIT, name: "optax-adamw", title: "optax adamw", decay: "update", betaPower: "pow-f32",
    source: "optax/_src/alias.py adamw = scale_by_adam + add_decayed_weights + scale_by_learning_rate (optax 0.2.8)",
    math: "m = (1-b1)*g + b1*m; v = (1-b2)*g^2 + b2*v; u = (m/(1-b1^t))/(sqrt(v/(1-b2^t) + eps_root) + eps) + wd*p; p -= lr*u",
    defaults: { lr: 1e-3, eps: 1e-8, weightDecay: 1e-4, betas: [0.9, 0.999] },
  },
  {
    ...HAT, name: "mxnet07-adam", title: "MXNet 0.7 Adam", decay: "after", decayScale: "corrected-lr",
    source: "apache/mxnet python/mxnet/optimizer.py@v0.7.0 Adam.update",
    math: "g = clip(rescale*g); m, v as torch; lr_t = lr*sqrt(1-b2^t)/(1-b1^t); p -= lr_t*m/(sqrt(v) + eps); p -= lr_t*wd*p",
    defaults: { lr: 1e-3, eps: 1e-8, weightDecay: 0, betas: [0.9, 0.999] },
    decayRule: { include: ["_weight$", "_gamma$"] },
  },
  {
    ...HAT, name: "mxnet-adam", title: "MXNet >= 0.9 adam_update", decay: "l2", oneMinusBeta: "f32",
    source: "apache/mxnet@1.9.1 src/operator/optimizer_op-inl.h AdamUpdate + python/mxnet/optimizer/optimizer.py Adam",
    math: "g = clip(rescale*g + wd*p); m, v as torch; p -= f32(lr*sqrt(1-b2^t)/(1-b1^t))*m/(sqrt(v) + eps)",
    defaults: { lr: 1e-3, eps: 1e-8, weightDecay: 0, betas: [0.9, 0.999] },
    decayRule: { include: ["_weight$"] },
  },
  {
    ...HAT, name: "caffe-adam", title: "Caffe AdamSolver", decay: "l2", moments: "sq", oneMinusBeta: "f32",
    betaPower: "pow-of-f32", alpha: "caffe", lrAt: "update",
    source: "BVLC/caffe src/caffe/solvers/adam_solver.cpp ComputeUpdateValue + sgd_solver.cpp Regularize",
    math: "g += wd*decay_mult*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; p -= (lr*lr_mult*sqrt(1-b2^t)/(1-b1^t)) * (m/(sqrt(v) + delta))",
    defaults: { lr: 1e-3, eps: 1e-8, weightDecay: 0, betas: [0.9, 0.999] },
  },
  {
    ...EXPLICIT, name: "tfjs-adam", title: "TensorFlow.js tf.train.adam", decay: "none", betaPower: "running-f32",
    source: "tfjs-core/src/optimizers/adam_optimizer.ts (TF.js 4.22)",
    math: "m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; p -= lr * (m/(1-b1^t))/(sqrt(v/(1-b2^t)) + eps) (running float32 beta powers)",
    defaults: { lr: 1e-3, eps: 1e-7, weightDecay: 0, betas: [0.9, 0.999] },
  },
  {
    ...EXPLICIT, name: "paper-adamw", title: "AdamW paper, Algorithm 2", decay: "update", decayScale: "multiplier", lrAt: "numerator",
    source: "Loshchilov & Hutter, Decoupled Weight Decay Regularization (ICLR 2019), Algorithm 2 line 12",
    math: "p -= eta_t * (alpha * m_hat/(sqrt(v_hat) + eps) + wd*p): decay scaled by the schedule multiplier eta_t, not by alpha",
    defaults: { lr: 1e-3, eps: 1e-8, weightDecay: 0.025, betas: [0.9, 0.999] },
  },
];

export const presets: Readonly<Record<string, Preset>> = Object.freeze(Object.fromEntries(list.map((p) => [p.name, p])));
// Aliases users reach for.
const aliases: Record<string, string> = {
  adam: "torch-adam", adamw: "torch-adamw", "keras-adam": "keras-adamw", "tf-adam": "tf1-adam",
  mxnet: "mxnet-adam", "optax": "optax-adamw", "hf": "hf-adamw", caffe: "caffe-adam", "tfjs": "tfjs-adam",
  "adamweightdecay": "bert",
};

/** A preset by name, or a preset with some knobs overridden: `{ base: "hf-adamw", biasCorrection: false }`. */
export type ConventionSpec = string | (Partial<Knobs> & { base?: string; decayRule?: NameRule });

export function resolveConvention(spec: ConventionSpec | undefined, fallback: string): Preset {
  const named = (name: string): Preset => {
    const p = presets[aliases[name] ?? name];
    if (!p) fail(`convention: unknown preset "${name}"; known: ${Object.keys(presets).join(", ")}`);
    return p;
  };
  if (spec === undefined) return named(fallback);
  if (typeof spec === "string") return named(spec);
  if (typeof spec !== "object" || spec === null) fail(`convention: expected a preset name or an object, got ${String(spec)}`);
  const base = named(spec.base ?? fallback);
  const merged: Preset = { ...base, name: spec.base ? `${base.name}*` : "custom", title: `${base.title} (modified)` };
  const allowed: Record<string, readonly (string | boolean)[]> = {
    decay: ["none", "l2", "decoupled", "subtract", "keras", "update", "after"],
    decayScale: ["lr", "none", "corrected-lr", "multiplier"],
    eps: ["torch", "hat", "explicit"],
    biasCorrection: [true, false],
    moments: ["torch", "sq", "tf"],
    oneMinusBeta: ["f64", "f32"],
    betaPower: ["pow", "pow-f32", "running-f32", "pow-of-f32"],
    alpha: ["f64", "f64-ltr", "f32", "caffe"],
    lrAt: ["numerator", "update"],
    fma: [true, false],
    fast: [true, false],
  };
  for (const [k, v] of Object.entries(spec)) {
    if (k === "base") continue;
    if (k === "decayRule") {
      merged.decayRule = v as NameRule;
      continue;
    }
    const ok = allowed[k];
    if (!ok) fail(`convention: unknown knob "${k}"; knobs: ${Object.keys(allowed).join(", ")}, decayRule, base`);
    if (!ok.includes(v as string | boolean)) fail(`convention.${k}: ${JSON.stringify(v)} is not one of ${ok.map((x) => JSON.stringify(x)).join(", ")}`);
    (merged as unknown as Record<string, unknown>)[k] = v;
  }
  return merged;
}

/** The common rule "no decay on 1-D parameters (biases, norms' scales) and on anything named bias". */
export const noDecayFor1dAndBias = (name: string, shape: readonly number[]): boolean => shape.length > 1 && !/bias/.test(name);

export interface DecayReport {
  decayed: string[];
  excluded: string[];
  /** Patterns of the rule that matched no parameter name: usually a typo or another framework's naming. */
  unmatchedPatterns: string[];
}

/** Which parameters a rule decays, and which of its patterns matched nothing. */
export function decayReport(rule: NameRule | undefined, params: readonly { name: string; decays: boolean }[]): DecayReport {
  const unmatched: string[] = [];
  if (rule && typeof rule !== "function") {
    for (const p of [...(rule.include ?? []), ...(rule.exclude ?? [])]) {
      const re = typeof p === "string" ? new RegExp(p) : p;
      if (!params.some((q) => re.test(q.name))) unmatched.push(String(p));
    }
  }
  return {
    decayed: params.filter((p) => p.decays).map((p) => p.name),
    excluded: params.filter((p) => !p.decays).map((p) => p.name),
    unmatchedPatterns: unmatched,
  };
}

/** Whether the preset's name rule (or the user's) lets the parameter decay. */
export function decays(rule: NameRule | undefined, name: string, shape: readonly number[]): boolean {
  if (!rule) return true;
  if (typeof rule === "function") return !!rule(name, shape);
  const hit = (ps: readonly (string | RegExp)[] | undefined) =>
    !!ps && ps.some((p) => (typeof p === "string" ? new RegExp(p) : p).test(name));
  if (rule.include && !hit(rule.include)) return false;
  return !hit(rule.exclude);
}

/** The hyperparameters of one step for one parameter (mutated in place: nothing is allocated per step). */
export interface StepInputs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Effective weight decay of this parameter (0 when its name is excluded). */
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
  /** Multiplier of the raw gradient (MXNet rescale_grad, loss-scale unscaling, a clip coefficient). */
  gradScale: number;
  /** Per-element gradient clip bound (MXNet clip_gradient); Infinity for none. */
  clipValue: number;
  epsRoot: number;
  /** The schedule multiplier eta_t of the AdamW paper (decayScale "multiplier"). */
  multiplier: number;
  lrMult: number;
  decayMult: number;
  /** 1-based step. */
  t: number;
  /** Running float32 beta powers after t-1 steps (TF1, TF.js), updated by commitPowers(). */
  pow1: number;
  pow2: number;
}

// beta1^t and beta2^t of the step being compiled. compile() runs on every step, so powers are written here
// rather than passed or returned (V8 boxes a double passed to or returned from a call it does not inline).
const powers = new Float64Array(2);

/** powers[which] = beta^t (which 0: beta1, 1: beta2) as the knobs compute it. */
function betaPower(k: Knobs, h: StepInputs, which: number): void {
  const beta = which === 0 ? h.beta1 : h.beta2;
  switch (k.betaPower) {
    case "pow":
      powers[which] = beta;
      powInPlace(powers, which, h.t);
      break;
    case "pow-f32":
      powers[which] = f(beta);
      powInPlace(powers, which, h.t);
      powers[which] = f(powers[which]);
      break;
    case "pow-of-f32":
      powers[which] = f(beta);
      powInPlace(powers, which, h.t);
      break;
    case "running-f32":
      powers[which] = f((which === 0 ? h.pow1 : h.pow2) * f(beta));
      break;
  }
}

/**
 * Advances parameter i's running beta powers (for knobs that keep them) from step t-1 to step t, in place:
 * pow1[i] *= beta1 and pow2[i] *= beta2 in float32. Nothing is passed or returned as a double (no boxing).
 */
export function nextPowers(k: Knobs, betas: readonly number[], pow1: Float64Array, pow2: Float64Array, i: number): void {
  if (k.betaPower !== "running-f32") return;
  pow1[i] = f(pow1[i] * f(betas[0]));
  pow2[i] = f(pow2[i] * f(betas[1]));
}

/**
 * The running power after `steps` steps, for resuming from a step count. The float32 product reaches a
 * fixed point (0, or a subnormal that the multiply rounds back to itself) long before huge step counts,
 * so the loop stops there instead of running `steps` times.
 */
export function powerAfter(k: Knobs, beta: number, steps: number): number {
  if (k.betaPower !== "running-f32") return 1;
  let p = 1;
  for (let t = 0; t < steps; t++) {
    const next = f(p * f(beta));
    if (next === p) break;
    p = next;
  }
  return p;
}

/**
 * Writes the kernel scalars of one parameter's step to `out` (S_COUNT float32 slots) and returns the
 * stage flags. Formulas and roundings: golden/seed/README.md, "Exact op sequences".
 */
export function compile(k: Knobs, h: StepInputs, out: Float32Array): number {
  out.fill(0);
  let flags = 0;
  const { lr, beta1: b1, beta2: b2 } = h;
  const lrEff = k.alpha === "caffe" ? f(f(lr) * f(h.lrMult)) : lr * h.lrMult;
  const wd = h.weightDecay * (k.alpha === "caffe" ? 1 : h.decayMult);

  out[abi.S_RS] = h.maximize ? -f(h.gradScale) : f(h.gradScale);
  if (out[abi.S_RS] !== 1) flags |= abi.F_SCALE;
  if (h.clipValue !== Infinity) {
    flags |= abi.F_CLIP;
    out[abi.S_CLIP] = h.clipValue;
  }
  out[abi.S_B1] = b1;
  out[abi.S_B2] = b2;
  out[abi.S_C1] = k.oneMinusBeta === "f32" ? 1 - f(b1) : 1 - b1;
  out[abi.S_C2] = k.oneMinusBeta === "f32" ? 1 - f(b2) : 1 - b2;
  out[abi.S_EPS] = h.eps;
  if (k.moments === "sq") flags |= abi.F_V_SQ;
  else if (k.moments === "tf") flags |= abi.F_M_DELTA | abi.F_V_DELTA;
  if (h.amsgrad) flags |= abi.F_AMS;
  if (k.fma) flags |= abi.F_FMA;

  // Bias corrections 1 - beta^t, float64 (or float32 where the framework's powers are float32).
  if (k.biasCorrection) {
    betaPower(k, h, 0);
    betaPower(k, h, 1);
  }
  const bc1 = k.biasCorrection ? 1 - powers[0] : 1;
  const bc2 = k.biasCorrection ? 1 - powers[1] : 1;

  // The bias-corrected step size lr*sqrt(bc2)/bc1, rounded as the framework rounds it.
  let alpha: number;
  if (!k.biasCorrection) alpha = lrEff;
  else if (k.alpha === "f64") alpha = lrEff * (Math.sqrt(bc2) / bc1);
  else if (k.alpha === "f64-ltr") alpha = (lrEff * Math.sqrt(bc2)) / bc1;
  else if (k.alpha === "f32") alpha = f(f(f(lrEff) * f(Math.sqrt(f(bc2)))) / f(bc1));
  else alpha = f(lrEff * f(Math.sqrt(bc2) / bc1)); // caffe: lrEff is already float32

  if (k.fast && k.biasCorrection && k.eps !== "hat") {
    // Fast mode: m/bc1 / (sqrt(v/bc2 + eroot) + eps) = (sqrt(bc2)/bc1)*m / (sqrt(v + eroot*bc2) + eps*sqrt(bc2)),
    // and the same with torch's sqrt(v)/sqrt(bc2): every correction moves into float64 scalars rounded
    // once, and the element loop keeps one division (the kernel's hat form: A*m / (sqrt(v) + eps)).
    const r = Math.sqrt(bc2);
    flags |= abi.F_A;
    out[abi.S_EPS] = h.eps * r;
    if (h.epsRoot !== 0 && k.eps === "explicit") {
      flags |= abi.F_EROOT;
      out[abi.S_EROOT] = h.epsRoot * bc2;
    }
    if (k.eps === "torch") out[abi.S_A] = -(lrEff / bc1) * r;
    else if (k.decayScale === "multiplier" && k.lrAt === "numerator") {
      flags |= abi.F_K;
      out[abi.S_A] = lrEff * (r / bc1);
      out[abi.S_K] = -h.multiplier;
    } else {
      flags |= abi.F_K;
      out[abi.S_A] = r / bc1;
      out[abi.S_K] = -lrEff;
    }
  } else if (k.eps === "torch") {
    flags |= abi.F_A;
    out[abi.S_A] = -(lrEff / (k.biasCorrection ? bc1 : 1));
    if (k.biasCorrection) {
      flags |= abi.F_RDIV;
      out[abi.S_R] = Math.sqrt(bc2);
    }
  } else if (k.eps === "hat") {
    if (k.lrAt === "numerator") {
      flags |= abi.F_A;
      out[abi.S_A] = -alpha;
    } else {
      flags |= abi.F_K;
      out[abi.S_K] = -alpha;
    }
  } else {
    if (k.biasCorrection) {
      flags |= abi.F_MHAT | abi.F_VHAT;
      out[abi.S_BC1] = bc1;
      out[abi.S_BC2] = bc2;
    }
    if (h.epsRoot !== 0) {
      flags |= abi.F_EROOT;
      out[abi.S_EROOT] = h.epsRoot;
    }
    // The paper keeps alpha in the numerator and scales the whole update by eta_t.
    if (k.decayScale === "multiplier" && k.lrAt === "numerator") {
      flags |= abi.F_A | abi.F_K;
      out[abi.S_A] = lrEff;
      out[abi.S_K] = -h.multiplier;
    } else {
      flags |= abi.F_K;
      out[abi.S_K] = -lrEff;
    }
  }

  if (wd !== 0 && k.decay !== "none") {
    const scale =
      k.decayScale === "lr" ? lrEff : k.decayScale === "none" ? 1 : k.decayScale === "corrected-lr" ? alpha : h.multiplier;
    switch (k.decay) {
      case "l2":
        flags |= abi.F_L2;
        out[abi.S_WD] = k.alpha === "caffe" ? f(f(wd) * f(h.decayMult)) : wd;
        if (out[abi.S_WD] === 0) flags &= ~abi.F_L2;
        break;
      case "decoupled":
        flags |= abi.F_PRE_MUL;
        out[abi.S_PRE] = 1 - scale * wd;
        break;
      case "subtract":
        flags |= abi.F_PRE_SUB;
        out[abi.S_PRE] = -(scale * wd);
        break;
      case "keras":
        flags |= abi.F_PRE_KERAS;
        out[abi.S_PRE] = wd;
        out[abi.S_PRE2] = lrEff;
        break;
      case "update":
        flags |= abi.F_UDECAY;
        out[abi.S_LAM] = wd;
        break;
      case "after":
        flags |= abi.F_POST;
        out[abi.S_POST] = -(scale * wd);
        break;
    }
  }
  return flags;
}

/** Whether the convention divides by a term that eps keeps away from zero. */
export function needsPositiveEps(h: { epsRoot: number }, k: Knobs): boolean {
  return !(k.eps === "explicit" && h.epsRoot > 0);
}
