// optax's schedules against real optax 0.2.8 on jax 0.10.2 (CPU): the rate each recorded run used
// (golden/real/optax/*, steps[].lr: the float32 value of the schedule at optax's count), under jax.jit and
// eagerly, reproduced exactly by OptaxLinearSchedule and OptaxWarmupCosineDecay.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Optimizer, OptaxLinearSchedule, OptaxWarmupCosineDecay, FusedAdamError } from "../dist/src/index.js";
import { ready } from "./helpers.js";

await ready;
const dir = fileURLToPath(new URL("../golden/real/optax/", import.meta.url));
const traces = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(dir + f, "utf8")))
  .filter((t) => t.hyper.schedule);

function make(opt, s, jit) {
  if (s.type === "optax.linear_schedule") {
    return new OptaxLinearSchedule(opt, s.init_value, s.end_value, s.transition_steps, s.transition_begin ?? 0, { jit });
  }
  return new OptaxWarmupCosineDecay(opt, s.init_value, s.peak_value, s.warmup_steps, s.decay_steps, s.end_value, s.exponent ?? 1, { jit });
}

test("the corpus has scheduled runs of both schedules, jitted and eager", () => {
  const kinds = new Set(traces.map((t) => `${t.hyper.schedule.type} ${t.framework.jit}`));
  assert.is(kinds.size, 4, [...kinds].join(", "));
});

for (const t of traces) {
  test(`${t.name}: every step's rate equals optax's`, () => {
    const opt = new Optimizer([{ name: "p", shape: [1] }], { lr: 1 });
    const sched = make(opt, t.hyper.schedule, t.framework.jit);
    t.steps.forEach((step, k) => {
      assert.is(opt.paramGroups[0].lr, Math.fround(step.lr), `count ${k}`);
      sched.step();
    });
    opt.dispose();
  });
}

test("jit and eager differ where XLA's rewrites change a rounding (both recorded)", () => {
  const byName = new Map(traces.map((t) => [t.name, t]));
  let differ = 0;
  for (const t of traces.filter((x) => x.framework.jit)) {
    const e = byName.get(t.name.replace(/_jit$/, "_eager"));
    t.steps.forEach((s, k) => (differ += s.lr !== e.steps[k].lr ? 1 : 0));
  }
  assert.ok(differ > 0);
});

test("bad schedule arguments name the parameter", () => {
  const opt = new Optimizer([{ name: "p", shape: [1] }], { lr: 1 });
  assert.throws(() => new OptaxWarmupCosineDecay(opt, 0, 1, 5, 5), (e) => e instanceof FusedAdamError && /decaySteps/.test(e.message));
  assert.throws(() => new OptaxLinearSchedule(opt, 0, 1, 2.5), (e) => e instanceof FusedAdamError && /transitionSteps/.test(e.message));
  opt.dispose();
});

test.run();
