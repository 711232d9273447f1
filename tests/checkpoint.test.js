// Checkpoints: safetensors state and weights, resume equivalence for every convention, strict validation
// (a bad file changes nothing), and a real torch.optim.AdamW continuing from a file saved here.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Optimizer, conventions, encodeSafetensors, decodeSafetensors, FusedAdamError } from "../dist/src/index.js";
import { ready, rng, randomArray, firstBitDiff, tempDir } from "./helpers.js";
import { needs, TORCH } from "./needs.js";

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
        const bytes = good.slice(d.dataStart + e.begin, d.dataStart + e.end).buffer;
        const a = e.dtype === "F64" ? new Float64Array(bytes) : new Float32Array(bytes);
        if (n.endsWith(".step")) a[0] = 1.5;
        t.push([n, e.shape, a]);
      }
      return encodeSafetensors(t, d.metadata);
    })(), /step/],
  ];
  for (const [what, bytes, pattern] of cases) {
    let err;
    try {
      dst.loadStateDict(bytes);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof FusedAdamError, `${what}: expected a FusedAdamError, got ${err}`);
    assert.is(err.code, "BAD_CHECKPOINT", `${what}: ${err.message}`);
    assert.match(err.message, pattern, what); // names what is wrong
    assert.equal(snapshot(dst), before, `${what} changed the optimizer`);
  }
  src.dispose();
  other.dispose();
  dst.dispose();
});

// --- torch round trips ---------------------------------------------------------------------------

// The convention that reproduces the installed torch's single-tensor AdamW on ATen's scalar kernels
// (ATEN_CPU_CAPABILITY=default), by torch major version: torch 2 moves m with lerp_ (torch/optim/adam.py
// _single_tensor_adam), torch 1.13 with mul_/add_ (the 1.13 knob); x86 builds of torch 2 take Tensor.sqrt
// from MKL (the sqrt knob; checked on AVX-512 CPUs, golden/real/torch/README.md).
const ADAMW_FOR_TORCH = { 1: { base: "torch-adamw", torch: "1.13" }, 2: "torch-adamw", "2-mkl-avx512": { base: "torch-adamw", sqrt: "mkl" } };
let torchPreset;
function TORCH_CONVENTION() {
  if (torchPreset) return torchPreset;
  const probe = "import torch; b = torch.backends; print(torch.__version__, b.mkl.is_available() and b.cpu.get_cpu_capability() == 'AVX512')";
  const [version, mklAvx512] = execFileSync(TORCH.path, ["-c", probe], { encoding: "utf8" }).trim().split(" ");
  const major = version.split(".")[0];
  torchPreset = ADAMW_FOR_TORCH[major === "2" && mklAvx512 === "True" ? "2-mkl-avx512" : major];
  assert.ok(torchPreset, `no preset reproduces torch ${version}'s AdamW yet (ADAMW_FOR_TORCH)`);
  return torchPreset;
}
const ROUNDTRIP = fileURLToPath(new URL("./torch/roundtrip.py", import.meta.url));
const torchEnv = { ...process.env, ATEN_CPU_CAPABILITY: "default" };

function readAll(path) {
  const d = decodeSafetensors(new Uint8Array(readFileSync(path)));
  const get = (name) => {
    const e = d.tensors.get(name);
    assert.ok(e, `torch wrote no ${name}`);
    const bytes = d.bytes.slice(d.dataStart + e.begin, d.dataStart + e.end).buffer;
    return e.dtype === "F64" ? new Float64Array(bytes) : new Float32Array(bytes);
  };
  return { metadata: d.metadata, get };
}

/** Every weight and moment of `opt` against torch's file, bit for bit; torch's step count too. */
function sameAsTorch(out, opt, steps, what) {
  for (const p of opt.params) {
    assert.is(firstBitDiff(out.get(p.name), p.data), -1, `${what}: weights of ${p.name}`);
    assert.is(firstBitDiff(out.get(`state.${p.name}.exp_avg`), p.expAvg), -1, `${what}: exp_avg of ${p.name}`);
    assert.is(firstBitDiff(out.get(`state.${p.name}.exp_avg_sq`), p.expAvgSq), -1, `${what}: exp_avg_sq of ${p.name}`);
    if (p.maxExpAvgSq) assert.is(firstBitDiff(out.get(`state.${p.name}.max_exp_avg_sq`), p.maxExpAvgSq), -1, `${what}: max_exp_avg_sq of ${p.name}`);
    assert.is(out.get(`state.${p.name}.step`)[0], steps, `${what}: torch's step of ${p.name}`);
    assert.is(p.step, steps);
  }
}

/** Gradients for `count` steps as one file ("<k>.<name>"), and the same as a list of step(grads) arguments. */
function gradFile(opt, rand, count) {
  const list = Array.from({ length: count }, () => gradsFor(rand, opt));
  const tensors = list.flatMap((g, k) => Object.entries(g).map(([n, a]) => [`${k}.${n}`, opt.param(n).shape, a]));
  return { list, bytes: encodeSafetensors(tensors, {}) };
}

needs(TORCH)("fused-adam -> torch 2.13: a stateDict() loads into AdamW.load_state_dict and both continue bit for bit", () => {
  const dir = tempDir("fused-adam-torch-");
  const rand = rng(21);
  for (const amsgrad of [false, true]) {
    const opt = make(TORCH_CONVENTION(), 8, { amsgrad });
    for (let k = 0; k < 3; k++) opt.step(gradsFor(rand, opt));
    writeFileSync(join(dir, "state.safetensors"), opt.stateDict());
    writeFileSync(join(dir, "weights.safetensors"), opt.saveWeights());
    const more = gradFile(opt, rand, 4);
    writeFileSync(join(dir, "grads.safetensors"), more.bytes);
    for (const g of more.list) opt.step(g);
    execFileSync(TORCH.path, [ROUNDTRIP, "continue", ...["state", "weights", "grads", "out"].map((f) => join(dir, `${f}.safetensors`))], { env: torchEnv });
    const out = readAll(join(dir, "out.safetensors"));
    assert.is(out.metadata.steps, "4");
    sameAsTorch(out, opt, 7, `amsgrad ${amsgrad}`);
    opt.dispose();
  }
});

needs(TORCH)("torch 2.13 -> fused-adam: torch's state_dict (float32 step, converted to safetensors) loads and both continue bit for bit", () => {
  const dir = tempDir("fused-adam-torch-");
  const rand = rng(31);
  for (const amsgrad of [false, true]) {
    const template = make(TORCH_CONVENTION(), 4, { amsgrad });
    const grads = gradFile(template, rand, 7);
    writeFileSync(join(dir, "template.safetensors"), template.stateDict());
    writeFileSync(join(dir, "init.safetensors"), template.saveWeights());
    writeFileSync(join(dir, "grads.safetensors"), grads.bytes);
    const files = ["state", "weights", "out"].map((f) => join(dir, `${f}.safetensors`));
    execFileSync(TORCH.path, [ROUNDTRIP, "export", join(dir, "template.safetensors"), join(dir, "init.safetensors"), join(dir, "grads.safetensors"), "3", ...files], { env: torchEnv });
    const resumed = make(TORCH_CONVENTION(), 99, { amsgrad }); // other weights: everything comes from torch's files
    resumed.loadWeights(new Uint8Array(readFileSync(files[1])));
    resumed.loadStateDict(new Uint8Array(readFileSync(files[0])));
    assert.is(resumed.param("enc.weight").step, 3);
    for (const g of grads.list.slice(3)) resumed.step(g);
    const out = readAll(files[2]);
    assert.is(out.metadata.steps, "4");
    sameAsTorch(out, resumed, 7, `amsgrad ${amsgrad}`);
    template.dispose();
    resumed.dispose();
  }
});

test.run();
