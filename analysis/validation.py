"""Small validators used at public boundaries. Messages follow the house style:
"`name` must <requirement>; got <value>."

They accept any real number type without importing NumPy: Python ``int``/``float``,
``fractions.Fraction``, ``decimal.Decimal``, NumPy scalars of every real dtype (``np.float32(0.01)``
is positive and finite) and 0-d arrays, through ``numbers.Real``, ``__index__`` and
``__float__``. ``bool`` (a flag, not a number), NaN and infinities are refused; so are complex
numbers and strings.
"""

from __future__ import annotations

import math
import numbers
from decimal import Decimal

__all__ = ["positive_finite", "nonnegative_finite", "positive_int", "nonnegative_int", "one_of"]


def _is_bool(value) -> bool:
    return isinstance(value, bool) or type(value).__name__ in ("bool_", "bool")


def _real(name: str, value, requirement: str) -> float:
    """``float(value)`` for a real, non-bool number, else ``ValueError`` with ``requirement``."""
    if _is_bool(value) or isinstance(value, (str, bytes, complex)):
        raise ValueError(f"`{name}` must be {requirement}; got {value!r}.")
    if getattr(value, "ndim", 0) != 0 or getattr(value, "dtype", None) is not None and \
            getattr(value.dtype, "kind", "f") not in "iuf":
        raise ValueError(f"`{name}` must be {requirement}; got {value!r}.")
    if not isinstance(value, (numbers.Real, Decimal)) and not hasattr(value, "__float__"):
        raise ValueError(f"`{name}` must be {requirement}; got {value!r}.")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"`{name}` must be {requirement}; got {value!r}.") from None
    return number


def positive_finite(name: str, value) -> float:
    """Return ``float(value)`` if it is a finite number > 0, else raise ``ValueError``."""
    requirement = "positive and finite"
    number = _real(name, value, requirement)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"`{name}` must be {requirement}; got {value!r}.")
    return number


def nonnegative_finite(name: str, value) -> float:
    """Return ``float(value)`` if it is a finite number >= 0, else raise ``ValueError``."""
    requirement = "non-negative and finite"
    number = _real(name, value, requirement)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"`{name}` must be {requirement}; got {value!r}.")
    return number


def _integer(name: str, value, requirement: str) -> int:
    if _is_bool(value) or isinstance(value, float):
        raise ValueError(f"`{name}` must be {requirement}; got {value!r}.")
    if getattr(value, "ndim", 0) != 0:
        raise ValueError(f"`{name}` must be {requirement}; got {value!r}.")
    try:
        return int(value.__index__())          # int, NumPy integers, 0-d integer arrays
    except (AttributeError, TypeError):
        raise ValueError(f"`{name}` must be {requirement}; got {value!r}.") from None


def positive_int(name: str, value) -> int:
    """Return ``int(value)`` if it is an integer >= 1 (NumPy integers included), else raise
    ``ValueError``."""
    number = _integer(name, value, "a positive integer")
    if number < 1:
        raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
    return number


def nonnegative_int(name: str, value) -> int:
    """Return ``int(value)`` if it is an integer >= 0 (NumPy integers included), else raise
    ``ValueError``."""
    number = _integer(name, value, "a non-negative integer")
    if number < 0:
        raise ValueError(f"`{name}` must be a non-negative integer; got {value!r}.")
    return number


def one_of(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError``."""
    try:
        ok = value in choices
    except (TypeError, ValueError):     # unhashable, or an array whose truth is ambiguous
        ok = False
    if not ok:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {options}; got {value!r}.")
    return value
