r"""Gradient descent on logistic regression with large steps (arXiv:2406.05033): closed forms.

Data enter in absorbed form :math:`z_i=y_ix_i` with weights :math:`p_i` (duplicates become
weights): :math:`f(w)=\sum_ip_i\ell(z_i^\top w)`, :math:`\ell(t)=\log(1+e^{-t})`. The GD map is
:math:`T_\eta(w)=w-\eta\nabla f(w)`; its fixed point :math:`w^*` loses stability when
:math:`1-\eta\lambda` crosses :math:`-1`, :math:`\lambda=\lambda_{\max}(\nabla^2f(w^*))`.

Everything is derived by SymPy from the loss (derivatives, the flip coefficient, the ideal
piecewise-linear models of the constructions); numbers at a data set are computed by mpmath at
high precision, so this module imports no numeric backend.

References
----------
S. Y. Meng, A. Orvieto, D. Y. Cao, C. De Sa, "Gradient descent on logistic regression with
non-separable data and large step sizes", arXiv:2406.05033, 2024.
"""

from __future__ import annotations

import functools

import mpmath
import sympy as sp

from .derivation import Assumption, Derivation
from .errors import AssumptionError, LemmataError
from .parsing import exact_number, parse_expression
from .validation import positive_int

__all__ = ["loss_expression", "gd_map", "two_cluster", "flip_coefficient_1d", "ideal_wall_cycle",
           "two_wall_cycle", "solution", "is_separable", "SOURCE"]

SOURCE = "arXiv:2406.05033 (Meng, Orvieto, Cao, De Sa)"
eta = sp.Symbol("eta", positive=True)
_t = sp.Symbol("t", real=True)


def _softplus_neg(t):
    """log(1 + e^{-t}), written so that the code generator's logaddexp rule applies."""
    return sp.log(1 + sp.exp(-t))


def _plain(value):
    """Duck-typed array-likes to nested lists, without importing NumPy or pandas: a DataFrame or
    Series gives its values (``to_numpy``), an array its ``tolist()``; other iterables are read
    as they are (a string is not a row of numbers)."""
    if hasattr(value, "to_numpy") and callable(value.to_numpy):
        value = value.to_numpy()
    if hasattr(value, "tolist") and callable(value.tolist) and not isinstance(value, sp.Basic):
        value = value.tolist()
    return value


def _is_row(value) -> bool:
    return isinstance(value, (list, tuple)) or (
        hasattr(value, "__iter__") and not isinstance(value, (str, bytes, sp.Basic, dict)))


def _as_rows(name, rows):
    """Samples as a list of equal-length rows of exact numbers (floats are the binary numbers
    they are: 0.7 is not 7/10), from lists, tuples, NumPy arrays of shape (n,) or (n, d) and
    pandas objects; NaN, infinities, ragged rows and non-numbers are refused with their index."""
    rows = _plain(rows)
    if isinstance(rows, (str, bytes, dict)) or not _is_row(rows):
        raise TypeError(f"`{name}` must be a sequence of samples (a list, tuple, array or "
                        f"DataFrame); got {type(rows).__name__}.")
    rows = [list(_plain(r)) if _is_row(_plain(r)) else [r] for r in rows]
    if not rows:
        raise LemmataError(f"`{name}` must hold at least one sample; got none.")
    d = len(rows[0])
    if d == 0:
        raise LemmataError(f"`{name}` rows must hold at least one feature; got an empty row.")
    ragged = [i for i, r in enumerate(rows) if len(r) != d]
    if ragged:
        raise LemmataError(f"`{name}` rows must all have the same length; row {ragged[0]} has "
                           f"{len(rows[ragged[0]])} entries, row 0 has {d}.")
    return [[exact_number(v, name=f"{name}[{i}][{j}]") for j, v in enumerate(r)]
            for i, r in enumerate(rows)]


def _as_labels(y, n):
    y = _plain(y)
    if isinstance(y, (str, bytes, dict)) or not _is_row(y):
        raise TypeError(f"`y` must be a sequence of labels; got {type(y).__name__}.")
    labels = []
    for i, v in enumerate(y):
        v = _plain(v)
        if _is_row(v):              # a column (n, 1)
            v = list(v)
            if len(v) != 1:
                raise LemmataError(f"`y` must hold one label per sample; entry {i} has {len(v)}.")
            v = v[0]
        labels.append(exact_number(v, name=f"y[{i}]"))
    if len(labels) != n:
        raise LemmataError(f"`y` must have one label per row of `X` ({n}); got {len(labels)}.")
    bad = [v for v in labels if v not in (-1, 1)]
    if bad:
        raise LemmataError(f"labels `y` must be in {{-1, +1}}; got {sorted(set(map(str, bad)))[:5]}.")
    return labels


def _as_weights(weights, n, name="weights"):
    values = _plain(weights)
    if isinstance(values, (str, bytes, dict)) or not _is_row(values):
        raise TypeError(f"`{name}` must be a sequence of numbers; got {type(values).__name__}.")
    values = [exact_number(v, name=f"{name}[{i}]") for i, v in enumerate(values)]
    if len(values) != n:
        raise LemmataError(f"`{name}` must have one weight per sample ({n}); got {len(values)}.")
    negative = [i for i, v in enumerate(values) if v < 0]
    if negative:
        raise LemmataError(f"`{name}` must be non-negative; {name}[{negative[0]}] = {values[negative[0]]}.")
    if sum(values) <= 0:
        raise LemmataError(f"`{name}` must have a positive sum; got all zeros.")
    return values


def _absorb(X, y):
    """(X, y) -> (z, p): z_i = y_i x_i with equal weights 1/n."""
    X = _as_rows("X", X)
    y = _as_labels(y, len(X))
    n = len(X)
    return [[yi * v for v in row] for row, yi in zip(X, y)], [sp.Rational(1, n)] * n


def loss_expression(z, p, w=None):
    r""":math:`f(w)=\sum_ip_i\log(1+e^{-z_i^\top w})` as a SymPy expression; returns ``(f, w)``."""
    z = _as_rows("z", z)
    d = len(z[0])
    w = tuple(sp.symbols(f"w_1:{d + 1}", real=True)) if w is None else tuple(w)
    f = sum(pi * _softplus_neg(sum(zj * wj for zj, wj in zip(row, w))) for row, pi in zip(z, p))
    return f, w


def gd_map(X, y=None, *, weights=None) -> Derivation:
    r"""The GD map :math:`T_\eta(w)=w-\eta\nabla f(w)` of a data set, as a Derivation with inputs
    ``w_1..w_d`` and parameter ``eta``, ready for :func:`lemmata.numerics.compile_kernel` and
    :func:`lemmata.numerics.orbits.orbit_diagram`. Expressions: ``map`` (d x 1) and ``jacobian``
    (:math:`I-\eta\nabla^2f`, d x d).

    ``X, y`` are features and labels in {-1, +1}; or pass absorbed samples ``z`` as ``X`` with
    ``y=None`` and their ``weights`` (default equal).
    """
    if y is not None:
        z, p = _absorb(X, y)
    else:
        z = _as_rows("z", X)
        n = len(z)
        p = [sp.Rational(1, n)] * n if weights is None else _as_weights(weights, n)
    f, w = loss_expression(z, p)
    d = len(w)
    # grad f = -sum p_i s(-z_i.w) z_i with s(-t) = 1/(1+e^t): written with a single exp
    margins = [sum(zj * wj for zj, wj in zip(row, w)) for row in z]
    weights_ = [pi / (1 + sp.exp(m)) for pi, m in zip(p, margins)]
    grad = [-sum(wt * row[k] for wt, row in zip(weights_, z)) for k in range(d)]
    # p s(t) s(-t) = p e^t / (1 + e^t)^2: the same exponential as the gradient (shared by CSE)
    curv = [pi * sp.exp(m) / (1 + sp.exp(m)) ** 2 for pi, m in zip(p, margins)]
    hess = [[sum(c * row[j] * row[k] for c, row in zip(curv, z)) for k in range(d)] for j in range(d)]
    T = sp.Matrix([w[k] - eta * grad[k] for k in range(d)])
    J = sp.Matrix(d, d, lambda j, k: (1 if j == k else 0) - eta * hess[j][k])
    return Derivation("logistic_gd_map", w, (eta,), {"map": T, "jacobian": J},
                      (Assumption.positive(eta, "the step size eta is positive"),),
                      source=f"{SOURCE}: GD map T(w) = w - eta grad f(w)")


@functools.lru_cache(maxsize=None)
def two_cluster() -> Derivation:
    r"""Two clusters :math:`z=+1` (weight :math:`p`) and :math:`z=-1` (weight :math:`1-p`):
    :math:`w^*=\mathrm{logit}\,p`, :math:`\lambda=p(1-p)`, and the flip coefficient
    :math:`\kappa=\tfrac23(1-3p+3p^2)\ge\tfrac16` (always supercritical), all derived."""
    p = sp.Symbol("p", positive=True)
    w = sp.Symbol("w", real=True)
    f = p * _softplus_neg(w) + (1 - p) * _softplus_neg(-w)
    fp = sp.simplify(sp.diff(f, w))
    w_star = sp.solve(sp.Eq(fp, 0), w)
    if len(w_star) != 1:
        raise ArithmeticError(f"expected one minimiser; got {w_star}")
    w_star = sp.simplify(w_star[0])
    lam = sp.factor(sp.simplify(sp.diff(f, w, 2).subs(w, w_star)))
    kappa = sp.factor(sp.simplify(flip_coefficient_1d(f, w).subs(w, w_star)))
    return Derivation("two_cluster", (w,), (p, eta),
                      {"minimizer": w_star, "lambda": lam, "kappa": kappa,
                       "map": w - eta * fp},
                      (Assumption("0 < p < 1", "0 < p < 1 (both clusters present)"),),
                      source=f"{SOURCE}: two clusters (derived)")


def flip_coefficient_1d(f, w):
    r"""The 1-D flip coefficient :math:`\kappa=a^2+b` with :math:`a=-f'''/\lambda`,
    :math:`b=-f''''/(3\lambda)`, :math:`\lambda=f''` (evaluate at :math:`w^*`): the flip at
    :math:`\eta\lambda=2` is supercritical iff :math:`\kappa>0`, with the 2-cycle
    :math:`w^*\pm x`, :math:`x^2\approx(\eta\lambda-2)/\kappa`."""
    if not isinstance(w, sp.Symbol):
        raise TypeError(f"`w` must be a SymPy Symbol; got {w!r}.")
    if isinstance(f, str):
        f = parse_expression(f, name="f", symbols={w.name: w}, allow_new_symbols=True)
    if not isinstance(f, sp.Expr):
        raise TypeError(f"`f` must be a SymPy expression in `w`; got {type(f).__name__}.")
    lam = sp.diff(f, w, 2)
    a = -sp.diff(f, w, 3) / lam
    b = -sp.diff(f, w, 4) / (3 * lam)
    return a ** 2 + b


@functools.lru_cache(maxsize=None)
def ideal_wall_cycle() -> Derivation:
    r"""L7's ideal model :math:`f=\tfrac\lambda2(w-w^*)^2+F\max(-w,0)`, :math:`w^*>0`: the 2-cycle
    :math:`u<0<v`, solved by SymPy from :math:`T(u)=v`, :math:`T(v)=u` on the two linear pieces.

    Expressions: ``u``, ``v``, ``activation`` (the cycle exists iff it is > 0, i.e.
    :math:`(\eta\lambda-1)F>\lambda(2-\eta\lambda)w^*`) and ``multiplier``
    :math:`(1-\eta\lambda)^2`."""
    lam, F, ws = sp.symbols("lambda F w_star", positive=True)
    u, v = sp.symbols("u v", real=True)
    grad_left = lam * (u - ws) - F           # u < 0: the wall is active
    grad_right = lam * (v - ws)              # v > 0
    solution = sp.solve([sp.Eq(u - eta * grad_left, v), sp.Eq(v - eta * grad_right, u)], [u, v], dict=True)[0]
    u_c, v_c = sp.factor(solution[u]), sp.factor(solution[v])
    multiplier = sp.factor((1 - eta * lam) ** 2)
    # existence: u < 0 (v > 0 then follows); activation = -u * (positive denominator)
    activation = sp.factor(sp.simplify(-u_c * lam * (2 - eta * lam)))
    return Derivation("ideal_wall_cycle", (), (eta, lam, F, ws),
                      {"u": u_c, "v": v_c, "activation": activation, "multiplier": multiplier},
                      (Assumption(eta * lam < 2, "eta lambda < 2 (the minimiser is locally stable)"),),
                      source=f"{SOURCE}: L7 mechanism (derived)")


@functools.lru_cache(maxsize=None)
def two_wall_cycle() -> Derivation:
    r"""L8's isotropic two-wall model :math:`f=\tfrac\lambda2|w-w^*|^2+F\sum_j\max(-n_j^\top w,0)`,
    :math:`w^*=(x^*,0)`, :math:`n_{1,2}=(c,\pm s)`, :math:`c^2+s^2=1`: the cycle alternating
    between the single-wall regions, solved by SymPy, with the activation condition
    :math:`F(\eta\lambda-2c^2)>\lambda(2-\eta\lambda)cx^*` and multipliers :math:`(1-\eta\lambda)^2`."""
    lam, F, xs, c = sp.symbols("lambda F x_star c", positive=True)
    s = sp.sqrt(1 - c ** 2)
    n1, n2 = sp.Matrix([c, s]), sp.Matrix([c, -s])
    w_star = sp.Matrix([xs, 0])
    u = sp.Matrix(sp.symbols("u_1 u_2", real=True))
    v = sp.Matrix(sp.symbols("v_1 v_2", real=True))
    grad_u = lam * (u - w_star) - F * n1          # at u only wall 1 is active
    grad_v = lam * (v - w_star) - F * n2          # at v only wall 2 is active
    eqs = list(u - eta * grad_u - v) + list(v - eta * grad_v - u)
    sol = sp.solve(eqs, list(u) + list(v), dict=True)[0]
    U = sp.simplify(u.subs(sol))
    V = sp.simplify(v.subs(sol))
    # binding conditions: n1.u < 0 <= n2.u (and symmetric for v)
    binding = sp.factor(sp.simplify(-(n1.T * U)[0] * lam * (2 - eta * lam)))
    return Derivation("two_wall_cycle", (), (eta, lam, F, xs, c),
                      {"u": U, "v": V, "activation": binding,
                       "multiplier": sp.factor((1 - eta * lam) ** 2)},
                      (Assumption("0 < c < 1", "the walls are not parallel: 0 < c < 1"),
                       Assumption(eta * lam < 2, "eta lambda < 2")),
                      source=f"{SOURCE}: L8 mechanism (derived)")


def is_separable(z) -> bool:
    r"""Whether some :math:`w\ne0` has :math:`z_i^\top w\ge0` for all :math:`i` with one strict
    inequality (then the loss has no finite minimiser): the exact linear programme
    :math:`\max\sum_iz_i^\top w` s.t. :math:`z_i^\top w\ge0`, :math:`|w_j|\le1`, solved in
    rational arithmetic by SymPy's simplex."""
    from sympy.solvers.simplex import lpmax

    z = _as_rows("z", z)
    w = sp.symbols(f"w_1:{len(z[0]) + 1}", real=True)
    margins = [sum(a * b for a, b in zip(row, w)) for row in z]
    constraints = [m >= 0 for m in margins] + [x <= 1 for x in w] + [x >= -1 for x in w]
    optimum, _ = lpmax(sum(margins), constraints)
    return bool(optimum > 0)


def solution(z, p=None, *, dps: int = 40, max_iter: int = 200) -> dict:
    r"""The minimiser :math:`w^*`, :math:`\lambda=\lambda_{\max}(\nabla^2f(w^*))`, its eigenvector,
    and the thresholds :math:`1/\lambda`, :math:`2/\lambda`, by damped Newton in mpmath at ``dps``
    digits on the exact data (floats are taken as the binary numbers they are).

    Raises
    ------
    AssumptionError
        If Newton's iterates run away (separable data: no finite minimiser).
    """
    z = _as_rows("z", z)
    n, d = len(z), len(z[0])
    p = [sp.Rational(1, n)] * n if p is None else _as_weights(p, n, "p")
    if is_separable(z):
        raise AssumptionError("the data are separable: the logistic loss has no finite minimiser "
                              "(some direction w has z_i . w >= 0 for every sample).")
    with mpmath.workdps(dps):
        Z = [[mpmath.mpf(sp.N(v, dps + 10)) for v in row] for row in z]
        P = [mpmath.mpf(sp.N(v, dps + 10)) for v in p]

        def parts(w):
            g = [mpmath.mpf(0)] * d
            H = mpmath.zeros(d, d)
            value = mpmath.mpf(0)
            for row, pi in zip(Z, P):
                m = mpmath.fsum(a * b for a, b in zip(row, w))
                value += pi * mpmath.log1p(mpmath.exp(-m)) if m > -700 else pi * (-m)
                s_neg = 1 / (1 + mpmath.exp(m))
                curv = pi * s_neg * (1 - s_neg)
                for j in range(d):
                    g[j] -= pi * s_neg * row[j]
                    for k in range(d):
                        H[j, k] += curv * row[j] * row[k]
            return value, mpmath.matrix(g), H

        w = mpmath.matrix([0] * d)
        for _ in range(max_iter):
            value, g, H = parts(w)
            try:
                step = mpmath.lu_solve(H, g)
            except ZeroDivisionError as exc:
                raise AssumptionError("the Hessian is singular: the samples `z` do not span the space.") from exc
            t = mpmath.mpf(1)
            decrease = mpmath.fdot(g, step)
            # Armijo backtracking while the predicted decrease is resolvable at this precision;
            # below that, Newton is in its quadratic phase and the full step is taken
            if decrease > mpmath.mpf(10) ** (-dps + 3) * (1 + abs(value)):
                while parts(w - t * step)[0] > value - t * decrease / 4 and t > mpmath.mpf(10) ** -30:
                    t /= 2
            w = w - t * step
            if mpmath.norm(w) > 10 ** 6:
                raise AssumptionError("the data are separable: the logistic loss has no finite minimiser.")
            if mpmath.norm(g) < mpmath.mpf(10) ** (-dps + 5):
                break
        else:
            raise LemmataError("Newton's method did not converge; the data may be (nearly) separable.")
        _, _, H = parts(w)
        eigenvalues, vectors = mpmath.eighe(H)
        top = max(range(d), key=lambda k: eigenvalues[k])
        lam = eigenvalues[top]
        return {"minimizer": [w[k] for k in range(d)], "lambda": lam,
                "eigenvector": [vectors[k, top] for k in range(d)],
                "eta_global_1d": 1 / lam, "eta_critical": 2 / lam}


