// fused-adam/tfjs under the edge-light condition: the adapter with the edge-light entry (`.wasm?module`).
export * from "./adapter.js";
export * from "../edge.js";
