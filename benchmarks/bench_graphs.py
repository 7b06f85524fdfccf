"""Hop counts |N_k(v)| for k <= 4 on graphs of 10^5 nodes (random 4-regular; Barabasi-Albert m=3):
lemmata hop_counts (truncated BFS in Numba, bit-parallel BFS, and the automatic choice) vs NetworkX
per-source BFS with a cutoff and SciPy's csgraph shortest paths (sampled sources, extrapolated), and
igraph's neighborhood_size (all nodes)."""

from __future__ import annotations

import time

import networkx as nx
import numpy as np
import scipy.sparse.csgraph as csgraph

from _harness import best_of, table

from lemmata.graphs import hop_counts, to_csr

K, N, SAMPLE = 4, 100_000, 300


def _networkx(G, sources):
    for v in sources:
        nx.single_source_shortest_path_length(G, v, cutoff=K)


def main() -> str:
    graphs = {"random 4-regular": nx.random_regular_graph(4, N, seed=0),
              "Barabasi-Albert m=3": nx.barabasi_albert_graph(N, 3, seed=0)}
    rows, verdicts = [], []
    for name, G in graphs.items():
        sources = list(range(SAMPLE))
        indptr, indices, _ = to_csr(G)
        import scipy.sparse as sps
        A = sps.csr_matrix((np.ones(indices.size), indices, indptr), shape=(N, N))
        hop_counts(nx.path_graph(5), K, method="bfs")
        hop_counts(nx.path_graph(5), K, method="bitparallel")
        timings = {}
        for method in ("bfs", "bitparallel", "auto"):
            start = time.perf_counter()
            counts = hop_counts(A, K, method=method)       # CSR input: conversion from NetworkX excluded
            timings[f"lemmata hop_counts ({method})"] = time.perf_counter() - start
        ref = np.zeros((SAMPLE, K + 1), dtype=int)
        for i, v in enumerate(sources):
            for _, d in nx.single_source_shortest_path_length(G, v, cutoff=K).items():
                ref[i, d] += 1
        assert np.array_equal(counts[:SAMPLE], ref), "lemmata disagrees with NetworkX"
        timings["NetworkX BFS per source (extrapolated)"] = best_of(lambda: _networkx(G, sources), 1) * N / SAMPLE
        timings["SciPy csgraph dijkstra limit=K (extrapolated)"] = best_of(
            lambda: csgraph.dijkstra(A, unweighted=True, indices=sources, limit=K), 1) * N / SAMPLE
        try:
            import igraph as ig
            g = ig.Graph(n=N, edges=list(G.edges()))
            timings["igraph neighborhood_size (orders 0..K)"] = best_of(
                lambda: [g.neighborhood_size(order=k) for k in range(K + 1)], 1)
        except ImportError:
            pass
        best = min(v for k, v in timings.items() if k.startswith("lemmata"))
        auto = timings["lemmata hop_counts (auto)"]
        for label, t in timings.items():
            rows.append((name, label, f"{t:.3f}", f"{t / auto:.1f}x"))
        nx_ratio = timings["NetworkX BFS per source (extrapolated)"] / auto
        verdict = f"{name}: {nx_ratio:.0f}x NetworkX ({'reached' if nx_ratio >= 50 else 'missed'} >= 50x)"
        if "igraph neighborhood_size (orders 0..K)" in timings:
            ig_ratio = timings["igraph neighborhood_size (orders 0..K)"] / auto
            verdict += f", {ig_ratio:.2f}x igraph ({'reached' if ig_ratio > 1 else 'missed'} > 1)"
        verdicts.append(verdict)
    return "\n".join([f"K = {K}, n = {N:,}; NetworkX and SciPy timed on {SAMPLE} sources and extrapolated.", "",
                      table(rows, ["graph", "implementation", "s", "time vs lemmata auto"]), "",
                      "Targets: " + "; ".join(verdicts) + "."])


if __name__ == "__main__":
    print(main())
