r"""Linear CDEs / selective recurrences on batches of paths (arXiv:2402.19047):

.. math::

    Z_{k+1}=e^{G_k}Z_k+\varphi_1(G_k)B\Delta\xi_k,\qquad G_k=\sum_iA_i\Delta\omega^i_k,\qquad
    \varphi_1(G)=G^{-1}(e^G-I)

(``method="exact"``: the exact flow of :math:`dZ=\sum_iA_iZ\,d\omega^i+B\,d\xi` for controls
linear on each segment), or the Euler recurrence :math:`Z_{k+1}=Z_k+G_kZ_k+B\Delta\xi_k`.

Dense ``A_i``: the action of the exponential of the augmented matrix
:math:`\begin{pmatrix}G&B\Delta\xi\\0&0\end{pmatrix}` on :math:`(Z,1)` is summed as a Taylor
series, with one matrix product per term for the whole batch (the ``A_i`` stacked), and the step
split into ``s`` equal substeps so that :math:`\|G/s\|\le1/2`; the number of terms is the first
``n`` with :math:`\theta^{n+1}e^\theta/(n+1)!\le` ``tol`` (default :math:`2^{-53}`) for :math:`\theta` an upper bound of
:math:`\|G/s\|_2` over the batch (:math:`\sum_i|\Delta\omega^i|\,\|A_i\|_2`), so the truncation
error is below double rounding. Diagonal ``A_i`` (vectors ``a_i``) take the closed form
elementwise. Array code is written against ``xp`` (NumPy on CPU, CuPy on GPU).

Random models follow the official code: :math:`A_i` iid :math:`N(0,1/N)` entries (std
:math:`1/\sqrt N`; with unit variance the expansion's terms grow with N), ``B`` iid N(0, 1),
:math:`Z_0=W\omega_0+b` with Gaussian ``W``, ``b``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from lemmata.analysis.validation import one_of

from . import backends
from .arrays import ArrayTypeError, InvalidArrayError, as_array, integer, real_scalar


def _positive_int(name, value):
    return integer(name, value, minimum=1)


def _nonnegative_finite(name, value):
    return real_scalar(name, value, nonnegative=True)
from .signature import _as_paths, signature
from .stats import child_seed

__all__ = ["LinearCDE", "random_cde", "time_augment", "toy_dataset", "Readout", "ridge_readout",
           "rmse", "expansion", "word_vectors", "random_feature_kernel", "selective_scan", "toy_task"]


@dataclass(frozen=True)
class LinearCDE:
    r"""A linear CDE :math:`dZ=\sum_iA_iZ\,d\omega^i+B\,d\xi`.

    Attributes
    ----------
    A : array (d, N, N), or (d, N) when ``diagonal`` (the diagonals of commuting A_i)
    B : array (N, d_xi) or None (no forcing)
    W, b : arrays (N, d) and (N,), or None: the initial state :math:`Z_0=W\omega_0+b`
        (used when :meth:`solve` gets no ``z0``).
    """

    A: np.ndarray
    B: np.ndarray | None = None
    W: np.ndarray | None = None
    b: np.ndarray | None = None

    def __post_init__(self):
        A = as_array(self.A, name="A", finite=False)
        if A.ndim not in (2, 3) or (A.ndim == 3 and A.shape[1] != A.shape[2]):
            raise InvalidArrayError(f"`A` must have shape (d, N, N) or, diagonal, (d, N); got {A.shape}.")
        if not np.all(np.isfinite(A)):
            raise InvalidArrayError("`A` must be finite.")
        object.__setattr__(self, "A", A)
        N = A.shape[1]
        for name, shape_ok in (("B", lambda s: len(s) == 2 and s[0] == N),
                               ("W", lambda s: len(s) == 2 and s == (N, A.shape[0])),
                               ("b", lambda s: s == (N,))):
            value = getattr(self, name)
            if value is not None:
                value = as_array(value, name=name)
                if not shape_ok(value.shape):
                    raise ValueError(f"`{name}` has shape {value.shape}, which does not fit A of shape {A.shape}.")
                object.__setattr__(self, name, value)

    @functools.cached_property
    def norms(self) -> np.ndarray:
        r""":math:`\|A_i\|_2` for each i (largest singular value; cached)."""
        if self.diagonal:
            return np.max(np.abs(self.A), axis=1)
        return np.linalg.norm(self.A, ord=2, axis=(1, 2))

    @property
    def diagonal(self) -> bool:
        return self.A.ndim == 2

    @property
    def N(self) -> int:
        return self.A.shape[1]

    @property
    def d(self) -> int:
        return self.A.shape[0]

    def dense(self) -> "LinearCDE":
        """The same CDE with the diagonal A_i written as dense matrices."""
        if not self.diagonal:
            return self
        A = np.zeros((self.d, self.N, self.N))
        idx = np.arange(self.N)
        A[:, idx, idx] = self.A
        return LinearCDE(A, self.B, self.W, self.b)

    def initial_state(self, omega):
        """:math:`Z_0=W\\omega_0+b` for each path (zeros where W, b are absent)."""
        arr, single = _as_paths(omega, "omega")
        z = np.zeros((arr.shape[0], self.N))
        if self.W is not None:
            z += arr[:, 0] @ self.W.T
        if self.b is not None:
            z += self.b
        return z[0] if single else z

    def solve(self, omega, z0=None, *, xi=None, method: str = "exact", stream: bool = False,
              backend: str = "numpy", tol: float = 2.0 ** -53):
        r"""Hidden state at the end of each path (or at every point with ``stream``).

        Parameters
        ----------
        omega : array (length, d) or (batch, length, d) — the control, piecewise linear.
        z0 : array (N,) or (batch, N), optional — default :meth:`initial_state`.
        xi : array like ``omega`` with ``B.shape[1]`` channels, optional — the forcing path;
            default ``omega`` when ``B`` is set (the official choice xi = omega).
        method : "exact" (per-segment exponential) or "euler".
        stream : return (batch, length, N), the state at every point (``Z_0`` first).
        backend : "numpy" or "cupy".
        tol : relative truncation error of each step's exponential series (``exact`` with dense
            A_i): the default is double rounding; 1e-8 halves the work and is still far tighter
            than the official adaptive solver (atol = rtol = 1e-2).
        """
        if not (0 < real_scalar("tol", tol) < 1):
            raise InvalidArrayError(f"`tol` must be a number in (0, 1); got {tol!r}.")
        tol = float(tol)
        one_of("method", method, ("exact", "euler"))
        one_of("backend", backend, ("numpy", "cupy"))
        xp = backends.get(backend).xp
        arr, single = _as_paths(omega, "omega")
        if arr.shape[2] != self.d:
            raise ValueError(f"`omega` must have {self.d} channels (one per A_i); got {arr.shape[2]}.")
        batch = arr.shape[0]
        if z0 is None:
            z = self.initial_state(arr)
        else:
            z = as_array(z0, name="z0", finite=False)
            if z.shape not in ((self.N,), (batch, self.N)):
                raise ValueError(f"`z0` must have shape ({self.N},) or ({batch}, {self.N}); got {z.shape}.")
            if not np.all(np.isfinite(z)):
                raise ValueError("`z0` must be finite.")
            z = np.broadcast_to(z, (batch, self.N)).copy()
        forcing = None
        if self.B is not None:
            x = arr if xi is None else _as_paths(xi, "xi")[0]
            if x.shape[:2] != arr.shape[:2] or x.shape[2] != self.B.shape[1]:
                raise ValueError(f"`xi` must have shape {(batch, arr.shape[1], self.B.shape[1])}; got {x.shape}.")
            forcing = xp.asarray(np.diff(x, axis=1) @ self.B.T)        # (batch, L-1, N)
        elif xi is not None:
            raise ValueError("`xi` was given but the CDE has no `B`.")
        increments = np.diff(arr, axis=1)                               # (batch, L-1, d)
        inc = xp.asarray(increments)
        z = xp.asarray(z)
        A = xp.asarray(self.A)
        states = [z] if stream else None
        if not self.diagonal:
            stacked = xp.ascontiguousarray(xp.transpose(A, (2, 0, 1)).reshape(self.N, self.d * self.N))
            if method == "exact":
                # per step: theta >= |G|_2 for every path, then substeps and series length
                thetas = np.max(np.abs(increments) @ self.norms, axis=0)
                plan = [_series_plan(float(theta), tol) for theta in thetas]
        for k in range(inc.shape[1]):
            dw = inc[:, k]
            f = None if forcing is None else forcing[:, k]
            if self.diagonal:
                z = _diagonal_step(xp, A, z, dw, f, method)
            elif method == "euler":
                z = z + _apply(xp, stacked, z, dw, self.d, self.N) + (0 if f is None else f)
            else:
                z = _exact_dense_step(xp, stacked, z, dw, f, *plan[k], self.d, self.N)
            if stream:
                states.append(z)
        out = xp.stack(states, axis=1) if stream else z
        return out[0] if single else out


def _apply(xp, stacked, z, dw, d, N):
    """G z for every path: z @ [A_1^T .. A_d^T] -> (batch, d, N), contracted with dw (batch, d)."""
    y = (z @ stacked).reshape(z.shape[0], d, N)
    return xp.einsum("bdn,bd->bn", y, dw)


def _series_plan(theta: float, tol: float) -> tuple:
    """(substeps s, terms n) for a step with |G|_2 <= theta: s makes theta/s <= 1/2, and n is the
    smallest with (theta/s)^(n+1) e^(theta/s) / (n+1)! <= tol (the Taylor remainder)."""
    s = max(1, math.ceil(2.0 * theta))
    t = theta / s
    n, term = 1, math.exp(t) * t
    while t > 0.0 and term * t / (n + 1) > tol:
        n += 1
        term *= t / n
    return s, n


def _exact_dense_step(xp, stacked, z, dw, f, s, n, d, N):
    """exp of the augmented matrix [[G, B dxi], [0, 0]] applied to (z, 1): s substeps of an
    n-term Taylor series, one matrix product per term for the whole batch."""
    dws = dw / s
    fs = None if f is None else f / s
    for _ in range(s):
        term = z
        total = z
        for j in range(1, n + 1):
            nxt = _apply(xp, stacked, term, dws, d, N)
            if j == 1 and fs is not None:
                nxt = nxt + fs
            term = nxt / j
            total = total + term
        z = total
    return z


def _phi1(xp, g):
    """(e^g - 1)/g elementwise, 1 at g = 0 (expm1 keeps it accurate near 0)."""
    safe = xp.where(g == 0, 1.0, g)
    return xp.where(g == 0, 1.0, xp.expm1(safe) / safe)


def _diagonal_step(xp, A, z, dw, f, method):
    g = dw @ A                                   # (batch, N): sum_i a_i dw^i
    if method == "euler":
        return z + g * z + (0 if f is None else f)
    out = xp.exp(g) * z
    return out if f is None else out + _phi1(xp, g) * f


def random_cde(N: int, d: int, *, seed: int, diagonal: bool = False, forcing: int | None = None,
               initial: bool = True) -> LinearCDE:
    r"""Random linear CDE as in the official code: :math:`A_i` with iid :math:`N(0,1/N)` entries
    (``diagonal``: the diagonals only, same law), ``B`` (N, forcing) with iid N(0, 1) entries
    (``forcing`` channels; ``None`` for no B), and :math:`Z_0=W\omega_0+b` with ``W`` (N, d),
    ``b`` (N,) iid N(0, 1) when ``initial``."""
    N, d = _positive_int("N", N), _positive_int("d", d)
    if not isinstance(diagonal, (bool, np.bool_)) or not isinstance(initial, (bool, np.bool_)):
        raise ArrayTypeError(f"`diagonal` and `initial` must be booleans; got {diagonal!r} and {initial!r}.")
    rng = np.random.default_rng(child_seed(seed, 0))
    A = rng.normal(scale=1.0 / math.sqrt(N), size=(d, N) if diagonal else (d, N, N))
    B = None if forcing is None else rng.normal(size=(N, _positive_int("forcing", forcing)))
    W = rng.normal(size=(N, d)) if initial else None
    b = rng.normal(size=N) if initial else None
    return LinearCDE(A, B, W, b)


def time_augment(paths):
    """omega = [t, X] with t on linspace(0, 1, length) as the first channel (the official
    choice; without it time reparametrisations of a path cannot be told apart)."""
    arr, single = _as_paths(paths)
    t = np.broadcast_to(np.linspace(0.0, 1.0, arr.shape[1])[None, :, None], arr.shape[:2] + (1,))
    out = np.concatenate([t, arr], axis=2)
    return out[0] if single else out


def toy_dataset(task: str, n_paths: int, *, length: int = 100, seed: int):
    r"""The paper's toy data: per-channel increments round(N(0, 1)), cumulative sum, divided by
    the global max ``|X|``; labels from the signature of X: ``"area"`` -> :math:`S^{12}` (2-D
    paths), ``"volume"`` -> :math:`S^{123}` (3-D paths), divided by the max ``|label|`` (zero-based
    letters (0, 1) and (0, 1, 2) in the official code). Returns ``(X, y)``."""
    one_of("task", task, ("area", "volume"))
    n_paths, length = _positive_int("n_paths", n_paths), _positive_int("length", length)
    if length < 2:
        raise ValueError(f"`length` must be at least 2; got {length}.")
    dim = 2 if task == "area" else 3
    rng = np.random.default_rng(child_seed(seed, 1))
    X = np.cumsum(np.round(rng.normal(size=(n_paths, length, dim))), axis=1)
    scale = np.max(np.abs(X))
    X = X / (scale if scale > 0 else 1.0)
    S = signature(X, dim)
    index = dim + dim * dim + 5 if task == "volume" else dim + 1   # words (1,2,3) and (1,2)
    y = S[:, index]
    top = np.max(np.abs(y))
    return X, y / (top if top > 0 else 1.0)


def toy_task(task: str, n_paths: int, N: int, *, diagonal: bool, seed: int, model_seed: int,
             length: int = 100, train_fraction: float = 0.8, alpha: float = 1e-8, tol: float = 1e-8):
    r"""The paper's toy experiment at a chosen size: :func:`toy_dataset`, omega = xi = [t, X]
    (:func:`time_augment`), a random LCDE of width ``N`` (:func:`random_cde` with ``model_seed``,
    dense or ``diagonal``), the exact solver, and a ridge readout with intercept on Z_T fitted on
    the first ``train_fraction`` of the paths. Returns ``(prediction, target)`` on the rest."""
    N = _positive_int("N", N)
    train_fraction = real_scalar("train_fraction", train_fraction)
    X, y = toy_dataset(task, n_paths, length=length, seed=seed)
    omega = time_augment(X)
    model = random_cde(N, omega.shape[2], seed=model_seed, diagonal=diagonal, forcing=omega.shape[2])
    Z = model.solve(omega, tol=tol)
    n_train = int(train_fraction * n_paths)
    if not 0 < n_train < n_paths:
        raise ValueError(f"`train_fraction` must leave paths on both sides; got {train_fraction!r} of {n_paths}.")
    readout = ridge_readout(Z[:n_train], y[:n_train], alpha=alpha)
    return readout.predict(Z[n_train:]), y[n_train:]


@dataclass(frozen=True)
class Readout:
    """Linear readout ``y = features @ coef + intercept``."""

    coef: np.ndarray
    intercept: float | np.ndarray

    def predict(self, features):
        F = as_array(features, name="features", ndim=(1, 2), finite=False)
        if F.shape[-1] != self.coef.shape[0]:
            raise InvalidArrayError(f"`features` must have {self.coef.shape[0]} columns (as in the fit); got "
                                    f"shape {F.shape}.")
        return F @ self.coef + self.intercept


def ridge_readout(features, targets, *, alpha: float = 1e-6, intercept: bool = True) -> Readout:
    r"""Ridge regression :math:`\min_w\|y-Fw-c\|^2+\alpha\|F\|_F^2/n_{\rm feat}\,\|w\|^2`: the
    penalty is scaled by the mean squared feature norm so that ``alpha`` is dimensionless.
    Solved on centred data through the SVD (stable when features are nearly collinear, as hidden
    states of a random CDE are)."""
    F = as_array(features, name="features", finite=False)
    y = as_array(targets, name="targets", finite=False)
    alpha = _nonnegative_finite("alpha", alpha)
    if F.ndim != 2 or y.ndim not in (1, 2) or y.shape[0] != F.shape[0]:
        raise InvalidArrayError(f"`features` must be (n, p) and `targets` (n,) or (n, q) with the same n; "
                         f"got {F.shape} and {y.shape}.")
    if not (np.all(np.isfinite(F)) and np.all(np.isfinite(y))):
        raise ValueError("`features` and `targets` must be finite.")
    fm = F.mean(axis=0) if intercept else np.zeros(F.shape[1])
    ym = y.mean(axis=0) if intercept else np.zeros(y.shape[1:])
    Fc, yc = F - fm, y - ym
    U, s, Vt = np.linalg.svd(Fc, full_matrices=False)
    lam = alpha * np.sum(Fc * Fc) / max(1, F.shape[1])
    if lam > 0:
        shrink = s / (s * s + lam)
    else:                                     # least squares: pseudo-inverse, rank cut at 1e-15
        keep = s > s[0] * 1e-15
        shrink = np.zeros_like(s)
        shrink[keep] = 1.0 / s[keep]
    coef = Vt.T @ (shrink[:, None] * (U.T @ yc.reshape(len(yc), -1)))
    coef = coef.reshape((F.shape[1],) + y.shape[1:])
    return Readout(coef, ym - fm @ coef)


def rmse(prediction, target) -> float:
    """Root mean squared error."""
    p = as_array(prediction, name="prediction")
    t = as_array(target, name="target")
    if p.shape != t.shape:
        raise InvalidArrayError(f"`prediction` and `target` must have the same shape; got {p.shape} and {t.shape}.")
    diff = p - t
    return float(np.sqrt(np.mean(diff * diff)))


def word_vectors(A, z0, depth: int):
    r"""The vectors :math:`A_Iz_0` for all words ``|I| <= depth`` in the flat signature order,
    shape (1 + d + ... + d^depth, N) (the empty word first): level k from level k-1 by
    :math:`A_{(I,i)}z_0=A_iA_Iz_0` (the last letter acts last)."""
    A = as_array(A, name="A", ndim=(2, 3))
    depth = _positive_int("depth", depth)
    if A.ndim == 2:                                  # diagonal
        A = np.stack([np.diag(a) for a in A])
    if A.shape[1] != A.shape[2]:
        raise InvalidArrayError(f"`A` must have shape (d, N, N) or, diagonal, (d, N); got {A.shape}.")
    z = as_array(z0, name="z0", ndim=1)
    if z.shape != (A.shape[1],):
        raise InvalidArrayError(f"`z0` must have shape ({A.shape[1]},); got {z.shape}.")
    if A.shape[0] ** depth * A.shape[1] * 8 > 2 ** 33:
        raise InvalidArrayError(f"`depth` = {depth} with d = {A.shape[0]} gives {A.shape[0] ** depth:.3g} words at "
                                f"the top level ({A.shape[0] ** depth * A.shape[1] * 8 / 2 ** 30:.3g} GiB); lower `depth`.")
    levels = [z[None, :]]
    for _ in range(depth):
        prev = levels[-1]                                        # (d^(k-1), N)
        nxt = np.einsum("inm,wm->win", A, prev)                  # (d^(k-1), d, N): word-major
        levels.append(nxt.reshape(-1, z.shape[0]))
    return np.concatenate(levels, axis=0)


def expansion(model: LinearCDE, omega, z0, depth: int):
    r"""The signature expansion truncated at words of length <= ``depth``:
    :math:`\sum_I(A_Iz_0)S^I(\omega)+\sum_{I,j}(A_Ib_j)S^{jI}(\omega)` (the forcing term with
    ``xi = omega`` when the model has ``B``), from :func:`lemmata.numerics.signature.signature`. For
    one path (length, d) and one ``z0`` (N,)."""
    if not isinstance(model, LinearCDE):
        raise ArrayTypeError(f"`model` must be a LinearCDE; got {type(model).__name__}.")
    arr, single = _as_paths(omega, "omega")
    if not single:
        raise InvalidArrayError(f"`omega` must be one path (length, d); got shape {arr.shape}.")
    depth = _positive_int("depth", depth)
    d = model.d
    if arr.shape[2] != d:
        raise InvalidArrayError(f"`omega` must have {d} channels (one per A_i); got {arr.shape[2]}.")
    extra = 1 if model.B is not None else 0
    S = np.concatenate([[1.0], signature(arr[0], depth + extra, backend="numpy")])
    n_words = S.size if extra == 0 else S.size - d ** (depth + 1)
    V = word_vectors(model.A, z0, depth)
    total = S[:n_words] @ V
    if model.B is not None:
        if model.B.shape[1] != d:
            raise ValueError("the forcing term of the expansion assumes xi = omega (B with d columns).")
        for j in range(d):
            VB = word_vectors(model.A, model.B[:, j], depth)
            # S^{jI}: word j followed by I; level k+1 index = offset + j d^k + idx(I)
            idx = []
            for k in range(0, depth + 1):
                start = 1 + sum(d ** i for i in range(1, k + 1))      # where level k + 1 starts
                idx.extend(range(start + j * d ** k, start + (j + 1) * d ** k))
            total = total + S[np.array(idx)] @ VB
    return total


def _pad_to(paths_list, length):
    """Repeat each path's last point up to ``length`` points: a zero segment changes neither the
    signature nor the state of a linear CDE."""
    return np.stack([np.vstack([p, np.repeat(p[-1:], length - len(p), axis=0)]) for p in paths_list])


def random_feature_kernel(paths_x, paths_y=None, N: int = 256, *, seed: int, backend: str = "numpy"):
    r"""One draw of :math:`\tfrac1N\langle Z_T(X),Z_T(Y)\rangle` for a random LCDE without forcing:
    :math:`A_i` iid :math:`N(0,1/N)`, :math:`Z_0\sim N(0,I_N)` shared by all paths, exact solver.
    As N grows it tends to the (untruncated) signature kernel
    :math:`\sum_IS^I(X)S^I(Y)` with fluctuations of order :math:`N^{-1/2}` (arXiv:2402.19047;
    Cirone, Lemercier & Salvi 2023). Paths (batch, length, d), or lists of (length_j, d) arrays of
    different lengths; returns the (n_x, n_y) matrix."""
    N = _positive_int("N", N)

    def as_list(paths, name):
        if isinstance(paths, (list, tuple)):
            return [_as_paths(p, name)[0][0] for p in paths]
        arr, _ = _as_paths(paths, name)
        return list(arr)

    xs = as_list(paths_x, "paths_x")
    ys = xs if paths_y is None else as_list(paths_y, "paths_y")
    if not xs or not ys:
        raise InvalidArrayError("`paths_x` and `paths_y` must hold at least one path each.")
    d = xs[0].shape[1]
    if any(p.shape[1] != d for p in xs + ys):
        raise ValueError("`paths_x` and `paths_y` must all have the same number of channels.")
    length = max(len(p) for p in xs + ys)
    rng = np.random.default_rng(child_seed(seed, 2))
    model = LinearCDE(rng.normal(scale=1.0 / math.sqrt(N), size=(d, N, N)))
    z0 = rng.normal(size=N)
    Z = backends.to_numpy(model.solve(_pad_to(xs + ([] if paths_y is None else ys), length), z0,
                                      backend=backend))
    zx = Z[:len(xs)]
    zy = zx if paths_y is None else Z[len(xs):]
    return zx @ zy.T / N


def selective_scan(delta, A, B, x, *, h0=None, discretization: str = "zoh", backend: str = "numba"):
    r"""The S6 (Mamba) recurrence per channel with diagonal ``A``:

    .. math::

        h_k=e^{\Delta_kA}h_{k-1}+\beta_k,\qquad
        \beta_k=\begin{cases}(\Delta_kA)^{-1}(e^{\Delta_kA}-I)\,\Delta_kB_kx_k&\text{"zoh"}\\
        \Delta_kB_kx_k&\text{"euler" (Mamba's input discretisation)}\end{cases}

    Read as a linear CDE (arXiv:2402.19047, brief item 8): ``"zoh"`` is the *exact* solution of
    :math:`dh=A h\,d\omega+d\xi` with the clock :math:`\omega` increasing by :math:`\Delta_k` and
    :math:`\xi` by :math:`\Delta_kB_kx_k` on step k (the gate is a clock); ``"euler"`` differs at
    :math:`O(\Delta^2)`. Selectivity is an input-dependent :math:`\omega`; S4 is
    :math:`\omega\propto t`.

    Parameters
    ----------
    delta : array (T, D) — positive step sizes per channel (Mamba: softplus of a linear map of x)
    A : array (D, n) — diagonal state matrices (Mamba: -exp(A_log))
    B : array (T, n) — input projections, shared by channels
    x : array (T, D) — inputs
    h0 : array (D, n), optional

    Returns
    -------
    array (T, D, n): the states, through :func:`lemmata.numerics.scan.linear_scan`.
    """
    from .scan import linear_scan
    one_of("discretization", discretization, ("zoh", "euler"))
    delta, A, B, x = (as_array(v, name=n, finite=False) for n, v in (("delta", delta), ("A", A), ("B", B), ("x", x)))
    if delta.ndim != 2 or x.shape != delta.shape:
        raise ValueError(f"`delta` and `x` must both have shape (T, D); got {delta.shape} and {x.shape}.")
    T, D = delta.shape
    if A.ndim != 2 or A.shape[0] != D:
        raise ValueError(f"`A` must have shape ({D}, n); got {A.shape}.")
    n = A.shape[1]
    if B.shape != (T, n):
        raise ValueError(f"`B` must have shape ({T}, {n}); got {B.shape}.")
    if not np.all(delta > 0):
        raise InvalidArrayError("`delta` must be positive (a step size per channel and time).")
    for name, v in (("delta", delta), ("A", A), ("B", B), ("x", x)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"`{name}` must be finite.")
    g = delta[:, :, None] * A[None]                              # (T, D, n)
    drive = delta[:, :, None] * B[:, None, :] * x[:, :, None]    # Delta_k B_k x_k
    if discretization == "zoh":
        drive = _phi1(np, g) * drive
    if h0 is not None:
        h0 = as_array(h0, name="h0")
        if h0.shape != (D, n):
            raise InvalidArrayError(f"`h0` must have shape ({D}, {n}); got {h0.shape}.")
    return linear_scan(np.exp(g), drive, h0, backend=backend)
