"""Real runs of the Adam family beyond Adam -> golden/real/family/<framework>/ (format: golden/seed/README.md,
"Family, bfloat16 and Adafactor traces").

optax 0.2.8 on jax 0.10.2 (CPU, float32), run as gen_optax.py runs Adam: the whole `update` +
`apply_updates` under one `jax.jit` (files *_jit) and the same calls made eagerly (files *_eager). The state
after every step is read back from the optimizer state itself, under the framework's own names (optax `mu`).
What a step records is what ran: `lr` is the python float of a constant rate, else the float32 value of the
schedule at optax's count; `clip` holds optax's own global norm and clipped gradients.

Keras 3.15 on the TensorFlow and JAX backends: eager `optimizer.apply_gradients`, step by step (as
gen_keras.py runs Adam), the state read back from the optimizer's variables (`momentum`).

Algorithms: Lion (optax.lion = scale_by_lion + add_decayed_weights + scale_by_learning_rate; keras.optimizers.Lion).
torch 2.13 has no Lion (torch.optim lists none).
"""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from gen_optax import MASK, MLP, grad_steps, make_schedule, param, stepper  # noqa: E402
from golden_io import arr, grads_like, rng, write  # noqa: E402

SOURCE = (
    "real run: optax {ov} on jax {jv} (CPU, float32); optax/_src/alias.py lion = chain(scale_by_lion, "
    "[masked] add_decayed_weights, scale_by_learning_rate), adamaxw = chain(scale_by_adamax, [masked] "
    "add_decayed_weights, scale_by_learning_rate), adamax; transforms/_clipping.py clip_by_global_norm; "
    "schedules/_schedule.py; _src/update.py apply_updates"
)


def find_state(state, kind):
    """The `kind` state (e.g. ScaleByLionState) inside a (possibly chained, masked) optax state."""
    if isinstance(state, kind):
        return state
    if isinstance(state, (tuple, list)):
        for s in state:
            hit = find_state(s, kind)
            if hit is not None:
                return hit
    return None


def make_opt(sc, lr):
    if sc["optimizer"] == "optax.lion":
        return optax.lion(lr, b1=sc["b1"], b2=sc["b2"], weight_decay=sc["weight_decay"], mask=sc.get("mask"))
    if sc["optimizer"] == "optax.adamaxw":
        return optax.adamaxw(lr, b1=sc["b1"], b2=sc["b2"], eps=sc["eps"], weight_decay=sc["weight_decay"], mask=sc.get("mask"))
    assert sc["optimizer"] == "optax.adamax"
    return optax.adamax(lr, b1=sc["b1"], b2=sc["b2"], eps=sc["eps"])


def read_state(sc, state):
    """The optimizer's own state: (count, {state name: pytree})."""
    if sc["optimizer"] == "optax.lion":
        s = find_state(state, optax.ScaleByLionState)
        return s.count, {"mu": s.mu}
    s = find_state(state, optax.ScaleByAdamState)
    return s.count, {"mu": s.mu, "nu": s.nu}


def run_optax(sc, jit):
    names = [p["name"] for p in sc["params"]]
    sched = make_schedule(sc.get("schedule"))
    opt = make_opt(sc, sched if sched is not None else sc["learning_rate"])
    clip_c = sc.get("clip")
    if clip_c is not None:
        opt = optax.chain(optax.clip_by_global_norm(clip_c), opt)
    params = {p["name"]: jnp.asarray(p["init"], jnp.float32).reshape(p["shape"]) for p in sc["params"]}
    state = opt.init(params)
    step = stepper(opt, jit)
    maybe_jit = jax.jit if jit else (lambda f: f)
    sched_at = maybe_jit(sched) if sched is not None else None
    clip_only = optax.clip_by_global_norm(clip_c) if clip_c is not None else None
    clip_fn = maybe_jit(lambda g: (optax.tree.norm(g), clip_only.update(g, optax.EmptyState())[0])) if clip_only else None
    steps = []
    for k, grads in enumerate(sc["grads"], start=1):
        g = {n: jnp.asarray(grads[n], jnp.float32).reshape(params[n].shape) for n in names}
        params, state = step(g, state, params)
        count, st = read_state(sc, state)
        assert int(count) == k
        rec = {"lr": float(np.float32(sched_at(jnp.int32(k - 1)))) if sched is not None else sc["learning_rate"]}
        rec["grads"] = {n: arr(g[n]) for n in names}
        if clip_fn is not None:
            norm, clipped = clip_fn(g)
            rec["clip"] = {"max_norm": clip_c, "total_norm": float(np.float32(norm)), "clipped": bool(not (norm < clip_c)),
                           "grads_after_clip": {n: arr(clipped[n]) for n in names}}
        rec["after"] = {n: {"param": arr(params[n]), **{k2: arr(v[n]) for k2, v in st.items()}} for n in names}
        steps.append(rec)
    return steps


# Each optax optimizer's defaults and the seed offset of its scenarios (Lion's are 201...).
OPTAX = {
    "lion": dict(optimizer="optax.lion", b1=0.9, b2=0.99, weight_decay=1e-3, seed=0),
    "adamaxw": dict(optimizer="optax.adamaxw", b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-4, seed=100),
}


def optax_scenarios(alg="lion"):
    """The scenarios of optax.<alg> (lion or adamaxw; the same shapes, decay, clipping and schedules)."""
    out = []
    base = {k: v for k, v in OPTAX[alg].items() if k != "seed"}

    def add(name, desc, seed, shapes, steps=10, kinds=None, gscale=1.0, negative=(), **kw):
        gen = rng(seed + OPTAX[alg]["seed"])
        params = [param(gen, n, s, negative=n in negative) for n, s in shapes]
        name = name.replace("lion", alg)
        desc = desc.replace("lion", alg)
        sc = {**base, "learning_rate": 1e-3, **kw, "name": name, "description": desc, "params": params}
        sc["grads"] = grad_steps(gen, params, kinds or {}, steps, gscale)
        out.append(sc)
        return sc

    add("lion_default", f"optax.lion(1e-3) (weight_decay={base['weight_decay']} by default)", 201, MLP)
    add("lion_mask", "optax.lion(3e-4, weight_decay=0.1, mask skips dense/bias)", 202, MLP, learning_rate=3e-4,
        weight_decay=0.1, mask=MASK, negative=("embed/table",))
    add("lion_no_decay", "optax.lion(1e-3, b1=0.95, b2=0.98, weight_decay=0)", 203, [("w", (4, 8)), ("b", (7,))],
        b1=0.95, b2=0.98, weight_decay=0.0)
    add("lion_patterns", "optax.lion(1e-3, weight_decay=0.3): zero, tiny, huge, sparse and mixed gradients", 204,
        [("zero", (5,)), ("tiny", (3, 3, 3)), ("huge", (2, 3, 4)), ("sparse", (33,)), ("mixed", (127,))],
        weight_decay=0.3, kinds={"zero": ["zero", "normal"], "tiny": "tiny", "huge": "huge", "sparse": "sparse",
                                 "mixed": "mixed"})
    add("lion_clip", "chain(clip_by_global_norm(1.0), lion(1e-3, weight_decay=1e-2, mask))", 205, MLP,
        weight_decay=1e-2, mask=MASK, clip=1.0, gscale=0.5)
    add("lion_clip_1_5", "chain(clip_by_global_norm(1.5), lion(2e-4, weight_decay=0.05))", 206,
        [("w", (5, 7)), ("b", (7,))], learning_rate=2e-4, weight_decay=0.05, clip=1.5, gscale=0.4)
    add("lion_warmup_cosine", "lion(warmup_cosine_decay_schedule(0, 1e-3, 3, 12, 1e-5), weight_decay=0.1, mask)",
        207, MLP, weight_decay=0.1, mask=MASK, steps=14,
        schedule={"type": "optax.warmup_cosine_decay_schedule", "init_value": 0.0, "peak_value": 1e-3,
                  "warmup_steps": 3, "decay_steps": 12, "end_value": 1e-5})
    add("lion_linear", "lion(linear_schedule(3e-4, 1e-5, 8, transition_begin=2), weight_decay=1.0)", 208,
        [("w", (5, 3)), ("b", (3,))], weight_decay=1.0, steps=12,
        schedule={"type": "optax.linear_schedule", "init_value": 3e-4, "end_value": 1e-5, "transition_steps": 8,
                  "transition_begin": 2})
    sc = add("lion_nan_inf", "optax.lion(1e-3): NaN and +-Inf gradient elements", 209, [("w", (4, 4)), ("b", (5,))],
             steps=6)
    sc["grads"][1]["w"][0, 1] = np.nan
    sc["grads"][2]["b"][3] = np.inf
    sc["grads"][3]["w"][2, 2] = -np.inf
    add("lion_empty_single", "optax.lion on [0], [3,0], [1] and [1,1] params", 210,
        [("empty", (0,)), ("empty2", (3, 0)), ("one", (1,)), ("one2", (1, 1)), ("w", (2, 2))], steps=6, weight_decay=1e-2)
    add("lion_large", "lion(warmup_cosine, weight_decay=0.1, mask): 4099- and 4191-element params", 211,
        [("layer/kernel", (4099,)), ("layer/bias", (37,)), ("head/kernel", (33, 127))], steps=4, weight_decay=0.1,
        mask={"layer/kernel": True, "layer/bias": False, "head/kernel": True}, gscale=0.02,
        schedule={"type": "optax.warmup_cosine_decay_schedule", "init_value": 0.0, "peak_value": 3e-4,
                  "warmup_steps": 1, "decay_steps": 4, "end_value": 3e-6})
    add("lion_one_tensor", "chain(clip_by_global_norm(0.8), lion(1e-3, weight_decay=0.02)) on one tensor", 212,
        [("w", (7, 8))], weight_decay=0.02, clip=0.8, gscale=0.12, steps=10)
    add("lion_one_large", "optax.lion(1e-4, weight_decay=0.5) on one 4111-element tensor, mixed magnitudes", 213,
        [("w", (4111,))], learning_rate=1e-4, weight_decay=0.5, steps=3, kinds={"w": ["mixed", "normal", "tiny"]})
    if alg == "adamaxw":
        # optax.adamax (no decay, no mask): a few of the same inputs.
        for sc in [x for x in out if x["name"] in ("adamaxw_patterns", "adamaxw_nan_inf", "adamaxw_one_large", "adamaxw_clip")]:
            out.append({**sc, "optimizer": "optax.adamax", "name": sc["name"].replace("adamaxw", "adamax"),
                        "description": sc["description"].replace("adamaxw", "adamax").replace(", mask", ""),
                        "weight_decay": 0.0, "mask": None})
    return out


def optax_trace(sc, jit):
    steps = run_optax(sc, jit)
    mask = sc.get("mask")
    alg = sc["optimizer"].split(".")[1]
    source = {"optimizer": sc["optimizer"], "learning_rate": sc.get("schedule") or sc["learning_rate"], "b1": sc["b1"],
              "b2": sc["b2"]}
    if alg == "lion":
        source["mu_dtype"] = None
    else:
        source["eps"] = sc["eps"]
    if alg != "adamax":
        source.update(weight_decay=sc["weight_decay"], mask=mask)
    if sc.get("clip") is not None:
        source["chain"] = f"optax.chain(optax.clip_by_global_norm({sc['clip']}), {sc['optimizer']}(...))"
    hyper = {"source": source}
    if sc.get("schedule"):
        hyper["schedule"] = sc["schedule"]
    if sc.get("clip") is not None:
        hyper["clip_grad_norm"] = {"max_norm": sc["clip"], "norm_type": 2.0, "mode": "optax.clip_by_global_norm"}
    params = []
    for p in sc["params"]:
        q = {"name": p["name"], "shape": p["shape"], "init": arr(np.array(p["init"], np.float32))}
        q["decay_excluded"] = mask is not None and mask.get(p["name"]) is False
        params.append(q)
    return {
        "source": SOURCE.format(ov=optax.__version__, jv=jax.__version__),
        "convention": "lion" if alg == "lion" else "adamax", "algorithm": "lion" if alg == "lion" else "adamax",
        "dtype": "float32",
        "description": sc["description"] + (" (under jax.jit)" if jit else " (eager, no jit)"),
        "framework": {"name": "optax", "version": optax.__version__, "jax": jax.__version__, "jit": jit, "device": "cpu"},
        "hyper": hyper,
        "params": params,
        "state_shapes": {p["name"]: {"mu": p["shape"]} if alg == "lion" else {"mu": p["shape"], "nu": p["shape"]}
                         for p in sc["params"]},
        "steps": steps,
    }


# ---- Keras 3 (TensorFlow and JAX backends) -------------------------------------------------------------
# Keras fixes its backend at import, so the script runs itself once per backend with KERAS_BACKEND set (as
# gen_keras.py). Each scenario builds keras.Variables and calls `optimizer.apply_gradients` eagerly, step by
# step, and reads the state back from the optimizer's own variables (Lion: `momentums`, named `momentum`).

KERAS_SMALL = [("dense/kernel", (5, 7)), ("dense/bias", (7,)), ("layer_normalization/gamma", (7,)),
               ("output/kernel", (7, 3)), ("scalar/w", (1,))]
KERAS_KINDS = ("normal", "zero", "tiny", "huge", "mixed", "sparse")


def keras_lion_scenarios():
    def nan_inf(k, n, g):
        if g.size and k == 1 and n == "dense/kernel":
            g.reshape(-1)[2] = np.nan
        if g.size and k == 2 and n == "dense/bias":
            g.reshape(-1)[0] = np.inf
            g.reshape(-1)[-1] = -np.inf

    return [
        dict(name="lion_default", description="keras.optimizers.Lion() defaults (learning_rate 1e-3, beta_1 0.9, beta_2 0.99, no weight decay)",
             shapes=KERAS_SMALL, steps=10, seed=401),
        dict(name="lion_weight_decay", description="Lion(learning_rate=3e-4, weight_decay=0.1), exclude_from_weight_decay(var_names=['bias', 'gamma'])",
             shapes=KERAS_SMALL, steps=10, seed=402, lr=3e-4, kw=dict(weight_decay=0.1), exclude=["bias", "gamma"],
             negative=("output/kernel",)),
        dict(name="lion_patterns", description="Lion(learning_rate=1e-3, beta_1=0.95, beta_2=0.98, weight_decay=0.5): grads normal, zero, tiny, huge, mixed, sparse",
             shapes=KERAS_SMALL, steps=12, seed=403, kinds=KERAS_KINDS, kw=dict(beta_1=0.95, beta_2=0.98, weight_decay=0.5)),
        dict(name="lion_nan_inf", description="Lion(weight_decay=0.01): NaN and +-Inf gradient elements, [0] and [1] params",
             shapes=[("dense/kernel", (4, 4)), ("dense/bias", (5,)), ("empty/w", (0,)), ("scalar/w", (1,))], steps=6, seed=404,
             kw=dict(weight_decay=0.01), inject=nan_inf),
        dict(name="lion_large", description="Lion(learning_rate=1e-4, weight_decay=0.3): 10007- and 67x61-element params",
             shapes=[("embedding/embeddings", (10007,)), ("dense/kernel", (67, 61)), ("dense/bias", (61,))], steps=4, seed=405,
             lr=1e-4, kw=dict(weight_decay=0.3), exclude=["bias"], scale=0.02),
        dict(name="lion_cosine_warmup", description="Lion(CosineDecay(0, decay_steps=8, alpha=0.1, warmup_target=1e-3, warmup_steps=3), weight_decay=0.1)",
             shapes=KERAS_SMALL, steps=12, seed=406, kw=dict(weight_decay=0.1), exclude=["bias"],
             schedule=("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=8, alpha=0.1, warmup_target=1e-3, warmup_steps=3))),
        dict(name="lion_exponential", description="Lion(ExponentialDecay(3e-4, decay_steps=2, decay_rate=0.7))",
             shapes=KERAS_SMALL, steps=8, seed=407, schedule=("ExponentialDecay", dict(initial_learning_rate=3e-4, decay_steps=2, decay_rate=0.7))),
        # TensorFlow only: on JAX, Keras's norm goes to YNNPACK, whose order is not reproduced (golden/real/keras/README.md).
        dict(name="lion_global_clipnorm", description="Lion(learning_rate=1e-3, weight_decay=0.05, global_clipnorm=1.0)",
             shapes=KERAS_SMALL, steps=8, seed=408, kw=dict(weight_decay=0.05, global_clipnorm=1.0), exclude=["bias"], tf_only=True),
        dict(name="lion_global_clipnorm_large", description="Lion(learning_rate=1e-4, global_clipnorm=1.5) on 10007, 67x61 and 61 elements",
             shapes=[("embedding/embeddings", (10007,)), ("dense/kernel", (67, 61)), ("dense/bias", (61,))], steps=3, seed=409,
             lr=1e-4, kw=dict(global_clipnorm=1.5), tf_only=True),
    ]


def keras_adamax_scenarios():
    """Keras Adamax: Lion's inputs (new seeds), with Adamax's own defaults and epsilon."""
    out = []
    for sc in keras_lion_scenarios():
        kw = {k: v for k, v in sc.get("kw", {}).items() if k != "beta_2"}
        if sc["name"] == "lion_patterns":
            kw.update(beta_2=0.99, epsilon=1e-3)
        out.append({**sc, "name": sc["name"].replace("lion", "adamax"), "seed": sc["seed"] + 100, "kw": kw,
                    "optimizer": "Adamax",
                    "description": sc["description"].replace("Lion", "Adamax").replace("beta_2 0.99", "beta_2 0.999, epsilon 1e-7")
                    .replace("beta_2=0.98", "beta_2=0.99, epsilon=1e-3")})
    return out


def keras_nadam_scenarios():
    """Keras Nadam: Adamax's scenarios with Nadam's defaults (other seeds)."""
    return [{**sc, "name": sc["name"].replace("adamax", "nadam"), "seed": sc["seed"] + 100, "optimizer": "Nadam",
             "description": sc["description"].replace("Adamax", "Nadam")} for sc in keras_adamax_scenarios()]


KERAS_STATES = {"Lion": {"momentum": "_momentums"}, "Adamax": {"momentum": "_m", "norm": "_u"},
                "Nadam": {"momentum": "_momentums", "velocity": "_velocities"}}


def keras_backend_run(backend):
    import re

    import keras
    from keras import ops

    assert keras.backend.backend() == backend
    fw = {"name": "keras", "version": keras.__version__, "backend": backend, "device": "cpu"}
    if backend == "tensorflow":
        # How many threads Eigen may split a large reduction between (global_clipnorm's norms), as gen_keras.py.
        import tensorflow as tf
        fw["intra_op_threads"] = tf.config.threading.get_intra_op_parallelism_threads() or len(os.sched_getaffinity(0))
    version = __import__("tensorflow" if backend == "tensorflow" else "jax").__version__
    tag = {"tensorflow": "tf", "jax": "jax"}[backend]
    for sc in keras_lion_scenarios() + keras_adamax_scenarios() + keras_nadam_scenarios():
        cls = sc.get("optimizer", "Lion")
        if sc.get("tf_only") and backend != "tensorflow":
            continue
        gen = rng(sc["seed"])
        shapes = sc["shapes"]
        init = {}
        for n, shp in shapes:
            x = gen.standard_normal(shp).astype(np.float32)
            init[n] = -np.abs(x) if n in sc.get("negative", ()) else x
        variables = []
        for n, shp in shapes:
            scope, short = n.rsplit("/", 1)
            with keras.name_scope(scope):
                variables.append(keras.Variable(init[n], name=short))
        assert [v.path for v in variables] == [n for n, _ in shapes]
        lr = sc.get("lr", 1e-3)
        sched = getattr(keras.optimizers.schedules, sc["schedule"][0])(**sc["schedule"][1]) if sc.get("schedule") else None
        opt = getattr(keras.optimizers, cls)(learning_rate=sched or lr, **sc.get("kw", {}))
        if sc.get("exclude"):
            opt.exclude_from_weight_decay(var_names=sc["exclude"])
        opt.build(variables)
        steps = []
        kinds = sc.get("kinds", ("normal",))
        for k in range(sc["steps"]):
            grads = {}
            for n, shp in shapes:
                g = grads_like(gen, shp, kinds[k % len(kinds)], sc.get("scale", 1.0))
                if sc.get("inject"):
                    sc["inject"](k, n, g)
                grads[n] = g
            lr_now = arr([np.float32(ops.convert_to_numpy(opt.learning_rate))])[0]  # the float32 rate, shortest decimal
            opt.apply_gradients(zip([ops.convert_to_tensor(grads[n]) for n, _ in shapes], variables))
            after = {}
            for (n, _), v in zip(shapes, variables):
                i = opt._get_variable_index(v)
                after[n] = {"param": arr(ops.convert_to_numpy(v)),
                            **{k2: arr(ops.convert_to_numpy(getattr(opt, attr)[i])) for k2, attr in KERAS_STATES[cls].items()}}
            steps.append({"lr": lr_now, "grads": {n: arr(grads[n]) for n, _ in shapes}, "after": after})
        source = {"optimizer": f"keras.optimizers.{cls}",
                  "learning_rate": {"class_name": sc["schedule"][0], "config": sched.get_config()} if sched else lr,
                  "beta_1": opt.beta_1, "beta_2": opt.beta_2, "weight_decay": opt.weight_decay}
        hyper = {"source": source}
        if sched:
            hyper["schedule"] = {"type": f"keras.optimizers.schedules.{sc['schedule'][0]}", **sched.get_config(),
                                 "notes": "called with optimizer.iterations: step k uses step k-1; float32 keras.ops"}
        if opt.global_clipnorm:
            source["global_clipnorm"] = opt.global_clipnorm
            hyper["clip_grad_norm"] = {"max_norm": opt.global_clipnorm, "norm_type": 2.0, "mode": "keras.global_clipnorm"}
        if cls in ("Adamax", "Nadam"):
            source["epsilon"] = opt.epsilon
        if sc.get("exclude"):
            source["exclude_from_weight_decay"] = {"var_names": list(sc["exclude"])}
        rx = "|".join(sc["exclude"]) if sc.get("exclude") else None
        params = []
        for (n, shp), v in zip(shapes, variables):
            excluded = bool(rx and re.search(rx, v.name))
            params.append({"name": n, "shape": list(shp), "init": arr(init[n]), "decay_excluded": excluded})
        write(os.path.join("family", "keras"), f"keras_{sc['name']}_{tag}", {
            "source": f"real run of keras {keras.__version__} keras.optimizers.{cls} on the {backend} backend ({backend} {version}), "
                      f"CPU, eager apply_gradients; keras/src/optimizers/{cls.lower()}.py update_step, base_optimizer.py _apply_weight_decay",
            "convention": cls.lower(), "algorithm": cls.lower(), "dtype": "float32", "description": sc["description"], "framework": fw,
            "hyper": hyper, "params": params,
            "state_shapes": {n: {k2: list(shp) for k2 in KERAS_STATES[cls]} for n, shp in shapes},
            "steps": steps,
        })


# ---- torch 2.13 (Adamax) ------------------------------------------------------------------------------
# As gen_torch.py: every scenario with foreach=False ("single") and foreach=True, under
# ATEN_CPU_CAPABILITY=default ("scalar") and the machine's own vector kernels ("vector"); the capability is
# fixed when torch loads, so the script runs itself once per flavour. Files: golden/real/family/torch/
# <impl>-<flavour>/<scenario>.json, state `exp_avg`, `exp_inf` read from optimizer.state.

TORCH_IMPLS = {"single": {"foreach": False}, "foreach": {"foreach": True}}
TORCH_FLAVOURS = {"scalar": "default", "vector": None}


def TP(name, shape, init="normal"):
    return (name, shape, init)


TORCH_SCENARIOS = [
    dict(name="adamax_basic", opt="Adamax", kw=dict(),
         params=[TP("dense.weight", [4, 8]), TP("dense.bias", [8]), TP("scale", [1])],
         steps=["normal", "normal", "zero", "normal", "sparse", "normal", "normal", "normal"]),
    dict(name="adamax_l2", opt="Adamax", kw=dict(lr=1e-2, weight_decay=0.01),
         params=[TP("dense.weight", [4, 8]), TP("dense.bias", [8]), TP("w3", [3])], steps=["normal"] * 6 + ["zero", "normal"]),
    dict(name="adamax_l2_strong_maximize", opt="Adamax", kw=dict(lr=0.05, betas=(0.9, 0.9), weight_decay=0.5, maximize=True),
         params=[TP("w13", [13], "negative"), TP("m5x7", [5, 7])], steps=["normal", "tiny", "normal", "huge", "sparse", "normal", "mixed", "normal"]),
    dict(name="adamax_lerp_weight_0_7", opt="Adamax", kw=dict(lr=1e-2, betas=(0.3, 0.9), weight_decay=0.05),
         params=[TP("w37", [37]), TP("m5x7", [5, 7])], steps=["normal", "mixed", "huge", "normal", "tiny"]),
    dict(name="adamax_lerp_weight_0_5", opt="Adamax", kw=dict(lr=1e-2, betas=(0.5, 0.99)),
         params=[TP("w37", [37])], steps=["normal", "mixed", "normal"]),
    dict(name="adamax_eps_dominates", opt="Adamax", kw=dict(lr=0.1, eps=1e-3),
         params=[TP("w13", [13]), TP("w7", [7])], steps=["tiny"] * 6),
    dict(name="adamax_mixed_magnitudes", opt="Adamax", kw=dict(lr=0.01, betas=(0.8, 0.99)),
         params=[TP("w33", [33], "negative"), TP("m3x5", [3, 5]), TP("w127", [127])],
         steps=["mixed", "huge", "mixed", "sparse", "mixed", "tiny", "mixed", "huge", "mixed", "normal"]),
    dict(name="adamax_clip", opt="Adamax", kw=dict(lr=2e-3, weight_decay=0.01), clip=1.0,
         params=[TP("dense.weight", [4, 8]), TP("dense.bias", [8]), TP("w13", [13])],
         steps=["normal", "huge", ("normal", 0.01), "zero", "normal", "mixed", ("normal", 0.05), "normal"]),
    dict(name="adamax_clip_many", opt="Adamax", kw=dict(lr=1e-3), clip=1.5,
         params=[TP(f"layer{i}.w", [3 + (i * 5) % 11]) for i in range(19)], steps=["normal", "huge", ("normal", 0.02), "normal"]),
    dict(name="adamax_cosine", opt="Adamax", kw=dict(lr=0.01), schedule=dict(type="CosineAnnealingLR", T_max=12, eta_min=1e-5),
         params=[TP("w8", [8]), TP("m4x8", [4, 8])], steps=["normal"] * 12),
    dict(name="adamax_linear_warmup", opt="Adamax", kw=dict(lr=3e-3, weight_decay=1e-3), schedule=dict(type="LambdaLR", warmup=3, total=10),
         params=[TP("w8", [8]), TP("bias", [4])], steps=["normal"] * 10),
    dict(name="adamax_nan_inf", opt="Adamax", kw=dict(lr=1e-2), params=[TP("w10", [10]), TP("w3", [3])],
         steps=["normal", "nan@3", "normal", "inf@5", "normal"]),
    dict(name="adamax_empty_single", opt="Adamax", kw=dict(lr=1e-2, weight_decay=0.01),
         params=[TP("empty", [0]), TP("empty2", [3, 0]), TP("one", [1]), TP("one2", [1, 1]), TP("w", [2, 2])], steps=["normal"] * 5),
    dict(name="adamax_big", opt="Adamax", kw=dict(lr=2e-3, weight_decay=0.02),
         params=[TP("w4107", [4107]), TP("w37", [37])], steps=["normal", "mixed", "huge"]),
    dict(name="adamax_clip_big", opt="Adamax", kw=dict(lr=1e-3), clip=1.0,
         params=[TP("w4103", [4103]), TP("w35", [35]), TP("w5", [5])], steps=["normal", ("normal", 1e-4)]),
]


def nadam_scenarios():
    """torch.optim.NAdam: Adamax's inputs where they fit, with NAdam's knobs (momentum_decay, decoupled decay)."""
    out = []
    for sc in TORCH_SCENARIOS:
        if sc["name"] in ("adamax_lerp_weight_0_5",):
            continue
        kw = dict(sc["kw"])
        kw.setdefault("lr", 2e-3)
        name = sc["name"].replace("adamax", "nadam")
        out.append({**sc, "name": name, "opt": "NAdam", "kw": kw})
    out.append(dict(name="nadamw_decoupled", opt="NAdam", kw=dict(lr=3e-3, weight_decay=0.05, decoupled_weight_decay=True),
                    params=[TP("dense.weight", [4, 8]), TP("dense.bias", [8]), TP("w3", [3])], steps=["normal"] * 7 + ["mixed"]))
    out.append(dict(name="nadam_momentum_decay", opt="NAdam", kw=dict(lr=1e-2, betas=(0.95, 0.99), momentum_decay=0.01, weight_decay=0.01),
                    params=[TP("w13", [13]), TP("m3x5", [3, 5])], steps=["normal", "huge", "normal", "tiny", "normal", "mixed"]))
    return out


def radam_scenarios():
    """torch.optim.RAdam: Adamax's inputs with RAdam's knobs; 8+ steps so both sides of rho_t > 5 run."""
    out = []
    for sc in TORCH_SCENARIOS:
        kw = {k: v for k, v in sc["kw"].items()}
        kw.setdefault("lr", 1e-3)
        steps = sc["steps"] if len(sc["steps"]) >= 8 else (sc["steps"] * 3)[:9]
        out.append({**sc, "name": sc["name"].replace("adamax", "radam"), "opt": "RAdam", "kw": kw, "steps": steps})
    out.append(dict(name="radamw_decoupled", opt="RAdam", kw=dict(lr=3e-3, weight_decay=0.05, decoupled_weight_decay=True),
                    params=[TP("dense.weight", [4, 8]), TP("dense.bias", [8]), TP("w3", [3])], steps=["normal"] * 9 + ["mixed"]))
    out.append(dict(name="radam_beta2_0_9", opt="RAdam", kw=dict(lr=1e-2, betas=(0.9, 0.9), weight_decay=0.01),
                    params=[TP("w13", [13]), TP("m3x5", [3, 5])], steps=["normal", "huge", "normal", "tiny", "normal", "mixed", "normal", "normal"]))
    return out


def torch_run(torch, sc, impl, flavour, machine):
    import gen_torch as gt
    inits, grads = gt.make_inputs(sc)
    names = [n for n, _, _ in sc["params"]]
    tensors = {n: torch.nn.Parameter(torch.from_numpy(inits[n].copy())) for n in names}
    kw = dict(lr=sc["kw"].get("lr", 2e-3), betas=tuple(sc["kw"].get("betas", (0.9, 0.999))), eps=sc["kw"].get("eps", 1e-8),
              weight_decay=sc["kw"].get("weight_decay", 0), maximize=sc["kw"].get("maximize", False))
    if sc["opt"] == "NAdam":
        kw.update(momentum_decay=sc["kw"].get("momentum_decay", 4e-3), decoupled_weight_decay=sc["kw"].get("decoupled_weight_decay", False))
    if sc["opt"] == "RAdam":
        kw.update(decoupled_weight_decay=sc["kw"].get("decoupled_weight_decay", False))
    opt = getattr(torch.optim, sc["opt"])([tensors[n] for n in names], **kw, **TORCH_IMPLS[impl])
    sched = gt.scheduler_of(torch, opt, sc.get("schedule"))
    steps = []
    for g in grads:
        rec = {"lr": opt.param_groups[0]["lr"], "grads": {n: arr(g[n]) for n in names}}
        for n in names:
            tensors[n].grad = torch.from_numpy(g[n].copy())
        if sc.get("clip"):
            rec["clip"] = gt.clip(torch, sc, sc["name"], tensors, names, g)
        opt.step()
        if sched:
            sched.step()
        rec["after"] = {n: {"param": arr(tensors[n]), **{k: arr(v) for k, v in opt.state[tensors[n]].items() if k != "step"}}
                        for n in names}
        steps.append(rec)
    cap = torch.backends.cpu.get_cpu_capability().lower()
    src = {"optimizer": f"torch.optim.{sc['opt']}", **kw, "betas": list(kw["betas"]), **TORCH_IMPLS[impl]}
    hyper = {"source": src}
    if sc.get("schedule"):
        hyper["schedule"] = dict(sc["schedule"])
    if sc.get("clip"):
        hyper["clip_grad_norm"] = {"max_norm": sc["clip"], "norm_type": 2.0, "eps_added_to_norm": 1e-6,
                                   "function": "torch.nn.utils.clip_grad_norm_"}
    alg = sc["opt"].lower()
    write(os.path.join("family", "torch", f"{impl}-{flavour}"), f"torch_{sc['name']}", {
        "source": f"torch.optim.{sc['opt']}(foreach={TORCH_IMPLS[impl]['foreach']}), torch {torch.__version__}, CPU float32, "
                  f"ATEN_CPU_CAPABILITY={TORCH_FLAVOURS[flavour] or cap}; torch/optim/{alg}.py",
        "convention": alg, "algorithm": alg, "dtype": "float32",
        "description": f"{sc['name']}: {impl} implementation, {flavour} kernels",
        "framework": {"name": "torch", "version": torch.__version__, "impl": impl, "cpu_capability": cap, "device": "cpu",
                      **({"mkl": machine} if torch.backends.mkl.is_available() else {})},
        "kernel_variant": "scalar" if cap == "default" else "avx2",
        "hyper": hyper,
        "params": [{"name": n, "shape": shp, "init": arr(inits[n])} for n, shp, _ in sc["params"]],
        "state_shapes": {n: {k: list(v.shape) for k, v in opt.state[tensors[n]].items() if k != "step"} for n in names},
        "steps": steps,
    })


def torch_worker(flavour):
    import torch
    machine = os.environ.get("GEN_TORCH_MACHINE_CAPABILITY", "").lower()
    for sc in TORCH_SCENARIOS + nadam_scenarios() + radam_scenarios():
        for impl in TORCH_IMPLS:
            torch_run(torch, sc, impl, flavour, machine)


def torch_main():
    import subprocess
    import sys
    os.environ.pop("ATEN_CPU_CAPABILITY", None)
    import torch
    machine = torch.backends.cpu.get_cpu_capability()
    for flavour, cap in TORCH_FLAVOURS.items():
        env = dict(os.environ, GEN_TORCH_MACHINE_CAPABILITY=machine)
        env.pop("ATEN_CPU_CAPABILITY", None)
        if cap:
            env["ATEN_CPU_CAPABILITY"] = cap
        subprocess.run([sys.executable, os.path.abspath(__file__), "--torch", flavour], check=True, env=env)


def main():
    import subprocess
    import sys
    torch_main()
    for sc in optax_scenarios("lion") + optax_scenarios("adamaxw"):
        for jit in (True, False):
            name = "optax_" + sc["name"] + ("_jit" if jit else "_eager")
            print(write(os.path.join("family", "optax"), name, optax_trace(sc, jit)))
    for backend in ("tensorflow", "jax"):
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        subprocess.run([sys.executable, os.path.abspath(__file__), "--keras", backend], check=True, env=env)


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--keras":
        keras_backend_run(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--torch":
        torch_worker(sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == "--torch":
        torch_main()
    else:
        main()
