// Conventions: knobs express frameworks we did not name (and reproduce named ones), one name-rule
// mechanism for every preset, and the decay report.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Optimizer, conventions, noDecayFor1dAndBias } from "../dist/src/index.js";
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
  const knobs = run({ base: "torch-adamw", eps: "hat", alpha: "f64-ltr", decay: "after" }, { eps: 1e-6 });
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

test.run();
