// A small safetensors codec (https://github.com/huggingface/safetensors, format section): 8 bytes of
// little-endian header length N, N bytes of JSON header { name: { dtype, shape, data_offsets: [begin, end] },
// "__metadata__": { string: string } }, then the data. No maintained implementation exists on npm, so
// this one is written to be strict: decode() checks every bound, offset and size before anything is read,
// and offsets must tile the data section exactly, as the format requires.
import { fail } from "../errors.js";

export interface TensorEntry {
  dtype: string;
  shape: number[];
  /** Byte range within the data section. */
  begin: number;
  end: number;
}

export interface Decoded {
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
  /** Offset of the data section in the input. */
  dataStart: number;
  bytes: Uint8Array;
}

const MAX_HEADER = 100_000_000; // the reference implementation's limit
const DTYPE_SIZE: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encodes float32 (or float64) tensors (name -> { shape, data }) and string metadata. */
export function encode(tensors: ReadonlyArray<[string, readonly number[], Float32Array | Float64Array]>, metadata: Record<string, string>): Uint8Array {
  // No prototype: a tensor named "__proto__" or "constructor" is a key like any other.
  const header: Record<string, unknown> = Object.create(null);
  header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, shape, data] of tensors) {
    if (Object.hasOwn(header, name)) fail("BAD_NAME", `safetensors: ${name === "__metadata__" ? "the name \"__metadata__\" is reserved" : `two tensors named "${name}"`}`);
    const size = data.byteLength;
    header[name] = { dtype: data instanceof Float64Array ? "F64" : "F32", shape: [...shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  json = new Uint8Array(0);
  let at = 8 + padded;
  for (const [, , data] of tensors) {
    if (LITTLE_ENDIAN) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    else if (data instanceof Float64Array) for (let i = 0; i < data.length; i++) view.setFloat64(at + 8 * i, data[i], true);
    else for (let i = 0; i < data.length; i++) view.setFloat32(at + 4 * i, data[i], true);
    at += data.byteLength;
  }
  return out;
}

/** Parses and validates a safetensors file. Throws a FusedAdamError describing the first problem. */
export function decode(bytes: Uint8Array, what = "safetensors"): Decoded {
  if (!(bytes instanceof Uint8Array)) fail("BAD_CHECKPOINT", `${what}: expected a Uint8Array, got ${Object.prototype.toString.call(bytes)}`);
  if (bytes.length < 8) fail("BAD_CHECKPOINT", `${what}: ${bytes.length} bytes is too short for the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) fail("BAD_CHECKPOINT", `${what}: header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length) fail("BAD_CHECKPOINT", `${what}: header length ${headerLen} runs past the end of the ${bytes.length}-byte file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail("BAD_CHECKPOINT", `${what}: the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) fail("BAD_CHECKPOINT", `${what}: the header must be a JSON object`);
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (!value || typeof value !== "object" || Array.isArray(value)) fail("BAD_CHECKPOINT", `${what}: __metadata__ must be an object of strings`);
      for (const [k, v] of Object.entries(value)) if (typeof v !== "string") fail("BAD_CHECKPOINT", `${what}: __metadata__.${k} must be a string`);
      metadata = value as Record<string, string>;
      continue;
    }
    const e = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== "object") fail("BAD_CHECKPOINT", `${what}: tensor "${name}" must be an object`);
    if (typeof e.dtype !== "string" || !(e.dtype in DTYPE_SIZE)) fail("BAD_CHECKPOINT", `${what}: tensor "${name}" has unknown dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail("BAD_CHECKPOINT", `${what}: tensor "${name}" has an invalid shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isSafeInteger(x) && x >= 0)) {
      fail("BAD_CHECKPOINT", `${what}: tensor "${name}" has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    if (begin > end || end > dataLen) fail("BAD_CHECKPOINT", `${what}: tensor "${name}" data_offsets [${begin}, ${end}] lie outside the ${dataLen}-byte data section`);
    let count = 1;
    for (const d of e.shape as number[]) count *= d;
    if (count * DTYPE_SIZE[e.dtype] !== end - begin) {
      fail("BAD_CHECKPOINT", `${what}: tensor "${name}" of shape [${(e.shape as number[]).join(", ")}] ${e.dtype} needs ${count * DTYPE_SIZE[e.dtype]} bytes, its offsets span ${end - begin}`);
    }
    tensors.set(name, { dtype: e.dtype, shape: e.shape as number[], begin, end });
  }
  // Offsets must tile [0, dataLen) with no gap and no overlap.
  const spans = [...tensors.entries()].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let at = 0;
  for (const [name, t] of spans) {
    if (t.begin !== at) fail("BAD_CHECKPOINT", `${what}: tensor "${name}" starts at byte ${t.begin} of the data section, expected ${at} (overlapping or gapped offsets)`);
    at = t.end;
  }
  if (at !== dataLen) fail("BAD_CHECKPOINT", `${what}: the tensors cover ${at} bytes but the data section has ${dataLen}`);
  return { tensors, metadata, dataStart, bytes };
}

/** The float32 data of one decoded tensor (a copy). */
export function readF32(d: Decoded, name: string): Float32Array {
  const t = d.tensors.get(name)!;
  const start = d.dataStart + t.begin;
  const count = (t.end - t.begin) / 4;
  if (LITTLE_ENDIAN) return new Float32Array(d.bytes.slice(start, t.end + d.dataStart).buffer);
  const dv = new DataView(d.bytes.buffer, d.bytes.byteOffset + start, t.end - t.begin);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
  return out;
}

/**
 * A scalar tensor's value as a number: F64 (fused-adam's step counts), F32 (torch 2.x's) or I64; shape []
 * (or [1]).
 */
export function readScalar(d: Decoded, name: string, what: string): number {
  const t = d.tensors.get(name);
  if (!t) fail("BAD_CHECKPOINT", `${what}: the file has no tensor "${name}"`);
  if (!(t.shape.length === 0 || (t.shape.length === 1 && t.shape[0] === 1))) fail("BAD_CHECKPOINT", `${what}: tensor "${name}" has shape [${t.shape.join(", ")}], expected a scalar []`);
  const dv = new DataView(d.bytes.buffer, d.bytes.byteOffset + d.dataStart + t.begin, t.end - t.begin);
  if (t.dtype === "F64") return dv.getFloat64(0, true);
  if (t.dtype === "F32") return dv.getFloat32(0, true);
  if (t.dtype === "I64") return Number(dv.getBigInt64(0, true)); // beyond 2^53 it rounds, and the step check rejects it
  return fail("BAD_CHECKPOINT", `${what}: tensor "${name}" is ${t.dtype}, expected F64, F32 or I64`);
}
