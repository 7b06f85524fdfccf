"""Random arrays at the array boundaries (issue 12, item 9, part B): NaN, inf, huge values, empty
arrays, wrong numbers of dimensions, object and string dtypes, integer / float32 / complex /
boolean dtypes, ragged lists of lists.

Every call either fails *clearly* -- a LemmataError, ValueError or TypeError with a message,
raised by lemmata's own code (the innermost frame of the traceback is a lemmata file, never NumPy,
SciPy or Numba) -- or returns an answer that is checked against an independent computation (or
is flagged with a NonFiniteWarning when it is not finite): no input is accepted and returned as a
silent wrong number.
"""

from __future__ import annotations

import pathlib
import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sps
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lemmata
from lemmata.analysis import Derivation
from lemmata.analysis.errors import LemmataError
from lemmata.graphs import hop_counts
from lemmata.numerics import optim, orbits, scan, signature, stats
from lemmata.numerics.arrays import NonFiniteWarning, as_array

ROOT = pathlib.Path(lemmata.__file__).resolve().parent
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))

dtypes = st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.complex128, np.bool_])
numeric_arrays = hnp.arrays(dtype=dtypes, shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
odd_values = st.sampled_from([
    None, "abc", {"a": 1.0}, [[1.0, 2.0], [3.0]], [[1.0], [np.zeros(2)]], [1.0, "x"],
    np.array([1.0, "a"], dtype=object), np.array([None, None]), np.array(["1.0", "2.0"]), [],
    [[np.nan, 1.0], [np.inf, -np.inf]], [1e308, 1e308], [[]],
])
float_lists = st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=3),
                       min_size=0, max_size=4)
anything = st.one_of(numeric_arrays, odd_values, float_lists)


def _fails_clearly(exc: BaseException):
    """A clear failure: the right type, a message, raised by lemmata itself."""
    assert isinstance(exc, (LemmataError, ValueError, TypeError)), f"{type(exc).__name__}: {exc}"
    assert str(exc).strip(), f"{type(exc).__name__} without a message"
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    origin = pathlib.Path(tb.tb_frame.f_code.co_filename).resolve()
    assert ROOT in origin.parents, f"raw {type(exc).__name__} from {origin}: {exc}"


def _call(fn, *args, **kwargs):
    """(result, caught warnings) or None after checking that the failure is clear."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return fn(*args, **kwargs), caught
        except Exception as exc:                     # noqa: BLE001 - judged by _fails_clearly
            _fails_clearly(exc)
            return None


def _flagged(caught) -> bool:
    return any(issubclass(w.category, NonFiniteWarning) for w in caught)


@FUZZ
@given(value=anything, finite=st.booleans(), complex_ok=st.booleans())
def test_as_array_returns_the_numbers_or_fails_clearly(value, finite, complex_ok):
    out = _call(as_array, value, name="x", finite=finite, complex_ok=complex_ok, min_size=0)
    if out is None:
        return
    arr, _ = out
    reference = np.asarray(value)                      # accepted: the same numbers
    assert arr.shape == reference.shape
    assert arr.dtype.kind in "fc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(arr, reference.astype(arr.dtype))
    if finite:
        assert np.isfinite(arr).all()


@FUZZ
@given(paths=anything, depth=st.integers(1, 3), backend=st.sampled_from(["numba", "numpy"]))
def test_signature_is_right_or_fails_clearly(paths, depth, backend):
    out = _call(signature.signature, paths, depth, backend=backend)
    if out is None:
        return
    result, caught = out
    arr = np.asarray(paths, dtype=float)
    assert arr.ndim in (2, 3) and np.isfinite(arr).all()
    reference = signature.signature(arr, depth, backend="numpy" if backend == "numba" else "numba")
    if np.isfinite(result).all():
        np.testing.assert_allclose(result, reference, rtol=1e-9, atol=1e-9 * (1 + np.abs(reference).max()))
    else:
        assert _flagged(caught)


@FUZZ
@given(a=anything, b=anything, backend=st.sampled_from(["numba", "numpy"]))
def test_linear_scan_is_right_or_fails_clearly(a, b, backend):
    out = _call(scan.linear_scan, a, b, backend=backend)
    if out is None:
        return
    result, caught = out
    a_, b_ = np.asarray(a), np.asarray(b)
    h = np.zeros(b_.shape[1:], dtype=result.dtype)
    expected = np.empty_like(result)
    with np.errstate(all="ignore"):
        for t in range(b_.shape[0]):                  # the recurrence written out
            at = a_[t] if a_.ndim == b_.ndim and a_.shape[0] == b_.shape[0] else (a_[0] if a_.ndim == b_.ndim else a_)
            h = at * h + b_[t]
            expected[t] = h
    np.testing.assert_allclose(result, expected, rtol=1e-6, equal_nan=True)
    if not np.isfinite(result).all():
        assert _flagged(caught)


@st.composite
def graphs(draw):
    n = draw(st.integers(0, 7))
    edges = draw(st.lists(st.tuples(st.integers(0, max(n - 1, 0)), st.integers(0, max(n - 1, 0))), max_size=12))
    kind = draw(st.sampled_from(["graph", "digraph", "multigraph", "sparse", "dense"]))
    weights = draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, -3.5, 7.0]), min_size=len(edges), max_size=len(edges)))
    if kind in ("sparse", "dense"):
        A = np.zeros((n, n))
        for (u, v), w in zip(edges, weights):
            if n:
                A[u, v] = w                           # zero entries stay stored in the sparse case
        G = sps.csr_matrix(A) if kind == "dense" else sps.csr_matrix((A[A != 0], np.nonzero(A)), shape=(n, n))
        if kind == "sparse" and edges and n:
            G = G.tolil()
            u, v = edges[0]
            G[u, v] = 0.0
            G = G.tocsr()
        reference = nx.from_numpy_array((G.toarray() != 0).astype(int), create_using=nx.DiGraph)
        return (G if kind == "sparse" else G.toarray()), reference
    G = {"graph": nx.Graph, "digraph": nx.DiGraph, "multigraph": nx.MultiGraph}[kind]()
    G.add_nodes_from(range(n))
    for (u, v), w in zip(edges, weights):
        if n:
            G.add_edge(u, v, weight=w)
    return G, G


@FUZZ
@given(case=graphs(), K=st.one_of(st.integers(-1, 4), st.sampled_from([2.0, np.int64(2), "2", None])))
def test_hop_counts_count_hops_or_fail_clearly(case, K):
    G, reference = case
    out = _call(hop_counts, G, K)
    if out is None:
        return
    counts, _ = out
    assert isinstance(K, (int, np.integer)) and K >= 0
    for i, v in enumerate(reference):                  # NetworkX's BFS: weights ignored
        lengths = nx.single_source_shortest_path_length(reference, v, cutoff=int(K))
        assert list(counts[i]) == [sum(1 for d in lengths.values() if d == k) for k in range(int(K) + 1)]


@FUZZ
@given(params=anything, grads=anything, lr=st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                                    st.sampled_from([np.float32(0.1), "0.1", None])))
def test_optimizer_updates_are_right_or_fail_clearly(params, grads, lr):
    made = _call(optim.sgd, lr)
    if made is None:
        return
    opt, _ = made
    assert np.isfinite(lr) and lr > 0
    state = _call(opt.init, params)
    if state is None:
        return
    out = _call(opt.update, grads, state[0], params)
    if out is None:
        return
    (updates, _state), _ = out
    got, want, shapes = _leaves(updates), _leaves(grads), [np.shape(v) for v in _leaves(params)]
    assert [np.shape(u) for u in got] == [np.shape(g) for g in want] == shapes   # the shapes of params
    with np.errstate(all="ignore"):
        for u, g in zip(got, want):
            np.testing.assert_array_equal(u, -np.float64(lr) * np.asarray(g, dtype=float))


def _leaves(tree):
    """Leaves by the documented rule: dicts (sorted keys) and lists/tuples holding an array or a
    dict are trees; anything else (a list of plain numbers included) is one array leaf."""
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in _leaves(tree[k])]
    if isinstance(tree, (list, tuple)) and any(isinstance(v, (dict, np.ndarray)) or
                                               (isinstance(v, (list, tuple)) and len(_leaves(v)) != 1 or
                                                isinstance(v, (list, tuple)) and v and
                                                isinstance(v[0], (dict, np.ndarray))) for v in tree):
        return [leaf for v in tree for leaf in _leaves(v)]
    return [tree]


_x, _r = sp.Symbol("x", real=True), sp.Symbol("r", positive=True)
LOGISTIC_MAP = Derivation("logistic_map", (_x,), (_r,), {"map": _r * _x * (1 - _x)})


@FUZZ
@given(etas=anything, inits=anything)
def test_orbit_diagram_inputs_are_checked(etas, inits):
    out = _call(orbits.orbit_diagram, LOGISTIC_MAP, etas, inits, n_transient=1, n_keep=2, backend="numpy",
                lyapunov=False)
    if out is None:
        return
    diagram, _ = out
    e = np.asarray(etas, dtype=float).reshape(-1)
    assert e.size and np.isfinite(e).all() and (e > 0).all()
    i = np.asarray(inits, dtype=float)
    assert np.isfinite(i).all()
    w = i.reshape(-1)[None, :]
    for _ in range(2):                                 # the map iterated by hand
        with np.errstate(all="ignore"):
            w = e[:, None] * w * (1 - w)
    kept = diagram.points[:, :, 0, 0]
    finite = ~diagram.diverged
    np.testing.assert_allclose(kept[finite], w[finite], rtol=1e-12)


@FUZZ
@given(x=anything, y=anything)
def test_fit_slope_is_right_or_fails_clearly(x, y):
    out = _call(stats.fit_slope, x, y)
    if out is None:
        return
    est, _ = out
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(xs) & np.isfinite(ys)
    assert est.n == keep.sum() >= 3 and est.n_excluded == xs.size - keep.sum()
    assert np.isfinite(est.value)
    slope = np.polyfit(xs[keep], ys[keep], 1)[0]        # an independent least-squares solver
    scale = np.abs(ys[keep]).max() / max(np.ptp(xs[keep]), 1e-300) + abs(slope)
    assert abs(est.value - slope) <= 1e-6 * scale


@FUZZ
@given(samples=anything)
def test_mean_estimate_is_right_or_fails_clearly(samples):
    out = _call(stats.mean_estimate, samples)
    if out is None:
        return
    est, _ = out
    s = np.asarray(samples, dtype=float)
    finite = s[np.isfinite(s)]
    assert est.n == finite.size >= 2 and est.n_excluded == s.size - finite.size
    assert est.value == pytest.approx(float(np.mean(finite)), rel=1e-12, abs=1e-300)
    assert np.isfinite(est.stderr)
