r"""Batched truncated signatures of piecewise-linear paths, log-signatures, Chen's identity and the
truncated signature kernel (arXiv:2402.19047 reads selective SSMs through these objects).

Conventions (the same as iisignature's, and as :mod:`lemmata.analysis.signature`):

* a path is an array ``(length, d)``; a batch is ``(batch, length, d)``; a path of one point
  (length 1) has the trivial signature, all zeros in this layout (no leading 1), as a path of
  zero length does (iisignature returns zeros too), and a zero log-signature;
* a truncated signature is a flat vector of ``d + d^2 + ... + d^M`` numbers: level ``k`` holds the
  words of length ``k`` in lexicographic order (letter ``i`` of word ``(i_1..i_k)`` is channel
  ``i - 1``; the flat index of a word is its base-``d`` number), levels concatenated, no leading 1;
* the log-signature is given in the Lyndon basis with the standard bracketing: Lyndon words by
  level, lexicographically within a level (for d = 2, M = 3: 1, 2, [1,2], [1,[1,2]], [[1,2],2]);
  equal to iisignature 0.24's ``logsig`` (default method) to 1e-14 for d = 2..5 up to depth 6
  (tests/numerics/test_signature.py, benchmarks/bench_signature.py).

The signature of a piecewise-linear path is the Chen product of the exponentials of its
increments, :math:`S=\exp(\Delta_1)\otimes\cdots\otimes\exp(\Delta_{L-1})`. One step is the
Horner form of :math:`S_k\leftarrow\sum_{i=0}^{k}S_i\otimes\Delta^{\otimes(k-i)}/(k-i)!`,

.. math::

    S_k \mathrel{+}= \Big(\cdots\big((\Delta/k + S_1)\otimes\Delta/(k-1) + S_2\big)\otimes
    \Delta/(k-2)\cdots + S_{k-1}\Big)\otimes\Delta,

applied from the top level down so that every level reads the old lower levels.

Backends: ``"numba"`` runs that update with paths in blocks of 64 innermost (one block per thread,
so the numbers do not depend on the thread count; PERFORMANCE.md: one path at a time is ~15x
slower); ``"numpy"`` and ``"cupy"`` run one array-code implementation (exponentials of all
increments at once, then a pairwise Chen reduction over time, or a log-depth scan for
``stream=True``).
"""

from __future__ import annotations

import functools
import os

import numba
import numpy as np
from scipy.linalg import solve_triangular

from lemmata.analysis.signature import lyndon_bracket, lyndon_words, words
from lemmata.analysis.validation import one_of

from . import backends
from .arrays import ArrayTypeError, InvalidArrayError, as_array, integer, warn_if_nonfinite


def _positive_int(name, value):
    return integer(name, value, minimum=1)

__all__ = ["signature", "logsignature", "signature_combine", "signature_kernel", "sig_length",
           "logsig_length", "words", "tensor_exp", "tensor_log", "BACKENDS"]

BACKENDS = ("numba", "numpy", "cupy")


def sig_length(d: int, depth: int) -> int:
    """Number of signature coordinates ``d + d^2 + ... + d^depth``."""
    d, depth = _positive_int("d", d), _positive_int("depth", depth)
    return sum(d ** k for k in range(1, depth + 1))


def logsig_length(d: int, depth: int) -> int:
    r"""Number of Lyndon words of length <= depth over d letters: Witt's formula summed,
    :math:`\sum_{k\le M}\frac1k\sum_{m\mid k}\mu(m)d^{k/m}` (no enumeration, so any depth is cheap)."""
    d, depth = _positive_int("d", d), _positive_int("depth", depth)
    total = 0
    for k in range(1, depth + 1):
        total += sum(_mobius(m) * d ** (k // m) for m in range(1, k + 1) if k % m == 0) // k
    return total


def _mobius(n: int) -> int:
    result, p = 1, 2
    while p * p <= n:
        if n % p == 0:
            n //= p
            if n % p == 0:
                return 0
            result = -result
        p += 1
    return -result if n > 1 else result


def _memory_limit() -> int:
    """Bytes a result may take: the machine's physical memory (16 GiB when it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 16 * 2 ** 30


def _check_size(d: int, depth: int, n_vectors: int, what: str = "signature"):
    """Refuse, with the estimate, a truncation whose arrays cannot fit in memory: ``n_vectors``
    vectors of ``d + ... + d^depth`` float64 coordinates (Python integers: no overflow)."""
    total = sum(d ** k for k in range(1, depth + 1))
    need = 8 * total * max(1, n_vectors)
    limit = _memory_limit()
    if need > limit:
        raise InvalidArrayError(
            f"`depth` = {depth} with d = {d} gives {total:.4g} {what} coordinates per path; the result and work space "
            f"({n_vectors} such vectors) need about {_bytes(need)}, more than this machine's memory ({_bytes(limit)}). "
            "Lower `depth` (the number of coordinates grows like d^depth).")
    return total


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"


def _offsets(d: int, depth: int) -> np.ndarray:
    """``off[k]`` = flat index where level ``k + 1`` starts (``off[0] = 0``, ``off[depth]`` = total)."""
    off = np.zeros(depth + 1, dtype=np.int64)
    for k in range(1, depth + 1):
        off[k] = off[k - 1] + d ** k
    return off


# ------------------------------------------------------------------------------ validation
def _as_paths(paths, name="paths", xp=np, min_length=2):
    """Return (float64 array (batch, length, d), single?) after checking shape and values."""
    if xp is np:
        arr = as_array(paths, name=name, finite=False, min_size=0)
    else:
        arr = xp.asarray(paths)
    if arr.dtype.kind not in "fiub":
        raise ArrayTypeError(f"`{name}` must be a real array; got dtype {arr.dtype}.")
    single = arr.ndim == 2
    if arr.ndim not in (2, 3):
        raise InvalidArrayError(f"`{name}` must have shape (length, d) or (batch, length, d); got {tuple(arr.shape)}.")
    arr = arr[None] if single else arr
    if arr.shape[1] < min_length:
        raise InvalidArrayError(f"`{name}` must have at least {min_length} point{'s' if min_length > 1 else ''} "
                                f"per path; got length {arr.shape[1]}.")
    if arr.shape[2] < 1 or arr.shape[0] < 1:
        raise InvalidArrayError(f"`{name}` must have at least one path and one channel; got {tuple(arr.shape)}.")
    arr = xp.ascontiguousarray(arr, dtype=xp.float64)
    if not bool(xp.all(xp.isfinite(arr))):
        raise InvalidArrayError(f"`{name}` must be finite; it contains NaN or infinity.")
    return arr, single


def _backend(name):
    one_of("backend", name, BACKENDS)
    if name == "numba":
        return np
    return backends.get(name).xp


# ------------------------------------------------------------------------------ Numba kernel
# Measured on 2 cores (benchmarks/RESULTS.md, signature): 64 lanes beat 16 and 32 by 2x (the
# inner loops are short; per-row overhead dominates) and tie with 128 (fewer blocks to balance);
# copying each block's points in time chunks before use (contiguous reads instead of a 64-stream
# gather) gained nothing; FMA contraction ("contract") gains ~5% and keeps results independent
# of the thread count (every lane runs the same instruction sequence).
@numba.njit(cache=True, parallel=True, error_model="numpy", fastmath={"contract"})
def _signature_numba(paths, depth, off, out, stream_out, stream):
    """Signature of each path; paths in blocks of 64, a block per thread, the block's lanes
    innermost. ``out`` is (batch, total); with ``stream`` also every prefix into ``stream_out``
    (batch, length - 1, total)."""
    B, L, d = paths.shape
    total = off[depth]
    n_blocks = (B + 63) // 64
    top = 1
    for _ in range(depth - 1):
        top *= d
    for blk in numba.prange(n_blocks):
        lo = blk * 64
        nb = min(64, B - lo)
        S = np.zeros((total, 64))
        buf_a = np.empty((top, 64))
        buf_b = np.empty((top, 64))
        inc = np.zeros((d, 64))
        lane = np.empty(64)
        for t in range(L - 1):
            for c in range(d):
                for p in range(nb):
                    inc[c, p] = paths[lo + p, t + 1, c] - paths[lo + p, t, c]
            for k in range(depth, 1, -1):
                # level-1 start of the Horner form: Delta / k
                inv = 1.0 / k
                for c in range(d):
                    for p in range(64):
                        buf_a[c, p] = inc[c, p] * inv
                size = d
                for j in range(1, k - 1):
                    # buf_b(level j+1) = (buf_a + S_j) (x) Delta / (k - j)
                    inv = 1.0 / (k - j)
                    oj = off[j - 1]
                    for w in range(size):
                        for p in range(64):
                            lane[p] = (buf_a[w, p] + S[oj + w, p]) * inv
                        for c in range(d):
                            row = w * d + c
                            for p in range(64):
                                buf_b[row, p] = lane[p] * inc[c, p]
                    size *= d
                    buf_a, buf_b = buf_b, buf_a
                # S_k += (buf_a + S_{k-1}) (x) Delta
                ok = off[k - 1]
                om = off[k - 2]
                for w in range(size):
                    for p in range(64):
                        lane[p] = buf_a[w, p] + S[om + w, p]
                    for c in range(d):
                        row = ok + w * d + c
                        for p in range(64):
                            S[row, p] += lane[p] * inc[c, p]
            for c in range(d):
                for p in range(64):
                    S[c, p] += inc[c, p]
            if stream:
                for p in range(nb):
                    for i in range(total):
                        stream_out[lo + p, t, i] = S[i, p]
        for p in range(nb):
            for i in range(total):
                out[lo + p, i] = S[i, p]


# ------------------------------------------------------------------------------ array code (NumPy / CuPy)
def _levels(x, d, depth):
    """Views of the levels of flat tensors ``x`` (..., total): level k as (..., d^k)."""
    off = _offsets(d, depth)
    return [x[..., int(off[k - 1]):int(off[k])] for k in range(1, depth + 1)]


def _outer(xp, a, b):
    """Batched tensor product of level blocks: (..., m) x (..., n) -> (..., m n), word-major."""
    return (a[..., :, None] * b[..., None, :]).reshape(a.shape[:-1] + (a.shape[-1] * b.shape[-1],))


def _chen(xp, a, b, d, depth):
    """Truncated product of group-like tensors (implicit leading 1): level k of a (x) b is
    a_k + b_k + sum_{i=1}^{k-1} a_i (x) b_{k-i}."""
    la, lb = _levels(a, d, depth), _levels(b, d, depth)
    blocks = []
    for k in range(1, depth + 1):
        acc = la[k - 1] + lb[k - 1]
        for i in range(1, k):
            acc = acc + _outer(xp, la[i - 1], lb[k - i - 1])
        blocks.append(acc)
    return xp.concatenate(blocks, axis=-1)


def _product_no_unit(xp, a, b, d, depth):
    """Product of tensors without constant term: level k = sum_{i=1}^{k-1} a_i (x) b_{k-i}."""
    la, lb = _levels(a, d, depth), _levels(b, d, depth)
    blocks = [xp.zeros_like(la[0])]
    for k in range(2, depth + 1):
        acc = _outer(xp, la[0], lb[k - 2])
        for i in range(2, k):
            acc = acc + _outer(xp, la[i - 1], lb[k - i - 1])
        blocks.append(acc)
    return xp.concatenate(blocks, axis=-1)


def tensor_exp(increments, depth: int, *, backend: str = "numpy"):
    r"""The truncated exponential :math:`(v, v^{\otimes2}/2!, \dots, v^{\otimes M}/M!)` of vectors
    ``increments`` (..., d): the signature of one straight segment."""
    depth = _positive_int("depth", depth)
    xp = _backend(backend)
    v = as_array(increments, name="increments", ndim=tuple(range(1, 8))) if xp is np else xp.asarray(increments, dtype=xp.float64)
    _check_size(int(v.shape[-1]), depth, int(np.prod(v.shape[:-1])))
    return _tensor_exp_xp(xp, xp.asarray(v), depth)


def tensor_log(sig, d: int, depth: int, *, backend: str = "numpy"):
    r""":math:`\log S=\sum_{n=1}^{M}(-1)^{n+1}(S-1)^{\otimes n}/n` for flat signatures (..., total)."""
    d, depth = _positive_int("d", d), _positive_int("depth", depth)
    xp = _backend(backend)
    _check_size(d, depth, 1)
    x = as_array(sig, name="sig", ndim=tuple(range(1, 8)), finite=False) if xp is np else xp.asarray(sig, dtype=xp.float64)
    x = xp.asarray(x)
    if x.shape[-1] != sig_length(d, depth):
        raise ValueError(f"`sig` must have {sig_length(d, depth)} coordinates on its last axis "
                         f"(d={d}, depth={depth}); got {x.shape[-1]}.")
    result = x.copy()
    power = x
    for n in range(2, depth + 1):
        power = _product_no_unit(xp, power, x, d, depth)
        result = result + ((-1) ** (n + 1) / n) * power
    return result


def _signature_array(xp, paths, depth, stream):
    """Exponentials of all increments at once, then Chen products: a pairwise tree over time
    (log2 L rounds) for the final signature, a Hillis-Steele scan for every prefix."""
    d = paths.shape[-1]
    segs = _tensor_exp_xp(xp, paths[:, 1:] - paths[:, :-1], depth)
    if paths.shape[1] == 1:                    # a one-point path: the trivial signature
        return segs if stream else xp.zeros((paths.shape[0], segs.shape[-1]))
    if stream:
        n = segs.shape[1]
        shift = 1
        while shift < n:
            combined = _chen(xp, segs[:, :-shift], segs[:, shift:], d, depth)
            segs = xp.concatenate([segs[:, :shift], combined], axis=1)
            shift *= 2
        return segs
    while segs.shape[1] > 1:
        n = segs.shape[1]
        half = n // 2
        paired = _chen(xp, segs[:, 0:2 * half:2], segs[:, 1:2 * half:2], d, depth)
        segs = xp.concatenate([paired, segs[:, 2 * half:]], axis=1) if n % 2 else paired
    return segs[:, 0]


def _tensor_exp_xp(xp, v, depth):
    blocks = [v]
    for k in range(2, depth + 1):
        blocks.append(_outer(xp, blocks[-1], v) / k)
    return xp.concatenate(blocks, axis=-1)


# ------------------------------------------------------------------------------ public API
def signature(paths, depth: int, *, backend: str = "numba", stream: bool = False):
    r"""Truncated signature of piecewise-linear paths.

    Parameters
    ----------
    paths : array (length, d) or (batch, length, d)
        Points of each path (at least 2); finite reals.
    depth : int >= 1
        Truncation level M.
    backend : {"numba", "numpy", "cupy"}
    stream : bool
        If true, return the signature of every prefix ``paths[..., :j+1, :]`` for
        ``j = 1..length-1`` (axis of size ``length - 1`` before the coordinates), like
        iisignature's ``format=2``.

    Returns
    -------
    array (batch, total) or (total,) for one path — (batch, length-1, total) with ``stream`` —
    with ``total = d + ... + d^M`` in iisignature's order (module docstring). ``cupy`` returns a
    CuPy array.
    """
    depth = _positive_int("depth", depth)
    xp = _backend(backend)
    arr, single = _as_paths(paths, xp=xp, min_length=1)
    B, L, d = arr.shape
    n_vectors = B * max(1, L - 1) if stream or backend != "numba" else B + 64 * numba.get_num_threads()
    _check_size(d, depth, n_vectors)
    if backend == "numba":
        off = _offsets(d, depth)
        total = int(off[depth])
        out = np.empty((B, total))
        stream_out = np.empty((B, L - 1, total) if stream else (1, 1, 1))
        _signature_numba(arr, depth, off, out, stream_out, bool(stream))
        result = stream_out if stream else out
    else:
        with np.errstate(over="ignore", invalid="ignore"):     # flagged below, once
            result = _signature_array(xp, arr, depth, bool(stream))
    if backend != "cupy":
        warn_if_nonfinite(result, f"signature (depth {depth}, backend {backend!r})")
    return result[0] if single else result


@functools.lru_cache(maxsize=None)
def _lyndon(d: int, depth: int) -> tuple:
    return tuple(lyndon_words(d, depth))


@functools.lru_cache(maxsize=None)
def _lyndon_projection(d: int, depth: int):
    """Per level k: (flat indices of the Lyndon words within the level, inverse of the matrix
    T[u, w] = <P(w), u> over Lyndon words u, w). The coefficient of the Lyndon word u in P(w) is
    zero unless u >= w and 1 when u = w, so T is unit lower-triangular with integer entries; its
    inverse (integers too, exact in floats at these sizes) comes from one triangular solve. The
    coordinates of a Lie element L in the basis {P(w)} are T^{-1} L[Lyndon rows]."""
    result = []
    for k in range(1, depth + 1):
        level = [w for w in _lyndon(d, depth) if len(w) == k]
        index = {w: i for i, w in enumerate(level)}
        T = np.zeros((len(level), len(level)))
        for j, w in enumerate(level):
            for u, c in lyndon_bracket(w).items():
                if u in index:
                    T[index[u], j] = c
        if not np.array_equal(T, np.tril(T)) or not np.all(np.diag(T) == 1):
            raise ArithmeticError(f"level {k}: the Lyndon brackets are not unitriangular in lexicographic order.")
        Tinv = solve_triangular(T, np.eye(len(level)), lower=True, unit_diagonal=True)
        flat = np.array([sum((a - 1) * d ** (k - 1 - i) for i, a in enumerate(w)) for w in level],
                        dtype=np.int64)
        result.append((flat, Tinv))
    return tuple(result)


def logsignature(paths, depth: int, *, backend: str = "numba"):
    r"""Log-signature of piecewise-linear paths in the Lyndon basis (iisignature's order and
    bracketing, see the module docstring).

    :math:`\log S` is computed in the truncated tensor algebra from :func:`signature`; a Lie
    element is determined by its coefficients on Lyndon words, and the coefficient of the Lyndon
    word u in P(w) is zero unless u >= w, so the coordinates follow from a unitriangular solve
    (its inverse precomputed exactly).

    Returns (batch, n_lyndon) or (n_lyndon,) for one path.
    """
    depth = _positive_int("depth", depth)
    xp = _backend(backend)
    arr, single = _as_paths(paths, xp=xp, min_length=1)
    d = arr.shape[2]
    sig = signature(arr, depth, backend=backend)
    log_sig = tensor_log(sig, d, depth, backend="numpy" if backend == "numba" else backend)
    parts = []
    levels = _levels(log_sig, d, depth)
    for level, (flat, Tinv) in zip(levels, _lyndon_projection(d, depth)):
        parts.append(level[:, xp.asarray(flat)] @ xp.asarray(Tinv).T)
    result = xp.concatenate(parts, axis=-1)
    return result[0] if single else result


def signature_combine(sig_a, sig_b, d: int, depth: int, *, backend: str = "numpy"):
    r"""Chen's identity: the signature of the concatenation of two paths,
    :math:`S(X * Y) = S(X)\otimes S(Y)` (``sig_a`` first). Both are flat signatures (..., total)
    with matching leading shapes (broadcast)."""
    d, depth = _positive_int("d", d), _positive_int("depth", depth)
    xp = _backend(backend)
    total = sig_length(d, depth)
    if xp is np:
        a = as_array(sig_a, name="sig_a", finite=False)
        b = as_array(sig_b, name="sig_b", finite=False)
    else:
        a = xp.asarray(sig_a, dtype=xp.float64)
        b = xp.asarray(sig_b, dtype=xp.float64)
    for name, x in (("sig_a", a), ("sig_b", b)):
        if x.ndim < 1 or x.shape[-1] != total:
            raise ValueError(f"`{name}` must have {total} coordinates on its last axis "
                             f"(d={d}, depth={depth}); got shape {tuple(x.shape)}.")
        if not bool(xp.all(xp.isfinite(x))):
            raise ValueError(f"`{name}` must be finite; it contains NaN or infinity.")
    try:
        shape = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    except ValueError:
        raise ValueError(f"`sig_a` and `sig_b` must have broadcastable batch shapes; got "
                         f"{tuple(a.shape[:-1])} and {tuple(b.shape[:-1])}.") from None
    a = xp.broadcast_to(a, shape + (total,))
    b = xp.broadcast_to(b, shape + (total,))
    return _chen(xp, a, b, d, depth)


def signature_kernel(paths_x, paths_y=None, depth: int = 4, *, backend: str = "numba"):
    r"""Truncated signature kernel :math:`k_M(X,Y)=\sum_{|I|\le M}S^I(X)S^I(Y)` (the empty word
    contributes 1): the Gram matrix (n_x, n_y) of two batches of paths (``paths_y`` defaults to
    ``paths_x``). Paths in the two batches may have different lengths but the same ``d``."""
    depth = _positive_int("depth", depth)
    sx = signature(paths_x, depth, backend=backend)
    sx = sx[None] if sx.ndim == 1 else sx
    if paths_y is None:
        sy = sx
    else:
        sy = signature(paths_y, depth, backend=backend)
        sy = sy[None] if sy.ndim == 1 else sy
        if sy.shape[-1] != sx.shape[-1]:
            raise ValueError(f"`paths_x` and `paths_y` must have the same number of channels; got "
                             f"signatures of sizes {sx.shape[-1]} and {sy.shape[-1]}.")
    return 1.0 + sx @ sy.T
