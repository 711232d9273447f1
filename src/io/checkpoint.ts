// Checkpoints as safetensors. The optimizer state uses PyTorch's names (state.<param>.exp_avg, exp_avg_sq,
// max_exp_avg_sq, step) and keeps the parameter groups and the convention in __metadata__, so a run can be
// resumed here bit for bit or handed to torch.optim.AdamW.load_state_dict (tests/torch/roundtrip.py shows
// the mapping). Loading validates the whole file against the optimizer before it changes anything: the
// group values get the constructor's checks, and the next step's float32 scalars are computed first.
//
// Step counts are float64 scalars here (exact to 2^53). torch 2.x keeps `step` as a float32 tensor, exact
// only to 2^24: a file for torch converts it (tests/torch/roundtrip.py does), and a file from torch with a
// float32 (or int64) step loads as is.
import { fail, show, type ErrorCode } from "../errors.js";
import { SAVED_KNOBS, type Knobs } from "../conventions.js";
import { GROUP_DEFAULTS, isObject, type ParamGroup } from "../options.js";
import { scalarStates, type Algorithm, type StateKey } from "../algorithms.js";
import { decode, encode, readF32, readScalar, type Decoded } from "./safetensors.js";

/** One parameter's tensors and step count, as Optimizer.loadState takes them. */
export interface TensorState {
  step: number;
  param: Float32Array;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
  expInf: Float32Array;
  maxExpAvgSq?: Float32Array;
  muProduct: number;
}

// Files saved before the algorithm option have no `algorithm` in __metadata__: they are Adam's.
const DEFAULT_ALGORITHM = "adam";

/** A candidate state for Optimizer.restore(): parsed, not yet checked against the optimizer nor applied. */
export interface Restore {
  /** The file's group values (null: keep the optimizer's). */
  groups: ParamGroup[] | null;
  states: Map<string, Partial<TensorState>>;
  loss: { scale: number; growthTracker: number } | null;
}

/**
 * What a checkpoint reads of an optimizer and restores through it. The Optimizer hands itself in; this
 * module does not import it, so optimizer.ts -> io/checkpoint.ts is the only direction (no circle).
 */
export interface Checkpointed {
  readonly convention: Knobs & { readonly name: string };
  readonly algorithm: Algorithm & { readonly name: string };
  readonly params: readonly {
    readonly name: string;
    readonly shape: readonly number[];
    readonly step: number;
    readonly data: Float32Array;
    state(key: StateKey): Float32Array;
    readonly maxExpAvgSq: Float32Array | null;
    readonly muProduct: number;
  }[];
  readonly paramGroups: readonly ParamGroup[];
  readonly scaler: { scale: number; growthTracker: number; readonly growthInterval: number } | null;
  /** Checks the whole candidate (values, arrays, the next step's scalars), then applies it; or throws `code`. */
  restore(r: Restore, what: string, code: ErrorCode): void;
}

const STATE_FORMAT = "fused-adam/optimizer-state/1";
const WEIGHTS_FORMAT = "fused-adam/weights/1";
// The knobs recorded in a state and checked on load: the `saved` rows of the knob table (src/conventions.ts).
const KNOBS = SAVED_KNOBS;

interface GroupRecord {
  params: string[];
  lr: number;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  amsgrad: boolean;
  maximize: boolean;
  grad_scale: number;
  clip_value: number | null;
  eps_root: number;
  schedule_multiplier: number;
  /** Absent in files saved before NAdam: torch's default. */
  momentum_decay?: number;
}

export function stateDict(opt: Checkpointed): Uint8Array {
  const tensors: [string, number[], Float32Array | Float64Array][] = [];
  for (const p of opt.params) {
    tensors.push([`state.${p.name}.step`, [], Float64Array.of(p.step)]);
    for (const s of opt.algorithm.states) tensors.push([`state.${p.name}.${s.torch}`, [...p.shape], p.state(s.key)]);
    for (const s of scalarStates(opt.algorithm)) tensors.push([`state.${p.name}.${s.torch}`, [], Float32Array.of(p[s.key])]);
    if (p.maxExpAvgSq) tensors.push([`state.${p.name}.max_exp_avg_sq`, [...p.shape], p.maxExpAvgSq]);
  }
  const groups: GroupRecord[] = opt.paramGroups.map((g) => ({
    params: [...g.params], lr: g.lr, betas: [g.betas[0], g.betas[1]], eps: g.eps, weight_decay: g.weightDecay, amsgrad: g.amsgrad,
    maximize: g.maximize, grad_scale: g.gradScale, clip_value: g.clipValue === Infinity ? null : g.clipValue, eps_root: g.epsRoot,
    schedule_multiplier: g.scheduleMultiplier, momentum_decay: g.momentumDecay,
  }));
  const conv = Object.fromEntries(KNOBS.map((k) => [k, opt.convention[k]]));
  const metadata: Record<string, string> = {
    format: STATE_FORMAT,
    convention: opt.convention.name,
    algorithm: opt.algorithm.name,
    // The other frameworks' names of each state (torch's are the tensor names).
    state_names: JSON.stringify(Object.fromEntries(opt.algorithm.states.map((s) => [s.torch, { optax: s.optax, keras: s.keras }]))),
    knobs: JSON.stringify(conv),
    param_groups: JSON.stringify(groups),
  };
  if (opt.scaler) metadata.loss_scale = JSON.stringify({ scale: opt.scaler.scale, growth_tracker: opt.scaler.growthTracker });
  return encode(tensors, metadata);
}

function parseJson(d: Decoded, key: string, what: string): unknown {
  const s = Object.hasOwn(d.metadata, key) ? d.metadata[key] : undefined;
  if (s === undefined) fail("BAD_CHECKPOINT", `${what}: __metadata__ has no "${key}"`);
  try {
    return JSON.parse(s);
  } catch {
    return fail("BAD_CHECKPOINT", `${what}: __metadata__.${key} is not valid JSON`);
  }
}

function checkShape(what: string, d: Decoded, name: string, shape: readonly number[]): void {
  const t = d.tensors.get(name);
  if (!t) fail("BAD_CHECKPOINT", `${what}: the file has no tensor "${name}"`);
  if (t.dtype !== "F32") fail("BAD_CHECKPOINT", `${what}: tensor "${name}" is ${t.dtype}, expected F32`);
  if (t.shape.length !== shape.length || t.shape.some((x, i) => x !== shape[i])) {
    fail("BAD_CHECKPOINT", `${what}: tensor "${name}" has shape [${t.shape.join(", ")}], the optimizer's parameter has [${shape.join(", ")}]`);
  }
}

const GROUP_RECORD_KEYS = ["params", "lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "grad_scale", "clip_value", "eps_root", "schedule_multiplier"] as const satisfies readonly (keyof GroupRecord)[];

/** A group of the file as the optimizer's ParamGroup (types only; the values are checked by restore()). */
function groupOf(what: string, i: number, g: unknown, mine: readonly string[]): ParamGroup {
  if (!isObject(g)) fail("BAD_CHECKPOINT", `${what}: parameter group ${i} is ${JSON.stringify(g)}, not an object`);
  for (const k of GROUP_RECORD_KEYS) if (!Object.hasOwn(g, k)) fail("BAD_CHECKPOINT", `${what}: parameter group ${i} has no "${k}"`);
  for (const k of Object.keys(g)) if (!(GROUP_RECORD_KEYS as readonly string[]).includes(k) && k !== "momentum_decay") fail("BAD_CHECKPOINT", `${what}: parameter group ${i} has an unknown key "${k}"`);
  const r = g as unknown as GroupRecord;
  if (!Array.isArray(r.params) || r.params.length !== mine.length || r.params.some((n, j) => n !== mine[j])) {
    fail("BAD_CHECKPOINT", `${what}: parameter group ${i} holds ${JSON.stringify(r.params)} in the file, ${JSON.stringify(mine)} here`);
  }
  if (!Array.isArray(r.betas) || r.betas.length !== 2) fail("BAD_CHECKPOINT", `${what}: parameter group ${i} betas is ${JSON.stringify(r.betas)}, not a pair`);
  // JSON has no Infinity: no clipping is written as null.
  if (r.clip_value !== null && typeof r.clip_value !== "number") fail("BAD_CHECKPOINT", `${what}: parameter group ${i} clip_value is ${JSON.stringify(r.clip_value)}`);
  return {
    params: mine, lr: r.lr, betas: [r.betas[0], r.betas[1]], eps: r.eps, weightDecay: r.weight_decay, amsgrad: r.amsgrad, maximize: r.maximize,
    gradScale: r.grad_scale, clipValue: r.clip_value === null ? Infinity : r.clip_value, epsRoot: r.eps_root, scheduleMultiplier: r.schedule_multiplier,
    momentumDecay: r.momentum_decay ?? GROUP_DEFAULTS.momentumDecay,
  };
}

/** The loss scaler's state in the file: a float32 scale > 0 (as the scaler keeps it) and a tracker below the interval. */
function lossOf(what: string, d: Decoded, opt: Checkpointed): { scale: number; growthTracker: number } | null {
  if (!opt.scaler || !Object.hasOwn(d.metadata, "loss_scale")) return null;
  const loss = parseJson(d, "loss_scale", what);
  const bad = (why: string): never => fail("BAD_CHECKPOINT", `${what}: loss_scale ${d.metadata.loss_scale}: ${why}`);
  if (!isObject(loss)) bad("not an object { scale, growth_tracker }");
  const { scale, growth_tracker: tracker } = loss as { scale: unknown; growth_tracker: unknown };
  if (typeof scale !== "number" || !(scale > 0) || Math.fround(scale) !== scale || !Number.isFinite(scale)) bad("scale must be a float32 number > 0 and finite");
  if (!Number.isInteger(tracker) || (tracker as number) < 0 || (tracker as number) >= opt.scaler.growthInterval) bad(`growth_tracker must be a whole number from 0 to ${opt.scaler.growthInterval - 1}`);
  return { scale: scale as number, growthTracker: tracker as number };
}

export function loadStateDict(opt: Checkpointed, bytes: Uint8Array): void {
  const what = "loadStateDict";
  const d = decode(bytes, what);
  if (d.metadata.format !== STATE_FORMAT) fail("BAD_CHECKPOINT", `${what}: not a fused-adam optimizer state (format ${JSON.stringify(d.metadata.format)}, expected "${STATE_FORMAT}")`);
  const algorithm = Object.hasOwn(d.metadata, "algorithm") ? d.metadata.algorithm : DEFAULT_ALGORITHM;
  if (algorithm !== opt.algorithm.name) fail("BAD_CHECKPOINT", `${what}: the file holds the state of ${JSON.stringify(algorithm)}; this optimizer runs "${opt.algorithm.name}"`);
  const knobs = parseJson(d, "knobs", what);
  if (!isObject(knobs)) fail("BAD_CHECKPOINT", `${what}: __metadata__.knobs is ${JSON.stringify(knobs)}, not an object`);
  for (const k of KNOBS) {
    if (knobs[k] !== opt.convention[k]) {
      fail("BAD_CHECKPOINT", `${what}: the file was saved with convention ${JSON.stringify(d.metadata.convention)} (${k} = ${JSON.stringify(knobs[k])}); this optimizer uses "${opt.convention.name}" (${k} = ${JSON.stringify(opt.convention[k])})`);
    }
  }
  const groups = parseJson(d, "param_groups", what);
  if (!Array.isArray(groups) || groups.length !== opt.paramGroups.length) {
    fail("BAD_CHECKPOINT", `${what}: the file has ${Array.isArray(groups) ? groups.length : "no"} parameter groups, this optimizer ${opt.paramGroups.length}`);
  }
  const candidates = groups.map((g, i) => groupOf(what, i, g, opt.paramGroups[i].params));
  const expected = new Set<string>();
  const states = new Map<string, Partial<TensorState>>();
  for (const p of opt.params) {
    const base = `state.${p.name}`;
    for (const k of [...opt.algorithm.states.map((s) => s.torch), ...(p.maxExpAvgSq ? ["max_exp_avg_sq"] : [])]) {
      checkShape(what, d, `${base}.${k}`, p.shape);
      expected.add(`${base}.${k}`);
    }
    const step = readScalar(d, `${base}.step`, what);
    expected.add(`${base}.step`);
    const st: Partial<TensorState> = { step };
    for (const s of opt.algorithm.states) st[s.key] = readF32(d, `${base}.${s.torch}`);
    if (p.maxExpAvgSq) st.maxExpAvgSq = readF32(d, `${base}.max_exp_avg_sq`);
    for (const s of scalarStates(opt.algorithm)) {
      checkShape(what, d, `${base}.${s.torch}`, []);
      expected.add(`${base}.${s.torch}`);
      st[s.key] = readF32(d, `${base}.${s.torch}`)[0];
    }
    states.set(p.name, st);
  }
  for (const name of d.tensors.keys()) if (!expected.has(name)) fail("BAD_CHECKPOINT", `${what}: tensor "${name}" does not belong to this optimizer`);
  opt.restore({ groups: candidates, states, loss: lossOf(what, d, opt) }, what, "BAD_CHECKPOINT");
}

/** The weights as safetensors, one tensor per parameter under its own name (as model.safetensors). */
export function saveWeights(opt: Checkpointed): Uint8Array {
  return encode(opt.params.map((p) => [p.name, [...p.shape], p.data]), { format: WEIGHTS_FORMAT });
}

/** Loads weights by name (a file saved here or any float32 safetensors file); validated before any write. */
export function loadWeights(opt: Checkpointed, bytes: Uint8Array, options: { strict?: boolean } = {}): void {
  const what = "loadWeights";
  if (!isObject(options)) fail("BAD_OPTION", `${what}: options must be { strict?: boolean }, got ${show(options)}`);
  for (const k of Object.keys(options)) if (k !== "strict") fail("BAD_OPTION", `${what}: unknown option "${k}"; known: strict`);
  const strict = options.strict ?? true;
  if (typeof strict !== "boolean") fail("BAD_OPTION", `${what}: strict must be true or false, got ${show(strict)}`);
  const d = decode(bytes, what);
  const states = new Map<string, Partial<TensorState>>();
  for (const p of opt.params) {
    if (!d.tensors.has(p.name) && !strict) continue;
    checkShape(what, d, p.name, p.shape);
    states.set(p.name, { param: readF32(d, p.name) });
  }
  if (strict) for (const name of d.tensors.keys()) if (!states.has(name)) fail("BAD_CHECKPOINT", `${what}: tensor "${name}" is not a parameter of this optimizer`);
  opt.restore({ groups: null, states, loss: null }, what, "BAD_CHECKPOINT");
}
