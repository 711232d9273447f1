// `npm run bench`: fused-adam against a plain JS loop, TF.js (cpu, wasm), torch (foreach, fused; 1 and 2
// threads, when the project's Python venv has it), native C and the memory-traffic bound, one optimizer step per case; writes bench/results.json, bench/RESULTS.md and bench/chart.svg.
// The cases, peers and checks are described in bench/run.js.
//
//   node bench/index.js [--only=4K,64K,1M,16M,bert-base] [--conv=adamw|adaml2] [--no-clip] [--max-time=<s>] [--smoke] [--no-readme] [--no-torch] [--note=<text>]
//
// A run restricted by --only, --conv or --no-clip writes bench/results.partial.json and leaves the report alone.
// --no-readme leaves README.md's table alone (`node bench/report.js` redraws it from results.json later).
// --no-torch leaves the torch peers out (they run when FUSED_ADAM_VENV, or .venv-golden, has torch).
// --note adds a sentence to the report's footnote (e.g. what else the machine was running).
import { run } from "./run.js";

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [, k, v] = /^-*([^=]*)(?:=([\s\S]*))?$/.exec(a);
    return [k, v ?? true];
  }),
);
const known = new Set(["only", "conv", "no-clip", "max-time", "smoke", "no-readme", "no-torch", "note"]);
for (const k of Object.keys(args)) {
  if (!known.has(k)) {
    console.error(`bench: unknown option --${k}; options: --only=<case ids>, --conv=adamw|adaml2, --no-clip, --max-time=<seconds>, --smoke, --no-readme, --no-torch, --note=<text>`);
    process.exit(2);
  }
}
process.exitCode = await run({
  smoke: Boolean(args.smoke),
  only: typeof args.only === "string" ? args.only.split(",") : null,
  conv: typeof args.conv === "string" ? args.conv : null,
  clip: args["no-clip"] ? false : undefined,
  maxTime: args["max-time"] !== undefined ? Number(args["max-time"]) : undefined,
  readme: !args["no-readme"],
  torch: args["no-torch"] ? false : undefined,
  note: typeof args.note === "string" ? args.note : undefined,
});
