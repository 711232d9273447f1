// Checkpoints: safetensors state and weights, resume equivalence for every convention, strict validation
// (a bad file changes nothing), and a real torch.optim.AdamW continuing from a file saved here.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Optimizer, conventions, encodeSafetensors, decodeSafetensors, FusedAdamError } from "../dist/src/index.js";
import { ready, rng, randomArray, firstBitDiff, ensureTorch, PY } from "./helpers.js";

await ready;

const SHAPES = [["enc.weight", [4, 5]], ["enc.bias", [5]], ["LayerNorm.weight", [3]], ["head_weight", [7]]];

function make(convention, seed, extra = {}) {
  const rand = rng(seed);
  return new Optimizer(
    [
      { params: SHAPES.slice(0, 2).map(([name, shape]) => ({ name, shape, data: randomArray(rand, shape.reduce((a, b) => a * b, 1)) })) },
      { params: SHAPES.slice(2).map(([name, shape]) => ({ name, shape, data: randomArray(rand, shape.reduce((a, b) => a * b, 1)) })), lr: 0.003, weightDecay: 0.05 },
    ],
    { convention, lr: 0.01, weightDecay: 0.02, amsgrad: true, ...extra },
  );
}

function gradsFor(rand, opt) {
  return Object.fromEntries(opt.params.map((p) => [p.name, randomArray(rand, p.size)]));
}

const KINDS = ["data", "expAvg", "expAvgSq", "maxExpAvgSq"];

test("resume equivalence, bit for bit, for every convention: N straight = k, save, load fresh, N-k", () => {
  for (const name of Object.keys(conventions)) {
    for (const extra of [{}, { clipGradNorm: 1.0 }, { lossScale: { init: 1024, growthInterval: 2 } }]) {
      const rand = rng(11);
      const straight = make(name, 3, extra);
      const grads = Array.from({ length: 9 }, () => gradsFor(rand, straight));
      for (const g of grads) straight.step(g);
      const first = make(name, 3, extra);
      for (const g of grads.slice(0, 4)) first.step(g);
      const state = first.stateDict();
      const weights = first.saveWeights();
      first.dispose();
      const resumed = make(name, 99, extra); // other initial weights: everything must come from the files
      resumed.loadWeights(weights);
      resumed.loadStateDict(state);
      for (const g of grads.slice(4)) resumed.step(g);
      for (const p of straight.params) {
        const q = resumed.param(p.name);
        assert.is(q.step, p.step);
        for (const k of KINDS) assert.is(firstBitDiff(q[k], p[k]), -1, `${name} ${JSON.stringify(extra)} ${p.name}.${k}`);
      }
      if (extra.lossScale) assert.is(resumed.scaler.scale, straight.scaler.scale);
      straight.dispose();
      resumed.dispose();
    }
  }
});

test("the state file uses PyTorch's names and keeps groups and convention in __metadata__", () => {
  const opt = make("torch-adamw", 1);
  opt.step(gradsFor(rng(2), opt));
  const d = decodeSafetensors(opt.stateDict());
  assert.ok(d.tensors.has("state.enc.weight.exp_avg"));
  assert.ok(d.tensors.has("state.enc.weight.exp_avg_sq"));
  assert.ok(d.tensors.has("state.enc.weight.max_exp_avg_sq"));
  assert.equal(d.tensors.get("state.enc.weight.step").shape, []);
  assert.equal(d.tensors.get("state.enc.weight.exp_avg").shape, [4, 5]);
  assert.is(d.metadata.convention, "torch-adamw");
  const groups = JSON.parse(d.metadata.param_groups);
  assert.equal(groups.map((g) => g.params), [["enc.weight", "enc.bias"], ["LayerNorm.weight", "head_weight"]]);
  assert.is(groups[1].lr, 0.003);
  opt.dispose();
});

function snapshot(opt) {
  return opt.params.map((p) => [p.step, ...KINDS.map((k) => p[k].slice())]).concat([JSON.stringify(opt.paramGroups)]);
}

test("a bad file is rejected before anything changes", () => {
  const src = make("torch-adamw", 1);
  src.step(gradsFor(rng(2), src));
  const good = src.stateDict();
  const other = make("bert", 1);
  const dst = make("torch-adamw", 5);
  dst.step(gradsFor(rng(6), dst));
  const before = snapshot(dst);
  const header = Number(new DataView(good.buffer).getBigUint64(0, true));
  const patchHeader = (fn) => {
    const d = decodeSafetensors(good);
    const json = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + header)));
    fn(json, d);
    let h = new TextEncoder().encode(JSON.stringify(json));
    const pad = Math.ceil(h.length / 8) * 8;
    const out = new Uint8Array(8 + pad + (good.length - 8 - header));
    new DataView(out.buffer).setBigUint64(0, BigInt(pad), true);
    out.set(h, 8);
    out.fill(32, 8 + h.length, 8 + pad);
    out.set(good.subarray(8 + header), 8 + pad);
    return out;
  };
  const cases = [
    ["truncated", good.subarray(0, good.length - 3), /data section|cover/],
    ["empty", new Uint8Array(0), /too short/],
    ["huge header length", (() => { const b = good.slice(); new DataView(b.buffer).setBigUint64(0, 2n ** 62n, true); return b; })(), /exceeds/],
    ["header past the end", (() => { const b = good.slice(); new DataView(b.buffer).setBigUint64(0, BigInt(good.length), true); return b; })(), /runs past the end/],
    ["not JSON", (() => { const b = good.slice(); b[8] = 0x7b; b[9] = 0x7b; return b; })(), /not valid UTF-8 JSON/],
    ["another convention", other.stateDict(), /saved with convention "bert"/],
    ["wrong dtype", patchHeader((j) => (j["state.enc.bias.exp_avg"].dtype = "F16")), /needs 10 bytes|is F16/],
    ["overlapping offsets", patchHeader((j) => (j["state.enc.bias.exp_avg"].data_offsets = j["state.enc.weight.exp_avg"].data_offsets)), /needs|starts at byte|overlapping/],
    ["out-of-range offsets", patchHeader((j) => (j["state.enc.bias.exp_avg"].data_offsets = [1e9, 1e9 + 20])), /outside/],
    ["wrong shape", patchHeader((j) => { j["state.enc.weight.exp_avg"].shape = [5, 4]; }), /shape \[5, 4\]/],
    ["unknown tensor", encodeSafetensors([["state.nope.exp_avg", [1], new Float32Array(1)]], decodeSafetensors(good).metadata), /no tensor|does not belong/],
    ["fractional step", (() => {
      const t = [];
      const d = decodeSafetensors(good);
      for (const [n, e] of d.tensors) {
        const a = new Float32Array(good.slice(d.dataStart + e.begin, d.dataStart + e.end).buffer);
        if (n.endsWith(".step")) a[0] = 1.5;
        t.push([n, e.shape, a]);
      }
      return encodeSafetensors(t, d.metadata);
    })(), /step" is 1.5/],
  ];
  for (const [what, bytes, pattern] of cases) {
    let err;
    try {
      dst.loadStateDict(bytes);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof FusedAdamError, `${what}: expected a FusedAdamError, got ${err}`);
    assert.match(err.message, pattern, what);
    assert.equal(snapshot(dst), before, `${what} changed the optimizer`);
  }
  src.dispose();
  other.dispose();
  dst.dispose();
});

// --- torch round trip ----------------------------------------------------------------------------

const haveTorch = ensureTorch("the torch round-trip test");

(haveTorch ? test : test.skip)("a state saved here loads into torch.optim.AdamW.load_state_dict and continues with the same numbers", () => {
  const dir = mkdtempSync(join(tmpdir(), "fused-adam-torch-"));
  const rand = rng(21);
  for (const amsgrad of [false, true]) {
    const opt = make("torch-adamw", 8, { amsgrad });
    for (let k = 0; k < 3; k++) opt.step(gradsFor(rand, opt));
    writeFileSync(join(dir, "state.safetensors"), opt.stateDict());
    writeFileSync(join(dir, "weights.safetensors"), opt.saveWeights());
    const more = [];
    for (let k = 0; k < 4; k++) {
      const g = gradsFor(rand, opt);
      for (const [n, a] of Object.entries(g)) more.push([`${k}.${n}`, opt.param(n).shape, a]);
      opt.step(g);
    }
    writeFileSync(join(dir, "grads.safetensors"), encodeSafetensors(more, {}));
    // ATen's scalar kernels round every op, as fused-adam's default torch conventions do.
    execFileSync(PY, [fileURLToPath(new URL("./torch/roundtrip.py", import.meta.url)), ...["state", "weights", "grads", "out"].map((f) => join(dir, `${f}.safetensors`))], {
      env: { ...process.env, ATEN_CPU_CAPABILITY: "default" },
    });
    const out = decodeSafetensors(new Uint8Array(readFileSync(join(dir, "out.safetensors"))));
    const read = (name) => {
      const e = out.tensors.get(name);
      assert.ok(e, `torch wrote no ${name}`);
      return new Float32Array(out.bytes.slice(out.dataStart + e.begin, out.dataStart + e.end).buffer);
    };
    assert.is(out.metadata.steps, "4");
    for (const p of opt.params) {
      assert.is(firstBitDiff(read(p.name), p.data), -1, `weights of ${p.name}`);
      assert.is(firstBitDiff(read(`state.${p.name}.exp_avg`), p.expAvg), -1);
      assert.is(firstBitDiff(read(`state.${p.name}.exp_avg_sq`), p.expAvgSq), -1);
      if (amsgrad) assert.is(firstBitDiff(read(`state.${p.name}.max_exp_avg_sq`), p.maxExpAvgSq), -1);
      assert.is(read(`state.${p.name}.step`)[0], 7);
    }
    opt.dispose();
  }
});

test.run();
