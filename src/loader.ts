// Loading the kernel. Runtime-neutral: it takes what the entry point hands it (a compiled module, bytes, a
// URL or a Response) and never reads files itself, so the same code serves Node, Deno, Bun, browsers and
// workerd (which forbids compiling from bytes and passes a precompiled WebAssembly.Module).
import { fail } from "./errors.js";

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

export type WasmSource = WebAssembly.Module | BufferSource | URL | string | Response | PromiseLike<Response>;

export interface Backend {
  /** "simd" (f32x4) or "scalar". */
  build: "simd" | "scalar";
  /** Why this build was chosen. */
  reason: string;
}

let kernel: KernelExports | undefined;
let backendInfo: Backend | undefined;
let pending: Promise<void> | undefined;

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
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source);
  if (typeof source === "string" || source instanceof URL) source = fetch(source);
  if (typeof (source as PromiseLike<Response>).then === "function") source = await source;
  if (typeof Response !== "undefined" && source instanceof Response) {
    if (!source.ok) fail(`init: fetching the wasm failed with HTTP ${source.status}`);
    source = await source.arrayBuffer();
  }
  return WebAssembly.compile(source as BufferSource);
}

export interface Sources {
  simd: () => WasmSource;
  scalar: () => WasmSource;
}

/**
 * Loads the kernel once. `explicit` is what the user passed to init() (used as is); otherwise `sources`
 * gives the SIMD build when the engine validates SIMD, else the scalar build, unless `forceScalar`.
 */
export function load(explicit: WasmSource | undefined, sources: Sources, forceScalar: boolean): Promise<void> {
  if (kernel) return Promise.resolve();
  if (pending) return pending;
  pending = (async () => {
    let module: WebAssembly.Module;
    let info: Backend;
    if (explicit !== undefined) {
      module = await toModule(explicit);
      info = { build: "scalar", reason: "the wasm passed to init()" };
    } else if (forceScalar) {
      module = await toModule(sources.scalar());
      info = { build: "scalar", reason: "forced by init({ simd: false })" };
    } else if (simdSupported()) {
      module = await toModule(sources.simd());
      info = { build: "simd", reason: "WebAssembly.validate accepts f32x4" };
    } else {
      module = await toModule(sources.scalar());
      info = { build: "scalar", reason: "this engine does not validate wasm SIMD" };
    }
    const instance = await WebAssembly.instantiate(module, {});
    kernel = instance.exports as unknown as KernelExports;
    if (explicit !== undefined) info.build = kernel.simd.value ? "simd" : "scalar";
    backendInfo = info;
  })();
  pending.catch(() => (pending = undefined));
  return pending;
}

export interface InitOptions {
  /** false forces the non-SIMD build. */
  simd?: boolean;
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
  return load(isOptions ? undefined : (source as WasmSource | undefined), sources, opts?.simd === false);
}

export function getKernel(): KernelExports {
  if (!kernel) fail("fused-adam is not initialized: call `await init()` once before creating an optimizer");
  return kernel;
}

export function backend(): Backend {
  if (!backendInfo) fail("fused-adam is not initialized: call `await init()` first");
  return backendInfo;
}
