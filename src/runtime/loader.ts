// Loading the kernel. Runtime-neutral: it takes what the entry point hands it (a compiled module, bytes, a
// URL or a Response) and never reads files itself, so the same code serves Node, Deno, Bun, browsers and
// workerd (which forbids compiling from bytes and passes a precompiled WebAssembly.Module).
import { fail, show, FusedAdamError } from "../errors.js";
import { backend, installKernel, isLoaded } from "./kernel.js";
import { alloc } from "./memory.js";
import { runtimeKind } from "./spawn.js";
import { ctrlInts, startPool } from "./threads.js";
import type { Backend, KernelExports, ResponseLike, UrlLike, WasmBytes, WasmModule } from "./types.js";

/** A precompiled module, the bytes of a .wasm build, its URL (object or string), or a fetch Response. */
export type WasmSource = WasmModule | WasmBytes | UrlLike | string | ResponseLike | PromiseLike<ResponseLike>;

let pending: Promise<void> | undefined;

/** What the first init() asked for (a later, different request is refused). */
interface Asked {
  threads: number;
  simd: boolean;
  source: boolean;
}
let asked: Asked | undefined;

function describe(a: Asked): string {
  return a.source ? "init(<wasm source>)" : `init({ threads: ${a.threads}${a.simd ? "" : ", simd: false"} })`;
}

// A module with one f32x4 instruction: WebAssembly.validate tells whether this engine runs SIMD.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export function simdSupported(): boolean {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

async function toModule(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  // Bytes first: in Node, merely reading the global `Response` loads its fetch implementation (~20 ms).
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source as BufferSource);
  let s: unknown = source;
  if (typeof s === "string" || s instanceof URL) s = fetch(s);
  if (typeof (s as PromiseLike<Response>).then === "function") s = await s;
  if (typeof Response !== "undefined" && s instanceof Response) {
    if (!s.ok) fail("INIT_FAILED", `init: fetching the wasm failed with HTTP ${s.status}`);
    s = await s.arrayBuffer();
  }
  return WebAssembly.compile(s as BufferSource);
}

export interface Sources {
  simd: () => WasmSource;
  scalar: () => WasmSource;
  /** The threads build (SIMD, shared imported memory); absent where the entry has no threads. */
  threads?: () => WasmSource | Promise<WasmSource>;
}

/** Why `threads` threads cannot run here, or null if they can. */
function threadsUnavailable(sources: Sources, forceScalar: boolean): string | null {
  const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown };
  if (forceScalar) return "the threads build needs SIMD and init({ simd: false }) forces the scalar build";
  if (!sources.threads) return "this entry has no threads build";
  if (g.crossOriginIsolated === false) {
    return "the page is not cross-origin isolated: shared memory needs the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp";
  }
  if (typeof g.SharedArrayBuffer !== "function") return "this runtime has no SharedArrayBuffer";
  if (!simdSupported()) return "this engine does not validate wasm SIMD";
  if (!runtimeKind()) return "this runtime has neither worker_threads nor Web Workers";
  return null;
}

/** Threads for `threads: "auto"`: the machine's cores, at most 8 (the step is bound by memory well before). */
function autoThreads(): number {
  const g = globalThis as {
    navigator?: { hardwareConcurrency?: number };
    process?: { getBuiltinModule?: (id: string) => { availableParallelism?: () => number } | undefined };
  };
  const n = g.navigator?.hardwareConcurrency ?? g.process?.getBuiltinModule?.("node:os")?.availableParallelism?.() ?? 1;
  return Math.max(1, Math.min(8, Math.floor(n)));
}

/** A shared memory of up to 4 GiB (2 GiB, then 1 GiB, where the engine reserves less). */
function sharedMemory(): WebAssembly.Memory {
  let error: unknown;
  for (const maximum of [65536, 32768, 16384]) {
    try {
      return new WebAssembly.Memory({ initial: 1, maximum, shared: true });
    } catch (e) {
      error = e;
    }
  }
  throw error;
}

/**
 * Loads the kernel once. `explicit` is what the user passed to init() (used as is); otherwise `sources`
 * gives the SIMD build when the engine validates SIMD, else the scalar build, unless `forceScalar`.
 */
export function load(explicit: WasmSource | undefined, sources: Sources, forceScalar: boolean, threads = 1, specific = true): Promise<void> {
  const want: Asked = { threads, simd: !forceScalar, source: explicit !== undefined };
  if (isLoaded() || pending) {
    // One kernel per process: a later init() that asks for something else cannot have it. Saying so beats
    // running on 1 thread while the caller believes it asked for 2.
    if (specific && asked && (want.source || want.threads !== asked.threads || want.simd !== asked.simd)) {
      const now = isLoaded() ? `${backend().build} build, ${backend().threads} thread${backend().threads > 1 ? "s" : ""}` : "loading";
      return Promise.reject(new FusedAdamError("ALREADY_INITIALIZED", `init: the kernel is already loaded (${now}) by an earlier init(); ${describe(want)} cannot change that: call init() with the options you want once, before anything else loads it`));
    }
    return pending ?? Promise.resolve();
  }
  asked = want;
  pending = (async () => {
    if (threads > 1 && explicit === undefined) {
      const why = threadsUnavailable(sources, forceScalar);
      if (!why) {
        await loadThreads(sources.threads!, threads);
        return;
      }
      await load1(explicit, sources, forceScalar, `1 thread: ${threads} threads were asked, but ${why}`);
    } else {
      const why = threads > 1 ? "1 thread: init() was given a wasm module, which has no threads" : "1 thread (init({ threads }) starts workers)";
      await load1(explicit, sources, forceScalar, why);
    }
  })().catch((e: unknown) => {
    // A wasm that does not compile or instantiate (a CompileError, a LinkError, a failed fetch): one code.
    if (e instanceof FusedAdamError) throw e;
    throw new FusedAdamError("INIT_FAILED", `init: the wasm could not be loaded (${String((e as Error)?.message ?? e)})`);
  });
  pending.catch(() => {
    pending = undefined;
    asked = undefined;
  });
  return pending;
}

async function load1(explicit: WasmSource | undefined, sources: Sources, forceScalar: boolean, threadsReason: string): Promise<void> {
  let module: WebAssembly.Module;
  let info: Backend;
  if (explicit !== undefined) {
    module = await toModule(explicit);
    info = { build: "scalar", reason: "the wasm passed to init()", threads: 1, threadsReason };
  } else if (forceScalar) {
    module = await toModule(sources.scalar());
    info = { build: "scalar", reason: "forced by init({ simd: false })", threads: 1, threadsReason };
  } else if (simdSupported()) {
    module = await toModule(sources.simd());
    info = { build: "simd", reason: "WebAssembly.validate accepts f32x4", threads: 1, threadsReason };
  } else {
    module = await toModule(sources.scalar());
    info = { build: "scalar", reason: "this engine does not validate wasm SIMD", threads: 1, threadsReason };
  }
  const instance = await WebAssembly.instantiate(module, {});
  const kernel = instance.exports as unknown as KernelExports;
  if (explicit !== undefined) info.build = kernel.simd.value ? "simd" : "scalar";
  installKernel(kernel, info, null);
}

// The threads build on a shared memory, then the workers. If the workers cannot start, the same build
// runs on the calling thread alone (same code, same bits).
async function loadThreads(source: () => WasmSource | Promise<WasmSource>, threads: number): Promise<void> {
  const module = await toModule(await source());
  const memory = sharedMemory();
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const kernel = { ...(instance.exports as unknown as KernelExports), memory };
  const info: Backend = { build: "simd", reason: "WebAssembly.validate accepts f32x4 (threads build)", threads: 1, threadsReason: "" };
  // The allocator below needs the kernel installed before the pool exists.
  installKernel(kernel, info, null);
  try {
    const ctrl = alloc(ctrlInts(threads) * 4, "init");
    const pool = await startPool(kernel, module, memory, ctrl, threads);
    info.threads = threads;
    info.threadsReason = `${threads} threads: the calling thread and ${threads - 1} worker${threads > 2 ? "s" : ""} on a shared memory`;
    installKernel(kernel, info, pool);
  } catch (e) {
    info.threadsReason = `1 thread: the workers did not start (${String((e as Error)?.message ?? e)})`;
  }
}

export interface InitOptions {
  /** false forces the non-SIMD build. */
  simd?: boolean;
  /**
   * Threads for large steps: a number (the calling thread included) or "auto" (the machine's cores, at
   * most 8). Loads the threads build on a shared memory and starts workers (worker_threads in Node and
   * Bun, Web Workers in browsers and Deno). Browsers allow shared memory only on cross-origin isolated
   * pages (COOP/COEP headers); elsewhere init() falls back to one thread and backend() says why.
   */
  threads?: number | "auto";
}

/**
 * What every entry's init() does: `source` is either what the user passed (a module, bytes, a URL or a
 * Response, used as is) or options; `sources` is how that entry gets the two builds (inlined base64 in the
 * default entry, precompiled modules imported by the bundler in the workerd and edge-light entries).
 */
export function initWith(source: WasmSource | InitOptions | undefined, sources: Sources): Promise<void> {
  // Options are a plain object; anything else (a Module, bytes, a URL, a Response) is a wasm source.
  const proto = source !== null && typeof source === "object" ? Object.getPrototypeOf(source) : undefined;
  const isOptions = proto === Object.prototype || proto === null;
  const opts = isOptions ? (source as InitOptions) : undefined;
  const t = opts?.threads;
  if (t !== undefined && t !== "auto" && !(Number.isInteger(t) && t >= 1 && t <= 64)) {
    return Promise.reject(new FusedAdamError("BAD_OPTION", `init: threads is ${show(t)}; it must be a whole number from 1 to 64, or "auto"`));
  }
  const threads = t === "auto" ? autoThreads() : t ?? 1;
  // init() and init({}) take whatever is loaded; options or a source ask for something in particular.
  const specific = isOptions ? opts?.threads !== undefined || opts?.simd !== undefined : source !== undefined;
  return load(isOptions ? undefined : (source as WasmSource | undefined), sources, opts?.simd === false, threads, specific);
}

export { backend, getKernel, getPool } from "./kernel.js";
export type { Backend, KernelExports } from "./types.js";
