import sympy as sp

from analysis import vandermonde as V


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
