// TensorFlow's and Keras's schedules and global-norm clipping, against values recorded from real runs: the
// committed traces (golden/real/tensorflow, golden/real/keras, made by golden/generate/gen_*.py), and, with
// the project's venv, a live run of TF 2.21 / Keras 3.15 on both backends (tests/tf/schedules.py).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Optimizer, BertSchedule, CosineDecay, ExponentialDecay } from "../dist/src/index.js";
import { cosfGlibc } from "../dist/src/cosf.js";
import { ready } from "./helpers.js";
import { needs, TENSORFLOW } from "./needs.js";

await ready;
const f = Math.fround;
const dir = (d) => fileURLToPath(new URL(`../golden/real/${d}/`, import.meta.url));
const traces = (d) => readdirSync(dir(d)).filter((n) => n.endsWith(".json")).map((n) => JSON.parse(readFileSync(dir(d) + n, "utf8")));
const num = (x) => f(Number(x));
const same = (a, b) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

/** The rates a scheduler gives, one per step (the value in force when step k runs), for `n` steps. */
function rates(lr, make, n) {
  const opt = new Optimizer([{ name: "p", shape: [1] }], { lr });
  const s = make(opt);
  const out = [];
  for (let k = 0; k < n; k++) {
    out.push(opt.paramGroups[0].lr);
    s.step();
  }
  opt.dispose();
  return out;
}

/** Total norm, coefficient and the gradients the engine applied (with beta1 0, m is exactly the gradient applied). */
function clipped(grads, clipGradNorm) {
  const opt = new Optimizer(grads.map((g, i) => ({ name: `g${i}`, shape: [g.length] })), { clipGradNorm, lr: 0, weightDecay: 0, betas: [0, 0.5] });
  const r = opt.step(Object.fromEntries(grads.map((g, i) => [`g${i}`, g])));
  const out = { total: r.totalNorm, coef: r.clipCoef, grads: opt.params.map((p) => Float32Array.from(p.expAvg)) };
  opt.dispose();
  return out;
}

// TensorFlow runs its kernels with subnormal results flushed to zero; the engine keeps them. The only place
// this shows in these runs is a clipped gradient below 2^-126.
const MIN_NORMAL = 2 ** -126;
function assertGrads(got, want, where) {
  for (let i = 0; i < want.length; i++) {
    const w = num(want[i]);
    if (same(got[i], w)) continue;
    assert.ok(w === 0 && Math.abs(got[i]) < MIN_NORMAL, `${where}[${i}]: ${got[i]} != ${w}`);
  }
}

test("BertSchedule (folded) gives the float32 rate of every step of the real create_optimizer graphs", () => {
  let checked = 0;
  for (const t of traces("tensorflow")) {
    const s = t.hyper.schedule;
    if (!s?.num_train_steps) continue;
    const got = rates(t.hyper.source.learning_rate, (o) => new BertSchedule(o, s.num_train_steps, s.num_warmup_steps), t.steps.length);
    assert.equal(got, t.steps.map((st) => f(num(st.lr))), t.name);
    checked += got.length;
  }
  assert.ok(checked >= 30);
});

test("Keras CosineDecay and ExponentialDecay give the rate of every step of the real Keras runs, both backends", () => {
  let checked = 0;
  for (const t of traces("keras")) {
    const s = t.hyper.schedule;
    if (!s) continue;
    const c = t.hyper.source.learning_rate.config;
    const make = s.type.endsWith("CosineDecay")
      ? (o) => new CosineDecay(o, { decaySteps: c.decay_steps, alpha: c.alpha, warmupTarget: c.warmup_target, warmupSteps: c.warmup_steps, backend: t.framework.backend })
      : (o) => new ExponentialDecay(o, { decaySteps: c.decay_steps, decayRate: c.decay_rate, staircase: c.staircase });
    const got = rates(c.initial_learning_rate, make, t.steps.length);
    assert.equal(got, t.steps.map((st) => num(st.lr)), t.name);
    checked += got.length;
  }
  assert.ok(checked >= 60);
});

test("CosineDecay with warmup: the JAX backend's fused multiply-adds change the rate (recorded), the TF backend's plain ops do not", () => {
  const t = traces("keras").find((x) => x.name === "P_keras_adamw_cosine_warmup_jax");
  const c = t.hyper.source.learning_rate.config;
  const make = (backend) => (o) => new CosineDecay(o, { decaySteps: c.decay_steps, alpha: c.alpha, warmupTarget: c.warmup_target, warmupSteps: c.warmup_steps, backend });
  const want = t.steps.map((st) => num(st.lr));
  assert.equal(rates(c.initial_learning_rate, make("jax"), want.length), want);
  assert.not.equal(rates(c.initial_learning_rate, make("tensorflow"), want.length), want);
});

for (const [d, mode] of [["tensorflow", "tf"], ["keras", "keras"]]) {
  test(`clip mode "${mode}": the real runs' global norm, scale and clipped gradients, step by step`, () => {
    let checked = 0;
    for (const t of traces(d)) {
      for (const st of t.steps) {
        if (!st.clip) continue;
        const grads = t.params.map((p) => Float32Array.from(st.grads[p.name], num));
        const r = clipped(grads, { maxNorm: st.clip.max_norm, mode });
        assert.ok(same(r.total, num(st.clip.total_norm)), `${t.name}: norm ${r.total} != ${st.clip.total_norm}`);
        assert.ok(same(r.coef, num(st.clip.clip_coef)), `${t.name}: scale ${r.coef} != ${st.clip.clip_coef}`);
        t.params.forEach((p, i) => assertGrads(r.grads[i], st.clip.grads_after_clip[p.name], `${t.name} ${p.name}`));
        checked++;
      }
    }
    assert.ok(checked >= 10);
  });
}

test('clip mode "tf" takes 1/clip in float32 and "keras" in float64: they differ where that rounds differently', () => {
  // Below the clip norm both multiply by clip*(1/clip), which is not 1 for every clip; 0.7 is such a value.
  const g = [Float32Array.of(0.01, 0.02)];
  const tf = clipped(g, { maxNorm: 0.7, mode: "tf" }).coef;
  const keras = clipped(g, { maxNorm: 0.7, mode: "keras" }).coef;
  assert.is(tf, f(f(0.7) * f(1 / f(0.7))));
  assert.is(keras, f(f(0.7) * f(1 / 0.7)));
});

test("Keras schedules and BertSchedule reject bad options by name", () => {
  const opt = new Optimizer([{ name: "p", shape: [1] }], { lr: 0.01 });
  assert.throws(() => new CosineDecay(opt, { decaySteps: 0 }), /CosineDecay: decaySteps/);
  assert.throws(() => new CosineDecay(opt, { decaySteps: 10, alpha: 2 }), /CosineDecay: alpha/);
  assert.throws(() => new CosineDecay(opt, { decaySteps: 10, warmupTarget: 0.1, warmupSteps: 1.5 }), /CosineDecay: warmupSteps/);
  assert.throws(() => new CosineDecay(opt, { decaySteps: 10, backend: "torch" }), /CosineDecay: backend "torch"/);
  assert.throws(() => new ExponentialDecay(opt, { decaySteps: 10, decayRate: -1 }), /ExponentialDecay: decayRate/);
  assert.throws(() => new BertSchedule(opt, 10, 2, 0, 1, { divisions: "exact" }), /BertSchedule: divisions/);
  assert.is(opt.paramGroups[0].lr, 0.01);
  opt.dispose();
});

// ---- live: the frameworks themselves (tests/tf/schedules.py) ----

let live;
function run() {
  if (live) return live;
  const py = TENSORFLOW.path;
  const script = fileURLToPath(new URL("./tf/schedules.py", import.meta.url));
  const go = (backend) => JSON.parse(execFileSync(py, [script, backend], { encoding: "utf8", env: { ...process.env, KERAS_BACKEND: backend }, maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "pipe"] }));
  live = { tensorflow: go("tensorflow"), jax: go("jax") };
  return live;
}

needs(TENSORFLOW)("live TF 2.21: BertSchedule equals create_optimizer's graph at every global_step", () => {
  for (const b of run().tensorflow.bert) {
    assert.equal(rates(b.init, (o) => new BertSchedule(o, b.T, b.W), b.lr.length), b.lr, `init ${b.init} T ${b.T} W ${b.W}`);
  }
});

needs(TENSORFLOW)("live Keras 3.15: CosineDecay and ExponentialDecay on both backends", () => {
  for (const backend of ["tensorflow", "jax"]) {
    for (const k of run()[backend].keras) {
      const c = k.config;
      const make = k.class === "CosineDecay"
        ? (o) => new CosineDecay(o, { decaySteps: c.decay_steps, alpha: c.alpha, warmupTarget: c.warmup_target, warmupSteps: c.warmup_steps, backend })
        : (o) => new ExponentialDecay(o, { decaySteps: c.decay_steps, decayRate: c.decay_rate, staircase: c.staircase });
      assert.equal(rates(c.initial_learning_rate, make, k.lr.length), k.lr, `${backend} ${k.class} ${JSON.stringify(c)}`);
    }
  }
});

needs(TENSORFLOW)("live: cosfGlibc is keras.ops.cos of a float32 scalar on both backends (glibc's cosf), not the correctly rounded cosine", () => {
  for (const backend of ["tensorflow", "jax"]) {
    const { x, cos } = run()[backend].cos;
    let rounded = 0;
    x.forEach((v, i) => {
      assert.is(cosfGlibc(v), cos[i], `${backend} cos(${v})`);
      if (f(Math.cos(v)) !== cos[i]) rounded++;
    });
    assert.ok(rounded > 0, `${backend}: no input where glibc's cosf and the correctly rounded cosine differ`);
  }
});

needs(TENSORFLOW)("live TF 2.21: tf.clip_by_global_norm and Keras's global_clipnorm, every size 1-80 and up to 300007 elements on 4 intra-op threads", () => {
  const { clip, intra_op: intraOpThreads } = run().tensorflow;
  let sharded = 0;
  for (const c of clip) {
    const grads = c.grads.map((g) => Float32Array.from(g));
    for (const mode of ["tf", "keras"]) {
      const r = clipped(grads, { maxNorm: c.clip_norm, mode, intraOpThreads });
      const where = `${mode} sizes ${c.grads.map((g) => g.length)}`;
      assert.is(r.total, c[mode].norm, where);
      c[mode].clipped?.forEach((w, i) => assertGrads(r.grads[i], w, `${where} g${i}`));
      // Where Eigen sharded, one thread's order gives another norm (the reason for intraOpThreads).
      if (c.grads.some((g) => g.length > 100000) && clipped(grads, { maxNorm: c.clip_norm, mode }).total !== c[mode].norm) sharded++;
    }
  }
  assert.ok(sharded > 0, "no case where sharding changes the norm: the test does not test intraOpThreads");
});

test("clipGradNorm.intraOpThreads must be a whole number from 1 to 4096", () => {
  for (const bad of [0, 1.5, -2, 5000, NaN]) {
    assert.throws(() => new Optimizer([{ name: "p", shape: [1] }], { clipGradNorm: { maxNorm: 1, mode: "tf", intraOpThreads: bad } }), /clipGradNorm\.intraOpThreads/);
  }
});

test.run();
