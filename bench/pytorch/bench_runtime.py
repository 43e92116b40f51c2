"""PyTorch baseline for bench/runtime.ts: the plain spec implementation (rwkv7.py) on the same
checkpoint: sequence mode over a prompt, per-token decoding, and one state-tuning step
(autograd to the initial wkv state). Prints one JSON object.
usage: python3 bench_runtime.py <model.pth> <seq_len> <rnn_tokens> <threads>"""
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwkv7 import HEAD_SIZE, RWKV7  # noqa: E402


SEQ_RUNS = 3


def main():
    path, T, n_rnn, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    weights = torch.load(path, map_location="cpu")
    model = RWKV7(weights, chunked=True)
    L, C, V = model.L, model.C, model.V
    H = C // HEAD_SIZE
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, V, (1, T + 1), generator=g)
    out = {"torch": torch.__version__, "threads": threads}
    with torch.no_grad():
        model(idx[:, :T])  # warm-up: the same forward, untimed (as bench/runtime.ts does)
        runs = []
        for _ in range(SEQ_RUNS):  # the median of a few, as bench/runtime.ts takes
            t0 = time.perf_counter()
            model(idx[:, :T])
            runs.append(time.perf_counter() - t0)
        out["seq_s"] = sorted(runs)[SEQ_RUNS // 2]
        # Per-token decoding cost: a T=1 forward per token (this module has no recurrent carry,
        # the work per token is the same as RNN mode's).
        t0 = time.perf_counter()
        for i in range(n_rnn):
            model(idx[:, i:i + 1])
        out["rnn_tok_s"] = n_rnn / (time.perf_counter() - t0)
    s0 = torch.zeros(L, H, HEAD_SIZE, HEAD_SIZE, requires_grad=True)
    opt = torch.optim.Adam([s0], lr=1.0, betas=(0.9, 0.99), eps=1e-8)
    t0 = time.perf_counter()
    logits = model(idx[:, :T], s0)
    loss = torch.nn.functional.cross_entropy(logits.view(-1, V), idx[0, 1:T + 1])
    loss.backward()
    torch.nn.utils.clip_grad_norm_([s0], 1.0)
    opt.step()
    out["tune_step_s"] = time.perf_counter() - t0
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
