r"""abc-parametrisations (SP, NTP, muP, Depth-muP) as SymPy tables, and the closed-form two-layer
linear network on one example of arXiv:2402.17457 (Noci, Meterez, Hofmann, Orvieto; NeurIPS 2024).

Convention (the official code's "scaled layers"). Layer l of an MLP stores a raw weight W_l with
entries ~ N(0, init_std_l^2) and uses W_eff = multiplier_l * W_l in the forward pass; SGD on the
raw weight uses the physical learning rate eta * sgd_lr_l (Adam: eta * adam_lr_l). So

    init variance of W_eff = (multiplier_l init_std_l)^2,   SGD rate on W_eff = multiplier_l^2 sgd_lr_l.

With gamma = gamma_0 sqrt(n / n_0) (n_0 the base width), the tables are

=========  ========================================  ==================================  =======
scheme     multiplier (input, hidden, readout)       init_std                            sgd_lr
=========  ========================================  ==================================  =======
SP         1, 1, 1                                   g/sqrt(d), g/sqrt(n), 1/sqrt(n)     1
NTP        g/sqrt(d), g/sqrt(n), 1/sqrt(n)           1                                   1
muP        g/sqrt(d), g/sqrt(n), 1/(sqrt(n) gamma)   1                                   gamma^2
Depth-muP  as muP; residual branches x beta/sqrt(L)  as muP                              gamma^2
=========  ========================================  ==================================  =======

(g the activation gain, sqrt 2 for ReLU layers.) Adam moves every raw coordinate by O(eta adam_lr)
whatever the gradient's scale, so its rates are the wanted effective update divided by the
multiplier: effective rates 1 (input), n_0/n (hidden and readout) under muP (Yang & Hu, Tensor
Programs V, Table 3), and the block weights' rate divided by sqrt(L) under Depth-muP (Tensor
Programs VI); SP and NTP keep one rate. The brief notes the paper's own Adam table is unconfirmed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import sympy as sp

from .derivation import Assumption, Derivation
from .errors import LemmataError

__all__ = ["SCHEMES", "LayerRule", "ParametrizationTable", "table", "two_layer_linear"]

SCHEMES = ("sp", "ntp", "mup", "depth_mup")

n, d, L = sp.symbols("n d L", positive=True)
gamma0, n0, beta, g = sp.symbols("gamma_0 n_0 beta g", positive=True)
SOURCE = "arXiv:2402.17457, section 1 (official code's scaled-layer convention)"


@dataclass(frozen=True)
class LayerRule:
    """One layer's rules: ``kind`` is ``"input"``, ``"hidden"`` or ``"readout"``; every other
    field is a SymPy expression in n, d, L, gamma_0, n_0, beta, g."""

    kind: str
    fan_in: sp.Expr
    init_std: sp.Expr
    multiplier: sp.Expr
    sgd_lr: sp.Expr
    adam_lr: sp.Expr

    @property
    def effective_init_variance(self) -> sp.Expr:
        return sp.simplify((self.multiplier * self.init_std) ** 2)

    @property
    def effective_sgd_lr(self) -> sp.Expr:
        """The SGD rate seen by W_eff: multiplier^2 * sgd_lr."""
        return sp.simplify(self.multiplier ** 2 * self.sgd_lr)

    @property
    def effective_adam_lr(self) -> sp.Expr:
        """The Adam step on W_eff per unit raw step: multiplier * adam_lr."""
        return sp.simplify(self.multiplier * self.adam_lr)

    def to_dict(self) -> dict:
        return {name: sp.sstr(getattr(self, name)) for name in
                ("fan_in", "init_std", "multiplier", "sgd_lr", "adam_lr")} | {"kind": self.kind}


@dataclass(frozen=True)
class ParametrizationTable:
    """Per-layer rules of an ``n_layers``-layer network (``n_layers - 1`` hidden layers of width
    n after an input of dimension d), and the residual-branch multiplier (1 when there are no
    residual branches; beta/sqrt(L) under Depth-muP, L = number of residual blocks)."""

    scheme: str
    n_layers: int
    layers: tuple
    residual_multiplier: sp.Expr
    symbols: tuple = field(default=(n, d, L, gamma0, n0, beta, g), repr=False)

    def __repr__(self) -> str:
        return f"ParametrizationTable({self.scheme!r}, n_layers={self.n_layers})"

    def evaluate(self, *, width, input_dim, n_blocks=None, gamma_0=1.0, base_width=1.0,
                 beta_=1.0, gain=1.0) -> list:
        """The rules as floats: one dict per layer (fields of :class:`LayerRule`, plus
        ``"residual_multiplier"``)."""
        point = {n: width, d: input_dim, L: n_blocks if n_blocks is not None else max(self.n_layers - 2, 1),
                 gamma0: gamma_0, n0: base_width, beta: beta_, g: gain}
        rows = []
        for layer in self.layers:
            row = {"kind": layer.kind}
            for name in ("fan_in", "init_std", "multiplier", "sgd_lr", "adam_lr"):
                row[name] = float(getattr(layer, name).subs(point))
            rows.append(row)
        res = float(self.residual_multiplier.subs(point))
        for row in rows:
            row["residual_multiplier"] = res
        return rows

    def derivation(self) -> Derivation:
        """The table as a :class:`Derivation` (one expression per layer and rule, and the
        effective rates), for ``lemmata derive parametrization``."""
        exprs = {}
        for i, layer in enumerate(self.layers, start=1):
            for name in ("init_std", "multiplier", "sgd_lr", "adam_lr", "effective_init_variance",
                         "effective_sgd_lr", "effective_adam_lr"):
                exprs[f"{name}_{i}_{layer.kind}"] = getattr(layer, name)
        exprs["residual_multiplier"] = self.residual_multiplier
        used = set().union(*(e.free_symbols for e in exprs.values()))
        params = tuple(s for s in self.symbols if s in used)
        return Derivation(f"parametrization-{self.scheme}", (), params, exprs,
                          (Assumption.positive(n, "the width is positive"),),
                          source=f"{SOURCE}; {self.scheme} table for {self.n_layers} layers")

    def latex(self) -> str:
        head = r"\begin{tabular}{lllll} layer & init std & multiplier & SGD lr & Adam lr \\ \hline"
        rows = [f"{i} ({layer.kind}) & ${sp.latex(layer.init_std)}$ & ${sp.latex(layer.multiplier)}$ & "
                f"${sp.latex(layer.sgd_lr)}$ & ${sp.latex(layer.adam_lr)}$ \\\\"
                for i, layer in enumerate(self.layers, start=1)]
        return "\n".join([head, *rows, r"\end{tabular}"])

    def to_dict(self) -> dict:
        return {"scheme": self.scheme, "n_layers": self.n_layers,
                "layers": [layer.to_dict() for layer in self.layers],
                "residual_multiplier": sp.sstr(self.residual_multiplier)}


def table(scheme: str, n_layers: int, *, gain=None) -> ParametrizationTable:
    r"""The abc-parametrisation of an ``n_layers``-layer network under ``scheme``.

    Parameters
    ----------
    scheme : {"sp", "ntp", "mup", "depth_mup"}
    n_layers : int
        Number of weight matrices, >= 2 (input layer, n_layers - 2 hidden layers, readout).
    gain : SymPy expression or number, optional
        The activation gain of the non-readout layers (sqrt 2 for ReLU, 1 for tanh or linear);
        default the symbol g.

    Returns
    -------
    ParametrizationTable

    Raises
    ------
    ValueError
        For an unknown scheme or ``n_layers`` < 2.
    """
    return _table(scheme, n_layers, gain)


@functools.lru_cache(maxsize=64)
def _table(scheme, n_layers, gain) -> ParametrizationTable:
    """Build (once per arguments) the table of :func:`table`."""
    if scheme not in SCHEMES:
        raise ValueError(f"`scheme` must be one of {', '.join(map(repr, SCHEMES))}; got {scheme!r}.")
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 2:
        raise ValueError(f"`n_layers` must be an integer >= 2; got {n_layers!r}.")
    if scheme == "depth_mup" and n_layers < 3:
        raise ValueError(f"`n_layers` must be >= 3 for 'depth_mup' (it needs a residual block); got {n_layers}.")
    gain_ = g if gain is None else sp.sympify(gain)
    gamma = gamma0 * sp.sqrt(n / n0)
    one = sp.Integer(1)
    layers = []
    for i in range(n_layers):
        kind = "input" if i == 0 else ("readout" if i == n_layers - 1 else "hidden")
        fan_in = d if kind == "input" else n
        gl = one if kind == "readout" else gain_
        if scheme == "sp":
            rule = (gl / sp.sqrt(fan_in), one, one, one)
        elif scheme == "ntp":
            rule = (one, gl / sp.sqrt(fan_in), one, one)
        else:
            mult = 1 / (sp.sqrt(fan_in) * gamma) if kind == "readout" else gl / sp.sqrt(fan_in)
            wanted = one if kind == "input" else n0 / n          # Adam's effective rate (TP5)
            adam = wanted / mult
            if scheme == "depth_mup" and kind == "hidden":
                adam = adam / sp.sqrt(L)
            rule = (one, mult, gamma ** 2, adam)
        init_std, mult, sgd, adam = rule
        layers.append(LayerRule(kind, fan_in, sp.simplify(init_std), sp.simplify(mult),
                                sp.simplify(sgd), sp.simplify(adam)))
    residual = beta / sp.sqrt(L) if scheme == "depth_mup" else one
    return ParametrizationTable(scheme, n_layers, tuple(layers), residual)


# ------------------------------------------------------------------------------ two-layer linear
def two_layer_linear(scheme: str, *, components: int = 3) -> Derivation:
    r"""The two-layer linear network on one example (brief section 2.7), derived.

    Model: u = W x_hat in R^n (||x_hat|| = 1), readout v in R^n, f = c (u . v), loss
    (f - y)^2 / 2, gradient flow with learning-rate multiplier mu on both layers:
    du/dt = -mu c r v, dv/dt = -mu c r u with r = f - y (the chain rule through u = W x_hat
    with ||x_hat|| = 1). With p = u.v, q = ||u||^2 + ||v||^2 the derivation

    1. computes dp/dt = -mu c r q and dq/dt = -4 mu c r p from the vector field on
       ``components``-dimensional symbolic u, v (the identities involve only inner products, so
       they hold for every n);
    2. verifies that ||u||^2 - ||v||^2 and q^2 - 4 p^2 have zero time derivative;
    3. solves r = 0 for p* = y / c, hence q* = sqrt(q_0^2 - 4 p_0^2 + 4 p*^2);
    4. forms the preconditioned Gauss-Newton sharpness S = mu c^2 q (the squared norm of
       grad_theta f is c^2 (||v||^2 ||x_hat||^2 + ||u||^2) = c^2 q) and its n -> oo limit from a
       typical start q_0 = 2 n, p_0 = 0 (u, v ~ N(0, I_n)).

    Parameters
    ----------
    scheme : {"mup", "ntp"}
        muP: c = 1/(gamma_0 n), mu = gamma_0^2 n (base width 1); NTP: c = 1/sqrt(n), mu = 1.
    components : int
        Dimension of the symbolic vectors used in step 1 (>= 2).

    Returns
    -------
    Derivation
        Expressions ``dp_dt``, ``dq_dt``, ``d_balance_dt`` and ``d_invariant_dt`` (both 0),
        ``p_star``, ``q_star``, ``S`` (as a function of q), ``S_star`` and ``S_star_limit``.
    """
    if scheme not in ("mup", "ntp"):
        raise ValueError(f"`scheme` must be 'mup' or 'ntp'; got {scheme!r}.")
    if isinstance(components, bool) or not isinstance(components, int) or components < 2:
        raise ValueError(f"`components` must be an integer >= 2; got {components!r}.")
    y, p, q, p_0, q_0 = sp.symbols("y p q p_0 q_0", real=True)
    c = 1 / (gamma0 * n) if scheme == "mup" else 1 / sp.sqrt(n)
    mu = gamma0 ** 2 * n if scheme == "mup" else sp.Integer(1)
    u = sp.Matrix(sp.symbols(f"u_1:{components + 1}", real=True))
    v = sp.Matrix(sp.symbols(f"v_1:{components + 1}", real=True))
    pe, qe = (u.T * v)[0], (u.T * u)[0] + (v.T * v)[0]
    # the state enters the vector field only through the residual dl/df = f - y: keep it a
    # symbol R, so the identities below hold for any loss of f (and are polynomial in u, v, R)
    R = sp.Symbol("R", real=True)
    du, dv = -mu * c * R * v, -mu * c * R * u
    time_derivative = lambda expr: sp.expand(sum(sp.diff(expr, a) * b for a, b in zip(list(u) + list(v), list(du) + list(dv))))  # noqa: E731
    dp, dq = time_derivative(pe), time_derivative(qe)
    r_pq = c * p - y
    coefficient_p = sp.cancel(dp / (R * sp.expand(qe)))
    coefficient_q = sp.cancel(dq / (R * pe))
    if (coefficient_p.free_symbols | coefficient_q.free_symbols) & (set(u) | set(v) | {R}):
        raise LemmataError("the derivation of dp/dt and dq/dt through (p, q) failed.")
    dp_pq, dq_pq = coefficient_p * r_pq * q, coefficient_q * r_pq * p
    d_balance = sp.simplify(time_derivative((u.T * u)[0] - (v.T * v)[0]))
    d_invariant = sp.simplify(time_derivative(qe ** 2 - 4 * pe ** 2))
    p_star = sp.solve(sp.Eq(r_pq, 0), p)[0]
    q_star = sp.sqrt(q_0 ** 2 - 4 * p_0 ** 2 + 4 * p_star ** 2)
    S = sp.simplify(mu * c ** 2 * q)
    S_star = sp.simplify(S.subs(q, q_star))
    S_limit = sp.simplify(sp.limit(S_star.subs({q_0: 2 * n, p_0: 0}), n, sp.oo))
    return Derivation(
        f"two-layer-linear-{scheme}", (p, q), (y, n, gamma0, p_0, q_0) if scheme == "mup" else (y, n, p_0, q_0),
        {"dp_dt": dp_pq, "dq_dt": dq_pq, "d_balance_dt": d_balance, "d_invariant_dt": d_invariant,
         "p_star": p_star, "q_star": q_star, "S": S, "S_star": S_star, "S_star_limit": S_limit},
        (Assumption.positive(n, "the width is positive"),),
        source="arXiv:2402.17457 brief section 2.7 (derived): two-layer linear net on one example, "
               "gradient flow")
