r"""Safe parsing of user text into SymPy objects, and the one conversion of numbers to exact ones.

Every string a user hands to lemmata (``lemmata derive sde --game``, ``--at`` values,
``--points``, CSV cells, strings given to :class:`~lemmata.analysis.derivation.Derivation` or to
the SDE builders) goes through :func:`parse_expression`, :func:`parse_relation` or
:func:`parse_number`. Nothing is evaluated: the text is parsed by Python's :mod:`ast` in
``eval`` mode, every node is checked against a whitelist, and the SymPy object is built from the
tree by this module's own converter (no ``eval``, no ``sympify`` of a string). Accepted:

* numbers: integers and decimals, taken *exactly* from their text (``0.1`` is 1/10, ``1e-3`` is
  1/1000), with a bounded exponent;
* names: the declared symbols, the constants :data:`CONSTANTS` (``pi``, ``E``), and, when
  ``allow_new_symbols`` is true, any other identifier that does not start with ``_``;
* calls of the functions in :data:`FUNCTIONS` (``exp``, ``log``, ``sqrt``, ``sin``, ...) with
  positional arguments only;
* ``+ - * / **`` (``^`` is read as ``**``, as SymPy's parser does), unary ``+``/``-``, and, in
  :func:`parse_relation` only, the comparisons ``< <= > >=`` (chains become a conjunction).

Everything else (attribute access, subscripts, dunder names, lambdas, comprehensions, f-strings,
string literals, keywords, ``*args``, calls of anything outside the whitelist) is refused with a
:class:`~lemmata.analysis.errors.LemmataError` that names the argument and the construct.

:func:`exact_number` is the single conversion of a Python, NumPy, mpmath or SymPy number (or a
numeric string) to an exact SymPy number: a float becomes the rational it is exactly (its binary
value), NaN and infinities are refused with the argument's name.
"""

from __future__ import annotations

import ast
import math
import numbers
from decimal import Decimal
from fractions import Fraction
from typing import Iterable, Mapping

import sympy as sp

from .errors import LemmataError

__all__ = ["FUNCTIONS", "CONSTANTS", "MAX_TEXT_LENGTH", "parse_expression", "parse_relation",
           "parse_number", "exact_number", "exact_numbers"]

#: The functions a user expression may call (name -> SymPy function).
FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
    "asin": sp.asin, "acos": sp.acos, "atan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh,
    "tanh": sp.tanh, "Abs": sp.Abs, "abs": sp.Abs, "sign": sp.sign, "erf": sp.erf,
    "Max": sp.Max, "Min": sp.Min,
}

#: Named constants a user expression may use.
CONSTANTS = {"pi": sp.pi, "E": sp.E}

#: Longest text accepted (characters): longer input is refused before parsing.
MAX_TEXT_LENGTH = 10_000

#: Largest decimal exponent of a number literal (``1e400`` is accepted, ``1e401`` is not).
MAX_EXPONENT = 400

#: Largest number of decimal digits a power of two numbers may produce when evaluated exactly.
MAX_POWER_DIGITS = 4_000

_NONFINITE_SPELLINGS = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity",
                        "-infinity", "oo", "+oo", "-oo", "zoo"}

_BINARY = {ast.Add: sp.Add, ast.Mult: sp.Mul}
_COMPARE = {ast.Lt: sp.StrictLessThan, ast.LtE: sp.LessThan, ast.Gt: sp.StrictGreaterThan,
            ast.GtE: sp.GreaterThan}
_DESCRIBE = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambda",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions", ast.JoinedStr: "f-strings", ast.FormattedValue: "f-strings",
    ast.List: "lists", ast.Tuple: "tuples", ast.Dict: "dicts", ast.Set: "sets",
    ast.BoolOp: "and/or", ast.IfExp: "conditional expressions", ast.NamedExpr: "assignments",
    ast.Starred: "starred arguments", ast.Await: "await", ast.Yield: "yield",
}


def _refuse(name: str, text: str, what: str):
    return LemmataError(f"`{name}` must be {what}; got {_show(text)}.")


def _show(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


class _Converter:
    """Builds SymPy objects from a whitelisted ``ast`` tree (no evaluation of Python code)."""

    def __init__(self, name, text, symbols, functions, allow_new_symbols, new_symbol, relations, kind):
        self.name, self.text, self.kind = name, text, kind
        self.symbols, self.functions = symbols, functions
        self.allow_new_symbols, self.new_symbol = allow_new_symbols, new_symbol
        self.relations = relations
        self.created = {}

    def fail(self, what):
        raise LemmataError(f"`{self.name}` must be {self.kind} ({what}); got {_show(self.text)}.")

    def convert(self, node):
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            self.fail(f"{_DESCRIBE.get(type(node), type(node).__name__)} not allowed")
        return method(node)

    def visit_Expression(self, node):
        return self.convert(node.body)

    def visit_Constant(self, node):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "string literals" if isinstance(value, (str, bytes)) else f"the constant {value!r}"
            self.fail(f"{kind} not allowed")
        if isinstance(value, int):
            return sp.Integer(value)
        segment = ast.get_source_segment(self.text, node) or ""
        return _decimal_literal(self.name, self.text, segment)

    def visit_Name(self, node):
        ident = node.id
        if ident.startswith("_"):
            self.fail(f"the name {ident!r} (names starting with '_' are not allowed)")
        if ident in self.symbols:
            return self.symbols[ident]
        if ident in CONSTANTS:
            return CONSTANTS[ident]
        if ident in self.functions:
            self.fail(f"the function {ident!r} used without arguments")
        if ident.lower() in _NONFINITE_SPELLINGS:
            self.fail(f"{ident!r} is not a finite number")
        if not self.allow_new_symbols:
            known = sorted(self.symbols)
            self.fail(f"unknown name {ident!r}; the symbols are {known}" if known
                      else f"unknown name {ident!r}; no symbols are allowed here")
        if ident not in self.created:
            self.created[ident] = self.new_symbol(ident)
        return self.created[ident]

    def visit_UnaryOp(self, node):
        operand = self.convert(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        self.fail(f"the operator {type(node.op).__name__} not allowed")

    def visit_BinOp(self, node):
        left, right = self.convert(node.left), self.convert(node.right)
        op = type(node.op)
        if op is ast.Add:
            return left + right
        if op is ast.Sub:
            return left - right
        if op is ast.Mult:
            return left * right
        if op is ast.Div:
            return left / right
        if op in (ast.Pow, ast.BitXor):
            self.check_power(left, right)
            return left ** right
        self.fail(f"the operator {op.__name__} not allowed")

    def check_power(self, base, exponent):
        # SymPy computes a rational power of a number at once: refuse ones with too many digits
        if not (base.is_number and exponent.is_Rational):
            return
        if base.is_Rational:
            size = math.log10(max(abs(base.p), abs(base.q)))
        else:
            magnitude = sp.Abs(base).evalf(15)
            if magnitude == 0 or not magnitude.is_finite:
                return
            size = abs(float(sp.log(magnitude, 10).evalf(15)))
        digits = abs(float(exponent)) * size
        if digits > MAX_POWER_DIGITS:
            self.fail(f"a power with about {digits:.3g} digits; at most {MAX_POWER_DIGITS} are allowed")

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name):
            self.fail("calls of anything but a whitelisted function name not allowed")
        ident = node.func.id
        if ident not in self.functions:
            self.fail(f"a call of {ident!r}; the allowed functions are {sorted(self.functions)}")
        if node.keywords:
            self.fail("keyword arguments not allowed")
        if not node.args:
            self.fail(f"{ident}() without arguments")
        args = [self.convert(a) for a in node.args]
        try:
            return self.functions[ident](*args)
        except (TypeError, ValueError) as exc:
            self.fail(f"{ident} cannot take these arguments: {exc}")

    def visit_Compare(self, node):
        if not self.relations:
            self.fail("comparisons not allowed")
        operands = [self.convert(node.left)] + [self.convert(c) for c in node.comparators]
        parts = []
        for op, lhs, rhs in zip(node.ops, operands, operands[1:]):
            relation = _COMPARE.get(type(op))
            if relation is None:
                self.fail(f"the comparison {type(op).__name__} (use <, <=, >, >=)")
            parts.append(relation(lhs, rhs, evaluate=False))
        return parts[0] if len(parts) == 1 else sp.And(*parts, evaluate=False)


def _decimal_literal(name, text, segment):
    literal = segment.replace("_", "").lower()
    mantissa, _, exponent = literal.partition("e")
    try:
        power = int(exponent) if exponent else 0
    except ValueError:
        raise LemmataError(f"`{name}` has a number literal that cannot be read: {_show(segment)}.") from None
    if abs(power) > MAX_EXPONENT:
        raise LemmataError(f"`{name}` has a number with exponent {power}; at most {MAX_EXPONENT} in "
                           f"magnitude is allowed; got {_show(text)}.")
    if literal.endswith("j"):
        raise LemmataError(f"`{name}` must be real; got {_show(text)}.")
    try:
        return sp.Rational(mantissa) * sp.Integer(10) ** power
    except (TypeError, ValueError):
        raise LemmataError(f"`{name}` has a number literal that cannot be read: {_show(segment)}.") from None


def _symbol_table(symbols) -> dict:
    if symbols is None:
        return {}
    if isinstance(symbols, Mapping):
        items = list(symbols.items())
    else:
        if isinstance(symbols, sp.Symbol):
            symbols = (symbols,)
        items = [(s.name, s) for s in symbols]
    table = {}
    for key, symbol in items:
        if not isinstance(symbol, sp.Symbol):
            raise TypeError(f"`symbols` must hold SymPy Symbols; got {symbol!r}.")
        table[str(key)] = symbol
    return table


def _parse(text, name, symbols, functions, allow_new_symbols, new_symbol, relations,
           kind="an accepted expression"):
    if not isinstance(text, str):
        raise TypeError(f"`{name}` must be a string; got {type(text).__name__}.")
    if len(text) > MAX_TEXT_LENGTH:
        raise LemmataError(f"`{name}` is too long ({len(text)} characters; at most "
                           f"{MAX_TEXT_LENGTH} are accepted).")
    stripped = text.strip()
    if not stripped:
        raise LemmataError(f"`{name}` must be an expression; got an empty string.")
    if stripped.lower() in _NONFINITE_SPELLINGS:
        raise LemmataError(f"`{name}` must be finite; got {stripped}.")
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        raise LemmataError(f"`{name}` must be {kind} ({exc.msg}); got {_show(text)}.") from None
    except (ValueError, MemoryError, RecursionError) as exc:   # null bytes, huge literals, nesting
        raise LemmataError(f"`{name}` cannot be parsed ({type(exc).__name__}: {exc}); "
                           f"got {_show(text)}.") from None
    converter = _Converter(name, stripped, _symbol_table(symbols), dict(functions), allow_new_symbols,
                           new_symbol or (lambda n: sp.Symbol(n)), relations, kind)
    try:
        return converter.convert(tree)
    except RecursionError:
        raise LemmataError(f"`{name}` is nested too deeply; got {_show(text)}.") from None


def parse_expression(text: str, *, name: str, symbols=None, functions: Mapping = FUNCTIONS,
                     allow_new_symbols: bool = False, new_symbol=None) -> sp.Expr:
    """Parse ``text`` into a SymPy expression without evaluating any Python code.

    Parameters
    ----------
    text : str
        The user's text, e.g. ``"a/2*x**2 + lam*x*y"``.
    name : str
        The argument's name, used in error messages (``"--game"``, ``"expressions['f']"``).
    symbols : mapping of str to Symbol, or iterable of Symbol, optional
        The names that denote symbols (with their assumptions, e.g. ``positive=True``).
    functions : mapping of str to SymPy function
        The callable names; default :data:`FUNCTIONS`.
    allow_new_symbols : bool
        Whether other identifiers become new symbols (made by ``new_symbol(name)``, default a
        plain ``Symbol``); otherwise they are refused.

    Returns
    -------
    sympy.Expr

    Raises
    ------
    LemmataError
        For text that is not an accepted expression (see the module docstring), naming ``name``.
    TypeError
        If ``text`` is not a string.

    Examples
    --------
    >>> parse_expression("x**2/2 + 0.1*x", name="f", allow_new_symbols=True)
    x**2/2 + x/10
    """
    expr = _parse(text, name, symbols, functions, allow_new_symbols, new_symbol, relations=False)
    if not isinstance(expr, sp.Expr):
        raise LemmataError(f"`{name}` must be an expression; got {_show(text)}.")
    return expr


def parse_relation(text: str, *, name: str, symbols=None, functions: Mapping = FUNCTIONS,
                   allow_new_symbols: bool = False, new_symbol=None):
    """Parse a relation such as ``"sigma > 0"`` or ``"0 < r <= 1"`` into an *unevaluated* SymPy
    relation (a chain becomes an ``And``), so that a symbol's flags (``positive=True``) do not
    reduce it to ``True`` before it is checked at a point. Same rules and errors as
    :func:`parse_expression`."""
    relation = _parse(text, name, symbols, functions, allow_new_symbols, new_symbol, relations=True,
                      kind="a relation such as 'sigma > 0'")
    if not isinstance(relation, sp.logic.boolalg.Boolean):
        raise LemmataError(f"`{name}` must be a relation such as 'sigma > 0'; got {_show(text)}.")
    return relation


def parse_number(text: str, *, name: str) -> sp.Expr:
    """Parse ``text`` into an exact, finite, real SymPy number.

    Decimals are exact (``"0.1"`` is 1/10, ``"1e-3"`` is 1/1000); ``"1/3"``, ``"-2"`` and
    constant expressions (``"pi/4"``, ``"sqrt(2)"``) are accepted; symbols, NaN, infinities and
    complex values are refused.

    Raises
    ------
    LemmataError
        Naming ``name``: "`--at sigma` must be finite; got nan."

    Examples
    --------
    >>> parse_number("0.1", name="x")
    1/10
    """
    value = _parse(text, name, None, FUNCTIONS, False, None, relations=False, kind="a number")
    return _check_number(name, value, text)


def _check_number(name, value, shown):
    if not isinstance(value, sp.Expr) or not value.is_number:
        raise LemmataError(f"`{name}` must be a number; got {shown!r}.")
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo) or value.is_finite is False:
        raise LemmataError(f"`{name}` must be finite; got {shown!r} (= {value}).")
    if value.is_real is False or (value.is_real is None and sp.im(value.evalf(30)) != 0):
        raise LemmataError(f"`{name}` must be real; got {shown!r} (= {value}).")
    return value


def exact_number(value, *, name: str, allow_complex: bool = False) -> sp.Expr:
    """The exact SymPy number of ``value``; the one conversion used at every boundary.

    A ``float`` (or NumPy floating scalar) becomes the rational it is exactly (``0.1`` is
    3602879701896397/36028797018963968: the binary number a float kernel sees); integers,
    ``Fraction`` and ``Decimal`` are exact; a string goes through :func:`parse_number` (``"0.1"``
    is 1/10); a SymPy number is returned unchanged after the checks. NaN and infinities are never
    turned into numbers.

    Parameters
    ----------
    value : number or str
    name : str
        The argument's name for error messages, e.g. ``"point['f']"``.
    allow_complex : bool
        Accept complex values (each part finite).

    Raises
    ------
    LemmataError
        "`point['f']` must be finite; got nan." and the like.
    TypeError
        For a bool or an object that is not a number.
    """
    if isinstance(value, bool):
        raise TypeError(f"`{name}` must be a number; got the bool {value!r}.")
    if isinstance(value, str):
        return parse_number(value, name=name)
    if isinstance(value, sp.Basic):
        if not isinstance(value, sp.Expr):
            raise TypeError(f"`{name}` must be a number; got {value!r}.")
        if allow_complex and value.is_number:
            re, im = value.as_real_imag()
            _check_number(name, re, value)
            _check_number(name, im, value)
            return value
        return _check_number(name, value, value)
    if hasattr(value, "dtype") and hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return exact_number(value.item(), name=name, allow_complex=allow_complex)
    if isinstance(value, numbers.Integral):
        return sp.Integer(int(value))
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise LemmataError(f"`{name}` must be finite; got {value}.")
        return sp.Rational(str(value))
    if isinstance(value, complex) or (isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real)):
        value = complex(value)
        if not allow_complex:
            if value.imag != 0:
                raise LemmataError(f"`{name}` must be real; got {value!r}.")
            return exact_number(value.real, name=name)
        return (exact_number(value.real, name=name)
                + sp.I * exact_number(value.imag, name=name))
    mpmath_kind = type(value).__module__.startswith("mpmath")
    if mpmath_kind:
        import mpmath

        if not mpmath.isfinite(value):
            raise LemmataError(f"`{name}` must be finite; got {value}.")
        if isinstance(value, mpmath.mpc):
            if not allow_complex and value.imag != 0:
                raise LemmataError(f"`{name}` must be real; got {value}.")
            real, imag = _binary_rational(value.real), _binary_rational(value.imag)
            return real + sp.I * imag if allow_complex else real
        return _binary_rational(value)
    if isinstance(value, numbers.Real) or hasattr(value, "__float__"):
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise TypeError(f"`{name}` must be a number; got {value!r}.") from exc
        if not math.isfinite(number):
            raise LemmataError(f"`{name}` must be finite; got {number!r}.")
        return sp.Rational(number)      # the exact binary value of the float
    raise TypeError(f"`{name}` must be a number; got {value!r} of type {type(value).__name__}.")


def _binary_rational(value):
    """The exact rational of a finite ``mpmath.mpf`` (mantissa times a power of two)."""
    mantissa, exponent = value.man_exp
    return sp.Integer(mantissa) * sp.Integer(2) ** exponent


def exact_numbers(values: Iterable, *, name: str) -> list:
    """:func:`exact_number` of each entry, named ``name[i]``."""
    return [exact_number(v, name=f"{name}[{i}]") for i, v in enumerate(values)]
