// The `workerd` entry (Cloudflare Workers, wrangler): workerd forbids compiling wasm from bytes, so both
// builds are imported as precompiled WebAssembly.Module objects, which wrangler's bundler declares as wasm
// modules (https://developers.cloudflare.com/workers/runtime-apis/webassembly/). No base64 is shipped.
import simd from "../fused_adam.simd.wasm";
import scalar from "../fused_adam.wasm";
import { initWith, type InitOptions, type WasmSource } from "./loader.js";

/** Loads the kernel from the bundled modules; `{ simd: false }` forces the non-SIMD build. */
export function init(source?: WasmSource | InitOptions): Promise<void> {
  return initWith(source, { simd: () => simd, scalar: () => scalar });
}

export * from "./api.js";
