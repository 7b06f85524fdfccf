"""Batched signatures against independent references: the exact rational algebra
(lemmata.analysis.signature), the closed form of a straight segment, Witt's formula for the number of
Lyndon words, and iisignature where it is installed."""

import math

import numba
import numpy as np
import pytest

from lemmata.analysis import signature as exact
from lemmata.numerics.signature import (logsig_length, logsignature, sig_length, signature, signature_combine,
                                signature_kernel, tensor_exp, tensor_log)

BACKENDS = ["numba", "numpy", pytest.param("cupy", marks=pytest.mark.gpu)]


def _exact_flat(points, depth):
    d = len(points[0])
    return np.array([float(c) for c in exact.flatten(exact.signature(points, depth), d, depth)])


def _to_numpy(x):
    return x.get() if hasattr(x, "get") else np.asarray(x)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("d,depth", [(1, 4), (2, 5), (3, 3), (4, 2)])
def test_matches_exact_rational_signature(backend, d, depth):
    rng = np.random.default_rng(d * 10 + depth)
    points = rng.integers(-3, 4, size=(5, d))
    got = _to_numpy(signature(points.astype(float), depth, backend=backend))
    ref = _exact_flat([tuple(int(v) for v in p) for p in points], depth)
    assert got.shape == (sig_length(d, depth),)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-13 * np.abs(ref).max())


def test_straight_segment_is_the_tensor_exponential():
    v = np.array([0.3, -1.2, 0.7])
    got = signature(np.array([np.zeros(3), v]), 4)
    blocks, level = [], np.ones(1)
    for k in range(1, 5):
        level = np.kron(level, v)                # v^{(x)k} in lexicographic word order
        blocks.append(level / math.factorial(k))
    np.testing.assert_allclose(got, np.concatenate(blocks), rtol=1e-15)
    np.testing.assert_allclose(tensor_exp(v, 4), np.concatenate(blocks), rtol=1e-15)


@pytest.mark.parametrize("batch", [1, 63, 64, 65, 130])
def test_batches_of_any_size_equal_one_path_at_a_time(batch):
    rng = np.random.default_rng(batch)
    X = rng.normal(size=(batch, 11, 2)).cumsum(axis=1)
    whole = signature(X, 4)
    singles = np.stack([signature(x, 4) for x in X])
    np.testing.assert_array_equal(whole, singles)       # lanes are independent: bit-identical


def test_same_numbers_for_any_thread_count():
    X = np.random.default_rng(0).normal(size=(300, 50, 3))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = signature(X, 3)
        numba.set_num_threads(max(2, before))
        many = signature(X, 3)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, many)


@pytest.mark.parametrize("backend", BACKENDS)
def test_stream_gives_the_signature_of_every_prefix(backend):
    X = np.random.default_rng(1).normal(size=(5, 9, 2))
    stream = _to_numpy(signature(X, 3, backend=backend, stream=True))
    assert stream.shape == (5, 8, sig_length(2, 3))
    for j in range(1, 9):
        np.testing.assert_allclose(stream[:, j - 1], signature(X[:, :j + 1], 3), rtol=1e-12, atol=1e-14)


def test_chen_combine_and_broadcasting():
    X = np.random.default_rng(2).normal(size=(7, 12, 3))
    a, b = signature(X[:, :6], 3), signature(X[:, 5:], 3)
    np.testing.assert_allclose(signature_combine(a, b, 3, 3), signature(X, 3), rtol=1e-12, atol=1e-13)
    # one signature combined with a batch (broadcast)
    np.testing.assert_allclose(signature_combine(a[0], b, 3, 3)[0], signature(X[0], 3), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("d", [2, 3, 5])
def test_number_of_lyndon_words_is_witts_formula(d):
    def mobius(n):
        result, p, m = 1, 2, n
        while p * p <= m:
            if m % p == 0:
                m //= p
                if m % p == 0:
                    return 0
                result = -result
            p += 1
        return -result if m > 1 else result

    for depth in range(1, 5):
        witt = sum(sum(mobius(m) * d ** (k // m) for m in range(1, k + 1) if k % m == 0) // k
                   for k in range(1, depth + 1))
        assert logsig_length(d, depth) == witt


@pytest.mark.parametrize("backend", BACKENDS)
def test_logsignature_matches_exact_lyndon_coordinates(backend):
    points = [(0, 0, 1), (2, -1, 0), (1, 1, 1), (3, 0, -2)]
    ref = np.array([float(c) for c in exact.logsignature(points, 4)])
    got = _to_numpy(logsignature(np.array(points, dtype=float), 4, backend=backend))
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


def test_log_inverts_exp():
    v = np.random.default_rng(3).normal(size=(4, 3))
    logged = tensor_log(tensor_exp(v, 4), 3, 4)
    np.testing.assert_allclose(logged[:, :3], v, rtol=1e-14)
    np.testing.assert_allclose(logged[:, 3:], 0.0, atol=1e-14)


@pytest.mark.parametrize("d,depth", [(2, 4), (3, 3), (4, 3), (2, 6)])
def test_agrees_with_iisignature(d, depth):
    iisignature = pytest.importorskip("iisignature")
    X = np.random.default_rng(d + depth).normal(size=(20, 30, d)).cumsum(axis=1) * 0.2
    ref = iisignature.sig(X, depth)
    np.testing.assert_allclose(signature(X, depth), ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    ref_log = iisignature.logsig(X, iisignature.prepare(d, depth))
    np.testing.assert_allclose(logsignature(X, depth), ref_log, rtol=0, atol=1e-12 * np.abs(ref_log).max())
    ref_stream = iisignature.sig(X, depth, 2)
    np.testing.assert_allclose(signature(X, depth, stream=True), ref_stream, rtol=0,
                               atol=1e-12 * np.abs(ref_stream).max())


def test_kernel_of_one_dimensional_paths_is_a_bessel_like_series():
    # d = 1: S^k = dx^k / k!, so k_M(X, Y) = sum_{k<=M} (dx dy)^k / (k!)^2
    X = np.array([[0.0], [0.5], [1.3]])
    Y = np.array([[[1.0], [0.2]], [[0.0], [2.0]]])
    K = signature_kernel(X, Y, 6)
    for j, y in enumerate(Y):
        t = 1.3 * (y[-1, 0] - y[0, 0])
        assert K[0, j] == pytest.approx(sum(t ** k / math.factorial(k) ** 2 for k in range(7)), rel=1e-14)


def test_kernel_gram_is_symmetric_positive_semidefinite():
    X = np.random.default_rng(4).normal(size=(12, 8, 2))
    K = signature_kernel(X, depth=4)
    np.testing.assert_allclose(K, K.T, rtol=1e-14)
    assert np.linalg.eigvalsh(K).min() > -1e-10 * np.abs(K).max()


@pytest.mark.parametrize("call,match", [
    (lambda: signature(np.zeros((3, 2)), 0), "depth"),
    (lambda: signature(np.zeros((0, 2)), 2), "at least 1 point"),
    (lambda: signature(np.array([[0.0, 1.0], [np.nan, 0.0]]), 2), "finite"),
    (lambda: signature(np.zeros((2, 3, 4, 5)), 2), "shape"),
    (lambda: signature(np.zeros((3, 2)), 2, backend="torch"), "backend"),
    (lambda: signature_combine(np.zeros(6), np.zeros(5), 2, 2), "sig_b"),
    (lambda: signature_combine(np.zeros((3, 6)), np.zeros((2, 6)), 2, 2), "broadcastable"),
    (lambda: signature_kernel(np.zeros((3, 2)), np.zeros((3, 3)), 2), "channels"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_one_point_path_has_the_trivial_signature(backend):
    # S(one point) = S(a path of zero length) = 1 (+ zeros): all zeros without the leading 1,
    # as iisignature returns; its log is 0
    point = np.array([[0.3, -1.2]])
    zero_length = np.array([[0.3, -1.2], [0.3, -1.2]])
    np.testing.assert_array_equal(signature(point, 3, backend=backend), np.zeros(sig_length(2, 3)))
    np.testing.assert_array_equal(signature(point, 3, backend=backend), signature(zero_length, 3, backend=backend))
    np.testing.assert_array_equal(logsignature(point, 3, backend=backend), np.zeros(logsig_length(2, 3)))
    assert signature(point[None], 2, backend=backend, stream=True).shape == (1, 0, 6)


def test_huge_depth_is_refused_with_a_size_estimate():
    with pytest.raises(ValueError, match=r"2\.199e\+12 signature coordinates per path.*PiB"):
        signature(np.zeros((3, 2)), 40)
    assert logsig_length(2, 40) == 56466147791        # Witt's formula, no enumeration


def test_logsig_length_is_the_number_of_lyndon_words():
    from lemmata.analysis.signature import lyndon_words
    for d in (1, 2, 3):
        for depth in (1, 3, 5):
            assert logsig_length(d, depth) == len(lyndon_words(d, depth))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_overflow_is_flagged(backend):
    from lemmata.numerics.arrays import NonFiniteWarning
    path = np.array([[0.0, 0.0], [1e120, 1e120]])          # level 3 holds (1e120)^3 / 6 = inf
    with pytest.warns(NonFiniteWarning, match="non-finite"):
        sig = signature(path, 3, backend=backend)
    assert np.isinf(sig[-8:]).all() and np.isfinite(sig[:6]).all()
