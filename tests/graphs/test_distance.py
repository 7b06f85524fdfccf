"""Distance shells against NetworkX BFS (the meaning of a shell), both BFS kernels, aggregation
against a direct sum, and bad input."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sps

from lemmata.graphs import distance_chains, hop_aggregate, hop_counts, hop_masks

GRAPHS = {
    "gnp": nx.gnp_random_graph(50, 0.06, seed=1),
    "disconnected": nx.disjoint_union(nx.path_graph(7), nx.cycle_graph(5)),
    "directed": nx.gnp_random_graph(40, 0.08, seed=2, directed=True),
    "labels": nx.relabel_nodes(nx.barabasi_albert_graph(80, 3, seed=0), lambda v: f"n{v}"),
}


def _reference(G, K):
    nodes = list(G)
    ref = np.zeros((len(nodes), K + 1), dtype=int)
    shells = {}
    for i, v in enumerate(nodes):
        for u, d in nx.single_source_shortest_path_length(G, v, cutoff=K).items():
            ref[i, d] += 1
            shells.setdefault((v, d), set()).add(u)
    return ref, shells


@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize("method", ["bfs", "bitparallel", "auto"])
def test_hop_counts_equal_networkx_bfs(name, method):
    G = GRAPHS[name]
    ref, _ = _reference(G, 4)
    np.testing.assert_array_equal(hop_counts(G, 4, method=method), ref)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_chains_masks_and_aggregation(name):
    G = GRAPHS[name]
    K = 3
    _, shells = _reference(G, K)
    chains = distance_chains(G, K)
    as_dict = chains.to_dict()
    for v in list(G)[:15]:
        for k in range(K + 1):
            assert set(as_dict[v][k]) == shells.get((v, k), set())
    masks = hop_masks(G, K)
    nodes = list(G)
    for k in range(K + 1):
        for i, v in enumerate(nodes[:10]):
            assert {nodes[j] for j in np.nonzero(masks[k, i])[0]} == shells.get((v, k), set())
    X = np.random.default_rng(0).normal(size=(len(nodes), 3))
    agg = hop_aggregate(G, X, K)
    index = {v: i for i, v in enumerate(nodes)}
    for i, v in enumerate(nodes[:10]):
        for k in range(K + 1):
            expected = sum((X[index[u]] for u in shells.get((v, k), ())), np.zeros(3))
            np.testing.assert_allclose(agg[i, k], expected, atol=1e-12)
    mean = hop_aggregate(chains, X, reduce="mean")
    sizes = np.diff(chains.offsets, axis=1)
    np.testing.assert_allclose(mean[sizes > 0], (agg / np.maximum(sizes, 1)[:, :, None])[sizes > 0])


def test_subset_of_targets_and_sparse_input():
    G = GRAPHS["gnp"]
    chains = distance_chains(G, 2, nodes=[3, 7])
    assert list(chains.to_dict()) == [3, 7]
    A = nx.to_scipy_sparse_array(G, nodelist=list(G), format="csr").astype(int)
    np.testing.assert_array_equal(hop_counts(sps.csr_matrix(A), 3), hop_counts(G, 3))


def test_bad_input():
    G = GRAPHS["gnp"]
    with pytest.raises(ValueError, match="`K` must be a non-negative integer"):
        hop_counts(G, -1)
    with pytest.raises(nx.NodeNotFound):
        distance_chains(G, 2, nodes=[1000])
    with pytest.raises(ValueError, match="`X` must have one row per node"):
        hop_aggregate(G, np.ones((3, 2)), 2)
    with pytest.raises(ValueError, match="`weight` must be None"):
        hop_counts(G, 2, weight="weight")
    with pytest.raises(ValueError, match="`method` must be one of"):
        hop_counts(G, 2, method="dijkstra")


def test_weights_are_ignored_as_networkx_bfs_does():
    G = nx.karate_club_graph()                      # carries `weight` attributes (1..7)
    assert {d["weight"] for *_, d in G.edges(data=True)} - {1}
    counts = hop_counts(G, 3)
    # reference: NetworkX's unweighted BFS, which ignores the weights
    for i, v in enumerate(G):
        lengths = nx.single_source_shortest_path_length(G, v, cutoff=3)
        assert list(counts[i]) == [sum(1 for d in lengths.values() if d == k) for k in range(4)]
    M = nx.MultiGraph([(0, 1), (0, 1), (1, 2)])       # parallel edges count once
    np.testing.assert_array_equal(hop_counts(M, 2), hop_counts(nx.path_graph(3), 2))


def test_sparse_adjacency_nonzero_entries_are_edges_stored_zeros_are_not():
    path = nx.path_graph(4)
    reference = hop_counts(path, 3)
    A = nx.to_scipy_sparse_array(nx.MultiGraph(list(path.edges()) * 2), nodelist=range(4), format="csr")
    assert set(A.data) == {2}                                       # a multigraph's entries are 2
    np.testing.assert_array_equal(hop_counts(A, 3), reference)
    B = sps.csr_matrix(nx.to_scipy_sparse_array(nx.complete_graph(4), format="csr").astype(float))
    keep = {(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)}
    rows, cols = B.nonzero()
    for r, c in zip(rows, cols):
        if (r, c) not in keep:
            B[r, c] = 0.0                                            # stored explicitly, not an edge
    assert B.nnz == 12
    np.testing.assert_array_equal(hop_counts(B, 3), reference)
    assert B.nnz == 12                                               # the caller's matrix is untouched
    np.testing.assert_array_equal(hop_counts(nx.to_numpy_array(path) * 3.5, 3), reference)
    with pytest.raises(ValueError, match="square"):
        hop_counts(sps.csr_matrix(np.ones((2, 3))), 1)
    with pytest.raises(ValueError, match="NaN"):
        hop_counts(sps.csr_matrix(np.array([[0.0, np.nan], [1.0, 0.0]])), 1)
    with pytest.raises(TypeError, match="NetworkX graph or an adjacency matrix"):
        hop_counts([(0, 1)], 1)
