// The algorithms beyond Adam against AdamW on one thread, Mparams/s per size, each pair timed in alternation
// (bench/timing.js timePaired: ABBA batches over the same stretch of the machine's load). Lion reads and
// writes 20 bytes per parameter (weights 8, gradient 4, one moment 8), AdamW 28: at sizes past the caches
// the step is bound by memory, so Lion's goal is >= 1.2x AdamW at 16M.
//
//   node bench/family.js [--sizes=64K,1M,16M] [--budget=<s per pair>] [--only=lion,adamax,nadam,radam]
import { init, Optimizer } from "../dist/src/index.js";
import { timePaired } from "./timing.js";

const args = Object.fromEntries(process.argv.slice(2).map((a) => /^--([^=]*)=?(.*)$/.exec(a).slice(1)));
const parse = (s) => Number(s.replace(/K$/, "e3").replace(/M$/, "e6")) * (/[KM]$/.test(s) ? (s.endsWith("K") ? 1.024 : 1.048576) : 1);
const sizes = (args.sizes || "64K,1M,16M").split(",");
const budget = Number(args.budget || 6);
await init();

function instance(n, options) {
  const opt = new Optimizer([{ name: "w", shape: [n] }], { threads: 1, ...options });
  return { opt, step: () => opt.step() };
}

// Weights and gradients, written once both optimizers exist (creating one may grow the memory, which
// detaches the views taken before: step() would refuse them).
function fill({ opt }, n) {
  const p = opt.params[0];
  const data = p.data;
  const grad = p.grad;
  for (let i = 0; i < n; i++) {
    data[i] = Math.sin(i) * 0.1;
    grad[i] = Math.cos(i * 0.7) * 0.01;
  }
}

const ADAMW = { convention: "torch-adamw", weightDecay: 0.01 };
const PAIRS = [
  ["lion", "Lion torch-style (decoupled p*(1-lr*wd)) vs torch-adamw", ADAMW, { algorithm: "lion", convention: "torch-adamw", weightDecay: 0.1 }],
  ["lion", "Lion vs AdamW, optax under jit (XLA's rounding)", { convention: "optax-adamw" }, { algorithm: "lion", convention: "optax-adamw" }],
  // torch's scalar-kernel arithmetic (ATEN_CPU_CAPABILITY=default), as torch-adamw here; the vector kernels'
  // FMAs (fma: true) and MKL's sqrt (sqrt: "mkl") are emulated and cost more (the "exact" rows).
  // No L2 decay for Adamax: with a constant gradient g + wd*p reaches 0 and m goes subnormal (slow on x86).
  ["adamax", "Adamax torch 2.13 vs torch-adamw", ADAMW, { algorithm: "adamax", convention: "torch-adam", weightDecay: 0 }],
  ["adamax", "Adamax torch 2.13 exact vector kernels (FMAs) vs torch-adamw", ADAMW, { algorithm: "adamax", convention: { base: "torch-adam", fma: true }, weightDecay: 0 }],
  ["nadam", "NAdamW torch 2.13 single vs torch-adamw", ADAMW, { algorithm: "nadam", convention: "torch-adamw", weightDecay: 0.01 }],
  ["nadam", "NAdamW torch 2.13 exact vector + MKL sqrt vs torch-adamw", ADAMW, { algorithm: "nadam", convention: { base: "torch-adamw", fma: true, sqrt: "mkl" }, weightDecay: 0.01 }],
  ["radam", "RAdamW torch 2.13 foreach vs torch-adamw", ADAMW, { algorithm: "radam", convention: { base: "torch-adamw", impl: "foreach" }, weightDecay: 0.01 }],
];
const only = args.only ? args.only.split(",") : null;
for (const s of sizes) {
  const n = Math.round(parse(s));
  for (const [alg, what, adamOpts, lionOpts] of PAIRS) {
    if (only && !only.includes(alg)) continue;
    const a = instance(n, adamOpts);
    const b = instance(n, lionOpts);
    fill(a, n);
    fill(b, n);
    const r = timePaired(a, b, budget);
    const mps = (ns) => n / ns * 1e3;
    console.log(`${s.padEnd(4)} ${what}: AdamW ${mps(r.pairedNs).toFixed(0)} Mparams/s, ${alg} ${mps(r.nsPerStep).toFixed(0)} Mparams/s, ratio ${(r.pairedNs / r.nsPerStep).toFixed(2)}x`);
    a.opt.dispose();
    b.opt.dispose();
  }
}
