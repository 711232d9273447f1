// Reads golden traces (golden/) and replays them through fused-adam's public API. A trace names its
// framework's knobs in the framework's own words (hyper.source); setup() translates them into a preset and
// options, as a user porting that recipe would. Which parameters decay comes from the preset's own name
// rule (BERT, MXNet) or the user-level option a framework has (Keras var_names, optax mask), and is
// checked against the trace.
import {
  Optimizer, LambdaLR, CosineAnnealingLR, BertSchedule, OptaxLinearSchedule, OptaxWarmupCosineDecay, CosineDecay, ExponentialDecay,
  linearWithWarmup, cosineWithWarmup, paperCosine, algorithms,
} from "fused-adam";

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

/**
 * [trace name, ParamState key] of every state a trace records (param first). The family traces
 * (golden/real/family/) name their state as the framework does: the library's algorithm table says which
 * of its buffers each name is (a name it does not list fails the replay).
 */
export function stateKeys(trace) {
  if (!trace.algorithm) return [["param", "param"], ["exp_avg", "expAvg"], ["exp_avg_sq", "expAvgSq"], ["max_exp_avg_sq", "maxExpAvgSq"]];
  const names = Object.keys(Object.values(trace.state_shapes)[0] ?? {});
  const fw = trace.framework.name;
  return [["param", "param"], ...names.map((n) => {
    const a = algorithms[trace.algorithm];
    const st = [...a.states, ...(a.scalars ?? [])].find((s) => s[fw] === n);
    if (!st) throw new Error(`${trace.algorithm} keeps no ${fw} state ${n}`);
    return [n, st.key];
  })];
}

// The family: torch's through torch-adam (L2; the vector kernels' FMAs, foreach or single); optax's through
// the optax-adamw preset's arithmetic (XLA, jit or eager), its mask as the decay rule; Keras's through
// keras-adamw with exclude_from_weight_decay's names.
function setupFamily(trace) {
  const src = trace.hyper.source;
  const fw = trace.framework;
  const algorithm = trace.algorithm;
  if (fw.name === "torch") {
    const options = { algorithm, lr: src.lr, betas: src.betas, eps: src.eps, weightDecay: src.weight_decay, maximize: src.maximize };
    if (src.momentum_decay !== undefined) options.momentumDecay = src.momentum_decay;
    if (trace.hyper.clip_grad_norm) options.clipGradNorm = { maxNorm: trace.hyper.clip_grad_norm.max_norm, mode: "torch" };
    // NAdam(decoupled_weight_decay=True) shrinks p as AdamW does; Tensor.sqrt is MKL's on x86 builds.
    const convention = {
      base: src.decoupled_weight_decay ? "torch-adamw" : "torch-adam", impl: fw.impl,
      ...(trace.kernel_variant === "avx2" ? { fma: true } : {}), ...(fw.mkl === "avx512" ? { sqrt: "mkl" } : {}),
    };
    return { convention, options };
  }
  if (fw.name === "keras") {
    // A schedule starts from its initial_learning_rate; schedulerFor drives it.
    const lr = typeof src.learning_rate === "object" ? src.learning_rate.config.initial_learning_rate : src.learning_rate;
    const options = { algorithm, lr, betas: [src.beta_1, src.beta_2], weightDecay: src.weight_decay ?? 0 };
    if (src.global_clipnorm) options.clipGradNorm = { maxNorm: src.global_clipnorm, mode: "keras", intraOpThreads: fw.intra_op_threads ?? 1 };
    if (src.epsilon !== undefined) options.eps = src.epsilon;
    const ex = src.exclude_from_weight_decay?.var_names;
    if (ex) options.decayRule = { exclude: ex };
    // Keras on JAX runs each op as an XLA computation (the xla knob: its rewrites, subnormals flushed).
    return { convention: fw.backend === "jax" ? { base: "keras-adamw", xla: true, jit: false } : "keras-adamw", options };
  }
  if (fw.name !== "optax") throw new Error(`no setup for ${fw.name} ${src.optimizer}`);
  const sched = typeof src.learning_rate === "object" ? src.learning_rate : null;
  const options = {
    algorithm, lr: sched ? 0 : src.learning_rate, betas: [src.b1, src.b2], weightDecay: src.weight_decay ?? 0,
    decayRule: (name) => src.mask?.[name] !== false,
  };
  if (src.eps !== undefined) options.eps = src.eps;
  if (trace.hyper.clip_grad_norm) options.clipGradNorm = { maxNorm: trace.hyper.clip_grad_norm.max_norm, mode: "optax" };
  return { convention: { base: "optax-adamw", jit: fw.jit }, options };
}

function setupExact(trace, { fma }) {
  if (trace.algorithm) {
    const { convention, options } = setupFamily(trace);
    const params = trace.params.map((p) => ({ name: p.name, shape: p.shape, data: decode(p.init) }));
    return { convention, options, params };
  }
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
      // Adam(decoupled_weight_decay=True) is AdamW (torch/optim/adam.py); both record decoupled_lr_scaled.
      options = { lr: src.lr, betas: src.betas, eps: src.eps, weightDecay: src.weight_decay, amsgrad: src.amsgrad, maximize: src.maximize };
      if (convention === "shrink") options.weightDecay = trace.hyper.shrink.d;
      if (trace.hyper.clip_grad_norm) options.clipGradNorm = { maxNorm: trace.hyper.clip_grad_norm.max_norm, mode: "torch" };
      // A real run names its torch (framework field, torch 2.x: impl and CPU capability); the seed files are torch 1.13.
      // Tensor.sqrt of an x86 torch build is MKL's (framework.mkl: the CPU MKL dispatched on); the fused kernel takes IEEE sqrt.
      const fw = trace.framework;
      const knobs = fw ? { impl: fw.impl, ...(fw.mkl === "avx512" && fw.impl !== "fused" ? { sqrt: "mkl" } : {}) } : { torch: "1.13" };
      if (fma && trace.kernel_variant === "avx2") knobs.fma = true;
      convention = { base: convention, ...knobs };
      break;
    }
    case "I":
      convention = "bert";
      options = { lr: src.learning_rate, betas: [src.beta_1, src.beta_2], eps: src.epsilon, weightDecay: src.weight_decay_rate };
      // create_optimizer run for real (golden/real/tensorflow): tf.clip_by_global_norm before the optimizer.
      if (trace.hyper.clip_grad_norm?.mode === "tf.clip_by_global_norm") {
        options.clipGradNorm = { maxNorm: trace.hyper.clip_grad_norm.max_norm, mode: "tf", intraOpThreads: trace.framework.intra_op_threads ?? 1 };
      }
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
      // A schedule (golden/real/keras) starts from its initial_learning_rate; schedulerFor drives it.
      const lr = typeof src.learning_rate === "object" ? src.learning_rate.config.initial_learning_rate : src.learning_rate;
      options = { lr, betas: [src.beta_1, src.beta_2], eps: src.epsilon, weightDecay: src.weight_decay ?? 0 };
      if (src.global_clipnorm) options.clipGradNorm = { maxNorm: src.global_clipnorm, mode: "keras", intraOpThreads: trace.framework?.intra_op_threads ?? 1 };
      const ex = src.exclude_from_weight_decay?.var_names;
      if (ex) options.decayRule = { exclude: ex };
      break;
    }
    case "Q": {
      // Real optax runs name jit or eager; the seed's transcriptions (no framework field) are the plain
      // op-by-op IEEE recipe: optax's order without XLA's flush of subnormals.
      const fw = trace.framework;
      convention = fw ? { base: "optax-adamw", jit: fw.jit } : { base: "optax-adamw", xla: false, betaPower: "pow-f32" };
      const sched = typeof src.learning_rate === "object" ? src.learning_rate : null;
      options = {
        lr: sched ? 0 : src.learning_rate, betas: [src.b1, src.b2], eps: src.eps, epsRoot: src.eps_root,
        weightDecay: src.weight_decay ?? 0, decayRule: (name) => src.mask?.[name] !== false,
      };
      if (trace.hyper.clip_grad_norm) options.clipGradNorm = { maxNorm: trace.hyper.clip_grad_norm.max_norm, mode: "optax" };
      break;
    }
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
  const jit = { jit: trace.framework?.jit ?? true };
  if (sch.type === "optax.linear_schedule") {
    return new OptaxLinearSchedule(opt, sch.init_value, sch.end_value, sch.transition_steps, sch.transition_begin ?? 0, jit);
  }
  if (sch.type === "optax.warmup_cosine_decay_schedule") {
    return new OptaxWarmupCosineDecay(opt, sch.init_value, sch.peak_value, sch.warmup_steps, sch.decay_steps, sch.end_value, sch.exponent ?? 1, jit);
  }
  if (sch.type === "CosineAnnealingLR") return new CosineAnnealingLR(opt, sch.T_max, sch.eta_min);
  if (sch.type === "LambdaLR" && sch.num_cycles !== undefined) return new LambdaLR(opt, cosineWithWarmup(sch.warmup, sch.total, sch.num_cycles));
  if (sch.type === "LambdaLR") return new LambdaLR(opt, linearWithWarmup(sch.warmup, sch.total));
  if (sch.type.startsWith("bert create_optimizer")) {
    // A real TF graph run folds the divisions (Grappler); the seed's numpy transcription divides.
    const divisions = trace.framework?.graph ? "folded" : "plain";
    return new BertSchedule(opt, sch.num_train_steps, sch.num_warmup_steps, 0, 1, { divisions });
  }
  if (sch.type === "keras.optimizers.schedules.CosineDecay") {
    return new CosineDecay(opt, {
      decaySteps: sch.decay_steps, alpha: sch.alpha, warmupTarget: sch.warmup_target, warmupSteps: sch.warmup_steps,
      backend: trace.framework?.backend,
    });
  }
  if (sch.type === "keras.optimizers.schedules.ExponentialDecay") {
    return new ExponentialDecay(opt, { decaySteps: sch.decay_steps, decayRate: sch.decay_rate, staircase: sch.staircase });
  }
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
