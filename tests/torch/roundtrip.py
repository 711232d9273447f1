"""Checkpoints between fused-adam and torch.optim.AdamW (torch 2.x), both ways.

usage:
  roundtrip.py continue STATE WEIGHTS GRADS OUT
      Loads fused-adam's stateDict() (STATE) and saveWeights() (WEIGHTS) into torch.optim.AdamW through
      load_state_dict, takes one step per set of gradients in GRADS, and writes the final weights and
      state to OUT (fused-adam's layout).
  roundtrip.py export TEMPLATE WEIGHTS GRADS N STATE_OUT WEIGHTS_OUT OUT
      Makes torch.optim.AdamW from WEIGHTS with the groups of TEMPLATE (a fused-adam stateDict(): its
      __metadata__ gives the groups, the format and the knobs), takes the first N steps of GRADS, writes
      torch's state_dict() converted to fused-adam's layout (STATE_OUT, with torch's float32 `step`) and
      the weights (WEIGHTS_OUT), then takes the remaining steps and writes the final weights and state to OUT.

GRADS has one tensor per step and parameter, "<k>.<name>" for k = 0, 1, ... The parameters are created in
the order of the groups, each group becomes a torch param group. torch 2.x keeps `step` as a float32
tensor: the conversion happens here, at the torch boundary (fused-adam's own files hold float64 counts).
Only python's standard library and torch are used.
"""
import json
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + b : base + end]), dtype=DTYPES[e["dtype"]])
        tensors[name] = t.reshape(e["shape"]).clone()
    return tensors, meta


def write(path, tensors, meta):
    header = {"__metadata__": meta}
    blobs = []
    off = 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: "F32", torch.float64: "F64"}[t.dtype]
        raw = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def make(groups, weights):
    names = [n for g in groups for n in g["params"]]
    params = {n: torch.nn.Parameter(weights[n].clone().to(torch.float32)) for n in names}
    opt = torch.optim.AdamW(
        [
            {"params": [params[n] for n in g["params"]], "lr": g["lr"], "betas": tuple(g["betas"]), "eps": g["eps"],
             "weight_decay": g["weight_decay"], "amsgrad": g["amsgrad"], "maximize": g["maximize"]}
            for g in groups
        ],
        foreach=False,
    )
    return names, params, opt


def run(names, params, opt, grads, first, last):
    for k in range(first, last):
        for n in names:
            params[n].grad = grads[f"{k}.{n}"].clone()
        opt.step()


def steps_in(grads, names):
    k = 0
    while f"{k}.{names[0]}" in grads:
        k += 1
    return k


def dump(names, params, opt, step_dtype):
    """Weights and torch's state, in fused-adam's names; step as `step_dtype`."""
    out = {}
    for i, n in enumerate(names):
        out[n] = params[n]
        for key, t in opt.state_dict()["state"][i].items():
            out[f"state.{n}.{key}"] = t.reshape(()).to(step_dtype) if key == "step" else t
    return out


def continue_(state_path, weights_path, grads_path, out_path):
    state, meta = read(state_path)
    weights, _ = read(weights_path)
    grads, _ = read(grads_path)
    groups = json.loads(meta["param_groups"])
    names, params, opt = make(groups, weights)
    # torch keeps the per-parameter state under the index of the parameter in group order; its step is a
    # float32 tensor (exact to 2^24), converted here from fused-adam's float64 count.
    sd = opt.state_dict()
    sd["state"] = {}
    for i, n in enumerate(names):
        s = {"step": state[f"state.{n}.step"].reshape(()).to(torch.float32), "exp_avg": state[f"state.{n}.exp_avg"],
             "exp_avg_sq": state[f"state.{n}.exp_avg_sq"]}
        if f"state.{n}.max_exp_avg_sq" in state:
            s["max_exp_avg_sq"] = state[f"state.{n}.max_exp_avg_sq"]
        sd["state"][i] = s
    opt.load_state_dict(sd)
    k = steps_in(grads, names)
    run(names, params, opt, grads, 0, k)
    write(out_path, dump(names, params, opt, torch.float32), {"steps": str(k), "torch": torch.__version__})


def export(template_path, weights_path, grads_path, n, state_out, weights_out, out_path):
    _, meta = read(template_path)
    weights, _ = read(weights_path)
    grads, _ = read(grads_path)
    template_groups = json.loads(meta["param_groups"])
    names, params, opt = make(template_groups, weights)
    run(names, params, opt, grads, 0, n)
    # torch's state_dict in fused-adam's layout: the groups from torch's param_groups (plus the values
    # torch has no name for, at their neutral settings), the format and knobs from the template.
    sd = opt.state_dict()
    groups = []
    for g, mine in zip(sd["param_groups"], template_groups):
        groups.append({"params": mine["params"], "lr": g["lr"], "betas": list(g["betas"]), "eps": g["eps"],
                       "weight_decay": g["weight_decay"], "amsgrad": g["amsgrad"], "maximize": g["maximize"],
                       "grad_scale": 1, "clip_value": None, "eps_root": 0, "schedule_multiplier": 1})
    state = {k: v for k, v in dump(names, params, opt, torch.float32).items() if k.startswith("state.")}
    converted = {k: meta[k] for k in ("format", "convention", "knobs")}
    converted["param_groups"] = json.dumps(groups)
    write(state_out, state, converted)
    write(weights_out, {n: params[n] for n in names}, {"torch": torch.__version__})
    k = steps_in(grads, names)
    run(names, params, opt, grads, n, k)
    write(out_path, dump(names, params, opt, torch.float32), {"steps": str(k - n), "torch": torch.__version__})


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "continue":
        continue_(*args)
    elif mode == "export":
        export(args[0], args[1], args[2], int(args[3]), *args[4:])
    else:
        sys.exit(f"unknown mode {mode}")
