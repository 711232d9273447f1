// One training run of the MLP under one convention, as a generator so that Node can drive it straight
// through and a browser page can drive it a few batches per animation frame. The library is passed in
// (Node imports dist/, the page imports "fused-adam" through an import map).
import { MLP, paramSpecs, permutation, rng, weightNorm } from "./mlp.js";

/**
 * @typedef {object} RunConfig
 * @property {string} convention a preset name (see `conventions`)
 * @property {number} lr
 * @property {number} weightDecay the coefficient handed to the convention (its meaning is the convention's)
 * @property {number} epochs
 * @property {number} batchSize
 * @property {number} seed initial weights and batch order
 * @property {"auto"|"constant"|"linear"} schedule auto: BERT's warmup + linear decay for "bert", constant lr
 *   for the others; linear: warmup + linear decay for every convention
 * @property {number} warmup fraction of the steps spent warming up (linear schedules)
 * @property {number} [hidden] hidden units (128)
 * @property {number} [curvePoints] loss points kept per epoch (20)
 * @property {number} [evalEvery] also measure accuracy on the first `evalSamples` test digits every this
 *   many steps (0: only at the end of each epoch), for live charts
 * @property {number} [evalSamples]
 */

export const DEFAULTS = Object.freeze({
  lr: 1e-3, weightDecay: 0.01, epochs: 4, batchSize: 32, seed: 1, schedule: "auto", warmup: 0.1, hidden: 128, curvePoints: 20,
  evalEvery: 0, evalSamples: 500,
});

/**
 * @param {typeof import("../../dist/src/index.js")} lib the fused-adam module (init() already awaited)
 * @param {{ train: import("./data.js").DataSet, test: import("./data.js").DataSet }} data
 * @param {Partial<RunConfig> & { convention: string }} config
 */
export function* trainRun(lib, data, config) {
  const cfg = { ...DEFAULTS, ...config };
  const { train, test } = data;
  const stepsPerEpoch = Math.ceil(train.n / cfg.batchSize);
  const totalSteps = stepsPerEpoch * cfg.epochs;
  const opt = new lib.Optimizer(paramSpecs(cfg.seed, cfg.hidden), {
    convention: cfg.convention, lr: cfg.lr, weightDecay: cfg.weightDecay,
  });
  const linear = cfg.schedule === "linear" || (cfg.schedule === "auto" && cfg.convention === "bert");
  const warmupSteps = Math.round(cfg.warmup * totalSteps);
  // BERT's create_optimizer schedule is computed in float32 as TensorFlow does; the others use the
  // HuggingFace get_linear_schedule_with_warmup lambda (float64), as a PyTorch script would.
  const sched = !linear ? null
    : cfg.convention === "bert" ? new lib.BertSchedule(opt, totalSteps, warmupSteps)
    : new lib.LambdaLR(opt, lib.linearWithWarmup(warmupSteps, totalSteps));
  const model = new MLP(opt, cfg.hidden);
  const rand = rng(cfg.seed ^ 0x5eed);
  const every = Math.max(1, Math.floor(stepsPerEpoch / cfg.curvePoints));

  const result = {
    config: cfg,
    title: lib.conventions[cfg.convention]?.title ?? cfg.convention,
    schedule: !linear ? "constant" : cfg.convention === "bert" ? `BERT warmup ${warmupSteps} + linear decay` : `warmup ${warmupSteps} + linear decay`,
    decayed: opt.params.filter((p) => p.decays).map((p) => p.name),
    lossCurve: [], // [step, mean training loss over the last `every` steps]
    epochs: [], // { epoch, step, testAccuracy, testLoss, trainLoss, weightNorm }
    evalCurve: [], // [step, accuracy on the first evalSamples test digits] (evalEvery > 0)
    normCurve: [], // [step, weight norm] (evalEvery > 0)
    steps: 0, stepMs: 0, iterMs: 0, seconds: 0,
  };
  const record = (epoch, trainLoss) => {
    const ev = model.evaluate(test);
    const e = { epoch, step: result.steps, testAccuracy: ev.accuracy, testLoss: ev.loss, trainLoss, weightNorm: weightNorm(opt) };
    result.epochs.push(e);
    return e;
  };
  const started = performance.now();
  try {
    record(0, NaN);
    if (cfg.evalEvery > 0) {
      result.evalCurve.push([0, model.evaluate(test, Math.min(test.n, cfg.evalSamples)).accuracy]);
      result.normCurve.push([0, weightNorm(opt)]);
    }
    yield { kind: "epoch", result, epoch: result.epochs[0], model };
    for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      const order = permutation(train.n, rand);
      let windowLoss = 0, windowN = 0, epochLoss = 0;
      for (let b = 0; b < stepsPerEpoch; b++) {
        const t0 = performance.now();
        const loss = model.trainBatch(train, order, b * cfg.batchSize, Math.min(train.n, (b + 1) * cfg.batchSize));
        const t1 = performance.now();
        opt.step();
        if (sched) sched.step();
        const t2 = performance.now();
        result.steps++;
        result.stepMs += t2 - t1;
        result.iterMs += t2 - t0;
        windowLoss += loss;
        windowN++;
        epochLoss += loss;
        if (windowN === every || b === stepsPerEpoch - 1) {
          result.lossCurve.push([result.steps, windowLoss / windowN]);
          windowLoss = 0;
          windowN = 0;
        }
        if (cfg.evalEvery > 0 && result.steps % cfg.evalEvery === 0) {
          result.evalCurve.push([result.steps, model.evaluate(test, Math.min(test.n, cfg.evalSamples)).accuracy]);
          result.normCurve.push([result.steps, weightNorm(opt)]);
        }
        yield { kind: "batch", result, step: result.steps, totalSteps, loss, model };
      }
      const e = record(epoch, epochLoss / stepsPerEpoch);
      yield { kind: "epoch", result, epoch: e, model };
    }
  } finally {
    result.seconds = (performance.now() - started) / 1000;
    const last = result.epochs.at(-1);
    Object.assign(result, {
      testAccuracy: last.testAccuracy, testLoss: last.testLoss, trainLoss: last.trainLoss, weightNorm: last.weightNorm,
      finalLoss: result.lossCurve.length ? result.lossCurve.at(-1)[1] : NaN,
    });
    opt.dispose();
  }
  return result;
}

/** Runs a whole training synchronously; `onEvent` sees every event. */
export function trainSync(lib, data, config, onEvent = () => {}) {
  const it = trainRun(lib, data, config);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
    onEvent(r.value);
  }
}
