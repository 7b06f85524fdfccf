"""Bad input to the SDE modules: lemmata.analysis.sde, lemmata.numerics.sde,
lemmata.numerics.convergence and lemmata.numerics.sde_problems (issue 19)."""

import numpy as np
import sympy as sp

from lemmata.analysis import sde as A
from lemmata.analysis.errors import AssumptionError, LemmataError
from lemmata.numerics import convergence as C
from lemmata.numerics import sde as N
from lemmata.numerics import sde_problems as P

x, y, mu, s = sp.symbols("x y mu s", real=True)
GBM = P.get_problem("gbm")
LIN = P.get_problem("linear2d")
G = GBM.sde
PAR = GBM.params
SEG = A.seg(sp.Symbol("lam", real=True) * x * y, x, y)

CASES = [
    # lemmata.analysis.sde
    ("lemmata.analysis.sde.SDE.from_coefficients", lambda: A.SDE.from_coefficients([x, y], [[1]], x),
     LemmataError, ["`drift`", "one entry per state symbol", "(2, 1)"]),
    ("lemmata.analysis.sde.SDE.from_coefficients", lambda: A.SDE.from_coefficients([x], "x", x),
     TypeError, ["`diffusion`", "strings"]),
    ("lemmata.analysis.sde.SDE.from_coefficients", lambda: A.SDE.from_coefficients([x, y], [1, 1], (x, y)),
     TypeError, ["`diffusion`", "matrix", "flat list"]),
    ("lemmata.analysis.sde.SDE.from_coefficients", lambda: A.SDE.from_coefficients([mu * x], [[1]], x),
     LemmataError, ["undeclared", "mu", "`params`"]),
    ("lemmata.analysis.sde.SDE.from_coefficients",
     lambda: A.SDE.from_coefficients([x], [[1]], x, convention="ito2"), ValueError, ["`convention`", "ito2"]),
    ("lemmata.analysis.sde.stratonovich_correction", lambda: A.stratonovich_correction([[x], [y]], (x,)),
     LemmataError, ["`diffusion`", "one row per state"]),
    ("lemmata.analysis.sde.moment_equations",
     lambda: A.moment_equations(A.SDE.from_coefficients([x ** 2], [[1]], x)), LemmataError, ["affine"]),
    ("lemmata.analysis.sde.from_update", lambda: A.from_update(sp.Matrix([x]), (x, y), ()), LemmataError,
     ["`delta`", "one entry per state"]),
    ("lemmata.analysis.sde.from_update", lambda: A.from_update(sp.Matrix([x]), (x,), (), order=3), ValueError,
     ["`order`", "1 or 2"]),
    ("lemmata.analysis.sde.gaussian_expectation", lambda: A.gaussian_expectation(sp.exp(x), (x,)),
     NotImplementedError, ["not polynomial in the noise"]),
    ("lemmata.analysis.sde.sgd", lambda: A.sgd(x ** 2, "x"), TypeError, ["`x`", "Symbol"]),
    ("lemmata.analysis.sde.sgda", lambda: A.sgda(x * y, x, y, noise="loud"), ValueError, ["`noise`", "loud"]),
    ("lemmata.analysis.sde.seg", lambda: A.seg(x * y * mu, x, y, params=()), LemmataError,
     ["undeclared", "mu", "`params`"]),
    ("lemmata.analysis.sde.shgd", lambda: A.shgd(x * y, x, y, noise="multiplicative", params=()) and
     A.shgd(x ** 2 * y, x, y, noise="multiplicative"), LemmataError, ["bilinear"]),
    ("lemmata.analysis.sde.linear_structure", lambda: A.linear_structure(A.SDE.from_coefficients([x ** 2], [[1]], x)),
     LemmataError, ["not linear"]),
    ("lemmata.analysis.sde.linear_moments", lambda: A.linear_moments(G), LemmataError, ["depends on the state"]),
    ("lemmata.analysis.sde.norm_second_moment",
     lambda: A.norm_second_moment(A.SDE.from_coefficients([x ** 3], [[1]], x)), LemmataError, ["does not close"]),
    ("lemmata.analysis.sde.stationary_covariance",
     lambda: A.stationary_covariance(sp.Matrix([[0]]), sp.Matrix([[1]])), LemmataError, ["Hurwitz"]),
    ("lemmata.analysis.sde.schedule_solution", lambda: A.schedule_solution(2), ValueError, ["`alpha`", "2"]),
    ("lemmata.analysis.sde.quadratic_game", lambda: A.quadratic_game(0), ValueError, ["`d`"]),
    # lemmata.numerics.sde
    ("lemmata.numerics.sde.simulate", lambda: N.simulate(G, [1.0], t1=1.0, dt=-0.01, n_paths=2, params=PAR),
     ValueError, ["`dt` must be positive and finite", "-0.01"]),
    ("lemmata.numerics.sde.simulate", lambda: N.simulate(LIN.sde, LIN.z0, t1=1.0, dt=0.1, n_paths=2,
                                                         params=LIN.params, method="milstein"),
     AssumptionError, ["`method='milstein'`", "commutative"]),
    ("lemmata.numerics.sde.simulate", lambda: N.simulate(G, [1.0], t1=1.0, dt=0.1, n_paths=2, params=PAR,
                                                         method="sra"), AssumptionError, ["`method='sra'`", "additive"]),
    ("lemmata.numerics.sde.simulate", lambda: N.simulate(G, [1.0], t1=1.0, dt=0.1, n_paths=2, params=PAR,
                                                         functionals={"q": sp.Symbol("q") * x}),
     LemmataError, ["`functionals", "unknown symbols", "q"]),
    ("lemmata.numerics.sde.simulate", lambda: N.simulate(G, [1.0], t1=1.0, dt=0.1, n_paths=3, params=PAR,
                                                         antithetic=True), ValueError, ["`n_paths`", "even"]),
    ("lemmata.numerics.sde.simulate_levels", lambda: N.simulate_levels(G, [1.0], t1=1.0, n_steps=[3, 4],
                                                                       n_paths=2, params=PAR),
     ValueError, ["`n_steps`", "divide"]),
    ("lemmata.numerics.sde.simulate_discrete", lambda: N.simulate_discrete(G, [1.0], n_steps=3, n_paths=3),
     LemmataError, ["`sde`", "update rule"]),
    ("lemmata.numerics.sde.discrete_moments", lambda: N.discrete_moments(SEG, [1.0, 1.0], n_steps=3, params={}),
     ValueError, ["`params`", "values"]),
    ("lemmata.numerics.sde.get_scheme", lambda: N.get_scheme("rk4"), ValueError, ["`method`", "rk4"]),
    # lemmata.numerics.convergence
    ("lemmata.numerics.convergence.strong_order",
     lambda: C.strong_order(G, [1.0], t1=1.0, dts=(0.5, 0.25), n_paths=4, seed=0, params=PAR),
     ValueError, ["`dts`", "at least 3"]),
    ("lemmata.numerics.convergence.weak_order",
     lambda: C.weak_order(G, "x", [1.0], t1=1.0, dts=(0.5, 0.25, 0.125), n_paths=4, seed=0, params=PAR),
     TypeError, ["`g`", "string"]),
    ("lemmata.numerics.convergence.weak_order",
     lambda: C.weak_order(G, x, [1.0], t1=1.0, dts=(0.5, 0.25, 0.125), n_paths=4, seed=0, params=PAR,
                          exact=float("nan")), ValueError, ["`exact`", "finite"]),
    ("lemmata.numerics.convergence.richardson",
     lambda: C.richardson(G, x, [1.0], t1=1.0, dt=0.3, n_paths=4, seed=0, params=PAR), ValueError,
     ["`dt`", "whole steps"]),
    ("lemmata.numerics.convergence.mlmc", lambda: C.mlmc(G, x, [1.0], t1=1.0, eps=-1.0, seed=0, params=PAR),
     ValueError, ["`eps`", "positive"]),
    ("lemmata.numerics.convergence.work_precision",
     lambda: C.work_precision(G, x, [1.0], t1=1.0, exact=1.0, dts=(0.5,), n_paths=4, seed=0, methods="euler",
                              params=PAR), ValueError, ["`methods`"]),
    ("lemmata.numerics.convergence.fit_order", lambda: C.fit_order([0.1, 0.05], np.ones((2, 1))), LemmataError,
     ["too few paths"]),
    ("lemmata.numerics.convergence.order_from_errors",
     lambda: C.order_from_errors([0.1, 0.05, 0.025], [1.0, 0.0, 0.1], expected=1), ValueError,
     ["`errors`", "non-zero"]),
    ("lemmata.numerics.convergence.OrderResult.verdict",
     lambda: C.order_from_errors([0.1, 0.05, 0.025], [1.0, 0.5, 0.25], expected=1).verdict(slack=-1),
     ValueError, ["`slack`", "positive"]),
    # lemmata.numerics.sde_problems
    ("lemmata.numerics.sde_problems.get_problem", lambda: P.get_problem("heston"), LemmataError,
     ["`name`", "heston"]),
    ("lemmata.numerics.sde_problems.SDEProblem.expectation", lambda: GBM.expectation("x", t1=-1.0), ValueError,
     ["`t1`", "non-negative"]),
    ("lemmata.numerics.sde_problems.SDEProblem.exact_path", lambda: GBM.exact_path(1.0, np.zeros((3, 2))),
     ValueError, ["`W`", "1 entries"]),
]

EXEMPT = {
    "lemmata.analysis.sde.SDE": "built through from_coefficients/from_update, whose cases are above",
    "lemmata.numerics.sde.SimulationResult": "a result object built by simulate, not by users",
    "lemmata.numerics.sde.LevelsResult": "a result object built by simulate_levels, not by users",
    "lemmata.numerics.sde.Scheme": "the four schemes are built once in SCHEMES; users pick them by name",
    "lemmata.numerics.convergence.Verdict": "a result object built by OrderResult.verdict",
    "lemmata.numerics.convergence.RichardsonResult": "a result object built by richardson",
    "lemmata.numerics.convergence.MLMCResult": "a result object built by mlmc",
    "lemmata.numerics.convergence.WorkPrecisionResult": "a result object built by work_precision",
    "lemmata.numerics.sde_problems.SDEProblem": "registry entries are built by the module; see get_problem",
    "lemmata.numerics.sde_problems.Expectation": "registry entries are built by the module; see get_problem",
    "lemmata.numerics.sde_problems.problem_names": "takes no arguments (the registry's names)",
}


def _cli(*args):
    from lemmata.proofs_checks import cli
    return cli.main(["derive", "sde", *args])


CASES += [
    ("cli:derive sde", lambda: _cli("--drift", "__import__('os')", "--diffusion", "1", "--state", "x"), 2,
     ["`--drift`", "__import__", "allowed functions"]),
    ("cli:derive sde", lambda: _cli("--drift", "x; y", "--diffusion", "1", "--state", "x,y"), 2,
     ["`--diffusion`", "one row per state"]),
    ("cli:derive sde", lambda: _cli("--drift", "x", "--diffusion", "1"), 2, ["`--state`"]),
]
