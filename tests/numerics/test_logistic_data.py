import numpy as np
import pytest

from lemmata.analysis import AssumptionError
from lemmata.numerics import orbits
from lemmata.numerics.logistic import gd_orbits_1d, logistic_data, two_wall_dataset_2d, wall_dataset_1d


def test_solution_quantities_match_numpy_newton():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = np.where(X[:, 0] + rng.normal(size=40) > 0, 1, -1)
    data = logistic_data(X=X, y=y)
    # reference: the Hessian at the minimiser from its formula, eigenvalues by NumPy
    m = (data.z @ data.minimizer)
    s = 1 / (1 + np.exp(-m))
    H = (data.z.T * (data.p * s * (1 - s))) @ data.z
    assert data.lam == pytest.approx(np.linalg.eigvalsh(H).max(), rel=1e-12)
    grad = -(data.p / (1 + np.exp(m))) @ data.z
    assert np.abs(grad).max() < 1e-15
    assert data.lam <= data.smoothness


def test_bad_data():
    with pytest.raises(AssumptionError, match="separable"):
        logistic_data(X=np.array([1.0, 2.0, -1.0]), y=np.array([1, 1, -1]))
    with pytest.raises(ValueError, match="labels in"):
        logistic_data(X=np.array([1.0, 2.0]), y=np.array([1, 0]))
    with pytest.raises(ValueError, match="non-empty"):
        logistic_data(X=np.zeros((0, 1)), y=np.zeros(0))
    with pytest.raises(AssumptionError, match="span"):
        logistic_data(z=np.array([[1.0, 1.0], [-1.0, -1.0], [2.0, 2.0]]))
    with pytest.raises(ValueError, match="`eta_lambda` must lie in"):
        wall_dataset_1d(0.5)


def test_batched_1d_gd_matches_the_orbit_diagram():
    data = logistic_data(z=np.array([[1.0], [-2.0], [0.5]]), p=np.array([0.5, 0.3, 0.2]))
    etas = np.array([[0.5, 1.5]]) / data.lam
    inits = np.array([[-3.0, 0.0, 4.0]])
    batched = gd_orbits_1d(data.z[:, 0][None], data.p[None], etas, inits, 300)
    diagram = orbits.orbit_diagram(data.gd_map(), etas[0], inits[0][:, None], n_transient=299, n_keep=1)
    np.testing.assert_allclose(batched[0], diagram.points[:, :, 0, 0], rtol=1e-12, atol=1e-12)


def test_constructions_have_the_requested_eta_lambda_and_a_cycle():
    wall = wall_dataset_1d(1.6)
    assert 0 < wall.minimizer[0]
    cycles = orbits.find_cycles(wall.gd_map(), wall.eta(1.6),
                                wall.minimizer[0] + np.linspace(-1, 1, 41)[:, None] * 150, n_transient=20000)
    assert any(c.period == 2 and c.stable and c.certified for c in cycles)
    two = two_wall_dataset_2d(0.7)
    assert two.dim == 2 and abs(two.minimizer[1]) < 1e-12
