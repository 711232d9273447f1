// The optimizer's options and their checks. Every check runs before anything is allocated or changed, and
// checks the float32 values the kernel will compute with, not only the float64 ones the user passed:
// betas 0.99999999 is < 1 but rounds to 1 in float32, and the first step then divides by zero.
import type { AlgorithmName } from "./algorithms.js";
import type { ClipOptions } from "./clipping.js";
import { needsPositiveEps, type ConventionSpec, type NameRule, type Preset } from "./conventions.js";
import { fail, show, type ErrorCode } from "./errors.js";
import type { LossScaleOptions } from "./scaler.js";

const f = Math.fround;

export interface ParamSpec {
  name: string;
  shape: readonly number[];
  /** Initial weights (row-major, length = product of shape); zeros when absent. */
  data?: ArrayLike<number>;
  /** Per-tensor multipliers of lr and weight decay (Caffe's lr_mult / decay_mult, MXNet's lr_mult / wd_mult). */
  lrMult?: number;
  decayMult?: number;
}

export interface GroupOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
  /** Multiplies every raw gradient first (MXNet rescale_grad). */
  gradScale?: number;
  /** Clips every gradient element to [-clipValue, clipValue] (MXNet clip_gradient). */
  clipValue?: number;
  /** optax eps_root, added to v_hat under the square root. */
  epsRoot?: number;
  /** The schedule multiplier eta_t of the AdamW paper (convention "paper-adamw"). */
  scheduleMultiplier?: number;
  /** NAdam's momentum_decay psi (torch: mu_t = beta1*(1 - 0.5*0.96^(t*psi))); default 4e-3. */
  momentumDecay?: number;
}

export interface GroupSpec extends GroupOptions {
  params: readonly ParamSpec[];
}

export interface OptimizerOptions extends GroupOptions {
  /**
   * The algorithm (src/algorithms.ts): "adam" (default; Adam or AdamW by the convention), "lion", "adamax",
   * "nadam" or "radam". The convention still decides where weight decay enters and how the framework rounds.
   */
  algorithm?: AlgorithmName;
  /** A preset name (see `conventions`) or knobs over a preset. Default "torch-adamw". */
  convention?: ConventionSpec;
  /** Which parameters decay, by name; overrides the preset's rule (BERT's, MXNet's). */
  decayRule?: NameRule;
  /** Global-norm clipping fused into the step: a max norm (torch semantics) or { maxNorm, mode }. */
  clipGradNorm?: number | ClipOptions;
  /**
   * Non-finite gradients: `propagate` (torch: NaN/Inf flow into the state), `skip` (the step changes
   * nothing and step() reports it) or `throw` (an error naming the parameters; nothing changes). With
   * `lossScale` a non-finite gradient is the scaler's overflow signal: the step is always skipped and the
   * scale backs off (torch's GradScaler), so `nonFinite` may only be `skip` there.
   */
  nonFinite?: NonFinite;
  /** Dynamic loss scaling like torch's GradScaler (true for its defaults). */
  lossScale?: boolean | LossScaleOptions;
  /**
   * Threads for this optimizer's steps, once init({ threads }) started workers: "auto" (default) times its
   * own steps on one thread and on all and keeps the faster (re-checking now and then); a number forces
   * that many (1: never split; more than init() started: all of them). Every choice gives the same bits.
   */
  threads?: number | "auto";
}

/** Hyperparameters of a parameter group; change them between steps (schedules do). */
export interface ParamGroup {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
  gradScale: number;
  clipValue: number;
  epsRoot: number;
  scheduleMultiplier: number;
  momentumDecay: number;
  /** Names of the group's parameters. */
  readonly params: readonly string[];
}

export const NON_FINITE = ["propagate", "skip", "throw"] as const;
export type NonFinite = (typeof NON_FINITE)[number];

// The keys each kind of options object may have: one table each, checked against the interfaces by
// `satisfies` (a key added to an interface and not here, or the reverse, fails to compile).
const GROUP_OPTION_KEYS = {
  lr: true, betas: true, eps: true, weightDecay: true, amsgrad: true, maximize: true, gradScale: true,
  clipValue: true, epsRoot: true, scheduleMultiplier: true, momentumDecay: true,
} as const satisfies Record<keyof GroupOptions, true>;
export const OPTION_KEYS = {
  ...GROUP_OPTION_KEYS, algorithm: true, convention: true, decayRule: true, clipGradNorm: true, nonFinite: true, lossScale: true, threads: true,
} as const satisfies Record<keyof OptimizerOptions, true>;
export const GROUP_KEYS = { ...GROUP_OPTION_KEYS, params: true } as const satisfies Record<keyof GroupSpec, true>;
export const PARAM_KEYS = { name: true, shape: true, data: true, lrMult: true, decayMult: true } as const satisfies Record<keyof ParamSpec, true>;

/** Group values as a step uses them, in the order the defaults resolve. */
export const GROUP_DEFAULTS = {
  amsgrad: false, maximize: false, gradScale: 1, clipValue: Infinity, epsRoot: 0, scheduleMultiplier: 1, momentumDecay: 4e-3,
} as const;

const ALIASES: Record<string, string> = {
  learningrate: "lr", epsilon: "eps", beta1: "betas", beta2: "betas", wd: "weightDecay", decay: "weightDecay",
  clipnorm: "clipGradNorm", globalclipnorm: "clipGradNorm", maxgradnorm: "clipGradNorm", rescalegrad: "gradScale",
  clipgradient: "clipValue", lrmult: "lrMult", decaymult: "decayMult", wdmult: "decayMult",
};

/** Edit distance, for "did you mean": keys differ by a letter or two. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length];
}

/** The known key closest to `key`: the same up to case and `_`/`-` (weight_decay -> weightDecay), or a near spelling. */
export function closest(key: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, "");
  const same = known.find((k) => norm(k) === norm(key));
  if (same) return same;
  // Other frameworks' names for the same options (Keras, TF.js, optax).
  const alias = Object.hasOwn(ALIASES, norm(key)) ? ALIASES[norm(key)] : undefined;
  if (alias && known.includes(alias)) return alias;
  const prefix = known.find((k) => Math.min(k.length, key.length) >= 3 && (norm(key).startsWith(norm(k)) || norm(k).startsWith(norm(key))));
  if (prefix) return prefix;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(norm(key), norm(k));
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Throws for a key of `obj` that `table` does not know, naming the closest known key. */
export function checkKeys(where: string, obj: object, table: Readonly<Record<string, true>>, code: ErrorCode = "BAD_OPTION"): void {
  for (const key of Object.keys(obj)) {
    if (Object.hasOwn(table, key)) continue;
    const known = Object.keys(table);
    const near = closest(key, known);
    fail(code, `${where}: unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ""}; known keys: ${known.join(", ")}`);
  }
}

export function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** The element count of a shape, checked. */
export function checkShape(where: string, shape: unknown): number {
  if (!Array.isArray(shape)) fail("BAD_SHAPE", `${where}.shape: expected an array of dimensions, got ${show(shape)}`);
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) fail("BAD_SHAPE", `${where}.shape: dimensions must be whole numbers >= 0, got [${shape.join(", ")}]`);
    n *= d;
  }
  if (n > 2 ** 32) fail("OUT_OF_MEMORY", `${where}: ${n} elements is more than a wasm32 memory of 4 GiB holds`);
  return n;
}

/**
 * Whether `a` is an array of `n` numbers that Float32Array.set converts as numbers: a typed array other
 * than the BigInt ones, or an array-like whose elements are all numbers. Throws otherwise.
 */
export function checkNumbers(where: string, a: unknown, n: number, code: ErrorCode = "BAD_ARRAY"): void {
  if (a === null || typeof a !== "object" || typeof (a as { length?: unknown }).length !== "number") {
    fail(code, `${where} must be an array of numbers, got ${show(a)}`);
  }
  if (a instanceof BigInt64Array || a instanceof BigUint64Array) fail(code, `${where} is a ${a.constructor.name}; it must hold numbers (Float32Array, Float64Array, an array)`);
  const len = (a as ArrayLike<unknown>).length;
  if (len !== n) fail("BAD_SHAPE", `${where} has ${len} elements, expected ${n}`);
  if (ArrayBuffer.isView(a) && !(a instanceof DataView)) return;
  const arr = a as ArrayLike<unknown>;
  for (let i = 0; i < n; i++) if (typeof arr[i] !== "number") fail(code, `${where}[${i}] is ${show(arr[i])}, not a number`);
}

// Validation runs before every step (schedules and users change group values between steps), so it is written
// without closures or eager messages: a message is formatted only when a check fails.
function bad(code: ErrorCode, where: string, i: number, k: string, v: unknown, allowed: string): never {
  return fail(code, `${where}[${i}].${k} is ${show(v)}; ${k} must be ${allowed}`);
}

// A finite number >= 0 that stays finite in float32 (1e39 does not).
function nonNegative(v: unknown): boolean {
  return typeof v === "number" && v >= 0 && Number.isFinite(f(v));
}

/**
 * Checks a group's values as the kernel will use them (float32). `code` is BAD_OPTION for options and
 * BAD_CHECKPOINT for a loaded file.
 */
export function checkGroup(where: string, i: number, g: ParamGroup, preset: Preset, code: ErrorCode = "BAD_OPTION"): void {
  const { lr, betas, eps, epsRoot, weightDecay, gradScale, clipValue, scheduleMultiplier } = g;
  if (!nonNegative(lr)) bad(code, where, i, "lr", lr, "a number >= 0, finite in float32");
  if (!Array.isArray(betas) || betas.length !== 2) bad(code, where, i, "betas", betas, "a pair [beta1, beta2]");
  const b1 = betas[0];
  const b2 = betas[1];
  // In float32: 0.99999999 < 1, but Math.fround(0.99999999) === 1.
  if (typeof b1 !== "number" || !(b1 >= 0 && f(b1) < 1)) bad(code, where, i, "betas[0]", b1, "in [0, 1), and below 1 in float32 (at most 0.99999994)");
  if (typeof b2 !== "number" || !(b2 >= 0 && f(b2) < 1)) bad(code, where, i, "betas[1]", b2, "in [0, 1), and below 1 in float32 (at most 0.99999994)");
  if (!nonNegative(epsRoot)) bad(code, where, i, "epsRoot", epsRoot, "a number >= 0, finite in float32");
  if (!nonNegative(eps)) bad(code, where, i, "eps", eps, "a number >= 0, finite in float32");
  if (needsPositiveEps(g, preset) && !(f(eps) > 0)) {
    bad(code, where, i, "eps", eps, `> 0 in float32 (the ${preset.name} step divides by sqrt(v) + eps; 1e-46 and below round to 0)`);
  }
  if (!nonNegative(weightDecay)) bad(code, where, i, "weightDecay", weightDecay, "a number >= 0, finite in float32");
  if (typeof gradScale !== "number" || !Number.isFinite(f(gradScale))) bad(code, where, i, "gradScale", gradScale, "a number, finite in float32");
  if (typeof clipValue !== "number" || !(clipValue > 0)) bad(code, where, i, "clipValue", clipValue, "a number > 0 (Infinity for no clipping)");
  if (!nonNegative(scheduleMultiplier)) bad(code, where, i, "scheduleMultiplier", scheduleMultiplier, "a number >= 0, finite in float32");
  if (!nonNegative(g.momentumDecay)) bad(code, where, i, "momentumDecay", g.momentumDecay, "a number >= 0, finite in float32");
  if (typeof g.amsgrad !== "boolean") bad(code, where, i, "amsgrad", g.amsgrad, "true or false");
  if (typeof g.maximize !== "boolean") bad(code, where, i, "maximize", g.maximize, "true or false");
}

/** The group values of a group spec over the optimizer-wide options and the preset's defaults (not yet checked). */
export function groupOf(gs: GroupSpec, options: OptimizerOptions, preset: Preset, gi: number): ParamGroup {
  const get = <K extends keyof GroupOptions>(k: K): GroupOptions[K] => (gs[k] !== undefined ? gs[k] : options[k]);
  const betas = get("betas") ?? preset.defaults.betas;
  if (!Array.isArray(betas) || betas.length !== 2) bad("BAD_OPTION", "paramGroups", gi, "betas", betas, "a pair [beta1, beta2]");
  return {
    lr: get("lr") ?? preset.defaults.lr,
    betas: [betas[0], betas[1]],
    eps: get("eps") ?? preset.defaults.eps,
    weightDecay: get("weightDecay") ?? preset.defaults.weightDecay,
    amsgrad: get("amsgrad") ?? GROUP_DEFAULTS.amsgrad,
    maximize: get("maximize") ?? GROUP_DEFAULTS.maximize,
    gradScale: get("gradScale") ?? GROUP_DEFAULTS.gradScale,
    clipValue: get("clipValue") ?? GROUP_DEFAULTS.clipValue,
    epsRoot: get("epsRoot") ?? GROUP_DEFAULTS.epsRoot,
    scheduleMultiplier: get("scheduleMultiplier") ?? GROUP_DEFAULTS.scheduleMultiplier,
    momentumDecay: get("momentumDecay") ?? GROUP_DEFAULTS.momentumDecay,
    params: gs.params.map((p) => p?.name),
  };
}

/** nonFinite, checked against lossScale (with a scaler, a non-finite gradient always skips the step). */
export function resolveNonFinite(options: OptimizerOptions): NonFinite {
  const v = options.nonFinite;
  if (v !== undefined && !(NON_FINITE as readonly unknown[]).includes(v)) fail("BAD_OPTION", `nonFinite: ${show(v)} is not one of ${NON_FINITE.map((x) => `"${x}"`).join(", ")}`);
  if (options.lossScale && v !== undefined && v !== "skip") {
    fail("BAD_OPTION", `nonFinite: "${v}" cannot be combined with lossScale: with loss scaling a non-finite gradient is the scaler's overflow signal, so the step is skipped and the scale backs off (torch's GradScaler); leave nonFinite out or set it to "skip"`);
  }
  return v ?? (options.lossScale ? "skip" : "propagate");
}

/** threads, checked. */
export function resolveThreads(options: OptimizerOptions): number | "auto" {
  const t = options.threads ?? "auto";
  if (t !== "auto" && !(Number.isInteger(t) && (t as number) >= 1)) {
    fail("BAD_OPTION", `threads is ${show(t)}; it must be "auto" or a whole number >= 1 (1: never split a step)`);
  }
  return t;
}
