// Keras 3's learning-rate schedules (keras/src/optimizers/schedules/learning_rate_schedule.py, Keras
// 3.15.1) in the float32 arithmetic they run in. Keras calls a schedule with optimizer.iterations, the
// steps already taken, so as with torch's schedulers the value for step k is the one at epoch k-1: call
// `scheduler.step()` after `opt.step()`. The schedule's initial_learning_rate is the group's lr when the
// scheduler is created. Checked against real Keras runs on both backends (golden/real/keras).
import { fail, show } from "./errors.js";
import type { Optimizer } from "./optimizer.js";
import { cosfGlibc } from "./cosf.js";
import { powfGlibc } from "./powf.js";
import { Scheduler, type SchedulerOptions } from "./schedules.js";

const f = Math.fround;
const PI = f(Math.PI);

/** The Keras backend whose arithmetic to follow. */
export const KERAS_BACKENDS = ["tensorflow", "jax"] as const;
export type KerasBackend = (typeof KERAS_BACKENDS)[number];

/** a*b + c for float32 operands with one rounding (the product is exact in float64). */
const fma = (a: number, b: number, c: number): number => f(a * b + c);

function backendOf(where: string, b: unknown): KerasBackend {
  const v = b ?? "tensorflow";
  if (!(KERAS_BACKENDS as readonly unknown[]).includes(v)) fail("BAD_OPTION", `${where}: backend ${show(v)} is not one of "tensorflow", "jax"`);
  return v as KerasBackend;
}

function wholeSteps(where: string, name: string, x: number, min: number): void {
  if (!Number.isInteger(x) || x < min) fail("BAD_OPTION", `${where}: ${name} must be a whole number >= ${min}, got ${x}`);
}

export interface CosineDecayOptions extends SchedulerOptions {
  decaySteps: number;
  /** The floor, as a fraction of the peak rate (Keras `alpha`). */
  alpha?: number;
  /** Warm up linearly from the initial rate to warmupTarget over warmupSteps, then decay from warmupTarget. */
  warmupTarget?: number | null;
  warmupSteps?: number;
  /**
   * "jax": with warmup, the JAX backend compiles the schedule into one XLA computation (ops.cond), and XLA
   * fuses the two multiply-adds (the warmup line and (1-alpha)*cosine + alpha) into FMAs.
   */
  backend?: KerasBackend;
}

/**
 * keras.optimizers.schedules.CosineDecay. In float32: p = step/decaySteps; cos(pi*p) as glibc's cosf
 * computes it (both backends call it; it is not correctly rounded everywhere, src/cosf.ts);
 * decayed = (1-alpha)*0.5*(1+cos) + alpha, times the rate decayed from. Steps clamp at the end.
 */
export class CosineDecay extends Scheduler {
  private readonly o: Required<Omit<CosineDecayOptions, "target" | "warmupTarget">> & { warmupTarget: number | null };
  constructor(optimizer: Optimizer, options: CosineDecayOptions) {
    super(optimizer, options);
    const where = "CosineDecay";
    const o = { decaySteps: options.decaySteps, alpha: options.alpha ?? 0, warmupTarget: options.warmupTarget ?? null,
      warmupSteps: options.warmupSteps ?? 0, backend: backendOf(where, options.backend) };
    wholeSteps(where, "decaySteps", o.decaySteps, 1);
    wholeSteps(where, "warmupSteps", o.warmupSteps, 0);
    if (!(o.alpha >= 0 && o.alpha <= 1)) fail("BAD_OPTION", `${where}: alpha must be in [0, 1], got ${o.alpha}`);
    if (o.warmupTarget !== null && !(o.warmupTarget >= 0 && Number.isFinite(o.warmupTarget))) fail("BAD_OPTION", `${where}: warmupTarget must be a finite number >= 0, got ${o.warmupTarget}`);
    this.o = o;
    this.start();
  }

  private decayed(step: number, from: number, fused: boolean): number {
    const p = f(step / f(this.o.decaySteps));
    const cosine = f(0.5 * f(1 + cosfGlibc(f(PI * p))));
    const a = this.o.alpha;
    const d = fused ? fma(f(1 - a), cosine, f(a)) : f(f(f(1 - a) * cosine) + f(a));
    return f(from * d);
  }

  protected compute(_i: number, _current: number, base: number): number {
    const init = f(base);
    const D = f(this.o.decaySteps);
    const step = f(this.lastEpoch);
    const target = this.o.warmupTarget;
    if (target === null) return this.decayed(Math.min(step, D), init, false);
    const fused = this.o.backend === "jax";
    const W = f(this.o.warmupSteps);
    const s = Math.min(step, f(D + W));
    if (s < W) {
      const delta = f(f(target) - init);
      const done = f(s / W);
      return fused ? fma(delta, done, init) : f(f(delta * done) + init);
    }
    return this.decayed(f(s - W), f(target), fused);
  }
}

export interface ExponentialDecayOptions extends SchedulerOptions {
  decaySteps: number;
  decayRate: number;
  staircase?: boolean;
}

/**
 * keras.optimizers.schedules.ExponentialDecay: init * rate^(step/decaySteps) in float32 (floor of the
 * exponent with staircase). The power is glibc's powf, which both backends call (TF's Eigen pow on a scalar,
 * XLA CPU), and which is not correctly rounded everywhere.
 */
export class ExponentialDecay extends Scheduler {
  constructor(optimizer: Optimizer, readonly options: ExponentialDecayOptions) {
    super(optimizer, options);
    wholeSteps("ExponentialDecay", "decaySteps", options.decaySteps, 1);
    if (!(options.decayRate > 0 && Number.isFinite(options.decayRate))) fail("BAD_OPTION", `ExponentialDecay: decayRate must be a finite number > 0, got ${options.decayRate}`);
    this.start();
  }
  protected compute(_i: number, _current: number, base: number): number {
    let p = f(f(this.lastEpoch) / f(this.options.decaySteps));
    if (this.options.staircase) p = Math.floor(p);
    const rate = f(this.options.decayRate);
    // powfGlibc covers the usual rate <= 1; a growing rate takes the correctly rounded power.
    return f(f(base) * (rate <= 1 ? powfGlibc(rate, p) : f(Math.pow(rate, p))));
  }
}
