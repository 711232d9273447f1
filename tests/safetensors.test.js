// The safetensors codec and loadStateDict under random and corrupted bytes: truncations, huge header
// lengths, overlapping or out-of-range offsets, wrong dtypes and shapes, flipped bytes. Every case must end
// in either a complete load (the optimizer then holds exactly the file's values) or a FusedAdamError that
// leaves the optimizer exactly as it was: never another exception, a hang or a partial load.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Optimizer, FusedAdamError, encodeSafetensors, decodeSafetensors } from "../dist/src/index.js";
import { ready, firstBitDiff } from "./helpers.js";

await ready;
const RUNS = Number(process.env.FUZZ_RUNS ?? 100_000);

test("encode/decode round trip, including empty and zero-sized tensors", () => {
  const t = [["a", [2, 3], Float32Array.of(1, 2, 3, 4, 5, NaN)], ["empty", [0, 4], new Float32Array(0)], ["s", [], Float32Array.of(-0)]];
  const d = decodeSafetensors(encodeSafetensors(t, { k: "v" }));
  assert.equal(d.metadata, { k: "v" });
  assert.equal([...d.tensors.keys()].sort(), ["a", "empty", "s"]);
  assert.equal(d.tensors.get("empty").shape, [0, 4]);
  assert.is((8 + Number(new DataView(encodeSafetensors(t, {}).buffer).getBigUint64(0, true))) % 8, 0, "header padded to 8 bytes");
});

const make = () => {
  const opt = new Optimizer([{ name: "w", shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }, { name: "b", shape: [3] }], { amsgrad: true });
  opt.step({ w: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], b: [1, 2, 3] });
  return opt;
};
const source = make();
source.step({ w: [1, 1, 1, 1, 1, 1], b: [-1, 0, 1] });
const GOOD = source.stateDict();
const HEADER = JSON.parse(new TextDecoder().decode(GOOD.subarray(8, 8 + Number(new DataView(GOOD.buffer).getBigUint64(0, true)))));
const target = make();
const KINDS = ["data", "expAvg", "expAvgSq", "maxExpAvgSq"];
const snapshot = () => ({ p: target.params.map((p) => [p.step, ...KINDS.map((k) => p[k].slice())]), g: JSON.stringify(target.paramGroups) });

function rebuild(header, data) {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}
const DATA = GOOD.subarray(8 + Number(new DataView(GOOD.buffer).getBigUint64(0, true)));
const names = Object.keys(HEADER).filter((k) => k !== "__metadata__");

const mutation = fc.oneof(
  fc.nat({ max: GOOD.length }).map((n) => ({ kind: "truncate", bytes: GOOD.slice(0, n) })),
  fc.array(fc.tuple(fc.nat({ max: GOOD.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
    const b = GOOD.slice();
    for (const [i, v] of flips) b[i] = v;
    return { kind: "bytes", bytes: b };
  }),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((n) => {
    const b = GOOD.slice();
    new DataView(b.buffer).setBigUint64(0, n, true);
    return { kind: "header length", bytes: b };
  }),
  fc.tuple(fc.constantFrom(...names), fc.integer({ min: -8, max: 400 }), fc.integer({ min: -8, max: 400 })).map(([n, a, z]) => {
    const h = structuredClone(HEADER);
    h[n].data_offsets = [a, z];
    return { kind: "offsets", bytes: rebuild(h, DATA) };
  }),
  fc.tuple(fc.constantFrom(...names), fc.constantFrom("F16", "BF16", "F64", "I64", "U8", "BOOL", "X", 7)).map(([n, d]) => {
    const h = structuredClone(HEADER);
    h[n].dtype = d;
    return { kind: "dtype", bytes: rebuild(h, DATA) };
  }),
  fc.tuple(fc.constantFrom(...names), fc.array(fc.integer({ min: -1, max: 7 }), { maxLength: 3 })).map(([n, s]) => {
    const h = structuredClone(HEADER);
    h[n].shape = s;
    return { kind: "shape", bytes: rebuild(h, DATA) };
  }),
  fc.uint8Array({ maxLength: 300 }).map((b) => ({ kind: "random", bytes: b })),
  fc.tuple(fc.constantFrom("param_groups", "knobs", "format", "convention"), fc.string({ maxLength: 12 })).map(([k, v]) => {
    const h = structuredClone(HEADER);
    h.__metadata__[k] = v;
    return { kind: "metadata", bytes: rebuild(h, DATA) };
  }),
);

test(`${RUNS} corrupted checkpoints: a complete load or a clean error, never a crash, hang or partial load`, () => {
  let loaded = 0;
  let rejected = 0;
  fc.assert(
    fc.property(mutation, ({ kind, bytes }) => {
      const before = snapshot();
      try {
        target.loadStateDict(bytes);
      } catch (e) {
        if (!(e instanceof FusedAdamError)) throw new Error(`${kind}: ${e && e.stack}`);
        const after = snapshot();
        assert.equal(after, before, `${kind}: a rejected file changed the optimizer`);
        rejected++;
        return;
      }
      // Loaded: every tensor of the file is what the optimizer now holds.
      const d = decodeSafetensors(bytes);
      for (const p of target.params) {
        for (const [k, view] of [["exp_avg", p.expAvg], ["exp_avg_sq", p.expAvgSq], ["max_exp_avg_sq", p.maxExpAvgSq]]) {
          const e = d.tensors.get(`state.${p.name}.${k}`);
          const want = new Float32Array(bytes.slice(d.dataStart + e.begin, d.dataStart + e.end).buffer);
          assert.is(firstBitDiff(view, want), -1, `${kind}: ${p.name}.${k} partially loaded`);
        }
      }
      loaded++;
      target.loadStateDict(GOOD); // back to a known state for the next case
    }),
    { numRuns: RUNS, seed: 4242, endOnFailure: true },
  );
  assert.ok(rejected > RUNS / 2, `rejected ${rejected}`);
  assert.ok(loaded > 0, "some data-only corruptions load (they are valid files)");
  console.log(`  fuzz: ${RUNS} cases, ${rejected} rejected cleanly, ${loaded} loaded completely`);
});

test("a step count that would take forever to replay is handled at once (found by this fuzz)", () => {
  const d = decodeSafetensors(GOOD);
  const tensors = [...d.tensors].map(([n, e]) => {
    const a = new Float32Array(GOOD.slice(d.dataStart + e.begin, d.dataStart + e.end).buffer);
    if (n.endsWith(".step")) a[0] = 1e15;
    return [n, e.shape, a];
  });
  const opt = new Optimizer([{ name: "w", shape: [2, 3] }, { name: "b", shape: [3] }], { amsgrad: true, convention: { base: "torch-adamw", betaPower: "running-f32" } });
  const t0 = Date.now();
  assert.throws(() => opt.loadStateDict(encodeSafetensors(tensors, d.metadata)), /saved with convention/);
  const same = new Optimizer([{ name: "w", shape: [2, 3] }, { name: "b", shape: [3] }], { amsgrad: true });
  same.loadStateDict(encodeSafetensors(tensors, d.metadata));
  assert.is(same.param("w").step, Math.fround(1e15)); // step is a float32 tensor, as in torch
  const tf = new Optimizer([{ name: "w", shape: [3] }], { convention: "tf1-adam" });
  tf.loadState({ params: { w: { step: 2 ** 50 } } });
  tf.step({ w: [1, 1, 1] });
  assert.ok(tf.param("w").data.every(Number.isFinite));
  assert.ok(Date.now() - t0 < 2000, "no replay of 1e15 steps");
  opt.dispose();
  same.dispose();
  tf.dispose();
});

test.run();
