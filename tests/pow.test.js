// powi against an independent exact reference: the power computed in BigInt and rounded to the nearest
// double (ties to even), which is what a correctly rounded pow returns.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { powi } from "../dist/src/index.js";

function exactPow(b, t) {
  // b = M * 2^E with M an integer.
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, b);
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const exp = (hi >>> 20) & 0x7ff;
  let M = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let E = exp - 1075;
  if (exp) M |= 1n << 52n;
  else E = -1074;
  let P = M ** BigInt(t);
  let shift = P.toString(2).length - 53;
  let e = E * t;
  if (shift > 0) {
    const q = P >> BigInt(shift);
    const r = P - (q << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    P = r > half || (r === half && (q & 1n)) ? q + 1n : q;
    e += shift;
  }
  return Number(P) * 2 ** e;
}

test("powi is correctly rounded where Math.pow is not", () => {
  let mathPowOff = 0;
  for (const b of [0.9, 0.999, 0.99, 0.95, 0.98, 0.8, 0.5, 0.75, Math.fround(0.9), Math.fround(0.999), 0.123456789]) {
    for (let t = 0; t <= 300; t++) {
      const want = exactPow(b, t);
      assert.is(powi(b, t), want, `${b} ** ${t}`);
      if (Math.pow(b, t) !== want) mathPowOff++;
    }
  }
  // The reason powi exists: V8's Math.pow misses on a good share of these.
  assert.ok(mathPowOff > 50, `Math.pow differed on ${mathPowOff} cases`);
});

test("a run of steps (each power one product from the last) gives binary powering's bits", () => {
  const T = 100000;
  for (const b of [0.9, 0.999, 0.99, 0.9999, 0.95, Math.fround(0.999), Math.fround(0.9)]) {
    // Descending t never follows t - 1, so every power is taken by binary powering.
    const want = new Float64Array(T + 1);
    for (let t = T; t >= 1; t--) want[t] = powi(b, t);
    for (let t = 1; t <= T; t++) if (powi(b, t) !== want[t]) assert.unreachable(`${b} ** ${t}: ${powi(b, t)} vs ${want[t]}`);
    // And a few against the exact power, deep into the run.
    for (const t of [1000, 4097, 20000]) assert.is(want[t], exactPow(b, t), `${b} ** ${t}`);
  }
});

test("python's value of 0.9 ** 4 (0.6561), which V8's Math.pow misses by one ulp", () => {
  assert.is(powi(0.9, 4), 0.6561);
});

test("powi rejects a fractional or negative exponent", () => {
  assert.throws(() => powi(0.9, 1.5), (e) => e.code === "BAD_OPTION");
  assert.throws(() => powi(0.9, -1), (e) => e.code === "BAD_OPTION");
});

test.run();
