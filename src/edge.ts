// The `edge-light` entry (Vercel Edge Functions and Next.js edge routes): like workerd, the edge runtime
// forbids compiling wasm from bytes; its bundler turns a `.wasm?module` import into a precompiled
// WebAssembly.Module (https://vercel.com/docs/functions/wasm).
import simd from "../fused_adam.simd.wasm?module";
import scalar from "../fused_adam.wasm?module";
import { initWith, type InitOptions, type WasmSource } from "./runtime/loader.js";

/** Loads the kernel from the bundled modules; `{ simd: false }` forces the non-SIMD build. */
export function init(source?: WasmSource | InitOptions): Promise<void> {
  return initWith(source, { simd: () => simd, scalar: () => scalar });
}

// Everything else is the default entry's; a local export wins over `export *`, so this init() is the one.
export * from "./index.js";
