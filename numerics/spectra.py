"""Spectra of Hessians (and other symmetric operators) given only as matrix-vector products.

Everything here takes a callable ``hvp(v) -> H v`` on vectors of length ``dim`` and never forms
``H``: the sharpness (largest eigenvalue, arXiv:2402.17457 section 1) by Lanczos with full
reorthogonalisation, SciPy's ``eigsh`` or power iteration, each with a residual bound and a
status; the Hutchinson trace estimator; stochastic Lanczos quadrature (SLQ) for the spectral
density; the preconditioned operator P^{1/2} H P^{1/2} whose top eigenvalue is compared with
the edge-of-stability line 2/eta; the relative movement of an empirical NTK.

Error bounds. For a unit Ritz vector y with Ritz value theta and residual r = ||H y - theta y||,
some eigenvalue lambda of the symmetric H satisfies ``|lambda - theta| <= r`` (Bauer-Fike/Weyl for
normal operators), and ``|lambda - theta| <= r^2 / delta`` when the rest of the spectrum is at least
delta away from theta (Kato-Temple). Lanczos reports r exactly from the recurrence,
``r = beta_m |s_{m,i}|`` (Parlett, *The Symmetric Eigenvalue Problem*, section 13.2), and estimates
delta by the distance to the next Ritz value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Integral
from typing import Callable

import numpy as np

from lemmata.analysis.errors import LemmataError
from lemmata.analysis.validation import one_of, positive_finite, positive_int
from lemmata.numerics.stats import Estimate, child_seed

__all__ = [
    "EigenResult", "SpectralDensity", "check_operator", "top_eigenvalues", "hutchinson_trace",
    "spectral_density", "preconditioned", "dense_matrix", "relative_movement", "ConvergenceError",
]

METHODS = ("lanczos", "eigsh", "power")
WHICH = ("LA", "LM", "SA")


class ConvergenceError(LemmataError):
    """An eigensolve ran out of matrix-vector products before reaching its tolerance."""


@dataclass(frozen=True)
class EigenResult:
    """Eigenpairs of a symmetric operator.

    Attributes
    ----------
    values : ndarray (k,)
        Ritz values, ordered by ``which`` (largest first for ``"LA"``/``"LM"``).
    vectors : ndarray (dim, k)
        Unit Ritz vectors.
    n_hvp : int
        Operator applications used (the cost).
    residuals : ndarray (k,)
        r_i = ||H y_i - theta_i y_i||: some eigenvalue lies within r_i of theta_i.
    error_bounds : ndarray (k,)
        min(r_i, r_i^2 / delta_i) with delta_i the gap to the other Ritz values (Kato-Temple; an
        estimate, since delta_i comes from Ritz values); equals ``residuals`` for power iteration.
    converged : bool
        Whether every error bound is ``<= tol |theta_i|``.
    status : str
        ``"converged"``, ``"invariant subspace"`` (exact) or the reason it stopped early.
    method, which : str
    history : ndarray
        The leading Ritz value after each operator application (for convergence plots).
    """

    values: np.ndarray
    vectors: np.ndarray = field(repr=False)
    n_hvp: int
    residuals: np.ndarray
    error_bounds: np.ndarray
    converged: bool
    status: str
    method: str
    which: str
    history: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def __repr__(self) -> str:
        vals = ", ".join(f"{v:.8g}" for v in self.values)
        return (f"EigenResult([{vals}], n_hvp={self.n_hvp}, max_residual="
                f"{float(np.max(self.residuals)):.2g}, {self.status!r}, method={self.method!r})")

    def to_dict(self) -> dict:
        return {"values": self.values.tolist(), "n_hvp": self.n_hvp,
                "residuals": self.residuals.tolist(), "error_bounds": self.error_bounds.tolist(),
                "converged": self.converged, "status": self.status, "method": self.method,
                "which": self.which}


# ------------------------------------------------------------------------------ validation
def _as_operator(name, hvp):
    if callable(hvp):
        return hvp
    matrix = np.asarray(hvp, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"`{name}` must be a callable v -> H v or a square matrix; got an array of "
                         f"shape {matrix.shape}.")
    return lambda v: matrix @ v


def check_operator(hvp: Callable, dim: int, *, seed=0, rtol: float = 1e-8) -> float:
    """Probe ``hvp`` on two random vectors: it must return finite vectors of length ``dim``
    (a square operator) and satisfy ``|u.Hw - w.Hu| <= rtol ||u|| ||w|| ||H||_est`` (symmetric).

    Returns the norm estimate max(||Hu||, ||Hw||) / ||.||.

    Raises
    ------
    ValueError
        If the output has the wrong shape, is not finite, or the operator is not symmetric.
    """
    dim = positive_int("dim", dim)
    rng = np.random.default_rng(child_seed(seed, 7))
    u, w = rng.standard_normal(dim), rng.standard_normal(dim)
    outputs = []
    for probe in (u, w):
        out = np.asarray(hvp(probe.copy()), dtype=float)
        if out.shape != (dim,):
            raise ValueError(f"`hvp` must map a vector of length `dim` = {dim} to one of the same "
                             f"length (a square operator); got output shape {out.shape}.")
        if not np.all(np.isfinite(out)):
            raise ValueError("`hvp` returned non-finite values on a random probe vector.")
        outputs.append(out)
    hu, hw = outputs
    scale = max(np.linalg.norm(hu), np.linalg.norm(hw)) / math.sqrt(dim)
    asym = abs(u @ hw - w @ hu)
    if asym > rtol * max(scale, np.finfo(float).tiny) * np.linalg.norm(u) * np.linalg.norm(w):
        raise ValueError(f"`hvp` must be a symmetric operator; on random probes |u.Hw - w.Hu| = "
                         f"{asym:.3g}, relative {asym / max(scale * np.linalg.norm(u) * np.linalg.norm(w), 1e-300):.3g}.")
    return float(scale)


def _validate(dim, k, tol, method, which, v0, max_hvp):
    dim = positive_int("dim", dim)
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1 or k >= dim:
        raise ValueError(f"`k` must be an integer with 1 <= k < dim = {dim}; got {k!r}.")
    tol = positive_finite("tol", tol)
    one_of("method", method, METHODS)
    one_of("which", which, WHICH)
    if v0 is not None:
        v0 = np.asarray(v0, dtype=float).reshape(-1)
        if v0.shape != (dim,) or not np.all(np.isfinite(v0)) or not np.any(v0):
            raise ValueError(f"`v0` must be a finite non-zero vector of length {dim}; got shape {v0.shape}.")
    if max_hvp is not None:
        max_hvp = positive_int("max_hvp", max_hvp)
    return dim, int(k), tol, v0, max_hvp


def _order(values, which):
    if which == "LA":
        return np.argsort(-values)
    if which == "SA":
        return np.argsort(values)
    return np.argsort(-np.abs(values))


# ------------------------------------------------------------------------------ Lanczos
def _lanczos(hvp, dim, k, tol, which, v0, max_hvp, rng):
    """Lanczos with full reorthogonalisation (two Gram-Schmidt passes), tested every step.

    An exhausted Krylov space (beta = 0) before k Ritz values continues from a random direction
    orthogonal to it; once k values are there it is reported as status "invariant subspace"
    (the values are then exact eigenvalues of H, though a start vector lying in an invariant
    subspace cannot see eigenvalues outside it: the usual caveat of Krylov methods)."""
    m_max = min(dim, max_hvp)
    # basis vectors are rows (contiguous for the reorthogonalisation products); grown by doubling
    Q = np.empty((min(m_max, max(2 * k + 8, 32)), dim))
    alpha, beta = np.zeros(m_max), np.zeros(m_max)
    q = v0 if v0 is not None else rng.standard_normal(dim)
    Q[0] = q / np.linalg.norm(q)
    history = []
    status, m, b = "max_hvp reached before tol", 0, 0.0
    theta = s = None
    for j in range(m_max):
        w = np.asarray(hvp(Q[j].copy()), dtype=float)
        if not np.all(np.isfinite(w)):
            raise ConvergenceError(f"`hvp` returned non-finite values at Lanczos step {j + 1}.")
        alpha[j] = Q[j] @ w
        for _ in range(2):
            w -= (Q[: j + 1] @ w) @ Q[: j + 1]
        b = float(np.linalg.norm(w))
        m = j + 1
        theta, s = _tridiagonal_eigh(alpha[:m], beta[: m - 1])
        order = _order(theta, which)
        theta, s = theta[order], s[:, order]
        history.append(theta[0])
        scale = max(float(np.max(np.abs(theta))), np.finfo(float).tiny)
        invariant = b <= 1e-13 * scale
        if m >= k:
            if invariant or m == dim:
                b, status = 0.0, "invariant subspace"
                break
            bounds = _kato_temple(theta, b * np.abs(s[-1, :k]), k)
            if np.all(bounds <= tol * np.maximum(np.abs(theta[:k]), 1e-300)):
                status = "converged"
                break
        if m == m_max:
            break
        if m == Q.shape[0]:
            Q = np.concatenate([Q, np.empty((min(m_max, 2 * m) - m, dim))], axis=0)
        if invariant:
            w = rng.standard_normal(dim)
            for _ in range(2):
                w -= (Q[:m] @ w) @ Q[:m]
            beta[j], Q[m] = 0.0, w / np.linalg.norm(w)
        else:
            beta[j], Q[m] = b, w / b
    if m < k:
        raise ConvergenceError(f"`max_hvp` = {max_hvp} is smaller than `k` = {k}: no {k} Ritz values.")
    resid = b * np.abs(s[-1, :k])
    bounds = _kato_temple(theta, resid, k)
    vectors = Q[:m].T @ s[:, :k]
    return theta[:k], vectors, m, resid, bounds, status, np.array(history)


def _tridiagonal_eigh(alpha, beta):
    from scipy.linalg import eigh_tridiagonal

    if alpha.size == 1:
        return alpha.copy(), np.ones((1, 1))
    return eigh_tridiagonal(alpha, beta)


def _kato_temple(theta, resid, k):
    bounds = resid.copy()
    for i in range(k):
        others = np.delete(theta, i)
        if others.size:
            gap = np.min(np.abs(others - theta[i]))
            if gap > 0:
                bounds[i] = min(resid[i], resid[i] ** 2 / gap)
    return bounds


def _power(hvp, dim, k, tol, which, v0, max_hvp, rng):
    """Power iteration with deflation against the vectors already found; Rayleigh quotients."""
    if which == "SA":
        raise ValueError("`which` = 'SA' needs `method` = 'lanczos' or 'eigsh'; power iteration "
                         "finds the largest-magnitude eigenvalue.")
    found, values, resids, history = [], [], [], []
    n_hvp, status = 0, "converged"
    for i in range(k):
        v = v0.copy() if (v0 is not None and i == 0) else rng.standard_normal(dim)
        basis = np.array(found).T if found else np.zeros((dim, 0))
        v -= basis @ (basis.T @ v)
        v /= np.linalg.norm(v)
        theta, r, done = 0.0, math.inf, False
        while n_hvp < max_hvp:
            w = np.asarray(hvp(v.copy()), dtype=float)
            n_hvp += 1
            if not np.all(np.isfinite(w)):
                raise ConvergenceError(f"`hvp` returned non-finite values at power step {n_hvp}.")
            w -= basis @ (basis.T @ w)
            theta = float(v @ w)
            r = float(np.linalg.norm(w - theta * v))
            history.append(theta)
            if r <= tol * max(abs(theta), 1e-300):
                done = True
                break
            norm = np.linalg.norm(w)
            if norm == 0:
                done, r = True, 0.0
                break
            v = w / norm
        found.append(v)
        values.append(theta)
        resids.append(r)
        if not done:
            status = "max_hvp reached before tol"
            break
    while len(values) < k:       # budget spent: report what the last vector gives, flagged
        values.append(math.nan)
        resids.append(math.inf)
        found.append(np.full(dim, math.nan))
    resids = np.array(resids)
    return (np.array(values), np.array(found).T, n_hvp, resids, resids.copy(), status,
            np.array(history))


def _eigsh(hvp, dim, k, tol, which, v0, max_hvp, rng):
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    count = [0]

    def matvec(v):
        count[0] += 1
        return np.asarray(hvp(np.asarray(v, dtype=float).reshape(-1).copy()), dtype=float)

    op = LinearOperator((dim, dim), matvec=matvec, dtype=float)
    start = v0 if v0 is not None else rng.standard_normal(dim)
    status = "converged"
    try:
        vals, vecs = eigsh(op, k=k, which=which, tol=tol, v0=start, maxiter=max(1, max_hvp // max(2 * k + 1, 20)))
    except ArpackNoConvergence as exc:
        vals, vecs = exc.eigenvalues, exc.eigenvectors
        status = f"ARPACK did not converge ({len(vals)} of {k} values)"
    order = _order(np.asarray(vals), which)
    vals, vecs = np.asarray(vals)[order], np.asarray(vecs)[:, order]
    resid = np.array([np.linalg.norm(matvec(vecs[:, i]) - vals[i] * vecs[:, i]) for i in range(len(vals))])
    if len(vals) < k:
        vals = np.concatenate([vals, np.full(k - len(vals), math.nan)])
        resid = np.concatenate([resid, np.full(k - len(resid), math.inf)])
        vecs = np.hstack([vecs, np.full((dim, k - vecs.shape[1]), math.nan)])
    bounds = _kato_temple(vals, resid, k) if np.all(np.isfinite(vals)) else resid.copy()
    return vals, vecs, count[0], resid, bounds, status, vals[:1].copy()


def top_eigenvalues(hvp, dim: int, k: int = 1, *, method: str = "lanczos", tol: float = 1e-8,
                    which: str = "LA", v0=None, max_hvp: int | None = None, seed=0,
                    check: bool = True, throw: bool = False) -> EigenResult:
    r"""The ``k`` extreme eigenvalues of a symmetric operator known through ``hvp``.

    For a Hessian this gives the sharpness lambda_max(H) of arXiv:2402.17457 (the top
    eigenvalue, ``which="LA"``); apply it to :func:`preconditioned` for
    lambda_max(P^{1/2} H P^{1/2}), the quantity compared there with 2/eta.

    Methods: ``"lanczos"`` (Krylov space K_m(H, v0) with full reorthogonalisation; the Ritz values
    of the tridiagonal T_m are tested after every application), ``"eigsh"`` (ARPACK's implicitly
    restarted Lanczos on a ``scipy.sparse.linalg.LinearOperator``), ``"power"`` (v <- Hv/||Hv||
    with Rayleigh quotients; finds the largest *magnitude*, which may be negative: the brief's
    pitfall 5).

    Stopping rule: every error bound (see :class:`EigenResult`) <= ``tol`` ``|theta_i|``. Power
    iteration has no gap estimate and uses the residual itself.

    Parameters
    ----------
    hvp : callable or array
        v -> H v for vectors of length ``dim`` (or a dense symmetric matrix).
    dim : int
    k : int
        Number of eigenpairs, 1 <= k < dim.
    method : {"lanczos", "eigsh", "power"}
    tol : float
        Relative tolerance on the eigenvalue error bound, > 0.
    which : {"LA", "LM", "SA"}
        Largest algebraic, largest magnitude, smallest algebraic.
    v0 : array, optional
        Starting vector (warm start from a previous snapshot's eigenvector).
    max_hvp : int, optional
        Budget of operator applications (default min(dim, 300) for Lanczos, 1000 otherwise).
    seed : int
        Seed of the random start vector and of the symmetry probe.
    check : bool
        Probe ``hvp`` for shape and symmetry first (2 applications, not counted in ``n_hvp``).
    throw : bool
        Raise :class:`ConvergenceError` instead of returning a non-converged result.

    Returns
    -------
    EigenResult
        ``.converged`` is False and ``.status`` says why when the budget ran out: the numbers
        are returned with their residuals, never silently.

    Raises
    ------
    ValueError
        For bad arguments, a non-square or non-symmetric operator (detected on a probe).
    ConvergenceError
        When ``throw`` and the solve did not converge, or ``hvp`` returns non-finite values.
    """
    op = _as_operator("hvp", hvp)
    dim, k, tol, v0, max_hvp = _validate(dim, k, tol, method, which, v0, max_hvp)
    if check:
        check_operator(op, dim, seed=seed)
    if max_hvp is None:
        max_hvp = min(dim, 300) if method == "lanczos" else 1000
    rng = np.random.default_rng(child_seed(seed, 1))
    solver = {"lanczos": _lanczos, "power": _power, "eigsh": _eigsh}[method]
    values, vectors, n_hvp, resid, bounds, status, history = solver(op, dim, k, tol, which, v0, max_hvp, rng)
    if method == "power" and which == "LA" and values[0] < 0 and max_hvp > n_hvp:
        # the dominant eigenvalue is negative (pitfall 5): iterate on H - theta I, whose dominant
        # eigenvalue is lambda_max - theta > 0
        shift = float(values[0])
        out = _power(lambda v: op(v) - shift * v, dim, k, tol, "LM", v0, max_hvp - n_hvp, rng)
        values = out[0] + shift
        vectors, resid, bounds, status = out[1], out[3], out[4], out[5]
        n_hvp += out[2]
        history = np.concatenate([history, out[6] + shift])
    converged = status in ("converged", "invariant subspace")
    result = EigenResult(np.asarray(values, dtype=float), vectors, int(n_hvp), np.asarray(resid, dtype=float),
                         np.asarray(bounds, dtype=float), converged, status, method, which, history)
    if throw and not converged:
        raise ConvergenceError(f"{method} stopped after {n_hvp} operator applications: {status}; "
                               f"error bounds {result.error_bounds} vs tol {tol:g}.")
    return result


# ------------------------------------------------------------------------------ trace and density
def _probes(rng, dim, distribution):
    if distribution == "rademacher":
        return rng.integers(0, 2, dim).astype(float) * 2 - 1
    return rng.standard_normal(dim)


def hutchinson_trace(hvp, dim: int, n_samples: int = 100, *, seed=0,
                     distribution: str = "rademacher") -> Estimate:
    r"""Hutchinson's estimator tr(H) ~ (1/N) sum_i z_i^T H z_i, with E[z z^T] = I.

    Rademacher probes have the least variance among iid probes: Var(z^T H z) =
    2 (||H||_F^2 - sum_i H_ii^2) (Hutchinson 1990). Probe ``i`` draws from the stream (seed, i).

    Returns
    -------
    Estimate
        The mean and its standard error over the ``n_samples`` probes.
    """
    op = _as_operator("hvp", hvp)
    dim = positive_int("dim", dim)
    n_samples = positive_int("n_samples", n_samples)
    if n_samples < 2:
        raise ValueError(f"`n_samples` must be at least 2 (for a standard error); got {n_samples}.")
    one_of("distribution", distribution, ("rademacher", "gaussian"))
    samples = []
    for i in range(n_samples):
        z = _probes(np.random.default_rng(child_seed(seed, 2, i)), dim, distribution)
        out = np.asarray(op(z.copy()), dtype=float)
        if out.shape != (dim,):
            raise ValueError(f"`hvp` must return a vector of length {dim}; got shape {out.shape}.")
        samples.append(z @ out)
    samples = np.array(samples)
    if not np.all(np.isfinite(samples)):
        raise LemmataError("`hvp` returned non-finite values in the Hutchinson trace.")
    return Estimate(float(samples.mean()), float(samples.std(ddof=1) / math.sqrt(n_samples)), n_samples)


@dataclass(frozen=True)
class SpectralDensity:
    """Stochastic Lanczos quadrature: for probe ``j``, Gauss nodes ``nodes[j]`` and weights
    ``weights[j]`` (summing to 1) with sum_i w_ji f(t_ji) = z_j^T f(H) z_j / ||z_j||^2 exactly for
    polynomials f of degree < 2 m (Golub & Meurant). The spectral measure is their average."""

    nodes: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    dim: int
    n_steps: int

    def __repr__(self) -> str:
        return (f"SpectralDensity({self.nodes.shape[0]} probes x {self.n_steps} nodes, "
                f"support [{self.nodes.min():.4g}, {self.nodes.max():.4g}])")

    def expectation(self, f: Callable) -> float:
        """(1/dim) tr f(H), estimated."""
        return float(np.mean(np.sum(self.weights * f(self.nodes), axis=1)))

    def density(self, grid, width: float) -> np.ndarray:
        """The measure smoothed by a Gaussian of standard deviation ``width`` on ``grid``."""
        width = positive_finite("width", width)
        grid = np.asarray(grid, dtype=float)
        z = (grid[:, None, None] - self.nodes[None]) / width
        kern = np.exp(-0.5 * z ** 2) / (width * math.sqrt(2 * math.pi))
        return np.mean(np.sum(self.weights[None] * kern, axis=2), axis=1)

    def to_dict(self) -> dict:
        return {"nodes": self.nodes.tolist(), "weights": self.weights.tolist(), "dim": self.dim,
                "n_steps": self.n_steps}


def spectral_density(hvp, dim: int, *, n_probes: int = 10, n_steps: int = 30, seed=0) -> SpectralDensity:
    r"""Stochastic Lanczos quadrature of the spectral density of a symmetric operator.

    For each Rademacher probe z, ``n_steps`` Lanczos steps from z/||z|| give T_m = S diag(t) S^T;
    the quadrature nodes are t and the weights S[0, :]^2 (Ubaru, Chen & Saad 2017; Ghorbani,
    Krishnan & Xiao 2019, used by PyHessian and the official code of arXiv:2402.17457).
    """
    op = _as_operator("hvp", hvp)
    dim = positive_int("dim", dim)
    n_probes = positive_int("n_probes", n_probes)
    n_steps = positive_int("n_steps", n_steps)
    if n_steps > dim:
        raise ValueError(f"`n_steps` must be at most `dim` = {dim}; got {n_steps}.")
    nodes, weights = [], []
    for j in range(n_probes):
        rng = np.random.default_rng(child_seed(seed, 3, j))
        z = _probes(rng, dim, "rademacher")
        nodes_j, weights_j = _gauss_rule(op, z, n_steps)
        nodes.append(nodes_j)
        weights.append(weights_j)
    width = max(len(n) for n in nodes)
    N = np.zeros((n_probes, width))
    W = np.zeros((n_probes, width))
    for j, (n_, w_) in enumerate(zip(nodes, weights)):
        N[j, : len(n_)], W[j, : len(w_)] = n_, w_
        N[j, len(n_):] = n_[-1]
    return SpectralDensity(N, W, dim, n_steps)


def _gauss_rule(op, z, n_steps):
    dim = z.size
    Q = np.empty((n_steps, dim))
    alpha, beta = np.zeros(n_steps), np.zeros(n_steps)
    Q[0] = z / np.linalg.norm(z)
    m = n_steps
    for j in range(n_steps):
        w = np.asarray(op(Q[j].copy()), dtype=float)
        alpha[j] = Q[j] @ w
        for _ in range(2):
            w -= (Q[: j + 1] @ w) @ Q[: j + 1]
        b = np.linalg.norm(w)
        if j + 1 == n_steps or b <= 1e-12 * max(abs(alpha[: j + 1]).max(), 1e-300):
            m = j + 1
            break
        beta[j] = b
        Q[j + 1] = w / b
    T = np.diag(alpha[:m]) + np.diag(beta[: m - 1], 1) + np.diag(beta[: m - 1], -1)
    t, S = np.linalg.eigh(T)
    return t, S[0] ** 2


# ------------------------------------------------------------------------------ helpers
def preconditioned(hvp, multipliers) -> Callable:
    r"""v -> P^{1/2} H P^{1/2} v for P = diag(``multipliers``) (per-parameter learning-rate
    multipliers). Its top eigenvalue is the preconditioned sharpness of arXiv:2402.17457: GD with
    physical rates eta P is stable near a minimum iff eta lambda_max(P^{1/2} H P^{1/2}) < 2."""
    op = _as_operator("hvp", hvp)
    p = np.asarray(multipliers, dtype=float).reshape(-1)
    if p.size == 0 or not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise ValueError("`multipliers` must be a non-empty vector of positive finite numbers.")
    root = np.sqrt(p)
    return lambda v: root * np.asarray(op(root * v), dtype=float)


def dense_matrix(hvp, dim: int) -> np.ndarray:
    """The matrix of ``hvp`` column by column (``dim`` applications; for tiny operators), with
    its antisymmetric round-off removed only after checking it is round-off."""
    op = _as_operator("hvp", hvp)
    dim = positive_int("dim", dim)
    eye = np.eye(dim)
    M = np.column_stack([np.asarray(op(eye[:, i].copy()), dtype=float) for i in range(dim)])
    if M.shape != (dim, dim):
        raise ValueError(f"`hvp` must return vectors of length {dim}; got a matrix of shape {M.shape}.")
    return M


def relative_movement(before, after) -> float:
    r"""||A - B||_F / ||B||_F, e.g. the relative movement of the empirical NTK
    ||Theta_T - Theta_0||_F / ||Theta_0||_F (arXiv:2402.17457, mechanism)."""
    B = np.asarray(before, dtype=float)
    A = np.asarray(after, dtype=float)
    if A.shape != B.shape:
        raise ValueError(f"`after` must have the shape of `before` {B.shape}; got {A.shape}.")
    norm = np.linalg.norm(B)
    if norm == 0 or not np.isfinite(norm):
        raise ValueError("`before` must be a finite non-zero array.")
    return float(np.linalg.norm(A - B) / norm)
