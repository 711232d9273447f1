// The live demo: the same training loop as `npm start` (examples/mnist/session.js), driven a few batches
// at a time between frames so the charts redraw while it trains. window.__demo exposes the state for
// tests/demo.test.js.
import * as lib from "fused-adam";
import { PIXELS, SIDE, split } from "/mnist/data.js";
import { trainRun } from "/mnist/session.js";
import { COLORS, lineChart } from "/mnist/chart.js";
import { rows } from "/mnist/report.js";

const $ = (id) => document.getElementById(id);
const demo = (window.__demo = { ready: false, state: "loading", runs: [], error: null, backend: null });
const runs = []; // { result, color, label }
let stopRequested = false;
let data;

const status = (text) => ($("status").textContent = text);
window.addEventListener("error", (e) => (demo.error = String(e.message)));

function drawCharts(live) {
  const all = live ? [...runs, live] : runs;
  const series = (f) => all.map((r) => ({ name: r.label, color: r.color, points: f(r.result) }));
  $("lossChart").innerHTML = lineChart({ title: "Training loss", xLabel: "optimizer step", logY: true, series: series((r) => r.lossCurve) });
  $("accChart").innerHTML = lineChart({ title: "Test accuracy (first 500 test digits)", xLabel: "optimizer step", yMax: 1, series: series((r) => r.evalCurve) });
  $("normChart").innerHTML = lineChart({ title: "Weight norm ||w||", xLabel: "optimizer step", series: series((r) => r.normCurve) });
}

function drawTable() {
  const done = runs.filter((r) => r.result.testAccuracy !== undefined);
  if (!done.length) return ($("runs").innerHTML = "");
  const rs = rows(done.map((r) => r.result));
  const head = ["convention", "wd", "lr schedule", "test acc (all 1,996)", "final loss", "weight norm", "ms/step", "step share", "s"];
  $("runs").innerHTML = `<tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr>` + rs.map((r, i) =>
    `<tr><td style="color:${done[i].color}">■ <code>${r.convention}</code></td><td>${done[i].result.config.weightDecay}</td><td>${r.schedule}</td><td>${r.accuracy}</td><td>${r.finalLoss}</td><td>${r.weightNorm}</td><td>${r.stepMs}</td><td>${r.share}</td><td>${r.seconds}</td></tr>`).join("");
}

/** 24 test digits with the model's reading: green when right, red when wrong. */
function drawDigits(model) {
  const box = $("digits");
  if (!box.children.length) {
    for (let s = 0; s < 24; s++) {
      const fig = document.createElement("figure");
      const c = document.createElement("canvas");
      c.width = c.height = SIDE;
      const ctx = c.getContext("2d");
      const img = ctx.createImageData(SIDE, SIDE);
      for (let k = 0; k < PIXELS; k++) {
        const v = 255 - data.test.pixels[s * PIXELS + k];
        img.data.set([v, v, v, 255], 4 * k);
      }
      ctx.putImageData(img, 0, 0);
      fig.append(c, document.createElement("figcaption"));
      box.append(fig);
    }
  }
  [...box.children].forEach((fig, s) => {
    const { label, p } = model ? model.predict(data.test, s) : { label: "?", p: 0 };
    fig.className = !model ? "" : label === data.test.labels[s] ? "ok" : "bad";
    fig.lastChild.textContent = model ? `${label} ${Math.round(100 * p)}%` : "?";
  });
}

const frame = () => new Promise((ok) => setTimeout(ok, 0));

async function train(cfg) {
  const color = COLORS[runs.length % COLORS.length];
  const label = `${cfg.convention} wd=${cfg.weightDecay}`;
  const it = trainRun(lib, data, { ...cfg, evalEvery: 25, evalSamples: 500 });
  const live = { label, color, result: null };
  demo.state = "training";
  let ev;
  for (;;) {
    const t = performance.now();
    let r;
    do {
      r = it.next();
      if (r.done) break;
      ev = r.value;
      // The optimizer is disposed when the run ends: the digits are read while it is alive.
      if (ev.kind === "epoch") drawDigits(ev.model);
    } while (!r.done && performance.now() - t < 40);
    live.result = ev.result;
    const res = ev.result;
    status(`${cfg.convention}: step ${res.steps}/${Math.ceil(data.train.n / cfg.batchSize) * cfg.epochs}, ` +
      `loss ${(ev.loss ?? NaN).toFixed(3)}, accuracy ${(100 * (res.evalCurve.at(-1)?.[1] ?? 0)).toFixed(1)}% (first 500), ` +
      `${res.steps ? (res.stepMs / res.steps).toFixed(3) : "-"} ms per fused-adam step`);
    drawCharts(r.done ? null : live);
    if (r.done) break;
    drawDigits(ev.model);
    if (stopRequested) {
      it.return(); // runs the loop's cleanup: the result is completed and the optimizer disposed
      break;
    }
    await frame();
  }
  runs.push(live);
  drawCharts(null);
  drawTable();
  const res = live.result;
  demo.runs.push({ convention: cfg.convention, weightDecay: cfg.weightDecay, epochs: res.epochs.length - 1, steps: res.steps, testAccuracy: res.testAccuracy, weightNorm: res.weightNorm, stepMs: res.stepMs / Math.max(1, res.steps), stopped: stopRequested });
  status(`${cfg.convention}: ${(100 * res.testAccuracy).toFixed(2)}% on all ${data.test.n} test digits after ${res.epochs.length - 1} epoch${res.epochs.length === 2 ? "" : "s"} (${res.seconds.toFixed(1)} s)`);
}

function showMath() {
  const p = lib.conventions[$("convention").value];
  $("math").textContent = p ? `${p.title}: ${p.math}` : "";
}

async function start() {
  await lib.init();
  demo.backend = lib.backend();
  for (const [name, p] of Object.entries(lib.conventions)) $("convention").append(new Option(`${name} (${p.title})`, name));
  const q = new URLSearchParams(location.search);
  $("convention").value = q.get("convention") ?? "torch-adamw";
  for (const k of ["wd", "lr", "epochs", "schedule"]) if (q.has(k)) $(k).value = q.get(k);
  showMath();
  $("convention").addEventListener("change", showMath);
  status("loading the digits…");
  const bytes = new Uint8Array(await (await fetch("/data/mnist.bin")).arrayBuffer());
  data = split(bytes);
  drawDigits(null);
  drawCharts(null);
  status(`${data.train.n} training and ${data.test.n} test digits loaded; wasm ${demo.backend.build} build. Pick a convention and train.`);
  $("train").disabled = false;
  $("controls").addEventListener("submit", async (e) => {
    e.preventDefault();
    const cfg = {
      convention: $("convention").value, weightDecay: Number($("wd").value), lr: Number($("lr").value),
      epochs: Math.max(1, Math.round(Number($("epochs").value))), schedule: $("schedule").value, batchSize: 32, seed: 1,
    };
    $("train").disabled = true;
    $("stop").disabled = false;
    stopRequested = false;
    try {
      await train(cfg);
    } catch (err) {
      demo.error = String(err?.message ?? err);
      status(`error: ${demo.error}`);
    } finally {
      $("train").disabled = false;
      $("stop").disabled = true;
      demo.state = "done";
    }
  });
  $("stop").addEventListener("click", () => (stopRequested = true));
  $("clear").addEventListener("click", () => {
    if (demo.state === "training") return;
    runs.length = 0;
    drawCharts(null);
    drawTable();
  });
  demo.ready = true;
  demo.state = "idle";
  if (q.has("autostart")) $("train").click();
}

start().catch((e) => {
  demo.error = String(e?.message ?? e);
  status(`error: ${demo.error}`);
});
