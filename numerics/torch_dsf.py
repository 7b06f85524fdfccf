"""Small trainable PyTorch models for MQAR (the ``deep`` extra) that share the DSF builders'
parametrisation (:func:`lemmata.numerics.dsf.from_architecture`): softmax, linear (elu+1) and
normalised (exp) attention, S6 and SSD token mixers, each :meth:`DSFMixer.dsf_params` giving
the ``params`` dict of the same model for ``numerics.dsf``.

A model is Zoology-style and CPU-sized: token embedding, ``layers`` x (pre-norm mixer + residual,
pre-norm MLP + residual), final norm, linear readout; trained with AdamW on cross-entropy at the
query positions of :func:`lemmata.numerics.dsf.mqar` data. torch is imported here only.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from lemmata.analysis.validation import one_of, positive_finite, positive_int

from .dsf import mqar

__all__ = ["MIXERS", "DSFMixer", "MQARModel", "train_mqar"]

#: mixer name -> numerics.dsf architecture
MIXERS = {"softmax": "softmax", "linear": "linear_attention", "normalized": "normalized_attention",
          "s6": "s6", "ssd": "ssd"}


class DSFMixer(nn.Module):
    """One token mixer; ``n`` is the key width m (attention) or the states per channel (S6, SSD)."""

    def __init__(self, kind: str, d: int, n: int):
        super().__init__()
        one_of("kind", kind, tuple(MIXERS))
        self.kind, self.d, self.n = kind, positive_int("d", d), positive_int("n", n)
        lin = lambda rows, cols: nn.Parameter(torch.randn(rows, cols, dtype=torch.float64) / math.sqrt(cols))  # noqa: E731
        if kind in ("softmax", "linear", "normalized"):
            self.W_Q, self.W_K, self.W_V = lin(n, d), lin(n, d), lin(d, d)
            if kind == "normalized":
                self.W_eta = nn.Parameter(torch.zeros(d, dtype=torch.float64))
                self.b_eta = nn.Parameter(torch.zeros((), dtype=torch.float64))
        else:
            self.W_B, self.W_C = lin(n, d), lin(n, d)
            dt = torch.exp(torch.empty(d if kind == "s6" else 1, dtype=torch.float64).uniform_(math.log(1e-3), math.log(1e-1)))
            if kind == "s6":
                self.W_delta = nn.Parameter(torch.randn(d, d, dtype=torch.float64) * 0.1 / math.sqrt(d))
                self.b_delta = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))          # softplus^-1(dt)
                self.A_log = nn.Parameter(torch.log(torch.arange(1, n + 1, dtype=torch.float64)).repeat(d, 1))
            else:
                self.w_delta = nn.Parameter(torch.zeros(d, dtype=torch.float64))
                self.b_delta = nn.Parameter((dt + torch.log(-torch.expm1(-dt)))[0])
                self.a_log = nn.Parameter(torch.zeros((), dtype=torch.float64))
            self.D = nn.Parameter(torch.ones(d, dtype=torch.float64))

    def forward(self, x):
        """x (batch, L, d) -> (batch, L, d), the model of ``dsf.from_architecture`` with
        :meth:`dsf_params`: masked attention matrices, S6 by a loop over time (Mamba's reference
        scan), SSD materialised with its decay mask."""
        L = x.shape[1]
        causal = torch.ones(L, L, dtype=torch.bool, device=x.device).tril()
        if self.kind in ("softmax", "linear", "normalized"):
            q, k, v = x @ self.W_Q.T, x @ self.W_K.T, x @ self.W_V.T
            if self.kind == "softmax":
                s = (q @ k.transpose(1, 2) / math.sqrt(self.n)).masked_fill(~causal, float("-inf"))
                return s.softmax(-1) @ v
            if self.kind == "linear":
                A = ((nn.functional.elu(q) + 1) @ (nn.functional.elu(k) + 1).transpose(1, 2)) * causal
                return (A / A.sum(-1, keepdim=True)) @ v
            eta = torch.exp(x @ self.W_eta + self.b_eta)
            return ((q @ k.transpose(1, 2)) * causal) @ v / eta[..., None]
        Bm, Cm = x @ self.W_B.T, x @ self.W_C.T
        if self.kind == "s6":
            delta = nn.functional.softplus(x @ self.W_delta.T + self.b_delta)            # (b, L, d)
            A = -torch.exp(self.A_log)
            h = x.new_zeros(x.shape[0], self.d, self.n)
            ys = []
            for t in range(L):
                h = torch.exp(delta[:, t, :, None] * A) * h + (delta[:, t] * x[:, t])[..., None] * Bm[:, t, None, :]
                ys.append(torch.einsum("bdn,bn->bd", h, Cm[:, t]))
            return torch.stack(ys, dim=1) + self.D * x
        delta = nn.functional.softplus(x @ self.w_delta + self.b_delta)                   # (b, L)
        a = -torch.exp(self.a_log)
        cum = torch.cumsum(delta, dim=1)
        decay = torch.exp((a * (cum[:, :, None] - cum[:, None, :])).masked_fill(~causal, float("-inf")))
        return ((Cm @ Bm.transpose(1, 2)) * decay) @ (delta[..., None] * x) + self.D * x

    def dsf_params(self) -> dict:
        """The ``params`` of ``dsf.from_architecture(MIXERS[kind], params, d)`` for this mixer."""
        g = {k: v.detach().cpu().numpy().copy() for k, v in self.named_parameters()}
        if self.kind in ("softmax", "linear", "normalized"):
            p = {k: g[k] for k in ("W_Q", "W_K", "W_V")}
            if self.kind == "normalized":
                p.update(W_eta=g["W_eta"], b_eta=g["b_eta"])
            return p
        if self.kind == "s6":
            return {"W_delta": g["W_delta"], "b_delta": g["b_delta"], "W_B": g["W_B"], "W_C": g["W_C"],
                    "A": -np.exp(g["A_log"]), "D": g["D"]}
        return {"w_delta": g["w_delta"], "b_delta": g["b_delta"], "W_B": g["W_B"], "W_C": g["W_C"],
                "a": -np.exp(g["a_log"]), "D": g["D"]}


class MQARModel(nn.Module):
    """Embedding, ``layers`` x (norm, mixer, residual; norm, MLP 2d, residual), norm, readout."""

    def __init__(self, kind: str, vocab: int, d: int, n: int, layers: int = 2):
        super().__init__()
        self.embed = nn.Embedding(positive_int("vocab", vocab), d, dtype=torch.float64)
        self.mixers = nn.ModuleList(DSFMixer(kind, d, n) for _ in range(positive_int("layers", layers)))
        self.norms = nn.ModuleList(nn.LayerNorm(d, dtype=torch.float64) for _ in range(2 * layers + 1))
        self.mlps = nn.ModuleList(nn.Sequential(nn.Linear(d, 2 * d, dtype=torch.float64), nn.GELU(),
                                                nn.Linear(2 * d, d, dtype=torch.float64)) for _ in range(layers))
        self.readout = nn.Linear(d, vocab, dtype=torch.float64)

    def forward(self, tokens):
        x = self.embed(tokens)
        for i, (mix, mlp) in enumerate(zip(self.mixers, self.mlps)):
            x = x + mix(self.norms[2 * i](x))
            x = x + mlp(self.norms[2 * i + 1](x))
        return self.readout(self.norms[-1](x))


def train_mqar(kind: str, *, d: int, n: int, L: int, n_kv: int, vocab: int = 64, lr: float = 1e-3,
               steps: int = 300, batch: int = 64, n_test: int = 256, layers: int = 2, seed: int = 0) -> dict:
    """Train an :class:`MQARModel` on fresh MQAR batches (seeded) and return the query accuracy on
    ``n_test`` held-out sequences: {"accuracy" (mean over sequences of the fraction of queries
    answered), "stderr" (its standard error over the sequences), "loss" (last training batch),
    "steps"}."""
    one_of("kind", kind, tuple(MIXERS))
    lr = positive_finite("lr", lr)
    steps, batch, n_test = positive_int("steps", steps), positive_int("batch", batch), positive_int("n_test", n_test)
    torch.manual_seed(seed)
    model = MQARModel(kind, vocab, d, n, layers)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.1)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)
    loss = float("nan")
    for step in range(steps):
        data = mqar(batch, L, n_kv, vocab, seed=np.random.SeedSequence(seed, spawn_key=(step,)))
        logits = model(torch.from_numpy(data.inputs))
        out = loss_fn(logits.reshape(-1, vocab), torch.from_numpy(data.targets).reshape(-1))
        opt.zero_grad()
        out.backward()
        opt.step()
        loss = float(out.detach())
    test = mqar(n_test, L, n_kv, vocab, seed=np.random.SeedSequence(seed, spawn_key=(10 ** 6,)))
    with torch.no_grad():
        pred = model(torch.from_numpy(test.inputs)).argmax(-1).numpy()
    mask = test.targets != -100
    per_sequence = np.array([np.mean(pred[i][mask[i]] == test.targets[i][mask[i]]) for i in range(n_test)])
    return {"accuracy": float(per_sequence.mean()), "stderr": float(per_sequence.std(ddof=1) / math.sqrt(n_test)),
            "loss": loss, "steps": steps}
