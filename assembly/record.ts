// Reading a record's scalars, and XLA's flush where a record runs XLA's arithmetic: shared by the bodies
// of assembly/family.ts's algorithms.
import { REC_SCALARS, F_XLA } from "./abi";
import { splat } from "./lanes";
import { z } from "./xla";

/** Scalar slot `k` of the record, splatted to the lane type. */
@inline export function scalar<T>(rec: usize, k: i32): T {
  return splat<T>(load<f32>(rec + REC_SCALARS + (<usize>k << 2)));
}

/** XLA CPU's flush of subnormals (assembly/xla.ts) where the record runs XLA's arithmetic (F_XLA); else x. */
@inline export function q<T>(flags: u32, x: T): T {
  return flags & F_XLA ? z<T>(x) : x;
}
