"""SDE.from_coefficients: validation, the Ito-Stratonovich correction, the clock, and the closed
moment system, against hand computations (Ito's formula)."""

import pytest
import sympy as sp

from lemmata.analysis import LemmataError
from lemmata.analysis.sde import SDE, moment_equations, stratonovich_correction

x, y, mu, s, t = sp.symbols("x y mu s t", real=True)


def test_gbm_from_coefficients_and_its_stratonovich_drift():
    gbm = SDE.from_coefficients([mu * x], [[s * x]], x, params=(mu, s), name="gbm")
    assert gbm.state == (x,) and gbm.noise_dim == 1 and gbm.time is None
    # Ito dX = mu X dt + s X dW is Stratonovich dX = (mu - s^2/2) X dt + s X o dW (hand computation)
    assert sp.simplify(gbm.stratonovich_drift[0] - (mu - s ** 2 / 2) * x) == 0
    assert sp.simplify(gbm.covariance[0, 0] - s ** 2 * x ** 2) == 0       # D D^T when no covariance is declared
    back = SDE.from_coefficients(gbm.stratonovich_drift, [[s * x]], x, params=(mu, s), convention="stratonovich")
    assert sp.simplify(back.drift[0] - mu * x) == 0                        # the round trip


def test_correction_of_a_two_dimensional_noise():
    D = sp.Matrix([[x, y], [0, x * y]])
    c = stratonovich_correction(D, (x, y))
    # c_k = 1/2 sum_j sum_l D_lj d_l D_kj, by hand: c_1 = (x*1 + y*0 + 0 + x*y*1)/2... computed term by term
    c1 = (D[0, 0] * 1 + D[1, 0] * 0 + D[0, 1] * 0 + D[1, 1] * 1) / 2
    c2 = (D[0, 0] * 0 + D[1, 0] * 0 + D[0, 1] * y + D[1, 1] * x) / 2
    assert sp.simplify(c[0] - c1) == 0 and sp.simplify(c[1] - c2) == 0


def test_time_dependence_is_detected_and_kept_out_of_the_model_parameters():
    sde = SDE.from_coefficients([-x / (1 + t)], [[1 / (1 + t)]], x)
    assert sde.time == t and sde.model_params == () and sde.is_additive()


def test_commutativity():
    assert SDE.from_coefficients([0, 0], [[x, 0], [0, y]], (x, y)).is_commutative()        # diagonal
    B1 = sp.Matrix([[1, 0], [0, -1]])
    B2 = sp.Matrix([[0, 1], [1, 0]])
    z = sp.Matrix([x, y])
    assert not SDE.from_coefficients([0, 0], sp.Matrix.hstack(B1 * z, B2 * z), (x, y)).is_commutative()


def test_moment_equations_of_gbm():
    # d/dt E X = mu E X, d/dt E X^2 = (2 mu + s^2) E X^2 (Ito's formula)
    G = moment_equations(SDE.from_coefficients([mu * x], [[s * x]], x, params=(mu, s)))["generator"]
    assert G == sp.Matrix([[0, 0, 0], [0, mu, 0], [0, 0, 2 * mu + s ** 2]])


def test_moments_dispatch_to_linear_moments_for_additive_noise():
    ou = SDE.from_coefficients([-mu * x], [[s]], x, params=(mu, s))
    assert "mean" in ou.moments().expressions


@pytest.mark.parametrize("kwargs,error,words", [
    ({"drift": [x, y], "diffusion": [[1]], "state": x}, LemmataError, "`drift`"),
    ({"drift": [x], "diffusion": [[1], [1]], "state": x}, LemmataError, "`diffusion`"),
    ({"drift": [x, y], "diffusion": [1, 1], "state": (x, y)}, TypeError, "flat list"),
    ({"drift": [x], "diffusion": {"a": 1}, "state": x}, TypeError, "matrix"),
    ({"drift": ["x"], "diffusion": [[1]], "state": x}, TypeError, "strings"),
    ({"drift": [mu * x], "diffusion": [[1]], "state": x}, LemmataError, "undeclared"),
    ({"drift": [x], "diffusion": [[sp.oo]], "state": x}, LemmataError, "non-finite"),
    ({"drift": [x], "diffusion": [[1]], "state": "x"}, TypeError, "`state`"),
])
def test_bad_coefficients(kwargs, error, words):
    with pytest.raises(error, match=words):
        SDE.from_coefficients(kwargs.pop("drift"), kwargs.pop("diffusion"), kwargs.pop("state"), **kwargs)
