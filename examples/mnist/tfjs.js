#!/usr/bin/env node
// fused-adam as a TensorFlow.js optimizer: the same tf.sequential 784-128-10 model trained by model.fit
// with tf.train.adam, with fused-adam/tfjs under the tfjs-adam convention (the same arithmetic: the weights
// come out bit for bit equal), and under torch-adamw with BERT-style decay rules. TF.js's cpu backend.
//   npm run build && node examples/mnist/tfjs.js [epochs]
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as tfl from "@tensorflow/tfjs-layers";
import { fusedAdam, init } from "fused-adam/tfjs";
import { CLASSES, PIXELS, dense } from "./data.js";
import { loadMnist } from "./load.js";
import { paramSpecs } from "./mlp.js";

const epochs = Number(process.argv[2] ?? 2);
await tf.setBackend("cpu");
const warn = console.warn;
console.warn = () => {}; // the cpu backend's "install tfjs-node" banner, on the first tensor
tf.dispose(tf.tensor([0]));
console.warn = warn;
await init();
const { train, test } = loadMnist();
const oneHot = (set) => {
  const y = new Float32Array(set.n * CLASSES);
  for (let s = 0; s < set.n; s++) y[s * CLASSES + set.labels[s]] = 1;
  return tf.tensor2d(y, [set.n, CLASSES]);
};
const [x, y] = [tf.tensor2d(dense(train), [train.n, PIXELS]), oneHot(train)];
const [xt, yt] = [tf.tensor2d(dense(test), [test.n, PIXELS]), oneHot(test)];

async function fit(label, optimizer) {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [PIXELS], units: 128, activation: "relu" }),
      tfl.layers.dense({ units: CLASSES, activation: "softmax" }),
    ],
  });
  model.setWeights(paramSpecs(1).map((p) => tf.tensor(p.data, p.shape))); // the same start for every run
  model.compile({ optimizer, loss: "categoricalCrossentropy", metrics: ["accuracy"] });
  const t0 = performance.now();
  await model.fit(x, y, { epochs, batchSize: 32, shuffle: false, verbose: 0 });
  const seconds = (performance.now() - t0) / 1000;
  const [, acc] = model.evaluate(xt, yt);
  const weights = model.trainableWeights.map((w) => w.read().dataSync().slice());
  console.log(`${label.padEnd(44)} test acc ${(100 * acc.dataSync()[0]).toFixed(2)}%  fit ${seconds.toFixed(1)} s`);
  model.dispose();
  return weights;
}

// fused-adam first: whatever warming up the process needs counts against it, not against tf.train.adam.
const same = await fit('fusedAdam(tf, { convention: "tfjs-adam" })', fusedAdam(tf, { convention: "tfjs-adam", lr: 1e-3 }));
const reference = await fit("tf.train.adam(1e-3)", tf.train.adam(1e-3));
await fit('fusedAdam(tf, { convention: "torch-adamw" })', fusedAdam(tf, { convention: "torch-adamw", lr: 1e-3, weightDecay: 0.01 }));
const equal = reference.every((w, i) => w.every((v, j) => Object.is(v, same[i][j])));
console.log(`tfjs-adam weights ${equal ? "equal" : "DIFFER FROM"} tf.train.adam's, bit for bit, after ${epochs} epochs`);
process.exitCode = equal ? 0 : 1;
