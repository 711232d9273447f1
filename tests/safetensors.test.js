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

// The fuzzed optimizer: two groups, amsgrad and a loss scaler, so that every part of the state file
// (group values, loss scale, knobs, step counts, names) is there to be corrupted.
const make = () => {
  const opt = new Optimizer(
    [{ params: [{ name: "w", shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }] }, { params: [{ name: "b", shape: [3] }], weightDecay: 0, lr: 0.01 }],
    { amsgrad: true, lossScale: { init: 1024, growthInterval: 3 } },
  );
  opt.step({ w: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], b: [1, 2, 3] });
  return opt;
};
const source = make();
source.step({ w: [1, 1, 1, 1, 1, 1], b: [-1, 0, 1] });
const GOOD = source.stateDict();
const HEADER = JSON.parse(new TextDecoder().decode(GOOD.subarray(8, 8 + Number(new DataView(GOOD.buffer).getBigUint64(0, true)))));
const target = make();
const WEIGHTS = target.saveWeights();
const GRADS = { w: [0.3, -0.2, 0.1, 0, 0.5, -1], b: [0.25, 0.5, -0.75] };
const KINDS = ["data", "expAvg", "expAvgSq", "maxExpAvgSq"];
const snapshot = () => ({
  p: target.params.map((p) => [p.step, ...KINDS.map((k) => p[k].slice())]),
  g: JSON.stringify(target.paramGroups),
  s: [target.scaler.scale, target.scaler.growthTracker],
});

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
const META = HEADER.__metadata__;

/** GOOD with one tensor's bytes replaced (dtype and data); the other tensors keep theirs, offsets re-tiled. */
function withTensor(name, dtype, bytes) {
  const h = structuredClone(HEADER);
  const parts = [];
  let at = 0;
  for (const n of Object.keys(h).filter((k) => k !== "__metadata__").sort((x, y) => h[x].data_offsets[0] - h[y].data_offsets[0])) {
    const [b, e] = HEADER[n].data_offsets;
    const data = n === name ? bytes : DATA.subarray(b, e);
    if (n === name) h[n].dtype = dtype;
    h[n].data_offsets = [at, at + data.length];
    at += data.length;
    parts.push(data);
  }
  const all = new Uint8Array(at);
  let o = 0;
  for (const p of parts) (all.set(p, o), (o += p.length));
  return rebuild(h, all);
}
function scalarBytes(dtype, v) {
  const b = new Uint8Array(dtype === "F32" ? 4 : 8);
  const dv = new DataView(b.buffer);
  if (dtype === "F64") dv.setFloat64(0, v, true);
  else if (dtype === "F32") dv.setFloat32(0, v, true);
  else dv.setBigInt64(0, BigInt.asIntN(64, BigInt(Number.isFinite(v) ? Math.trunc(v) : 0)), true);
  return b;
}
const withMeta = (edit) => {
  const h = structuredClone(HEADER);
  edit(h.__metadata__);
  return rebuild(h, DATA);
};

// Values that test each check: out of range, not float32-representable, wrong types, missing.
const ODD = [-1, 0, 1, 2, 0.5, -0, 1e-50, 1e-45, 1e-38, 1e39, 3e38, 1e300, 0.99999999, 0.99999994, 1.5, "abc", "", true, null, [], {}, [0.9], [1, 0.999], [0.99999999, 0.9], [0.9, 0.999, 0.5], 2 ** 53, 2 ** 53 + 2, 1e15];
const GROUP_KEYS = Object.keys(JSON.parse(META.param_groups)[0]);
const KNOB_KEYS = Object.keys(JSON.parse(META.knobs));
const KNOB_VALUES = ["none", "l2", "decoupled", "pow", "running-f32", "f32", "f64", "torch", "hat", true, false, null, 1];
const STEP_NAMES = names.filter((n) => n.endsWith(".step"));
const odd = fc.constantFrom(...ODD);

const valueMutation = fc.oneof(
  fc.tuple(fc.nat({ max: 1 }), fc.constantFrom(...GROUP_KEYS), odd, fc.boolean()).map(([i, k, v, drop]) => ({
    kind: `group ${i}.${k}`,
    bytes: withMeta((m) => {
      const g = JSON.parse(m.param_groups);
      if (drop && v === null) delete g[i][k];
      else g[i][k] = k === "params" && typeof v === "string" ? [v] : v;
      m.param_groups = JSON.stringify(g);
    }),
  })),
  fc.tuple(fc.nat({ max: 1 }), fc.constantFrom("w", "b", "__proto__", "constructor", "x", "")).map(([i, n]) => ({
    kind: "group params",
    bytes: withMeta((m) => {
      const g = JSON.parse(m.param_groups);
      g[i].params = [n];
      m.param_groups = JSON.stringify(g);
    }),
  })),
  fc.tuple(odd, fc.constantFrom(0, 1, 2, 3, -1, 1.5, "1", null)).map(([scale, tracker]) => ({
    kind: "loss scale",
    bytes: withMeta((m) => (m.loss_scale = JSON.stringify({ scale, growth_tracker: tracker }))),
  })),
  fc.constantFrom("null", "[]", "1", '{"scale":1e400,"growth_tracker":0}', '{"scale":65536}', "{").map((v) => ({ kind: "loss scale text", bytes: withMeta((m) => (m.loss_scale = v)) })),
  fc.tuple(fc.constantFrom(...KNOB_KEYS), fc.constantFrom(...KNOB_VALUES), fc.boolean()).map(([k, v, drop]) => ({
    kind: `knob ${k}`,
    bytes: withMeta((m) => {
      const knobs = JSON.parse(m.knobs);
      if (drop) delete knobs[k];
      else knobs[k] = v;
      m.knobs = JSON.stringify(knobs);
    }),
  })),
  fc.tuple(fc.constantFrom(...STEP_NAMES), fc.constantFrom("F64", "F32", "I64"), fc.constantFrom(0, 1, 2, 7, 2 ** 24 + 1, 2 ** 31 + 1, 2 ** 53, 2 ** 53 + 2, -1, 1.5, NaN, Infinity, 1e15)).map(([n, dtype, v]) => ({
    kind: `step ${dtype} ${v}`,
    bytes: withTensor(n, dtype, scalarBytes(dtype, v)),
  })),
  fc.tuple(fc.constantFrom(...names), fc.constantFrom("state.__proto__.step", "state.constructor.exp_avg", "__proto__", "toString", "state.w.exp_avg ", "state.b.step")).map(([from, to]) => {
    const h = structuredClone(HEADER);
    const e = h[from];
    delete h[from];
    h[to] = e;
    return { kind: "tensor name", bytes: rebuild(h, DATA) };
  }),
);

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
  valueMutation,
  valueMutation,
);

test(`${RUNS} corrupted checkpoints: a complete load or a clean error, never a crash, hang or partial load`, () => {
  let loaded = 0;
  let rejected = 0;
  const byKind = new Map(); // kind (without its value) -> [loaded, rejected]
  const count = (kind, i) => {
    const k = kind.replace(/ .*$/, "");
    const c = byKind.get(k) ?? [0, 0];
    c[i]++;
    byKind.set(k, c);
  };
  fc.assert(
    fc.property(mutation, ({ kind, bytes }) => {
      const before = snapshot();
      try {
        target.loadStateDict(bytes);
      } catch (e) {
        if (!(e instanceof FusedAdamError) || e.code !== "BAD_CHECKPOINT") throw new Error(`${kind}: ${e && e.stack}`);
        const after = snapshot();
        assert.equal(after, before, `${kind}: a rejected file changed the optimizer`);
        rejected++;
        count(kind, 1);
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
      // And a file that loads can step (its values passed the constructor's checks, and the next
      // step's float32 scalars were computed before it was accepted); at the step limit, 2^53, the
      // step refuses with STEP_LIMIT and changes nothing.
      if (target.params.some((p) => p.step === 2 ** 53)) {
        const atLimit = snapshot();
        assert.throws(() => target.step(GRADS), (e) => e.code === "STEP_LIMIT", kind);
        assert.equal(snapshot(), atLimit, `${kind}: a refused step changed the optimizer`);
      } else target.step(GRADS);
      loaded++;
      count(kind, 0);
      target.loadStateDict(GOOD); // back to a known state for the next case
      target.loadWeights(WEIGHTS);
    }),
    { numRuns: RUNS, seed: 4242, endOnFailure: true },
  );
  assert.ok(rejected > RUNS / 2, `rejected ${rejected}`);
  assert.ok(loaded > 0, "some data-only corruptions load (they are valid files)");
  for (const k of ["group", "loss", "knob", "step"]) {
    const [l, r] = byKind.get(k) ?? [0, 0];
    assert.ok(l > 0 && r > 0, `value mutations of ${k}: ${l} loaded, ${r} rejected (both must happen)`);
  }
  console.log(`  fuzz: ${RUNS} cases, ${rejected} rejected cleanly, ${loaded} loaded completely and stepped; ${JSON.stringify(Object.fromEntries(byKind))}`);
});

test("a torch-style float32 step of 1e15 loads at once, and a running-power convention steps from 2^50", () => {
  const f32 = withTensor("state.w.step", "F32", scalarBytes("F32", 1e15));
  const other = new Optimizer([{ params: [{ name: "w", shape: [2, 3] }] }, { params: [{ name: "b", shape: [3] }] }], { amsgrad: true, lossScale: true, convention: { base: "torch-adamw", betaPower: "running-f32" } });
  assert.throws(() => other.loadStateDict(f32), (e) => e.code === "BAD_CHECKPOINT" && /betaPower/.test(e.message));
  const same = make();
  same.loadStateDict(f32);
  assert.is(same.param("w").step, Math.fround(1e15)); // a float32 step, as torch 2.x writes it
  const tf = new Optimizer([{ name: "w", shape: [3] }], { convention: "tf1-adam" });
  tf.loadState({ params: { w: { step: 2 ** 50 } } });
  tf.step({ w: [1, 1, 1] });
  assert.ok(tf.param("w").data.every(Number.isFinite));
  other.dispose();
  same.dispose();
  tf.dispose();
});

test.run();
