// Non-finite gradients: propagate (torch), skip (nothing changes, step() says so), throw; and dynamic loss
// scaling like torch's GradScaler.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Optimizer, FusedAdamError } from "../dist/src/index.js";
import { ready, rng, randomArray, firstBitDiff } from "./helpers.js";

await ready;

function make(extra, warm = true) {
  const rand = rng(4);
  const opt = new Optimizer(
    [
      { name: "a", shape: [37], data: randomArray(rand, 37) },
      { name: "b", shape: [5], data: randomArray(rand, 5) },
    ],
    { amsgrad: true, ...extra },
  );
  if (warm) opt.step({ a: randomArray(rand, 37), b: randomArray(rand, 5) });
  return opt;
}

const snap = (opt) => opt.params.map((p) => [p.step, p.data.slice(), p.expAvg.slice(), p.expAvgSq.slice(), p.maxExpAvgSq.slice()]);
function same(opt, s) {
  opt.params.forEach((p, i) => {
    assert.is(p.step, s[i][0]);
    [p.data, p.expAvg, p.expAvgSq, p.maxExpAvgSq].forEach((a, j) => assert.is(firstBitDiff(a, s[i][j + 1]), -1, `${p.name} ${j}`));
  });
}
const badGrads = (what) => {
  const a = new Float32Array(37).fill(0.1);
  a[36] = what; // in the scalar tail of the SIMD loop
  return { a, b: new Float32Array(5).fill(0.2) };
};

test("skip: a NaN or infinite gradient element skips the whole step and nothing changes", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    for (const extra of [{ nonFinite: "skip" }, { nonFinite: "skip", clipGradNorm: 1 }]) {
      const opt = make(extra);
      const s = snap(opt);
      const r = opt.step(badGrads(bad));
      assert.ok(r.skipped && r.nonFinite);
      same(opt, s);
      const ok = opt.step(badGrads(0.5));
      assert.not.ok(ok.skipped);
      assert.is(opt.param("a").step, 2);
      opt.dispose();
    }
  }
});

test("a finite gradient whose square overflows float32 is not mistaken for non-finite", () => {
  const opt = make({ nonFinite: "skip" });
  const r = opt.step(badGrads(3e30));
  assert.not.ok(r.skipped);
  assert.not.ok(r.nonFinite);
  assert.is(r.totalNorm, Infinity);
  assert.is(opt.param("a").step, 2);
  opt.dispose();
});

test("throw: an error naming the parameters with non-finite gradients, and nothing changes", () => {
  const opt = make({ nonFinite: "throw" });
  const s = snap(opt);
  let err;
  try {
    opt.step(badGrads(NaN));
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof FusedAdamError);
  assert.is(err.code, "NON_FINITE");
  assert.ok(err.message.includes('"a"'), err.message);
  same(opt, s);
  opt.dispose();
});

test("propagate (default, torch): NaN flows into that element only", () => {
  const opt = make({});
  opt.step(badGrads(NaN));
  const a = opt.param("a");
  assert.ok(Number.isNaN(a.data[36]) && Number.isNaN(a.expAvg[36]));
  assert.ok(a.data.subarray(0, 36).every(Number.isFinite));
  assert.ok(opt.param("b").data.every(Number.isFinite));
  opt.dispose();
});

test("loss scaling: scaled gradients give the unscaled run's bits; overflow skips and backs off; growth", () => {
  const rand = rng(8);
  const grads = Array.from({ length: 6 }, () => ({ a: randomArray(rand, 37), b: randomArray(rand, 5) }));
  const plain = make({}, false);
  const scaled = make({ lossScale: { init: 1024, growthInterval: 3 } }, false);
  assert.is(scaled.scaler.scale, 1024);
  for (let k = 0; k < grads.length; k++) {
    const s = scaled.scaler.scale;
    const g = grads[k];
    plain.step(g);
    const r = scaled.step({ a: g.a.map((x) => x * s), b: g.b.map((x) => x * s) });
    assert.not.ok(r.skipped);
    assert.is(r.lossScale, scaled.scaler.scale);
  }
  for (const p of plain.params) assert.is(firstBitDiff(p.data, scaled.param(p.name).data), -1);
  // 6 clean steps with growthInterval 3: 1024 -> 2048 -> 4096.
  assert.is(scaled.scaler.scale, 4096);
  const before = snap(scaled);
  const r = scaled.step(badGrads(Infinity));
  assert.ok(r.skipped);
  assert.is(scaled.scaler.scale, 2048);
  assert.is(scaled.scaler.growthTracker, 0);
  same(scaled, before);
  plain.dispose();
  scaled.dispose();
});

test.run();
