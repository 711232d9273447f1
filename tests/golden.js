// Reads golden traces (golden/) and replays them through fused-adam's public API. A trace names its
// framework's knobs in the framework's own words (hyper.source); setup() translates them into a preset and
// options, as a user porting that recipe would. Which parameters decay comes from the preset's own name
// rule (BERT, MXNet) or the user-level option a framework has (Keras var_names, optax mask), and is
// checked against the trace.
import { Optimizer, LambdaLR, CosineAnnealingLR, BertSchedule, linearWithWarmup, cosineWithWarmup, paperCosine } from "fused-adam";

export const decode = (a) => Float32Array.from(a, Number);

const TORCH_CONVENTION = {
  none: "torch-adam",
  l2_coupled: "torch-adam",
  decoupled_lr_scaled: "torch-adamw",
  multiplicative_shrink_before_step: "shrink",
};

/**
 * { convention, options, params } for a trace; `fma` asks for the AVX2 emulation on AVX2 torch traces,
 * `fast` for the convention's fast mode (not bit-exact; tests/fast.test.js holds it to the tight bound).
 */
export function setup(trace, { fma = true, fast = false } = {}) {
  const s = setupExact(trace, { fma });
  if (fast) s.convention = typeof s.convention === "string" ? { base: s.convention, fast: true } : { ...s.convention, fast: true };
  return s;
}

function setupExact(trace, { fma }) {
  const src = trace.hyper.source;
  const norm = trace.hyper.normalized;
  const names = trace.params.map((p) => p.name);
  let convention;
  let options = {};
  let lrMult = {};
  let decayMult = {};
  switch (trace.convention) {
    case "A": case "B": case "C": case "D": case "E": case "F": case "G": case "H": case "N": {
      convention = TORCH_CONVENTION[norm.decay_mode];
      if (!convention) throw new Error(`unknown torch decay_mode ${norm.decay_mode}`);
      options = { lr: src.lr, betas: src.betas, eps: src.eps, weightDecay: src.weight_decay, amsgrad: src.amsgrad, maximize: src.maximize };
      if (convention === "shrink") options.weightDecay = trace.hyper.shrink.d;
      if (trace.hyper.clip_grad_norm) options.clipGradNorm = { maxNorm: trace.hyper.clip_grad_norm.max_norm, mode: "torch" };
      if (fma && trace.kernel_variant === "avx2") convention = { base: convention, fma: true };
      break;
    }
    case "I":
      convention = "bert";
      options = { lr: src.learning_rate, betas: [src.beta_1, src.beta_2], eps: src.epsilon, weightDecay: src.weight_decay_rate };
      break;
    case "J": case "K":
      convention = trace.convention === "J" ? "mxnet07-adam" : "mxnet-adam";
      options = {
        lr: src.learning_rate, betas: [src.beta1, src.beta2], eps: src.epsilon, weightDecay: src.wd,
        gradScale: src.rescale_grad, clipValue: src.clip_gradient ?? Infinity,
      };
      break;
    case "L":
      convention = "tf1-adam";
      options = { lr: src.learning_rate, betas: [src.beta1, src.beta2], eps: src.epsilon, weightDecay: 0 };
      break;
    case "M":
      convention = norm.decay_mode.includes("after_update") ? "tf-sgd-after" : "tfa-adamw";
      options = { lr: src.learning_rate, betas: [src.beta_1, src.beta_2], eps: src.epsilon, weightDecay: src.weight_decay };
      break;
    case "P": {
      convention = "keras-adamw";
      options = { lr: src.learning_rate, betas: [src.beta_1, src.beta_2], eps: src.epsilon, weightDecay: src.weight_decay };
      const ex = src.exclude_from_weight_decay?.var_names;
      if (ex) options.decayRule = { exclude: ex };
      break;
    }
    case "Q":
      convention = "optax-adamw";
      options = {
        lr: src.learning_rate, betas: [src.b1, src.b2], eps: src.eps, epsRoot: src.eps_root, weightDecay: src.weight_decay,
        decayRule: (name) => src.mask[name] !== false,
      };
      break;
    case "R":
      convention = { base: "hf-adamw", biasCorrection: src.correct_bias };
      options = { lr: src.lr, betas: src.betas, eps: src.eps, weightDecay: src.weight_decay };
      break;
    case "S":
      convention = "caffe-adam";
      options = { lr: src.base_lr, betas: [src.momentum, src.momentum2], eps: src.delta, weightDecay: src.weight_decay };
      lrMult = src.param_lr_mult;
      decayMult = src.param_decay_mult;
      if (src.clip_gradients >= 0) options.clipGradNorm = { maxNorm: src.clip_gradients, mode: "caffe" };
      break;
    case "T":
      convention = "paper-adamw";
      options = { lr: src.alpha, betas: [src.beta_1, src.beta_2], eps: src.epsilon, weightDecay: src.lambda };
      break;
    case "tfjs":
      convention = "tfjs-adam";
      options = { lr: src.learningRate, betas: [src.beta1, src.beta2], ...(src.epsilon == null ? {} : { eps: src.epsilon }) };
      break;
    default:
      throw new Error(`no setup for convention ${trace.convention}`);
  }
  const spec = (p) => ({
    name: p.name, shape: p.shape, data: decode(p.init),
    ...(lrMult[p.name] !== undefined ? { lrMult: lrMult[p.name] } : {}),
    ...(decayMult[p.name] !== undefined ? { decayMult: decayMult[p.name] } : {}),
  });
  let params = trace.params.map(spec);
  const groups = trace.hyper.param_groups;
  if (groups) {
    params = groups.map((g) => ({
      params: g.params.map((n) => spec(trace.params[names.indexOf(n)])),
      lr: g.lr,
      weightDecay: g.weight_decay,
    }));
  }
  return { convention, options, params };
}

/** The library's own scheduler for the trace's recorded schedule (none for a constant rate). */
function schedulerFor(opt, trace) {
  const sch = trace.hyper.schedule;
  if (!sch || sch.type === "constant") return null;
  if (sch.type === "CosineAnnealingLR") return new CosineAnnealingLR(opt, sch.T_max, sch.eta_min);
  if (sch.type === "LambdaLR" && sch.num_cycles !== undefined) return new LambdaLR(opt, cosineWithWarmup(sch.warmup, sch.total, sch.num_cycles));
  if (sch.type === "LambdaLR") return new LambdaLR(opt, linearWithWarmup(sch.warmup, sch.total));
  if (sch.type.startsWith("bert create_optimizer")) return new BertSchedule(opt, sch.num_train_steps, sch.num_warmup_steps);
  if (sch.type.startsWith("SGDR cosine multiplier")) return new LambdaLR(opt, paperCosine(sch.T_i), { target: "scheduleMultiplier" });
  throw new Error(`no scheduler for ${sch.type}`);
}

/** A fresh optimizer (and its scheduler) configured from the trace. */
export function create(trace, opts) {
  const { convention, options, params } = setup(trace, opts);
  const opt = new Optimizer(params, { ...options, convention });
  return { opt, scheduler: schedulerFor(opt, trace) };
}

/**
 * Where the engine's rate for this step differs from the one the trace recorded (lr, per-group lr, the
 * paper's eta_t), a description of the difference; else null.
 */
export function lrMismatch(opt, trace, step) {
  const groups = trace.hyper.param_groups;
  const want = groups ? groups.map((g) => step.lr_by_param[g.params[0]]) : opt.paramGroups.map(() => step.lr);
  for (let i = 0; i < want.length; i++) {
    const g = opt.paramGroups[i];
    if (step.schedule_multiplier !== undefined) {
      if (g.scheduleMultiplier !== step.schedule_multiplier) return `eta_t ${g.scheduleMultiplier} != ${step.schedule_multiplier}`;
    } else if (g.lr !== want[i] && !(Math.fround(g.lr) === g.lr && Math.fround(want[i]) === g.lr)) {
      // A float32 rate (BERT's TF schedule) is recorded as its shortest float32 decimal.
      return `group ${i} lr ${g.lr} != ${want[i]}`;
    }
  }
  return null;
}

/** The raw gradients of a step: clipping (torch clip_grad_norm_, Caffe ClipGradients) runs in the engine. */
export function gradsOf(trace, step) {
  const out = {};
  for (const p of trace.params) out[p.name] = decode(step.grads[p.name]);
  return out;
}

/** Which parameters the engine decays, against what the trace says; returns mismatches. */
export function checkDecay(opt, trace) {
  const bad = [];
  for (const p of trace.params) {
    let want;
    if (p.decay_excluded !== undefined) want = !p.decay_excluded;
    else if (p.weight_decay !== undefined && p.group === undefined) want = p.weight_decay > 0;
    else continue;
    const got = opt.param(p.name).decays;
    if (got !== want) bad.push(`${p.name}: engine ${got ? "decays" : "excludes"} it, trace ${want ? "decays" : "excludes"} it`);
  }
  return bad;
}
