// The default entry: the wasm builds are inlined (base64), so it loads with no bundler configuration.
import { SIMD_WASM, SCALAR_WASM } from "./generated/wasm-inline.js";
import { load, type WasmSource } from "./loader.js";

function decode(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export interface InitOptions {
  /** false forces the non-SIMD build. */
  simd?: boolean;
}

/**
 * Loads the kernel; call once (later calls are no-ops). `source` may be a precompiled WebAssembly.Module
 * (required on Cloudflare workerd), the bytes of either .wasm build, a URL or a Response.
 */
export function init(source?: WasmSource | InitOptions): Promise<void> {
  const opts = source && typeof source === "object" && "simd" in source ? (source as InitOptions) : undefined;
  const explicit = opts ? undefined : (source as WasmSource | undefined);
  return load(explicit, { simd: () => decode(SIMD_WASM), scalar: () => decode(SCALAR_WASM) }, opts?.simd === false);
}

export { backend, simdSupported, type Backend, type WasmSource } from "./loader.js";
export { FusedAdamError } from "./errors.js";
export {
  Optimizer, Param,
  type ParamSpec, type GroupSpec, type GroupOptions, type OptimizerOptions, type ParamGroup, type ParamState,
  type OptimizerState, type Grads,
} from "./optimizer.js";
export { presets as conventions, type Preset, type Knobs, type ConventionSpec, type NameRule, type DecayMode, type DecayScale, type EpsMode } from "./conventions.js";
export { powi } from "./pow.js";
