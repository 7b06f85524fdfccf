r"""Convergence orders of SDE schemes with error bars, Richardson extrapolation, multilevel Monte
Carlo and work-precision diagrams.

Every estimator here runs all its step sizes on the **same Brownian paths**
(:func:`lemmata.numerics.sde.simulate_levels`: the finest increments are summed into the coarse
ones), so the Monte Carlo noise, common to all levels, largely cancels in the quantities that
are fitted:

- :func:`strong_order`: :math:`e(h)=\mathbb E|Y^h_{t_1}-Z_{t_1}|` against the exact path solution
  :math:`Z_{t_1}=\Phi(t_1,W_{t_1})` on the same path, or against the finest level;
- :func:`weak_order`: :math:`e(h)=\mathbb E\,g(Y^h_{t_1})-\mathbb E\,g(Z_{t_1})` against a closed
  form, or, with ``exact_path``, as the mean of :math:`g(Y^h_{t_1})-g(\Phi(t_1,W_{t_1}))` over paths
  (a control variate whose variance is of the strong error's size, not of :math:`g`'s), or against
  a Richardson-extrapolated reference from the two finest levels;
- the order is the least-squares slope of :math:`\log|e|` against :math:`\log h`; its standard
  error combines the Monte Carlo covariance of the level means (delta method, from the per-path
  samples) with the scatter of the points about the line.

References
----------
P. E. Kloeden, E. Platen, *Numerical Solution of SDEs* (1992), Secs. 9.6-9.7 (strong and weak
convergence). D. Talay, L. Tubaro, "Expansion of the global error for numerical schemes solving
SDEs", Stoch. Anal. Appl. 8 (1990) 483-509 (extrapolation). M. B. Giles, "Multilevel Monte Carlo
path simulation", Oper. Res. 56 (2008) 607-617.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from numbers import Real

import numpy as np
import sympy as sp

from lemmata.analysis.derivation import Derivation
from lemmata.analysis.errors import LemmataError
from lemmata.analysis.validation import positive_finite, positive_int

from .codegen import compile_kernel
from .sde import TIME, _coefficients, get_scheme, simulate, simulate_levels
from .stats import child_seed

__all__ = ["OrderResult", "Verdict", "strong_order", "weak_order", "richardson", "RichardsonResult",
           "mlmc", "MLMCResult", "work_precision", "WorkPrecisionResult", "fit_order", "order_from_errors"]


@dataclass(frozen=True)
class Verdict:
    """The catalogue's ``Order`` judgement of a fitted slope: ``pass`` when
    ``|order - expected| <= slack``, ``fail`` otherwise, ``inconclusive`` when the slope's standard
    error exceeds the slack."""

    status: str
    expected: float
    order: float
    order_stderr: float
    slack: float

    def __repr__(self) -> str:
        return (f"Verdict({self.status}: order {self.order:.3f} +- {self.order_stderr:.3f}, expected "
                f"{self.expected:g} +- {self.slack:g})")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, repr=False)
class OrderResult:
    """A fitted convergence order: ``order`` +- ``order_stderr`` (``ci`` the 95% interval),
    ``dts`` and ``errors`` +- ``errors_stderr`` (the fitted points), ``expected`` the scheme's
    declared order, ``kind`` ("strong" or "weak"), ``reference`` (how the error was measured),
    ``n_paths`` and ``n_diverged`` per level (diverged paths are left out of every level)."""

    order: float
    order_stderr: float
    dts: np.ndarray
    errors: np.ndarray
    errors_stderr: np.ndarray
    expected: float
    kind: str
    method: str
    reference: str
    n_paths: int
    n_diverged: tuple = ()
    order_stderr_mc: float = 0.0
    order_stderr_fit: float = 0.0

    @property
    def ci(self) -> tuple:
        return (self.order - 1.96 * self.order_stderr, self.order + 1.96 * self.order_stderr)

    def verdict(self, slack: float = 0.2, expected: float | None = None) -> Verdict:
        """Judge the slope like the catalogue's ``Order(slack)`` tolerance."""
        slack = positive_finite("slack", slack)
        p = self.expected if expected is None else float(expected)
        gap = abs(self.order - p)
        status = "inconclusive" if self.order_stderr > slack else ("pass" if gap <= slack else "fail")
        return Verdict(status, p, self.order, self.order_stderr, slack)

    def __repr__(self) -> str:
        return (f"OrderResult({self.kind} {self.method}: order {self.order:.3f} +- {self.order_stderr:.3f} "
                f"(declared {self.expected:g}), {len(self.dts)} dts, reference={self.reference!r}, "
                f"n_paths={self.n_paths})")

    def to_dict(self) -> dict:
        return {"order": self.order, "order_stderr": self.order_stderr, "ci": list(self.ci),
                "dts": self.dts.tolist(), "errors": self.errors.tolist(),
                "errors_stderr": self.errors_stderr.tolist(), "expected": self.expected, "kind": self.kind,
                "method": self.method, "reference": self.reference, "n_paths": self.n_paths,
                "n_diverged": list(self.n_diverged)}


def fit_order(dts, samples):
    r"""Slope of :math:`\log|\bar e_l|` against :math:`\log h_l` from per-path error samples
    ``samples`` (n_levels, n_paths), the levels' means :math:`\bar e_l` being correlated (common
    random numbers). Returns ``(order, stderr, stderr_mc, stderr_fit, means, stderrs)``:
    ``stderr_mc`` from the delta method on the sample covariance of the means, ``stderr_fit`` from
    the residuals about the line, combined in quadrature."""
    x = np.log(np.asarray(dts, dtype=float))
    X = np.asarray(samples, dtype=float)
    n = X.shape[1]
    if n < 2:
        raise LemmataError(f"too few paths ({n}) left to fit an order.")
    means = X.mean(axis=1)
    cov = np.cov(X) / n if X.shape[0] > 1 else np.array([[X.var(ddof=1) / n]])
    stderrs = np.sqrt(np.diag(cov))
    if np.any(means == 0):
        raise LemmataError("an error estimate is exactly zero; the order cannot be fitted in log scale.")
    y = np.log(np.abs(means))
    w = (x - x.mean()) / ((x - x.mean()) ** 2).sum()
    order = float(w @ y)
    J = np.diag(1.0 / means)
    var_mc = float(w @ (J @ cov @ J) @ w)
    resid = y - (y.mean() + order * (x - x.mean()))
    var_fit = float((resid ** 2).sum() / max(len(x) - 2, 1) / ((x - x.mean()) ** 2).sum()) if len(x) > 2 else 0.0
    return order, math.sqrt(var_mc + var_fit), math.sqrt(var_mc), math.sqrt(var_fit), means, stderrs


def order_from_errors(dts, errors, *, expected: float, kind: str = "weak", method: str = "",
                      reference: str = "exact") -> OrderResult:
    r"""The fitted order of errors known exactly (no Monte Carlo), e.g. the weak error between two
    exact moment recursions: the least-squares slope of :math:`\log|e|` against :math:`\log h`,
    its standard error from the scatter about the line."""
    x = np.asarray(dts, dtype=float)
    e = np.asarray(errors, dtype=float)
    if x.ndim != 1 or x.shape != e.shape or x.size < 3:
        raise ValueError(f"`dts` and `errors` must be 1-D of equal length >= 3; got {x.shape} and {e.shape}.")
    if not (np.all(np.isfinite(x)) and np.all(x > 0)):
        raise ValueError(f"`dts` must be positive and finite; got {x.tolist()}.")
    if not np.all(np.isfinite(e)) or np.any(e == 0):
        raise ValueError(f"`errors` must be finite and non-zero; got {e.tolist()}.")
    lx, ly = np.log(x), np.log(np.abs(e))
    w = (lx - lx.mean()) / ((lx - lx.mean()) ** 2).sum()
    order = float(w @ ly)
    resid = ly - (ly.mean() + order * (lx - lx.mean()))
    se = math.sqrt(float((resid ** 2).sum() / max(x.size - 2, 1) / ((lx - lx.mean()) ** 2).sum()))
    return OrderResult(order, se, x, np.abs(e), np.zeros_like(e), float(expected), kind, method, reference,
                       0, (), 0.0, se)


def _levels(dts, t1):
    try:
        dts = [float(h) for h in dts]
    except TypeError as exc:
        raise ValueError(f"`dts` must be a sequence of step sizes; got {dts!r}.") from exc
    if len(dts) < 3:
        raise ValueError(f"`dts` must hold at least 3 step sizes; got {len(dts)}.")
    steps = []
    for h in dts:
        if not (math.isfinite(h) and h > 0):
            raise ValueError(f"`dts` must be positive and finite; got {h!r}.")
        n = int(round(t1 / h))
        if n < 1 or abs(n * h - t1) > 1e-9 * max(1.0, t1):
            raise ValueError(f"`dts` must divide `t1` = {t1!r} into whole steps; got dt = {h!r}.")
        steps.append(n)
    if len(set(steps)) != len(steps):
        raise ValueError(f"`dts` must be distinct; got {dts}.")
    order = np.argsort(steps)
    steps = [steps[i] for i in order]
    if any(steps[-1] % s for s in steps):
        raise ValueError(f"every step count t1/dt must divide the finest ({steps[-1]}); got {steps}.")
    return steps


def _g_kernel(sde, g, name="g"):
    """Validate the SymPy test function ``g`` and compile it (NumPy backend) in the state."""
    derivation, _, _, state, clock, params = _coefficients(sde)
    if isinstance(g, (str, bytes)):
        raise TypeError(f"`g` must be a SymPy expression in the state, not a string; got {g!r}.")
    try:
        expr = sp.sympify(g, strict=True)
    except sp.SympifyError as exc:
        raise TypeError(f"`g` must be a SymPy expression in the state; got {g!r}.") from exc
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"`g` must be a SymPy expression in the state; got {g!r}.")
    unknown = sorted(str(s) for s in expr.free_symbols - set(state) - set(params))
    if unknown:
        raise LemmataError(f"`g` uses unknown symbols {unknown}; it may use the state "
                           f"{[str(s) for s in state]} and the SDE's parameters.")
    kernel = compile_kernel(Derivation(name, tuple(state), tuple(params), {name: expr}), "numpy")
    return expr, kernel


def _param_values(sde, params):
    derivation, _, _, _, clock, model = _coefficients(sde)
    values = dict(params or {})
    return [float(values[p.name]) for p in model if p.name in values]


def _t1(t1):
    if isinstance(t1, bool) or not isinstance(t1, Real) or not math.isfinite(t1) or t1 <= 0:
        raise ValueError(f"`t1` must be positive and finite; got {t1!r}.")
    return float(t1)


def strong_order(sde, z0, *, t1, dts, n_paths, seed, method="euler", params=None, exact=None,
                 threads=None) -> OrderResult:
    r"""The strong order of ``method``: the slope of :math:`\log\mathbb E|Y^h_{t_1}-Z_{t_1}|` against
    :math:`\log h`, every ``dt`` on the same Brownian paths.

    Parameters
    ----------
    dts : sequence of float
        At least 3 step sizes (4 when ``exact`` is None), each a whole fraction of ``t1``, whose
        step counts divide the finest's.
    exact : callable (t, W) -> Z, optional
        The path solution, ``W`` of shape (n_paths, m), returning (n_paths, d) (e.g.
        ``lemmata.numerics.sde_problems.SDEProblem.exact_path``). Without it the finest ``dt`` is
        the reference and is left out of the fit.

    Returns
    -------
    OrderResult
        ``errors`` the mean Euclidean error per level with its standard error.
    """
    t1 = _t1(t1)
    steps = _levels(dts, t1)
    scheme = get_scheme(method)
    if exact is None and len(steps) < 4:
        raise ValueError("`dts` must hold at least 4 step sizes when the finest is the reference.")
    if exact is not None and not callable(exact):
        raise TypeError(f"`exact` must be a callable (t, W) -> Z; got {type(exact).__name__}.")
    lv = simulate_levels(sde, z0, t1=t1, n_steps=steps, n_paths=n_paths, seed=seed, method=method,
                         params=params, threads=threads)
    bad = lv.diverged.any(axis=0)
    final = lv.final[:, :, ~bad]                                  # (L, d, n)
    if exact is not None:
        Z = np.asarray(exact(t1, lv.brownian.T[~bad]), dtype=float)
        if Z.shape != (final.shape[2], final.shape[1]):
            raise ValueError(f"`exact` must return shape (n_paths, d) = {(final.shape[2], final.shape[1])}; "
                             f"got {Z.shape}.")
        reference, levels, label = Z.T, slice(None), "exact path solution"
    else:
        reference, levels, label = final[-1], slice(0, -1), f"finest level (dt = {t1 / steps[-1]:.4g})"
    samples = np.sqrt(((final[levels] - reference[None]) ** 2).sum(axis=1))   # (L', n)
    used = np.asarray(steps)[levels]
    order, se, se_mc, se_fit, means, ses = fit_order(t1 / used, samples)
    return OrderResult(order, se, t1 / used, means, ses, scheme.strong_order(_sde_of(sde)), "strong",
                       scheme.name, label, int(n_paths), tuple(int(v) for v in lv.diverged.sum(axis=1)),
                       se_mc, se_fit)


def _sde_of(sde):
    return sde if hasattr(sde, "is_additive") else _Wrapped(sde)


class _Wrapped:
    """Noise-kind queries for a plain Derivation with drift and diffusion."""

    def __init__(self, derivation):
        from lemmata.analysis.sde import SDE
        self._sde = SDE(derivation.name, derivation.inputs, derivation.params,
                        {"drift": derivation["drift"], "diffusion": derivation["diffusion"]})

    def is_additive(self):
        return self._sde.is_additive()

    def is_commutative(self):
        return self._sde.is_commutative()


def weak_order(sde, g, z0, *, t1, dts, n_paths, seed, method="euler", params=None, exact=None,
               exact_path=None, threads=None) -> OrderResult:
    r"""The weak order of ``method`` for the test function ``g``: the slope of
    :math:`\log|\mathbb E\,g(Y^h_{t_1})-\mathbb E\,g(Z_{t_1})|` against :math:`\log h`, every ``dt``
    on the same Brownian paths (common random numbers).

    Parameters
    ----------
    g : SymPy expression
        In the state symbols (and the SDE's parameters).
    exact : float, optional
        :math:`\mathbb E\,g(Z_{t_1})` in closed form.
    exact_path : callable (t, W) -> Z, optional
        The path solution: the error is then the mean of :math:`g(Y^h)-g(\Phi(t_1,W_{t_1}))` over
        paths, an unbiased estimate of the weak error whose variance is of the size of the strong
        error (this is how order 2 shows with 10^5 paths).
    (neither)
        Richardson reference from the two finest levels,
        :math:`\bar g_L+(\bar g_L-\bar g_{L-1})/(r^p-1)` with the scheme's weak order :math:`p`
        and :math:`r` the ratio of their steps; the finest level is left out of the fit.

    Returns
    -------
    OrderResult
    """
    t1 = _t1(t1)
    steps = _levels(dts, t1)
    scheme = get_scheme(method)
    expr, kernel = _g_kernel(sde, g)
    if exact is not None:
        if isinstance(exact, bool) or not isinstance(exact, Real) or not math.isfinite(exact):
            raise ValueError(f"`exact` must be a finite number (E g(Z_t1)); got {exact!r}.")
    if exact_path is not None and not callable(exact_path):
        raise TypeError(f"`exact_path` must be a callable (t, W) -> Z; got {type(exact_path).__name__}.")
    lv = simulate_levels(sde, z0, t1=t1, n_steps=steps, n_paths=n_paths, seed=seed, method=method,
                         params=params, threads=threads, functionals={"g": expr})
    bad = lv.diverged.any(axis=0)
    G = lv.functionals["g"][:, ~bad]                              # (L, n)
    prm = _param_values(sde, params)
    if exact_path is not None:
        Z = np.asarray(exact_path(t1, lv.brownian.T[~bad]), dtype=float)
        ref = np.asarray(kernel(*[Z[:, k] for k in range(Z.shape[1])], *prm), dtype=float)
        samples, levels, label = G - ref[None], slice(None), "control variate g(exact path)"
    elif exact is not None:
        samples, levels, label = G - float(exact), slice(None), "closed form"
    else:
        p = scheme.weak_order()
        r = steps[-1] / steps[-2]
        ref = G[-1] + (G[-1] - G[-2]) / (r ** p - 1)
        samples, levels, label = G - ref[None], slice(0, -1), f"Richardson (two finest levels, p = {p:g})"
    used = np.asarray(steps)[levels]
    order, se, se_mc, se_fit, means, ses = fit_order(t1 / used, samples[levels])
    return OrderResult(order, se, t1 / used, means, ses, scheme.weak_order(), "weak", scheme.name, label,
                       int(n_paths), tuple(int(v) for v in lv.diverged.sum(axis=1)), se_mc, se_fit)


@dataclass(frozen=True)
class RichardsonResult:
    r"""Talay-Tubaro extrapolation :math:`(r^p\bar g_{h/r}-\bar g_h)/(r^p-1)`: ``value`` +- ``stderr``
    (from the per-path combination on shared paths), ``coarse`` and ``fine`` the two plain
    estimates, ``correction`` the bias removed (the declared bias of ``fine`` is of this size; what
    remains is :math:`O(h^{p+1})`), ``order`` p and ``ratio`` r."""

    value: float
    stderr: float
    coarse: float
    fine: float
    correction: float
    order: float
    ratio: int
    n_paths: int
    n_diverged: int

    def to_dict(self) -> dict:
        return asdict(self)


def richardson(sde, g, z0, *, t1, dt, n_paths, seed, method="euler", params=None, ratio: int = 2,
               order: float | None = None, threads=None) -> RichardsonResult:
    r"""Talay-Tubaro extrapolation of :math:`\mathbb E\,g(Z_{t_1})` from steps ``dt`` and
    ``dt/ratio`` on the same paths: the weak error :math:`Ch^p+O(h^{p+1})` cancels in
    :math:`(r^p\bar g_{h/r}-\bar g_h)/(r^p-1)` (``order`` p defaults to the scheme's weak order)."""
    t1 = _t1(t1)
    ratio = positive_int("ratio", ratio)
    if ratio < 2:
        raise ValueError(f"`ratio` must be at least 2; got {ratio}.")
    dt = positive_finite("dt", dt)
    n = int(round(t1 / dt))
    if n < 1 or abs(n * dt - t1) > 1e-9 * max(1.0, t1):
        raise ValueError(f"`dt` must divide `t1` into whole steps; got dt={dt!r}, t1={t1!r}.")
    scheme = get_scheme(method)
    p = scheme.weak_order() if order is None else positive_finite("order", order)
    expr, _ = _g_kernel(sde, g)
    lv = simulate_levels(sde, z0, t1=t1, n_steps=[n, n * ratio], n_paths=n_paths, seed=seed, method=method,
                         params=params, threads=threads, functionals={"g": expr})
    bad = lv.diverged.any(axis=0)
    G = lv.functionals["g"][:, ~bad]
    if G.shape[1] < 2:
        raise LemmataError("too few paths left after divergence.")
    w = ratio ** p
    combined = (w * G[1] - G[0]) / (w - 1)
    return RichardsonResult(float(combined.mean()), float(combined.std(ddof=1) / math.sqrt(combined.size)),
                            float(G[0].mean()), float(G[1].mean()), float(abs(combined.mean() - G[1].mean())),
                            float(p), ratio, int(n_paths), int(bad.sum()))


@dataclass(frozen=True, repr=False)
class MLMCResult:
    r"""Multilevel Monte Carlo estimate ``value`` +- ``stderr`` of :math:`\mathbb E\,g(Z_{t_1})`;
    ``levels``: one dict per level (``n_steps``, ``n_paths``, ``mean``, ``variance`` of the level
    difference, ``cost_per_path`` in path-steps, ``n_diverged``); ``cost`` the total path-steps,
    ``seconds``, ``eps`` the requested RMS error, ``bias_estimate`` the extrapolated bias of the
    finest level."""

    value: float
    stderr: float
    levels: tuple
    cost: float
    seconds: float
    eps: float
    bias_estimate: float
    method: str

    def __repr__(self) -> str:
        return (f"MLMCResult({self.value:.6g} +- {self.stderr:.2g}, eps={self.eps:g}, {len(self.levels)} levels, "
                f"paths per level {[lv['n_paths'] for lv in self.levels]}, cost {self.cost:.3g} path-steps)")

    def to_dict(self) -> dict:
        return {"value": self.value, "stderr": self.stderr, "levels": list(self.levels), "cost": self.cost,
                "seconds": self.seconds, "eps": self.eps, "bias_estimate": self.bias_estimate,
                "method": self.method}


def mlmc(sde, g, z0, *, t1, eps, seed, method="euler", params=None, n0: int = 1, refine: int = 2,
         n_initial: int = 2_000, min_levels: int = 3, max_levels: int = 14, threads=None) -> MLMCResult:
    r"""Giles' multilevel Monte Carlo for :math:`\mathbb E\,g(Z_{t_1})` to RMS error ``eps``.

    Level :math:`l` takes :math:`n_0r^l` steps and estimates
    :math:`\mathbb E[g(Y^{(l)})-g(Y^{(l-1)})]` on shared paths; with variances :math:`V_l` and costs
    :math:`C_l` the paths per level are :math:`N_l=\lceil2\varepsilon^{-2}\sqrt{V_l/C_l}\sum_k\sqrt{V_kC_k}\rceil`
    (variance :math:`\le\varepsilon^2/2`), and levels are added until the extrapolated bias
    :math:`\max(|\bar Y_L|,|\bar Y_{L-1}|/r^\alpha)/(r^\alpha-1)\le\varepsilon/\sqrt2`,
    :math:`\alpha` the scheme's weak order (Giles 2008, Sec. 4). The cost is
    :math:`O(\varepsilon^{-2}(\log\varepsilon)^2)` for Euler-Maruyama and :math:`O(\varepsilon^{-2})`
    for Milstein. Diverged paths are counted per level and left out.
    """
    t1 = _t1(t1)
    eps = positive_finite("eps", eps)
    n0, refine = positive_int("n0", n0), positive_int("refine", refine)
    if refine < 2:
        raise ValueError(f"`refine` must be at least 2; got {refine}.")
    n_initial = positive_int("n_initial", n_initial)
    min_levels, max_levels = positive_int("min_levels", min_levels), positive_int("max_levels", max_levels)
    if min_levels > max_levels:
        raise ValueError(f"`min_levels` must not exceed `max_levels`; got {min_levels} > {max_levels}.")
    scheme = get_scheme(method)
    alpha = scheme.weak_order()
    expr, _ = _g_kernel(sde, g)
    start = time.perf_counter()
    sums, counts, diverged, batches = [], [], [], []

    def run(level, n):
        steps = [n0 * refine ** level] + ([n0 * refine ** (level - 1)] if level else [])
        lv = simulate_levels(sde, z0, t1=t1, n_steps=steps, n_paths=n, method=method, params=params,
                             threads=threads, functionals={"g": expr},
                             seed=child_seed(_seed_entropy(seed), level, batches[level]))
        batches[level] += 1
        bad = lv.diverged.any(axis=0)
        G = lv.functionals["g"][:, ~bad]
        Y = G[0] - G[1] if level else G[0]
        sums[level] += np.array([Y.sum(), (Y ** 2).sum()])
        counts[level] += Y.size
        diverged[level] += int(bad.sum())

    def cost(level):
        return n0 * refine ** level * (1 + (1 / refine if level else 0))

    L = min_levels - 1
    for level in range(L + 1):
        sums.append(np.zeros(2)), counts.append(0), diverged.append(0), batches.append(0)
        run(level, n_initial)
    while True:
        means = np.array([s[0] / max(c, 1) for s, c in zip(sums, counts)])
        var = np.array([max(s[1] / max(c, 1) - (s[0] / max(c, 1)) ** 2, 1e-300) for s, c in zip(sums, counts)])
        C = np.array([cost(level) for level in range(L + 1)])
        target = np.ceil(2 / eps ** 2 * np.sqrt(var / C) * np.sum(np.sqrt(var * C))).astype(int)
        for level in range(L + 1):
            extra = int(target[level] - counts[level])
            if extra > 0:
                run(level, extra)
        means = np.array([s[0] / c for s, c in zip(sums, counts)])
        bias = max(abs(means[L]), abs(means[L - 1]) / refine ** alpha) / (refine ** alpha - 1)
        if bias <= eps / math.sqrt(2) or L + 1 >= max_levels:
            break
        L += 1
        sums.append(np.zeros(2)), counts.append(0), diverged.append(0), batches.append(0)
        run(L, n_initial)
    var = np.array([s[1] / c - (s[0] / c) ** 2 for s, c in zip(sums, counts)])
    levels = tuple({"level": lvl, "n_steps": n0 * refine ** lvl, "n_paths": int(counts[lvl]),
                    "mean": float(means[lvl]), "variance": float(var[lvl]), "cost_per_path": float(cost(lvl)),
                    "n_diverged": int(diverged[lvl])} for lvl in range(L + 1))
    total = float(sum(cost(lvl) * counts[lvl] for lvl in range(L + 1)))
    stderr = float(math.sqrt(sum(var[lvl] / counts[lvl] for lvl in range(L + 1))))
    return MLMCResult(float(means.sum()), stderr, levels, total, time.perf_counter() - start, eps, float(bias),
                      scheme.name)


def _seed_entropy(seed):
    child_seed(seed)          # validates
    return seed


@dataclass(frozen=True, repr=False)
class WorkPrecisionResult:
    """Rows ``(method, dt, n_paths, seconds, error, stderr)`` of a work-precision study, with
    ``plot(path)``."""

    rows: tuple
    exact: float

    def __repr__(self) -> str:
        return f"WorkPrecisionResult({len(self.rows)} runs, methods={sorted({r['method'] for r in self.rows})})"

    def to_dict(self) -> dict:
        return {"rows": list(self.rows), "exact": self.exact}

    def plot(self, path=None, ax=None, title="work-precision"):
        """Error against seconds, one line per method (matplotlib); saved to ``path`` if given."""
        import matplotlib
        if ax is None:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        own = ax is None
        if own:
            fig, ax = plt.subplots(figsize=(5.5, 4))
        for method in dict.fromkeys(r["method"] for r in self.rows):
            rows = [r for r in self.rows if r["method"] == method]
            ax.errorbar([r["seconds"] for r in rows], [r["error"] for r in rows],
                        yerr=[2 * r["stderr"] for r in rows], marker="o", capsize=2, label=method)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel("|estimate - exact| (bars: 2 s.e.)")
        ax.set_title(title)
        ax.legend()
        if own:
            fig.tight_layout()
            if path is not None:
                fig.savefig(path, dpi=120)
            plt.close(fig)
        return ax


def work_precision(sde, g, z0, *, t1, exact, dts, n_paths, seed, methods=("euler", "weak2"), params=None,
                   threads=None) -> WorkPrecisionResult:
    r"""Error of the Monte Carlo estimate of :math:`\mathbb E\,g(Z_{t_1})` against wall time for every
    scheme in ``methods`` at every step in ``dts`` (``n_paths`` paths each, compile time excluded by
    a warm-up run); the error is :math:`|\bar g-\text{exact}|` with its standard error."""
    t1 = _t1(t1)
    if isinstance(exact, bool) or not isinstance(exact, Real) or not math.isfinite(exact):
        raise ValueError(f"`exact` must be a finite number; got {exact!r}.")
    if isinstance(methods, str) or not methods:
        raise ValueError(f"`methods` must be a non-empty sequence of scheme names; got {methods!r}.")
    for mth in methods:
        get_scheme(mth)
    if isinstance(dts, (str, bytes)) or not hasattr(dts, "__len__") or len(dts) == 0:
        raise ValueError(f"`dts` must be a non-empty sequence of step sizes; got {dts!r}.")
    dts = [positive_finite("dts", h) for h in dts]
    expr, _ = _g_kernel(sde, g)
    rows = []
    for mth in methods:
        simulate(sde, z0, t1=t1, dt=float(dts[0]), n_paths=2, seed=0, method=mth, params=params,
                 functionals={"g": expr}, threads=threads)
        for i, h in enumerate(dts):
            begin = time.perf_counter()
            r = simulate(sde, z0, t1=t1, dt=h, n_paths=n_paths, seed=child_seed(seed, i), method=mth,
                         params=params, functionals={"g": expr}, threads=threads)
            seconds = time.perf_counter() - begin
            rows.append({"method": mth, "dt": float(h), "n_paths": int(n_paths), "seconds": seconds,
                         "error": float(abs(r.functionals["g"][-1] - exact)),
                         "stderr": float(r.functionals_stderr["g"][-1]), "n_diverged": r.n_diverged})
    return WorkPrecisionResult(tuple(rows), float(exact))
