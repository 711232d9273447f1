// Shared test helpers: a seeded generator and float32 bit comparison.
import { spawnSync } from "node:child_process";
import { init } from "../dist/src/index.js";
import { rng } from "./rng.js";
export { rng };

export const ready = init();


/** Normal-ish values spanning magnitudes, with exact zeros. */
export function randomArray(rand, n, scale = 1) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rand();
    a[i] = r < 0.1 ? 0 : (rand() * 2 - 1) * scale * Math.pow(10, Math.floor(rand() * 6) - 3);
  }
  return a;
}

/**
 * Index of the first element whose float32 bits differ, or -1. NaNs compare equal to NaNs whatever their
 * bits: wasm leaves the sign and payload of a NaN an operation produces to the engine (V8 gives 0xffc00000
 * or 0x7fc00000 depending on the instruction sequence), so only "is NaN" is portable.
 */
export function firstBitDiff(a, b) {
  if (a.length !== b.length) return 0;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i] && !(a[i] !== a[i] && b[i] !== b[i])) return i;
  return -1;
}

/** Debian's python, where python3-torch installs (a pyenv python3 on PATH would not see it). */
export const PY = "/usr/bin/python3";

function torchAvailable() {
  return spawnSync(PY, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
}

/**
 * Whether real torch is importable, installing Debian's python3-torch when absent and running as root.
 * Prints a visible message when it cannot be had; the caller then registers its test as skipped.
 */
export function ensureTorch(purpose) {
  if (torchAvailable()) return true;
  if (process.getuid?.() === 0) {
    console.log(`installing Debian's python3-torch for ${purpose} ...`);
    spawnSync("bash", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch"], { stdio: "ignore" });
  }
  if (torchAvailable()) return true;
  console.log(`SKIPPED: ${purpose}: Debian's python3-torch is not installed and could not be installed here`);
  return false;
}
