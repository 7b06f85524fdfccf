"""Logistic-GD closed forms against independent computations."""

import mpmath
import pytest
import sympy as sp

from lemmata.analysis import AssumptionError
from lemmata.analysis import logistic as LG


def test_two_cluster_forms_match_the_brief():
    d = LG.two_cluster()
    p = sp.Symbol("p", positive=True)
    assert sp.simplify(d["minimizer"] - sp.log(p / (1 - p))) == 0
    assert sp.simplify(d["lambda"] - p * (1 - p)) == 0
    assert sp.simplify(d["kappa"] - sp.Rational(2, 3) * (1 - 3 * p + 3 * p ** 2)) == 0
    # kappa >= 1/6 with equality at p = 1/2
    assert d["kappa"].subs(p, sp.Rational(1, 2)) == sp.Rational(1, 6)


def test_ideal_wall_cycle_is_a_cycle_of_the_piecewise_map():
    d = LG.ideal_wall_cycle()
    eta, lam, F, ws = d.params
    at = {eta: 6, lam: sp.Rational(1, 4), F: 3, ws: sp.Rational(1, 2)}      # eta lambda = 1.5
    u, v = d["u"].subs(at), d["v"].subs(at)
    assert u < 0 < v
    T = lambda w: w - at[eta] * (at[lam] * (w - at[ws]) - (at[F] if w < 0 else 0))  # noqa: E731
    assert sp.simplify(T(u) - v) == 0 and sp.simplify(T(v) - u) == 0
    assert d["activation"].subs(at) > 0
    assert sp.simplify(d["multiplier"] - (1 - eta * lam) ** 2) == 0


def test_two_wall_activation_matches_the_brief():
    d = LG.two_wall_cycle()
    eta, lam, F, xs, c = d.params
    expected = F * (eta * lam - 2 * c ** 2) - lam * (2 - eta * lam) * c * xs
    assert sp.simplify(d["activation"] - expected) == 0


def test_solution_matches_plain_newton_and_refuses_separable_data():
    z = [[1.0], [2.5], [-0.7], [-1.2]]
    sol = LG.solution(z)
    w = sol["minimizer"][0]
    with mpmath.workdps(40):
        grad = sum(-mpmath.mpf(zi[0]) / (1 + mpmath.exp(mpmath.mpf(zi[0]) * w)) for zi in z) / 4
    assert abs(grad) < mpmath.mpf(10) ** -30
    with pytest.raises(AssumptionError, match="separable"):
        LG.solution([[1.0, 0.0], [2.0, 1.0], [0.5, -0.1]])
    assert LG.is_separable([[1.0], [2.0]]) and not LG.is_separable([[1.0], [-2.0]])


def test_gd_map_derivation_has_map_and_jacobian():
    d = LG.gd_map([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.5]], [1, -1, 1])
    assert d["map"].shape == (2, 1) and d["jacobian"].shape == (2, 2)
    w1, w2 = d.inputs
    eta = d.params[0]
    # the Jacobian is the derivative of the map (SymPy differentiation as the reference)
    J = d["map"].jacobian([w1, w2])
    point = {w1: sp.Rational(1, 3), w2: sp.Rational(-1, 2), eta: sp.Rational(3, 2)}
    diff = (J - d["jacobian"]).subs(point)
    assert max(abs(sp.N(e, 30)) for e in diff) < 1e-25
    with pytest.raises(Exception, match="labels `y` must be in"):
        LG.gd_map([[1.0]], [0])


def test_array_likes_give_the_same_map():
    # reference: the map built from plain lists of the same numbers (floats are exact binary values)
    np = pytest.importorskip("numpy")
    X, y = [[1.0], [2.0], [-0.5]], [1, -1, 1]
    expected = LG.gd_map(X, y)["map"]
    assert LG.gd_map(np.array(X), np.array(y))["map"] == expected          # shape (n, 1)
    assert LG.gd_map(np.array([1.0, 2.0, -0.5]), y)["map"] == expected     # shape (n,)
    assert LG.gd_map(np.array(X, dtype=np.float32).astype(float), np.array(y).reshape(-1, 1))["map"] == expected
    assert LG.gd_map(tuple(map(tuple, X)), tuple(y))["map"] == expected
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"feature": [1.0, 2.0, -0.5]})                   # values, not column names
    assert LG.gd_map(frame, pd.Series(y))["map"] == expected
    z = np.array([[1.0, 0.5], [-1.0, 0.25], [0.5, -1.0]])
    assert LG.is_separable(z) == LG.is_separable(z.tolist()) == LG.is_separable(pd.DataFrame(z))


def test_non_finite_and_ragged_data_are_refused():
    with pytest.raises(LG.LemmataError, match=r"`z\[1\]\[0\]` must be finite; got nan"):
        LG.solution([1.0, float("nan"), -1.0])               # issue 12: was taken as z = 0
    with pytest.raises(LG.LemmataError, match="same length"):
        LG.is_separable([[1.0, 2.0], [1.0]])
    with pytest.raises(LG.LemmataError, match="one label per row"):
        LG.gd_map([[1.0], [2.0]], [1, -1, 1])
