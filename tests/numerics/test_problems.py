"""Problems: gradients against finite differences, smoothness constants against Hessian
eigenvalues, minimisers against optimality conditions, and bad input."""

import numpy as np
import pytest

from lemmata.analysis import AssumptionError
from lemmata.numerics.problems import LeastSquares, LogisticRegression, OffsetQuadratic, SigmoidRegression

rng = np.random.default_rng(11)
A = rng.normal(size=(12, 3))
PROBLEMS = {
    "ls": LeastSquares(A, rng.normal(size=12)),
    "logistic": LogisticRegression(A, np.where(rng.random(12) < 0.5, -1, 1)),
    "sigmoid": SigmoidRegression(A, rng.normal(size=3)),
    "offset": OffsetQuadratic(rng.uniform(0.5, 2, 12), rng.normal(size=(12, 3)), np.full(12, 0.2)),
}


def _fd_grad(fun, x, h=1e-6):
    e = np.eye(x.size)
    return np.array([(fun(x + h * e[i]) - fun(x - h * e[i])) / (2 * h) for i in range(x.size)])


def _fd_hessian(fun_grad, x, h=1e-5):
    e = np.eye(x.size)
    return np.array([(fun_grad(x + h * e[i]) - fun_grad(x - h * e[i])) / (2 * h) for i in range(x.size)])


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_gradients_match_central_differences(name):
    prob = PROBLEMS[name]
    x = np.array([0.3, -0.2, 0.5])
    np.testing.assert_allclose(prob.grad(x), _fd_grad(prob.value, x), rtol=1e-6, atol=1e-8)
    for i in (0, 5):   # per-sample losses and gradients
        value, grad = prob.value_and_grad(x[None], np.array([i]))
        fun = lambda z: prob.value_and_grad(z[None], np.array([i]))[0][0]
        np.testing.assert_allclose(grad[0], _fd_grad(fun, x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_sample_smoothness_bounds_the_hessian(name):
    prob = PROBLEMS[name]
    for x in rng.normal(size=(20, 3)) * 2:
        for i in range(prob.n_samples):
            grad = lambda z: prob.value_and_grad(z[None], np.array([i]))[1][0]
            eig = np.max(np.abs(np.linalg.eigvalsh(_fd_hessian(grad, x))))
            assert eig <= prob.sample_smoothness[i] * (1 + 1e-5) + 1e-8


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_minimizer_is_stationary_and_constants_are_consistent(name):
    prob = PROBLEMS[name]
    assert np.linalg.norm(prob.grad(prob.minimizer)) < 1e-10
    assert prob.interp_gap >= -1e-15 and prob.pos_gap >= 0
    assert prob.f_star >= np.mean(prob.sample_f_star) - 1e-15


def test_least_squares_solution_set_distance_ignores_the_kernel():
    A = np.array([[1.0, 0.0], [2.0, 0.0]])        # rank one: solutions x* + t e_2
    prob = LeastSquares(A, np.array([1.0, 2.0]))
    assert prob.solution_distance_sq(np.array([1.0, 5.0])) == pytest.approx(0.0, abs=1e-24)
    assert prob.solution_distance_sq(np.array([3.0, 5.0])) == pytest.approx(4.0)


def test_separable_logistic_data_is_refused():
    Z = np.array([[1.0, 0.0], [2.0, 1.0], [-1.0, 0.5], [-2.0, -1.0]])
    with pytest.raises(AssumptionError, match="linearly separable"):
        LogisticRegression(Z, np.array([1, 1, -1, -1]))


def test_bad_input_messages():
    with pytest.raises(ValueError, match="`y` must hold 3 labels in"):
        LogisticRegression(np.ones((3, 2)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="`A` must be a non-empty 2-D array"):
        LeastSquares(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="`b` must have shape"):
        LeastSquares(np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="`A` must be finite"):
        LeastSquares(np.array([[np.nan, 1.0]]), np.ones(1))
    with pytest.raises(ValueError, match="`offsets` must be non-negative"):
        OffsetQuadratic(np.ones(2), np.zeros((2, 1)), np.array([0.1, -0.1]))
