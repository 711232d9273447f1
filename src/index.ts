// The default entry: the wasm builds are inlined (base64), so it loads with no bundler configuration in
// Node, Deno, Bun and browsers. Importing does nothing: the base64 is decoded and compiled by init().
// Every public export lives here; the workerd and edge-light entries re-export this module with their own
// init(), so a new export needs no change there (their bundlers drop the unused base64).
import { SIMD_WASM, SCALAR_WASM } from "./generated/wasm-inline.js";
import { initWith, type InitOptions, type WasmSource } from "./runtime/loader.js";

function decode(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Loads the kernel; call once (later calls are no-ops). `source` may be a precompiled WebAssembly.Module
 * (required on Cloudflare workerd), the bytes of either .wasm build, a URL or a Response; or options:
 * `{ simd: false }` forces the non-SIMD build, `{ threads: n | "auto" }` starts workers for large steps.
 */
export function init(source?: WasmSource | InitOptions): Promise<void> {
  return initWith(source, {
    simd: () => decode(SIMD_WASM),
    scalar: () => decode(SCALAR_WASM),
    // Imported on demand: only init({ threads }) needs the threads build (see scripts/build.js).
    threads: async () => decode((await import("./generated/wasm-threads-inline.js")).THREADS_WASM),
  });
}

export { backend, simdSupported, type Backend, type WasmSource, type InitOptions } from "./runtime/loader.js";
export { FusedAdamError, ERROR_CODES, type ErrorCode } from "./errors.js";
export {
  Optimizer, Param,
  type ParamSpec, type GroupSpec, type GroupOptions, type OptimizerOptions, type ParamGroup, type ParamState,
  type OptimizerState, type Grads,
} from "./optimizer.js";
export {
  presets as conventions, type Preset, type PresetName, type PresetAlias, type Knobs, type ConventionSpec, type NameRule, type DecayMode,
  type DecayScale, type EpsMode,
} from "./conventions.js";
export { ALGORITHMS as algorithms, type AlgorithmName, type StateKey } from "./algorithms.js";
export { powi } from "./pow.js";
export { LossScaler, type LossScaleOptions } from "./scaler.js";
export type { ClipOptions, ClipMode } from "./clipping.js";
export {
  Scheduler, LambdaLR, CosineAnnealingLR, StepLR, ExponentialLR, OneCycleLR, BertSchedule,
  OptaxLinearSchedule, OptaxWarmupCosineDecay, type OptaxScheduleOptions,
  constant, constantWithWarmup, linearWithWarmup, cosineWithWarmup, polynomialWithWarmup, withWarmup, paperCosine,
  type Lambda, type ScheduleTarget, type SchedulerOptions, type OneCycleOptions, type BertScheduleOptions,
} from "./schedules.js";
export { CosineDecay, ExponentialDecay, type CosineDecayOptions, type ExponentialDecayOptions, type KerasBackend } from "./keras-schedules.js";
export { encode as encodeSafetensors, decode as decodeSafetensors, type Decoded, type TensorEntry } from "./io/safetensors.js";
export { noDecayFor1dAndBias } from "./conventions.js";
export type { DecayReport, DecayEntry } from "./decay.js";
export type { StepResult } from "./optimizer.js";
