r"""Finite-sum test problems :math:`f(x)=\frac1N\sum_i f_i(x)` with known constants.

Every problem evaluates batches: ``x`` has shape ``(..., d)``, the leading axes being independent
runs (Monte Carlo paths, or a sweep over a hyperparameter). Each problem knows what the theorems
need: the smoothness constants :math:`L_i` and :math:`L=\max_i L_i`, the minimum :math:`f^*`,
the per-sample infima :math:`f_i^*`, the interpolation gap
:math:`\sigma_{\rm int}^2=\mathbb E_i[f^*-f_i^*]`, the positivity gap
:math:`\sigma_{\rm pos}^2=\mathbb E_i[f_i^*]` and the distance to the solution set.
"""

from __future__ import annotations

import abc
from functools import cached_property

import numpy as np
from scipy.optimize import linprog

from lemmata.analysis.errors import AssumptionError

from .arrays import InvalidArrayError, as_array

__all__ = ["Problem", "LeastSquares", "LogisticRegression", "SigmoidRegression", "OffsetQuadratic"]


def _as_matrix(name, A):
    A = as_array(A, name=name, finite=False, min_size=0)
    if A.ndim != 2 or A.shape[0] < 1 or A.shape[1] < 1:
        raise InvalidArrayError(f"`{name}` must be a non-empty 2-D array (samples x features); got shape {A.shape}.")
    if not np.all(np.isfinite(A)):
        raise InvalidArrayError(f"`{name}` must be finite; it holds {int((~np.isfinite(A)).sum())} non-finite entries.")
    return A


def _as_vector(name, b, n):
    b = as_array(b, name=name, finite=False, min_size=0)
    if b.shape != (n,):
        raise InvalidArrayError(f"`{name}` must have shape ({n},); got {b.shape}.")
    if not np.all(np.isfinite(b)):
        raise InvalidArrayError(f"`{name}` must be finite.")
    return b


class Problem(abc.ABC):
    """A finite sum of non-negative losses; subclasses give the per-sample margin maths."""

    #: number of samples N and dimension d
    n_samples: int
    dim: int

    # ---- per-sample pieces, batched: x (..., d), idx (..., B) -> values/grads over the batch
    @abc.abstractmethod
    def _sample_values_grads(self, x, idx):
        """Per-sample losses (..., B) and gradients (..., B, d) at ``x`` for samples ``idx``."""

    def value_and_grad(self, x, idx=None):
        """Mini-batch mean loss and gradient. ``idx`` of shape ``(..., B)`` (or ``(...,)`` for one
        sample per run) selects samples; None means the full sum (deterministic)."""
        x = as_array(x, name="x", finite=False)
        if x.ndim < 1 or x.shape[-1] != self.dim:
            raise InvalidArrayError(f"`x` must have shape (..., {self.dim}) (the dimension last); got {x.shape}.")
        if idx is None:
            idx = np.broadcast_to(np.arange(self.n_samples), x.shape[:-1] + (self.n_samples,))
        else:
            idx = np.asarray(idx)
            if idx.dtype.kind not in "iu" or idx.size and (idx.min() < 0 or idx.max() >= self.n_samples):
                raise InvalidArrayError(f"`idx` must hold sample indices in [0, {self.n_samples}); got dtype "
                                        f"{idx.dtype}" + (f", range [{idx.min()}, {idx.max()}]." if idx.size and
                                                           idx.dtype.kind in "iuf" else "."))
            if idx.ndim == x.ndim - 1:
                idx = idx[..., None]
            if idx.shape[:-1] != x.shape[:-1]:
                raise InvalidArrayError(f"`idx` must have shape {x.shape[:-1]} + (batch,) (the leading axes of `x`); "
                                        f"got {idx.shape}.")
        values, grads = self._sample_values_grads(x, idx)
        return values.mean(axis=-1), grads.mean(axis=-2)

    def value(self, x):
        """Full loss f(x), shape ``x.shape[:-1]``."""
        return self.value_and_grad(x)[0]

    def grad(self, x):
        """Full gradient, shape of ``x``."""
        return self.value_and_grad(x)[1]

    # ---- constants
    @property
    @abc.abstractmethod
    def sample_smoothness(self) -> np.ndarray:
        """L_i, a smoothness constant of each f_i (shape (N,))."""

    @property
    def smoothness(self) -> float:
        """L = max_i L_i, the constant the NGN theorems use."""
        return float(np.max(self.sample_smoothness))

    @property
    @abc.abstractmethod
    def minimizer(self) -> np.ndarray:
        """A minimiser x* of f."""

    @cached_property
    def f_star(self) -> float:
        """f* = min f."""
        return float(self.value(self.minimizer))

    @property
    @abc.abstractmethod
    def sample_f_star(self) -> np.ndarray:
        """f_i* = inf f_i (an infimum: it need not be attained)."""

    @property
    def interp_gap(self) -> float:
        """sigma_int^2 = E_i[f* - f_i*]."""
        return float(np.mean(self.f_star - self.sample_f_star))

    @property
    def pos_gap(self) -> float:
        """sigma_pos^2 = E_i[f_i*]."""
        return float(np.mean(self.sample_f_star))

    def solution_distance_sq(self, x) -> np.ndarray:
        """dist(x, S)^2 for the solution set S (a point unless overridden)."""
        return np.sum((as_array(x, name="x", finite=False) - self.minimizer) ** 2, axis=-1)


class LeastSquares(Problem):
    r""":math:`f_i(x)=\tfrac12(a_i^\top x-b_i)^2`; :math:`L_i=\|a_i\|^2`, :math:`f_i^*=0`.

    The solution set is :math:`x^*+\ker A`; :attr:`minimizer` is the minimum-norm one."""

    def __init__(self, A, b):
        self.A = _as_matrix("A", A)
        self.n_samples, self.dim = self.A.shape
        self.b = _as_vector("b", b, self.n_samples)

    def _sample_values_grads(self, x, idx):
        rows = self.A[idx]                                   # (..., B, d)
        residual = np.einsum("...bd,...d->...b", rows, x) - self.b[idx]
        return 0.5 * residual ** 2, residual[..., None] * rows

    @cached_property
    def sample_smoothness(self):
        return np.sum(self.A ** 2, axis=1)

    @cached_property
    def minimizer(self):
        return np.linalg.lstsq(self.A, self.b, rcond=None)[0]

    @property
    def sample_f_star(self):
        return np.zeros(self.n_samples)

    def solution_distance_sq(self, x):
        projector = np.linalg.pinv(self.A) @ self.A          # onto the row space
        delta = (as_array(x, name="x", finite=False) - self.minimizer) @ projector.T
        return np.sum(delta ** 2, axis=-1)


class LogisticRegression(Problem):
    r""":math:`f_i(x)=\log(1+e^{-y_i z_i^\top x})`, labels :math:`y_i\in\{-1,+1\}`;
    :math:`L_i=\|z_i\|^2/4`, :math:`f_i^*=0` (an infimum, not attained).

    Raises
    ------
    AssumptionError
        If the data are separable (then f has no finite minimiser).
    """

    def __init__(self, Z, y):
        self.Z = _as_matrix("Z", Z)
        self.n_samples, self.dim = self.Z.shape
        y = as_array(y, name="y", finite=False, min_size=0)
        if y.shape != (self.n_samples,) or not np.all(np.isin(y, (-1, 1))):
            raise InvalidArrayError(f"`y` must hold {self.n_samples} labels in {{-1, +1}}; got "
                             f"shape {y.shape} with values {np.unique(y)[:5]}.")
        self.y = y.astype(float)
        self._signed = self.Z * self.y[:, None]
        if self.is_separable():
            raise AssumptionError("the data (`Z`, `y`) are linearly separable, so the logistic "
                                  "loss has no finite minimiser; add label noise or overlap.")

    def is_separable(self) -> bool:
        """Whether some w != 0 has y_i z_i.w >= 0 for all i with one strict: an LP over the
        box ``|w| <= 1`` maximising the total margin."""
        n, d = self._signed.shape
        res = linprog(-self._signed.sum(axis=0), A_ub=-self._signed, b_ub=np.zeros(n),
                      bounds=[(-1, 1)] * d, method="highs")
        return bool(res.status == 0 and -res.fun > 1e-9 * max(1.0, np.abs(self._signed).max()))

    def _sample_values_grads(self, x, idx):
        rows = self._signed[idx]                             # (..., B, d)
        margin = np.einsum("...bd,...d->...b", rows, x)
        values = np.logaddexp(0.0, -margin)
        weight = -np.exp(-np.logaddexp(0.0, margin))         # -sigmoid(-margin)
        return values, weight[..., None] * rows

    @cached_property
    def sample_smoothness(self):
        return np.sum(self.Z ** 2, axis=1) / 4.0

    @cached_property
    def minimizer(self):
        """Newton's method with backtracking, to a gradient norm at round-off level."""
        x = np.zeros(self.dim)
        for _ in range(100):
            value, grad = self.value_and_grad(x)
            margin = self._signed @ x
            s = np.exp(-np.logaddexp(0.0, -margin)) * np.exp(-np.logaddexp(0.0, margin))
            hessian = (self._signed.T * s) @ self._signed / self.n_samples
            step = np.linalg.solve(hessian, grad)
            t = 1.0
            while self.value(x - t * step) > value - 0.25 * t * grad @ step and t > 1e-12:
                t *= 0.5
            x = x - t * step
            if np.linalg.norm(grad) < 1e-15 * max(1.0, np.abs(self._signed).max()):
                break
        return x

    @property
    def sample_f_star(self):
        return np.zeros(self.n_samples)


class SigmoidRegression(Problem):
    r"""A non-convex non-negative loss with a known minimiser:
    :math:`f_i(x)=\tfrac12\big(s(a_i^\top x)-s(a_i^\top x^*)\big)^2`, :math:`s` the logistic sigmoid.

    :math:`f^*=f_i^*=0` at :math:`x^*`. Smoothness: :math:`|\partial_u^2\tfrac12(s(u)-b)^2|
    =|s'^2+(s-b)s''|\le\tfrac1{16}+\tfrac1{6\sqrt3}`, so :math:`L_i=0.1588\,\|a_i\|^2`
    (an upper bound, which is what the theorems need)."""

    _CURVATURE = 1.0 / 16.0 + 1.0 / (6.0 * np.sqrt(3.0))

    def __init__(self, A, x_star):
        self.A = _as_matrix("A", A)
        self.n_samples, self.dim = self.A.shape
        self.x_star = _as_vector("x_star", x_star, self.dim)
        self.targets = 1.0 / (1.0 + np.exp(-self.A @ self.x_star))

    def _sample_values_grads(self, x, idx):
        rows = self.A[idx]
        u = np.einsum("...bd,...d->...b", rows, x)
        s = 1.0 / (1.0 + np.exp(-u))
        r = s - self.targets[idx]
        return 0.5 * r ** 2, (r * s * (1.0 - s))[..., None] * rows

    @cached_property
    def sample_smoothness(self):
        return self._CURVATURE * np.sum(self.A ** 2, axis=1)

    @property
    def minimizer(self):
        return self.x_star

    @property
    def sample_f_star(self):
        return np.zeros(self.n_samples)


class OffsetQuadratic(Problem):
    r""":math:`f_i(x)=\tfrac{h_i}2\|x-m_i\|^2+c_i` with :math:`h_i>0`, :math:`c_i\ge0`:
    :math:`L_i=h_i`, :math:`f_i^*=c_i`, minimiser the :math:`h`-weighted mean of the centres.
    With :math:`c_i>0` the positivity gap is non-zero (statement F3 and the N3 max-term)."""

    def __init__(self, h, centres, offsets):
        self.centres = _as_matrix("centres", centres)
        self.n_samples, self.dim = self.centres.shape
        self.h = _as_vector("h", h, self.n_samples)
        self.c = _as_vector("offsets", offsets, self.n_samples)
        if np.any(self.h <= 0):
            raise InvalidArrayError(f"`h` must be positive; got min {self.h.min()!r}.")
        if np.any(self.c < 0):
            raise InvalidArrayError(f"`offsets` must be non-negative; got min {self.c.min()!r}.")

    def _sample_values_grads(self, x, idx):
        delta = x[..., None, :] - self.centres[idx]          # (..., B, d)
        h = self.h[idx]
        return 0.5 * h * np.sum(delta ** 2, axis=-1) + self.c[idx], h[..., None] * delta

    @property
    def sample_smoothness(self):
        return self.h

    @cached_property
    def minimizer(self):
        return (self.h[:, None] * self.centres).sum(axis=0) / self.h.sum()

    @property
    def sample_f_star(self):
        return self.c
