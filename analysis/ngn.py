r"""Closed forms of the NGN (non-negative Gauss--Newton) stepsize, arXiv:2407.04358.

For a non-negative loss :math:`f` write :math:`r=\sqrt f`, so :math:`\nabla r=\nabla f/(2\sqrt f)`.
NGN takes the Levenberg--Marquardt step on the residual :math:`r`,

.. math::

    p = \arg\min_p\ \big(r + \nabla r^\top p\big)^2 + \tfrac{1}{2\sigma}\|p\|^2 ,

whose normal equations :math:`(2\nabla r\nabla r^\top + \sigma^{-1} I)\,p = -2 r\nabla r` give,
by Sherman--Morrison,

.. math::

    p = -\gamma\,\nabla f, \qquad
    \gamma = \frac{\sigma}{1 + \frac{\sigma}{2f}\|\nabla f\|^2}
           = \frac{2 f \sigma}{2 f + \sigma \|\nabla f\|^2}.

For :math:`L`-smooth :math:`f\ge 0`, :math:`\|\nabla f\|^2 \le 2 L f`, hence
:math:`\sigma/(1+\sigma L) \le \gamma \le \sigma`.

Every closed form here is *derived* by SymPy from the definitions (never typed in), so the
derivations double as proofs by computer algebra; the theorem checks compare them with the
optimisers of :mod:`lemmata.numerics.optim` on real trajectories.

References
----------
A. Orvieto and L. Xiao, "An Adaptive Stochastic Gradient Method with Non-negative Gauss-Newton
Stepsizes", arXiv:2407.04358, 2024.
"""

from __future__ import annotations

import functools

import sympy as sp

from .derivation import Assumption, Derivation
from .validation import one_of, positive_int

__all__ = [
    "SYMBOLS",
    "CONVENTIONS",
    "lm_objective",
    "lm_subproblem_step",
    "derive_ngn",
    "ngn_stepsize",
    "ngn_stepsize_bounds",
    "ngn_identities",
    "ngn_decomposition",
    "ngn_key_inequality",
    "ngn_convex_bound",
    "ngn_decreasing_bound",
    "ngn_quadratic_contraction",
    "ngn_least_squares_stepsize",
    "ngn_offset_quadratic",
]

SOURCE = "arXiv:2407.04358 (Orvieto & Xiao), NGN"

f = sp.Symbol("f", nonnegative=True)
grad_sq_norm = sp.Symbol("grad_sq_norm", nonnegative=True)
sigma = sp.Symbol("sigma", positive=True)
L = sp.Symbol("L", positive=True)

#: The shared symbols, so that users can build points by name.
SYMBOLS = {"f": f, "grad_sq_norm": grad_sq_norm, "sigma": sigma, "L": L}

#: LM-subproblem conventions: the weight in front of the squared linearised residual.
#: ``"paper"``: ``(r + grad r . p)^2 + |p|^2/(2 sigma)``; ``"half"``: ``1/2 (...)^2 + |p|^2/(2 sigma)``,
#: which yields NGN with sigma/2.
CONVENTIONS = {"paper": sp.Integer(1), "half": sp.Rational(1, 2)}

_POSITIVE = (Assumption.positive(sigma, "the NGN parameter sigma is positive"),)


def _gradient_symbols(dim: int):
    return sp.Matrix(sp.symbols(f"g_1:{dim + 1}", real=True))


def lm_objective(dim: int = 1, convention: str = "paper"):
    r"""The LM subproblem's objective :math:`w(r+\nabla r^\top p)^2+\|p\|^2/(2\sigma)` with
    :math:`r=\sqrt f`, :math:`\nabla r=g/(2\sqrt f)`; returns ``(objective, p)`` with ``p`` the
    tuple of step symbols ``p_1..p_dim``."""
    dim = positive_int("dim", dim)
    weight = CONVENTIONS[one_of("convention", convention, tuple(CONVENTIONS))]
    g = _gradient_symbols(dim)
    p = sp.Matrix(sp.symbols(f"p_1:{dim + 1}", real=True))
    grad_r = g / (2 * sp.sqrt(f))
    objective = weight * (sp.sqrt(f) + (grad_r.T * p)[0]) ** 2 + (p.T * p)[0] / (2 * sigma)
    return objective, tuple(p)


@functools.lru_cache(maxsize=None)
def lm_subproblem_step(dim: int = 1, convention: str = "paper") -> sp.ImmutableMatrix:
    r"""Solve the Levenberg--Marquardt subproblem on :math:`r=\sqrt f` exactly.

    Minimises :math:`w\,(r + \nabla r^\top p)^2 + \|p\|^2/(2\sigma)` over :math:`p\in\mathbb R^d`
    with :math:`w` set by ``convention`` (see :data:`CONVENTIONS`), by solving its normal
    equations in SymPy. The result is expressed in ``f``, ``g_1..g_d`` and ``sigma``.

    Returns
    -------
    ImmutableMatrix
        The minimiser ``p`` as a ``dim x 1`` matrix.
    """
    objective, p = lm_objective(dim, convention)
    normal_equations = [sp.diff(objective, pi) for pi in p]
    solution = sp.solve(normal_equations, list(p), dict=True)
    if len(solution) != 1:
        raise ArithmeticError(f"the LM normal equations have {len(solution)} solutions; expected 1.")
    return sp.ImmutableMatrix([sp.simplify(solution[0][pi]) for pi in p])


@functools.lru_cache(maxsize=None)
def derive_ngn(dim: int = 1, convention: str = "paper") -> Derivation:
    r"""The NGN step derived from the LM subproblem, with its stepsize and the stepsize bounds.

    Expressions
    -----------
    step
        The LM minimiser :math:`p` (a ``dim x 1`` matrix), from :func:`lm_subproblem_step`.
    stepsize
        :math:`\gamma` read off :math:`p=-\gamma\nabla f` (it is the same for every coordinate; the
        check ``2407.04358/lm-identity`` verifies :math:`p+\gamma\nabla f=0` exactly).
    stepsize_lower_bound, stepsize_upper_bound
        :math:`\sigma/(1+\sigma L)` and :math:`\sigma` (``paper`` convention; :math:`\sigma/2`
        in place of :math:`\sigma` for ``half``), valid for :math:`L`-smooth :math:`f\ge0`.
    """
    step = lm_subproblem_step(dim, convention)
    g = _gradient_symbols(dim)
    stepsize = sp.factor(sp.cancel(-step[0] / g[0]))
    effective_sigma = sp.cancel(stepsize.subs({gi: 0 for gi in g}))
    return Derivation(
        name="ngn",
        inputs=(f, *g),
        params=(sigma, L),
        expressions={
            "step": step,
            "stepsize": stepsize,
            "stepsize_lower_bound": effective_sigma / (1 + effective_sigma * L),
            "stepsize_upper_bound": effective_sigma,
        },
        assumptions=_POSITIVE + (
            Assumption(f > 0, "the loss is positive where the step is taken"),
            Assumption.positive(L, "L is the smoothness constant of f, L > 0"),
        ),
        source=f"{SOURCE}: LM/Gauss-Newton step on r = sqrt(f), {convention} convention (derived)",
    )


@functools.lru_cache(maxsize=None)
def ngn_stepsize() -> Derivation:
    r"""The NGN stepsize as a function of the loss and the squared gradient norm,
    :math:`\gamma = 2 f\sigma/(2f+\sigma\|\nabla f\|^2)` (the division-safe form, exact at f=0
    with a non-zero gradient), obtained from :func:`derive_ngn` by substituting
    :math:`\|g\|^2` for :math:`g_1^2`."""
    g1 = sp.Symbol("g_1", real=True)
    stepsize = derive_ngn(1)["stepsize"].subs(g1 ** 2, grad_sq_norm)
    return Derivation("ngn_stepsize", (f, grad_sq_norm), (sigma,),
                      {"stepsize": sp.cancel(stepsize)}, _POSITIVE,
                      source=f"{SOURCE}: stepsize (derived)")


@functools.lru_cache(maxsize=None)
def ngn_stepsize_bounds(convention: str = "paper") -> Derivation:
    r"""The two stepsize bounds of :func:`derive_ngn` (statement N1) as a function of
    :math:`\sigma` and :math:`L` only: ``lower`` :math:`=\sigma/(1+\sigma L)`, ``upper``
    :math:`=\sigma`."""
    full = derive_ngn(1, convention)
    return Derivation("ngn_stepsize_bounds", (), (sigma, L),
                      {"lower": full["stepsize_lower_bound"], "upper": full["stepsize_upper_bound"]},
                      _POSITIVE, source=full.source)


@functools.lru_cache(maxsize=None)
def ngn_identities() -> Derivation:
    r"""Equivalent forms of the NGN stepsize (all *derived*).

    Expressions
    -----------
    inverse_stepsize
        :math:`1/\gamma = 1/\sigma + \|g\|^2/(2f)`: a soft minimum of :math:`\sigma` and the
        Polyak step :math:`2f/\|g\|^2`.
    polyak_step
        :math:`2f/\|g\|^2` (SPS with :math:`c=1/2`, :math:`f^*=0`).
    step_length_sq
        :math:`\|x^+-x\|^2=\gamma^2\|g\|^2 = 2\sigma f t/(1+t)^2` with :math:`t=\sigma\|g\|^2/(2f)`.
    step_length_sq_bound
        :math:`\sigma f/2`, the maximum of the previous line over :math:`t` (attained at t=1).
    descent_bound
        :math:`2f`, which bounds :math:`\gamma\|g\|^2`.
    small_sigma_series
        :math:`\gamma = \sigma - \sigma^2\|g\|^2/(2f) + O(\sigma^3)`.
    """
    gamma = ngn_stepsize()["stepsize"]
    t = sigma * grad_sq_norm / (2 * f)
    return Derivation(
        "ngn_identities", (f, grad_sq_norm), (sigma,),
        {
            "inverse_stepsize": sp.expand(sp.cancel(1 / gamma)),
            "polyak_step": 2 * f / grad_sq_norm,
            "step_length_sq": sp.factor(sp.cancel(gamma ** 2 * grad_sq_norm)),
            "step_length_sq_in_t": 2 * sigma * f * t / (1 + t) ** 2,
            "step_length_sq_bound": sp.maximum(2 * sigma * f * sp.Symbol("u", positive=True)
                                               / (1 + sp.Symbol("u", positive=True)) ** 2,
                                               sp.Symbol("u", positive=True), sp.Interval(0, sp.oo)),
            "descent_bound": sp.factor(sp.limit(gamma * grad_sq_norm, grad_sq_norm, sp.oo)),
            "small_sigma_series": sp.series(gamma, sigma, 0, 3).removeO(),
        },
        _POSITIVE + (Assumption(f > 0, "the loss is positive"),
                     Assumption(grad_sq_norm > 0, "the gradient is non-zero")),
        source=f"{SOURCE}: equivalent forms (derived)",
    )


@functools.lru_cache(maxsize=None)
def ngn_decomposition() -> Derivation:
    r"""The stepsize decomposition :math:`\gamma_k=\rho+\epsilon_k` (statement N4).

    :math:`\rho=\sigma/((1+\sigma L)(1+2\sigma L))` and
    :math:`0\le\epsilon_k\le\epsilon_{\max}=3\sigma^2L/(1+2\sigma L)`. The interval
    :math:`[\rho,\rho+\epsilon_{\max}]` contains the stepsize range
    :math:`[\sigma/(1+\sigma L),\sigma]`; the two margins are returned in factored form so that
    their positivity is evident (``lower_margin`` :math:`=2\sigma^2L/((1+\sigma L)(1+2\sigma L))`,
    ``upper_margin`` :math:`=\sigma^3L^2/((1+\sigma L)(1+2\sigma L))`).
    """
    rho = sigma / ((1 + sigma * L) * (1 + 2 * sigma * L))
    eps_max = 3 * sigma ** 2 * L / (1 + 2 * sigma * L)
    return Derivation(
        "ngn_decomposition", (), (sigma, L),
        {
            "rho": rho,
            "eps_max": eps_max,
            "lower_margin": sp.factor(sigma / (1 + sigma * L) - rho),
            "upper_margin": sp.factor(rho + eps_max - sigma),
        },
        _POSITIVE + (Assumption.positive(L, "L is the smoothness constant, L > 0"),),
        source="arXiv:2410.12455 Lemma 5 proof, restating NGN (unconfirmed wording)",
    )


@functools.lru_cache(maxsize=None)
def ngn_key_inequality() -> Derivation:
    r"""Both sides of the key inequality N3 for one stochastic step,

    .. math::

        \gamma^2\|g_i\|^2 \le \frac{4\sigma L}{1+2\sigma L}\gamma(f_i-f_i^*)
        + \frac{2\sigma^2L}{1+\sigma L}\max\Big\{\frac{2\sigma L-1}{2\sigma L+1},0\Big\}f_i^* .
    """
    gamma, fi, fi_star = sp.symbols("gamma f_i f_i_star", nonnegative=True)
    lhs = gamma ** 2 * grad_sq_norm
    rhs = (4 * sigma * L / (1 + 2 * sigma * L) * gamma * (fi - fi_star)
           + 2 * sigma ** 2 * L / (1 + sigma * L)
           * sp.Max((2 * sigma * L - 1) / (2 * sigma * L + 1), 0) * fi_star)
    return Derivation("ngn_key_inequality", (gamma, grad_sq_norm, fi, fi_star), (sigma, L),
                      {"lhs": lhs, "rhs": rhs}, _POSITIVE,
                      source="arXiv:2410.12455 Lemma 5, cited as NGN Lemma 4.2 (unconfirmed wording)")


_K, _dist0_sq, _interp_gap, _pos_gap = sp.symbols("K dist0_sq interp_gap pos_gap", nonnegative=True)


@functools.lru_cache(maxsize=None)
def ngn_convex_bound() -> Derivation:
    r"""The convex rate N5 (constant :math:`\sigma`):

    .. math::

        \min_{k<K}\mathbb E[f(x^k)-f^*] \le \frac{(1+2\sigma L)^2 D^2}{2\sigma K}
        + 3\sigma L(1+\sigma L)\sigma_{\rm int}^2 + \sigma L\max\{2\sigma L-1,0\}\sigma_{\rm pos}^2,

    with :math:`D` the distance from :math:`x^0` to the solution set. ``bound_sharp`` uses the
    proof's leading factor :math:`(1+\sigma L)(1+2\sigma L)`.
    """
    tail = (3 * sigma * L * (1 + sigma * L) * _interp_gap
            + sigma * L * sp.Max(2 * sigma * L - 1, 0) * _pos_gap)
    return Derivation(
        "ngn_convex_bound", (), (sigma, L, _K, _dist0_sq, _interp_gap, _pos_gap),
        {
            "bound": (1 + 2 * sigma * L) ** 2 * _dist0_sq / (2 * sigma * _K) + tail,
            "bound_sharp": (1 + sigma * L) * (1 + 2 * sigma * L) * _dist0_sq / (2 * sigma * _K) + tail,
            "neighbourhood": tail,
        },
        _POSITIVE + (Assumption(_K >= 1, "at least one iteration"),),
        source="arXiv:2410.12455 Remark 5, cited as NGN Theorem 4.5 (unconfirmed wording)",
    )


@functools.lru_cache(maxsize=None)
def ngn_decreasing_bound() -> Derivation:
    r"""The rate N6 with :math:`\sigma_k=\sigma/\sqrt{k+1}`:
    :math:`\min_k\mathbb E[f-f^*]\le C_1D^2/\sqrt K + C_2\log(K+1)\sigma_{\rm int}^2/\sqrt K
    + C_4\log(K+1)\sigma_{\rm pos}^2/\sqrt K`."""
    c1 = 5 * (1 + sigma * L) * (1 + 2 * sigma * L) / (8 * sigma)
    c2 = 15 * L * sigma * (1 + sigma * L) * (1 + 2 * sigma * L) / 2
    c4 = 5 * (1 + sigma * L) * (1 + 2 * sigma * L) * sigma * L * sp.Max(2 * sigma * L - 1, 0) / 2
    root = sp.sqrt(_K)
    return Derivation(
        "ngn_decreasing_bound", (), (sigma, L, _K, _dist0_sq, _interp_gap, _pos_gap),
        {"bound": c1 * _dist0_sq / root + c2 * sp.log(_K + 1) * _interp_gap / root
                  + c4 * sp.log(_K + 1) * _pos_gap / root},
        _POSITIVE + (Assumption(_K >= 1, "at least one iteration"),),
        source="arXiv:2410.12455 Theorem 6 with alpha=1, beta=0 (unconfirmed wording)",
    )


@functools.lru_cache(maxsize=None)
def ngn_quadratic_contraction() -> Derivation:
    r"""F1: on :math:`f=\tfrac L2\|x-x^*\|^2`, NGN contracts the error by exactly
    :math:`1/(1+\sigma L)` per step, for every :math:`\sigma>0`. Derived by substituting
    :math:`f` and :math:`\nabla f=L(x-x^*)` into the NGN step (scalar error ``e``)."""
    e = sp.Symbol("e", positive=True)
    gamma = ngn_stepsize()["stepsize"].subs({f: L * e ** 2 / 2, grad_sq_norm: (L * e) ** 2})
    return Derivation("ngn_quadratic_contraction", (), (sigma, L),
                      {"contraction": sp.simplify((e - gamma * L * e) / e),
                       "stepsize": sp.simplify(gamma)},
                      _POSITIVE, source=f"{SOURCE}: F1 (derived)")


@functools.lru_cache(maxsize=None)
def ngn_least_squares_stepsize() -> Derivation:
    r"""F2: on one row :math:`f_i=\tfrac12(a_i^\top x-b_i)^2`, :math:`\|\nabla f_i\|^2=2f_i\|a_i\|^2`,
    so :math:`\gamma_i=\sigma/(1+\sigma\|a_i\|^2)` does not depend on :math:`x`: NGN is randomized
    Kaczmarz relaxed by :math:`\omega_i=\sigma\|a_i\|^2/(1+\sigma\|a_i\|^2)`."""
    a_sq, res = sp.symbols("a_sq_norm residual", positive=True)
    gamma = ngn_stepsize()["stepsize"].subs({f: res ** 2 / 2, grad_sq_norm: res ** 2 * a_sq})
    gamma = sp.simplify(gamma)
    if gamma.has(res):
        raise ArithmeticError("the least-squares NGN stepsize should not depend on the residual")
    return Derivation("ngn_least_squares_stepsize", (a_sq,), (sigma,),
                      {"stepsize": gamma, "relaxation": sp.simplify(gamma * a_sq)},
                      _POSITIVE, source=f"{SOURCE}: F2 (derived)")


@functools.lru_cache(maxsize=None)
def ngn_offset_quadratic() -> Derivation:
    r"""F3: deterministic NGN on :math:`f=\tfrac L2x^2+c`, :math:`c>0`.

    Expressions
    -----------
    map, map_derivative
        :math:`T(x)=x-\gamma(x)Lx` and :math:`T'(x)`.
    fixed_point_multiplier
        :math:`T'(0)=1-\sigma L`: the minimiser loses stability at :math:`\sigma L=2`.
    cycle_amplitude
        :math:`x_c=\sqrt{2c(\sigma L-2)/(L(\sigma L+2))}`, solving :math:`T(x_c)=-x_c`
        (a 2-cycle :math:`\pm x_c` because :math:`T` is odd), real for :math:`\sigma L>2`.
    cycle_multiplier
        :math:`(T^2)'(x_c)=T'(x_c)T'(-x_c)=T'(x_c)^2`, which simplifies to
        :math:`(1-8/(\sigma L)^2)^2`.
    """
    x = sp.Symbol("x", real=True)
    c = sp.Symbol("c", positive=True)
    gamma = ngn_stepsize()["stepsize"].subs({f: L * x ** 2 / 2 + c, grad_sq_norm: (L * x) ** 2})
    T = sp.factor(sp.cancel(x - gamma * L * x))
    dT = sp.factor(sp.cancel(sp.diff(T, x)))
    xs = sp.Symbol("x_c", positive=True)
    nonzero = [s for s in sp.solve(sp.cancel((T + x) / x).subs(x, xs), xs) if s != 0]
    if len(nonzero) != 1:
        raise ArithmeticError(f"expected one positive 2-cycle amplitude; got {nonzero}")
    amplitude = nonzero[0]
    multiplier = sp.factor(sp.simplify(dT.subs(x, amplitude) ** 2))
    return Derivation(
        "ngn_offset_quadratic", (x,), (sigma, L, c),
        {
            "map": T,
            "map_derivative": dT,
            "fixed_point_multiplier": sp.simplify(dT.subs(x, 0)),
            "cycle_amplitude": amplitude,
            "cycle_multiplier": multiplier,
        },
        _POSITIVE + (Assumption.positive(c, "the loss has a positive offset c"),),
        source=f"{SOURCE}: F3 (derived)",
    )
