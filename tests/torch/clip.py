"""Reads gradients (safetensors, one tensor per name) from argv[1]; prints torch.nn.utils.clip_grad_norm_'s
total norm and the clipped gradients' bits for max_norm argv[2] as JSON. Run it under
ATEN_CPU_CAPABILITY=default (plain float32 ops) or =avx2 (fused multiply-adds)."""
import json
import struct
import sys

import torch

data = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8 : 8 + n])
header.pop("__metadata__", None)
grads = []
for name, e in header.items():
    b, end = e["data_offsets"]
    t = torch.frombuffer(bytearray(data[8 + n + b : 8 + n + end]), dtype=torch.float32).clone()
    p = torch.nn.Parameter(torch.zeros_like(t))
    p.grad = t
    grads.append((name, p))
total = torch.nn.utils.clip_grad_norm_([p for _, p in grads], float(sys.argv[2]))
print(json.dumps({
    "total": total.item(),
    "clipped": {name: p.grad.view(torch.int32).tolist() for name, p in grads},
}))
