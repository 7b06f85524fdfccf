"""Small validators used at public boundaries. Messages follow the house style:
"`name` must <requirement>; got <value>."
"""

from __future__ import annotations

import math
from numbers import Integral, Real

__all__ = ["positive_finite", "nonnegative_finite", "positive_int", "one_of"]


def _is_real(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def positive_finite(name: str, value) -> float:
    """Return ``float(value)`` if it is a finite number > 0, else raise ``ValueError``."""
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be positive and finite; got {value!r}.")
    return float(value)


def nonnegative_finite(name: str, value) -> float:
    """Return ``float(value)`` if it is a finite number >= 0, else raise ``ValueError``."""
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be non-negative and finite; got {value!r}.")
    return float(value)


def positive_int(name: str, value) -> int:
    """Return ``value`` if it is an integer >= 1, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
    return int(value)


def one_of(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError``."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {options}; got {value!r}.")
    return value
