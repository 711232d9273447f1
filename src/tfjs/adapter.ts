// The fused-adam/tfjs adapter: a TensorFlow.js optimizer whose step is fused-adam's. `model.compile({ optimizer })`
// accepts it (tf.Optimizer's instanceof test is structural: minimize, computeGradients, applyGradients),
// and so does any loop that calls `optimizer.minimize(f)`.
//
// TensorFlow.js is not imported at run time: the caller hands in its `tf` namespace (@tensorflow/tfjs or
// @tensorflow/tfjs-core), so fused-adam keeps zero runtime dependencies and uses whichever tf instance,
// and whichever backend, the application already has. Only types come from @tensorflow/tfjs-core.
//
// Where the numbers live, and what is copied per step. tf.Variables stay the model's weights (predict,
// save and getWeights see them); fused-adam keeps its own copy of every weight with the moments in wasm
// memory, since a step reads and writes them in place. Each applyGradients() then, per variable:
//   1. reads the gradient with dataSync() (no copy on the cpu backend, a download on webgl/webgpu) and
//      copies it into the parameter's grad view in wasm memory: one copy of the gradient;
//   2. after one fused step over all variables, copies the new weights out of wasm memory into a new
//      tensor (tf.tensor keeps the array it is given, and wasm memory is rewritten by the next step, so the
//      copy is required) and assign()s it to the variable: one copy of the weights;
//   3. only when a variable was assigned by someone else since the last step (model.setWeights, a loaded
//      checkpoint, a manual assign; detected by its data id, no comparison of values), first copies its
//      value into wasm memory.
// Moments are never copied. The first step also copies every weight in once.
import type { NamedTensorMap, Optimizer as TfOptimizer, Scalar, Tensor, Variable } from "@tensorflow/tfjs-core";
import { fail, show } from "../errors.js";
import { Optimizer, type OptimizerOptions, type Param, type StepResult } from "../optimizer.js";

/** The few functions of the tf namespace this adapter calls (@tensorflow/tfjs and tfjs-core both fit). */
export interface TfNamespace {
  tensor(values: Float32Array, shape: number[], dtype: "float32"): Tensor;
  scalar(value: number, dtype?: "int32" | "float32"): Scalar;
  variableGrads(f: () => Scalar, varList?: Variable[]): { value: Scalar; grads: NamedTensorMap };
  dispose(container: unknown): void;
  engine(): { registeredVariables: Record<string, Variable> };
}

/** tf's NamedTensor (not exported by tfjs-core's index). */
export interface NamedTensor {
  name: string;
  tensor: Tensor;
}

/** Something that advances once per step, such as a scheduler of fused-adam. */
export interface Steppable {
  step(): void;
}

export interface TfjsOptions extends OptimizerOptions {
  /**
   * Called once with the fused-adam Optimizer when it is created (at the first step, or by build());
   * the scheduler it returns is stepped after every optimizer step, as a torch loop would call it:
   * `schedule: (o) => new BertSchedule(o, totalSteps, warmupSteps)`.
   */
  schedule?: (optimizer: Optimizer) => Steppable;
}

interface Slot {
  variable: Variable;
  param: Param;
  /** The variable's data id after our last assign: another id means someone else assigned it. */
  dataId: unknown;
}

/**
 * A tf.Optimizer backed by fused-adam. Its parameters are fixed at the first step (or by build()): every
 * later step must name only those variables.
 */
export class FusedAdamTfjs {
  static readonly className = "FusedAdam";
  /** fused-adam's optimizer (null until the first step or build()): its paramGroups, state, stateDict. */
  optimizer: Optimizer | null = null;
  /** The scheduler made by options.schedule, once the optimizer exists. */
  scheduler: Steppable | null = null;
  private slots: Slot[] = [];
  private byName = new Map<string, Slot>();
  private taken = 0; // not iterations_: that name is protected in tf.Optimizer, and the types must intersect

  constructor(private readonly tf: TfNamespace, private readonly options: TfjsOptions = {}) {
    if (!tf || typeof tf.tensor !== "function" || typeof tf.variableGrads !== "function" || typeof tf.engine !== "function") {
      fail("BAD_OPTION", "fused-adam/tfjs: pass the TensorFlow.js namespace first: new FusedAdamTfjs(tf, options) with `import * as tf from \"@tensorflow/tfjs\"`");
    }
  }

  /** Steps taken (tf.Optimizer's iterations). */
  get iterations(): number {
    return this.taken;
  }

  /** The result of the last step (global norm, clip coefficient, skipped), or null before the first. */
  get lastStep(): StepResult | null {
    return this.optimizer && this.taken > 0 ? this.optimizer.lastStep : null;
  }

  /**
   * Creates the fused optimizer for these variables now (copying their values in), so that schedulers
   * or state can be attached before training. Otherwise the first step does it.
   */
  build(variables: readonly Variable[]): Optimizer {
    if (this.optimizer) fail("BAD_USE", "fused-adam/tfjs: build() was already called, or a step was taken: the variables are fixed");
    if (!variables.length) fail("BAD_OPTION", "fused-adam/tfjs: no variables to optimize");
    const { schedule, ...options } = this.options;
    for (const v of variables) {
      if (v.dtype !== "float32") fail("BAD_ARRAY", `fused-adam/tfjs: variable "${v.name}" is ${v.dtype}; only float32 variables can be optimized`);
    }
    const opt = new Optimizer(variables.map((v) => ({ name: v.name, shape: v.shape, data: v.dataSync() as Float32Array })), options);
    this.optimizer = opt;
    this.slots = variables.map((v) => ({ variable: v, param: opt.param(v.name), dataId: v.dataId }));
    this.byName = new Map(this.slots.map((s) => [s.variable.name, s]));
    this.scheduler = schedule ? schedule(opt) : null;
    return opt;
  }

  /** tf.Optimizer.minimize: computes the gradients of f() and applies them. */
  minimize(f: () => Scalar, returnCost = false, varList?: Variable[]): Scalar | null {
    const { value, grads } = this.computeGradients(f, varList);
    this.applyGradients(varList ? varList.map((v) => ({ name: v.name, tensor: grads[v.name] })) : grads);
    this.tf.dispose(grads);
    if (returnCost) return value;
    value.dispose();
    return null;
  }

  /** tf.Optimizer.computeGradients (tf.variableGrads). */
  computeGradients(f: () => Scalar, varList?: Variable[]): { value: Scalar; grads: NamedTensorMap } {
    return this.tf.variableGrads(f, varList);
  }

  /**
   * One fused-adam step from these gradients (name -> tensor). A variable of the optimizer without a
   * gradient in this call steps with a zero gradient (its moments decay, weight decay applies); the tf
   * optimizers skip such a variable instead.
   */
  applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void {
    const list: [string, Tensor | null | undefined][] = Array.isArray(variableGradients)
      ? variableGradients.map((g) => [g.name, g.tensor])
      : Object.entries(variableGradients);
    if (!this.optimizer) {
      const vars = this.tf.engine().registeredVariables;
      this.build(list.map(([name]) => (Object.hasOwn(vars, name) ? vars[name] : undefined) ?? fail("UNKNOWN_NAME", `fused-adam/tfjs: gradient for "${name}", which is not a registered tf.Variable`)));
    }
    const given = new Set<string>();
    for (const [name, g] of list) {
      const slot = this.byName.get(name);
      if (!slot) {
        fail("UNKNOWN_NAME", `fused-adam/tfjs: gradient for "${name}", which this optimizer did not have at its first step; its variables are fixed then (${[...this.byName.keys()].join(", ")}): use a new optimizer`);
      }
      if (g && (g.size !== slot.param.size || g.dtype !== "float32")) {
        fail("BAD_SHAPE", `fused-adam/tfjs: the gradient of "${name}" is ${g.dtype} [${g.shape.join(", ")}], expected float32 [${slot.param.shape.join(", ")}]`);
      }
      given.add(name);
    }
    for (const slot of this.slots) {
      const v = slot.variable;
      if (v.isDisposed) fail("DISPOSED", `fused-adam/tfjs: variable "${v.name}" was disposed`);
      if (v.dataId !== slot.dataId) {
        slot.param.data.set(v.dataSync() as Float32Array); // assigned elsewhere since our last step
        slot.dataId = v.dataId;
      }
      if (!given.has(v.name)) slot.param.grad.fill(0);
    }
    for (const [name, g] of list) {
      const grad = this.byName.get(name)!.param.grad;
      if (g) grad.set(g.dataSync() as Float32Array);
      else grad.fill(0);
    }
    this.optimizer!.step();
    this.scheduler?.step();
    this.taken++;
    for (const slot of this.slots) {
      const t = this.tf.tensor(slot.param.data.slice(), slot.variable.shape, "float32");
      slot.variable.assign(t);
      t.dispose(); // the variable holds its own reference to the data
      slot.dataId = slot.variable.dataId;
    }
  }

  /** tf.Optimizer.saveIterations. */
  async saveIterations(): Promise<NamedTensor> {
    return { name: "iter", tensor: this.tf.scalar(this.taken, "int32") };
  }

  /**
   * tf.Optimizer.getWeights, in tf.train.adam's order: the iteration count, then every variable's first
   * moment, then every variable's second moment (tfjs-core adam_optimizer.ts getWeights), so that the
   * list moves between this adapter and tf.train.adam in either direction.
   */
  async getWeights(): Promise<NamedTensor[]> {
    const out: NamedTensor[] = [await this.saveIterations()];
    for (const s of this.slots) out.push({ name: `${s.variable.name}/m`, tensor: this.tf.tensor(s.param.expAvg.slice(), s.variable.shape, "float32") });
    for (const s of this.slots) out.push({ name: `${s.variable.name}/v`, tensor: this.tf.tensor(s.param.expAvgSq.slice(), s.variable.shape, "float32") });
    return out;
  }

  /**
   * tf.Optimizer.setWeights: the inverse of getWeights (after build() or a first step). As tf.train.adam
   * does, the list after the iteration count splits by position: the first half are the first moments,
   * the second half the second moments, in the order of the variables.
   */
  async setWeights(weights: NamedTensor[]): Promise<void> {
    if (!this.optimizer) fail("BAD_USE", "fused-adam/tfjs: setWeights() needs the variables: call build(variables) first");
    if (!Array.isArray(weights) || weights.length !== 1 + 2 * this.slots.length) {
      fail("BAD_STATE", `fused-adam/tfjs: setWeights: expected the iteration count and 2 x ${this.slots.length} moments, got ${Array.isArray(weights) ? weights.length : show(weights)} weights`);
    }
    const [iter, ...rest] = weights;
    const steps = Number((await iter.tensor.data())[0]);
    const n = this.slots.length;
    const params: Record<string, { step: number; expAvg: Float32Array; expAvgSq: Float32Array }> = Object.create(null);
    for (let i = 0; i < n; i++) {
      const s = this.slots[i];
      for (const w of [rest[i], rest[n + i]]) {
        if (w.tensor.size !== s.param.size) {
          fail("BAD_SHAPE", `fused-adam/tfjs: setWeights: weight ${JSON.stringify(w.name)} has ${w.tensor.size} elements; the variable "${s.variable.name}" it falls on by position has ${s.param.size}`);
        }
      }
      params[s.variable.name] = {
        step: steps,
        expAvg: Float32Array.from(await rest[i].tensor.data()),
        expAvgSq: Float32Array.from(await rest[n + i].tensor.data()),
      };
    }
    this.optimizer.loadState({ params });
    this.taken = steps;
  }

  getClassName(): string {
    return FusedAdamTfjs.className;
  }

  /** The options as a plain object (tf serialization); `schedule` is a function and is left out. */
  getConfig(): Record<string, unknown> {
    const { schedule: _s, ...rest } = this.options;
    return { ...rest, convention: this.optimizer?.convention.name ?? rest.convention ?? "torch-adamw" };
  }

  /** Frees fused-adam's memory; the tf variables keep the last weights. */
  dispose(): void {
    this.optimizer?.dispose();
    this.optimizer = null;
    this.slots = [];
    this.byName.clear();
  }
}

/**
 * `model.compile({ optimizer: fusedAdam(tf, { convention: "torch-adamw", lr: 1e-3, weightDecay: 0.01 }) })`.
 * Typed as a tf.Optimizer too: tf's own instanceof test is structural, but TypeScript's check of a class
 * with protected members is not, so the type says what the run-time check already accepts.
 */
export function fusedAdam(tf: TfNamespace, options?: TfjsOptions): FusedAdamTfjs & TfOptimizer {
  return new FusedAdamTfjs(tf, options) as FusedAdamTfjs & TfOptimizer;
}
