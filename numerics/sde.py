r"""Monte Carlo of SDEs and of the discrete stochastic algorithms they model, with error bars.

:func:`simulate` integrates the Ito SDE :math:`dZ=b(Z,t)\,dt+D(Z,t)\,dW` (d states, m Brownian
motions) with one of four schemes, whose coefficients and derivatives are compiled from an
:class:`lemmata.analysis.sde.SDE` into one Numba loop (paths innermost, so the arithmetic
vectorises), together with any functionals :math:`g(Z_t,t)` the caller asks for;
:func:`simulate_levels` runs several step sizes on the same Brownian paths (the fine increments
summed into the coarse ones), the engine of :mod:`lemmata.numerics.convergence`;
:func:`simulate_discrete` runs the algorithm itself, :math:`z^+=z+\eta\Delta(z,\xi)`.

Schemes (:data:`SCHEMES`; :math:`\Delta W\sim N(0,hI)`, :math:`L^j=\sum_lD_{lj}\partial_l`,
:math:`L^0=\partial_t+\sum_lb_l\partial_l+\tfrac12\sum_{l,r}(DD^\top)_{lr}\partial_l\partial_r`):

- ``"euler"`` Euler-Maruyama :math:`Y^+=Y+bh+D\Delta W`: strong order 1/2 (1 for additive noise),
  weak order 1 (Kloeden & Platen 1992, Secs. 10.2 and 14.1);
- ``"milstein"`` :math:`Y^+_k=Y_k+b_kh+\sum_jD_{kj}\Delta W_j+\tfrac12\sum_{j_1,j_2}L^{j_1}D_{kj_2}
  (\Delta W_{j_1}\Delta W_{j_2}-\delta_{j_1j_2}h)`: strong order 1 for commutative noise
  (:math:`L^{j_1}D_{\cdot j_2}=L^{j_2}D_{\cdot j_1}`; K&P Sec. 10.3), refused otherwise (it would
  need Levy areas);
- ``"weak2"`` the simplified order-2.0 weak Taylor scheme (K&P Sec. 14.2), for any noise:

  .. math::

      Y^+_k=Y_k+b_kh+\tfrac12L^0b_k\,h^2+\sum_j\big(D_{kj}+\tfrac h2(L^0D_{kj}+L^jb_k)\big)\Delta W_j
      +\tfrac12\sum_{j_1,j_2}L^{j_1}D_{kj_2}(\Delta W_{j_1}\Delta W_{j_2}+V_{j_1j_2}),

  :math:`V_{jj}=-h`, :math:`V_{j_1j_2}=\pm h` with probability 1/2 for :math:`j_1<j_2`,
  :math:`V_{j_2j_1}=-V_{j_1j_2}`; weak order 2, strong order 1 for commutative noise (1/2 otherwise);
  the derivatives are SymPy's, so the scheme is exact to test on linear SDEs;
- ``"sra"`` Roessler's SRA1 (SIAM J. Numer. Anal. 48 (2010) 922-952, Table 5.1) for additive noise
  :math:`D=D(t)`: with :math:`I_{(j,0)}=\int(W_s-W_t)\,ds`,
  :math:`H=Y+\tfrac34hb(Y,t)+\tfrac32D(t+h)I_{(\cdot,0)}/h` and
  :math:`Y^+=Y+h(\tfrac13b(Y,t)+\tfrac23b(H,t+\tfrac34h))+D(t+h)(\Delta W-I_{(\cdot,0)}/h)+D(t)I_{(\cdot,0)}/h`:
  strong order 1.5, weak order 2; refused for multiplicative noise.

Randomness: the paths are split into chunks of :data:`CHUNK`; chunk ``c`` draws from a
``numpy.random.Generator`` seeded by ``(seed, c)``, used inside the compiled loop (the fastest
normal generator measured here, PERFORMANCE.md). Chunks run on a thread pool with the GIL
released, so the same seed gives the same numbers for any number of threads. Diverged paths
(non-finite, or beyond ``blowup``, tested every 32 steps) are flagged, counted in ``n_diverged``
and left out of every moment, never averaged in. With ``antithetic=True`` the second half of
every chunk runs on the negated increments of the first half, and standard errors come from the
pair averages.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from numbers import Integral, Real

import numba
import numpy as np
import sympy as sp

from lemmata.analysis.derivation import Derivation
from lemmata.analysis.errors import AssumptionError, LemmataError
from lemmata.analysis.validation import one_of, positive_int

from . import backends
from .codegen import compile_kernel, compile_template, component_layout, kernel_source
from .stats import child_seed

__all__ = ["simulate", "simulate_levels", "simulate_discrete", "discrete_moments", "SimulationResult",
           "LevelsResult", "Scheme", "SCHEMES", "get_scheme", "CHUNK"]

CHUNK = 4096
TIME = sp.Symbol("t_sde_clock", real=True)     # the clock argument of generated cores


# ------------------------------------------------------------------------------ schemes
@dataclass(frozen=True)
class Scheme:
    """A time-stepping scheme: its ``name``, its orders, and the noise it needs.

    ``strong_order(sde)`` and ``weak_order(sde)`` give the orders for a given SDE (some depend on
    the noise: Euler-Maruyama is strong order 1 on additive noise); without an SDE, the orders
    for general noise the scheme accepts. ``check(sde)`` raises
    :class:`~lemmata.analysis.errors.AssumptionError` when the scheme does not apply."""

    name: str
    description: str
    _strong: float
    _weak: float
    reference: str

    def strong_order(self, sde=None) -> float:
        if sde is not None:
            if self.name == "euler" and sde.is_additive():
                return 1.0
            if self.name == "weak2" and sde.is_commutative():
                return 1.0
        return self._strong

    def weak_order(self, sde=None) -> float:
        return self._weak

    def check(self, sde) -> None:
        if self.name == "milstein" and not sde.is_commutative():
            raise AssumptionError(
                "`method='milstein'` needs commutative noise (L^j1 D_j2 = L^j2 D_j1 for all columns); "
                "this SDE's noise is not commutative, so the scheme would need Levy areas. Use "
                "method='euler' or 'weak2'.")
        if self.name == "sra" and not sde.is_additive():
            raise AssumptionError(
                "`method='sra'` needs additive noise (a diffusion free of the state); this SDE's "
                "diffusion depends on the state. Use method='milstein' or 'weak2'.")

    def __repr__(self) -> str:
        return f"Scheme({self.name!r}, strong {self._strong:g}, weak {self._weak:g})"


SCHEMES = {
    "euler": Scheme("euler", "Euler-Maruyama", 0.5, 1.0, "Kloeden & Platen 1992, Secs. 10.2, 14.1"),
    "milstein": Scheme("milstein", "Milstein (commutative noise)", 1.0, 1.0, "Kloeden & Platen 1992, Sec. 10.3"),
    "weak2": Scheme("weak2", "simplified order-2.0 weak Taylor", 0.5, 2.0, "Kloeden & Platen 1992, Sec. 14.2"),
    "sra": Scheme("sra", "Roessler SRA1 (additive noise)", 1.5, 2.0,
                  "A. Roessler, SIAM J. Numer. Anal. 48 (2010) 922-952"),
}
_ALIASES = {"euler_maruyama": "euler"}


def get_scheme(method: str) -> Scheme:
    """The :class:`Scheme` called ``method`` (``"euler_maruyama"`` is an alias of ``"euler"``)."""
    one_of("method", method, tuple(SCHEMES) + tuple(_ALIASES))
    return SCHEMES[_ALIASES.get(method, method)]


# ------------------------------------------------------------------------------ results
def _shape(a):
    return "None" if a is None else f"array{tuple(np.shape(a))}"


@dataclass(frozen=True, repr=False)
class SimulationResult:
    """Moments at the saved times ``times`` (n_saves,): ``mean`` (n_saves, d) with
    ``mean_stderr``; ``second_moment`` E[Z Z^T] (n_saves, d, d) with ``second_moment_stderr``;
    ``n_paths``, ``n_diverged`` (excluded from the moments), ``seed``; ``norm_sq`` ``E|Z|^2`` with
    ``norm_sq_stderr`` (from the per-path ``|Z|^2``); ``functionals[name]`` E g(Z_t, t) (n_saves,) with
    ``functionals_stderr[name]``; ``paths`` (n_saves, n_paths, d) only when asked for; ``method``
    and ``antithetic`` as run."""

    times: np.ndarray
    mean: np.ndarray
    mean_stderr: np.ndarray
    second_moment: np.ndarray
    second_moment_stderr: np.ndarray
    n_paths: int
    n_diverged: int
    seed: object
    norm_sq: np.ndarray = None
    norm_sq_stderr: np.ndarray = None
    paths: np.ndarray | None = None
    functionals: dict = field(default_factory=dict)
    functionals_stderr: dict = field(default_factory=dict)
    method: str = "euler"
    antithetic: bool = False

    def __repr__(self) -> str:
        f = f", functionals={sorted(self.functionals)}" if self.functionals else ""
        return (f"SimulationResult(method={self.method!r}, n_paths={self.n_paths}, n_diverged={self.n_diverged}, "
                f"times={_shape(self.times)}, mean={_shape(self.mean)}, "
                f"second_moment={_shape(self.second_moment)}{f}"
                f"{', paths=' + _shape(self.paths) if self.paths is not None else ''}"
                f"{', antithetic' if self.antithetic else ''})")

    def to_dict(self) -> dict:
        """Plain lists and numbers (JSON-ready); ``paths`` are left out."""
        seed = self.seed if isinstance(self.seed, (int, np.integer)) else repr(self.seed)
        out = {"method": self.method, "antithetic": self.antithetic, "n_paths": self.n_paths,
               "n_diverged": self.n_diverged, "seed": seed}
        for name in ("times", "mean", "mean_stderr", "second_moment", "second_moment_stderr", "norm_sq",
                     "norm_sq_stderr"):
            value = getattr(self, name)
            out[name] = None if value is None else np.asarray(value).tolist()
        out["functionals"] = {k: np.asarray(v).tolist() for k, v in self.functionals.items()}
        out["functionals_stderr"] = {k: np.asarray(v).tolist() for k, v in self.functionals_stderr.items()}
        return out

    def to_pandas(self):
        """One row per saved time: ``time``, ``mean_k``, ``mean_stderr_k``, ``norm_sq``,
        ``norm_sq_stderr`` and, per functional, ``NAME`` and ``NAME_stderr`` (needs pandas)."""
        import pandas as pd

        columns = {"time": self.times}
        for k in range(self.mean.shape[1]):
            columns[f"mean_{k}"] = self.mean[:, k]
            columns[f"mean_stderr_{k}"] = self.mean_stderr[:, k]
        columns["norm_sq"] = self.norm_sq
        columns["norm_sq_stderr"] = self.norm_sq_stderr
        for name, value in self.functionals.items():
            columns[name] = value
            columns[f"{name}_stderr"] = self.functionals_stderr[name]
        return pd.DataFrame(columns)


@dataclass(frozen=True, repr=False)
class LevelsResult:
    """Per-path results of :func:`simulate_levels`: ``dts`` (n_levels,), ``final`` (n_levels, d,
    n_paths) the states at ``t1`` (NaN where diverged), ``functionals[name]`` (n_levels, n_paths),
    ``brownian`` (m, n_paths) :math:`W_{t_1}`, ``diverged`` (n_levels, n_paths) flags, and the
    ``seed``."""

    dts: np.ndarray
    final: np.ndarray
    functionals: dict
    brownian: np.ndarray
    diverged: np.ndarray
    seed: object
    method: str

    def __repr__(self) -> str:
        return (f"LevelsResult(method={self.method!r}, dts={np.round(self.dts, 8).tolist()}, "
                f"final={_shape(self.final)}, functionals={sorted(self.functionals)}, "
                f"diverged per level={self.diverged.sum(axis=1).tolist()})")

    def to_dict(self) -> dict:
        return {"method": self.method, "dts": self.dts.tolist(),
                "n_paths": int(self.final.shape[2]), "n_diverged": self.diverged.sum(axis=1).tolist()}


# ------------------------------------------------------------------------------ parameters
def _numeric_params(derivation, params, skip=()):
    params = dict(params or {})
    values, missing = [], []
    for symbol in derivation.params:
        if symbol in skip:
            continue
        key = symbol.name
        if key in params:
            raw = params.pop(key)
        elif symbol in params:
            raw = params.pop(symbol)
        else:
            missing.append(key)
            continue
        if isinstance(raw, bool) or not isinstance(raw, Real) or not math.isfinite(raw):
            raise ValueError(f"`params` value of {key!r} must be a finite real number; got {raw!r}.")
        values.append(float(raw))
    if missing:
        raise ValueError(f"`params` must give values for {missing} (the SDE's free parameters).")
    if params:
        raise ValueError(f"`params` names {sorted(map(str, params))}, which are not parameters of the SDE.")
    return values


# ------------------------------------------------------------------------------ code generation
def _coefficients(sde):
    """(derivation, drift, diffusion, state, clock, model params) of an SDE or of a Derivation
    with ``drift`` (d x 1) and ``diffusion`` (d x m)."""
    derivation = sde.derivation if hasattr(sde, "derivation") and not isinstance(sde, Derivation) else sde
    if not isinstance(derivation, Derivation):
        raise TypeError(f"`sde` must be a lemmata.analysis.sde.SDE (or a Derivation with drift and "
                        f"diffusion); got {type(sde).__name__}.")
    try:
        drift, diffusion = sp.Matrix(derivation["drift"]), sp.Matrix(derivation["diffusion"])
    except KeyError as exc:
        raise TypeError("`sde` must hold expressions 'drift' and 'diffusion'.") from exc
    state = tuple(derivation.inputs)
    d = len(state)
    if drift.shape != (d, 1):
        raise ValueError(f"the drift must be ({d}, 1); got {drift.shape}.")
    if diffusion.shape[0] != d:
        raise ValueError(f"the diffusion must have {d} rows (one per state); got shape {diffusion.shape}.")
    clock = getattr(derivation, "time", None)
    params = tuple(p for p in derivation.params if p != clock)
    if clock is not None:
        drift, diffusion = drift.xreplace({clock: TIME}), diffusion.xreplace({clock: TIME})
    return derivation, drift, diffusion, state, clock, params


def _levy(diffusion, state):
    """L^{j1} D_{k j2} = sum_l D_{l j1} d_l D_{k j2}, as a d x (m*m) matrix (column j1*m + j2)."""
    d, m = diffusion.shape
    return sp.Matrix(d, m * m, lambda k, c: sp.expand(sum(diffusion[l, c // m] * sp.diff(diffusion[k, c % m], state[l])
                                                            for l in range(d))))


def _commutative(levy, m):
    d = levy.shape[0]
    return all(sp.simplify(levy[k, j1 * m + j2] - levy[k, j2 * m + j1]) == 0
               for k in range(d) for j1 in range(m) for j2 in range(j1 + 1, m))


def _generator_l0(f, drift, diffusion, state):
    r""":math:`L^0f=\partial_tf+\sum_lb_l\partial_lf+\tfrac12\sum_{l,r}(DD^\top)_{lr}\partial_l\partial_rf`."""
    Q = diffusion * diffusion.T
    d = len(state)
    out = sp.diff(f, TIME) + sum(drift[l] * sp.diff(f, state[l]) for l in range(d))
    out += sp.Rational(1, 2) * sum(Q[l, r] * sp.diff(f, state[l], state[r]) for l in range(d) for r in range(d))
    return sp.expand(out)


@dataclass(frozen=True)
class _Plan:
    """What the generated loops need to know about one (SDE, scheme) pair."""

    core: Derivation
    method: str
    d: int
    m: int
    offsets: dict
    zero: frozenset
    time_dependent_diffusion: bool
    n_params: int


def _plan(sde, method, schedule=False) -> _Plan:
    scheme = get_scheme(method)
    derivation, drift, diffusion, state, clock, params = _coefficients(sde)
    d, m = diffusion.shape
    expressions = {"drift": drift, "diffusion": diffusion}
    additive = not any(e.has(*state) for e in diffusion)
    if scheme.name in ("milstein", "weak2"):
        levy = _levy(diffusion, state)
        expressions["levy"] = levy
        if scheme.name == "milstein" and not _commutative(levy, m):
            raise AssumptionError(
                "`method='milstein'` needs commutative noise (L^j1 D_j2 = L^j2 D_j1 for all columns); "
                "this SDE's noise is not commutative, so the scheme would need Levy areas. Use "
                "method='euler' or 'weak2'.")
    if scheme.name == "weak2":
        expressions["l0_drift"] = drift.applyfunc(lambda e: _generator_l0(e, drift, diffusion, state))
        expressions["noise_correction"] = sp.Matrix(d, m, lambda k, j: sp.expand(
            _generator_l0(diffusion[k, j], drift, diffusion, state)
            + sum(diffusion[l, j] * sp.diff(drift[k], state[l]) for l in range(d))))
    if scheme.name == "sra" and not additive:
        raise AssumptionError(
            "`method='sra'` needs additive noise (a diffusion free of the state); this SDE's "
            "diffusion depends on the state. Use method='milstein' or 'weak2'.")
    core = Derivation(derivation.name + "_" + scheme.name, state + (TIME,), params, expressions,
                      source=derivation.source)
    offsets = {name: start for name, _, start, _ in component_layout(core)}
    zero = set()
    for name, matrix in expressions.items():
        for i in range(matrix.rows):
            for j in range(matrix.cols):
                if matrix[i, j] == 0:
                    zero.add((name, i, j))
    return _Plan(core, scheme.name, d, m, offsets, frozenset(zero),
                 any(e.has(TIME) for e in diffusion), len(params))


def _idx(plan, name, i, j=0):
    cols = {"drift": 1, "l0_drift": 1, "diffusion": plan.m, "noise_correction": plan.m, "levy": plan.m * plan.m}[name]
    return plan.offsets[name] + i * cols + j


def _pairs(m):
    return [(j1, j2) for j1 in range(m) for j2 in range(j1 + 1, m)]


def _step_lines(plan, indent, state_var="z"):
    """Lines computing ``n{k}`` from ``{state_var}{k}``, ``tt``, ``h``, ``dw{j}``, ``dz{j}``
    (SRA) and ``sg{q}`` (weak2), for one path."""
    d, m = plan.d, plan.m
    z = [f"{state_var}{k}" for k in range(d)]
    prm = [f"prm[{i}]" for i in range(plan.n_params)]
    call = lambda zs, time: f"core({', '.join(list(zs) + [time] + prm)})"  # noqa: E731
    nz = lambda name, i, j=0: (name, i, j) not in plan.zero  # noqa: E731
    lines = [f"r = {call(z, 'tt')}"]
    if plan.method == "sra":
        if plan.time_dependent_diffusion:
            lines.append(f"g1 = {call(z, 'tt + h')}")
        else:
            lines.append("g1 = r")
        for k in range(d):
            noise = " + ".join(f"g1[{_idx(plan, 'diffusion', k, j)}] * dz{j}" for j in range(m)
                               if nz("diffusion", k, j)) or "0.0"
            lines.append(f"q{k} = {z[k]} + 0.75 * h * r[{_idx(plan, 'drift', k)}] + 1.5 * ({noise}) / h")
        lines.append(f"r2 = {call([f'q{k}' for k in range(d)], 'tt + 0.75 * h')}")
        for k in range(d):
            noise = " + ".join(f"g1[{_idx(plan, 'diffusion', k, j)}] * (dw{j} - dz{j} / h) + "
                               f"r[{_idx(plan, 'diffusion', k, j)}] * dz{j} / h" for j in range(m)
                               if nz("diffusion", k, j)) or "0.0"
            b = _idx(plan, "drift", k)
            lines.append(f"n{k} = {z[k]} + h * (r[{b}] / 3.0 + 2.0 * r2[{b}] / 3.0) + {noise}")
        return [indent + line for line in lines]
    pairs = _pairs(m)
    for k in range(d):
        terms = [f"{z[k]}", f"r[{_idx(plan, 'drift', k)}] * h"]
        if plan.method == "weak2":
            if nz("l0_drift", k):
                terms.append(f"0.5 * r[{_idx(plan, 'l0_drift', k)}] * h * h")
            for j in range(m):
                a, c = nz("diffusion", k, j), nz("noise_correction", k, j)
                if a and c:
                    terms.append(f"(r[{_idx(plan, 'diffusion', k, j)}] + 0.5 * h * "
                                 f"r[{_idx(plan, 'noise_correction', k, j)}]) * dw{j}")
                elif a:
                    terms.append(f"r[{_idx(plan, 'diffusion', k, j)}] * dw{j}")
                elif c:
                    terms.append(f"0.5 * h * r[{_idx(plan, 'noise_correction', k, j)}] * dw{j}")
        else:
            terms += [f"r[{_idx(plan, 'diffusion', k, j)}] * dw{j}" for j in range(m) if nz("diffusion", k, j)]
        if plan.method in ("milstein", "weak2"):
            second = []
            for j1 in range(m):
                for j2 in range(m):
                    if not nz("levy", k, j1 * m + j2):
                        continue
                    if j1 == j2:
                        factor = f"(dw{j1} * dw{j1} - h)"
                    elif plan.method == "milstein":
                        factor = f"dw{j1} * dw{j2}"
                    else:
                        q = pairs.index((min(j1, j2), max(j1, j2)))
                        sign = "+" if j1 < j2 else "-"
                        factor = f"(dw{j1} * dw{j2} {sign} h * sg{q})"
                    second.append(f"r[{_idx(plan, 'levy', k, j1 * m + j2)}] * {factor}")
            if second:
                terms.append("0.5 * (" + " + ".join(second) + ")")
        lines.append(f"n{k} = " + " + ".join(terms))
    return [indent + line for line in lines]


def _functional_source(fderiv):
    """The Numba source of the functionals' scalar core, renamed ``fcore``."""
    source = kernel_source(fderiv, "numba")
    return source.replace("def core(", "def fcore(").replace("import numpy as np\nimport numba\n", "")


def _draw_lines(plan, indent, count="half", scale="sq", hname="h"):
    """Draw this step's increments for paths 0..count-1 (and their antithetic copies)."""
    m = plan.m
    lines = [f"for j in range({m}):",
             f"    for p in range({count}):",
             f"        dw[j, p] = {scale} * rng.standard_normal()"]
    if plan.method == "sra":
        lines += [f"for j in range({m}):",
                  f"    for p in range({count}):",
                  f"        dz[j, p] = 0.5 * {hname} * (dw[j, p] + {scale} * rng.standard_normal() * 0.5773502691896258)"]
    return [indent + line for line in lines]


def _template_simulate(plan, n_func, scheduled=False):
    d, m = plan.d, plan.m
    n_pairs = len(_pairs(m))
    prm_f = ", ".join([f"state[{k}, p]" for k in range(d)] + ["tnow"] + [f"prm[{i}]" for i in range(plan.n_params)])
    lines = [
        "@numba.njit(cache=True, nogil=True, error_model='numpy')",
        "def run_chunk(state, prm, dt, n_steps, save_every, rng, snapshots, fsnap, diverged, blowup, alpha, anti):",
        "    P = state.shape[1]",
        "    half = P // 2 if anti else P",
        f"    dw = np.empty(({m}, P))",
        f"    dz = np.empty(({m}, P))",
        f"    sgn = np.empty(({max(n_pairs, 1)}, P))",
        "    save = 0",
    ]
    if n_func:
        lines += ["    tnow = 0.0", "    for p in range(P):", f"        fv = fcore({prm_f})"]
        lines += [f"        fsnap[0, {i}, p] = fv{'[' + str(i) + ']' if n_func > 1 else ''}" for i in range(n_func)]
    lines += ["    for step in range(n_steps):", "        tt = step * dt"]
    if scheduled:
        lines += ["        s_t = (1.0 + step * dt) ** (-alpha)", "        h = dt * s_t", "        sq = np.sqrt(dt) * s_t"]
    else:
        lines += ["        h = dt", "        sq = np.sqrt(dt)"]
    lines += _draw_lines(plan, "        ")
    if plan.method == "weak2" and n_pairs:
        lines += [f"        for q in range({n_pairs}):",
                  "            for p in range(half):",
                  "                sgn[q, p] = 1.0 if rng.random() < 0.5 else -1.0"]
    lines += ["        if anti:",
              f"            for j in range({m}):",
              "                for p in range(half):",
              "                    dw[j, p + half] = -dw[j, p]",
              "                    dz[j, p + half] = -dz[j, p]",
              f"            for q in range({n_pairs}):",
              "                for p in range(half):",
              "                    sgn[q, p + half] = -sgn[q, p]",
              "        for p in range(P):"]
    lines += [f"            z{k} = state[{k}, p]" for k in range(d)]
    lines += [f"            dw{j} = dw[{j}, p]" for j in range(m)]
    if plan.method == "sra":
        lines += [f"            dz{j} = dz[{j}, p]" for j in range(m)]
    if plan.method == "weak2":
        lines += [f"            sg{q} = sgn[{q}, p]" for q in range(n_pairs)]
    lines += _step_lines(plan, "            ")
    lines += [f"            state[{k}, p] = n{k}" for k in range(d)]
    size = " + ".join(f"state[{k}, p] * state[{k}, p]" for k in range(d))
    lines += ["        if (step & 31) == 31 or (step + 1) % save_every == 0 or step == n_steps - 1:",
              "            for p in range(P):",
              f"                if not diverged[p] and not ({size} <= blowup * blowup):",
              "                    diverged[p] = True",
              "        if (step + 1) % save_every == 0:",
              "            save += 1",
              "            tnow = (step + 1) * dt",
              "            for p in range(P):",
              f"                for k in range({d}):",
              "                    snapshots[save, k, p] = np.nan if diverged[p] else state[k, p]"]
    if n_func:
        lines += ["                if diverged[p]:",
                  f"                    for i in range({n_func}):",
                  "                        fsnap[save, i, p] = np.nan",
                  "                else:",
                  f"                    fv = fcore({prm_f})"]
        lines += [f"                    fsnap[save, {i}, p] = fv{'[' + str(i) + ']' if n_func > 1 else ''}"
                  for i in range(n_func)]
    return "\n".join(lines)


def _template_levels(plan, n_func):
    d, m = plan.d, plan.m
    n_pairs = len(_pairs(m))
    sra = plan.method == "sra"
    lines = [
        "@numba.njit(cache=True, nogil=True, error_model='numpy')",
        "def run_levels(state, prm, hf, n_fine, factors, rng, gout, wout, diverged, blowup, t1):",
        "    L = state.shape[0]",
        "    P = state.shape[2]",
        "    half = P",
        "    sqf = np.sqrt(hf)",
        f"    dw = np.empty(({m}, P))",
        f"    dz = np.empty(({m}, P))",
        f"    dwacc = np.zeros((L, {m}, P))",
        f"    dzacc = np.zeros((L, {m}, P))",
        "    for step in range(n_fine):",
    ]
    lines += _draw_lines(plan, "        ", scale="sqf", hname="hf")
    lines += [f"        for j in range({m}):",
              "            for p in range(P):",
              "                wout[j, p] += dw[j, p]",
              "        for lev in range(L):",
              "            F = factors[lev]"]
    if sra:
        lines += [f"            for j in range({m}):",
                  "                for p in range(P):",
                  "                    dzacc[lev, j, p] += dz[j, p] + hf * dwacc[lev, j, p]"]
    lines += [f"            for j in range({m}):",
              "                for p in range(P):",
              "                    dwacc[lev, j, p] += dw[j, p]",
              "            if (step + 1) % F == 0:",
              "                h = hf * F",
              "                tt = ((step + 1) // F - 1) * h",
              "                for p in range(P):"]
    lines += [f"                    z{k} = state[lev, {k}, p]" for k in range(d)]
    lines += [f"                    dw{j} = dwacc[lev, {j}, p]" for j in range(m)]
    if sra:
        lines += [f"                    dz{j} = dzacc[lev, {j}, p]" for j in range(m)]
    if plan.method == "weak2":
        lines += [f"                    sg{q} = 1.0 if rng.random() < 0.5 else -1.0" for q in range(n_pairs)]
    lines += _step_lines(plan, "                    ")
    lines += [f"                    state[lev, {k}, p] = n{k}" for k in range(d)]
    size = " + ".join(f"state[lev, {k}, p] * state[lev, {k}, p]" for k in range(d))
    lines += [f"                for j in range({m}):",
              "                    for p in range(P):",
              "                        dwacc[lev, j, p] = 0.0",
              "                        dzacc[lev, j, p] = 0.0",
              "                if (((step + 1) // F) & 31) == 31 or step == n_fine - 1:",
              "                    for p in range(P):",
              f"                        if not diverged[lev, p] and not ({size} <= blowup * blowup):",
              "                            diverged[lev, p] = True",
              "    for lev in range(L):",
              "        for p in range(P):",
              "            if diverged[lev, p]:",
              f"                for k in range({d}):",
              "                    state[lev, k, p] = np.nan"]
    if n_func:
        args = ", ".join([f"state[lev, {k}, p]" for k in range(d)] + ["t1"] + [f"prm[{i}]" for i in range(plan.n_params)])
        lines += [f"                for i in range({n_func}):",
                  "                    gout[lev, i, p] = np.nan",
                  "            else:",
                  f"                fv = fcore({args})"]
        lines += [f"                gout[lev, {i}, p] = fv{'[' + str(i) + ']' if n_func > 1 else ''}"
                  for i in range(n_func)]
    return "\n".join(lines)


def _functional_derivation(plan, functionals, clock, model_params, name):
    """Validate ``functionals`` ({name: SymPy expression in the state, the clock and the
    parameters}) and return (names, Derivation or None)."""
    if functionals is None:
        return (), None
    if not isinstance(functionals, dict):
        raise TypeError(f"`functionals` must be a dict {{name: SymPy expression}}; got {type(functionals).__name__}.")
    state = plan.core.inputs[:-1]
    allowed = set(state) | set(model_params)
    names, exprs = [], {}
    for i, (label, expr) in enumerate(functionals.items()):
        if not isinstance(label, str) or not label:
            raise TypeError(f"`functionals` keys must be non-empty strings; got {label!r}.")
        if isinstance(expr, (str, bytes)):
            raise TypeError(f"`functionals[{label!r}]` must be a SymPy expression, not a string; got {expr!r}.")
        try:
            e = sp.sympify(expr, strict=True)
        except sp.SympifyError as exc:
            raise TypeError(f"`functionals[{label!r}]` must be a SymPy expression; got {expr!r}.") from exc
        if not isinstance(e, sp.Expr):
            raise TypeError(f"`functionals[{label!r}]` must be a SymPy expression; got {expr!r}.")
        clocks = {s for s in e.free_symbols if s == clock or (clock is None and s.name == "t" and s not in allowed)}
        unknown = sorted(str(s) for s in e.free_symbols - allowed - clocks)
        if unknown:
            raise LemmataError(f"`functionals[{label!r}]` uses unknown symbols {unknown}; it may use the "
                               f"state {[str(s) for s in state]}, the time t and the SDE's parameters.")
        names.append(label)
        exprs[f"f{i}"] = e.xreplace({c: TIME for c in clocks})
    if not names:
        return (), None
    return tuple(names), Derivation(name + "_functionals", tuple(state) + (TIME,), tuple(model_params), exprs)


def _snapshot_lines(d):
    """Generated code that records the state (NaN for diverged paths) every ``save_every`` steps."""
    return ["        if (step + 1) % save_every == 0:",
            "            save += 1",
            "            for p in range(P):",
            f"                for k in range({d}):",
            "                    snapshots[save, k, p] = np.nan if diverged[p] else state[k, p]"]


def _template_discrete(d, n_noise, n_params):
    z = [f"state[{k}, p]" for k in range(d)]
    args = ", ".join(z + [f"xi[{j}]" for j in range(n_noise)] + [f"prm[{j}]" for j in range(n_params)])
    lines = [
        "@numba.njit(cache=True, nogil=True, error_model='numpy')",
        "def run_chunk(state, prm, dt, n_steps, save_every, rng, snapshots, diverged, blowup):",
        "    P = state.shape[1]",
        f"    xi = np.empty({max(n_noise, 1)})",
        "    save = 0",
        "    for step in range(n_steps):",
        "        for p in range(P):",
        f"            for j in range({n_noise}):",
        "                xi[j] = rng.standard_normal()",
        "            if diverged[p]:",
        "                continue",
        f"            r = core({args})",
    ]
    if d == 1:
        lines.append("            r = (r,)")
    size = " + ".join(f"r[{k}] * r[{k}]" for k in range(d))
    lines += [f"            if not np.isfinite({size}) or {size} > blowup * blowup:",
              "                diverged[p] = True",
              "                continue"]
    lines += [f"            state[{k}, p] = r[{k}]" for k in range(d)]
    lines += _snapshot_lines(d)
    return "\n".join(lines)




# ------------------------------------------------------------------------------ running
def _chunks(n_paths):
    return [(c, lo, min(n_paths, lo + CHUNK)) for c, lo in enumerate(range(0, n_paths, CHUNK))]


class _Progress:
    """A line on stderr each time another tenth of the chunks has finished (``progress=True``)."""

    def __init__(self, total, label, enabled):
        self.total, self.label, self.enabled = total, label, enabled
        self.done, self.shown = 0, 0

    def step(self, count=1):
        if not self.enabled:
            return
        self.done += count
        tenth = (10 * self.done) // self.total
        if tenth > self.shown:
            self.shown = tenth
            print(f"{self.label}: {100 * self.done // self.total}% ({self.done}/{self.total} chunks of "
                  f"{CHUNK} paths)", file=sys.stderr, flush=True)


def _run(module, z0, prm, dt, n_steps, save_every, n_paths, seed, blowup, keep_paths, threads, alpha=None,
         n_func=0, antithetic=False, progress=False, label="simulate", names=(), method="euler"):
    """The compiled loop over path chunks on a thread pool (the GIL is released)."""
    d = z0.shape[0]
    n_saves = n_steps // save_every + 1
    prm = np.asarray(prm, dtype=float)
    bar = _Progress(len(_chunks(n_paths)), label, progress)

    def work(chunk):
        c, lo, hi = chunk
        P = hi - lo
        state = np.repeat(z0[:, None], P, axis=1).astype(float)
        snapshots = np.full((n_saves, d, P), np.nan)
        snapshots[0] = state
        fsnap = np.full((n_saves, max(n_func, 1), P), np.nan)
        diverged = np.zeros(P, dtype=np.bool_)
        rng = np.random.default_rng(child_seed(seed, c))
        if n_func == -1:       # the discrete-algorithm template
            module.run_chunk(state, prm, dt, n_steps, save_every, rng, snapshots, diverged, blowup)
        else:
            module.run_chunk(state, prm, dt, n_steps, save_every, rng, snapshots, fsnap, diverged, blowup,
                             0.0 if alpha is None else alpha, antithetic)
        fsnap = np.ascontiguousarray(fsnap[:, :max(n_func, 0)])
        sums = _chunk_sums(snapshots, fsnap, diverged, bool(antithetic))
        return chunk, snapshots if keep_paths else None, None, diverged, sums

    def batch(chunks):
        # a few chunks per task: the per-task overhead of the pool (and its GIL traffic) would
        # otherwise dominate short runs; each chunk still draws from its own (seed, c) stream
        out = [work(chunk) for chunk in chunks]
        bar.step(len(chunks))
        return out

    chunks = _chunks(n_paths)
    size = max(1, len(chunks) // (8 * threads))
    groups = [chunks[i:i + size] for i in range(0, len(chunks), size)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = (item for group in pool.map(batch, groups) for item in group)
        return _moments(results, n_saves, d, n_paths, dt * save_every, seed, keep_paths, max(n_func, 0),
                        antithetic, names, method)


@numba.njit(cache=True, nogil=True)
def _chunk_sums(snapshots, fsnap, diverged, anti):
    """Per chunk: the number of samples and the sums of the state, its outer products and their
    squares, |Z|^2 and its square, and the functionals and their squares, over the non-diverged
    paths (over antithetic pair averages, dropping pairs with a diverged member, when ``anti``)."""
    S, d, P = snapshots.shape
    F = fsnap.shape[1]
    half = P // 2 if anti else P
    s1 = np.zeros((S, d))
    m2 = np.zeros((S, d))
    s2 = np.zeros((S, d, d))
    s4 = np.zeros((S, d, d))
    n1 = np.zeros(S)
    n2 = np.zeros(S)
    f1 = np.zeros((S, F))
    f2 = np.zeros((S, F))
    v = np.empty(d)
    count = 0
    for p in range(half):
        q = p + half
        if diverged[p] or (anti and diverged[q]):
            continue
        count += 1
        for t in range(S):
            for i in range(d):
                v[i] = 0.5 * (snapshots[t, i, p] + snapshots[t, i, q]) if anti else snapshots[t, i, p]
            norm = 0.0
            for i in range(d):
                s1[t, i] += v[i]
                m2[t, i] += v[i] * v[i]
                for j in range(d):
                    if anti:
                        o = 0.5 * (snapshots[t, i, p] * snapshots[t, j, p] + snapshots[t, i, q] * snapshots[t, j, q])
                    else:
                        o = v[i] * v[j]
                    s2[t, i, j] += o
                    s4[t, i, j] += o * o
                if anti:
                    norm += 0.5 * (snapshots[t, i, p] ** 2 + snapshots[t, i, q] ** 2)
                else:
                    norm += v[i] * v[i]
            n1[t] += norm
            n2[t] += norm * norm
            for k in range(F):
                g = 0.5 * (fsnap[t, k, p] + fsnap[t, k, q]) if anti else fsnap[t, k, p]
                f1[t, k] += g
                f2[t, k] += g * g
    return count, s1, s2, s4, n1, n2, f1, f2, m2


def _stderr(total, total_sq, n):
    mean = total / n
    var = np.maximum(total_sq / n - mean ** 2, 0.0) * n / (n - 1)
    return mean, np.sqrt(var / n)


def _moments(results, n_saves, d, n_paths, save_dt, seed, keep_paths, n_func=0, antithetic=False,
             names=(), method="euler"):
    """Moments with standard errors from per-chunk snapshots (n_saves, d, P), functional values
    (n_saves, n_func, P) and divergence flags, or from their per-chunk sums (:func:`_chunk_sums`,
    computed in the worker threads). With antithetic pairs (p, p + P/2) the samples are the pair
    averages (a pair with a diverged member is left out)."""
    sums = [0, np.zeros((n_saves, d)), np.zeros((n_saves, d, d)), np.zeros((n_saves, d, d)), np.zeros(n_saves),
            np.zeros(n_saves), np.zeros((n_saves, n_func)), np.zeros((n_saves, n_func)), np.zeros((n_saves, d))]
    paths = np.empty((n_saves, n_paths, d)) if keep_paths else None
    n_diverged = 0
    for item in results:
        (c, lo, hi), snapshots, fsnap, diverged = item[:4]
        part = item[4] if len(item) > 4 else _chunk_sums(snapshots, np.ascontiguousarray(fsnap), diverged,
                                                         bool(antithetic))
        n_diverged += int(diverged.sum())
        for i in range(9):
            sums[i] = sums[i] + part[i]
        if keep_paths:
            paths[:, lo:hi, :] = np.transpose(snapshots, (0, 2, 1))
    count = sums[0]
    if count < 2:
        raise LemmataError(f"{n_diverged} of {n_paths} paths diverged: too few left for moments.")
    mean, mean_se = _stderr(sums[1], sums[8], count)
    second, second_se = _stderr(sums[2], sums[3], count)
    norm, norm_se = _stderr(sums[4], sums[5], count)
    functionals, functionals_se = {}, {}
    if n_func:
        f, f_se = _stderr(sums[6], sums[7], count)
        for i, name in enumerate(names):
            functionals[name], functionals_se[name] = f[:, i], f_se[:, i]
    return SimulationResult(np.arange(n_saves) * save_dt, mean, mean_se, second, second_se, n_paths, n_diverged,
                            seed, norm, norm_se, paths, functionals, functionals_se, method, antithetic)


def _real_number(name, value, *, allow_zero):
    if isinstance(value, bool) or not isinstance(value, Real):
        requirement = "non-negative and finite" if allow_zero else "positive and finite"
        raise ValueError(f"`{name}` must be {requirement}; got {value!r}.")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        requirement = "non-negative and finite" if allow_zero else "positive and finite"
        raise ValueError(f"`{name}` must be {requirement}; got {value!r}.")
    return v


def _validate(z0, d, t1, dt, n_paths, save_every):
    """Checked (z0, n_steps, n_paths, save_every, dt); ``dt`` may be any real scalar (NumPy's
    float32 included): the step used is t1 / n_steps, which ``dt`` must match to its precision."""
    try:
        z0 = np.atleast_1d(np.asarray(z0, dtype=float))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`z0` must be an array of numbers; got {z0!r}.") from exc
    if z0.shape != (d,):
        raise ValueError(f"`z0` must have shape ({d},) (one value per state symbol); got {z0.shape}.")
    if not np.all(np.isfinite(z0)):
        raise ValueError(f"`z0` must be finite; got {z0.tolist()}.")
    precision = float(np.finfo(np.asarray(dt).dtype).eps) if isinstance(dt, np.floating) else 1e-15
    dt = _real_number("dt", dt, allow_zero=False)
    t1 = _real_number("t1", t1, allow_zero=True)
    n_paths = positive_int("n_paths", n_paths)
    n_steps = int(round(t1 / dt))
    if abs(n_steps * dt - t1) > max(1e-9, 64 * precision) * max(1.0, t1):
        raise ValueError(f"`t1` must be a whole number of steps `dt`; got t1={t1!r}, dt={dt!r}.")
    if n_steps:
        dt = t1 / n_steps
    save_every = n_steps if save_every is None else positive_int("save_every", save_every)
    if n_steps and n_steps % max(save_every, 1):
        raise ValueError(f"`save_every` must divide the number of steps {n_steps}; got {save_every}.")
    return z0, n_steps, n_paths, max(save_every, 1), dt


def _threads(threads):
    if threads is None:
        return os.cpu_count() or 1
    return positive_int("threads", threads)


def simulate(sde, z0, *, t1: float, dt: float, n_paths: int, seed=0, method: str = "euler",
             backend: str = "numba", save_every: int | None = None, progress: bool = False,
             params=None, keep_paths: bool = False, blowup: float = 1e12,
             threads: int | None = None, schedule: float | None = None, functionals=None,
             antithetic: bool = False) -> SimulationResult:
    r"""Monte Carlo of :math:`dZ=b(Z,t)\,dt+D(Z,t)\,dW` from ``z0`` to ``t1`` with step ``dt``.

    Parameters
    ----------
    sde : lemmata.analysis.sde.SDE (or a Derivation with ``drift`` d x 1 and ``diffusion`` d x m)
    z0 : array-like (d,)
    t1, dt : float
        Horizon and step (any real scalar, NumPy's included); ``t1`` must be a whole number of steps.
    n_paths : int
    seed : int or numpy.random.SeedSequence
    method : {"euler", "milstein", "weak2", "sra"}
        The scheme (module docstring; ``"euler_maruyama"`` is an alias). Milstein needs
        commutative noise and SRA additive noise: otherwise :class:`AssumptionError`.
    params : dict, optional
        Values of the SDE's free parameters (``eta``, ``rho``, ``sigma``, game coefficients); the
        clock of a time-dependent SDE is supplied by the scheme.
    functionals : dict {name: SymPy expression}, optional
        Functionals :math:`g(Z_t,t)` of the state, the time ``t`` (the SDE's clock, or a symbol
        named ``t``) and the parameters, compiled into the same loop and averaged at every saved
        time: ``result.functionals[name]`` (n_saves,) with ``result.functionals_stderr[name]``.
    antithetic : bool
        Pair every path with the one driven by the negated increments; standard errors from the
        pair averages (``n_paths`` must be even).
    save_every : int, optional
        Record moments every this many steps (default: only the start and the end).
    keep_paths : bool
        Also return every path at the saved times.
    threads : int, optional
        Threads over path chunks (default: the CPU count); the numbers do not depend on it.
    backend : {"numba", "numpy", "cupy"}
        ``numba``: the compiled loop; ``numpy``/``cupy``: Euler-Maruyama in array code over all
        paths at once (the GPU path), with the backend's own random numbers.
    progress : bool
        Print a line on stderr each time another tenth of the path chunks has finished.
    schedule : float, optional
        ``alpha`` of the step-size schedule :math:`\eta_t=\eta/(1+t)^\alpha`: the drift is scaled by
        :math:`(1+t)^{-\alpha}` and the diffusion by the same factor (Euler-Maruyama, numba backend).

    Returns
    -------
    SimulationResult

    Raises
    ------
    ValueError
        Bad ``z0``, ``t1``, ``dt``, ``n_paths``, ``params``, ``method`` or ``save_every``.
    AssumptionError
        A scheme that does not apply to this SDE's noise.
    LemmataError
        A functional with unknown symbols; fewer than two paths left after divergence.
    """
    scheme = get_scheme(method)
    backends.get(backend)
    if backend != "numba" and scheme.name != "euler":
        raise ValueError(f"`method` {method!r} is available on the numba backend only.")
    if not isinstance(antithetic, (bool, np.bool_)):
        raise ValueError(f"`antithetic` must be True or False; got {antithetic!r}.")
    plan = _plan(sde, scheme.name)
    derivation, _, _, _, clock, model_params = _coefficients(sde)
    z0, n_steps, n_paths, save_every, dt = _validate(z0, plan.d, t1, dt, n_paths, save_every)
    if antithetic and n_paths % 2:
        raise ValueError(f"`n_paths` must be even with `antithetic=True`; got {n_paths}.")
    prm = _numeric_params(derivation, params, skip=(clock,))
    names, fderiv = _functional_derivation(plan, functionals, clock, model_params, derivation.name)
    blowup = _real_number("blowup", blowup, allow_zero=False)
    if schedule is not None:
        if isinstance(schedule, bool) or not isinstance(schedule, Real) or not (math.isfinite(schedule) and schedule >= 0):
            raise ValueError(f"`schedule` (alpha) must be a non-negative number; got {schedule!r}.")
        if scheme.name != "euler":
            raise ValueError(f"`schedule` is available with method='euler' only; got method={method!r}.")
    if backend != "numba":
        if schedule is not None:
            raise ValueError("`schedule` is available on the numba backend only.")
        if functionals or antithetic:
            raise ValueError("`functionals` and `antithetic` are available on the numba backend only.")
        em = Derivation(derivation.name + "_sde", derivation.inputs,
                        tuple(model_params) + ((TIME,) if clock is not None else ()),
                        {"drift": plan.core["drift"], "diffusion": plan.core["diffusion"]})
        if clock is not None:
            raise ValueError("time-dependent SDEs are simulated on the numba backend only.")
        return _run_array(em, z0, prm, dt, n_steps, save_every, n_paths, seed, blowup, keep_paths, backend)
    template = _template_simulate(plan, len(names), scheduled=schedule is not None)
    if fderiv is not None:
        template = _functional_source(fderiv) + "\n\n" + template
    module = compile_template(plan.core, f"sde_{scheme.name}{'_scheduled' if schedule is not None else ''}", template)
    return _run(module, z0, prm, dt, n_steps, save_every, n_paths, seed, blowup, keep_paths,
                _threads(threads), None if schedule is None else float(schedule), len(names),
                bool(antithetic), progress, names=names, method=scheme.name)


def simulate_levels(sde, z0, *, t1: float, n_steps, n_paths: int, seed=0, method: str = "euler",
                    params=None, functionals=None, blowup: float = 1e12,
                    threads: int | None = None) -> LevelsResult:
    r"""Several step sizes on the same Brownian paths: level ``i`` takes ``n_steps[i]`` steps of
    :math:`t_1/n_i`, and its increments are sums of the finest level's (and, for SRA, its
    :math:`I_{(j,0)}=\sum_i[I^{\rm fine}_{(j,0),i}+h_{\rm fine}(W_{t_i}-W_{t})]`), so the levels'
    differences carry little Monte Carlo noise (common random numbers). Returns every path's final
    state, the functionals :math:`g(Z_{t_1},t_1)` and :math:`W_{t_1}` (for exact path solutions).

    Parameters
    ----------
    n_steps : sequence of int
        Steps per level; every entry must divide the largest.
    (the others as in :func:`simulate`)

    Raises
    ------
    ValueError
        ``n_steps`` empty, non-positive, or not dividing the finest level; the other arguments as in
        :func:`simulate`.
    """
    scheme = get_scheme(method)
    plan = _plan(sde, scheme.name)
    derivation, _, _, _, clock, model_params = _coefficients(sde)
    if isinstance(n_steps, (Integral,)) and not isinstance(n_steps, bool):
        n_steps = [n_steps]
    try:
        levels = [positive_int("n_steps", int(n) if isinstance(n, np.integer) else n) for n in n_steps]
    except TypeError as exc:
        raise ValueError(f"`n_steps` must be a sequence of positive integers; got {n_steps!r}.") from exc
    if not levels:
        raise ValueError("`n_steps` must hold at least one level; got none.")
    finest = max(levels)
    if any(finest % n for n in levels):
        raise ValueError(f"`n_steps` entries must all divide the largest ({finest}); got {levels}.")
    t1 = _real_number("t1", t1, allow_zero=False)
    z0, _, n_paths, _, _ = _validate(z0, plan.d, t1, t1 / finest, n_paths, None)
    prm = np.asarray(_numeric_params(derivation, params, skip=(clock,)), dtype=float)
    names, fderiv = _functional_derivation(plan, functionals, clock, model_params, derivation.name)
    blowup = _real_number("blowup", blowup, allow_zero=False)
    template = _template_levels(plan, len(names))
    if fderiv is not None:
        template = _functional_source(fderiv) + "\n\n" + template
    module = compile_template(plan.core, f"sde_levels_{scheme.name}", template)
    factors = np.array([finest // n for n in levels], dtype=np.int64)
    L, d, m = len(levels), plan.d, plan.m
    hf = t1 / finest

    def work(chunk):
        c, lo, hi = chunk
        P = hi - lo
        state = np.repeat(np.repeat(z0[None, :, None], L, axis=0), P, axis=2).astype(float)
        gout = np.full((L, max(len(names), 1), P), np.nan)
        wout = np.zeros((m, P))
        diverged = np.zeros((L, P), dtype=np.bool_)
        rng = np.random.default_rng(child_seed(seed, c))
        module.run_levels(state, prm, hf, finest, factors, rng, gout, wout, diverged, blowup, t1)
        return state, gout, wout, diverged

    with ThreadPoolExecutor(max_workers=_threads(threads)) as pool:
        parts = list(pool.map(work, _chunks(n_paths)))
    final = np.concatenate([p[0] for p in parts], axis=2)
    gvals = np.concatenate([p[1] for p in parts], axis=2)
    brownian = np.concatenate([p[2] for p in parts], axis=1)
    diverged = np.concatenate([p[3] for p in parts], axis=1)
    return LevelsResult(t1 / np.asarray(levels, dtype=float), final,
                        {n: gvals[:, i, :] for i, n in enumerate(names)}, brownian, diverged, seed, scheme.name)


def _run_array(derivation, z0, prm, dt, n_steps, save_every, n_paths, seed, blowup, keep_paths, backend):
    """Euler-Maruyama in array code (NumPy or CuPy), all paths at once: the GPU path. Its random
    numbers come from the backend's own generator, so they differ from the Numba path's."""
    xp = backends.get(backend).xp
    kernel = compile_kernel(derivation, backend)
    d, m = derivation["drift"].shape[0], derivation["diffusion"].shape[1]
    n_saves = n_steps // save_every + 1
    if backend == "cupy":
        rng = xp.random.default_rng(int(child_seed(seed, 0).generate_state(1)[0]))
    else:
        rng = xp.random.default_rng(child_seed(seed, 0))
    z = [xp.full(n_paths, float(v)) for v in z0]
    bad = xp.zeros(n_paths, dtype=bool)
    snapshots = np.full((n_saves, d, n_paths), np.nan)
    snapshots[0] = np.asarray(z0)[:, None]
    save = 0
    sq = math.sqrt(dt)
    with np.errstate(all="ignore"):
        for step in range(n_steps):
            dw = rng.standard_normal((m, n_paths)) * sq
            out = kernel(*z, *prm)
            b, D = out["drift"], out["diffusion"]
            new = [z[k] + b[:, k, 0] * dt + sum(D[:, k, j] * dw[j] for j in range(m)) for k in range(d)]
            size = sum(v * v for v in new)
            bad = bad | ~xp.isfinite(size) | (size > blowup * blowup)
            z = [xp.where(bad, z[k], new[k]) for k in range(d)]
            if (step + 1) % save_every == 0:
                save += 1
                block = xp.stack([xp.where(bad, xp.nan, v) for v in z])
                snapshots[save] = block.get() if backend == "cupy" else block
    flags = bad.get() if backend == "cupy" else np.asarray(bad)
    return _moments([((0, 0, n_paths), snapshots, np.zeros((n_saves, 0, n_paths)), flags)], n_saves, d,
                    n_paths, dt * save_every, seed, keep_paths)


def simulate_discrete(sde, z0, *, n_steps: int, n_paths: int, seed=0, params=None,
                      save_every: int | None = None, keep_paths: bool = False, blowup: float = 1e12,
                      threads: int | None = None) -> SimulationResult:
    r"""Monte Carlo of the discrete algorithm behind ``sde`` (built by :mod:`lemmata.analysis.sde`):
    :math:`z_{k+1}=z_k+\eta\Delta(z_k,\xi_k)`, :math:`\xi_k\sim N(0,I)`. Saved "times" are
    :math:`k\eta`, the SDE's clock."""
    if getattr(sde, "increment", None) is None:
        raise LemmataError("`sde` does not carry its update rule; build it with lemmata.analysis.sde "
                           "(sgd, sgda, seg, shgd or from_update).")
    d = len(sde.state)
    eta_value = dict(params or {}).get("eta", sde.eta if not isinstance(sde.eta, sp.Symbol) else None)
    if eta_value is None:
        raise ValueError("`params` must give `eta` (the step size of the discrete algorithm).")
    n_steps = positive_int("n_steps", n_steps)
    z0, _, n_paths, save_every, _ = _validate(z0, d, float(n_steps), 1.0, n_paths, save_every)
    update = sp.Matrix(sde.state) + sde.eta * sp.Matrix(sde.increment)
    core = Derivation(sde.name + "_discrete", tuple(sde.state) + tuple(sde.noise), sde.params,
                      {"next": update}, source=sde.source)
    prm = _numeric_params(sde, params)
    module = compile_template(core, "discrete", _template_discrete(d, len(sde.noise), len(prm)))
    result = _run(module, z0, prm, 1.0, n_steps, save_every, n_paths, seed, blowup, keep_paths,
                  _threads(threads), n_func=-1, label="simulate_discrete")
    return dataclasses.replace(result, times=result.times * float(eta_value))


def discrete_moments(sde, z0, *, n_steps: int, params) -> tuple:
    r"""Exact mean and second moment of the discrete algorithm behind ``sde`` when its update is
    linear in the state and the noise, :math:`z^+=Gz+\eta N\xi` (SGDA, SEG, SHGD with additive
    noise on linear games): :math:`m_{k+1}=Gm_k`, :math:`S_{k+1}=GS_kG^\top+\eta^2NN^\top`.
    Returns ``(means, second_moments)`` for k = 0..n_steps."""
    if getattr(sde, "increment", None) is None:
        raise LemmataError("`sde` does not carry its update rule; build it with lemmata.analysis.sde.")
    z = sp.Matrix(sde.state)
    xi = sp.Matrix(sde.noise)
    delta = sp.Matrix(sde.increment)
    A = delta.jacobian(z)
    N = delta.jacobian(xi)
    if any(e.has(*sde.state, *sde.noise) for e in list(A) + list(N)) or \
            (delta - A * z - N * xi).applyfunc(sp.simplify) != sp.zeros(*delta.shape):
        raise LemmataError("the update is not linear in the state and the noise (no exact recursion).")
    values = {s: float(params[s.name]) for s in sde.params if s.name in params}
    missing = [s.name for s in sde.params if s.name not in params]
    if missing:
        raise ValueError(f"`params` must give values for {missing}.")
    eta = float(sde.eta.subs(values)) if isinstance(sde.eta, sp.Basic) else float(sde.eta)
    G = np.eye(len(z)) + eta * np.array(A.subs(values).evalf(), dtype=float)
    Nn = eta * np.array(N.subs(values).evalf(), dtype=float)
    m = np.asarray(z0, dtype=float)
    S = np.outer(m, m)
    means, seconds = [m], [S]
    for _ in range(positive_int("n_steps", n_steps)):
        m = G @ m
        S = G @ S @ G.T + Nn @ Nn.T
        means.append(m)
        seconds.append(S)
    return np.array(means), np.array(seconds)
