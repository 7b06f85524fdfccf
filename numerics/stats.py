"""Estimates with standard errors, and the per-path random streams of Monte Carlo runs."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from lemmata.analysis.errors import LemmataError

from .arrays import InvalidArrayError, as_array, integer

__all__ = ["Estimate", "mean_estimate", "child_seed", "path_generators", "fit_slope"]


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate: ``value`` +- ``stderr`` from ``n`` finite samples; ``n_excluded``
    samples (diverged paths) were left out and are reported, never averaged in."""

    value: float
    stderr: float
    n: int
    n_excluded: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def __repr__(self) -> str:
        extra = f", {self.n_excluded} excluded" if self.n_excluded else ""
        return f"Estimate({self.value:.6g} +- {self.stderr:.2g}, n={self.n}{extra})"


def mean_estimate(samples, axis: int = 0) -> Estimate | list:
    """Mean and standard error of the finite entries of ``samples`` along ``axis``.

    NaN handling (the same in :func:`fit_slope`): non-finite entries (NaN, +-inf: diverged paths)
    are excluded and counted in ``n_excluded``, never averaged in. ``samples`` must be 1-D.

    Raises
    ------
    LemmataError
        If fewer than two finite samples remain (no standard error can be formed).
    ValueError
        If ``samples`` is not a 1-D array of real numbers.
    """
    x = as_array(samples, name="samples", ndim=1, finite=False, min_size=0)
    finite = np.isfinite(x)
    if finite.any():
        scale = float(np.max(np.abs(x[finite])))
        with np.errstate(over="ignore"):
            if not np.isfinite(scale * scale * x.size):
                raise InvalidArrayError(f"`samples` are too large for a variance in float64 (max |x| = "
                                        f"{scale:.3g}); rescale them.")
    n = int(finite.sum())
    if n < 2:
        raise LemmataError(f"cannot estimate a mean from {n} finite samples out of {x.size}.")
    values = x[finite]
    return Estimate(float(values.mean()), float(values.std(ddof=1) / math.sqrt(n)), n,
                    int(x.size - n))


def child_seed(seed, *key: int) -> np.random.SeedSequence:
    """The stream keyed by ``key`` under ``seed`` (an int or a SeedSequence): the same
    (seed, key) always gives the same numbers, whatever else is drawn."""
    if isinstance(seed, np.random.SeedSequence):
        entropy, base_key = seed.entropy, tuple(seed.spawn_key)
    else:
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InvalidArrayError(f"`seed` must be a non-negative integer or a SeedSequence; got {seed!r}.")
        entropy, base_key = int(seed), ()
    for k in key:
        integer("key", k, minimum=0)
    return np.random.SeedSequence(entropy, spawn_key=base_key + tuple(int(k) for k in key))


def path_generators(seed, n_paths: int, offset: int = 0) -> list:
    """One independent ``numpy.random.Generator`` per path: path ``i`` draws from the stream
    :func:`child_seed` ``(seed, offset + i)``, so its numbers do not depend on how paths are
    batched or on the number of threads."""
    child_seed(seed)     # validates
    n_paths = integer("n_paths", n_paths, minimum=0)
    offset = integer("offset", offset, minimum=0)
    return [np.random.default_rng(child_seed(seed, offset + i)) for i in range(n_paths)]


def fit_slope(x, y, stderr_y=None) -> Estimate:
    r"""Least-squares slope of ``y`` against ``x`` with its standard error (weighted by
    ``1/stderr_y**2`` when given). Used for convergence orders in log-log coordinates.

    With :math:`X=[1,x]` and :math:`W=\mathrm{diag}(w)`: :math:`\hateta=(X^	op WX)^{-1}X^	op Wy`,
    standard error :math:`\sqrt{[(X^	op WX)^{-1}]_{11}\,s^2}` with :math:`s^2` the residual
    variance (unweighted) or 1 (weights from known standard errors).

    NaN handling, as in :func:`mean_estimate`: points where ``x``, ``y`` or ``stderr_y`` is not
    finite are excluded and counted in ``n_excluded`` of the returned :class:`Estimate`.

    Raises
    ------
    ValueError
        Shapes that differ, fewer than 3 finite points, non-positive ``stderr_y``.
    LemmataError
        A constant ``x`` (the slope is not identifiable).
    """
    x = as_array(x, name="x", ndim=1, finite=False, min_size=0)
    y = as_array(y, name="y", ndim=1, finite=False, min_size=0)
    if x.shape != y.shape:
        raise InvalidArrayError(f"`x` and `y` must be 1-D of equal length; got {x.shape} and {y.shape}.")
    keep = np.isfinite(x) & np.isfinite(y)
    if stderr_y is not None:
        e = as_array(stderr_y, name="stderr_y", ndim=1, finite=False, min_size=0)
        if e.shape != x.shape:
            raise InvalidArrayError(f"`stderr_y` must have the shape of `y` {y.shape}; got {e.shape}.")
        keep &= np.isfinite(e)
        if np.any(e[keep] <= 0):
            raise InvalidArrayError(f"`stderr_y` must be positive; got min {float(np.min(e[keep]))!r}.")
    n_excluded = int(x.size - keep.sum())
    x, y = x[keep], y[keep]
    if x.size < 3:
        raise InvalidArrayError(f"`x` and `y` must hold at least 3 finite points; got {x.size} "
                                f"({n_excluded} non-finite excluded).")
    if np.ptp(x) == 0:
        raise LemmataError(f"`x` is constant ({float(x[0])!r} at all {x.size} points): the slope is not "
                           "identifiable.")
    w = np.ones_like(x) if stderr_y is None else 1.0 / e[keep] ** 2
    if not np.all(np.isfinite(w)) or not np.isfinite(np.sum(w * (x * x + y * y))):
        raise InvalidArrayError("`x`, `y` or `stderr_y` are too large or too small for a float64 fit; rescale them.")
    X = np.column_stack([np.ones_like(x), x])
    W = np.diag(w)
    try:
        cov = np.linalg.inv(X.T @ W @ X)
    except np.linalg.LinAlgError:
        raise LemmataError("the normal equations of the fit are singular: `x` is numerically constant "
                           f"(range {float(np.ptp(x))!r}).") from None
    beta = cov @ X.T @ W @ y
    resid = y - X @ beta
    dof = x.size - 2
    scale = float(resid @ W @ resid) / dof if stderr_y is None else 1.0
    return Estimate(float(beta[1]), float(math.sqrt(max(cov[1, 1] * scale, 0.0))), int(x.size), n_excluded)
