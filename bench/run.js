// The benchmark run behind `npm run bench` (bench/index.js) and `npm run bench:smoke` (bench/smoke.js):
// one optimizer step, fused-adam against its peers, case by case in one process (bench/case.js).
//
// Cases (bench/cases.js): one tensor of 4K, 64K, 1M and 16M params and the 199 BERT-base tensors (109M
// params); torch AdamW and torch Adam with L2; global-norm clipping off and on. Peers: a plain JS loop,
// TF.js tf.train.adam on its cpu and wasm backends (bench/peers.js), torch 2.x AdamW / Adam with
// foreach=True and fused=True on 1 and 2 threads, in the project's Python venv (bench/torch.js), native C
// AdamW built with -O3 -march=native (and the same C held to 128-bit vectors, wasm SIMD's width) and a native
// loop that only moves AdamW's memory (bench/native.js).
//
// Every peer first takes one step from the case's input and is checked against fused-adam's result
// (plain JS, C and torch within 1e-6·max|want| per tensor, TF.js within 1e-4, all with the update itself
// within 1e-3); only a peer that agrees is timed. Writes bench/results.json, bench/RESULTS.md and bench/chart.svg.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { backend } from "../dist/src/index.js";
import { runCase, fmt } from "./case.js";
import { CONVENTIONS, HYPER, makeInput, shapeSets } from "./cases.js";
import { measureColdStart } from "./coldstart.js";
import { measureDivider } from "./divider.js";
import { buildNative, releaseInput } from "./native.js";
import { THREADS, fusedClipSupported, packageVersions } from "./peers.js";
import { writeReport } from "./report.js";
import { startTorch } from "./torch.js";

const here = dirname(fileURLToPath(import.meta.url));
const PARTIAL = join(here, "results.partial.json");
const log = (...a) => console.log(...a);

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
    loadAverage: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

/** The torch peers' Python process, or null with the reason logged (the bench goes on without them). */
async function torchPeers(wanted) {
  if (!wanted) return { torch: null, info: { absent: "not requested" } };
  try {
    const torch = await startTorch();
    const i = torch.info;
    log(`torch peers: torch ${i.torch} (CPU capability ${i.capability}), Python ${i.python}, venv ${i.venv}`);
    return { torch, info: i };
  } catch (e) {
    const absent = String(e?.message ?? e).split("\n")[0];
    log(`torch peers left out: ${absent}`);
    return { torch: null, info: { absent } };
  }
}

const METHOD =
  "One optimizer step per call on state already in place (gradients written beforehand). fused-adam is loaded with init({ threads: 2 }) (the " +
  "threads build: the SIMD kernel on a shared memory, as fast as the plain SIMD build on one thread) and runs on one thread except in the " +
  "threads columns (2 threads forced; automatic). In-process peers run one at a time in the same Node " +
  "process: benchmark.js sampling for steps under 0.4 s, a few directly timed steps above; fused-adam's variants (fast mode, threads) are timed " +
  "in alternation with fused-adam (batches of at least 4 ms, ABBA order), and their ratios are taken over fused-adam's steps of the same turns; " +
  "the torch peers run in one Python process (torch.optim.AdamW, or Adam with L2, as a training loop calls it: clip_grad_norm_ when clipping, then " +
  "opt.step(); torch.set_num_threads(1 or 2)) and are timed the same way, in alternation with fused-adam on the same number of threads, with a " +
  "5 ms rest between batches so that neither side's spinning idle threads take a core from the other; " +
  "native peers are child processes timing their own loop. " +
  "Every peer is checked against fused-adam after one step from identical inputs before it is timed.";

/** results.json of a full (or partial) timed run. */
async function timedResults(cases, seconds, torchInfo, maxTime) {
  const results = {
    date: new Date().toISOString(),
    durationSeconds: Math.round(seconds),
    machine: machine(),
    packages: packageVersions(),
    torch: torchInfo,
    fusedAdam: { build: `${backend().build}, threads build (${backend().threadsReason})`, mode: "exact (fast mode: its own column)", clipping: (await fusedClipSupported()) ? "fused" : "not implemented yet" },
    hyperparameters: HYPER,
    method: METHOD,
    cases,
    coldStart: [measureColdStart({ runs: 5 }), measureColdStart({ runs: 5, threads: THREADS })],
    divider: await measureDivider({ maxTime }),
  };
  const d = results.divider;
  log(`\ndivider ceiling (sqrt and two divisions per element, f32x4, ${d.elements} elements in L1): ${fmt(d.mparams)} Mparams/s`);
  for (const c of results.coldStart) {
    log(`\ncold start (${c.build}, ${c.threads} thread${c.threads > 1 ? "s" : ""}, ${c.params} params, median of ${c.runs}): import ${c.importMs} ms, init ${c.initMs} ms, create ${c.createMs} ms, first step ${c.firstStepMs} ms (warm ${c.warmStepMs} ms): ${c.totalMs} ms`);
  }
  return results;
}

/**
 * The cases so far, written after each case of a timed run into bench/results.partial.json, so that a run
 * cut short still leaves its measurements (`node bench/report.js --partial` draws the report from them).
 */
function writeProgress(cases, started, torchInfo, note) {
  const progress = {
    date: new Date().toISOString(), durationSeconds: Math.round((Date.now() - started) / 1e3), partial: true, machine: machine(),
    packages: packageVersions(), torch: torchInfo, fusedAdam: { build: `${backend().build}, threads build (${backend().threadsReason})`, mode: "exact (fast mode: its own column)" },
    hyperparameters: HYPER, method: METHOD, cases, ...(note ? { note } : {}),
  };
  writeFileSync(PARTIAL, JSON.stringify(progress, null, 1) + "\n");
}

/** The smoke run's verdict: every peer agreed, and the divider kernel computes what it should. */
async function smokeVerdict(cases, failures, seconds) {
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

/**
 * Runs the cases. Options: smoke (small sizes, agreement only), only (case ids), conv ("adamw" or "adaml2"),
 * clip (false: clipping-off cases only), maxTime (seconds of sampling per peer and case), torch (run the
 * torch peers if Python with torch is found; default: in the timed run, not in the smoke run), readme, note
 * (a sentence for the report's footnote).
 * Returns the exit code.
 */
export async function run(opts = {}) {
  const smoke = Boolean(opts.smoke);
  const convs = CONVENTIONS.filter((c) => !opts.conv || c.id === opts.conv);
  const clips = opts.clip === false ? [false] : [false, true];
  const budget = opts.maxTime ?? 0.75;
  const started = Date.now();
  const sets = shapeSets({ smoke }).filter((s) => !opts.only || opts.only.includes(s.id));
  const { torch, info: torchInfo } = await torchPeers(opts.torch ?? !smoke);
  const cases = [];
  try {
    for (const set of sets) {
      const input = makeInput(set.tensors);
      for (const conv of convs) {
        for (const clip of clips) {
          cases.push(await runCase(set, input, conv, clip, { smoke, budget, torch }));
          if (!smoke) writeProgress(cases, started, torchInfo, opts.note);
        }
      }
      releaseInput(input);
    }
  } finally {
    torch?.close();
  }
  const failures = cases.flatMap((c) => c.results.filter((r) => r.error).map((r) => `${c.id} ${r.label}: ${r.error}`));
  const seconds = (Date.now() - started) / 1e3;
  if (smoke) return smokeVerdict(cases, failures, seconds);

  const results = await timedResults(cases, seconds, torchInfo, budget);
  if (opts.note) results.note = opts.note;
  const full = !opts.only && convs.length === CONVENTIONS.length && clips.length === 2;
  const file = full ? join(here, "results.json") : PARTIAL;
  writeFileSync(file, JSON.stringify(results, null, 1) + "\n");
  if (full) {
    rmSync(PARTIAL, { force: true });
    writeReport(results, { readme: opts.readme !== false });
  }
  log(`\nwrote ${file}${full ? ", bench/RESULTS.md and bench/chart.svg" : " (partial run: the report is left as it was)"} in ${seconds.toFixed(0)} s`);
  if (failures.length) {
    log(`${failures.length} peer(s) failed their check or run:`);
    for (const f of failures) log(`  ${f}`);
    return 1;
  }
  return 0;
}
