// The divider ceiling: how fast one core runs only the square root and the two divisions that PyTorch's
// exact Adam/AdamW recipe takes per element (golden/seed/README.md: den = f(f(sqrt(v))/R) + E, then
// f(S*m)/den), in f32x4 wasm SIMD (fused-adam's width), with nothing else: no other arithmetic, 4K elements
// that stay in L1. Square root and division share one unit per core, so where compute decides no exact
// 128-bit implementation is faster: the report divides it by each peer, as it does the memory traffic bound.
import Benchmark from "benchmark";
import { execFileSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

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

// The same in float64 JavaScript, only to check the wasm loop's values.
function jsDivider(x, s, r, e) {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = (s * v) / (Math.sqrt(v) / r + e);
  }
}

// Compiled in a child process: loading the AssemblyScript compiler into the bench process slows the
// in-process peers timed after it (the plain JS loop by a quarter).
function compile() {
  const script = `
    const asc = (await import("assemblyscript/asc")).default;
    const { error, binary, stderr } = await asc.compileString({ "divider.ts": process.env.SOURCE },
      { optimizeLevel: 3, shrinkLevel: 0, runtime: "stub", noAssert: true, enable: ["simd"], initialMemory: 1 });
    if (error) { console.error(error.message, stderr.toString()); process.exit(1); }
    process.stdout.write(Buffer.from(binary).toString("base64"));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: here, env: { ...process.env, SOURCE }, encoding: "utf8" });
  return Buffer.from(out, "base64");
}

/**
 * { mparams, rme }: elements per second / 1e6 of the wasm loop; with `time: false` (the bench smoke), only
 * the check that it computes what the float64 loop does.
 */
export async function measureDivider({ maxTime = 1, time = true } = {}) {
  const { exports } = (await WebAssembly.instantiate(compile())).instance;
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
    if (!(Math.abs(mem[i] - js[i]) <= 1e-5 * Math.abs(js[i]))) throw new Error(`divider kernel disagrees at ${i}: ${mem[i]} vs ${js[i]}`);
  }
  if (!time) return { elements: N, agree: true };
  const b = new Benchmark("divider", () => exports.run(at, N, S, R, E), { maxTime, minSamples: 5, minTime: 0.1 });
  b.run();
  if (b.error) throw b.error;
  return { elements: N, mparams: N / b.stats.mean / 1e6, rme: b.stats.rme };
}
