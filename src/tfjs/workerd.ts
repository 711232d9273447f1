// fused-adam/tfjs under the workerd condition: the adapter with the workerd entry (precompiled wasm modules;
// workerd refuses to compile wasm from bytes).
export * from "./adapter.js";
export * from "../workerd.js";
