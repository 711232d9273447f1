// A 784-128-10 multilayer perceptron (ReLU, softmax cross-entropy) whose forward and backward passes read
// the weights from, and write the gradients into, the optimizer's own Float32Array views of wasm memory:
// no copy of a weight or a gradient is made anywhere in training. Runs unchanged in Node and in browsers.
//
// Layout: weights are [in, out] row-major (the Keras / tf.layers kernel layout), so the first layer walks
// only the nonzero pixels of an image (about 150 of 784), each touching one contiguous row of 128 weights
// in the forward pass and one row of 128 gradients in the backward pass.
import { CLASSES, PIXELS } from "./data.js";

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same model and batch order. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The model's parameters with their initial values, as the Optimizer takes them. Initialisation is
 * torch.nn.Linear's: weight and bias uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)].
 */
export function paramSpecs(seed = 1, hidden = 128) {
  const rand = rng(seed);
  const uniform = (n, fanIn) => {
    const bound = 1 / Math.sqrt(fanIn);
    return Float32Array.from({ length: n }, () => (2 * rand() - 1) * bound);
  };
  return [
    { name: "fc1.weight", shape: [PIXELS, hidden], data: uniform(PIXELS * hidden, PIXELS) },
    { name: "fc1.bias", shape: [hidden], data: uniform(hidden, PIXELS) },
    { name: "fc2.weight", shape: [hidden, CLASSES], data: uniform(hidden * CLASSES, hidden) },
    { name: "fc2.bias", shape: [CLASSES], data: uniform(CLASSES, hidden) },
  ];
}

/** Fisher-Yates over 0..n-1 with the given PRNG. */
export function permutation(n, rand) {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export class MLP {
  /**
   * @param {{ param(name: string): { data: Float32Array, grad: Float32Array } }} opt the optimizer holding
   *   fc1.weight, fc1.bias, fc2.weight, fc2.bias (any object with that `param` works)
   */
  constructor(opt, hidden = 128) {
    this.opt = opt;
    this.hidden = hidden;
    this.h = new Float64Array(hidden);
    this.dh = new Float64Array(hidden);
    this.z = new Float64Array(CLASSES);
  }

  // The views are fetched per call: they are re-derived when wasm memory grows (another optimizer made).
  views() {
    const o = this.opt;
    return [o.param("fc1.weight"), o.param("fc1.bias"), o.param("fc2.weight"), o.param("fc2.bias")];
  }

  /** Forward pass of sample s: this.h gets the hidden activations (after ReLU), this.z the probabilities. */
  forward(set, s, w1, b1, w2, b2) {
    const H = this.hidden;
    const h = this.h;
    const z = this.z;
    for (let j = 0; j < H; j++) h[j] = b1[j];
    for (let k = set.rowPtr[s], end = set.rowPtr[s + 1]; k < end; k++) {
      const x = set.vals[k];
      const row = set.cols[k] * H;
      for (let j = 0; j < H; j++) h[j] += x * w1[row + j];
    }
    for (let c = 0; c < CLASSES; c++) z[c] = b2[c];
    for (let j = 0; j < H; j++) {
      if (h[j] <= 0) {
        h[j] = 0;
        continue;
      }
      const hj = h[j];
      const row = j * CLASSES;
      for (let c = 0; c < CLASSES; c++) z[c] += hj * w2[row + c];
    }
    // Softmax in place (z becomes probabilities); returns log p[label].
    let max = -Infinity;
    for (let c = 0; c < CLASSES; c++) if (z[c] > max) max = z[c];
    let sum = 0;
    for (let c = 0; c < CLASSES; c++) sum += (z[c] = Math.exp(z[c] - max));
    for (let c = 0; c < CLASSES; c++) z[c] /= sum;
  }

  /**
   * Forward and backward over samples order[from..to): writes the mean-loss gradient into the grad views
   * (overwriting them) and returns the mean cross-entropy loss of the batch.
   */
  trainBatch(set, order, from, to) {
    const [W1, B1, W2, B2] = this.views();
    const w1 = W1.data, b1 = B1.data, w2 = W2.data, b2 = B2.data;
    const g1 = W1.grad, gb1 = B1.grad, g2 = W2.grad, gb2 = B2.grad;
    g1.fill(0);
    gb1.fill(0);
    g2.fill(0);
    gb2.fill(0);
    const H = this.hidden;
    const h = this.h, dh = this.dh, p = this.z;
    const inv = 1 / (to - from);
    let loss = 0;
    for (let i = from; i < to; i++) {
      const s = order[i];
      const y = set.labels[s];
      this.forward(set, s, w1, b1, w2, b2);
      loss -= Math.log(Math.max(p[y], 1e-30));
      // dL/dz = (p - onehot) / batch, in place.
      for (let c = 0; c < CLASSES; c++) p[c] *= inv;
      p[y] -= inv;
      for (let c = 0; c < CLASSES; c++) gb2[c] += p[c];
      for (let j = 0; j < H; j++) {
        const hj = h[j];
        if (hj === 0) {
          dh[j] = 0;
          continue;
        }
        const row = j * CLASSES;
        let d = 0;
        for (let c = 0; c < CLASSES; c++) {
          g2[row + c] += hj * p[c];
          d += w2[row + c] * p[c];
        }
        dh[j] = d;
        gb1[j] += d;
      }
      for (let k = set.rowPtr[s], end = set.rowPtr[s + 1]; k < end; k++) {
        const x = set.vals[k];
        const row = set.cols[k] * H;
        for (let j = 0; j < H; j++) g1[row + j] += x * dh[j];
      }
    }
    return loss * inv;
  }

  /** The predicted class of sample s and its probability. */
  predict(set, s) {
    const [W1, B1, W2, B2] = this.views();
    this.forward(set, s, W1.data, B1.data, W2.data, B2.data);
    let best = 0;
    for (let c = 1; c < CLASSES; c++) if (this.z[c] > this.z[best]) best = c;
    return { label: best, p: this.z[best] };
  }

  /** Mean loss and accuracy over a whole set (or its first `limit` samples). */
  evaluate(set, limit = set.n) {
    const [W1, B1, W2, B2] = this.views();
    const w1 = W1.data, b1 = B1.data, w2 = W2.data, b2 = B2.data;
    const p = this.z;
    let loss = 0;
    let correct = 0;
    for (let s = 0; s < limit; s++) {
      this.forward(set, s, w1, b1, w2, b2);
      const y = set.labels[s];
      loss -= Math.log(Math.max(p[y], 1e-30));
      let best = 0;
      for (let c = 1; c < CLASSES; c++) if (p[c] > p[best]) best = c;
      if (best === y) correct++;
    }
    return { loss: loss / limit, accuracy: correct / limit };
  }
}

/** The L2 norm of all the weights (the quantity weight decay pulls down). */
export function weightNorm(opt) {
  let ss = 0;
  for (const p of opt.params) {
    const d = p.data;
    for (let i = 0; i < d.length; i++) ss += d[i] * d[i];
  }
  return Math.sqrt(ss);
}
