"""torch 2.x real runs: golden/real/torch/<impl>-<flavour>/<scenario>.json.

Every torch scenario of the seed corpus (golden/seed: A-H, N and edge), with new random inputs, plus tensors
of more than 4K elements whose length is not a multiple of 16 (vector bodies and scalar tails both run).
Each scenario runs with `foreach=False` ("single"), `foreach=True` and `fused=True`, each under
`ATEN_CPU_CAPABILITY=default` ("scalar" flavour) and the machine's own vector kernels ("vector"). The
capability is fixed when torch loads, so this script runs itself once per capability as a subprocess.
Decoupled scenarios run both `torch.optim.AdamW` and `torch.optim.Adam(decoupled_weight_decay=True)`.
Besides the fields of golden/seed/README.md, `framework.mkl` names the CPU capability MKL dispatched on (when
torch has MKL): x86 builds compute Tensor.sqrt with MKL, whatever ATEN_CPU_CAPABILITY says. What ran and the
op sequences found: golden/real/torch/README.md.
"""
import math
import os
import subprocess
import sys

import numpy as np

import golden_io as gio

IMPLS = {"single": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}
FLAVOURS = {"scalar": "default", "vector": None}  # None: the machine's default (best) capability


def P(name, shape, init="normal"):
    return (name, shape, init)


# name, convention, optimizer class, constructor kwargs, params, per-step gradient patterns, extras.
# A pattern string applies to every param; "nan@i" / "inf@i" poke non-finite values into the first param.
SCENARIOS = [
    dict(name="A_adam_basic", conv="A", opt="Adam", kw=dict(lr=1e-3),
         params=[P("dense.weight", [4, 8]), P("dense.bias", [8]), P("scale", [1])],
         steps=["normal", "normal", "zero", "normal", "sparse", "normal", "normal", "normal"]),
    dict(name="A_adam_eps_dominates", conv="A", opt="Adam", kw=dict(lr=0.1, eps=1e-3),
         params=[P("w13", [13]), P("w7", [7])], steps=["tiny"] * 6),
    dict(name="A_adam_mixed_magnitudes", conv="A", opt="Adam", kw=dict(lr=0.01, betas=(0.8, 0.99)),
         params=[P("w33", [33], "negative"), P("m3x5", [3, 5]), P("w127", [127])],
         steps=["mixed", "huge", "mixed", "sparse", "mixed", "tiny", "mixed", "huge", "mixed", "normal"]),
    dict(name="B_adam_l2", conv="B", opt="Adam", kw=dict(lr=1e-3, weight_decay=0.01),
         params=[P("dense.weight", [4, 8]), P("dense.bias", [8]), P("w3", [3])], steps=["normal"] * 6 + ["zero", "normal"]),
    dict(name="B_adam_l2_strong", conv="B", opt="Adam", kw=dict(lr=0.05, betas=(0.9, 0.9), weight_decay=0.5),
         params=[P("w13", [13], "negative"), P("m5x7", [5, 7])], steps=["normal", "tiny", "normal", "huge", "sparse", "normal", "mixed", "normal"]),
    dict(name="C_adamw_basic", conv="C", opt="AdamW", kw=dict(lr=1e-3, weight_decay=0.01),
         params=[P("dense.weight", [4, 8]), P("dense.bias", [8]), P("s1", [1])], steps=["normal"] * 3 + ["zero"] + ["normal"] * 4),
    dict(name="C_adamw_eps_dominates", conv="C", opt="AdamW", kw=dict(lr=0.5, eps=1e-4, weight_decay=0.2),
         params=[P("w5", [5]), P("w8", [8])], steps=["tiny"] * 5),
    dict(name="C_adamw_large_wd", conv="C", opt="AdamW", kw=dict(lr=0.03, betas=(0.9, 0.95), eps=1e-6, weight_decay=0.1),
         params=[P("w127", [127]), P("t3x3x3", [3, 3, 3], "negative")], steps=["normal", "mixed", "sparse", "huge", "normal", "tiny", "normal", "mixed", "normal", "normal"]),
    # beta1 <= 0.5: ATen's lerp takes its other branch (end - (end-self)*(1-w)).
    dict(name="C_adamw_lerp_weight_0_7", conv="C", opt="AdamW", kw=dict(lr=1e-2, betas=(0.3, 0.9), weight_decay=0.05),
         params=[P("w37", [37]), P("m5x7", [5, 7])], steps=["normal", "mixed", "huge", "normal", "tiny"], single_class=True),
    dict(name="D_adam_l2_amsgrad_lerp_weight_0_5", conv="D", opt="Adam", kw=dict(lr=1e-2, betas=(0.5, 0.9), weight_decay=0.05, amsgrad=True),
         params=[P("w37", [37])], steps=["normal", "mixed", "normal"]),
    dict(name="D_adam_amsgrad", conv="D", opt="Adam", kw=dict(lr=0.01, amsgrad=True),
         params=[P("w13", [13]), P("m4x4", [4, 4])], steps=["huge", "normal", "tiny", "normal", "sparse", "mixed", "normal"]),
    dict(name="D_adam_l2_amsgrad", conv="D", opt="Adam", kw=dict(lr=0.01, amsgrad=True, weight_decay=0.05),
         params=[P("w17", [17]), P("m2x9", [2, 9])], steps=["normal", "huge", "normal", "zero", "normal", "mixed"]),
    dict(name="D_adamw_amsgrad", conv="D", opt="AdamW", kw=dict(lr=0.02, betas=(0.9, 0.99), weight_decay=0.02, amsgrad=True),
         params=[P("w33", [33]), P("b3", [3])], steps=["normal", "huge", "normal", "tiny", "normal", "sparse", "normal", "mixed"]),
    dict(name="E_adam_maximize", conv="E", opt="Adam", kw=dict(lr=0.01, maximize=True),
         params=[P("w8", [8]), P("m3x5", [3, 5])], steps=["normal", "mixed", "normal", "sparse", "normal", "normal"]),
    dict(name="E_adam_l2_maximize", conv="E", opt="Adam", kw=dict(lr=0.01, maximize=True, weight_decay=0.1),
         params=[P("w19", [19]), P("m3x3", [3, 3])], steps=["normal", "normal", "huge", "normal", "tiny", "normal"]),
    dict(name="E_adamw_maximize_amsgrad", conv="E", opt="AdamW", kw=dict(lr=0.01, weight_decay=0.05, amsgrad=True, maximize=True),
         params=[P("w13", [13]), P("w4", [4])], steps=["normal", "huge", "normal", "mixed", "normal", "normal"]),
    dict(name="F_clip_adamw", conv="F", opt="AdamW", kw=dict(lr=1e-3, weight_decay=0.01), clip=1.0,
         params=[P("dense.weight", [4, 8]), P("dense.bias", [8]), P("w13", [13])],
         steps=["normal", "huge", ("normal", 0.01), "zero", "normal", "mixed", ("normal", 0.05), "normal"]),
    dict(name="F_clip_adamw_max_norm_1_5", conv="F", opt="AdamW", kw=dict(lr=1e-3, weight_decay=0.01), clip=1.5,
         params=[P("dense.weight", [5, 7]), P("dense.bias", [7]), P("w3", [3])],
         steps=["normal", ("normal", 0.1), "huge", "sparse", "normal", "tiny", "normal", "normal"]),
    dict(name="F_clip_adam_l2_many", conv="F", opt="Adam", kw=dict(lr=1e-3, weight_decay=0.01), clip=1.5,
         params=[P(f"layer{i}.w", [3 + (i * 5) % 11]) for i in range(19)], steps=["normal", "huge", ("normal", 0.02), "normal"]),
    dict(name="G_linear_warmup_decay", conv="G", opt="AdamW", kw=dict(lr=1e-3, weight_decay=0.01),
         schedule=dict(type="LambdaLR", warmup=3, total=12),
         params=[P("w8", [8]), P("m4x8", [4, 8]), P("bias", [4])], steps=["normal"] * 12),
    dict(name="G_cosine_annealing", conv="G", opt="Adam", kw=dict(lr=0.01),
         schedule=dict(type="CosineAnnealingLR", T_max=12, eta_min=1e-5),
         params=[P("w33", [33]), P("w5", [5])], steps=["normal"] * 12),
    dict(name="G_warmup_cosine", conv="G", opt="AdamW", kw=dict(lr=2e-3, weight_decay=0.05),
         schedule=dict(type="LambdaLR", warmup=2, total=12, num_cycles=0.5),
         params=[P("w13", [13]), P("m2x3x4", [2, 3, 4])], steps=["normal"] * 12),
    dict(name="H_param_groups_adamw", conv="H", opt="AdamW", kw=dict(lr=1e-3, weight_decay=0.01), groups=True,
         params=[P("encoder.dense.weight", [4, 8]), P("encoder.dense.bias", [8]), P("encoder.LayerNorm.weight", [8]),
                 P("encoder.LayerNorm.bias", [8]), P("head.weight", [3, 4])], steps=["normal"] * 8),
    dict(name="N_multiplicative_shrink", conv="N", opt="Adam", kw=dict(lr=1e-3), shrink=0.01,
         params=[P("w13", [13]), P("m4x4", [4, 4])], steps=["normal"] * 7),
    dict(name="edge_adam_nan_grad", conv="A", opt="Adam", kw=dict(lr=1e-3),
         params=[P("w5", [5]), P("w3", [3])], steps=["normal", "nan@2", "normal", "normal", "normal"]),
    dict(name="edge_adamw_inf_grad", conv="C", opt="AdamW", kw=dict(lr=1e-3, weight_decay=0.01),
         params=[P("w7", [7]), P("s1", [1])], steps=["normal", "normal", "inf@0", "normal", "normal"]),
    dict(name="edge_adam_l2_empty_single", conv="B", opt="Adam", kw=dict(lr=0.01, weight_decay=0.1),
         params=[P("empty", [0]), P("single", [1]), P("single2d", [1, 1]), P("empty2d", [3, 0])], steps=["normal"] * 4),
    dict(name="edge_adamw_1000", conv="C", opt="AdamW", kw=dict(lr=1e-3, weight_decay=0.01),
         params=[P("w1000", [1000])], steps=["normal"] * 2, single_class=True),
    # Larger tensors: > 4K elements, lengths with n % 16 and n % 8 both non-zero and different (4107 % 16 = 11),
    # so the vector bodies of every width and the scalar tails all run. Few steps keep the files small.
    dict(name="big_adamw", conv="C", opt="AdamW", kw=dict(lr=1e-3, weight_decay=0.01),
         params=[P("w4107", [4107])], steps=["normal", "mixed"], single_class=True),
    dict(name="big_adam_l2_amsgrad", conv="D", opt="Adam", kw=dict(lr=3e-3, weight_decay=0.02, amsgrad=True),
         params=[P("w4109", [4109])], steps=["normal", "huge"]),
    dict(name="F_clip_big", conv="F", opt="AdamW", kw=dict(lr=1e-3, weight_decay=0.01), clip=1.0,
         params=[P("w4103", [4103]), P("w35", [35]), P("w5", [5])], steps=["normal", ("normal", 1e-4)], single_class=True),
]

def hf_linear(warmup, total):
    # transformers get_linear_schedule_with_warmup's lambda.
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        return max(0.0, float(total - step) / float(max(1, total - warmup)))
    return f


def hf_cosine(warmup, total, cycles):
    # transformers get_cosine_schedule_with_warmup's lambda.
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        progress = float(step - warmup) / float(max(1, total - warmup))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * progress)))
    return f


def make_inputs(sc):
    """Inits and per-step gradients (float32 numpy), the same for every impl and flavour of a scenario."""
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(sc["name"])) + 2013
    gen = gio.rng(seed)
    inits = {}
    for name, shape, kind in sc["params"]:
        x = gen.standard_normal(int(np.prod(shape))).astype(np.float32).reshape(shape)
        inits[name] = -np.abs(x) if kind == "negative" else x
    steps = []
    for pat in sc["steps"]:
        kind, scale = (pat if isinstance(pat, tuple) else (pat, 1.0))
        special = None
        if "@" in kind:
            special, at = kind.split("@")
            kind = "normal"
        g = {name: gio.grads_like(gen, shape, kind, scale) for name, shape, _ in sc["params"]}
        if special:
            first = sc["params"][0][0]
            flat = g[first].reshape(-1)
            if special == "nan":
                flat[int(at)] = np.nan
            else:
                flat[int(at)] = np.inf
                flat[len(flat) - 3] = -np.inf
        steps.append(g)
    return inits, steps


def variants(sc):
    """(file name, optimizer label, class name, extra kwargs) per optimizer the scenario runs."""
    out = [(sc["name"], sc["opt"], {})]
    decoupled = sc["opt"] == "AdamW" and sc["kw"].get("weight_decay", 0.01) != 0
    if decoupled and not sc.get("single_class"):
        out.append((sc["name"] + "_decoupled", "Adam", {"decoupled_weight_decay": True}))
    return out


def decay_mode(sc, cls, extra):
    if sc.get("shrink"):
        return "multiplicative_shrink_before_step"
    if cls == "AdamW" or extra.get("decoupled_weight_decay"):
        return "decoupled_lr_scaled"
    return "l2_coupled" if sc["kw"].get("weight_decay", 0) else "none"


def hyper_of(sc, cls):
    """The constructor arguments in full (torch's defaults written out)."""
    kw = dict(sc["kw"])
    if cls == "AdamW":
        kw.setdefault("weight_decay", 0.01)  # torch's AdamW default, recorded explicitly
    kw.setdefault("weight_decay", 0)
    return dict(lr=kw.get("lr", 1e-3), betas=tuple(kw.get("betas", (0.9, 0.999))), eps=kw.get("eps", 1e-8),
                weight_decay=kw["weight_decay"], amsgrad=kw.get("amsgrad", False), maximize=kw.get("maximize", False))


def groups_of(sc, full, names):
    """H: the decayed group and the bias/LayerNorm group (wd 0, twice the lr), or None."""
    if not sc.get("groups"):
        return None
    nd = [n for n in names if "bias" in n or "LayerNorm" in n]
    dec = [n for n in names if n not in nd]
    return [dict(params=dec, lr=full["lr"], weight_decay=full["weight_decay"]),
            dict(params=nd, lr=2 * full["lr"], weight_decay=0.0)]


def scheduler_of(torch, opt, s):
    if not s:
        return None
    if s["type"] == "CosineAnnealingLR":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=s["T_max"], eta_min=s["eta_min"])
    if "num_cycles" in s:
        return torch.optim.lr_scheduler.LambdaLR(opt, hf_cosine(s["warmup"], s["total"], s["num_cycles"]))
    return torch.optim.lr_scheduler.LambdaLR(opt, hf_linear(s["warmup"], s["total"]))


def clip(torch, sc, name, tensors, names, g):
    """torch.nn.utils.clip_grad_norm_ on the grads in place; the trace's `clip` record."""
    total = torch.nn.utils.clip_grad_norm_([tensors[n] for n in names], sc["clip"])
    # The coefficient clip_grad_norm_ multiplied by (torch/nn/utils/clip_grad.py _clip_grads_with_norm_),
    # evaluated with torch's own ops on the returned total; checked against the clipped grads below.
    coef = torch.clamp(sc["clip"] / (total + 1e-6), max=1.0)
    for n in names:
        want = torch.from_numpy(g[n].copy()).mul_(coef)
        if not torch.equal(want.view(torch.int32), tensors[n].grad.view(torch.int32)):
            raise SystemExit(f"{name}: grads_after_clip is not g*coef")
    return {"max_norm": sc["clip"], "norm_type": 2.0, "total_norm": gio.arr(total)[0],
            "clip_coef": gio.arr(coef)[0], "grads_after_clip": {n: gio.arr(tensors[n].grad) for n in names}}


def steps_of(torch, sc, name, opt, sched, tensors, names, grads, grouped, amsgrad):
    """Runs every step (clip, shrink, optimizer.step(), scheduler.step()) and records it."""
    group_of = {id(p): gi for gi, g in enumerate(opt.param_groups) for p in g["params"]}
    steps = []
    for g in grads:
        rec = {"lr": opt.param_groups[0]["lr"]}
        if grouped:
            rec["lr_by_param"] = {n: opt.param_groups[group_of[id(tensors[n])]]["lr"] for n in names}
        rec["grads"] = {n: gio.arr(g[n]) for n in names}
        for n in names:
            tensors[n].grad = torch.from_numpy(g[n].copy())
        if sc.get("clip"):
            rec["clip"] = clip(torch, sc, name, tensors, names, g)
        if sc.get("shrink"):
            with torch.no_grad():
                for n in names:
                    tensors[n].mul_(1 - sc["shrink"])
        opt.step()
        if sched:
            sched.step()
        after = {}
        for n in names:
            st = opt.state[tensors[n]]
            a = {"param": gio.arr(tensors[n]), "exp_avg": gio.arr(st["exp_avg"]), "exp_avg_sq": gio.arr(st["exp_avg_sq"])}
            if amsgrad:
                a["max_exp_avg_sq"] = gio.arr(st["max_exp_avg_sq"])
            after[n] = a
        rec["after"] = after
        steps.append(rec)
    return steps


def hyper_record(sc, cls, extra, impl, full, groups):
    src = {"optimizer": f"torch.optim.{cls}", "lr": full["lr"], "betas": list(full["betas"]), "eps": full["eps"],
           "weight_decay": full["weight_decay"], "amsgrad": full["amsgrad"], "maximize": full["maximize"],
           **extra, **IMPLS[impl]}
    hyper = {"source": src, "normalized": {
        "lr": full["lr"], "beta1": full["betas"][0], "beta2": full["betas"][1], "eps": full["eps"],
        "weight_decay": full["weight_decay"], "decay_mode": decay_mode(sc, cls, extra), "amsgrad": full["amsgrad"],
        "maximize": full["maximize"], "bias_correction": True, "eps_mode": "denom = sqrt(v)/sqrt(1-beta2^t) + eps"}}
    if groups:
        hyper["param_groups"] = groups
        hyper["no_decay_rule"] = "name contains 'bias' or 'LayerNorm'"
    if sc.get("schedule"):
        hyper["schedule"] = dict(sc["schedule"])
    if sc.get("clip"):
        hyper["clip_grad_norm"] = {"max_norm": sc["clip"], "norm_type": 2.0, "eps_added_to_norm": 1e-6,
                                   "function": "torch.nn.utils.clip_grad_norm_"}
    if sc.get("shrink"):
        hyper["shrink"] = {"d": sc["shrink"], "formula": "p.mul_(1-d) with torch ops before each optimizer step"}
    return hyper


def params_record(sc, inits, groups):
    params = []
    for n, shape, _ in sc["params"]:
        p = {"name": n, "shape": shape, "init": gio.arr(inits[n])}
        if groups:
            gi = next(i for i, g in enumerate(groups) if n in g["params"])
            p.update(group=gi, lr=groups[gi]["lr"], weight_decay=groups[gi]["weight_decay"])
        params.append(p)
    return params


def run(torch, sc, name, cls, extra, impl, flavour):
    """One scenario with one optimizer class, implementation and flavour: golden/real/torch/<impl>-<flavour>/<name>.json."""
    inits, grads = make_inputs(sc)
    full = hyper_of(sc, cls)
    names = [n for n, _, _ in sc["params"]]
    tensors = {n: torch.nn.Parameter(torch.from_numpy(inits[n].copy())) for n in names}
    groups = groups_of(sc, full, names)
    if groups:
        arg = [dict(params=[tensors[n] for n in g["params"]], lr=g["lr"], weight_decay=g["weight_decay"]) for g in groups]
    else:
        arg = [tensors[n] for n in names]
    opt = getattr(torch.optim, cls)(arg, **full, **extra, **IMPLS[impl])
    sched = scheduler_of(torch, opt, sc.get("schedule"))
    steps = steps_of(torch, sc, name, opt, sched, tensors, names, grads, bool(groups), full["amsgrad"])
    cap = torch.backends.cpu.get_cpu_capability().lower()
    ctor_txt = ", ".join([f"{k}={v}" for k, v in {**extra, **IMPLS[impl]}.items()])
    trace = {
        "source": f"torch.optim.{cls}({ctor_txt}), torch {torch.__version__}, CPU float32, "
                  f"ATEN_CPU_CAPABILITY={FLAVOURS[flavour] or cap}",
        "convention": sc["conv"],
        "description": f"{sc['name']} with new random inputs; {impl} implementation, {flavour} kernels",
        "framework": {"name": "torch", "version": torch.__version__, "impl": impl, "cpu_capability": cap, "device": "cpu",
                      **({"mkl": MACHINE} if torch.backends.mkl.is_available() else {})},
        "kernel_variant": "scalar" if cap == "default" else "avx2",
        "hyper": hyper_record(sc, cls, extra, impl, full, groups),
        "params": params_record(sc, inits, groups),
        "steps": steps,
    }
    gio.write(os.path.join("torch", f"{impl}-{flavour}"), name, trace)


def worker(flavour):
    global MACHINE
    import torch
    # Tensor.sqrt goes through MKL's vsSqrt, which picks its code by the CPU, not by ATEN_CPU_CAPABILITY:
    # the parent passes the machine's own capability down.
    MACHINE = os.environ.get("GEN_TORCH_MACHINE_CAPABILITY", "").lower()
    for sc in SCENARIOS:
        for name, cls, extra in variants(sc):
            for impl in IMPLS:
                run(torch, sc, name, cls, extra, impl, flavour)
    print(f"gen_torch: {flavour} ({torch.backends.cpu.get_cpu_capability()}) done")


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
        return
    os.environ.pop("ATEN_CPU_CAPABILITY", None)
    import torch
    machine = torch.backends.cpu.get_cpu_capability()
    for flavour, cap in FLAVOURS.items():
        env = dict(os.environ, GEN_TORCH_MACHINE_CAPABILITY=machine)
        env.pop("ATEN_CPU_CAPABILITY", None)
        if cap:
            env["ATEN_CPU_CAPABILITY"] = cap
        subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", flavour], check=True, env=env)


if __name__ == "__main__":
    main()
