r"""Normal forms of bifurcations of maps, derived symbolically: the flip (period-doubling)
coefficient of a map :math:`T:\mathbb R^d\to\mathbb R^d` given as SymPy expressions, and the
symbolic p-fold composition :math:`T^p`.

At a fixed point :math:`x_0` of :math:`F=T^p` whose Jacobian :math:`A=DF(x_0)` has the simple
multiplier :math:`-1`, with :math:`Aq=-q`, :math:`A^\top p=-p`, :math:`|q|=1`,
:math:`\langle p,q\rangle=1` and :math:`B, C` the second and third derivatives of :math:`F` at
:math:`x_0`, the map restricted to the centre manifold has the normal form
:math:`\xi\mapsto-(1+\beta)\xi+\kappa\xi^3+O(\xi^4)` with (Kuznetsov, *Elements of Applied
Bifurcation Theory*, 3rd ed., Sec. 5.4)

.. math:: \kappa=\tfrac16\langle p,C(q,q,q)\rangle-\tfrac12\langle p,B(q,(A-I)^{-1}B(q,q))\rangle.

:math:`\kappa>0`: supercritical (a stable 2-cycle born on the side where :math:`x_0` is unstable);
:math:`\kappa<0`: subcritical. In 1-D, :math:`F(x_0+\xi)-x_0=-\xi+a\xi^2+b\xi^3+\dots` gives
:math:`\kappa=a^2+b` with :math:`a=F''/2`, :math:`b=F'''/6`; for gradient descent
:math:`F(w)=w-\eta f'(w)` at :math:`\eta\lambda=2` this is
:func:`lemmata.analysis.logistic.flip_coefficient_1d` (:math:`a=-f'''/\lambda`,
:math:`b=-f''''/(3\lambda)`), and in d-D the brief's
:math:`\kappa=\lambda^{-1}(t^\top H^{-1}t-\tfrac13D^4f[q^4])` (arXiv:2406.05033, L3).
"""

from __future__ import annotations

import mpmath
import sympy as sp

from .derivation import Derivation
from .errors import AssumptionError, LemmataError

__all__ = ["compose_map", "flip_coefficient"]


def _map_and_state(T, state):
    if isinstance(T, Derivation):
        if "map" in T.expressions:
            expr = T["map"]
        elif len(T.expressions) == 1:
            expr = next(iter(T.expressions.values()))
        else:
            raise LemmataError(f"`T` must have an expression 'map' or a single expression; "
                               f"{T.name!r} has {list(T.names)}.")
        state = T.inputs if state is None else tuple(state)
        T = expr
    if state is None:
        raise ValueError("`state` (the state symbols) is required when `T` is not a Derivation.")
    state = (state,) if isinstance(state, sp.Symbol) else tuple(state)
    if not state or not all(isinstance(s, sp.Symbol) for s in state):
        raise TypeError(f"`state` must hold SymPy Symbols; got {state!r}.")
    M = sp.Matrix([T]) if not isinstance(T, sp.MatrixBase) else sp.Matrix(T)
    if M.shape == (1, len(state)) and len(state) > 1:
        M = M.T
    if M.shape != (len(state), 1):
        raise ValueError(f"`T` must have one component per state symbol ({len(state)}); got shape {M.shape}.")
    return M, state


def compose_map(T, state=None, period: int = 1) -> sp.Matrix:
    r"""The p-fold composition :math:`T^p` as a SymPy column (``period`` = p >= 1)."""
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise ValueError(f"`period` must be an integer >= 1; got {period!r}.")
    M, state = _map_and_state(T, state)
    out = sp.Matrix(state)
    for _ in range(period):
        out = M.xreplace(dict(zip(state, out)))
    return out


def _is_exact(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, sp.Basic) and value.is_Rational is True


def flip_coefficient(T, state=None, point=None, *, period: int = 1, dps: int = 50):
    r"""The flip coefficient :math:`\kappa` (module docstring) of :math:`T^p` at ``point``.

    Parameters
    ----------
    T : Derivation, Matrix or Expr
        The map (a Derivation's ``map`` expression, its inputs the state).
    state : sequence of Symbol, optional
        The state symbols (default: the Derivation's inputs).
    point : mapping, optional
        Symbol (or name) -> value for every state symbol and parameter, at a flip point (a point
        of the p-cycle whose monodromy has the multiplier -1). Rational values give an exact
        :math:`\kappa`; other values (floats, radicals) are evaluated with mpmath at ``dps``
        digits. Without a point (1-D only) the closed form :math:`a^2+b` in the symbols is
        returned.
    period : int
        p: the coefficient of :math:`T^p` (composed symbolically).

    Returns
    -------
    sympy.Expr
        Exact, or a Float of ``dps`` digits.

    Raises
    ------
    AssumptionError
        If -1 is not a (simple) multiplier at ``point``.
    ValueError
        A point that misses a symbol; no point for d > 1.
    """
    F = compose_map(T, state, period)
    M, state = _map_and_state(T, state)
    d = len(state)
    if point is None:
        if d != 1:
            raise ValueError(f"`point` is required for a map of dimension {d} > 1 (the eigenvectors "
                             f"of the multiplier -1 depend on it).")
        x = state[0]
        a = sp.diff(F[0], x, 2) / 2
        b = sp.diff(F[0], x, 3) / 6
        return a ** 2 + b
    free = set().union(*(e.free_symbols for e in F))
    by_name = {str(k) if not isinstance(k, sp.Symbol) else k.name: v for k, v in dict(point).items()}
    missing = sorted(str(v) for v in free | set(state) if v.name not in by_name)
    if missing:
        raise ValueError(f"`point` must give a value for every state symbol and parameter; missing {missing}.")
    symbols = sorted(free | set(state), key=lambda v: v.name)
    values = {v: by_name[v.name] for v in symbols}
    exact = all(_is_exact(v) for v in values.values())
    if exact:
        values = {k: sp.nsimplify(v) for k, v in values.items()}
    else:
        values = {k: _to_float(v, dps + 10) for k, v in values.items()}
    params = {k: v for k, v in values.items() if k not in state}
    x0 = [values[v] for v in state]
    Fp = F.xreplace(params)
    A = Fp.jacobian(sp.Matrix(state)).xreplace(dict(zip(state, x0)))
    q, p = _flip_vectors(A, d, exact, dps)
    # directional derivatives along the line x0 + s q (+ t y): B(q, q), C(q, q, q), B(q, y)
    s, t = sp.Symbol("_s"), sp.Symbol("_t")
    line = Fp.xreplace({v: x + s * qi for v, x, qi in zip(state, x0, q)})
    Bqq = [sp.diff(e, s, 2).xreplace({s: 0}) for e in line]
    Cqqq = [sp.diff(e, s, 3).xreplace({s: 0}) for e in line]
    if not exact:
        Bqq = [sp.Float(e.evalf(dps + 10), dps + 10) for e in Bqq]
        Cqqq = [sp.Float(e.evalf(dps + 10), dps + 10) for e in Cqqq]
    y = (A - sp.eye(d)).LUsolve(sp.Matrix(Bqq))
    plane = Fp.xreplace({v: x + s * qi + t * yi for v, x, qi, yi in zip(state, x0, q, y)})
    Bqy = [sp.diff(e, s, t).xreplace({s: 0, t: 0}) for e in plane]
    kappa = (sum(p[i] * Cqqq[i] for i in range(d)) / 6 - sum(p[i] * Bqy[i] for i in range(d)) / 2)
    if exact:
        return sp.nsimplify(sp.simplify(kappa))
    return sp.Float(sp.sympify(kappa).evalf(dps + 10), dps)


def _to_float(value, dps):
    if isinstance(value, float):
        value = sp.Rational(value)            # the binary number the float is
    elif isinstance(value, (mpmath.mpf, mpmath.mpc)):
        value = sp.sympify(value)
    return sp.Float(sp.N(sp.sympify(value), dps), dps)


def _flip_vectors(A, d, exact, dps):
    """q (|q| = 1) and p (p.q = 1) with A q = -q, A^T p = -p."""
    I = sp.eye(d)
    if exact:
        right = (A + I).applyfunc(sp.nsimplify).nullspace()
        left = (A.T + I).applyfunc(sp.nsimplify).nullspace()
        if len(right) != 1 or len(left) != 1:
            raise AssumptionError(f"`point` is not a flip point: -1 is not a simple multiplier of the "
                                  f"monodromy {A.tolist()}.")
        q, p = right[0], left[0]
        q = q / sp.sqrt((q.T * q)[0])
        p = p / (p.T * q)[0]
        return [sp.radsimp(v) for v in q], [sp.radsimp(v) for v in p]
    with mpmath.workdps(dps + 10):
        A = A.evalf(dps + 10)
        M = mpmath.matrix([[mpmath.mpf(str(A[i, j])) for j in range(d)] for i in range(d)])
        ev, vr = mpmath.eig(M)
        k = min(range(d), key=lambda i: abs(ev[i] + 1))
        if abs(ev[k] + 1) > mpmath.mpf(10) ** -6:
            raise AssumptionError(f"`point` is not a flip point: the multiplier closest to -1 is "
                                  f"{mpmath.nstr(ev[k], 12)}.")
        q = [mpmath.re(vr[i, k]) for i in range(d)]
        nq = mpmath.sqrt(mpmath.fsum(v * v for v in q))
        q = [v / nq for v in q]
        el, vl = mpmath.eig(M.T)
        k = min(range(d), key=lambda i: abs(el[i] + 1))
        p = [mpmath.re(vl[i, k]) for i in range(d)]
        pq = mpmath.fsum(a * b for a, b in zip(p, q))
        p = [v / pq for v in p]
        return [sp.Float(str(v), dps + 10) for v in q], [sp.Float(str(v), dps + 10) for v in p]
