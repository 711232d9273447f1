#!/usr/bin/env node
// `npm start`: trains the same 784-128-10 MLP from the same seed on the same MNIST batches under several
// weight-decay conventions, then prints a table and writes an HTML report. See --help.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as lib from "../../dist/src/index.js";
import { loadMnist } from "./load.js";
import { htmlReport, markdownTable, textTable } from "./report.js";
import { DEFAULTS, trainSync } from "./session.js";

const here = dirname(fileURLToPath(import.meta.url));
const DEFAULT_CONVENTIONS = ["torch-adam", "torch-adamw", "bert", "tfa-adamw"];
const DEFAULT_EPOCHS = 12;

const HELP = `Usage: npm start -- [options]      (or: node examples/mnist/train.js [options])

Trains a 784-128-10 MLP on MNIST (the mnist package: 8,004 training and 1,996 test digits, a fixed split)
once per convention, from the same initial weights and batch order, with fused-adam doing every optimizer
step. Prints a table and writes an HTML report with loss, accuracy and weight-norm curves.

Options:
  -c, --conventions LIST  comma-separated presets (default ${DEFAULT_CONVENTIONS.join(",")});
                          "all" runs every preset. Presets: ${Object.keys(lib.conventions).join(", ")}
  -e, --epochs N          epochs per convention (default ${DEFAULT_EPOCHS})
  -w, --weight-decay X    the weight_decay handed to every convention (default ${DEFAULTS.weightDecay})
      --lr X              peak learning rate (default ${DEFAULTS.lr})
  -b, --batch-size N      (default ${DEFAULTS.batchSize})
      --schedule S        auto: BERT's warmup + linear decay for bert, constant for the others;
                          constant; linear: warmup + linear decay for all (default ${DEFAULTS.schedule})
      --warmup F          warmup fraction of the steps for linear schedules (default ${DEFAULTS.warmup})
      --seed N            initial weights and batch order (default ${DEFAULTS.seed})
  -o, --out PATH          the HTML report (default examples/mnist/out/report.html)
      --json PATH         also write every curve and number as JSON
      --markdown          also print the table as Markdown
  -q, --quiet             no progress bar
  -h, --help              this text
`;

function parse(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      conventions: { type: "string", short: "c" },
      epochs: { type: "string", short: "e" },
      "weight-decay": { type: "string", short: "w" },
      lr: { type: "string" },
      "batch-size": { type: "string", short: "b" },
      schedule: { type: "string" },
      warmup: { type: "string" },
      seed: { type: "string" },
      out: { type: "string", short: "o" },
      json: { type: "string" },
      markdown: { type: "boolean" },
      quiet: { type: "boolean", short: "q" },
      help: { type: "boolean", short: "h" },
    },
  });
  const num = (name, v, d, ok, allowed) => {
    if (v === undefined) return d;
    const x = Number(v);
    if (v.trim() === "" || !ok(x)) throw new Error(`--${name} ${v}: expected ${allowed}`);
    return x;
  };
  const list = values.conventions === "all" ? Object.keys(lib.conventions) : (values.conventions ?? DEFAULT_CONVENTIONS.join(",")).split(",").map((s) => s.trim()).filter(Boolean);
  for (const c of list) {
    if (!lib.conventions[c]) throw new Error(`--conventions: unknown preset "${c}"; presets: ${Object.keys(lib.conventions).join(", ")}`);
  }
  if (!list.length) throw new Error("--conventions: name at least one preset");
  const schedule = values.schedule ?? DEFAULTS.schedule;
  if (!["auto", "constant", "linear"].includes(schedule)) throw new Error(`--schedule ${schedule}: expected auto, constant or linear`);
  return {
    help: values.help,
    conventions: list,
    epochs: num("epochs", values.epochs, DEFAULT_EPOCHS, (x) => Number.isInteger(x) && x >= 1, "a whole number >= 1"),
    weightDecay: num("weight-decay", values["weight-decay"], DEFAULTS.weightDecay, (x) => x >= 0 && Number.isFinite(x), "a number >= 0"),
    lr: num("lr", values.lr, DEFAULTS.lr, (x) => x > 0 && Number.isFinite(x), "a number > 0"),
    batchSize: num("batch-size", values["batch-size"], DEFAULTS.batchSize, (x) => Number.isInteger(x) && x >= 1, "a whole number >= 1"),
    warmup: num("warmup", values.warmup, DEFAULTS.warmup, (x) => x >= 0 && x < 1, "a fraction in [0, 1)"),
    seed: num("seed", values.seed, DEFAULTS.seed, (x) => Number.isInteger(x) && x >= 0, "a whole number >= 0"),
    schedule,
    out: resolve(values.out ?? join(here, "out", "report.html")),
    json: values.json && resolve(values.json),
    markdown: values.markdown,
    quiet: values.quiet,
  };
}

/** A one-line progress bar on stderr (redrawn on a terminal, one line per epoch otherwise). */
function progress(quiet) {
  const tty = process.stderr.isTTY;
  let lastDraw = 0;
  return (label, ev) => {
    if (quiet) return;
    if (ev.kind === "epoch" && ev.epoch.epoch > 0 && !tty) {
      const e = ev.epoch;
      process.stderr.write(`${label} epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, test acc ${(100 * e.testAccuracy).toFixed(2)}%, |w| ${e.weightNorm.toFixed(2)}\n`);
    }
    if (!tty || ev.kind !== "batch") return;
    const now = performance.now();
    if (now - lastDraw < 100 && ev.step !== ev.totalSteps) return;
    lastDraw = now;
    const f = ev.step / ev.totalSteps;
    const width = 30;
    const bar = "#".repeat(Math.round(f * width)).padEnd(width, ".");
    const last = ev.result.epochs.at(-1);
    const epochs = ev.result.config.epochs;
    const epoch = Math.min(epochs, Math.floor((ev.step - 1) / (ev.totalSteps / epochs)) + 1);
    const acc = last.epoch > 0 ? `  test acc ${(100 * last.testAccuracy).toFixed(1)}% (epoch ${last.epoch})` : "";
    process.stderr.write(`\r${label.padEnd(14)} [${bar}] ${String(Math.round(100 * f)).padStart(3)}%  epoch ${epoch}/${epochs}  loss ${ev.loss.toFixed(3)}${acc}  `);
    if (ev.step === ev.totalSteps) process.stderr.write("\n");
  };
}

async function main() {
  let args;
  try {
    args = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(HELP);
    return;
  }
  await lib.init();
  const t0 = performance.now();
  const data = loadMnist();
  const bk = lib.backend();
  const machine = `Node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"} (${cpus().length} cores), fused-adam ${bk.build} build`;
  process.stderr.write(`MNIST: ${data.train.n} training and ${data.test.n} test digits (${((performance.now() - t0) / 1000).toFixed(1)} s); ${machine}\n`);
  const show = progress(args.quiet);
  const results = [];
  for (const convention of args.conventions) {
    const config = {
      convention, lr: args.lr, weightDecay: args.weightDecay, epochs: args.epochs, batchSize: args.batchSize,
      seed: args.seed, schedule: args.schedule, warmup: args.warmup,
    };
    results.push(trainSync(lib, data, config, (ev) => show(convention, ev)));
  }
  console.log(`\n${textTable(results)}\n`);
  if (args.markdown) console.log(`${markdownTable(results)}\n`);
  const command = `node examples/mnist/train.js ${process.argv.slice(2).join(" ")}`.trim();
  const meta = { conventions: lib.conventions, machine, command, date: new Date().toISOString().slice(0, 10) };
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, htmlReport(results, meta));
  console.log(`report: ${relative(process.cwd(), args.out) || args.out}  (${((performance.now() - t0) / 1000).toFixed(1)} s in all)`);
  if (args.json) {
    mkdirSync(dirname(args.json), { recursive: true });
    writeFileSync(args.json, JSON.stringify({ meta: { ...meta, conventions: undefined }, results }, null, 1));
    console.log(`json: ${relative(process.cwd(), args.json)}`);
  }
}

await main();
