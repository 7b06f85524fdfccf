"""Numerically stable rewrites, declared as rules.

Each :class:`RewriteRule` recognises a pattern that loses accuracy in floating point and
replaces it with a function that does not:

=============================  ===========================  ==================================
pattern                        replacement                  why
=============================  ===========================  ==================================
``log(exp(a) + exp(b))``       ``logaddexp(a, b)``          no overflow of ``exp`` for large a
``log(1 + exp(x))``            ``logaddexp(0, x)``          softplus; no overflow
``log(1 + x)``                 ``log1p(x)``                 no cancellation for small x
``exp(x) - 1``                 ``expm1(x)``                 no cancellation for small x
=============================  ===========================  ==================================

The rules only touch SymPy expressions, so they live in ``analysis``; the code generator in
``numerics`` applies :data:`STABLE_REWRITES` before printing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.codegen.numpy_nodes import logaddexp

__all__ = ["RewriteRule", "STABLE_REWRITES", "apply_rewrites", "log1p", "expm1", "logaddexp"]


@dataclass(frozen=True)
class RewriteRule:
    """A named rewrite: ``query(node)`` selects nodes, ``replace(node)`` gives the new node."""

    name: str
    description: str
    query: Callable[[sp.Basic], bool]
    replace: Callable[[sp.Basic], sp.Basic]

    def __post_init__(self):
        if not (isinstance(self.name, str) and self.name):
            raise TypeError(f"`name` must be a non-empty string; got {self.name!r}.")
        for field_name in ("query", "replace"):
            if not callable(getattr(self, field_name)):
                raise TypeError(f"`{field_name}` must be callable; got {getattr(self, field_name)!r}.")

    def apply(self, expr: sp.Basic) -> sp.Basic:
        return expr.replace(self.query, self.replace)


def _exp_argument(term: sp.Basic):
    """``a`` if ``term`` is ``exp(a)`` (``1`` counts as ``exp(0)``), else None."""
    if term == 1:
        return sp.Integer(0)
    if isinstance(term, sp.exp):
        return term.args[0]
    if term.is_Pow and term.base == sp.E:
        return term.exp
    return None


def _is_log_of_two_exps(node) -> bool:
    if not (isinstance(node, sp.log) and node.args[0].is_Add and len(node.args[0].args) == 2):
        return False
    args = [_exp_argument(t) for t in node.args[0].args]
    return all(a is not None for a in args) and not all(a == 0 for a in args)


def _log_of_two_exps(node):
    a, b = (_exp_argument(t) for t in node.args[0].args)
    return logaddexp(a, b)


def _is_log_one_plus(node) -> bool:
    return isinstance(node, sp.log) and node.args[0].is_Add and sp.S.One in node.args[0].args


def _is_exp_minus_one(node) -> bool:
    return (node.is_Add and sp.S.NegativeOne in node.args
            and any(_exp_argument(t) is not None and t != 1 for t in node.args))


def _exp_minus_one(node):
    terms = list(node.args)
    terms.remove(sp.S.NegativeOne)
    exp_term = next(t for t in terms if _exp_argument(t) is not None and t != 1)
    terms.remove(exp_term)
    return sp.Add(expm1(_exp_argument(exp_term)), *terms)


STABLE_REWRITES: tuple = (
    RewriteRule("logaddexp", "log(exp(a) + exp(b)) -> logaddexp(a, b), including softplus",
                _is_log_of_two_exps, _log_of_two_exps),
    RewriteRule("log1p", "log(1 + x) -> log1p(x)",
                _is_log_one_plus, lambda node: log1p(node.args[0] - 1)),
    RewriteRule("expm1", "exp(x) - 1 -> expm1(x)", _is_exp_minus_one, _exp_minus_one),
)


def apply_rewrites(expr, rules=STABLE_REWRITES):
    """Apply ``rules`` in order to ``expr`` (an expression or a Matrix) and return the result.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> apply_rewrites(sp.log(1 + sp.exp(x)))
    logaddexp(0, x)
    >>> apply_rewrites(sp.exp(x) - 1)
    expm1(x)
    """
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: apply_rewrites(e, rules))
    if not isinstance(expr, sp.Basic):
        raise TypeError(f"`expr` must be a SymPy expression or Matrix; got {type(expr).__name__} "
                        f"(parse strings with lemmata.analysis.parsing.parse_expression).")
    rules = tuple(rules)
    for rule in rules:
        if not isinstance(rule, RewriteRule):
            raise TypeError(f"`rules` must hold RewriteRule objects; got {rule!r}.")
    for rule in rules:
        expr = rule.apply(expr)
    return expr
