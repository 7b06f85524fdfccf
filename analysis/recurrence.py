r"""Second moments of linear recurrences and the curse of memory (arXiv:2405.21064).

Model: :math:`h_{t+1}=\lambda h_t+\gamma x_{t+1}` with a real, wide-sense stationary input of
autocorrelation :math:`R_x(\Delta)`; in stationarity :math:`h_t=\sum_{n\ge0}\lambda^n x_{t-n}`.
Everything here is derived from one object, the stationary kernel

.. math::

    K(a,b;\rho)=\mathbb E[h_t(a)h_t(b)]=\sum_{n,m\ge0}a^nb^m\rho^{|n-m|}
    =\frac{1-\rho^2ab}{(1-ab)(1-\rho a)(1-\rho b)},

which SymPy obtains by summing the double geometric series over :math:`n=m`, :math:`n>m`,
:math:`n<m` (:func:`stationary_kernel`). Moments of normalised or reparametrised states are
obtained by multiplying :math:`K` by :math:`\gamma(a)\gamma(b)` and differentiating *after*
normalising (the brief's pitfall 2); complex eigenvalues use :math:`K(a,\bar b)` (pitfall 4).

References
----------
N. Zucchet and A. Orvieto, "Recurrent neural networks: vanishing and exploding gradients are not
the end of the story", NeurIPS 2024, arXiv:2405.21064.
"""

from __future__ import annotations

import functools

import sympy as sp

from .derivation import Assumption, Derivation
from .parsing import exact_number, parse_expression
from .validation import one_of

__all__ = [
    "SYMBOLS", "NORMALIZATIONS", "PARAMETRIZATIONS", "stationary_kernel", "general_kernel",
    "mixed_kernel", "memory_moments", "leading_term", "complex_sensitivities",
    "teacher_student_loss", "teacher_student_curvature", "gru_moments",
]

SOURCE = "arXiv:2405.21064 (Zucchet & Orvieto)"

a, b = sp.symbols("a b")
rho = sp.Symbol("rho", nonnegative=True)
lam = sp.Symbol("lam", real=True)
nu = sp.Symbol("nu", positive=True)
theta = sp.Symbol("theta", real=True)
eps = sp.Symbol("epsilon", positive=True)
_n, _m, _k = sp.symbols("n m k", integer=True, nonnegative=True)

SYMBOLS = {"a": a, "b": b, "rho": rho, "lam": lam, "nu": nu, "theta": theta}
LATEX_NAMES = {lam: r"\lambda", nu: r"\nu", theta: r"\theta", rho: r"\rho"}

NORMALIZATIONS = ("none", "l2", "l1")
PARAMETRIZATIONS = ("none", "exp", "sigmoid", "optimal")

_STABLE = (Assumption(sp.Abs(lam) < 1, "|lambda| < 1 (a stable recurrence)"),
           Assumption("0 <= rho <= 1", "rho lies in [0, 1]"))


def _geometric_sum(term, var, start):
    """Sum ``term`` over ``var`` from ``start`` to infinity with SymPy and keep the convergent
    branch (SymPy returns a Piecewise whose first piece holds under |ratio| < 1)."""
    total = sp.summation(term, (var, start, sp.oo))
    total = total.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0].expr)
    if total.has(sp.Sum):
        raise ArithmeticError(f"SymPy could not sum {term} over {var}")
    return total


@functools.lru_cache(maxsize=None)
def stationary_kernel() -> sp.Expr:
    r""":math:`K(a,b;\rho)=\sum_{n,m\ge0}a^nb^m\rho^{|n-m|}`, summed in three parts: the diagonal
    :math:`n=m`, and :math:`n=m+k`, :math:`m=n+k` with :math:`k\ge1`."""
    diagonal = _geometric_sum((a * b) ** _m, _m, 0)
    upper = _geometric_sum(_geometric_sum((a * b) ** _m * (a * rho) ** _k, _k, 1), _m, 0)
    lower = _geometric_sum(_geometric_sum((a * b) ** _m * (b * rho) ** _k, _k, 1), _m, 0)
    return sp.factor(sp.cancel(diagonal + upper + lower))


@functools.lru_cache(maxsize=None)
def general_kernel():
    r"""For a general autocorrelation :math:`R`: :math:`\mathbb E[h(a)h(b)]=\frac{1}{1-ab}
    \big(R(0)+\sum_{\Delta\ge1}(a^\Delta+b^\Delta)R(\Delta)\big)`. The sum over the common index
    is done by SymPy; the lag sums stay symbolic. Returns ``(expr, R, Delta)``."""
    R = sp.Function("R")
    delta = sp.Symbol("Delta", integer=True, positive=True)
    common = _geometric_sum((a * b) ** _m, _m, 0)
    expr = common * (R(0) + sp.Sum(a ** delta * R(delta), (delta, 1, sp.oo))
                     + sp.Sum(b ** delta * R(delta), (delta, 1, sp.oo)))
    return expr, R, delta


@functools.lru_cache(maxsize=None)
def mixed_kernel() -> sp.Expr:
    r""":math:`S(a,b;\rho)=\partial_a\partial_bK=\mathbb E[\partial_ah(a)\,\partial_bh(b)]`."""
    return sp.factor(sp.diff(stationary_kernel(), a, b))


def _gamma(x, normalization):
    return {"none": sp.Integer(1), "l2": sp.sqrt(1 - x ** 2), "l1": 1 - x}[normalization]


def _dlam_domega(x, parametrization):
    """d lambda / d omega expressed in lambda itself."""
    return {"none": sp.Integer(1), "exp": x * sp.log(x), "sigmoid": x * (1 - x),
            "optimal": 1 - x ** 2}[parametrization]


@functools.lru_cache(maxsize=None)
def memory_moments(normalization: str = "none", parametrization: str = "none") -> Derivation:
    r"""Stationary moments for real :math:`\lambda` and AR(1) input :math:`R_x=\rho^{|\Delta|}`.

    Expressions
    -----------
    E_h2
        :math:`\mathbb E[(\gamma h)^2]=\gamma(\lambda)^2K(\lambda,\lambda;\rho)`.
    E_dh2
        :math:`\mathbb E[(d_p(\gamma h))^2]=(d\lambda/dp)^2\,\partial_a\partial_b[\gamma(a)\gamma(b)K]_{a=b=\lambda}`,
        the sensitivity w.r.t. :math:`\lambda` or the reparametrised variable :math:`p`.
    E_h2_white, E_dh2_white
        The same at :math:`\rho=0`.
    """
    one_of("normalization", normalization, NORMALIZATIONS)
    one_of("parametrization", parametrization, PARAMETRIZATIONS)
    K = stationary_kernel()
    weighted = _gamma(a, normalization) * _gamma(b, normalization) * K
    at = {a: lam, b: lam}
    E_h2 = sp.factor(sp.simplify(weighted.subs(at)))
    chain = _dlam_domega(lam, parametrization)
    E_dh2 = sp.factor(sp.simplify(sp.diff(weighted, a, b).subs(at) * chain ** 2))
    assumptions = _STABLE
    if parametrization in ("exp", "sigmoid"):
        assumptions += (Assumption("0 < lam < 1", "lambda in (0, 1) for this parametrisation"),)
    return Derivation(
        "memory", (lam,), (rho,),
        {"E_h2": E_h2, "E_dh2": E_dh2,
         "E_h2_white": sp.factor(E_h2.subs(rho, 0)), "E_dh2_white": sp.factor(E_dh2.subs(rho, 0))},
        assumptions,
        source=f"{SOURCE}: variance and sensitivity, normalization={normalization}, "
               f"parametrization={parametrization} (derived from K)")


def leading_term(expr, at=1):
    r"""Leading behaviour of ``expr`` as :math:`\lambda\to` ``at`` from below: with
    :math:`\lambda=at-\epsilon`, returns ``(c, p)`` such that ``expr ~ c * epsilon**p``."""
    if isinstance(expr, str):
        expr = parse_expression(expr, name="expr", symbols={**SYMBOLS, "epsilon": eps})
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"`expr` must be a SymPy expression in lam; got {type(expr).__name__}.")
    at = exact_number(at, name="at")
    shifted = sp.simplify(expr.subs(lam, at - eps))
    term = sp.simplify(shifted.as_leading_term(eps))
    coefficient, power = term.as_coeff_exponent(eps)
    if coefficient.has(eps):
        raise ArithmeticError(f"cannot split the leading term {term} into c * epsilon**p")
    return sp.simplify(coefficient), sp.simplify(power)


@functools.lru_cache(maxsize=None)
def complex_sensitivities(normalization: str = "l2", parametrization: str = "none") -> Derivation:
    r"""Complex :math:`\lambda=\nu e^{i\theta}`, :math:`\gamma=\gamma(\nu)`, AR(1) input.

    :math:`\mathbb E[\gamma_1h(\lambda_1)\,\overline{\gamma_2h(\lambda_2)}]=\gamma_1\gamma_2K(\lambda_1,\bar\lambda_2)`,
    so :math:`\mathbb E|d_\nu(\gamma h)|^2=\partial_{\nu_1}\partial_{\nu_2}[\gamma(\nu_1)\gamma(\nu_2)
    K(\nu_1e^{i\theta},\nu_2e^{-i\theta})]` at :math:`\nu_1=\nu_2=\nu`, and likewise for
    :math:`\theta`. ``optimal`` multiplies by :math:`(1-\nu^2)^2` and
    :math:`((1-\nu^2)/(\nu\sqrt{1+\nu^2}))^2`; ``exp`` by :math:`(\nu\log\nu)^2` and :math:`\theta^2`.
    """
    one_of("normalization", normalization, ("none", "l2"))
    one_of("parametrization", parametrization, ("none", "exp", "optimal"))
    K = stationary_kernel()
    # z stands for e^{i theta} (so conj(z) = 1/z): everything stays a rational function, which
    # SymPy differentiates and cancels quickly; e^{i theta} is put back at the end.
    z = sp.Symbol("z")
    n1, n2 = sp.symbols("nu_1 nu_2", positive=True)
    g = lambda x: _gamma(x, normalization)  # noqa: E731
    moment_nu = g(n1) * g(n2) * K.subs({a: n1 * z, b: n2 / z}, simultaneous=True)
    d_nu = sp.diff(moment_nu, n1, n2).subs({n1: nu, n2: nu})
    # d/d theta_1 of a = nu e^{i theta_1} is i a; d/d theta_2 of b = nu e^{-i theta_2} is -i b
    d_theta = g(nu) ** 2 * (a * b * sp.diff(K, a, b)).subs({a: nu * z, b: nu / z}, simultaneous=True)
    power = g(nu) ** 2 * K.subs({a: nu * z, b: nu / z}, simultaneous=True)
    chain_nu = {"none": 1, "exp": nu * sp.log(nu), "optimal": 1 - nu ** 2}[parametrization]
    chain_theta = {"none": 1, "exp": theta, "optimal": (1 - nu ** 2) / (nu * sp.sqrt(1 + nu ** 2))}[parametrization]

    def finish(e):
        return sp.factor(sp.cancel(e)).subs(z, sp.exp(sp.I * theta))

    exprs = {"E_abs_h2": finish(power), "E_abs_dnu2": finish(d_nu) * chain_nu ** 2,
             "E_abs_dtheta2": finish(d_theta) * chain_theta ** 2}
    for key in list(exprs):
        exprs[key + "_white"] = sp.factor(sp.simplify(exprs[key].subs(rho, 0)))
    return Derivation(
        "complex_sensitivities", (nu, theta), (rho,), exprs,
        (Assumption("0 < nu < 1", "|lambda| = nu < 1"), Assumption("0 <= rho <= 1", "rho in [0, 1]")),
        source=f"{SOURCE}: magnitude and angle sensitivities (derived; the general-rho forms are "
               f"real but written with e^(i theta))")


@functools.lru_cache(maxsize=None)
def teacher_student_loss() -> Derivation:
    r""":math:`L(\lambda)=\tfrac12\mathbb E|h_t(\lambda)-h_t(\lambda^*)|^2` for iid input of mean
    :math:`\mu` and variance :math:`\sigma^2` (:math:`R(0)=\sigma^2+\mu^2`,
    :math:`R(\Delta\ge1)=\mu^2`), expanded with the general kernel, real or complex
    :math:`\lambda=x+iy`, :math:`\lambda^*=x^*+iy^*`."""
    x, y, xs, ys = sp.symbols("x y x_star y_star", real=True)
    mu = sp.Symbol("mu", real=True)
    s = sp.Symbol("sigma", positive=True)
    expr, R, delta = general_kernel()
    iid = expr.replace(R, sp.Lambda(sp.Symbol("d"), sp.Piecewise((s ** 2 + mu ** 2, sp.Eq(sp.Symbol("d"), 0)),
                                                                  (mu ** 2, True))))
    iid = iid.doit()
    iid = sp.simplify(iid.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0].expr))
    lam1, lam2 = x + sp.I * y, xs + sp.I * ys

    def k(u, v):
        return iid.subs({a: u, b: v}, simultaneous=True)

    loss = sp.Rational(1, 2) * (k(lam1, sp.conjugate(lam1)) + k(lam2, sp.conjugate(lam2))
                                - k(lam1, sp.conjugate(lam2)) - k(lam2, sp.conjugate(lam1)))
    return Derivation("teacher_student_loss", (x, y), (xs, ys, mu, s), {"loss": loss},
                      source=f"{SOURCE}: 1-D teacher-student loss (derived)")


@functools.lru_cache(maxsize=None)
def teacher_student_curvature() -> Derivation:
    r"""Curvature of the teacher--student loss at the optimum, :math:`\mu=0`, :math:`\sigma=1`,
    teacher :math:`\lambda^*=re^{i\theta^*}`: ``radial`` :math:`=\partial_r^2L` and ``angular``
    :math:`=\partial_\theta^2L`, both at :math:`\lambda=\lambda^*`; the closed forms are
    :math:`(1+r^2)/(1-r^2)^3` and :math:`r^2(1+r^2)/(1-r^2)^3`."""
    d = teacher_student_loss()
    x, y, xs, ys, mu, s = d.symbols
    r, th, ths = sp.symbols("r theta theta_star", positive=True)
    loss = d["loss"].subs({mu: 0, s: 1})
    polar = loss.subs({x: r * sp.cos(th), y: r * sp.sin(th), xs: sp.Symbol("r_star") * sp.cos(ths),
                       ys: sp.Symbol("r_star") * sp.sin(ths)}, simultaneous=True)
    r_star = sp.Symbol("r_star")
    at = {r: r_star, th: ths}
    radial = sp.simplify(sp.diff(polar, r, 2).subs(at).subs(ths, 0))
    angular = sp.simplify(sp.diff(polar, th, 2).subs(at))
    rs = sp.Symbol("r", positive=True)
    return Derivation("teacher_student_curvature", (rs,), (),
                      {"radial": sp.factor(sp.simplify(radial.subs(r_star, rs))),
                       "angular": sp.factor(sp.simplify(angular.subs(r_star, rs)))},
                      (Assumption("0 < r < 1", "the teacher is stable, 0 < r < 1"),),
                      source=f"{SOURCE}: curvature of the 1-D teacher-student loss (derived)")


@functools.lru_cache(maxsize=None)
def gru_moments() -> Derivation:
    r"""GRU-like cell :math:`h_t=\lambda h_{t-1}+(1-\lambda)x_t` (L1 normalisation):
    :math:`\mathbb E[h^2]` and :math:`\mathbb E[(d_\lambda h)^2]`."""
    d = memory_moments("l1", "none")
    return Derivation("gru_moments", (lam,), (rho,), {"E_h2": d["E_h2"], "E_dh2": d["E_dh2"]},
                      _STABLE, source=f"{SOURCE}: GRU-like cell (derived)")
