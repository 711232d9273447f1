// The loaded kernel instance: its exports, which build it is, and the worker pool when threads run. The
// loader installs it once; the allocator, the optimizer and the threads read it. A module of its own so
// that loader, memory and threads depend on it and not on each other.
import { fail } from "../errors.js";
import type { Pool } from "./threads.js";

export interface KernelExports {
  memory: WebAssembly.Memory;
  /** One step over the padded element positions [from, to) of the records (assembly/index.ts). */
  step(table: number, count: number, from: number, to: number): void;
  heapBase(): number;
  /** Per-tensor norms of records [first, last); the scale is read from the norms area (assembly/norm.ts). */
  gradNorms(table: number, count: number, first: number, last: number, out: number, recipe: number): number;
  /** torch's norm of the per-tensor norms, written to the norms area. */
  normOfNorms(out: number, count: number, recipe: number): void;
  simd: WebAssembly.Global;
}

export interface Backend {
  /** "simd" (f32x4) or "scalar". */
  build: "simd" | "scalar";
  /** Why this build was chosen. */
  reason: string;
  /** Threads a step may use (1 unless init({ threads }) started workers). */
  threads: number;
  /** Why threads are on or off. */
  threadsReason: string;
}

let kernel: KernelExports | undefined;
let backendInfo: Backend | undefined;
let pool: Pool | null = null;

/** Called by the loader once the instance exists (and again when the threads' pool has started). */
export function installKernel(k: KernelExports, info: Backend, p: Pool | null): void {
  kernel = k;
  backendInfo = info;
  pool = p;
}

export function isLoaded(): boolean {
  return kernel !== undefined;
}

export function getKernel(): KernelExports {
  if (!kernel) fail("fused-adam is not initialized: call `await init()` once before creating an optimizer");
  return kernel;
}

export function backend(): Backend {
  if (!backendInfo) fail("fused-adam is not initialized: call `await init()` first");
  return backendInfo;
}

/** The worker pool, when init({ threads }) started one. */
export function getPool(): Pool | null {
  return pool;
}
