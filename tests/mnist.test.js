// The MNIST example (npm start): the fixed split, a deterministic run, and the command line end to end on
// one epoch (table, HTML report, JSON), including what the report is for: under the same weight_decay,
// Adam with L2 keeps the weights far smaller than AdamW.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as lib from "../dist/src/index.js";
import { loadMnist, loadPacked } from "../examples/mnist/load.js";
import { PIXELS, split } from "../examples/mnist/data.js";
import { trainSync } from "../examples/mnist/session.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const train = join(root, "examples", "mnist", "train.js");
const tmp = mkdtempSync(join(tmpdir(), "fused-adam-mnist-"));

test.before(() => lib.init());
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test("data: 10,000 real digits, a fixed disjoint split of 8,004 / 1,996 with every class in both", () => {
  const packed = loadPacked();
  const { train: tr, test: te } = loadMnist();
  assert.is(tr.n + te.n, 10000);
  assert.is(tr.n, 8004);
  assert.is(te.n, 1996);
  for (const set of [tr, te]) {
    const counts = new Array(10).fill(0);
    for (const l of set.labels) counts[l]++;
    assert.ok(Math.min(...counts) > set.n / 20, `class counts ${counts}`);
    assert.is(set.rowPtr[set.n], set.cols.length);
  }
  // Same bytes, same split (the browser builds its sets from the same packed bytes).
  const again = split(packed.slice());
  assert.equal(again.test.labels, te.labels);
  assert.equal(again.train.pixels.subarray(0, 10 * PIXELS), tr.pixels.subarray(0, 10 * PIXELS));
  // No test image is also a training image (byte-identical duplicates excepted by content hash).
  const key = (set, s) => Buffer.from(set.pixels.subarray(s * PIXELS, (s + 1) * PIXELS)).toString("base64");
  const seen = new Set(Array.from({ length: tr.n }, (_, s) => key(tr, s)));
  const shared = Array.from({ length: te.n }, (_, s) => key(te, s)).filter((k) => seen.has(k)).length;
  assert.ok(shared <= 2, `${shared} test images also in training`);
});

test("a run is deterministic: same seed, same curves to the last bit; the gradients are written in place", () => {
  const data = loadMnist();
  const small = { train: { ...data.train, n: 640 }, test: data.test };
  const cfg = { convention: "bert", epochs: 1, weightDecay: 0.01 };
  const a = trainSync(lib, small, cfg);
  const b = trainSync(lib, small, cfg);
  assert.equal(a.lossCurve, b.lossCurve);
  assert.equal(a.epochs, b.epochs);
  assert.is(a.steps, 20);
  assert.equal(a.decayed, ["fc1.weight", "fc2.weight"], "BERT excludes biases by name");
  assert.ok(a.epochs[1].testAccuracy > 0.6, `accuracy after 20 steps ${a.epochs[1].testAccuracy}`);
});

test("npm start (one epoch, three conventions): table, HTML report with inline SVG, JSON; L2 keeps weights smaller than AdamW", () => {
  const out = join(tmp, "report.html");
  const json = join(tmp, "run.json");
  const stdout = execFileSync(process.execPath, [train, "-e", "1", "-c", "torch-adam,torch-adamw,bert", "-o", out, "--json", json, "-q"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  for (const c of ["torch-adam ", "torch-adamw ", "bert "]) assert.ok(stdout.includes(c), stdout);
  assert.match(stdout, /test acc\s+final loss\s+test loss\s+weight norm\s+ms\/step\s+step share/);
  const html = readFileSync(out, "utf8");
  assert.is((html.match(/<svg /g) ?? []).length, 4);
  assert.not.match(html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, "the report fetches nothing");
  assert.not.match(html, /<script/);
  const { results } = JSON.parse(readFileSync(json, "utf8"));
  const by = Object.fromEntries(results.map((r) => [r.config.convention, r]));
  // Same model, same seed: identical starting point.
  assert.is(by["torch-adam"].epochs[0].weightNorm, by["torch-adamw"].epochs[0].weightNorm);
  assert.is(by["torch-adam"].epochs[0].testAccuracy, by.bert.epochs[0].testAccuracy);
  assert.ok(by["torch-adamw"].testAccuracy >= 0.88, `torch-adamw after 1 epoch: ${by["torch-adamw"].testAccuracy}`);
  assert.ok(by["torch-adam"].weightNorm < 0.75 * by["torch-adamw"].weightNorm, `|w| L2 ${by["torch-adam"].weightNorm} vs AdamW ${by["torch-adamw"].weightNorm}`);
  assert.match(by.bert.schedule, /BERT warmup \d+ \+ linear decay/);
  for (const r of results) assert.ok(r.stepMs > 0 && r.stepMs < r.iterMs);
});

test("command line: --help, and a bad flag is a sentence and exit code 2", () => {
  const help = spawnSync(process.execPath, [train, "--help"], { encoding: "utf8" });
  assert.is(help.status, 0);
  assert.match(help.stdout, /--conventions/);
  assert.match(help.stdout, /--weight-decay/);
  const bad = spawnSync(process.execPath, [train, "-c", "torch-adamx"], { encoding: "utf8" });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /unknown preset "torch-adamx"/);
  const badEpochs = spawnSync(process.execPath, [train, "-e", "1.5"], { encoding: "utf8" });
  assert.is(badEpochs.status, 2);
  assert.match(badEpochs.stderr, /--epochs 1.5: expected a whole number/);
});

test.run();
