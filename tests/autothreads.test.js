// threads: "auto" (src/autothreads.ts) driven with synthetic step times: which way it settles on, that the
// slow first steps of a new optimizer do not decide it, and that it follows a change of load.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ThreadChoice } from "../dist/src/runtime/autothreads.js";

/** Runs `steps` steps; time(all, k) gives the milliseconds of step k on all threads or one. */
function drive(c, steps, time, from = 0) {
  let onAll = 0;
  for (let k = from; k < from + steps; k++) {
    const all = c.next();
    if (all) onAll++;
    if (c.count) c.record(all, time(all, k));
  }
  return onAll;
}

test("picks all threads where they are faster, and one where it is", () => {
  const fastAll = new ThreadChoice();
  drive(fastAll, 2000, (all) => (all ? 0.36 : 0.66));
  assert.ok(fastAll.useAll);
  const fastOne = new ThreadChoice();
  const onAll = drive(fastOne, 2000, (all) => (all ? 0.05 : 0.03));
  assert.not.ok(fastOne.useAll);
  // Past the warm-up, only the re-checks run on all threads.
  assert.ok(onAll < 40, `${onAll} of 2000 steps on all threads`);
});

test("slow first steps (baseline code) do not decide: the warm-up keeps each way's minimum", () => {
  // As measured at 1M params: the first counted step on all threads took 3.2 ms, then 0.6, 0.45, 0.38;
  // one thread 0.65-0.7 ms. A running average from the first sample chose one thread here.
  const c = new ThreadChoice();
  const warm = [NaN, 3.2, 0.6, 0.45, 0.38]; // step 0 is not timed
  drive(c, 12, (all, k) => (all ? warm[k] ?? 0.37 : 0.67));
  assert.ok(c.useAll, `one ${c.one} ms, all ${c.all} ms`);
  assert.ok(c.all < 0.4, `all-threads estimate ${c.all}`);
});

test("follows load: switches when the other way becomes faster, and not on one outlier", () => {
  const c = new ThreadChoice();
  drive(c, 1000, (all) => (all ? 0.36 : 0.66));
  assert.ok(c.useAll);
  // One slow all-threads step (a preempted worker) does not flip the choice.
  let k = 1000;
  const spike = (all, i) => (all ? (i === k + 1 ? 5 : 0.36) : 0.66);
  drive(c, 300, spike, k);
  assert.ok(c.useAll);
  // The second core gets busy for good: all threads now take 1.2 ms.
  k += 300;
  drive(c, 20000, (all) => (all ? 1.2 : 0.66), k);
  assert.not.ok(c.useAll, `one ${c.one} ms, all ${c.all} ms`);
});

test.run();
