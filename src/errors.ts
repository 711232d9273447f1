/** Every error fused-adam throws for bad input: the message names the parameter and what is allowed. */
export class FusedAdamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FusedAdamError";
  }
}

export function fail(message: string): never {
  throw new FusedAdamError(message);
}
