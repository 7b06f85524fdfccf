r"""Trainable GRED and a 1-hop message-passing baseline in PyTorch (the ``deep`` extra), and a
synthetic long-range task (arXiv:2312.01538, small-scale reproduction).

This is an optional module: it imports torch, and nothing else in lemmata imports it.

Task ``label_at_distance(k)``: a path of ``n`` nodes, the target at one end (marked by an
indicator feature); every node carries a random sign; the target must output the sign of the
node at distance exactly ``k``. GRED with ``K >= k`` reads it from its hop-k shell; a 1-hop
message-passing network needs at least ``k`` layers to see that node at all, so with fewer it is
at chance.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import torch
from torch import nn

from lemmata.numerics.arrays import ArrayTypeError, integer, real_scalar

from .distance import hop_masks

__all__ = ["GREDNet", "MPNN", "label_at_distance", "train", "accuracy"]


def label_at_distance(n_graphs: int, n_nodes: int, k: int, *, seed=0):
    """Features (n_graphs, n_nodes, 2) [random sign, target indicator] and labels (n_graphs,) in
    {0, 1}: the sign of node ``k`` of a path whose target is node 0."""
    n_graphs = integer("n_graphs", n_graphs, minimum=1)
    n_nodes = integer("n_nodes", n_nodes, minimum=2)
    k = integer("k", k, minimum=1, maximum=n_nodes - 1)
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(n_graphs, n_nodes))
    X = np.zeros((n_graphs, n_nodes, 2))
    X[:, :, 0] = signs
    X[:, 0, 1] = 1.0
    return torch.tensor(X, dtype=torch.float32), torch.tensor((signs[:, k] > 0).astype(np.int64))


class GREDNet(nn.Module):
    """One GRED layer (hop sums, pre-LN MLP, complex diagonal LRU over hops from far to near with
    the LRU parametrisation, GELU(Re(sC))) and a linear read-out at the target node (node 0)."""

    def __init__(self, graph: nx.Graph, K: int, dim_in: int = 2, dim_h: int = 16, dim_v: int = 16,
                 r_min: float = 0.5, seed: int = 0):
        super().__init__()
        K = integer("K", K, minimum=0)
        dim_in, dim_h, dim_v = (integer(n, v, minimum=1) for n, v in
                                (("dim_in", dim_in), ("dim_h", dim_h), ("dim_v", dim_v)))
        r_min = real_scalar("r_min", r_min, low=0.0, high=1.0 - 1e-12)
        torch.manual_seed(seed)
        self.register_buffer("masks", torch.tensor(hop_masks(graph, K), dtype=torch.float32))
        self.embed = nn.Linear(dim_in, dim_h)
        self.norm1, self.norm2 = nn.LayerNorm(dim_h), nn.LayerNorm(dim_h)
        self.mlp = nn.Sequential(nn.Linear(dim_h, dim_h), nn.GELU(), nn.Linear(dim_h, dim_h))
        u = torch.rand(dim_v)
        modulus = torch.sqrt(u * (1 - r_min ** 2) + r_min ** 2)
        self.nu_log = nn.Parameter(torch.log(-torch.log(modulus)))
        self.theta_log = nn.Parameter(torch.log(2 * math.pi * torch.rand(dim_v) + 1e-3))
        self.B = nn.Parameter(torch.randn(2, dim_h, dim_v) * math.sqrt(0.5 / dim_h))
        self.C = nn.Parameter(torch.randn(2, dim_v, dim_h) / math.sqrt(dim_v))
        self.out = nn.Linear(dim_h, 2)
        self.K = K

    def forward(self, X):
        h = self.embed(X)                                        # (batch, n, dim_h)
        x = torch.einsum("kvu,bud->bvkd", self.masks, h)          # hop sums (batch, n, K+1, dim_h)
        x = x + self.mlp(self.norm1(x))
        lam = torch.exp(-torch.exp(self.nu_log) + 1j * torch.exp(self.theta_log))
        gamma = torch.sqrt(1 - torch.abs(lam) ** 2)
        B = torch.complex(self.B[0], self.B[1]) * gamma
        u = self.norm2(x).to(torch.complex64) @ B                 # (batch, n, K+1, dim_v)
        powers = lam[None, :] ** torch.arange(self.K + 1)[:, None]   # lam^k, hop k
        s = (powers * u).sum(dim=2)                               # s = sum_k lam^k u_k
        y = nn.functional.gelu((s @ torch.complex(self.C[0], self.C[1])).real)
        return self.out(y[:, 0, :] + x[:, 0, 0, :])


class MPNN(nn.Module):
    """``layers`` rounds of 1-hop message passing h <- GELU(W_self h + W_nb A h), read out at node 0
    (``A`` the 0/1 adjacency: edge weights are ignored)."""

    def __init__(self, graph: nx.Graph, layers: int, dim_in: int = 2, dim_h: int = 16, seed: int = 0):
        super().__init__()
        if not isinstance(graph, nx.Graph):
            raise ArrayTypeError(f"`graph` must be a NetworkX graph; got {type(graph).__name__}.")
        layers = integer("layers", layers, minimum=1)
        dim_in, dim_h = integer("dim_in", dim_in, minimum=1), integer("dim_h", dim_h, minimum=1)
        torch.manual_seed(seed)
        # unweighted adjacency (edge weights ignored, as in lemmata.graphs.distance)
        A = nx.to_numpy_array(graph, nodelist=list(graph), weight=None)
        self.register_buffer("A", torch.tensor(A, dtype=torch.float32))
        self.embed = nn.Linear(dim_in, dim_h)
        self.self_w = nn.ModuleList(nn.Linear(dim_h, dim_h) for _ in range(layers))
        self.nb_w = nn.ModuleList(nn.Linear(dim_h, dim_h, bias=False) for _ in range(layers))
        self.out = nn.Linear(dim_h, 2)

    def forward(self, X):
        h = self.embed(X)
        for s_w, n_w in zip(self.self_w, self.nb_w):
            h = nn.functional.gelu(s_w(h) + n_w(self.A @ h))
        return self.out(h[:, 0, :])


def train(model: nn.Module, n_nodes: int, k: int, *, steps: int = 400, batch: int = 128,
          lr: float = 3e-3, seed: int = 0) -> list:
    """Adam on fresh batches of the task; returns the training losses."""
    if not isinstance(model, nn.Module):
        raise ArrayTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    steps, batch = integer("steps", steps, minimum=1), integer("batch", batch, minimum=1)
    lr = real_scalar("lr", lr, positive=True)
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        X, y = label_at_distance(batch, n_nodes, k, seed=seed * 100_000 + step)
        loss = nn.functional.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def accuracy(model: nn.Module, n_nodes: int, k: int, *, n_graphs: int = 2000, seed: int = 10 ** 6) -> float:
    """Fraction of ``n_graphs`` fresh task instances that ``model`` labels correctly."""
    if not isinstance(model, nn.Module):
        raise ArrayTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    X, y = label_at_distance(n_graphs, n_nodes, k, seed=seed)
    return float((model(X).argmax(dim=1) == y).float().mean())
