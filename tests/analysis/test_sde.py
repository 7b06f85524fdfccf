"""Symbolic SDEs against the paper brief's formulas and hand expansions."""

import pytest
import sympy as sp

from lemmata.analysis import LemmataError
from lemmata.analysis import sde as S

x, y, lam, a = sp.symbols("x y lam a", real=True)
eta, rho, sigma = S.ETA, S.RHO, S.SIGMA


def same(u, v):
    return sp.simplify(sp.Matrix(u) - sp.Matrix(v)) == sp.zeros(*sp.Matrix(u).shape)


def test_gaussian_expectation_moments():
    xi1, xi2 = sp.symbols("xi1 xi2", real=True)
    assert S.gaussian_expectation(xi1 ** 4 * xi2 ** 2 + 3 * xi1 + 2, (xi1, xi2)) == 3 * 1 + 2
    assert S.gaussian_expectation((a + xi1) ** 2, (xi1,)) == sp.expand(a ** 2 + 1)


def test_bilinear_seg_matches_the_brief():
    s = S.seg(lam * x * y, x, y)
    assert same(s.drift, [-lam * y - rho * lam ** 2 * x, lam * x - rho * lam ** 2 * y])
    # shared noise: Sigma = sigma^2 (I - rho M)(I - rho M)^T with M = [[0, lam], [-lam, 0]]
    M = sp.Matrix([[0, lam], [-lam, 0]])
    N = sp.eye(2) - rho * M
    assert same(s["covariance"], sigma ** 2 * N * N.T)
    assert same(s.diffusion * s.diffusion.T, eta * sigma ** 2 * N * N.T)


def test_regulariser_is_jacobian_times_field_not_grad_h():
    f = x * y
    s = S.seg(f, x, y)
    F = sp.Matrix([y, -x])
    JF = F.jacobian([x, y])
    linear = s.drift.applyfunc(lambda e: sp.expand(e).coeff(rho, 1))
    assert same(linear, JF * F)                    # (-x, -y) for f = xy
    assert not same(linear, JF.T * F)              # grad H = (x, y)


def test_shgd_is_gradient_of_h_with_curvature_noise():
    f, xs, ys, a_, l_ = S.quadratic_game(1)
    s = S.shgd(f, xs, ys)
    F = sp.Matrix([sp.diff(f, xs[0]), -sp.diff(f, ys[0])])
    H = (F.T * F)[0] / 2
    assert same(s.drift, [-sp.diff(H, xs[0]), -sp.diff(H, ys[0])])
    J = F.jacobian(list(xs + ys))
    assert same(s["covariance"], sigma ** 2 * J.T * J)


def test_order_two_drift_of_sgda():
    s = S.sgda(lam * x * y, x, y, order=2)
    F = sp.Matrix([lam * y, -lam * x])
    expected = -(F + eta / 2 * F.jacobian([x, y]) * F)
    assert same(s.drift, expected)


def test_multiplicative_noise_rates_match_the_brief():
    w = S.multiplicative_window()
    assert sp.simplify(w["seg_rate"] - (2 * rho * lam ** 2 - eta * sigma ** 2 * (1 + rho ** 2 * (2 * lam ** 2 + sigma ** 2)))) == 0
    assert sp.simplify(w["shgd_rate"] - (2 * lam ** 2 - eta * sigma ** 2 * (2 * lam ** 2 + sigma ** 2))) == 0


def test_bilinear_closed_forms():
    m, kappa, q0, q1 = S.norm_second_moment(S.seg(lam * x * y, x, y))
    t, m0 = sp.Symbol("t", nonnegative=True), sp.Symbol("m_0", nonnegative=True)
    k, c = 2 * rho * lam ** 2, eta * sigma ** 2 * (1 + rho ** 2 * lam ** 2)
    # the brief's u = E|Z|^2 / 2 = b e^{-kt} + (c/k)(1 - e^{-kt})
    assert sp.simplify(m / 2 - (m0 / 2 * sp.exp(-k * t) + c / k * (1 - sp.exp(-k * t)))) == 0
    m_sgda = S.norm_second_moment(S.sgda(lam * x * y, x, y))[0]
    assert sp.simplify(m_sgda - (m0 + 2 * eta * sigma ** 2 * t)) == 0


def test_extra_step_sizes():
    e = S.extra_step_sizes()
    assert sp.simplify(e["kappa"] - (a + rho * (lam ** 2 - a ** 2))) == 0
    assert sp.simplify(e["rho_V"] - 1 / (a + lam)) == 0
    assert sp.simplify(e["kappa_at_rho_V"] - lam) == 0
    assert sp.simplify(e["rho_H"] - (a ** 2 + lam ** 2 - a) / (lam ** 2 - a ** 2)) == 0


def test_schedule_forms_match_the_brief():
    t, k, c, b = S.schedule_solution(1).symbols
    u1 = S.schedule_solution(1)["u"]
    assert sp.simplify(u1 - ((1 + t) ** -k * b + c * ((1 + t) ** -1 - (1 + t) ** -k) / (k - 1))) == 0
    u0 = S.schedule_solution(0)["u"]
    assert sp.simplify(u0 - (b * sp.exp(-k * t) + c / k * (1 - sp.exp(-k * t)))) == 0


def test_bad_input():
    with pytest.raises(LemmataError, match=r"undeclared symbols \['mu'\]"):
        S.sgda(sp.Symbol("mu") * x * y, x, y, params=(lam,))
    with pytest.raises(LemmataError, match="bilinear games"):
        S.seg(x ** 2 + x * y, x, y, noise="multiplicative")
    with pytest.raises(ValueError, match="`noise` must be one of"):
        S.sgda(x * y, x, y, noise="pink")
    with pytest.raises(TypeError, match="`x` must be a Symbol"):
        S.sgda(x * y, [], y)


def test_seg_discrete_window_matches_the_brief():
    w = S.seg_discrete_window()
    l_, e_, r_ = w.params
    assert sp.simplify(w["modulus_sq"] - ((1 - e_ * r_ * l_ ** 2) ** 2 + e_ ** 2 * l_ ** 2)) == 0
    assert sp.simplify(w["rho_low"] - (1 - sp.sqrt(1 - e_ ** 2 * l_ ** 2)) / (e_ * l_ ** 2)) == 0
    # the order-2 SDE threshold is eta/2 to leading order
    assert sp.limit(w["order2_sde_threshold"] / e_, e_, 0) == sp.Rational(1, 2)


def test_linear_moments_mean_rotates_and_decays_as_in_the_brief():
    m = S.linear_moments(S.seg(lam * x * y, x, y))
    t, z01, z02 = m.inputs
    # the brief: E Z_t = e^{-rho lam^2 t} (x0 cos lam t - y0 sin lam t, x0 sin lam t + y0 cos lam t)
    expected = sp.exp(-rho * lam ** 2 * t) * sp.Matrix([z01 * sp.cos(lam * t) - z02 * sp.sin(lam * t),
                                                        z01 * sp.sin(lam * t) + z02 * sp.cos(lam * t)])
    at = {t: sp.Rational(7, 10), z01: 1, z02: -2, lam: sp.Rational(3, 2), rho: sp.Rational(1, 3)}
    diff = (m["mean"] - expected).subs(at)
    assert max(abs(sp.N(e, 30)) for e in diff) < 1e-25
    # stationary covariance: (eta sigma^2 (1 + rho^2 lam^2) / (2 rho lam^2)) I
    P = m["stationary"]
    assert sp.simplify(P[0, 0] - eta * sigma ** 2 * (1 + rho ** 2 * lam ** 2) / (2 * rho * lam ** 2)) == 0
    assert sp.simplify(P[0, 1]) == 0
