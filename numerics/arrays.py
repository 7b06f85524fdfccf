r"""The array boundary of :mod:`lemmata.numerics` and :mod:`lemmata.graphs`: one function,
:func:`as_array`, turns what a user hands over into a NumPy array or refuses it with a message that
names the argument, states what was expected and shows what was received; a few scalar checks
that accept NumPy scalars wherever Python numbers are accepted; the warning category for
non-finite results.

Accepted array-likes: lists and tuples (rectangular, numbers only), NumPy arrays and scalars of a
real dtype (booleans, integers and floats of any width; complex where the caller allows it), and
pandas ``Series``/``DataFrame`` objects, whose *values* are used (a DataFrame is a 2-D table,
rows are samples; iterating over it would yield the column names, which is never what is meant).
Refused: object and string dtypes, ragged nesting, the wrong number of dimensions, too few
entries, and NaN or infinity unless the caller allows non-finite values.

Every refusal is an :class:`InvalidArrayError` (a ``LemmataError`` and a ``ValueError``) or, for
a value of the wrong kind, an :class:`ArrayTypeError` (a ``LemmataError`` and a ``TypeError``).
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Number, Real

import numpy as np

from lemmata.analysis.errors import LemmataError

__all__ = ["as_array", "real_scalar", "integer", "InvalidArrayError", "ArrayTypeError", "LemmataWarning",
           "NonFiniteWarning", "warn_if_nonfinite"]


class InvalidArrayError(LemmataError, ValueError):
    """An argument has the wrong shape, too few entries, or values outside what is allowed."""


class ArrayTypeError(LemmataError, TypeError):
    """An argument is not an array-like of numbers (object or string dtype, a dict, ...)."""


class LemmataWarning(UserWarning):
    """Base class of the warnings lemmata's numerics emit."""


class NonFiniteWarning(LemmataWarning, RuntimeWarning):
    """A computation produced inf or NaN from finite inputs (overflow), or propagated non-finite
    inputs that the caller allowed."""


def _describe(value) -> str:
    """What was received: type, and shape and dtype when it has them."""
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    kind = type(value).__name__
    if shape is not None and dtype is not None:
        return f"{kind} of shape {tuple(shape)} and dtype {dtype}"
    if shape is not None:
        return f"{kind} of shape {tuple(shape)}"
    if isinstance(value, (list, tuple)):
        return f"{kind} of length {len(value)}"
    text = repr(value)
    return f"{kind} {text if len(text) <= 60 else text[:57] + '...'}"


def _unwrap(value):
    """pandas objects -> their values (without importing pandas)."""
    module = type(value).__module__ or ""
    if module.startswith("pandas") and hasattr(value, "to_numpy"):
        if type(value).__name__ == "DataFrame":
            kinds = {np.dtype(t).kind if isinstance(t, np.dtype) else "O" for t in value.dtypes}
            if kinds - set("biufc"):
                raise ArrayTypeError(f"the DataFrame has non-numeric columns "
                                     f"{[c for c, t in value.dtypes.items() if not isinstance(t, np.dtype) or t.kind not in 'biufc'][:5]}")
        return value.to_numpy()
    return value


def as_array(value, *, name: str, ndim=None, dtype=np.float64, complex_ok: bool = False,
             finite: bool = True, min_size: int = 1) -> np.ndarray:
    """``value`` as a NumPy array, after checking it.

    Parameters
    ----------
    value : array-like
        A list or tuple of numbers (rectangular), a NumPy array or scalar, a pandas Series or
        DataFrame (its values).
    name : str
        The argument's name, used in every message.
    ndim : int or tuple of int, optional
        The allowed numbers of dimensions.
    dtype : numpy dtype or None
        The result dtype; ``None`` keeps a floating (or, with ``complex_ok``, complex) dtype and
        turns booleans and integers into float64. With ``complex_ok`` and a real ``dtype``, a
        complex input becomes complex128 instead of being refused.
    complex_ok : bool
        Accept complex values.
    finite : bool
        Refuse NaN and infinity (the default).
    min_size : int
        The least number of entries.

    Raises
    ------
    ArrayTypeError
        Not an array-like of numbers (object or string dtype, None, a dict, ...).
    InvalidArrayError
        Ragged nesting, the wrong number of dimensions, fewer than ``min_size`` entries, complex
        values where they are not allowed, or non-finite values where they are not allowed.

    Examples
    --------
    >>> as_array([[1, 2], [3, 4]], name="X", ndim=2).dtype
    dtype('float64')
    >>> as_array([1.0, float("nan")], name="y")
    Traceback (most recent call last):
    ...
    lemmata.numerics.arrays.InvalidArrayError: `y` must be finite; got 1 NaN and 0 infinite entries out of 2 (list of length 2).
    """
    received = _describe(value)
    try:
        raw = _unwrap(value)
    except ArrayTypeError as exc:
        raise ArrayTypeError(f"`{name}` must hold numbers; {exc} ({received}).") from None
    if raw is None or isinstance(raw, (str, bytes, dict, set)):
        raise ArrayTypeError(f"`{name}` must be an array of numbers; got {received}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # NumPy's ComplexWarning etc.: we decide below
            arr = np.asarray(raw)
    except (ValueError, TypeError) as exc:
        if "inhomogeneous" in str(exc) or "sequence" in str(exc):
            raise InvalidArrayError(f"`{name}` must be a rectangular array; got ragged nesting "
                                    f"({received}).") from None
        raise ArrayTypeError(f"`{name}` must be an array of numbers; got {received} ({exc}).") from None
    kind = arr.dtype.kind
    if kind == "O":
        # numbers held as objects (Fractions, SymPy numbers, a pandas object column) are
        # converted; None, strings and other objects are refused (NumPy would turn None into NaN)
        for v in arr.ravel():
            if isinstance(v, (list, tuple, np.ndarray)):
                raise InvalidArrayError(f"`{name}` must be a rectangular array; got ragged nesting ({received}).")
            if isinstance(v, (str, bytes)) or not isinstance(v, (Number, np.number, np.bool_)):
                raise ArrayTypeError(f"`{name}` must be an array of numbers; got {received} holding "
                                     f"{type(v).__name__} {v!r:.40}.")
        try:
            arr = np.asarray(raw, dtype=np.complex128 if complex_ok else np.float64)
        except (ValueError, TypeError):
            raise ArrayTypeError(f"`{name}` must be an array of numbers; got {received} holding "
                                 "non-numeric entries or ragged nesting.") from None
        kind = arr.dtype.kind
    if kind not in "biufc":
        raise ArrayTypeError(f"`{name}` must be an array of numbers; got {received} (as an array: dtype "
                             f"{arr.dtype}).")
    if kind == "c" and not complex_ok:
        raise InvalidArrayError(f"`{name}` must be real; got complex values ({received}).")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(n) for n in allowed)
            raise InvalidArrayError(f"`{name}` must be {want}-dimensional; got {received} "
                                    f"({arr.ndim}-dimensional).")
    if arr.size < min_size:
        raise InvalidArrayError(f"`{name}` must have at least {min_size} entr{'y' if min_size == 1 else 'ies'}; "
                                f"got {received}.")
    if dtype is None:
        target = arr.dtype if kind in "fc" else np.dtype(np.float64)
    else:
        target = np.dtype(dtype)
        if kind == "c" and target.kind != "c":
            target = np.dtype(np.complex128)
    if arr.dtype != target:
        with np.errstate(over="ignore"):
            arr = arr.astype(target)
    if finite and arr.size:
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(arr)
        if not ok.all():
            n_nan = int(np.isnan(arr).sum())
            raise InvalidArrayError(f"`{name}` must be finite; got {n_nan} NaN and {int(arr.size - ok.sum() - n_nan)} "
                                    f"infinite entries out of {arr.size} ({received}).")
    return arr


def real_scalar(name: str, value, *, positive: bool = False, nonnegative: bool = False,
                finite: bool = True, low=None, high=None) -> float:
    """``float(value)`` for a real number (Python or NumPy scalar, or a 0-d array), checked.

    Raises
    ------
    ArrayTypeError
        Not a real number (a bool, a string, a complex number, an array with more than one entry).
    InvalidArrayError
        Not finite, not positive / non-negative, or outside ``[low, high]``.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.floating, np.integer)):
        raise ArrayTypeError(f"`{name}` must be a real number; got {_describe(value)}.")
    x = float(value)
    if finite and not math.isfinite(x):
        raise InvalidArrayError(f"`{name}` must be finite; got {value!r}.")
    if positive and not x > 0:
        raise InvalidArrayError(f"`{name}` must be positive{' and finite' if finite else ''}; got {value!r}.")
    if nonnegative and not x >= 0:
        raise InvalidArrayError(f"`{name}` must be non-negative{' and finite' if finite else ''}; got {value!r}.")
    if low is not None and not x >= low or high is not None and not x <= high:
        raise InvalidArrayError(f"`{name}` must lie in [{low}, {high}]; got {value!r}.")
    return x


def integer(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``int(value)`` for an integer (Python or NumPy), at least ``minimum`` and at most ``maximum``.

    Floats are refused, also integral ones (``n_steps=10.0``), so that a fractional value is never
    truncated silently.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Integral, np.integer)):
        raise ArrayTypeError(f"`{name}` must be an integer; got {_describe(value)}.")
    n = int(value)
    if minimum is not None and n < minimum:
        need = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
        raise InvalidArrayError(f"`{name}` must be {need}; got {value!r}.")
    if maximum is not None and n > maximum:
        raise InvalidArrayError(f"`{name}` must be an integer <= {maximum}; got {value!r}.")
    return n


def warn_if_nonfinite(result, what: str, *, stacklevel: int = 3) -> bool:
    """Warn (:class:`NonFiniteWarning`) when ``result`` holds inf or NaN; return whether it is
    finite. One reduction first (a finite sum means every entry is finite), the element-wise
    count only when the sum is not finite, so the common case costs one pass without allocation."""
    arr = np.asarray(result)
    if arr.dtype.kind not in "biufc":
        raise ArrayTypeError(f"`result` must be an array of numbers; got {_describe(result)}.")
    if arr.size == 0:
        return True
    with np.errstate(all="ignore"):
        total = arr.sum()
    if np.isfinite(total):
        return True
    with np.errstate(all="ignore"):
        bad = int(arr.size - np.isfinite(arr).sum())
    if bad == 0:                     # the sum overflowed, the entries did not
        return True
    warnings.warn(f"{what} produced {bad} non-finite values out of {arr.size} (overflow to inf or NaN, "
                  "or non-finite inputs); the result is not reliable there.", NonFiniteWarning,
                  stacklevel=stacklevel)
    return False
