"""Writing golden traces in the corpus format (golden/seed/README.md, "Format" and "Real-framework traces").

Every generator in this folder builds a dict per trace and hands it to `write`. Floats are float32 written
as the shortest decimal that round-trips through float32; non-finite values are the strings "NaN",
"Infinity" and "-Infinity". Inputs come from `rng(seed)`, a numpy Generator seeded per scenario, so a
rerun with the same wheels gives the same files.
"""
import json
import math
import os
import struct

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "real"))


def f32(x):
    """The float32 rounding of a Python float."""
    return struct.unpack("<f", struct.pack("<f", float(x)))[0]


def _shortest(x):
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return -0.0 if math.copysign(1, x) < 0 else 0
    # numpy's unique formatting is the shortest decimal that reads back as the same float32.
    v = float(np.format_float_positional(np.float32(x), unique=True, trim="-"))
    if v == int(v) and abs(v) < 2**53:
        return int(v)
    return v


def arr(a):
    """A tensor (torch, numpy, jax or tf) as a flat list of float32 values in the corpus encoding."""
    if hasattr(a, "detach"):
        a = a.detach().float().cpu().numpy()
    a = np.asarray(a, dtype=np.float32).reshape(-1)
    return [_shortest(x) for x in a]


def rng(seed):
    return np.random.default_rng(seed)


def grads_like(gen, shape, kind="normal", scale=1.0):
    """A float32 gradient of `shape`: normal, zero, tiny, huge, sparse or mixed magnitudes."""
    n = int(np.prod(shape)) if len(shape) else 1
    if kind == "zero":
        g = np.zeros(n)
    elif kind == "tiny":
        g = gen.standard_normal(n) * 1e-12
    elif kind == "huge":
        g = gen.standard_normal(n) * 1e8
    elif kind == "sparse":
        g = gen.standard_normal(n) * (gen.random(n) > 0.7)
    elif kind == "mixed":
        g = gen.standard_normal(n) * 10.0 ** gen.uniform(-30, 10, n)
        g[gen.random(n) < 0.1] = 0.0
    else:
        g = gen.standard_normal(n) * scale
    return g.astype(np.float32).reshape(shape)


def write(framework_dir, name, trace):
    """Writes golden/real/<framework_dir>/<name>.json (one line per step keeps diffs readable)."""
    d = os.path.join(ROOT, framework_dir)
    os.makedirs(d, exist_ok=True)
    trace = {"name": name, **trace}
    path = os.path.join(d, name + ".json")
    steps = trace.pop("steps")
    head = json.dumps(trace, separators=(",", ":"), allow_nan=False)[:-1]
    with open(path, "w") as fh:
        fh.write(head + ',"steps":[\n')
        fh.write(",\n".join(json.dumps(s, separators=(",", ":"), allow_nan=False) for s in steps))
        fh.write("\n]}\n")
    return path
