// Dynamic loss scaling, as torch.cuda.amp.GradScaler (torch/cuda/amp/grad_scaler.py, 1.13): the user
// multiplies the loss by `scale` before the backward pass; the step unscales the gradients by the float32
// reciprocal (in the same fused pass), skips the step when a gradient is inf/NaN and backs the scale off,
// and grows it after `growthInterval` clean steps (ATen _amp_update_scale_, float32 arithmetic).
import { fail, show } from "./errors.js";

const f = Math.fround;

export interface LossScaleOptions {
  init?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
}

export class LossScaler {
  /** Multiply the loss by this before computing gradients. */
  scale: number;
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  /** Clean steps since the last change of scale. */
  growthTracker = 0;

  constructor(o: LossScaleOptions = {}) {
    this.scale = f(o.init ?? 65536);
    this.growthFactor = o.growthFactor ?? 2;
    this.backoffFactor = o.backoffFactor ?? 0.5;
    this.growthInterval = o.growthInterval ?? 2000;
    for (const k of ["init", "growthFactor", "backoffFactor", "growthInterval"] as const) {
      if (o[k] !== undefined && typeof o[k] !== "number") fail("BAD_OPTION", `lossScale.${k} is ${show(o[k])}; it must be a number`);
    }
    // The scale is a float32 (ATen's _amp_update_scale_): 1e39 would be Infinity and 1e-50 zero.
    if (!(this.scale > 0) || !Number.isFinite(this.scale)) fail("BAD_OPTION", `lossScale.init is ${o.init}; it must be a number > 0, finite and nonzero in float32`);
    if (!(this.growthFactor > 1)) fail("BAD_OPTION", `lossScale.growthFactor is ${o.growthFactor}; it must be > 1`);
    if (!(this.backoffFactor > 0 && this.backoffFactor < 1)) fail("BAD_OPTION", `lossScale.backoffFactor is ${o.backoffFactor}; it must be in (0, 1)`);
    if (!Number.isInteger(this.growthInterval) || this.growthInterval < 1) fail("BAD_OPTION", `lossScale.growthInterval is ${o.growthInterval}; it must be a whole number >= 1`);
  }

  /** The float32 reciprocal the gradients are multiplied by (GradScaler: scale.double().reciprocal().float()). */
  get invScale(): number {
    return f(1 / this.scale);
  }

  /** After a step: back off on overflow, grow after growthInterval clean steps. */
  update(foundInf: boolean): void {
    if (foundInf) {
      this.scale = f(this.scale * f(this.backoffFactor));
      this.growthTracker = 0;
    } else if (++this.growthTracker === this.growthInterval) {
      const grown = f(this.scale * f(this.growthFactor));
      if (Number.isFinite(grown)) this.scale = grown;
      this.growthTracker = 0;
    }
  }
}
