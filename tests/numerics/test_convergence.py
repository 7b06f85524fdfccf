"""The convergence harness: fitted orders of the schemes on registry problems, Richardson, MLMC
and work-precision, with references from closed forms."""

import math

import numpy as np
import pytest

from lemmata.analysis import LemmataError
from lemmata.numerics.convergence import (mlmc, order_from_errors, richardson, strong_order, weak_order,
                                          work_precision)
from lemmata.numerics.sde_problems import get_problem

GBM = get_problem("gbm")
X = GBM.sde.state[0]
GILES = {"mu": 0.05, "s": 0.2}


def test_strong_orders_on_gbm_with_its_exact_path():
    dts = (1 / 8, 1 / 16, 1 / 32, 1 / 64)
    em = strong_order(GBM.sde, GBM.z0, t1=1.0, dts=dts, n_paths=2000, seed=0, params=GBM.params, exact=GBM.exact_path)
    mil = strong_order(GBM.sde, GBM.z0, t1=1.0, dts=dts, n_paths=2000, seed=0, params=GBM.params,
                       exact=GBM.exact_path, method="milstein")
    assert em.verdict(0.2).status == "pass" and mil.verdict(0.2).status == "pass"
    assert mil.errors[-1] < em.errors[-1] and em.ci[0] < em.order < em.ci[1]
    assert em.to_dict()["kind"] == "strong" and "strong euler" in repr(em)


@pytest.mark.slow
def test_strong_order_against_the_finest_level():
    p = get_problem("ou")
    r = strong_order(p.sde, p.z0, t1=1.0, dts=(1 / 4, 1 / 8, 1 / 16, 1 / 128), n_paths=2000, seed=1,
                     params=p.params, method="euler")
    assert r.expected == 1.0 and abs(r.order - 1.0) < 0.25 and len(r.dts) == 3


def test_weak_order_two_with_the_control_variate():
    r = weak_order(GBM.sde, X, GBM.z0, t1=1.0, dts=(1 / 4, 1 / 8, 1 / 16, 1 / 32), n_paths=50_000, seed=2,
                   params=GBM.params, method="weak2", exact_path=GBM.exact_path)
    assert r.verdict(0.25).status == "pass"
    # the first error against the scheme's exact mean recursion (1 + mu h + mu^2 h^2/2)^4 - e^mu
    exact_error = (1 + 0.25 + 0.25 ** 2 / 2) ** 4 - math.e
    assert abs(r.errors[0] - exact_error) < 4 * r.errors_stderr[0]


def test_weak_order_with_closed_form_and_richardson_references():
    kw = dict(t1=1.0, dts=(1 / 8, 1 / 16, 1 / 32, 1 / 64), n_paths=20_000, seed=3, params=GBM.params)
    closed = weak_order(GBM.sde, X, GBM.z0, exact=GBM.expectation("x"), **kw)
    rich = weak_order(GBM.sde, X, GBM.z0, **kw)
    # slack 0.2 for the pre-asymptotic range plus 4 standard errors of the fitted slope (the closed-form
    # reference leaves the full Monte Carlo noise of g in every level)
    for r in (closed, rich):
        assert abs(r.order - 1) < 0.2 + 4 * r.order_stderr
    assert rich.reference.startswith("Richardson") and closed.order_stderr > rich.order_stderr


def test_richardson_removes_the_first_order_bias():
    # EM on E X_T: the plain estimates at dt = 1/8 are biased by ~ -0.15; the extrapolation by O(h^2)
    r = richardson(GBM.sde, X, GBM.z0, t1=1.0, dt=1 / 8, n_paths=20_000, seed=4, params=GBM.params)
    exact = GBM.expectation("x")
    assert abs(r.fine - exact) > 4 * r.stderr
    assert abs(r.value - exact) < 4 * r.stderr + 0.2 * r.correction


def test_mlmc_reaches_eps_on_gbm():
    exact = GBM.expectation("x2", params=GILES)
    eps = 4e-3
    r = mlmc(GBM.sde, X ** 2, GBM.z0, t1=1.0, eps=eps, seed=5, params=GILES, method="milstein")
    assert abs(r.value - exact) < 4 * r.stderr + eps / math.sqrt(2)
    assert r.stderr <= eps / math.sqrt(2) * 1.1
    variances = [lv["variance"] for lv in r.levels]
    assert variances[-1] < variances[1]                     # level differences shrink
    assert "MLMCResult" in repr(r) and r.to_dict()["cost"] == r.cost


@pytest.mark.slow
def test_work_precision_and_plot(tmp_path):
    wp = work_precision(GBM.sde, X, GBM.z0, t1=1.0, exact=GBM.expectation("x"), dts=(1 / 4, 1 / 8),
                        n_paths=2000, seed=6, params=GBM.params)
    assert len(wp.rows) == 4
    wp.plot(tmp_path / "wp.png")
    assert (tmp_path / "wp.png").stat().st_size > 5000


def test_order_from_errors_is_exact_on_a_power_law():
    r = order_from_errors([0.1, 0.05, 0.025], [3e-2, 7.5e-3, 1.875e-3], expected=2)
    assert r.order == pytest.approx(2.0) and r.order_stderr < 1e-12


def test_bad_input():
    with pytest.raises(ValueError, match="at least 3"):
        strong_order(GBM.sde, GBM.z0, t1=1.0, dts=(0.5, 0.25), n_paths=10, seed=0, params=GBM.params)
    with pytest.raises(ValueError, match="whole steps"):
        weak_order(GBM.sde, X, GBM.z0, t1=1.0, dts=(0.3, 0.2, 0.1), n_paths=10, seed=0, params=GBM.params)
    with pytest.raises(LemmataError, match="unknown symbols"):
        weak_order(GBM.sde, X * np.pi * __import__("sympy").Symbol("q"), GBM.z0, t1=1.0, dts=(0.5, 0.25, 0.125),
                   n_paths=10, seed=0, params=GBM.params)
    with pytest.raises(ValueError, match="`eps` must be positive"):
        mlmc(GBM.sde, X, GBM.z0, t1=1.0, eps=0.0, seed=0, params=GBM.params)
