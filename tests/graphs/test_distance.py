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
    W = nx.Graph()
    W.add_edge(0, 1, weight=2.5)
    with pytest.raises(ValueError, match="edge weights other than 1"):
        hop_counts(W, 2)
    with pytest.raises(ValueError, match="`method` must be one of"):
        hop_counts(G, 2, method="dijkstra")
