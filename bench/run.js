// The benchmark run behind `npm run bench` (bench/index.js) and `npm run bench:smoke` (bench/smoke.js):
// one optimizer step, fused-adam against its peers, case by case in one process.
//
// Cases (bench/cases.js): one tensor of 4K, 64K, 1M and 16M params and the 199 BERT-base tensors (109M
// params); torch AdamW and torch Adam with L2; global-norm clipping off and on. Peers: a plain JS loop,
// TF.js tf.train.adam on its cpu and wasm backends (bench/peers.js), native C AdamW built with -O3
// -march=native (and the same C held to 128-bit vectors, wasm SIMD's width) and a native loop that only
// moves AdamW's memory (bench/native.js).
//
// Every peer first takes one step from the case's input and is checked against fused-adam's result
// (plain JS and C within 1e-6·max|want| per tensor, TF.js within 1e-4, all with the update itself within
// 1e-3); only a peer that agrees is timed. Writes bench/results.json, bench/RESULTS.md and bench/chart.svg.
//
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Benchmark from "benchmark";
import { backend } from "../dist/src/index.js";
import { CONVENTIONS, HYPER, clippedGrads, compare, makeInput, shapeSets } from "./cases.js";
import { buildNative, checkTraffic, releaseInput, startNative } from "./native.js";
import {
  THREADS, fused, fusedAuto, fusedClipSupported, fusedFast, fusedFastThreads, fusedSingle, fusedThreads, jsLoop, packageVersions, tfjsCpu, tfjsWasm,
} from "./peers.js";
import { writeReport } from "./report.js";
import { measureColdStart } from "./coldstart.js";
import { measureDivider } from "./divider.js";

const here = dirname(fileURLToPath(import.meta.url));

let SMOKE = false;
let CONVS = CONVENTIONS;
let CLIPS = [false, true];
let MAX_TIME = 0.75;

/** Tolerance of each peer's agreement check, as a fraction of max|want| per tensor (see cases.js). */
const TOL = {
  "fused-adam": 0, "fused-adam-1t": 0, "fused-adam-mt": 0, "fused-adam-auto": 0, "fused-adam-fast": 1e-6, "fused-adam-fast-mt": 1e-6, "js-loop": 1e-6, "native-c": 1e-6, "native-c-128": 1e-6, "tfjs-cpu": 1e-4, "tfjs-wasm": 1e-4 };
// With clipping on, the reference clips on the host with a float64 norm; fused-adam's own norm follows torch's
// float32 lane recipe, within an ulp of it, so its coefficient (and then its result) may differ by an ulp.
const tolOf = (id, clip) => (clip && id.startsWith("fused-adam") ? 1e-6 : TOL[id]);
/** A step slower than this is timed directly (a few steps) instead of by benchmark.js's sampling. */
const SLOW_STEP_S = 0.4;
/** A peer whose step is estimated slower than this (from its throughput on the previous size) is skipped. */
const MAX_STEP_S = 2;

const log = (...a) => console.log(...a);
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toPrecision(2));

// benchmark.js's sampling for fast steps; a handful of direct steps for slow ones.
function timeInProcess(inst, estimate, budget) {
  if (estimate > SLOW_STEP_S) {
    const k = Math.max(1, Math.min(5, Math.round(budget / estimate)));
    let sum = 0;
    for (let i = 0; i < k; i++) {
      const t0 = performance.now();
      inst.step();
      sum += performance.now() - t0;
    }
    return { nsPerStep: (sum / k) * 1e6, samples: k, rme: null, method: `direct (${k} step${k > 1 ? "s" : ""})` };
  }
  const bench = new Benchmark("step", () => inst.step(), { maxTime: budget, minSamples: 5, minTime: 0.1 });
  bench.run();
  if (bench.error) throw bench.error;
  return { nsPerStep: bench.stats.mean * 1e9, samples: bench.stats.sample.length, rme: bench.stats.rme, method: "benchmark.js" };
}

/**
 * Two instances timed in alternation, in batches of steps (each batch at least BATCH_MS, one step for slow
 * steps) in ABBA order, so that the machine's drifting load falls on both alike. fused-adam's variants
 * (fast mode, threads) and the per-tensor overhead test (BERT-base against one tensor of the same size) are
 * judged by ratios finer than the run-to-run noise of separate measurements here (threads auto: within 5%).
 */
const BATCH_MS = 4;
function timePaired(a, b, budget) {
  const batch = (inst, n) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) inst.step();
    return performance.now() - t0;
  };
  // Untimed warm-up for both (the first steps after other peers' runs are slow for either instance), then
  // the batch size from a few steps of b.
  for (const inst of [a, b]) for (let t = 0; t < 100 && batch(inst, 1) < 2; t++);
  const n = Math.max(1, Math.ceil(BATCH_MS / Math.max(1e-4, batch(b, 5) / 5)));
  let ta = 0;
  let tb = 0;
  let turns = 0;
  const start = performance.now();
  while (turns < 8 || (performance.now() - start) / 1e3 < budget) {
    if (turns % 2 === 0) {
      ta += batch(a, n);
      tb += batch(b, n);
    } else {
      tb += batch(b, n);
      ta += batch(a, n);
    }
    turns++;
  }
  const steps = turns * n;
  return { nsPerStep: (tb / steps) * 1e6, pairedNs: (ta / steps) * 1e6, samples: steps, rme: null, method: `alternating with fused-adam (${turns} turns of ${n} step${n > 1 ? "s" : ""} each)` };
}

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

async function runCase(set, input, conv, clip) {
  const caseId = `${set.id}/${conv.id}/${clip ? "clip" : "noclip"}`;
  const out = {
    id: caseId, case: set.id, label: set.label, tensors: input.sizes.length, params: input.params,
    convention: conv.id, conventionLabel: conv.label, preset: conv.preset, clip, results: [],
  };
  log(`\n${set.label}, ${conv.label}, clipping ${clip ? `on (max_norm ${HYPER.maxNorm})` : "off"}: ${input.params.toLocaleString("en-US")} params`);
  const clipped = clip ? clippedGrads(input, HYPER.maxNorm) : null;
  const want = await fused.reference(input, conv.id, clipped?.g);
  const budget = MAX_TIME;
  const record = (r) => {
    out.results.push(r);
    const what = r.skipped
      ? `skipped: ${r.skipped}`
      : r.error
        ? `FAILED: ${r.error}`
        : SMOKE
          ? `agrees (${r.check.exact ? "bit-exact" : `max rel ${r.check.maxRel.toExponential(1)}`})`
          : `${fmt(r.mparams)} Mparams/s  ${(r.nsPerStep / 1e6).toFixed(3)} ms/step  ${r.rme != null ? `±${r.rme.toFixed(1)}%` : r.method}${r.pairedMparams ? `, fused-adam ${fmt(r.pairedMparams)} Mparams/s in the same turns` : ""}  [${r.check.exact ? "bit-exact" : `max rel ${r.check.maxRel.toExponential(1)}`}]`;
    log(`  ${r.label.padEnd(40)} ${what}${r.wallSeconds != null && !SMOKE ? `  (${r.wallSeconds} s)` : ""}`);
  };

  // In-process peers, one at a time (BERT-base takes 1.75 GB per copy): create, check, time, dispose.
  // fused-adam stays alive for its variants and fused-adam-1t, timed in alternation with it (timePaired).
  const VARIANTS = new Set([fusedFast, fusedThreads, fusedAuto, fusedFastThreads]);
  const inProcess = [fused, fusedFast, fusedThreads, fusedAuto, fusedFastThreads, jsLoop, tfjsCpu, tfjsWasm, ...(input.sizes.length > 1 ? [fusedSingle] : [])];
  let fusedInst = null;
  for (const peer of inProcess) {
    const started = performance.now();
    const r = { peer: peer.id, label: peer.label };
    const reason = (await peer.skip?.(input, conv.id, clip)) ?? null;
    const key = `${peer.id}/${conv.id}/${clip}`;
    if (!SMOKE && !reason && !throughput.has(key) && !throughput.has(peer.id) && input.params > 1 << 20) {
      throughput.set(peer.id, await probe(peer, conv.id, clip));
      probed.add(peer.id);
    }
    const prev = throughput.get(key) ?? throughput.get(peer.id);
    const estimate = prev ? input.params / (prev * 1e6) : 0;
    if (reason) r.skipped = reason;
    else if (!SMOKE && estimate > MAX_STEP_S) {
      r.skipped = `estimated ${estimate.toFixed(0)} s per step from its ${fmt(prev)} Mparams/s ${throughput.has(key) || !probed.has(peer.id) ? "on the previous case" : "on a 64K probe"}; skipped to keep the run within minutes`;
    }
    if (r.skipped) {
      record(r);
      continue;
    }
    let inst;
    try {
      inst = await peer.create(input, conv.id, clip);
      const t0 = performance.now();
      inst.step();
      const first = (performance.now() - t0) / 1e3;
      const got = await inst.result();
      const tol = tolOf(peer.id, clip);
      const check = compare(input, want, got, tol);
      r.check = { ...check, tol };
      if (!check.ok) r.error = `disagrees with fused-adam: ${check.worst}`;
      else if (!SMOKE) {
        if (peer === fusedSingle && fusedInst) {
          // Where an arena lands in the wasm memory moves its speed by a few percent at this size (either
          // way, from run to run), so the pair is timed in both placements: the one-tensor optimizer created
          // after fused-adam's, then both created again in the other order.
          const first = timePaired(fusedInst, inst, budget);
          fusedInst.dispose();
          fusedInst = null;
          inst.dispose();
          inst = await fusedSingle.create(input, conv.id, clip);
          fusedInst = await fused.create(input, conv.id, clip);
          const second = timePaired(fusedInst, inst, budget);
          Object.assign(r, {
            nsPerStep: (first.nsPerStep + second.nsPerStep) / 2,
            pairedNs: (first.pairedNs + second.pairedNs) / 2,
            samples: first.samples + second.samples,
            rme: null,
            method: `alternating with fused-adam, both creation orders (${first.samples} + ${second.samples} steps each)`,
            placements: [first, second].map((x) => ({ oneTensorNs: Math.round(x.nsPerStep), fusedNs: Math.round(x.pairedNs) })),
          });
          r.pairedMparams = input.params / r.pairedNs * 1e3;
        } else if (VARIANTS.has(peer) && fusedInst) {
          Object.assign(r, timePaired(fusedInst, inst, budget));
          r.pairedMparams = input.params / r.pairedNs * 1e3;
        } else Object.assign(r, timeInProcess(inst, first, budget));
        r.mparams = input.params / r.nsPerStep * 1e3;
        throughput.set(key, r.mparams);
        throughput.set(peer.id, r.mparams);
      }
    } catch (e) {
      r.error = String(e?.message ?? e).split("\n")[0];
    } finally {
      if (peer === fused && inst && !r.error) fusedInst = inst;
      else inst?.dispose();
    }
    r.wallSeconds = +((performance.now() - started) / 1e3).toFixed(1);
    record(r);
  }
  fusedInst?.dispose();

  // Native peers: a child process each, checked on its first step, then timing itself.
  const nat = buildNative();
  const natives = [
    ["native-c", "native C (-O3 -march=native)", conv.id],
    ["native-c-128", "native C, 128-bit vectors", conv.id],
    ["traffic", "native memory traffic (bound)", "traffic"],
  ];
  for (const [id, label, mode] of natives) {
    const started = performance.now();
    const r = { peer: id, label };
    if (id === "native-c-128" && clip) {
      r.skipped = "n/a (the width comparison runs with clipping off)";
      record(r);
      continue;
    }
    if (!nat.ok) {
      r.skipped = nat.reason;
      record(r);
      continue;
    }
    let proc;
    try {
      proc = await startNative(mode, input, clip, { width128: id === "native-c-128" });
      const check = id === "traffic" ? checkTraffic(input, proc.result) : compare(input, want, proc.result, TOL[id]);
      r.check = { ...check, tol: id === "traffic" ? "moves p, g, m, v as a permutation (no math)" : TOL[id] };
      if (!check.ok) r.error = `disagrees: ${check.worst}`;
      else if (!SMOKE) {
        const t = await proc.time(budget, 5);
        Object.assign(r, { nsPerStep: t.nsPerStep, samples: t.samples, rme: t.samples > 1 ? (t.sdNs / Math.sqrt(t.samples) / t.nsPerStep) * 196 : null, method: `C timing loop (${t.stepsPerSample} steps/sample)` });
        r.mparams = input.params / r.nsPerStep * 1e3;
      }
    } catch (e) {
      r.error = String(e?.message ?? e).split("\n")[0];
    } finally {
      proc?.close();
    }
    r.wallSeconds = +((performance.now() - started) / 1e3).toFixed(1);
    record(r);
  }
  return out;
}

function machine() {
  let cpu = os.cpus()[0]?.model ?? "unknown";
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpu;
  } catch {}
  let flags = "";
  try {
    const f = /flags\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1].split(" ") ?? [];
    flags = ["sse4_2", "avx", "avx2", "fma", "avx512f"].filter((x) => f.includes(x)).join(" ");
  } catch {}
  const nat = buildNative();
  return {
    cpu, cpuFlags: flags, cores: os.cpus().length, memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()} ${os.arch()}`, node: process.version, v8: process.versions.v8,
    cc: nat.ok ? nat.cc : null, cflags: nat.ok ? nat.flags : null,
  };
}

/**
 * Runs the cases. Options: smoke (small sizes, agreement only), only (case ids), conv ("adamw" or "adaml2"),
 * clip (false: clipping-off cases only), maxTime (seconds of sampling per peer and case). Returns the exit code.
 */
export async function run(opts = {}) {
  SMOKE = Boolean(opts.smoke);
  const ONLY = opts.only ?? null;
  CONVS = CONVENTIONS.filter((c) => !opts.conv || c.id === opts.conv);
  CLIPS = opts.clip === false ? [false] : [false, true];
  MAX_TIME = opts.maxTime ?? 0.75;
  const started = Date.now();
  const sets = shapeSets({ smoke: SMOKE }).filter((s) => !ONLY || ONLY.includes(s.id));
  const cases = [];
  for (const set of sets) {
    const input = makeInput(set.tensors);
    for (const conv of CONVS) for (const clip of CLIPS) cases.push(await runCase(set, input, conv, clip));
    releaseInput(input);
  }
  const failures = cases.flatMap((c) => c.results.filter((r) => r.error).map((r) => `${c.id} ${r.label}: ${r.error}`));
  const seconds = (Date.now() - started) / 1e3;

  if (SMOKE) {
    try {
      await measureDivider({ time: false });
    } catch (e) {
      failures.push(`divider ceiling: ${e.message}`);
    }
    const n = cases.reduce((a, c) => a + c.results.filter((r) => r.check?.ok).length, 0);
    log(`\nbench smoke: ${n} peer results agree with fused-adam, ${failures.length} failed (${seconds.toFixed(0)} s)`);
    for (const f of failures) log(`  ${f}`);
    return failures.length ? 1 : 0;
  }

  const results = {
    date: new Date().toISOString(),
    durationSeconds: Math.round(seconds),
    machine: machine(),
    packages: packageVersions(),
    fusedAdam: { build: `${backend().build}, threads build (${backend().threadsReason})`, mode: "exact (fast mode: its own column)", clipping: (await fusedClipSupported()) ? "fused" : "not implemented yet" },
    hyperparameters: HYPER,
    method:
      "One optimizer step per call on state already in place (gradients written beforehand). fused-adam is loaded with init({ threads: 2 }) (the " +
      "threads build: the SIMD kernel on a shared memory, as fast as the plain SIMD build on one thread) and runs on one thread except in the " +
      "threads columns (2 threads forced; automatic). In-process peers run one at a time in the same Node " +
      "process: benchmark.js sampling for steps under 0.4 s, a few directly timed steps above; fused-adam's variants (fast mode, threads) are timed " +
      "in alternation with fused-adam (batches of at least 4 ms, ABBA order), and their ratios are taken over fused-adam's steps of the same turns; " +
      "native peers are child processes timing their own loop. " +
      "Every peer is checked against fused-adam after one step from identical inputs before it is timed.",
    cases,
    coldStart: [measureColdStart({ runs: 5 }), measureColdStart({ runs: 5, threads: THREADS })],
    divider: await measureDivider({ maxTime: MAX_TIME }),
  };
  const d = results.divider;
  log(`\ndivider ceiling (sqrt and two divisions per element, f32x4, ${d.elements} elements in L1): ${fmt(d.mparams)} Mparams/s`);
  for (const c of results.coldStart) {
    log(`\ncold start (${c.build}, ${c.threads} thread${c.threads > 1 ? "s" : ""}, ${c.params} params, median of ${c.runs}): import ${c.importMs} ms, init ${c.initMs} ms, create ${c.createMs} ms, first step ${c.firstStepMs} ms (warm ${c.warmStepMs} ms): ${c.totalMs} ms`);
  }
  const full = !ONLY && CONVS.length === CONVENTIONS.length && CLIPS.length === 2;
  const file = join(here, full ? "results.json" : "results.partial.json");
  writeFileSync(file, JSON.stringify(results, null, 1) + "\n");
  if (full) writeReport(results, { readme: opts.readme !== false });
  log(`\nwrote ${file}${full ? ", bench/RESULTS.md and bench/chart.svg" : " (partial run: the report is left as it was)"} in ${seconds.toFixed(0)} s`);
  if (failures.length) {
    log(`${failures.length} peer(s) failed their check or run:`);
    for (const f of failures) log(`  ${f}`);
    return 1;
  }
  return 0;
}

