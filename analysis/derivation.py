"""`Derivation`: a named set of closed forms with their symbols, hypotheses and provenance.

A derivation is the unit that travels through lemmata: ``analysis`` builds it with SymPy,
``lemmata.numerics.compile_kernel`` turns it into a fast kernel, and the theorem checks compare that
kernel (or a simulation) with :meth:`Derivation.evaluate`, a high-precision mpmath reference.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import mpmath
import sympy as sp

from .errors import AssumptionError, LemmataError

__all__ = ["Assumption", "Derivation"]

#: ASCII symbol names (``lambda`` is a Python keyword) and how LaTeX should show them
_LATEX_NAMES = {"lam": r"\lambda", "lam_star": r"\lambda^{*}", "epsilon": r"\varepsilon"}


@dataclass(frozen=True)
class Assumption:
    """A hypothesis of a closed form: a SymPy relation and the sentence that states it.

    Examples
    --------
    >>> import sympy as sp
    >>> sigma = sp.Symbol("sigma")
    >>> Assumption(sigma > 0, "the NGN parameter is positive").holds({sigma: 2})
    True
    """

    relation: sp.Basic
    sentence: str

    def __post_init__(self):
        relation = sp.sympify(self.relation)
        if not isinstance(relation, sp.logic.boolalg.Boolean):
            raise TypeError(
                f"`relation` must be a SymPy relation or boolean; got {self.relation!r}."
            )
        object.__setattr__(self, "relation", relation)

    def holds(self, point: Mapping) -> bool:
        """Whether the relation is true at ``point`` (a mapping from symbols to numbers)."""
        value = self.relation.xreplace({s: _exact_number(v, 30) for s, v in point.items()})
        if value in (sp.true, True):
            return True
        if value in (sp.false, False):
            return False
        raise LemmataError(
            f"cannot decide assumption {self.sentence!r} ({self.relation}) at {dict(point)}: "
            f"it reduces to {value}."
        )


def _as_symbol_tuple(name: str, value) -> tuple[sp.Symbol, ...]:
    if isinstance(value, sp.Symbol):
        value = (value,)
    symbols = tuple(value)
    for s in symbols:
        if not isinstance(s, sp.Symbol):
            raise TypeError(f"`{name}` must hold SymPy Symbols; got {s!r} of type {type(s).__name__}.")
    return symbols


def _as_expression(name: str, value):
    if isinstance(value, sp.MatrixBase):
        return sp.ImmutableMatrix(value)
    if isinstance(value, (list, tuple)):
        return sp.ImmutableMatrix(value)
    expr = sp.sympify(value)
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"expression {name!r} must be a SymPy expression or Matrix; got {value!r}.")
    return expr


@dataclass(frozen=True, eq=False)
class Derivation:
    """Named closed-form expressions in declared symbols.

    Parameters
    ----------
    name : str
        Short identifier, e.g. ``"ngn_stepsize"``.
    inputs : sequence of Symbol
        The state or data symbols, in the order a compiled kernel takes them.
    params : sequence of Symbol
        The parameters, taken by a compiled kernel after the inputs.
    expressions : Expr, Matrix or mapping of str to Expr/Matrix
        The closed forms. A single expression is stored under ``name``.
    assumptions : sequence of Assumption
        Hypotheses under which the closed forms hold.
    source : str
        Where the mathematics comes from (paper and equation, or "derived").

    Raises
    ------
    LemmataError
        If an expression has a free symbol that is neither an input nor a parameter, a symbol
        is declared twice, or an expression name is not a Python identifier.

    Examples
    --------
    >>> import sympy as sp
    >>> f, g2, sigma = sp.symbols("f g2 sigma", positive=True)
    >>> d = Derivation("step", (f, g2), (sigma,), sigma / (1 + sigma * g2 / (2 * f)))
    >>> float(d.evaluate({"f": 1.0, "g2": 2.0, "sigma": 1.0})["step"])
    0.5
    """

    name: str
    inputs: tuple
    params: tuple = ()
    expressions: Mapping = field(default_factory=dict)
    assumptions: tuple = ()
    source: str = ""

    def __post_init__(self):
        inputs = _as_symbol_tuple("inputs", self.inputs)
        params = _as_symbol_tuple("params", self.params)
        symbols = inputs + params
        names = [s.name for s in symbols]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise LemmataError(f"symbols declared more than once in `inputs`/`params`: {duplicates}.")
        raw = self.expressions
        if not isinstance(raw, Mapping):
            raw = {self.name: raw}
        if not raw:
            raise LemmataError("`expressions` must hold at least one expression; got none.")
        expressions = {}
        for key, value in raw.items():
            if not (isinstance(key, str) and key.isidentifier()):
                raise LemmataError(f"expression names must be Python identifiers; got {key!r}.")
            expr = _as_expression(key, value)
            undeclared = expr.free_symbols - set(symbols)
            if undeclared:
                raise LemmataError(
                    f"expression {key!r} of derivation {self.name!r} has undeclared symbols "
                    f"{sorted(map(str, undeclared))}; declare them in `inputs` or `params`."
                )
            expressions[key] = expr
        assumptions = tuple(self.assumptions)
        for a in assumptions:
            if not isinstance(a, Assumption):
                raise TypeError(f"`assumptions` must hold Assumption objects; got {a!r}.")
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "expressions", MappingProxyType(expressions))
        object.__setattr__(self, "assumptions", assumptions)

    # ------------------------------------------------------------------ access
    @property
    def symbols(self) -> tuple:
        """Inputs then parameters: the argument order of a compiled kernel."""
        return self.inputs + self.params

    @property
    def names(self) -> tuple:
        """The names of the expressions, in declaration order."""
        return tuple(self.expressions)

    def __getitem__(self, name: str):
        try:
            return self.expressions[name]
        except KeyError:
            raise KeyError(
                f"derivation {self.name!r} has no expression {name!r}; it has {list(self.names)}."
            ) from None

    @property
    def fingerprint(self) -> str:
        """A hash of the mathematical content, stable across processes."""
        payload = sp.srepr((self.name, self.inputs, self.params, tuple(self.expressions.items())))
        return hashlib.sha256(payload.encode()).hexdigest()[:20]

    def subs(self, values: Mapping, name: str | None = None) -> "Derivation":
        """A new derivation with some parameters replaced by numbers (or expressions in the
        remaining symbols)."""
        mapping = self._resolve(values, require_all=False)
        fixed = set(mapping)
        return Derivation(
            name or self.name,
            tuple(s for s in self.inputs if s not in fixed),
            tuple(s for s in self.params if s not in fixed),
            {k: v.xreplace(mapping) for k, v in self.expressions.items()},
            tuple(a for a in self.assumptions if not a.relation.free_symbols <= fixed),
            self.source,
        )

    # ---------------------------------------------------------------- printing
    def latex(self, names=None) -> str:
        r"""The closed forms as a LaTeX ``aligned`` block, one ``name &= expr`` line each."""
        names = self.names if names is None else tuple(names)
        symbol_names = {s: _LATEX_NAMES[s.name] for s in self.symbols if s.name in _LATEX_NAMES}
        lines = []
        for n in names:
            label = r"\mathrm{" + n.replace("_", r"\_") + "}"
            lines.append(f"{label} &= {sp.latex(self[n], symbol_names=symbol_names)}")
        body = " \\\\\n".join(lines)
        return "\\begin{aligned}\n" + body + "\n\\end{aligned}"

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"

    def __repr__(self) -> str:
        exprs = ", ".join(f"{k}={v}" for k, v in self.expressions.items())
        return (f"Derivation({self.name!r}, inputs={list(map(str, self.inputs))}, "
                f"params={list(map(str, self.params))}, {exprs})")

    # -------------------------------------------------------------- evaluation
    def _resolve(self, point: Mapping, require_all: bool = True) -> dict:
        by_name = {s.name: s for s in self.symbols}
        mapping = {}
        for key, value in point.items():
            symbol = by_name.get(key.name if isinstance(key, sp.Symbol) else key)
            if symbol is None:
                raise LemmataError(
                    f"`point` names {key!s}, which is not a symbol of derivation {self.name!r} "
                    f"(symbols: {sorted(by_name)})."
                )
            mapping[symbol] = value
        if require_all:
            missing = [s.name for s in self.symbols if s not in mapping]
            if missing:
                raise LemmataError(f"`point` is missing values for {missing}.")
        return mapping

    def check_assumptions(self, point: Mapping) -> list:
        """The sentences of the assumptions that fail at ``point`` (empty when all hold)."""
        mapping = self._resolve(point, require_all=False)
        return [a.sentence for a in self.assumptions
                if a.relation.free_symbols <= set(mapping) and not a.holds(mapping)]

    def evaluate(self, point: Mapping, dps: int = 50, *, strict: bool = True) -> dict:
        """Evaluate every expression at ``point`` with ``dps`` significant digits (mpmath).

        Floats in ``point`` are taken as the exact binary numbers they are, so the result is the
        correctly rounded value of the closed form at exactly the point a float kernel sees.

        Parameters
        ----------
        point : mapping of Symbol or str to number
            A value for every symbol of the derivation.
        dps : int
            Decimal digits of working precision.
        strict : bool
            Raise :class:`AssumptionError` when an assumption fails at ``point``.

        Returns
        -------
        dict of str to ``mpmath.mpf``/``mpmath.mpc``/``mpmath.matrix``
        """
        mapping = self._resolve(point)
        if strict:
            violated = self.check_assumptions(mapping)
            if violated:
                raise AssumptionError(f"`point` violates the assumptions of {self.name!r}: {violated}.")
        exact = {s: _exact_number(v, dps) for s, v in mapping.items()}
        results = {}
        with mpmath.workdps(dps):
            for key, expr in self.expressions.items():
                substituted = expr.xreplace(exact)
                if isinstance(substituted, sp.MatrixBase):
                    rows = [[_to_mpmath(x.evalf(dps)) for x in substituted.row(i)]
                            for i in range(substituted.rows)]
                    results[key] = mpmath.matrix(rows)
                else:
                    results[key] = _to_mpmath(substituted.evalf(dps))
        return results


def _exact_number(value, dps: int):
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, complex):
        return _exact_number(value.real, dps) + sp.I * _exact_number(value.imag, dps)
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return sp.Integer(value)
    if hasattr(value, "dtype") and getattr(value, "ndim", 0) == 0:
        return _exact_number(value.item(), dps)
    if isinstance(value, float):
        return sp.Rational(value)  # the exact binary value of the float
    if isinstance(value, (mpmath.mpf, mpmath.mpc)):
        return sp.sympify(value)
    return sp.sympify(value)


def _to_mpmath(value):
    value = sp.sympify(value)
    if not value.is_number:
        raise LemmataError(f"expression did not reduce to a number: {value}.")
    re, im = value.as_real_imag()
    if im == 0:
        return mpmath.mpf(str(sp.Float(re, mpmath.mp.dps)))
    return mpmath.mpc(str(sp.Float(re, mpmath.mp.dps)), str(sp.Float(im, mpmath.mp.dps)))
