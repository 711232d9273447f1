// The kernel ABI directly: the SIMD and the scalar build, fed the same records and buffers, must produce
// the same bits for every stage combination and every length (each SIMD tail: n mod 4 = 0..3).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import * as abi from "../dist/assembly/abi.js";
import { rng, randomArray, firstBitDiff } from "./helpers.js";

const load = (file) => {
  const m = new WebAssembly.Module(readFileSync(new URL(`../dist/${file}`, import.meta.url)));
  return new WebAssembly.Instance(m, {}).exports;
};
const simd = load("fused_adam.simd.wasm");
const scalar = load("fused_adam.wasm");

const ALL_FLAGS = [
  abi.F_L2, abi.F_CLIP, abi.F_PRE_MUL, abi.F_PRE_SUB, abi.F_PRE_KERAS, abi.F_M_DELTA, abi.F_V_SQ, abi.F_V_DELTA,
  abi.F_AMS, abi.F_MHAT, abi.F_VHAT, abi.F_EROOT, abi.F_RDIV, abi.F_A, abi.F_UDECAY, abi.F_K, abi.F_POST, abi.F_FMA, abi.F_SCALE,
];

/** Runs `steps` kernel steps on one segment of length n in a given instance; returns the 5 buffers. */
function runKernel(k, n, flags, init, scalars, steps) {
  const base = Math.ceil(k.heapBase() / 64) * 64;
  const region = Math.ceil((n * 4) / 64) * 64 + 64;
  const need = base + abi.REC_BYTES + 5 * region;
  const mem = k.memory;
  if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
  const rec = base;
  const ptr = (j) => base + abi.REC_BYTES + j * region;
  const u32 = new Uint32Array(mem.buffer);
  const f32 = new Float32Array(mem.buffer);
  new Uint8Array(mem.buffer, base, need - base).fill(0);
  for (let j = 0; j < 5; j++) {
    u32[(rec + abi.REC_P) / 4 + j] = ptr(j);
    f32.set(init[j], ptr(j) / 4);
  }
  u32[(rec + abi.REC_N) / 4] = n;
  u32[(rec + abi.REC_FLAGS) / 4] = flags;
  f32.set(scalars, (rec + abi.REC_SCALARS) / 4);
  for (let s = 0; s < steps; s++) k.step(rec, 1, 0, 0xffffffff);
  return [0, 1, 2, 3, 4].map((j) => new Float32Array(mem.buffer, ptr(j), n).slice());
}

function randomScalars(rand) {
  const s = new Float32Array(abi.S_COUNT);
  s[abi.S_RS] = rand() < 0.5 ? 1 : rand() * 2 - 1;
  s[abi.S_WD] = rand() * 0.1;
  s[abi.S_CLIP] = 0.5 + rand();
  s[abi.S_PRE] = 1 - rand() * 0.01;
  s[abi.S_PRE2] = rand() * 0.01;
  s[abi.S_B1] = 0.9;
  s[abi.S_C1] = 0.1;
  s[abi.S_B2] = 0.999;
  s[abi.S_C2] = 0.001;
  s[abi.S_BC1] = 0.1 + rand() * 0.9;
  s[abi.S_BC2] = 0.001 + rand() * 0.9;
  s[abi.S_R] = Math.sqrt(0.001 + rand() * 0.9);
  s[abi.S_EROOT] = rand() * 1e-8;
  s[abi.S_EPS] = rand() < 0.2 ? 1e-3 : 1e-8;
  s[abi.S_A] = -rand() * 0.01;
  s[abi.S_LAM] = rand() * 0.01;
  s[abi.S_K] = -rand() * 0.01;
  s[abi.S_POST] = -rand() * 0.01;
  return s;
}

const HOT = [abi.TORCH_ADAM, abi.TORCH_ADAM_L2, abi.TORCH_ADAMW].flatMap((f) => [f, f | abi.F_AMS, f | abi.F_SCALE]);
const rand0 = rng(7);
const COMBOS = [...HOT, ...HOT.map((f) => f | abi.F_FMA)];
for (let i = 0; i < 40; i++) COMBOS.push(ALL_FLAGS.reduce((acc, f) => (rand0() < 0.4 ? acc | f : acc), 0));
const LENGTHS = [...Array.from({ length: 68 }, (_, i) => i), 1000, 1001, 1002, 1003, 4099];

test("SIMD and scalar builds agree bit for bit: every stage combination, lengths 0-67 and 1000+", () => {
  const rand = rng(42);
  let cases = 0;
  for (const flags of COMBOS) {
    for (const n of LENGTHS) {
      const init = [
        randomArray(rand, n),
        randomArray(rand, n, 10),
        randomArray(rand, n, 0.1),
        randomArray(rand, n, 0.01).map(Math.abs),
        randomArray(rand, n, 0.01).map(Math.abs),
      ];
      // A few non-finite gradients exercise NaN and Inf propagation in both builds.
      if (n > 5 && rand() < 0.3) {
        init[1][1] = NaN;
        init[1][n - 1] = rand() < 0.5 ? Infinity : -Infinity;
      }
      const scalars = randomScalars(rand);
      const a = runKernel(simd, n, flags, init, scalars, 3);
      const b = runKernel(scalar, n, flags, init, scalars, 3);
      for (let j = 0; j < 5; j++) {
        const at = firstBitDiff(a[j], b[j]);
        assert.is(at, -1, `flags ${flags} n ${n} buffer ${j} differs at ${at}: ${a[j][at]} vs ${b[j][at]}`);
      }
      cases++;
    }
  }
  assert.ok(cases === COMBOS.length * LENGTHS.length);
});

test("the kernel actually moves the weights (a no-op build would agree with itself)", () => {
  const n = 37;
  const init = [new Float32Array(n).fill(1), new Float32Array(n).fill(0.5), new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const s = new Float32Array(abi.S_COUNT);
  s[abi.S_RS] = 1; s[abi.S_B1] = 0.9; s[abi.S_C1] = Math.fround(0.1); s[abi.S_B2] = 0.999; s[abi.S_C2] = Math.fround(0.001);
  s[abi.S_EPS] = 1e-8; s[abi.S_A] = Math.fround(-0.01 / 0.1); s[abi.S_R] = Math.fround(Math.sqrt(0.001));
  const f = Math.fround;
  // Hand-computed torch Adam step 1 from the README's op sequence.
  const m = f(f(0 * 0.9) + f(f(0.1) * 0.5));
  const v = f(f(0 * 0.999) + f(f(f(0.001) * 0.5) * 0.5));
  const den = f(f(f(Math.sqrt(v)) / f(Math.sqrt(0.001))) + f(1e-8));
  const p = f(1 + f(f(f(-0.01 / 0.1) * m) / den));
  for (const k of [simd, scalar]) {
    const [pp, , mm, vv] = runKernel(k, n, abi.TORCH_ADAM, init, s, 1);
    for (let i = 0; i < n; i++) {
      assert.is(pp[i], p);
      assert.is(mm[i], m);
      assert.is(vv[i], v);
    }
  }
});

test("the SIMD build really contains f32x4 code and the scalar build none", () => {
  const wat = readFileSync(new URL("../dist/fused_adam.simd.wat", import.meta.url), "utf8");
  const plain = readFileSync(new URL("../dist/fused_adam.wat", import.meta.url), "utf8");
  assert.ok(wat.includes("f32x4.sqrt") && wat.includes("f32x4.div"));
  assert.not.ok(/v128|f32x4/.test(plain));
  assert.is(simd.simd.value, 1);
  assert.is(scalar.simd.value, 0);
});

test.run();
