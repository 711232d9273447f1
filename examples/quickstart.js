// The smallest complete use of fused-adam: fit y = 3x - 1 with a two-parameter model, writing gradients
// straight into the optimizer's zero-copy views. In this repository: npm run build && node examples/quickstart.js
// (the package imports itself by name); in your project, after npm install fused-adam, as it is.
import { init, Optimizer, backend, LambdaLR, linearWithWarmup } from "fused-adam";

await init();
const opt = new Optimizer([{ name: "w", shape: [1] }, { name: "b", shape: [1] }], {
  convention: "torch-adamw", lr: 0.1, weightDecay: 0, clipGradNorm: 10,
});
const sched = new LambdaLR(opt, linearWithWarmup(10, 300));
const w = opt.param("w");
const b = opt.param("b");
const xs = Array.from({ length: 32 }, (_, i) => i / 16 - 1);
let loss = 0;
for (let step = 0; step < 300; step++) {
  let gw = 0, gb = 0;
  loss = 0;
  for (const x of xs) {
    const err = w.data[0] * x + b.data[0] - (3 * x - 1);
    loss += (err * err) / xs.length;
    gw += (2 * err * x) / xs.length;
    gb += (2 * err) / xs.length;
  }
  w.grad[0] = gw;
  b.grad[0] = gb;
  opt.step();
  sched.step();
}
console.log(`backend: ${backend().build} (${backend().reason})`);
console.log(`w = ${w.data[0].toFixed(4)}, b = ${b.data[0].toFixed(4)}, loss = ${loss.toExponential(2)} (target w = 3, b = -1)`);
opt.dispose();
