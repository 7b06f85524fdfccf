r"""Exact truncated tensor algebra and path signatures (arXiv:2402.19047, selective SSMs and
signatures).

A truncated tensor over the alphabet ``{1..d}`` is a dict ``{word: coefficient}`` with words as
tuples of letters; coefficients are SymPy numbers or expressions (exact). The signature of a
piecewise-linear path is the product (Chen's identity) of the exponentials of its increments:

.. math::

    S(X)_{[0,T]}=\exp(\Delta_1)\otimes\exp(\Delta_2)\otimes\cdots,\qquad
    \exp(\Delta)=\sum_{n\ge0}\Delta^{\otimes n}/n!.

Level-k blocks are ordered like iisignature's: words in lexicographic order within each level,
levels concatenated, no leading 1 (:func:`flatten`). The log-signature is expressed in the Lyndon
basis with the standard bracketing (Lyndon words by level, then lexicographically).
"""

from __future__ import annotations

import functools
import itertools

import sympy as sp

from .errors import LemmataError
from .parsing import exact_number
from .validation import nonnegative_int, positive_int

__all__ = ["words", "product", "exp", "log", "shuffle", "signature", "flatten", "lyndon_words",
           "lyndon_bracket", "logsignature", "truncate"]


def _check(d, depth):
    return positive_int("d", d), positive_int("depth", depth)


def words(d: int, depth: int) -> list:
    """All words of length 1..depth over ``{1..d}``: by level, lexicographic within a level."""
    d, depth = _check(d, depth)
    return [w for k in range(1, depth + 1) for w in itertools.product(range(1, d + 1), repeat=k)]


def _tensor(name, a) -> dict:
    """Check that ``a`` is a truncated tensor: a dict from words (tuples) to coefficients."""
    if not isinstance(a, dict):
        raise TypeError(f"`{name}` must be a dict {{word: coefficient}}; got {type(a).__name__}.")
    for w in a:
        if not isinstance(w, tuple):
            raise TypeError(f"`{name}` keys must be words (tuples of letters); got {w!r}.")
    return a


def truncate(a: dict, depth: int) -> dict:
    """The terms of ``a`` of length <= ``depth`` (zeros dropped)."""
    _tensor("a", a)
    depth = nonnegative_int("depth", depth)
    return {w: c for w, c in a.items() if len(w) <= depth and c != 0}


def product(a: dict, b: dict, depth: int) -> dict:
    """Truncated concatenation product :math:`(a\\otimes b)_w=\\sum_{uv=w}a_ub_v`."""
    _tensor("a", a), _tensor("b", b)
    depth = nonnegative_int("depth", depth)
    out: dict = {}
    for u, cu in a.items():
        for v, cv in b.items():
            if len(u) + len(v) <= depth:
                w = u + v
                out[w] = out.get(w, 0) + cu * cv
    return {w: sp.simplify(c) if isinstance(c, sp.Basic) and not c.is_number else c
            for w, c in out.items() if c != 0}


def exp(x: dict, depth: int) -> dict:
    """:math:`\\exp(x)=\\sum_{n=0}^{depth}x^{\\otimes n}/n!` for ``x`` without a constant term."""
    _tensor("x", x)
    depth = nonnegative_int("depth", depth)
    if x.get((), 0) != 0:
        raise LemmataError("exp needs a tensor without constant term (the empty word).")
    result = {(): sp.Integer(1)}
    term = {(): sp.Integer(1)}
    for n in range(1, depth + 1):
        term = {w: c / n for w, c in product(term, x, depth).items()}
        for w, c in term.items():
            result[w] = result.get(w, 0) + c
    return truncate(result, depth) | {(): sp.Integer(1)}


def log(a: dict, depth: int) -> dict:
    """:math:`\\log(a)=\\sum_{n\\ge1}(-1)^{n+1}(a-1)^{\\otimes n}/n` for ``a`` with constant term 1."""
    _tensor("a", a)
    depth = nonnegative_int("depth", depth)
    if sp.simplify(a.get((), 0) - 1) != 0:
        raise LemmataError("log needs a tensor with constant term 1 (a group-like element).")
    x = {w: c for w, c in a.items() if w != ()}
    result: dict = {}
    power = {(): sp.Integer(1)}
    for n in range(1, depth + 1):
        power = product(power, x, depth)
        for w, c in power.items():
            result[w] = result.get(w, 0) + sp.Integer(-1) ** (n + 1) * c / n
    return {w: exact_number(c, name=f"a[{w}]") if isinstance(c, float) else c
            for w, c in result.items() if c != 0}


@functools.lru_cache(maxsize=None)
def shuffle(u: tuple, v: tuple) -> dict:
    """The shuffle product of two words: ``{word: multiplicity}`` (u ⧢ v)."""
    if not u:
        return {v: 1}
    if not v:
        return {u: 1}
    out: dict = {}
    for w, c in shuffle(u[:-1], v).items():
        out[w + (u[-1],)] = out.get(w + (u[-1],), 0) + c
    for w, c in shuffle(u, v[:-1]).items():
        out[w + (v[-1],)] = out.get(w + (v[-1],), 0) + c
    return out


def _as_points(points):
    """Rows of exact coordinates: SymPy expressions kept, numbers by
    :func:`~lemmata.analysis.parsing.exact_number` (a float is the binary number it is; NaN and
    infinities refused), array-likes read through ``tolist()``."""
    if hasattr(points, "tolist") and not isinstance(points, sp.Basic):
        points = points.tolist()
    if isinstance(points, (str, bytes)) or not hasattr(points, "__iter__"):
        raise TypeError(f"`points` must be a sequence of points; got {type(points).__name__}.")
    rows = []
    for i, p in enumerate(points):
        if isinstance(p, (str, bytes)) or not hasattr(p, "__iter__"):
            raise TypeError(f"`points[{i}]` must be a sequence of coordinates; got {p!r}.")
        rows.append([c if isinstance(c, sp.Expr) and not c.is_number
                     else exact_number(c, name=f"points[{i}][{j}]") for j, c in enumerate(p)])
    if not rows:
        raise LemmataError("a path needs at least one point; got none.")
    d = len(rows[0])
    if d < 1 or any(len(r) != d for r in rows):
        raise LemmataError("all points must have the same, positive dimension.")
    return rows, d


#: Most words (d + d^2 + ... + d^depth) an exact signature is computed for: beyond it the exact
#: products take hours (8190 words, d = 2 and depth 12, take about 15 s).
MAX_WORDS = 200_000


def _check_size(d, depth):
    count = sum(d ** k for k in range(1, depth + 1))
    if count > MAX_WORDS:
        raise LemmataError(f"`depth` {depth} in dimension {d} gives {count} words; exact signatures are "
                           f"computed for at most {MAX_WORDS} words.")


def signature(points, depth: int) -> dict:
    """Exact signature of the piecewise-linear path through ``points`` (rows of coordinates).

    A single point is a path of length zero, whose signature is the trivial one ``{(): 1}``.
    Floats are the binary numbers they are (``0.1`` is not 1/10; pass ``sp.Rational(1, 10)``).

    Raises
    ------
    LemmataError
        If there is no point, the points have different dimensions, or a coordinate is NaN/inf.
    """
    depth = positive_int("depth", depth)
    rows, d = _as_points(points)
    _check_size(d, depth)
    sig = {(): sp.Integer(1)}
    for p, q in zip(rows, rows[1:]):
        step = {(i + 1,): q[i] - p[i] for i in range(d) if q[i] - p[i] != 0}
        sig = product(sig, exp(step, depth), depth)
    sig[()] = sp.Integer(1)
    return sig


def flatten(tensor: dict, d: int, depth: int) -> list:
    """Coefficients in iisignature's order (level by level, lexicographic words, no empty word)."""
    return [tensor.get(w, sp.Integer(0)) for w in words(d, depth)]


def _is_lyndon(w: tuple) -> bool:
    return all(w < w[i:] for i in range(1, len(w)))


def lyndon_words(d: int, depth: int) -> list:
    """Lyndon words of length <= depth over ``{1..d}``, by level then lexicographically."""
    return [w for w in words(d, depth) if _is_lyndon(w)]


@functools.lru_cache(maxsize=None)
def lyndon_bracket(w: tuple) -> dict:
    """The standard bracketing P(w) of a Lyndon word as a tensor: P(a) = a and P(w) = [P(u), P(v)]
    with w = uv, v the longest proper Lyndon suffix."""
    if len(w) == 1:
        return {w: 1}
    v = next(w[i:] for i in range(1, len(w)) if _is_lyndon(w[i:]))
    u = w[:len(w) - len(v)]
    pu, pv = lyndon_bracket(u), lyndon_bracket(v)
    out: dict = {}
    for a, ca in pu.items():
        for b, cb in pv.items():
            out[a + b] = out.get(a + b, 0) + ca * cb
            out[b + a] = out.get(b + a, 0) - ca * cb
    return {k: c for k, c in out.items() if c != 0}


def logsignature(points, depth: int) -> list:
    """Coordinates of log S in the Lyndon basis {P(w)} (order of :func:`lyndon_words`). P(w) has
    w as its lexicographically smallest word with coefficient 1, so the coordinates follow by
    forward substitution in lexicographic order within each level."""
    depth = positive_int("depth", depth)
    rows, d = _as_points(points)
    L = log(signature(rows, depth), depth)
    coords = {}
    for k in range(1, depth + 1):
        level = [w for w in lyndon_words(d, depth) if len(w) == k]
        residual = {w: c for w, c in L.items() if len(w) == k}
        for w in level:                       # ascending lexicographic order
            c = sp.simplify(residual.get(w, 0))
            coords[w] = c
            if c != 0:
                for word, coefficient in lyndon_bracket(w).items():
                    residual[word] = residual.get(word, 0) - c * coefficient
        leftover = [w for w, c in residual.items() if sp.simplify(c) != 0]
        if leftover:
            raise ArithmeticError(f"log-signature level {k} is not in the span of the Lyndon brackets: {leftover[:3]}")
    return [coords[w] for w in lyndon_words(d, depth)]

