"""Monte Carlo of SDEs and discrete algorithms against exact moments, reproducibility across
thread counts, divergence accounting, and bad input."""

import numpy as np
import pytest
import sympy as sp

from lemmata.analysis import LemmataError
from lemmata.analysis import sde as S
from lemmata.numerics.sde import simulate, simulate_discrete

x, y, lam = sp.symbols("x y lam", real=True)
SEG = S.seg(lam * x * y, x, y)
PARAMS = {"eta": 0.01, "rho": 1.0, "sigma": 1.0, "lam": 1.0}


def _exact_norm(t):
    # the brief: E|Z_t|^2 = m0 e^{-kt} + (2c/k)(1 - e^{-kt}), k = 2 rho lam^2, c = eta sigma^2 (1 + rho^2 lam^2)
    k, c = 2.0, 0.01 * 2.0
    return 2.0 * np.exp(-k * t) + 2 * c / k * (1 - np.exp(-k * t))


@pytest.mark.parametrize("backend", ["numba", "numpy", pytest.param("cupy", marks=pytest.mark.gpu)])
def test_euler_maruyama_matches_the_closed_form(backend):
    r = simulate(SEG, [1.0, 1.0], t1=1.0, dt=0.001, n_paths=8000, seed=2, params=PARAMS,
                 save_every=250, backend=backend)
    assert r.times.tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    exact = _exact_norm(r.times)
    # EM bias at dt = 1e-3 on this linear SDE is ~ dt * k^2 * m ~ 2e-3 relative, below 4 sigma here
    assert np.all(np.abs(r.norm_sq[1:] - exact[1:]) < 4 * r.norm_sq_stderr[1:] + 2e-3 * exact[1:])
    assert r.n_diverged == 0 and r.second_moment.shape == (5, 2, 2)


def test_same_seed_same_numbers_for_any_thread_count():
    a = simulate(SEG, [1.0, 1.0], t1=0.5, dt=0.01, n_paths=700, seed=3, params=PARAMS, threads=1)
    b = simulate(SEG, [1.0, 1.0], t1=0.5, dt=0.01, n_paths=700, seed=3, params=PARAMS, threads=2)
    np.testing.assert_array_equal(a.second_moment, b.second_moment)
    c = simulate(SEG, [1.0, 1.0], t1=0.5, dt=0.01, n_paths=700, seed=4, params=PARAMS)
    assert not np.array_equal(a.second_moment, c.second_moment)


def test_discrete_seg_matches_the_exact_recursion():
    r = simulate_discrete(SEG, [1.0, 1.0], n_steps=100, n_paths=8000, seed=5, params=PARAMS)
    M = np.array([[0, 1.0], [-1.0, 0]])
    G = np.eye(2) - 0.01 * (M - M @ M)
    N = np.eye(2) - M
    P = np.outer([1.0, 1.0], [1.0, 1.0])
    for _ in range(100):
        P = G @ P @ G.T + 0.01 ** 2 * N @ N.T
    assert abs(r.norm_sq[-1] - np.trace(P)) < 4 * r.norm_sq_stderr[-1]
    assert r.times[-1] == pytest.approx(1.0)


def test_milstein_on_geometric_brownian_motion():
    # dX = mu X dt + s X dW: E X_t = x0 e^{mu t}; Milstein needs diagonal noise
    z, mu, s = sp.Symbol("z", real=True), sp.Symbol("mu"), sp.Symbol("s")
    gbm = S.SDE("gbm", (z,), (mu, s), {"drift": sp.Matrix([mu * z]), "diffusion": sp.Matrix([[s * z]]),
                                      "covariance": sp.Matrix([[s ** 2 * z ** 2]])})
    r = simulate(gbm, [1.0], t1=1.0, dt=0.01, n_paths=20000, seed=1, params={"mu": 0.5, "s": 0.3},
                 method="milstein")
    assert abs(r.mean[-1, 0] - np.exp(0.5)) < 4 * r.mean_stderr[-1, 0] + 0.01


def test_divergence_is_counted_not_averaged():
    z = sp.Symbol("z", real=True)
    blow = S.SDE("blow", (z,), (), {"drift": sp.Matrix([z ** 3]), "diffusion": sp.Matrix([[1]]),
                                   "covariance": sp.Matrix([[1]])})
    r = simulate(blow, [0.5], t1=3.0, dt=0.01, n_paths=2000, seed=0, blowup=1e6)
    assert 0 < r.n_diverged < 2000
    assert np.isfinite(r.mean).all()


def test_bad_input():
    with pytest.raises(ValueError, match="`dt` must be positive and finite; got -0.01"):
        simulate(SEG, [1.0, 1.0], t1=1.0, dt=-0.01, n_paths=10, params=PARAMS)
    with pytest.raises(ValueError, match="`t1` must be non-negative"):
        simulate(SEG, [1.0, 1.0], t1=-1.0, dt=0.01, n_paths=10, params=PARAMS)
    with pytest.raises(ValueError, match="`z0` must be finite"):
        simulate(SEG, [np.nan, 1.0], t1=1.0, dt=0.01, n_paths=10, params=PARAMS)
    with pytest.raises(ValueError, match="`z0` must have shape"):
        simulate(SEG, [1.0], t1=1.0, dt=0.01, n_paths=10, params=PARAMS)
    with pytest.raises(ValueError, match=r"`params` must give values for \['rho'\]"):
        simulate(SEG, [1.0, 1.0], t1=1.0, dt=0.01, n_paths=10, params={"eta": 0.01, "sigma": 1, "lam": 1})
    z = sp.Symbol("z", real=True)
    bad = S.SDE("bad", (z,), (), {"drift": sp.Matrix([z]), "diffusion": sp.Matrix([[1], [1]]),
                                 "covariance": sp.Matrix([[1]])})
    with pytest.raises(ValueError, match="the diffusion must have 1 rows"):
        simulate(bad, [1.0], t1=1.0, dt=0.1, n_paths=10)
    from lemmata.numerics.sde_problems import get_problem
    noncommutative = get_problem("linear2d")
    with pytest.raises(ValueError, match="commutative noise"):
        simulate(noncommutative.sde, [1.0, 1.0], t1=1.0, dt=0.01, n_paths=10, params=noncommutative.params,
                 method="milstein")
    with pytest.raises(LemmataError, match="update rule"):
        simulate_discrete(bad, [1.0], n_steps=3, n_paths=3)


def test_discrete_moments_match_the_brief_recursion():
    from lemmata.numerics.sde import discrete_moments
    means, seconds = discrete_moments(SEG, [1.0, 1.0], n_steps=30, params=PARAMS)
    M = np.array([[0, 1.0], [-1.0, 0]])
    G = np.eye(2) - 0.01 * (M - M @ M)          # the brief: G = I - eta (M - rho M^2), N = I - rho M
    N = np.eye(2) - M
    P, m = np.outer([1.0, 1.0], [1.0, 1.0]), np.array([1.0, 1.0])
    for _ in range(30):
        P = G @ P @ G.T + 0.01 ** 2 * N @ N.T
        m = G @ m
    np.testing.assert_allclose(seconds[-1], P, rtol=1e-13)
    np.testing.assert_allclose(means[-1], m, rtol=1e-13)
    with pytest.raises(LemmataError, match="not linear"):
        discrete_moments(S.seg(lam * x * y, x, y, noise="multiplicative"), [1.0, 1.0], n_steps=2,
                         params=PARAMS)


def test_schedule_scales_drift_and_noise():
    # with alpha = 1 the bilinear SEG SDE's E|Z|^2/2 follows (1+t)^-k b + c[(1+t)^-1 - (1+t)^-k]/(k-1)
    params = {"eta": 0.01, "rho": 1.0, "sigma": 0.5, "lam": 1.0}
    r = simulate(SEG, [1.0, 1.0], t1=2.0, dt=1e-3, n_paths=8000, seed=9, params=params, schedule=1.0)
    k, c, b, t = 2.0, 0.01 * 0.25 * 2.0, 1.0, 2.0
    exact = (1 + t) ** -k * b + c * ((1 + t) ** -1 - (1 + t) ** -k) / (k - 1)
    assert abs(r.norm_sq[-1] / 2 - exact) < 4 * r.norm_sq_stderr[-1] / 2 + 2e-3 * exact
    with pytest.raises(ValueError, match="`schedule`"):
        simulate(SEG, [1.0, 1.0], t1=1.0, dt=0.01, n_paths=10, params=params, schedule=-1.0)
