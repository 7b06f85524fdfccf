import numpy as np
import pytest

from lemmata.analysis import AssumptionError
from lemmata.analysis import recurrence as R
from lemmata.numerics.recurrence import ar1_input, burn_in, lyapunov_moments, simulate_moments


def test_ar1_input_has_unit_variance_and_geometric_autocorrelation():
    x = ar1_input(400, 4000, 0.7, seed=1)
    assert abs(x.var() - 1) < 0.02
    lag1 = np.mean(x[1:] * x[:-1])
    lag3 = np.mean(x[3:] * x[:-3])
    assert abs(lag1 - 0.7) < 0.02 and abs(lag3 - 0.7 ** 3) < 0.02


def test_ar1_input_is_reproducible_per_chunk():
    a = ar1_input(50, 600, 0.5, seed=3)
    b = ar1_input(50, 300, 0.5, seed=3)
    np.testing.assert_array_equal(a[:, :256], b[:, :256])     # first chunk: the same stream
    assert not np.array_equal(ar1_input(50, 300, 0.5, seed=4), b)


@pytest.mark.parametrize("normalization,parametrization", [("none", "none"), ("l2", "exp"), ("l1", "sigmoid")])
def test_lyapunov_equals_closed_forms(normalization, parametrization):
    d = R.memory_moments(normalization, parametrization)
    for lam, rho in ((0.2, 0.0), (0.95, 0.7)):
        exact = d.evaluate({"lam": lam, "rho": rho})
        ly = lyapunov_moments(lam, rho, normalization=normalization, parametrization=parametrization)
        assert ly["E_x2"] == pytest.approx(1.0, rel=1e-12)
        assert ly["E_h2"] == pytest.approx(float(exact["E_h2"]), rel=1e-10)
        assert ly["E_dh2"] == pytest.approx(float(exact["E_dh2"]), rel=1e-9)


def test_monte_carlo_within_four_sigma_and_reproducible():
    est = simulate_moments(0.8, 0.5, n_paths=8000, seed=2)
    exact = lyapunov_moments(0.8, 0.5)
    for key in ("E_h2", "E_dh2"):
        assert abs(est[key].value - exact[key]) < 4 * est[key].stderr
    again = simulate_moments(0.8, 0.5, n_paths=8000, seed=2)
    assert again["E_h2"].value == est["E_h2"].value


def test_bad_input():
    with pytest.raises(AssumptionError, match=r"\|lam\| < 1"):
        lyapunov_moments(1.0, 0.5)
    with pytest.raises(ValueError, match="`rho` must lie in"):
        simulate_moments(0.5, 1.5)
    with pytest.raises(AssumptionError, match="rho = 1"):
        lyapunov_moments(0.5, 1.0)
    assert burn_in(0.9, 0.0) == 300
