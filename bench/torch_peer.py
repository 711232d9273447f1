"""The torch peers of `npm run bench`: torch.optim.AdamW (and Adam with L2) as a torch user runs it on a CPU,
with `foreach=True` or `fused=True`, on 1 or 2 threads (`torch.set_num_threads`). bench/torch.js starts this
once per bench run and drives it over stdin/stdout, one JSON object per line each way.

  -> {"cmd": "load", "input": <in.bin>, "output": <out.bin>, "conv": "adamw"|"adaml2", "clip": <max_norm or 0>,
      "impl": "foreach"|"fused", "threads": 1|2, "resetEvery": <steps>}
     Builds the optimizer on the case's input (bench/native.js writes in.bin: u32 count, u32 size[count],
     f64 lr, b1, b2, eps, wd, t0, then the regions P, G, M, V in fused-adam's arena layout), takes one step
     (step t0+1) and writes P, M, V to out.bin in the same layout, for the agreement check.
  <- {"ok": true} or {"error": "..."}
  -> {"cmd": "batch", "steps": n}     <- {"ns": <wall time of n steps>}
  -> {"cmd": "drop"}                  <- {"ok": true}   (frees the case)
  -> {"cmd": "quit"}

A step is what a training loop runs between backward passes: `clip_grad_norm_` when clipping is on (it scales
the gradients in place, as in training), then `opt.step()`. As in every peer (bench/cases.js RESET_EVERY), the
weights, moments (and gradients) go back to the input every resetEvery steps, inside the timed steps.
"""
import json
import sys
import time

import numpy as np
import torch


def read_input(path):
    """(sizes, hyper dict, regions P, G, M, V as float32 numpy arrays, floats per region) from in.bin.
    Mapped, not read: the file is in /dev/shm, and BERT-base's is 1.75 GB (copy-on-write, never written)."""
    raw = np.asarray(np.memmap(path, dtype=np.uint8, mode="c"))
    count = int(raw[:4].view(np.uint32)[0])
    sizes = raw[4 : 4 + 4 * count].view(np.uint32).astype(np.int64).tolist()
    at = 4 + 4 * count
    lr, b1, b2, eps, wd, t0 = raw[at : at + 48].view(np.float64).tolist()
    at += 48
    total = sum((n + 15) // 16 * 16 for n in sizes)
    regions = [raw[at + 4 * total * r : at + 4 * total * (r + 1)].view(np.float32) for r in range(4)]
    return sizes, dict(lr=lr, b1=b1, b2=b2, eps=eps, wd=wd, t0=t0), regions, total


class Case:
    def __init__(self, cmd):
        torch.set_num_threads(int(cmd["threads"]))
        sizes, h, regions, total = read_input(cmd["input"])
        self.total = total
        self.offsets = []
        at = 0
        for n in sizes:
            self.offsets.append(at)
            at += (n + 15) // 16 * 16
        self.sizes = sizes
        # Views of the input for the resets (zero-copy), and the optimizer's own tensors. The step is
        # elementwise, so every tensor is kept 1-D (its shape does not change the work).
        self.init = [[torch.from_numpy(r[o : o + n]) for o, n in zip(self.offsets, sizes)] for r in regions]
        p0, g0, m0, v0 = self.init
        self.params = [torch.nn.Parameter(x.clone()) for x in p0]
        for p, g in zip(self.params, g0):
            p.grad = g.clone()
        impl = cmd["impl"]
        kw = dict(lr=h["lr"], betas=(h["b1"], h["b2"]), eps=h["eps"], weight_decay=h["wd"])
        kw["fused" if impl == "fused" else "foreach"] = True
        cls = torch.optim.AdamW if cmd["conv"] == "adamw" else torch.optim.Adam
        self.opt = cls(self.params, **kw)
        # Resume at step t0 with the input moments. torch 2.x keeps `step` as a float32 tensor
        # (torch/optim/adam.py _init_group: _get_scalar_dtype()), for both implementations on a CPU.
        for p, m, v in zip(self.params, m0, v0):
            self.opt.state[p] = {
                "step": torch.tensor(float(h["t0"]), dtype=torch.float32),
                "exp_avg": m.clone(),
                "exp_avg_sq": v.clone(),
            }
        self.max_norm = float(cmd["clip"])
        self.reset_every = int(cmd["resetEvery"])
        self.n = 0
        self.step()
        self.write(cmd["output"])

    @torch.no_grad()
    def restore(self):
        p0, g0, m0, v0 = self.init
        for k, p in enumerate(self.params):
            s = self.opt.state[p]
            p.copy_(p0[k])
            s["exp_avg"].copy_(m0[k])
            s["exp_avg_sq"].copy_(v0[k])
            if self.max_norm:
                p.grad.copy_(g0[k])

    def step(self):
        self.n += 1
        if self.n % self.reset_every == 0:
            self.restore()
        if self.max_norm:
            torch.nn.utils.clip_grad_norm_(self.params, self.max_norm)
        self.opt.step()

    def write(self, path):
        out = np.zeros(3 * self.total, dtype=np.float32)
        for r, get in enumerate([lambda p: p.detach(), lambda p: self.opt.state[p]["exp_avg"], lambda p: self.opt.state[p]["exp_avg_sq"]]):
            for o, n, p in zip(self.offsets, self.sizes, self.params):
                out[r * self.total + o : r * self.total + o + n] = get(p).numpy()
        out.tofile(path)

    def batch(self, steps):
        t0 = time.perf_counter_ns()
        for _ in range(steps):
            self.step()
        return time.perf_counter_ns() - t0


def main():
    reply = lambda obj: print(json.dumps(obj), flush=True)
    reply({"torch": torch.__version__, "capability": torch.backends.cpu.get_cpu_capability(), "python": sys.version.split()[0]})
    case = None
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["cmd"] == "load":
                case = None  # free the previous case first
                case = Case(cmd)
                reply({"ok": True})
            elif cmd["cmd"] == "batch":
                reply({"ns": case.batch(int(cmd["steps"]))})
            elif cmd["cmd"] == "drop":
                case = None
                reply({"ok": True})
            elif cmd["cmd"] == "quit":
                break
        except Exception as e:  # reported to the bench, which records the peer as failed
            case = None
            reply({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
