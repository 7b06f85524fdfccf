r"""Test problems for SDE solvers: textbook SDEs with known solutions, each with its provenance.

Every :class:`SDEProblem` holds an Ito SDE (:meth:`lemmata.analysis.sde.SDE.from_coefficients`),
an initial value, a horizon and parameter values, the kind of its noise, and what is known exactly:

- ``solution``: the path solution as a function of the time and the Brownian motion at that
  time, :math:`Z_t=\Phi(t,W_t)` (None when the solution needs the whole path, e.g. the
  Ornstein-Uhlenbeck process); evaluated by :meth:`SDEProblem.exact_path`;
- ``expectations``: test functions :math:`g` of the state with :math:`\mathbb E\,g(Z_t)` in closed
  form (or by a stated high-precision method), evaluated by :meth:`SDEProblem.expectation`.

The registry :data:`PROBLEMS` (see :func:`get_problem`):

======================  ==================  =========  ==========================================
name                    noise               solution   source
======================  ==================  =========  ==========================================
``gbm``                 scalar, linear      yes        K&P Sec. 4.4
``ou``                  additive            no         Ornstein-Uhlenbeck; K&P Sec. 4.4
``cir``                 scalar, sqrt        no         Cox, Ingersoll, Ross (1985)
``kp_sinh``             scalar, nonlinear   yes        K&P Sec. 4.4 (reducible SDEs)
``kp_tanh``             scalar, nonlinear   yes        K&P Sec. 4.4 (reducible SDEs)
``kp_additive_time``    additive, t-dep.    yes        K&P Sec. 4.4 (linear, narrow sense)
``linear2d``            2 x 2, non-comm.    no         linear SDE; moments by Ito's formula
``langevin_sin``        additive            no         overdamped Langevin, potential -cos x
======================  ==================  =========  ==========================================

References
----------
P. E. Kloeden, E. Platen, *Numerical Solution of Stochastic Differential Equations*, Springer
1992 (K&P), Sec. 4.4 "Explicitly solvable SDEs". J. C. Cox, J. E. Ingersoll, S. A. Ross, "A
theory of the term structure of interest rates", Econometrica 53 (1985).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import mpmath
import numpy as np
import sympy as sp

from lemmata.analysis.errors import LemmataError
from lemmata.analysis.sde import SDE, moment_equations

__all__ = ["SDEProblem", "Expectation", "PROBLEMS", "get_problem", "problem_names"]

t = sp.Symbol("t", nonnegative=True)


@dataclass(frozen=True)
class Expectation:
    """A test function ``g`` (SymPy, in the state) with :math:`\\mathbb E\\,g(Z_t)` known:
    ``closed_form`` (SymPy in ``t``, the parameters and ``X0_k``) or ``evaluate(t, values, z0)``
    (an mpmath computation), and where it comes from."""

    g: sp.Expr
    closed_form: sp.Expr | None = None
    evaluate: Callable | None = None
    provenance: str = ""


@dataclass(frozen=True)
class SDEProblem:
    """A test SDE with its initial value ``z0``, horizon ``t1``, parameter values ``params``,
    ``noise`` kind (``"additive"``, ``"scalar"``, ``"commutative"``, ``"non-commutative"``), path
    ``solution`` :math:`\\Phi(t, W)` in the symbols ``brownian`` (or None), ``expectations`` and
    ``source``."""

    name: str
    sde: SDE
    z0: tuple
    t1: float
    params: Mapping
    noise: str
    source: str
    solution: sp.Matrix | None = None
    brownian: tuple = ()
    initial: tuple = ()
    expectations: Mapping = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"SDEProblem({self.name!r}, d={len(self.z0)}, m={self.sde.noise_dim}, noise={self.noise!r}, "
                f"solution={'yes' if self.solution is not None else 'no'}, "
                f"expectations={sorted(self.expectations)})")

    def to_dict(self) -> dict:
        return {"name": self.name, "z0": list(self.z0), "t1": self.t1, "params": dict(self.params),
                "noise": self.noise, "source": self.source,
                "drift": [str(e) for e in self.sde.drift], "diffusion": str(self.sde.diffusion.tolist()),
                "solution": None if self.solution is None else [str(e) for e in self.solution],
                "expectations": {k: str(v.g) for k, v in self.expectations.items()}}

    def _values(self, params=None, z0=None) -> dict:
        values = dict(self.params)
        values.update(params or {})
        symbols = {s.name: s for s in self.sde.model_params}
        unknown = sorted(set(values) - set(symbols))
        if unknown:
            raise LemmataError(f"`params` names {unknown}, which are not parameters of {self.name!r}.")
        z0 = self.z0 if z0 is None else tuple(float(v) for v in np.atleast_1d(z0))
        if len(z0) != len(self.z0):
            raise ValueError(f"`z0` must have {len(self.z0)} entries; got {len(z0)}.")
        mapping = {symbols[k]: sp.Rational(float(v)) for k, v in values.items()}
        mapping.update({s: sp.Rational(v) for s, v in zip(self.initial, z0)})
        return mapping

    def expectation(self, name: str, t1: float | None = None, *, params=None, z0=None,
                    dps: int = 30) -> float:
        """:math:`\\mathbb E\\,g(Z_{t_1})` for the test function ``name`` (default horizon
        ``self.t1``), computed at ``dps`` digits and rounded to a float."""
        if name not in self.expectations:
            raise LemmataError(f"`name` must be one of {sorted(self.expectations)} for problem "
                               f"{self.name!r}; got {name!r}.")
        e = self.expectations[name]
        tt = self.t1 if t1 is None else float(t1)
        if not (np.isfinite(tt) and tt >= 0):
            raise ValueError(f"`t1` must be non-negative and finite; got {t1!r}.")
        values = self._values(params, z0)
        with mpmath.workdps(dps):
            if e.closed_form is not None:
                return float(sp.N(e.closed_form.xreplace({**values, t: sp.Rational(tt)}), dps))
            return float(e.evaluate(mpmath.mpf(tt), values, self))

    def exact_path(self, times, W, *, params=None, z0=None) -> np.ndarray:
        """:math:`Z_t=\\Phi(t,W_t)` on arrays: ``W`` of shape (..., m), ``times`` broadcastable
        to ``W[..., 0]``; returns (..., d). Raises for problems without a path solution."""
        if self.solution is None:
            raise LemmataError(f"problem {self.name!r} has no path solution as a function of W_t.")
        values = self._values(params, z0)
        expr = self.solution.xreplace(values)
        fn = sp.lambdify((t, *self.brownian), list(expr), modules="numpy")
        W = np.asarray(W, dtype=float)
        if W.shape[-1] != len(self.brownian):
            raise ValueError(f"`W` must have {len(self.brownian)} entries on its last axis; got {W.shape}.")
        times = np.broadcast_to(np.asarray(times, dtype=float), W.shape[:-1])
        out = fn(times, *[W[..., j] for j in range(W.shape[-1])])
        return np.stack([np.broadcast_to(np.asarray(o, dtype=float), W.shape[:-1]) for o in out], axis=-1)


def _real(names):
    return sp.symbols(names, real=True)


def _gbm():
    x, mu, s, X0 = _real("x mu s X0")
    W = sp.Symbol("W_1", real=True)
    sde = SDE.from_coefficients([mu * x], [[s * x]], x, params=(mu, s), name="gbm",
                                source="geometric Brownian motion, K&P Sec. 4.4")
    return SDEProblem(
        "gbm", sde, (1.0,), 1.0, {"mu": 1.0, "s": 0.5}, "scalar",
        "geometric Brownian motion dX = mu X dt + s X dW; X_t = X0 exp((mu - s^2/2) t + s W_t) "
        "(Kloeden & Platen 1992, Sec. 4.4; Ito's formula)",
        sp.Matrix([X0 * sp.exp((mu - s ** 2 / 2) * t + s * W)]), (W,), (X0,),
        {"x": Expectation(x, X0 * sp.exp(mu * t), provenance="E X_t = X0 e^{mu t}"),
         "x2": Expectation(x ** 2, X0 ** 2 * sp.exp((2 * mu + s ** 2) * t),
                           provenance="E X_t^2 = X0^2 e^{(2 mu + s^2) t} (lognormal moments)")})


def _ou():
    x, theta, m, s, X0 = _real("x theta m s X0")
    sde = SDE.from_coefficients([theta * (m - x)], [[s]], x, params=(theta, m, s), name="ou",
                                source="Ornstein-Uhlenbeck process")
    mean = m + (X0 - m) * sp.exp(-theta * t)
    var = s ** 2 / (2 * theta) * (1 - sp.exp(-2 * theta * t))
    return SDEProblem(
        "ou", sde, (1.5,), 1.0, {"theta": 2.0, "m": 0.5, "s": 0.8}, "additive",
        "Ornstein-Uhlenbeck dX = theta (m - X) dt + s dW; Gaussian with mean m + (X0 - m) e^{-theta t} "
        "and variance s^2 (1 - e^{-2 theta t}) / (2 theta) (K&P Sec. 4.4, linear SDEs)",
        None, (), (X0,),
        {"x": Expectation(x, mean, provenance="Gaussian mean"),
         "x2": Expectation(x ** 2, mean ** 2 + var, provenance="mean^2 + variance"),
         "cos": Expectation(sp.cos(x), sp.cos(mean) * sp.exp(-var / 2),
                            provenance="E cos N(m, v) = cos(m) e^{-v/2}")})


def _cir():
    x, k, th, s, X0 = _real("x kappa theta s X0")
    sde = SDE.from_coefficients([k * (th - x)], [[s * sp.sqrt(x)]], x, params=(k, th, s), name="cir",
                                source="Cox-Ingersoll-Ross process")
    e = sp.exp(-k * t)
    mean = th + (X0 - th) * e
    var = X0 * s ** 2 / k * (e - e ** 2) + th * s ** 2 / (2 * k) * (1 - e) ** 2
    return SDEProblem(
        "cir", sde, (1.0,), 1.0, {"kappa": 2.0, "theta": 1.0, "s": 0.5}, "scalar",
        "Cox-Ingersoll-Ross dX = kappa (theta - X) dt + s sqrt(X) dW, far from zero (2 kappa theta = 4 "
        ">> s^2 = 0.25, X0 = theta); mean and variance from the linear moment ODEs of Cox, Ingersoll, "
        "Ross (1985). A path that goes negative makes sqrt(X) NaN and is counted as diverged.",
        None, (), (X0,),
        {"x": Expectation(x, mean, provenance="d/dt E X = kappa (theta - E X)"),
         "x2": Expectation(x ** 2, mean ** 2 + var, provenance="mean^2 + variance (CIR 1985)")})


def _kp_sinh():
    x, X0 = _real("x X0")
    W = sp.Symbol("W_1", real=True)
    sde = SDE.from_coefficients([x / 2], [[sp.sqrt(1 + x ** 2)]], x, name="kp_sinh",
                                source="K&P Sec. 4.4: X = sinh(W + asinh X0)")
    c = sp.asinh(X0)
    return SDEProblem(
        "kp_sinh", sde, (0.5,), 1.0, {}, "scalar",
        "dX = X/2 dt + sqrt(1 + X^2) dW with X_t = sinh(W_t + asinh X0) (Kloeden & Platen 1992, "
        "Sec. 4.4, reducible SDEs; Ito's formula)",
        sp.Matrix([sp.sinh(W + c)]), (W,), (X0,),
        {"x": Expectation(x, sp.sinh(c) * sp.exp(t / 2), provenance="E sinh(W + c) = sinh(c) e^{t/2}"),
         "x2": Expectation(x ** 2, (sp.cosh(2 * c) * sp.exp(2 * t) - 1) / 2,
                           provenance="E sinh^2(W + c) = (cosh(2c) e^{2t} - 1)/2")})


def _gauss_expect(fn):
    """E fn(sqrt(t) xi), xi ~ N(0, 1), by mpmath quadrature at the working precision."""
    def evaluate(tt, values, problem):
        f = fn(values)
        sq = mpmath.sqrt(tt)
        return mpmath.quad(lambda u: f(sq * u) * mpmath.exp(-u * u / 2), [-mpmath.inf, 0, mpmath.inf]) \
            / mpmath.sqrt(2 * mpmath.pi)
    return evaluate


def _kp_tanh():
    x, a, X0 = _real("x a X0")
    W = sp.Symbol("W_1", real=True)
    sde = SDE.from_coefficients([-a ** 2 * x * (1 - x ** 2)], [[a * (1 - x ** 2)]], x, params=(a,),
                                name="kp_tanh", source="K&P Sec. 4.4: X = tanh(a W + atanh X0)")

    def tanh_moment(power):
        return _gauss_expect(lambda v: (lambda w: mpmath.tanh(mpmath.mpf(v[a]) * w
                                                              + mpmath.atanh(mpmath.mpf(v[X0]))) ** power))
    return SDEProblem(
        "kp_tanh", sde, (0.2,), 1.0, {"a": 1.0}, "scalar",
        "dX = -a^2 X (1 - X^2) dt + a (1 - X^2) dW with X_t = tanh(a W_t + atanh X0) (Kloeden & Platen "
        "1992, Sec. 4.4, reducible SDEs; Ito's formula); E g by Gaussian quadrature (mpmath, 30 digits)",
        sp.Matrix([sp.tanh(a * W + sp.atanh(X0))]), (W,), (X0,),
        {"x": Expectation(x, evaluate=tanh_moment(1), provenance="mpmath quadrature of E tanh(a W + c)"),
         "x2": Expectation(x ** 2, evaluate=tanh_moment(2), provenance="mpmath quadrature of E tanh^2")})


def _kp_additive_time():
    x, X0 = _real("x X0")
    W = sp.Symbol("W_1", real=True)
    sde = SDE.from_coefficients([-x / (1 + t)], [[1 / (1 + t)]], x, name="kp_additive_time", time=t,
                                source="K&P Sec. 4.4: X = (X0 + W)/(1 + t)")
    return SDEProblem(
        "kp_additive_time", sde, (1.0,), 1.0, {}, "additive",
        "dX = -X/(1 + t) dt + dW/(1 + t) with X_t = (X0 + W_t)/(1 + t) (Kloeden & Platen 1992, Sec. 4.4, "
        "linear SDEs in the narrow sense; Ito's formula)",
        sp.Matrix([(X0 + W) / (1 + t)]), (W,), (X0,),
        {"x": Expectation(x, X0 / (1 + t), provenance="E X_t = X0/(1 + t)"),
         "x2": Expectation(x ** 2, (X0 ** 2 + t) / (1 + t) ** 2, provenance="(X0^2 + t)/(1 + t)^2")})


def _linear2d():
    x1, x2, X01, X02, a, s = _real("x1 x2 X0_1 X0_2 a s")
    A = sp.Matrix([[-a, sp.Rational(1, 2)], [-sp.Rational(1, 2), -a]])
    B1 = s * sp.Matrix([[1, 0], [0, -1]])
    B2 = s * sp.Matrix([[0, 1], [1, 0]])
    z = sp.Matrix([x1, x2])
    D = sp.Matrix.hstack(B1 * z, B2 * z)
    sde = SDE.from_coefficients(A * z, D, (x1, x2), params=(a, s), name="linear2d",
                                source="linear SDE with non-commuting B1, B2")
    G = moment_equations(sde)["generator"]

    def moment(weights):
        # E g = w . (1, m, vec S) at time t from the exact exponential e^{G t} of the moment system
        def evaluate(tt, values, problem):
            Gn = mpmath.matrix([[mpmath.mpf(sp.N(e.xreplace(values), mpmath.mp.dps)) for e in G.row(i)]
                                for i in range(G.rows)])
            x0 = [mpmath.mpf(sp.N(values[X01], 40)), mpmath.mpf(sp.N(values[X02], 40))]
            v0 = mpmath.matrix([1, x0[0], x0[1]] + [x0[i] * x0[j] for i in range(2) for j in range(2)])
            v = mpmath.expm(Gn * tt) * v0
            return sum(mpmath.mpf(w) * v[i] for i, w in enumerate(weights) if w)
        return evaluate
    return SDEProblem(
        "linear2d", sde, (1.0, 0.5), 1.0, {"a": 0.5, "s": 0.4}, "non-commutative",
        "dZ = A Z dt + B1 Z dW1 + B2 Z dW2, A = [[-a, 1/2], [-1/2, -a]], B1 = s diag(1, -1), "
        "B2 = s [[0, 1], [1, 0]] (B1 B2 != B2 B1: non-commutative noise); E Z and E Z Z^T from the "
        "closed linear moment system (Ito's formula, lemmata.analysis.sde.moment_equations) by mpmath's "
        "matrix exponential at 30 digits",
        None, (), (X01, X02),
        {"x1": Expectation(x1, evaluate=moment([0, 1, 0, 0, 0, 0, 0]), provenance="e^{Gt}, mean"),
         "norm2": Expectation(x1 ** 2 + x2 ** 2, evaluate=moment([0, 0, 0, 1, 0, 0, 1]),
                              provenance="e^{Gt}, trace of E Z Z^T"),
         "x1x2": Expectation(x1 * x2, evaluate=moment([0, 0, 0, 0, 1, 0, 0]), provenance="e^{Gt}, S_12")})


def _langevin_sin():
    x, s = _real("x s")
    sde = SDE.from_coefficients([-sp.sin(x)], [[s]], x, params=(s,), name="langevin_sin",
                                source="overdamped Langevin dynamics in the potential -cos x")
    return SDEProblem(
        "langevin_sin", sde, (1.0,), 1.0, {"s": 1.0}, "additive",
        "dX = -sin(X) dt + s dW: overdamped Langevin dynamics in the periodic potential -cos x, additive "
        "noise with a non-linear drift (so the strong-order-1.5 terms of SRA schemes are exercised); no "
        "closed-form solution: the reference is a fine level on the same Brownian path",
        None, (), (sp.Symbol("X0", real=True),), {})


_BUILDERS = {"gbm": _gbm, "ou": _ou, "cir": _cir, "kp_sinh": _kp_sinh, "kp_tanh": _kp_tanh,
             "kp_additive_time": _kp_additive_time, "linear2d": _linear2d,
             "langevin_sin": _langevin_sin}
_CACHE: dict = {}


def problem_names() -> tuple:
    """The names of the registered problems."""
    return tuple(_BUILDERS)


def get_problem(name: str) -> SDEProblem:
    """The registered problem ``name`` (built once per process)."""
    if name not in _BUILDERS:
        raise LemmataError(f"`name` must be one of {sorted(_BUILDERS)}; got {name!r}.")
    if name not in _CACHE:
        _CACHE[name] = _BUILDERS[name]()
    return _CACHE[name]


class _Registry(Mapping):
    """Read-only mapping name -> :class:`SDEProblem`, built lazily."""

    def __getitem__(self, name):
        return get_problem(name)

    def __iter__(self):
        return iter(_BUILDERS)

    def __len__(self):
        return len(_BUILDERS)


#: every registered problem, by name
PROBLEMS = _Registry()
