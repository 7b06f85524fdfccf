"""The four schemes and the engine's options: Monte Carlo against each scheme's exact expectation
(no discretisation bias), functionals, antithetic pairs, refusals, and the issue-12/14 fixes."""

import numpy as np
import pytest
import sympy as sp

from lemmata.analysis import AssumptionError, LemmataError
from lemmata.numerics.sde import SCHEMES, get_scheme, simulate, simulate_levels
from lemmata.numerics.sde_problems import get_problem

GBM = get_problem("gbm")
X = GBM.sde.state[0]
MU, S = GBM.params["mu"], GBM.params["s"]


@pytest.mark.parametrize("method,factor", [
    # E Y_{n+1} = E[Y_n (1 + mu h + ...)]: Euler and Milstein 1 + mu h; weak2 adds mu^2 h^2 / 2
    pytest.param("euler", lambda h: 1 + MU * h, marks=pytest.mark.slow),
    pytest.param("milstein", lambda h: 1 + MU * h, marks=pytest.mark.slow),
    ("weak2", lambda h: 1 + MU * h + MU ** 2 * h ** 2 / 2)])
def test_mean_of_each_scheme_equals_its_exact_recursion(method, factor):
    h = 0.25
    r = simulate(GBM.sde, GBM.z0, t1=1.0, dt=h, n_paths=40_000, seed=1, params=GBM.params, method=method,
                 functionals={"x": X})
    exact = factor(h) ** 4
    assert abs(r.functionals["x"][-1] - exact) < 4 * r.functionals_stderr["x"][-1]
    assert r.functionals["x"][-1] == pytest.approx(r.mean[-1, 0])


def test_weak2_second_moment_equals_its_exact_recursion():
    # Y+ = Y (c0 + c1 xi + c2 xi^2), xi ~ N(0,1): E factor^2 = (c0+c2)^2 + c1^2 + 2 c2^2 (Gaussian moments)
    h = 0.25
    c0 = 1 + MU * h + MU ** 2 * h ** 2 / 2 - S ** 2 * h / 2
    c1 = (S + MU * S * h) * np.sqrt(h)
    c2 = S ** 2 * h / 2
    exact = ((c0 + c2) ** 2 + c1 ** 2 + 2 * c2 ** 2) ** 4
    r = simulate(GBM.sde, GBM.z0, t1=1.0, dt=h, n_paths=40_000, seed=2, params=GBM.params, method="weak2",
                 functionals={"x2": X ** 2})
    assert abs(r.functionals["x2"][-1] - exact) < 4 * r.functionals_stderr["x2"][-1]


def test_sra_is_exact_in_mean_for_the_additive_time_dependent_problem():
    p = get_problem("kp_additive_time")
    r = simulate(p.sde, p.z0, t1=1.0, dt=0.125, n_paths=20_000, seed=3, method="sra", antithetic=True)
    # antithetic pairs: the mean of a scheme linear in the increments has no Monte Carlo error at all
    assert r.mean_stderr[-1, 0] < 1e-8          # round-off only
    lv = simulate_levels(p.sde, p.z0, t1=1.0, n_steps=[8, 64], n_paths=4000, seed=3, method="sra")
    exact = p.exact_path(1.0, lv.brownian.T)[:, 0]
    errors = np.abs(lv.final[:, 0, :] - exact).mean(axis=1)
    assert errors[1] < errors[0] / 8 ** 1.5            # at least order 1.5 between the two levels


def test_functionals_with_time_and_stderr_and_reproducibility():
    t = sp.Symbol("t")
    a = simulate(GBM.sde, GBM.z0, t1=1.0, dt=0.1, n_paths=1000, seed=4, params=GBM.params, save_every=5,
                 functionals={"xt": X * t, "one": sp.Integer(1)}, threads=1)
    b = simulate(GBM.sde, GBM.z0, t1=1.0, dt=0.1, n_paths=1000, seed=4, params=GBM.params, save_every=5,
                 functionals={"xt": X * t, "one": sp.Integer(1)}, threads=2)
    np.testing.assert_array_equal(a.functionals["xt"], b.functionals["xt"])
    np.testing.assert_allclose(a.functionals["xt"], a.mean[:, 0] * a.times, rtol=1e-12)
    assert a.functionals["one"].tolist() == [1.0, 1.0, 1.0] and a.functionals_stderr["one"].max() == 0


def test_antithetic_reduces_the_error_of_the_mean():
    plain = simulate(GBM.sde, GBM.z0, t1=1.0, dt=0.1, n_paths=4000, seed=5, params=GBM.params)
    anti = simulate(GBM.sde, GBM.z0, t1=1.0, dt=0.1, n_paths=4000, seed=5, params=GBM.params, antithetic=True)
    assert anti.mean_stderr[-1, 0] < 0.6 * plain.mean_stderr[-1, 0]
    with pytest.raises(ValueError, match="even"):
        simulate(GBM.sde, GBM.z0, t1=1.0, dt=0.1, n_paths=5, params=GBM.params, antithetic=True)


def test_refusals():
    lin = get_problem("linear2d")
    with pytest.raises(AssumptionError, match="commutative"):
        simulate(lin.sde, lin.z0, t1=1.0, dt=0.1, n_paths=4, params=lin.params, method="milstein")
    with pytest.raises(AssumptionError, match="additive"):
        simulate(GBM.sde, GBM.z0, t1=1.0, dt=0.1, n_paths=4, params=GBM.params, method="sra")
    with pytest.raises(LemmataError, match="unknown symbols"):
        simulate(GBM.sde, GBM.z0, t1=1.0, dt=0.1, n_paths=4, params=GBM.params, functionals={"q": sp.Symbol("q")})
    with pytest.raises(TypeError, match="not a string"):
        simulate(GBM.sde, GBM.z0, t1=1.0, dt=0.1, n_paths=4, params=GBM.params, functionals={"q": "x"})
    with pytest.raises(ValueError, match="`method` must be one of"):
        simulate(GBM.sde, GBM.z0, t1=1.0, dt=0.1, n_paths=4, params=GBM.params, method="rk4")


def test_declared_orders():
    assert (get_scheme("euler").strong_order(), get_scheme("euler").weak_order()) == (0.5, 1.0)
    assert get_scheme("euler").strong_order(get_problem("ou").sde) == 1.0
    assert SCHEMES["sra"].strong_order() == 1.5 and SCHEMES["weak2"].weak_order() == 2.0
    assert get_scheme("euler_maruyama") is SCHEMES["euler"]


def test_numpy_scalar_steps_compact_repr_and_exports(capsys):
    r = simulate(GBM.sde, GBM.z0, t1=1.0, dt=np.float32(0.01), n_paths=600, seed=0, params=GBM.params,
                 progress=True, functionals={"x": X})
    assert "%" in capsys.readouterr().err                    # progress lines on stderr
    assert len(repr(r)) < 300 and "array(2, 1)" in repr(r)
    assert r.to_dict()["functionals"]["x"][0] == 1.0
    pd = pytest.importorskip("pandas")
    frame = r.to_pandas()
    assert isinstance(frame, pd.DataFrame) and list(frame["time"]) == pytest.approx([0.0, 1.0])
    simulate(GBM.sde, GBM.z0, t1=np.float64(1.0), dt=np.float64(0.5), n_paths=2, params=GBM.params)
    with pytest.raises(ValueError, match="`dt` must be positive and finite"):
        simulate(GBM.sde, GBM.z0, t1=1.0, dt=np.float32(-0.01), n_paths=2, params=GBM.params)


@pytest.mark.slow
def test_levels_count_divergence_per_level():
    z = sp.Symbol("z", real=True)
    from lemmata.analysis.sde import SDE
    blow = SDE.from_coefficients([z ** 3], [[1]], z)
    lv = simulate_levels(blow, [0.5], t1=2.0, n_steps=[4, 64], n_paths=500, seed=0, blowup=1e6)
    counts = lv.diverged.sum(axis=1)
    assert counts[0] > 0 and counts[1] > 0
    assert np.isnan(lv.final[0][:, lv.diverged[0]]).all() and np.isfinite(lv.final[1][:, ~lv.diverged[1]]).all()
    with pytest.raises(ValueError, match="divide the largest"):
        simulate_levels(blow, [0.5], t1=1.0, n_steps=[3, 4], n_paths=4)
