"""Orbits: a map with known dynamics (the logistic map x -> r x (1 - x), period doubling at
r = 3, period 4 at r = 1 + sqrt 6, chaos with Lyapunov exponent log 2 at r = 4), both backends,
cycles with certificates, basins, and bad input."""

import math

import numpy as np
import pytest
import sympy as sp

from lemmata.analysis import Derivation
from lemmata.numerics import orbits

x, r = sp.Symbol("x", real=True), sp.Symbol("r", positive=True)
LOGISTIC_MAP = Derivation("logistic_map", (x,), (r,), {"map": r * x * (1 - x)})


@pytest.mark.parametrize("backend", ["numba", "numpy", pytest.param("cupy", marks=pytest.mark.gpu)])
def test_periods_and_lyapunov_of_the_logistic_map(backend):
    rs = np.array([2.8, 3.2, 3.5, 4.0])
    diagram = orbits.orbit_diagram(LOGISTIC_MAP, rs, np.array([0.2, 0.7]), n_transient=5000,
                                   n_keep=4000, backend=backend)
    assert diagram.periods[:3, 0].tolist() == [1, 2, 4]
    assert diagram.periods[3, 0] == 0                                   # chaos
    # published: the Lyapunov exponent of x -> 4x(1-x) is log 2; at a stable fixed point it is
    # log |f'(x*)| = log |2 - r|
    assert abs(diagram.lyapunov[3, 0] - math.log(2)) < 0.03
    assert diagram.lyapunov[0, 0] == pytest.approx(math.log(abs(2 - 2.8)), abs=1e-6)
    fixed = 1 - 1 / 2.8
    assert abs(diagram.points[0, 0, -1, 0] - fixed) < 1e-12


def test_divergent_orbits_are_flagged():
    diagram = orbits.orbit_diagram(LOGISTIC_MAP, [4.5], np.array([0.3]), n_transient=100, n_keep=5)
    assert diagram.n_diverged == 1 and diagram.periods[0, 0] == -1
    assert np.isnan(diagram.points[0, 0]).all()


def test_find_cycles_polishes_and_certifies():
    r_value = 3.2
    cycles = orbits.find_cycles(LOGISTIC_MAP, r_value, np.array([[0.3]]), periods=(1, 2, 4))
    (two,) = [c for c in cycles if c.period == 2]
    # reference: the 2-cycle of the logistic map in closed form
    s = math.sqrt((r_value + 1) * (r_value - 3))
    expected = sorted([(r_value + 1 + s) / (2 * r_value), (r_value + 1 - s) / (2 * r_value)])
    np.testing.assert_allclose(sorted(two.points[:, 0]), expected, rtol=1e-14)
    assert two.residual < 1e-40 and two.certified and two.stable
    # multiplier of the 2-cycle: 4 + 2r - r^2
    assert two.multipliers[0].real == pytest.approx(4 + 2 * r_value - r_value ** 2, rel=1e-12)


def test_basins_of_a_bistable_map():
    # x -> x + eta (x - x^3): attractors +-1 for small eta, basins split at 0
    z, eta = sp.Symbol("z", real=True), sp.Symbol("eta", positive=True)
    bistable = Derivation("bistable", (z,), (eta,), {"map": z + eta * (z - z ** 3)})
    inits = np.linspace(-1.5, 1.5, 31)[:, None]
    inits = inits[np.abs(inits[:, 0]) > 1e-9]
    result = orbits.basins(bistable, 0.1, inits, [[[1.0]], [[-1.0]]], n_transient=2000)
    assert result["fractions"]["attractor_0"] == pytest.approx(0.5)
    assert np.all(result["labels"][inits[:, 0] > 0] == 0)


def test_bad_input():
    with pytest.raises(ValueError, match="`etas` must be"):
        orbits.orbit_diagram(LOGISTIC_MAP, [-1.0], np.array([0.3]), n_transient=1, n_keep=1)
    with pytest.raises(ValueError, match="`inits` must have shape"):
        orbits.orbit_diagram(LOGISTIC_MAP, [2.0], np.ones((2, 2)), n_transient=1, n_keep=1)
    with pytest.raises(ValueError, match="`n_keep` must be a positive integer"):
        orbits.orbit_diagram(LOGISTIC_MAP, [2.0], np.array([0.3]), n_transient=1, n_keep=0)
    two_params = Derivation("bad", (x,), (r, sp.Symbol("s")), {"map": r * x})
    with pytest.raises(Exception, match="exactly one parameter"):
        orbits.orbit_diagram(two_params, [2.0], np.array([0.3]), n_transient=1, n_keep=1)
