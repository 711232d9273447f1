// The optimizer: parameters laid out in one arena of the kernel's memory (weights, grads, exp_avg,
// exp_avg_sq and, with amsgrad, max_exp_avg_sq, each a contiguous region with every tensor 64-byte
// aligned), one segment record per tensor, and step() = validate, compute the per-tensor scalars in
// float64 on the host, then one kernel call over every tensor. Nothing is allocated per step.
import * as abi from "../assembly/abi.js";
import {
  compile, decayReport, decays, needsPositiveEps, nextPowers, powerAfter, resolveConvention,
  type ConventionSpec, type DecayReport, type NameRule, type Preset, type StepInputs,
} from "./conventions.js";
import * as checkpoint from "./io/checkpoint.js";
import { clipCoefficient, globalNorm, normRecipe, resolveClip, type ClipOptions } from "./clipping.js";
import { fail } from "./errors.js";
import { ThreadChoice } from "./runtime/autothreads.js";
import { getKernel, getPool } from "./runtime/kernel.js";
import { splitPositions, splitRecords, type Pool } from "./runtime/threads.js";
import { LossScaler, type LossScaleOptions } from "./scaler.js";
import { alloc, buffer, release } from "./runtime/memory.js";

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
}

export interface GroupSpec extends GroupOptions {
  params: readonly ParamSpec[];
}

export interface OptimizerOptions extends GroupOptions {
  /** A preset name (see `conventions`) or knobs over a preset. Default "torch-adamw". */
  convention?: ConventionSpec;
  /** Which parameters decay, by name; overrides the preset's rule (BERT's, MXNet's). */
  decayRule?: NameRule;
  /** Global-norm clipping fused into the step: a max norm (torch semantics) or { maxNorm, mode }. */
  clipGradNorm?: number | ClipOptions;
  /**
   * Non-finite gradients: `propagate` (torch: NaN/Inf flow into the state), `skip` (the step changes
   * nothing and step() reports it) or `throw` (an error naming the parameters; nothing changes).
   */
  nonFinite?: "propagate" | "skip" | "throw";
  /** Dynamic loss scaling like torch's GradScaler (true for its defaults). */
  lossScale?: boolean | LossScaleOptions;
  /**
   * Threads for this optimizer's steps, once init({ threads }) started workers: "auto" (default) times its
   * own steps on one thread and on all and keeps the faster (re-checking now and then); a number forces
   * that many (1: never split; more than init() started: all of them). Every choice gives the same bits.
   */
  threads?: number | "auto";
}

/** What the last step did. One object per optimizer, overwritten by every step (nothing is allocated). */
export interface StepResult {
  /** Global gradient norm (after unscaling), NaN when no norm was needed (no clipping, no checks). */
  totalNorm: number;
  /** The multiplier applied to every gradient by clipping (1 when not clipping). */
  clipCoef: number;
  /** True when the step was skipped for non-finite gradients: no weight, moment or step count changed. */
  skipped: boolean;
  /** True when some gradient had a NaN or infinite element. */
  nonFinite: boolean;
  /** The loss scale to use for the next backward pass (NaN without loss scaling). */
  lossScale: number;
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
  /** Names of the group's parameters. */
  readonly params: readonly string[];
}

export interface ParamState {
  step: number;
  param: Float32Array;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
  maxExpAvgSq?: Float32Array;
}

export interface OptimizerState {
  convention: string;
  params: Record<string, ParamState>;
}

const F32 = 4;
const ALIGN_FLOATS = 16; // 64 bytes
const ALL = 0xffffffff; // the padded element range [0, ALL) of a step: every element
// Floats past the 2*count per-tensor norms and flags in the norms area (assembly/norm.ts OUT_SCALE, OUT_TOTAL).
const NORMS_SCALE = 0;
const NORMS_TOTAL = 1;
// Automatic threads: below this many (padded) elements a step never splits: a handoff costs more than
// the share it hands off. Above, each step's way is chosen by timing (src/autothreads.ts).
const MIN_SPLIT = 16384;

/** One parameter tensor: zero-copy views into the kernel's memory, re-derived after the memory grows. */
export class Param {
  /** Whether weight decay applies to this tensor (the convention's name rule, or the user's). */
  readonly decays: boolean;
  /** @internal */ cache: ArrayBuffer | null = null;
  /** @internal */ views: Float32Array[] = [];

  constructor(
    private readonly owner: Optimizer,
    readonly name: string,
    readonly shape: readonly number[],
    readonly size: number,
    readonly group: number,
    /** @internal */ readonly offset: number,
    readonly lrMult: number,
    readonly decayMult: number,
    decaysByName: boolean,
  ) {
    this.decays = decaysByName && decayMult !== 0;
  }

  private view(k: number): Float32Array {
    return this.owner.viewOf(this, k);
  }
  /** The weights. */
  get data(): Float32Array {
    return this.view(0);
  }
  /** The gradient buffer: write this parameter's gradient here before step(). */
  get grad(): Float32Array {
    return this.view(1);
  }
  get expAvg(): Float32Array {
    return this.view(2);
  }
  get expAvgSq(): Float32Array {
    return this.view(3);
  }
  /** null unless the parameter's group uses amsgrad. */
  get maxExpAvgSq(): Float32Array | null {
    return this.owner.hasMax ? this.view(4) : null;
  }
  /** Steps taken by this parameter (torch's `state['step']`). */
  get step(): number {
    return this.owner.stepOf(this);
  }
}

function checkShape(where: string, shape: unknown): number {
  if (!Array.isArray(shape)) fail(`${where}.shape: expected an array of dimensions, got ${String(shape)}`);
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) fail(`${where}.shape: dimensions must be whole numbers >= 0, got [${shape.join(", ")}]`);
    n *= d;
  }
  return n;
}

// Validation runs before every step (schedules and users change group values between steps), so it is written
// without closures or eager messages: a message is formatted only when a check fails.
function badValue(where: string, i: number, k: string, v: unknown, allowed: string): never {
  return fail(`${where}[${i}].${k} is ${String(v)}; ${k} must be ${allowed}`);
}

function checkGroup(where: string, i: number, g: ParamGroup, preset: Preset): void {
  const { lr, betas, eps, epsRoot, weightDecay, gradScale, clipValue, scheduleMultiplier } = g;
  if (typeof lr !== "number" || !(Number.isFinite(lr) && lr >= 0)) badValue(where, i, "lr", lr, "a finite number >= 0");
  if (!Array.isArray(betas) || betas.length !== 2) fail(`${where}[${i}].betas must be a pair [beta1, beta2], got ${String(betas)}`);
  const b1 = betas[0];
  const b2 = betas[1];
  if (typeof b1 !== "number" || !(b1 >= 0 && b1 < 1)) badValue(where, i, "betas[0]", b1, "in [0, 1)");
  if (typeof b2 !== "number" || !(b2 >= 0 && b2 < 1)) badValue(where, i, "betas[1]", b2, "in [0, 1)");
  if (typeof epsRoot !== "number" || !(Number.isFinite(epsRoot) && epsRoot >= 0)) badValue(where, i, "epsRoot", epsRoot, "a finite number >= 0");
  if (needsPositiveEps(g, preset)) {
    if (typeof eps !== "number" || !(Number.isFinite(eps) && eps > 0)) {
      badValue(where, i, "eps", eps, `a finite number > 0 (the ${preset.name} step divides by sqrt(v) + eps)`);
    }
  } else if (typeof eps !== "number" || !(Number.isFinite(eps) && eps >= 0)) badValue(where, i, "eps", eps, "a finite number >= 0");
  if (typeof weightDecay !== "number" || !(Number.isFinite(weightDecay) && weightDecay >= 0)) badValue(where, i, "weightDecay", weightDecay, "a finite number >= 0");
  if (typeof gradScale !== "number" || !Number.isFinite(gradScale)) badValue(where, i, "gradScale", gradScale, "a finite number");
  if (typeof clipValue !== "number" || !(clipValue > 0)) badValue(where, i, "clipValue", clipValue, "a number > 0 (Infinity for no clipping)");
  if (typeof scheduleMultiplier !== "number" || !(Number.isFinite(scheduleMultiplier) && scheduleMultiplier >= 0)) {
    badValue(where, i, "scheduleMultiplier", scheduleMultiplier, "a finite number >= 0");
  }
  if (typeof g.amsgrad !== "boolean") fail(`${where}[${i}].amsgrad must be true or false, got ${String(g.amsgrad)}`);
  if (typeof g.maximize !== "boolean") fail(`${where}[${i}].maximize must be true or false, got ${String(g.maximize)}`);
}

export type Grads = Record<string, ArrayLike<number>> | Map<string, ArrayLike<number>>;

export class Optimizer {
  readonly convention: Preset;
  readonly params: readonly Param[];
  readonly paramGroups: ParamGroup[];
  /** @internal */ readonly hasMax: boolean;
  private readonly byName = new Map<string, Param>();
  private readonly rule: NameRule | undefined;
  private readonly total: number; // floats per region
  private arena = 0;
  private table = 0;
  private readonly arenaBytes: number;
  private readonly tableBytes: number;
  private disposed = false;
  private readonly steps: Float64Array;
  private readonly pow1: Float64Array;
  private readonly pow2: Float64Array;
  private readonly scratch = new Float32Array(abi.S_COUNT);
  private readonly clip: { maxNorm: number; mode: "torch" | "optax" | "caffe" } | null;
  private readonly nonFinite: "propagate" | "skip" | "throw";
  /** The loss scaler, when lossScale is on. */
  readonly scaler: LossScaler | null;
  /** What the last step did (the object step() returns). */
  readonly lastStep: StepResult = { totalNorm: NaN, clipCoef: 1, skipped: false, nonFinite: false, lossScale: NaN };
  private norms = 0; // 2 * count + 2 floats: per-tensor norms, per-tensor non-finite flags, scale, total
  private readonly inputs: StepInputs = {
    lr: 0, beta1: 0, beta2: 0, eps: 0, weightDecay: 0, amsgrad: false, maximize: false, gradScale: 1,
    clipValue: Infinity, epsRoot: 0, multiplier: 1, lrMult: 1, decayMult: 1, t: 1, pow1: 1, pow2: 1,
  };
  private readonly pool: Pool | null; // null: this optimizer's steps run on the calling thread only
  private readonly autoThreads: ThreadChoice | null; // null: threads forced (or none)
  private readonly stepBounds: Uint32Array; // padded positions of each thread's share of a step
  private readonly normBounds: Uint32Array; // records of each thread's share of the norms
  private tableBuf: ArrayBuffer | null = null;
  private tableU32 = new Uint32Array(0);
  private tableF32 = new Float32Array(0);

  constructor(params: readonly ParamSpec[] | readonly GroupSpec[], options: OptimizerOptions = {}) {
    getKernel();
    if (typeof options !== "object" || options === null) fail(`options: expected an object, got ${String(options)}`);
    this.convention = resolveConvention(options.convention, "torch-adamw");
    const preset = this.convention;
    const rule = options.decayRule ?? preset.decayRule;
    this.rule = rule;
    this.clip = resolveClip(options.clipGradNorm);
    this.nonFinite = options.nonFinite ?? "propagate";
    if (!["propagate", "skip", "throw"].includes(this.nonFinite)) fail(`nonFinite: "${String(this.nonFinite)}" is not one of "propagate", "skip", "throw"`);
    this.scaler = options.lossScale ? new LossScaler(options.lossScale === true ? {} : options.lossScale) : null;
    this.lastStep.lossScale = this.scaler ? this.scaler.scale : NaN;
    if (!Array.isArray(params)) fail(`params: expected an array of parameters or of groups, got ${String(params)}`);
    const groups: GroupSpec[] =
      params.length > 0 && params.every((p) => p && typeof p === "object" && "params" in p)
        ? (params as GroupSpec[])
        : [{ params: params as ParamSpec[] }];
    const base = (k: keyof GroupOptions, g: GroupSpec) => (g[k] ?? options[k]) as never;

    this.paramGroups = [];
    const list: Param[] = [];
    let offset = 0;
    groups.forEach((gs, gi) => {
      if (!Array.isArray(gs.params)) fail(`paramGroups[${gi}].params: expected an array of parameters`);
      const group: ParamGroup = {
        lr: base("lr", gs) ?? preset.defaults.lr,
        betas: [...((base("betas", gs) as [number, number] | undefined) ?? preset.defaults.betas)] as [number, number],
        eps: base("eps", gs) ?? preset.defaults.eps,
        weightDecay: base("weightDecay", gs) ?? preset.defaults.weightDecay,
        amsgrad: base("amsgrad", gs) ?? false,
        maximize: base("maximize", gs) ?? false,
        gradScale: base("gradScale", gs) ?? 1,
        clipValue: base("clipValue", gs) ?? Infinity,
        epsRoot: base("epsRoot", gs) ?? 0,
        scheduleMultiplier: base("scheduleMultiplier", gs) ?? 1,
        params: gs.params.map((p) => p?.name),
      };
      checkGroup("paramGroups", gi, group, preset);
      this.paramGroups.push(group);
      gs.params.forEach((spec, pi) => {
        const where = `params[${list.length}]`;
        if (!spec || typeof spec !== "object") fail(`${where}: expected { name, shape, data? }, got ${String(spec)}`);
        const name = spec.name;
        if (typeof name !== "string" || name === "") fail(`${where}.name: expected a non-empty string, got ${String(name)}`);
        if (this.byName.has(name)) fail(`params: duplicate parameter name "${name}"`);
        const size = checkShape(`parameter "${name}"`, spec.shape);
        if (spec.data !== undefined && spec.data.length !== size) {
          fail(`parameter "${name}": data has ${spec.data.length} elements but shape [${spec.shape.join(", ")}] needs ${size}`);
        }
        const lrMult = spec.lrMult ?? 1;
        const decayMult = spec.decayMult ?? 1;
        if (!Number.isFinite(lrMult) || lrMult < 0) fail(`parameter "${name}".lrMult must be a finite number >= 0, got ${lrMult}`);
        if (!Number.isFinite(decayMult) || decayMult < 0) fail(`parameter "${name}".decayMult must be a finite number >= 0, got ${decayMult}`);
        const p = new Param(this, name, [...spec.shape], size, gi, offset, lrMult, decayMult, decays(rule, name, spec.shape));
        offset += Math.ceil(size / ALIGN_FLOATS) * ALIGN_FLOATS;
        list.push(p);
        this.byName.set(name, p);
        void pi;
      });
    });
    this.params = list;
    this.total = offset;
    this.hasMax = this.paramGroups.some((g) => g.amsgrad);
    const regions = this.hasMax ? 5 : 4;
    this.arenaBytes = regions * offset * F32;
    // The records, then the norms area: per-tensor norms and non-finite flags, the gradient scale, the total.
    this.tableBytes = Math.max(1, list.length) * (abi.REC_BYTES + 8) + 8;
    if (this.arenaBytes > 2 ** 32) {
      fail(`Optimizer: out of memory: the parameters need ${this.arenaBytes} bytes of state, more than the 4 GiB a wasm32 memory holds`);
    }
    this.arena = alloc(this.arenaBytes, "Optimizer");
    try {
      this.table = alloc(this.tableBytes, "Optimizer");
    } catch (e) {
      release(this.arena, this.arenaBytes);
      throw e;
    }
    this.norms = this.table + list.length * abi.REC_BYTES;

    // Threads: the shares are fixed by the layout, cut once here.
    const threads = options.threads ?? "auto";
    if (threads !== "auto" && !(Number.isInteger(threads) && threads >= 1)) {
      fail(`threads is ${String(threads)}; it must be "auto" or a whole number >= 1 (1: never split a step)`);
    }
    const pool = getPool();
    const want = threads === "auto" ? (pool?.size ?? 1) : Math.min(threads, pool?.size ?? 1);
    const split = pool !== null && want > 1 && (threads !== "auto" || this.total >= MIN_SPLIT);
    this.pool = split ? pool : null;
    this.autoThreads = split && threads === "auto" ? new ThreadChoice() : null;
    const size = pool?.size ?? 1;
    this.stepBounds = new Uint32Array(size + 1).fill(this.total);
    this.stepBounds.set(splitPositions(this.total, want).subarray(0, want));
    this.normBounds = new Uint32Array(size + 1).fill(list.length);
    this.normBounds.set(splitRecords(list.map((p) => p.size), want).subarray(0, want));
    this.steps = new Float64Array(list.length);
    this.pow1 = new Float64Array(list.length).fill(1);
    this.pow2 = new Float64Array(list.length).fill(1);

    // Static fields of the records: pointers and lengths never change (growth keeps addresses).
    this.syncTable();
    list.forEach((p, i) => {
      const r = (this.table + i * abi.REC_BYTES) >>> 2;
      for (let k = 0; k < 4; k++) this.tableU32[r + (abi.REC_P >>> 2) + k] = this.region(k) + p.offset * F32;
      this.tableU32[r + (abi.REC_VMAX >>> 2)] = this.hasMax ? this.region(4) + p.offset * F32 : 0;
      this.tableU32[r + (abi.REC_N >>> 2)] = p.size;
      const spec = groups[p.group].params.find((s) => s.name === p.name)!;
      if (spec.data) p.data.set(spec.data);
    });
  }

  private region(k: number): number {
    return this.arena + k * this.total * F32;
  }

  /** @internal The view `k` (0 data, 1 grad, 2 exp_avg, 3 exp_avg_sq, 4 max_exp_avg_sq) of a parameter. */
  viewOf(p: Param, k: number): Float32Array {
    this.live();
    const buf = buffer();
    if (p.cache !== buf) {
      p.views = [];
      for (let j = 0; j < (this.hasMax ? 5 : 4); j++) p.views.push(new Float32Array(buf, this.region(j) + p.offset * F32, p.size));
      p.cache = buf;
    }
    return p.views[k];
  }

  /** @internal */
  stepOf(p: Param): number {
    this.live();
    return this.steps[this.params.indexOf(p)];
  }

  private live(): void {
    if (this.disposed) fail("this optimizer was disposed: its memory is released; create a new one");
  }

  private syncTable(): void {
    const buf = buffer();
    if (this.tableBuf !== buf) {
      this.tableU32 = new Uint32Array(buf);
      this.tableF32 = new Float32Array(buf);
      this.tableBuf = buf;
    }
  }

  /** A parameter by name. */
  param(name: string): Param {
    this.live();
    const p = this.byName.get(name);
    if (!p) fail(`unknown parameter "${name}"; this optimizer has ${[...this.byName.keys()].map((n) => `"${n}"`).join(", ")}`);
    return p;
  }

  /**
   * One optimizer step over every parameter. Gradients are read from each parameter's `grad` view, or
   * copied first from `grads` (name -> array). Bad input throws before anything changes. Returns what the
   * step did (the global norm, the clip coefficient, whether it was skipped); the object is reused.
   */
  step(grads?: Grads): StepResult {
    this.live();
    const preset = this.convention;
    for (let i = 0; i < this.paramGroups.length; i++) checkGroup("step: paramGroups", i, this.paramGroups[i], preset);
    for (let i = 0; i < this.paramGroups.length; i++) {
      if (this.paramGroups[i].amsgrad && !this.hasMax) {
        fail(`step: paramGroups[${i}].amsgrad was turned on after creation; create the optimizer with amsgrad so max_exp_avg_sq has memory`);
      }
    }
    if (grads !== undefined) this.copyGrads(grads);
    this.syncTable();

    const result = this.lastStep;
    const scaler = this.scaler;
    result.totalNorm = NaN;
    result.clipCoef = 1;
    result.skipped = false;
    result.nonFinite = false;
    const pool = this.pool;
    const auto = this.autoThreads;
    const useAll = pool !== null && (auto === null || auto.next());
    if (auto !== null && auto.count) auto.start();
    if ((this.clip || scaler || this.nonFinite !== "propagate") && this.checkGradients(useAll)) return result;
    this.compileAll();
    const params = this.params;
    if (useAll) pool!.step(this.table, params.length, this.stepBounds);
    else getKernel().step(this.table, params.length, 0, ALL);
    if (auto !== null && auto.count) auto.stop(useAll);
    for (let i = 0; i < params.length; i++) {
      this.steps[i] += 1;
      nextPowers(preset, this.paramGroups[params[i].group].betas, this.pow1, this.pow2, i);
    }
    if (scaler) {
      scaler.update(false);
      result.lossScale = scaler.scale;
    }
    return result;
  }

  // The parts of step(). They pass no number that is not a small integer and return none: V8 boxes a
  // double passed to or returned from a call it does not inline, and which calls it inlines depends on
  // sizes.

  // Norms, the non-finite check and the clip coefficient; true when the step is skipped.
  private checkGradients(useAll: boolean): boolean {
    const result = this.lastStep;
    const scaler = this.scaler;
    const k = getKernel();
    const count = this.params.length;
    const mode = this.clip ? this.clip.mode : "torch";
    const recipe = normRecipe(mode, this.convention.fma);
    const at = this.norms >>> 2;
    // scaler.invScale, written out: a getter returning a double that V8 does not inline boxes it.
    const unscale = scaler ? Math.fround(1 / scaler.scale) : 1;
    this.tableF32[at + 2 * count + NORMS_SCALE] = unscale;
    const found = useAll && count > 1
      ? this.pool!.gradNorms(this.table, count, this.normBounds, this.norms, recipe)
      : k.gradNorms(this.table, count, 0, count, this.norms, recipe) !== 0;
    if (mode === "torch") k.normOfNorms(this.norms, count, recipe);
    globalNorm(mode, this.tableF32, at, count, at + 2 * count + NORMS_TOTAL, result);
    result.nonFinite = found;
    if (found && (scaler || this.nonFinite !== "propagate")) {
      if (this.nonFinite === "throw" && !scaler) this.failNonFinite(at + count);
      result.skipped = true;
      if (scaler) {
        scaler.update(true);
        result.lossScale = scaler.scale;
      }
      return true;
    }
    if (this.clip) clipCoefficient(this.clip, result);
    return false;
  }

  // Every record's flags and scalars for this step.
  private compileAll(): void {
    const scaler = this.scaler;
    // The multiplier of every raw gradient: the loss scale's float32 reciprocal times the clip coefficient.
    const unscale = scaler ? Math.fround(1 / scaler.scale) : 1;
    const multiplier = this.clip ? Math.fround(unscale * this.lastStep.clipCoef) : unscale;
    const preset = this.convention;
    const h = this.inputs;
    const out = this.scratch;
    const params = this.params;
    for (let i = 0; i < params.length; i++) {
      const p = params[i];
      const g = this.paramGroups[p.group];
      h.lr = g.lr;
      h.beta1 = g.betas[0];
      h.beta2 = g.betas[1];
      h.eps = g.eps;
      h.weightDecay = p.decays ? g.weightDecay : 0;
      h.amsgrad = g.amsgrad;
      h.maximize = g.maximize;
      h.gradScale = g.gradScale * multiplier;
      h.clipValue = g.clipValue;
      h.epsRoot = g.epsRoot;
      h.multiplier = g.scheduleMultiplier;
      h.lrMult = p.lrMult;
      h.decayMult = p.decayMult;
      h.t = this.steps[i] + 1;
      h.pow1 = this.pow1[i];
      h.pow2 = this.pow2[i];
      const flags = compile(preset, h, out);
      const r = (this.table + i * abi.REC_BYTES) >>> 2;
      this.tableU32[r + (abi.REC_FLAGS >>> 2)] = flags;
      this.tableF32.set(out, r + (abi.REC_SCALARS >>> 2));
    }
  }

  /** @internal How this optimizer's steps run: the threads a step may use, and what "auto" chose so far. */
  threadsInfo(): { threads: number; auto: boolean; usingAll: boolean; msOne: number; msAll: number } {
    const c = this.autoThreads;
    const n = this.pool ? this.stepBounds.findIndex((b, i) => i > 0 && b === this.total) : 1;
    return { threads: n, auto: c !== null, usingAll: c ? c.useAll : this.pool !== null, msOne: c?.one ?? NaN, msAll: c?.all ?? NaN };
  }

  // Kept out of step(): a closure there would make V8 allocate a context on every call.
  private failNonFinite(flags: number): never {
    const names = this.params.filter((_, i) => this.tableF32[flags + i] !== 0).map((p) => `"${p.name}"`);
    return fail(`step: non-finite gradient (NaN or Infinity) in ${names.join(", ")}; nothing was changed`);
  }

  private copyGrads(grads: Grads): void {
    const entries: [string, ArrayLike<number>][] =
      grads instanceof Map ? [...grads.entries()] : typeof grads === "object" && grads !== null ? Object.entries(grads) : fail(`step: grads must be a Map or an object of arrays, got ${String(grads)}`);
    for (const [name, g] of entries) {
      const p = this.byName.get(name);
      if (!p) fail(`step: gradient for unknown parameter "${name}"`);
      if (!g || typeof g.length !== "number") fail(`step: gradient of "${name}" is not an array`);
      if (g.length !== p.size) fail(`step: gradient of "${name}" has ${g.length} elements, expected ${p.size} (shape [${p.shape.join(", ")}])`);
    }
    for (const [name, g] of entries) this.byName.get(name)!.grad.set(g);
  }

  /** Sets every gradient to zero. */
  zeroGrad(): void {
    this.live();
    new Float32Array(buffer(), this.region(1), this.total).fill(0);
  }

  /** A copy of the full state: weights, moments and step count of every parameter. */
  state(): OptimizerState {
    this.live();
    const params: Record<string, ParamState> = {};
    this.params.forEach((p, i) => {
      const s: ParamState = { step: this.steps[i], param: p.data.slice(), expAvg: p.expAvg.slice(), expAvgSq: p.expAvgSq.slice() };
      if (this.hasMax) s.maxExpAvgSq = p.maxExpAvgSq!.slice();
      params[p.name] = s;
    });
    return { convention: this.convention.name, params };
  }

  /**
   * Loads weights, moments and step counts (all or some parameters; absent fields keep their value).
   * Everything is checked first: a bad state throws and leaves the optimizer as it was.
   */
  loadState(state: { params: Record<string, Partial<ParamState>> }): void {
    this.live();
    if (!state || typeof state !== "object" || !state.params || typeof state.params !== "object") {
      fail("loadState: expected { params: { <name>: { step?, param?, expAvg?, expAvgSq?, maxExpAvgSq? } } }");
    }
    const entries = Object.entries(state.params);
    for (const [name, s] of entries) {
      const p = this.byName.get(name);
      if (!p) fail(`loadState: unknown parameter "${name}"`);
      if (s.step !== undefined && (!Number.isSafeInteger(s.step) || s.step < 0)) fail(`loadState: "${name}".step must be a whole number from 0 to 2^53, got ${s.step}`);
      for (const k of ["param", "expAvg", "expAvgSq", "maxExpAvgSq"] as const) {
        const a = s[k];
        if (a === undefined) continue;
        if (k === "maxExpAvgSq" && !this.hasMax) fail(`loadState: "${name}".maxExpAvgSq given but this optimizer has no amsgrad group`);
        if (!a || typeof a.length !== "number" || a.length !== p.size) {
          fail(`loadState: "${name}".${k} must have ${p.size} elements, got ${a && typeof a.length === "number" ? a.length : String(a)}`);
        }
      }
    }
    for (const [name, s] of entries) {
      const p = this.byName.get(name)!;
      const i = this.params.indexOf(p);
      if (s.param) p.data.set(s.param);
      if (s.expAvg) p.expAvg.set(s.expAvg);
      if (s.expAvgSq) p.expAvgSq.set(s.expAvgSq);
      if (s.maxExpAvgSq) p.maxExpAvgSq!.set(s.maxExpAvgSq);
      if (s.step !== undefined) {
        this.steps[i] = s.step;
        const g = this.paramGroups[p.group];
        this.pow1[i] = powerAfter(this.convention, g.betas[0], s.step);
        this.pow2[i] = powerAfter(this.convention, g.betas[1], s.step);
      }
    }
  }

  /**
   * Which parameters weight decay applies to, and which patterns of the name rule matched no parameter
   * (a BERT rule on a model whose norms are called "ln_f" decays them silently: this shows it).
   */
  decayReport(): DecayReport {
    this.live();
    return decayReport(this.rule, this.params);
  }

  /** The optimizer state as safetensors bytes (PyTorch names; groups and convention in __metadata__). */
  stateDict(): Uint8Array {
    this.live();
    return checkpoint.stateDict(this);
  }

  /** Loads a stateDict(); the whole file is validated first, so a bad file changes nothing. */
  loadStateDict(bytes: Uint8Array): void {
    this.live();
    checkpoint.loadStateDict(this, bytes);
  }

  /** The weights as safetensors bytes, one tensor per parameter name. */
  saveWeights(): Uint8Array {
    this.live();
    return checkpoint.saveWeights(this);
  }

  /** Loads weights from safetensors bytes by name (strict: every parameter present, nothing extra). */
  loadWeights(bytes: Uint8Array, options?: { strict?: boolean }): void {
    this.live();
    checkpoint.loadWeights(this, bytes, options);
  }

  /** Releases the memory. Views handed out before must not be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    release(this.table, this.tableBytes);
    release(this.arena, this.arenaBytes);
    this.disposed = true;
  }
}
