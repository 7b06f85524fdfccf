"""Colour refinement: agreement with NetworkX's WL hash, the C6 vs two triangles example, and
SPD-WL refining 1-WL."""

import networkx as nx
import pytest

from lemmata.graphs import distinguishes


def test_cycle_versus_two_triangles():
    C6 = nx.cycle_graph(6)
    two_triangles = nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3))
    assert not distinguishes(C6, two_triangles, "1wl")          # both 2-regular on 6 nodes
    assert not distinguishes(C6, two_triangles, "spd", K=1)     # SPD-WL(1) = 1-WL
    assert distinguishes(C6, two_triangles, "spd", K=2)          # shell sizes differ at hop 2


@pytest.mark.filterwarnings("ignore:The hashes produced:UserWarning")
def test_one_wl_agrees_with_networkx_hash():
    # reference: NetworkX's WL hash with as many iterations as nodes (enough to stabilise)
    pairs = []
    for seed in range(25):
        G1 = nx.gnm_random_graph(8, 10, seed=seed)
        G2 = nx.gnm_random_graph(8, 10, seed=seed + 100)
        pairs.append((G1, G2))
    pairs.append((nx.cycle_graph(6), nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3))))
    for G1, G2 in pairs:
        h1 = nx.weisfeiler_lehman_graph_hash(G1, iterations=8)
        h2 = nx.weisfeiler_lehman_graph_hash(G2, iterations=8)
        assert distinguishes(G1, G2, "1wl") == (h1 != h2)


def test_spd_refines_one_wl():
    for seed in range(20):
        G1 = nx.gnm_random_graph(9, 12, seed=seed)
        G2 = nx.gnm_random_graph(9, 12, seed=seed + 50)
        if distinguishes(G1, G2, "1wl"):
            assert distinguishes(G1, G2, "spd", K=3)


def test_isomorphic_graphs_are_never_separated():
    G = nx.gnm_random_graph(10, 15, seed=3)
    H = nx.relabel_nodes(G, {v: (v * 7) % 10 for v in G})
    assert not distinguishes(G, H, "spd", K=4)


def test_bad_input():
    with pytest.raises(ValueError, match="`K` must be a positive integer"):
        distinguishes(nx.path_graph(3), nx.path_graph(3), "spd")
    with pytest.raises(ValueError, match="`method` must be one of"):
        distinguishes(nx.path_graph(3), nx.path_graph(3), "3wl")
