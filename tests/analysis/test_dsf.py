"""Symbolic DSF (arXiv:2405.15731): the identities simplify to 0 and hold numerically at 50
digits; the Taylor feature identity expands to 0; the matching conditions solve their equations;
the closed-form Phi entries equal the numeric materialised DSF at a point."""

import math

import numpy as np
import pytest
import sympy as sp

from lemmata.analysis import dsf
from lemmata.analysis.errors import LemmataError


def test_reversed_sigmoid_identity():
    ident = dsf.reversed_sigmoid_identity()
    assert ident["difference"] == 0
    z = ident["z"]
    for value in (-30, -1.5, 0, 2.25, 40):       # 50-digit evaluation, independent of simplify
        point = {z: sp.Float(value, 50)}
        assert abs(sp.N(ident["lhs"].subs(point), 50) - sp.N(ident["rhs"].subs(point), 50)) < 1e-45


def test_rg_lru_identity():
    ident = dsf.rg_lru_identity()
    assert ident["log_difference"] == 0
    for lam, c, r in ((-2.0, 8.0, 0.3), (0.7, 8.0, 0.9), (5.0, 1.0, 0.01)):
        point = {ident["Lambda"]: sp.Float(lam, 50), ident["c"]: sp.Float(c, 50), ident["r"]: sp.Float(r, 50)}
        lhs, rhs = sp.N(ident["lhs"].subs(point), 50), sp.N(ident["rhs"].subs(point), 50)
        assert abs(lhs - rhs) <= 1e-45 * abs(rhs)


@pytest.mark.parametrize("order,m", [(0, 3), (1, 2), (2, 2), (3, 2), (2, 3)])
def test_taylor_feature_identity(order, m):
    ident = dsf.taylor_identity(order, m)
    assert ident["difference"] == 0
    assert ident["n"] == sum(m ** p for p in range(order + 1))


def test_taylor_remainder_bound_is_lagrange():
    """|e^x - T_3(x)| <= x^4 e^x / 4! at a few points (the error computed directly)."""
    bound = dsf.taylor_remainder_bound(3)
    (x,) = bound.free_symbols
    for value in (0.1, 1.0, 2.5):
        err = abs(math.exp(value) - sum(value ** p / math.factorial(p) for p in range(4)))
        assert err <= float(bound.xreplace({x: value}))
    assert sp.simplify(bound - x ** 4 * sp.exp(x) / 24) == 0


def test_matching_conditions_solve_their_equations():
    mc = dsf.matching_conditions()
    eta, prev, a = mc["eta_i"], mc["eta_im1"], mc["a"]
    assert sp.simplify(sp.exp(a * mc["Delta"]) - prev / eta) == 0
    assert sp.simplify(mc["Delta"] * mc["b_scale"] * eta - 1) == 0       # Delta_i b_i = k_i / eta_i
    # with b = k, the transition exp(a / eta_i) equals eta_{i-1}/eta_i exactly when eta_{i-1} = consistency
    assert sp.simplify(sp.exp(a * mc["Delta_if_b_equals_k"]) - mc["consistency"] / eta) == 0
    # Delta > 0 with a < 0 iff eta increases: check at points on both sides
    assert float(mc["Delta"].subs({eta: 2.0, prev: 1.0, a: -1.0})) > 0
    assert float(mc["Delta"].subs({eta: 1.0, prev: 2.0, a: -1.0})) < 0


def test_s6_phi_entries_equal_the_numeric_materialisation():
    """Closed-form Phi of S6 (n = d = 1) at the Delta_i, b_i, c_i of a numeric model vs
    ``numerics.dsf`` materialised Phi (an independent code path)."""
    from lemmata.numerics import dsf as ndsf

    L = 4
    p = {"W_delta": np.array([[0.7]]), "b_delta": np.array([0.2]), "W_B": np.array([[1.3]]),
         "W_C": np.array([[-0.6]]), "A": np.array([[-1.7]]), "D": np.array([0.4])}
    u = np.array([[0.5], [-1.0], [2.0], [0.3]])
    numeric = ndsf.from_architecture("s6", p, 1).materialize(u)
    Phi = dsf.phi_matrix("s6", L)
    names = {s.name: s for s in Phi.free_symbols}
    delta = np.log1p(np.exp(0.7 * u[:, 0] + 0.2))
    point = {names["a"]: -1.7, names["D"]: 0.4}
    for i in range(L):
        point[names[f"Delta_{i + 1}"]] = delta[i]
        point[names[f"b_{i + 1}"]] = 1.3 * u[i, 0]
        point[names[f"c_{i + 1}"]] = -0.6 * u[i, 0]
    closed = np.array(Phi.xreplace(point).evalf(30).tolist(), dtype=float)
    np.testing.assert_allclose(closed, numeric, rtol=1e-13, atol=1e-15)


def test_normalisation_ratios_telescope():
    """Linear attention with the normalisation in the transition: Phi_ij = psi_j w_v / sum_{l<=i} psi_l
    for m = 1 (the ratios eta_{i-1}/eta_i telescope; phi(q_i) cancels)."""
    Phi = dsf.phi_matrix("linear_attention", 3)
    names = {s.name: s for s in Phi.free_symbols}
    psi = [names[f"psi_{i}"] for i in (1, 2, 3)]
    assert sp.simplify(Phi[2, 0] - psi[0] * names["w_v"] / sum(psi)) == 0
    assert Phi[0, 1] == 0


@pytest.mark.parametrize("arch", dsf.ARCHITECTURES)
def test_every_architecture_derives(arch):
    d = dsf.derive_dsf(arch, 2)
    assert d["Phi"].shape == (2, 2) and d["Phi"][0, 1] == 0


def test_bad_arguments():
    with pytest.raises(LemmataError, match="`--arch`"):
        dsf.dsf_matrices("gru", 3)
    with pytest.raises(LemmataError, match="`order`"):
        dsf.taylor_identity(-1, 2)
