"""Optimisers: one reference step each (hand-computed from the update rule), the runner's
reproducibility, divergence accounting, and bad input."""

import numpy as np
import pytest

from lemmata.analysis import AssumptionError, LemmataError
from lemmata.analysis.ngn import ngn_stepsize
from lemmata.numerics import compile_kernel, optim
from lemmata.numerics.problems import LeastSquares, LogisticRegression, OffsetQuadratic

X = np.array([[1.0, -2.0], [0.5, 0.25]])
G = np.array([[0.3, 0.4], [-1.0, 2.0]])
F = np.array([2.0, 0.5])


def step(opt, grads=G, params=X, value=F, n=1):
    state = opt.init(params)
    for _ in range(n):
        updates, state = opt.update(grads, state, params, value=value)
    return updates, state


def test_ngn_step_matches_the_formula_and_the_compiled_derivation():
    sigma = 0.7
    updates, state = step(optim.ngn(sigma))
    g2 = np.sum(G ** 2, axis=1)
    gamma = sigma / (1 + sigma * g2 / (2 * F))            # the paper's formula
    np.testing.assert_allclose(state.stepsize, gamma, rtol=1e-15)
    np.testing.assert_allclose(updates, -gamma[:, None] * G, rtol=1e-15)
    kernel = compile_kernel(ngn_stepsize(), "numba")
    np.testing.assert_allclose(state.stepsize, kernel(F, g2, sigma), rtol=1e-15)


def test_ngn_sqrt_schedule_and_zero_loss():
    _, state = step(optim.ngn(1.0, schedule="sqrt"), n=4)       # k = 3: sigma_3 = 1/2
    g2 = np.sum(G ** 2, axis=1)
    np.testing.assert_allclose(state.stepsize, 0.5 / (1 + 0.5 * g2 / (2 * F)), rtol=1e-15)
    updates, state = step(optim.ngn(1.0), grads=np.zeros((2, 2)), value=np.zeros(2))
    assert np.all(updates == 0) and np.all(state.stepsize == 1.0)


def test_ngn_needs_a_non_negative_value():
    opt = optim.ngn(1.0)
    with pytest.raises(LemmataError, match="needs the loss"):
        opt.update(G, opt.init(X), X)
    with pytest.raises(AssumptionError, match="`value` must be non-negative"):
        opt.update(G, opt.init(X), X, value=np.array([1.0, -0.1]))
    for bad in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="`sigma` must be positive and finite"):
            optim.ngn(bad)
    with pytest.raises(ValueError, match="`schedule` must be one of"):
        optim.ngn(1.0, schedule="cosine")


def test_ngn_momentum_is_heavy_ball_on_the_ngn_step():
    opt = optim.ngn_momentum(0.7, beta=0.5)
    state = opt.init(X)
    u1, state = opt.update(G, state, X, value=F)
    u2, state = opt.update(G, state, X + u1, value=F)
    gamma = 0.7 / (1 + 0.7 * np.sum(G ** 2, 1) / (2 * F))
    np.testing.assert_allclose(u1, -0.5 * gamma[:, None] * G, rtol=1e-15)
    np.testing.assert_allclose(u2, -0.5 * gamma[:, None] * G + 0.5 * u1, rtol=1e-15)
    with pytest.raises(ValueError, match="`beta` must be non-negative and finite and below 1"):
        optim.ngn_momentum(1.0, beta=1.0)


def test_ngn_ema_weight_decay_sign_is_explicit():
    wd = 0.1
    for sign, s in (("decay", 1.0), ("repository", -1.0)):
        opt = optim.ngn_ema(0.7, beta1=0.9, weight_decay=wd, weight_decay_sign=sign)
        updates, state = step(opt)                       # first step: m_0 = g_0
        gamma = 0.7 / (1 + 0.7 * np.sum(G ** 2, 1) / (2 * F))
        np.testing.assert_allclose(updates, -gamma[:, None] * (G + s * wd * X), rtol=1e-15)
    base, _ = step(optim.ngn(0.7))
    np.testing.assert_allclose(step(optim.ngn_ema(0.7, beta1=0.0))[0], base, rtol=1e-15)


def test_sgd_sps_adagrad_adam_reference_steps():
    np.testing.assert_allclose(step(optim.sgd(0.1))[0], -0.1 * G)
    g2 = np.sum(G ** 2, 1)
    updates, state = step(optim.sps(c=0.5, max_lr=1.0))
    np.testing.assert_allclose(state.stepsize, np.minimum(F / (0.5 * g2), 1.0))
    updates, state = step(optim.adagrad(0.3, initial_accumulator=1e-10), n=2)
    np.testing.assert_allclose(state.stepsize, 0.3 / np.sqrt(1e-10 + 2 * g2), rtol=1e-15)
    updates, _ = step(optim.adam(0.01), n=1)              # first Adam step: -lr * sign(g) (eps aside)
    np.testing.assert_allclose(updates, -0.01 * G / (np.abs(G) + 1e-8), rtol=1e-12)
    updates, state = step(optim.adagrad(0.3, norm=False), n=1)
    np.testing.assert_allclose(updates, -0.3 * G / np.sqrt(1e-10 + G ** 2), rtol=1e-12)


def test_array_hyperparameters_sweep_the_leading_axis():
    sigma = np.array([0.1, 10.0])
    _, state = step(optim.ngn(sigma))
    g2 = np.sum(G ** 2, 1)
    np.testing.assert_allclose(state.stepsize, sigma / (1 + sigma * g2 / (2 * F)), rtol=1e-15)


def _ls(seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(20, 3))
    return LeastSquares(A, A @ np.ones(3))


def test_run_is_reproducible_and_independent_of_batching():
    prob = _ls()
    t8 = optim.run(optim.ngn(1.0), prob, np.zeros(3), n_steps=50, n_paths=8, batch_size=2, seed=5)
    t3 = optim.run(optim.ngn(1.0), prob, np.zeros(3), n_steps=50, n_paths=3, batch_size=2, seed=5)
    np.testing.assert_array_equal(t8.losses[:, :3], t3.losses)   # path i has its own stream
    t8b = optim.run(optim.ngn(1.0), prob, np.zeros(3), n_steps=50, n_paths=8, batch_size=2, seed=5)
    np.testing.assert_array_equal(t8.final_params, t8b.final_params)
    t_other = optim.run(optim.ngn(1.0), prob, np.zeros(3), n_steps=50, n_paths=3, batch_size=2, seed=6)
    assert not np.array_equal(t_other.losses, t3.losses)


def test_deterministic_run_converges_on_least_squares():
    prob = _ls()
    traj = optim.run(optim.ngn(10.0), prob, np.zeros(3), n_steps=300)
    assert traj.losses[-1, 0] < 1e-20
    np.testing.assert_allclose(traj.final_params[0], np.ones(3), atol=1e-9)


def test_diverged_paths_are_counted_frozen_and_excluded():
    prob = _ls()
    lr = np.r_[np.full(3, 100.0 / prob.smoothness), np.full(3, 0.1 / prob.smoothness)]
    traj = optim.run(optim.sgd(lr), prob, np.zeros(3), n_steps=200, n_paths=6, batch_size=1, seed=0)
    assert traj.n_diverged == 3 and list(traj.diverged) == [True] * 3 + [False] * 3
    assert np.all(traj.diverged_at[:3] >= 0) and np.all(traj.diverged_at[3:] == -1)
    assert np.all(np.isnan(traj.losses[-1, :3]))
    est = traj.loss_estimate()
    assert est.n == 3 and est.n_excluded == 3 and np.isfinite(est.value)


def test_run_bad_input():
    prob = _ls()
    with pytest.raises(ValueError, match="`x0` must have shape"):
        optim.run(optim.sgd(0.1), prob, np.zeros(4), n_steps=5)
    with pytest.raises(ValueError, match="`x0` must be finite"):
        optim.run(optim.sgd(0.1), prob, np.array([0.0, np.nan, 0.0]), n_steps=5)
    with pytest.raises(ValueError, match="`n_steps` must be a positive integer; got 0"):
        optim.run(optim.sgd(0.1), prob, np.zeros(3), n_steps=0)
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
        optim.run(optim.sgd(0.1), prob, np.zeros(3), n_steps=5, batch_size=0)
    with pytest.raises(ValueError, match="`seed` must be a non-negative integer"):
        optim.run(optim.sgd(0.1), prob, np.zeros(3), n_steps=5, batch_size=1, seed=-1)


def test_ngn_never_leaves_a_bounded_region_where_sgd_blows_up():
    # N2: |x+ - x|^2 <= sigma f / 2 whatever sigma; check on a quadratic with offset
    prob = OffsetQuadratic(np.array([1.0, 4.0]), np.array([[0.0], [1.0]]), np.array([0.0, 0.2]))
    traj = optim.run(optim.ngn(1e6), prob, np.array([3.0]), n_steps=200, n_paths=4, batch_size=1, seed=1)
    assert traj.n_diverged == 0
    assert np.all(traj.step_sq_norms <= 1e6 * traj.sample_losses / 2 * (1 + 1e-12))


def test_logistic_problem_runs_stochastically():
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(40, 2))
    y = np.where(rng.random(40) < 0.5, -1, 1)
    prob = LogisticRegression(Z, y)
    traj = optim.run(optim.ngn(1.0), prob, np.zeros(2), n_steps=100, n_paths=4, batch_size=4, seed=0)
    assert traj.n_diverged == 0 and traj.stepsizes.shape == (100, 4)


# ------------------------------------------------------------------ pytrees, chain, apply_updates
def _problems():
    """Problems whose minimiser is known independently: least squares (consistent system, x* = 1
    by construction) and an offset quadratic (x* the h-weighted mean of the centres, closed form)."""
    rng = np.random.default_rng(11)
    A = rng.normal(size=(40, 3))
    centres = rng.normal(size=(4, 3))
    h = np.array([1.0, 2.0, 0.5, 1.5])
    return {"least-squares": (LeastSquares(A, A @ np.ones(3)), np.ones(3)),
            "offset-quadratic": (OffsetQuadratic(h, centres, np.full(4, 0.1)),
                                 (h[:, None] * centres).sum(0) / h.sum())}


# step sizes in units of 1/L: inside every method's convergent range on these problems
REGISTRY = {"ngn": lambda L: optim.ngn(1.0 / L), "sgd": lambda L: optim.sgd(1.0 / L),
            "sps": lambda L: optim.sps(c=0.5, max_lr=1.0 / L), "adagrad": lambda L: optim.adagrad(1.0),
            "adam": lambda L: optim.adam(0.02), "ngn_momentum": lambda L: optim.ngn_momentum(1.0 / L, 0.5),
            "ngn_ema": lambda L: optim.ngn_ema(1.0 / L, 0.5),
            "chain(scale, sgd)": lambda L: optim.chain(optim.scale(0.5), optim.sgd(2.0 / L))}


def _as_tree(x):
    return {"w": x[:2].reshape(2, 1), "b": (x[2:],)}


def _from_tree(t):
    return np.concatenate([t["b"][0], t["w"].ravel()])    # sorted keys: "b" before "w"


@pytest.mark.parametrize("problem_name", ["least-squares", "offset-quadratic"])
@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registry_converges_and_tree_equals_flat(name, problem_name):
    prob, x_star = _problems()[problem_name]
    make = REGISTRY[name]
    opt = make(prob.smoothness)
    # the flat vector a tree flattens to is [b, w] (dict keys sorted); run the flat form in that order
    perm = np.array([2, 0, 1])
    x_flat = np.zeros(3)
    x_tree = _as_tree(np.zeros(3))
    s_flat, s_tree = opt.init(x_flat), opt.init(x_tree)
    for _ in range(250):
        value, grad = prob.value_and_grad(x_flat[np.argsort(perm)])
        u, s_flat = opt.update(grad[perm], s_flat, x_flat, value=value)
        x_flat = optim.apply_updates(x_flat, u)
        tv, tg = prob.value_and_grad(np.concatenate([x_tree["w"].ravel(), x_tree["b"][0]]))
        ut, s_tree = opt.update(_as_tree(tg), s_tree, x_tree, value=tv)
        x_tree = optim.apply_updates(x_tree, ut)
        assert isinstance(ut, dict) and ut["w"].shape == (2, 1) and isinstance(ut["b"], tuple)
    np.testing.assert_array_equal(_from_tree(x_tree), x_flat)          # identical numbers
    start = np.linalg.norm(x_star)
    # a decade of progress towards the known minimiser (Adam's constant lr = 0.02 sets its floor)
    assert np.linalg.norm(x_flat[np.argsort(perm)] - x_star) < start / 10


def test_chain_equals_the_hand_composed_update():
    first, second = optim.adam(0.01), optim.ngn(0.7)
    composed = optim.chain(first, second)
    state = composed.init(X)
    s1, s2 = first.init(X), second.init(X)
    for _ in range(3):
        u, state = composed.update(G, state, X, value=F)
        u1, s1 = first.update(G, s1, X, value=F)
        u2, s2 = second.update(u1, s2, X, value=F)
        np.testing.assert_array_equal(u, u2)
    assert isinstance(state, tuple) and len(state) == 2
    # sgd(a) then sgd(b): u = -b (-a g) = a b g
    u, _ = optim.chain(optim.sgd(0.1), optim.sgd(0.5)).update(G, optim.chain(optim.sgd(0.1), optim.sgd(0.5)).init(X))
    np.testing.assert_allclose(u, 0.05 * G, rtol=1e-15)
    traj = optim.run(optim.chain(optim.scale(0.1), optim.sgd(1.0)), _ls(), np.zeros(3), n_steps=20, n_paths=2)
    ref = optim.run(optim.sgd(0.1), _ls(), np.zeros(3), n_steps=20, n_paths=2)
    np.testing.assert_allclose(traj.losses, ref.losses, rtol=1e-15)
    np.testing.assert_array_equal(traj.stepsizes, np.ones_like(ref.stepsizes))  # the last transform's step


def test_apply_updates_on_nested_trees():
    params = {"layer": [np.ones((2, 2)), (np.zeros(3), 1.5)], "bias": np.array([1.0])}
    updates = {"layer": [np.full((2, 2), 0.5), (np.arange(3.0), -0.5)], "bias": np.array([-1.0])}
    new = optim.apply_updates(params, updates)
    np.testing.assert_array_equal(new["layer"][0], np.full((2, 2), 1.5))
    np.testing.assert_array_equal(new["layer"][1][0], np.arange(3.0))
    assert float(new["layer"][1][1]) == 1.0 and isinstance(new["layer"][1], tuple)
    np.testing.assert_array_equal(new["bias"], [0.0])
    with pytest.raises(ValueError, match=r"`updates\['layer'\]\[0\]` must have the shape"):
        optim.apply_updates(params, {**updates, "layer": [np.ones(4), updates["layer"][1]]})
    with pytest.raises(ValueError, match="tree structure"):
        optim.apply_updates(params, {"bias": np.ones(1)})


def test_init_accepts_a_dict_and_update_checks_gradient_shapes():
    opt = optim.sgd(0.1)
    state = opt.init({"w": np.ones((3, 2)), "b": np.zeros(2)})      # optax style; was a TypeError
    u, _ = opt.update({"w": np.ones((3, 2)), "b": np.ones(2)}, state)
    np.testing.assert_array_equal(u["w"], np.full((3, 2), -0.1))
    with pytest.raises(ValueError, match=r"`grads\['w'\]` must have the shape of `params\['w'\]` \(3, 2\)"):
        opt.update({"w": np.ones((2, 3)), "b": np.ones(2)}, state)
    ngn = optim.ngn(1.0)
    with pytest.raises(ValueError, match=r"`grads` must have the shape of `params` \(2, 2\); got \(2, 3\)"):
        ngn.update(np.ones((2, 3)), ngn.init(X), X, value=F)         # was accepted
    with pytest.raises(TypeError, match="must be the state returned"):
        ngn.update(G, (0, 1), X, value=F)
