"""Prints, as JSON, the learning rates (and OneCycle's beta1) real torch schedulers give, epoch by epoch.
The HuggingFace lambdas are transcribed from transformers/optimization.py into LambdaLR as HF builds them."""
import json
import math

import torch


def run(make, epochs, momentum=False):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=0.01)
    sched = make(opt)
    lrs, moms = [], []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["betas"][0])
        opt.step()
        sched.step()
    return {"lr": lrs, "beta1": moms} if momentum else {"lr": lrs}


def hf_linear(w, t):
    return lambda s: float(s) / float(max(1, w)) if s < w else max(0.0, float(t - s) / float(max(1, t - w)))


def hf_cosine(w, t, cycles=0.5):
    def f(s):
        if s < w:
            return float(s) / float(max(1, w))
        progress = float(s - w) / float(max(1, t - w))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * progress)))
    return f


def hf_poly(w, t, lr_init, lr_end=1e-7, power=1.0):
    def f(s):
        if s < w:
            return float(s) / float(max(1, w))
        elif s > t:
            return lr_end / lr_init
        lr_range = lr_init - lr_end
        decay_steps = t - w
        pct_remaining = 1 - (s - w) / decay_steps
        decay = lr_range * pct_remaining**power + lr_end
        return decay / lr_init
    return f


S = torch.optim.lr_scheduler
out = {
    "cosine": run(lambda o: S.CosineAnnealingLR(o, T_max=7, eta_min=1e-4), 40),
    "step": run(lambda o: S.StepLR(o, step_size=3, gamma=0.5), 20),
    "exponential": run(lambda o: S.ExponentialLR(o, gamma=0.9), 30),
    "onecycle": run(lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=25), 25, momentum=True),
    "onecycle3": run(lambda o: S.OneCycleLR(o, max_lr=0.05, total_steps=30, three_phase=True, anneal_strategy="linear"), 30, momentum=True),
    "hf_linear": run(lambda o: S.LambdaLR(o, hf_linear(4, 20)), 24),
    "hf_cosine": run(lambda o: S.LambdaLR(o, hf_cosine(3, 17, 1.5)), 20),
    "hf_poly": run(lambda o: S.LambdaLR(o, hf_poly(2, 15, 0.01, 1e-5, 2.0)), 18),
}
print(json.dumps(out))
