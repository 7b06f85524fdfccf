r"""Linear controlled differential equations, the model behind selective SSMs (arXiv:2402.19047):

.. math::

    dZ_t=\sum_{i=1}^{d}A_iZ_t\,d\omega^i_t+B\,d\xi_t,\qquad Z_t\in\mathbb R^N.

* :func:`flow` — the exact solution for piecewise-linear controls: on a segment with increments
  :math:`\Delta\omega,\Delta\xi`, :math:`Z\leftarrow e^{G}Z+\varphi_1(G)B\Delta\xi` with
  :math:`G=\sum_iA_i\Delta\omega^i`, i.e. the exponential of the augmented matrix
  :math:`\begin{pmatrix}G&B\Delta\xi\\0&0\end{pmatrix}`; later segments multiply on the left.
* :func:`expansion` — the signature expansion (Prop. B.4 as cited in arXiv:2505.17761)

  .. math::

      Z_t=\sum_I (A_IZ_0)\,S^I(\omega)_{0,t}+\sum_I\sum_j (A_Ib_j)\,S^{jI}(\omega)_{0,t}
      \quad(\xi=\omega),\qquad A_I=A_{i_k}\cdots A_{i_1},

  the first letter acting first, and letter ``j`` of the forcing coming before the word ``I``.
  For strictly lower-triangular (nilpotent) ``A_i`` all words longer than N-1 vanish and the
  truncation at depth N-1 is the exact solution.
* :func:`gaussian_word_moment` — :math:`\mathbb E\langle A_Iz,A_Jz\rangle` for independent
  Gaussian matrices with iid :math:`N(0,1/N)` entries, by Wick's (Isserlis') theorem: a sum over
  pairings of equal letters, each pairing contracting row with row and column with column
  indices; a pairing contributes :math:`N^{\#\text{free index classes}-\#\text{pairs}}` times
  :math:`\|z\|^2` (or :math:`(\mathbf 1^\top z)^2` if the two ends of the chain are not joined).
"""

from __future__ import annotations

import itertools

import sympy as sp

from .errors import LemmataError
from .parsing import exact_number
from .signature import signature as path_signature
from .validation import nonnegative_int, positive_int

__all__ = ["flow", "expansion", "expansion_from_points", "signature_symbols", "word_matrix",
           "gaussian_word_moment", "gram_moments", "nilpotent_example",
           "NORM_Z2", "SUM_Z2"]

NORM_Z2 = sp.Symbol("|z|^2", positive=True)
SUM_Z2 = sp.Symbol("(1'z)^2", nonnegative=True)


def _matrices(A):
    mats = [sp.Matrix(a) for a in A]
    if not mats:
        raise LemmataError("`A` must hold at least one matrix (one per control channel).")
    n = mats[0].rows
    if any(m.shape != (n, n) for m in mats):
        raise LemmataError(f"`A` must hold square matrices of one size; got shapes {[m.shape for m in mats]}.")
    return mats, n


def word_matrix(A, word) -> sp.Matrix:
    """:math:`A_I=A_{i_k}\\cdots A_{i_1}` for a word of 1-based letters (first letter acts first)."""
    mats, n = _matrices(A)
    word = _word("word", word, len(mats))
    out = sp.eye(n)
    for letter in word:
        out = mats[letter - 1] * out
    return out


def _word(name, word, d=None) -> tuple:
    """A word as a tuple of 1-based integer letters (at most ``d`` when given)."""
    if isinstance(word, (str, bytes)) or not hasattr(word, "__iter__"):
        raise TypeError(f"`{name}` must be a sequence of letters 1..d; got {word!r}.")
    letters = tuple(word)
    for letter in letters:
        if isinstance(letter, bool) or not hasattr(letter, "__index__") or letter < 1 \
                or (d is not None and letter > d):
            bound = f"1..{d}" if d is not None else "integers >= 1"
            raise LemmataError(f"`{name}` letters must be {bound}; got {letter!r} in {letters}.")
    return tuple(int(letter) for letter in letters)


def _expm(M: sp.Matrix) -> sp.Matrix:
    """Exact exponential: the finite series when M is nilpotent, SymPy's ``exp`` otherwise."""
    n = M.rows
    power, total = sp.eye(n), sp.eye(n)
    for k in range(1, n + 1):
        power = power * M / k
        total += power
        if power.is_zero_matrix:
            return sp.simplify(total)
    if (M ** n).is_zero_matrix:
        return sp.simplify(total)
    return sp.simplify(M.exp())


def _exact_rows(name, points):
    """Rows of exact coordinates (floats are their binary values; NaN/inf refused by name)."""
    if hasattr(points, "tolist") and not isinstance(points, sp.Basic):
        points = points.tolist()
    return [[c if isinstance(c, sp.Expr) and not c.is_number else exact_number(c, name=f"{name}[{i}][{j}]")
             for j, c in enumerate(p)] for i, p in enumerate(points)]


def flow(A, points, z0, B=None, xi_points=None) -> sp.Matrix:
    """Exact solution Z_T of the linear CDE for the piecewise-linear control through ``points``
    (rows of d coordinates) started at ``z0``; with ``B`` (N x d_xi) the forcing ``xi`` is the
    piecewise-linear path through ``xi_points`` (default: the control itself, the official choice
    xi = omega)."""
    mats, n = _matrices(A)
    rows = _exact_rows("points", points)
    if len(rows) < 2:
        raise LemmataError(f"`points` must hold at least 2 points; got {len(rows)}.")
    if any(len(r) != len(mats) for r in rows):
        raise LemmataError(f"every point must have {len(mats)} coordinates (one per matrix in `A`).")
    z = sp.Matrix(z0)
    if z.shape != (n, 1):
        raise LemmataError(f"`z0` must have {n} entries; got shape {z.shape}.")
    xi = rows if xi_points is None else _exact_rows("xi_points", xi_points)
    Bm = None if B is None else sp.Matrix(B)
    if Bm is not None and (Bm.rows != n or len(xi) != len(rows) or any(len(r) != Bm.cols for r in xi)):
        raise LemmataError(f"`B` must be {n} x d_xi with `xi_points` of d_xi coordinates and as many "
                           "points as `points`.")
    for k in range(len(rows) - 1):
        G = sp.zeros(n, n)
        for i, m in enumerate(mats):
            G += m * (rows[k + 1][i] - rows[k][i])
        if Bm is None:
            z = _expm(G) * z
        else:
            dxi = sp.Matrix([xi[k + 1][j] - xi[k][j] for j in range(Bm.cols)])
            aug = sp.zeros(n + 1, n + 1)
            aug[:n, :n] = G
            aug[:n, n] = Bm * dxi
            z = (_expm(aug) * sp.Matrix.vstack(z, sp.Matrix([1])))[:n, :]
    return sp.simplify(z)


def expansion(A, z0, signature: dict, depth: int, B=None) -> sp.Matrix:
    """The signature expansion of Z_t truncated at words of length <= ``depth``: sum over words I
    of (A_I z0) S^I, plus, with ``B``, sum over I, j of (A_I b_j) S^{jI} (forcing xi = omega;
    ``S^{jI}`` needs the signature to depth + 1). ``signature`` is an exact signature dict
    ``{word: value}`` (:func:`lemmata.analysis.signature.signature`), the empty word included."""
    depth = positive_int("depth", depth)
    mats, n = _matrices(A)
    if not isinstance(signature, dict):
        raise TypeError(f"`signature` must be a dict {{word: value}}; got {type(signature).__name__}.")
    z = sp.Matrix(z0)
    if z.shape != (n, 1):
        raise LemmataError(f"`z0` must have {n} entries; got shape {z.shape}.")
    Bm = None if B is None else sp.Matrix(B)
    total = sp.zeros(n, 1)
    level = {(): sp.eye(n)}                       # A_I for the words of the current length
    for k in range(0, depth + 1):
        if k > 0:                                 # A_{(I, i)} = A_i A_I: the last letter acts last
            level = {word + (i + 1,): m * M for word, M in level.items() for i, m in enumerate(mats)}
        for word, M in level.items():
            coefficient = signature.get(word, 0) if word else 1
            if coefficient != 0:
                total += M * z * coefficient
            if Bm is not None:
                for j in range(Bm.cols):
                    c = signature.get((j + 1,) + word, 0)
                    if c != 0:
                        total += M * Bm[:, j] * c
    return sp.simplify(total)


def signature_symbols(d: int, depth: int) -> dict:
    """``{word: Symbol('S^{i_1...i_k}')}`` for all words up to ``depth``: pass to :func:`expansion`
    for the expansion with the signature left symbolic."""
    from .signature import words
    return {w: sp.Symbol("S^{" + "".join(map(str, w)) + "}") for w in words(d, depth)}


def nilpotent_example(N: int, d: int, seed: int = 0, scale: int = 3):
    """Strictly lower-triangular integer matrices A_1..A_d (N x N), an integer z0 and B (N x d):
    a linear CDE whose signature expansion terminates at depth N - 1."""
    import random
    N, d = positive_int("N", N), positive_int("d", d)
    seed, scale = nonnegative_int("seed", seed), nonnegative_int("scale", scale)
    rng = random.Random(seed)
    A = [sp.Matrix(N, N, lambda r, c: rng.randint(-scale, scale) if r > c else 0) for _ in range(d)]
    z0 = sp.Matrix(N, 1, lambda r, c: rng.randint(-scale, scale))
    B = sp.Matrix(N, d, lambda r, c: rng.randint(-scale, scale))
    return A, z0, B


# ------------------------------------------------------------------------------ Wick moments
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _pairings(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for k, other in enumerate(rest):
        for tail in _pairings(rest[:k] + rest[k + 1:]):
            yield [(first, other)] + tail


def gaussian_word_moment(I: tuple, J: tuple, N=None):
    r""":math:`\mathbb E\langle A_Iz,A_Jz\rangle` for independent :math:`A_1,A_2,\dots` with iid
    :math:`N(0,1/N)` entries and a fixed vector z, as a SymPy expression in ``N`` (a positive
    symbol by default), :data:`NORM_Z2` = :math:`\|z\|^2` and :data:`SUM_Z2` =
    :math:`(\mathbf 1^\top z)^2`.

    Index chain: :math:`\langle A_Iz,A_Jz\rangle=\sum z_{a_0}\prod_j A_{i_j}[a_j,a_{j-1}]\,
    \prod_l A_{j_l}[b_l,b_{l-1}]\,z_{b_0}` with :math:`a_k=b_m`."""
    N = sp.Symbol("N", positive=True, integer=True) if N is None else _dimension(N)
    I, J = _word("I", I), _word("J", J)
    # index variables: a_0..a_k are 0..k, b_0..b_{m-1} are k+1..k+m, and b_m is a_k
    k, m = len(I), len(J)
    b = list(range(k + 1, k + m + 1)) + [k]
    factors = [(letter, j + 1, j) for j, letter in enumerate(I)]
    factors += [(letter, b[l + 1], b[l]) for l, letter in enumerate(J)]
    n_vars = k + m + 1
    letters = {}
    for idx, f in enumerate(factors):
        letters.setdefault(f[0], []).append(idx)
    if any(len(v) % 2 for v in letters.values()):
        return sp.Integer(0)
    per_letter = [list(_pairings(v)) for v in letters.values()]
    total = sp.Integer(0)
    start, end = 0, b[0]
    for choice in itertools.product(*per_letter):
        parent = list(range(n_vars))
        n_pairs = 0
        for pairs in choice:
            for p, q in pairs:
                n_pairs += 1
                for x, y in ((factors[p][1], factors[q][1]), (factors[p][2], factors[q][2])):
                    rx, ry = _find(parent, x), _find(parent, y)
                    if rx != ry:
                        parent[rx] = ry
        classes = {_find(parent, v) for v in range(n_vars)}
        joined = _find(parent, start) == _find(parent, end)
        free = len(classes) - (1 if joined else 2)
        total += N ** (free - n_pairs) * (NORM_Z2 if joined else SUM_Z2)
    return sp.expand(total)


def _dimension(N):
    if isinstance(N, sp.Symbol):
        return N
    return sp.Integer(positive_int("N", N))


def gram_moments(words, N=None) -> sp.Matrix:
    r"""The matrix :math:`\mathbb E\langle A_Iz,A_Jz\rangle/\|z\|^2` over ``words`` (the empty word
    allowed); entries whose value involves :math:`(\mathbf 1^\top z)^2` raise."""
    N = sp.Symbol("N", positive=True, integer=True) if N is None else _dimension(N)
    if isinstance(words, (str, bytes)) or not hasattr(words, "__iter__"):
        raise TypeError(f"`words` must be a sequence of words; got {words!r}.")
    words = [_word(f"words[{i}]", w) for i, w in enumerate(words)]
    if not words:
        raise LemmataError("`words` must hold at least one word; got none.")
    out = sp.zeros(len(words), len(words))
    for r, u in enumerate(words):
        for c, v in enumerate(words):
            value = gaussian_word_moment(u, v, N)
            if value.has(SUM_Z2):
                raise LemmataError(f"E<A_I z, A_J z> for I={u}, J={v} depends on (1'z)^2.")
            out[r, c] = sp.simplify(value / NORM_Z2)
    return out


def expansion_from_points(A, points, z0, depth: int, B=None) -> sp.Matrix:
    """:func:`expansion` with the exact signature of the piecewise-linear path through ``points``."""
    depth = positive_int("depth", depth)
    sig = path_signature(points, depth + (1 if B is not None else 0))
    return expansion(A, z0, sig, depth, B)
