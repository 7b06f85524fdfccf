"""Checks of bifurcation claims by numerical continuation (lemmata.numerics.continuation): the
period-doubling cascade of the logistic map and its Feigenbaum ratio, the flip of logistic GD at
exactly eta = 2/lambda, the folds that create the stable cycles of the wall data sets of
arXiv:2406.05033 (constructions of lemmata), the birth of NGN's 2-cycle on the offset quadratic
(arXiv:2407.04358, F3), and the flip coefficient from continuation against its derivation.

The checks carry 2406.05033/... and 2407.04358/... keys; they are listed in
``lemmata.proofs_checks.papers.logistic_gd.CHECKS`` (so ``lemmata check --paper 2406.05033``
runs them, and ``--paper 2407.04358`` selects the NGN one by its key).
"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import sympy as sp

from lemmata.analysis import bifurcation
from lemmata.analysis import logistic as LG
from lemmata.analysis import ngn as ngn_forms
from lemmata.analysis.derivation import Derivation
from lemmata.numerics import continuation, orbits
from lemmata.numerics.logistic import logistic_data, random_dataset_1d, two_wall_dataset_2d, wall_dataset_1d
from lemmata.numerics.stats import fit_slope

from ..check import Bound, Check, Exact

PAPER = "2406.05033"
SOURCE = "arXiv:2406.05033"
#: Feigenbaum's delta (Feigenbaum 1978; OEIS A006890)
FEIGENBAUM_DELTA = 4.669201609102990671853

_x, _r = sp.Symbol("x", real=True), sp.Symbol("r", positive=True)
LOGISTIC_MAP = Derivation("logistic_map", (_x,), (_r,), {"map": _r * _x * (1 - _x)},
                          source="the logistic map x -> r x (1 - x)")


# ------------------------------------------------------------------------------ logistic map
@functools.lru_cache(maxsize=4)
def _logistic_cascade(max_period: int):
    return continuation.cascade(LOGISTIC_MAP, (2.5, 3.5699456), [0.6], max_period=max_period)


@functools.lru_cache(maxsize=8)
def _flip_mpmath(period: int, guess_r: float, guess_x: float, dps: int = 50):
    """The period-p flip of the logistic map by an independent algorithm: 2-D Newton (mpmath
    findroot) on {f^p(x) - x = 0, (f^p)'(x) + 1 = 0} in (x, r) at dps digits."""
    with mpmath.workdps(dps):
        def equations(x, r):
            y, dy = x, mpmath.mpf(1)
            for _ in range(period):
                dy *= r * (1 - 2 * y)
                y = r * y * (1 - y)
            return [y - x, dy + 1]
        x, r = mpmath.findroot(equations, (mpmath.mpf(guess_x), mpmath.mpf(guess_r)))
        return float(r)


def _cascade_symbolic(point):
    k = point["flip"]
    if k == 1:
        return 3.0                          # closed form
    if k == 2:
        return 1 + math.sqrt(6)             # closed form
    flip = _logistic_cascade(8).flips[k - 1]
    # independent algorithm started from the continuation's point rounded to 3 digits
    return _flip_mpmath(2 ** (k - 1), round(flip.eta, 3), round(float(flip.state[0]), 3))


def _cascade_numeric(point, ctx):
    flip = _logistic_cascade(8).flips[point["flip"] - 1]
    return flip.eta if flip.certificate.certified and flip.period == 2 ** (point["flip"] - 1) else float("nan")


CASCADE_FLIPS = Check(
    key=f"{PAPER}/continuation-logistic-cascade-flips",
    statement="Continuation with branch switching locates the first four period doublings of the "
              "logistic map x -> r x (1 - x) to 1e-10: r = 3, 1 + sqrt 6, 3.5440903596, 3.5644072661, "
              "each certified by a sign change of det(M + I) across an interval of width 1e-12 (30 digits).",
    source=f"{SOURCE}, abstract (the period-doubling cascade, L2); values: closed forms for the first two, "
           "an independent 50-digit Newton solve of f^p(x) = x, (f^p)'(x) = -1 for the others",
    symbolic=_cascade_symbolic,
    numeric=_cascade_numeric,
    points=[{"flip": k} for k in (1, 2, 3, 4)],
    tolerance=Exact(rtol=0.0, atol=1e-10),
)


def _feigenbaum_numeric(point, ctx):
    flips = _logistic_cascade(256).flips
    if len(flips) < 9 or not all(f.certificate.certified for f in flips):
        return float("nan")
    ratios = _logistic_cascade(256).feigenbaum_ratios()
    if point["quantity"] == "last-ratio":
        return float(ratios[-1])
    # geometric convergence: log |delta_k - delta| against k, fitted; the check is on the slope
    k = np.arange(1, ratios.size + 1)
    fit = fit_slope(k, np.log(np.abs(ratios - FEIGENBAUM_DELTA)))
    return fit.value + 4 * fit.stderr


def _feigenbaum_symbolic(point):
    return FEIGENBAUM_DELTA if point["quantity"] == "last-ratio" else 0.0


FEIGENBAUM_LAST = Check(
    key=f"{PAPER}/continuation-feigenbaum-ratio",
    statement="The ratios delta_k = (r_k - r_{k-1})/(r_{k+1} - r_k) of the first nine flips of the logistic "
              "map (periods 1 to 256, located by continuation) approach Feigenbaum's delta = 4.669201609...: "
              "delta_7 is within 2e-5 of it.",
    source=f"{SOURCE}, abstract (cascade); Feigenbaum (1978), delta = 4.669201609102990...",
    symbolic=_feigenbaum_symbolic,
    numeric=_feigenbaum_numeric,
    points=[{"quantity": "last-ratio"}],
    # the last increment |delta_7 - delta_6| = 1.5e-5 bounds the error of a sequence converging
    # geometrically at a rate below 1/2 (the companion check fits the rate: about e^-1.7)
    tolerance=Exact(rtol=0.0, atol=2e-5),
)

FEIGENBAUM_RATE = Check(
    key=f"{PAPER}/continuation-feigenbaum-convergence",
    statement="log |delta_k - delta| decreases linearly in k (geometric convergence of the Feigenbaum "
              "ratios, k = 1..7): the fitted slope plus 4 standard errors is negative.",
    source=f"{SOURCE}, abstract (cascade); Feigenbaum (1978)",
    symbolic=_feigenbaum_symbolic,
    numeric=_feigenbaum_numeric,
    points=[{"quantity": "convergence-slope"}],
    tolerance=Bound(side="upper", n_sigma=0.0),
)


# ------------------------------------------------------------------------------ logistic GD
@functools.lru_cache(maxsize=16)
def _unseen_dataset(kind: str, seed: int):
    rng = np.random.default_rng(seed)
    if kind == "random 1-D":
        return random_dataset_1d(rng, n=5)
    if kind == "random 2-D":
        while True:
            z = rng.normal(size=(6, 2)) * np.array([1.0, 0.6])
            try:
                return logistic_data(z=z, p=rng.dirichlet(np.ones(6)))
            except ValueError:                         # separable draw (AssumptionError): redraw
                continue
    if kind == "two-cluster":
        p = float(rng.uniform(0.1, 0.9))
        return logistic_data(z=np.array([[1.0], [-1.0]]), p=np.array([p, 1 - p]))
    raise KeyError(kind)


def _dataset_seed(ctx, point):
    """Unseen data: drawn from the run's seed (``--seed``) unless the point fixes one."""
    if "seed" in point:
        return int(point["seed"])
    return int(ctx.seed_sequence().generate_state(1)[0])


@functools.lru_cache(maxsize=16)
def _fixed_point_branch(kind: str, seed: int):
    data = _unseen_dataset(kind, seed)
    gd = data.gd_map()
    # one branch per data set: the compile of a loop would cost more than the NumPy kernel calls
    branch = continuation.continue_cycles(gd, (data.eta(1.5), data.eta(2.5)), data.minimizer,
                                          stop_on=("flip",), backend="numpy")
    return data, gd, branch


def _gd_flip_numeric(point, ctx):
    data, _, branch = _fixed_point_branch(point["dataset"], _dataset_seed(ctx, point))
    flips = [e for e in branch.events if e.kind == "flip"]
    if len(flips) != 1 or not flips[0].certificate.certified:
        return float("nan")
    return flips[0].eta * data.lam


GD_FLIP = Check(
    key=f"{PAPER}/continuation-flip-at-critical-step",
    statement="Following w* in eta by continuation on unseen data sets (drawn from the run's seed), the "
              "one flip between eta lambda = 1.5 and 2.5 lies at eta lambda = 2 to 1e-10 (certified), "
              "lambda computed at 40 digits.",
    source=f"{SOURCE}, abstract (L1, L2)",
    symbolic=lambda point: 2.0,
    numeric=_gd_flip_numeric,
    points=[{"dataset": k} for k in ("two-cluster", "random 1-D", "random 2-D")],
    tolerance=Exact(rtol=0.0, atol=1e-10),
)


def _gd_kappa_symbolic(point):
    data, gd, branch = _fixed_point_branch(point["dataset"], int(point["seed"]))
    sol = LG.solution(data.z.tolist(), data.p.tolist(), dps=50)
    with mpmath.workdps(50):
        values = {f"w_{k + 1}": sp.Float(str(v), 50) for k, v in enumerate(sol["minimizer"])}
        values["eta"] = sp.Float(str(2 / sol["lambda"]), 50)
    return float(bifurcation.flip_coefficient(gd, point=values, dps=40))


def _gd_kappa_numeric(point, ctx):
    data, gd, branch = _fixed_point_branch(point["dataset"], _dataset_seed(ctx, point))
    (flip,) = [e for e in branch.events if e.kind == "flip"]
    # the branch switched at the flip: a 2-cycle that is stable next to it iff kappa > 0
    two = continuation.switch_branch(branch, flip, gd, max_steps=8, backend="numpy")
    born_stable = bool(two.stable[0])
    return flip.coefficient if born_stable == (flip.coefficient > 0) else float("nan")


GD_KAPPA = Check(
    key=f"{PAPER}/continuation-flip-coefficient",
    statement="At the flip of GD located by continuation, the normal-form coefficient kappa from 60-digit "
              "finite differences of the map equals the symbolic one (analysis.bifurcation, derivatives by "
              "SymPy), and the 2-cycle found by branch switching is born stable iff kappa > 0.",
    source=f"{SOURCE} (L3, flip normal form; Kuznetsov, Elements of Applied Bifurcation Theory, Sec. 5.4)",
    symbolic=_gd_kappa_symbolic,
    numeric=_gd_kappa_numeric,
    points=[{"dataset": k, "seed": s} for k, s in (("two-cluster", 21), ("random 1-D", 22), ("random 2-D", 23))],
    # the flip point is known to ~1e-15 in double; kappa moves with it at O(1) relative slope
    tolerance=Exact(rtol=1e-8),
)


# ------------------------------------------------------------------------------ wall data sets
@functools.lru_cache(maxsize=8)
def _wall_branch(dimension: int, eta_lambda: float):
    if dimension == 1:
        data = wall_dataset_1d(eta_lambda)
        inits = data.minimizer[0] + np.linspace(-1, 1, 21)[:, None] * 8 / abs(data.minimizer[0])
    else:
        data = two_wall_dataset_2d(eta_lambda)
        rng = np.random.default_rng(5)
        inits = data.minimizer + rng.normal(size=(40, 2)) * 3 / abs(data.minimizer[0])
    gd = data.gd_map()
    cycles = [c for c in orbits.find_cycles(gd, data.eta(eta_lambda), inits, n_transient=20_000)
              if c.period >= 2 and c.stable and c.residual < 1e-40]
    if not cycles:
        return data, gd, None, None
    cycle = cycles[0]
    low = 1.0 if dimension == 1 else 0.2
    branch = continuation.continue_cycles(gd, (data.eta(eta_lambda), data.eta(low)), cycle.points[0],
                                          period=cycle.period, backend="numpy")
    return data, gd, cycle, branch


def _max_balanced_slope(data) -> float:
    """max over balanced intervals [u, v] of Lambda = (f'(v) - f'(u))/(v - u) (L4), by mpmath:
    v(u) solves f'(v) = -f'(u); a grid over u < w*, then golden-section refinement."""
    z = [mpmath.mpf(float(v)) for v in data.z[:, 0]]
    p = [mpmath.mpf(float(v)) for v in data.p]
    ws = mpmath.mpf(float(data.minimizer[0]))

    def fp(w):
        return -mpmath.fsum(pi * zi / (1 + mpmath.exp(zi * w)) for zi, pi in zip(z, p))

    def slope(u):
        target = -fp(u)
        hi = ws + 1
        for _ in range(60):
            if fp(hi) >= target:
                break
            hi = ws + 2 * (hi - ws)
        else:
            return mpmath.mpf(0)             # f' is bounded: no balanced partner v for this u
        v = mpmath.findroot(lambda w: fp(w) - target, (ws, hi), solver="anderson")
        return (fp(v) - fp(u)) / (v - u)

    with mpmath.workdps(25):
        grid = [ws - mpmath.mpf(10) ** e for e in np.linspace(-3, 1.5, 46)]
        values = [slope(u) for u in grid]
        k = max(range(len(grid)), key=lambda i: values[i])
        a, b = grid[min(k + 1, len(grid) - 1)], grid[max(k - 1, 0)]
        g = (mpmath.sqrt(5) - 1) / 2
        c, d = b - g * (b - a), a + g * (b - a)
        fc, fd = slope(c), slope(d)
        for _ in range(70):
            if fc > fd:
                b, d, fd = d, c, fc
                c = b - g * (b - a)
                fc = slope(c)
            else:
                a, c, fc = c, d, fd
                d = a + g * (b - a)
                fd = slope(d)
        return float(max(fc, fd))


def _wall_fold_1d_symbolic(point):
    data = _wall_branch(1, point["eta_lambda"])[0]
    return 2 / _max_balanced_slope(data) * data.lam


def _fold_matches_find_cycles(data, gd, branch, fold, upper):
    """At three step sizes between the fold and ``upper`` on the stable part of the branch,
    find_cycles started on the branch certifies a stable cycle equal to the branch's; just below
    the fold it finds none (the orbit from the fold's state goes to w*)."""
    stable_eta = branch.eta[branch.stable]
    lo = max(fold.eta, stable_eta.min())
    for frac in (0.25, 0.5, 0.75):
        eta = lo + frac * (upper - lo)
        i = int(np.argmin(np.where(branch.stable, np.abs(branch.eta - eta), np.inf)))
        cycles = orbits.find_cycles(gd, float(branch.eta[i]), branch.states[i][None, :],
                                    periods=(branch.period,), n_transient=200)
        if not cycles or not cycles[0].stable or cycles[0].residual > 1e-40:
            return False
        if not orbits._same_cycle(cycles[0].points, branch.cycles[i], tol=1e-8):
            return False
    below = orbits.find_cycles(gd, fold.eta * (1 - 1e-3), fold.state[None, :], n_transient=20_000)
    return all(c.period == 1 for c in below)


def _wall_fold_numeric(point, ctx):
    dimension, target = point["dimension"], point["eta_lambda"]
    data, gd, cycle, branch = _wall_branch(dimension, target)
    if branch is None:
        return float("nan")
    folds = [e for e in branch.events if e.kind == "fold" and e.certificate.certified]
    if not folds:
        return float("nan")
    fold = folds[0]
    if not _fold_matches_find_cycles(data, gd, branch, fold, data.eta(target)):
        return float("nan")
    if not fold.eta < data.eta(target):
        return float("nan")
    return fold.eta * data.lam


WALL_FOLD_1D = Check(
    key=f"{PAPER}/continuation-wall-fold-1d",
    statement="On the 1-D wall data sets (lemmata's construction for a target eta lambda in (1, 2)), the "
              "branch of the stable 2-cycle certified by find_cycles, followed down in eta, ends in a "
              "certified fold at eta lambda in (1, target) equal to 2 lambda / max Lambda over balanced "
              "intervals (L4, computed independently at 30 digits); find_cycles certifies the branch's "
              "cycles above the fold and finds none below it.",
    source=f"{SOURCE}, L4, L7 (cycles below 2/lambda are born in folds); construction: lemmata",
    symbolic=_wall_fold_1d_symbolic,
    numeric=_wall_fold_numeric,
    points=[{"dimension": 1, "eta_lambda": 1.6}],
    tolerance=Exact(rtol=1e-10),
    cost="slow",
)

WALL_FOLD_1D_FULL = Check(
    key=f"{PAPER}/continuation-wall-fold-1d-full",
    statement=WALL_FOLD_1D.statement + " Three targets.",
    source=WALL_FOLD_1D.source,
    symbolic=_wall_fold_1d_symbolic,
    numeric=_wall_fold_numeric,
    points=[{"dimension": 1, "eta_lambda": e} for e in (1.3, 1.6, 1.9)],
    tolerance=Exact(rtol=1e-10),
    cost="slow",
)

WALL_FOLD_2D = Check(
    key=f"{PAPER}/continuation-wall-fold-2d",
    statement="On the 2-D two-wall data sets (lemmata's construction for a target eta lambda < 1), the "
              "branch of the stable cycle certified by find_cycles, followed down in eta, ends in a "
              "certified fold below the target (the stable part ending at a Neimark-Sacker point or the "
              "fold), and all of it below eta lambda = 1; find_cycles certifies the branch's cycles above.",
    source=f"{SOURCE}, abstract (L8: cycles below 1/lambda for d >= 2); construction: lemmata",
    symbolic=lambda point: 1.0,
    numeric=_wall_fold_numeric,
    points=[{"dimension": 2, "eta_lambda": 0.7}],
    tolerance=Bound(side="upper", n_sigma=0.0),
    cost="slow",
)

WALL_FOLD_2D_FULL = Check(
    key=f"{PAPER}/continuation-wall-fold-2d-full",
    statement=WALL_FOLD_2D.statement + " Three targets.",
    source=WALL_FOLD_2D.source,
    symbolic=lambda point: 1.0,
    numeric=_wall_fold_numeric,
    points=[{"dimension": 2, "eta_lambda": e} for e in (0.5, 0.7, 0.9)],
    tolerance=Bound(side="upper", n_sigma=0.0),
    cost="slow",
)


# ------------------------------------------------------------------------------ NGN, F3
F3_L, F3_C = 2, sp.Rational(1, 2)


@functools.lru_cache(maxsize=1)
def _ngn_map():
    return ngn_forms.ngn_offset_quadratic().subs({"L": F3_L, "c": F3_C}, name="ngn_offset_quadratic_L2")


@functools.lru_cache(maxsize=1)
def _ngn_branches():
    T = _ngn_map()
    fixed = continuation.continue_cycles(T, (0.5 / F3_L, 3.0 / F3_L), [0.0], stop_on=("flip",), backend="numpy")
    (flip,) = [e for e in fixed.events if e.kind == "flip"]
    two = continuation.switch_branch(fixed, flip, T, eta_span=(0.5 / F3_L, 6.0 / F3_L), backend="numpy")
    return fixed, flip, two


def _ngn_symbolic(point):
    if point["quantity"] == "flip":
        return 2.0                                  # sigma L = 2 (F3)
    if point["quantity"] == "kappa":
        T = _ngn_map()
        return float(bifurcation.flip_coefficient(T, point={"x": 0, "sigma": sp.Rational(2, F3_L)}))
    return 0.0


def _ngn_numeric(point, ctx):
    fixed, flip, two = _ngn_branches()
    if not flip.certificate.certified:
        return float("nan")
    if point["quantity"] == "flip":
        return flip.eta * F3_L
    if point["quantity"] == "kappa":
        return flip.coefficient
    # the 2-cycle along the switched branch against the closed form +-sqrt(2c(sL-2)/(L(sL+2))),
    # and its stability against the closed-form multiplier (1 - 8/(sigma L)^2)^2 < 1
    forms = ngn_forms.ngn_offset_quadratic()
    amp = sp.lambdify(forms.params, forms["cycle_amplitude"])
    mult = sp.lambdify(forms.params, forms["cycle_multiplier"])
    exact = np.array([amp(s, F3_L, float(F3_C)) for s in two.eta])
    err = np.max(np.abs(np.abs(two.states[:, 0]) - exact))
    stable_ok = np.array_equal(two.stable, np.array([abs(mult(s, F3_L, float(F3_C))) < 1 for s in two.eta]))
    mult_err = np.max(np.abs(two.multipliers[:, 0].real - [mult(s, F3_L, float(F3_C)) for s in two.eta]))
    return max(err, mult_err) if stable_ok and two.eta.max() * F3_L > 5.9 else float("nan")


NGN_BIRTH = Check(
    key="2407.04358/continuation-offset-quadratic-cycle-birth",
    statement="Deterministic NGN on f = L/2 x^2 + c: continuation of x = 0 in sigma finds one flip, at "
              "sigma L = 2 (to 1e-10, certified), supercritical with the symbolic kappa; the branch switched "
              "there is the 2-cycle +-sqrt(2c(sigma L - 2)/(L(sigma L + 2))) with multiplier "
              "(1 - 8/(sigma L)^2)^2 up to sigma L = 6 (F3).",
    source="arXiv:2407.04358 (derived, F3)",
    symbolic=_ngn_symbolic,
    numeric=_ngn_numeric,
    points=[{"quantity": q} for q in ("flip", "kappa", "cycle")],
    tolerance=Exact(rtol=1e-9, atol=1e-10),
)

CHECKS = [CASCADE_FLIPS, FEIGENBAUM_LAST, FEIGENBAUM_RATE, GD_FLIP, GD_KAPPA, WALL_FOLD_1D, WALL_FOLD_1D_FULL,
          WALL_FOLD_2D, WALL_FOLD_2D_FULL, NGN_BIRTH]
