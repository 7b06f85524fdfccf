"""Spectral tools on operators with known spectra: a diagonal matrix in a random orthogonal basis
(eigenvalues chosen, so the reference is exact), a random symmetric matrix (reference:
LAPACK's eigvalsh, an independent dense algorithm), and Gauss-quadrature exactness for SLQ."""

import numpy as np
import pytest

from lemmata.numerics.spectra import (ConvergenceError, check_operator, dense_matrix, hutchinson_trace,
                                      preconditioned, relative_movement, spectral_density, top_eigenvalues)


def _operator(eigenvalues, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    return (Q * np.asarray(eigenvalues)) @ Q.T


SPECTRUM = np.concatenate([[10.0, 9.0, 8.5], np.linspace(-3.0, 5.0, 197)])
A = _operator(SPECTRUM)


@pytest.mark.parametrize("method", ["lanczos", "eigsh"])
@pytest.mark.parametrize("which,expected", [("LA", [10.0, 9.0, 8.5]), ("SA", [-3.0, -3.0 + 8 / 196, -3.0 + 16 / 196]),
                                            ("LM", [10.0, 9.0, 8.5])])
def test_top_eigenvalues_match_the_chosen_spectrum(method, which, expected):
    res = top_eigenvalues(lambda v: A @ v, A.shape[0], k=3, method=method, which=which, tol=1e-10)
    assert res.converged, res
    # the error is bounded by the reported residual (plus round-off of the orthogonal basis)
    assert np.all(np.abs(res.values - expected) <= res.residuals + 1e-10)
    np.testing.assert_allclose(res.values, expected, rtol=1e-8, atol=1e-9)
    true_resid = np.linalg.norm(A @ res.vectors - res.vectors * res.values, axis=0)
    np.testing.assert_allclose(true_resid, res.residuals, atol=1e-8)


def test_lanczos_reaches_tight_tolerance_in_few_products():
    res = top_eigenvalues(A, A.shape[0], tol=1e-12)
    assert res.converged and abs(res.values[0] - 10.0) <= 1e-11 * 10
    assert res.n_hvp < 60          # gap ratio (10 - 9)/(9 + 3): Krylov converges in tens of steps


def test_power_iteration_finds_largest_algebraic_even_when_dominated_by_a_negative_value():
    B = _operator(np.concatenate([[-12.0], np.linspace(-1.0, 4.0, 49)]), seed=1)
    lm = top_eigenvalues(B, 50, method="power", which="LM", tol=1e-9, max_hvp=5000)
    la = top_eigenvalues(B, 50, method="power", which="LA", tol=1e-9, max_hvp=20000)
    assert lm.converged and abs(lm.values[0] + 12.0) <= 1e-6
    assert la.converged and abs(la.values[0] - 4.0) <= la.residuals[0] + 1e-9


def test_warm_start_with_the_eigenvector_converges_at_once():
    first = top_eigenvalues(A, A.shape[0], tol=1e-12)
    again = top_eigenvalues(A, A.shape[0], tol=1e-10, v0=first.vectors[:, 0])
    assert again.n_hvp <= 3 and abs(again.values[0] - 10.0) < 1e-9


def test_non_convergence_is_reported_not_hidden():
    res = top_eigenvalues(A, A.shape[0], tol=1e-12, max_hvp=5)
    assert not res.converged and "max_hvp" in res.status and res.n_hvp == 5
    assert res.residuals[0] > 1e-12 * abs(res.values[0])
    with pytest.raises(ConvergenceError, match="max_hvp"):
        top_eigenvalues(A, A.shape[0], tol=1e-12, max_hvp=5, throw=True)
    pw = top_eigenvalues(A, A.shape[0], method="power", tol=1e-12, max_hvp=5)
    assert not pw.converged


def test_bad_operators_are_detected_on_a_probe():
    with pytest.raises(ValueError, match="symmetric"):
        top_eigenvalues(np.triu(A), A.shape[0])
    with pytest.raises(ValueError, match="square"):
        top_eigenvalues(lambda v: v[:-1], A.shape[0])
    with pytest.raises(ValueError, match="`k`"):
        top_eigenvalues(A, A.shape[0], k=A.shape[0])
    with pytest.raises(ValueError, match="`tol`"):
        top_eigenvalues(A, A.shape[0], tol=0.0)
    with pytest.raises(ValueError, match="symmetric"):
        check_operator(lambda v: np.cumsum(v), 10)


def test_invariant_subspace_gives_exact_eigenvalues():
    B = np.diag([3.0, 1.0, 1.0, 1.0, -2.0])
    res = top_eigenvalues(B, 5, k=2, tol=1e-12)
    assert res.converged
    np.testing.assert_allclose(res.values, [3.0, 1.0], atol=1e-12)


def test_hutchinson_is_unbiased_within_its_standard_error():
    trace = float(np.sum(SPECTRUM))
    est = hutchinson_trace(A, A.shape[0], n_samples=400, seed=3)
    assert abs(est.value - trace) <= 4 * est.stderr
    # Rademacher variance 2 (||A||_F^2 - sum A_ii^2) (Hutchinson 1990): the stderr matches it
    var = 2 * (np.sum(A * A) - np.sum(np.diag(A) ** 2))
    assert 0.8 < est.stderr / np.sqrt(var / 400) < 1.2


def test_slq_is_gauss_quadrature_exact_for_low_degree_polynomials():
    sd = spectral_density(A, A.shape[0], n_probes=4, n_steps=6, seed=2)
    # for each probe z the rule integrates t^j exactly for j < 12: z^T A^j z / |z|^2
    from lemmata.numerics.stats import child_seed
    for j in (1, 4, 9):
        expected = []
        for p in range(4):
            z = np.random.default_rng(child_seed(2, 3, p)).integers(0, 2, A.shape[0]) * 2.0 - 1
            expected.append(z @ np.linalg.matrix_power(A, j) @ z / (z @ z))
        got = np.sum(sd.weights * sd.nodes ** j, axis=1)
        np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert np.allclose(sd.weights.sum(axis=1), 1.0)
    grid = np.linspace(-6, 13, 400)
    mass = np.trapezoid(sd.density(grid, 0.3), grid)
    assert abs(mass - 1.0) < 1e-3


def test_preconditioned_operator_is_the_symmetric_rescaling():
    p = np.random.default_rng(0).uniform(0.5, 2.0, A.shape[0])
    M = dense_matrix(preconditioned(A, p), A.shape[0])
    np.testing.assert_allclose(M, np.sqrt(p)[:, None] * A * np.sqrt(p)[None], rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match="multipliers"):
        preconditioned(A, -p)


def test_relative_movement():
    assert relative_movement(np.eye(3), 2 * np.eye(3)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shape"):
        relative_movement(np.eye(3), np.eye(2))


def test_same_seed_same_numbers():
    a = top_eigenvalues(A, A.shape[0], tol=1e-6, seed=5)
    b = top_eigenvalues(A, A.shape[0], tol=1e-6, seed=5)
    assert a.n_hvp == b.n_hvp and np.array_equal(a.values, b.values)
