// How the bench times a step: benchmark.js sampling (fast steps) or a few direct steps (slow ones) for a
// peer on its own, and fused-adam in alternation with a variant of itself or with a child-process peer
// (torch), in batches, so that the ratio of the two is taken over the same stretch of the machine's load.
import Benchmark from "benchmark";

/** A step slower than this is timed directly (a few steps) instead of by benchmark.js's sampling. */
export const SLOW_STEP_S = 0.4;

// benchmark.js's sampling for fast steps; a handful of direct steps for slow ones.
export function timeInProcess(inst, estimate, budget) {
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

/** Milliseconds of n steps of an in-process instance. */
function batch(inst, n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) inst.step();
  return performance.now() - t0;
}

/**
 * Two instances timed in alternation, in batches of steps (each batch at least BATCH_MS, one step for slow
 * steps) in ABBA order, so that the machine's drifting load falls on both alike. fused-adam's variants
 * (fast mode, threads) and the per-tensor overhead test (BERT-base against one tensor of the same size) are
 * judged by ratios finer than the run-to-run noise of separate measurements here (threads auto: within 5%).
 */
const BATCH_MS = 4;
export function timePaired(a, b, budget) {
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

/**
 * fused-adam (`inst`, in this process; null: the child alone) in alternation with a child-process peer
 * (`child.batch(n)` resolves to the child's own nanoseconds for n steps), ABBA, in batches of at least
 * BATCH_MS on the faster side. Between batches both sides rest GAP_MS, longer than either keeps its threads
 * spinning for the next job (fused-adam's workers 2 ms, src/runtime/threads.ts; OpenMP's spin in torch's
 * pool is shorter), so neither side's idle threads take a core from the other's batch.
 */
const GAP_MS = 5;
const rest = () => new Promise((resolve) => setTimeout(resolve, GAP_MS));
export async function timeWithChild(inst, child, budget, pairLabel = "fused-adam") {
  const side = {
    a: async (n) => {
      const ms = batch(inst, n);
      await rest();
      return ms;
    },
    b: async (n) => {
      const ms = (await child.batch(n)) / 1e6;
      await rest();
      return ms;
    },
  };
  // Warm-up, then the batch size from a few steps of each (one step where a step is a batch already).
  const calibrate = async (run) => {
    const one = await run(1);
    return one >= BATCH_MS ? one : (await run(5)) / 5;
  };
  let per = await calibrate(side.b);
  if (inst) per = Math.min(per, await calibrate(side.a));
  const n = Math.max(1, Math.ceil(BATCH_MS / Math.max(1e-4, per)));
  // At least two turns in each order; more where steps are short enough for the budget to allow them.
  const minTurns = n > 1 ? 6 : 4;
  let ta = 0;
  let tb = 0;
  let turns = 0;
  const start = performance.now();
  while (turns < minTurns || (performance.now() - start) / 1e3 < budget) {
    if (!inst) tb += await side.b(n);
    else if (turns % 2 === 0) {
      ta += await side.a(n);
      tb += await side.b(n);
    } else {
      tb += await side.b(n);
      ta += await side.a(n);
    }
    turns++;
  }
  const steps = turns * n;
  const what = inst ? `alternating with ${pairLabel} (${turns} turns of ${n} step${n > 1 ? "s" : ""} each)` : `${turns} batches of ${n} step${n > 1 ? "s" : ""}`;
  return { nsPerStep: (tb / steps) * 1e6, pairedNs: inst ? (ta / steps) * 1e6 : null, samples: steps, rme: null, method: what };
}
