// Multi-core steps: a pool of workers sharing the kernel's memory (the threads build of the same kernel,
// instantiated on an imported shared WebAssembly.Memory in every thread). The calling thread posts a job in
// a control block in that memory, works on its own share, and waits for the workers' shares.
//
// Handoff: a worker spins on the job counter for a while after each job before it sleeps in Atomics.wait;
// waking a sleeping thread costs tens of microseconds on a VM (measured here: sleeping-only handoff gave
// no speedup, spin-then-wait 1.7-2x). The caller also spins, then waits where the runtime allows it (a
// browser's main thread may not block).
//
// Determinism: a step's element range is cut on multiples of 16 elements (64-byte lines, which every tensor
// starts on), so each element goes through the same operations as in a one-thread step; norms for clipping
// are computed whole per tensor (tensors are dealt out to threads, never split), and the norm of the norms
// is taken by the caller from the per-tensor results. The bits are those of one thread.
import { LINE_FLOATS } from "../../assembly/abi.js";
import type { KernelExports, WasmMemory, WasmModule } from "./types.js";
import { spawn, type Spawned } from "./spawn.js";

// Control block layout, in int32 slots. The job counter, the done counter and the job description sit on
// separate 64-byte lines, and each thread's slot on its own line (no false sharing).
const GEN = 0;
const DONE = 16;
const OP = 32;
const TABLE = 33;
const COUNT = 34;
const OUT = 35;
const MODE = 36;
const SLOTS = 48; // thread i's slot: SLOTS + 16*i: [from, to, result]
const SLOT_INTS = 16;

const OP_STEP = 1;
const OP_NORMS = 2;
const OP_EXIT = 3;

/** How long a worker keeps spinning for the next job before it sleeps (ms). */
export const WORKER_SPIN_MS = 2;
/**
 * How many times the caller polls for the workers' shares before it sleeps, where it may (some 100 µs).
 * Counted, not timed: reading a clock allocates on the JS heap, and a step allocates nothing.
 */
const CALLER_SPINS = 1 << 17;

export const ctrlInts = (threads: number) => SLOTS + SLOT_INTS * threads;

// The worker: instantiates the threads build on the shared memory, says it is ready, then serves jobs until
// it is told to exit. Plain JavaScript in a string (spawned from source, see src/runtime/spawn.ts).
const WORKER = `
function main(m, post) {
  const k = new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports;
  const c = new Int32Array(m.memory.buffer, m.ctrl, m.ints);
  const slot = ${SLOTS} + ${SLOT_INTS} * m.index;
  const now = typeof performance !== "undefined" ? () => performance.now() : () => Date.now();
  let seen = Atomics.load(c, ${GEN});
  post("ready");
  for (;;) {
    let gen = Atomics.load(c, ${GEN});
    if (gen === seen) {
      const until = now() + m.spinMs;
      for (let i = 1; (gen = Atomics.load(c, ${GEN})) === seen; i++) {
        if ((i & 255) === 0 && now() > until) Atomics.wait(c, ${GEN}, seen);
      }
    }
    seen = gen;
    const op = c[${OP}];
    if (op === ${OP_EXIT}) return;
    const from = c[slot] >>> 0;
    const to = c[slot + 1] >>> 0;
    let r = 0;
    if (from < to) {
      if (op === ${OP_STEP}) k.step(c[${TABLE}], c[${COUNT}], from, to);
      else if (op === ${OP_NORMS}) r = k.gradNorms(c[${TABLE}], c[${COUNT}], from, to, c[${OUT}], c[${MODE}]);
    }
    c[slot + 2] = r;
    Atomics.add(c, ${DONE}, 1);
    Atomics.notify(c, ${DONE});
  }
}
`;

/** Whether this thread may block in Atomics.wait (a browser's main thread may not). */
function callerMayWait(c: Int32Array): boolean {
  try {
    Atomics.wait(c, GEN, Atomics.load(c, GEN) + 1, 0); // "not-equal" at once where allowed
    return true;
  } catch {
    return false;
  }
}

export class Pool {
  /** Threads taking part in a step, the caller included. */
  readonly size: number;
  private readonly c: Int32Array;
  private readonly mayWait: boolean;
  private closed = false;

  constructor(
    private readonly kernel: KernelExports,
    private readonly workers: Spawned[],
    ctrl: number,
    memory: WasmMemory,
  ) {
    this.size = workers.length + 1;
    this.c = new Int32Array(memory.buffer, ctrl, ctrlInts(this.size));
    this.mayWait = callerMayWait(this.c);
  }

  /** One step over the padded element positions, thread i taking [bounds[i], bounds[i+1]). */
  step(table: number, count: number, bounds: Uint32Array): void {
    this.post(OP_STEP, table, count, 0, 0, bounds);
    this.kernel.step(table, count, bounds[0], bounds[1]);
    this.join();
  }

  /**
   * Per-tensor gradient norms (assembly/norm.ts gradNorms), thread i taking records [bounds[i], bounds[i+1]).
   * Returns whether any tensor had a non-finite element.
   */
  gradNorms(table: number, count: number, bounds: Uint32Array, out: number, mode: number): boolean {
    this.post(OP_NORMS, table, count, out, mode, bounds);
    let found = this.kernel.gradNorms(table, count, bounds[0], bounds[1], out, mode) !== 0;
    this.join();
    for (let i = 1; i < this.size; i++) if (this.c[SLOTS + SLOT_INTS * i + 2] !== 0) found = true;
    return found;
  }

  private post(op: number, table: number, count: number, out: number, mode: number, bounds: Uint32Array): void {
    const c = this.c;
    c[OP] = op;
    c[TABLE] = table;
    c[COUNT] = count;
    c[OUT] = out;
    c[MODE] = mode;
    for (let i = 1; i < this.size; i++) {
      c[SLOTS + SLOT_INTS * i] = bounds[i];
      c[SLOTS + SLOT_INTS * i + 1] = bounds[i + 1];
    }
    Atomics.store(c, DONE, 0);
    Atomics.add(c, GEN, 1); // publishes the plain stores above
    Atomics.notify(c, GEN);
  }

  private join(): void {
    const c = this.c;
    const workers = this.size - 1;
    for (let i = 0, done = 0; (done = Atomics.load(c, DONE)) !== workers; i++) {
      if (this.mayWait && i >= CALLER_SPINS) Atomics.wait(c, DONE, done, 1);
    }
  }

  /** Tells the workers to exit and terminates them. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.c[OP] = OP_EXIT;
    Atomics.add(this.c, GEN, 1);
    Atomics.notify(this.c, GEN);
    for (const w of this.workers) w.thread.terminate();
  }
}

/**
 * Starts `threads - 1` workers on the threads build `module` and its shared `memory`, with the control
 * block at byte `ctrl` (ctrlInts(threads) int32s, zeroed).
 */
export async function startPool(kernel: KernelExports, module: WasmModule, memory: WasmMemory, ctrl: number, threads: number): Promise<Pool> {
  const workers: Spawned[] = [];
  try {
    for (let i = 1; i < threads; i++) {
      const w = await spawn(WORKER);
      workers.push(w);
      w.thread.postMessage({ module, memory, ctrl, ints: ctrlInts(threads), index: i, spinMs: WORKER_SPIN_MS });
    }
    for (const w of workers) {
      const m = await w.firstMessage;
      if (m !== "ready") throw new Error(`a worker answered ${String(m)} instead of "ready"`);
      w.unref();
    }
  } catch (e) {
    for (const w of workers) w.thread.terminate();
    throw e;
  }
  return new Pool(kernel, workers, ctrl, memory);
}

/**
 * Cuts `total` padded positions into `threads` ranges on multiples of 16 (a 64-byte line), as equal as
 * that allows: bounds[i] .. bounds[i+1] is thread i's share.
 */
export function splitPositions(total: number, threads: number): Uint32Array {
  const b = new Uint32Array(threads + 1);
  const lines = total / LINE_FLOATS;
  for (let i = 1; i < threads; i++) b[i] = Math.round((lines * i) / threads) * LINE_FLOATS;
  b[threads] = total;
  return b;
}

/**
 * Deals records out to `threads` threads, contiguous and balanced by size (`sizes[s]` elements): thread i
 * takes records bounds[i] .. bounds[i+1] - 1. Every record goes to exactly one thread, whole.
 */
export function splitRecords(sizes: readonly number[], threads: number): Uint32Array {
  const b = new Uint32Array(threads + 1);
  const total = sizes.reduce((a, n) => a + n, 0);
  let acc = 0;
  let s = 0;
  for (let i = 1; i < threads; i++) {
    const target = (total * i) / threads;
    while (s < sizes.length && acc + sizes[s] / 2 <= target) acc += sizes[s++];
    b[i] = s;
  }
  b[threads] = sizes.length;
  return b;
}
