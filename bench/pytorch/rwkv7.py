"""A plain PyTorch RWKV-7 (x070), written from docs/spec.md §1, used two ways:
the benchmark's PyTorch baseline (sequence mode, RNN mode, autograd to the initial state) and
the trainer of the small demo model the tutorials ship (scripts/demo/train_base.py).
Weights use the released checkpoint names and shapes (layer 0 without v0/v1/v2)."""
import math

import torch
import torch.nn.functional as F

HEAD_SIZE = 64
CHUNK = 16


def lora_dims(C):
    d = lambda f, e: max(32, 32 * round(f * C ** e / 32))
    return {"w": d(1.8, 0.5), "a": d(1.8, 0.5), "v": d(1.3, 0.5), "g": 128 if C == 1024 else d(0.6, 0.8)}


def init_weights(L, C, V, seed=0, dims=None):
    """Random weights shaped like a released checkpoint (fp32), scaled to train from."""
    g = torch.Generator().manual_seed(seed)
    dims = dims or lora_dims(C)
    H = C // HEAD_SIZE
    rn = lambda *s, std=1.0: torch.randn(*s, generator=g) * std
    ru = lambda *s, lo=0.0, hi=1.0: torch.rand(*s, generator=g) * (hi - lo) + lo
    w = {"emb.weight": rn(V, C, std=1e-4 * 100)}
    w["blocks.0.ln0.weight"], w["blocks.0.ln0.bias"] = torch.ones(C), torch.zeros(C)
    for l in range(L):
        p = f"blocks.{l}."
        w[p + "ln1.weight"], w[p + "ln1.bias"] = torch.ones(C), torch.zeros(C)
        w[p + "ln2.weight"], w[p + "ln2.bias"] = torch.ones(C), torch.zeros(C)
        ratio = l / max(1, L - 1)
        for n in ("x_r", "x_w", "x_k", "x_v", "x_a", "x_g"):
            w[p + "att." + n] = ru(1, 1, C, lo=0.1, hi=0.9 - 0.4 * ratio)
        w[p + "att.w0"] = (-6 + 5 * (torch.arange(C) / (C - 1)) ** (1 + ratio)).view(1, 1, C) + 0.5
        w[p + "att.w1"], w[p + "att.w2"] = torch.zeros(C, dims["w"]), rn(dims["w"], C, std=0.1)
        w[p + "att.a0"] = torch.zeros(1, 1, C)
        w[p + "att.a1"], w[p + "att.a2"] = torch.zeros(C, dims["a"]), rn(dims["a"], C, std=0.1)
        if l > 0:
            w[p + "att.v0"] = torch.ones(1, 1, C)
            w[p + "att.v1"], w[p + "att.v2"] = torch.zeros(C, dims["v"]), rn(dims["v"], C, std=0.1)
        w[p + "att.g1"], w[p + "att.g2"] = torch.zeros(C, dims["g"]), rn(dims["g"], C, std=0.1)
        w[p + "att.k_k"] = torch.full((1, 1, C), 0.85)
        w[p + "att.k_a"] = torch.ones(1, 1, C)
        w[p + "att.r_k"] = torch.zeros(H, HEAD_SIZE)
        for n in ("receptance", "key", "value"):
            w[p + f"att.{n}.weight"] = rn(C, C, std=1 / math.sqrt(C))
        w[p + "att.output.weight"] = torch.zeros(C, C)
        w[p + "att.ln_x.weight"], w[p + "att.ln_x.bias"] = torch.ones(C) * ((1 + l) / L) ** 0.7, torch.zeros(C)
        w[p + "ffn.x_k"] = ru(1, 1, C, lo=0.1, hi=0.9)
        w[p + "ffn.key.weight"] = rn(4 * C, C, std=1 / math.sqrt(C))
        w[p + "ffn.value.weight"] = torch.zeros(C, 4 * C)
    w["ln_out.weight"], w["ln_out.bias"] = torch.ones(C), torch.zeros(C)
    w["head.weight"] = rn(V, C, std=0.5 / math.sqrt(C))
    return w


class RWKV7(torch.nn.Module):
    """Sequence-mode forward from an initial wkv state (zero token shift), as state tuning runs it."""

    def __init__(self, weights, trainable=False, chunked=False):
        super().__init__()
        self.chunked = chunked
        self.w = torch.nn.ParameterDict({k.replace(".", "__"): torch.nn.Parameter(v.float().clone(), requires_grad=trainable) for k, v in weights.items()})
        self.L = 1 + max(int(k.split(".")[1]) for k in weights if k.startswith("blocks."))
        self.V, self.C = weights["emb.weight"].shape
        self.H = self.C // HEAD_SIZE

    def p(self, name):
        return self.w[name.replace(".", "__")]

    def forward(self, idx, s0=None):
        """idx [B,T] → logits [B,T,V]; s0 [L,H,N,N] ([head][value][key]) or None."""
        B, T = idx.shape
        C, H, N = self.C, self.H, HEAD_SIZE
        x = F.embedding(idx, self.p("emb.weight"))
        x = F.layer_norm(x, (C,), self.p("blocks.0.ln0.weight"), self.p("blocks.0.ln0.bias"))
        v_first = None
        for l in range(self.L):
            P = lambda n: self.p(f"blocks.{l}.{n}")
            xa = F.layer_norm(x, (C,), P("ln1.weight"), P("ln1.bias"))
            xx = F.pad(xa, (0, 0, 1, -1)) - xa
            xr, xw, xk, xv, xa_, xg = (xa + xx * P("att." + n) for n in ("x_r", "x_w", "x_k", "x_v", "x_a", "x_g"))
            r = xr @ P("att.receptance.weight").T
            wl = -F.softplus(-(P("att.w0") + torch.tanh(xw @ P("att.w1")) @ P("att.w2"))) - 0.5
            k = xk @ P("att.key.weight").T
            v = xv @ P("att.value.weight").T
            a = torch.sigmoid(P("att.a0") + (xa_ @ P("att.a1")) @ P("att.a2"))
            g = torch.sigmoid(xg @ P("att.g1")) @ P("att.g2")
            kk = F.normalize((k * P("att.k_k")).view(B, T, H, N), dim=-1, p=2.0, eps=1e-12).view(B, T, C)
            k = k * (1 + (a - 1) * P("att.k_a"))
            if l == 0:
                v_first = v
            else:
                v = v + (v_first - v) * torch.sigmoid(P("att.v0") + (xv @ P("att.v1")) @ P("att.v2"))
            op = wkv7_chunked if self.chunked and T % CHUNK == 0 else wkv7
            y = op(r, wl, k, v, -kk, kk * a, None if s0 is None else s0[l], H, N)
            y = F.group_norm(y.view(B * T, C), H, P("att.ln_x.weight"), P("att.ln_x.bias"), eps=64e-5).view(B, T, C)
            y = y + ((r * k * P("att.r_k").view(C)).view(B, T, H, N).sum(-1, keepdim=True) * v.view(B, T, H, N)).view(B, T, C)
            x = x + (y * g) @ P("att.output.weight").T
            xf = F.layer_norm(x, (C,), P("ln2.weight"), P("ln2.bias"))
            xx = F.pad(xf, (0, 0, 1, -1)) - xf
            kf = torch.relu((xf + xx * P("ffn.x_k")) @ P("ffn.key.weight").T) ** 2
            x = x + kf @ P("ffn.value.weight").T
        x = F.layer_norm(x, (C,), self.p("ln_out.weight"), self.p("ln_out.bias"))
        return x @ self.p("head.weight").T


def wkv7(r, wl, k, v, a, b, s0, H, N):
    """The sequential WKV-7 loop (docs/spec.md §1.3 step 8); state [B,H,N(value),N(key)]."""
    B, T, C = r.shape
    r, k, v, a, b = (t.view(B, T, H, N) for t in (r, k, v, a, b))
    decay = torch.exp(-torch.exp(wl.view(B, T, H, N)))
    S = torch.zeros(B, H, N, N, dtype=r.dtype) if s0 is None else s0.unsqueeze(0).expand(B, H, N, N)
    out = []
    for t in range(T):
        sa = (S @ a[:, t, :, :, None])  # [B,H,N,1]
        S = S * decay[:, t, :, None, :] + sa @ b[:, t, :, None, :] + v[:, t, :, :, None] @ k[:, t, :, None, :]
        out.append((S @ r[:, t, :, :, None]).squeeze(-1))
    return torch.stack(out, dim=1).reshape(B, T, C)


def wkv7_chunked(r, wl, k, v, a, b, s0, H, N):
    """The same recurrence in chunks of 16 steps (docs/spec.md §1.4): a few batched matmuls and one unit
    lower-triangular solve per chunk instead of 16 sequential steps. Used to train the demo model."""
    B, T, C = r.shape
    Lc = CHUNK
    shape = (B, T // Lc, Lc, H, N)
    r, k, v, a, b = (t.view(shape).transpose(2, 3) for t in (r, k, v, a, b))  # [B,nc,H,Lc,N]
    logw = (-torch.exp(wl)).view(shape).transpose(2, 3)
    cum = torch.cumsum(logw, dim=3)
    P, Pex = torch.exp(cum), torch.exp(cum - logw)
    q_, a_, k_, b_ = r * P, a * Pex, k / P, b / P
    strict = torch.tril(torch.ones(Lc, Lc, dtype=torch.bool), -1)
    incl = torch.tril(torch.ones(Lc, Lc, dtype=torch.bool))
    eye = torch.eye(Lc, dtype=r.dtype)
    S = torch.zeros(B, H, N, N, dtype=r.dtype) if s0 is None else s0.unsqueeze(0).expand(B, H, N, N)
    out = []
    for c in range(T // Lc):
        q, aa, kk, bb, vv, Pl = q_[:, c], a_[:, c], k_[:, c], b_[:, c], v[:, c], P[:, c, :, -1:, :]
        AB = (aa @ bb.transpose(-1, -2)).masked_fill(~strict, 0)
        AK = (aa @ kk.transpose(-1, -2)).masked_fill(~strict, 0)
        QK = (q @ kk.transpose(-1, -2)).masked_fill(~incl, 0)
        QB = (q @ bb.transpose(-1, -2)).masked_fill(~incl, 0)
        St = S.transpose(-1, -2)  # [key][value]
        U = torch.linalg.solve_triangular(eye - AB, AK @ vv + aa @ St, upper=False, unitriangular=True)
        out.append(QK @ vv + QB @ U + q @ St)
        S = S * Pl + vv.transpose(-1, -2) @ (kk * Pl) + U.transpose(-1, -2) @ (bb * Pl)
    return torch.stack(out, dim=1).permute(0, 1, 3, 2, 4).reshape(B, T, C)
