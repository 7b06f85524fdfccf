r"""Numerical continuation of fixed points and cycles of parametrised maps, with located and
certified flip, fold and Neimark-Sacker bifurcations, branch switching at flips, and cascades.

A map :math:`w\mapsto T_\eta(w)` on :math:`\mathbb R^d` is given as a :class:`analysis.Derivation`
(one expression ``map``, the state as inputs, the swept parameter :math:`\eta` as the only
parameter), e.g. :func:`lemmata.analysis.logistic.gd_map`. The cycles of period :math:`p` are the
solutions of

.. math:: G(w,\eta)=T_\eta^p(w)-w=0,

a curve in :math:`(w,\eta)`-space, followed by pseudo-arclength continuation (Keller): from a
point :math:`u_k=(w_k,\eta_k)` with unit tangent :math:`t_k` (the null vector of
:math:`[M-I\mid\partial_\eta T^p]`, :math:`M=D_wT^p=\prod_jDT(w_j)` the monodromy), predict
:math:`u_k+\Delta s\,t_k` and correct by Newton on the augmented system

.. math:: G(u)=0,\qquad t_k^\top(u-u_k-\Delta s\,t_k)=0,

which stays regular through folds (turning points in :math:`\eta`). The step length adapts to
the Newton iteration count; a corrected point whose tangent turns by more than a set angle, or
that lands far from the prediction, is rejected (a jump onto another branch), and a branch that
cannot be followed without such jumps ends with that status, never silently.

Along the branch: the multipliers (eigenvalues of :math:`M`), stability (all
:math:`|\mu|<1`), and the test functions

- flip: :math:`\det(M+I)` (a multiplier crosses :math:`-1`);
- fold: the :math:`\eta`-component of the tangent, and :math:`\det(M-I)` (a multiplier :math:`+1`);
- Neimark-Sacker: :math:`\det(M\odot M-I)`, :math:`M\odot M` the bialternate product whose
  eigenvalues are :math:`\mu_i\mu_j` (:math:`i<j`); a zero with a complex pair on the unit circle.

A sign change between two accepted points is located by a bracketed root solve (Brent) on the
test function along the branch, then certified: the test function, evaluated at ``certify_dps``
digits on the branch (an mpmath Newton solve of the cycle at each end), changes sign across an
interval of width at most ``1e-12`` (or 16 ulps of :math:`\eta` when that is larger). With
``refine_dps`` the point is refined by an mpmath bracketed solve to that many digits. At a flip,
:func:`switch_branch` starts the period-:math:`2p` branch along the eigenvector of the multiplier
:math:`-1`, and :func:`cascade` repeats that along a period-doubling cascade. The flip's normal-form
coefficient (Kuznetsov, *Elements of Applied Bifurcation Theory*, 3rd ed., Sec. 5.4)

.. math:: \kappa=\tfrac16\langle p,C(q,q,q)\rangle-\tfrac12\langle p,B(q,(M-I)^{-1}B(q,q))\rangle,

(:math:`Mq=-q`, :math:`M^\top p=-p`, :math:`|q|=1`, :math:`\langle p,q\rangle=1`, :math:`B, C` the
second and third derivatives of :math:`T^p`) is computed here by high-precision finite
differences; :math:`\kappa>0` is a supercritical flip (a stable :math:`2p`-cycle on the side where
the :math:`p`-cycle is unstable). :func:`lemmata.analysis.bifurcation.flip_coefficient` derives it
symbolically.

The design follows BifurcationKit.jl (Veltz) for maps: the same predictor-corrector, bordered
linear solves, test functions and bisection-located events.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp

from lemmata.analysis.derivation import Derivation
from lemmata.analysis.errors import LemmataError
from lemmata.analysis.validation import positive_finite, positive_int

from .codegen import compile_kernel, compile_template, component_layout
from .orbits import orbit_derivation

__all__ = ["Branch", "Event", "Certificate", "Cascade", "continue_cycles", "switch_branch", "cascade"]

KINDS = ("flip", "fold", "neimark-sacker")
_TESTS = {"flip": "det(M + I)", "fold": "det(M - I)", "neimark-sacker": "det(M (.) M - I)"}


# ------------------------------------------------------------------------------ the maps
@functools.lru_cache(maxsize=64)
def _continuation_derivation(derivation: Derivation) -> Derivation:
    base = orbit_derivation(derivation)
    (eta,) = base.params
    T = base["map"]
    return Derivation(base.name + "_cont", base.inputs, base.params,
                      {"map": T, "jacobian": base["jacobian"], "deta": T.diff(eta)},
                      base.assumptions, base.source)


def _compose_template(d: int, layout) -> str:
    """Numba source of ``compose(w, eta, p, x, M, g)``: x = T^p(w), M = D_w T^p, g = d/deta T^p,
    with the state, the monodromy and the eta-derivative in scalars (literal tuple indices, so
    integer entries of the Jacobian do not break the core's tuple)."""
    start = {name: lo for name, _shape, lo, _hi in layout}
    m0, j0, e0 = start["map"], start["jacobian"], start["deta"]
    xs = [f"x{k}" for k in range(d)]
    lines = ["@numba.njit(cache=True, error_model='numpy')",
             "def compose(w, eta, p, x, M, g):"]
    lines += [f"    x{k} = w[{k}]" for k in range(d)]
    lines += [f"    M{k}_{m} = {1.0 if k == m else 0.0}" for k in range(d) for m in range(d)]
    lines += [f"    g{k} = 0.0" for k in range(d)]
    lines += ["    for _ in range(p):", f"        r = core({', '.join(xs)}, eta)"]
    for k in range(d):
        terms = " + ".join(f"r[{j0 + k * d + m}] * g{m}" for m in range(d))
        lines.append(f"        h{k} = r[{e0 + k}] + {terms}")
        for m in range(d):
            terms = " + ".join(f"r[{j0 + k * d + l}] * M{l}_{m}" for l in range(d))
            lines.append(f"        N{k}_{m} = {terms}")
    lines += [f"        g{k} = h{k}" for k in range(d)]
    lines += [f"        M{k}_{m} = N{k}_{m}" for k in range(d) for m in range(d)]
    lines += [f"        x{k} = r[{m0 + k}]" for k in range(d)]
    lines += [f"    x[{k}] = x{k}" for k in range(d)]
    lines += [f"    M[{k}, {m}] = M{k}_{m}" for k in range(d) for m in range(d)]
    lines += [f"    g[{k}] = g{k}" for k in range(d)]
    return "\n".join(lines)


class _Maps:
    """T^p, its monodromy and its eta-derivative, in double (compiled once) and in mpmath."""

    def __init__(self, step, backend: str):
        self.derivation = _continuation_derivation(step)
        self.d = len(self.derivation.inputs)
        self.backend = backend
        if backend == "numba":
            layout = component_layout(self.derivation)
            self._module = compile_template(self.derivation, "compose", _compose_template(self.d, layout))
        elif backend == "numpy":
            self._kernel = compile_kernel(self.derivation, "numpy")
        else:
            raise ValueError(f"`backend` must be 'numba' or 'numpy'; got {backend!r}.")
        self._mp = None

    def compose(self, w, eta, p):
        d = self.d
        if self.backend == "numba":
            x, M, g = np.empty(d), np.empty((d, d)), np.empty(d)
            self._module.compose(np.asarray(w, dtype=float), float(eta), int(p), x, M, g)
            return x, M, g
        x = np.array(w, dtype=float)
        M, g = np.eye(d), np.zeros(d)
        with np.errstate(all="ignore"):
            for _ in range(p):
                out = self._kernel(*x, eta)
                J = np.asarray(out["jacobian"], dtype=float).reshape(d, d)
                g = J @ g + np.asarray(out["deta"], dtype=float).reshape(d)
                M = J @ M
                x = np.asarray(out["map"], dtype=float).reshape(d)
        return x, M, g

    def orbit(self, w, eta, p):
        """The p points of the cycle through w (rows), in double."""
        points = [np.asarray(w, dtype=float)]
        for _ in range(p - 1):
            points.append(self.compose(points[-1], eta, 1)[0])
        return np.array(points)

    # -- mpmath
    def _mp_functions(self):
        if self._mp is None:
            symbols = self.derivation.symbols
            self._mp = tuple(sp.lambdify(symbols, list(self.derivation[name]), modules="mpmath")
                             for name in ("map", "jacobian", "deta"))
        return self._mp

    def compose_mp(self, w, eta, p):
        f_map, f_jac, f_eta = self._mp_functions()
        d = self.d
        x = list(w)
        M, g = mpmath.eye(d), mpmath.zeros(d, 1)
        for _ in range(p):
            J = mpmath.matrix(d, d)
            entries = f_jac(*x, eta)
            for k in range(d):
                for m in range(d):
                    J[k, m] = entries[k * d + m]
            e = mpmath.matrix([mpmath.mpf(v) if not isinstance(v, mpmath.mpc) else v for v in f_eta(*x, eta)])
            g = J * g + e
            M = J * M
            x = [mpmath.mpf(v) for v in f_map(*x, eta)]
        return x, M, g

    def map_mp(self, w, eta, p):
        f_map = self._mp_functions()[0]
        x = list(w)
        for _ in range(p):
            x = [mpmath.mpf(v) for v in f_map(*x, eta)]
        return x


# ------------------------------------------------------------------------------ test functions
def _bialternate(M):
    """M (.) M: the 2x2 minors of M over index pairs (i > j); eigenvalues mu_i mu_j, i < j."""
    d = M.shape[0]
    pairs = [(i, j) for i in range(1, d) for j in range(i)]
    B = np.empty((len(pairs), len(pairs)), dtype=M.dtype)
    for a, (p, q) in enumerate(pairs):
        for b, (r, s) in enumerate(pairs):
            B[a, b] = M[p, r] * M[q, s] - M[p, s] * M[q, r]
    return B


def _bialternate_mp(M):
    d = M.rows
    pairs = [(i, j) for i in range(1, d) for j in range(i)]
    B = mpmath.matrix(len(pairs), len(pairs))
    for a, (p, q) in enumerate(pairs):
        for b, (r, s) in enumerate(pairs):
            B[a, b] = M[p, r] * M[q, s] - M[p, s] * M[q, r]
    return B


def _tests(M) -> dict:
    d = M.shape[0]
    eye = np.eye(d)
    out = {"flip": float(np.linalg.det(M + eye)), "fold": float(np.linalg.det(M - eye))}
    if d >= 2:
        B = _bialternate(M)
        out["neimark-sacker"] = float(np.linalg.det(B - np.eye(B.shape[0])))
    return out


def _test_mp(kind, M):
    d = M.rows
    if kind == "flip":
        return mpmath.det(M + mpmath.eye(d))
    if kind == "fold":
        return mpmath.det(M - mpmath.eye(d))
    B = _bialternate_mp(M)
    return mpmath.det(B - mpmath.eye(B.rows))


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class Certificate:
    """A sign change of the test function ``test`` between two points of the branch, each solved
    at ``dps`` digits (mpmath Newton, residuals up to ``residual``): ``values`` at the ends
    ``eta_bounds``, which are ``width`` apart in (w, eta) (``eta_width`` in eta alone).
    ``certified`` is True when the values have opposite signs and both residuals are below
    10^(-dps/2)."""

    test: str
    eta_bounds: tuple
    width: float
    eta_width: float
    values: tuple
    residual: float
    dps: int
    certified: bool

    def to_dict(self) -> dict:
        return {"test": self.test, "eta_bounds": list(self.eta_bounds), "width": self.width,
                "eta_width": self.eta_width, "values": list(self.values), "residual": self.residual,
                "dps": self.dps, "certified": self.certified}


@dataclass(frozen=True)
class Event:
    """A located bifurcation on a branch of period ``period``: ``kind`` (``"flip"``, ``"fold"``,
    ``"neimark-sacker"``), ``eta``, ``state`` (a point of the cycle), ``multipliers`` there,
    ``index`` (the event lies between branch points ``index`` and ``index + 1``), the
    ``certificate``, ``eta_refined`` (a decimal string at ``refine_dps`` digits, or None), and for
    a flip its normal-form ``coefficient`` kappa (> 0: supercritical) and ``eigenvector`` q."""

    kind: str
    eta: float
    state: np.ndarray
    multipliers: np.ndarray
    period: int
    index: int
    certificate: Certificate
    eta_refined: str | None = None
    coefficient: float | None = None
    eigenvector: np.ndarray | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        flag = "certified" if self.certificate.certified else "NOT certified"
        extra = "" if self.coefficient is None else f", kappa={self.coefficient:.6g}"
        return (f"Event({self.kind!r}, period={self.period}, eta={self.eta!r}, "
                f"state={np.array2string(self.state, precision=6)}{extra}, {flag})")

    @property
    def supercritical(self) -> bool | None:
        """For a flip: kappa > 0 (the 2p-cycle is born stable); None for other kinds."""
        return None if self.coefficient is None else bool(self.coefficient > 0)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "eta": self.eta, "state": self.state.tolist(),
                "multipliers": [[m.real, m.imag] for m in self.multipliers], "period": self.period,
                "index": self.index, "certificate": self.certificate.to_dict(),
                "eta_refined": self.eta_refined, "coefficient": self.coefficient}


@dataclass(frozen=True)
class Branch:
    """A followed branch of period-``period`` cycles: ``eta`` (n,), ``states`` (n, d) (one point
    of the cycle), ``cycles`` (n, period, d) (all its points), ``multipliers`` (n, d) complex,
    ``stable`` (n,) bool, ``tests`` (test-function values, each (n,)), located ``events``, and
    ``status`` with ``message`` (why it ended): ``completed`` (reached the end of ``eta_span``),
    ``stopped-at-event`` (``stop_on``), ``max-steps``, ``branch-jump`` (every shorter step still
    landed on another branch), ``step-underflow`` (the corrector failed down to ``ds_min``),
    ``singular`` (the augmented Jacobian), ``lower-period`` (the cycle degenerated to a divisor
    of its period: its birth flip), ``diverged``."""

    period: int
    eta: np.ndarray
    states: np.ndarray
    cycles: np.ndarray
    multipliers: np.ndarray
    stable: np.ndarray
    tests: dict
    events: tuple
    status: str
    message: str
    eta_span: tuple
    n_rejected: int
    parameter: str = "eta"
    state_names: tuple = ()

    def __repr__(self) -> str:
        kinds = ", ".join(f"{e.kind}@{e.eta:.10g}" for e in self.events) or "none"
        return (f"Branch(period={self.period}, {self.eta.size} points, {self.parameter} in "
                f"[{self.eta.min():.6g}, {self.eta.max():.6g}], events: {kinds}, status={self.status!r})")

    @property
    def stability(self) -> np.ndarray:
        """``"stable"`` / ``"unstable"`` per point."""
        return np.where(self.stable, "stable", "unstable")

    def to_dict(self) -> dict:
        return {"period": self.period, "eta": self.eta.tolist(), "states": self.states.tolist(),
                "multipliers": [[[m.real, m.imag] for m in row] for row in self.multipliers],
                "stable": self.stable.tolist(), "events": [e.to_dict() for e in self.events],
                "status": self.status, "message": self.message, "eta_span": list(self.eta_span),
                "parameter": self.parameter}

    def to_pandas(self):
        """One row per branch point: eta, the state, ``|mu|_max``, stability, the test functions."""
        import pandas as pd

        names = self.state_names or tuple(f"w{k}" for k in range(self.states.shape[1]))
        columns = {"period": np.full(self.eta.size, self.period), self.parameter: self.eta}
        for k, name in enumerate(names):
            columns[name] = self.states[:, k]
        columns["max_abs_multiplier"] = np.abs(self.multipliers).max(axis=1)
        columns["stable"] = self.stable
        for kind, values in self.tests.items():
            columns[f"test_{kind}"] = values
        return pd.DataFrame(columns)

    def events_table(self):
        """The events as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame([{"period": e.period, "kind": e.kind, self.parameter: e.eta,
                              "state": " ".join(f"{v:.12g}" for v in e.state),
                              "multipliers": " ".join(f"{m:.6g}" for m in e.multipliers),
                              "kappa": e.coefficient, "certified": e.certificate.certified,
                              "eta_width": e.certificate.eta_width, "eta_refined": e.eta_refined}
                             for e in self.events])

    def plot(self, ax=None, *, component: int = 0, diagram=None, color=None, label=None,
             markers: bool = True):
        """Draw the branch (every point of the cycle, component ``component``) against eta:
        stable solid, unstable dashed, events marked (flip: triangle, fold: square,
        Neimark-Sacker: diamond). ``diagram`` (an :class:`lemmata.numerics.orbits.OrbitDiagram`)
        is drawn first as grey dots. Returns the axes."""
        import matplotlib.pyplot as plt

        ax = plt.gca() if ax is None else ax
        if diagram is not None:
            _draw_diagram(ax, diagram, component)
        color = color or f"C{int(math.log2(self.period)) % 10 if self.period & (self.period - 1) == 0 else self.period % 10}"
        label = f"period {self.period}" if label is None else label
        y = self.cycles[:, :, component]
        cuts = np.nonzero(np.diff(self.stable.astype(int)))[0]
        bounds = [0, *(cuts + 1), self.eta.size]
        first = True
        for a, b in zip(bounds[:-1], bounds[1:]):
            lo, hi = max(a - 1, 0), b            # overlap by one point so the pieces join
            style = "-" if self.stable[a] else "--"
            for j in range(self.period):
                ax.plot(self.eta[lo:hi], y[lo:hi, j], style, color=color, lw=1.4,
                        label=label if first else None)
                first = False
        if markers:
            shapes = {"flip": "v", "fold": "s", "neimark-sacker": "D"}
            for e in self.events:
                ax.plot([e.eta], [e.state[component]], shapes[e.kind], color="k", ms=6, mfc="none", zorder=5)
        ax.set_xlabel(self.parameter)
        name = (self.state_names[component] if self.state_names else f"w[{component}]")
        ax.set_ylabel(name)
        return ax


def _draw_diagram(ax, diagram, component):
    pts = diagram.points[..., component]
    etas = np.broadcast_to(diagram.etas[:, None, None], pts.shape)
    ax.plot(etas.ravel(), pts.ravel(), ",", color="0.6", alpha=0.6, rasterized=True)


@dataclass(frozen=True)
class Cascade:
    """The branches of a period-doubling cascade (periods 1, 2, 4, ...) and the flips that
    connect them: ``flips[k]`` is where the period-2^k branch loses stability."""

    branches: tuple
    flips: tuple

    def __repr__(self) -> str:
        return (f"Cascade(periods={[b.period for b in self.branches]}, "
                f"flips={[round(e.eta, 12) for e in self.flips]})")

    def feigenbaum_ratios(self) -> np.ndarray:
        r"""delta_k = (eta_k - eta_{k-1}) / (eta_{k+1} - eta_k) over the located flips."""
        e = np.array([f.eta for f in self.flips])
        if e.size < 3:
            return np.empty(0)
        return (e[1:-1] - e[:-2]) / (e[2:] - e[1:-1])

    def to_pandas(self):
        import pandas as pd

        return pd.concat([b.to_pandas() for b in self.branches], ignore_index=True)

    def events_table(self):
        import pandas as pd

        return pd.concat([b.events_table() for b in self.branches], ignore_index=True)

    def to_dict(self) -> dict:
        return {"branches": [b.to_dict() for b in self.branches], "flips": [f.to_dict() for f in self.flips]}

    def plot(self, ax=None, *, component: int = 0, diagram=None):
        import matplotlib.pyplot as plt

        ax = plt.gca() if ax is None else ax
        if diagram is not None:
            _draw_diagram(ax, diagram, component)
        for b in self.branches:
            b.plot(ax, component=component)
        return ax


# ------------------------------------------------------------------------------ validation
def _validate_span(eta_span):
    try:
        lo, hi = (float(v) for v in eta_span)
    except (TypeError, ValueError):
        raise ValueError(f"`eta_span` must be a pair (start, end) of numbers; got {eta_span!r}.") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"`eta_span` must be finite; got {eta_span!r}.")
    if lo == hi:
        raise ValueError(f"`eta_span` must have non-zero length (start != end); got {eta_span!r}.")
    return lo, hi


def _validate_start(start, d):
    w = np.asarray(start, dtype=float).reshape(-1)
    if w.size != d:
        raise ValueError(f"`start` must be a state with {d} components; got shape {np.shape(start)}.")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"`start` must be finite; got {np.asarray(start).tolist()}.")
    return w


def _validate_period(period):
    if isinstance(period, bool) or not isinstance(period, (int, np.integer)) or period < 1:
        raise ValueError(f"`period` must be an integer >= 1; got {period!r}.")
    return int(period)


# ------------------------------------------------------------------------------ the tracer
class _Tracer:
    def __init__(self, maps: _Maps, period: int, tol: float, certify_dps: int, refine_dps, cos_min: float):
        self.maps, self.p, self.tol = maps, period, tol
        self.d = maps.d
        self.certify_dps, self.refine_dps, self.cos_min = certify_dps, refine_dps, cos_min
        self.divisors = sorted({period // q for q in _prime_factors(period)})

    # -- one point
    def residual(self, u):
        x, M, g = self.maps.compose(u[:-1], u[-1], self.p)
        return x - u[:-1], M, g

    def solve(self, guess, c, target, max_iter=10, tol=None):
        """Newton on G(u) = 0, c.u = target. Returns (u, M, g, iterations) or None."""
        tol = self.tol if tol is None else tol
        d = self.d
        u = np.array(guess, dtype=float)
        A = np.empty((d + 1, d + 1))
        A[d] = c
        for it in range(1, max_iter + 1):
            G, M, g = self.residual(u)
            if not (np.all(np.isfinite(G)) and np.all(np.isfinite(M)) and np.all(np.isfinite(g))):
                return None
            A[:d, :d] = M - np.eye(d)
            A[:d, d] = g
            rhs = np.concatenate([-G, [target - c @ u]])
            try:
                du = np.linalg.solve(A, rhs)
            except np.linalg.LinAlgError:
                return None
            u = u + du
            if np.linalg.norm(du, np.inf) <= tol * (1 + np.linalg.norm(u, np.inf)):
                G, M, g = self.residual(u)
                if np.all(np.isfinite(G)) and np.linalg.norm(G, np.inf) <= 1e3 * tol * (1 + np.linalg.norm(u, np.inf)):
                    return u, M, g, it
                return None
        return None

    def tangent(self, M, g, previous):
        d = self.d
        A = np.empty((d + 1, d + 1))
        A[:d, :d] = M - np.eye(d)
        A[:d, d] = g
        A[d] = previous
        rhs = np.zeros(d + 1)
        rhs[d] = 1.0
        try:
            t = np.linalg.solve(A, rhs)
        except np.linalg.LinAlgError:
            return None
        n = np.linalg.norm(t)
        return t / n if np.isfinite(n) and n > 0 else None

    def lower_period(self, u):
        """The smallest proper divisor q of p with T^q(w) = w (to 1e-9), or None."""
        for q in self.divisors:
            x = self.maps.compose(u[:-1], u[-1], q)[0]
            if np.linalg.norm(x - u[:-1], np.inf) <= 1e-9 * (1 + np.linalg.norm(u[:-1], np.inf)):
                return q
        return None

    # -- events
    def locate(self, kind, u0, t0, u1, t1, index):
        """Locate the zero of the test function `kind` between branch points u0 and u1."""
        d = self.d
        fold_inside = kind == "fold" or np.sign(t0[-1]) != np.sign(t1[-1])
        if fold_inside:
            c = t0.copy()
        else:
            c = np.zeros(d + 1)
            c[-1] = 1.0
        s0, s1 = c @ u0, c @ u1

        cache = {}

        def point(s):
            if s not in cache:
                frac = (s - s0) / (s1 - s0)
                res = self.solve(u0 + frac * (u1 - u0), c, s, max_iter=20, tol=1e-14)
                if res is None:
                    res = self.solve(u0 + frac * (u1 - u0), c, s, max_iter=40, tol=1e-12)
                if res is None:
                    raise _LocateError(f"the corrector failed at {s!r} while locating a {kind}")
                cache[s] = res
            return cache[s]

        def phi(s):
            u, M, g, _ = point(s)
            return _tests(M)[kind]

        f0, f1 = phi(s0), phi(s1)
        if not (f0 * f1 < 0):
            return None
        from scipy.optimize import brentq

        root = brentq(phi, s0, s1, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200)
        u, M, g, _ = point(root)
        # the certificate's interval: width 1e-12 in eta (flip, NS) or in the chord parameter (fold)
        half = 0.5 * max(1e-12, 16 * np.spacing(abs(root)))
        a, b = root - half, root + half
        for _ in range(6):
            if phi(a) * phi(b) < 0:
                break
            half *= 4
            a, b = root - half, root + half
        ua, ub = point(a)[0], point(b)[0]
        certificate = self.certify(kind, c, ua, ub, a, b)
        multipliers = np.linalg.eigvals(M)
        refined = None
        if self.refine_dps:
            refined = self.refine(kind, c, ua, ub, a, b, self.refine_dps)
        coefficient = eigvec = None
        if kind == "flip":
            coefficient, eigvec = self.flip_coefficient(u)
        if kind == "neimark-sacker":
            pair = multipliers[np.abs(multipliers.imag) > 1e-8]
            if pair.size == 0 or np.min(np.abs(np.abs(pair) - 1)) > 1e-6:
                return None         # a neutral saddle (real mu_i mu_j = 1), not a bifurcation
        return Event(kind, float(u[-1]), u[:-1].copy(), _sort_multipliers(multipliers), self.p, index,
                     certificate, refined, coefficient, eigvec)

    def _mp_point(self, c, s, guess, dps):
        """The branch point with c.u = s at dps digits (mpmath Newton from the double guess)."""
        d = self.d
        with mpmath.workdps(dps + 10):
            cm = [mpmath.mpf(float(v)) for v in c]
            target = mpmath.mpf(float(s)) if not isinstance(s, mpmath.mpf) else s
            u = [mpmath.mpf(float(v)) for v in guess]
            tiny = mpmath.mpf(10) ** (-dps - 5)
            for _ in range(60):
                x, M, g = self.maps.compose_mp(u[:-1], u[-1], self.p)
                A = mpmath.matrix(d + 1, d + 1)
                rhs = mpmath.matrix(d + 1, 1)
                for k in range(d):
                    for m in range(d):
                        A[k, m] = M[k, m] - (1 if k == m else 0)
                    A[k, d] = g[k]
                    rhs[k] = -(x[k] - u[k])
                for m in range(d + 1):
                    A[d, m] = cm[m]
                rhs[d] = target - mpmath.fsum(a * b for a, b in zip(cm, u))
                du = mpmath.lu_solve(A, rhs)
                u = [a + b for a, b in zip(u, du)]
                if mpmath.norm(du) <= tiny * (1 + mpmath.norm(mpmath.matrix(u))):
                    break
            x, M, g = self.maps.compose_mp(u[:-1], u[-1], self.p)
            residual = max(abs(a - b) for a, b in zip(x, u[:-1]))
            return u, M, residual

    def certify(self, kind, c, ua, ub, a, b):
        dps = self.certify_dps
        values, residual = [], 0.0
        with mpmath.workdps(dps):
            ends = []
            for s, guess in ((a, ua), (b, ub)):
                u, M, res = self._mp_point(c, s, guess, dps)
                values.append(_test_mp(kind, M))
                residual = max(residual, float(res))
                ends.append(u)
            certified = bool(values[0] * values[1] < 0) and residual <= 10.0 ** (-dps / 2)
            width = float(mpmath.norm(mpmath.matrix([x - y for x, y in zip(ends[0], ends[1])])))
            eta_width = float(abs(ends[0][-1] - ends[1][-1]))
            bounds = tuple(sorted((float(ends[0][-1]), float(ends[1][-1]))))
        return Certificate(_TESTS[kind], bounds, width, eta_width, tuple(float(v) for v in values),
                           residual, dps, certified)

    def refine(self, kind, c, ua, ub, a, b, dps):
        """The event's eta at dps digits: a bracketed (Anderson-Bjorck) solve on the test function
        along the branch, every evaluation an mpmath Newton solve of the cycle."""
        with mpmath.workdps(dps + 10):
            guesses = {}

            def phi(s):
                frac = (s - mpmath.mpf(float(a))) / (mpmath.mpf(float(b)) - mpmath.mpf(float(a)))
                guess = [float(x + float(frac) * (y - x)) for x, y in zip(ua, ub)]
                u, M, _ = self._mp_point(c, s, guess, dps)
                guesses[s] = u
                return _test_mp(kind, M)

            root = mpmath.findroot(phi, (mpmath.mpf(float(a)), mpmath.mpf(float(b))), solver="anderson",
                                   tol=mpmath.mpf(10) ** (-2 * dps), verify=False, maxsteps=200)
            frac = (root - mpmath.mpf(float(a))) / (mpmath.mpf(float(b)) - mpmath.mpf(float(a)))
            guess = [float(x + float(frac) * (y - x)) for x, y in zip(ua, ub)]
            u, _, _ = self._mp_point(c, root, guess, dps)
            return mpmath.nstr(u[-1], dps)

    def flip_coefficient(self, u, dps: int = 60):
        """kappa = <p, C(q,q,q)>/6 - <p, B(q, (M - I)^{-1} B(q,q))>/2 for T^p at the flip point u,
        with B, C by central differences at dps digits (step 1e-12: truncation and round-off both
        about 1e-24 relative)."""
        d, p = self.d, self.p
        with mpmath.workdps(dps):
            eta = mpmath.mpf(float(u[-1]))
            c = [mpmath.mpf(0)] * d + [mpmath.mpf(1)]
            w, M, _ = self._mp_point(c, eta, u, dps - 10)
            w = w[:-1]
            values, vectors = mpmath.eig(M)
            k = min(range(d), key=lambda i: abs(values[i] + 1))
            q = [mpmath.re(vectors[i, k]) for i in range(d)]
            nq = mpmath.sqrt(mpmath.fsum(v * v for v in q))
            q = [v / nq for v in q]
            lvalues, lvectors = mpmath.eig(M.T)
            k = min(range(d), key=lambda i: abs(lvalues[i] + 1))
            pv = [mpmath.re(lvectors[i, k]) for i in range(d)]
            pq = mpmath.fsum(a * b for a, b in zip(pv, q))
            pv = [v / pq for v in pv]
            h = mpmath.mpf(10) ** -12

            def F(shift):
                return self.maps.map_mp([a + b for a, b in zip(w, shift)], eta, p)

            def scaled(v, s):
                return [s * x for x in v]

            F0 = F([0] * d)
            Fp, Fm = F(scaled(q, h)), F(scaled(q, -h))
            Fp2, Fm2 = F(scaled(q, 2 * h)), F(scaled(q, -2 * h))
            Bqq = [(a - 2 * b + cc) / h ** 2 for a, b, cc in zip(Fp, F0, Fm)]
            Cqqq = [(a - 2 * b + 2 * cc - e) / (2 * h ** 3) for a, b, cc, e in zip(Fp2, Fp, Fm, Fm2)]
            y = mpmath.lu_solve(M - mpmath.eye(d), mpmath.matrix(Bqq))
            # B(q, y) = |y| B(q, y/|y|): the difference steps stay of size h
            ny = mpmath.sqrt(mpmath.fsum(y[i] ** 2 for i in range(d)))
            y = [y[i] / ny for i in range(d)] if ny > 0 else [mpmath.mpf(0)] * d
            plus = lambda a, b: [x + z for x, z in zip(a, b)]                    # noqa: E731
            minus = lambda a, b: [x - z for x, z in zip(a, b)]                   # noqa: E731
            hq, hy = scaled(q, h), scaled(y, h)
            Bqy = [ny * (a - b - cc + e) / (4 * h ** 2) for a, b, cc, e in
                   zip(F(plus(hq, hy)), F(minus(hq, hy)), F(minus(hy, hq)), F(scaled(plus(hq, hy), -1)))]
            kappa = (mpmath.fsum(a * b for a, b in zip(pv, Cqqq)) / 6
                     - mpmath.fsum(a * b for a, b in zip(pv, Bqy)) / 2)
            return float(kappa), np.array([float(v) for v in q])


class _LocateError(LemmataError):
    pass


def _prime_factors(n):
    out, k = set(), 2
    while k * k <= n:
        while n % k == 0:
            out.add(k)
            n //= k
        k += 1
    if n > 1:
        out.add(n)
    return out


def _sort_multipliers(mu):
    mu = np.asarray(mu, dtype=complex)
    return mu[np.argsort(-np.abs(mu), kind="stable")]


# ------------------------------------------------------------------------------ the loop
def _trace(tracer: _Tracer, u, t, span, *, ds, ds_min, ds_max, max_steps, stop_on, parameter, names):
    d, p = tracer.d, tracer.p
    lo, hi = min(span), max(span)
    pts, mults, tests_list = [], [], []
    events = []
    status, message = "max-steps", f"stopped after `max_steps` = {max_steps} steps."
    n_rejected = 0
    _, M, g = tracer.residual(u)

    def record(u, M):
        pts.append(u.copy())
        mults.append(_sort_multipliers(np.linalg.eigvals(M)))
        tests_list.append(dict(_tests(M), tangent=float(t[-1])))

    record(u, M)
    last_reason = ""
    for _step in range(max_steps):
        u_pred = u + ds * t
        res = tracer.solve(u_pred, t, t @ u_pred)
        reason = ""
        if res is None:
            reason = "the corrector did not converge"
        else:
            u_new, M_new, g_new, iters = res
            t_new = tracer.tangent(M_new, g_new, t)
            if t_new is None:
                reason = "the augmented Jacobian is singular"
            else:
                cos = float(t @ t_new)
                angle = math.acos(max(-1.0, min(1.0, cos)))
                drift = np.linalg.norm(u_new - u_pred)
                # on one smooth arc of length ds turning by `angle`, the corrector moves the
                # prediction by about ds * angle / 2; much more means it landed on another branch
                if cos < tracer.cos_min or drift > 0.5 * ds or drift > 2 * angle * ds + 1e-3 * ds:
                    reason = (f"the corrected point left the predicted neighbourhood (tangent angle "
                              f"{math.degrees(angle):.1f} deg, distance "
                              f"{drift:.3g} for a step {ds:.3g}): a jump onto another branch")
        if reason:
            n_rejected += 1
            last_reason = reason
            ds *= 0.5
            if ds < ds_min:
                if "jump" in last_reason:
                    status = "branch-jump"
                elif "singular" in last_reason:
                    status = "singular"
                else:
                    status = "step-underflow"
                message = (f"the step length fell below {ds_min:.3g} near {parameter} = {u[-1]!r}: "
                           f"{last_reason}.")
                break
            continue
        q = tracer.lower_period(u_new)
        if q is not None:
            status = "lower-period"
            message = (f"the period-{p} branch reached a solution of period {q} at {parameter} = "
                       f"{u_new[-1]!r} (its birth at a flip of the period-{q} cycle); the branch ends there.")
            break
        # leaving the span: end exactly on its boundary when the branch crosses it transversally
        crossed = u_new[-1] > hi or u_new[-1] < lo
        if crossed:
            edge = hi if u_new[-1] > hi else lo
            c = np.zeros(d + 1)
            c[-1] = 1.0
            frac = (edge - u[-1]) / (u_new[-1] - u[-1])
            end = tracer.solve(u + frac * (u_new - u), c, edge, max_iter=20)
            if end is not None:
                u_new, M_new, g_new, _ = end
                t_end = tracer.tangent(M_new, g_new, t)
                t_new = t_new if t_end is None else t_end
        t_prev, u_prev = t, u
        u, t, M, g = u_new, t_new, M_new, g_new
        record(u, M)
        index = len(pts) - 2
        stop = False
        for kind in KINDS:
            if kind == "neimark-sacker" and d < 2:
                continue
            before, after = tests_list[-2], tests_list[-1]
            changed = before[kind] * after[kind] < 0
            if kind == "fold":
                changed = before["tangent"] * after["tangent"] < 0
            if changed:
                try:
                    event = tracer.locate(kind, u_prev, t_prev, u, t, index)
                except _LocateError:
                    event = None
                if event is not None:
                    events.append(event)
                    stop = stop or kind in stop_on
        if crossed:
            status, message = "completed", f"reached the end of `eta_span` at {parameter} = {u[-1]!r}."
            break
        if stop:
            status = "stopped-at-event"
            message = f"stopped at the {events[-1].kind} at {parameter} = {events[-1].eta!r} (`stop_on`)."
            break
        if np.linalg.norm(u, np.inf) > 1e12:
            status, message = "diverged", f"the branch ran off to |w| > 1e12 at {parameter} = {u[-1]!r}."
            break
        if iters <= 3:
            ds = min(ds * 1.5, ds_max)
        elif iters >= 6:
            ds = max(ds * 0.5, ds_min)
    pts = np.array(pts)
    cycles = np.array([tracer.maps.orbit(v[:-1], v[-1], p) for v in pts])
    mults = np.array(mults)
    tests = {k: np.array([row[k] for row in tests_list]) for k in tests_list[0]}
    stable = np.all(np.abs(mults) < 1, axis=1)
    return Branch(p, pts[:, -1].copy(), pts[:, :-1].copy(), cycles, mults, stable, tests, tuple(events),
                  status, message, (float(span[0]), float(span[1])), n_rejected, parameter, names)


def _setup(step, period, tol, backend, certify_dps, refine_dps, cos_min):
    if isinstance(step, Derivation) or hasattr(step, "derivation"):
        maps = _get_maps(step if isinstance(step, Derivation) else step.derivation, backend)
    else:
        raise TypeError(f"`step` must be an analysis.Derivation (or a Kernel); got {type(step).__name__}.")
    tol = positive_finite("tol", tol)
    certify_dps = positive_int("certify_dps", certify_dps)
    if refine_dps is not None:
        refine_dps = positive_int("refine_dps", refine_dps)
    return _Tracer(maps, period, tol, certify_dps, refine_dps, cos_min)


@functools.lru_cache(maxsize=32)
def _get_maps_cached(derivation, backend):
    return _Maps(derivation, backend)


def _get_maps(derivation, backend):
    if backend not in ("numba", "numpy"):
        raise ValueError(f"`backend` must be 'numba' or 'numpy'; got {backend!r}.")
    return _get_maps_cached(orbit_derivation(derivation), backend)


def continue_cycles(step, eta_span, start, *, period: int = 1, ds: float | None = None,
                    max_steps: int = 2000, tol: float = 1e-11, ds_max: float | None = None,
                    ds_min: float | None = None, stop_on=(), certify_dps: int = 30,
                    refine_dps: int | None = None, backend: str = "numba", max_angle: float = 30.0) -> Branch:
    r"""Follow the period-``period`` cycles of :math:`T_\eta` from ``start`` (a point of a cycle,
    or near one, at :math:`\eta=` ``eta_span[0]``) towards ``eta_span[1]`` by pseudo-arclength
    continuation (see the module docstring), locating and certifying flips, folds and
    Neimark-Sacker points on the way. Folds are passed: the branch may turn back in eta.

    Parameters
    ----------
    step : Derivation
        The map (expression ``map``, the state as inputs, one parameter), e.g.
        :func:`lemmata.analysis.logistic.gd_map`.
    eta_span : (float, float)
        Start and end of the parameter range; the branch ends when it leaves
        ``[min(eta_span), max(eta_span)]``.
    start : array_like, shape (d,)
        A state near a period-``period`` point at ``eta_span[0]``; Newton polishes it.
    period : int
        The period p (the equation is T^p(w) = w).
    ds, ds_min, ds_max : float, optional
        Initial, smallest and largest arclength steps in (w, eta) (defaults: 1/50, 1e-10 and 1/5
        of the span's length).
    max_steps : int
        Most continuation steps.
    tol : float
        Newton tolerance (relative step length) of the corrector.
    stop_on : sequence of str
        Event kinds that end the branch once located (e.g. ``("flip",)``).
    certify_dps, refine_dps : int
        Digits of the certificates (default 30), and of an optional mpmath refinement of every
        event's eta (``Event.eta_refined``).
    backend : {"numba", "numpy"}
        ``numba``: T^p, its monodromy and eta-derivative compiled into one loop (once per map);
        ``numpy``: the generated array kernel called p times per evaluation.
    max_angle : float
        Largest turn of the tangent (degrees) accepted in one step; beyond it the step is taken
        as a jump onto another branch and retried shorter.

    Returns
    -------
    Branch

    Raises
    ------
    ValueError
        ``period`` < 1, an ``eta_span`` of zero length, a ``start`` of the wrong shape.
    LemmataError
        ``start`` is not near a solution (Newton fails; the message gives the residual), the
        solution found has a smaller period than ``period``, or the augmented Jacobian is singular
        at the start.

    Examples
    --------
    >>> import sympy as sp
    >>> from lemmata.analysis import Derivation
    >>> x, r = sp.symbols("x r")
    >>> logistic = Derivation("logistic", (x,), (r,), {"map": r * x * (1 - x)})
    >>> b = continue_cycles(logistic, (2.5, 3.2), [0.6], backend="numpy")
    >>> [(e.kind, round(e.eta, 12)) for e in b.events]
    [('flip', 3.0)]
    """
    period = _validate_period(period)
    span = _validate_span(eta_span)
    max_steps = positive_int("max_steps", max_steps)
    stop_on = tuple(stop_on)
    bad = [k for k in stop_on if k not in KINDS]
    if bad:
        raise ValueError(f"`stop_on` must hold event kinds from {KINDS}; got {bad}.")
    max_angle = positive_finite("max_angle", max_angle)
    tracer = _setup(step, period, tol, backend, certify_dps, refine_dps, math.cos(math.radians(max_angle)))
    d = tracer.d
    w0 = _validate_start(start, d)
    length = abs(span[1] - span[0])
    ds = length / 50 if ds is None else positive_finite("ds", ds)
    ds_max = length / 5 if ds_max is None else positive_finite("ds_max", ds_max)
    ds_min = 1e-10 * max(length, 1.0) if ds_min is None else positive_finite("ds_min", ds_min)
    u0 = np.concatenate([w0, [span[0]]])
    c = np.zeros(d + 1)
    c[-1] = 1.0
    res = tracer.solve(u0, c, span[0], max_iter=60)
    if res is None:
        G, M0, g0 = tracer.residual(u0)
        residual = float(np.linalg.norm(G, np.inf)) if np.all(np.isfinite(G)) else float("nan")
        if residual <= 1e3 * tol * (1 + np.linalg.norm(u0, np.inf)) and np.all(np.isfinite(M0)):
            raise LemmataError(
                f"the Jacobian M - I of T^{period}(w) - w is singular at `start` = {w0.tolist()} "
                f"(eta = {span[0]!r}, residual {residual:.3g}): the solution is not isolated at fixed "
                f"eta, so it cannot start a branch (a fold or branch point, or a map with a curve of "
                f"fixed points); start elsewhere on the branch.")
        raise LemmataError(
            f"`start` = {w0.tolist()} is not near a period-{period} solution at eta = {span[0]!r}: "
            f"Newton on T^{period}(w) - w did not converge (residual |T^{period}(w) - w| = {residual:.3g} "
            f"at the start); give a point closer to a cycle, e.g. from find_cycles.")
    u, M, g, _ = res
    q = tracer.lower_period(u)
    if q is not None:
        raise LemmataError(f"`start` converged to a solution of period {q}, not {period}, at eta = {span[0]!r} "
                           f"(w = {u[:-1].tolist()}); continue it with `period` = {q}, or start on a "
                           f"period-{period} cycle.")
    direction = np.sign(span[1] - span[0])
    try:
        _, _, vt = np.linalg.svd(np.column_stack([M - np.eye(d), g]))
    except np.linalg.LinAlgError:
        vt = None
    if vt is None or np.linalg.matrix_rank(np.column_stack([M - np.eye(d), g])) < d:
        raise LemmataError(f"the augmented Jacobian [M - I | dT^p/deta] is singular at the start "
                           f"(eta = {span[0]!r}, w = {u[:-1].tolist()}): the solutions do not form a "
                           f"curve there (a branch point, or a map that does not depend on w and eta).")
    t = vt[-1]
    if t[-1] * direction < 0 or (t[-1] == 0 and direction < 0):
        t = -t
    names = tuple(s.name for s in tracer.maps.derivation.inputs)
    parameter = tracer.maps.derivation.params[0].name
    return _trace(tracer, u, t, span, ds=ds, ds_min=ds_min, ds_max=ds_max, max_steps=max_steps,
                  stop_on=stop_on, parameter=parameter, names=names)


def switch_branch(branch: Branch, event: Event, step=None, *, eta_span=None, amplitude: float | None = None,
                  ds: float | None = None, max_steps: int = 2000, tol: float = 1e-11, stop_on=(),
                  certify_dps: int = 30, refine_dps: int | None = None, backend: str = "numba",
                  max_angle: float = 30.0) -> Branch:
    r"""At a flip ``event`` of ``branch`` (period p), start the period-2p branch born there and
    follow it. The first point solves :math:`T^{2p}(w)=w`, :math:`q^\top(w-w_f)=h` (q the
    eigenvector of the multiplier -1, h = ``amplitude``, default 1e-3 (1 + :math:`|w_f|`), reduced when the
    solution collapses onto the p-cycle); the branch then moves away from the flip (growing
    amplitude) until it leaves ``eta_span`` (default: the parent's).

    ``step`` is the map; by default the one ``branch`` was computed with (the last map
    continued in this process with ``backend``).

    Raises
    ------
    ValueError
        ``event`` is not a flip of ``branch``.
    LemmataError
        No period-2p solution could be found next to the flip.
    """
    if not isinstance(event, Event) or event.kind != "flip":
        raise ValueError(f"`event` must be a flip Event of `branch`; got "
                         f"{getattr(event, 'kind', type(event).__name__)!r}.")
    if not isinstance(branch, Branch) or event.period != branch.period:
        raise ValueError(f"`event` (period {event.period}) does not belong to `branch` "
                         f"(period {getattr(branch, 'period', None)}).")
    if step is None:
        raise ValueError("`step` (the map the branch was computed with) is required.")
    span = branch.eta_span if eta_span is None else _validate_span(eta_span)
    period = 2 * branch.period
    tracer = _setup(step, period, tol, backend, certify_dps, refine_dps, math.cos(math.radians(max_angle)))
    d = tracer.d
    wf = event.state
    q = event.eigenvector
    if q is None:
        raise LemmataError("the flip event carries no eigenvector.")
    if amplitude is None:
        # small against the cycle's own scale: the closest two of its points, and |w_f|
        points = tracer.maps.orbit(wf, event.eta, branch.period)
        gaps = [np.linalg.norm(a - b) for i, a in enumerate(points) for b in points[:i]]
        h = 1e-3 * min([1 + np.linalg.norm(wf, np.inf)] + [10 * g for g in gaps])
    else:
        h = positive_finite("amplitude", amplitude)
    found = None
    for _ in range(6):
        c = np.concatenate([q, [0.0]])
        guess = np.concatenate([wf + h * q, [event.eta]])
        res = tracer.solve(guess, c, c @ np.concatenate([wf, [event.eta]]) + h, max_iter=40)
        # the doubled cycle next to the flip has a multiplier near +1 (-1 squared)
        if (res is not None and tracer.lower_period(res[0]) is None
                and np.min(np.abs(np.linalg.eigvals(res[1]) - 1)) < 0.1):
            found = res
            break
        h *= 0.1
    if found is None:
        raise LemmataError(f"no period-{period} cycle found next to the flip at eta = {event.eta!r}: "
                           f"Newton on T^{period}(w) = w with amplitude down to {h * 10:.3g} failed or "
                           f"collapsed onto the period-{branch.period} cycle.")
    u, M, g, _ = found
    t = tracer.tangent(M, g, np.concatenate([q, [0.0]]))
    if t is None:
        raise LemmataError(f"the augmented Jacobian is singular next to the flip at eta = {event.eta!r}.")
    if t[:-1] @ q < 0:
        t = -t
    length = abs(span[1] - span[0])
    ds = min(length / 50, 10 * h) if ds is None else positive_finite("ds", ds)
    names = tuple(s.name for s in tracer.maps.derivation.inputs)
    parameter = tracer.maps.derivation.params[0].name
    return _trace(tracer, u, t, span, ds=ds, ds_min=1e-10 * max(length, 1.0), ds_max=length / 5,
                  max_steps=positive_int("max_steps", max_steps), stop_on=tuple(stop_on),
                  parameter=parameter, names=names)


def cascade(step, eta_span, start, *, max_period: int = 64, ds: float | None = None, max_steps: int = 2000,
            tol: float = 1e-11, certify_dps: int = 30, refine_dps: int | None = None,
            backend: str = "numba") -> Cascade:
    r"""Follow a period-doubling cascade: continue the fixed point from ``start`` over
    ``eta_span``, and at each branch's first flip where it loses stability switch onto the
    doubled cycle (:func:`switch_branch`), up to period ``max_period``. Each branch stops at its
    flip (``stop_on=("flip",)``), which is all the cascade needs.

    Returns
    -------
    Cascade
        ``branches`` (periods 1, 2, 4, ...) and ``flips`` (one per branch that has one).
    """
    max_period = positive_int("max_period", max_period)
    span = _validate_span(eta_span)
    branch = continue_cycles(step, span, start, period=1, ds=ds, max_steps=max_steps, tol=tol,
                             stop_on=("flip",), certify_dps=certify_dps, refine_dps=refine_dps, backend=backend)
    branches, flips = [branch], []
    while True:
        flip = next((e for e in branch.events if e.kind == "flip"), None)
        if flip is None:
            break
        flips.append(flip)
        if 2 * branch.period > max_period:
            break
        branch = switch_branch(branch, flip, step, eta_span=span, max_steps=max_steps, tol=tol,
                               stop_on=("flip",), certify_dps=certify_dps, refine_dps=refine_dps,
                               backend=backend)
        branches.append(branch)
    return Cascade(tuple(branches), tuple(flips))
