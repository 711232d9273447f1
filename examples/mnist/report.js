// The results of several runs as a text table (for the terminal) and as one self-contained HTML page with
// inline SVG charts (no script, no network).
import { lineChart } from "./chart.js";

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

/** The table's rows, one per run: the same cells in the terminal, the report and the README. */
export function rows(results) {
  return results.map((r) => ({
    convention: r.config.convention,
    schedule: r.schedule,
    accuracy: `${(100 * r.testAccuracy).toFixed(2)}%`,
    finalLoss: r.finalLoss.toFixed(4),
    testLoss: r.testLoss.toFixed(4),
    weightNorm: r.weightNorm.toFixed(2),
    stepMs: (r.stepMs / r.steps).toFixed(3),
    share: `${((100 * r.stepMs) / r.iterMs).toFixed(1)}%`,
    seconds: r.seconds.toFixed(1),
  }));
}

const HEAD = {
  convention: "convention", schedule: "lr schedule", accuracy: "test acc", finalLoss: "final loss", testLoss: "test loss",
  weightNorm: "weight norm", stepMs: "ms/step", share: "step share", seconds: "run s",
};

/** A fixed-width table for the terminal. */
export function textTable(results) {
  const rs = rows(results);
  const keys = Object.keys(HEAD);
  const width = keys.map((k) => Math.max(HEAD[k].length, ...rs.map((r) => r[k].length)));
  const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(width[i]) : c.padStart(width[i]))).join("  ");
  return [line(keys.map((k) => HEAD[k])), line(width.map((w) => "-".repeat(w))), ...rs.map((r) => line(keys.map((k) => r[k])))].join("\n");
}

/** A Markdown table (the README's). */
export function markdownTable(results) {
  const rs = rows(results);
  const keys = Object.keys(HEAD);
  return [
    `| ${keys.map((k) => HEAD[k]).join(" | ")} |`,
    `| ${keys.map((_, i) => (i < 2 ? "---" : "---:")).join(" | ")} |`,
    ...rs.map((r) => `| ${keys.map((k) => (k === "convention" ? `\`${r[k]}\`` : r[k])).join(" | ")} |`),
  ].join("\n");
}

/**
 * @param {object[]} results trainRun results
 * @param {{ conventions: Record<string, { title: string, math: string, source?: string }>, machine: string, command: string, date: string }} meta
 */
export function htmlReport(results, meta) {
  const series = (f) => results.map((r) => ({ name: r.config.convention, points: f(r) }));
  const charts = [
    lineChart({ title: "Training loss (mean over windows of steps)", xLabel: "optimizer step", logY: true, series: series((r) => r.lossCurve) }),
    lineChart({ title: "Test accuracy", xLabel: "epoch", series: series((r) => r.epochs.filter((e) => e.epoch > 0).map((e) => [e.epoch, e.testAccuracy])) }),
    lineChart({ title: "Weight norm ||w||", xLabel: "epoch", series: series((r) => r.epochs.map((e) => [e.epoch, e.weightNorm])) }),
    lineChart({ title: "Test loss", xLabel: "epoch", series: series((r) => r.epochs.filter((e) => e.epoch > 0).map((e) => [e.epoch, e.testLoss])) }),
  ];
  const rs = rows(results);
  const keys = Object.keys(HEAD);
  const c = results[0]?.config ?? {};
  const conventionRows = results
    .map((r) => {
      const p = meta.conventions[r.config.convention] ?? {};
      return `<tr><td><code>${esc(r.config.convention)}</code></td><td>${esc(p.title ?? "")}</td><td><code>${esc(p.math ?? "")}</code></td><td>${esc(r.decayed.join(", "))}</td></tr>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fused-adam: MNIST under ${results.length} weight-decay conventions</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 980px; padding: 0 16px; color: #222; }
  h1 { font-size: 21px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
  .meta { color: #555; margin: 0 0 12px; }
  table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
  th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; vertical-align: top; }
  th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
  .conv td, .conv th { text-align: left; } code { font-size: 12px; } td > code:only-child { white-space: nowrap; }
  .conv td:nth-child(3) code { white-space: normal; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 8px; }
</style>
<h1>MNIST, one model, one seed, ${results.length} weight-decay conventions</h1>
<p class="meta">784-128-10 MLP (ReLU, softmax cross-entropy), 8,004 training and 1,996 test digits from the <code>mnist</code> package;
${c.epochs} epochs of batch ${c.batchSize}, lr ${c.lr}, weight decay ${c.weightDecay} handed to every convention, seed ${c.seed}.
Forward and backward passes in plain JavaScript read the weights from and write the gradients into fused-adam's wasm memory.</p>
<table>
<tr>${keys.map((k) => `<th>${HEAD[k]}</th>`).join("")}</tr>
${rs.map((r) => `<tr>${keys.map((k) => `<td>${k === "convention" ? `<code>${esc(r[k])}</code>` : esc(r[k])}</td>`).join("")}</tr>`).join("\n")}
</table>
<p class="meta">final loss: mean training loss over the last 1/${c.curvePoints} epoch;
ms/step: fused-adam's step (with the schedule) per batch; step share: its part of the whole iteration (forward, backward, step).</p>
<div class="charts">${charts.join("\n")}</div>
<h2>What each convention does with the same weight_decay</h2>
<p>The number is the same; what it multiplies is not. With L2 (<code>torch-adam</code>) the decay term joins the gradient and is
divided by Adam's <code>sqrt(v)</code>: for weights with small gradients, such as those of pixels that are rarely lit, it acts
at the full learning rate, and the weights stay small. Decoupled decay (<code>torch-adamw</code>, <code>bert</code>) shrinks each
weight by <code>lr*wd</code> per step, a hundred thousandth here, so the norm grows as the model fits. tensorflow_addons'
AdamW subtracts <code>wd*p</code> with no learning rate at all, 1% of every weight per step at 0.01, which caps what the model can
learn: TensorFlow users pass <code>lr*wd</code> there, and a value copied from a PyTorch script does something else.</p>
<table class="conv"><tr><th>preset</th><th>source</th><th>update</th><th>decayed tensors</th></tr>
${conventionRows}
</table>
<p class="meta">${esc(meta.machine)} · ${esc(meta.date)} · <code>${esc(meta.command)}</code></p>
</html>
`;
}
