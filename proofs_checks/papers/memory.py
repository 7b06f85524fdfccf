"""Checks for arXiv:2405.21064, "Recurrent neural networks: vanishing and exploding gradients are
not the end of the story" (Zucchet & Orvieto, NeurIPS 2024): the curse of memory.

Three independent sides meet here: the closed forms of :mod:`lemmata.analysis.recurrence` (summed series,
then differentiated), the exact stationary moments of the augmented linear system (discrete
Lyapunov equation, :func:`lemmata.numerics.recurrence.lyapunov_moments`), and Monte Carlo of the
recurrence and its tangent through the scan engine (4 sigma).
"""

from __future__ import annotations

import functools

import mpmath
import numpy as np
import sympy as sp

from lemmata.analysis import recurrence as R
from lemmata.analysis.derivation import Derivation
from lemmata.numerics import compile_kernel
from lemmata.numerics.backends import to_numpy
from lemmata.numerics.recurrence import (gauss_newton_hessian, gauss_newton_hessian_mc, lyapunov_moments,
                                 simulate_moments)
from lemmata.numerics.scan import linear_scan
from lemmata.numerics.stats import Estimate, fit_slope

from ..check import Bound, Check, Exact, MonteCarlo, Order

PAPER = "2405.21064"
SOURCE = "arXiv:2405.21064"
EPS = float(np.finfo(float).eps)

#: (normalization, parametrization) pairs checked everywhere
VARIANTS = (("none", "none"), ("l2", "none"), ("l2", "exp"), ("l2", "optimal"), ("l1", "sigmoid"),
            ("l1", "none"))



# ------------------------------------------------------------------------------ K by brute force
def _kernel_symbolic(point):
    a, b = complex(point["a_re"], point["a_im"]), complex(point["b_re"], point["b_im"])
    value = Derivation("K", (R.a, R.b), (R.rho,), R.stationary_kernel()).evaluate(
        {"a": a, "b": b, "rho": point["rho"]}, dps=40)["K"]
    return complex(value).real if point["part"] == "re" else complex(value).imag


def _kernel_numeric(point, ctx):
    """The double series summed term by term in mpmath."""
    a = mpmath.mpc(point["a_re"], point["a_im"])
    b = mpmath.mpc(point["b_re"], point["b_im"])
    rho = mpmath.mpf(point["rho"])
    with mpmath.workdps(30):
        # terms below 1e-20 of the leading one are dropped: far below the 1e-12 tolerance
        n_max = int(np.ceil(-20 * np.log(10) / np.log(max(abs(complex(a)), abs(complex(b)), 1e-3)))) + 5
        total = mpmath.mpc(0)
        an = mpmath.mpf(1)
        for n in range(n_max):
            bm = mpmath.mpf(1)
            for m in range(n_max):
                total += an * bm * rho ** abs(n - m)
                bm *= b
            an *= a
    return float(total.real) if point["part"] == "re" else float(total.imag)


KERNEL_SERIES = Check(
    key=f"{PAPER}/stationary-kernel",
    statement="K(a,b;rho) = sum_{n,m>=0} a^n b^m rho^|n-m| = (1 - rho^2 ab)/((1-ab)(1-rho a)(1-rho b)) "
              "for a, b in the open unit disk (complex allowed): the SymPy-summed form against the "
              "double series summed term by term.",
    source=f"{SOURCE}, stationary kernel (appendix lemma, unconfirmed wording)",
    symbolic=_kernel_symbolic,
    numeric=_kernel_numeric,
    points=[{"a_re": ar, "a_im": ai, "b_re": br, "b_im": bi, "rho": rho, "part": part}
            for (ar, ai, br, bi) in ((0.5, 0.0, 0.3, 0.0), (0.6, 0.3, 0.6, -0.3), (-0.4, 0.5, 0.7, 0.1))
            for rho in (0.0, 0.5, 0.9) for part in ("re", "im") if not (part == "im" and ai == bi == 0)],
    tolerance=Exact(rtol=1e-12, atol=1e-14),
)


# ------------------------------------------------------------------------------ closed forms vs Lyapunov
def _variant_point(point):
    return point["normalization"], point["parametrization"]


def _moment_symbolic(point):
    d = R.memory_moments(*_variant_point(point))
    return float(d.evaluate({"lam": point["lam"], "rho": point["rho"]})[point["moment"]])


def _moment_lyapunov(point, ctx):
    norm, par = _variant_point(point)
    return lyapunov_moments(point["lam"], point["rho"], normalization=norm, parametrization=par)[point["moment"]]


MOMENTS_EXACT = Check(
    key=f"{PAPER}/moments-lyapunov",
    statement="E[(gamma h)^2] and E[(d_p(gamma h))^2] (derived from K, differentiating after "
              "normalising, for no/L2/L1 normalisation and the exp, sigmoid and optimal "
              "parametrisations) equal the exact stationary moments of the augmented linear system "
              "(discrete Lyapunov equation).",
    source=f"{SOURCE}, variance and sensitivity formulas (derived)",
    symbolic=_moment_symbolic,
    numeric=_moment_lyapunov,
    points=[{"lam": lam, "rho": rho, "normalization": n, "parametrization": p, "moment": m}
            for (n, p) in VARIANTS for lam in (0.3, 0.9, 0.99) for rho in (0.0, 0.6)
            for m in ("E_h2", "E_dh2")],
    tolerance=Exact(rtol=1e-9),   # Lyapunov solve: relative error ~ eps * cond(I - F (x) F) <~ 1e-10
)


def _mc_numeric(point, ctx):
    norm, par = _variant_point(point)
    return simulate_moments(point["lam"], point["rho"], n_paths=20_000, seed=ctx.seed_sequence(),
                            normalization=norm, parametrization=par)[point["moment"]]


MOMENTS_MONTE_CARLO = Check(
    key=f"{PAPER}/moments-monte-carlo",
    statement="Monte Carlo of the recurrence and its tangent (AR(1) inputs, 20,000 paths, burn-in "
              "30/(1-lambda) + 30/(1-rho)) matches E[h^2] and E[(dh/dlambda)^2] within 4 sigma.",
    source=f"{SOURCE}, Fig. 2 settings (small scale)",
    symbolic=_moment_symbolic,
    numeric=_mc_numeric,
    points=[{"lam": lam, "rho": rho, "normalization": n, "parametrization": p, "moment": m}
            for (n, p) in (("none", "none"), ("l2", "exp")) for lam in (0.5, 0.9) for rho in (0.0, 0.8)
            for m in ("E_h2", "E_dh2")],
    # burn-in bias: the transient decays like lambda^T with T >= 30/(1-lambda): < e^-30
    tolerance=MonteCarlo(n_sigma=4.0, bias=0.0),
)


# ------------------------------------------------------------------------------ complex, optimal
def _complex_symbolic(point):
    d = R.complex_sensitivities(point["normalization"], point["parametrization"])
    value = d.evaluate({"nu": point["nu"], "theta": point["theta"], "rho": point["rho"]})[point["moment"]]
    return complex(value).real


def _complex_numeric(point, ctx):
    lam = point["nu"] * np.exp(1j * point["theta"])
    wrt = {"E_abs_h2": "nu", "E_abs_dnu2": "nu", "E_abs_dtheta2": "theta"}[point["moment"]]
    moments = simulate_moments(lam, point["rho"], n_paths=20_000, seed=ctx.seed_sequence(), wrt=wrt,
                               normalization=point["normalization"], parametrization=point["parametrization"])
    return moments["E_h2" if point["moment"] == "E_abs_h2" else "E_dh2"]


COMPLEX_SENSITIVITIES = Check(
    key=f"{PAPER}/complex-sensitivities",
    statement="Complex lambda = nu e^{i theta}: E|h|^2 = 1/(1-nu^2) and E|dh/dlambda|^2 = "
              "(1+nu^2)/(1-nu^2)^3 (white noise), and the nu- and theta-sensitivities (L2 "
              "normalisation, AR(1) input), against Monte Carlo of the complex recurrence (4 sigma); "
              "the 'optimal' parametrisation makes both sensitivities 1 for white noise.",
    source=f"{SOURCE}, complex case and the optimal parametrisation (derived)",
    symbolic=_complex_symbolic,
    numeric=_complex_numeric,
    points=([{"nu": nu, "theta": th, "rho": 0.0, "normalization": "none", "parametrization": "none",
              "moment": m} for nu, th in ((0.6, 0.5), (0.9, 2.0)) for m in ("E_abs_h2", "E_abs_dnu2")]
            + [{"nu": nu, "theta": th, "rho": rho, "normalization": "l2", "parametrization": p, "moment": m}
               for nu, th in ((0.8, 0.7), (0.95, 0.2)) for rho in (0.0, 0.5)
               for p in ("none", "optimal") for m in ("E_abs_dnu2", "E_abs_dtheta2")]),
    tolerance=MonteCarlo(n_sigma=4.0),
)


# ------------------------------------------------------------------------------ exponents
EPSILONS = tuple(10.0 ** -k for k in (1.5, 2.0, 2.5, 3.0, 3.5))


def _exponent_symbolic(point):
    d = R.memory_moments(point["normalization"], point["parametrization"])
    expr = d[point["moment"]].subs(R.rho, sp.Rational(str(point["rho"])))
    return float(R.leading_term(expr)[1])


def _exponent_numeric(point, ctx):
    """Fitted slope of log moment vs log(1 - lambda) from the exact Lyapunov moments (an algorithm
    independent of the series)."""
    values = [lyapunov_moments(1 - e, point["rho"], normalization=point["normalization"],
                               parametrization=point["parametrization"])[point["moment"]] for e in EPSILONS]
    return fit_slope(np.log(EPSILONS), np.log(values))


EXPONENTS = Check(
    key=f"{PAPER}/memory-exponents",
    statement="Curse of memory: as lambda = 1 - eps -> 1, E[h^2] ~ eps^-1 and E[(dh/dlambda)^2] ~ "
              "eps^-3; L2 normalisation alone leaves eps^-2; the exp parametrisation bounds it "
              "(eps^0); fitted log-log slopes of the exact moments vs the series' leading exponent.",
    source=f"{SOURCE}, scaling law (unconfirmed wording)",
    symbolic=_exponent_symbolic,
    numeric=_exponent_numeric,
    points=([{"normalization": "none", "parametrization": "none", "moment": m, "rho": rho}
             for m in ("E_h2", "E_dh2") for rho in (0.0, 0.5)]
            + [{"normalization": "l2", "parametrization": p, "moment": "E_dh2", "rho": rho}
               for p in ("none", "exp", "optimal") for rho in (0.0, 0.5)]),
    # the fit covers eps in [3e-4, 3e-2]: next-order terms bend the slope by O(eps) <~ 0.05
    tolerance=Order(slack=0.1),
)


def _limit_symbolic(point):
    expr = R.memory_moments("l2", "exp")["E_dh2"].subs(R.rho, sp.Rational(str(point["rho"])))
    return float(sp.limit(expr, R.lam, 1, "-"))


def _limit_numeric(point, ctx):
    return lyapunov_moments(1 - 1e-6, point["rho"], normalization="l2", parametrization="exp")["E_dh2"]


EXP_LIMIT = Check(
    key=f"{PAPER}/exp-parametrisation-limit",
    statement="With L2 normalisation and lambda = exp(-exp(omega)), E[(d_omega(gamma h))^2] stays "
              "bounded as lambda -> 1: it tends to 1/4 for white noise and (1+rho)/(4(1-rho)) for "
              "AR(1) input (limit by SymPy vs the exact moment at lambda = 1 - 1e-6).",
    source=f"{SOURCE}, reparametrisation (unconfirmed wording)",
    symbolic=_limit_symbolic,
    numeric=_limit_numeric,
    points=[{"rho": rho} for rho in (0.0, 0.5, 0.9)],
    tolerance=Exact(rtol=1e-4),     # distance of lambda = 1 - 1e-6 from the limit: O(1e-6 / (1-rho))
)


# ------------------------------------------------------------------------------ teacher-student
def _curvature_symbolic(point):
    return float(R.teacher_student_curvature().evaluate({"r": point["r"]})[point["direction"]])


def _curvature_numeric(point, ctx):
    """At the optimum of a realisable task the Hessian is E|d h|^2 along the direction: Monte Carlo
    of |d_r h|^2 (radial) or |d_theta h|^2 (angular) with white noise."""
    lam = point["r"] * np.exp(1j * 0.3)
    wrt = "nu" if point["direction"] == "radial" else "theta"
    # the loss is 1/2 E|h - h*|^2, so its second derivative is E|dh|^2 (the 1/2 cancels the 2)
    return simulate_moments(lam, 0.0, n_paths=20_000, seed=ctx.seed_sequence(), wrt=wrt)["E_dh2"]


CURVATURE = Check(
    key=f"{PAPER}/teacher-student-curvature",
    statement="The 1-D teacher-student loss 1/2 E|h(lambda) - h(lambda*)|^2 has curvature "
              "(1+r^2)/(1-r^2)^3 radially and r^2(1+r^2)/(1-r^2)^3 along the circle at the optimum "
              "(r = |lambda*|); both diverge as r -> 1 (Monte Carlo of the sensitivities, 4 sigma).",
    source=f"{SOURCE}, Fig. 1 landscape (derived)",
    symbolic=_curvature_symbolic,
    numeric=_curvature_numeric,
    points=[{"r": r, "direction": d} for r in (0.5, 0.8, 0.9) for d in ("radial", "angular")],
    tolerance=MonteCarlo(n_sigma=4.0),
)


# ------------------------------------------------------------------------------ Gauss-Newton
@functools.lru_cache(maxsize=4)
def _S_kernel(backend):
    return compile_kernel(Derivation("S", (R.a, R.b), (R.rho,), R.mixed_kernel()), backend)


def _gn_numeric(point, ctx):
    """Largest standardised deviation |H_mc - H| / se over the entries of the Hessian."""
    lams = np.array(point["nu"]) * np.exp(1j * np.array(point["theta"]))
    z = np.array(point["z_re"]) + 1j * np.array(point["z_im"])
    S = _S_kernel(ctx.backend)
    exact = gauss_newton_hessian(lams, z, point["rho"], lambda u, v, r: to_numpy(S(u, v, r)))
    mean, stderr = gauss_newton_hessian_mc(lams, z, point["rho"], n_paths=20_000, seed=ctx.seed_sequence())
    return Estimate(float(np.max(np.abs(mean - exact) / stderr)), 0.0, 20_000)


GAUSS_NEWTON = Check(
    key=f"{PAPER}/gauss-newton-hessian",
    statement="The Gauss-Newton Hessian of a diagonal complex student y = Re sum z_i h_i(lambda_i) in "
              "(Re lambda, Im lambda) coordinates has the blocks 1/2 Re(A+B), 1/2 Re(B-A), 1/2 Im(B-A), "
              "-1/2 Im(A+B) with A_ij = z_i z_j S(lambda_i, lambda_j), B_ij = z_i conj(z_j) "
              "S(lambda_i, conj lambda_j): every entry within 4.5 standard errors of Monte Carlo.",
    source=f"{SOURCE}, Hessian at the optimum (official code; derived)",
    symbolic=lambda point: 0.0,
    numeric=_gn_numeric,
    points=[{"nu": [0.7, 0.9, 0.8], "theta": [0.5, -0.5, 2.0], "z_re": [1.0, 0.5, -0.3],
             "z_im": [0.2, -0.4, 0.6], "rho": rho} for rho in (0.0, 0.6)],
    # 4.5 rather than 4: the maximum is taken over the 36 entries (21 distinct) of the matrix
    tolerance=Bound("upper", n_sigma=0, slack=4.5),
)


# ------------------------------------------------------------------------------ the scan engine
def _scan_numeric(point, ctx):
    """Worst relative disagreement of the sequential, associative and NumPy scans with the closed
    form h_t = sum_{j<=t} lambda^(t-j) for a constant unit input (a geometric sum)."""
    lam = np.array([0.5, 0.9, 0.99, -0.7]) * np.exp(1j * np.array([0.0, 0.3, -1.0, 2.0])) \
        if point["dtype"] == "complex" else np.array([0.5, 0.9, 0.99, -0.7])
    T = 2000
    b = np.ones((T, lam.size), dtype=lam.dtype)
    t = np.arange(1, T + 1)[:, None]
    closed = (1 - lam ** t) / (1 - lam)
    worst = 0.0
    variants = [("sequential", "numba"), ("associative", "numpy"), ("sequential", "numpy")]
    if ctx.backend == "cupy":
        variants.append(("associative", "cupy"))
    for method, backend in variants:
        h = to_numpy(linear_scan(lam, b, method=method, backend=backend))
        worst = max(worst, float(np.max(np.abs(h - closed) / np.abs(closed))))
    return worst


SCAN_METHODS = Check(
    key=f"{PAPER}/scan-methods-agree",
    statement="The sequential (Numba), associative and NumPy scans agree with each other and with the "
              "closed form of a geometric recurrence, real and complex, over 2,000 steps.",
    source=f"{SOURCE}, parallel scan operator (a_i,b_i) o (a_j,b_j) = (a_j a_i, a_j b_i + b_j)",
    symbolic=lambda point: 0.0,
    numeric=_scan_numeric,
    points=[{"dtype": d} for d in ("real", "complex")],
    # 2,000 steps accumulate ~T * eps relative error on a sum whose terms do not cancel
    tolerance=Exact(rtol=0.0, atol=2000 * 4 * EPS),
)


CHECKS = [KERNEL_SERIES, MOMENTS_EXACT, MOMENTS_MONTE_CARLO, COMPLEX_SENSITIVITIES, EXPONENTS,
          EXP_LIMIT, CURVATURE, GAUSS_NEWTON, SCAN_METHODS]
