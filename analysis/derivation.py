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
from .parsing import exact_number, parse_expression, parse_relation

__all__ = ["Assumption", "Derivation"]

#: ASCII symbol names (``lambda`` is a Python keyword) and how LaTeX should show them
_LATEX_NAMES = {"lam": r"\lambda", "lam_star": r"\lambda^{*}", "epsilon": r"\varepsilon"}


@dataclass(frozen=True)
class Assumption:
    """A hypothesis of a closed form: a SymPy relation and the sentence that states it.

    The relation must stay a real relation: SymPy reduces ``sigma > 0`` to ``True`` when
    ``sigma`` was declared ``positive=True``, and such an assumption could never be checked at a
    point. Build it unevaluated (``sp.Gt(sigma, 0, evaluate=False)``, or :meth:`positive`), from
    plain symbols, or as a string (``"sigma > 0"``, parsed safely by
    :func:`lemmata.analysis.parsing.parse_relation`); a relation that is already ``True`` or
    ``False`` is refused. The relation's symbols are matched to a point *by name*.

    Raises
    ------
    LemmataError
        If the relation is the constant ``True`` or ``False``, or a string that is not a relation.
    TypeError
        If ``relation`` is not a SymPy relation, boolean or string.

    Examples
    --------
    >>> import sympy as sp
    >>> sigma = sp.Symbol("sigma", positive=True)
    >>> a = Assumption.positive(sigma, "the NGN parameter is positive")
    >>> a.holds({"sigma": 2}), a.holds({sigma: -2})
    (True, False)
    """

    relation: sp.Basic
    sentence: str

    def __post_init__(self):
        relation = self.relation
        if isinstance(relation, str):
            relation = parse_relation(relation, name="relation", allow_new_symbols=True)
        elif isinstance(relation, bool):
            relation = sp.true if relation else sp.false
        if not isinstance(relation, sp.logic.boolalg.Boolean):
            raise TypeError(
                f"`relation` must be a SymPy relation or boolean; got {self.relation!r}."
            )
        if relation in (sp.true, sp.false):
            raise LemmataError(
                f"the relation of assumption {self.sentence!r} is always {relation}, so it could never "
                f"be checked at a point (SymPy decides e.g. `sigma > 0` from positive=True when the "
                f"relation is built); build it with evaluate=False, e.g. "
                f"sp.Gt(sigma, 0, evaluate=False) or Assumption.positive(sigma, ...), or as a string."
            )
        if not isinstance(self.sentence, str) or not self.sentence.strip():
            raise TypeError(f"`sentence` must be a non-empty string; got {self.sentence!r}.")
        object.__setattr__(self, "relation", relation)

    @classmethod
    def positive(cls, symbol: sp.Symbol, sentence: str) -> "Assumption":
        """The assumption ``symbol > 0``, kept unevaluated whatever the symbol's flags."""
        return cls(sp.StrictGreaterThan(symbol, 0, evaluate=False), sentence)

    @property
    def names(self) -> frozenset:
        """The names of the relation's symbols."""
        return frozenset(s.name for s in self.relation.free_symbols)

    def holds(self, point: Mapping) -> bool:
        """Whether the relation is true at ``point`` (a mapping from symbols or their names to
        numbers; every symbol of the relation needs a value).

        Raises
        ------
        LemmataError
            If a value is missing, NaN or infinite, or the relation does not reduce to True/False.
        """
        values = {(k.name if isinstance(k, sp.Symbol) else str(k)): v for k, v in point.items()}
        missing = sorted(self.names - set(values))
        if missing:
            raise LemmataError(f"assumption {self.sentence!r} needs values for {missing}.")
        mapping = {s: exact_number(values[s.name], name=f"point[{s.name!r}]")
                   for s in self.relation.free_symbols}
        value = self.relation.xreplace(mapping)
        if value in (sp.true, True):
            return True
        if value in (sp.false, False):
            return False
        raise LemmataError(
            f"cannot decide assumption {self.sentence!r} ({self.relation}) at {dict(point)}: "
            f"it reduces to {value}."
        )

    def substitute(self, values: Mapping) -> "Assumption | None":
        """The assumption with some symbols (by name) replaced by numbers: ``None`` when it then
        holds, :class:`AssumptionError` when it then fails, else the partly substituted one
        (kept unevaluated, so the remaining symbols' flags do not decide it)."""
        values = {(k.name if isinstance(k, sp.Symbol) else str(k)): v for k, v in values.items()}
        if self.names <= set(values):
            if self.holds(values):
                return None
            raise AssumptionError(f"the values {values} violate the assumption {self.sentence!r}.")
        mapping = {s: values[s.name] for s in self.relation.free_symbols if s.name in values}
        if not mapping:
            return self
        return Assumption(_substitute_unevaluated(self.relation, mapping), self.sentence)


def _substitute_unevaluated(relation, mapping):
    if isinstance(relation, sp.core.relational.Relational):
        return relation.func(*(arg.xreplace(mapping) for arg in relation.args), evaluate=False)
    if isinstance(relation, (sp.And, sp.Or, sp.Not)):
        return relation.func(*(_substitute_unevaluated(a, mapping) for a in relation.args),
                             evaluate=False)
    return relation.xreplace(mapping)


def _as_symbol_tuple(name: str, value) -> tuple[sp.Symbol, ...]:
    if isinstance(value, sp.Symbol):
        value = (value,)
    symbols = tuple(value)
    for s in symbols:
        if not isinstance(s, sp.Symbol):
            raise TypeError(f"`{name}` must hold SymPy Symbols; got {s!r} of type {type(s).__name__}.")
    return symbols


def _as_expression(name: str, value, symbols):
    if isinstance(value, sp.MatrixBase):
        return sp.ImmutableMatrix(value)
    if isinstance(value, (list, tuple)):
        return sp.ImmutableMatrix([[_as_expression(name, v, symbols) for v in row]
                                   if isinstance(row, (list, tuple)) else [_as_expression(name, row, symbols)]
                                   for row in value])
    if isinstance(value, str):      # parsed, never evaluated; names are the declared symbols
        return parse_expression(value, name=f"expressions[{name!r}]", symbols=symbols)
    if isinstance(value, sp.Basic):
        expr = value
    else:
        expr = exact_number(value, name=f"expressions[{name!r}]", allow_complex=True)
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
            expr = _as_expression(key, value, symbols)
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
            unknown = sorted(a.names - set(names))
            if unknown:
                raise LemmataError(f"assumption {a.sentence!r} of derivation {self.name!r} uses "
                                   f"{unknown}, which are not symbols of it; declare them in "
                                   f"`inputs` or `params`.")
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
        by_name = {s.name: s for s in self.symbols}
        for symbol, value in mapping.items():
            if isinstance(value, str):
                mapping[symbol] = parse_expression(value, name=f"values[{symbol.name!r}]",
                                                   symbols=by_name)
            elif not isinstance(value, sp.Basic):
                mapping[symbol] = exact_number(value, name=f"values[{symbol.name!r}]",
                                               allow_complex=True)
        fixed = set(mapping)
        numbers = {s.name: v for s, v in mapping.items() if v.is_number}
        symbolic = {s.name: v for s, v in mapping.items() if not v.is_number}
        assumptions = []
        for a in self.assumptions:
            kept = a.substitute(numbers)        # raises AssumptionError when a fixed value violates it
            if kept is not None and kept.names & set(symbolic):
                kept = Assumption(_substitute_unevaluated(
                    kept.relation, {s: symbolic[s.name] for s in kept.relation.free_symbols
                                    if s.name in symbolic}), kept.sentence)
            if kept is not None:
                assumptions.append(kept)
        return Derivation(
            name or self.name,
            tuple(s for s in self.inputs if s not in fixed),
            tuple(s for s in self.params if s not in fixed),
            {k: v.xreplace(mapping) for k, v in self.expressions.items()},
            tuple(assumptions),
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
        """The sentences of the assumptions that fail at ``point`` (empty when all hold).

        An assumption is checked when ``point`` gives a value to each of its symbols. The flags
        of the symbols are assumptions too (the closed forms were simplified under them): a
        value of a ``positive=True`` symbol must be > 0, of a ``nonnegative`` one >= 0, of a
        ``real`` one real, of an ``integer`` one an integer. Values
        are converted by :func:`lemmata.analysis.parsing.exact_number`: NaN, infinities and
        non-numbers raise :class:`LemmataError` naming the symbol (``point['f']``)."""
        mapping = self._resolve(point, require_all=False)
        values = {s.name: exact_number(v, name=f"point[{s.name!r}]", allow_complex=True)
                  for s, v in mapping.items()}
        violated = [a.sentence for a in self.assumptions
                    if a.names <= set(values) and not a.holds(values)]
        violated += [sentence for s in self.symbols if s.name in values
                     for sentence in _flag_violations(s, values[s.name])]
        return violated

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
        exact = {s: exact_number(v, name=f"point[{s.name!r}]", allow_complex=True)
                 for s, v in mapping.items()}
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


_FLAGS = (("positive", lambda v: v > 0, "positive"), ("nonnegative", lambda v: v >= 0, "non-negative"),
          ("negative", lambda v: v < 0, "negative"), ("nonpositive", lambda v: v <= 0, "non-positive"),
          ("integer", lambda v: v.is_integer, "an integer"))


def _flag_violations(symbol, value) -> list:
    """Sentences for the flags of ``symbol`` that the exact number ``value`` contradicts."""
    out = []
    real = value.is_real if value.is_real is not None else sp.im(value.evalf(30)) == 0
    if symbol.is_real and not real:
        return [f"{symbol.name} is real (declared on the symbol); got {value}"]
    for flag, test, words in _FLAGS:
        if symbol.assumptions0.get(flag) and real and not bool(test(value)):
            out.append(f"{symbol.name} is {words} (declared on the symbol); got {value}")
            break           # the strongest flag only: positive implies non-negative
    return out


def _to_mpmath(value):
    value = sp.sympify(value, strict=True)
    if not value.is_number:
        raise LemmataError(f"expression did not reduce to a number: {value}.")
    re, im = value.as_real_imag()
    if im == 0:
        return mpmath.mpf(str(sp.Float(re, mpmath.mp.dps)))
    return mpmath.mpc(str(sp.Float(re, mpmath.mp.dps)), str(sp.Float(im, mpmath.mp.dps)))
