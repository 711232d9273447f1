// The divider ceiling: how fast one core can run only the square root and the two divisions that PyTorch's
// exact Adam/AdamW recipe takes per element (shared/golden/README.md: den = f(f(sqrt(v))/R) + E, then
// f(S*m)/den), with nothing else: no other arithmetic, 4K elements that stay in L1. Square root and division
// share one unit per core, so this bounds every exact implementation at sizes that fit in cache:
//   - f32x4 wasm SIMD (fused-adam's width), compiled here from a few lines of AssemblyScript;
//   - float64 JavaScript, the same three operations as the plain JS loop of bench/peers.js.
// Their ratio is the most any exact 128-bit kernel can gain over that JS loop where compute decides.
import asc from "assemblyscript/asc";
import Benchmark from "benchmark";

const N = 4096;
const S = 0.5; // x -> S*x / (sqrt(x)/R + E) settles near (S*R)^2, far from subnormals and overflow
const R = 0.9;
const E = 1e-8;

// Two independent lane groups per iteration, as fused-adam's kernel runs them.
const SOURCE = `
export function run(p: usize, n: i32, s: f32, r: f32, e: f32): void {
  const vs = f32x4.splat(s), vr = f32x4.splat(r), ve = f32x4.splat(e);
  const end = p + (<usize>n << 2);
  for (let q = p; q < end; q += 32) {
    const a = v128.load(q);
    const b = v128.load(q, 16);
    const da = f32x4.add(f32x4.div(f32x4.sqrt(a), vr), ve);
    const db = f32x4.add(f32x4.div(f32x4.sqrt(b), vr), ve);
    v128.store(q, f32x4.div(f32x4.mul(vs, a), da));
    v128.store(q, f32x4.div(f32x4.mul(vs, b), db), 16);
  }
}
`;

function jsDivider(x, s, r, e) {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = (s * v) / (Math.sqrt(v) / r + e);
  }
}

const hz = (fn, maxTime) => {
  const b = new Benchmark("divider", fn, { maxTime, minSamples: 5, minTime: 0.1 });
  b.run();
  if (b.error) throw b.error;
  return { mparams: (N / b.stats.mean) / 1e6, rme: b.stats.rme };
};

/**
 * { wasm, js } in Mparams/s (elements per second / 1e6) and their ratio; with `time: false` (the bench
 * smoke), only the check that both loops compute the same values.
 */
export async function measureDivider({ maxTime = 1, time = true } = {}) {
  const { error, binary, stderr } = await asc.compileString({ "divider.ts": SOURCE }, { optimizeLevel: 3, shrinkLevel: 0, runtime: "stub", noAssert: true, enable: ["simd"], initialMemory: 1 });
  if (error) throw new Error(`divider kernel: ${error.message}\n${stderr.toString()}`);
  const { exports } = (await WebAssembly.instantiate(binary)).instance;
  const at = 1024; // past the module's (empty) static data
  const mem = new Float32Array(exports.memory.buffer, at, N);
  const js = new Float32Array(N);
  for (let i = 0; i < N; i++) mem[i] = js[i] = 0.01 + (i % 97) / 97;
  // Both settle on the same values; a check that the wasm loop ran all N elements.
  for (let k = 0; k < 50; k++) {
    exports.run(at, N, S, R, E);
    jsDivider(js, S, R, E);
  }
  for (let i = 0; i < N; i++) {
    if (!(Math.abs(mem[i] - js[i]) <= 1e-5 * Math.abs(js[i]))) throw new Error(`divider kernels disagree at ${i}: ${mem[i]} vs ${js[i]}`);
  }
  if (!time) return { elements: N, agree: true };
  const wasm = hz(() => exports.run(at, N, S, R, E), maxTime);
  const jsr = hz(() => jsDivider(js, S, R, E), maxTime);
  return { elements: N, wasm: wasm.mparams, wasmRme: wasm.rme, js: jsr.mparams, jsRme: jsr.rme, ratio: wasm.mparams / jsr.mparams };
}
