// Child process of tests/allocation.test.js (run with --expose-gc and a 64 MiB young generation, so that
// 100k steps of a step() that allocated even a few bytes would show before any scavenge could hide it).
// For one configuration: warm up, then 100k steps, each optimizer.step() followed by scheduler.step(),
// with the gradients written into the parameters' views. Prints one JSON line:
//   allocated: bytes the young generation grew by during the 100k steps (no GC may run in between);
//   gcs: garbage collections during the 100k steps; retained: heap growth after a full GC.
import v8 from "node:v8";
import { PerformanceObserver } from "node:perf_hooks";
import { init, Optimizer, CosineAnnealingLR, LambdaLR, linearWithWarmup } from "../../dist/src/index.js";

const config = JSON.parse(process.argv[2]);
const STEPS = config.steps ?? 100_000;
await init();

const opt = new Optimizer(
  [
    { name: "encoder.weight", shape: [24, 16] },
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

// A non-finite gradient every `badEvery` steps exercises the skip path (and the loss scale's back-off).
function run(n) {
  const bad = config.badEvery ?? 0;
  for (let i = 0; i < n; i++) {
    if (bad && i % bad === 0) grad[0] = Infinity;
    opt.step();
    if (bad && i % bad === 0) grad[0] = 0.01;
    scheduler.step();
  }
}

const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_used_size;
run(30_000);
globalThis.gc();
let gcs = 0;
const obs = new PerformanceObserver((list) => (gcs += list.getEntries().length));
obs.observe({ entryTypes: ["gc"] });
const heap0 = process.memoryUsage().heapUsed;
const y0 = young();
const t0 = performance.now();
run(STEPS);
const t1 = performance.now();
const y1 = young();
await new Promise((r) => setTimeout(r, 10)); // gc entries are delivered asynchronously
obs.disconnect();
const gcsDuring = gcs;
globalThis.gc();
const retained = process.memoryUsage().heapUsed - heap0;
console.log(JSON.stringify({ steps: STEPS, allocated: y1 - y0, gcs: gcsDuring, retained, usPerStep: ((t1 - t0) / STEPS) * 1e3 }));
