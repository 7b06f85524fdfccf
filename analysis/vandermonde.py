r"""The Vandermonde encoder of a diagonal linear recurrence (arXiv:2307.11888, derived).

With :math:`x_0=0` and :math:`x_k=\Lambda x_{k-1}+\mathbf 1v_k`, the state after :math:`L` steps is
:math:`x_L=V\,(v_L,v_{L-1},\dots,v_1)^\top` with :math:`V_{n,j}=\lambda_n^j` (the newest input
multiplies :math:`\lambda^0`). Distinct nodes make :math:`V` invertible
(:math:`\det V=\prod_{i<j}(\lambda_j-\lambda_i)`); for the roots of unity scaled by :math:`r`,
:math:`V^HV=L\,\mathrm{diag}(r^{2j})`, so the singular values are :math:`\sqrt L\,r^j` and
:math:`\mathrm{cond}(V)=r^{-(L-1)}` (1 for :math:`r=1`: the DFT).
"""

from __future__ import annotations

import functools

import sympy as sp

from .derivation import Assumption, Derivation
from .errors import LemmataError
from .parsing import exact_number
from .validation import nonnegative_int, one_of, positive_int

__all__ = ["vandermonde_matrix", "vandermonde_determinant", "root_of_unity_sum",
           "radius_gram_diagonal", "reconstruction_condition", "hop_encoder_matrix", "NODE_FAMILIES"]

SOURCE = "arXiv:2307.11888 (Orvieto et al.), Vandermonde encoder (derived)"
NODE_FAMILIES = ("roots", "radius", "real", "chebyshev")
r = sp.Symbol("r", positive=True)


def vandermonde_matrix(nodes, k: int) -> sp.Matrix:
    """``V[n, j] = nodes[n]**j`` for ``j < k`` (numbers exact: a float is its binary value;
    NaN and infinities refused; SymPy expressions kept)."""
    k = positive_int("k", k)
    if hasattr(nodes, "tolist") and not isinstance(nodes, sp.Basic):
        nodes = nodes.tolist()
    if isinstance(nodes, (str, bytes)) or not hasattr(nodes, "__iter__"):
        raise TypeError(f"`nodes` must be a sequence of numbers or expressions; got {nodes!r}.")
    nodes = [v if isinstance(v, sp.Expr) and not v.is_number
             else exact_number(v, name=f"nodes[{i}]", allow_complex=True) for i, v in enumerate(nodes)]
    if not nodes:
        raise LemmataError("`nodes` must hold at least one node; got none.")
    return sp.Matrix(len(nodes), k, lambda n, j: nodes[n] ** j)


@functools.lru_cache(maxsize=None)
def vandermonde_determinant(N: int) -> Derivation:
    """``det V`` of a square Vandermonde matrix in symbolic nodes, computed and factored by SymPy,
    and the product formula; the check compares them."""
    N = positive_int("N", N)
    nodes = sp.symbols(f"lambda_1:{N + 1}")
    det = sp.factor(vandermonde_matrix(nodes, N).det())
    product = sp.Mul(*[nodes[j] - nodes[i] for i in range(N) for j in range(i + 1, N)])
    return Derivation("vandermonde_determinant", nodes, (), {"determinant": det, "product": product},
                      source=SOURCE)


@functools.lru_cache(maxsize=None)
def root_of_unity_sum():
    r""":math:`G(d)=\sum_{n=0}^{L-1}\omega^{nd}` with :math:`\omega=e^{2\pi i/L}`, summed by SymPy
    as a geometric series; returns ``(G, d, L)``. It is :math:`L` at :math:`d=0` and vanishes for
    integers :math:`0<|d|<L` because :math:`\omega^{Ld}=1`."""
    n = sp.Symbol("n", integer=True, nonnegative=True)
    d = sp.Symbol("d", integer=True)
    L = sp.Symbol("L", integer=True, positive=True)
    G = sp.summation(sp.exp(2 * sp.pi * sp.I * n * d / L), (n, 0, L - 1))
    return G, d, L


def radius_gram_diagonal(L: int) -> list:
    r"""The Gram matrix :math:`V^HV` for nodes :math:`r\omega^n`: entry :math:`(j,k)` is
    :math:`r^{j+k}G(k-j)`; returns its diagonal (the off-diagonal entries are checked to vanish)."""
    L = positive_int("L", L)
    G, d, Ls = root_of_unity_sum()
    sums = {lag: sp.simplify(G.subs({d: lag, Ls: L})) for lag in range(-(L - 1), L)}
    nonzero = [lag for lag, value in sums.items() if lag != 0 and value != 0]
    if nonzero:
        raise ArithmeticError(f"root-of-unity sums at lags {nonzero} should vanish")
    return [r ** (2 * j) * sums[0] for j in range(L)]


@functools.lru_cache(maxsize=None)
def reconstruction_condition(family: str, L: int) -> Derivation:
    r"""Condition number and determinant of the :math:`L\times L` encoder for a node family.

    ``roots``: :math:`\omega^n` (cond 1); ``radius``: :math:`r\omega^n` (cond :math:`r^{-(L-1)}`,
    from :func:`radius_gram_diagonal`); ``real``: equispaced :math:`n/L` in [0, 1);
    ``chebyshev``: :math:`\cos((2n+1)\pi/(2L))`. For real families there is no closed form of
    the condition number: it is evaluated by mpmath at 50 digits (the exact singular values of
    the exact rational or algebraic matrix) and given as a number.
    """
    one_of("nodes", family, NODE_FAMILIES)
    L = positive_int("L", L)
    if family in ("roots", "radius"):
        radius = r if family == "radius" else sp.Integer(1)
        singular = [sp.sqrt(g) for g in radius_gram_diagonal(L)]
        singular = [sp.simplify(s.subs(r, radius)) for s in singular]
        # r <= 1: the largest singular value is the j = 0 one, the smallest the j = L-1 one
        cond = sp.simplify(singular[0] / singular[-1])
        params = (r,) if family == "radius" else ()
        assumptions = (Assumption("0 < r <= 1", "the nodes lie in the closed unit disk, 0 < r <= 1"),) \
            if family == "radius" else ()
        # |det V| = sqrt(det(V^H V)) = product of the singular values
        abs_det = sp.powsimp(sp.Mul(*singular), force=True)
        return Derivation("reconstruction", (), params,
                          {"condition_number": cond, "smallest_singular_value": singular[-1],
                           "largest_singular_value": singular[0], "abs_determinant": abs_det},
                          assumptions, source=SOURCE)
    import mpmath
    if family == "real":
        nodes = [sp.Rational(n, L) for n in range(L)]
    else:
        nodes = [sp.cos((2 * n + 1) * sp.pi / (2 * L)) for n in range(L)]
    V = vandermonde_matrix(nodes, L)
    with mpmath.workdps(60):
        M = mpmath.matrix([[mpmath.mpf(sp.N(V[i, j], 70)) for j in range(L)] for i in range(L)])
        s = mpmath.svd_r(M, compute_uv=False)
        cond = sp.Float(max(s) / min(s), 30)
    det = sp.Abs(sp.Mul(*[nodes[j] - nodes[i] for i in range(L) for j in range(i + 1, L)]))
    if family == "chebyshev":      # a product of cosines: report its value, not the product
        det = sp.Float(sp.N(det, 40), 30)
    return Derivation("reconstruction", (), (), {"condition_number": cond, "abs_determinant": det},
                      source=SOURCE + "; condition number by mpmath SVD at 60 digits")


def hop_encoder_matrix(N: int, K: int, d: int, *, real_stacked: bool = False) -> sp.Matrix:
    r"""The GRED hop encoder :math:`M=[W,\Lambda W,\dots,\Lambda^KW]` (N x (K+1)d) with symbolic
    nodes :math:`\lambda_n=a_n+ib_n` and weights :math:`W_{nj}` (arXiv:2312.01538; injective iff
    rank M = (K+1)d); with ``real_stacked`` the real readout :math:`[\mathrm{Re}\,M;\mathrm{Im}\,M]`
    (2N x (K+1)d). For d = 1 and W = 1, M is the Vandermonde matrix of the nodes."""
    N, K, d = positive_int("N", N), nonnegative_int("K", K), positive_int("d", d)
    a = sp.symbols(f"a_1:{N + 1}", real=True)
    b = sp.symbols(f"b_1:{N + 1}", real=True)
    W = sp.Matrix(N, d, lambda n, j: sp.Symbol(f"W_{n + 1}{j + 1}", real=True))
    lam = [a[n] + sp.I * b[n] for n in range(N)]
    blocks = [sp.diag(*[l ** k for l in lam]) * W for k in range(K + 1)]
    M = sp.Matrix.hstack(*blocks).applyfunc(sp.expand)
    if not real_stacked:
        return M
    return sp.Matrix.vstack(M.applyfunc(sp.re), M.applyfunc(sp.im)).applyfunc(sp.expand)
