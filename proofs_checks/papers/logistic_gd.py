"""Checks for arXiv:2406.05033, "Gradient descent on logistic regression with non-separable data
and large step sizes" (Meng, Orvieto, Cao, De Sa), and the 1-D equal-magnitude claim of its
follow-up arXiv:2507.11228. Step sizes are reported through the invariant eta * lambda.

The constructions of data sets with stable cycles are lemmata's own (following the mechanisms in
the paper brief), labelled as constructions; each cycle is found by iterating, polished by Newton
at 50 digits and certified (residual; in 1-D a sign change of T^2(w) - w across a 1e-25 interval).
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from lemmata.analysis import logistic as LG
from lemmata.numerics import orbits
from lemmata.numerics.logistic import gd_orbits_1d, logistic_data, random_dataset_1d, two_wall_dataset_2d, wall_dataset_1d

from ..check import Check, Exact

PAPER = "2406.05033"
SOURCE = "arXiv:2406.05033"


@functools.lru_cache(maxsize=16)
def _two_cluster_data(p: float):
    return logistic_data(z=np.array([[1.0], [-1.0]]), p=np.array([p, 1 - p]))


def _two_cluster_symbolic(point):
    forms = LG.two_cluster()
    value = forms[point["quantity"]].subs(sp.Symbol("p", positive=True), sp.Rational(str(point["p"])))
    return float(sp.N(value, 30))


def _two_cluster_numeric(point, ctx):
    data = _two_cluster_data(point["p"])
    return float(data.minimizer[0]) if point["quantity"] == "minimizer" else data.lam


TWO_CLUSTER = Check(
    key=f"{PAPER}/two-cluster-closed-forms",
    statement="Two clusters z = +1 (weight p), z = -1 (weight 1-p): w* = logit(p) and lambda = p(1-p) "
              "(SymPy) equal the damped-Newton solution at 40 digits.",
    source=f"{SOURCE} (derived)",
    symbolic=_two_cluster_symbolic,
    numeric=_two_cluster_numeric,
    points=[{"p": p, "quantity": q} for p in (0.1, 0.3, 0.5, 0.8) for q in ("minimizer", "lambda")],
    tolerance=Exact(rtol=1e-13, atol=1e-15),
)


@functools.lru_cache(maxsize=8)
def _dataset(name: str):
    if name == "two-cluster p=0.3":
        return _two_cluster_data(0.3)
    if name == "random 1-D":
        return random_dataset_1d(np.random.default_rng(11), n=5)
    if name == "random 2-D":
        rng = np.random.default_rng(12)
        return logistic_data(z=rng.normal(size=(6, 2)) * np.array([1.0, 0.5]), p=rng.dirichlet(np.ones(6)))
    raise KeyError(name)


FLIP_GRID = np.round(np.arange(1.90, 2.101, 0.01), 4)


def _flip_numeric(point, ctx):
    """The smallest eta * lambda on a grid of spacing 0.01 where the orbit started next to w*
    no longer converges to w* (period 1)."""
    data = _dataset(point["dataset"])
    etas = FLIP_GRID / data.lam
    start = data.minimizer + 1e-3 * (data.eigenvector if data.dim > 1 else 1.0)
    diagram = orbits.orbit_diagram(data.gd_map(), etas, start[None, :], n_transient=30_000, n_keep=64)
    at_minimizer = (diagram.periods[:, 0] == 1) & np.all(
        np.abs(diagram.points[:, 0, -1, :] - data.minimizer) < 1e-7, axis=-1)
    lost = np.nonzero(~at_minimizer)[0]
    return float(FLIP_GRID[lost[0]]) if lost.size else float("inf")


FLIP = Check(
    key=f"{PAPER}/flip-at-critical-step",
    statement="The minimiser is stable for eta < 2/lambda and loses stability exactly at eta = 2/lambda "
              "(multiplier 1 - eta lambda crosses -1): from orbit diagrams, the first eta lambda where "
              "the orbit next to w* stops converging is 2 within the grid spacing 0.01.",
    source=f"{SOURCE}, abstract (L1, L2)",
    symbolic=lambda point: 2.0,
    numeric=_flip_numeric,
    points=[{"dataset": n} for n in ("two-cluster p=0.3", "random 1-D", "random 2-D")],
    # the first unstable grid point is above 2 by at most one spacing
    tolerance=Exact(rtol=0.0, atol=0.0101),
)


MUS = (1e-3, 2e-3, 4e-3)


def _kappa_symbolic(point):
    data = _dataset(point["dataset"])
    w = sp.Symbol("w", real=True)
    f, _ = LG.loss_expression(data.z.tolist(), data.p.tolist(), (w,))
    kappa = LG.flip_coefficient_1d(f, w).subs(w, sp.Float(float(data.minimizer[0]), 30))
    return float(sp.N(kappa, 20))


def _kappa_numeric(point, ctx):
    """kappa from the 2-cycle born at the flip: x^2 = mu/kappa + O(mu^2) for eta lambda = 2 + mu;
    estimates at three mu, extrapolated linearly to mu = 0."""
    data = _dataset(point["dataset"])
    estimates = []
    for mu in MUS:
        eta = (2 + mu) / data.lam
        cycles = orbits.find_cycles(data.gd_map(), eta, data.minimizer[None, :] + 0.3 * np.sqrt(mu),
                                    periods=(2,), n_transient=20_000)
        two = [c for c in cycles if c.period == 2][0]
        half_width = (two.points[:, 0].max() - two.points[:, 0].min()) / 2
        estimates.append(mu / half_width ** 2)
    slope, intercept = np.polyfit(MUS, estimates, 1)
    return float(intercept)


FLIP_COEFFICIENT = Check(
    key=f"{PAPER}/flip-supercritical",
    statement="The flip at eta lambda = 2 is supercritical with coefficient kappa = a^2 + b, "
              "a = -f'''/lambda, b = -f''''/(3 lambda) (two clusters: kappa = 2/3 (1 - 3p + 3p^2) >= 1/6): "
              "the stable 2-cycle has half-width x with x^2 ~ (eta lambda - 2)/kappa.",
    source=f"{SOURCE}, flip normal form (L3, derived)",
    symbolic=_kappa_symbolic,
    numeric=_kappa_numeric,
    points=[{"dataset": n} for n in ("two-cluster p=0.3", "random 1-D")],
    # linear extrapolation in mu leaves O(mu^2) / O(mu) ~ 1e-5 relative; cycles at 50 digits
    tolerance=Exact(rtol=2e-3),
)


def _cycle_conditions_numeric(point, ctx):
    """For a found 2-cycle {u, v}: max of |f'(u) + f'(v)| and |(f'(v) - f'(u))/(v - u) - 2/eta| and
    the gap between its multiplier and (1 - eta f''(u))(1 - eta f''(v))."""
    data = wall_dataset_1d(point["eta_lambda"]) if point["dataset"] == "wall" else _dataset(point["dataset"])
    eta = data.eta(point["eta_lambda"])
    inits = data.minimizer[0] + np.linspace(-1, 1, 41) * 8 / max(abs(data.minimizer[0]), 0.05)
    cycles = [c for c in orbits.find_cycles(data.gd_map(), eta, inits[:, None], periods=(2,),
                                            n_transient=20_000) if c.period == 2]
    if not cycles:
        return float("inf")
    u, v = sorted(cycles[0].points[:, 0])
    w = sp.Symbol("w", real=True)
    f, _ = LG.loss_expression(data.z.tolist(), data.p.tolist(), (w,))
    d1 = sp.lambdify(w, sp.diff(f, w), "mpmath")
    d2 = sp.lambdify(w, sp.diff(f, w, 2), "mpmath")
    balance = abs(float(d1(u) + d1(v)))
    slope = abs(float((d1(v) - d1(u)) / (v - u)) - 2 / eta) * eta
    multiplier = abs(float((1 - eta * d2(u)) * (1 - eta * d2(v))) - cycles[0].multipliers[0].real)
    return max(balance, slope, multiplier)


CYCLE_CONDITIONS = Check(
    key=f"{PAPER}/two-cycle-conditions",
    statement="{u < v} is a 2-cycle iff f'(u) + f'(v) = 0 and (f'(v) - f'(u))/(v - u) = 2/eta, and its "
              "Floquet multiplier is (1 - eta f''(u))(1 - eta f''(v)) (L4, L5).",
    source=f"{SOURCE} (L4, L5; derived)",
    symbolic=lambda point: 0.0,
    numeric=_cycle_conditions_numeric,
    points=[{"dataset": "two-cluster p=0.3", "eta_lambda": 2.3}, {"dataset": "random 1-D", "eta_lambda": 2.2},
            {"dataset": "wall", "eta_lambda": 1.6}],
    # cycle points are rounded to doubles after a 50-digit polish
    tolerance=Exact(rtol=0.0, atol=1e-9),
)


def _global_numeric(point, ctx):
    """Orbits of GD that do not end at w*, over random non-separable 1-D data sets, step sizes
    and starts spread over +-50/|z| around w* (20,000 steps each)."""
    rng = np.random.default_rng(ctx.seed_sequence())
    if point["data"] == "random":
        sets = [random_dataset_1d(rng, n=6) for _ in range(point["n_sets"])]
    else:
        sets = [_two_cluster_data(float(p)) for p in rng.uniform(0.05, 0.95, point["n_sets"])]
    n = max(d.z.shape[0] for d in sets)
    z = np.array([np.pad(d.z[:, 0], (0, n - d.z.shape[0])) for d in sets])
    p = np.array([np.pad(d.p, (0, n - d.p.shape[0])) for d in sets])
    lam = np.array([d.lam for d in sets])
    w_star = np.array([d.minimizer[0] for d in sets])
    eta_lambda = np.asarray(point["eta_lambda"])
    etas = eta_lambda[None, :] / lam[:, None]
    scale = 50 / np.array([np.abs(d.z).min() for d in sets])
    inits = w_star[:, None] + np.linspace(-1, 1, 21)[None, :] * scale[:, None]
    final = gd_orbits_1d(z, p, etas, inits, 20_000)
    target = w_star[:, None, None]

    def converged(w):
        return np.abs(w - target) <= 1e-6 * (1 + np.abs(target))

    # slow drift far from w* is not a cycle (the brief's first pitfall): the orbits still away
    # after 20,000 steps continue, one orbit per row, for up to 2,000,000 more steps
    for _ in range(100):
        left = np.argwhere(~converged(final))
        if left.size == 0:
            break
        sets_, eta_idx, init_idx = left.T
        rows = gd_orbits_1d(z[sets_], p[sets_], etas[sets_, eta_idx][:, None],
                            final[sets_, eta_idx, init_idx][:, None], 20_000)
        final[sets_, eta_idx, init_idx] = rows[:, 0, 0]
    return float(np.sum(~converged(final)))


GLOBAL_1D = Check(
    key=f"{PAPER}/global-convergence-1d",
    statement="In 1-D with non-separable data, GD with eta < 1/lambda converges to w* from every start: "
              "zero exceptions over 40 random data sets x 6 step sizes eta lambda in (0, 1) x 21 starts "
              "spread over +-50/min|z_i| (orbits still drifting after 20,000 steps are continued).",
    source=f"{SOURCE}, abstract (L6, unconfirmed wording)",
    symbolic=lambda point: 0.0,
    numeric=_global_numeric,
    points=[{"data": "random", "n_sets": 40, "eta_lambda": [0.1, 0.3, 0.5, 0.7, 0.9, 0.99]}],
    tolerance=Exact(rtol=0.0, atol=0.0),
)

EQUAL_MAGNITUDE = Check(
    key="2507.11228/equal-magnitude-1d",
    statement="Equal-magnitude (two-cluster) 1-D data: every eta < 2/lambda converges globally, also "
              "for eta lambda in (1, 2): zero exceptions over 40 random p x 5 steps x 21 starts.",
    source="arXiv:2507.11228, abstract (L9, unconfirmed wording)",
    symbolic=lambda point: 0.0,
    numeric=_global_numeric,
    points=[{"data": "two-cluster", "n_sets": 40, "eta_lambda": [1.1, 1.4, 1.7, 1.9, 1.98]}],
    tolerance=Exact(rtol=0.0, atol=0.0),
)


def _stable_cycle_numeric(point, ctx):
    """1 when the constructed data set has a stable cycle of period >= 2 at the target eta lambda,
    polished to a residual below 1e-40 (1-D: also certified by a sign change), with w* stable too."""
    if point["dimension"] == 1:
        data = wall_dataset_1d(point["eta_lambda"])
        inits = data.minimizer[0] + np.linspace(-1, 1, 41)[:, None] * 8 / abs(data.minimizer[0])
    else:
        data = two_wall_dataset_2d(point["eta_lambda"])
        rng = np.random.default_rng(ctx.seed_sequence())
        inits = data.minimizer + rng.normal(size=(60, 2)) * 3 / abs(data.minimizer[0])
    cycles = orbits.find_cycles(data.gd_map(), data.eta(point["eta_lambda"]), inits, n_transient=20_000)
    good = [c for c in cycles if c.period >= 2 and c.stable and c.residual < 1e-40
            and (c.certified or point["dimension"] > 1)]
    fixed = [c for c in cycles if c.period == 1 and c.stable]
    return 1.0 if good and fixed else 0.0


STABLE_CYCLE_1D = Check(
    key=f"{PAPER}/stable-cycle-1d",
    statement="For eta lambda in (1, 2) there are 1-D data sets on which GD has a stable 2-cycle while "
              "w* is also stable (a wall construction, built for each target eta lambda).",
    source=f"{SOURCE}, abstract (L7); construction: lemmata, following the L7 mechanism",
    symbolic=lambda point: 1.0,
    numeric=_stable_cycle_numeric,
    points=[{"dimension": 1, "eta_lambda": e} for e in (1.3, 1.6, 1.9)],
    tolerance=Exact(rtol=0.0, atol=0.0),
)

STABLE_CYCLE_2D = Check(
    key=f"{PAPER}/stable-cycle-2d-below-global-step",
    statement="In 2-D there are data sets on which GD has a stable cycle for eta lambda < 1, below the "
              "1-D global-convergence step (two-wall construction).",
    source=f"{SOURCE}, abstract (L8); construction: lemmata, following the L8 mechanism",
    symbolic=lambda point: 1.0,
    numeric=_stable_cycle_numeric,
    points=[{"dimension": 2, "eta_lambda": e} for e in (0.5, 0.7, 0.9)],
    tolerance=Exact(rtol=0.0, atol=0.0),
)


def _cascade_numeric(point, ctx):
    """1 when periods 1, 2, 4, 8 first appear in this order along increasing eta lambda."""
    data = _dataset(point["dataset"])
    grid = np.linspace(1.5, 3.3, 721)
    diagram = orbits.orbit_diagram(data.gd_map(), grid / data.lam, data.minimizer[None, :] + 0.1,
                                   n_transient=20_000, n_keep=256, max_period=64, tol=1e-8)
    periods = diagram.periods[:, 0]
    first = []
    for p in (1, 2, 4, 8):
        hits = np.nonzero(periods == p)[0]
        first.append(hits[0] if hits.size else -1)
    return 1.0 if min(first) >= 0 and first == sorted(first) and len(set(first)) == 4 else 0.0


CASCADE = Check(
    key=f"{PAPER}/period-doubling-cascade",
    statement="A sequence of period-doubling bifurcations begins at eta = 2/lambda: periods 1, 2, 4, 8 "
              "appear in this order along eta in the orbit diagram (two clusters, p = 0.3).",
    source=f"{SOURCE}, abstract (L2)",
    symbolic=lambda point: 1.0,
    numeric=_cascade_numeric,
    points=[{"dataset": "two-cluster p=0.3"}],
    tolerance=Exact(rtol=0.0, atol=0.0),
)

CHECKS = [TWO_CLUSTER, FLIP, FLIP_COEFFICIENT, CYCLE_CONDITIONS, GLOBAL_1D, EQUAL_MAGNITUDE,
          STABLE_CYCLE_1D, STABLE_CYCLE_2D, CASCADE]

# bifurcations by numerical continuation (issue 18): their own module, listed with this paper
from .continuation import CHECKS as _CONTINUATION_CHECKS  # noqa: E402

CHECKS += _CONTINUATION_CHECKS
