// One benchmark case (bench/run.js runs them all): every peer in turn is created on the case's input, takes
// one step that is checked against fused-adam's, and is timed if it agrees (not in the smoke run).
// In-process peers first (one at a time: BERT-base takes 1.75 GB per copy), then the torch peers (one Python
// process for the whole run, bench/torch.js), then the native ones (a child process each, bench/native.js).
import { HYPER, clippedGrads, compare, makeInput } from "./cases.js";
import { buildNative, checkTraffic, startNative } from "./native.js";
import { fused, fusedAuto, fusedFast, fusedFastThreads, fusedSingle, fusedThreads, jsLoop, tfjsCpu, tfjsWasm } from "./peers.js";
import { timeInProcess, timePaired, timeWithChild } from "./timing.js";
import { TORCH_PEERS } from "./torch.js";

/**
 * Tolerance of each peer's agreement check, as a fraction of max|want| per tensor (see cases.js). The
 * golden README's tight bound (1e-6) for the plain JS loop, C and torch (whose foreach and fused steps
 * round differently from the preset's defaults; each is also checked bit for bit against the knobs that
 * reproduce it, see exactness()), 1e-4 for TF.js.
 */
export const TOL = {
  "fused-adam": 0, "fused-adam-1t": 0, "fused-adam-mt": 0, "fused-adam-auto": 0, "fused-adam-fast": 1e-6, "fused-adam-fast-mt": 1e-6, "js-loop": 1e-6, "native-c": 1e-6, "native-c-128": 1e-6, "tfjs-cpu": 1e-4, "tfjs-wasm": 1e-4,
  ...Object.fromEntries(TORCH_PEERS.map((p) => [p.id, 1e-6])),
};
// With clipping on, the reference clips on the host with a float64 norm; fused-adam's own norm follows torch's
// float32 lane recipe, within an ulp of it, so its coefficient (and then its result) may differ by an ulp.
const tolOf = (id, clip) => (clip && id.startsWith("fused-adam") ? 1e-6 : TOL[id]);
/** A peer whose step is estimated slower than this (from its throughput on the previous size) is skipped. */
const MAX_STEP_S = 2;
/** fused-adam's variants, timed in alternation with fused-adam (timePaired). */
const VARIANTS = new Set([fusedFast, fusedThreads, fusedAuto, fusedFastThreads]);

const log = (...a) => console.log(...a);
export const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toPrecision(2));

/** Mparams/s of a peer on 64K params (3 steps): the skip estimate when a run starts at a big case. */
async function probe(peer, conv, clip) {
  const small = makeInput([{ name: "probe", shape: [1 << 16] }]);
  const inst = await peer.create(small, conv, clip);
  try {
    inst.step();
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) inst.step();
    return small.params / (((performance.now() - t0) / 3) * 1e3);
  } finally {
    inst.dispose();
  }
}

const throughput = new Map();
const probed = new Set(); // peer id + conv + clip -> Mparams/s on the last size, for the skip estimate

/** Why an in-process peer is not run on this case (n/a, or too slow by its last throughput), or null. */
async function skipReason(ctx, peer) {
  const { input, conv, clip, smoke } = ctx;
  const reason = (await peer.skip?.(input, conv.id, clip)) ?? null;
  if (reason) return reason;
  const key = `${peer.id}/${conv.id}/${clip}`;
  if (!smoke && !throughput.has(key) && !throughput.has(peer.id) && input.params > 1 << 20) {
    throughput.set(peer.id, await probe(peer, conv.id, clip));
    probed.add(peer.id);
  }
  const prev = throughput.get(key) ?? throughput.get(peer.id);
  const estimate = prev ? input.params / (prev * 1e6) : 0;
  if (smoke || estimate <= MAX_STEP_S) return null;
  return `estimated ${estimate.toFixed(0)} s per step from its ${fmt(prev)} Mparams/s ${throughput.has(key) || !probed.has(peer.id) ? "on the previous case" : "on a 64K probe"}; skipped to keep the run within minutes`;
}

/** The one-line log of a peer's result. */
function describe(r, smoke) {
  const exact = (c) => (c.exact ? "bit-exact" : `max rel ${c.maxRel.toExponential(1)}`);
  const check = (c) => exact(c) + (c.preset ? `; with ${JSON.stringify(c.preset.convention)}: ${exact(c.preset)}` : "");
  const what = r.skipped
    ? `skipped: ${r.skipped}`
    : r.error
      ? `FAILED: ${r.error}`
      : smoke
        ? `agrees (${check(r.check)})`
        : `${fmt(r.mparams)} Mparams/s  ${(r.nsPerStep / 1e6).toFixed(3)} ms/step  ${r.rme != null ? `±${r.rme.toFixed(1)}%` : r.method}${r.pairedMparams ? `, ${r.pairedWith ?? "fused-adam"} ${fmt(r.pairedMparams)} Mparams/s in the same turns` : ""}  [${check(r.check)}]`;
  return `  ${r.label.padEnd(40)} ${what}${r.wallSeconds != null && !smoke ? `  (${r.wallSeconds} s)` : ""}`;
}

/** Checks a peer's first step against fused-adam's reference; records the check (and the error). */
function agree(ctx, r, got, tol = tolOf(r.peer, ctx.clip)) {
  const check = compare(ctx.input, ctx.want, got, tol);
  r.check = { ...check, tol };
  if (!check.ok) r.error = `disagrees with fused-adam: ${check.worst}`;
  return check.ok;
}

/** Mparams/s from the timing, and of the fused-adam instance timed in the same turns (if any). */
function speeds(ctx, r) {
  r.mparams = (ctx.input.params / r.nsPerStep) * 1e3;
  if (r.pairedNs) r.pairedMparams = (ctx.input.params / r.pairedNs) * 1e3;
}

/**
 * BERT-base against one tensor of the same size. Where an arena lands in the wasm memory moves its speed by a
 * few percent at this size (either way, from run to run), so the pair is timed in both placements: the
 * one-tensor optimizer created after fused-adam's, then both created again in the other order. Returns the
 * one-tensor instance now alive (held.fused is replaced too).
 */
async function timeOneTensor(ctx, inst, held, r) {
  const { input, conv, clip, budget } = ctx;
  const first = timePaired(held.fused, inst, budget);
  held.fused.dispose();
  held.fused = null;
  inst.dispose();
  inst = await fusedSingle.create(input, conv.id, clip);
  held.fused = await fused.create(input, conv.id, clip);
  const second = timePaired(held.fused, inst, budget);
  Object.assign(r, {
    nsPerStep: (first.nsPerStep + second.nsPerStep) / 2,
    pairedNs: (first.pairedNs + second.pairedNs) / 2,
    samples: first.samples + second.samples,
    rme: null,
    method: `alternating with fused-adam, both creation orders (${first.samples} + ${second.samples} steps each)`,
    placements: [first, second].map((x) => ({ oneTensorNs: Math.round(x.nsPerStep), fusedNs: Math.round(x.pairedNs) })),
  });
  return inst;
}

/** One in-process peer: create, check, time, dispose (fused-adam itself stays alive in held.fused). */
async function runInProcessPeer(ctx, peer, held) {
  const { input, conv, clip } = ctx;
  const started = performance.now();
  const r = { peer: peer.id, label: peer.label };
  const skipped = await skipReason(ctx, peer);
  if (skipped) return ctx.record({ ...r, skipped });
  let inst;
  try {
    inst = await peer.create(input, conv.id, clip);
    const t0 = performance.now();
    inst.step();
    const first = (performance.now() - t0) / 1e3;
    if (agree(ctx, r, await inst.result()) && !ctx.smoke) {
      if (peer === fusedSingle && held.fused) inst = await timeOneTensor(ctx, inst, held, r);
      else if (VARIANTS.has(peer) && held.fused) Object.assign(r, timePaired(held.fused, inst, ctx.budget));
      else Object.assign(r, timeInProcess(inst, first, ctx.budget));
      speeds(ctx, r);
      throughput.set(`${peer.id}/${conv.id}/${clip}`, r.mparams);
      throughput.set(peer.id, r.mparams);
    }
  } catch (e) {
    r.error = String(e?.message ?? e).split("\n")[0];
  } finally {
    if (peer === fused && inst && !r.error) held.fused = inst;
    else inst?.dispose();
  }
  r.wallSeconds = +((performance.now() - started) / 1e3).toFixed(1);
  ctx.record(r);
}

async function runInProcess(ctx) {
  const peers = [fused, fusedFast, fusedThreads, fusedAuto, fusedFastThreads, jsLoop, tfjsCpu, tfjsWasm, ...(ctx.input.sizes.length > 1 ? [fusedSingle] : [])];
  const held = { fused: null };
  try {
    for (const peer of peers) await runInProcessPeer(ctx, peer, held);
  } finally {
    held.fused?.dispose();
  }
}

/** The fused-adam instance a torch peer is timed against: one thread, or fused-adam's threads column. */
async function pairFor(ctx, peer, pair) {
  const { input, conv, clip } = ctx;
  const other = peer.pairWith === fused.id ? fused : fusedThreads;
  pair.label = other.label;
  if (pair.peer !== other) {
    pair.inst?.dispose();
    pair.inst = null;
    pair.peer = other;
    if (!(await other.skip(input, conv.id, clip))) pair.inst = await other.create(input, conv.id, clip);
  }
  return pair.inst;
}

/**
 * With clipping off, whether torch's step is bit-exact with fused-adam under the knobs that reproduce its
 * implementation (the clip cases' reference clips on the host in float64, an ulp away from torch's norm).
 */
async function exactness(ctx, peer, got) {
  if (ctx.clip) return null;
  const knobs = peer.knobs(ctx.torch.info.capability);
  const key = JSON.stringify(knobs);
  ctx.presetRefs ??= new Map();
  if (!ctx.presetRefs.has(key)) ctx.presetRefs.set(key, await fused.reference(ctx.input, ctx.conv.id, null, knobs));
  const c = compare(ctx.input, ctx.presetRefs.get(key), got, 0);
  return { convention: { base: ctx.conv.preset, ...knobs }, exact: c.exact, maxRel: c.maxRel };
}

/** One torch peer: loaded into the Python process, checked, then timed in alternation with fused-adam. */
async function runTorchPeer(ctx, peer, pair) {
  const started = performance.now();
  const r = { peer: peer.id, label: peer.label };
  // A BERT-base step of torch takes seconds, and its goals are on one tensor (4K-16M): BERT-base with
  // clipping off shows what 199 tensors cost torch; the clip cases are left to the smaller sizes.
  if (ctx.input.sizes.length > 1 && ctx.clip && !ctx.smoke) return ctx.record({ ...r, skipped: "n/a (torch runs BERT-base with clipping off only, to keep the run within minutes)" });
  try {
    const got = await ctx.torch.load(ctx.input, ctx.conv.id, ctx.clip, peer);
    const ok = agree(ctx, r, got);
    const preset = ok ? await exactness(ctx, peer, got) : null;
    if (preset) r.check.preset = preset;
    if (ok && !ctx.smoke) {
      const inst = await pairFor(ctx, peer, pair);
      Object.assign(r, await timeWithChild(inst, ctx.torch, ctx.budget, pair.label));
      if (inst) r.pairedWith = peer.pairWith;
      speeds(ctx, r);
    }
  } catch (e) {
    r.error = String(e?.message ?? e).split("\n")[0];
  } finally {
    await ctx.torch.drop().catch(() => {});
  }
  r.wallSeconds = +((performance.now() - started) / 1e3).toFixed(1);
  ctx.record(r);
}

async function runTorch(ctx) {
  if (!ctx.torch) return; // no Python with torch: the columns are left out (said once at the start)
  const pair = { peer: null, inst: null };
  try {
    for (const peer of TORCH_PEERS) await runTorchPeer(ctx, peer, pair);
  } finally {
    pair.inst?.dispose();
  }
}

const NATIVES = [
  ["native-c", "native C (-O3 -march=native)", null],
  ["native-c-128", "native C, 128-bit vectors", null],
  ["traffic", "native memory traffic (bound)", "traffic"],
];

/** One native peer: a child process, checked on its first step, then timing itself. */
async function runNative(ctx, nat, [id, label, mode]) {
  const { input, conv, clip } = ctx;
  const started = performance.now();
  const r = { peer: id, label };
  if (id === "native-c-128" && clip) return ctx.record({ ...r, skipped: "n/a (the width comparison runs with clipping off)" });
  if (!nat.ok) return ctx.record({ ...r, skipped: nat.reason });
  let proc;
  try {
    proc = await startNative(mode ?? conv.id, input, clip, { width128: id === "native-c-128" });
    if (id === "traffic") {
      const check = checkTraffic(input, proc.result);
      r.check = { ...check, tol: "moves p, g, m, v as a permutation (no math)" };
      if (!check.ok) r.error = `disagrees: ${check.worst}`;
    } else if (!agree(ctx, r, proc.result, TOL[id])) r.error = `disagrees: ${r.check.worst}`;
    if (!r.error && !ctx.smoke) {
      const t = await proc.time(ctx.budget, 5);
      Object.assign(r, { nsPerStep: t.nsPerStep, samples: t.samples, rme: t.samples > 1 ? (t.sdNs / Math.sqrt(t.samples) / t.nsPerStep) * 196 : null, method: `C timing loop (${t.stepsPerSample} steps/sample)` });
      speeds(ctx, r);
    }
  } catch (e) {
    r.error = String(e?.message ?? e).split("\n")[0];
  } finally {
    proc?.close();
  }
  r.wallSeconds = +((performance.now() - started) / 1e3).toFixed(1);
  ctx.record(r);
}

/**
 * Runs one case: `set` (bench/cases.js shapeSets) on `input`, convention `conv`, clipping on or off.
 * opts: { smoke, budget (seconds of timing per peer), torch (bench/torch.js startTorch(), or null) }.
 */
export async function runCase(set, input, conv, clip, { smoke, budget, torch }) {
  const out = {
    id: `${set.id}/${conv.id}/${clip ? "clip" : "noclip"}`, case: set.id, label: set.label, tensors: input.sizes.length, params: input.params,
    convention: conv.id, conventionLabel: conv.label, preset: conv.preset, clip, results: [],
  };
  log(`\n${set.label}, ${conv.label}, clipping ${clip ? `on (max_norm ${HYPER.maxNorm})` : "off"}: ${input.params.toLocaleString("en-US")} params`);
  const clipped = clip ? clippedGrads(input, HYPER.maxNorm) : null;
  const want = await fused.reference(input, conv.id, clipped?.g);
  const record = (r) => {
    out.results.push(r);
    log(describe(r, smoke));
  };
  const ctx = { input, conv, clip, want, smoke, budget, torch, record };
  await runInProcess(ctx);
  await runTorch(ctx);
  const nat = buildNative();
  for (const n of NATIVES) await runNative(ctx, nat, n);
  return out;
}
