// The `workerd` entry (Cloudflare Workers, wrangler): workerd forbids compiling wasm from bytes, so both
// builds are imported as precompiled WebAssembly.Module objects, which wrangler's bundler declares as wasm
// modules (https://developers.cloudflare.com/workers/runtime-apis/webassembly/); the bundler drops the
// default entry's unused base64.
import simd from "../fused_adam.simd.wasm";
import scalar from "../fused_adam.wasm";
import { initWith, type InitOptions, type WasmSource } from "./runtime/loader.js";

/** Loads the kernel from the bundled modules; `{ simd: false }` forces the non-SIMD build. */
export function init(source?: WasmSource | InitOptions): Promise<void> {
  return initWith(source, { simd: () => simd, scalar: () => scalar });
}

// Everything else is the default entry's; a local export wins over `export *`, so this init() is the one.
export * from "./index.js";
