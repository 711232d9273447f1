// The native peers: bench/native/adam.c built at bench time with the system C compiler into the gitignored
// bench/native/bin/, one child process per case. The child reads the case's input, takes one step and
// writes it back (checked here before anything is timed), then runs its own timing loop on request.
import { execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { HYPER, RESET_EVERY } from "./cases.js";

const here = dirname(fileURLToPath(import.meta.url));
const SRC = join(here, "native", "adam.c");
const BIN_DIR = join(here, "native", "bin");
const BIN = join(BIN_DIR, "adam");
const BIN128 = join(BIN_DIR, "adam128");
export const CFLAGS = ["-O3", "-march=native", "-fno-math-errno"];
/** The same C held to 128-bit vectors, wasm SIMD's width: what the width alone costs or gives. */
export const CFLAGS_128 = [...CFLAGS, "-mprefer-vector-width=128"];

let built;
/** Compiles the native peers once per run. Returns { ok, cc, flags } or { ok: false, reason }. */
export function buildNative() {
  if (built) return built;
  const cc = process.env.CC || "cc";
  try {
    mkdirSync(BIN_DIR, { recursive: true });
    execFileSync(cc, [...CFLAGS, "-o", BIN, SRC, "-lm"], { stdio: ["ignore", "pipe", "pipe"] });
    execFileSync(cc, [...CFLAGS_128, "-o", BIN128, SRC, "-lm"], { stdio: ["ignore", "pipe", "pipe"] });
    const version = execFileSync(cc, ["--version"], { encoding: "utf8" }).split("\n")[0];
    built = { ok: true, cc: version, flags: CFLAGS.join(" ") };
  } catch (e) {
    built = { ok: false, reason: `no working C compiler (${cc}): ${String(e.stderr || e.message).split("\n")[0]}` };
  }
  return built;
}

// Big files go to RAM when /dev/shm exists.
export const scratchRoot = () => (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());

function writeRegion(fd, a) {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, Math.min(1 << 30, bytes.length - at));
}

function readRegion(fd, n) {
  const a = new Float32Array(n);
  const bytes = new Uint8Array(a.buffer);
  for (let at = 0; at < bytes.length; ) {
    const got = readSync(fd, bytes, at, Math.min(1 << 30, bytes.length - at), null);
    if (got === 0) throw new Error("native peer: output file is short");
    at += got;
  }
  return a;
}

/** A peer's output file: the regions P, M, V of `total` floats each. */
export function readResult(file, total) {
  const fd = openSync(file, "r");
  try {
    return { p: readRegion(fd, total), m: readRegion(fd, total), v: readRegion(fd, total) };
  } finally {
    closeSync(fd);
  }
}

const inputFiles = new Map(); // input -> { dir, file }
process.on("exit", () => {
  for (const { dir } of inputFiles.values()) rmSync(dir, { recursive: true, force: true });
});

/**
 * Writes a case's input once for every native and torch run on it (BERT-base: 1.75 GB). Returns { dir, file }.
 * The format is bench/native/adam.c's `in.bin`.
 */
export function inputFile(input) {
  let f = inputFiles.get(input);
  if (f) return f;
  const dir = mkdtempSync(join(scratchRoot(), "fused-adam-bench-"));
  f = { dir, file: join(dir, "in.bin") };
  inputFiles.set(input, f);
  const fd = openSync(f.file, "w");
  try {
    const head = new DataView(new ArrayBuffer(4 + 4 * input.sizes.length + 8 * 6));
    head.setUint32(0, input.sizes.length, true);
    input.sizes.forEach((n, k) => head.setUint32(4 + 4 * k, n, true));
    const h = [HYPER.lr, HYPER.beta1, HYPER.beta2, HYPER.eps, HYPER.weightDecay, HYPER.t0];
    h.forEach((x, k) => head.setFloat64(4 + 4 * input.sizes.length + 8 * k, x, true));
    writeSync(fd, new Uint8Array(head.buffer));
    for (const r of ["p", "g", "m", "v"]) writeRegion(fd, input[r]);
  } finally {
    closeSync(fd);
  }
  return f;
}

/** Removes the input file of a case (after its last native run). */
export function releaseInput(input) {
  const f = inputFiles.get(input);
  if (f) rmSync(f.dir, { recursive: true, force: true });
  inputFiles.delete(input);
}

/**
 * Starts the native peer `mode` ("adamw", "adaml2", "traffic") on a case, built for 256-bit vectors or
 * (`width128`) for 128-bit ones. Resolves once it has taken its first step:
 * { result: { p, m, v }, time(maxTime, minSamples) -> { nsPerStep, ... }, close() }.
 */
export async function startNative(mode, input, clip, { width128 = false } = {}) {
  const { file: inFile } = inputFile(input);
  const dir = mkdtempSync(join(scratchRoot(), "fused-adam-bench-out-"));
  const outFile = join(dir, "out.bin");

  const child = spawn(width128 ? BIN128 : BIN, [mode, inFile, outFile, String(clip ? HYPER.maxNorm : 0), String(RESET_EVERY)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(`native peer exited (${code ?? signal})`)));
  const next = async () => {
    const r = await Promise.race([lines.next(), exited.then((why) => ({ done: true, why }))]);
    if (r.done) throw new Error(r.why ?? "native peer closed its output");
    return r.value;
  };
  const close = () => {
    child.stdin.end("quit\n");
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if ((await next()) !== "ready") throw new Error("native peer: unexpected output");
    const result = readResult(outFile, input.total);
    rmSync(outFile);
    return {
      result,
      async time(maxTime, minSamples) {
        child.stdin.write(`time ${maxTime} ${minSamples}\n`);
        return JSON.parse(await next());
      },
      close,
    };
  } catch (e) {
    close();
    throw e;
  }
}

/** The traffic loop's output is a permutation of its input: p' = g, m' = p, v' = m xor v (bitwise). */
export function checkTraffic(input, got) {
  const u = (a) => new Uint32Array(a.buffer, a.byteOffset, a.length);
  const [p, g, m, v] = [u(input.p), u(input.g), u(input.m), u(input.v)];
  const [P, M, V] = [u(got.p), u(got.m), u(got.v)];
  for (let i = 0; i < p.length; i++) {
    if (P[i] !== g[i] || M[i] !== p[i] || V[i] !== (m[i] ^ v[i]) >>> 0) return { ok: false, worst: `element ${i} was not moved` };
  }
  return { ok: true, exact: true };
}
