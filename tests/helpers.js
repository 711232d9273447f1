// Shared test helpers: a seeded generator and float32 bit comparison.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

const tempDirs = [];
process.on("exit", () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary folder, removed when the process exits. */
export function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}
