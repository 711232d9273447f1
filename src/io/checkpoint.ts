// Checkpoints as safetensors. The optimizer state uses PyTorch's names (state.<param>.exp_avg, exp_avg_sq,
// max_exp_avg_sq, step) and keeps the parameter groups and the convention in __metadata__, so a run can be
// resumed here bit for bit or handed to torch.optim.AdamW.load_state_dict (tests/torch/roundtrip.py shows
// the mapping). Loading validates the whole file against the optimizer before it changes anything.
import { fail } from "../errors.js";
import type { Knobs } from "../conventions.js";
import type { Optimizer, ParamState } from "../optimizer.js";
import { decode, encode, readF32, type Decoded } from "./safetensors.js";

const STATE_FORMAT = "fused-adam/optimizer-state/1";
const WEIGHTS_FORMAT = "fused-adam/weights/1";
const KNOBS: (keyof Knobs)[] = ["decay", "decayScale", "eps", "biasCorrection", "moments", "oneMinusBeta", "betaPower", "alpha", "lrAt", "fma"];

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
}

export function stateDict(opt: Optimizer): Uint8Array {
  const tensors: [string, number[], Float32Array][] = [];
  for (const p of opt.params) {
    tensors.push([`state.${p.name}.step`, [], Float32Array.of(p.step)]);
    tensors.push([`state.${p.name}.exp_avg`, [...p.shape], p.expAvg]);
    tensors.push([`state.${p.name}.exp_avg_sq`, [...p.shape], p.expAvgSq]);
    if (p.maxExpAvgSq) tensors.push([`state.${p.name}.max_exp_avg_sq`, [...p.shape], p.maxExpAvgSq]);
  }
  const groups: GroupRecord[] = opt.paramGroups.map((g) => ({
    params: [...g.params], lr: g.lr, betas: [g.betas[0], g.betas[1]], eps: g.eps, weight_decay: g.weightDecay, amsgrad: g.amsgrad,
    maximize: g.maximize, grad_scale: g.gradScale, clip_value: g.clipValue === Infinity ? null : g.clipValue, eps_root: g.epsRoot,
    schedule_multiplier: g.scheduleMultiplier,
  }));
  const conv = Object.fromEntries(KNOBS.map((k) => [k, opt.convention[k]]));
  const metadata: Record<string, string> = {
    format: STATE_FORMAT,
    convention: opt.convention.name,
    knobs: JSON.stringify(conv),
    param_groups: JSON.stringify(groups),
  };
  if (opt.scaler) metadata.loss_scale = JSON.stringify({ scale: opt.scaler.scale, growth_tracker: opt.scaler.growthTracker });
  return encode(tensors, metadata);
}

function parseJson<T>(d: Decoded, key: string, what: string): T {
  const s = d.metadata[key];
  if (s === undefined) fail(`${what}: __metadata__ has no "${key}"`);
  try {
    return JSON.parse(s) as T;
  } catch {
    fail(`${what}: __metadata__.${key} is not valid JSON`);
  }
}

function checkShape(what: string, d: Decoded, name: string, shape: readonly number[]): void {
  const t = d.tensors.get(name);
  if (!t) fail(`${what}: the file has no tensor "${name}"`);
  if (t.dtype !== "F32") fail(`${what}: tensor "${name}" is ${t.dtype}, expected F32`);
  if (t.shape.length !== shape.length || t.shape.some((x, i) => x !== shape[i])) {
    fail(`${what}: tensor "${name}" has shape [${t.shape.join(", ")}], the optimizer's parameter has [${shape.join(", ")}]`);
  }
}

export function loadStateDict(opt: Optimizer, bytes: Uint8Array): void {
  const what = "loadStateDict";
  const d = decode(bytes, what);
  if (d.metadata.format !== STATE_FORMAT) fail(`${what}: not a fused-adam optimizer state (format ${JSON.stringify(d.metadata.format)}, expected "${STATE_FORMAT}")`);
  const knobs = parseJson<Record<string, unknown>>(d, "knobs", what);
  for (const k of KNOBS) {
    if (knobs[k] !== opt.convention[k]) {
      fail(`${what}: the file was saved with convention "${d.metadata.convention}" (${k} = ${JSON.stringify(knobs[k])}); this optimizer uses "${opt.convention.name}" (${k} = ${JSON.stringify(opt.convention[k])})`);
    }
  }
  const groups = parseJson<GroupRecord[]>(d, "param_groups", what);
  if (!Array.isArray(groups) || groups.length !== opt.paramGroups.length) {
    fail(`${what}: the file has ${Array.isArray(groups) ? groups.length : "no"} parameter groups, this optimizer ${opt.paramGroups.length}`);
  }
  groups.forEach((g, i) => {
    const mine = opt.paramGroups[i].params;
    if (!g || !Array.isArray(g.params) || g.params.length !== mine.length || g.params.some((n, j) => n !== mine[j])) {
      fail(`${what}: parameter group ${i} holds ${JSON.stringify(g?.params)} in the file, ${JSON.stringify(mine)} here`);
    }
    const nums: [string, unknown][] = [["lr", g.lr], ["eps", g.eps], ["weight_decay", g.weight_decay], ["grad_scale", g.grad_scale], ["eps_root", g.eps_root], ["schedule_multiplier", g.schedule_multiplier], ["betas[0]", g.betas?.[0]], ["betas[1]", g.betas?.[1]]];
    for (const [k, v] of nums) if (typeof v !== "number" || !Number.isFinite(v)) fail(`${what}: parameter group ${i} ${k} is ${JSON.stringify(v)}`);
    if (typeof g.amsgrad !== "boolean" || typeof g.maximize !== "boolean") fail(`${what}: parameter group ${i} amsgrad/maximize must be booleans`);
    if (g.amsgrad && !opt.params.some((p) => p.maxExpAvgSq)) fail(`${what}: parameter group ${i} uses amsgrad but this optimizer was created without it`);
  });
  const expected = new Set<string>();
  const params: Record<string, Partial<ParamState>> = {};
  for (const p of opt.params) {
    const base = `state.${p.name}`;
    for (const k of ["exp_avg", "exp_avg_sq", ...(p.maxExpAvgSq ? ["max_exp_avg_sq"] : [])]) {
      checkShape(what, d, `${base}.${k}`, p.shape);
      expected.add(`${base}.${k}`);
    }
    checkShape(what, d, `${base}.step`, []);
    expected.add(`${base}.step`);
    const step = readF32(d, `${base}.step`)[0];
    if (!Number.isSafeInteger(step) || step < 0) fail(`${what}: "${base}.step" is ${step}, expected a whole number >= 0`);
    params[p.name] = {
      step,
      expAvg: readF32(d, `${base}.exp_avg`),
      expAvgSq: readF32(d, `${base}.exp_avg_sq`),
      ...(p.maxExpAvgSq ? { maxExpAvgSq: readF32(d, `${base}.max_exp_avg_sq`) } : {}),
    };
  }
  for (const name of d.tensors.keys()) if (!expected.has(name)) fail(`${what}: tensor "${name}" does not belong to this optimizer`);
  let loss: { scale: number; growth_tracker: number } | null = null;
  if (opt.scaler && d.metadata.loss_scale !== undefined) {
    loss = parseJson(d, "loss_scale", what);
    if (!(loss!.scale > 0) || !Number.isInteger(loss!.growth_tracker) || loss!.growth_tracker < 0) fail(`${what}: invalid loss_scale ${d.metadata.loss_scale}`);
  }

  // Everything checked: apply.
  opt.loadState({ params });
  groups.forEach((g, i) => {
    const mine = opt.paramGroups[i];
    mine.lr = g.lr;
    mine.betas[0] = g.betas[0];
    mine.betas[1] = g.betas[1];
    mine.eps = g.eps;
    mine.weightDecay = g.weight_decay;
    mine.amsgrad = g.amsgrad;
    mine.maximize = g.maximize;
    mine.gradScale = g.grad_scale;
    mine.clipValue = g.clip_value === null ? Infinity : g.clip_value;
    mine.epsRoot = g.eps_root;
    mine.scheduleMultiplier = g.schedule_multiplier;
  });
  if (loss && opt.scaler) {
    opt.scaler.scale = loss.scale;
    opt.scaler.growthTracker = loss.growth_tracker;
  }
}

/** The weights as safetensors, one tensor per parameter under its own name (as model.safetensors). */
export function saveWeights(opt: Optimizer): Uint8Array {
  return encode(opt.params.map((p) => [p.name, [...p.shape], p.data]), { format: WEIGHTS_FORMAT });
}

/** Loads weights by name (a file saved here or any float32 safetensors file); validated before any write. */
export function loadWeights(opt: Optimizer, bytes: Uint8Array, { strict = true } = {}): void {
  const what = "loadWeights";
  const d = decode(bytes, what);
  const params: Record<string, Partial<ParamState>> = {};
  for (const p of opt.params) {
    if (!d.tensors.has(p.name) && !strict) continue;
    checkShape(what, d, p.name, p.shape);
    params[p.name] = { param: readF32(d, p.name) };
  }
  if (strict) for (const name of d.tensors.keys()) if (!params[name]) fail(`${what}: tensor "${name}" is not a parameter of this optimizer`);
  opt.loadState({ params });
}
