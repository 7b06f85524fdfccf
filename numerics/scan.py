r"""Linear recurrences :math:`h_t = a_t \odot h_{t-1} + b_t`: the engine of LRU, S4/S5, Mamba,
GRED's hop filter and the DSF.

* :func:`linear_scan`: diagonal recurrences, real or complex, constant or time-varying
  (selective) ``a``, time on axis 0 and any channel shape after it. ``method="sequential"`` is a
  Numba loop (parallel over channels, channels contiguous, no allocation when ``out`` is given);
  ``method="associative"`` is the log-depth parallel scan with the operator
  :math:`(a_i,b_i)\circ(a_j,b_j)=(a_ja_i,\,a_jb_i+b_j)`, written once against the array
  namespace so that NumPy (CI) and CuPy (GPU) run the same code.
* :func:`linear_scan_dense`: dense or block-diagonal transitions :math:`h_t=A_th_{t-1}+b_t`.
* :func:`linear_scan_jvp`: forward-mode tangents :math:`\dot h_t=\dot a_th_{t-1}+a_t\dot h_{t-1}+\dot b_t`,
  itself a linear scan; :func:`diagonal_sensitivity` uses it for
  :math:`\partial h/\partial\lambda` and the sensitivities w.r.t. reparametrised and normalised
  eigenvalues (arXiv:2405.21064).
"""

from __future__ import annotations

import numba
import numpy as np

from lemmata.analysis.errors import LemmataError
from lemmata.analysis.validation import one_of

from . import backends
from .arrays import ArrayTypeError, InvalidArrayError, as_array, warn_if_nonfinite

__all__ = ["linear_scan", "linear_scan_dense", "linear_scan_jvp", "diagonal_sensitivity",
           "sensitivity_coefficients",
           "NORMALIZATIONS", "PARAMETRIZATIONS"]


# ------------------------------------------------------------------------------ kernels
# One contiguous slab of channels per thread, the state kept in a small local array, whole rows
# of `b` and `out` touched per time step: this layout measured ~1.7x faster than 64-channel
# blocks that reread the previous output row (benchmarks/RESULTS.md, scan). Each channel's
# recurrence runs in order on one thread, so the numbers do not depend on the thread count.
# The constant-a kernel is a separate copy on purpose: one kernel selecting the row of `a` per
# step measured 2x slower (the local copy of `a` and the simpler loop vectorise; that does not).
@numba.njit(cache=True, parallel=True, error_model="numpy")
def _scan_varying(a, b, h0, out, reverse, n_slabs):
    T, n = b.shape
    per = (n + n_slabs - 1) // n_slabs
    for k in numba.prange(n_slabs):
        lo = k * per
        hi = min(n, lo + per)
        h = h0[lo:hi].copy()
        for step in range(T):
            t = T - 1 - step if reverse else step
            at = a[t, lo:hi]
            row = b[t, lo:hi]
            target = out[t, lo:hi]
            for j in range(hi - lo):
                x = at[j] * h[j] + row[j]
                h[j] = x
                target[j] = x


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _scan_constant(a, b, h0, out, reverse, n_slabs):
    T, n = b.shape
    per = (n + n_slabs - 1) // n_slabs
    for k in numba.prange(n_slabs):
        lo = k * per
        hi = min(n, lo + per)
        h = h0[lo:hi].copy()
        al = a[lo:hi].copy()
        for step in range(T):
            t = T - 1 - step if reverse else step
            row = b[t, lo:hi]
            target = out[t, lo:hi]
            for j in range(hi - lo):
                x = al[j] * h[j] + row[j]
                h[j] = x
                target[j] = x


def _associative(xp, a, b, h0, reverse):
    """Hillis-Steele log-depth scan over axis 0 (any array namespace); ``a`` is (T, n) or (n,)."""
    if reverse:
        a = a[::-1] if a.ndim == 2 else a
        b = b[::-1]
    T = b.shape[0]
    A = xp.broadcast_to(a, b.shape).copy() if a.ndim == 1 else a.copy()
    B = b.copy()
    B[0] = B[0] + A[0] * h0
    shift = 1
    while shift < T:
        B_new = B.copy()
        B_new[shift:] = A[shift:] * B[:-shift] + B[shift:]
        A_new = A.copy()
        A_new[shift:] = A[shift:] * A[:-shift]
        A, B = A_new, B_new
        shift *= 2
    return B[::-1] if reverse else B


def _numpy_sequential(xp, a, b, h0, out, reverse):
    T = b.shape[0]
    order = range(T - 1, -1, -1) if reverse else range(T)
    h = h0
    for t in order:
        at = a[t] if a.ndim == 2 else a
        h = at * h + b[t]
        out[t] = h
    return out


# ------------------------------------------------------------------------------ public
def _flag_nonfinite(target, reverse, what):
    """Warn when the sequential scan's output holds inf or NaN. A non-finite state stays
    non-finite (a h + b with h = +-inf or NaN is inf or NaN in IEEE arithmetic for every a, b), so
    the last state computed (row T-1, or row 0 when ``reverse``) is non-finite whenever any entry
    is: checking that one row costs O(channels), not O(T channels)."""
    last = target[0] if reverse else target[-1]
    if not np.isfinite(last).all():
        warn_if_nonfinite(target, what, stacklevel=4)


def _result_dtype(*arrays):
    dtype = np.result_type(*[np.asarray(x).dtype if not hasattr(x, "dtype") else x.dtype for x in arrays])
    if dtype.kind in "biu":
        dtype = np.dtype(np.float64)
    if dtype.kind not in "fc":
        raise TypeError(f"linear_scan needs real or complex floating arrays; got dtype {dtype}.")
    return dtype


def linear_scan(a, b, h0=None, *, reverse: bool = False, method: str | None = None,
                backend: str = "numba", out=None):
    r"""Evaluate the diagonal recurrence :math:`h_t = a_t h_{t-1} + b_t` along axis 0.

    Parameters
    ----------
    a : array
        The transition: shape ``(T, *C)`` (time-varying, "selective") or anything that
        broadcasts against ``b`` without a time axis, e.g. ``C`` (constant in time).
    b : array ``(T, *C)``
        The inputs.
    h0 : array ``(*C)``, optional
        The state before the first step (default zeros).
    reverse : bool
        Scan from ``t = T-1`` down to 0: :math:`h_t = a_t h_{t+1} + b_t`.
    method : {"sequential", "associative"}, optional
        Default: sequential on CPU backends, associative on CuPy.
    backend : {"numba", "numpy", "cupy"}
    out : array ``(T, *C)``, optional
        Preallocated, C-contiguous output of the result dtype (numba backend); nothing is
        allocated when it is given.

    Returns
    -------
    array ``(T, *C)``

    Examples
    --------
    >>> linear_scan(np.full(4, 0.5), np.ones(4)).tolist()
    [1.0, 1.5, 1.75, 1.875]
    """
    bk = backends.get(backend)
    xp = bk.xp
    method = method or ("associative" if backend == "cupy" else "sequential")
    one_of("method", method, ("sequential", "associative"))
    if xp is np:
        # non-finite entries are allowed in (they propagate and are flagged on the output)
        b = as_array(b, name="b", dtype=None, complex_ok=True, finite=False, min_size=0)
        a = as_array(a, name="a", dtype=None, complex_ok=True, finite=False, min_size=0)
        if h0 is not None:
            h0 = as_array(h0, name="h0", dtype=None, complex_ok=True, finite=False, min_size=0)
    else:
        b = xp.asarray(b)
        a = xp.asarray(a)
    if b.ndim < 1 or b.shape[0] < 1:
        raise ValueError(f"`b` must have a time axis of length >= 1 (axis 0); got shape {tuple(b.shape)}.")
    channels = tuple(b.shape[1:])
    try:
        broadcast = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        broadcast = None
    if broadcast != tuple(b.shape):
        raise ValueError(f"`a` must broadcast to the shape of `b` {tuple(b.shape)} (time on axis 0); "
                         f"got shape {tuple(a.shape)}.")
    h0 = xp.zeros(channels, dtype=b.dtype) if h0 is None else xp.asarray(h0)
    try:
        h0_shape = np.broadcast_shapes(tuple(h0.shape), channels)
    except ValueError:
        h0_shape = None
    if h0_shape != channels:
        raise ValueError(f"`h0` must broadcast to the channel shape {channels}; got shape {tuple(h0.shape)}.")
    dtype = _result_dtype(a, b, h0)
    constant = a.ndim < b.ndim or a.shape[0] == 1 and b.shape[0] > 1
    n = int(np.prod(channels)) if channels else 1
    T = b.shape[0]

    b2 = xp.ascontiguousarray(b.astype(dtype, copy=False).reshape(T, n))
    h02 = xp.ascontiguousarray(xp.broadcast_to(h0, channels).astype(dtype).reshape(n))
    if constant:
        a_c = a[0] if a.ndim == b.ndim else a
        a2 = xp.ascontiguousarray(xp.broadcast_to(a_c, channels).astype(dtype).reshape(n))
    else:
        a2 = xp.ascontiguousarray(xp.broadcast_to(a, b.shape).astype(dtype).reshape(T, n))

    if out is not None:
        if not hasattr(out, "shape") or not hasattr(out, "dtype"):
            raise ArrayTypeError(f"`out` must be an array of shape {tuple(b.shape)}; got {type(out).__name__}.")
        if tuple(out.shape) != tuple(b.shape) or out.dtype != dtype:
            raise ValueError(f"`out` must have shape {tuple(b.shape)} and dtype {dtype}; "
                             f"got {tuple(out.shape)} and {out.dtype}.")
        if not out.flags.c_contiguous:
            raise ValueError("`out` must be C-contiguous.")
    if method == "associative":
        with np.errstate(over="ignore", invalid="ignore"):
            result = _associative(xp, a2, b2, h02, reverse).reshape(b.shape)
        if xp is np:
            warn_if_nonfinite(result, f"linear_scan (associative, backend {backend!r})")
        if out is not None:
            out[...] = result
            return out
        return result
    if backend == "numba":
        target = np.empty((T, n), dtype=dtype) if out is None else out.reshape(T, n)
        n_slabs = max(1, min(numba.get_num_threads(), n))
        if constant:
            _scan_constant(a2, b2, h02, target, reverse, n_slabs)
        else:
            _scan_varying(a2, b2, h02, target, reverse, n_slabs)
        _flag_nonfinite(target, reverse, "linear_scan (backend 'numba')")
        return target.reshape(b.shape)
    target = xp.empty((T, n), dtype=dtype) if out is None else out.reshape(T, n)
    with np.errstate(over="ignore", invalid="ignore"):
        _numpy_sequential(xp, a2, b2, h02, target, reverse)
    if xp is np:
        _flag_nonfinite(target, reverse, f"linear_scan (backend {backend!r})")
    return target.reshape(b.shape)


@numba.njit(cache=True, error_model="numpy")
def _dense_scan(A, b, h0, out, varying):
    T = b.shape[0]
    h = h0.copy()
    for t in range(T):
        At = A[t] if varying else A[0]
        out[t] = At @ h + b[t]
        h = out[t]


def linear_scan_dense(A, b, h0=None, *, blocks: bool = False):
    r"""Dense or block-diagonal recurrence :math:`h_t = A_t h_{t-1} + b_t`.

    Parameters
    ----------
    A : array
        ``(N, N)`` or ``(T, N, N)``; with ``blocks=True``, ``(K, k, k)`` or ``(T, K, k, k)``:
        ``K`` diagonal blocks of size ``k`` (``N = K k``).
    b : array (T, N)
    h0 : array (N,), optional
    """
    b = as_array(b, name="b", dtype=None, complex_ok=True, finite=False)
    A = as_array(A, name="A", dtype=None, complex_ok=True, finite=False)
    if h0 is not None:
        h0 = as_array(h0, name="h0", dtype=None, complex_ok=True, finite=False)
    if b.ndim != 2 or b.shape[0] < 1:
        raise InvalidArrayError(f"`b` must have shape (T, N) with T >= 1; got {b.shape}.")
    T, N = b.shape
    dtype = _result_dtype(A, b) if h0 is None else _result_dtype(A, b, np.asarray(h0))
    h0 = np.zeros(N, dtype=dtype) if h0 is None else np.asarray(h0, dtype=dtype)
    if h0.shape != (N,):
        raise ValueError(f"`h0` must have shape ({N},); got {h0.shape}.")
    if blocks:
        if A.ndim not in (3, 4) or A.shape[-1] != A.shape[-2] or A.shape[-3] * A.shape[-1] != N:
            raise ValueError(f"with blocks=True `A` must be (K, k, k) or (T, K, k, k) with K k = {N}; "
                             f"got {A.shape}.")
        if A.ndim == 4 and A.shape[0] != T:
            raise ValueError(f"time-varying `A` must have {T} steps on axis 0; got {A.shape[0]}.")
        K, k = A.shape[-3], A.shape[-1]
        lead = A.shape[:-3]
        dense = np.zeros(lead + (N, N), dtype=A.dtype)
        for j in range(K):
            dense[..., j * k:(j + 1) * k, j * k:(j + 1) * k] = A[..., j, :, :]
        A = dense
    if A.shape[-2:] != (N, N) or A.ndim not in (2, 3):
        raise ValueError(f"`A` must be ({N}, {N}) or ({T}, {N}, {N}); got {A.shape}.")
    if A.ndim == 3 and A.shape[0] != T:
        raise ValueError(f"time-varying `A` must have {T} steps on axis 0; got {A.shape[0]}.")
    varying = A.ndim == 3
    A3 = np.ascontiguousarray((A if varying else A[None]).astype(dtype))
    out = np.empty((T, N), dtype=dtype)
    _dense_scan(A3, np.ascontiguousarray(b.astype(dtype)), np.ascontiguousarray(h0), out, varying)
    warn_if_nonfinite(out, "linear_scan_dense")
    return out


def linear_scan_jvp(a, b, da, db, h0=None, *, backend: str = "numba"):
    r"""The scan and its forward-mode tangent: returns ``(h, hdot)`` with
    :math:`h_t=a_th_{t-1}+b_t` and :math:`\dot h_t=\dot a_th_{t-1}+a_t\dot h_{t-1}+\dot b_t`
    (:math:`\dot h_{-1}=0`). The tangent is again a linear scan, with input
    :math:`\dot a_t h_{t-1}+\dot b_t`."""
    h = linear_scan(a, b, h0, backend=backend)
    xp = backends.get(backend).xp
    h = xp.asarray(h)
    if xp is np:
        da = as_array(da, name="da", dtype=None, complex_ok=True, finite=False, min_size=0)
        db = as_array(db, name="db", dtype=None, complex_ok=True, finite=False, min_size=0)
        for name, t in (("da", da), ("db", db)):
            try:
                ok = np.broadcast_shapes(t.shape, h.shape) == h.shape
            except ValueError:
                ok = False
            if not ok:
                raise InvalidArrayError(f"`{name}` must broadcast to the shape of `b` {h.shape}; got {t.shape}.")
    previous = xp.concatenate([xp.broadcast_to(xp.asarray(0 if h0 is None else h0), h.shape[1:])[None]
                               .astype(h.dtype), h[:-1]], axis=0)
    hdot = linear_scan(a, xp.asarray(da) * previous + xp.asarray(db), backend=backend)
    return h, hdot


#: input normalisations ``gamma(|lambda|)`` of h_t = lambda h_{t-1} + gamma x_t
NORMALIZATIONS = ("none", "l2", "l1")
#: parametrisations of the eigenvalue; see diagonal_sensitivity
PARAMETRIZATIONS = ("none", "exp", "sigmoid", "optimal")


def _gamma(nu, normalization):
    """gamma and d gamma / d nu for the modulus nu = |lambda| (l1: 1 - lambda, real lambda)."""
    if normalization == "none":
        return np.ones_like(nu), np.zeros_like(nu)
    if normalization == "l2":
        g = np.sqrt(1.0 - nu ** 2)
        return g, -nu / g
    return 1.0 - nu, -np.ones_like(nu)


def sensitivity_coefficients(lam, *, wrt: str = "lambda", normalization: str = "none",
                             parametrization: str = "none"):
    r"""``(gamma, gamma_dot, lambda_dot)`` for :math:`h_t=\lambda h_{t-1}+\gamma x_t`: the input
    gain and the derivatives of :math:`\gamma` and :math:`\lambda` w.r.t. the parameter chosen by
    ``wrt`` and ``parametrization`` (see :func:`diagonal_sensitivity`)."""
    one_of("wrt", wrt, ("lambda", "nu", "theta"))
    one_of("normalization", normalization, NORMALIZATIONS)
    one_of("parametrization", parametrization, PARAMETRIZATIONS)
    lam = as_array(lam, name="lam", dtype=None, complex_ok=True)
    if wrt == "lambda":
        if np.iscomplexobj(lam):
            raise ValueError("`lam` must be real for wrt='lambda'; use wrt='nu' or 'theta' for complex eigenvalues.")
        if np.any(np.abs(lam) >= 1) and normalization == "l2":
            raise ValueError("`lam` must lie in (-1, 1) for the l2 normalisation.")
        gamma, dgamma = _gamma(lam, normalization)
        chain = {"none": np.ones_like(lam), "exp": lam * np.log(lam), "sigmoid": lam * (1 - lam),
                 "optimal": 1 - lam ** 2}[parametrization]
        dlam, dgam = chain, dgamma * chain
    else:
        nu, theta = np.abs(lam), np.angle(lam)
        gamma, dgamma = _gamma(nu, normalization)
        if wrt == "nu":
            chain = {"none": np.ones_like(nu), "exp": nu * np.log(nu), "sigmoid": nu * (1 - nu),
                     "optimal": 1 - nu ** 2}[parametrization]
            dlam, dgam = np.exp(1j * theta) * chain, dgamma * chain
        else:
            if parametrization == "sigmoid":
                raise ValueError("the sigmoid parametrisation applies to the modulus only (wrt='nu').")
            chain = {"none": np.ones_like(nu), "exp": theta,
                     "optimal": (1 - nu ** 2) / (nu * np.sqrt(1 + nu ** 2))}[parametrization]
            dlam, dgam = 1j * lam * chain, np.zeros_like(nu)
    with np.errstate(all="ignore"):
        finite = np.all(np.isfinite(np.asarray(dlam)))
    if not finite:
        raise LemmataError("the chosen parametrisation is not differentiable at some `lam` "
                           "(e.g. exp at lambda <= 0).")
    return gamma, dgam, dlam


def diagonal_sensitivity(lam, x, *, wrt: str = "lambda", normalization: str = "none",
                         parametrization: str = "none", backend: str = "numba"):
    r"""States and sensitivities of :math:`h_t=\lambda h_{t-1}+\gamma x_t`, per channel.

    Returns ``(h, s)`` with ``s = dh/dp`` for the parameter ``p`` chosen by ``wrt`` and
    ``parametrization`` (arXiv:2405.21064):

    * ``wrt="lambda"`` (real :math:`\lambda`): ``none`` -> :math:`p=\lambda`; ``exp`` ->
      :math:`\lambda=e^{-e^{\omega}}`, :math:`d\lambda/d\omega=\lambda\log\lambda`; ``sigmoid`` ->
      :math:`\lambda=\sigma(\beta)`, :math:`d\lambda/d\beta=\lambda(1-\lambda)`; ``optimal`` ->
      :math:`\lambda=\tanh\omega`, :math:`d\lambda/d\omega=1-\lambda^2`. The normalisation
      :math:`\gamma(\lambda)` is differentiated too (differentiate *after* normalising).
    * ``wrt="nu"`` / ``"theta"`` (complex :math:`\lambda=\nu e^{i\theta}`, :math:`\gamma=\gamma(\nu)`):
      :math:`\partial_\nu` and :math:`\partial_\theta`; with ``optimal`` they are multiplied by
      :math:`d\nu/d\omega_\nu=1-\nu^2` and :math:`d\theta/d\omega_\theta=(1-\nu^2)/(\nu\sqrt{1+\nu^2})`;
      with ``exp``, :math:`\nu=e^{-e^{\omega_\nu}}` and :math:`\theta=e^{\omega_\theta}`.

    Parameters
    ----------
    lam : array ``(*C)``
        Eigenvalues, one per channel (real for ``wrt="lambda"``).
    x : array ``(T, *C)``
        Inputs.
    """
    gamma, dgam, dlam = sensitivity_coefficients(lam, wrt=wrt, normalization=normalization,
                                                 parametrization=parametrization)
    lam = as_array(lam, name="lam", dtype=None, complex_ok=True)
    x = as_array(x, name="x", dtype=None, complex_ok=True, finite=False)
    return linear_scan_jvp(lam, gamma * x, dlam, dgam * x, backend=backend)
