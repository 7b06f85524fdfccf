"""The registry's exact path solutions solve their SDEs (Ito's formula, symbolically) and its
closed-form expectations agree with sampling the exact solution."""

import numpy as np
import pytest
import sympy as sp

from lemmata.analysis import LemmataError
from lemmata.numerics.sde_problems import PROBLEMS, get_problem, problem_names, t

WITH_PATHS = [n for n in problem_names() if get_problem(n).solution is not None]


@pytest.mark.parametrize("name", WITH_PATHS)
def test_path_solution_satisfies_ito_formula(name):
    # Z = Phi(t, W): dZ = (Phi_t + Phi_WW / 2) dt + Phi_W dW must equal b(Z, t) dt + D(Z, t) dW
    p = get_problem(name)
    W = p.brownian[0]
    phi = p.solution[0]
    at = {p.sde.state[0]: phi}
    if p.sde.time is not None:
        at[p.sde.time] = t
    drift = sp.diff(phi, t) + sp.diff(phi, W, 2) / 2
    assert sp.simplify(sp.expand_trig(drift - p.sde.drift[0].xreplace(at))) == 0
    assert sp.simplify(sp.diff(phi, W) - p.sde.diffusion[0, 0].xreplace(at)) == 0
    assert p.exact_path(0.0, np.zeros((1, 1)))[0, 0] == pytest.approx(p.z0[0])


@pytest.mark.parametrize("name", WITH_PATHS)
def test_expectations_agree_with_sampling_the_exact_solution(name):
    p = get_problem(name)
    rng = np.random.default_rng(0)
    W = rng.standard_normal((200_000, 1)) * np.sqrt(p.t1)
    Z = p.exact_path(p.t1, W)[:, 0]
    for label, e in p.expectations.items():
        values = sp.lambdify(p.sde.state[0], e.g, "numpy")(Z) * np.ones_like(Z)
        se = values.std() / np.sqrt(values.size)
        assert abs(values.mean() - p.expectation(label)) < 4 * se, label


def test_linear2d_moments_match_a_small_step_recursion():
    # independent check of the mpmath e^{Gt}: Euler steps of the same moment ODE at h = 1e-4
    p = get_problem("linear2d")
    a, s = p.params["a"], p.params["s"]
    A = np.array([[-a, 0.5], [-0.5, -a]])
    B = [s * np.diag([1.0, -1.0]), s * np.array([[0.0, 1.0], [1.0, 0.0]])]
    S = np.outer(p.z0, p.z0)
    h = 1e-4
    for _ in range(int(p.t1 / h)):
        S = S + h * (A @ S + S @ A.T + sum(Bj @ S @ Bj.T for Bj in B))
    assert np.trace(S) == pytest.approx(p.expectation("norm2"), rel=1e-3)


def test_registry_errors_and_reprs():
    assert len(PROBLEMS) == len(problem_names()) and "gbm" in repr(PROBLEMS["gbm"])
    with pytest.raises(LemmataError, match="`name` must be one of"):
        get_problem("nope")
    with pytest.raises(LemmataError, match="no path solution"):
        get_problem("ou").exact_path(1.0, np.zeros((1, 1)))
    with pytest.raises(LemmataError, match="`name`"):
        get_problem("gbm").expectation("x3")
    assert get_problem("gbm").to_dict()["noise"] == "scalar"
