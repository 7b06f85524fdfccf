r"""Orbits of parametrised maps :math:`w_{k+1}=T_\eta(w_k)`: orbit (bifurcation) diagrams,
period detection, Lyapunov exponents, cycles with multipliers and certificates, basins.

A map is a :class:`analysis.Derivation` whose inputs are the state :math:`w\in\mathbb R^d` and
whose single parameter is the swept one (:math:`\eta`), with an expression ``map`` (or a single
expression). Its Jacobian is derived symbolically here, and both are compiled into one Numba
loop (parallel over step sizes x initialisations, cached on disk), or into NumPy/CuPy array code
that iterates all orbits at once (the GPU path; CI runs the same code on NumPy).

Logistic GD is the first user: :func:`lemmata.analysis.logistic.gd_map` builds its map.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from lemmata.analysis.derivation import Derivation
from lemmata.analysis.errors import LemmataError

from . import backends
from .arrays import ArrayTypeError, InvalidArrayError, as_array, integer, real_scalar
from .codegen import Kernel, compile_kernel, compile_template

__all__ = ["OrbitDiagram", "Cycle", "orbit_diagram", "detect_periods", "find_cycles", "basins",
           "orbit_derivation"]


@functools.lru_cache(maxsize=64)
def _orbit_derivation_cached(derivation: Derivation) -> Derivation:
    if "map" in derivation.expressions:
        T = derivation["map"]
    elif len(derivation.expressions) == 1:
        T = next(iter(derivation.expressions.values()))
    else:
        raise LemmataError(f"the map derivation must have an expression 'map' or a single expression; "
                           f"{derivation.name!r} has {list(derivation.names)}.")
    T = sp.Matrix([T]) if not isinstance(T, sp.MatrixBase) else sp.Matrix(T)
    d = len(derivation.inputs)
    if T.shape != (d, 1):
        raise LemmataError(f"the map must have one component per state input ({d}); got shape {T.shape}.")
    if len(derivation.params) != 1:
        raise LemmataError(f"the map must have exactly one parameter (the swept step size); "
                           f"{derivation.name!r} has {[s.name for s in derivation.params]}.")
    J = T.jacobian(sp.Matrix(derivation.inputs))
    return Derivation(derivation.name + "_orbit", derivation.inputs, derivation.params,
                      {"map": T, "jacobian": J}, derivation.assumptions, derivation.source)


def orbit_derivation(step) -> Derivation:
    """The map with its Jacobian (``map``: d x 1, ``jacobian``: d x d) from a Derivation or Kernel."""
    derivation = step.derivation if isinstance(step, Kernel) else step
    if not isinstance(derivation, Derivation):
        raise TypeError(f"`step` must be an analysis.Derivation or a Kernel; got {type(step).__name__}.")
    return _orbit_derivation_cached(derivation)


def _orbit_template(d: int, tangent: bool = True) -> str:
    w = [f"w{i}" for i in range(d)]
    v = [f"v{i}" for i in range(d)]
    lines = [
        "@numba.njit(cache=True, parallel=True, error_model='numpy')",
        "def orbit(etas, inits, n_transient, n_keep, blowup, out, lyapunov, diverged):",
        "    n_eta = etas.shape[0]",
        "    n_init = inits.shape[0]",
        "    for idx in numba.prange(n_eta * n_init):",
        "        i = idx // n_init",
        "        j = idx % n_init",
        "        eta = etas[i]",
    ]
    lines += [f"        {w[k]} = inits[j, {k}]" for k in range(d)]
    lines += [f"        {v[k]} = {1.0 if k == 0 else 0.0}" for k in range(d)]
    lines += ["        acc = 0.0", "        bad = False",
              "        for step in range(n_transient + n_keep):",
              f"            r = core({', '.join(w)}, eta)"]
    if tangent:
        # tangent v <- J(w_k) v, renormalised; the Jacobian entries follow the map in r
        for k in range(d):
            terms = " + ".join(f"r[{d + k * d + m}] * {v[m]}" for m in range(d))
            lines.append(f"            n{k} = {terms}")
        norm = " + ".join(f"n{k} * n{k}" for k in range(d))
        lines.append(f"            norm = np.sqrt({norm})")
    else:
        lines.append("            norm = 1.0")
    lines += [f"            {w[k]} = r[{k}]" if d > 1 or tangent else f"            {w[k]} = r" for k in range(d)]
    if tangent:
        lines += [f"            {v[k]} = n{k} / norm if norm > 0 else n{k}" for k in range(d)]
    size = " + ".join(f"{w[k]} * {w[k]}" for k in range(d))
    lines += [f"            if not np.isfinite({size}) or {size} > blowup * blowup:",
              "                bad = True",
              "                break",
              "            if step >= n_transient:",
              "                keep = step - n_transient",
              "                acc += np.log(norm) if norm > 0 else -np.inf"]
    lines += [f"                out[i, j, keep, {k}] = {w[k]}" for k in range(d)]
    lines += ["        diverged[i, j] = bad",
              "        lyapunov[i, j] = np.nan if bad else acc / n_keep"]
    return "\n".join(lines)


@dataclass(frozen=True)
class OrbitDiagram:
    """Kept orbit points ``points`` (n_eta, n_init, n_keep, d); ``lyapunov`` (n_eta, n_init), the
    largest Lyapunov exponent over the kept iterations; ``diverged`` (n_eta, n_init); ``periods``
    (n_eta, n_init): the detected period (0: none up to ``max_period``, e.g. chaos or slow
    convergence; -1: diverged)."""

    etas: np.ndarray
    inits: np.ndarray
    points: np.ndarray
    lyapunov: np.ndarray
    diverged: np.ndarray
    periods: np.ndarray

    @property
    def n_diverged(self) -> int:
        return int(self.diverged.sum())


def orbit_diagram(step, etas, inits, *, n_transient: int, n_keep: int, backend: str = "numba",
                  max_period: int = 64, tol: float = 1e-9, blowup: float = 1e12,
                  lyapunov: bool = True) -> OrbitDiagram:
    r"""Iterate :math:`w\mapsto T_\eta(w)` for every step size in ``etas`` and every row of
    ``inits`` (shape ``(n_init, d)``, or ``(n_init,)`` for d = 1): ``n_transient`` steps, then
    keep ``n_keep``. Orbits that leave the ball of radius ``blowup`` or become non-finite are
    flagged in ``diverged`` (their later points are NaN), never dropped silently.

    Parameters
    ----------
    step : Derivation or Kernel
        The map (see the module docstring), e.g. :func:`lemmata.analysis.logistic.gd_map`.
    backend : {"numba", "numpy", "cupy"}
        ``numba``: one compiled loop, parallel over (eta, init); ``numpy``/``cupy``: array code
        advancing all orbits together (the GPU path).
    lyapunov : bool
        Propagate a tangent vector for the largest Lyapunov exponent (costs the Jacobian); with
        False the exponents are NaN and only the map is evaluated.
    """
    derivation = orbit_derivation(step)
    if not lyapunov:
        derivation = Derivation(derivation.name + "_map", derivation.inputs, derivation.params,
                                {"map": derivation["map"]}, derivation.assumptions, derivation.source)
    d = len(derivation.inputs)
    etas = as_array(etas, name="etas", ndim=(0, 1), finite=False, min_size=0).reshape(-1)
    if etas.size == 0 or not np.all(np.isfinite(etas)) or np.any(etas <= 0):
        raise InvalidArrayError(f"`etas` must be a non-empty array of positive finite step sizes; got "
                                f"{etas.size} values{', min ' + repr(float(np.nanmin(etas))) if etas.size and not np.all(np.isnan(etas)) else ''}.")
    inits = as_array(inits, name="inits", ndim=(1, 2), finite=False, min_size=0)
    if inits.ndim == 1 and d == 1:
        inits = inits[:, None]
    if inits.ndim != 2 or inits.shape[1] != d or inits.shape[0] == 0:
        raise InvalidArrayError(f"`inits` must have shape (n_init, {d}); got {np.shape(inits)}.")
    if not np.all(np.isfinite(inits)):
        raise InvalidArrayError("`inits` must be finite.")
    n_transient = integer("n_transient", n_transient, minimum=0)
    n_keep = integer("n_keep", n_keep, minimum=1)
    max_period = integer("max_period", max_period, minimum=1)
    tol = real_scalar("tol", tol, nonnegative=True)
    blowup = real_scalar("blowup", blowup, positive=True)
    one_of_backend = backend if backend in ("numba", "numpy", "cupy") else None
    if one_of_backend is None:
        raise InvalidArrayError(f"`backend` must be one of 'numba', 'numpy', 'cupy'; got {backend!r}.")
    shape = (etas.size, inits.shape[0])
    if backend == "numba":
        module = compile_template(derivation, "orbit", _orbit_template(d, tangent=lyapunov))
        points = np.full(shape + (n_keep, d), np.nan)
        exponents = np.empty(shape)
        diverged = np.zeros(shape, dtype=np.bool_)
        module.orbit(etas, np.ascontiguousarray(inits), n_transient, n_keep, float(blowup), points,
                     exponents, diverged)
    else:
        points, exponents, diverged = _orbit_array(derivation, etas, inits, n_transient, n_keep,
                                                   backend, blowup, lyapunov)
    if not lyapunov:
        exponents = np.full(shape, np.nan)
    periods = detect_periods(points, max_period=max_period, tol=tol)
    periods[diverged] = -1
    return OrbitDiagram(etas, inits, points, exponents, diverged, periods)


def _orbit_array(derivation, etas, inits, n_transient, n_keep, backend, blowup, tangent=True):
    """The same iteration in array code (NumPy or CuPy): all orbits advance together."""
    xp = backends.get(backend).xp
    kernel = compile_kernel(derivation, backend)
    d = inits.shape[1]
    eta = xp.asarray(np.repeat(etas, inits.shape[0]))
    w = [xp.asarray(np.tile(inits[:, k], etas.size)) for k in range(d)]
    v = [xp.ones_like(w[0]) if k == 0 else xp.zeros_like(w[0]) for k in range(d)]
    acc = xp.zeros_like(w[0])
    bad = xp.zeros(w[0].shape, dtype=bool)
    points = xp.full((w[0].size, n_keep, d), xp.nan)
    with np.errstate(all="ignore"):
        for step in range(n_transient + n_keep):
            out = kernel(*w, eta)
            if tangent:
                T, J = out["map"], out["jacobian"]
                n = [sum(J[:, k, m] * v[m] for m in range(d)) for k in range(d)]
                norm = xp.sqrt(sum(x * x for x in n))
            else:
                T, n, norm = out, v, xp.ones_like(w[0])
            w = [xp.where(bad, w[k], T[:, k, 0]) for k in range(d)]
            safe = xp.where(norm > 0, norm, 1.0)
            v = [n[k] / safe for k in range(d)]
            size = sum(x * x for x in w)
            bad = bad | ~xp.isfinite(size) | (size > blowup * blowup)
            if step >= n_transient:
                acc = acc + xp.log(safe)
                for k in range(d):
                    points[:, step - n_transient, k] = xp.where(bad, xp.nan, w[k])
    lyapunov = xp.where(bad, xp.nan, acc / n_keep)
    to_np = (lambda a: a.get()) if backend == "cupy" else np.asarray
    shape = (etas.size, inits.shape[0])
    return (to_np(points).reshape(shape + (n_keep, d)), to_np(lyapunov).reshape(shape),
            to_np(bad).reshape(shape))


def detect_periods(points, *, max_period: int = 64, tol: float = 1e-9) -> np.ndarray:
    """Smallest p <= ``max_period`` with ``|x_{k+p} - x_k| <= tol (1 + |x_k|)`` over the last
    ``min(n_keep - p, 4 p)`` kept points (at least p of them); 0 when none."""
    points = as_array(points, name="points", finite=False)
    if points.ndim < 2:
        raise InvalidArrayError(f"`points` must have shape (..., n_keep, d): orbit points with the state "
                                f"dimension last; got shape {points.shape}. For scalar orbits pass points[..., None].")
    max_period = integer("max_period", max_period, minimum=1)
    tol = real_scalar("tol", tol, nonnegative=True)
    if points.shape[-2] < 1 or points.shape[-1] < 1:
        raise InvalidArrayError(f"`points` must hold at least one kept point of dimension >= 1; got shape {points.shape}.")
    n_keep = points.shape[-2]
    flat = points.reshape((-1, n_keep, points.shape[-1]))
    periods = np.zeros(flat.shape[0], dtype=int)
    undecided = np.ones(flat.shape[0], dtype=bool)
    scale = 1.0 + np.max(np.abs(flat[:, -1, :]), axis=-1)
    for p in range(1, min(max_period, n_keep // 2) + 1):
        window = min(n_keep - p, 4 * p)
        a = flat[:, n_keep - window:, :]
        b = flat[:, n_keep - window - p:n_keep - p, :]
        with np.errstate(invalid="ignore"):
            close = np.all(np.max(np.abs(a - b), axis=-1) <= tol * scale[:, None], axis=-1)
        hit = undecided & close
        periods[hit] = p
        undecided &= ~hit
    return periods.reshape(points.shape[:-2])


@dataclass(frozen=True)
class Cycle:
    """A period-``period`` cycle at step ``eta``: its ``points`` (period, d), Floquet
    ``multipliers`` (eigenvalues of the product of Jacobians), ``residual``
    ``max |T^p(w) - w|`` evaluated at ``dps`` digits after an mpmath Newton polish, and ``stable``
    (all ``|multipliers| < 1``). ``certified`` (1-D): G(w) = T^p(w) - w changes sign across
    [w - r, w + r] in high precision, so a true cycle lies within ``radius`` r (the
    intermediate value theorem); in d > 1 it is the residual test alone."""

    eta: float
    period: int
    points: np.ndarray
    multipliers: np.ndarray
    residual: float
    stable: bool
    certified: bool
    radius: float


def _iterate_mp(f_map, f_jac, w, eta, p):
    J = mpmath.eye(len(w))
    x = list(w)
    for _ in range(p):
        J = f_jac(x, eta) * J
        x = f_map(x, eta)
    return x, J


def find_cycles(step, eta: float, inits, *, periods=(1, 2, 4, 8), n_transient: int = 2000,
                dps: int = 50, tol: float = 1e-9) -> list:
    r"""Cycles of :math:`T_\eta` reached from ``inits``: iterate, detect the period, then polish
    :math:`T^p(w)=w` by Newton in mpmath at ``dps`` digits with the Jacobian
    :math:`\prod DT-I`, and certify (see :class:`Cycle`). Duplicates (the same cycle reached from
    several starts, or shifted along itself) are merged.

    Returns a list of :class:`Cycle`, stable and unstable alike (an unstable cycle is found when
    an initialisation sits on it, e.g. from a root bracket)."""
    derivation = orbit_derivation(step)
    d = len(derivation.inputs)
    eta = real_scalar("eta", eta, positive=True)
    dps = integer("dps", dps, minimum=15)
    if isinstance(periods, (int, np.integer)) or not hasattr(periods, "__iter__"):
        raise ArrayTypeError(f"`periods` must be a sequence of positive integers; got {periods!r}.")
    periods = tuple(integer("periods", p, minimum=1) for p in periods)
    if not periods:
        raise InvalidArrayError("`periods` must name at least one period; got none.")
    diagram = orbit_diagram(derivation, [eta], inits, n_transient=n_transient,
                            n_keep=2 * max(periods) * 4, max_period=max(periods), tol=tol)
    symbols = derivation.symbols
    T = derivation["map"]
    J = derivation["jacobian"]
    f_map_ = sp.lambdify(symbols, list(T), modules="mpmath")
    f_jac_ = sp.lambdify(symbols, J.tolist(), modules="mpmath")

    def f_map(x, e):
        return [mpmath.mpf(c) for c in f_map_(*x, e)]

    def f_jac(x, e):
        return mpmath.matrix(f_jac_(*x, e))

    found = []
    with mpmath.workdps(dps):
        e = mpmath.mpf(eta)
        for j in range(diagram.inits.shape[0]):
            p = int(diagram.periods[0, j])
            if p <= 0 or p not in periods:
                continue
            x = [mpmath.mpf(float(c)) for c in diagram.points[0, j, -1]]
            for _ in range(60):                       # Newton on G(x) = T^p(x) - x
                y, M = _iterate_mp(f_map, f_jac, x, e, p)
                G = mpmath.matrix([yi - xi for yi, xi in zip(y, x)])
                if mpmath.norm(G) < mpmath.mpf(10) ** (-dps + 8):
                    break
                dx = mpmath.lu_solve(M - mpmath.eye(d), -G)
                x = [xi + di for xi, di in zip(x, dx)]
            y, M = _iterate_mp(f_map, f_jac, x, e, p)
            residual = float(max(abs(yi - xi) for yi, xi in zip(y, x)))
            orbit, z = [], list(x)
            for _ in range(p):
                orbit.append([float(c) for c in z])
                z = f_map(z, e)
            orbit = np.array(orbit)
            if any(_same_cycle(orbit, c.points) for c in found):
                continue
            multipliers = np.array([complex(m) for m in mpmath.eig(M)[0]])
            certified, radius = False, float("nan")
            if d == 1:
                r = mpmath.mpf(10) ** (-dps // 2)
                lo = _iterate_mp(f_map, f_jac, [x[0] - r], e, p)[0][0] - (x[0] - r)
                hi = _iterate_mp(f_map, f_jac, [x[0] + r], e, p)[0][0] - (x[0] + r)
                certified, radius = bool(lo * hi < 0), float(r)
            found.append(Cycle(float(eta), p, orbit, multipliers, residual,
                               bool(np.all(np.abs(multipliers) < 1)), certified, radius))
    return found


def _same_cycle(a, b, tol=1e-7):
    if a.shape != b.shape:
        return False
    return any(np.allclose(np.roll(a, s, axis=0), b, atol=tol, rtol=tol) for s in range(a.shape[0]))


def basins(step, eta: float, inits, attractors, *, n_transient: int = 5000, tol: float = 1e-6,
           backend: str = "numba") -> dict:
    """Fraction of ``inits`` whose orbit ends on each attractor (a list of cycles as arrays
    (period, d), e.g. the fixed point ``[[w*]]`` and the points of :class:`Cycle`), or diverges,
    or none of these ("other"). Returns ``{"labels": (n_init,) int, "fractions": {...}}`` with
    label i for ``attractors[i]``, -1 diverged, -2 other."""
    eta = real_scalar("eta", eta, positive=True)
    tol = real_scalar("tol", tol, positive=True)
    if isinstance(attractors, np.ndarray) and attractors.ndim == 2:
        attractors = [attractors]
    diagram = orbit_diagram(step, [eta], inits, n_transient=n_transient, n_keep=1, backend=backend)
    d = diagram.inits.shape[1]
    cycles = []
    for i, cycle in enumerate(attractors):
        cycle = np.atleast_2d(as_array(cycle, name=f"attractors[{i}]", ndim=(0, 1, 2)))
        if d == 1 and cycle.shape[1] != 1 and cycle.shape[0] == 1:
            cycle = cycle.T
        if cycle.shape[1] != d:
            raise InvalidArrayError(f"`attractors[{i}]` must have shape (period, {d}); got {cycle.shape}.")
        cycles.append(cycle)
    final = diagram.points[0, :, -1, :]
    labels = np.full(final.shape[0], -2)
    labels[diagram.diverged[0]] = -1
    for i, cycle in enumerate(cycles):
        dist = np.min(np.linalg.norm(final[:, None, :] - cycle[None, :, :], axis=-1), axis=1)
        labels[(labels == -2) & (dist <= tol * (1 + np.linalg.norm(cycle, axis=-1).max()))] = i
    fractions = {f"attractor_{i}": float(np.mean(labels == i)) for i in range(len(attractors))}
    fractions["diverged"] = float(np.mean(labels == -1))
    fractions["other"] = float(np.mean(labels == -2))
    return {"labels": labels, "fractions": fractions}

