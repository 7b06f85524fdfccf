import networkx as nx
import numpy as np
import pytest

from lemmata.graphs import distance_chains, gred_layer, gred_model, init_gred_layer, normalised_gain


def test_layer_is_permutation_equivariant_and_the_readout_invariant():
    G = nx.gnp_random_graph(12, 0.3, seed=4)
    perm = np.random.default_rng(1).permutation(12)
    H = np.random.default_rng(2).normal(size=(12, 6))
    layers = [init_gred_layer(6, 5, r_min=0.5, seed=s) for s in range(2)]
    out = gred_model(G, H, layers, K=3, readout="none")
    relabel = {v: int(perm[v]) for v in G}
    G2 = nx.relabel_nodes(G, relabel)
    order = list(G2)
    H2 = np.empty_like(H)
    for v in G:
        H2[order.index(relabel[v])] = H[v]
    out2 = gred_model(G2, H2, layers, K=3, readout="none")
    for v in G:
        np.testing.assert_allclose(out2[order.index(relabel[v])], out[v], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gred_model(G, H, layers, 3), gred_model(G2, H2, layers, 3), rtol=1e-12)


def test_hop_recurrence_weights_hop_k_by_lambda_to_the_k():
    # reference: the closed form s = sum_k lam^k u_k computed directly
    G = nx.path_graph(6)
    chains = distance_chains(G, 4)
    p = init_gred_layer(4, 3, r_min=0.3, seed=5)
    H = np.random.default_rng(0).normal(size=(6, 4))
    from lemmata.graphs.gred import _gelu, _layer_norm
    from lemmata.graphs.distance import hop_aggregate
    x = hop_aggregate(chains, H)
    x = x + _gelu(_layer_norm(x) @ p.W1) @ p.W2
    u = _layer_norm(x) @ p.B
    s = sum(p.lam ** k * u[:, k, :] for k in range(5))
    y = _gelu((s @ p.C).real)
    y = (y @ p.Wa) / (1 + np.exp(-(y @ p.Wb)))
    np.testing.assert_allclose(gred_layer(p, chains, H), y + x[:, 0, :], rtol=1e-12, atol=1e-12)


def test_normalised_gain_formula():
    lam = np.array([0.5, 0.9 * np.exp(1j)])
    gamma = np.sqrt(1 - np.abs(lam) ** 2)
    K = 3
    direct = gamma ** 2 * sum(np.abs(lam) ** (2 * k) for k in range(K + 1))
    np.testing.assert_allclose(normalised_gain(lam, K), direct, rtol=1e-14)


def test_bad_input():
    p = init_gred_layer(4, 3)
    chains = distance_chains(nx.path_graph(3), 2)
    with pytest.raises(ValueError, match="`H` must have shape"):
        gred_layer(p, chains, np.ones((3, 5)))
    with pytest.raises(ValueError, match="`readout` must be one of"):
        gred_model(nx.path_graph(3), np.ones((3, 4)), [p], 2, readout="max")


def test_batches_of_graphs():
    from lemmata.graphs import gred_batch
    graphs = [nx.path_graph(4), nx.cycle_graph(5)]
    features = [np.ones((4, 4)), np.ones((5, 4))]
    layers = [init_gred_layer(4, 3, seed=1)]
    out = gred_batch(graphs, features, layers, K=2, readout="mean")
    assert out.shape == (2, 4)
    np.testing.assert_allclose(out[1], gred_model(graphs[1], features[1], layers, 2, "mean"))
    with pytest.raises(ValueError, match="one matrix per graph"):
        gred_batch(graphs, features[:1], layers, K=2)
