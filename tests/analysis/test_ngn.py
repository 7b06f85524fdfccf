"""Closed forms of lemmata.analysis.ngn against independent computations."""

import numpy as np
import pytest
import sympy as sp

from lemmata.analysis import ngn

f, g2, sigma, L = (ngn.SYMBOLS[k] for k in ("f", "grad_sq_norm", "sigma", "L"))


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_lm_step_equals_minus_gamma_grad(dim):
    d = ngn.derive_ngn(dim)
    g = sp.Matrix(d.inputs[1:])
    gamma = sigma / (1 + sigma * sum(gi ** 2 for gi in g) / (2 * f))   # the paper's formula, typed
    assert (d["step"] + gamma * g).applyfunc(sp.simplify).is_zero_matrix


def test_lm_step_solves_the_subproblem_numerically():
    # reference: direct numerical minimisation of the LM objective by a NumPy linear solve
    d = ngn.derive_ngn(3)
    point = {"f": 0.7, "g_1": 0.3, "g_2": -1.1, "g_3": 2.0, "sigma": 4.0, "L": 1.0}
    step = np.array([float(v) for v in d.evaluate(point)["step"]])
    g = np.array([0.3, -1.1, 2.0])
    grad_r = g / (2 * np.sqrt(0.7))
    p = np.linalg.solve(2 * np.outer(grad_r, grad_r) + np.eye(3) / 4.0, -2 * np.sqrt(0.7) * grad_r)
    np.testing.assert_allclose(step, p, rtol=1e-13)


def test_half_convention_is_ngn_with_half_sigma():
    half = ngn.derive_ngn(2, "half")["stepsize"]
    paper = ngn.derive_ngn(2, "paper")["stepsize"]
    assert sp.simplify(half - paper.subs(sigma, sigma / 2)) == 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="`dim` must be a positive integer; got 0"):
        ngn.derive_ngn(0)
    with pytest.raises(ValueError, match="`convention` must be one of"):
        ngn.derive_ngn(1, "squared")


def test_stepsize_bounds_hold_for_smooth_losses():
    # |g|^2 <= 2 L f  =>  sigma/(1+sigma L) <= gamma <= sigma: substitute the extreme |g|^2 = 2 L f
    gamma = ngn.ngn_stepsize()["stepsize"]
    assert sp.simplify(gamma.subs(g2, 2 * L * f) - sigma / (1 + sigma * L)) == 0
    assert sp.simplify(gamma.subs(g2, 0) - sigma) == 0
    numerator, denominator = sp.fraction(sp.together(sp.diff(gamma, g2)))
    # non-increasing in |g|^2 (numerator <= 0 over a square), so the extremes bound it
    assert numerator.is_nonpositive and denominator == sp.factor(denominator) and denominator.is_Pow


def test_identities():
    d = ngn.ngn_identities()
    gamma = ngn.ngn_stepsize()["stepsize"]
    assert sp.simplify(d["inverse_stepsize"] - 1 / gamma) == 0
    assert sp.simplify(d["step_length_sq"] - d["step_length_sq_in_t"]) == 0
    assert d["step_length_sq_bound"] == sigma * f / 2
    assert d["descent_bound"] == 2 * f
    # series: compare with the Taylor coefficients computed by differentiation
    series = d["small_sigma_series"]
    for k in (1, 2):
        coeff = sp.diff(gamma, sigma, k).subs(sigma, 0) / sp.factorial(k)
        assert sp.simplify(series.coeff(sigma, k) - coeff) == 0


def test_offset_quadratic_cycle_is_a_cycle():
    d = ngn.ngn_offset_quadratic()
    x = d.inputs[0]
    T = d["map"]
    amp = d["cycle_amplitude"]
    c = [s for s in d.params if s.name == "c"][0]
    at = {sigma: sp.Rational(7, 2), L: 2, c: sp.Rational(1, 3)}   # sigma L = 7 > 2
    xc = amp.subs(at)
    assert sp.simplify(T.subs(at).subs(x, xc) + xc) == 0
    # multiplier from the chain rule with SymPy differentiation, against the simplified form
    dT = sp.diff(T, x).subs(at)
    assert sp.simplify(dT.subs(x, xc) * dT.subs(x, -xc) - d["cycle_multiplier"].subs(at)) == 0
    assert sp.simplify(d["cycle_multiplier"] - (1 - 8 / (sigma * L) ** 2) ** 2) == 0


def test_least_squares_stepsize_is_x_independent():
    d = ngn.ngn_least_squares_stepsize()
    a_sq = d.inputs[0]
    assert sp.simplify(d["stepsize"] - sigma / (1 + sigma * a_sq)) == 0


def test_decomposition_margins_are_positive():
    d = ngn.ngn_decomposition()
    assert d["lower_margin"].is_positive and d["upper_margin"].is_positive
    rho, eps = d["rho"], d["eps_max"]
    assert sp.simplify(sigma / (1 + sigma * L) - rho - d["lower_margin"]) == 0
    assert sp.simplify(rho + eps - sigma - d["upper_margin"]) == 0


def test_convex_bound_sharp_is_smaller():
    d = ngn.ngn_convex_bound()
    assert sp.simplify(d["bound"] - d["bound_sharp"]).is_nonnegative is not False
    point = {"sigma": 0.3, "L": 2.0, "K": 100, "dist0_sq": 1.5, "interp_gap": 0.2, "pos_gap": 0.1}
    values = d.evaluate(point)
    assert values["bound"] > values["bound_sharp"] > values["neighbourhood"] > 0
