// The algorithms an Optimizer runs: the one table their names, kernel ids, state buffers, defaults and the
// weight-decay placements each accepts derive from. A state's `key` is its field in Optimizer.state() and
// on a Param; checkpoints name it as torch does (`torch`) and record the other frameworks' names (optax's
// ScaleBy*State fields, Keras 3's optimizer variables) in their metadata.
import * as abi from "../assembly/abi.js";
import { fail } from "./errors.js";

export const ALGORITHMS = {
  adam: {
    id: abi.ALGO_ADAM,
    title: "Adam / AdamW (the convention decides where weight decay enters)",
    states: [
      { key: "expAvg", torch: "exp_avg", optax: "mu", keras: "momentum" },
      { key: "expAvgSq", torch: "exp_avg_sq", optax: "nu", keras: "velocity" },
    ],
    defaults: {},
    decay: ["none", "l2", "decoupled", "subtract", "keras", "update", "after"],
    presetKnobs: {},
  },
  lion: {
    id: abi.ALGO_LION,
    // optax/_src/alias.py lion (b1 0.9, b2 0.99, weight_decay 1e-3); keras/src/optimizers/lion.py (same betas).
    title: "Lion: sign(b1*m + (1-b1)*g) as the update, one moment m = b2*m + (1-b2)*g",
    states: [{ key: "expAvg", torch: "exp_avg", optax: "mu", keras: "momentum" }],
    defaults: { betas: [0.9, 0.99], weightDecay: 1e-3 },
    // optax adds wd*p to the sign (`update`); Keras 3 shrinks p first (`keras`); torch-style AdamW
    // shrinking (`decoupled`) is what Lion's paper and lion-pytorch do.
    decay: ["none", "update", "keras", "decoupled"],
    // keras/src/optimizers/lion.py casts the betas to float32 before `1.0 - beta_1` (its Adam subtracts the
    // python floats): with the keras-adamw preset, Lion rounds 1 - beta in float32.
    presetKnobs: { "keras-adamw": { oneMinusBeta: "f32" } },
  },
  adamax: {
    id: abi.ALGO_ADAMAX,
    // torch/optim/adamax.py (lr 2e-3, L2 decay), optax adamax/adamaxw, keras/src/optimizers/adamax.py.
    title: "Adamax: Adam's first moment, the infinity norm u = max(b2*u, |g| + eps) instead of v",
    states: [
      { key: "expAvg", torch: "exp_avg", optax: "mu", keras: "momentum" },
      { key: "expInf", torch: "exp_inf", optax: "nu", keras: "norm" },
    ],
    defaults: {},
    // torch adds wd*p to the gradient (`l2`), optax adamaxw to the update (`update`), Keras shrinks p first.
    decay: ["none", "l2", "decoupled", "keras", "update"],
    presetKnobs: {},
  },
  nadam: {
    id: abi.ALGO_NADAM,
    // torch/optim/nadam.py (torch 2.13: lr 2e-3, momentum_decay 4e-3; decoupled_weight_decay=True is NAdamW).
    title: "NAdam: Adam's moments with torch's momentum schedule mu_t and Nesterov's look-ahead on m",
    states: [
      { key: "expAvg", torch: "exp_avg", optax: "mu", keras: "momentum" },
      { key: "expAvgSq", torch: "exp_avg_sq", optax: "nu", keras: "velocity" },
    ],
    // mu_product: a float32 scalar per parameter in torch's state (Keras keeps one u_product per optimizer).
    scalars: [{ key: "muProduct", torch: "mu_product" }],
    defaults: {},
    // torch: L2 (`l2`, preset torch-adam) or decoupled_weight_decay=True (`decoupled`, preset torch-adamw);
    // Keras 3's Nadam shrinks the weight first (`keras`, preset keras-adamw).
    decay: ["none", "l2", "decoupled", "keras"],
    presetKnobs: {},
  },
  radam: {
    id: abi.ALGO_RADAM,
    // torch/optim/radam.py (torch 2.13; decoupled_weight_decay=True is RAdamW).
    title: "RAdam: Adam with the variance rectification when rho_t > 5, plain momentum SGD before",
    states: [
      { key: "expAvg", torch: "exp_avg", optax: "mu", keras: "momentum" },
      { key: "expAvgSq", torch: "exp_avg_sq", optax: "nu", keras: "velocity" },
    ],
    defaults: {},
    decay: ["none", "l2", "decoupled"],
    presetKnobs: {},
  },
} as const;

export type AlgorithmName = keyof typeof ALGORITHMS;
export type Algorithm = (typeof ALGORITHMS)[AlgorithmName];
/** A state buffer's field name (Optimizer.state(), Param getters). */
export type StateKey = "expAvg" | "expAvgSq" | "expInf";
/** The per-parameter scalars an algorithm keeps besides its buffers (NAdam's mu_product). */
export function scalarStates(a: Algorithm): readonly { key: "muProduct"; torch: string }[] {
  return "scalars" in a ? a.scalars : [];
}
export const ALGORITHM_NAMES = Object.keys(ALGORITHMS) as AlgorithmName[];

export function resolveAlgorithm(name: unknown): Algorithm & { name: AlgorithmName } {
  const key = name === undefined ? "adam" : name;
  if (typeof key !== "string" || !Object.hasOwn(ALGORITHMS, key)) {
    fail("BAD_OPTION", `algorithm: "${String(name)}" is not one of ${ALGORITHM_NAMES.map((n) => `"${n}"`).join(", ")}`);
  }
  return { ...ALGORITHMS[key as AlgorithmName], name: key as AlgorithmName };
}

/** The region (after weights 0 and gradients 1) that holds state `key`, or -1 when the algorithm keeps none. */
export function stateRegion(a: Algorithm, key: string): number {
  const i = a.states.findIndex((s) => s.key === key);
  return i < 0 ? -1 : 2 + i;
}
