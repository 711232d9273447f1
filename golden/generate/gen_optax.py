"""Real optax runs -> golden/real/optax/ (format: golden/seed/README.md, convention Q, with `framework`).

optax 0.2.8 on jax 0.10.2, CPU, float32, as a training loop runs it: the whole `update` + `apply_updates`
under one `jax.jit` (files *_jit), and the same calls made eagerly, op by op (files *_eager). Every trace
is teacher-forcing friendly: the state after each step is read back from the optimizer state itself.

What a trace records is what ran:
* `steps[].lr` is the rate optax used: the python float for a constant rate, else the float32 value of the
  schedule at the schedule's own count (checked: a run with that constant rate gives the same bits).
* `steps[].clip` (chain(clip_by_global_norm(c), adamw(...))) holds optax's own global norm and clipped
  gradients (checked: adamw alone on those gradients gives the same bits as the chain).
* `steps[].scalars` holds the bias corrections 1 - b^count as jax computes them in float32.
"""
import json
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from golden_io import arr, grads_like, rng, write  # noqa: E402

SOURCE = (
    "real run: optax {ov} on jax {jv} (CPU, float32); optax/_src/alias.py adamw/adam = chain(scale_by_adam, "
    "[masked] add_decayed_weights, scale_by_learning_rate); transforms/_clipping.py clip_by_global_norm; "
    "schedules/_schedule.py; _src/update.py apply_updates"
)


def find_adam_state(state):
    """The ScaleByAdamState inside a (possibly chained, masked) optax state."""
    if isinstance(state, optax.ScaleByAdamState):
        return state
    if isinstance(state, (tuple, list)):
        for s in state:
            hit = find_adam_state(s)
            if hit is not None:
                return hit
    return None


def make_schedule(spec):
    if spec is None:
        return None
    kind = spec["type"]
    if kind == "optax.warmup_cosine_decay_schedule":
        return optax.warmup_cosine_decay_schedule(
            init_value=spec["init_value"], peak_value=spec["peak_value"], warmup_steps=spec["warmup_steps"],
            decay_steps=spec["decay_steps"], end_value=spec["end_value"], exponent=spec.get("exponent", 1.0))
    if kind == "optax.linear_schedule":
        return optax.linear_schedule(
            init_value=spec["init_value"], end_value=spec["end_value"], transition_steps=spec["transition_steps"],
            transition_begin=spec.get("transition_begin", 0))
    raise ValueError(kind)


def make_optimizer(sc, lr):
    """optax.adamw / optax.adam with the scenario's knobs; `lr` a float or a schedule."""
    kw = dict(b1=sc["b1"], b2=sc["b2"], eps=sc["eps"], eps_root=sc["eps_root"])
    if sc["optimizer"] == "optax.adamw":
        opt = optax.adamw(lr, weight_decay=sc["weight_decay"], mask=sc.get("mask"), **kw)
    else:
        opt = optax.adam(lr, **kw)
    return opt


def stepper(opt, jit):
    def step(g, s, p):
        u, s2 = opt.update(g, s, p)
        return optax.apply_updates(p, u), s2
    return jax.jit(step) if jit else step


def run(sc, jit):
    """Runs the scenario; returns the trace's steps and what was checked."""
    names = [p["name"] for p in sc["params"]]
    sched = make_schedule(sc.get("schedule"))
    lr = sched if sched is not None else sc["learning_rate"]
    opt = make_optimizer(sc, lr)
    clip_c = sc.get("clip")
    if clip_c is not None:
        opt = optax.chain(optax.clip_by_global_norm(clip_c), opt)
    params = {p["name"]: jnp.asarray(p["init"], jnp.float32).reshape(p["shape"]) for p in sc["params"]}
    state = opt.init(params)
    step = stepper(opt, jit)
    maybe_jit = jax.jit if jit else (lambda f: f)
    # optax.tree.bias_correction is a jax.jit (inline=True) even when the optimizer runs eagerly, so
    # 1 - b**count is XLA's float32 powf of the traced count in both modes. (Called eagerly with a concrete
    # count, jnp.power would take lax.integer_pow instead: float32 square-and-multiply, other bits.)
    bc = {b: jax.jit(lambda c, b=b: 1 - b ** c) for b in (sc["b1"], sc["b2"])}
    sched_at = maybe_jit(sched) if sched is not None else None
    clip_only = optax.clip_by_global_norm(clip_c) if clip_c is not None else None
    clip_fn = maybe_jit(lambda g: (optax.tree.norm(g), clip_only.update(g, optax.EmptyState())[0])) if clip_only else None

    steps = []
    for k, grads in enumerate(sc["grads"], start=1):
        g = {n: jnp.asarray(grads[n], jnp.float32).reshape(params[n].shape) for n in names}
        before = (params, state)
        params, state = step(g, state, params)
        adam = find_adam_state(state)
        assert int(adam.count) == k
        rec = {}
        if sched is not None:
            lr_k = sched_at(jnp.int32(k - 1))
            rec["lr"] = float(np.float32(lr_k))
        else:
            rec["lr"] = sc["learning_rate"]
        rec["grads"] = {n: arr(g[n]) for n in names}
        if clip_fn is not None:
            norm, clipped = clip_fn(g)
            rec["clip"] = {"max_norm": clip_c, "total_norm": float(np.float32(norm)),
                           "clipped": bool(not (norm < clip_c)),
                           "grads_after_clip": {n: arr(clipped[n]) for n in names}}
        rec["scalars"] = {"bias_correction1": float(np.float32(bc[sc["b1"]](jnp.int32(k)))),
                          "bias_correction2": float(np.float32(bc[sc["b2"]](jnp.int32(k))))}
        rec["after"] = {n: {"param": arr(params[n]), "exp_avg": arr(adam.mu[n]), "exp_avg_sq": arr(adam.nu[n])}
                        for n in names}
        check_recorded(sc, jit, before, g, rec, names, params)
        steps.append(rec)
    return steps


def check_recorded(sc, jit, before, g, rec, names, params):
    """The recorded lr and clipped gradients are what ran: adamw with the constant recorded lr, on the
    recorded clipped gradients, from the same state, gives the same bits as the scheduled/chained run."""
    if sc.get("schedule") is None and sc.get("clip") is None:
        return
    p0, s0 = before
    opt = make_optimizer(sc, rec["lr"] if sc.get("schedule") is None else np.float32(rec["lr"]).item())
    adam0 = find_adam_state(s0)
    st = opt.init(p0)
    st = (adam0,) + tuple(st[1:])
    g2 = g if "clip" not in rec else {n: jnp.asarray(np.array(rec["clip"]["grads_after_clip"][n], np.float32))
                                      .reshape(p0[n].shape) for n in names}
    p1, s1 = stepper(opt, jit)(g2, st, p0)
    # With clipping, mu (a function of the clipped gradient alone) must agree; nu and the params may not,
    # because LLVM contracts a different multiply into an FMA in the other program (README.md).
    got = {n: np.asarray(x).reshape(-1) for n, x in (find_adam_state(s1).mu if "clip" in rec else p1).items()}
    want = rec_state_mu(rec, names) if "clip" in rec else {n: np.asarray(x).reshape(-1) for n, x in params.items()}
    for n in names:
        a, b = np.asarray(got[n], np.float32), np.asarray(want[n], np.float32)
        if not np.array_equal(a.view(np.uint32), b.view(np.uint32)):
            raise AssertionError(f"{sc['name']}: replaying with the recorded lr/clipped grads differs on {n}")


def rec_state_mu(rec, names):
    return {n: np.array([float(x) for x in rec["after"][n]["exp_avg"]], np.float32) for n in names}


# ---- scenarios ------------------------------------------------------------------------------------


def param(gen, name, shape, scale=1.0, negative=False):
    x = gen.standard_normal(int(np.prod(shape)) if shape else 1) * scale
    if negative:
        x = -np.abs(x)
    return {"name": name, "shape": list(shape), "init": x.astype(np.float32).reshape(-1).tolist()}


def grad_steps(gen, params, kinds, steps, scale=1.0):
    """One gradient dict per step; kinds[name] is a grads_like kind or a per-step list of kinds."""
    out = []
    for k in range(steps):
        d = {}
        for p in params:
            kind = kinds.get(p["name"], "normal")
            if isinstance(kind, list):
                kind = kind[k % len(kind)]
            d[p["name"]] = grads_like(gen, tuple(p["shape"]), kind, scale)
        out.append(d)
    return out


BASE = dict(b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0)
MLP = [("dense/kernel", (3, 5)), ("dense/bias", (5,)), ("embed/table", (13,))]
MASK = {"dense/kernel": True, "dense/bias": False, "embed/table": True}


def scenarios():
    out = []

    def add(name, desc, seed, shapes, steps=12, kinds=None, gscale=1.0, negative=(), **kw):
        gen = rng(seed)
        params = [param(gen, n, s, negative=n in negative) for n, s in shapes]
        sc = {**BASE, "optimizer": "optax.adamw", "learning_rate": 1e-3, "weight_decay": 1e-4, **kw,
              "name": name, "description": desc, "params": params}
        sc["grads"] = grad_steps(gen, params, kinds or {}, steps, gscale)
        out.append(sc)
        return sc

    add("Q_adamw_mask", "optax.adamw(1e-3, weight_decay=1e-4), mask skips dense/bias", 101, MLP, mask=MASK)
    add("Q_adamw_large_wd", "optax.adamw(3e-3, weight_decay=0.5), mask skips dense/bias", 102, MLP,
        learning_rate=3e-3, weight_decay=0.5, mask=MASK, negative=("embed/table",))
    add("Q_adamw_eps_root", "optax.adamw(1e-3, eps_root=1e-8, weight_decay=1e-2)", 103, MLP,
        eps_root=1e-8, weight_decay=1e-2, kinds={"dense/bias": ["normal", "zero", "tiny"]})
    add("Q_adam_eps_root_large", "optax.adam(2e-3, b1=0.8, b2=0.95, eps=1e-6, eps_root=1e-4)", 104,
        [("w", (4, 8)), ("b", (7,))], optimizer="optax.adam", learning_rate=2e-3, b1=0.8, b2=0.95, eps=1e-6,
        eps_root=1e-4)
    add("Q_adam_patterns", "optax.adam(1e-3): zero, tiny, huge, sparse and mixed-magnitude gradients", 105,
        [("zero", (5,)), ("tiny", (3, 3, 3)), ("huge", (2, 3, 4)), ("sparse", (33,)), ("mixed", (127,))],
        optimizer="optax.adam", kinds={"zero": ["zero", "normal"], "tiny": "tiny", "huge": "huge",
                                       "sparse": "sparse", "mixed": "mixed"})
    add("Q_adamw_eps_dominates", "optax.adamw(1e-2, eps=1e-3, weight_decay=1e-3), small gradients", 106,
        [("w", (7, 5)), ("b", (5,))], learning_rate=1e-2, eps=1e-3, weight_decay=1e-3, gscale=1e-4)
    add("Q_adamw_clip", "chain(clip_by_global_norm(1.0), adamw(1e-3, weight_decay=1e-2, mask))", 107, MLP,
        weight_decay=1e-2, mask=MASK, clip=1.0, gscale=0.5)
    add("Q_adamw_clip_1_5", "chain(clip_by_global_norm(1.5), adamw(1e-3, weight_decay=1e-4))", 108,
        [("w", (5, 7)), ("b", (7,))], clip=1.5, gscale=0.4)
    add("Q_adamw_warmup_cosine", "adamw(warmup_cosine_decay_schedule(0, 1e-2, 3, 12, 1e-4), weight_decay=1e-2, mask)",
        109, MLP, weight_decay=1e-2, mask=MASK, steps=14,
        schedule={"type": "optax.warmup_cosine_decay_schedule", "init_value": 0.0, "peak_value": 1e-2,
                  "warmup_steps": 3, "decay_steps": 12, "end_value": 1e-4})
    add("Q_adam_warmup_cosine_nonzero_init", "adam(warmup_cosine_decay_schedule(1e-4, 3e-3, 4, 15, 0, exponent=2))",
        110, [("w", (4, 4)), ("b", (8,))], optimizer="optax.adam", steps=16,
        schedule={"type": "optax.warmup_cosine_decay_schedule", "init_value": 1e-4, "peak_value": 3e-3,
                  "warmup_steps": 4, "decay_steps": 15, "end_value": 0.0, "exponent": 2.0})
    add("Q_adamw_linear", "adamw(linear_schedule(1e-2, 1e-4, 8, transition_begin=2), weight_decay=1e-3)", 111,
        [("w", (5, 3)), ("b", (3,))], weight_decay=1e-3, steps=12,
        schedule={"type": "optax.linear_schedule", "init_value": 1e-2, "end_value": 1e-4, "transition_steps": 8,
                  "transition_begin": 2})
    add("Q_adamw_linear_warmup", "adamw(linear_schedule(0, 3e-3, 7), mask) + clip_by_global_norm(1.0)", 112, MLP,
        mask=MASK, clip=1.0, steps=10, gscale=0.7,
        schedule={"type": "optax.linear_schedule", "init_value": 0.0, "end_value": 3e-3, "transition_steps": 7})
    sc = add("Q_adam_nan_inf", "optax.adam(1e-3): NaN and +-Inf gradient elements", 113, [("w", (4, 4)), ("b", (5,))],
             optimizer="optax.adam", steps=6)
    sc["grads"][1]["w"][0, 1] = np.nan
    sc["grads"][2]["b"][3] = np.inf
    sc["grads"][3]["w"][2, 2] = -np.inf
    add("Q_adamw_empty_single", "optax.adamw on [0], [3,0], [1] and [1,1] params", 114,
        [("empty", (0,)), ("empty2", (3, 0)), ("one", (1,)), ("one2", (1, 1)), ("w", (2, 2))], steps=6,
        weight_decay=1e-2)
    # No clipping here: XLA hands the norm of a tensor of >= 4096 elements to YNNPACK (README.md).
    add("Q_adamw_large", "adamw(warmup_cosine, weight_decay=1e-2, mask): 4099- and 4191-element params",
        115, [("layer/kernel", (4099,)), ("layer/bias", (37,)), ("head/kernel", (33, 127))], steps=4,
        weight_decay=1e-2, mask={"layer/kernel": True, "layer/bias": False, "head/kernel": True},
        gscale=0.02, schedule={"type": "optax.warmup_cosine_decay_schedule", "init_value": 0.0, "peak_value": 3e-3,
                               "warmup_steps": 1, "decay_steps": 4, "end_value": 3e-5})
    add("Q_adam_large_mixed", "optax.adam(1e-3) on 4111 elements of mixed magnitudes", 116, [("w", (4111,))],
        optimizer="optax.adam", steps=3, kinds={"w": ["mixed", "normal", "tiny"]})
    add("Q_adamw_one_tensor", "chain(clip_by_global_norm(0.8), adamw(2e-3, eps_root=1e-12, weight_decay=1e-2)) on one tensor",
        117, [("w", (7, 8))], learning_rate=2e-3, eps_root=1e-12, weight_decay=1e-2, clip=0.8, gscale=0.12, steps=10)
    return out


def trace_of(sc, jit):
    steps = run(sc, jit)
    adamw = sc["optimizer"] == "optax.adamw"
    mask = sc.get("mask")
    wd = sc["weight_decay"] if adamw else 0.0
    source = {"optimizer": sc["optimizer"], "learning_rate": sc.get("schedule") or sc["learning_rate"],
              "b1": sc["b1"], "b2": sc["b2"], "eps": sc["eps"], "eps_root": sc["eps_root"], "mu_dtype": None,
              "nesterov": False}
    if adamw:
        source.update(weight_decay=wd, mask=mask)
    if sc.get("clip") is not None:
        source["chain"] = f"optax.chain(optax.clip_by_global_norm({sc['clip']}), {sc['optimizer']}(...))"
    hyper = {
        "source": source,
        "normalized": {
            "lr": sc["learning_rate"] if sc.get("schedule") is None else sc["schedule"].get("peak_value", sc["schedule"].get("init_value")),
            "beta1": sc["b1"], "beta2": sc["b2"], "eps": sc["eps"], "eps_root": sc["eps_root"], "weight_decay": wd,
            "decay_mode": "decoupled_added_to_adam_update_then_neg_lr_scaled" if adamw else "none",
            "amsgrad": False, "maximize": False, "bias_correction": True,
        },
        "state_names": {"exp_avg": "mu", "exp_avg_sq": "nu"},
        "notes": "golden/real/optax/README.md gives the float32 op sequence XLA ran (jit and eager).",
    }
    if sc.get("schedule"):
        hyper["schedule"] = sc["schedule"]
    if sc.get("clip") is not None:
        hyper["clip_grad_norm"] = {"max_norm": sc["clip"], "norm_type": 2.0, "mode": "optax.clip_by_global_norm"}
    params = []
    for p in sc["params"]:
        q = {"name": p["name"], "shape": p["shape"], "init": arr(np.array(p["init"], np.float32))}
        if adamw:
            excluded = mask is not None and mask.get(p["name"]) is False
            q["weight_decay"] = 0.0 if excluded else wd
            q["decay_excluded"] = excluded
        params.append(q)
    return {
        "source": SOURCE.format(ov=optax.__version__, jv=jax.__version__),
        "convention": "Q",
        "description": sc["description"] + (" (under jax.jit)" if jit else " (eager, no jit)"),
        "framework": {"name": "optax", "version": optax.__version__, "jax": jax.__version__, "jit": jit, "device": "cpu"},
        "hyper": hyper,
        "params": params,
        "steps": steps,
    }


def write_powf_fixture():
    """tests/fixtures/xla-powf.json: b**count as XLA CPU computes it (glibc powf, denormals flushed), for the
    library's powfGlibc. Every count to 1000 and a sample to 100000, for the betas people use."""
    gen = rng(999)
    counts = sorted(set(range(1, 1001)) | set(int(c) for c in gen.integers(1001, 100001, 300)))
    power = jax.jit(lambda b, c: b ** c)
    out = {"source": f"jax {jax.__version__} jax.jit(lambda b, c: b ** c) on CPU (float32 beta, int32 count)",
           "counts": counts, "powers": {}}
    for b in (0.5, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999):
        vals = np.asarray(power(jnp.float32(b), jnp.asarray(counts, jnp.int32)))
        out["powers"][repr(b)] = arr(vals)
    path = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "xla-powf.json")
    with open(path, "w") as fh:
        json.dump(out, fh, separators=(",", ":"))
    return path


def main():
    print(write_powf_fixture())
    for sc in scenarios():
        for jit in (True, False):
            name = sc["name"] + ("_jit" if jit else "_eager")
            print(write("optax", name, trace_of(sc, jit)))


if __name__ == "__main__":
    main()
