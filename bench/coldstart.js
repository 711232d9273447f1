// Cold start: what a fresh process pays before its first optimizer step, measured in child processes
// (each starts with nothing loaded or compiled): importing fused-adam, init() (decode and compile the
// inlined wasm, instantiate), creating an optimizer of 1M params (arena allocation, zero fill), the first
// step, and then a warm step for comparison. With `threads`, init() also starts the workers.
//
//   node bench/coldstart.js [--runs=5] [--threads=<n>]     prints the medians as JSON
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const self = fileURLToPath(import.meta.url);
const PARAMS = 1 << 20;

async function child(threads) {
  const t0 = performance.now();
  const fa = await import("../dist/src/index.js");
  const t1 = performance.now();
  await fa.init(threads > 1 ? { threads } : undefined);
  const t2 = performance.now();
  const opt = new fa.Optimizer([{ name: "w", shape: [PARAMS] }], { lr: 1e-3 });
  const t3 = performance.now();
  const g = opt.param("w").grad; // the gradient a training loop would write (not timed)
  for (let i = 0; i < g.length; i++) g[i] = ((i % 97) - 48) * 1e-3;
  const t4 = performance.now();
  opt.step();
  const t5 = performance.now();
  opt.step();
  const t6 = performance.now();
  const r = { nodeStartMs: t0, importMs: t1 - t0, initMs: t2 - t1, createMs: t3 - t2, firstStepMs: t5 - t4, warmStepMs: t6 - t5 };
  return { ...r, totalMs: r.importMs + r.initMs + r.createMs + r.firstStepMs, build: fa.backend().build, threads: fa.backend().threads ?? 1 };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Medians over `runs` fresh processes; `threads` > 1 measures init({ threads }). */
export function measureColdStart({ runs = 5, threads = 1 } = {}) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, [self, "--child", `--threads=${threads}`], { encoding: "utf8" });
    samples.push(JSON.parse(out.trim().split("\n").pop()));
  }
  const keys = ["nodeStartMs", "importMs", "initMs", "createMs", "firstStepMs", "warmStepMs", "totalMs"];
  const r = { params: PARAMS, runs, build: samples[0].build, threads: samples[0].threads };
  for (const k of keys) r[k] = +median(samples.map((s) => s[k])).toFixed(2);
  return r;
}

if (process.argv[1] === self) {
  const arg = (k, d) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split("=")[1] ?? d);
  if (process.argv.includes("--child")) {
    const r = await child(arg("threads", 1));
    console.log(JSON.stringify(r));
    process.exit(0); // worker threads, if any, would keep the process alive
  } else console.log(JSON.stringify(measureColdStart({ runs: arg("runs", 5), threads: arg("threads", 1) }), null, 1));
}
