"""Loads a fused-adam stateDict() and saveWeights() into torch.optim.AdamW and continues training.

usage: roundtrip.py STATE WEIGHTS GRADS OUT

STATE is fused-adam's optimizer state (safetensors: state.<name>.exp_avg / exp_avg_sq / max_exp_avg_sq /
step, groups in __metadata__.param_groups); WEIGHTS its weights (one tensor per parameter name); GRADS has
one tensor per continued step and parameter, "<k>.<name>" for k = 0, 1, ... The parameters are created in
the order of the groups, each group becomes a torch param group, the state is handed to
AdamW.load_state_dict, the steps are taken, and the final weights and state are written to OUT in the
same layout. Only python's standard library and torch are used (no safetensors package needed).
"""
import json
import struct
import sys

import torch


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", name
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + b : base + end]), dtype=torch.float32)
        tensors[name] = t.reshape(e["shape"]).clone()
    return tensors, meta


def write(path, tensors, meta):
    header = {"__metadata__": meta}
    blobs = []
    off = 0
    for name, t in tensors.items():
        raw = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    state_path, weights_path, grads_path, out_path = sys.argv[1:5]
    state, meta = read(state_path)
    weights, _ = read(weights_path)
    grads, _ = read(grads_path)
    groups = json.loads(meta["param_groups"])

    names = [n for g in groups for n in g["params"]]
    params = {n: torch.nn.Parameter(weights[n].clone()) for n in names}
    opt = torch.optim.AdamW(
        [{"params": [params[n] for n in g["params"]]} for g in groups],
        foreach=False,
    )
    # torch keeps the hyperparameters in the state dict's param_groups and the per-parameter state under
    # the index of the parameter in group order.
    sd = opt.state_dict()
    for g, mine in zip(sd["param_groups"], groups):
        g.update(lr=mine["lr"], betas=tuple(mine["betas"]), eps=mine["eps"], weight_decay=mine["weight_decay"],
                 amsgrad=mine["amsgrad"], maximize=mine["maximize"])
    sd["state"] = {}
    for i, n in enumerate(names):
        s = {"step": state[f"state.{n}.step"].reshape(()), "exp_avg": state[f"state.{n}.exp_avg"],
             "exp_avg_sq": state[f"state.{n}.exp_avg_sq"]}
        if f"state.{n}.max_exp_avg_sq" in state:
            s["max_exp_avg_sq"] = state[f"state.{n}.max_exp_avg_sq"]
        sd["state"][i] = s
    opt.load_state_dict(sd)

    k = 0
    while f"{k}.{names[0]}" in grads:
        for n in names:
            params[n].grad = grads[f"{k}.{n}"].clone()
        opt.step()
        k += 1

    out = {}
    for i, n in enumerate(names):
        out[n] = params[n]
        for key, t in opt.state_dict()["state"][i].items():
            out[f"state.{n}.{key}"] = t.reshape(()) if key == "step" else t
    write(out_path, out, {"steps": str(k), "torch": torch.__version__})


if __name__ == "__main__":
    main()
