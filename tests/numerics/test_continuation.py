"""Continuation of cycles against closed forms: the logistic map's flips at r = 3 and
1 + sqrt 6 (period 1 -> 2 -> 4), a fold and a flip of x -> x + eta - 1 - (x - 2)^2 at eta = 1
and eta = 2 (fixed points (x - 2)^2 = eta - 1, multiplier 1 - 2 (x - 2)), the Neimark-Sacker
point of the delayed logistic map at r = 2 (Jacobian trace 1, determinant r - 1), super- and
subcritical flips of x -> -eta x +- x^3 (2-cycles x^2 = +-(eta - 1)), and bad input."""

import math

import numpy as np
import pytest
import sympy as sp

from lemmata.analysis import Derivation
from lemmata.analysis.bifurcation import flip_coefficient
from lemmata.analysis.errors import LemmataError
from lemmata.numerics import continuation as C

x, y, r, eta = sp.Symbol("x"), sp.Symbol("y"), sp.Symbol("r"), sp.Symbol("eta")
LOGISTIC = Derivation("logistic_map", (x,), (r,), {"map": r * x * (1 - x)})
FOLD_FLIP = Derivation("fold_flip", (x,), (eta,), {"map": x + eta - 1 - (x - 2) ** 2})
DELAYED = Derivation("delayed_logistic", (x, y), (r,), {"map": sp.Matrix([r * x * (1 - y), x])})
SUPER = Derivation("flip_super", (x,), (eta,), {"map": -eta * x + x ** 3})
SUB = Derivation("flip_sub", (x,), (eta,), {"map": -eta * x - x ** 3})


@pytest.fixture(scope="module")
def logistic_cascade():
    return C.cascade(LOGISTIC, (2.5, 3.56), [0.6], max_period=4)


def test_logistic_flips_at_3_and_1_plus_sqrt6(logistic_cascade):
    flips = logistic_cascade.flips
    assert [f.period for f in flips[:2]] == [1, 2]
    assert abs(flips[0].eta - 3.0) < 1e-10                     # closed form: r = 3
    assert abs(flips[1].eta - (1 + math.sqrt(6))) < 1e-10      # closed form: r = 1 + sqrt 6
    for f in flips:
        cert = f.certificate
        assert cert.certified and cert.eta_width <= 1.01e-12 and cert.eta_bounds[0] <= f.eta <= cert.eta_bounds[1]
        assert cert.values[0] * cert.values[1] < 0
        assert np.min(np.abs(f.multipliers + 1)) < 1e-9
    # the fixed point 1 - 1/r at the flip, and the 2-cycle born there: (r + 1 +- s)/(2r)
    assert flips[0].state[0] == pytest.approx(2 / 3, abs=1e-10)
    two = logistic_cascade.branches[1]
    s = np.sqrt((two.eta + 1) * (two.eta - 3))
    exact = np.sort(np.stack([(two.eta + 1 - s) / (2 * two.eta), (two.eta + 1 + s) / (2 * two.eta)], 1), 1)
    np.testing.assert_allclose(np.sort(two.cycles[:, :, 0], axis=1), exact, atol=1e-9)
    # stable between the flips, unstable beyond: multiplier of the 2-cycle 4 + 2r - r^2
    mu = 4 + 2 * two.eta - two.eta ** 2
    np.testing.assert_allclose(two.multipliers[:, 0].real, mu, atol=1e-9)
    assert np.array_equal(two.stable, np.abs(mu) < 1)


def test_flip_coefficient_numeric_equals_symbolic(logistic_cascade):
    f1, f2 = logistic_cascade.flips[:2]
    # exact at r = 3, x = 2/3: a = -r, b = 0, kappa = 9
    assert flip_coefficient(LOGISTIC, point={"x": sp.Rational(2, 3), "r": 3}) == 9
    assert f1.coefficient == pytest.approx(9.0, rel=1e-10)
    rr = 1 + sp.sqrt(6)
    xp = (rr + 1 + sp.sqrt((rr + 1) * (rr - 3))) / (2 * rr)
    symbolic = float(flip_coefficient(LOGISTIC, point={"x": xp, "r": rr}, period=2))
    assert f2.coefficient == pytest.approx(symbolic, rel=1e-8) and symbolic > 0


def test_refinement_to_40_digits():
    b = C.continue_cycles(LOGISTIC, (3.2, 3.5), [0.5], period=2, refine_dps=45, backend="numpy")
    (flip,) = [e for e in b.events if e.kind == "flip"]
    import mpmath
    with mpmath.workdps(45):
        assert abs(mpmath.mpf(flip.eta_refined) - (1 + mpmath.sqrt(6))) < mpmath.mpf(10) ** -40


def test_fold_then_flip_of_a_quadratic_map():
    # from the unstable fixed point x = 2 - 1/2 at eta = 5/4, down through the fold at eta = 1
    b = C.continue_cycles(FOLD_FLIP, (1.25, 0.5), [1.5], backend="numpy")
    (fold,) = b.events
    assert fold.kind == "fold" and abs(fold.eta - 1.0) < 1e-10 and abs(fold.state[0] - 2.0) < 1e-5
    assert fold.certificate.certified and fold.certificate.width <= 1.01e-12
    assert np.min(np.abs(fold.multipliers - 1)) < 1e-5
    assert b.status == "completed" and b.eta.min() < 1.01 and b.eta[-1] == 1.25
    np.testing.assert_allclose((b.states[:, 0] - 2) ** 2, b.eta - 1, atol=1e-10)
    assert np.array_equal(b.stable, (b.states[:, 0] > 2) & (b.states[:, 0] < 3))
    # the stable branch x = 2 + sqrt(eta - 1) flips where 1 - 2 (x - 2) = -1: x = 3, eta = 2
    b = C.continue_cycles(FOLD_FLIP, (1.25, 3.0), [2.5], backend="numpy")
    (flip,) = b.events
    assert flip.kind == "flip" and abs(flip.eta - 2.0) < 1e-10 and abs(flip.state[0] - 3.0) < 1e-9


def test_neimark_sacker_of_the_delayed_logistic_map():
    b = C.continue_cycles(DELAYED, (1.5, 2.5), [1 / 3, 1 / 3], backend="numpy")
    (ns,) = b.events
    assert ns.kind == "neimark-sacker" and abs(ns.eta - 2.0) < 1e-10 and ns.certificate.certified
    # at r = 2 the multipliers solve mu^2 - mu + 1 = 0: exp(+- i pi / 3)
    np.testing.assert_allclose(sorted(ns.multipliers, key=lambda m: m.imag),
                               [np.exp(-1j * np.pi / 3), np.exp(1j * np.pi / 3)], atol=1e-9)
    np.testing.assert_allclose(b.states[:, 0], 1 - 1 / b.eta, atol=1e-10)
    assert np.array_equal(b.stable, b.eta < 2)


@pytest.mark.parametrize("derivation, sign", [(SUPER, 1), (SUB, -1)])
def test_super_and_subcritical_flips_and_branch_switching(derivation, sign):
    b = C.continue_cycles(derivation, (0.5, 1.5), [0.0], backend="numpy")
    (flip,) = b.events
    assert abs(flip.eta - 1) < 1e-10
    # symbolic kappa = a^2 + b = +-1, numeric (finite differences at 60 digits) the same
    assert flip_coefficient(derivation, point={"x": 0, "eta": 1}) == sign
    assert flip.coefficient == pytest.approx(sign, rel=1e-9) and flip.supercritical == (sign > 0)
    two = C.switch_branch(b, flip, derivation, backend="numpy")
    assert two.period == 2 and two.eta.size > 5
    # the 2-cycle +-x with x^2 = sign (eta - 1): beyond the flip (stable) or before it (unstable)
    np.testing.assert_allclose(two.states[:, 0] ** 2, sign * (two.eta - 1), atol=1e-10)
    near = np.abs(two.eta - 1) < 0.1
    assert np.all(two.stable[near] == (sign > 0))
    assert np.all(sign * (two.eta - 1) > 0)


def test_branch_jumps_are_detected_and_reported():
    # fixed points x = sin(5 eta) and x = 0.05 - sin(5 eta): branches that cross again and again
    G = (x - sp.sin(5 * eta)) * (x + sp.sin(5 * eta) - 0.05)
    crossing = Derivation("crossing", (x,), (eta,), {"map": x - G})
    b = C.continue_cycles(crossing, (0.5, 2.5), [math.sin(2.5)], ds=0.3, ds_max=1.0, backend="numpy")
    assert b.status == "completed" and b.n_rejected > 0
    np.testing.assert_allclose(b.states[:, 0], np.sin(5 * b.eta), atol=1e-12)     # never left it
    b = C.continue_cycles(crossing, (0.5, 2.5), [math.sin(2.5)], ds=1.0, ds_max=1.0, ds_min=0.5,
                          backend="numpy")
    assert b.status == "branch-jump" and "another branch" in b.message
    np.testing.assert_allclose(b.states[:, 0], np.sin(5 * b.eta), atol=1e-12)


def test_numba_and_numpy_agree():
    a = C.continue_cycles(LOGISTIC, (3.2, 3.5), [0.5], period=2, backend="numba")
    b = C.continue_cycles(LOGISTIC, (3.2, 3.5), [0.5], period=2, backend="numpy")
    assert a.eta.size == b.eta.size
    np.testing.assert_allclose(a.states, b.states, atol=1e-12)
    assert abs(a.events[0].eta - b.events[0].eta) < 1e-13


def test_results_table_and_plot(logistic_cascade, tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lemmata.numerics import orbits

    frame = logistic_cascade.to_pandas()
    assert set(frame["period"]) == {1, 2, 4} and {"r", "x", "stable", "test_flip"} <= set(frame.columns)
    events = logistic_cascade.events_table()
    assert list(events["kind"][:2]) == ["flip", "flip"] and events["certified"].all()
    assert logistic_cascade.branches[0].to_dict()["events"][0]["kind"] == "flip"
    diagram = orbits.orbit_diagram(LOGISTIC, np.linspace(2.5, 3.56, 50), np.array([0.3]), n_transient=500,
                                   n_keep=32, backend="numpy")
    fig, ax = plt.subplots()
    logistic_cascade.plot(ax, diagram=diagram)
    fig.savefig(tmp_path / "c.png")
    plt.close(fig)
    assert (tmp_path / "c.png").stat().st_size > 5000
    assert "flip@3" in repr(logistic_cascade.branches[0])


def test_bad_input():
    with pytest.raises(ValueError, match="`period` must be an integer >= 1"):
        C.continue_cycles(LOGISTIC, (2.5, 3.0), [0.6], period=0)
    with pytest.raises(ValueError, match="non-zero length"):
        C.continue_cycles(LOGISTIC, (2.5, 2.5), [0.6])
    no_fixed_point = Derivation("no_fixed_point", (x,), (eta,), {"map": x - eta * (x ** 2 + 1)})
    with pytest.raises(LemmataError, match="not near a period-1 solution.*residual"):
        C.continue_cycles(no_fixed_point, (0.5, 1.0), [0.3], backend="numpy")
    with pytest.raises(LemmataError, match="period 1, not 2"):
        C.continue_cycles(LOGISTIC, (2.5, 2.9), [0.6], period=2, backend="numpy")
    identity = Derivation("identity", (x,), (eta,), {"map": x + 0 * eta})
    with pytest.raises(LemmataError, match="singular"):
        C.continue_cycles(identity, (0.0, 1.0), [0.3], backend="numpy")
