r"""The linear recurrence as a lossless compressor (arXiv:2307.11888): node families, the LRU
initialiser, the Vandermonde encoder, exact reconstruction and condition numbers.

:math:`x_k=\Lambda x_{k-1}+Bv_k`, :math:`x_0=0`, gives :math:`x_L=\sum_{j<L}\Lambda^jBv_{L-j}`;
for scalar input and :math:`B=\mathbf 1`, :math:`x_L=V(v_L,\dots,v_1)^\top` with
:math:`V_{n,j}=\lambda_n^j` (newest input first).
"""

from __future__ import annotations

import math

import numpy as np

from lemmata.analysis.errors import AssumptionError
from lemmata.analysis.validation import one_of

from .arrays import InvalidArrayError, as_array, integer, real_scalar
from .scan import linear_scan


def _positive_int(name, value):
    return integer(name, value, minimum=1)


def _nodes(lam):
    return as_array(lam, name="lam", ndim=1, dtype=None, complex_ok=True)

__all__ = ["nodes", "lru_init", "vandermonde", "encode", "reconstruct", "condition_number",
           "krylov_rank", "FAMILIES"]

FAMILIES = ("roots", "radius", "real", "chebyshev", "lru")


def lru_init(N: int, *, r_min: float = 0.0, r_max: float = 1.0, max_phase: float = 2 * math.pi,
             seed=0):
    r"""The LRU initialiser: :math:`|\lambda|^2` uniform on :math:`[r_{\min}^2,r_{\max}^2]`
    (area-uniform on the ring), phases uniform on :math:`[0,\text{max\_phase})`, and the
    normalisation :math:`\gamma=\sqrt{1-|\lambda|^2}`. Returns ``(lam, gamma)``."""
    N = _positive_int("N", N)
    r_min, r_max = real_scalar("r_min", r_min), real_scalar("r_max", r_max)
    max_phase = real_scalar("max_phase", max_phase, finite=False)
    if not (0 <= r_min <= r_max <= 1):
        raise ValueError(f"`r_min`, `r_max` must satisfy 0 <= r_min <= r_max <= 1; got {r_min!r}, {r_max!r}.")
    if not (max_phase > 0 and math.isfinite(max_phase)):
        raise ValueError(f"`max_phase` must be positive and finite; got {max_phase!r}.")
    rng = np.random.default_rng(seed)
    modulus = np.sqrt(rng.uniform(r_min ** 2, r_max ** 2, N))
    phase = rng.uniform(0, max_phase, N)
    lam = modulus * np.exp(1j * phase)
    return lam, np.sqrt(1 - modulus ** 2)


def nodes(family: str, N: int, *, r: float = 1.0, seed=0, r_min: float = 0.0, r_max: float = 1.0,
          max_phase: float = 2 * math.pi) -> np.ndarray:
    """Eigenvalues of a family: ``roots`` (:math:`e^{2\\pi in/N}`), ``radius`` (``r`` times the
    roots), ``real`` (equispaced ``n/N`` in [0, 1)), ``chebyshev`` (:math:`\\cos((2n+1)\\pi/(2N))`),
    ``lru`` (:func:`lru_init`)."""
    one_of("family", family, FAMILIES)
    N = _positive_int("N", N)
    n = np.arange(N)
    if family == "roots":
        return np.exp(2j * np.pi * n / N)
    if family == "radius":
        r = real_scalar("r", r, finite=False)
        if not (0 < r <= 1):
            raise ValueError(f"`r` must lie in (0, 1]; got {r!r}.")
        return r * np.exp(2j * np.pi * n / N)
    if family == "real":
        return n / N
    if family == "chebyshev":
        return np.cos((2 * n + 1) * np.pi / (2 * N))
    return lru_init(N, r_min=r_min, r_max=r_max, max_phase=max_phase, seed=seed)[0]


def vandermonde(lam, k: int) -> np.ndarray:
    """``V[n, j] = lam[n]**j`` for ``j < k`` (shape ``(N, k)``)."""
    lam = _nodes(lam)
    return lam[:, None] ** np.arange(_positive_int("k", k))[None, :]


def encode(lam, v, B=None) -> np.ndarray:
    r"""Final state :math:`x_L` of :math:`x_k=\mathrm{diag}(\lambda)x_{k-1}+Bv_k` via the scan
    engine. ``v``: ``(L,)`` or ``(L, M)``; ``B``: ``(N, M)`` (default: ones, M = 1)."""
    lam = _nodes(lam)
    v = as_array(v, name="v", ndim=(1, 2), dtype=None, complex_ok=True)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2 or v.shape[0] < 1:
        raise InvalidArrayError(f"`v` must have shape (L,) or (L, M); got {np.shape(v)}.")
    B = np.ones((lam.size, v.shape[1])) if B is None else as_array(B, name="B", ndim=2, dtype=None, complex_ok=True)
    if B.shape != (lam.size, v.shape[1]):
        raise ValueError(f"`B` must have shape ({lam.size}, {v.shape[1]}); got {B.shape}.")
    inputs = v @ B.T                                          # (L, N)
    dtype = np.result_type(lam, inputs, np.float64)
    return linear_scan(lam.astype(dtype), inputs.astype(dtype))[-1]


def reconstruct(lam, x, L: int, *, method: str = "solve") -> np.ndarray:
    r"""Recover :math:`v_1..v_L` (in time order) from :math:`x_L` (scalar input, :math:`B=\mathbf 1`).

    ``solve`` (N = L), ``lstsq`` (N >= L, also any prefix length L), or ``idft`` (the inverse DFT,
    for the roots of unity only: :math:`v_{L-j}=\frac1N\sum_n\omega^{-nj}x^{(n)}`)."""
    one_of("method", method, ("solve", "lstsq", "idft"))
    lam = _nodes(lam)
    x = as_array(x, name="x", ndim=1, dtype=None, complex_ok=True)
    L = _positive_int("L", L)
    if x.shape != lam.shape:
        raise ValueError(f"`x` must have the shape of `lam` {lam.shape}; got {x.shape}.")
    if method == "idft":
        if lam.size != L or not np.allclose(lam, np.exp(2j * np.pi * np.arange(L) / L), atol=1e-14):
            raise ValueError("method='idft' needs the L-th roots of unity as nodes (N = L).")
        reversed_v = np.fft.fft(x) / L          # sum_n omega^{-nj} x_n / L
    elif method == "solve":
        if lam.size != L:
            raise ValueError(f"method='solve' needs N = L; got N = {lam.size}, L = {L}. Use 'lstsq'.")
        _distinct_nodes(lam)
        try:
            reversed_v = np.linalg.solve(vandermonde(lam, L), x)
        except np.linalg.LinAlgError:
            raise AssumptionError(f"the Vandermonde matrix of the nodes `lam` is singular to working precision "
                                  f"(condition number {np.linalg.cond(vandermonde(lam, L)):.3g}): nodes this close "
                                  "cannot be told apart; use method='lstsq' or other nodes.") from None
    else:
        if lam.size < L:
            raise ValueError(f"lossless reconstruction needs N >= L; got N = {lam.size}, L = {L}.")
        n_distinct = np.unique(lam).size
        if n_distinct < L:
            raise AssumptionError(f"the nodes `lam` hold {n_distinct} distinct values < L = {L}: the Vandermonde "
                                  "matrix has rank < L, so the input cannot be recovered.")
        reversed_v = np.linalg.lstsq(vandermonde(lam, L), x, rcond=None)[0]
    return reversed_v[::-1]


def _distinct_nodes(lam):
    """Lossless reconstruction needs distinct nodes: a repeated node makes V singular exactly."""
    values, counts = np.unique(lam, return_counts=True)
    if np.any(counts > 1):
        raise AssumptionError(f"the nodes `lam` must be distinct for reconstruction (V is singular otherwise); "
                              f"{values[counts > 1][:3].tolist()} repeat.")


def condition_number(lam, L: int, *, dps: int | None = None) -> float:
    """2-norm condition number of the ``N x L`` Vandermonde matrix; with ``dps`` the SVD runs in
    mpmath at that many digits (float64 saturates near 1e16)."""
    lam = _nodes(lam)
    L = _positive_int("L", L)
    if dps is None:
        with np.errstate(all="ignore"):
            return float(np.linalg.cond(vandermonde(lam, L)))
    dps = _positive_int("dps", dps)
    import mpmath
    with mpmath.workdps(dps):
        if np.iscomplexobj(lam):
            M = mpmath.matrix([[mpmath.mpc(complex(z)) ** j for j in range(L)] for z in lam])
            s = mpmath.svd_c(M, compute_uv=False)
        else:
            M = mpmath.matrix([[mpmath.mpf(float(z)) ** j for j in range(L)] for z in lam])
            s = mpmath.svd_r(M, compute_uv=False)
        values = [s[i] for i in range(min(lam.size, L))]
        smallest = min(values)
        return float("inf") if smallest == 0 else float(max(values) / smallest)


def krylov_rank(lam, B, L: int, tol: float | None = None) -> int:
    r"""Rank of :math:`[B,\Lambda B,\dots,\Lambda^{L-1}B]` (``N x LM``): the encoder of
    ``M``-channel inputs is injective iff it equals ``L M``."""
    lam = _nodes(lam)
    B = as_array(B, name="B", ndim=(1, 2), dtype=None, complex_ok=True)
    if B.ndim == 1:
        B = B[:, None]
    if B.shape[0] != lam.size:
        raise InvalidArrayError(f"`B` must have one row per node ({lam.size}); got shape {B.shape}.")
    blocks = [lam[:, None] ** j * B for j in range(_positive_int("L", L))]
    tol = None if tol is None else real_scalar("tol", tol, nonnegative=True)
    return int(np.linalg.matrix_rank(np.hstack(blocks), tol=tol))
