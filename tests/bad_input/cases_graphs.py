"""Bad-input cases of lemmata.graphs (issue 12, part B). Format: tests/bad_input/test_registry.py.

The peer conventions of issue 12 (edge weights ignored as NetworkX's BFS does, any non-zero
sparse entry an edge, explicit zeros not edges) are behaviours, not errors: they are tested in
tests/graphs/test_distance.py (test_weights_are_ignored_as_networkx_bfs_does,
test_sparse_adjacency_nonzero_entries_are_edges_stored_zeros_are_not); the refusals that go
with them (``weight=``, NaN entries, a non-square adjacency) are here."""

from __future__ import annotations

import importlib.util

import networkx as nx
import numpy as np
import scipy.sparse as sps

from lemmata.graphs import distance, gred, wl

E = ValueError
T = TypeError
P4 = nx.path_graph(4)


def _chains():
    return distance.distance_chains(P4, 2)


def _layer(dim_h=3):
    return gred.init_gred_layer(dim_h, 2, seed=0)


CASES = [
    ("lemmata.graphs.distance.hop_counts", lambda: distance.hop_counts(nx.karate_club_graph(), 2, weight="weight"), E,
     ["`weight` must be None", "unweighted hop distance", "dijkstra"]),
    ("lemmata.graphs.distance.hop_counts", lambda: distance.hop_counts(P4, -1), E, ["`K`", "non-negative integer"]),
    ("lemmata.graphs.distance.hop_counts", lambda: distance.hop_counts(P4, 2.0), E, ["`K`", "integer"]),
    ("lemmata.graphs.distance.hop_counts", lambda: distance.hop_counts([(0, 1), (1, 2)], 2), T,
     ["`G`", "NetworkX graph or an adjacency matrix", "list"]),
    ("lemmata.graphs.distance.hop_counts", lambda: distance.hop_counts(P4, 2, method="dijkstra"), E,
     ["`method`", "one of"]),
    ("lemmata.graphs.distance.to_csr", lambda: distance.to_csr(sps.csr_matrix(np.ones((2, 3)))), E,
     ["`G`", "square", "(2, 3)"]),
    ("lemmata.graphs.distance.to_csr", lambda: distance.to_csr(sps.csr_matrix(np.array([[0.0, np.nan], [1.0, 0.0]]))),
     E, ["`G`", "1 NaN"]),
    ("lemmata.graphs.distance.to_csr", lambda: distance.to_csr(np.array([["a", "b"], ["c", "d"]])), T,
     ["`G`", "numbers"]),
    ("lemmata.graphs.distance.distance_chains", lambda: distance.distance_chains(P4, 2, nodes=[7]), nx.NodeNotFound,
     ["[7]", "not in the graph"]),
    ("lemmata.graphs.distance.distance_chains", lambda: distance.distance_chains(P4, 2, nodes=3), T,
     ["`nodes`", "iterable"]),
    ("lemmata.graphs.distance.distance_chains", lambda: distance.distance_chains(P4, 2, weight="w"), E,
     ["`weight` must be None"]),
    ("lemmata.graphs.distance.DistanceChains.shell", lambda: _chains().shell(9, 0), E, ["`i`", "<= 3"]),
    ("lemmata.graphs.distance.DistanceChains.shell", lambda: _chains().shell(0, 5), E, ["`k`", "<= 2"]),
    ("lemmata.graphs.distance.hop_masks", lambda: distance.hop_masks(P4, -2), E, ["`K`"]),
    ("lemmata.graphs.distance.hop_aggregate", lambda: distance.hop_aggregate(P4, np.ones((3, 2)), 2), E,
     ["`X`", "one row per node (4)"]),
    ("lemmata.graphs.distance.hop_aggregate", lambda: distance.hop_aggregate(P4, np.ones(4)), E, ["`K` is required"]),
    ("lemmata.graphs.distance.hop_aggregate",
     lambda: distance.hop_aggregate(P4, [[1.0], [np.nan], [0.0], [1.0]], 2), E, ["`X`", "finite"]),
    ("lemmata.graphs.wl.refine", lambda: wl.refine([P4, "C4"]), T, ["`graphs[1]`", "NetworkX graph"]),
    ("lemmata.graphs.wl.refine", lambda: wl.refine([P4], method="spd", K=0), E, ["`K`", "positive"]),
    ("lemmata.graphs.wl.refine", lambda: wl.refine([nx.DiGraph([(0, 1)])]), E, ["undirected"]),
    ("lemmata.graphs.wl.distinguishes", lambda: wl.distinguishes(P4, np.eye(4)), T, ["`G1` and `G2`"]),
    ("lemmata.graphs.wl.invariant", lambda: wl.invariant(P4, method="spd"), E, ["`K`", "positive integer", "None"]),
    ("lemmata.graphs.wl.invariant", lambda: wl.invariant(P4, rounds=-1), E, ["`rounds`", "non-negative"]),
    ("lemmata.graphs.gred.init_gred_layer", lambda: gred.init_gred_layer(0, 2), E, ["`dim_h`", "positive"]),
    ("lemmata.graphs.gred.GREDLayer",
     lambda: gred.GREDLayer(np.eye(3), np.eye(3), np.ones((3, 2)), np.ones(2), np.ones((2, 4)), np.eye(3), np.eye(3)),
     E, ["GREDLayer shapes", "`W1`", "'C'"]),
    ("lemmata.graphs.gred.gred_layer", lambda: gred.gred_layer(_layer(), _chains(), np.ones((4, 2))), E,
     ["`H`", "(n_nodes, 3)"]),
    ("lemmata.graphs.gred.gred_layer", lambda: gred.gred_layer(_layer(), P4, np.ones((4, 3))), T,
     ["`chains`", "DistanceChains"]),
    ("lemmata.graphs.gred.gred_model", lambda: gred.gred_model(P4, np.ones((4, 3)), [_layer()], 2, readout="max"), E,
     ["`readout`", "one of"]),
    ("lemmata.graphs.gred.gred_model", lambda: gred.gred_model(P4, np.ones((4, 3)), _layer(), 2), T,
     ["`layers`", "list of GREDLayer"]),
    ("lemmata.graphs.gred.gred_batch", lambda: gred.gred_batch([P4, P4], [np.ones((4, 3))], [_layer()], 2), E,
     ["`features`", "one matrix per graph"]),
    ("lemmata.graphs.gred.normalised_gain", lambda: gred.normalised_gain([0.5, 1.5], 2), E, ["`lam`", "|lam| <= 1"]),
    ("lemmata.graphs.gred.normalised_gain", lambda: gred.normalised_gain([0.5], -1), E, ["`K`", "non-negative"]),
]

EXEMPT = {
    "lemmata.graphs.distance.DistanceChains": "a frozen result record built by distance_chains, which validates its "
                                              "inputs (its shell method has its own cases)",
}

if importlib.util.find_spec("torch") is not None:          # the optional deep extra
    from lemmata.graphs import torch_models as tm

    CASES += [
        ("lemmata.graphs.torch_models.label_at_distance", lambda: tm.label_at_distance(4, 5, 5), E,
         ["`k`", "<= 4"]),
        ("lemmata.graphs.torch_models.label_at_distance", lambda: tm.label_at_distance(4, 5.0, 2), T,
         ["`n_nodes`", "integer"]),
        ("lemmata.graphs.torch_models.GREDNet", lambda: tm.GREDNet(P4, -1), E, ["`K`", "non-negative"]),
        ("lemmata.graphs.torch_models.GREDNet", lambda: tm.GREDNet(P4, 2, r_min=1.5), E, ["`r_min`"]),
        ("lemmata.graphs.torch_models.MPNN", lambda: tm.MPNN("P4", 2), T, ["`graph`", "NetworkX graph"]),
        ("lemmata.graphs.torch_models.MPNN", lambda: tm.MPNN(P4, 0), E, ["`layers`", "positive"]),
        ("lemmata.graphs.torch_models.train", lambda: tm.train(tm.MPNN(P4, 1), 4, 2, steps=0), E,
         ["`steps`", "positive"]),
        ("lemmata.graphs.torch_models.train", lambda: tm.train(tm.MPNN(P4, 1), 4, 2, lr=-1.0), E, ["`lr`", "positive"]),
        ("lemmata.graphs.torch_models.train", lambda: tm.train("model", 4, 2), T, ["`model`", "torch.nn.Module"]),
        ("lemmata.graphs.torch_models.accuracy", lambda: tm.accuracy(tm.MPNN(P4, 1), 4, 0), E, ["`k`", "positive"]),
    ]
