import sympy as sp

from lemmata.analysis import vandermonde as V


def test_determinant_is_the_product_formula():
    for N in (2, 3, 4):
        d = V.vandermonde_determinant(N)
        assert sp.expand(d["determinant"] - d["product"]) == 0


def test_root_of_unity_sums():
    G, d, L = V.root_of_unity_sum()
    assert G.subs({d: 0, L: 7}) == 7
    assert all(sp.simplify(G.subs({d: k, L: 7})) == 0 for k in range(1, 7))


def test_radius_family_condition_number():
    d = V.reconstruction_condition("radius", 10)
    assert sp.simplify(d["condition_number"] - V.r ** -9) == 0
    assert V.reconstruction_condition("roots", 10)["condition_number"] == 1
    # |det| of the 10 x 10 DFT matrix is 10^5 (its singular values are all sqrt(10))
    assert V.reconstruction_condition("roots", 10)["abs_determinant"] == 10 ** 5


def test_real_family_condition_number_is_large():
    assert V.reconstruction_condition("real", 12)["condition_number"] > 1e8


def test_hop_encoder_rank_conditions():
    import random
    # generic numbers substituted for the symbols: rank (K+1)d needs N >= (K+1)d complex states,
    # or N >= ceil((K+1)d/2) with the real-stacked readout and non-real nodes
    rng = random.Random(0)
    for N, K, d, stacked, expected in ((4, 1, 2, False, 4), (3, 1, 2, False, 3), (2, 1, 2, True, 4),
                                       (3, 2, 1, True, 3)):
        M = V.hop_encoder_matrix(N, K, d, real_stacked=stacked)
        values = {s: sp.Rational(rng.randint(1, 97), rng.randint(98, 199)) for s in M.free_symbols}
        assert M.subs(values).rank() == expected
    # d = 1, W = 1: the Vandermonde matrix of the nodes
    M = V.hop_encoder_matrix(3, 2, 1)
    ones = {s: 1 for s in M.free_symbols if s.name.startswith("W")}
    a = sp.symbols("a_1:4", real=True)
    b = sp.symbols("b_1:4", real=True)
    nodes = [a[n] + sp.I * b[n] for n in range(3)]
    assert sp.expand(M.subs(ones) - V.vandermonde_matrix(nodes, 3)) == sp.zeros(3, 3)
