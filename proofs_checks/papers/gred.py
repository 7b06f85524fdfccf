"""Checks for arXiv:2312.01538, "Recurrent distance filtering for graph representation learning"
(GRED; Ding, Orvieto, He, Hofmann; ICML 2024): distance shells, expressiveness against 1-WL, the
hop recurrence and its normalised gain, injectivity of the hop encoder.
"""

from __future__ import annotations

import functools
import itertools
import math

import networkx as nx
import numpy as np

from lemmata.graphs import gred_model, hop_masks, init_gred_layer, invariant, normalised_gain
from lemmata.numerics.encoder import krylov_rank, lru_init
from lemmata.numerics.scan import linear_scan
from lemmata.numerics.stats import mean_estimate

from ..check import Bound, Check, Exact, MonteCarlo

PAPER = "2312.01538"
SOURCE = "arXiv:2312.01538"


def _graphs(name):
    return {"gnp": nx.gnp_random_graph(30, 0.1, seed=1), "ladder": nx.ladder_graph(8),
            "disconnected": nx.disjoint_union(nx.cycle_graph(7), nx.path_graph(5)),
            "petersen": nx.petersen_graph()}[name]


def _masks_numeric(point, ctx):
    """Mismatches between the BFS hop masks and the Floyd-Warshall distances (the official
    preprocessing)."""
    G = _graphs(point["graph"])
    K = point["K"]
    D = nx.floyd_warshall_numpy(G, nodelist=list(G))
    masks = hop_masks(G, K)
    expected = np.stack([(D == k) for k in range(K + 1)]).astype(np.int8)
    return float(np.sum(masks != expected))


MASKS = Check(
    key=f"{PAPER}/hop-masks",
    statement="The per-hop masks M_k[v, u] = [d(v, u) = k] from the truncated BFS equal those of the "
              "Floyd-Warshall distances of the official preprocessing (unreachable nodes in no shell).",
    source=f"{SOURCE}, preprocessing (official code)",
    symbolic=lambda point: 0.0,
    numeric=_masks_numeric,
    points=[{"graph": g, "K": K} for g in ("gnp", "ladder", "disconnected", "petersen") for K in (1, 3, 6)],
    tolerance=Exact(rtol=0.0, atol=0.0),
)


@functools.lru_cache(maxsize=4)
def _atlas_classes(n_nodes: int, K: int):
    graphs = [G for G in nx.graph_atlas_g() if G.number_of_nodes() == n_nodes]
    palette_1, palette_s = {}, {}
    one = [invariant(G, method="1wl", rounds=n_nodes, palette=palette_1) for G in graphs]
    spd = [invariant(G, method="spd", K=K, rounds=n_nodes, palette=palette_s) for G in graphs]
    return graphs, one, spd


def _expressiveness_numeric(point, ctx):
    graphs, one, spd = _atlas_classes(point["n_nodes"], point["K"])
    pairs = itertools.combinations(range(len(graphs)), 2)
    counts = {"spd_not_1wl": 0, "1wl_not_spd": 0}
    for i, j in pairs:
        by_one, by_spd = one[i] != one[j], spd[i] != spd[j]
        counts["spd_not_1wl"] += by_spd and not by_one
        counts["1wl_not_spd"] += by_one and not by_spd
    return float(counts[point["count"]])


EXPRESSIVENESS = Check(
    key=f"{PAPER}/beyond-1wl",
    statement="With K > 1 the distance-shell refinement SPD-WL(K) (the bound on GRED stacks) separates "
              "graph pairs that 1-WL cannot: over all pairs of graphs with 6 and 7 nodes (NetworkX's atlas) "
              "at least one pair is separated by SPD-WL(2) and not by 1-WL.",
    source=f"{SOURCE}, Corollary 4.3 (numbering and wording unconfirmed)",
    symbolic=lambda point: 1.0,
    numeric=_expressiveness_numeric,
    points=[{"n_nodes": n, "K": 2, "count": "spd_not_1wl"} for n in (6, 7)],
    tolerance=Bound("lower", n_sigma=0),          # at least one pair
)

NEVER_FEWER = Check(
    key=f"{PAPER}/never-fewer-than-1wl",
    statement="SPD-WL(K) refines 1-WL: no pair of 6- or 7-node graphs is separated by 1-WL but not by "
              "SPD-WL(2).",
    source=f"{SOURCE} (derived: the hop-1 shell is the 1-WL neighbourhood)",
    symbolic=lambda point: 0.0,
    numeric=_expressiveness_numeric,
    points=[{"n_nodes": n, "K": 2, "count": "1wl_not_spd"} for n in (6, 7)],
    tolerance=Exact(rtol=0.0, atol=0.0),
)


def _gred_pair_numeric(point, ctx):
    """Relative difference of the sum-readout outputs of a random GRED stack on C6 and two
    triangles, every node carrying the same feature vector."""
    G1 = nx.cycle_graph(6)
    G2 = nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3))
    rng = np.random.default_rng(ctx.seed_sequence())
    layers = [init_gred_layer(8, 6, r_min=0.5, seed=int(rng.integers(2 ** 31))) for _ in range(2)]
    H = np.tile(rng.normal(size=8), (6, 1))
    a = gred_model(G1, H, layers, point["K"])
    b = gred_model(G2, H, layers, point["K"])
    return float(np.linalg.norm(a - b) / np.linalg.norm(a))


GRED_BLIND_AT_K1 = Check(
    key=f"{PAPER}/gred-k1-is-1wl-blind",
    statement="1-WL cannot separate the 6-cycle from two triangles (both 2-regular): a GRED stack with "
              "K = 1 gives them the same sum readout (random weights, identical node features).",
    source=f"{SOURCE}, illustrative example (derived)",
    symbolic=lambda point: 0.0,
    numeric=_gred_pair_numeric,
    points=[{"K": 1}],
    tolerance=Exact(rtol=0.0, atol=1e-12),
)

GRED_SEPARATES = Check(
    key=f"{PAPER}/gred-k2-separates",
    statement="With K = 2 the same GRED stack separates the 6-cycle from two triangles (the hop-2 shell "
              "is empty only in the triangles): relative output difference above 1e-6.",
    source=f"{SOURCE}, illustrative example (derived)",
    symbolic=lambda point: 1e-6,
    numeric=_gred_pair_numeric,
    points=[{"K": 2}, {"K": 3}],
    tolerance=Bound("lower", n_sigma=0),
)


def _gain_numeric(point, ctx):
    """Monte Carlo of |sum_k gamma lam^k u_k|^2 with iid N(0,1) inputs, through the far-to-near scan."""
    rng = np.random.default_rng(ctx.seed_sequence())
    lam = point["r"] * np.exp(1j * point["phase"])
    gamma = math.sqrt(1 - point["r"] ** 2)
    n = 20_000
    u = rng.standard_normal((point["K"] + 1, n)) * gamma + 0j
    s = linear_scan(np.full(n, lam), u, reverse=True)[0]
    return mean_estimate(np.abs(s) ** 2)


GAIN = Check(
    key=f"{PAPER}/normalised-gain",
    statement="With gamma = sqrt(1 - |lam|^2) and iid unit-variance inputs, E|sum_{k<=K} gamma lam^k u_k|^2 "
              "= 1 - |lam|^(2(K+1)): the output shrinks when K << 1/(1 - |lam|) (Monte Carlo, 4 sigma).",
    source=f"{SOURCE} (derived)",
    symbolic=lambda point: float(normalised_gain(point["r"], point["K"])),
    numeric=_gain_numeric,
    points=[{"r": r, "phase": ph, "K": K} for r in (0.5, 0.95) for ph in (0.0, 2.0) for K in (1, 4, 20)],
    tolerance=MonteCarlo(n_sigma=4.0),
)


def _order_numeric(point, ctx):
    """Largest gap between the far-to-near sequential loop, the reverse scans (sequential and
    associative) and the closed form sum_k lam^k u_k."""
    rng = np.random.default_rng(ctx.seed_sequence())
    lam, _ = lru_init(16, r_min=0.5, seed=3)
    K = point["K"]
    u = rng.normal(size=(K + 1, 16)) + 1j * rng.normal(size=(K + 1, 16))
    closed = sum(lam ** k * u[k] for k in range(K + 1))
    s = np.zeros(16, dtype=complex)
    for k in range(K, -1, -1):                   # s_k = lam s_{k+1} + u_k
        s = lam * s + u[k]
    seq = linear_scan(lam, u, reverse=True)[0]
    assoc = linear_scan(lam, u, reverse=True, method="associative", backend="numpy")[0]
    return float(max(np.abs(v - closed).max() for v in (s, seq, assoc)) / np.abs(closed).max())


ORDER = Check(
    key=f"{PAPER}/hop-recurrence-order",
    statement="The far-to-near recurrence weights hop k by lam^k: the sequential loop, the closed form and "
              "the reverse (sequential and associative) scans agree.",
    source=f"{SOURCE} (derived; official code scans in reverse)",
    symbolic=lambda point: 0.0,
    numeric=_order_numeric,
    points=[{"K": K} for K in (1, 5, 40)],
    tolerance=Exact(rtol=0.0, atol=1e-12),
)


def _rank_numeric(point, ctx):
    """Rank of the hop encoder M = [W, Lam W, ..., Lam^K W] (complex), or of [Re M; Im M]."""
    rng = np.random.default_rng(ctx.seed_sequence())
    N, K, d = point["N"], point["K"], point["d"]
    if point["nodes"] == "real":
        lam = np.sort(rng.uniform(0.2, 0.9, N))
    else:
        lam, _ = lru_init(N, r_min=0.5, seed=int(rng.integers(1000)))
    W = rng.normal(size=(N, d))
    if point["stack"] == "complex":
        return float(krylov_rank(lam, W, K + 1))
    M = np.hstack([lam[:, None] ** k * W for k in range(K + 1)])
    return float(np.linalg.matrix_rank(np.vstack([M.real, M.imag])))


INJECTIVITY = Check(
    key=f"{PAPER}/hop-encoder-rank",
    statement="The hop encoder (x_0..x_K) -> sum_k Lam^k W x_k is injective iff rank [W, Lam W, ..., Lam^K W] = "
              "(K+1) d: with distinct nodes and generic W it has rank min(N, (K+1) d); with the real readout "
              "[Re M; Im M], non-real nodes need only N >= ceil((K+1) d / 2) states, real nodes N >= (K+1) d.",
    source=f"{SOURCE}, injectivity (derived; width bound of arXiv:2307.11888)",
    symbolic=lambda point: float(min((point["N"] * (2 if point["stack"] == "real" and point["nodes"] == "complex"
                                                   else 1)), (point["K"] + 1) * point["d"])),
    numeric=_rank_numeric,
    points=[{"N": N, "K": 3, "d": 2, "nodes": nodes, "stack": stack}
            for N in (4, 8, 12) for nodes, stack in (("complex", "complex"), ("complex", "real"), ("real", "real"))],
    tolerance=Exact(rtol=0.0, atol=0.0),
)

CHECKS = [MASKS, EXPRESSIVENESS, NEVER_FEWER, GRED_BLIND_AT_K1, GRED_SEPARATES, GAIN, ORDER, INJECTIVITY]
