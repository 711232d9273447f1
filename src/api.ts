// Everything the package exports except init(), which each entry defines for its way of getting the wasm:
// index.ts (inlined base64, the default), workerd.ts and edge.ts (precompiled modules imported by the
// platform's bundler). Add new public exports here so that every entry has them.
export { backend, simdSupported, type Backend, type WasmSource, type InitOptions } from "./loader.js";
export { FusedAdamError } from "./errors.js";
export {
  Optimizer, Param,
  type ParamSpec, type GroupSpec, type GroupOptions, type OptimizerOptions, type ParamGroup, type ParamState,
  type OptimizerState, type Grads,
} from "./optimizer.js";
export { presets as conventions, type Preset, type Knobs, type ConventionSpec, type NameRule, type DecayMode, type DecayScale, type EpsMode } from "./conventions.js";
export { powi } from "./pow.js";
