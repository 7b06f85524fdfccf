r"""Shortest-distance shells :math:`N_k(v)=\{u: d_G(u,v)=k\}`, :math:`k=0..K` (unweighted hop
distance; unreachable nodes belong to no shell), for GRED-style models (arXiv:2312.01538).

Truncated breadth-first search on CSR arrays in Numba, parallel over sources; for hop counts on
graphs whose K-balls are large a bit-parallel multi-source BFS (64 sources per machine word) is
used instead (PERFORMANCE.md measured 3x either way depending on the ball size); ``method="auto"``
chooses by sampling the ball size. Node order is ``list(G)``; directed graphs follow out-edges
(``d(v, u)`` from the target ``v``), as NetworkX's ``single_source_shortest_path_length`` does.

Conventions (those of NetworkX's unweighted BFS): edge attributes, ``weight`` included, are
ignored, so ``hop_counts(nx.karate_club_graph(), K)`` counts hops; a ``weight=`` argument other
than None is refused, since a weighted distance would change what the shells mean. Parallel edges
of a multigraph count once. A SciPy sparse (or square NumPy) adjacency: every non-zero entry is an
edge, whatever its value (entries 2 from a multigraph count once); explicitly stored zeros are not
edges; NaN entries are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numba
import numpy as np
import scipy.sparse as sps

from lemmata.analysis.validation import one_of
from lemmata.numerics.arrays import ArrayTypeError, InvalidArrayError, as_array, integer

__all__ = ["DistanceChains", "to_csr", "hop_counts", "distance_chains", "hop_masks", "hop_aggregate"]


def _check_K(K):
    if isinstance(K, (bool, np.bool_)) or not isinstance(K, (int, np.integer)) or K < 0:
        raise InvalidArrayError(f"`K` must be a non-negative integer (the largest hop distance); got {K!r}.")
    return int(K)


def _check_weight(weight):
    if weight is not None:
        raise InvalidArrayError(f"`weight` must be None: distance shells use the unweighted hop distance "
                                f"(edge weights are ignored, as in NetworkX's BFS); got {weight!r}. For "
                                "weighted distances use networkx.single_source_dijkstra_path_length.")


def to_csr(G):
    """``(indptr, indices, nodes)`` of the out-adjacency of a NetworkX graph, or of a square SciPy
    sparse or NumPy adjacency (nodes 0..n-1).

    Edge attributes (weights) are ignored and parallel edges count once; in an adjacency matrix
    every non-zero entry is an edge and stored zeros are not (module docstring).

    Raises
    ------
    TypeError
        If ``G`` is neither a NetworkX graph nor an adjacency matrix.
    ValueError
        If an adjacency matrix is not square or holds NaN.
    """
    if sps.issparse(G) or isinstance(G, np.ndarray):
        if isinstance(G, np.ndarray):
            dense = as_array(G, name="G", ndim=2, finite=False, min_size=0)
            A = sps.csr_matrix(dense)
        else:
            if G.dtype.kind not in "biufc":
                raise ArrayTypeError(f"a sparse adjacency `G` must hold numbers; got dtype {G.dtype}.")
            A = sps.csr_matrix(G, copy=True)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise InvalidArrayError(f"an adjacency matrix `G` must be square; got shape {A.shape}.")
        if A.nnz and np.isnan(A.data).any():
            raise InvalidArrayError(f"the adjacency matrix `G` holds {int(np.isnan(A.data).sum())} NaN entries; "
                                    "an entry must be zero (no edge) or non-zero (an edge).")
        A.eliminate_zeros()                   # stored zeros are not edges
        A.sum_duplicates()
        A.sort_indices()
        return A.indptr.astype(np.int64), A.indices.astype(np.int64), list(range(A.shape[0]))
    if not isinstance(G, nx.Graph):
        raise ArrayTypeError(f"`G` must be a NetworkX graph or an adjacency matrix (SciPy sparse or a square "
                             f"NumPy array); got {type(G).__name__}.")
    nodes = list(G)
    index = {v: i for i, v in enumerate(nodes)}
    adjacency = G.succ if G.is_directed() else G.adj       # parallel edges: one key per neighbour
    indptr = np.zeros(len(nodes) + 1, dtype=np.int64)
    rows = []
    for i, v in enumerate(nodes):
        row = sorted(index[u] for u in adjacency[v])
        rows.append(row)
        indptr[i + 1] = indptr[i] + len(row)
    indices = np.fromiter((u for row in rows for u in row), dtype=np.int64, count=int(indptr[-1]))
    return indptr, indices, nodes


@numba.njit(cache=True, parallel=True)
def _bfs_counts(indptr, indices, sources, K, out, n_chunks):
    n = indptr.shape[0] - 1
    n_src = sources.shape[0]
    for chunk in numba.prange(n_chunks):
        mark = np.full(n, -1, dtype=np.int64)
        queue = np.empty(n, dtype=np.int64)
        for s_idx in range(chunk, n_src, n_chunks):
            s = sources[s_idx]
            mark[s] = s_idx
            queue[0] = s
            head, tail = 0, 1
            out[s_idx, 0] = 1
            for depth in range(1, K + 1):
                level_end = tail
                count = 0
                while head < level_end:
                    v = queue[head]
                    head += 1
                    for e in range(indptr[v], indptr[v + 1]):
                        u = indices[e]
                        if mark[u] != s_idx:
                            mark[u] = s_idx
                            queue[tail] = u
                            tail += 1
                            count += 1
                out[s_idx, depth] = count
                if count == 0:
                    break


@numba.njit(cache=True, parallel=True)
def _bfs_members(indptr, indices, sources, K, offsets, members, n_chunks):
    """Write the shells of each source into members[offsets[s, k]:offsets[s, k+1]]."""
    n = indptr.shape[0] - 1
    n_src = sources.shape[0]
    for chunk in numba.prange(n_chunks):
        mark = np.full(n, -1, dtype=np.int64)
        for s_idx in range(chunk, n_src, n_chunks):
            s = sources[s_idx]
            base = offsets[s_idx, 0]
            mark[s] = s_idx
            members[base] = s
            head, tail = base, base + 1
            for depth in range(1, K + 1):
                level_end = tail
                while head < level_end:
                    v = members[head]
                    head += 1
                    for e in range(indptr[v], indptr[v + 1]):
                        u = indices[e]
                        if mark[u] != s_idx:
                            mark[u] = s_idx
                            members[tail] = u
                            tail += 1


@numba.njit(cache=True, parallel=True)
def _bitparallel_counts(indptr, indices, K, out):
    """Hop counts of all nodes, 64 sources at a time: bit b of frontier[v] says that v is in the
    current shell of source 64 w + b."""
    n = indptr.shape[0] - 1
    n_words = (n + 63) // 64
    for w in numba.prange(n_words):
        visited = np.zeros(n, dtype=np.uint64)
        frontier = np.zeros(n, dtype=np.uint64)
        nxt = np.zeros(n, dtype=np.uint64)
        lo = w * 64
        hi = min(n, lo + 64)
        for s in range(lo, hi):
            bit = np.uint64(1) << np.uint64(s - lo)
            visited[s] |= bit
            frontier[s] |= bit
            out[s, 0] = 1
        for depth in range(1, K + 1):
            any_new = False
            for v in range(n):
                acc = np.uint64(0)
                for e in range(indptr[v], indptr[v + 1]):
                    acc |= frontier[indices[e]]
                acc &= ~visited[v]
                nxt[v] = acc
                if acc != 0:
                    any_new = True
            for v in range(n):
                bits = nxt[v]
                visited[v] |= bits
                frontier[v] = bits
                if bits != 0:
                    for b in range(hi - lo):
                        if (bits >> np.uint64(b)) & np.uint64(1):
                            out[lo + b, depth] += 1
            if not any_new:
                break


def _chunks(n_sources: int) -> int:
    """Work items for the parallel BFS loops: a few per thread (a Numba function that asks for the
    thread count itself cannot be cached on disk)."""
    return min(n_sources, 64 * numba.get_num_threads()) if n_sources > 0 else 0


def _reverse(indptr, indices, n):
    """CSR of the reversed graph (bit-parallel BFS pulls from in-neighbours)."""
    rows = np.repeat(np.arange(n), np.diff(indptr))
    A = sps.csr_matrix((np.ones(indices.size), (indices, rows)), shape=(n, n))
    A.sort_indices()
    return A.indptr.astype(np.int64), A.indices.astype(np.int64)


def hop_counts(G, K: int, *, method: str = "auto", weight=None) -> np.ndarray:
    r""":math:`|N_k(v)|` for every node (rows in the order of ``list(G)``) and :math:`k=0..K`:
    an integer array of shape (n_nodes, K+1). Edge weights are ignored (hop distance, as
    NetworkX's BFS); ``weight`` must be None.

    ``method``: ``"bfs"`` (truncated BFS per source), ``"bitparallel"`` (64 sources per word; pays
    off when the K-balls cover much of the graph) or ``"auto"`` (samples 32 sources)."""
    K = _check_K(K)
    _check_weight(weight)
    one_of("method", method, ("auto", "bfs", "bitparallel"))
    indptr, indices, nodes = to_csr(G)
    n = len(nodes)
    out = np.zeros((n, K + 1), dtype=np.int64)
    if n == 0:
        return out
    if method == "auto":
        sample = np.random.default_rng(0).choice(n, size=min(n, 32), replace=False).astype(np.int64)
        probe = np.zeros((sample.size, K + 1), dtype=np.int64)
        _bfs_counts(indptr, indices, sample, K, probe, _chunks(sample.size))
        # measured here (benchmarks/RESULTS.md, graphs): per-source BFS won on both benchmark graphs,
        # also on Barabasi-Albert whose K = 4 balls hold ~26% of the nodes; bit-parallel only when
        # the sampled K-balls hold most of the graph
        method = "bitparallel" if probe.sum(axis=1).mean() > n / 2 else "bfs"
    if method == "bfs":
        _bfs_counts(indptr, indices, np.arange(n, dtype=np.int64), K, out, _chunks(n))
    else:
        # pulling frontiers along in-edges finds, for each source, the nodes at distance k from it
        r_indptr, r_indices = _reverse(indptr, indices, n)
        _bitparallel_counts(r_indptr, r_indices, K, out)
    return out


@dataclass(frozen=True)
class DistanceChains:
    """Shells of the targets ``targets`` (node indices into ``nodes``): the members of
    :math:`N_k` of target ``i`` are ``members[offsets[i, k]:offsets[i, k + 1]]`` (node indices)."""

    nodes: list
    targets: np.ndarray
    K: int
    offsets: np.ndarray
    members: np.ndarray

    def shell(self, i: int, k: int) -> np.ndarray:
        """Members (node indices) of :math:`N_k` of the ``i``-th target."""
        i = integer("i", i, minimum=0, maximum=self.targets.size - 1)
        k = integer("k", k, minimum=0, maximum=self.K)
        return self.members[self.offsets[i, k]:self.offsets[i, k + 1]]

    def to_dict(self) -> dict:
        """``{target node: [[nodes at hop 0], [hop 1], ..., [hop K]]}`` with the graph's own labels."""
        return {self.nodes[t]: [[self.nodes[u] for u in self.shell(i, k)] for k in range(self.K + 1)]
                for i, t in enumerate(self.targets)}


def distance_chains(G, K: int, nodes=None, *, weight=None) -> DistanceChains:
    r"""For each target node (all by default) the shells :math:`N_0..N_K` in compact CSR form
    (hop distance: edge weights are ignored; ``weight`` must be None).

    Raises
    ------
    networkx.NodeNotFound
        If a requested node is not in the graph.
    """
    K = _check_K(K)
    _check_weight(weight)
    indptr, indices, labels = to_csr(G)
    index = {v: i for i, v in enumerate(labels)}
    if nodes is None:
        targets = np.arange(len(labels), dtype=np.int64)
    else:
        if isinstance(nodes, (str, bytes)) or not hasattr(nodes, "__iter__"):
            raise ArrayTypeError(f"`nodes` must be an iterable of nodes of the graph; got {type(nodes).__name__}.")
        nodes = list(nodes)
        missing = []
        for v in nodes:
            try:
                if v not in index:
                    missing.append(v)
            except TypeError:                  # unhashable
                missing.append(v)
        if missing:
            raise nx.NodeNotFound(f"nodes {missing[:5]} are not in the graph.")
        targets = np.array([index[v] for v in nodes], dtype=np.int64)
    counts = np.zeros((targets.size, K + 1), dtype=np.int64)
    _bfs_counts(indptr, indices, targets, K, counts, _chunks(targets.size))
    totals = counts.sum(axis=1)
    starts = np.concatenate([[0], np.cumsum(totals)[:-1]])
    offsets = np.empty((targets.size, K + 2), dtype=np.int64)
    offsets[:, 0] = starts
    offsets[:, 1:] = starts[:, None] + np.cumsum(counts, axis=1)
    members = np.empty(int(totals.sum()), dtype=np.int64)
    _bfs_members(indptr, indices, targets, K, offsets, members, _chunks(targets.size))
    return DistanceChains(labels, targets, K, offsets, members)


def hop_masks(G, K: int, *, weight=None) -> np.ndarray:
    """Dense masks ``M[k, v, u] = 1`` iff ``d(v, u) = k`` (shape (K+1, n, n); for small graphs, as the
    official GRED preprocessing). Hop distance: ``weight`` must be None."""
    chains = distance_chains(G, K, weight=weight)
    n = len(chains.nodes)
    masks = np.zeros((K + 1, n, n), dtype=np.int8)
    for i in range(n):
        for k in range(K + 1):
            masks[k, i, chains.shell(i, k)] = 1
    return masks


@numba.njit(cache=True, parallel=True)
def _aggregate(offsets, members, X, out):
    n_t, k1 = offsets.shape[0], offsets.shape[1] - 1
    for i in numba.prange(n_t):
        for k in range(k1):
            for e in range(offsets[i, k], offsets[i, k + 1]):
                out[i, k, :] += X[members[e], :]


def hop_aggregate(G_or_chains, X, K: int | None = None, reduce: str = "sum", *, weight=None) -> np.ndarray:
    r""":math:`x_{v,k}=\sum_{u\in N_k(v)}X_u` (or the mean; an empty shell gives 0), shape
    (n_targets, K+1, features). ``G_or_chains`` is a graph (then ``K`` is required) or the result
    of :func:`distance_chains`."""
    one_of("reduce", reduce, ("sum", "mean"))
    _check_weight(weight)
    if isinstance(G_or_chains, DistanceChains):
        chains = G_or_chains
    else:
        if K is None:
            raise InvalidArrayError("`K` is required when `G_or_chains` is a graph (the largest hop distance).")
        chains = distance_chains(G_or_chains, _check_K(K))
    X = as_array(X, name="X", ndim=(1, 2), min_size=0)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] != len(chains.nodes):
        raise ValueError(f"`X` must have one row per node ({len(chains.nodes)}); got shape {np.shape(X)}.")
    out = np.zeros((chains.targets.size, chains.K + 1, X.shape[1]))
    _aggregate(chains.offsets, chains.members, np.ascontiguousarray(X), out)
    if reduce == "mean":
        sizes = np.diff(chains.offsets, axis=1)[:, :, None]
        out = np.where(sizes > 0, out / np.maximum(sizes, 1), 0.0)
    return out
