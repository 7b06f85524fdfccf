"""Property tests (hypothesis) of the NGN stepsize statements on random non-negative functions:
N1 (sigma/(1+sigma L) <= gamma <= sigma for L-smooth f >= 0), N2 (bounded step for any f >= 0)
and N3 (the key inequality), each evaluated at a random point of a random function."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lemmata.numerics import optim
from lemmata.numerics.problems import LogisticRegression, OffsetQuadratic

finite = st.floats(-1e3, 1e3, allow_nan=False)
positive = st.floats(1e-3, 1e3, allow_nan=False)
sigmas = st.floats(1e-6, 1e6, allow_nan=False)
ROUNDOFF = 8 * np.finfo(float).eps


def _ngn_step(sigma, value, grad):
    opt = optim.ngn(sigma)
    x = np.zeros((1, grad.size))
    updates, state = opt.update(grad[None], opt.init(x), x, value=np.array([value]))
    return float(state.stepsize[0]), updates[0]


@settings(max_examples=300, deadline=None)
@given(h=positive, c=st.floats(0, 1e3), centre=finite, x=finite, sigma=sigmas)
def test_n1_on_offset_quadratics(h, c, centre, x, sigma):
    prob = OffsetQuadratic(np.array([h]), np.array([[centre]]), np.array([c]))
    value, grad = prob.value_and_grad(np.array([[x]]))
    if value[0] == 0:
        return
    gamma, _ = _ngn_step(sigma, value[0], grad[0])
    assert sigma / (1 + sigma * h) * (1 - ROUNDOFF) <= gamma <= sigma * (1 + ROUNDOFF)


@settings(max_examples=200, deadline=None)
@given(z=st.lists(st.floats(-10, 10, allow_nan=False), min_size=2, max_size=2),
       w=st.lists(finite, min_size=2, max_size=2), sigma=sigmas)
def test_n1_on_logistic_samples(z, w, sigma):
    Z = np.array([z, [-z[0], -z[1]], [1.0, 1.0], [1.0, 1.0]])
    if np.linalg.norm(Z[0]) < 1e-3:
        return
    prob = LogisticRegression(Z, np.array([1, 1, 1, -1]))       # samples 3, 4 overlap: never separable
    value, grad = prob.value_and_grad(np.array([w]), np.array([0]))
    if value[0] < 1e-250:
        return
    gamma, _ = _ngn_step(sigma, value[0], grad[0])
    L = prob.sample_smoothness[0]
    assert sigma / (1 + sigma * L) * (1 - ROUNDOFF) <= gamma <= sigma * (1 + ROUNDOFF)


@settings(max_examples=300, deadline=None)
@given(value=st.floats(1e-200, 1e200), grad=st.lists(st.floats(-1e100, 1e100), min_size=1, max_size=4),
       sigma=sigmas)
def test_n2_bounded_step_for_any_nonnegative_value(value, grad, sigma):
    grad = np.array(grad)
    if not np.isfinite(np.sum(grad ** 2)):
        return
    gamma, step = _ngn_step(sigma, value, grad)
    assert np.sum(step ** 2) <= sigma * value / 2 * (1 + ROUNDOFF)
    assert gamma * np.sum(grad ** 2) <= 2 * value * (1 + ROUNDOFF)


@settings(max_examples=300, deadline=None)
@given(h=positive, c=st.floats(0, 10), x=finite, sigma=sigmas)
def test_n3_key_inequality_on_offset_quadratics(h, c, x, sigma):
    prob = OffsetQuadratic(np.array([h]), np.array([[0.0]]), np.array([c]))
    value, grad = prob.value_and_grad(np.array([[x]]))
    if value[0] == 0:
        return
    gamma, _ = _ngn_step(sigma, value[0], grad[0])
    L = h
    excess = 0.5 * h * x * x          # f - f*, exactly as the inequality means it (no cancellation)
    lhs = gamma ** 2 * float(np.sum(grad ** 2))
    rhs = (4 * sigma * L / (1 + 2 * sigma * L) * gamma * excess
           + 2 * sigma ** 2 * L / (1 + sigma * L) * max((2 * sigma * L - 1) / (2 * sigma * L + 1), 0) * c)
    assert lhs <= rhs * (1 + 64 * ROUNDOFF) + 1e-300
