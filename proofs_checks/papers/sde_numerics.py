"""Checks of the SDE convergence-order harness (:mod:`lemmata.numerics.convergence`) on the test
problems of :mod:`lemmata.numerics.sde_problems`, hosted beside arXiv:2402.12508 (whose SDE
models they serve) under keys ``2402.12508/harness-*``; :mod:`.minimax_sde` appends
:data:`CHECKS` to its own, so ``lemmata check --paper 2402.12508`` runs them.

Each order check fits the slope of the error against the step on shared Brownian paths; the
tolerance is the catalogue's ``Order(slack)`` (``Bound`` for SRA, whose order 1.5 is a lower bound:
on a linear drift it converges at order 2). The fast checks take one problem each; their
``-full`` twins (slow) take two or more. Variance reduction for the weak order-2 check: the weak
error is estimated as the mean over paths of g(Y^h_T) - g(Phi(T, W_T)), the exact path solution
on the same Brownian path as the scheme, so its variance is that of the strong error (O(h^2) for
this scheme on scalar noise), not that of g; 2e5 paths per level then resolve errors down to
~1e-4 at 4 sigma.
"""

from __future__ import annotations

import math

from lemmata.analysis.errors import LemmataError
from lemmata.numerics.convergence import mlmc, strong_order, weak_order
from lemmata.numerics.sde_problems import get_problem
from lemmata.numerics.stats import Estimate, fit_slope

from ..check import Bound, Check, MonteCarlo, Order

PAPER = "2402.12508"
SOURCE = "Kloeden & Platen (1992), Chs. 10 and 14; Roessler (2010); Giles (2008)"

#: per problem: the steps of the strong and weak fits (inside the asymptotic range of each)
STRONG_DTS = {"gbm": (1 / 8, 1 / 16, 1 / 32, 1 / 64), "kp_sinh": (1 / 8, 1 / 16, 1 / 32, 1 / 64),
              "kp_tanh": (1 / 16, 1 / 32, 1 / 64, 1 / 128), "kp_additive_time": (1 / 4, 1 / 8, 1 / 16, 1 / 32),
              "langevin_sin": (1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 256)}
WEAK_DTS = {"euler": (1 / 8, 1 / 16, 1 / 32, 1 / 64), "weak2": (1 / 4, 1 / 8, 1 / 16, 1 / 32)}


def _strong(point, ctx):
    p = get_problem(point["problem"])
    exact = p.exact_path if p.solution is not None else None
    r = strong_order(p.sde, p.z0, t1=p.t1, dts=STRONG_DTS[p.name], n_paths=point["paths"],
                     seed=ctx.seed_sequence(), method=point["method"], params=p.params, exact=exact)
    if sum(r.n_diverged):
        raise LemmataError(f"{r.n_diverged} paths diverged per level")
    return Estimate(r.order, r.order_stderr, r.n_paths)


def _weak(point, ctx):
    p = get_problem(point["problem"])
    e = p.expectations[point["g"]]
    if p.solution is not None:
        reference = {"exact_path": p.exact_path}
    else:
        reference = {"exact": p.expectation(point["g"])}
    r = weak_order(p.sde, e.g, p.z0, t1=p.t1, dts=WEAK_DTS[point["method"]], n_paths=point["paths"],
                   seed=ctx.seed_sequence(), method=point["method"], params=p.params, **reference)
    return Estimate(r.order, r.order_stderr, r.n_paths)


def _order_check(key, statement, numeric, points, order, tolerance, cost="fast"):
    return Check(key=f"{PAPER}/{key}", statement=statement, source=SOURCE, symbolic=lambda point: order,
                 numeric=numeric, points=points, tolerance=tolerance, cost=cost)


def _pair(key, statement, numeric, fast, full, order, tolerance):
    return [_order_check(key, statement, numeric, fast, order, tolerance),
            _order_check(key + "-full", statement, numeric, full, order, tolerance, cost="slow")]


EULER_STRONG = _pair(
    "harness-euler-strong",
    "Euler-Maruyama converges strongly at order 1/2 (fitted slope of E|Y_T - Z_T| against dt on shared "
    "Brownian paths, exact path solutions; slack 0.2).",
    _strong, [{"problem": "gbm", "method": "euler", "paths": 2000}],
    [{"problem": q, "method": "euler", "paths": 8000} for q in ("gbm", "kp_sinh")], 0.5, Order(slack=0.2))

EULER_WEAK = _pair(
    "harness-euler-weak",
    "Euler-Maruyama converges weakly at order 1 (E g(Y_T) - E g(Z_T) as the mean of g(Y_T) - g(Z_T) on shared "
    "paths where the path solution is known, else against the closed form; slack 0.2).",
    _weak, [{"problem": "gbm", "g": "x", "method": "euler", "paths": 20000}],
    [{"problem": "gbm", "g": g, "method": "euler", "paths": 50000} for g in ("x", "x2")],
    1.0, Order(slack=0.2))

MILSTEIN_STRONG = _pair(
    "harness-milstein-strong",
    "Milstein's scheme (commutative noise) converges strongly at order 1 (slack 0.2).",
    _strong, [{"problem": "gbm", "method": "milstein", "paths": 2000}],
    [{"problem": q, "method": "milstein", "paths": 8000} for q in ("gbm", "kp_sinh", "kp_tanh")],
    1.0, Order(slack=0.2))

WEAK2_WEAK = _pair(
    "harness-weak2-weak",
    "The simplified order-2.0 weak Taylor scheme converges weakly at order 2 with at most 2e5 paths per "
    "level (control variate g(exact path) on shared paths; slack 0.25).",
    _weak, [{"problem": "gbm", "g": "x", "method": "weak2", "paths": 100_000}],
    [{"problem": "gbm", "g": g, "method": "weak2", "paths": 200_000} for g in ("x", "x2")],
    2.0, Order(slack=0.25))

SRA_STRONG = _pair(
    "harness-sra-strong",
    "Roessler's SRA1 converges strongly at order at least 1.5 on additive noise (fitted slope >= 1.5 - 0.2; "
    "on a linear drift it reaches 2).",
    _strong, [{"problem": "kp_additive_time", "method": "sra", "paths": 2000}],
    [{"problem": q, "method": "sra", "paths": 8000} for q in ("kp_additive_time", "langevin_sin")],
    1.5, Bound("lower", n_sigma=2.0, slack=0.2))

#: Giles' geometric Brownian motion (mu = 0.05, sigma = 0.2, T = 1, X0 = 1) and g = X_T^2
GILES = {"mu": 0.05, "s": 0.2}


def _gbm_x2_exact():
    p = get_problem("gbm")
    return p.expectation("x2", params=GILES)


def _mlmc_value(point, ctx):
    p = get_problem("gbm")
    r = mlmc(p.sde, p.expectations["x2"].g, p.z0, t1=1.0, eps=point["eps"], seed=ctx.seed_sequence(),
             method=point["method"], params=GILES)
    if any(lv["n_diverged"] for lv in r.levels):
        raise LemmataError("paths diverged")
    return Estimate(r.value, r.stderr, sum(lv["n_paths"] for lv in r.levels))


MLMC_VALUE = Check(
    key=f"{PAPER}/harness-mlmc-gbm",
    statement="Multilevel Monte Carlo reaches E X_T^2 of geometric Brownian motion to the requested RMS "
              "error eps: |estimate - exact| <= 4 stderr + eps/sqrt(2) (the bias it allows itself).",
    source="Giles, Oper. Res. 56 (2008) 607-617; exact E X_T^2 = exp((2 mu + sigma^2) T)",
    symbolic=lambda point: _gbm_x2_exact(),
    numeric=_mlmc_value,
    points=[{"eps": 4e-3, "method": "milstein"}],
    tolerance=MonteCarlo(n_sigma=4.0, bias=4e-3 / math.sqrt(2)),
)

MLMC_VALUE_FULL = Check(
    key=f"{PAPER}/harness-mlmc-gbm-full",
    statement=MLMC_VALUE.statement,
    source=MLMC_VALUE.source,
    symbolic=MLMC_VALUE.symbolic,
    numeric=_mlmc_value,
    points=[{"eps": 1e-3, "method": "euler"}, {"eps": 1e-3, "method": "milstein"}],
    tolerance=MonteCarlo(n_sigma=4.0, bias=1e-3 / math.sqrt(2)),
    cost="slow",
)

EPSILONS = (4e-3, 2e-3, 1e-3, 5e-4)


def _mlmc_rate(point, ctx):
    """Slope of log(cost / log(1/eps)^q) against log(1/eps), q = 2 for Euler-Maruyama (variance decay
    beta = 1 = gamma) and q = 0 for Milstein (beta = 2 > gamma = 1); Giles' theorem gives 2."""
    p = get_problem("gbm")
    costs = []
    for i, eps in enumerate(EPSILONS):
        r = mlmc(p.sde, p.expectations["x2"].g, p.z0, t1=1.0, eps=eps, method=point["method"], params=GILES,
                 seed=ctx.seed_sequence().spawn(len(EPSILONS))[i])
        costs.append(r.cost)
    q = 2.0 if point["method"] == "euler" else 0.0
    x = [math.log(1 / e) for e in EPSILONS]
    y = [math.log(c / math.log(1 / e) ** q) for c, e in zip(costs, EPSILONS)]
    return fit_slope(x, y)


MLMC_RATE = Check(
    key=f"{PAPER}/harness-mlmc-cost-rate",
    statement="The cost of multilevel Monte Carlo on GBM grows as eps^-2 (log eps)^2 with Euler-Maruyama and "
              "as eps^-2 with Milstein (fitted over eps = 4e-3 .. 5e-4; slack 0.3).",
    source="Giles, Oper. Res. 56 (2008), Theorem 3.1",
    symbolic=lambda point: 2.0,
    numeric=_mlmc_rate,
    points=[{"method": "euler"}, {"method": "milstein"}],
    tolerance=Order(slack=0.3),
    cost="slow",
)

CHECKS = [*EULER_STRONG, *EULER_WEAK, *MILSTEIN_STRONG, *WEAK2_WEAK, *SRA_STRONG, MLMC_VALUE, MLMC_VALUE_FULL,
          MLMC_RATE]
