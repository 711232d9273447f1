// Conventions: knobs express frameworks we did not name (and reproduce named ones), one name-rule
// mechanism for every preset, and the decay report.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Optimizer, FusedAdamError, conventions, noDecayFor1dAndBias } from "../dist/src/index.js";
import { ready, rng, randomArray, firstBitDiff } from "./helpers.js";

await ready;

function run(convention, options = {}) {
  const rand = rng(17);
  const opt = new Optimizer([{ name: "w", shape: [9, 7], data: randomArray(rand, 63) }, { name: "b", shape: [7], data: randomArray(rand, 7) }], {
    convention, lr: 0.01, weightDecay: 0.05, ...options,
  });
  for (let s = 0; s < 5; s++) opt.step({ w: randomArray(rand, 63), b: randomArray(rand, 7) });
  const out = opt.params.map((p) => p.data.slice());
  opt.dispose();
  return out;
}

test("knobs over one preset reproduce another preset bit for bit", () => {
  const same = (a, b) => a.every((x, i) => firstBitDiff(x, b[i]) === -1);
  // HuggingFace AdamW written as knobs over PyTorch AdamW.
  const hf = run("hf-adamw", { eps: 1e-6 });
  const knobs = run({ base: "torch-adamw", torch: "1.13", eps: "hat", alpha: "f64-ltr", decay: "after" }, { eps: 1e-6 });
  assert.ok(same(hf, knobs));
  // ... and they do differ from PyTorch AdamW itself.
  assert.not.ok(same(hf, run("torch-adamw", { eps: 1e-6 })));
  // tensorflow_addons AdamW is TF1's step with decay subtracted, unscaled, before it.
  assert.ok(same(run("tfa-adamw", { eps: 1e-7 }), run({ base: "tf1-adam", decay: "subtract", decayScale: "none", betaPower: "pow-f32" }, { eps: 1e-7 })));
});

test("every preset documents its math and the file it reproduces", () => {
  for (const p of Object.values(conventions)) {
    assert.ok(p.math.length > 10 && p.source.length > 10 && p.title.length > 3, p.name);
  }
  assert.ok(Object.keys(conventions).length >= 15);
});

test("one name-rule mechanism: BERT's regexes, MXNet's suffixes, a predicate, and the 1-D/bias rule", () => {
  const names = [["bert/layer_0/kernel", [4, 4]], ["bert/layer_0/bias", [4]], ["bert/LayerNorm/gamma", [4]], ["fc1_weight", [4, 4]], ["bn1_gamma", [4]], ["fc1_bias", [4]]];
  const specs = names.map(([name, shape]) => ({ name, shape }));
  const decayed = (opts) => {
    const o = new Optimizer(specs, opts);
    const r = o.params.filter((p) => p.decays).map((p) => p.name);
    o.dispose();
    return r;
  };
  assert.equal(decayed({ convention: "bert" }), ["bert/layer_0/kernel", "fc1_weight", "bn1_gamma"]);
  assert.equal(decayed({ convention: "mxnet07-adam" }), ["fc1_weight", "bn1_gamma"]);
  assert.equal(decayed({ convention: "mxnet-adam" }), ["fc1_weight"]);
  assert.equal(decayed({ decayRule: noDecayFor1dAndBias }), ["bert/layer_0/kernel", "fc1_weight"]);
  assert.equal(decayed({ convention: "bert", decayRule: { exclude: [/gamma$/] } }), ["bert/layer_0/kernel", "bert/layer_0/bias", "fc1_weight", "fc1_bias"]);
});

test("the decay report shows what decays and which patterns matched nothing", () => {
  const opt = new Optimizer([{ name: "h.0.attn.c_attn.weight", shape: [4, 4] }, { name: "h.0.ln_1.weight", shape: [4] }, { name: "h.0.attn.c_attn.bias", shape: [4] }], { convention: "bert" });
  const r = opt.decayReport();
  assert.equal(r.decayed, ["h.0.attn.c_attn.weight", "h.0.ln_1.weight"]);
  assert.equal(r.excluded, ["h.0.attn.c_attn.bias"]);
  assert.equal(r.unmatchedPatterns, ["LayerNorm", "layer_norm"], "GPT-2 calls its norms ln_1: BERT's patterns miss them");
  opt.dispose();
});

test("a parameter with decayMult 0 does not decay", () => {
  const opt = new Optimizer([{ name: "w", shape: [2], decayMult: 0 }, { name: "v", shape: [2], decayMult: 2 }], { convention: "caffe-adam" });
  assert.equal(opt.params.map((p) => p.decays), [false, true]);
  opt.dispose();
});

test("the torch version and impl knobs: validated, and what each changes", () => {
  const reject = (convention, pattern) => {
    let err;
    try {
      new Optimizer([{ name: "w", shape: [3] }], { convention }).dispose();
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof FusedAdamError, `${JSON.stringify(convention)}: ${err}`);
    assert.match(err.message, pattern);
  };
  reject({ base: "torch-adamw", torch: "1.12" }, /convention\.torch: "1\.12" is not one of "2\.13", "1\.13"/);
  reject({ base: "torch-adamw", impl: "gpu" }, /convention\.impl: "gpu" is not one of/);
  reject({ base: "torch-adamw", torch: "1.13", impl: "fused" }, /convention\.impl: "fused" is a torch 2\.x implementation/);
  reject({ base: "hf-adamw", impl: "foreach" }, /convention\.impl: "foreach" .* moments "torch"/);
  reject({ base: "torch-adamw", sqrt: "fast" }, /convention\.sqrt: "fast" is not one of "ieee", "mkl"/);
  // The version knob leaves a preset's own first moment alone (TF's m += (g-m)*(1-b1)).
  const tf = new Optimizer([{ name: "w", shape: [1] }], { convention: { base: "tf1-adam", torch: "2.13" } });
  assert.is(tf.convention.moments, "tf");
  tf.dispose();

  const bits = (convention) => {
    const rand = rng(5);
    const opt = new Optimizer([{ name: "w", shape: [37], data: randomArray(rand, 37) }], { convention, lr: 0.01, weightDecay: 0.1 });
    for (let s = 0; s < 4; s++) opt.step({ w: randomArray(rand, 37) });
    const out = [opt.param("w").data.slice(), opt.param("w").expAvg.slice(), opt.param("w").expAvgSq.slice()];
    opt.dispose();
    return out;
  };
  const diff = (a, b) => a.map((x, i) => firstBitDiff(x, b[i]));
  // torch 1.13 and 2.13 differ in the first moment (b1*m + (1-b1)*g against the lerp m + (1-b1)*(g-m)).
  assert.is.not(diff(bits("torch-adamw"), bits({ base: "torch-adamw", torch: "1.13" }))[1], -1);
  assert.equal(diff(bits({ base: "torch-adamw", torch: "1.13" }), bits({ base: "torch-adamw", moments: "torch" })), [-1, -1, -1]);
  // foreach is single's arithmetic; so is fused with plain rounding.
  assert.equal(diff(bits("torch-adamw"), bits({ base: "torch-adamw", impl: "foreach" })), [-1, -1, -1]);
  assert.equal(diff(bits("torch-adamw"), bits({ base: "torch-adamw", impl: "fused" })), [-1, -1, -1]);
  // With fma, fused differs from single only in the last 37 % 8 = 5 elements' second moment (and what follows from it).
  const single = bits({ base: "torch-adamw", fma: true });
  const fused = bits({ base: "torch-adamw", fma: true, impl: "fused" });
  for (let k = 0; k < 3; k++) assert.is(firstBitDiff(single[k].subarray(0, 32), fused[k].subarray(0, 32)), -1);
  assert.is.not(firstBitDiff(single[2].subarray(32), fused[2].subarray(32)), -1);
});

test("the knob table drives validation and the checkpoint's knob list", async () => {
  const { KNOBS, KNOB_NAMES } = await import("../dist/src/conventions.js");
  const specs = [{ name: "w", shape: [3] }];
  for (const k of KNOB_NAMES) {
    // Every value of a row is accepted, one outside it is refused naming the knob.
    for (const v of KNOBS[k].values) new Optimizer(specs, { convention: { base: "torch-adamw", [k]: v } }).dispose();
    assert.throws(() => new Optimizer(specs, { convention: { base: "torch-adamw", [k]: "nope" } }), new RegExp(`convention\\.${k}: "nope"`));
    // Every preset sets every knob to one of the row's values.
    for (const p of Object.values(conventions)) assert.ok(KNOBS[k].values.includes(p[k]), `${p.name}.${k} = ${p[k]}`);
  }
  assert.throws(() => new Optimizer(specs, { convention: { base: "torch-adamw", toString: 1 } }), /unknown knob "toString"/);
  // A checkpoint records exactly the saved rows.
  const opt = new Optimizer(specs, { convention: "torch-adamw" });
  const { decode } = await import("../dist/src/io/safetensors.js");
  const saved = Object.keys(JSON.parse(decode(opt.stateDict(), "t").metadata.knobs));
  opt.dispose();
  assert.equal(saved, KNOB_NAMES.filter((k) => KNOBS[k].saved));
  assert.ok(saved.includes("fma") && !saved.includes("fast"));
});

test.run();
