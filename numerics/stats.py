"""Estimates with standard errors, and the per-path random streams of Monte Carlo runs."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from lemmata.analysis.errors import LemmataError

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

    Non-finite entries are excluded and counted in ``n_excluded``. For a 1-D input an
    :class:`Estimate` is returned; otherwise an array of them is not built: use 1-D slices.

    Raises
    ------
    LemmataError
        If fewer than two finite samples remain (no standard error can be formed).
    """
    x = np.asarray(samples, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"`samples` must be 1-D; got shape {x.shape}.")
    finite = np.isfinite(x)
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
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"`seed` must be a non-negative integer or a SeedSequence; got {seed!r}.")
        entropy, base_key = int(seed), ()
    return np.random.SeedSequence(entropy, spawn_key=base_key + tuple(int(k) for k in key))


def path_generators(seed, n_paths: int, offset: int = 0) -> list:
    """One independent ``numpy.random.Generator`` per path: path ``i`` draws from the stream
    :func:`child_seed` ``(seed, offset + i)``, so its numbers do not depend on how paths are
    batched or on the number of threads."""
    child_seed(seed)     # validates
    return [np.random.default_rng(child_seed(seed, offset + i)) for i in range(n_paths)]


def fit_slope(x, y, stderr_y=None) -> Estimate:
    """Least-squares slope of ``y`` against ``x`` with its standard error (weighted by
    ``1/stderr_y**2`` when given). Used for convergence orders in log-log coordinates."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 3:
        raise ValueError(f"`x` and `y` must be 1-D of equal length >= 3; got {x.shape} and {y.shape}.")
    w = np.ones_like(x) if stderr_y is None else 1.0 / np.asarray(stderr_y, dtype=float) ** 2
    X = np.column_stack([np.ones_like(x), x])
    W = np.diag(w)
    cov = np.linalg.inv(X.T @ W @ X)
    beta = cov @ X.T @ W @ y
    resid = y - X @ beta
    dof = x.size - 2
    scale = float(resid @ W @ resid) / dof if stderr_y is None else 1.0
    return Estimate(float(beta[1]), float(math.sqrt(cov[1, 1] * scale)), int(x.size))
