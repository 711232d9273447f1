// The loaded kernel instance: its exports, which build it is, and the worker pool when threads run. The
// loader installs it once; the allocator, the optimizer and the threads read it. A module of its own so
// that loader, memory and threads depend on it and not on each other.
import { fail } from "../errors.js";
import type { Pool } from "./threads.js";
import type { Backend, KernelExports } from "./types.js";

export type { Backend, KernelExports } from "./types.js";

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
  if (!kernel) fail("NOT_INITIALIZED", "fused-adam is not initialized: call `await init()` once before creating an optimizer");
  return kernel;
}

export function backend(): Backend {
  if (!backendInfo) fail("NOT_INITIALIZED", "fused-adam is not initialized: call `await init()` first");
  return backendInfo;
}

/** The worker pool, when init({ threads }) started one. */
export function getPool(): Pool | null {
  return pool;
}
