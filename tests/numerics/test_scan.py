"""The scan engine against a plain Python loop (the definition), across methods, backends,
dtypes, layouts; tangents against finite differences; associativity as a property."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lemmata.numerics.scan import (diagonal_sensitivity, linear_scan, linear_scan_dense, linear_scan_jvp,
                           sensitivity_coefficients)

METHODS = [("sequential", "numba"), ("associative", "numba"), ("sequential", "numpy"),
           ("associative", "numpy"), pytest.param("associative", "cupy", marks=pytest.mark.gpu),
           pytest.param("sequential", "cupy", marks=pytest.mark.gpu)]


def loop(a, b, h0, reverse=False):
    a = np.broadcast_to(a, b.shape)
    out = np.empty(b.shape, dtype=np.result_type(a, b, h0))
    h = h0
    for t in (range(b.shape[0] - 1, -1, -1) if reverse else range(b.shape[0])):
        h = a[t] * h + b[t]
        out[t] = h
    return out


def _get(x):
    return x.get() if hasattr(x, "get") else x


@pytest.mark.parametrize("method,backend", METHODS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32, np.complex64])
@pytest.mark.parametrize("reverse", [False, True])
def test_scan_matches_the_definition(method, backend, dtype, reverse):
    rng = np.random.default_rng(1)
    T, C = 37, (3, 5)
    a = rng.uniform(-0.95, 0.95, (T,) + C).astype(dtype)
    b = rng.normal(size=(T,) + C).astype(dtype)
    if np.issubdtype(dtype, np.complexfloating):
        a = (a * np.exp(1j * rng.uniform(0, 6, a.shape))).astype(dtype)
    h0 = rng.normal(size=C).astype(dtype)
    expected = loop(a.astype(np.complex128), b.astype(np.complex128), h0.astype(np.complex128), reverse)
    got = _get(linear_scan(a, b, h0, reverse=reverse, method=method, backend=backend))
    assert got.shape == b.shape and got.dtype == dtype
    tol = 1e-5 if dtype in (np.float32, np.complex64) else 1e-13
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("method", ["sequential", "associative"])
def test_constant_and_broadcast_transitions(method):
    rng = np.random.default_rng(2)
    b = rng.normal(size=(50, 4))
    a = np.array([0.1, 0.5, -0.9, 0.99])
    np.testing.assert_allclose(linear_scan(a, b, method=method), loop(a, b, np.zeros(4)), rtol=1e-13)
    shared = rng.uniform(0, 1, (50, 1))          # time-varying, shared by all channels
    np.testing.assert_allclose(linear_scan(shared, b, method=method), loop(shared, b, np.zeros(4)), rtol=1e-13)


def test_out_is_filled_without_allocation():
    b = np.ones((10, 3))
    out = np.empty_like(b)
    result = linear_scan(0.5 * np.ones(3), b, out=out)
    assert result.base is out or result is out
    np.testing.assert_allclose(out[-1], 2 * (1 - 0.5 ** 10))      # geometric sum
    with pytest.raises(ValueError, match="`out` must have shape"):
        linear_scan(np.ones(3), b, out=np.empty((10, 2)))
    with pytest.raises(ValueError, match="C-contiguous"):
        linear_scan(np.ones(3), b, out=np.empty((3, 10)).T)


def test_bad_input():
    with pytest.raises(ValueError, match="`a` must broadcast to the shape of `b`"):
        linear_scan(np.ones((5, 2)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="`h0` must broadcast"):
        linear_scan(np.ones(3), np.ones((5, 3)), np.ones(4))
    with pytest.raises(ValueError, match="time axis"):
        linear_scan(np.ones(3), np.ones((0, 3)))
    with pytest.raises(ValueError, match="`method` must be one of"):
        linear_scan(np.ones(3), np.ones((5, 3)), method="parallel")
    with pytest.raises(ValueError, match="`backend` must be one of"):
        linear_scan(np.ones(3), np.ones((5, 3)), backend="jax")


def test_dense_and_block_diagonal():
    rng = np.random.default_rng(3)
    T, K, k = 30, 3, 2
    blocks = rng.normal(size=(K, k, k)) / 3
    dense = np.zeros((K * k, K * k))
    for j in range(K):
        dense[j * k:(j + 1) * k, j * k:(j + 1) * k] = blocks[j]
    b = rng.normal(size=(T, K * k))
    h, expected = np.zeros(K * k), []
    for t in range(T):
        h = dense @ h + b[t]
        expected.append(h)
    np.testing.assert_allclose(linear_scan_dense(dense, b), expected, rtol=1e-12)
    np.testing.assert_allclose(linear_scan_dense(blocks, b, blocks=True), expected, rtol=1e-12)
    varying = rng.normal(size=(T, K * k, K * k)) / 4
    h, expected = np.zeros(K * k), []
    for t in range(T):
        h = varying[t] @ h + b[t]
        expected.append(h)
    np.testing.assert_allclose(linear_scan_dense(varying, b), expected, rtol=1e-12)
    # a diagonal dense matrix is the diagonal scan
    d = rng.uniform(-0.9, 0.9, K * k)
    np.testing.assert_allclose(linear_scan_dense(np.diag(d), b), linear_scan(d, b), rtol=1e-13)
    with pytest.raises(ValueError, match="`A` must be"):
        linear_scan_dense(np.ones((3, 3)), b)


def test_jvp_matches_finite_differences():
    rng = np.random.default_rng(4)
    T, n = 40, 3
    a, da = rng.uniform(-0.9, 0.9, (T, n)), rng.normal(size=(T, n))
    b, db = rng.normal(size=(T, n)), rng.normal(size=(T, n))
    h, hdot = linear_scan_jvp(a, b, da, db)
    e = 1e-6
    fd = (linear_scan(a + e * da, b + e * db) - linear_scan(a - e * da, b - e * db)) / (2 * e)
    np.testing.assert_allclose(hdot, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("normalization", ["none", "l2", "l1"])
@pytest.mark.parametrize("parametrization,forward,inverse", [
    ("none", lambda w: w, lambda l: l),
    ("exp", lambda w: np.exp(-np.exp(w)), lambda l: np.log(-np.log(l))),
    ("sigmoid", lambda w: 1 / (1 + np.exp(-w)), lambda l: np.log(l / (1 - l))),
    ("optimal", np.tanh, np.arctanh),
])
def test_sensitivity_is_the_derivative_of_the_normalised_state(normalization, parametrization, forward, inverse):
    # reference: central differences of the state in the parameter (differentiate after normalising)
    rng = np.random.default_rng(5)
    lam = np.array([0.3, 0.8, 0.95])
    x = rng.normal(size=(60, 3))
    _, s = diagonal_sensitivity(lam, x, normalization=normalization, parametrization=parametrization)
    w, e = inverse(lam), 1e-6
    plus, _ = diagonal_sensitivity(forward(w + e), x, normalization=normalization)
    minus, _ = diagonal_sensitivity(forward(w - e), x, normalization=normalization)
    np.testing.assert_allclose(s, (plus - minus) / (2 * e), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("wrt", ["nu", "theta"])
@pytest.mark.parametrize("normalization", ["none", "l2"])
def test_complex_sensitivities(wrt, normalization):
    rng = np.random.default_rng(6)
    nu, theta = np.array([0.6, 0.97]), np.array([0.4, -2.0])
    x = rng.normal(size=(80, 2))
    _, s = diagonal_sensitivity(nu * np.exp(1j * theta), x, wrt=wrt, normalization=normalization)
    e = 1e-6

    def state(dn, dt):
        return diagonal_sensitivity((nu + dn) * np.exp(1j * (theta + dt)), x, wrt="nu",
                                    normalization=normalization)[0]
    fd = (state(e, 0) - state(-e, 0)) / (2 * e) if wrt == "nu" else (state(0, e) - state(0, -e)) / (2 * e)
    np.testing.assert_allclose(s, fd, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="must be real for wrt='lambda'"):
        diagonal_sensitivity(nu * np.exp(1j * theta), x)


def test_sensitivity_coefficients_bad_input():
    with pytest.raises(ValueError, match="`wrt` must be one of"):
        sensitivity_coefficients(np.array([0.5]), wrt="phase")
    with pytest.raises(ValueError, match="`normalization` must be one of"):
        sensitivity_coefficients(np.array([0.5]), normalization="batch")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-2, 2), st.floats(-5, 5)), min_size=3, max_size=3))
def test_scan_operator_is_associative(elements):
    # (a_i, b_i) o (a_j, b_j) = (a_j a_i, a_j b_i + b_j): composing affine maps is associative
    def op(x, y):
        return (y[0] * x[0], y[0] * x[1] + y[1])
    (p, q, r) = elements
    left, right = op(op(p, q), r), op(p, op(q, r))
    assert np.allclose(left, right, rtol=1e-12, atol=1e-12)
    a = np.array([e[0] for e in elements])[:, None]
    b = np.array([e[1] for e in elements])[:, None]
    seq = linear_scan(a, b, method="sequential")
    assoc = linear_scan(a, b, method="associative", backend="numpy")
    np.testing.assert_allclose(seq, assoc, rtol=1e-12, atol=1e-12)
    assert np.isclose(seq[-1, 0], left[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("reverse", [False, True])
def test_overflow_is_flagged_with_a_warning(backend, reverse):
    from lemmata.numerics.arrays import NonFiniteWarning
    a = np.array([1e200, 0.5])
    b = np.ones((4, 2))
    b[:, 0] = 1e200                                  # channel 0: 1e200, 1e400 = inf, ...
    with pytest.warns(NonFiniteWarning, match=r"3 non-finite values out of 8"):
        h = linear_scan(a, b, reverse=reverse, backend=backend)
    assert np.isfinite(h[:, 1]).all()                # the other channel is untouched
    x = linear_scan(np.full(3, 0.5), [[1.0, 2.0, 3.0]] * 5, backend=backend)   # lists are arrays too
    np.testing.assert_allclose(x[-1], [1.9375, 3.875, 5.8125])


def test_scan_refuses_what_is_not_an_array_of_numbers():
    with pytest.raises(TypeError, match="`b` must be an array of numbers"):
        linear_scan(np.ones(2), [["a", "b"]])
    with pytest.raises(ValueError, match="`a` must be a rectangular array"):
        linear_scan([[1.0], [1.0, 2.0]], np.ones((2, 2)))
