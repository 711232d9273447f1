// The optimizer: parameters laid out in one arena of the kernel's memory (weights, grads, exp_avg,
// exp_avg_sq and, with amsgrad, max_exp_avg_sq, each a contiguous region with every tensor 64-byte
// aligned), one segment record per tensor, and step() = validate, compute the per-tensor scalars in
// float64 on the host, then one kernel call over every tensor. Nothing is allocated per step.
import * as abi from "../assembly/abi.js";
import { compile, nextPowers, powerAfter, resolveConvention, runsXla, type NameRule, type Preset, type StepInputs } from "./conventions.js";
import { compileRule, decayEntry, unmatchedPatterns, type DecayReport, type DecayTest } from "./decay.js";
import { resolveAlgorithm, stateRegion, type Algorithm, type AlgorithmName, type StateKey } from "./algorithms.js";
import { compileLion } from "./lion.js";
import { adamaxWord, compileAdamax } from "./adamax.js";
import { compileNadam, muProductAfter, nadamWord, nextMuProduct } from "./nadam.js";
import { compileRadam, radamWord } from "./radam.js";
import { familyRunsXla } from "./family.js";
import * as checkpoint from "./io/checkpoint.js"; // it takes what it needs of this (no import back)
import type { Restore } from "./io/checkpoint.js";
import { clipCoefficient, globalNorm, kernelTotal, normRecipe, resolveClip, type ClipOptions } from "./clipping.js";
import { fail, show, type ErrorCode } from "./errors.js";
import {
  checkGroup, checkKeys, checkNumbers, checkShape, groupOf, isObject, resolveNonFinite, resolveThreads,
  GROUP_KEYS, OPTION_KEYS, PARAM_KEYS,
  type GroupSpec, type NonFinite, type OptimizerOptions, type ParamGroup, type ParamSpec,
} from "./options.js";
import { ThreadChoice } from "./runtime/autothreads.js";
import { getKernel, getPool } from "./runtime/kernel.js";
import { splitPositions, splitRecords, type Pool } from "./runtime/threads.js";
import { LossScaler } from "./scaler.js";
import { alloc, buffer, release } from "./runtime/memory.js";

export type { GroupOptions, GroupSpec, OptimizerOptions, ParamGroup, ParamSpec } from "./options.js";

/** What the last step did. One object per optimizer, overwritten by every step (nothing is allocated). */
export interface StepResult {
  /** Global gradient norm (after unscaling), NaN when no norm was needed (no clipping, no checks). */
  totalNorm: number;
  /** The multiplier applied to every gradient by clipping (1 when not clipping). */
  clipCoef: number;
  /** What clipping divided every gradient by before clipCoef: optax under jit divides by the norm (else 1). */
  clipDivisor: number;
  /** True when the step was skipped for non-finite gradients: no weight, moment or step count changed. */
  skipped: boolean;
  /** True when some gradient had a NaN or infinite element. */
  nonFinite: boolean;
  /** The loss scale to use for the next backward pass (NaN without loss scaling). */
  lossScale: number;
}

export interface ParamState {
  step: number;
  param: Float32Array;
  expAvg: Float32Array;
  /** Adam's second moment (absent for Lion, which keeps one moment, and Adamax). */
  expAvgSq?: Float32Array;
  /** Adamax's infinity norm. */
  expInf?: Float32Array;
  maxExpAvgSq?: Float32Array;
  /** NAdam's mu_product (torch keeps it per parameter, a float32 scalar). */
  muProduct?: number;
}

export interface OptimizerState {
  convention: string;
  algorithm: AlgorithmName;
  params: Record<string, ParamState>;
}

const F32 = 4;
// Automatic threads: below this many (padded) elements a step never splits: a handoff costs more than
// the share it hands off. Above, each step's way is chosen by timing (src/autothreads.ts).
const MIN_SPLIT = 16384;
/** Step counts are float64: exact up to 2^53, and no step goes past it. */
export const MAX_STEP = 2 ** 53;
const STATE_KEYS = {
  step: true, param: true, expAvg: true, expAvgSq: true, expInf: true, maxExpAvgSq: true, muProduct: true,
} as const satisfies Record<keyof ParamState, true>;

/** One parameter tensor: zero-copy views into the kernel's memory, re-derived after the memory grows. */
export class Param {
  /** Whether weight decay applies to this tensor (the convention's name rule, or the user's). */
  readonly decays: boolean;
  /** @internal */ cache: ArrayBuffer | null = null;
  /** @internal */ views: Float32Array[] = [];
  /** @internal The memory the grad view last handed to the user lives in (null: none handed out). */
  handed: ArrayBuffer | null = null;

  constructor(
    private readonly owner: Optimizer,
    readonly name: string,
    readonly shape: readonly number[],
    readonly size: number,
    readonly group: number,
    /** @internal Position in optimizer.params. */ readonly index: number,
    /** @internal */ readonly offset: number,
    readonly lrMult: number,
    readonly decayMult: number,
    /** @internal The name rule's verdict. */ readonly byRule: boolean,
  ) {
    this.decays = byRule && decayMult !== 0;
  }

  private view(k: number): Float32Array {
    return this.owner.viewOf(this, k);
  }
  /** The weights. */
  get data(): Float32Array {
    return this.view(0);
  }
  /**
   * The gradient buffer: write this parameter's gradient here before step(). A view lives as long as
   * the memory does: take it again after creating another optimizer (the memory may have grown, which
   * detaches every earlier view; step() then throws STALE_VIEW rather than read lost writes).
   */
  get grad(): Float32Array {
    const v = this.view(1);
    this.handed = this.cache;
    return v;
  }
  /** The first moment (torch `exp_avg`, optax `mu`, Keras `momentum`). */
  get expAvg(): Float32Array {
    return this.state("expAvg");
  }
  /** Adam's second moment (torch `exp_avg_sq`, optax `nu`); Lion and Adamax keep none (an error names it). */
  get expAvgSq(): Float32Array {
    return this.state("expAvgSq");
  }
  /** Adamax's infinity norm (torch `exp_inf`, optax `nu`, Keras `norm`). */
  get expInf(): Float32Array {
    return this.state("expInf");
  }
  /** null unless the parameter's group uses amsgrad. */
  get maxExpAvgSq(): Float32Array | null {
    return this.owner.hasMax ? this.view(this.owner.maxRegion) : null;
  }
  /** The state buffer `key` of this parameter's algorithm (src/algorithms.ts). */
  state(key: StateKey): Float32Array {
    const k = stateRegion(this.owner.algorithm, key);
    if (k < 0) fail("BAD_USE", `parameter "${this.name}": ${this.owner.algorithm.name} keeps no ${key}`);
    return this.view(k);
  }
  /** Steps taken by this parameter (torch's `state['step']`). */
  get step(): number {
    return this.owner.stepOf(this);
  }
  /** NAdam's mu_product (torch `mu_product`); NaN for other algorithms. */
  get muProduct(): number {
    return this.owner.muProductOf(this);
  }
}

export type Grads = Record<string, ArrayLike<number>> | Map<string, ArrayLike<number>>;

/** What the constructor validated: the groups, the parameters (not yet in memory) and their layout. */
interface Layout {
  groups: ParamGroup[];
  params: Param[];
  data: (ArrayLike<number> | undefined)[];
  byName: Map<string, Param>;
  total: number;
}

export class Optimizer {
  readonly convention: Preset;
  /** The algorithm this optimizer runs (src/algorithms.ts). */
  readonly algorithm: Algorithm & { name: AlgorithmName };
  /** @internal The region of max_exp_avg_sq (after the weights, gradients and the algorithm's states). */
  readonly maxRegion: number;
  readonly params: readonly Param[];
  /** Parameters with at least one element (XLA compiles a one-tensor optax program differently). */
  private readonly nonEmpty: number;
  /** Whether steps run XLA's arithmetic (conventions.ts runsXla): its clipping and norms too. */
  private readonly xla: boolean;
  readonly paramGroups: ParamGroup[];
  /** @internal */ readonly hasMax: boolean;
  private readonly byName: Map<string, Param>;
  private readonly rule: NameRule | undefined;
  private readonly total: number; // floats per region
  private arena = -1; // -1: not allocated (0 is an address)
  private table = -1;
  private readonly arenaBytes: number;
  private readonly tableBytes: number;
  private disposed = false;
  private readonly steps: Float64Array;
  private maxStep = 0;
  private readonly pow1: Float64Array;
  private readonly pow2: Float64Array;
  private readonly muProduct: Float64Array; // NAdam's per-parameter float32 mu_product (1 before the first step)
  private readonly scratch = new Float32Array(abi.S_COUNT);
  private readonly multiplier = new Float64Array(1); // the gradient multiplier of the step being compiled
  private readonly clip: Required<ClipOptions> | null;
  /** The kernel's gradient-norm recipe (src/clipping.ts normRecipe), fixed by the convention and the clip mode. */
  private readonly recipe: number;
  private readonly nonFinite: NonFinite;
  /** The loss scaler, when lossScale is on. */
  readonly scaler: LossScaler | null;
  /** What the last step did (the object step() returns). */
  readonly lastStep: StepResult = { totalNorm: NaN, clipCoef: 1, clipDivisor: 1, skipped: false, nonFinite: false, lossScale: NaN };
  private norms = 0; // the norms area (assembly/abi.ts): per-tensor norms and non-finite flags, scale, total
  private readonly inputs: StepInputs = {
    lr: 0, beta1: 0, beta2: 0, eps: 0, weightDecay: 0, amsgrad: false, maximize: false, gradScale: 1,
    clipValue: Infinity, epsRoot: 0, multiplier: 1, lrMult: 1, decayMult: 1, t: 1, pow1: 1, pow2: 1, gradDivisor: 1, clipping: false, tensors: 0,
    momentumDecay: 4e-3, muProduct: 1,
  };
  private readonly pool: Pool | null; // null: this optimizer's steps run on the calling thread only
  private readonly autoThreads: ThreadChoice | null; // null: threads forced (or none)
  private readonly stepBounds: Uint32Array; // padded positions of each thread's share of a step
  private readonly normBounds: Uint32Array; // records of each thread's share of the norms
  private tableBuf: ArrayBuffer | null = null;
  private tableU32 = new Uint32Array(0);
  private tableF32 = new Float32Array(0);
  // step(grads) walks a Map with these (bound once: a closure made per call would allocate).
  private readonly checkEntry = (g: ArrayLike<number>, name: string): void => this.checkGrad(name, g);
  private readonly copyEntry = (g: ArrayLike<number>, name: string): void => this.copyGrad(name, g);

  // Everything is checked before any memory is taken, and a failure after it releases it again: a
  // constructor that throws leaves the memory as it was.
  constructor(params: readonly ParamSpec[] | readonly GroupSpec[], options: OptimizerOptions = {}) {
    getKernel();
    if (typeof options !== "object" || options === null || Array.isArray(options)) fail("BAD_OPTION", `options: expected an object, got ${show(options)}`);
    checkKeys("options", options, OPTION_KEYS);
    this.algorithm = resolveAlgorithm(options.algorithm);
    const algo = this.algorithm;
    const resolved = resolveConvention(options.convention, "torch-adamw", algo.presetKnobs);
    // An algorithm's own defaults (Lion's betas and decay) over the preset's.
    this.convention = { ...resolved, defaults: { ...resolved.defaults, ...algo.defaults } };
    this.xla = algo.id === abi.ALGO_ADAM ? runsXla(this.convention) : familyRunsXla(this.convention);
    if (algo.id !== abi.ALGO_ADAM && algo.id !== abi.ALGO_LION && this.convention.impl === "fused") {
      fail("BAD_OPTION", `convention.impl: torch has no fused ${algo.name} (torch/optim/${algo.name}.py: foreach or single)`);
    }
    if (!(algo.decay as readonly string[]).includes(this.convention.decay)) {
      fail("BAD_OPTION", `convention: ${algo.name} takes weight decay ${algo.decay.map((d) => `"${d}"`).join(", ")}; "${this.convention.name}" puts it at "${this.convention.decay}"`);
    }
    this.maxRegion = 2 + algo.states.length;
    this.rule = options.decayRule ?? this.convention.decayRule;
    this.clip = resolveClip(options.clipGradNorm);
    this.recipe = normRecipe(this.clip ? this.clip.mode : "torch", this.convention, this.xla, this.convention.jit, this.clip ? this.clip.intraOpThreads : 1);
    this.nonFinite = resolveNonFinite(options);
    const threads = resolveThreads(options);
    this.scaler = makeScaler(options.lossScale);
    this.lastStep.lossScale = this.scaler ? this.scaler.scale : NaN;
    const layout = this.layout(params, options, compileRule(this.rule));
    this.paramGroups = layout.groups;
    this.params = layout.params;
    this.nonEmpty = this.params.filter((p) => p.size > 0).length;
    this.byName = layout.byName;
    this.total = layout.total;
    const count = this.params.length;
    this.hasMax = this.paramGroups.some((g) => g.amsgrad);
    this.arenaBytes = (this.maxRegion + (this.hasMax ? 1 : 0)) * this.total * F32;
    // The records, then the norms area: per-tensor norms and non-finite flags, the gradient scale, the total.
    this.tableBytes = Math.max(1, count) * (abi.REC_BYTES + abi.NORM_BYTES_PER_TENSOR) + abi.OUT_COUNT * F32;
    if (this.arenaBytes > 2 ** 32) {
      fail("OUT_OF_MEMORY", `Optimizer: out of memory: the parameters need ${this.arenaBytes} bytes of state, more than the 4 GiB a wasm32 memory holds`);
    }
    this.steps = new Float64Array(count);
    this.pow1 = new Float64Array(count).fill(1);
    this.pow2 = new Float64Array(count).fill(1);
    this.muProduct = new Float64Array(count).fill(1);

    // Threads: the shares are fixed by the layout, cut once here.
    const pool = getPool();
    const want = threads === "auto" ? (pool?.size ?? 1) : Math.min(threads, pool?.size ?? 1);
    const split = pool !== null && want > 1 && (threads !== "auto" || this.total >= MIN_SPLIT);
    this.pool = split ? pool : null;
    this.autoThreads = split && threads === "auto" ? new ThreadChoice() : null;
    const size = pool?.size ?? 1;
    this.stepBounds = new Uint32Array(size + 1).fill(this.total);
    this.stepBounds.set(splitPositions(this.total, want).subarray(0, want));
    this.normBounds = new Uint32Array(size + 1).fill(count);
    this.normBounds.set(splitRecords(this.params.map((p) => p.size), want).subarray(0, want));

    this.arena = alloc(this.arenaBytes, "Optimizer");
    try {
      this.table = alloc(this.tableBytes, "Optimizer");
    } catch (e) {
      release(this.arena, this.arenaBytes);
      throw e;
    }
    try {
      this.norms = this.table + count * abi.REC_BYTES;
      this.writeRecords(layout.data);
      // The first step's float32 scalars, computed now: lr 1e38 with a bias correction of 0.1 overflows.
      this.compileAll();
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  // The groups and parameters, every value checked; the parameters' places in the arena. No memory yet.
  private layout(params: readonly ParamSpec[] | readonly GroupSpec[], options: OptimizerOptions, decays: DecayTest): Layout {
    if (!Array.isArray(params)) fail("BAD_OPTION", `params: expected an array of parameters or of groups, got ${show(params)}`);
    const specs: readonly GroupSpec[] =
      params.length > 0 && params.every((p) => isObject(p) && "params" in p) ? (params as GroupSpec[]) : [{ params: params as ParamSpec[] }];
    const out: Layout = { groups: [], params: [], data: [], byName: new Map(), total: 0 };
    specs.forEach((gs, gi) => {
      checkKeys(`paramGroups[${gi}]`, gs, GROUP_KEYS);
      if (!Array.isArray(gs.params)) fail("BAD_OPTION", `paramGroups[${gi}].params: expected an array of parameters, got ${show(gs.params)}`);
      const group = groupOf(gs, options, this.convention, gi);
      checkGroup("paramGroups", gi, group, this.convention);
      if (group.amsgrad && this.algorithm.id !== abi.ALGO_ADAM) fail("BAD_OPTION", `paramGroups[${gi}].amsgrad: ${this.algorithm.name} has no amsgrad (it is Adam's)`);
      out.groups.push(group);
      for (const spec of gs.params) out.params.push(this.paramOf(spec, gi, out, decays));
    });
    return out;
  }

  private paramOf(spec: ParamSpec, group: number, out: Layout, decays: DecayTest): Param {
    const index = out.params.length;
    const where = `params[${index}]`;
    if (!isObject(spec)) fail("BAD_OPTION", `${where}: expected { name, shape, data? }, got ${show(spec)}`);
    checkKeys(where, spec, PARAM_KEYS);
    const name = spec.name;
    if (typeof name !== "string" || name === "") fail("BAD_NAME", `${where}.name: expected a non-empty string, got ${show(name)}`);
    // safetensors keeps a file's metadata under this key: a tensor of that name could not be saved.
    if (name === "__metadata__") fail("BAD_NAME", `${where}.name: "__metadata__" is reserved by safetensors`);
    if (out.byName.has(name)) fail("BAD_NAME", `params: duplicate parameter name "${name}"`);
    const size = checkShape(`parameter "${name}"`, spec.shape);
    if (spec.data !== undefined) checkNumbers(`parameter "${name}": data`, spec.data, size);
    const mult = (k: "lrMult" | "decayMult"): number => {
      const v = spec[k] ?? 1;
      if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(Math.fround(v))) fail("BAD_OPTION", `parameter "${name}".${k} must be a number >= 0, finite in float32, got ${show(v)}`);
      return v;
    };
    const p = new Param(this, name, [...spec.shape], size, group, index, out.total, mult("lrMult"), mult("decayMult"), decays(name, spec.shape));
    out.total += Math.ceil(size / abi.LINE_FLOATS) * abi.LINE_FLOATS;
    out.byName.set(name, p);
    out.data.push(spec.data);
    return p;
  }

  // Static fields of the records (pointers and lengths never change: growth keeps addresses), and the
  // initial weights.
  private writeRecords(data: readonly (ArrayLike<number> | undefined)[]): void {
    this.syncTable();
    this.params.forEach((p, i) => {
      const r = (this.table + i * abi.REC_BYTES) >>> 2;
      // Weights, gradients, then the algorithm's states in REC_M, REC_V order (0 where it keeps fewer).
      for (let k = 0; k < 4; k++) this.tableU32[r + (abi.REC_P >>> 2) + k] = k < this.maxRegion ? this.region(k) + p.offset * F32 : 0;
      this.tableU32[r + (abi.REC_VMAX >>> 2)] = this.hasMax ? this.region(this.maxRegion) + p.offset * F32 : 0;
      this.tableU32[r + (abi.REC_ALGO >>> 2)] = this.algorithmWord();
      this.tableU32[r + (abi.REC_N >>> 2)] = p.size;
      const d = data[i];
      if (d) p.data.set(d);
    });
  }

  // The record's algorithm word: the id and the options a convention implies (src/adamax.ts, nadam.ts, radam.ts).
  private algorithmWord(): number {
    const k = this.convention;
    switch (this.algorithm.id) {
      case abi.ALGO_ADAMAX: return adamaxWord(k);
      case abi.ALGO_NADAM: return nadamWord(k);
      case abi.ALGO_RADAM: return radamWord(k);
      default: return this.algorithm.id;
    }
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
      for (let j = 0; j < this.maxRegion + (this.hasMax ? 1 : 0); j++) p.views.push(new Float32Array(buf, this.region(j) + p.offset * F32, p.size));
      p.cache = buf;
    }
    return p.views[k];
  }

  /** @internal */
  muProductOf(p: Param): number {
    this.live();
    return this.algorithm.id === abi.ALGO_NADAM ? this.muProduct[p.index] : NaN;
  }

  /** @internal */
  stepOf(p: Param): number {
    this.live();
    return this.steps[p.index];
  }

  private live(): void {
    if (this.disposed) fail("DISPOSED", "this optimizer was disposed: its memory is released (and its views may now show another optimizer's numbers); create a new one");
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
    if (!p) fail("UNKNOWN_NAME", `unknown parameter "${name}"; this optimizer has ${[...this.byName.keys()].map((n) => `"${n}"`).join(", ")}`);
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
        fail("BAD_OPTION", `step: paramGroups[${i}].amsgrad was turned on after creation; create the optimizer with amsgrad so max_exp_avg_sq has memory`);
      }
    }
    if (this.maxStep >= MAX_STEP) this.failStepLimit();
    this.checkViews(grads);
    if (grads !== undefined) this.copyGrads(grads);
    this.syncTable();

    const result = this.lastStep;
    const scaler = this.scaler;
    result.totalNorm = NaN;
    result.clipCoef = 1;
    result.clipDivisor = 1;
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
    else getKernel().step(this.table, params.length, 0, abi.ALL_POSITIONS);
    if (auto !== null && auto.count) auto.stop(useAll);
    const nadam = this.algorithm.id === abi.ALGO_NADAM;
    for (let i = 0; i < params.length; i++) {
      this.steps[i] += 1;
      const g = this.paramGroups[params[i].group];
      nextPowers(preset, g.betas, this.pow1, this.pow2, i);
      if (nadam) nextMuProduct(preset, g.betas, g, this.steps[i], this.muProduct, i);
    }
    this.maxStep += 1;
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
    const recipe = this.recipe;
    const at = this.norms >>> 2;
    // scaler.invScale, written out: a getter returning a double that V8 does not inline boxes it.
    const unscale = scaler ? Math.fround(1 / scaler.scale) : 1;
    this.tableF32[at + 2 * count + abi.OUT_SCALE] = unscale;
    const found = useAll && count > 1
      ? this.pool!.gradNorms(this.table, count, this.normBounds, this.norms, recipe)
      : k.gradNorms(this.table, count, 0, count, this.norms, recipe) !== 0;
    if (kernelTotal(mode)) k.normOfNorms(this.norms, count, recipe);
    globalNorm(mode, this.tableF32, at, count, at + 2 * count + abi.OUT_TOTAL, result);
    result.nonFinite = found;
    if (found && this.nonFinite !== "propagate") {
      if (this.nonFinite === "throw") this.failNonFinite(at + count);
      result.skipped = true;
      if (scaler) {
        scaler.update(true);
        result.lossScale = scaler.scale;
      }
      return true;
    }
    if (this.clip) clipCoefficient(this.clip, result, this.xla);
    return false;
  }

  // Every record's flags and scalars for this step. The scalars are checked: a float32 overflow (lr 1e38
  // over a bias correction of 0.1, a gradScale of 1e39) throws before the kernel runs.
  private compileAll(): void {
    const scaler = this.scaler;
    // The multiplier of every raw gradient: the loss scale's float32 reciprocal times the clip coefficient.
    const unscale = scaler ? Math.fround(1 / scaler.scale) : 1;
    this.multiplier[0] = this.clip ? Math.fround(unscale * this.lastStep.clipCoef) : unscale;
    this.stepWide();
    const out = this.scratch;
    const params = this.params;
    const steps = this.steps;
    let flags = 0;
    for (let i = 0; i < params.length; i++) {
      const p = params[i];
      // compile() is a function of its inputs alone: a tensor with the inputs of the one before (same group,
      // step count, powers and multipliers: most tensors of a group) has its scalars, still in `out`.
      const q = i > 0 ? params[i - 1] : null;
      if (
        q === null || q.group !== p.group || q.decays !== p.decays || q.lrMult !== p.lrMult || q.decayMult !== p.decayMult ||
        steps[i] !== steps[i - 1] || this.pow1[i] !== this.pow1[i - 1] || this.pow2[i] !== this.pow2[i - 1] ||
        this.muProduct[i] !== this.muProduct[i - 1]
      ) {
        flags = this.compileOne(p, this.paramGroups[p.group], steps, this.pow1, this.pow2);
        // One sum: finite exactly when every scalar is (float32 values cannot overflow a float64 sum of 32).
        // The gradient's multiplier and divisor are left out: they carry the clip coefficient, which a
        // non-finite norm makes NaN on purpose (TF's and Keras's clip propagate it, as the frameworks do).
        let sum = 0;
        for (let j = 0; j < out.length; j++) if (j !== abi.S_RS && j !== abi.S_GDIV) sum += out[j];
        if (sum - sum !== 0) this.failScalars(p, steps[i] + 1, "BAD_OPTION");
      }
      const r = (this.table + i * abi.REC_BYTES) >>> 2;
      this.tableU32[r + (abi.REC_FLAGS >>> 2)] = flags;
      this.tableF32.set(out, r + (abi.REC_SCALARS >>> 2));
    }
  }

  // The inputs every tensor of a step shares: what clipping divided the gradients by (optax under jit),
  // whether it clips, and how many tensors the step has.
  private stepWide(): void {
    const h = this.inputs;
    h.gradDivisor = this.clip ? this.lastStep.clipDivisor : 1;
    h.clipping = this.clip !== null;
    h.tensors = this.nonEmpty;
  }

  // One record's scalars into this.scratch, for the step after steps[p.index] with the powers pow1/pow2 and
  // the gradient multiplier this.multiplier[0]; returns the flags. Numbers travel in arrays: a double
  // argument of a call V8 does not inline is boxed.
  private compileOne(p: Param, g: ParamGroup, steps: Float64Array, pow1: Float64Array, pow2: Float64Array, mu: Float64Array = this.muProduct): number {
    const h = this.inputs;
    const i = p.index;
    h.lr = g.lr;
    h.beta1 = g.betas[0];
    h.beta2 = g.betas[1];
    h.eps = g.eps;
    h.weightDecay = p.decays ? g.weightDecay : 0;
    h.amsgrad = g.amsgrad;
    h.maximize = g.maximize;
    h.gradScale = g.gradScale * this.multiplier[0];
    h.clipValue = g.clipValue;
    h.epsRoot = g.epsRoot;
    h.multiplier = g.scheduleMultiplier;
    h.lrMult = p.lrMult;
    h.decayMult = p.decayMult;
    h.t = steps[i] + 1;
    h.pow1 = pow1[i];
    h.pow2 = pow2[i];
    h.momentumDecay = g.momentumDecay;
    h.muProduct = mu[i];
    const k = this.convention;
    const out = this.scratch;
    switch (this.algorithm.id) {
      case abi.ALGO_LION: return compileLion(k, h, out);
      case abi.ALGO_ADAMAX: return compileAdamax(k, h, out);
      case abi.ALGO_NADAM: return compileNadam(k, h, out);
      case abi.ALGO_RADAM: return compileRadam(k, h, out);
      default: return compile(k, h, out);
    }
  }

  private failScalars(p: Param, t: number, code: ErrorCode): never {
    const g = this.paramGroups[p.group];
    return fail(code, `the float32 scalars of step ${t} of parameter "${p.name}" overflow (lr ${g.lr}, betas [${g.betas.join(", ")}], eps ${g.eps}, weightDecay ${g.weightDecay}, gradScale ${g.gradScale}): the kernel computes in float32, where products above 3.4e38 are Infinity; nothing was changed`);
  }

  private failStepLimit(): never {
    return fail("STEP_LIMIT", `step: a parameter has taken ${MAX_STEP} steps (2^53), the most a step count can count exactly; nothing was changed`);
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
    return fail("NON_FINITE", `step: non-finite gradient (NaN or Infinity) in ${names.join(", ")}; nothing was changed`);
  }

  // A grad view handed out before the memory grew is detached: writes through it were lost (silently,
  // or with a TypeError from .set()), and the step would read stale gradients.
  // Parameters whose gradients step(grads) copies in are not read through a view.
  private checkViews(grads: Grads | undefined): void {
    const buf = buffer();
    const params = this.params;
    for (let i = 0; i < params.length; i++) {
      const p = params[i];
      const h = p.handed;
      if (h === null || h === buf) continue;
      const given = grads === undefined ? false : grads instanceof Map ? grads.has(p.name) : typeof grads === "object" && grads !== null && Object.hasOwn(grads, p.name);
      if (!given) this.failStale(p);
    }
  }

  private failStale(p: Param): never {
    return fail(
      "STALE_VIEW",
      `step: the grad view of "${p.name}" was taken before the wasm memory grew (another optimizer was created since), so writes through it after that were lost. ` +
        `Take views again after creating an optimizer (write to param.grad each step, do not keep it), or pass the gradients to step(grads); nothing was changed`,
    );
  }

  // step(grads): every gradient checked (name, length, numbers, and finite under nonFinite "throw"),
  // then copied. No allocation: a Map is walked with bound callbacks, an object with for-in.
  private copyGrads(grads: Grads): void {
    if (grads instanceof Map) {
      grads.forEach(this.checkEntry);
      grads.forEach(this.copyEntry);
    } else if (typeof grads === "object" && grads !== null) {
      for (const name in grads) if (Object.hasOwn(grads, name)) this.checkGrad(name, grads[name]);
      for (const name in grads) if (Object.hasOwn(grads, name)) this.copyGrad(name, grads[name]);
    } else fail("BAD_ARRAY", `step: grads must be a Map or an object of arrays, got ${show(grads)}`);
  }

  private checkGrad(name: string, g: ArrayLike<number>): void {
    const p = this.byName.get(name);
    if (!p) this.failGrad("UNKNOWN_NAME", `step: gradient for unknown parameter "${name}"`);
    if (g === null || typeof g !== "object" || typeof g.length !== "number" || g instanceof BigInt64Array || g instanceof BigUint64Array) {
      checkNumbers(`step: the gradient of "${name}"`, g, p.size);
    }
    if (g.length !== p.size) this.failGrad("BAD_SHAPE", `step: gradient of "${name}" has ${g.length} elements, expected ${p.size} (shape [${p.shape.join(", ")}])`);
    if (!ArrayBuffer.isView(g)) {
      for (let i = 0; i < g.length; i++) if (typeof g[i] !== "number") checkNumbers(`step: the gradient of "${name}"`, g, p.size);
    }
    if (this.nonFinite === "throw") {
      // Checked before the copy: the grad buffers too stay as they were. x * 0 is NaN only for NaN and ±Infinity.
      let s = 0;
      for (let i = 0; i < g.length; i++) s += g[i] * 0;
      if (s !== 0) this.failGrad("NON_FINITE", `step: non-finite gradient (NaN or Infinity) in "${name}"; nothing was changed`);
    }
  }

  private failGrad(code: ErrorCode, message: string): never {
    return fail(code, message);
  }

  private copyGrad(name: string, g: ArrayLike<number>): void {
    const p = this.byName.get(name)!;
    this.viewOf(p, 1).set(g);
    p.handed = null; // the copy went to the live memory
  }

  /** Sets every gradient to zero. */
  zeroGrad(): void {
    this.live();
    new Float32Array(buffer(), this.region(1), this.total).fill(0);
  }

  /** A copy of the full state: weights, moments and step count of every parameter. */
  state(): OptimizerState {
    this.live();
    // No prototype: a parameter named "__proto__" or "constructor" is an entry like any other.
    const params: Record<string, ParamState> = Object.create(null);
    this.params.forEach((p, i) => {
      const s: ParamState = { step: this.steps[i], param: p.data.slice(), expAvg: p.expAvg.slice() };
      for (const st of this.algorithm.states) s[st.key] = p.state(st.key).slice();
      if (this.hasMax) s.maxExpAvgSq = p.maxExpAvgSq!.slice();
      if (this.algorithm.id === abi.ALGO_NADAM) s.muProduct = this.muProduct[i];
      params[p.name] = s;
    });
    return { convention: this.convention.name, algorithm: this.algorithm.name, params };
  }

  /**
   * Loads weights, moments and step counts (all or some parameters; absent fields keep their value).
   * Everything is checked first: a bad state throws and leaves the optimizer as it was.
   */
  loadState(state: { params: Record<string, Partial<ParamState>> }): void {
    this.live();
    if (!isObject(state) || !isObject(state.params)) {
      fail("BAD_STATE", "loadState: expected { params: { <name>: { step?, param?, expAvg?, expAvgSq?, maxExpAvgSq? } } }");
    }
    const states = new Map<string, Partial<ParamState>>();
    for (const name of Object.keys(state.params)) states.set(name, state.params[name]);
    this.restore({ groups: null, states, loss: null }, "loadState", "BAD_STATE");
  }

  /**
   * @internal Checks a whole candidate state (group values, arrays, step counts, loss scale) against this
   * optimizer, including the float32 scalars of the next step, then applies it; throws with `code` and
   * changes nothing when anything is wrong. The running beta powers are rebuilt from the step counts with
   * the betas being loaded, not the ones this optimizer had.
   */
  restore(r: Restore, what: string, code: ErrorCode): void {
    this.live();
    const groups = r.groups ?? this.paramGroups;
    if (r.groups) {
      if (r.groups.length !== this.paramGroups.length) fail(code, `${what}: ${r.groups.length} parameter groups, this optimizer has ${this.paramGroups.length}`);
      r.groups.forEach((g, i) => {
        checkGroup(`${what}: param_groups`, i, g, this.convention, code);
        if (g.amsgrad && !this.hasMax) fail(code, `${what}: parameter group ${i} uses amsgrad but this optimizer was created without it`);
      });
    }
    for (const [name, s] of r.states) this.checkState(name, s, what, code);
    // The next step's counts and powers, then its float32 scalars: a state that loads can step.
    const steps = Float64Array.from(this.steps);
    const pow1 = Float64Array.from(this.pow1);
    const pow2 = Float64Array.from(this.pow2);
    const mu = Float64Array.from(this.muProduct);
    const nadam = this.algorithm.id === abi.ALGO_NADAM;
    const powers = new Map<string, number>(); // one power per beta and step (tensors share them)
    const power = (beta: number, t: number): number => {
      const key = `${beta}/${t}`;
      let v = powers.get(key);
      if (v === undefined) powers.set(key, (v = powerAfter(this.convention, beta, t)));
      return v;
    };
    for (const p of this.params) {
      const s = r.states.get(p.name)?.step;
      if (s !== undefined) steps[p.index] = s;
      if (s !== undefined || r.groups) {
        const b = groups[p.group].betas;
        pow1[p.index] = power(b[0], steps[p.index]);
        pow2[p.index] = power(b[1], steps[p.index]);
        if (nadam) mu[p.index] = muProductAfter(this.convention, b, groups[p.group], steps[p.index]);
      }
      const m = r.states.get(p.name)?.muProduct;
      if (m !== undefined) mu[p.index] = Math.fround(m);
    }
    const unscale = r.loss ? Math.fround(1 / r.loss.scale) : this.scaler ? Math.fround(1 / this.scaler.scale) : 1;
    for (const p of this.params) {
      if (steps[p.index] >= MAX_STEP) continue; // loads; step() then refuses with STEP_LIMIT
      this.multiplier[0] = unscale;
      this.stepWide();
      this.inputs.gradDivisor = 1; // the norm of the next gradients is not known yet
      this.compileOne(p, groups[p.group], steps, pow1, pow2, mu);
      for (let j = 0; j < this.scratch.length; j++) if (!Number.isFinite(this.scratch[j])) this.failScalars(p, steps[p.index] + 1, code);
    }
    // Everything checked: apply.
    for (const [name, s] of r.states) {
      const p = this.byName.get(name)!;
      if (s.param) p.data.set(s.param);
      for (const st of this.algorithm.states) {
        const a = s[st.key];
        if (a) p.state(st.key).set(a);
      }
      if (s.maxExpAvgSq) p.maxExpAvgSq!.set(s.maxExpAvgSq);
    }
    this.steps.set(steps);
    this.muProduct.set(mu);
    this.pow1.set(pow1);
    this.pow2.set(pow2);
    this.maxStep = steps.reduce((a, b) => Math.max(a, b), 0);
    r.groups?.forEach((g, i) => {
      const mine = this.paramGroups[i];
      mine.lr = g.lr;
      mine.betas[0] = g.betas[0];
      mine.betas[1] = g.betas[1];
      mine.eps = g.eps;
      mine.weightDecay = g.weightDecay;
      mine.amsgrad = g.amsgrad;
      mine.maximize = g.maximize;
      mine.gradScale = g.gradScale;
      mine.clipValue = g.clipValue;
      mine.epsRoot = g.epsRoot;
      mine.scheduleMultiplier = g.scheduleMultiplier;
      mine.momentumDecay = g.momentumDecay;
    });
    if (r.loss && this.scaler) {
      this.scaler.scale = r.loss.scale;
      this.scaler.growthTracker = r.loss.growthTracker;
    }
  }

  private checkState(name: string, s: Partial<ParamState>, what: string, code: ErrorCode): void {
    const p = this.byName.get(name);
    if (!p) fail(code === "BAD_STATE" ? "UNKNOWN_NAME" : code, `${what}: unknown parameter "${name}"`);
    if (!isObject(s)) fail(code, `${what}: "${name}" must be an object { step?, param?, expAvg?, expAvgSq?, maxExpAvgSq? }, got ${show(s)}`);
    checkKeys(`${what}: "${name}"`, s, STATE_KEYS, code);
    if (s.step !== undefined && !(Number.isInteger(s.step) && s.step >= 0 && s.step <= MAX_STEP)) {
      fail(code, `${what}: "${name}".step must be a whole number from 0 to 2^53, got ${show(s.step)}`);
    }
    if (s.muProduct !== undefined) {
      if (this.algorithm.id !== abi.ALGO_NADAM) fail(code, `${what}: "${name}".muProduct given but ${this.algorithm.name} keeps none (it is NAdam's)`);
      if (typeof s.muProduct !== "number" || !(Math.abs(s.muProduct) <= 1)) fail(code, `${what}: "${name}".muProduct must be a number in [-1, 1], got ${show(s.muProduct)}`);
    }
    for (const k of ["param", "expAvg", "expAvgSq", "expInf", "maxExpAvgSq"] as const) {
      const a = s[k];
      if (a === undefined) continue;
      if (k === "maxExpAvgSq" && !this.hasMax) fail(code, `${what}: "${name}".maxExpAvgSq given but this optimizer has no amsgrad group`);
      if (k !== "param" && k !== "maxExpAvgSq" && stateRegion(this.algorithm, k) < 0) fail(code, `${what}: "${name}".${k} given but ${this.algorithm.name} keeps no ${k}`);
      checkNumbers(`${what}: "${name}".${k}`, a, p.size, code);
    }
  }

  /**
   * What weight decay each parameter gets from the step, and why (its group's value, the name rule, its
   * decayMult, the convention); and which patterns of the name rule matched no parameter (a BERT rule on
   * a model whose norms are called "ln_f" decays them silently: this shows it).
   */
  decayReport(): DecayReport {
    this.live();
    const params = this.params.map((p) => decayEntry(p, this.paramGroups[p.group].weightDecay, this.convention));
    return {
      decayed: params.filter((e) => e.weightDecay !== 0).map((e) => e.name),
      excluded: params.filter((e) => e.weightDecay === 0).map((e) => e.name),
      unmatchedPatterns: unmatchedPatterns(this.rule, this.params.map((p) => p.name)),
      params,
    };
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
    if (this.table >= 0) release(this.table, this.tableBytes);
    if (this.arena >= 0) release(this.arena, this.arenaBytes);
    this.disposed = true;
  }
}

function makeScaler(o: OptimizerOptions["lossScale"]): LossScaler | null {
  if (o === undefined || o === false) return null;
  if (o === true) return new LossScaler({});
  if (!isObject(o)) fail("BAD_OPTION", `lossScale: expected true, false or { init?, growthFactor?, backoffFactor?, growthInterval? }, got ${show(o)}`);
  checkKeys("lossScale", o, { init: true, growthFactor: true, backoffFactor: true, growthInterval: true });
  return new LossScaler(o);
}
