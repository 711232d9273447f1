// Learning-rate (and weight-decay) schedules that reproduce torch.optim.lr_scheduler (1.13) and the
// HuggingFace / BERT schedules step for step. As in torch, a scheduler sets the value for the first step
// when it is created and advances after each optimizer step: call `scheduler.step()` after `opt.step()`,
// so optimizer step k runs with the value at epoch k-1. Arithmetic is float64 in the order of each source,
// except BERT's create_optimizer schedule, which TensorFlow computes in float32.
import { fail, show } from "./errors.js";
import { powfGlibc } from "./powf.js";
import type { Optimizer, ParamGroup } from "./optimizer.js";

const f = Math.fround;

/** What a scheduler drives: the learning rate, the weight decay, or the AdamW paper's multiplier eta_t. */
export type ScheduleTarget = "lr" | "weightDecay" | "scheduleMultiplier";

export interface SchedulerOptions {
  target?: ScheduleTarget;
}

/** A multiplier of the base value as a function of the epoch (LambdaLR's lr_lambda). */
export type Lambda = (epoch: number) => number;

// torch's group["initial_lr"]: the value the first scheduler of a group found, shared by later ones.
const initial = new WeakMap<ParamGroup, Partial<Record<ScheduleTarget, number>>>();

function get(g: ParamGroup, t: ScheduleTarget): number {
  return g[t];
}
function set(g: ParamGroup, t: ScheduleTarget, v: number): void {
  g[t] = v;
}

export abstract class Scheduler {
  /** Epochs taken (torch's last_epoch): 0 right after creation. */
  lastEpoch = -1;
  /** The groups' values when their first scheduler was created (torch's initial_lr / base_lrs). */
  readonly baseValues: readonly number[];
  readonly target: ScheduleTarget;

  constructor(protected readonly optimizer: Optimizer, options: SchedulerOptions = {}) {
    this.target = options.target ?? "lr";
    if (!["lr", "weightDecay", "scheduleMultiplier"].includes(this.target)) {
      fail("BAD_OPTION", `scheduler target: ${show(this.target)} is not one of "lr", "weightDecay", "scheduleMultiplier"`);
    }
    this.baseValues = optimizer.paramGroups.map((g) => {
      const rec = initial.get(g) ?? {};
      initial.set(g, rec);
      return (rec[this.target] ??= get(g, this.target));
    });
  }

  /** The value of group i at the current epoch, from its current value (chained forms) and base. */
  protected abstract compute(i: number, current: number, base: number): number;

  /** Advances one epoch and writes the new values into the optimizer's groups. */
  step(): void {
    this.lastEpoch++;
    const groups = this.optimizer.paramGroups;
    for (let i = 0; i < groups.length; i++) set(groups[i], this.target, this.compute(i, get(groups[i], this.target), this.baseValues[i]));
  }

  /** The current values, one per group. */
  get values(): number[] {
    return this.optimizer.paramGroups.map((g) => get(g, this.target));
  }

  stateDict(): { lastEpoch: number; values: number[] } {
    return { lastEpoch: this.lastEpoch, values: this.values };
  }

  /** Resumes: the epoch and the groups' values (chained schedules depend on the previous value). */
  loadStateDict(s: { lastEpoch: number; values: readonly number[] }): void {
    const groups = this.optimizer.paramGroups;
    if (!Number.isInteger(s?.lastEpoch) || s.lastEpoch < 0) fail("BAD_STATE", `scheduler.loadStateDict: lastEpoch must be a whole number >= 0, got ${s?.lastEpoch}`);
    if (!Array.isArray(s.values) || s.values.length !== groups.length) fail("BAD_STATE", `scheduler.loadStateDict: values must have one entry per group (${groups.length})`);
    this.lastEpoch = s.lastEpoch;
    groups.forEach((g, i) => set(g, this.target, s.values[i]));
  }

  protected start(): void {
    this.step();
  }
}

/** torch LambdaLR: value = base * lambda(epoch), one lambda for every group or one per group. */
export class LambdaLR extends Scheduler {
  private readonly lambdas: Lambda[];
  constructor(optimizer: Optimizer, lambda: Lambda | readonly Lambda[], options?: SchedulerOptions) {
    super(optimizer, options);
    const n = optimizer.paramGroups.length;
    if (Array.isArray(lambda) && lambda.length !== n) fail("BAD_OPTION", `LambdaLR: got ${lambda.length} lambdas for ${n} parameter groups`);
    this.lambdas = Array.isArray(lambda) ? [...lambda] : Array.from({ length: n }, () => lambda as Lambda);
    this.start();
  }
  protected compute(i: number, _current: number, base: number): number {
    return base * this.lambdas[i](this.lastEpoch);
  }
}

// ---- HuggingFace schedules (transformers/optimization.py), as LambdaLR lambdas ----

/** get_constant_schedule: 1. */
export const constant = (): Lambda => () => 1;

/** get_constant_schedule_with_warmup: linear warmup from 0, then 1. */
export const constantWithWarmup = (warmup: number): Lambda => (s) => (s < warmup ? s / Math.max(1, warmup) : 1);

/** get_linear_schedule_with_warmup: linear warmup from 0, then linear decay to 0 at `total`. */
export const linearWithWarmup = (warmup: number, total: number): Lambda => (s) =>
  s < warmup ? s / Math.max(1, warmup) : Math.max(0, (total - s) / Math.max(1, total - warmup));

/** get_cosine_schedule_with_warmup: linear warmup, then `cycles` cosine waves (0.5: down to 0 once). */
export const cosineWithWarmup = (warmup: number, total: number, cycles = 0.5): Lambda => (s) => {
  if (s < warmup) return s / Math.max(1, warmup);
  const progress = (s - warmup) / Math.max(1, total - warmup);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress)));
};

/** get_polynomial_decay_schedule_with_warmup: warmup, then (base - lrEnd)*(1 - progress)^power + lrEnd, as a factor of `base`. */
export const polynomialWithWarmup = (warmup: number, total: number, base: number, lrEnd = 1e-7, power = 1): Lambda => (s) => {
  if (s < warmup) return s / Math.max(1, warmup);
  if (s > total) return lrEnd / base;
  const range = base - lrEnd;
  const remaining = 1 - (s - warmup) / (total - warmup);
  return (range * remaining ** power + lrEnd) / base;
};

/**
 * Composable warmup: linear from 0 over `warmup` epochs, then `after` counted from the end of warmup.
 * withWarmup(w, cosine) is the usual warmup + cosine.
 */
export const withWarmup = (warmup: number, after: Lambda): Lambda => (s) => (s < warmup ? s / Math.max(1, warmup) : after(s - warmup));

/** The AdamW paper's cosine multiplier (Eq. 15, no restarts): eta_t = 0.5 + 0.5*cos(pi*T_cur/T_i), T_cur = epoch. */
export const paperCosine = (Ti: number): Lambda => (s) => 0.5 + 0.5 * Math.cos((Math.PI * s) / Ti);

// ---- torch's chained schedulers ----

/** torch CosineAnnealingLR, in its recursive form (the closed form differs by an ulp on half the steps). */
export class CosineAnnealingLR extends Scheduler {
  constructor(optimizer: Optimizer, readonly tMax: number, readonly etaMin = 0, options?: SchedulerOptions) {
    super(optimizer, options);
    if (!(tMax > 0)) fail("BAD_OPTION", `CosineAnnealingLR: tMax must be > 0, got ${tMax}`);
    this.start();
  }
  protected compute(_i: number, lr: number, base: number): number {
    const e = this.lastEpoch;
    const T = this.tMax;
    if (e === 0) return base;
    const r = (((e - 1 - T) % (2 * T)) + 2 * T) % (2 * T); // python's modulo
    if (r === 0) return lr + ((base - this.etaMin) * (1 - Math.cos(Math.PI / T))) / 2;
    return ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - this.etaMin) + this.etaMin;
  }
}

/** torch StepLR: multiply by gamma every stepSize epochs. */
export class StepLR extends Scheduler {
  constructor(optimizer: Optimizer, readonly stepSize: number, readonly gamma = 0.1, options?: SchedulerOptions) {
    super(optimizer, options);
    if (!Number.isInteger(stepSize) || stepSize < 1) fail("BAD_OPTION", `StepLR: stepSize must be a whole number >= 1, got ${stepSize}`);
    this.start();
  }
  protected compute(_i: number, lr: number, base: number): number {
    const e = this.lastEpoch;
    if (e === 0) return base;
    return e % this.stepSize !== 0 ? lr : lr * this.gamma;
  }
}

/** torch ExponentialLR: multiply by gamma every epoch. */
export class ExponentialLR extends Scheduler {
  constructor(optimizer: Optimizer, readonly gamma: number, options?: SchedulerOptions) {
    super(optimizer, options);
    this.start();
  }
  protected compute(_i: number, lr: number, base: number): number {
    return this.lastEpoch === 0 ? base : lr * this.gamma;
  }
}

export interface OneCycleOptions extends SchedulerOptions {
  maxLr: number | readonly number[];
  totalSteps: number;
  pctStart?: number;
  annealStrategy?: "cos" | "linear";
  divFactor?: number;
  finalDivFactor?: number;
  threePhase?: boolean;
  /** Cycle beta1 inversely to the lr between baseMomentum and maxMomentum (torch's cycle_momentum). */
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
}

/** torch OneCycleLR (1.13): warmup to maxLr, anneal to maxLr/(divFactor*finalDivFactor); beta1 cycles the other way. */
export class OneCycleLR extends Scheduler {
  private readonly phases: { end: number; from: "initial" | "max" | "min"; to: "initial" | "max" | "min" }[];
  private readonly o: Required<Omit<OneCycleOptions, "target" | "maxLr">>;
  private readonly lrs: { initial: number; max: number; min: number }[];

  constructor(optimizer: Optimizer, options: OneCycleOptions) {
    super(optimizer, options);
    const o = {
      totalSteps: options.totalSteps, pctStart: options.pctStart ?? 0.3, annealStrategy: options.annealStrategy ?? "cos",
      divFactor: options.divFactor ?? 25, finalDivFactor: options.finalDivFactor ?? 1e4, threePhase: options.threePhase ?? false,
      cycleMomentum: options.cycleMomentum ?? true, baseMomentum: options.baseMomentum ?? 0.85, maxMomentum: options.maxMomentum ?? 0.95,
    };
    if (!Number.isInteger(o.totalSteps) || o.totalSteps < 1) fail("BAD_OPTION", `OneCycleLR: totalSteps must be a whole number >= 1, got ${o.totalSteps}`);
    if (!(o.pctStart >= 0 && o.pctStart <= 1)) fail("BAD_OPTION", `OneCycleLR: pctStart must be in [0, 1], got ${o.pctStart}`);
    this.o = o;
    const T = o.totalSteps;
    this.phases = o.threePhase
      ? [
          { end: o.pctStart * T - 1, from: "initial", to: "max" },
          { end: 2 * o.pctStart * T - 2, from: "max", to: "initial" },
          { end: T - 1, from: "initial", to: "min" },
        ]
      : [
          { end: o.pctStart * T - 1, from: "initial", to: "max" },
          { end: T - 1, from: "max", to: "min" },
        ];
    const maxLrs = Array.isArray(options.maxLr) ? options.maxLr : optimizer.paramGroups.map(() => options.maxLr as number);
    this.lrs = maxLrs.map((max) => {
      const initial = max / o.divFactor;
      return { initial, max, min: initial / o.finalDivFactor };
    });
    this.start();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.o.annealStrategy === "linear") return (end - start) * pct + start;
    return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  }

  protected compute(i: number): number {
    const step = this.lastEpoch;
    if (step > this.o.totalSteps) fail("STEP_LIMIT", `OneCycleLR: stepped ${step} times, more than totalSteps = ${this.o.totalSteps}`);
    let start = 0;
    const lr = this.lrs[i];
    const mom = { initial: this.o.maxMomentum, max: this.o.baseMomentum, min: this.o.maxMomentum };
    for (let p = 0; p < this.phases.length; p++) {
      const ph = this.phases[p];
      if (step <= ph.end || p === this.phases.length - 1) {
        const pct = (step - start) / (ph.end - start);
        if (this.o.cycleMomentum && this.target === "lr") {
          this.optimizer.paramGroups[i].betas[0] = this.anneal(mom[ph.from], mom[ph.to], pct);
        }
        return this.anneal(lr[ph.from], lr[ph.to], pct);
      }
      start = ph.end;
    }
    return lr.min;
  }
}

export interface BertScheduleOptions extends SchedulerOptions {
  /**
   * "folded" (default): as a TF graph (tf.compat.v1 Session, tf.function) runs it, where Grappler's
   * constant folding turns the divisions by the constant step counts into multiplications by their
   * float32 reciprocals. "plain": float32 divisions as the source reads (TF eager; the seed transcription).
   */
  divisions?: "folded" | "plain";
}

/**
 * BERT's create_optimizer schedule (google-research/bert optimization.py): tf.train.polynomial_decay to
 * `end` over numTrainSteps, and during the first numWarmupSteps init_lr * step/warmup, in float32. Folded,
 * polynomial_decay's p = step/T is step * f32(1/T), and the warmup's init * (step/W) is
 * step * f32(init * f32(1/W)); checked against TF 2.21 graphs for 2466 (init, T, W, step) values, 0 ulp.
 * It is not renormalised after warmup, so the rate jumps when warmup ends.
 */
export class BertSchedule extends Scheduler {
  private readonly folded: boolean;
  constructor(optimizer: Optimizer, readonly numTrainSteps: number, readonly numWarmupSteps = 0, readonly end = 0, readonly power = 1, options: BertScheduleOptions = {}) {
    super(optimizer, options);
    if (!Number.isInteger(numTrainSteps) || numTrainSteps < 1) fail("BAD_OPTION", `BertSchedule: numTrainSteps must be a whole number >= 1, got ${numTrainSteps}`);
    if (!Number.isInteger(numWarmupSteps) || numWarmupSteps < 0) fail("BAD_OPTION", `BertSchedule: numWarmupSteps must be a whole number >= 0, got ${numWarmupSteps}`);
    const d = options.divisions ?? "folded";
    if (d !== "folded" && d !== "plain") fail("BAD_OPTION", `BertSchedule: divisions ${show(d)} is not one of "folded", "plain"`);
    this.folded = d === "folded";
    this.start();
  }
  protected compute(_i: number, _current: number, base: number): number {
    const s = this.lastEpoch;
    const T = this.numTrainSteps;
    const W = this.numWarmupSteps;
    const init = f(base);
    if (s < W) return this.folded ? f(s * f(init * f(1 / W))) : f(init * f(s / W));
    const t = Math.min(s, T);
    const p = this.folded ? f(t * f(1 / T)) : f(t / T);
    // Grappler folds BERT's pow(x, 1) to x; another power is TF's scalar pow, glibc's powf (src/powf.ts).
    const q = f(1 - p);
    // (powfGlibc covers bases in [0, 1] and powers >= 1; past the end q can be a hair below 0.)
    const glibc = q >= 0 && q <= 1 && this.power >= 1;
    const decay = this.power === 1 ? q : glibc ? powfGlibc(q, f(this.power)) : f(q ** this.power);
    return f(f(f(init - f(this.end)) * decay) + f(this.end));
  }
}

// ---- optax schedules (optax/schedules/_schedule.py, 0.2.8), float32 as XLA computes them ----
// The value at optax's count (0 for the first step), in float32. Under jax.jit XLA folds constants and
// rewrites x/C into x*(1/C), and LLVM contracts the multiply-adds (golden/real/optax/README.md,
// "Schedules"); eagerly each jnp op rounds on its own. Constants are python floats that meet the float32
// count as float32.

/** A float32 multiply-add, f32(a*b + c): the product of two float32 values is exact in float64. */
const fma = (a: number, b: number, c: number): number => f(a * b + c);

export interface OptaxScheduleOptions extends SchedulerOptions {
  /** Values as a jax.jit of the update computes them (default), or as eager jnp ops do (false). */
  jit?: boolean;
}

/** optax.polynomial_schedule with power 1 (linear_schedule): init + (end - init) * clamp(count - begin, 0, T)/T. */
function optaxLinear(count: number, init: number, end: number, steps: number, begin: number, jit: boolean): number {
  if (steps <= 0) return f(init);
  const c = Math.min(Math.max(count - Math.max(begin, 0), 0), steps);
  if (!jit) return f(f(f(init - end) * f(1 - f(c / steps))) + f(end));
  return fma(f(init - end), fma(-c, f(1 / steps), 1), f(end));
}

/** optax.cosine_decay_schedule's value at `count`, (1 - alpha) * (0.5 * (1 + cos(pi * count / T)))^exponent + alpha, times init. */
function optaxCosine(count: number, init: number, steps: number, alpha: number, exponent: number, jit: boolean): number {
  const c = Math.min(count, steps);
  // jit: pi*count/T -> count*(pi/T), with pi/T folded in float32.
  const x = jit ? f(c * f(f(Math.PI) / steps)) : f(f(f(Math.PI) * c) / steps);
  const onePlusCos = f(f(Math.cos(x)) + 1);
  if (jit && exponent === 1) return f(fma(onePlusCos, f(0.5 * f(1 - alpha)), f(alpha)) * f(init));
  if (jit && exponent === 2 && alpha === 0) return f(f(onePlusCos * onePlusCos) * f(0.25 * f(init)));
  const half = f(0.5 * onePlusCos);
  const powed = exponent === 1 ? half : f(half ** exponent);
  return f(f(init) * f(f(f(1 - alpha) * powed) + f(alpha)));
}

/** optax.linear_schedule(init_value, end_value, transition_steps, transition_begin) as a scheduler. */
export class OptaxLinearSchedule extends Scheduler {
  private readonly jit: boolean;
  constructor(optimizer: Optimizer, readonly initValue: number, readonly endValue: number, readonly transitionSteps: number,
    readonly transitionBegin = 0, options: OptaxScheduleOptions = {}) {
    super(optimizer, options);
    if (!Number.isInteger(transitionSteps)) fail("BAD_OPTION", `OptaxLinearSchedule: transitionSteps must be a whole number, got ${transitionSteps}`);
    if (!Number.isInteger(transitionBegin)) fail("BAD_OPTION", `OptaxLinearSchedule: transitionBegin must be a whole number, got ${transitionBegin}`);
    this.jit = options.jit ?? true;
    this.start();
  }
  protected compute(): number {
    return optaxLinear(this.lastEpoch, this.initValue, this.endValue, this.transitionSteps, this.transitionBegin, this.jit);
  }
}

/** optax.warmup_cosine_decay_schedule: linear warmup from init to peak, then cosine decay to end by decaySteps. */
export class OptaxWarmupCosineDecay extends Scheduler {
  private readonly jit: boolean;
  constructor(optimizer: Optimizer, readonly initValue: number, readonly peakValue: number, readonly warmupSteps: number,
    readonly decaySteps: number, readonly endValue = 0, readonly exponent = 1, options: OptaxScheduleOptions = {}) {
    super(optimizer, options);
    if (!Number.isInteger(warmupSteps) || warmupSteps < 0) fail("BAD_OPTION", `OptaxWarmupCosineDecay: warmupSteps must be a whole number >= 0, got ${warmupSteps}`);
    if (!Number.isInteger(decaySteps) || !(decaySteps > warmupSteps)) {
      fail("BAD_OPTION", `OptaxWarmupCosineDecay: decaySteps must be a whole number > warmupSteps (${warmupSteps}), got ${decaySteps}`);
    }
    this.jit = options.jit ?? true;
    this.start();
  }
  protected compute(): number {
    const s = this.lastEpoch;
    const w = this.warmupSteps;
    if (s < w) return optaxLinear(s, this.initValue, this.peakValue, w, 0, this.jit);
    const alpha = this.peakValue === 0 ? 0 : this.endValue / this.peakValue;
    return optaxCosine(s - w, this.peakValue, this.decaySteps - w, alpha, this.exponent, this.jit);
  }
}
