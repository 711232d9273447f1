// fused-adam/tfjs: a tf.sequential model trained by model.fit with the adapter ends with exactly the
// weights fused-adam's own API reaches from the same gradients; weights stay in sync with the tf variables
// both ways; the example MLP's hand-written backward pass agrees with tf's gradients.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as tfl from "@tensorflow/tfjs-layers";
import { fusedAdam, FusedAdamTfjs, init, Optimizer, BertSchedule } from "../dist/src/tfjs/index.js";
import * as lib from "../dist/src/index.js";
import { loadMnist } from "../examples/mnist/load.js";
import { dense, CLASSES, PIXELS } from "../examples/mnist/data.js";
import { MLP, paramSpecs } from "../examples/mnist/mlp.js";

const HIDDEN = 32;
const N = 1024;
let data;

test.before(async () => {
  await tf.setBackend("cpu");
  // The cpu backend's "install tfjs-node" banner (a console.warn on its first tensor) is noise here.
  const warn = console.warn;
  console.warn = () => {};
  try {
    tf.dispose(tf.tensor([0]));
  } finally {
    console.warn = warn;
  }
  await init();
  data = loadMnist();
});

const oneHot = (labels, from, to) => {
  const y = new Float32Array((to - from) * CLASSES);
  for (let s = from; s < to; s++) y[(s - from) * CLASSES + labels[s]] = 1;
  return y;
};

/** A 784-32-10 tf.sequential model with the example's seeded initial weights. */
function model() {
  const m = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [PIXELS], units: HIDDEN, activation: "relu" }),
      tfl.layers.dense({ units: CLASSES, activation: "softmax" }),
    ],
  });
  const init = paramSpecs(7, HIDDEN);
  m.setWeights(init.map((p) => tf.tensor(p.data, p.shape)));
  return m;
}

/** Copies of every gradient the adapter receives, in order. */
function record(adapter) {
  const steps = [];
  const apply = adapter.applyGradients.bind(adapter);
  adapter.applyGradients = (g) => {
    const list = Array.isArray(g) ? g.map(({ name, tensor }) => [name, tensor]) : Object.entries(g);
    steps.push(list.map(([name, t]) => [name, t.dataSync().slice()]));
    apply(g);
  };
  return steps;
}

test("model.fit with fused-adam/tfjs (BERT convention and schedule) = fused-adam's own API on the same gradients, bit for bit", async () => {
  const m = model();
  const initial = m.trainableWeights.map((w) => ({ name: w.read().name, shape: w.shape, data: w.read().dataSync().slice() }));
  const epochs = 3, batchSize = 64, total = epochs * (N / batchSize);
  const options = { convention: "bert", lr: 2e-3, weightDecay: 0.01 };
  const adapter = fusedAdam(tf, { ...options, schedule: (o) => new BertSchedule(o, total, 2) });
  assert.ok(adapter instanceof tf.Optimizer, "tf.Optimizer's instanceof test accepts it");
  const steps = record(adapter);
  m.compile({ optimizer: adapter, loss: "categoricalCrossentropy", metrics: ["accuracy"] });
  const x = tf.tensor2d(dense(data.train, 0, N), [N, PIXELS]);
  const y = tf.tensor2d(oneHot(data.train.labels, 0, N), [N, CLASSES]);
  const h = await m.fit(x, y, { epochs, batchSize, shuffle: false, verbose: 0 });
  assert.is(steps.length, total);
  assert.is(adapter.iterations, total);
  assert.ok(h.history.loss[2] < h.history.loss[0], `loss ${h.history.loss}`);
  // BERT's name rule reached the tf names: kernels decay, biases do not.
  const decays = Object.fromEntries(adapter.optimizer.params.map((p) => [p.name.replace(/^.*\//, ""), p.decays]));
  assert.equal(decays, { kernel: true, bias: false });

  // Replay through the plain API.
  const own = new Optimizer(initial, options);
  const sched = new BertSchedule(own, total, 2);
  for (const grads of steps) {
    for (const [name, g] of grads) own.param(name).grad.set(g);
    own.step();
    sched.step();
  }
  const trained = m.trainableWeights.map((w) => w.read().dataSync());
  initial.forEach((p, i) => {
    const ref = own.param(p.name).data;
    assert.ok(trained[i].every((v, j) => Object.is(v, ref[j])), `${p.name}: tf variable differs from fused-adam's own run`);
    assert.ok(adapter.optimizer.param(p.name).data.every((v, j) => Object.is(v, ref[j])));
  });
  // The trained model predicts: accuracy on held-out digits.
  const xt = tf.tensor2d(dense(data.test, 0, 500), [500, PIXELS]);
  const pred = tf.argMax(m.predict(xt), 1).dataSync();
  const acc = pred.filter((p, i) => p === data.test.labels[i]).length / 500;
  assert.ok(acc > 0.8, `held-out accuracy ${acc}`);
  own.dispose();
  adapter.dispose();
  tf.dispose([x, y, xt]);
  m.dispose();
});

test("convention tfjs-adam through the adapter = tf.train.adam, bit for bit, under model.fit", async () => {
  const x = tf.tensor2d(dense(data.train, 0, 256), [256, PIXELS]);
  const y = tf.tensor2d(oneHot(data.train.labels, 0, 256), [256, CLASSES]);
  const fit = async (optimizer) => {
    const m = model();
    m.compile({ optimizer, loss: "categoricalCrossentropy" });
    await m.fit(x, y, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
    const w = m.trainableWeights.map((v) => v.read().dataSync().slice());
    m.dispose();
    return w;
  };
  const theirs = await fit(tf.train.adam(1e-3));
  const adapter = fusedAdam(tf, { convention: "tfjs-adam", lr: 1e-3 });
  const ours = await fit(adapter);
  theirs.forEach((w, i) => assert.ok(w.every((v, j) => Object.is(v, ours[i][j])), `weight ${i} differs from tf.train.adam`));
  adapter.dispose();
  tf.dispose([x, y]);
});

test("weights stay in sync: a setWeights between steps is picked up, getWeights/setWeights round-trip the moments", async () => {
  const m = model();
  const adapter = new FusedAdamTfjs(tf, { convention: "torch-adamw", lr: 1e-3, weightDecay: 0.1 });
  const steps = record(adapter);
  m.compile({ optimizer: adapter, loss: "categoricalCrossentropy" });
  const x = tf.tensor2d(dense(data.train, 0, 64), [64, PIXELS]);
  const y = tf.tensor2d(oneHot(data.train.labels, 0, 64), [64, CLASSES]);
  await m.fit(x, y, { epochs: 2, batchSize: 64, shuffle: false, verbose: 0 });
  const names = m.trainableWeights.map((w) => w.read().name);
  const shapes = m.trainableWeights.map((w) => w.shape);
  const before = names.map((n) => adapter.optimizer.param(n).data.slice());
  // Someone else sets the weights (a loaded checkpoint): halve them.
  const halved = before.map((d) => d.map((v) => v / 2));
  m.setWeights(halved.map((d, i) => tf.tensor(d, shapes[i])));
  const saved = await adapter.getWeights();
  assert.is(saved.length, 1 + 2 * names.length);
  await m.fit(x, y, { epochs: 1, batchSize: 64, shuffle: false, verbose: 0 });

  // The same in the plain API: two steps, the halved weights loaded, the third step.
  const own = new Optimizer(paramSpecs(7, HIDDEN).map((p, i) => ({ ...p, name: names[i] })), { convention: "torch-adamw", lr: 1e-3, weightDecay: 0.1 });
  steps.forEach((grads, k) => {
    if (k === 2) own.loadState({ params: Object.fromEntries(names.map((n, i) => [n, { param: halved[i] }])) });
    for (const [name, g] of grads) own.param(name).grad.set(g);
    own.step();
  });
  names.forEach((n, i) => {
    const ref = own.param(n).data;
    const got = m.trainableWeights[i].read().dataSync();
    assert.ok(got.every((v, j) => Object.is(v, ref[j])), `${n} after setWeights`);
  });
  // Moments restored by setWeights on a fresh adapter equal the saved ones.
  const other = new FusedAdamTfjs(tf, { convention: "torch-adamw" });
  other.build(m.trainableWeights.map((w) => w.read()));
  await other.setWeights(saved);
  assert.is(other.iterations, 2);
  assert.equal([...other.optimizer.param(names[0]).expAvg.slice(0, 50)], [...(await saved[1].tensor.data()).slice(0, 50)]);
  assert.is(other.optimizer.param(names[0]).step, 2);
  // A gradient for a variable the optimizer did not start with is refused with its name.
  const stray = tf.variable(tf.zeros([3]), true, "stray_variable");
  assert.throws(() => adapter.applyGradients({ stray_variable: tf.ones([3]) }), (e) => e.code === "UNKNOWN_NAME" && /stray_variable/.test(e.message));
  tf.dispose([x, y, stray, ...saved.map((s) => s.tensor)]);
  own.dispose();
  other.dispose();
  adapter.dispose();
  m.dispose();
});

test("getWeights/setWeights in tf.train.adam's order (iterations, all m, all v): moments move both ways for 3 variables", async () => {
  const shapes = [[3], [5], [2, 4]];
  const vars = shapes.map((s, i) => tf.variable(tf.randomNormal(s, 0, 1, "float32", i + 1), true, `order_var${i}`));
  const grads = (k) => Object.fromEntries(vars.map((v, i) => [v.name, tf.randomNormal(v.shape, 0, 1, "float32", 100 + 10 * k + i)]));
  const adapter = new FusedAdamTfjs(tf, { convention: "tfjs-adam", lr: 0.01 });
  for (let k = 0; k < 2; k++) adapter.applyGradients(grads(k));
  const saved = await adapter.getWeights();
  assert.equal(saved.map((w) => w.name), ["iter", ...vars.map((v) => `${v.name}/m`), ...vars.map((v) => `${v.name}/v`)]);
  // Into tf.train.adam (which splits the list by position), one more step on both: the same moments.
  const theirs = tf.train.adam(0.01);
  await theirs.setWeights(saved);
  const g = grads(2);
  adapter.applyGradients(g);
  theirs.applyGradients(g);
  const mine = await adapter.getWeights();
  const back = await theirs.getWeights();
  assert.equal(back.map((w) => w.name), mine.map((w) => w.name));
  for (let i = 1; i < mine.length; i++) {
    const a = mine[i].tensor.dataSync();
    const b = back[i].tensor.dataSync();
    assert.ok(a.length === b.length && a.every((v, j) => Object.is(v, b[j])), `${mine[i].name} differs from tf.train.adam's`);
  }
  // And back from tf.train.adam into a fresh adapter.
  const other = new FusedAdamTfjs(tf, { convention: "tfjs-adam", lr: 0.01 });
  other.build(vars);
  await other.setWeights(back);
  vars.forEach((v, i) => {
    assert.equal([...other.optimizer.param(v.name).expAvg], [...back[1 + i].tensor.dataSync()]);
    assert.equal([...other.optimizer.param(v.name).expAvgSq], [...back[1 + vars.length + i].tensor.dataSync()]);
  });
  adapter.dispose();
  other.dispose();
  theirs.dispose();
  tf.dispose([...vars, ...Object.values(g), ...mine.map((w) => w.tensor)]);
});

test("the example MLP's hand-written backward pass agrees with tf's gradients", () => {
  // tf: the same MLP, loss = mean softmax cross-entropy over a batch of 32.
  const specs = paramSpecs(3, HIDDEN);
  const vars = specs.map((p) => tf.variable(tf.tensor(p.data, p.shape), true, `mlp_${p.name}`));
  const x = tf.tensor2d(dense(data.train, 0, 32), [32, PIXELS]);
  const y = tf.tensor2d(oneHot(data.train.labels, 0, 32), [32, CLASSES]);
  const { value, grads } = tf.variableGrads(() => {
    const h = tf.relu(tf.add(tf.matMul(x, vars[0]), vars[1]));
    const z = tf.add(tf.matMul(h, vars[2]), vars[3]);
    return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(z)), 1)));
  }, vars);
  // The example: gradients written into an optimizer's grad views.
  const opt = new lib.Optimizer(specs, { convention: "torch-adamw" });
  const mlp = new MLP(opt, HIDDEN);
  const loss = mlp.trainBatch(data.train, Uint32Array.from({ length: 32 }, (_, i) => i), 0, 32);
  assert.ok(Math.abs(loss - value.dataSync()[0]) < 1e-5, `loss ${loss} vs tf ${value.dataSync()[0]}`);
  specs.forEach((p, i) => {
    const want = grads[vars[i].name].dataSync();
    const got = opt.param(p.name).grad;
    let worst = 0;
    let scale = 0;
    for (let j = 0; j < want.length; j++) {
      worst = Math.max(worst, Math.abs(got[j] - want[j]));
      scale = Math.max(scale, Math.abs(want[j]));
    }
    assert.ok(worst <= 1e-5 * scale + 1e-7, `${p.name}: max difference ${worst} (largest gradient ${scale})`);
  });
  opt.dispose();
  tf.dispose([x, y, value, ...vars, ...Object.values(grads)]);
});

test("types: TypeScript lets model.compile take fusedAdam(tf, ...), and its schedule option a fused-adam scheduler", () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const dir = mkdtempSync(join(tmpdir(), "fused-adam-tfjs-types-"));
  try {
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
    writeFileSync(join(dir, "check.ts"), `
      import * as tf from "@tensorflow/tfjs-core";
      import * as tfl from "@tensorflow/tfjs-layers";
      import { fusedAdam, BertSchedule } from ${JSON.stringify(join(root, "dist", "src", "tfjs", "index.js"))};
      const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 2 })] });
      model.compile({ optimizer: fusedAdam(tf, { convention: "bert", schedule: (o) => new BertSchedule(o, 10, 1) }), loss: "meanSquaredError" });
      const n: number = fusedAdam(tf).iterations;
      void n;
    `);
    execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "--strict", "--skipLibCheck",
      "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", join(dir, "check.ts")], { cwd: dir, encoding: "utf8" });
  } catch (e) {
    assert.unreachable(`tsc: ${e.stdout || e.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
