// Replay and judgement of a golden trace, runtime-neutral: no file access and no Node API, so the runtime
// matrix (tests/runtimes/) copies this file and tests/golden.js as they are and runs them in Deno, Bun,
// browsers and workerd. `npm run conformance` (scripts/conformance.js) is its command line.
//
// Teacher-forced: each step starts from the previous reference state; free-running: from init on our own
// outputs; with the tolerances of golden/seed/README.md. Exactness (0 ulp) is required where the README
// says a same-recipe implementation reproduces the trace: torch_scalar/, tfjs_*, the transcriptions I-T,
// and the AVX2 torch files with FMA emulation. The AVX2 files are also replayed with plain rounding (the
// default convention), which must stay within the tight bound.
import { create, gradsOf, lrMismatch, checkDecay, decode, stateKeys } from "./golden.js";

// A ParamState key's view on a Param (the weights are `data` there; a scalar state as one float32).
const view = (param, key) => (key === "param" ? param.data : typeof param[key] === "number" ? Float32Array.of(param[key]) : param[key]);
const SCALAR_STATES = new Set(["muProduct"]);

const bits = new Uint32Array(1);
const fl = new Float32Array(bits.buffer);
function ordered(x) {
  fl[0] = x;
  const b = bits[0];
  return b & 0x80000000 ? -(b & 0x7fffffff) : b;
}
/** ulp distance between two float32 values (0 for equal, Infinity when non-finite ones differ). */
export function ulps(a, b) {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b ? 0 : Infinity;
  return Math.abs(ordered(a) - ordered(b));
}

/** Compares got with want; returns { ulp, rel, ok } under the tight or the loose bound. */
function compare(got, want, loose) {
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i])) maxAbs = Math.max(maxAbs, Math.abs(want[i]));
  let ulp = 0;
  let rel = 0;
  let ok = got.length === want.length;
  for (let i = 0; ok && i < want.length; i++) {
    const a = got[i];
    const b = want[i];
    const u = ulps(a, b);
    ulp = Math.max(ulp, u);
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      if (u !== 0) ok = false;
      continue;
    }
    const d = Math.abs(a - b);
    if (maxAbs > 0) rel = Math.max(rel, d / maxAbs);
    const bound = loose ? 1e-5 * maxAbs + 1e-5 * Math.abs(b) : 1e-6 * maxAbs;
    if (d > bound && u > 4) ok = false;
  }
  return { ulp, rel, ok };
}

function referenceState(trace, k) {
  // State after step k (k = 0: init with zero moments).
  const params = {};
  const keys = stateKeys(trace);
  for (const p of trace.params) {
    const n = p.init.length;
    if (trace.algorithm) {
      const a = k === 0 ? null : trace.steps[k - 1].after[p.name];
      const s = { step: k };
      for (const [tk, key] of keys) {
        if (SCALAR_STATES.has(key)) s[key] = a ? decode(a[tk])[0] : 1;
        else s[key] = a ? decode(a[tk]) : key === "param" ? decode(p.init) : new Float32Array(n);
      }
      params[p.name] = s;
    } else if (k === 0) {
      params[p.name] = { step: 0, param: decode(p.init), expAvg: new Float32Array(n), expAvgSq: new Float32Array(n) };
      if (trace.hyper.normalized.amsgrad) params[p.name].maxExpAvgSq = new Float32Array(n);
    } else {
      const a = trace.steps[k - 1].after[p.name];
      params[p.name] = { step: k, param: decode(a.param), expAvg: decode(a.exp_avg), expAvgSq: decode(a.exp_avg_sq) };
      if (a.max_exp_avg_sq) params[p.name].maxExpAvgSq = decode(a.max_exp_avg_sq);
    }
  }
  return { params };
}

function measureClip(result, step, acc) {
  if (!step.clip) return;
  acc.normUlp = Math.max(acc.normUlp ?? 0, ulps(Math.fround(result.totalNorm), Math.fround(step.clip.total_norm)));
  if (acc.normUlp > 2) acc.ok = false;
}

function measure(opt, trace, step, loose, acc) {
  const keys = stateKeys(trace);
  for (const p of trace.params) {
    const want = step.after[p.name];
    const param = opt.param(p.name);
    for (const [tk, key] of keys) {
      if (!want[tk]) continue;
      const r = compare(view(param, key), decode(want[tk]), loose);
      acc.ulp = Math.max(acc.ulp, r.ulp);
      acc.rel = Math.max(acc.rel, r.rel);
      if (!r.ok) acc.ok = false;
    }
  }
}

/**
 * Replays one trace with the engine's own schedules, groups and clipping; returns the measured errors.
 * `fast` replays it in the convention's fast mode (tests/fast.test.js; conformance itself never does).
 */
export function replay(trace, { fma = true, fast = false } = {}) {
  const teacher = { ulp: 0, rel: 0, ok: true };
  const free = { ulp: 0, rel: 0, ok: true };
  const lr = [];
  const { opt, scheduler } = create(trace, { fma, fast });
  const decay = checkDecay(opt, trace);
  try {
    trace.steps.forEach((step, i) => {
      opt.loadState(referenceState(trace, i));
      const bad = lrMismatch(opt, trace, step);
      if (bad) lr.push(`step ${i + 1}: ${bad}`);
      measureClip(opt.step(gradsOf(trace, step)), step, teacher);
      scheduler?.step();
      measure(opt, trace, step, false, teacher);
    });
  } finally {
    opt.dispose();
  }
  const run = create(trace, { fma, fast });
  try {
    for (const step of trace.steps) {
      run.opt.step(gradsOf(trace, step));
      run.scheduler?.step();
      measure(run.opt, trace, step, true, free);
    }
  } finally {
    run.opt.dispose();
  }
  return { teacher, free, decay, lr };
}

const TRANSCRIPTION = new Set(["I", "J", "K", "L", "M", "P", "Q", "R", "S", "T"]);

/** Replays one trace (the parsed JSON of `file`) and judges it. */
export function check(file, trace) {
  const variant = trace.kernel_variant;
  // Family traces are real runs whose arithmetic the library reproduces: exact, as the optax Adam ones.
  const mustBeExact = variant === "scalar" || variant === "avx2" || trace.convention === "tfjs" || TRANSCRIPTION.has(trace.convention) ||
    trace.algorithm !== undefined;
  const r = replay(trace, { fma: true });
  const result = {
    file: file,
    name: trace.name,
    convention: trace.convention,
    exactRequired: mustBeExact,
    teacherForced: { maxUlp: r.teacher.ulp, maxRel: r.teacher.rel, ...(r.teacher.normUlp !== undefined ? { totalNormUlp: r.teacher.normUlp } : {}) },
    freeRunning: { maxUlp: r.free.ulp, maxRel: r.free.rel },
    decayRule: r.decay,
    schedule: r.lr,
    pass: r.teacher.ok && r.free.ok && r.decay.length === 0 && r.lr.length === 0 && (!mustBeExact || r.teacher.ulp === 0),
  };
  if (variant === "avx2") {
    // The default (plain rounding, no FMA emulation) against the AVX2 trace: the tight bound, not exactness.
    const plain = replay(trace, { fma: false });
    result.plainRounding = { teacherMaxUlp: plain.teacher.ulp, teacherMaxRel: plain.teacher.rel, freeMaxRel: plain.free.rel };
    result.pass &&= plain.teacher.ok && plain.free.ok;
  }
  return result;
}
