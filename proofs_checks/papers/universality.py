"""Checks for arXiv:2307.11888, "Universality of linear recurrences followed by non-linear
projections" (Orvieto, De, Gulcehre, Pascanu, Smith; ICML 2024): the recurrence as a lossless,
well- or ill-conditioned compressor.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import sympy as sp

from lemmata.analysis import vandermonde as VA
from lemmata.numerics import encoder
from lemmata.numerics.stats import fit_slope

from ..check import Bound, Check, Exact, Order

PAPER = "2307.11888"
SOURCE = "arXiv:2307.11888"
EPS = float(np.finfo(float).eps)


def _reconstruction_numeric(point, ctx):
    L = point["L"]
    rng = np.random.default_rng(ctx.seed_sequence())
    lam = encoder.nodes("roots", L)
    worst = 0.0
    for _ in range(5):
        v = rng.normal(size=L)
        x = encoder.encode(lam, v)
        worst = max(worst, float(np.max(np.abs(encoder.reconstruct(lam, x, L, method=point["method"]) - v))))
    return worst


ROOTS_RECONSTRUCTION = Check(
    key=f"{PAPER}/roots-of-unity-reconstruction",
    statement="With N = L roots-of-unity eigenvalues the input is recovered exactly from the final state "
              "(inverse DFT or a linear solve), to 1e-12, for L = 16, 32, 64; the state comes from the "
              "scan engine.",
    source=f"{SOURCE}, lossless encoding (derived)",
    symbolic=lambda point: 0.0,
    numeric=_reconstruction_numeric,
    points=[{"L": L, "method": m} for L in (16, 32, 64) for m in ("idft", "solve")],
    tolerance=Exact(rtol=0.0, atol=1e-12),
)


def _encode_numeric(point, ctx):
    """x_L from the scan engine against V (v_L, ..., v_1) computed directly."""
    rng = np.random.default_rng(ctx.seed_sequence())
    lam = encoder.nodes(point["family"], point["N"], r=0.9, seed=1)
    v = rng.normal(size=point["L"])
    direct = encoder.vandermonde(lam, point["L"]) @ v[::-1]
    return float(np.max(np.abs(encoder.encode(lam, v) - direct)) / np.max(np.abs(direct)))


ENCODER_IS_VANDERMONDE = Check(
    key=f"{PAPER}/encoder-is-vandermonde",
    statement="The final state of x_k = Lambda x_{k-1} + 1 v_k is x_L = V (v_L, ..., v_1) with "
              "V[n, j] = lambda_n^j: the newest input multiplies lambda^0.",
    source=f"{SOURCE}, Vandermonde form",
    symbolic=lambda point: 0.0,
    numeric=_encode_numeric,
    points=[{"family": f, "N": N, "L": L} for f in ("roots", "radius", "lru", "real")
            for (N, L) in ((16, 16), (24, 16))],
    tolerance=Exact(rtol=0.0, atol=64 * EPS),
)


def _radius_symbolic(point):
    d = VA.reconstruction_condition("radius", point["L"])
    return float(d.evaluate({"r": point["r"]})["condition_number"])


def _radius_numeric(point, ctx):
    lam = encoder.nodes("radius", point["L"], r=point["r"])
    cond = encoder.condition_number(lam, point["L"])
    if cond > 1e12:       # float64 SVD loses the small singular values: use mpmath
        cond = encoder.condition_number(lam, point["L"], dps=50)
    return cond


RADIUS_CONDITION = Check(
    key=f"{PAPER}/radius-condition-number",
    statement="For nodes r * (roots of unity), V = F diag(r^j): the singular values are sqrt(L) r^j "
              "and cond(V) = r^-(L-1), exponential in L unless r -> 1 (SymPy-derived Gram matrix vs SVD).",
    source=f"{SOURCE}, complex eigenvalues help (derived)",
    symbolic=_radius_symbolic,
    numeric=_radius_numeric,
    points=[{"L": L, "r": r} for L in (16, 32, 64) for r in (0.9, 0.99, 0.999)],
    tolerance=Exact(rtol=1e-8),
)


def _determinant_symbolic(point):
    d = VA.vandermonde_determinant(point["N"])
    residual = sp.expand(d["determinant"] - d["product"])
    return 0.0 if residual == 0 else 1.0


def _determinant_numeric(point, ctx):
    """mpmath determinant of V at random complex nodes against the product formula."""
    rng = np.random.default_rng(ctx.seed_sequence())
    N = point["N"]
    z = rng.normal(size=N) + 1j * rng.normal(size=N)
    with mpmath.workdps(40):
        nodes = [mpmath.mpc(complex(c)) for c in z]
        det = mpmath.det(mpmath.matrix([[w ** j for j in range(N)] for w in nodes]))
        product = mpmath.mpc(1)
        for i in range(N):
            for j in range(i + 1, N):
                product *= nodes[j] - nodes[i]
        return float(abs(det - product) / abs(product))


DETERMINANT = Check(
    key=f"{PAPER}/vandermonde-determinant",
    statement="det V = prod_{i<j} (lambda_j - lambda_i): non-zero iff the nodes are distinct "
              "(SymPy expands the difference to 0 for N <= 5; mpmath agrees at random complex nodes).",
    source=f"{SOURCE}, lossless encoding (derived)",
    symbolic=_determinant_symbolic,
    numeric=_determinant_numeric,
    points=[{"N": N} for N in (2, 3, 4, 5)],
    tolerance=Exact(rtol=0.0, atol=1e-30),
)


CHEBYSHEV_NS = tuple(range(8, 33, 4))


def _real_growth_numeric(point, ctx):
    """Fitted slope of log cond(V) vs N for Chebyshev nodes, condition numbers by mpmath SVD at
    80 digits (float64 saturates near 1e16)."""
    conds = [encoder.condition_number(encoder.nodes("chebyshev", N), N, dps=80) for N in CHEBYSHEV_NS]
    return fit_slope(np.array(CHEBYSHEV_NS, dtype=float), np.log(conds))


REAL_NODES_GROWTH = Check(
    key=f"{PAPER}/real-nodes-ill-conditioned",
    statement="Real nodes give exponentially ill-conditioned encoders although the rank is full: for "
              "Chebyshev nodes log cond(V) grows like N log(1 + sqrt 2) (Gautschi's rate), fitted for "
              "N = 8..32 from mpmath singular values.",
    source=f"{SOURCE}, complex eigenvalues help; rate: W. Gautschi, Numer. Math. 1975 (published)",
    symbolic=lambda point: math.log(1 + math.sqrt(2)),
    numeric=_real_growth_numeric,
    points=[{"nodes": "chebyshev", "N": list(CHEBYSHEV_NS)}],
    tolerance=Order(slack=0.05),
)


def _real_vs_complex_numeric(point, ctx):
    N = point["N"]
    real = encoder.condition_number(encoder.nodes("real", N), N, dps=60)
    roots = encoder.condition_number(encoder.nodes("roots", N), N)
    return math.log10(real) - math.log10(roots)


REAL_VS_COMPLEX = Check(
    key=f"{PAPER}/real-vs-complex-conditioning",
    statement="At equal width N = L, equispaced real nodes in [0, 1) are ill-conditioned (cond > 1e6 "
              "already at N = 12, by mpmath) while the roots of unity have cond = 1.",
    source=f"{SOURCE}, illustrative example",
    symbolic=lambda point: 6.0,
    numeric=_real_vs_complex_numeric,
    points=[{"N": N} for N in (12, 16, 24)],
    tolerance=Bound("lower", n_sigma=0),
)


def _prefix_numeric(point, ctx):
    rng = np.random.default_rng(ctx.seed_sequence())
    N, L = point["N"], point["L"]
    lam = encoder.nodes("radius", N, r=point["r"])
    worst = 0.0
    for k in range(1, L + 1):
        v = rng.normal(size=k)
        worst = max(worst, float(np.max(np.abs(encoder.reconstruct(lam, encoder.encode(lam, v), k,
                                                                   method="lstsq") - v))))
    return worst


PREFIX = Check(
    key=f"{PAPER}/prefix-reconstruction",
    statement="With N > L distinct nodes, least squares on V_k recovers v_1..v_k from x_k for every "
              "prefix length k <= L.",
    source=f"{SOURCE}, lossless encoding (derived)",
    symbolic=lambda point: 0.0,
    numeric=_prefix_numeric,
    points=[{"N": 24, "L": 16, "r": r} for r in (1.0, 0.99)],
    # error <= cond(V_k) * eps * |v| with cond <= r^-(L-1) <= 1.2 here
    tolerance=Exact(rtol=0.0, atol=1e-12),
)


def _krylov_numeric(point, ctx):
    rng = np.random.default_rng(ctx.seed_sequence())
    N, L, M = point["N"], point["L"], point["M"]
    lam, _ = encoder.lru_init(N, r_min=0.5, seed=3)
    B = rng.normal(size=(N, M)) + 1j * rng.normal(size=(N, M))
    return float(encoder.krylov_rank(lam, B, L))


KRYLOV = Check(
    key=f"{PAPER}/multichannel-rank",
    statement="With M input channels the encoder [B, Lambda B, ..., Lambda^(L-1) B] (N x LM) is "
              "injective iff its rank is L M, which needs N >= L M: a generic dense B with distinct "
              "nodes reaches rank min(N, L M).",
    source=f"{SOURCE}, multichannel widths (derived)",
    symbolic=lambda point: float(min(point["N"], point["L"] * point["M"])),
    numeric=_krylov_numeric,
    points=[{"N": N, "L": 4, "M": 3} for N in (8, 12, 16)],
    tolerance=Exact(rtol=0.0, atol=0.0),
)


CHECKS = [ROOTS_RECONSTRUCTION, ENCODER_IS_VANDERMONDE, RADIUS_CONDITION, DETERMINANT,
          REAL_NODES_GROWTH, REAL_VS_COMPLEX, PREFIX, KRYLOV]
