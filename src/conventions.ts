// The weight-decay conventions of the Adam family. Each preset is a set of knobs: the semantic ones a user
// can override (where the decay goes, what scales it, where epsilon sits, bias correction on or off) and
// the arithmetic ones that pin each framework's float32 rounding (golden/seed/README.md, "Exact op
// sequences"). compile() turns knobs plus the step's hyperparameters into the kernel's stage flags and
// float32 scalars. Every scalar is computed here in float64 and rounded once, where the source rounds it.
import * as abi from "../assembly/abi.js";
import { fail, show } from "./errors.js";
import { powInPlace, runningPower } from "./pow.js";
import { powfInPlace } from "./powf.js";

const f = Math.fround;

/**
 * Every knob of a convention and the values it takes: the one table the knob types, the values
 * resolveConvention() accepts and the knobs a checkpoint records (src/io/checkpoint.ts) derive from.
 * `saved`: whether a checkpoint records the knob and a load checks it. `fast` is not saved: it changes how
 * a step rounds, not what the moments mean, so a state saved in fast mode resumes in exact mode and back.
 */
export const KNOBS = {
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
  decay: { values: ["none", "l2", "decoupled", "subtract", "keras", "update", "after"], saved: true },
  /** What multiplies `wd` (s above): the learning rate, nothing, the bias-corrected rate, or the schedule multiplier. */
  decayScale: { values: ["lr", "none", "corrected-lr", "multiplier"], saved: true },
  /**
   * Where epsilon sits. `torch`: `sqrt(v)/sqrt(1-b2^t) + eps`; `hat`: `sqrt(v) + eps` with the correction
   * folded into the step size (TF1's epsilon hat); `explicit`: `sqrt(v/(1-b2^t)) + eps` on bias-corrected moments.
   */
  eps: { values: ["torch", "hat", "explicit"], saved: true },
  biasCorrection: { values: [true, false], saved: true },
  /**
   * `torch` (torch 1.13): m = b1*m + (1-b1)*g, v = b2*v + ((1-b2)*g)*g; `lerp` (torch 2.x): m = m + (1-b1)*(g-m)
   * (`exp_avg.lerp_(grad, 1-beta1)`), v as torch; `sq`: v = b2*v + (1-b2)*(g*g); `tf`: m += (g-m)*(1-b1), v += (g*g-v)*(1-b2).
   */
  moments: { values: ["torch", "lerp", "sq", "tf"], saved: true },
  /** 1-beta from the float64 beta (`f64`) or in float32 from the float32 beta (`f32`, TF kernels, MXNet, Caffe). */
  oneMinusBeta: { values: ["f64", "f32"], saved: true },
  /**
   * beta^t: correctly rounded float64 `pow`, its float32 rounding of the float32 beta (`pow-f32`), TF1's
   * running float32 product, the float64 power of the float32 beta (Caffe), or glibc's float32 powf of the
   * float32 beta (`powf-glibc`: what XLA CPU calls, not correctly rounded; src/powf.ts).
   */
  betaPower: { values: ["pow", "pow-f32", "running-f32", "pow-of-f32", "powf-glibc"], saved: true },
  /** How lr*sqrt(1-b2^t)/(1-b1^t) is rounded: MXNet `lr*(a/b)`, HuggingFace left to right, TF in float32 ops, Caffe. */
  alpha: { values: ["f64", "f64-ltr", "f32", "caffe"], saved: true },
  /** Whether the step size multiplies m before the division (`numerator`) or the quotient after it (`update`). */
  lrAt: { values: ["numerator", "update"], saved: true },
  /** Emulate the fused multiply-adds of ATen's AVX2 kernels (bit-exact with torch on AVX2 machines). */
  fma: { values: [true, false], saved: true },
  /**
   * Which torch.optim implementation (torch 2.x, moments `lerp`): `single` (`foreach=False`, what torch picks on
   * CPU), `foreach` (the same arithmetic on CPU) or `fused` (ATen's FusedAdamKernel.cpp; with `fma`, its scalar
   * tail contracts v differently from its vector body).
   */
  impl: { values: ["single", "foreach", "fused"], saved: false },
  /**
   * The square root of the denominator: `ieee` (correctly rounded), or `mkl`: torch 2.x's Tensor.sqrt on
   * x86 builds, which runs Intel MKL's vsSqrt; on AVX-512 CPUs that is a 14-bit estimate refined by one
   * fused Newton step (assembly/sqrt14.ts), off by one ulp for about 0.7% of inputs. Slower (a table lookup per lane).
   */
  sqrt: { values: ["ieee", "mkl"], saved: false },
  /**
   * The torch version whose arithmetic the torch-specific knobs follow: with `fma`, where ATen's vector
   * kernels fuse the 2-norm of clip_grad_norm_ (clipGradNorm mode "torch"); given in a convention spec, also
   * the first moment (`lerp` for 2.13, `torch` for 1.13). The torch presets are "2.13"; the others keep 1.13's.
   */
  torch: { values: ["2.13", "1.13"], saved: false },
  // impl, sqrt and torch change how a step rounds, not what the state means: checkpoints do not record them
  // (the first moment's recipe is recorded as `moments`).
  /**
   * Fast mode: the bias corrections are folded into the step size and epsilon (TF1's "epsilon hat" form,
   * eps_hat = eps*sqrt(1-b2^t)), leaving one division per element instead of two (`torch` eps) or three
   * (`explicit`). Not bit-exact: within the golden README's tight tolerance of the exact recipe. No effect
   * where the convention already has that form (`hat` eps, or no bias correction). Computes the first
   * moment as b1*m + (1-b1)*g also where the convention uses a lerp, and takes the IEEE square root.
   */
  fast: { values: [true, false], saved: false },
  /**
   * XLA CPU's arithmetic (optax on jax): subnormals flushed to zero, and optax's own stage order
   * (assembly/xla.ts; golden/real/optax/README.md). Like `fast`, it changes how a step rounds, not what
   * the state means, so checkpoints do not record it (nor `jit`).
   */
  xla: { values: [true, false], saved: false },
  /** With `xla`: what a jax.jit of the whole update computes (XLA's rewrites, LLVM's multiply-adds), or eager op-by-op rounding. */
  jit: { values: [true, false], saved: false },
} as const;

type KnobTable = typeof KNOBS;
export type KnobName = keyof KnobTable;
/** The knobs of a convention, one value per row of KNOBS (the row's comment says what it does). */
export type Knobs = { -readonly [K in KnobName]: KnobTable[K]["values"][number] };
/** Where weight decay enters the step (KNOBS.decay). */
export type DecayMode = Knobs["decay"];
/** What multiplies the weight decay (KNOBS.decayScale). */
export type DecayScale = Knobs["decayScale"];
/** Where epsilon sits (KNOBS.eps). */
export type EpsMode = Knobs["eps"];

export const KNOB_NAMES = Object.keys(KNOBS) as KnobName[];
/** The knobs a checkpoint records and checks on load. */
export const SAVED_KNOBS: readonly KnobName[] = KNOB_NAMES.filter((k) => KNOBS[k].saved);

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
  betaPower: "pow", alpha: "f64", lrAt: "numerator", fma: false, fast: false, xla: false, jit: false,
  impl: "single", sqrt: "ieee", torch: "1.13",
};
// torch 2.x's torch.optim.Adam/AdamW: the first moment is a lerp; TORCH keeps torch 1.13's arithmetic, which
// HuggingFace's AdamW and the epsilon-hat presets share.
const TORCH2: Knobs = { ...TORCH, moments: "lerp", torch: "2.13" };
const TF1: Knobs = { ...TORCH, decay: "none", eps: "hat", moments: "tf", oneMinusBeta: "f32", betaPower: "running-f32", alpha: "f32" };
const HAT: Knobs = { ...TORCH, eps: "hat" };
const EXPLICIT: Knobs = { ...TORCH, eps: "explicit", moments: "sq", lrAt: "update" };
const torchDefaults = { lr: 1e-3, eps: 1e-8, weightDecay: 0, betas: [0.9, 0.999] as const };

// Every preset. `as const` keeps each name a literal, so PresetName (below) lists them and a typo in
// `convention: "torch-adamx"` fails to compile.
const list = [
  {
    ...TORCH2, name: "torch-adam", title: "PyTorch Adam (L2)", decay: "l2",
    source: "torch/optim/adam.py (torch 2.13; impl fused: aten/src/ATen/native/cpu/FusedAdamKernel.cpp); torch 1.13 with knob torch: \"1.13\"",
    math: "g += wd*p; m = m + (1-b1)*(g-m); v = b2*v + (1-b2)*g^2; p -= lr/(1-b1^t) * m/(sqrt(v)/sqrt(1-b2^t) + eps)",
    defaults: torchDefaults,
  },
  {
    ...TORCH2, name: "torch-adamw", title: "PyTorch AdamW", decay: "decoupled",
    source: "torch/optim/adam.py, decoupled_weight_decay=True (torch 2.13 AdamW; impl fused: FusedAdamKernel.cpp); torch 1.13 with knob torch: \"1.13\"",
    math: "p *= 1 - lr*wd; then Adam on the raw gradient",
    defaults: { ...torchDefaults, weightDecay: 1e-2 },
  },
  {
    ...TORCH2, name: "shrink", title: "Multiplicative shrink, then Adam", decay: "decoupled", decayScale: "none",
    source: "p.mul_(1 - d) before torch.optim.Adam.step (torch 2.13; torch 1.13 with knob torch: \"1.13\")",
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
    ...EXPLICIT, name: "optax-adamw", title: "optax adamw (jax.jit on XLA CPU; jit: false for eager)", decay: "update",
    betaPower: "powf-glibc", xla: true, jit: true,
    source: "optax/_src/alias.py adamw = scale_by_adam + add_decayed_weights + scale_by_learning_rate (optax 0.2.8, jax 0.10.2 CPU)",
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
] as const satisfies readonly Preset[];

/** The name of a preset. */
export type PresetName = (typeof list)[number]["name"];
export const presets: Readonly<Record<PresetName, Preset>> = Object.freeze(Object.fromEntries(list.map((p) => [p.name, p]))) as Record<PresetName, Preset>;
// Aliases users reach for.
const aliases = {
  adam: "torch-adam", adamw: "torch-adamw", "keras-adam": "keras-adamw", "tf-adam": "tf1-adam",
  mxnet: "mxnet-adam", "optax": "optax-adamw", "hf": "hf-adamw", caffe: "caffe-adam", "tfjs": "tfjs-adam",
  "adamweightdecay": "bert",
} as const satisfies Record<string, PresetName>;
/** Another name of a preset (`adam`, `adamw`, `optax`, ...). */
export type PresetAlias = keyof typeof aliases;

/** A preset by name, or a preset with some knobs overridden: `{ base: "hf-adamw", biasCorrection: false }`. */
export type ConventionSpec = PresetName | PresetAlias | (Partial<Knobs> & { base?: PresetName | PresetAlias; decayRule?: NameRule });

/**
 * The preset a spec names, with its knobs. `byPreset` holds what an algorithm other than Adam changes of a
 * preset (src/algorithms.ts: Keras's Lion rounds 1 - beta in float32 where its Adam does not); the spec's
 * own knobs still win.
 */
export function resolveConvention(
  spec: ConventionSpec | undefined, fallback: string, byPreset: Readonly<Record<string, Partial<Knobs>>> = {},
): Preset {
  const named = (name: string): Preset => {
    // Own keys only: "constructor" or "__proto__" must not find Object.prototype's members.
    const key = typeof name === "string" && Object.hasOwn(aliases, name) ? (aliases as Record<string, string>)[name] : name;
    const p = typeof name === "string" && Object.hasOwn(presets, key) ? (presets as Record<string, Preset>)[key] : undefined;
    if (!p) fail("BAD_OPTION", `convention: unknown preset ${show(name)}; known: ${Object.keys(presets).join(", ")}`);
    return Object.hasOwn(byPreset, p.name) ? { ...p, ...byPreset[p.name] } : p;
  };
  if (spec === undefined) return named(fallback);
  if (typeof spec === "string") return named(spec);
  if (typeof spec !== "object" || spec === null) fail("BAD_OPTION", `convention: expected a preset name or an object, got ${show(spec)}`);
  const base = named(spec.base ?? fallback);
  const merged: Preset = { ...base, name: spec.base ? `${base.name}*` : "custom", title: `${base.title} (modified)` };
  if ("torch" in spec) {
    // The version also sets the first moment where it is torch's (not where a preset has its own, e.g. TF's);
    // an explicit `moments` in the same spec still wins (the loop below runs after).
    const v = spec.torch as unknown;
    if (!KNOBS.torch.values.some((x) => x === v)) fail("BAD_OPTION", `convention.torch: ${show(v)} is not one of ${KNOBS.torch.values.map((x) => JSON.stringify(x)).join(", ")}`);
    merged.torch = v as Knobs["torch"];
    if (merged.moments === "torch" || merged.moments === "lerp") merged.moments = v === "1.13" ? "torch" : "lerp";
  }
  for (const [k, v] of Object.entries(spec)) {
    if (k === "base" || k === "torch") continue;
    if (k === "decayRule") {
      merged.decayRule = v as NameRule;
      continue;
    }
    const ok: readonly unknown[] | undefined = Object.hasOwn(KNOBS, k) ? KNOBS[k as KnobName].values : undefined;
    if (!ok) fail("BAD_OPTION", `convention: unknown knob "${k}"; knobs: ${KNOB_NAMES.join(", ")}, decayRule, base`);
    if (!ok.includes(v)) fail("BAD_OPTION", `convention.${k}: ${show(v)} is not one of ${ok.map((x) => JSON.stringify(x)).join(", ")}`);
    (merged as unknown as Record<string, unknown>)[k] = v;
  }
  // foreach and fused are torch 2.x implementations; torch 1.13 (and every other framework) ran one.
  if (merged.impl !== "single" && merged.moments !== "lerp") {
    fail("BAD_OPTION", `convention.impl: "${merged.impl}" is a torch 2.x implementation and needs moments "lerp" (torch "2.13"); this convention has moments "${merged.moments}"`);
  }
  return merged;
}

/** The common rule "no decay on 1-D parameters (biases, norms' scales) and on anything named bias". */
export const noDecayFor1dAndBias = (name: string, shape: readonly number[]): boolean => shape.length > 1 && !/bias/.test(name);

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
  /** Divisor of the raw gradient before gradScale (optax's clip under jit divides by the norm); 1 for none. */
  gradDivisor: number;
  /** Whether a global-norm clip runs before the step (LLVM contracts optax's nu differently then). */
  clipping: boolean;
  /** Non-empty parameter tensors in the step (XLA rewrites a one-tensor program differently). */
  tensors: number;
  /** NAdam: torch's momentum_decay (psi), and this parameter's float32 mu_product after t-1 steps. */
  momentumDecay: number;
  muProduct: number;
}

// The float64 intermediates of the step being compiled, shared by compile()'s parts through this array
// instead of being passed or returned: compile() runs on every step, and V8 boxes a double passed to or
// returned from a call it does not inline. POW1/POW2 are beta1^t and beta2^t (betaPower() writes them).
const POW1 = 0;
const POW2 = 1;
const LR = 2; // the effective learning rate: lr * lrMult
const WD = 3; // the effective weight decay: weightDecay * decayMult (Caffe applies decayMult later)
const BC1 = 4; // bias corrections 1 - beta^t (1 without bias correction)
const BC2 = 5;
const ALPHA = 6; // the bias-corrected step size lr*sqrt(bc2)/bc1, rounded as the framework rounds it
const tmp = new Float64Array(7);
const powers = tmp; // betaPower() and powInPlace() write powers[POW1 | POW2]
const pw2 = new Float64Array(2); // powfInPlace's base and exponent

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
    case "powf-glibc":
      pw2[0] = beta;
      pw2[1] = h.t;
      powfInPlace(pw2, 0);
      powers[which] = pw2[0];
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

/** The running power after `steps` steps, for resuming from a step count (src/pow.ts runningPower: no replay). */
export function powerAfter(k: Knobs, beta: number, steps: number): number {
  return k.betaPower === "running-f32" ? runningPower(beta, steps) : 1;
}

/**
 * Writes the kernel scalars of one parameter's step to `out` (S_COUNT float32 slots) and returns the
 * stage flags. Formulas and roundings: golden/seed/README.md, "Exact op sequences". The parts below follow
 * the kernel's stages: gradient, moments, denominator and step size, weight decay.
 */
export function compile(k: Knobs, h: StepInputs, out: Float32Array): number {
  out.fill(0);
  if (runsXla(k)) return compileXla(k, h, out);
  let flags = gradientStage(h, out) | momentStage(k, h, out);
  stepSize(k, h);
  if (k.fast && k.biasCorrection && k.eps !== "hat") flags |= fastUpdate(k, h, out);
  else if (k.eps === "torch") flags |= torchUpdate(k, out);
  else if (k.eps === "hat") flags |= hatUpdate(k, out);
  else flags |= explicitUpdate(k, h, out);
  if (tmp[WD] !== 0 && k.decay !== "none") flags |= decayStage(k, h, out);
  return flags;
}

// Gradient multiplier (rescale x clip coefficient x -1 when maximizing) and the per-element clip.
export function gradientStage(h: StepInputs, out: Float32Array): number {
  let flags = 0;
  out[abi.S_RS] = h.maximize ? -f(h.gradScale) : f(h.gradScale);
  if (out[abi.S_RS] !== 1) flags |= abi.F_SCALE;
  if (h.clipValue !== Infinity) {
    flags |= abi.F_CLIP;
    out[abi.S_CLIP] = h.clipValue;
  }
  return flags;
}

/** The betas and 1 - beta, rounded as the framework rounds them (float32 betas first where oneMinusBeta is "f32"). */
export function betaStage(k: Knobs, h: StepInputs, out: Float32Array): void {
  const b1 = h.beta1;
  const b2 = h.beta2;
  out[abi.S_B1] = b1;
  out[abi.S_B2] = b2;
  out[abi.S_C1] = k.oneMinusBeta === "f32" ? 1 - f(b1) : 1 - b1;
  out[abi.S_C2] = k.oneMinusBeta === "f32" ? 1 - f(b2) : 1 - b2;
}

// Betas, 1 - beta (rounded as the framework rounds it), eps, and the moment recipe.
function momentStage(k: Knobs, h: StepInputs, out: Float32Array): number {
  let flags = 0;
  betaStage(k, h, out);
  out[abi.S_EPS] = h.eps;
  if (k.moments === "sq") flags |= abi.F_V_SQ;
  else if (k.moments === "tf") flags |= abi.F_M_DELTA | abi.F_V_DELTA;
  else if (k.moments === "lerp" && !k.fast) flags |= lerpStage(k, h, out);
  if (h.amsgrad) flags |= abi.F_AMS;
  if (k.fma) flags |= abi.F_FMA;
  if (k.sqrt === "mkl" && !k.fast) flags |= abi.F_SQRT_R14;
  return flags;
}

// torch 2.x: exp_avg.lerp_(grad, 1-beta1). ATen's lerp takes self + w*(end-self) for |w| < 0.5, else
// end - (end-self)*(1-w), the same bits as end + (w-1)*(end-self) (aten/src/ATen/native/Lerp.h).
/**
 * torch 2.x's exp_avg.lerp_(grad, 1 - beta1): the float32 weight, and which of ATen's two lerp forms runs
 * (Lerp.h: m + w*(g-m) for |w| < 0.5, else g + (w-1)*(g-m)).
 */
export function lerpWeight(h: StepInputs, out: Float32Array): number {
  // h, not beta1: a double passed to a call V8 does not inline is boxed (compile() runs on every step).
  const w = f(1 - h.beta1);
  if (Math.abs(w) < 0.5) {
    out[abi.S_LERP] = w;
    return abi.F_M_LERP;
  }
  out[abi.S_LERP] = w - 1;
  return abi.F_M_LERP | abi.F_M_LERP_END;
}

function lerpStage(k: Knobs, h: StepInputs, out: Float32Array): number {
  let flags = lerpWeight(h, out);
  // FusedAdamKernel.cpp: the vector body contracts v*b2 + ((1-b2)*g)*g as fma((1-b2)*g, g, v*b2), the scalar
  // tail (the last n % 8 elements, AVX2's 8 lanes) as fma(v, b2, ((1-b2)*g)*g).
  if (k.fma && k.impl === "fused") flags |= abi.F_V_TAIL8;
  return flags;
}

// tmp[LR], tmp[WD], the bias corrections and the step size alpha, in float64 (float32 where the framework
// rounds there).
function stepSize(k: Knobs, h: StepInputs): void {
  const caffe = k.alpha === "caffe";
  const lrEff = caffe ? f(f(h.lr) * f(h.lrMult)) : h.lr * h.lrMult;
  tmp[LR] = lrEff;
  tmp[WD] = h.weightDecay * (caffe ? 1 : h.decayMult);
  if (!k.biasCorrection) {
    tmp[BC1] = 1;
    tmp[BC2] = 1;
    tmp[ALPHA] = lrEff;
    return;
  }
  betaPower(k, h, POW1);
  betaPower(k, h, POW2);
  const bc1 = 1 - powers[POW1];
  const bc2 = 1 - powers[POW2];
  tmp[BC1] = bc1;
  tmp[BC2] = bc2;
  if (k.alpha === "f64") tmp[ALPHA] = lrEff * (Math.sqrt(bc2) / bc1);
  else if (k.alpha === "f64-ltr") tmp[ALPHA] = (lrEff * Math.sqrt(bc2)) / bc1;
  else if (k.alpha === "f32") tmp[ALPHA] = f(f(f(lrEff) * f(Math.sqrt(f(bc2)))) / f(bc1));
  else tmp[ALPHA] = f(lrEff * f(Math.sqrt(bc2) / bc1)); // caffe: lrEff is already float32
}

// Fast mode: m/bc1 / (sqrt(v/bc2 + eroot) + eps) = (sqrt(bc2)/bc1)*m / (sqrt(v + eroot*bc2) + eps*sqrt(bc2)),
// and the same with torch's sqrt(v)/sqrt(bc2): every correction moves into float64 scalars rounded once,
// and the element loop keeps one division (the kernel's hat form: A*m / (sqrt(v) + eps)).
function fastUpdate(k: Knobs, h: StepInputs, out: Float32Array): number {
  const lrEff = tmp[LR];
  const bc1 = tmp[BC1];
  const bc2 = tmp[BC2];
  const r = Math.sqrt(bc2);
  let flags = abi.F_A;
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
  return flags;
}

// PyTorch: p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) (torch/optim/adam.py _single_tensor_adam).
function torchUpdate(k: Knobs, out: Float32Array): number {
  let flags = abi.F_A;
  out[abi.S_A] = -(tmp[LR] / (k.biasCorrection ? tmp[BC1] : 1));
  if (k.biasCorrection) {
    flags |= abi.F_RDIV;
    out[abi.S_R] = Math.sqrt(tmp[BC2]);
  }
  return flags;
}

// Epsilon hat: p -= alpha * m / (sqrt(v) + eps), alpha on m or on the quotient.
function hatUpdate(k: Knobs, out: Float32Array): number {
  if (k.lrAt === "numerator") {
    out[abi.S_A] = -tmp[ALPHA];
    return abi.F_A;
  }
  out[abi.S_K] = -tmp[ALPHA];
  return abi.F_K;
}

// Explicit bias correction: p -= lr * (m/bc1) / (sqrt(v/bc2 + eroot) + eps).
function explicitUpdate(k: Knobs, h: StepInputs, out: Float32Array): number {
  let flags = 0;
  if (k.biasCorrection) {
    flags |= abi.F_MHAT | abi.F_VHAT;
    out[abi.S_BC1] = tmp[BC1];
    out[abi.S_BC2] = tmp[BC2];
  }
  if (h.epsRoot !== 0) {
    flags |= abi.F_EROOT;
    out[abi.S_EROOT] = h.epsRoot;
  }
  // The paper keeps alpha in the numerator and scales the whole update by eta_t.
  if (k.decayScale === "multiplier" && k.lrAt === "numerator") {
    flags |= abi.F_A | abi.F_K;
    out[abi.S_A] = tmp[LR];
    out[abi.S_K] = -h.multiplier;
  } else {
    flags |= abi.F_K;
    out[abi.S_K] = -tmp[LR];
  }
  return flags;
}

// Where the weight decay enters (KNOBS.decay) and what scales it (KNOBS.decayScale).
function decayStage(k: Knobs, h: StepInputs, out: Float32Array): number {
  const wd = tmp[WD];
  const lrEff = tmp[LR];
  const scale =
    k.decayScale === "lr" ? lrEff : k.decayScale === "none" ? 1 : k.decayScale === "corrected-lr" ? tmp[ALPHA] : h.multiplier;
  switch (k.decay) {
    case "l2":
      out[abi.S_WD] = k.alpha === "caffe" ? f(f(wd) * f(h.decayMult)) : wd;
      return out[abi.S_WD] === 0 ? 0 : abi.F_L2;
    case "decoupled":
      out[abi.S_PRE] = 1 - scale * wd;
      return abi.F_PRE_MUL;
    case "subtract":
      out[abi.S_PRE] = -(scale * wd);
      return abi.F_PRE_SUB;
    case "keras":
      out[abi.S_PRE] = wd;
      out[abi.S_PRE2] = lrEff;
      return abi.F_PRE_KERAS;
    case "update":
      out[abi.S_LAM] = wd;
      return abi.F_UDECAY;
    case "after":
      out[abi.S_POST] = -(scale * wd);
      return abi.F_POST;
  }
  return 0;
}

/**
 * out[0] = 1 - beta1^t with beta1^t as the knobs compute it (Adamax's only bias correction). Written to an
 * array, not returned: a double returned from a call V8 does not inline is boxed.
 */
export function biasCorrection1(k: Knobs, h: StepInputs, out: Float64Array): void {
  betaPower(k, h, POW1);
  out[0] = 1 - powers[POW1];
}

/** out[0] = beta1^t, out[1] = beta2^t as the knobs compute them (RAdam's rho_t needs the power itself). */
export function betaPowers(k: Knobs, h: StepInputs, out: Float64Array): void {
  betaPower(k, h, POW1);
  betaPower(k, h, POW2);
  out[0] = powers[POW1];
  out[1] = powers[POW2];
}

/** out[1] = 1 - beta2^t as the knobs compute it (NAdam's second correction), written as biasCorrection1. */
export function biasCorrection2(k: Knobs, h: StepInputs, out: Float64Array): void {
  betaPower(k, h, POW2);
  out[1] = 1 - powers[POW2];
}

/**
 * The weight decay of an algorithm without bias corrections (Lion, and the others' decay stage): where
 * the knobs put it, scaled by the plain learning rate (src/lion.ts).
 */
export function plainDecay(k: Knobs, h: StepInputs, out: Float32Array): number {
  tmp[LR] = h.lr * h.lrMult;
  tmp[WD] = h.weightDecay * h.decayMult;
  tmp[ALPHA] = tmp[LR];
  return tmp[WD] !== 0 && k.decay !== "none" ? decayStage(k, h, out) : 0;
}

/** Whether the convention divides by a term that eps keeps away from zero. */
export function needsPositiveEps(h: { epsRoot: number }, k: Knobs): boolean {
  return !(k.eps === "explicit" && h.epsRoot > 0);
}

/**
 * Whether a step runs XLA's arithmetic: `xla` on optax's own stage sequence, which the kernel's XLA body
 * runs. Other combinations (a changed decay or epsilon placement, fast mode) run the generic recipe with
 * IEEE rounding, and so does their clipping.
 */
export function runsXla(k: Knobs): boolean {
  return k.xla && !k.fast && k.biasCorrection && k.eps === "explicit" && k.moments === "sq" && k.decayScale === "lr" &&
    (k.decay === "update" || k.decay === "none");
}

/**
 * optax's scale_by_adam + add_decayed_weights + scale_by_learning_rate + apply_updates as XLA CPU runs it
 * (assembly/xla.ts; golden/real/optax/README.md). 1 - b^count is float32 from XLA's powf of the float32
 * beta (`betaPower`); the constants are python floats rounded to float32 where they meet a tensor.
 */
function compileXla(k: Knobs, h: StepInputs, out: Float32Array): number {
  let flags = abi.F_XLA;
  if (h.gradDivisor !== 1) {
    // Eagerly XLA turns g / norm into g * (1/norm).
    flags |= abi.F_GDIV;
    out[abi.S_GDIV] = k.jit ? h.gradDivisor : f(1 / f(h.gradDivisor));
  }
  flags |= gradientStage(h, out);
  if (h.amsgrad) flags |= abi.F_AMS;
  out[abi.S_B1] = h.beta1;
  out[abi.S_C1] = 1 - h.beta1;
  out[abi.S_B2] = h.beta2;
  out[abi.S_C2] = 1 - h.beta2;
  out[abi.S_EPS] = h.eps;
  if (h.epsRoot !== 0) {
    flags |= abi.F_EROOT;
    out[abi.S_EROOT] = h.epsRoot;
  }
  betaPower(k, h, POW1);
  betaPower(k, h, POW2);
  const bc1 = f(1 - powers[POW1]);
  const bc2 = f(1 - powers[POW2]);
  flags |= abi.F_VHAT;
  if (k.jit) {
    flags |= abi.F_FMA;
    if (h.clipping) flags |= abi.F_V_FMA_B;
  }
  if (h.tensors <= 1) {
    // One tensor (jit, or tree_bias_correction's own jit when eager): m*(1/bc1) and v*(1/bc2).
    flags |= abi.F_A;
    out[abi.S_A] = f(1 / bc1);
    out[abi.S_BC2] = f(1 / bc2);
  } else if (k.jit) {
    // (m/bc1)/den -> m/(bc1*den).
    flags |= abi.F_DEN_BC1;
    out[abi.S_BC1] = bc1;
    out[abi.S_BC2] = bc2;
  } else {
    // Eager: tree_bias_correction divides each moment by its correction.
    flags |= abi.F_MHAT;
    out[abi.S_BC1] = bc1;
    out[abi.S_BC2] = bc2;
  }
  if (h.weightDecay * h.decayMult !== 0 && k.decay === "update") {
    flags |= abi.F_UDECAY;
    out[abi.S_LAM] = h.weightDecay * h.decayMult;
  }
  out[abi.S_K] = -(h.lr * h.lrMult);
  return flags;
}
