// Child process of tests/allocation.test.js (run with --expose-gc and a 64 MiB young generation, so that
// 100k steps of a step() that allocated even a few bytes would show before any scavenge could hide it).
// For one configuration: warm up, then windows of 100k steps, each optimizer.step() then scheduler.step(),
// with the gradients written into the parameters' views; with `threads`, on init({ threads }) (and with
// threads "auto", a model large enough to split). Prints one JSON line:
//   allocated: bytes the young generation grew by during the 100k steps (no GC may run in between);
//   gcs: garbage collections during the 100k steps; retained: heap growth after a full GC, all windows.
import v8 from "node:v8";
import { PerformanceObserver } from "node:perf_hooks";
import { init, Optimizer, CosineAnnealingLR, LambdaLR, linearWithWarmup } from "../../dist/src/index.js";

const config = JSON.parse(process.argv[2]);
const STEPS = config.steps ?? 100_000;
await init(config.threads ? { threads: config.threads } : undefined);

const opt = new Optimizer(
  [
    { name: "encoder.weight", shape: config.options.threads === "auto" ? [130, 130] : [24, 16] }, // auto splits from 16K
    { name: "encoder.bias", shape: [13] },
    { name: "norm.weight", shape: [7, 3] },
  ],
  { lr: 1e-3, ...config.options },
);
const scheduler = config.scheduler === "lambda"
  ? new LambdaLR(opt, linearWithWarmup(100, 10 * STEPS))
  : new CosineAnnealingLR(opt, 5000, 1e-5);
let k = 0;
for (const p of opt.params) for (let i = 0; i < p.size; i++) p.grad[i] = Math.sin(++k) * 0.05;
const grad = opt.params[1].grad;
// step(grads): the gradients copied in from an object of arrays or a Map (made once, reused every step).
const given = config.grads === "map"
  ? new Map(opt.params.map((p) => [p.name, p.grad.slice()]))
  : config.grads === "object" ? Object.fromEntries(opt.params.map((p) => [p.name, p.grad.slice()])) : undefined;

// A non-finite gradient every `badEvery` steps exercises the skip path (and the loss scale's back-off).
function run(n) {
  const bad = config.badEvery ?? 0;
  for (let i = 0; i < n; i++) {
    if (bad && i % bad === 0) grad[0] = Infinity;
    opt.step(given);
    if (bad && i % bad === 0) grad[0] = 0.01;
    scheduler.step();
  }
}

const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_used_size;
run(30_000);
globalThis.gc();
const heap0 = process.memoryUsage().heapUsed;
// Up to three windows of STEPS steps; the cleanest counts. Code that V8 re-optimizes during a window runs
// unoptimized for a while and boxes numbers there: that happens once, and a step that allocates does so
// in every window.
let best = null;
for (let w = 0; w < 3 && !(best && best.allocated < STEPS / 10); w++) {
  globalThis.gc();
  let gcs = 0;
  const obs = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  obs.observe({ entryTypes: ["gc"] });
  const y0 = young();
  const t0 = performance.now();
  run(STEPS);
  const t1 = performance.now();
  const y1 = young();
  await new Promise((r) => setTimeout(r, 10)); // gc entries are delivered asynchronously
  obs.disconnect();
  const r = { window: w, allocated: y1 - y0, gcs, usPerStep: ((t1 - t0) / STEPS) * 1e3 };
  if (!best || r.gcs < best.gcs || (r.gcs === best.gcs && r.allocated < best.allocated)) best = r;
}
globalThis.gc();
const retained = process.memoryUsage().heapUsed - heap0;
console.log(JSON.stringify({ steps: STEPS, ...best, retained, threads: opt.threadsInfo() }));
process.exit(0);
