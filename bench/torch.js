// The torch peers: torch.optim.AdamW / Adam (L2) with foreach=True and with fused=True, on 1 and 2 threads,
// run by bench/torch_peer.py in the project's Python venv (FUSED_ADAM_VENV, or .venv-golden, which
// `npm run python:setup` makes; scripts/golden-generate.js names it). One Python process serves the whole bench run (importing torch takes
// seconds); it reads each case's input from the file the native peers use, takes one step for the agreement
// check, then steps in batches on request (bench/timing.js timeWithChild). Without Python and torch the
// bench says so and leaves these columns out.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { py as venvPython } from "../scripts/golden-generate.js";
import { HYPER, RESET_EVERY } from "./cases.js";
import { inputFile, readResult, scratchRoot } from "./native.js";

const here = dirname(fileURLToPath(import.meta.url));
const SCRIPT = join(here, "torch_peer.py");

/**
 * The torch columns; each is timed against fused-adam on the same number of threads (`pairWith`).
 * `knobs(capability)`: the fused-adam knobs on top of `torch-adamw` / `torch-adam` that reproduce this
 * implementation bit for bit (README, "which preset and knobs reproduce my framework"): ATen's vector
 * kernels contract into FMAs, its scalar ones (ATEN_CPU_CAPABILITY=default) do not; foreach's Tensor.sqrt is
 * MKL's on the x86 wheel.
 */
const fma = (capability) => !/^default$/i.test(capability ?? "");
export const TORCH_PEERS = [
  { id: "torch-foreach-1", label: "torch foreach, 1 thread", impl: "foreach", threads: 1, pairWith: "fused-adam", knobs: (c) => ({ fma: fma(c), sqrt: "mkl" }) },
  { id: "torch-fused-1", label: "torch fused, 1 thread", impl: "fused", threads: 1, pairWith: "fused-adam", knobs: (c) => ({ impl: "fused", fma: fma(c) }) },
  { id: "torch-foreach-2", label: "torch foreach, 2 threads", impl: "foreach", threads: 2, pairWith: "fused-adam-mt", knobs: (c) => ({ fma: fma(c), sqrt: "mkl" }) },
  { id: "torch-fused-2", label: "torch fused, 2 threads", impl: "fused", threads: 2, pairWith: "fused-adam-mt", knobs: (c) => ({ impl: "fused", fma: fma(c) }) },
];

/** The venv's python: { py, venv } or { reason } (why the torch columns are left out). */
function torchPython() {
  const venv = dirname(dirname(venvPython));
  if (existsSync(venvPython)) return { py: venvPython, venv };
  return { reason: `no Python venv at ${venv} (\`npm run python:setup\` makes it, or set FUSED_ADAM_VENV to a venv with torch)` };
}

/**
 * Starts bench/torch_peer.py. Resolves to { info: { torch, capability, python, venv }, load, batch, drop,
 * close } or rejects with the reason torch cannot run (no venv, no torch in it).
 */
export async function startTorch() {
  const found = torchPython();
  if (!found.py) throw new Error(found.reason);
  const child = spawn(found.py, ["-u", SCRIPT], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-2000)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(`torch peer exited (${code ?? signal})`)));
  child.on("error", () => {}); // a spawn failure surfaces as the exit above
  child.stdin.on("error", () => {}); // so does a write to a process that has exited
  const next = async () => {
    const r = await Promise.race([lines.next(), exited.then((why) => ({ done: true, why }))]);
    if (r.done) throw new Error(`${r.why ?? "torch peer closed its output"}: ${stderr.trim().split("\n").pop() ?? ""}`);
    const msg = JSON.parse(r.value);
    if (msg.error) throw new Error(msg.error);
    return msg;
  };
  const ask = (cmd) => {
    child.stdin.write(JSON.stringify(cmd) + "\n");
    return next();
  };
  const close = () => {
    if (child.exitCode === null) {
      child.stdin.end(JSON.stringify({ cmd: "quit" }) + "\n");
      child.kill();
    }
  };
  try {
    const info = { ...(await next()), venv: found.venv };
    return {
      info,
      /** Loads a case and takes its first step; resolves to { p, m, v } in the arena layout. */
      async load(input, conv, clip, peer) {
        const dir = mkdtempSync(join(scratchRoot(), "fused-adam-bench-torch-"));
        const output = join(dir, "out.bin");
        try {
          await ask({ cmd: "load", input: inputFile(input).file, output, conv, clip: clip ? HYPER.maxNorm : 0, impl: peer.impl, threads: peer.threads, resetEvery: RESET_EVERY });
          return readResult(output, input.total);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      /** Nanoseconds of n steps, timed by the child. */
      batch: async (n) => (await ask({ cmd: "batch", steps: n })).ns,
      drop: () => ask({ cmd: "drop" }),
      close,
    };
  } catch (e) {
    close();
    throw e;
  }
}
