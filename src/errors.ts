// Every error fused-adam throws on purpose is a FusedAdamError with a stable `code` from this table (the
// message is for people and may change; programs match the code). The README's "Errors" section lists
// the same table.

/** The error codes and what each means. */
export const ERROR_CODES = {
  NOT_INITIALIZED: "the kernel is not loaded: `await init()` first",
  ALREADY_INITIALIZED: "init() asked for another build or thread count than the kernel already loaded",
  INIT_FAILED: "the wasm could not be fetched or compiled",
  BAD_OPTION: "an option, a hyperparameter or a convention knob has the wrong type or value (also misspelt keys)",
  BAD_NAME: "a parameter name is empty, repeated or reserved",
  UNKNOWN_NAME: "a name that is not a parameter of this optimizer (gradients, loadState, param())",
  BAD_SHAPE: "a shape, or an array's length, does not match",
  BAD_ARRAY: "an array is not an array of numbers (null, BigInt64Array, a string)",
  NON_FINITE: "a NaN or infinite gradient under nonFinite: \"throw\"",
  BAD_STATE: "a state object passed to loadState() or setWeights() is malformed",
  BAD_CHECKPOINT: "a checkpoint file (stateDict, weights, safetensors) is corrupt or belongs to another optimizer",
  STEP_LIMIT: "a step count would pass 2^53, beyond which float64 counts are no longer exact",
  OUT_OF_MEMORY: "the wasm32 memory (4 GiB) cannot hold the parameters",
  DISPOSED: "the optimizer was disposed: its memory is released",
  STALE_VIEW: "a gradient view was taken before the memory grew: writes through it were lost",
  BAD_USE: "a call in the wrong order (TF.js adapter: build twice, setWeights before build)",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Every error fused-adam throws for bad input: the message names the parameter and what is allowed. */
export class FusedAdamError extends Error {
  /** Stable: match this, not the message. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "FusedAdamError";
    this.code = code;
  }
}

export function fail(code: ErrorCode, message: string): never {
  throw new FusedAdamError(code, message);
}

/**
 * A user's value for a message, whatever it is: String() throws for an object without a prototype, and
 * JSON.stringify for a BigInt, so an error about a bad value must not use them directly.
 */
export function show(v: unknown): string {
  try {
    if (typeof v === "string") return JSON.stringify(v);
    if (typeof v === "bigint") return `${v}n`;
    if (typeof v === "symbol" || typeof v === "function") return String(v);
    if (Array.isArray(v)) return `[${v.slice(0, 8).map(show).join(", ")}${v.length > 8 ? ", ..." : ""}]`;
    if (ArrayBuffer.isView(v)) return Object.prototype.toString.call(v);
    if (typeof v === "object" && v !== null) return JSON.stringify(v) ?? Object.prototype.toString.call(v);
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
