// Schedules against real torch (the project's Python venv, npm run python:setup): every rate, epoch by epoch, exactly equal.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  Optimizer, LambdaLR, CosineAnnealingLR, StepLR, ExponentialLR, OneCycleLR, BertSchedule,
  linearWithWarmup, cosineWithWarmup, polynomialWithWarmup, withWarmup, constant,
} from "../dist/src/index.js";
import { ready } from "./helpers.js";
import { needs, TORCH, unitTier } from "./needs.js";

await ready;
const torch = !unitTier && TORCH.path ? JSON.parse(execFileSync(TORCH.path, [fileURLToPath(new URL("./torch/schedules.py", import.meta.url))], { encoding: "utf8" })) : null;

function trace(make, epochs) {
  const opt = new Optimizer([{ name: "p", shape: [1] }], { lr: 0.01 });
  const sched = make(opt);
  const lr = [];
  const beta1 = [];
  for (let e = 0; e < epochs; e++) {
    lr.push(opt.paramGroups[0].lr);
    beta1.push(opt.paramGroups[0].betas[0]);
    opt.step({ p: [0.1] });
    sched.step();
  }
  opt.dispose();
  return { lr, beta1 };
}

const CASES = {
  cosine: [(o) => new CosineAnnealingLR(o, 7, 1e-4), 40],
  step: [(o) => new StepLR(o, 3, 0.5), 20],
  exponential: [(o) => new ExponentialLR(o, 0.9), 30],
  onecycle: [(o) => new OneCycleLR(o, { maxLr: 0.1, totalSteps: 25 }), 25],
  onecycle3: [(o) => new OneCycleLR(o, { maxLr: 0.05, totalSteps: 30, threePhase: true, annealStrategy: "linear" }), 30],
  hf_linear: [(o) => new LambdaLR(o, linearWithWarmup(4, 20)), 24],
  hf_cosine: [(o) => new LambdaLR(o, cosineWithWarmup(3, 17, 1.5)), 20],
  hf_poly: [(o) => new LambdaLR(o, polynomialWithWarmup(2, 15, 0.01, 1e-5, 2)), 18],
};

for (const [name, [make, epochs]] of Object.entries(CASES)) {
  needs(TORCH)(`${name}: every rate equals torch's`, () => {
    const got = trace(make, epochs);
    assert.equal(got.lr, torch[name].lr);
    if (torch[name].beta1) assert.equal(got.beta1, torch[name].beta1, "OneCycle's beta1 cycle");
  });
}

test("BERT's schedule is float32 and jumps at the end of warmup (no renormalisation)", () => {
  const opt = new Optimizer([{ name: "p", shape: [1] }], { lr: 1e-3, convention: "bert" });
  const s = new BertSchedule(opt, 10, 3);
  const lrs = [];
  for (let e = 0; e < 6; e++) {
    lrs.push(opt.paramGroups[0].lr);
    s.step();
  }
  const f = Math.fround;
  assert.equal(lrs.slice(0, 3), [0, f(f(1e-3) * f(1 / 3)), f(f(1e-3) * f(2 / 3))]);
  assert.is(lrs[3], f(f(1e-3) * f(1 - f(3 / 10)))); // 7e-4: above the last warmup value and below init
  assert.ok(lrs[3] > lrs[2]);
  opt.dispose();
});

test("a schedule can drive the weight decay, and warmup composes with any lambda", () => {
  const opt = new Optimizer([{ name: "p", shape: [1] }], { lr: 0.01, weightDecay: 0.1 });
  const wd = new LambdaLR(opt, (e) => 1 / (1 + e), { target: "weightDecay" });
  const lr = new LambdaLR(opt, withWarmup(2, (s) => 0.5 ** s));
  const seen = [];
  for (let e = 0; e < 5; e++) {
    seen.push([opt.paramGroups[0].lr, opt.paramGroups[0].weightDecay]);
    wd.step();
    lr.step();
  }
  assert.equal(seen.map((x) => x[1]), [0, 1, 2, 3, 4].map((e) => 0.1 * (1 / (1 + e))));
  assert.equal(seen.map((x) => x[0]), [0, 0.01 * 0.5, 0.01 * 1, 0.01 * 0.5, 0.01 * 0.25]);
  assert.is(new LambdaLR(opt, constant()).values[0], 0.01);
  opt.dispose();
});

test("a chained scheduler resumes from its state", () => {
  const run = (split) => {
    const opt = new Optimizer([{ name: "p", shape: [1] }], { lr: 0.01 });
    let s = new CosineAnnealingLR(opt, 5, 1e-4);
    const lrs = [];
    for (let e = 0; e < 12; e++) {
      if (e === split) {
        const saved = s.stateDict();
        s = new CosineAnnealingLR(opt, 5, 1e-4);
        s.loadStateDict(saved);
      }
      lrs.push(opt.paramGroups[0].lr);
      s.step();
    }
    opt.dispose();
    return lrs;
  };
  assert.equal(run(7), run(-1));
});

test.run();
