// The types of the loaded kernel, and the few WebAssembly and fetch types that fused-adam's declarations
// mention, written out here. TypeScript keeps WebAssembly's types (and BufferSource) in lib.dom.d.ts, so a
// project compiling with lib ["es2022"] and no DOM (a Node service, a worker) would stop at "Cannot find
// namespace 'WebAssembly'" in the shipped .d.ts files. A real WebAssembly.Module, Memory, URL or Response
// fits these shapes wherever the DOM or Node types describe them. A module of its own, imported by the
// kernel instance, the loader and the threads, so that none of them imports another for a type.

/** A compiled wasm module (WebAssembly.Module, which the DOM types declare as an empty interface too). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface WasmModule {}

/** The part of a WebAssembly.Memory fused-adam reads. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}

/** The part of a WebAssembly.Global fused-adam reads. */
export interface WasmGlobal {
  readonly value: unknown;
}

/** Bytes of a .wasm file (BufferSource). */
export type WasmBytes = ArrayBuffer | ArrayBufferView;

/** A URL object (what `new URL(...)` gives). */
export interface UrlLike {
  readonly href: string;
}

/** The part of a fetch Response init() reads. */
export interface ResponseLike {
  readonly ok: boolean;
  readonly status: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface KernelExports {
  memory: WasmMemory;
  /** One step over the padded element positions [from, to) of the records (assembly/index.ts). */
  step(table: number, count: number, from: number, to: number): void;
  heapBase(): number;
  /** Per-tensor norms of records [first, last); the scale is read from the norms area (assembly/norm.ts). */
  gradNorms(table: number, count: number, first: number, last: number, out: number, recipe: number): number;
  /** torch's norm of the per-tensor norms, written to the norms area. */
  normOfNorms(out: number, count: number, recipe: number): void;
  simd: WasmGlobal;
}

export interface Backend {
  /** "simd" (f32x4) or "scalar". */
  build: "simd" | "scalar";
  /** Why this build was chosen. */
  reason: string;
  /** Threads a step may use (1 unless init({ threads }) started workers). */
  threads: number;
  /** Why threads are on or off. */
  threadsReason: string;
}
