// fused-adam/tfjs: the TensorFlow.js adapter and everything of the default entry, so that one import
// serves (the same module instance: one init()). Under the workerd and edge-light conditions the package
// resolves ./workerd.js and ./edge.js instead, with those entries' init().
export * from "./adapter.js";
export * from "../index.js";
