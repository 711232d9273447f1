// Fits y = 3x - 1 with AdamW in the browser. Build with any bundler (`npx vite build examples/browser`):
// the default entry has the wasm inlined, so no bundler configuration is needed.
import { init, backend, Optimizer } from "fused-adam";

await init();
document.getElementById("backend").textContent = `wasm build: ${backend().build} (${backend().reason})`;

const xs = Float32Array.from({ length: 64 }, (_, i) => i / 32 - 1);
const opt = new Optimizer(
  [
    { name: "w", shape: [1] },
    { name: "b", shape: [1] },
  ],
  { lr: 0.05, convention: "torch-adamw", weightDecay: 0 },
);
const w = opt.param("w");
const b = opt.param("b");
const losses = [];
for (let step = 0; step < 300; step++) {
  // Mean squared error and its gradient, written straight into the zero-copy grad views.
  let loss = 0;
  let gw = 0;
  let gb = 0;
  for (const x of xs) {
    const err = w.data[0] * x + b.data[0] - (3 * x - 1);
    loss += (err * err) / xs.length;
    gw += (2 * err * x) / xs.length;
    gb += (2 * err) / xs.length;
  }
  w.grad[0] = gw;
  b.grad[0] = gb;
  opt.step();
  losses.push(loss);
}
const log = `loss ${losses[0].toFixed(4)} -> ${losses.at(-1).toExponential(2)}; w = ${w.data[0].toFixed(4)}, b = ${b.data[0].toFixed(4)}`;
document.getElementById("log").textContent = log;
window.__result = { example: true, backend: backend(), w: w.data[0], b: b.data[0], firstLoss: losses[0], lastLoss: losses.at(-1) };
opt.dispose();
