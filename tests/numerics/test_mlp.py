"""The MLP's derivatives against independent references: central finite differences of the loss
and of the analytic gradient (smooth activations; O(e^2) error, e = 1e-5), and for ReLU, where
finite differences are unusable at kinks, the exact dense Hessian assembled from the Jacobian
(G = J^T H_l J / m) and per-output Hessians of the piecewise-linear network (R)."""

import numpy as np
import pytest

from lemmata.numerics.mlp import MLP, coordinate_check, teacher_data, train
from lemmata.numerics.spectra import dense_matrix, top_eigenvalues

E = 1e-5
# error of a central difference of a smooth function at step E, with O(1) third derivatives
FD_RTOL = 1e-6

CONFIGS = [(act, scheme, loss) for act in ("tanh", "linear") for scheme in ("sp", "ntp", "mup", "depth_mup")
           for loss in ("mse", "xent")]


def _setup(act, scheme, loss, seed=0):
    widths = [3, 4, 4, 4, 3] if scheme == "depth_mup" else [3, 4, 4, 3]
    model = MLP(widths, act, scheme, loss=loss, residual=scheme == "ntp")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5, 3))
    Y = rng.integers(0, 3, 5) if loss == "xent" else rng.standard_normal((5, 3))
    return model, model.init(seed), X, Y


@pytest.mark.parametrize("act,scheme,loss", CONFIGS)
def test_gradient_and_hvp_match_finite_differences(act, scheme, loss):
    model, theta, X, Y = _setup(act, scheme, loss)
    eye = np.eye(model.n_params)
    g = model.grad(theta, X, Y)
    g_fd = np.array([(model.loss(theta + E * e, X, Y) - model.loss(theta - E * e, X, Y)) / (2 * E) for e in eye])
    np.testing.assert_allclose(g, g_fd, atol=FD_RTOL * np.abs(g).max())
    v = np.random.default_rng(1).standard_normal(model.n_params)
    hv = model.hvp(theta, X, Y, v)
    hv_fd = (model.grad(theta + E * v, X, Y) - model.grad(theta - E * v, X, Y)) / (2 * E)
    np.testing.assert_allclose(hv, hv_fd, atol=FD_RTOL * np.abs(hv).max())
    J = model.jacobian(theta, X)
    J_fd = np.stack([(model.forward(theta + E * e, X) - model.forward(theta - E * e, X)) / (2 * E) for e in eye], -1)
    np.testing.assert_allclose(J, J_fd, atol=FD_RTOL * np.abs(J).max())


@pytest.mark.parametrize("act,scheme,loss", [(a, s, l) for a in ("relu", "tanh") for s in ("mup", "depth_mup")
                                             for l in ("mse", "xent")])
def test_gauss_newton_residual_split_against_the_jacobian(act, scheme, loss):
    """G v from the R-operator equals J^T H_l J v / m from the per-sample Jacobian (a separate
    code path); H = G + R; for ReLU R comes from the output Hessians, and the exact dense H is
    symmetric."""
    model, theta, X, Y = _setup(act, scheme, loss, seed=2)
    m = X.shape[0]
    J = model.jacobian(theta, X)
    Hl = model.loss_hessians(theta, X, Y)
    G_ref = np.einsum("icp,icd,idq->pq", J, Hl, J) / m
    G = dense_matrix(lambda v: model.gauss_newton_hvp(theta, X, Y, v), model.n_params)
    R = dense_matrix(lambda v: model.residual_hvp(theta, X, Y, v), model.n_params)
    H = dense_matrix(lambda v: model.hvp(theta, X, Y, v), model.n_params)
    scale = np.abs(H).max()
    np.testing.assert_allclose(G, G_ref, atol=1e-13 * scale)
    np.testing.assert_allclose(H, G + R, atol=1e-13 * scale)
    np.testing.assert_allclose(H, H.T, atol=1e-13 * scale)
    if act == "relu":
        # per-output Hessians of a ReLU net are exact bilinear forms: the gradient of f_c is
        # piecewise polynomial in theta; a central difference of the Jacobian within one
        # activation pattern is exact up to round-off
        _, g, _ = model._loss_terms(model.forward(theta, X), model._targets(Y, m))
        eye = np.eye(model.n_params)
        dJ = np.stack([(model.jacobian(theta + 1e-7 * e, X) - model.jacobian(theta - 1e-7 * e, X)) / 2e-7
                       for e in eye], -1)
        R_ref = np.einsum("ic,icpq->pq", g / m, dJ)
        np.testing.assert_allclose(R, R_ref, atol=1e-6 * scale)


@pytest.mark.parametrize("loss", ["mse", "xent"])
def test_ntk_identities(loss):
    """Theta = J P J^T; the non-zero spectrum of P^1/2 G P^1/2 is that of H_l^1/2 Theta H_l^1/2 / m
    (equal to Theta / m for MSE)."""
    model = MLP([6, 16, 16, 3], "relu", "mup", loss=loss, base_width=8)
    X, labels = teacher_data(7, 6, 3, seed=4)
    Y = labels if loss == "xent" else np.eye(3)[labels]
    theta = model.init(3)
    J = model.jacobian(theta, X).reshape(21, -1)
    P = model.multipliers()
    ntk = model.ntk(theta, X)
    np.testing.assert_allclose(ntk, (J * P) @ J.T, rtol=1e-12, atol=1e-12 * np.abs(ntk).max())
    Hl = model.loss_hessians(theta, X, Y)
    w, U = np.linalg.eigh(Hl)
    root = np.einsum("icd,id,ied->ice", U, np.sqrt(np.clip(w, 0, None)), U)
    Rt = np.zeros((21, 21))
    for i in range(7):
        Rt[3 * i:3 * i + 3, 3 * i:3 * i + 3] = root[i]
    expected = np.linalg.eigvalsh(Rt @ ntk @ Rt / 7)[-1]
    res = top_eigenvalues(model.operator(theta, X, Y, part="gn"), model.n_params, tol=1e-12)
    assert res.converged
    assert abs(res.values[0] - expected) <= 1e-10 * expected


def test_training_reduces_loss_and_flags_divergence():
    X, labels = teacher_data(256, 8, 4, seed=0)
    model = MLP([8, 32, 32, 4], "relu", "mup", base_width=32)
    theta = model.init(0)
    res = train(model, theta, X, labels, eta=0.5, n_steps=60, batch_size=64, record_every=20)
    assert not res.diverged and res.losses[-1] < 0.8 * res.losses[0]
    assert list(res.steps) == [0, 20, 40, 60]
    adam = train(model, theta, X, labels, eta=0.01, n_steps=60, batch_size=64, optimizer="adam")
    assert adam.losses[-1] < 0.8 * adam.losses[0]
    blow = train(MLP([8, 32, 32, 4], "relu", "sp", loss="mse"), MLP([8, 32, 32, 4], "relu", "sp").init(0), X,
                 np.eye(4)[labels], eta=50.0, n_steps=50)
    assert blow.diverged and blow.n_steps < 50


def test_training_is_reproducible():
    X, labels = teacher_data(128, 8, 4, seed=1)
    model = MLP([8, 16, 16, 4], "tanh", "ntp")
    a = train(model, model.init(0), X, labels, eta=1.0, n_steps=10, batch_size=32, seed=3)
    b = train(model, model.init(0), X, labels, eta=1.0, n_steps=10, batch_size=32, seed=3)
    assert np.array_equal(a.theta, b.theta)


def test_coordinate_check_exponents():
    """Yang & Hu's coordinate check: muP updates are O(1) in width at every layer (features
    learn); under NTP the hidden features' updates shrink like n^{-1/2} while the output still
    moves O(1) (the kernel regime). Slack 0.2 on fitted slopes over widths 64..512 (measured: muP -0.08, -0.09, -0.13;
    NTP -0.55, -0.53, -0.03; the finite-width drift is what the slack covers); SP's readout
    update grows (exponent > 1/2)."""
    widths = (64, 128, 256, 512)
    mup = coordinate_check("mup", widths, eta=0.5, steps=2, n_samples=16)
    ntp = coordinate_check("ntp", widths, eta=0.5, steps=2, n_samples=16)
    sp_ = coordinate_check("sp", widths, eta=0.5, steps=2, n_samples=16)
    for e in mup.exponents:
        assert abs(e.value) < 0.2, mup.exponents
    for e in ntp.exponents[:-1]:
        assert abs(e.value + 0.5) < 0.2, ntp.exponents
    assert abs(ntp.exponents[-1].value) < 0.2, ntp.exponents
    assert sp_.exponents[-1].value > 0.5, sp_.exponents
    # hidden activations are O(1) at init (the muP output at init shrinks like 1/gamma, by design)
    assert np.all(np.abs(np.log(mup.activations[-1, :-1] / mup.activations[0, :-1])) < np.log(1.5))


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="`activation`"):
        MLP([3, 4, 2], "gelu")
    with pytest.raises(ValueError, match="`scheme`"):
        MLP([3, 4, 2], "relu", "xyz")
    with pytest.raises(ValueError, match="`widths`"):
        MLP([3, 0, 2])
    model = MLP([3, 4, 2])
    with pytest.raises(ValueError, match="`theta`"):
        model.loss(np.zeros(3), np.zeros((2, 3)), [0, 1])
    with pytest.raises(ValueError, match="`X`"):
        model.forward(model.init(0), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="`Y`"):
        model.loss(model.init(0), np.zeros((2, 3)), [0, 5])
