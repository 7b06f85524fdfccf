r"""Stochastic modified equations of optimisers, and closed forms for linear SDEs
(arXiv:2402.12508, SDEs for minimax optimisation).

A one-step update :math:`z^+=z+\eta\,\Delta(z,\xi)` with Gaussian noise :math:`\xi\sim N(0,I)` is
matched, at first order, by :math:`dZ=b(Z)\,dt+\sqrt{\eta\Sigma(Z)}\,dW` with

.. math::

    b(z)=\mathbb E[\Delta(z,\xi)],\qquad \Sigma(z)=\mathrm{Cov}[\Delta(z,\xi)],

and at second order by the corrected drift :math:`b-\tfrac\eta2(\nabla b)\,b`. The expectations
are computed exactly by SymPy for updates that are polynomial in the noise (Gaussian moments
:math:`\mathbb E\xi^{2k}=(2k-1)!!`); non-polynomial ones are expanded in ``rho`` first.

Game convention: :math:`x` descends, :math:`y` ascends, :math:`F=(\nabla_xf,-\nabla_yf)`; SEG
extrapolates to :math:`z-\rho F_\gamma(z)` and steps :math:`z-\eta F_\gamma(\text{extrapolated})`
with the same noise sample in both oracle calls (as the official code does).

References
----------
E. Monzio Compagnoni, A. Orvieto, H. Kersting, F. N. Proske, A. Lucchi, "SDEs for minimax
optimization", AISTATS 2024, arXiv:2402.12508.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import sympy as sp

from .derivation import Assumption, Derivation
from .errors import LemmataError, UnsupportedExpressionError
from .parsing import exact_number, parse_expression
from .validation import one_of, positive_int

__all__ = ["SDE", "from_update", "stratonovich_correction", "moment_equations", "gaussian_expectation",
           "sgd", "sgda", "seg", "shgd",
           "linear_structure", "linear_moments", "norm_second_moment", "stationary_covariance", "schedule_solution",
           "quadratic_game", "extra_step_sizes", "multiplicative_window", "seg_discrete_window"]

SOURCE = "arXiv:2402.12508 (Monzio Compagnoni, Orvieto, Kersting, Proske, Lucchi)"
ETA, RHO, SIGMA = sp.symbols("eta rho sigma", positive=True)


@dataclass(frozen=True, eq=False, repr=False)
class SDE(Derivation):
    r"""An Ito SDE :math:`dZ=b(Z,t)\,dt+D(Z,t)\,dW`, :math:`W` an m-dimensional Brownian motion.

    A :class:`Derivation` holding ``drift`` :math:`b` (d x 1), ``diffusion`` :math:`D` (d x m) and,
    for the SDEs of optimisers, ``covariance`` :math:`\Sigma` with :math:`DD^\top=\eta\Sigma`;
    ``state`` is the tuple of state symbols, ``time`` the clock symbol when a coefficient depends on
    it (it is then listed last in ``params`` and supplied by the simulators, never by the user).
    Build one from its coefficients with :meth:`from_coefficients`, or from an update rule with
    :func:`from_update`. When built from an update rule it also keeps the discrete algorithm:
    ``increment`` :math:`\Delta(z,\xi)` with ``z+ = z + eta * increment`` in the standard normals
    ``noise``, and ``eta``."""

    noise: tuple = ()
    increment: object = None
    eta: object = None
    time: object = None

    @property
    def state(self) -> tuple:
        return self.inputs

    @property
    def drift(self) -> sp.Matrix:
        return self["drift"]

    @property
    def diffusion(self) -> sp.Matrix:
        return self["diffusion"]

    @property
    def covariance(self) -> sp.Matrix:
        r"""The declared ``covariance`` :math:`\Sigma` when there is one (optimiser SDEs, where
        :math:`DD^\top=\eta\Sigma`), else :math:`DD^\top`."""
        if "covariance" in self.expressions:
            return self["covariance"]
        D = self.diffusion
        return sp.ImmutableMatrix((D * D.T).applyfunc(sp.expand))

    @property
    def noise_dim(self) -> int:
        """m, the number of independent Brownian motions (columns of the diffusion)."""
        return self.diffusion.shape[1]

    @property
    def model_params(self) -> tuple:
        """The parameters a user gives values for: ``params`` without the clock ``time``."""
        return tuple(p for p in self.params if p != self.time)

    @property
    def stratonovich_drift(self) -> sp.Matrix:
        r"""The drift of the same process written as a Stratonovich SDE,
        :math:`b-\tfrac12\sum_{j,l}D_{lj}\,\partial_lD_{\cdot j}` (see :func:`stratonovich_correction`)."""
        return sp.ImmutableMatrix((self.drift - stratonovich_correction(self.diffusion, self.state))
                                  .applyfunc(sp.simplify))

    def is_additive(self) -> bool:
        """Whether the diffusion is free of the state (it may depend on time): additive noise."""
        return not any(e.has(*self.state) for e in self.diffusion)

    def is_commutative(self) -> bool:
        r"""Whether the noise is commutative, :math:`L^{j_1}D_{\cdot j_2}=L^{j_2}D_{\cdot j_1}` with
        :math:`L^j=\sum_lD_{lj}\partial_l` (scalar, diagonal and additive noise are): the condition
        under which Milstein's scheme needs no Levy areas (Kloeden & Platen 1992, Sec. 10.3)."""
        D, z = self.diffusion, self.state
        m = D.shape[1]
        for j1 in range(m):
            for j2 in range(j1 + 1, m):
                for k in range(D.shape[0]):
                    a = sum(D[l, j1] * sp.diff(D[k, j2], z[l]) for l in range(len(z)))
                    b = sum(D[l, j2] * sp.diff(D[k, j1], z[l]) for l in range(len(z)))
                    if sp.simplify(a - b) != 0:
                        return False
        return True

    def moments(self) -> Derivation:
        """Closed-form moments: :func:`linear_moments` for a linear drift with additive noise,
        else the linear moment system of :func:`moment_equations` (affine drift and diffusion)."""
        if self.time is None and self.is_additive():
            try:
                return linear_moments(self)
            except LemmataError:
                pass
        return moment_equations(self)

    @classmethod
    def from_coefficients(cls, drift, diffusion, state, *, params=(), name: str = "sde",
                          time=None, convention: str = "ito", source: str = "") -> "SDE":
        r"""The SDE :math:`dZ=b(Z,t)\,dt+D(Z,t)\,dW` from its coefficients.

        Parameters
        ----------
        drift : sequence or Matrix of SymPy expressions
            :math:`b`, one entry per state symbol (a d x 1 or 1 x d Matrix, a flat list, or a
            single expression when d = 1).
        diffusion : Matrix or nested list
            :math:`D`, d x m (m independent Brownian motions); a single expression when d = 1, or
            a flat list when d = 1 (read as 1 x m).
        state : Symbol or sequence of Symbol
            The state symbols, in order.
        params : sequence of Symbol
            Every other symbol of the coefficients except the clock.
        name : str
        time : Symbol, optional
            The clock of time-dependent coefficients; by default a free symbol named ``t`` that is
            neither a state symbol nor a parameter.
        convention : {"ito", "stratonovich"}
            How to read ``drift``. A Stratonovich drift :math:`b^\circ` is converted to the Ito
            drift :math:`b^\circ+\tfrac12\sum_{j,l}D_{lj}\partial_lD_{\cdot j}` (Kloeden & Platen
            1992, Sec. 4.9); the SDE is stored in Ito form.
        source : str
            Provenance.

        Raises
        ------
        TypeError
            A coefficient that is a string (parse it first) or a diffusion that is not a matrix.
        LemmataError
            Shapes that disagree with the state, undeclared symbols, non-finite constants.

        Examples
        --------
        >>> import sympy as sp
        >>> x, mu, s = sp.symbols("x mu s", real=True)
        >>> gbm = SDE.from_coefficients([mu * x], [[s * x]], x, params=(mu, s), name="gbm")
        >>> gbm.stratonovich_drift
        Matrix([[x*(2*mu - s**2)/2]])
        """
        one_of("convention", convention, ("ito", "stratonovich"))
        state = _state_symbols(state)
        d = len(state)
        params = _symbols("params", params)
        b = _as_column("drift", drift, d)
        D = _as_matrix("diffusion", diffusion, d)
        declared = set(state) | set(params)
        overlap = sorted(str(s) for s in set(state) & set(params))
        if overlap:
            raise LemmataError(f"`params` repeats the state symbols {overlap}.")
        free = (b.free_symbols | D.free_symbols) - declared
        if time is None:
            named_t = [s for s in free if s.name == "t"]
            time = named_t[0] if named_t else None
        elif not isinstance(time, sp.Symbol) or time in declared:
            raise LemmataError(f"`time` must be a Symbol that is neither a state symbol nor a "
                               f"parameter; got {time!r}.")
        undeclared = sorted(str(s) for s in free - {time})
        if undeclared:
            raise LemmataError(f"the coefficients use undeclared symbols {undeclared}; declare them "
                               f"in `params` (state: {[str(s) for s in state]}).")
        for label, matrix in (("drift", b), ("diffusion", D)):
            for entry in matrix:
                if entry.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
                    raise LemmataError(f"`{label}` has a non-finite constant: {entry}.")
        if convention == "stratonovich":
            b = (b + stratonovich_correction(D, state)).applyfunc(sp.expand)
        uses_time = time is not None and (b.has(time) or D.has(time))
        all_params = tuple(params) + ((time,) if uses_time else ())
        return cls(name, state, all_params, {"drift": sp.ImmutableMatrix(b), "diffusion": sp.ImmutableMatrix(D)},
                   source=source or f"Ito SDE from its coefficients ({convention} input)",
                   time=time if uses_time else None)


def _state_symbols(state) -> tuple:
    if isinstance(state, sp.Symbol):
        state = (state,)
    if isinstance(state, (str, bytes)) or not hasattr(state, "__iter__"):
        raise TypeError(f"`state` must be a Symbol or a sequence of Symbols; got {state!r}.")
    state = tuple(state)
    if not state or not all(isinstance(s, sp.Symbol) for s in state):
        raise TypeError(f"`state` must be a Symbol or a non-empty sequence of Symbols; got {state!r}.")
    if len(set(state)) != len(state):
        raise LemmataError(f"`state` names a symbol twice: {[str(s) for s in state]}.")
    return state


def _symbols(name, value) -> tuple:
    if isinstance(value, sp.Symbol):
        value = (value,)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"`{name}` must be a sequence of Symbols; got {value!r}.")
    value = tuple(value)
    bad = [v for v in value if not isinstance(v, sp.Symbol)]
    if bad:
        raise TypeError(f"`{name}` must hold SymPy Symbols; got {bad[0]!r}.")
    return value


def _entry(name, value) -> sp.Expr:
    if isinstance(value, (str, bytes)):
        raise TypeError(f"`{name}` entries must be SymPy expressions or numbers, not strings (parse "
                        f"user text with a whitelisting parser first); got {value!r}.")
    if isinstance(value, float) and not math.isfinite(value):
        raise LemmataError(f"`{name}` has a non-finite entry {value!r}.")
    try:
        expr = sp.sympify(value, strict=True)
    except sp.SympifyError as exc:
        raise TypeError(f"`{name}` entries must be SymPy expressions or numbers; got {value!r}.") from exc
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"`{name}` entries must be SymPy expressions; got {value!r}.")
    return expr


def _as_column(name, value, d) -> sp.Matrix:
    if isinstance(value, sp.MatrixBase):
        M = sp.Matrix(value)
        if M.shape == (1, d) and d > 1:
            M = M.T
    elif isinstance(value, (list, tuple)):
        if any(isinstance(v, (list, tuple, sp.MatrixBase)) for v in value):
            M = sp.Matrix([[_entry(name, w) for w in (v if isinstance(v, (list, tuple)) else list(v))]
                           for v in value])
        else:
            M = sp.Matrix([_entry(name, v) for v in value])
    else:
        M = sp.Matrix([_entry(name, value)])
    if M.shape != (d, 1):
        raise LemmataError(f"`{name}` must have one entry per state symbol ({d}); got shape {M.shape}.")
    return M.applyfunc(lambda e: _entry(name, e))


def _as_matrix(name, value, d) -> sp.Matrix:
    if isinstance(value, sp.MatrixBase):
        M = sp.Matrix(value)
    elif isinstance(value, (list, tuple)):
        if not value:
            raise TypeError(f"`{name}` must be a d x m matrix; got an empty sequence.")
        nested = [isinstance(v, (list, tuple)) for v in value]
        if all(nested):
            widths = {len(v) for v in value}
            if len(widths) != 1 or 0 in widths:
                raise TypeError(f"`{name}` must be a d x m matrix; got rows of lengths "
                                f"{[len(v) for v in value]}.")
            if any(isinstance(w, (list, tuple)) for v in value for w in v):
                raise TypeError(f"`{name}` must be a d x m matrix, not a deeper nesting; got {value!r}.")
            M = sp.Matrix([[_entry(name, w) for w in v] for v in value])
        elif not any(nested):
            if d != 1:
                raise TypeError(f"`{name}` must be a {d} x m matrix (a nested list or a SymPy Matrix); "
                                f"got a flat list of {len(value)} entries.")
            M = sp.Matrix([[_entry(name, v) for v in value]])
        else:
            raise TypeError(f"`{name}` must be a d x m matrix; got a mixture of rows and entries.")
    elif isinstance(value, (dict, set)):
        raise TypeError(f"`{name}` must be a d x m matrix; got a {type(value).__name__}.")
    else:
        if d != 1:
            raise TypeError(f"`{name}` must be a {d} x m matrix; got the single expression {value!r}.")
        M = sp.Matrix([[_entry(name, value)]])
    if M.rows != d or M.cols < 1:
        raise LemmataError(f"`{name}` must have one row per state symbol ({d}) and at least one "
                           f"column; got shape {M.shape}.")
    return M.applyfunc(lambda e: _entry(name, e))


def stratonovich_correction(diffusion, state) -> sp.Matrix:
    r"""The Ito-minus-Stratonovich drift :math:`c_k=\tfrac12\sum_{j}\sum_lD_{lj}\,\partial_lD_{kj}`:
    :math:`dZ=b\,dt+D\circ dW` is the Ito SDE :math:`dZ=(b+c)\,dt+D\,dW` (Kloeden & Platen 1992, Sec. 4.9)."""
    D = sp.Matrix(diffusion)
    state = tuple(state)
    if D.rows != len(state):
        raise LemmataError(f"`diffusion` must have one row per state symbol ({len(state)}); got {D.shape}.")
    return sp.Matrix([sp.Rational(1, 2) * sum(D[l, j] * sp.diff(D[k, j], state[l])
                                              for j in range(D.cols) for l in range(len(state)))
                      for k in range(D.rows)]).applyfunc(sp.expand)


def moment_equations(sde: SDE) -> Derivation:
    r"""The closed linear system of the first two moments of an SDE with affine coefficients,
    :math:`b=Az+a`, :math:`D_{\cdot j}=B_jz+\beta_j` (time-independent). With
    :math:`m=\mathbb EZ` and :math:`S=\mathbb E ZZ^\top` (Ito's formula):

    .. math::

        \dot m=Am+a,\qquad \dot S=AS+SA^\top+am^\top+ma^\top
        +\sum_j\big(B_jSB_j^\top+B_jm\beta_j^\top+\beta_jm^\top B_j^\top+\beta_j\beta_j^\top\big).

    Returns a Derivation with ``generator`` :math:`G`, the (1 + d + d^2)-square matrix with
    :math:`\tfrac{d}{dt}(1,m,\mathrm{vec}\,S)=G\,(1,m,\mathrm{vec}\,S)` (``vec`` row-major), so
    that :math:`(1,m_t,\mathrm{vec}\,S_t)=e^{Gt}(1,z_0,\mathrm{vec}\,z_0z_0^\top)`.

    Raises
    ------
    LemmataError
        When a coefficient is not affine in the state or depends on time.
    """
    z = sp.Matrix(sde.state)
    d, m_noise = len(sde.state), sde.diffusion.shape[1]
    if sde.time is not None:
        raise LemmataError("moment_equations needs time-independent coefficients.")
    A = sde.drift.jacobian(z)
    Bs = [sde.diffusion[:, j].jacobian(z) for j in range(m_noise)]
    if any(e.has(*sde.state) for M in [A, *Bs] for e in M):
        raise LemmataError("the drift and the diffusion must be affine in the state for closed moments.")
    a = (sde.drift - A * z).applyfunc(sp.expand)
    betas = [(sde.diffusion[:, j] - Bs[j] * z).applyfunc(sp.expand) for j in range(m_noise)]
    n = 1 + d + d * d
    G = sp.zeros(n, n)
    idx = lambda i, j: 1 + d + i * d + j  # noqa: E731
    for i in range(d):
        G[1 + i, 0] = a[i]
        for k in range(d):
            G[1 + i, 1 + k] = A[i, k]
    for i in range(d):
        for j in range(d):
            row = idx(i, j)
            for k in range(d):
                G[row, idx(k, j)] += A[i, k]            # (A S)_ij
                G[row, idx(i, k)] += A[j, k]            # (S A^T)_ij
            G[row, 1 + j] += a[i]                        # a m^T
            G[row, 1 + i] += a[j]                        # m a^T
            for B, beta in zip(Bs, betas):
                for k in range(d):
                    for l in range(d):
                        G[row, idx(k, l)] += B[i, k] * B[j, l]
                    G[row, 1 + k] += B[i, k] * beta[j] + beta[i] * B[j, k]
                G[row, 0] += beta[i] * beta[j]
    return Derivation(sde.name + "_moment_equations", (), sde.params, {"generator": G.applyfunc(sp.expand)},
                      source="Ito's formula for affine SDEs: the first two moments close (derived)")


def gaussian_expectation(expr, noise) -> sp.Expr:
    r""":math:`\mathbb E[\text{expr}]` over independent standard normals ``noise``, for ``expr``
    polynomial in them: each monomial :math:`\prod\xi_j^{k_j}` becomes
    :math:`\prod(k_j-1)!!` (0 if some :math:`k_j` is odd)."""
    noise = tuple(noise)
    if not noise:
        return sp.expand(expr)
    expanded = sp.expand(expr)
    try:
        poly = sp.Poly(expanded, *noise)
    except sp.PolynomialError as exc:
        raise UnsupportedExpressionError(
            f"the update is not polynomial in the noise {list(map(str, noise))}; expand it in rho "
            f"first (rho_order=...)") from exc
    total = sp.Integer(0)
    for powers, coefficient in poly.terms():
        if any(k % 2 for k in powers):
            continue
        moment = sp.Mul(*[sp.factorial2(k - 1) if k else 1 for k in powers])
        total += coefficient * moment
    return total


def from_update(delta, state, noise, *, eta=ETA, order: int = 1, params=(), name="sde",
                source: str = "", assumptions=()) -> SDE:
    r"""The SDE of :math:`z^+=z+\eta\Delta(z,\xi)`, :math:`\xi\sim N(0,I)`, by matching the
    one-step mean and covariance (``order=1``), with the drift corrected by
    :math:`-\tfrac\eta2(\nabla b)b` for ``order=2``.

    Parameters
    ----------
    delta : Matrix (d x 1)
        The increment per unit step.
    state : sequence of Symbol
    noise : sequence of Symbol
        Independent standard normals in ``delta``.
    eta : Symbol or number
    params : sequence of Symbol
        The other symbols of ``delta`` (game coefficients, rho, sigma ...).
    """
    if order not in (1, 2):
        raise ValueError(f"`order` must be 1 or 2; got {order!r}.")
    delta = sp.Matrix(delta)
    state = tuple(state)
    noise = tuple(noise)
    if delta.shape != (len(state), 1):
        raise LemmataError(f"`delta` must be a column with one entry per state symbol ({len(state)}); "
                           f"got shape {delta.shape}.")
    mean = delta.applyfunc(lambda e: gaussian_expectation(e, noise))
    second = (delta * delta.T).applyfunc(lambda e: gaussian_expectation(e, noise))
    covariance = (second - mean * mean.T).applyfunc(lambda e: sp.factor(sp.expand(e)))
    mean = mean.applyfunc(lambda e: sp.factor(sp.expand(e)))
    linear = all(sp.Poly(e, *noise).total_degree() <= 1 for e in delta if noise and e.has(*noise))
    if linear:
        N = delta.jacobian(sp.Matrix(noise)) if noise else sp.zeros(len(state), 1)
        diffusion = (sp.sqrt(eta) * N).applyfunc(sp.factor)
    else:
        try:
            diffusion = (sp.sqrt(eta) * covariance.cholesky(hermitian=False)).applyfunc(sp.simplify)
        except (ValueError, sp.matrices.common.NonSquareMatrixError) as exc:  # singular covariance
            raise LemmataError(f"the covariance is singular and the noise enters non-linearly: {exc}") from exc
    drift = mean
    if order == 2:
        drift = (mean - eta / 2 * mean.jacobian(sp.Matrix(state)) * mean).applyfunc(lambda e: sp.factor(sp.expand(e)))
    symbols = set().union(*(e.free_symbols for e in (drift, diffusion, covariance)))
    declared = [s for s in (eta, *params) if isinstance(s, sp.Symbol)]
    extra = sorted(symbols - set(state) - set(declared), key=str)
    return SDE(name, state, tuple(dict.fromkeys(declared + extra)),
               {"drift": drift, "diffusion": diffusion, "covariance": covariance},
               tuple(assumptions), source=source or f"{SOURCE}: modified equation, order {order}",
               noise=noise, increment=sp.ImmutableMatrix(delta), eta=eta)


# ------------------------------------------------------------------------------ games
def _players(name, v):
    if isinstance(v, sp.Symbol):
        return (v,)
    v = tuple(v)
    if not v or not all(isinstance(s, sp.Symbol) for s in v):
        raise TypeError(f"`{name}` must be a Symbol or a non-empty sequence of Symbols; got {v!r}.")
    return v


def _symbolic(name, value, default):
    """A step size or noise scale: the default symbol, a Symbol, or a positive finite number
    (strings parsed as numbers, never evaluated)."""
    if value is None:
        return default
    if isinstance(value, sp.Symbol):
        return value
    number = exact_number(value, name=name)
    if not number > 0:
        raise ValueError(f"`{name}` must be positive and finite; got {value!r}.")
    return number


def _game_expression(f, state, params):
    """The loss or game as a SymPy expression: strings are parsed (never evaluated) with the
    players and ``params`` as symbols, the names eta, rho, sigma as the shared symbols, and any
    other name as a new real symbol."""
    if isinstance(f, str):
        known = {s.name: s for s in (ETA, RHO, SIGMA)}
        known.update({s.name: s for s in (*(params or ()), *state) if isinstance(s, sp.Symbol)})
        return parse_expression(f, name="f", symbols=known, allow_new_symbols=params is None,
                                new_symbol=lambda n: sp.Symbol(n, real=True))
    if isinstance(f, sp.Expr):
        return f
    if isinstance(f, sp.Basic):
        raise TypeError(f"`f` must be a SymPy expression or a string; got {f!r}.")
    return exact_number(f, name="f")


def _check_game(f, state, params):
    f = _game_expression(f, state, params)
    if params is None:
        return f, tuple(sorted(f.free_symbols - set(state), key=str))
    params = tuple(params)
    undeclared = f.free_symbols - set(state) - set(params)
    if undeclared:
        raise LemmataError(f"the game `f` has undeclared symbols {sorted(map(str, undeclared))}; "
                           f"pass them in `params` (or leave `params` out to infer them).")
    return f, params


def _prepare(f, x, y, eta, sigma, params, noise):
    """The common validation of the game optimisers' arguments."""
    x, y = _players("x", x), _players("y", y)
    eta, sigma = _symbolic("eta", eta, ETA), _symbolic("sigma", sigma, SIGMA)
    f, params = _check_game(f, x + y, params)
    one_of("noise", noise, ("additive", "multiplicative"))
    return f, x, y, x + y, eta, sigma, params


def _field(f, x, y):
    return sp.Matrix([sp.diff(f, v) for v in x] + [-sp.diff(f, v) for v in y])


def _noise(count, prefix="xi"):
    return sp.Matrix(sp.symbols(f"{prefix}_1:{count + 1}", real=True))


def _bilinear_matrix(f, x, y):
    B = sp.Matrix(len(x), len(y), lambda i, j: sp.diff(f, x[i], y[j]))
    rest = sp.expand(f - (sp.Matrix(x).T * B * sp.Matrix(y))[0])
    if rest != 0 or any(e.has(*x, *y) for e in B):
        raise LemmataError("the multiplicative-noise model is defined for bilinear games f = x^T B y only.")
    return B


def _noisy_matrices(B, sigma, count):
    mats, symbols = [], []
    for j in range(count):
        Z = sp.Matrix(B.rows, B.cols, lambda r, c: sp.Symbol(f"Z{j + 1}_{r + 1}{c + 1}", real=True))
        symbols.extend(Z)
        mats.append(B + sigma * Z)
    return mats, symbols


def _finish(delta, state, noise, eta, order, params, name, algorithm, noise_model, rho_order=None,
            rho=None, *, sigma):
    if rho_order is not None:
        delta = delta.applyfunc(lambda e: sp.series(e, rho, 0, rho_order + 1).removeO())
    steps = ((eta, "the step size eta is positive"), (rho, "the extrapolation step rho is positive"),
             (sigma, "the noise scale sigma is positive"))
    assumptions = tuple(Assumption.positive(v, sentence) for v, sentence in steps
                        if isinstance(v, sp.Symbol))
    return from_update(delta, state, noise, eta=eta, order=order, params=params, name=name,
                       source=f"{SOURCE}: {algorithm}, {noise_model} noise, order {order} (derived)",
                       assumptions=assumptions)


def sgd(loss, x, *, eta=None, sigma=None, order: int = 1, params=None) -> SDE:
    r"""SGD :math:`x^+=x-\eta(\nabla L(x)+\sigma\xi)`: :math:`dX=-\nabla L\,dt+\sqrt\eta\sigma\,dW`."""
    x = _players("x", x)
    eta, sigma = _symbolic("eta", eta, ETA), _symbolic("sigma", sigma, SIGMA)
    loss, params = _check_game(loss, x, params)
    xi = _noise(len(x))
    delta = -(sp.Matrix([sp.diff(loss, v) for v in x]) + sigma * xi)
    return _finish(delta, x, tuple(xi), eta, order, (sigma, *params), "sgd", "SGD", "additive",
                   sigma=sigma)


def sgda(f, x, y, *, eta=None, sigma=None, order: int = 1, noise: str = "additive", params=None) -> SDE:
    r"""SGDA :math:`z^+=z-\eta F_\gamma(z)`, :math:`F=(\nabla_xf,-\nabla_yf)`."""
    f, x, y, state, eta, sigma, params = _prepare(f, x, y, eta, sigma, params, noise)
    if noise == "additive":
        xi = _noise(len(x) + len(y))
        delta = -(_field(f, x, y) + sigma * xi)
    else:
        B = _bilinear_matrix(f, x, y)
        (B1, B2), xi = _noisy_matrices(B, sigma, 2)
        X, Y = sp.Matrix(x), sp.Matrix(y)
        delta = sp.Matrix.vstack(-B1 * Y, B2.T * X)
    return _finish(delta, state, tuple(xi), eta, order, (sigma, *params), "sgda", "SGDA", noise,
                   sigma=sigma)


def seg(f, x, y, *, eta=None, rho=None, sigma=None, order: int = 1, noise: str = "additive",
        params=None, rho_order: int | None = None) -> SDE:
    r"""SEG: :math:`\tilde z=z-\rho F_\gamma(z)`, :math:`z^+=z-\eta F_\gamma(\tilde z)`, the same
    noise sample in both oracle calls. ``rho_order`` truncates the update's expansion in
    :math:`\rho` (needed when the game is not polynomial)."""
    f, x, y, state, eta, sigma, params = _prepare(f, x, y, eta, sigma, params, noise)
    rho = _symbolic("rho", rho, RHO)
    if noise == "additive":
        xi = _noise(len(state))
        F = _field(f, x, y)
        extrapolated = sp.Matrix(state) - rho * (F + sigma * xi)
        at = dict(zip(state, extrapolated))
        delta = -(F.xreplace(at) + sigma * xi)
    else:
        B = _bilinear_matrix(f, x, y)
        (B1, B2, B3, B4), xi = _noisy_matrices(B, sigma, 4)
        X, Y = sp.Matrix(x), sp.Matrix(y)
        y_tilde = Y + rho * B2.T * X
        x_tilde = X - rho * B4 * Y
        delta = sp.Matrix.vstack(-B1 * y_tilde, B3.T * x_tilde)
    return _finish(delta, state, tuple(xi), eta, order, (rho, sigma, *params), "seg", "SEG", noise,
                   rho_order, rho, sigma=sigma)


def shgd(f, x, y, *, eta=None, sigma=None, order: int = 1, noise: str = "additive", params=None) -> SDE:
    r"""SHGD :math:`z^+=z-\eta\nabla F(z)^\top F_\gamma(z)` (exact Jacobian, noise in F): the
    gradient of :math:`H=\tfrac12\|F\|^2` plus curvature-shaped noise."""
    f, x, y, state, eta, sigma, params = _prepare(f, x, y, eta, sigma, params, noise)
    if noise == "additive":
        xi = _noise(len(state))
        F = _field(f, x, y)
        J = F.jacobian(sp.Matrix(state))
        delta = -(J.T * (F + sigma * xi))
    else:
        B = _bilinear_matrix(f, x, y)
        (B1, B2, B3, B4), xi = _noisy_matrices(B, sigma, 4)
        X, Y = sp.Matrix(x), sp.Matrix(y)
        delta = sp.Matrix.vstack(-B1 * B2.T * X, -B3.T * B4 * Y)
    return _finish(delta, state, tuple(xi), eta, order, (sigma, *params), "shgd", "SHGD", noise,
                   sigma=sigma)


# ------------------------------------------------------------------------------ linear SDEs
def linear_structure(sde: SDE):
    r"""``(K, c, Q)`` when the drift is :math:`Kz+c` and the diffusion constant, with
    :math:`Q=DD^\top`; raises if the SDE is not of this form."""
    z = sp.Matrix(_as_sde(sde).state)
    K = sde.drift.jacobian(z)
    if any(e.has(*sde.state) for e in K):
        raise LemmataError("the drift is not linear in the state.")
    c = (sde.drift - K * z).applyfunc(sp.simplify)
    D = sde.diffusion
    if any(e.has(*sde.state) for e in D):
        raise LemmataError("the diffusion depends on the state; use norm_second_moment for "
                           "state-linear noise only through the moment equations.")
    return K, c, (D * D.T).applyfunc(sp.simplify)


def linear_moments(sde: SDE) -> Derivation:
    r"""Closed-form moments of a linear SDE :math:`dZ=(KZ+c)dt+D\,dW` from :math:`Z_0=z_0`:
    ``mean`` :math:`e^{Kt}z_0+\int_0^te^{K(t-s)}c\,ds` (SymPy's matrix exponential), and the
    right-hand side ``covariance_ode`` of :math:`\dot P=KP+PK^\top+Q` (with ``stationary`` its zero,
    :func:`stationary_covariance`, when K is Hurwitz) for the covariance :math:`P`."""
    K, c, Q = linear_structure(sde)
    t = sp.Symbol("t", nonnegative=True)
    s_ = sp.Symbol("s", nonnegative=True)
    d = K.shape[0]
    z0 = sp.Matrix(sp.symbols(f"z0_1:{d + 1}", real=True))
    E = sp.simplify((K * t).exp())
    forced = sp.zeros(d, 1) if c == sp.zeros(d, 1) else \
        sp.simplify(((K * (t - s_)).exp() * c).applyfunc(lambda e: sp.integrate(e, (s_, 0, t))))
    P = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"P_{min(i, j) + 1}{max(i, j) + 1}"))
    exprs = {"mean": (E * z0 + forced).applyfunc(sp.simplify),
             "covariance_ode": (K * P + P * K.T + Q).applyfunc(sp.simplify)}
    params = tuple(dict.fromkeys(tuple(sde.params) + tuple(sorted(P.free_symbols, key=str))))
    try:
        exprs["stationary"] = stationary_covariance(K, Q)
    except LemmataError:
        pass
    return Derivation(sde.name + "_moments", (t,) + tuple(z0), params, exprs,
                      source=f"{SOURCE}: linear-SDE moments (derived)")


def stationary_covariance(K, Q) -> sp.Matrix:
    r"""The solution :math:`P` of the Lyapunov equation :math:`KP+PK^\top+Q=0` (stationary
    covariance of :math:`dZ=KZ\,dt+D\,dW`, :math:`Q=DD^\top`, when :math:`K` is Hurwitz)."""
    K, Q = _square("K", K), _square("Q", Q)
    if K.shape != Q.shape:
        raise LemmataError(f"`K` and `Q` must have the same shape; got {K.shape} and {Q.shape}.")
    d = K.shape[0]
    P = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"P_{min(i, j)}{max(i, j)}"))
    equations = list(K * P + P * K.T + Q)
    unknowns = sorted(P.free_symbols, key=str)
    solution = sp.solve(equations, unknowns, dict=True)
    if len(solution) != 1:
        raise LemmataError("the Lyapunov equation has no unique solution (K is not Hurwitz).")
    return P.xreplace(solution[0]).applyfunc(sp.factor)


def _square(name, M) -> sp.Matrix:
    if isinstance(M, str) or not isinstance(M, (sp.MatrixBase, list, tuple)):
        raise TypeError(f"`{name}` must be a square SymPy Matrix (or nested lists); got {type(M).__name__}.")
    M = sp.Matrix(M)
    if M.rows != M.cols or M.rows == 0:
        raise LemmataError(f"`{name}` must be a non-empty square matrix; got shape {M.shape}.")
    return M


def _as_sde(sde):
    if not isinstance(sde, SDE):
        raise TypeError(f"`sde` must be an SDE (from sgd, sgda, seg, shgd or from_update); "
                        f"got {type(sde).__name__}.")
    return sde


def norm_second_moment(sde: SDE, z0=None, t=None):
    r""":math:`m(t)=\mathbb E\|Z_t\|^2` for SDEs whose moment equation closes on :math:`m`:
    :math:`\tfrac{d}{dt}\mathbb E\|Z\|^2=\mathbb E[2Z^\top b(Z)+\mathrm{tr}\,DD^\top]` with
    :math:`2z^\top b(z)=-2\kappa\|z\|^2` and :math:`\mathrm{tr}\,DD^\top=q_0+q_1\|z\|^2`
    (additive or multiplicative noise on linear games). Returns ``(m(t), kappa, q0, q1)``,
    ``m`` solved by SymPy's ``dsolve`` with :math:`m(0)=` ``z0`` (a symbol by default)."""
    z = sp.Matrix(_as_sde(sde).state)
    norm = sp.expand((z.T * z)[0])
    lhs = sp.expand(2 * (z.T * sde.drift)[0])
    kappa = sp.simplify(-lhs / (2 * norm))
    if kappa.has(*sde.state):
        raise LemmataError("2 z.b(z) is not a multiple of |z|^2: the moment equation does not close.")
    trace = sp.expand(sp.simplify((sde.diffusion * sde.diffusion.T).trace()))
    q1 = sp.simplify(sp.expand(trace - trace.subs({s: 0 for s in sde.state})) / norm)
    q0 = sp.simplify(trace.subs({s: 0 for s in sde.state}))
    if q1.has(*sde.state):
        raise LemmataError("the noise trace is not q0 + q1 |z|^2: the moment equation does not close.")
    t = sp.Symbol("t", nonnegative=True) if t is None else t
    if z0 is None:
        m0 = sp.Symbol("m_0", nonnegative=True)
    elif isinstance(z0, str):
        m0 = parse_expression(z0, name="z0", allow_new_symbols=True)
    elif isinstance(z0, sp.Expr):
        m0 = z0
    else:
        m0 = exact_number(z0, name="z0")
    m = sp.Function("m")
    ode = sp.Eq(m(t).diff(t), -(2 * kappa - q1) * m(t) + q0)
    solution = sp.dsolve(ode, m(t), ics={m(0): m0}).rhs
    return sp.simplify(solution), sp.simplify(kappa), q0, q1


@functools.lru_cache(maxsize=None)
def schedule_solution(alpha) -> Derivation:
    r"""Solution of :math:`u'=-ku/(1+t)^\alpha+c/(1+t)^{2\alpha}`, :math:`u(0)=b`, for the
    step-size schedules :math:`\eta_t=\eta/(1+t)^\alpha`, :math:`\alpha\in\{0,1,\tfrac12\}`
    (the last uses the exponential integral), obtained with SymPy's ``dsolve`` and checked to
    satisfy the ODE and the initial condition."""
    alpha = exact_number(alpha, name="alpha")
    if alpha not in (0, 1, sp.Rational(1, 2)):
        raise ValueError(f"`alpha` must be 0, 1 or 1/2; got {alpha}.")
    t = sp.Symbol("t", nonnegative=True)
    k, c, b = sp.symbols("k c b", positive=True)
    u = sp.Function("u")
    ode = sp.Eq(u(t).diff(t), -k * u(t) / (1 + t) ** alpha + c / (1 + t) ** (2 * alpha))
    # integrating factor mu(t) = exp(int_0^t k/(1+s)^alpha ds): u = (b + int_0^t mu c/(1+s)^(2 alpha)) / mu
    s_ = sp.Symbol("s", nonnegative=True)
    mu = sp.exp(sp.integrate(k / (1 + s_) ** alpha, (s_, 0, t)))
    if alpha == sp.Rational(1, 2):
        # with r = sqrt(1+s): mu c/(1+s) ds = 2c e^{2k(r-1)} dr / r, whose integral is 2c e^{-2k} Ei(2kr)
        integral = 2 * c * sp.exp(-2 * k) * (sp.Ei(2 * k * sp.sqrt(1 + t)) - sp.Ei(2 * k))
    else:
        integral = sp.integrate(sp.powsimp(mu.subs(t, s_) * c / (1 + s_) ** (2 * alpha), force=True),
                                (s_, 0, t), conds="none")
        integral = integral.replace(lambda e: isinstance(e, sp.Piecewise),
                                    lambda e: next(p.expr for p in e.args if p.cond != sp.Eq(k, 1)))
    solution = sp.simplify((b + integral) / mu)
    residual = sp.simplify(sp.diff(solution, t) - ode.rhs.subs(u(t), solution))
    if residual != 0 or sp.simplify(solution.subs(t, 0) - b) != 0:
        raise ArithmeticError(f"the schedule solution for alpha={alpha} does not solve its ODE")
    return Derivation(f"schedule_alpha_{str(alpha).replace('/', '_')}", (t,), (k, c, b),
                      {"u": sp.simplify(solution)}, source=f"{SOURCE}: decaying schedules (derived)")


def quadratic_game(d: int = 1):
    r"""The quadratic game :math:`f=\tfrac a2\|x\|^2+\lambda x^\top y-\tfrac a2\|y\|^2`,
    :math:`x,y\in\mathbb R^d`; returns ``(f, x, y, a, lam)``."""
    d = positive_int("d", d)
    a, lam = sp.symbols("a lam", real=True)
    x = sp.symbols(f"x_1:{d + 1}", real=True)
    y = sp.symbols(f"y_1:{d + 1}", real=True)
    f = sum(a / 2 * xi ** 2 + lam * xi * yi - a / 2 * yi ** 2 for xi, yi in zip(x, y))
    return f, x, y, a, lam


@functools.lru_cache(maxsize=None)
def extra_step_sizes() -> Derivation:
    r"""SEG on the quadratic game: the contraction rate :math:`\kappa(\rho)` (symmetric part of
    the drift matrix is :math:`-\kappa I`), the noise trace per dimension, the stationary
    variance :math:`V(\rho)=[(1-\rho a)^2+\rho^2\lambda^2]/\kappa`, its minimiser
    :math:`\rho^V=1/(a+\lambda)` (a critical point of :math:`V` inside :math:`\kappa>0`) and
    :math:`\rho^H` with :math:`\kappa(\rho^H)=a^2+\lambda^2` (SHGD's rate), all derived from the
    SEG SDE."""
    f, x, y, a, lam = quadratic_game(1)
    sde = seg(f, x, y)
    K, _, Q = linear_structure(sde)
    symmetric = ((K + K.T) / 2).applyfunc(sp.simplify)
    if sp.simplify(symmetric[0, 1]) != 0 or sp.simplify(symmetric[0, 0] - symmetric[1, 1]) != 0:
        raise ArithmeticError("the SEG drift's symmetric part should be a multiple of I")
    kappa = sp.expand(-symmetric[0, 0])
    noise = sp.factor(sp.simplify(Q.trace() / (2 * ETA * SIGMA ** 2)))      # per dimension
    V = noise / kappa
    critical = sp.solve(sp.diff(V, RHO), RHO)
    rho_V = [r for r in critical if sp.simplify(r - 1 / (a + lam)) == 0]
    if not rho_V:
        raise ArithmeticError(f"1/(a+lam) should be a critical point of V; got {critical}")
    rho_H = sp.solve(sp.Eq(kappa, a ** 2 + lam ** 2), RHO)
    return Derivation("extra_step_sizes", (), (a, lam, RHO),
                      {"kappa": kappa, "noise_per_dimension": noise, "V": sp.factor(V),
                       "rho_V": rho_V[0], "kappa_at_rho_V": sp.simplify(kappa.subs(RHO, rho_V[0])),
                       "rho_H": sp.factor(rho_H[0])},
                      (Assumption(lam ** 2 > a ** 2, "lam^2 > a^2 (so that rho_H exists)"),),
                      source=f"{SOURCE}: quadratic game, SEG (derived)")


@functools.lru_cache(maxsize=None)
def multiplicative_window() -> Derivation:
    r"""Bilinear game :math:`f=\lambda xy` with multiplicative noise: the mean-square rates
    :math:`r` with :math:`\mathbb E\|Z_t\|^2=\|z_0\|^2e^{-rt}` of SEG and SHGD, and the roots
    of SEG's rate in :math:`\rho` that bound its convergence window."""
    x, y, lam = sp.symbols("x y lam", real=True)
    f = lam * x * y
    out = {}
    for name, builder in (("seg", seg), ("shgd", shgd)):
        m, kappa, q0, q1 = norm_second_moment(builder(f, x, y, noise="multiplicative"))
        out[f"{name}_rate"] = sp.factor(sp.expand(2 * kappa - q1))
    roots = sp.solve(sp.Eq(out["seg_rate"], 0), RHO)
    out["seg_window_low"], out["seg_window_high"] = sorted(roots, key=lambda r: sp.N(r.subs(
        {lam: 2, ETA: sp.Rational(1, 100), SIGMA: 1})))
    return Derivation("multiplicative_window", (), (lam, ETA, SIGMA, RHO), out,
                      source=f"{SOURCE}: multiplicative noise, bilinear game (derived)")


@functools.lru_cache(maxsize=None)
def seg_discrete_window() -> Derivation:
    r"""Discrete SEG on :math:`f=\lambda xy` contracts in mean iff the spectral radius of
    :math:`G=I-\eta(M-\rho M^2)` is below 1; :math:`|\mathrm{eig}\,G|^2=(1-\eta\rho\lambda^2)^2+\eta^2\lambda^2`,
    so the window is :math:`\eta(1+\rho^2\lambda^2)<2\rho`, i.e. :math:`\rho` between the roots
    returned here (:math:`\approx\eta/2` and :math:`2/(\eta\lambda^2)`). The first-order SDE needs only
    :math:`\rho>0`; the order-2 drift gives the lower threshold :math:`\rho>\eta/2`."""
    lam = sp.Symbol("lam", positive=True)
    M = sp.Matrix([[0, lam], [-lam, 0]])
    G = sp.eye(2) - ETA * (M - RHO * M * M)
    eigen = list(G.eigenvals())
    modulus_sq = sp.simplify(sp.expand(eigen[0] * sp.conjugate(eigen[0])))
    roots = sp.solve(sp.Eq(modulus_sq, 1), RHO)
    roots = sorted(roots, key=lambda r: sp.N(r.subs({lam: 1, ETA: sp.Rational(1, 10)})))
    x, y = sp.symbols("x y", real=True)
    second = seg(lam * x * y, x, y, order=2)
    K, _, _ = linear_structure(second)
    sde_threshold = sp.solve(sp.Eq(sp.simplify(-(K + K.T)[0, 0] / 2), 0), RHO)
    return Derivation("seg_discrete_window", (), (lam, ETA, RHO),
                      {"modulus_sq": modulus_sq, "rho_low": roots[0], "rho_high": roots[-1],
                       "order2_sde_threshold": sde_threshold[0]},
                      source=f"{SOURCE}: discrete SEG window vs the SDE thresholds (derived)")
