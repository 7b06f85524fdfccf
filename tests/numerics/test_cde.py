"""Linear CDE solvers against independent references: SciPy's expm of the augmented matrix, the
exact signature expansion with rational nilpotent matrices, and Euler's first-order convergence."""

import numpy as np
import pytest
import scipy.linalg as sl
import sympy as sp

from lemmata.analysis import cde as exact
from lemmata.numerics import cde
from lemmata.numerics.signature import signature
from lemmata.numerics.stats import fit_slope


def _expm_reference(model, omega, z0):
    z = z0.copy()
    N = model.N
    for k in range(len(omega) - 1):
        dw = omega[k + 1] - omega[k]
        aug = np.zeros((N + 1, N + 1))
        aug[:N, :N] = np.einsum("inm,i->nm", model.dense().A, dw)
        if model.B is not None:
            aug[:N, N] = model.B @ dw
        z = (sl.expm(aug) @ np.append(z, 1.0))[:N]
    return z


@pytest.mark.parametrize("diagonal", [False, True])
@pytest.mark.parametrize("forcing", [None, 3])
def test_exact_solver_equals_expm_of_the_augmented_matrix(diagonal, forcing):
    rng = np.random.default_rng(0)
    model = cde.random_cde(10, 3, seed=1, diagonal=diagonal, forcing=forcing)
    omega = rng.normal(scale=0.8, size=(4, 7, 3)).cumsum(axis=1)       # large steps: substeps used
    Z = model.solve(omega)
    for b in range(4):
        ref = _expm_reference(model, omega[b], model.initial_state(omega[b]))
        np.testing.assert_allclose(Z[b], ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


def test_diagonal_fast_path_equals_the_dense_solver():
    model = cde.random_cde(8, 2, seed=3, diagonal=True, forcing=2)
    omega = np.random.default_rng(2).normal(size=(6, 9, 2))
    np.testing.assert_allclose(model.solve(omega), model.dense().solve(omega), rtol=1e-12, atol=1e-13)


def test_subdividing_linear_segments_leaves_the_exact_solution_unchanged():
    model = cde.random_cde(6, 2, seed=4, forcing=2)
    omega = np.random.default_rng(5).normal(size=(5, 2)).cumsum(axis=0)
    fine = np.concatenate([np.linspace(omega[k], omega[k + 1], 5)[:-1] for k in range(4)] + [omega[-1:]])
    np.testing.assert_allclose(model.solve(fine, np.ones(6)), model.solve(omega, np.ones(6)), rtol=1e-12)


def test_euler_converges_at_order_one():
    model = cde.random_cde(6, 2, seed=6, forcing=2)
    omega = np.random.default_rng(7).normal(scale=0.5, size=(4, 2)).cumsum(axis=0)
    target = model.solve(omega)
    refinements = np.array([8, 16, 32, 64, 128])
    errors = []
    for m in refinements:
        fine = np.concatenate([np.linspace(omega[k], omega[k + 1], m + 1)[:-1] for k in range(3)] + [omega[-1:]])
        errors.append(np.linalg.norm(model.solve(fine, method="euler") - target))
    slope = fit_slope(np.log(1.0 / refinements), np.log(errors))
    assert abs(slope.value - 1.0) < 0.1


@pytest.mark.parametrize("forcing", [False, True])
def test_numeric_expansion_equals_the_exact_one_for_nilpotent_matrices(forcing):
    A, z0, B = exact.nilpotent_example(4, 2, seed=5)
    points = [(0, 0), (1, 0), (sp.Rational(1, 2), 2), (3, -1)]
    ref = exact.flow(A, points, z0, B if forcing else None)
    model = cde.LinearCDE(np.array([np.array(a, dtype=float) for a in A]),
                          np.array(B, dtype=float) if forcing else None)
    omega = np.array(points, dtype=float)
    z = np.array(z0, dtype=float).ravel()
    expected = np.array(ref, dtype=float).ravel()
    np.testing.assert_allclose(cde.expansion(model, omega, z, 3), expected, rtol=1e-12)
    np.testing.assert_allclose(model.solve(omega, z), expected, rtol=1e-12)


def test_stream_returns_every_state():
    model = cde.random_cde(5, 2, seed=8)
    omega = np.random.default_rng(9).normal(size=(3, 6, 2))
    states = model.solve(omega, stream=True)
    assert states.shape == (3, 6, 5)
    np.testing.assert_allclose(states[:, 0], model.initial_state(omega))
    np.testing.assert_allclose(states[:, -1], model.solve(omega))
    np.testing.assert_allclose(states[:, 3], model.solve(omega[:, :4]))


def test_random_models_are_reproducible_and_scaled():
    a, b = cde.random_cde(400, 2, seed=11), cde.random_cde(400, 2, seed=11)
    np.testing.assert_array_equal(a.A, b.A)
    # entries N(0, 1/N): the sample variance of 320,000 entries is 1/N within a few percent
    assert a.A.var() * 400 == pytest.approx(1.0, rel=0.02)


def test_toy_dataset_follows_the_recipe_and_its_labels_are_signature_terms():
    X, y = cde.toy_dataset("volume", 50, length=20, seed=0)
    assert X.shape == (50, 20, 3) and np.abs(X).max() == pytest.approx(1.0)
    assert np.abs(y).max() == pytest.approx(1.0)
    # increments are integers (rounded normals) times one global scale
    steps = np.diff(X, axis=1)
    unit = np.abs(steps[steps != 0]).min()
    np.testing.assert_allclose(steps / unit, np.round(steps / unit), atol=1e-9)
    S = signature(X, 3)[:, 3 + 9 + 5]                # word (1, 2, 3): flat index 3 + 9 + 5
    np.testing.assert_allclose(y, S / np.abs(S).max(), rtol=1e-12)
    Xa, ya = cde.toy_dataset("area", 10, seed=1)
    np.testing.assert_allclose(ya, signature(Xa, 2)[:, 3] / np.abs(signature(Xa, 2)[:, 3]).max())


def test_ridge_readout_recovers_a_linear_map_with_intercept():
    rng = np.random.default_rng(12)
    F = rng.normal(size=(200, 7))
    w = rng.normal(size=7)
    y = F @ w + 2.5
    fit = cde.ridge_readout(F, y, alpha=0.0)
    np.testing.assert_allclose(fit.coef, w, rtol=1e-10)
    assert fit.intercept == pytest.approx(2.5, rel=1e-12)
    assert cde.rmse(fit.predict(F), y) < 1e-12


@pytest.mark.parametrize("call,match", [
    (lambda m: m.solve(np.zeros((4, 3))), "channels"),
    (lambda m: m.solve(np.zeros((4, 2)), np.zeros(3)), "z0"),
    (lambda m: m.solve(np.zeros((4, 2)), method="rk4"), "method"),
    (lambda m: m.solve(np.zeros((4, 2)), tol=2.0), "tol"),
    (lambda m: m.solve(np.zeros((1, 2))), "at least 2 points"),
    (lambda m: cde.LinearCDE(np.zeros((2, 3, 4))), "shape"),
    (lambda m: cde.toy_dataset("sphere", 10, seed=0), "task"),
])
def test_bad_input_names_the_argument(call, match):
    model = cde.random_cde(5, 2, seed=0)
    with pytest.raises(ValueError, match=match):
        call(model)


@pytest.mark.gpu
@pytest.mark.parametrize("diagonal", [False, True])
def test_cupy_solver_equals_numpy(diagonal):
    model = cde.random_cde(12, 3, seed=13, diagonal=diagonal, forcing=3)
    omega = np.random.default_rng(14).normal(scale=0.3, size=(9, 20, 3)).cumsum(axis=1)
    gpu = model.solve(omega, backend="cupy")
    np.testing.assert_allclose(gpu.get(), model.solve(omega), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("discretization", ["zoh", "euler"])
def test_selective_scan_equals_the_recurrence_written_out(discretization):
    rng = np.random.default_rng(15)
    T, D, n = 12, 2, 3
    delta = rng.uniform(0.01, 0.3, size=(T, D))
    A = -rng.uniform(0.5, 3.0, size=(D, n))
    B, x = rng.normal(size=(T, n)), rng.normal(size=(T, D))
    h0 = rng.normal(size=(D, n))
    got = cde.selective_scan(delta, A, B, x, h0=h0, discretization=discretization)
    h = h0.copy()
    for k in range(T):
        g = delta[k][:, None] * A
        drive = delta[k][:, None] * B[k][None, :] * x[k][:, None]
        h = np.exp(g) * h + (np.expm1(g) / g * drive if discretization == "zoh" else drive)
        np.testing.assert_allclose(got[k], h, rtol=1e-13)


@pytest.mark.parametrize("kwargs,match", [
    ({"delta": -np.ones((4, 2))}, "positive"),
    ({"A": np.ones((3, 3))}, "A"),
    ({"B": np.ones((4, 2))}, "B"),
    ({"discretization": "rk4"}, "discretization"),
])
def test_selective_scan_bad_input(kwargs, match):
    args = {"delta": np.ones((4, 2)), "A": -np.ones((2, 3)), "B": np.ones((4, 3)), "x": np.ones((4, 2))}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        cde.selective_scan(**args)
