"""Real Keras 3.15 runs on the TensorFlow and the JAX backends: golden/real/keras/.

Keras fixes its backend at import, so the script runs itself once per backend in a subprocess with
KERAS_BACKEND set. Each scenario builds keras.Variables, an `Adam` or `AdamW` (weight_decay,
exclude_from_weight_decay(var_names=...), global_clipnorm, a learning-rate schedule) and calls
`optimizer.apply_gradients` eagerly, step by step, recording the rate the optimizer held (float32), the
state after each step, and for global_clipnorm the norm, the scale and the clipped gradients computed by
Keras's own functions (keras/src/optimizers/base_optimizer.py global_norm, clip_by_global_norm) on the
same backend.
"""
import os
import subprocess
import sys

BACKENDS = ["tensorflow", "jax"]


def main():
    for b in BACKENDS:
        env = {**os.environ, "KERAS_BACKEND": b, "TF_CPP_MIN_LOG_LEVEL": "2"}
        subprocess.run([sys.executable, os.path.abspath(__file__), b], check=True, env=env)


def run_backend(backend):
    import numpy as np
    import keras
    from keras import ops
    from keras.src.optimizers import base_optimizer

    from golden_io import arr, grads_like, rng, write

    assert keras.backend.backend() == backend, (keras.backend.backend(), backend)
    fw = {"name": "keras", "version": keras.__version__, "backend": backend, "device": "cpu"}
    if backend == "tensorflow":
        # How many threads Eigen may split a large reduction between (global_clipnorm's norms).
        import tensorflow as tf
        fw["intra_op_threads"] = tf.config.threading.get_intra_op_parallelism_threads() or len(os.sched_getaffinity(0))
    tag = {"tensorflow": "tf", "jax": "jax"}[backend]
    f32 = "float32"

    def sc(x):
        return arr([np.asarray(ops.convert_to_numpy(x), np.float32)])[0]

    def scenario(name, description, shapes, n_steps, kinds=("normal",), optimizer="AdamW", lr=1e-3, schedule=None, exclude=None,
                 seed=0, scale=1.0, inject=None, negative=(), **kw):
        if backend == "jax" and kw.get("global_clipnorm"):
            # Not written: on JAX, XLA hands reduce_sum to YNNPACK, whose float32 summation order depends
            # on the tensor's shape and the CPU's vector width, and is not reproduced (README.md here).
            return
        gen = rng(seed)
        init = {}
        for n, s in shapes:
            x = gen.standard_normal(s).astype(np.float32)
            init[n] = -np.abs(x) if n in negative else x
        variables = []
        for n, s in shapes:
            scope, short = n.rsplit("/", 1)
            with keras.name_scope(scope):
                variables.append(keras.Variable(init[n], name=short))
        assert [v.path for v in variables] == [n for n, _ in shapes]
        sched = None
        if schedule:
            cls, conf = schedule
            sched = getattr(keras.optimizers.schedules, cls)(**conf)
        opt = getattr(keras.optimizers, optimizer)(learning_rate=sched if sched else lr, **kw)
        if exclude:
            opt.exclude_from_weight_decay(var_names=exclude)
        opt.build(variables)
        steps = []
        for k in range(n_steps):
            grads = {}
            for n, s in shapes:
                g = grads_like(gen, s, kinds[k % len(kinds)], scale)
                if inject:
                    inject(k, n, g)
                grads[n] = g
            gt = [ops.convert_to_tensor(grads[n]) for n, _ in shapes]
            lr_now = opt.learning_rate
            # adam.py update_step's scalars, with the same ops on the same backend.
            local_step = ops.cast(opt.iterations + 1, f32)
            b1p = ops.power(ops.cast(opt.beta_1, f32), local_step)
            b2p = ops.power(ops.cast(opt.beta_2, f32), local_step)
            alpha = ops.divide(ops.multiply(ops.cast(lr_now, f32), ops.sqrt(1 - b2p)), 1 - b1p)
            step = {"lr": sc(lr_now), "grads": {n: arr(grads[n]) for n, _ in shapes},
                    "scalars": {"beta1_power": sc(b1p), "beta2_power": sc(b2p), "alpha": sc(alpha)}}
            if opt.global_clipnorm:
                total = base_optimizer.global_norm(gt)
                cn = opt.global_clipnorm
                coef = cn * ops.minimum(1.0 / total, 1.0 / cn) + (total - total)
                clipped = base_optimizer.clip_by_global_norm(gt, cn)
                step["clip"] = {"max_norm": cn, "norm_type": 2.0, "total_norm": sc(total), "clip_coef": sc(coef),
                                "grads_after_clip": {n: arr(ops.convert_to_numpy(c)) for (n, _), c in zip(shapes, clipped)}}
            opt.apply_gradients(zip(gt, variables))
            after = {}
            for (n, _), v in zip(shapes, variables):
                i = opt._get_variable_index(v)
                after[n] = {"param": arr(ops.convert_to_numpy(v)), "exp_avg": arr(ops.convert_to_numpy(opt._momentums[i])),
                            "exp_avg_sq": arr(ops.convert_to_numpy(opt._velocities[i]))}
            step["after"] = after
            steps.append(step)
        wd = opt.weight_decay or 0.0
        source = {"optimizer": f"keras.optimizers.{optimizer}",
                  "learning_rate": {"class_name": schedule[0], "config": sched.get_config()} if sched else lr,
                  "beta_1": opt.beta_1, "beta_2": opt.beta_2, "epsilon": opt.epsilon, "amsgrad": False, "weight_decay": opt.weight_decay}
        if exclude:
            source["exclude_from_weight_decay"] = {"var_names": list(exclude)}
        if opt.global_clipnorm:
            source["global_clipnorm"] = opt.global_clipnorm
        hyper = {
            "source": source,
            "normalized": {"lr": float(sched.get_config()["initial_learning_rate"]) if sched else lr, "beta1": opt.beta_1, "beta2": opt.beta_2,
                           "eps": opt.epsilon, "weight_decay": wd, "decay_mode": "decoupled_lr_scaled_before_update_keras", "amsgrad": False,
                           "maximize": False, "eps_mode": "epsilon_hat"},
            "state_names": {"exp_avg": "momentum", "exp_avg_sq": "velocity"},
            "notes": "eager optimizer.apply_gradients; scalars are adam.py update_step's beta powers and alpha evaluated with the same "
                     "keras.ops on the same backend.",
        }
        if sched:
            hyper["schedule"] = {"type": f"keras.optimizers.schedules.{schedule[0]}", **sched.get_config(),
                                 "notes": "called with optimizer.iterations: step k uses step k-1; float32 keras.ops"}
        if opt.global_clipnorm:
            hyper["clip_grad_norm"] = {"max_norm": opt.global_clipnorm, "norm_type": 2.0, "mode": "keras.global_clipnorm",
                                       "notes": "keras/src/optimizers/base_optimizer.py: norm = sqrt(sum(stack([sum(square(g))]))); "
                                                "scale = clip*min(1/norm, 1/clip) + (norm - norm); g*scale. Recorded with those functions."}
        import re
        rx = "|".join(set(exclude)) if exclude else None
        params = []
        for (n, s), v in zip(shapes, variables):
            excluded = bool(rx and re.search(rx, v.name))
            params.append({"name": n, "shape": list(s), "init": arr(init[n]), "weight_decay": 0.0 if excluded else wd, "decay_excluded": excluded})
        write("keras", f"{name}_{tag}", {
            "source": f"real run of keras {keras.__version__} keras.optimizers.{optimizer} on the {backend} backend "
                      f"({backend} {backend_version(backend)}), CPU, eager apply_gradients",
            "convention": "P", "description": description, "framework": fw, "hyper": hyper, "params": params, "steps": steps,
        })

    def nan_inf(k, n, g):
        if g.size == 0:
            return
        if k == 1 and n == "dense/kernel":
            g.reshape(-1)[2] = np.nan
        if k == 2 and n == "dense/bias":
            g.reshape(-1)[0] = np.inf
            g.reshape(-1)[-1] = -np.inf

    small = [("dense/kernel", (5, 7)), ("dense/bias", (7,)), ("layer_normalization/gamma", (7,)), ("output/kernel", (7, 3)), ("scalar/w", (1,))]
    large = [("embedding/embeddings", (10007,)), ("dense/kernel", (67, 61)), ("dense/bias", (61,))]
    kinds = ("normal", "zero", "tiny", "huge", "mixed", "sparse")
    scenario("P_keras_adam_weight_decay", "Adam(learning_rate=0.01, weight_decay=0.01, beta_2=0.99): grads normal, zero, tiny, huge, mixed, sparse",
             small, 12, kinds, optimizer="Adam", lr=0.01, weight_decay=0.01, beta_2=0.99, seed=301, negative=("output/kernel",))
    scenario("P_keras_adamw_exclude", "AdamW(learning_rate=0.005) (weight_decay 0.004 by default) after exclude_from_weight_decay(var_names=['bias', 'gamma'])",
             small, 8, ("normal", "mixed", "sparse"), lr=0.005, exclude=["bias", "gamma"], seed=302)
    scenario("P_keras_adamw_global_clipnorm", "AdamW(learning_rate=0.01, weight_decay=0.01, global_clipnorm=1.0), bias excluded: most steps clipped, "
             "tiny and zero ones not", small, 10, ("normal", "normal", "tiny", "normal", "zero", "sparse", "huge", "mixed"), lr=0.01,
             weight_decay=0.01, global_clipnorm=1.0, exclude=["bias"], seed=303)
    scenario("P_keras_adamw_global_clipnorm_large", "AdamW(learning_rate=3e-3, global_clipnorm=1.5) on 10007 (Eigen's sum splits above 8192), 67x61 and 61 elements",
             large, 3, ("normal", "sparse", "mixed"), lr=3e-3, global_clipnorm=1.5, seed=304)
    scenario("P_keras_adamw_cosine_warmup", "AdamW with CosineDecay(initial_learning_rate=0, decay_steps=10, alpha=0.1, warmup_target=0.01, "
             "warmup_steps=4), 16 steps (past the end)", small, 16, ("normal", "sparse"),
             schedule=("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=10, alpha=0.1, warmup_target=0.01, warmup_steps=4)),
             weight_decay=0.01, seed=305)
    scenario("P_keras_adam_cosine_warmup_from_lr", "Adam with CosineDecay(initial_learning_rate=1e-3, decay_steps=7, warmup_target=3e-3, "
             "warmup_steps=3)", small, 12, ("normal",), optimizer="Adam",
             schedule=("CosineDecay", dict(initial_learning_rate=1e-3, decay_steps=7, warmup_target=3e-3, warmup_steps=3)),
             scale=0.5, seed=306)
    scenario("P_keras_adam_cosine", "Adam with CosineDecay(initial_learning_rate=0.01, decay_steps=8, alpha=0.05), 10 steps", small, 10,
             optimizer="Adam", schedule=("CosineDecay", dict(initial_learning_rate=0.01, decay_steps=8, alpha=0.05)), seed=307)
    scenario("P_keras_adamw_exponential", "AdamW with ExponentialDecay(initial_learning_rate=0.01, decay_steps=3, decay_rate=0.8)", small, 10,
             schedule=("ExponentialDecay", dict(initial_learning_rate=0.01, decay_steps=3, decay_rate=0.8)), weight_decay=0.02, seed=308)
    scenario("P_keras_adam_exponential_staircase", "Adam with ExponentialDecay(initial_learning_rate=0.003, decay_steps=2, decay_rate=0.5, "
             "staircase=True)", small, 8, optimizer="Adam",
             schedule=("ExponentialDecay", dict(initial_learning_rate=0.003, decay_steps=2, decay_rate=0.5, staircase=True)), seed=309)
    scenario("P_keras_adamw_nan_inf_edge", "AdamW(weight_decay=0.01): a NaN grad element at step 2, +/-Inf at step 3; [0] and [1] params",
             [("dense/kernel", (4, 8)), ("dense/bias", (8,)), ("empty/kernel", (0,)), ("one/kernel", (1,))], 5, lr=0.01, weight_decay=0.01,
             inject=nan_inf, seed=310)
    scenario("P_keras_adamw_nan_clipnorm", "AdamW(global_clipnorm=1.0): a NaN grad element at step 2 makes the norm and so every clipped "
             "grad NaN; [0] and [1] params", [("dense/kernel", (4, 8)), ("dense/bias", (8,)), ("empty/kernel", (0,)), ("one/kernel", (1,))], 4,
             lr=0.01, global_clipnorm=1.0, inject=nan_inf, seed=311)


def backend_version(backend):
    if backend == "jax":
        import jax
        return jax.__version__
    import tensorflow as tf
    return tf.__version__


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if len(sys.argv) > 1:
        run_backend(sys.argv[1])
    else:
        main()
