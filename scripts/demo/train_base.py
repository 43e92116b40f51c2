"""Trains the small byte-level RWKV-7 the tutorials use when no model is given, with the plain
PyTorch RWKV-7 of bench/pytorch/rwkv7.py (Debian's python3-torch), and saves it as a released-style
bf16 .pth. Usage: train_base.py CORPUS.jsonl OUT.pth [STEPS]"""
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench", "pytorch"))
from rwkv7 import RWKV7, init_weights  # noqa: E402

L, C, V, CTX, BSZ = 4, 128, 257, 128, 16  # byte ids 1..256, 0 = end of document


def batches(docs, rng):
    """Rows start at a document start, as state tuning samples do, so that the zero state means
    "a new conversation begins" (the state a prompt is run from)."""
    while True:
        rows = []
        for _ in range(BSZ):
            row = []
            while len(row) < CTX + 1:
                row.extend(docs[rng.randrange(len(docs))])
            rows.append(row[: CTX + 1])
        x = torch.tensor(rows)
        yield x[:, :-1], x[:, 1:]


def main():
    corpus, out = sys.argv[1], sys.argv[2]
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 1500
    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    rng = random.Random(0)
    docs = [[b + 1 for b in json.loads(line)["text"].encode()] + [0] for line in open(corpus)]
    model = RWKV7(init_weights(L, C, V, seed=1), trainable=True, chunked=True)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.99), eps=1e-8)
    t0, data = time.time(), batches(docs, rng)
    for step in range(steps):
        lr = 3e-3 * min(1, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for gr in opt.param_groups:
            gr["lr"] = lr
        x, y = next(data)
        loss = F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step} loss {loss.item():.4f} lr {lr:.2e} {time.time() - t0:.0f}s", flush=True)
    weights = {k.replace("__", "."): v.detach().to(torch.bfloat16).contiguous() for k, v in model.w.items()}
    tmp = out + ".tmp"
    torch.save(weights, tmp)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
