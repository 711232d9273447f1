// `npm run bench:smoke`: every benchmark case once at small size (one tensor of 4K and of 4K+3, and a
// 3-tensor BERT subset), AdamW and Adam-L2, clipping off and on, against every peer. Nothing is timed:
// it asserts only that each peer agrees with fused-adam after one step, and exits 1 if one does not.
// Needs a built dist/ (`npm run build`), and no Python: the torch peers join only with `--torch`
// (node bench/smoke.js --torch; they need FUSED_ADAM_VENV or .venv-golden with torch).
import { run } from "./run.js";

process.exitCode = await run({ smoke: true, torch: process.argv.includes("--torch") });
