r"""The GRED layer (arXiv:2312.01538), forward pass in NumPy, following the official code:

1. hop sums :math:`x_{v,k}=\sum_{u\in N_k(v)}h_u` (:func:`lemmata.graphs.distance.hop_aggregate`);
2. MLP with pre-LayerNorm and residual: :math:`\tilde x=x+W_2\,\mathrm{GELU}(W_1\mathrm{LN}(x))`;
3. complex diagonal LRU over hops from far to near,
   :math:`s_v=\sum_{k=0}^K\lambda^k\odot(\mathrm{LN}(\tilde x_{v,k})(B\odot\gamma))`, computed with the
   scan engine (:func:`lemmata.numerics.scan.linear_scan`, ``reverse=True``);
4. :math:`y=\mathrm{GELU}(\mathrm{Re}(sC))`, GLU :math:`y\leftarrow(W_ay)\odot\sigma(W_by)`, and the
   residual from the hop-0 stream, :math:`h_v'=y+\tilde x_{v,0}`.

Parameters follow the LRU initialisation (ring-uniform :math:`|\lambda|^2`, phases, :math:`\gamma=
\sqrt{1-|\lambda|^2}`). Dropout is omitted (inference). Every operation acts per node or per
multiset of a shell, so the layer is permutation-equivariant by construction (tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lemmata.analysis.validation import one_of, positive_int
from lemmata.numerics.arrays import ArrayTypeError, InvalidArrayError, as_array, integer
from lemmata.numerics.encoder import lru_init
from lemmata.numerics.scan import linear_scan

from .distance import DistanceChains, distance_chains, hop_aggregate

__all__ = ["GREDLayer", "init_gred_layer", "gred_layer", "gred_model", "gred_batch", "normalised_gain"]


@dataclass(frozen=True)
class GREDLayer:
    """Parameters of one layer (dim_h features, dim_v recurrent channels)."""

    W1: np.ndarray
    W2: np.ndarray
    B: np.ndarray         # complex (dim_h, dim_v), gamma already folded in
    lam: np.ndarray       # complex (dim_v,)
    C: np.ndarray         # complex (dim_v, dim_h)
    Wa: np.ndarray
    Wb: np.ndarray

    def __post_init__(self):
        shapes = {}
        for name in ("W1", "W2", "B", "lam", "C", "Wa", "Wb"):
            value = as_array(getattr(self, name), name=name, ndim=1 if name == "lam" else 2,
                             complex_ok=name in ("B", "lam", "C"), dtype=None)
            object.__setattr__(self, name, value)
            shapes[name] = value.shape
        h, v = shapes["W1"][0], shapes["lam"][0]
        expected = {"W1": (h, h), "W2": (h, h), "B": (h, v), "C": (v, h), "Wa": (h, h), "Wb": (h, h)}
        wrong = {k: shapes[k] for k, e in expected.items() if shapes[k] != e}
        if wrong:
            raise InvalidArrayError(f"GREDLayer shapes do not fit dim_h = {h}, dim_v = {v} (from `W1`, `lam`): "
                                    f"expected {dict((k, expected[k]) for k in wrong)}, got {wrong}.")


def init_gred_layer(dim_h: int, dim_v: int, *, r_min: float = 0.0, r_max: float = 1.0,
                    max_phase: float = 6.28, seed=0) -> GREDLayer:
    """Random parameters with the official initialisation scales (B: E|B_ij|^2 = 1/dim_h, times
    gamma; C LeCun-normal; MLP and GLU weights LeCun-normal)."""
    dim_h = positive_int("dim_h", dim_h)
    dim_v = positive_int("dim_v", dim_v)
    rng = np.random.default_rng(seed)
    lam, gamma = lru_init(dim_v, r_min=r_min, r_max=min(r_max, 1.0 - 1e-12), max_phase=max_phase,
                          seed=rng.integers(2 ** 32))
    B = (rng.normal(size=(dim_h, dim_v)) + 1j * rng.normal(size=(dim_h, dim_v))) * math.sqrt(0.5 / dim_h)
    C = (rng.normal(size=(dim_v, dim_h)) + 1j * rng.normal(size=(dim_v, dim_h))) / math.sqrt(dim_v)
    lecun = lambda a, b: rng.normal(size=(a, b)) / math.sqrt(a)  # noqa: E731
    return GREDLayer(lecun(dim_h, dim_h), lecun(dim_h, dim_h), B * gamma[None, :], lam, C,
                     lecun(dim_h, dim_h), lecun(dim_h, dim_h))


def _layer_norm(x, eps=1e-6):
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def _gelu(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def gred_layer(params: GREDLayer, chains: DistanceChains, H) -> np.ndarray:
    """One GRED layer on node features ``H`` (n, dim_h) with the shells ``chains`` (all nodes as
    targets); returns (n, dim_h)."""
    if not isinstance(params, GREDLayer):
        raise ArrayTypeError(f"`params` must be a GREDLayer (init_gred_layer); got {type(params).__name__}.")
    if not isinstance(chains, DistanceChains):
        raise ArrayTypeError(f"`chains` must be DistanceChains (distance_chains(G, K)); got {type(chains).__name__}.")
    H = as_array(H, name="H", ndim=2, min_size=0)
    if H.ndim != 2 or H.shape[1] != params.W1.shape[0]:
        raise ValueError(f"`H` must have shape (n_nodes, {params.W1.shape[0]}); got {H.shape}.")
    if chains.targets.size != H.shape[0]:
        raise ValueError("`chains` must have every node as a target (distance_chains(G, K)).")
    x = hop_aggregate(chains, H)                                         # (n, K+1, dim_h)
    x = x + _gelu(_layer_norm(x) @ params.W1) @ params.W2                # pre-LN MLP, residual
    u = _layer_norm(x) @ params.B                                        # (n, K+1, dim_v) complex
    # far -> near: s_k = lam s_{k+1} + u_k from k = K down to 0, so s_0 = sum_k lam^k u_k
    s = linear_scan(params.lam, np.ascontiguousarray(np.moveaxis(u, 1, 0)), reverse=True)[0]
    y = _gelu((s @ params.C).real)
    y = (y @ params.Wa) * (1.0 / (1.0 + np.exp(-(y @ params.Wb))))       # GLU
    return y + x[:, 0, :]


def gred_model(G, H, layers, K: int, readout: str = "sum"):
    """A stack of GRED layers on graph ``G`` with initial features ``H`` and a graph readout
    (``sum``, ``mean``) or ``none`` (node outputs)."""
    one_of("readout", readout, ("sum", "mean", "none"))
    chains = distance_chains(G, K)
    if isinstance(layers, GREDLayer):
        raise ArrayTypeError("`layers` must be a list of GREDLayer; got one GREDLayer (wrap it in a list).")
    for params in layers:
        H = gred_layer(params, chains, H)
    if readout == "none":
        return H
    return H.sum(axis=0) if readout == "sum" else H.mean(axis=0)


def gred_batch(graphs, features, layers, K: int, readout: str = "sum") -> np.ndarray:
    """:func:`gred_model` over a batch of graphs (each with its own feature matrix); returns the
    stacked graph outputs (n_graphs, dim_h) (or a list of node outputs with ``readout="none"``)."""
    graphs, features = list(graphs), list(features)
    if len(graphs) != len(features):
        raise ValueError(f"`features` must hold one matrix per graph ({len(graphs)}); got {len(features)}.")
    outputs = [gred_model(G, H, layers, K, readout) for G, H in zip(graphs, features)]
    return outputs if readout == "none" else np.stack(outputs)


def normalised_gain(lam, K: int) -> np.ndarray:
    r""":math:`\mathbb E|\sum_{k=0}^K\gamma\lambda^ku_k|^2=1-|\lambda|^{2(K+1)}` for iid unit-variance
    inputs and :math:`\gamma=\sqrt{1-|\lambda|^2}` (derived: a finite geometric sum)."""
    lam = as_array(lam, name="lam", complex_ok=True, dtype=None)
    K = integer("K", K, minimum=0)
    if np.any(np.abs(lam) > 1):
        raise InvalidArrayError(f"`lam` must satisfy |lam| <= 1 (gamma = sqrt(1 - |lam|^2)); got max |lam| = "
                                f"{float(np.max(np.abs(lam)))!r}.")
    return 1.0 - np.abs(lam) ** (2 * (K + 1))
