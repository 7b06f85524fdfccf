"""Bad-input cases of lemmata.numerics (issue 12, part B): arrays, optim, problems, logistic,
orbits, stats, encoder, recurrence, scan, signature, cde, backends. The reproducers of issue 12
on this side are marked ``# issue 12``. Format: tests/bad_input/test_registry.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sympy as sp

from lemmata.analysis import Derivation
from lemmata.analysis.errors import AssumptionError, LemmataError
from lemmata.numerics import arrays, backends, cde, encoder, logistic, optim, orbits, problems, recurrence, scan
from lemmata.numerics import signature as sig
from lemmata.numerics import stats

_x, _r = sp.Symbol("x", real=True), sp.Symbol("r", positive=True)
MAP = Derivation("logistic_map", (_x,), (_r,), {"map": _r * _x * (1 - _x)})
X2 = np.array([[1.0, -2.0], [0.5, 0.25]])
G2 = np.array([[0.3, 0.4], [-1.0, 2.0]])
F2 = np.array([2.0, 0.5])


def _ls():
    A = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 2.0, 3.0]])
    return problems.LeastSquares(A, A @ np.ones(3))


def _update(opt, grads, params=X2, value=F2):
    return opt.update(grads, opt.init(params), params, value=value)


def _trajectory():
    return optim.run(optim.sgd(0.1), _ls(), np.zeros(3), n_steps=3)


def _data():
    return logistic.logistic_data(z=np.array([[1.0], [-2.0], [0.5]]))


def _readout():
    return cde.ridge_readout(np.eye(4)[:, :2] + 0.1, np.arange(4.0))


E = ValueError
T = TypeError

CASES = [
    # ------------------------------------------------------------------ arrays
    ("lemmata.numerics.arrays.as_array", lambda: arrays.as_array([[1.0, 2.0], [3.0]], name="X"), E,
     ["`X`", "rectangular", "ragged"]),
    ("lemmata.numerics.arrays.as_array", lambda: arrays.as_array(np.array(["a"]), name="X"), T, ["`X`", "numbers", "<U1"]),
    ("lemmata.numerics.arrays.as_array", lambda: arrays.as_array([1.0, np.nan], name="y"), E, ["`y`", "finite", "1 NaN"]),
    ("lemmata.numerics.arrays.as_array", lambda: arrays.as_array(np.ones(3), name="X", ndim=2), E,
     ["`X`", "2-dimensional", "(3,)"]),
    ("lemmata.numerics.arrays.as_array", lambda: arrays.as_array([], name="X"), E, ["`X`", "at least 1"]),
    ("lemmata.numerics.arrays.as_array", lambda: arrays.as_array([1j], name="X"), E, ["`X`", "real", "complex"]),
    ("lemmata.numerics.arrays.as_array", lambda: arrays.as_array(pd.DataFrame({"a": ["u", "v"]}), name="X"), T,
     ["`X`", "non-numeric columns"]),
    ("lemmata.numerics.arrays.real_scalar", lambda: arrays.real_scalar("dt", "0.1"), T, ["`dt`", "real number"]),
    ("lemmata.numerics.arrays.real_scalar", lambda: arrays.real_scalar("dt", np.float32(-0.1), positive=True), E,
     ["`dt`", "positive"]),
    ("lemmata.numerics.arrays.integer", lambda: arrays.integer("n_steps", 10.0), T, ["`n_steps`", "integer"]),
    ("lemmata.numerics.arrays.integer", lambda: arrays.integer("n_steps", np.int64(-1), minimum=0), E,
     ["`n_steps`", "non-negative", "-1"]),
    ("lemmata.numerics.arrays.warn_if_nonfinite", lambda: arrays.warn_if_nonfinite(["a"], "x"), T, ["numbers"]),
    # ------------------------------------------------------------------ backends
    ("lemmata.numerics.backends.get", lambda: backends.get("tpu"), E, ["`backend`", "one of", "'tpu'"]),
    ("lemmata.numerics.backends.to_numpy", lambda: backends.to_numpy({"a": 1}), T, ["`x`", "numbers", "dict"]),
    # ------------------------------------------------------------------ optim
    ("lemmata.numerics.optim.ngn", lambda: optim.ngn(np.nan), E, ["`sigma`", "positive and finite"]),
    ("lemmata.numerics.optim.ngn", lambda: optim.ngn("1.0"), T, ["`sigma`", "numbers"]),
    ("lemmata.numerics.optim.ngn",                                             # issue 12: wrong gradient shape
     lambda: _update(optim.ngn(1.0), np.ones((2, 3))), E, ["`grads`", "shape of `params`", "(2, 2)", "(2, 3)"]),
    ("lemmata.numerics.optim.ngn", lambda: _update(optim.ngn(1.0), G2, value=None), LemmataError, ["needs the loss"]),
    ("lemmata.numerics.optim.ngn", lambda: _update(optim.ngn(1.0), G2, value=np.array([1.0, -1.0])), AssumptionError,
     ["`value`", "non-negative"]),
    ("lemmata.numerics.optim.ngn_momentum", lambda: optim.ngn_momentum(1.0, beta=1.0), E, ["`beta`", "below 1"]),
    ("lemmata.numerics.optim.ngn_ema", lambda: optim.ngn_ema(1.0, weight_decay_sign="up"), E,
     ["`weight_decay_sign`", "one of"]),
    ("lemmata.numerics.optim.sgd",                                             # issue 12: a dict of parameters
     lambda: optim.sgd(0.1).update({"w": np.ones(2)}, optim.sgd(0.1).init({"w": np.ones(2), "b": np.ones(1)})), E,
     ["`grads`", "tree structure", "['b', 'w']", "['w']"]),
    ("lemmata.numerics.optim.sgd", lambda: optim.sgd(np.ones(3)).init(X2), E, ["`lr`", "leading axes", "(2,)"]),
    ("lemmata.numerics.optim.sgd", lambda: optim.sgd(0.1).init({"w": np.array([np.nan])}), E, ["`params['w']`", "finite"]),
    ("lemmata.numerics.optim.sgd", lambda: optim.sgd(0.1).update(G2, (0, 1)), T, ["`state`", "returned by"]),
    ("lemmata.numerics.optim.sps", lambda: optim.sps(c=-1.0), E, ["`c`", "positive"]),
    ("lemmata.numerics.optim.adagrad", lambda: optim.adagrad(0.1, initial_accumulator=0.0), E,
     ["`initial_accumulator`", "positive"]),
    ("lemmata.numerics.optim.adam", lambda: optim.adam(0.1, b2=1.5), E, ["`b2`", "below 1"]),
    ("lemmata.numerics.optim.scale", lambda: optim.scale(0.0), E, ["`factor`", "non-zero"]),
    ("lemmata.numerics.optim.apply_updates",
     lambda: optim.apply_updates({"w": np.ones(2)}, {"w": np.ones(3)}), E, ["`updates['w']`", "shape", "(2,)", "(3,)"]),
    ("lemmata.numerics.optim.apply_updates", lambda: optim.apply_updates([np.ones(2)], np.ones(2)), E,
     ["`updates`", "tree like `params`"]),
    ("lemmata.numerics.optim.chain", lambda: optim.chain(optim.sgd(0.1), "adam"), T, ["transform 1", "Optimizer"]),
    ("lemmata.numerics.optim.chain", lambda: optim.chain(), E, ["at least one transform"]),
    ("lemmata.numerics.optim.Optimizer", lambda: optim.chain(optim.Optimizer("init", "update")), T,
     ["transform 0", "(init, update)"]),
    ("lemmata.numerics.optim.run", lambda: optim.run(optim.sgd(0.1), _ls(), np.zeros(4), n_steps=5), E,
     ["`x0`", "shape", "(3,)"]),
    ("lemmata.numerics.optim.run", lambda: optim.run(optim.sgd(0.1), _ls(), np.zeros(3), n_steps=5.0), T,
     ["`n_steps`", "integer"]),
    ("lemmata.numerics.optim.run", lambda: optim.run(optim.sgd(0.1), _ls(), np.zeros(3), n_steps=5, blowup=-1), E,
     ["`blowup`", "positive"]),
    ("lemmata.numerics.optim.run", lambda: optim.run("sgd", _ls(), np.zeros(3), n_steps=5), T, ["`optimizer`"]),
    ("lemmata.numerics.optim.sample_indices", lambda: optim.sample_indices(0, 2, 3, 0, 5), E,
     ["`batch_size`", "positive integer"]),
    ("lemmata.numerics.optim.Trajectory.loss_estimate", lambda: _trajectory().loss_estimate(10), E,
     ["`record`", "<= 3"]),
    # ------------------------------------------------------------------ problems
    ("lemmata.numerics.problems.LeastSquares", lambda: problems.LeastSquares(np.ones(3), np.ones(3)), E,
     ["`A`", "2-D"]),
    ("lemmata.numerics.problems.LeastSquares", lambda: problems.LeastSquares([[1.0, "a"]], [1.0]), T, ["`A`", "numbers"]),
    ("lemmata.numerics.problems.Problem.value_and_grad", lambda: _ls().value_and_grad(np.zeros(4)), E,
     ["`x`", "(..., 3)", "(4,)"]),
    ("lemmata.numerics.problems.Problem.value_and_grad", lambda: _ls().value_and_grad(np.zeros(3), np.array([7])), E,
     ["`idx`", "[0, 4)"]),
    ("lemmata.numerics.problems.LogisticRegression",
     lambda: problems.LogisticRegression(np.ones((3, 2)), pd.Series([1.0, np.nan, -1.0])), E, ["`y`", "labels"]),
    ("lemmata.numerics.problems.SigmoidRegression", lambda: problems.SigmoidRegression(np.ones((3, 2)), [1.0]), E,
     ["`x_star`", "shape (2,)"]),
    ("lemmata.numerics.problems.OffsetQuadratic",
     lambda: problems.OffsetQuadratic([1.0, -1.0], np.zeros((2, 1)), [0.0, 0.0]), E, ["`h`", "positive"]),
    # ------------------------------------------------------------------ logistic
    ("lemmata.numerics.logistic.logistic_data",                                # issue 12: NaN label
     lambda: logistic.logistic_data([1.0, 2.0, 3.0], [1.0, np.nan, -1.0]), E, ["`y`", "labels in", "nan"]),
    ("lemmata.numerics.logistic.logistic_data",                                # issue 12: label 0
     lambda: logistic.logistic_data([1.0, 2.0, 3.0], [1, 0, -1]), E, ["`y`", "labels in", "0"]),
    ("lemmata.numerics.logistic.logistic_data",                                # issue 12: mismatched lengths
     lambda: logistic.logistic_data([1.0, 2.0, 3.0], [1, -1]), E, ["`y`", "one label per row", "(3)"]),
    ("lemmata.numerics.logistic.logistic_data",                                # issue 12: NaN feature
     lambda: logistic.logistic_data(pd.DataFrame({"a": [1.0, np.nan, -1.0]}), [1, -1, 1]), E, ["`X`", "finite"]),
    ("lemmata.numerics.logistic.logistic_data", lambda: logistic.logistic_data(z=[[1.0], [2.0]]), AssumptionError,
     ["separable"]),
    ("lemmata.numerics.logistic.LogisticData.eta", lambda: _data().eta(np.nan), E, ["`eta_lambda`", "finite"]),
    ("lemmata.numerics.logistic.wall_dataset_1d", lambda: logistic.wall_dataset_1d(2.5), E, ["`eta_lambda`", "(1, 2)"]),
    ("lemmata.numerics.logistic.wall_dataset_1d", lambda: logistic.wall_dataset_1d(1.5, bulk_p=0.4), E,
     ["`bulk_p`", "(0.5, 1)"]),
    ("lemmata.numerics.logistic.two_wall_dataset_2d", lambda: logistic.two_wall_dataset_2d(0.5, c=0.9), E,
     ["`c`", "c^2 < eta_lambda/2"]),
    ("lemmata.numerics.logistic.gd_orbits_1d",                                 # issue 12: NaN step
     lambda: logistic.gd_orbits_1d([[1.0, -1.0]], [[0.5, 0.5]], [[np.nan]], [[0.1]], 10), E,
     ["`etas`", "positive finite"]),
    ("lemmata.numerics.logistic.gd_orbits_1d",                                 # issue 12: negative step
     lambda: logistic.gd_orbits_1d([[1.0, -1.0]], [[0.5, 0.5]], [[-0.1]], [[0.1]], 10), E,
     ["`etas`", "positive finite"]),
    ("lemmata.numerics.logistic.gd_orbits_1d",                                 # issue 12: n_steps=-1
     lambda: logistic.gd_orbits_1d([[1.0, -1.0]], [[0.5, 0.5]], [[0.1]], [[0.1]], -1), E,
     ["`n_steps`", "non-negative", "-1"]),
    ("lemmata.numerics.logistic.gd_orbits_1d",
     lambda: logistic.gd_orbits_1d([[1.0, -1.0]], [[0.5]], [[0.1]], [[0.1]], 3), E, ["`p`", "shape of `z`"]),
    ("lemmata.numerics.logistic.random_dataset_1d", lambda: logistic.random_dataset_1d(0), T,
     ["`rng`", "Generator"]),
    # ------------------------------------------------------------------ orbits
    ("lemmata.numerics.orbits.orbit_diagram",
     lambda: orbits.orbit_diagram(MAP, [2.8, np.nan], [0.2], n_transient=10, n_keep=10), E, ["`etas`", "positive finite"]),
    ("lemmata.numerics.orbits.orbit_diagram",
     lambda: orbits.orbit_diagram(MAP, [2.8], [0.2], n_transient=np.int64(10), n_keep=1.5), T, ["`n_keep`", "integer"]),
    ("lemmata.numerics.orbits.orbit_diagram",
     lambda: orbits.orbit_diagram(MAP, [2.8], [[0.2, 0.1]], n_transient=10, n_keep=10), E, ["`inits`", "(n_init, 1)"]),
    ("lemmata.numerics.orbits.orbit_diagram",
     lambda: orbits.orbit_diagram(MAP, [2.8], [0.2], n_transient=10, n_keep=10, blowup=0), E, ["`blowup`", "positive"]),
    ("lemmata.numerics.orbits.detect_periods", lambda: orbits.detect_periods(np.ones(10)), E,   # issue 12
     ["`points`", "(..., n_keep, d)", "(10,)"]),
    ("lemmata.numerics.orbits.detect_periods", lambda: orbits.detect_periods(np.ones((4, 1)), max_period=0), E,
     ["`max_period`", "positive"]),
    ("lemmata.numerics.orbits.find_cycles", lambda: orbits.find_cycles(MAP, -1.0, [0.2]), E, ["`eta`", "positive"]),
    ("lemmata.numerics.orbits.find_cycles", lambda: orbits.find_cycles(MAP, 3.2, [0.2], periods=2), T, ["`periods`"]),
    ("lemmata.numerics.orbits.basins", lambda: orbits.basins(MAP, 2.8, [0.2], [[[1.0, 2.0], [3.0, 4.0]]]), E,
     ["`attractors[0]`", "(period, 1)"]),
    ("lemmata.numerics.orbits.orbit_derivation", lambda: orbits.orbit_derivation("x -> r x (1 - x)"), T,
     ["`step`", "Derivation"]),
    # ------------------------------------------------------------------ stats
    ("lemmata.numerics.stats.mean_estimate", lambda: stats.mean_estimate([1.0, np.nan]), LemmataError,
     ["1 finite samples"]),
    ("lemmata.numerics.stats.mean_estimate", lambda: stats.mean_estimate(np.ones((2, 2))), E,
     ["`samples`", "1-dimensional"]),
    ("lemmata.numerics.stats.mean_estimate", lambda: stats.mean_estimate([1e300, -1e300, 1.0]), E,
     ["`samples`", "too large"]),
    ("lemmata.numerics.stats.fit_slope", lambda: stats.fit_slope(np.ones(5), np.arange(5.0)), LemmataError,  # issue 12
     ["`x` is constant"]),
    ("lemmata.numerics.stats.fit_slope", lambda: stats.fit_slope([1.0, 2.0, np.nan], [1.0, 2.0, 3.0]), E,
     ["at least 3 finite points", "1 non-finite excluded"]),
    ("lemmata.numerics.stats.fit_slope", lambda: stats.fit_slope(np.arange(4.0), np.arange(3.0)), E, ["equal length"]),
    ("lemmata.numerics.stats.child_seed", lambda: stats.child_seed(-1), E, ["`seed`", "non-negative"]),
    ("lemmata.numerics.stats.path_generators", lambda: stats.path_generators(0, -2), E, ["`n_paths`", "non-negative"]),
    # ------------------------------------------------------------------ encoder
    ("lemmata.numerics.encoder.reconstruct",                                   # issue 12: singular nodes
     lambda: encoder.reconstruct([0.5, 0.5, 0.2], [1.0, 2.0, 3.0], 3), AssumptionError, ["`lam`", "distinct", "0.5"]),
    ("lemmata.numerics.encoder.reconstruct",
     lambda: encoder.reconstruct([0.5, 0.5, 0.2], [1.0, 2.0, 3.0], 3, method="lstsq"), AssumptionError,
     ["`lam`", "2 distinct values"]),
    ("lemmata.numerics.encoder.condition_number", lambda: encoder.condition_number([], 3), E,   # issue 12
     ["`lam`", "at least 1"]),
    ("lemmata.numerics.encoder.nodes", lambda: encoder.nodes("radius", 4, r=np.nan), E, ["`r`", "(0, 1]"]),
    ("lemmata.numerics.encoder.lru_init", lambda: encoder.lru_init(4, r_min=0.9, r_max=0.5), E, ["`r_min`", "`r_max`"]),
    ("lemmata.numerics.encoder.vandermonde", lambda: encoder.vandermonde(0.5, 3), E, ["`lam`", "1-dimensional"]),
    ("lemmata.numerics.encoder.encode", lambda: encoder.encode([0.5, 0.2], np.ones(3), B=np.ones((3, 1))), E,
     ["`B`", "(2, 1)"]),
    ("lemmata.numerics.encoder.krylov_rank", lambda: encoder.krylov_rank([0.5, 0.2], np.ones((3, 1)), 2), E,
     ["`B`", "one row per node"]),
    # ------------------------------------------------------------------ recurrence
    ("lemmata.numerics.recurrence.burn_in", lambda: recurrence.burn_in(1.0, 0.5), AssumptionError,   # issue 12
     ["|lam| < 1", "1.0"]),
    ("lemmata.numerics.recurrence.burn_in", lambda: recurrence.burn_in(0.5, 0.5, factor=-1), E, ["`factor`", "positive"]),
    ("lemmata.numerics.recurrence.ar1_input", lambda: recurrence.ar1_input(10, 4, np.nan, 0), E, ["`rho`", "[0, 1]"]),
    ("lemmata.numerics.recurrence.lyapunov_moments", lambda: recurrence.lyapunov_moments(1.2, 0.5), AssumptionError,
     ["|lam| < 1"]),
    ("lemmata.numerics.recurrence.simulate_moments", lambda: recurrence.simulate_moments(0.5, 0.5, n_paths=1), E,
     ["`n_paths`", ">= 2"]),
    ("lemmata.numerics.recurrence.gauss_newton_hessian",
     lambda: recurrence.gauss_newton_hessian([0.5, 0.2], [1.0], 0.5, lambda a, b, r: a), E, ["`z`", "one weight"]),
    ("lemmata.numerics.recurrence.gauss_newton_hessian_mc",
     lambda: recurrence.gauss_newton_hessian_mc([0.5, np.nan], [1.0, 1.0], 0.5), E, ["`lams`", "finite"]),
    # ------------------------------------------------------------------ scan
    ("lemmata.numerics.scan.linear_scan", lambda: scan.linear_scan(np.ones(2), [["a", "b"]]), T, ["`b`", "numbers"]),
    ("lemmata.numerics.scan.linear_scan", lambda: scan.linear_scan(np.ones(3), np.ones((4, 2))), E,
     ["`a`", "broadcast"]),
    ("lemmata.numerics.scan.linear_scan", lambda: scan.linear_scan(np.ones(2), np.ones((4, 2)), out=[0.0]), T,
     ["`out`"]),
    ("lemmata.numerics.scan.linear_scan_dense", lambda: scan.linear_scan_dense(np.eye(3), np.ones((4, 2))), E,
     ["`A`", "(2, 2)"]),
    ("lemmata.numerics.scan.linear_scan_jvp",
     lambda: scan.linear_scan_jvp(np.ones(2), np.ones((3, 2)), np.ones(5), np.ones((3, 2))), E, ["`da`", "broadcast"]),
    ("lemmata.numerics.scan.diagonal_sensitivity",
     lambda: scan.diagonal_sensitivity(np.array([0.5 + 0.1j]), np.ones((3, 1))), E, ["`lam`", "real", "wrt='lambda'"]),
    ("lemmata.numerics.scan.sensitivity_coefficients", lambda: scan.sensitivity_coefficients([np.nan]), E,
     ["`lam`", "finite"]),
    # ------------------------------------------------------------------ signature
    ("lemmata.numerics.signature.signature", lambda: sig.signature(np.zeros((3, 2)), 40), E,   # issue 12
     ["`depth` = 40", "2.199e+12", "coordinates", "memory"]),
    ("lemmata.numerics.signature.signature", lambda: sig.signature([[0.0, 1.0], [2.0]], 2), E, ["`paths`", "rectangular"]),
    ("lemmata.numerics.signature.signature", lambda: sig.signature(np.array([[0.0, 1.0], [np.inf, 0.0]]), 2), E,
     ["`paths`", "finite"]),
    ("lemmata.numerics.signature.signature", lambda: sig.signature(np.zeros((3, 2)), 2.0), T, ["`depth`", "integer"]),
    ("lemmata.numerics.signature.logsignature", lambda: sig.logsignature(np.zeros((3, 2)), 0), E,
     ["`depth`", "positive"]),
    ("lemmata.numerics.signature.signature_combine", lambda: sig.signature_combine(np.zeros(6), np.zeros(5), 2, 2), E,
     ["`sig_b`", "6 coordinates"]),
    ("lemmata.numerics.signature.signature_kernel",
     lambda: sig.signature_kernel(np.zeros((3, 2)), np.zeros((3, 3)), 2), E, ["channels"]),
    ("lemmata.numerics.signature.sig_length", lambda: sig.sig_length(0, 2), E, ["`d`", "positive"]),
    ("lemmata.numerics.signature.logsig_length", lambda: sig.logsig_length(2, -1), E, ["`depth`", "positive"]),
    ("lemmata.numerics.signature.tensor_exp", lambda: sig.tensor_exp(np.ones(2), 60), E, ["`depth` = 60", "memory"]),
    ("lemmata.numerics.signature.tensor_log", lambda: sig.tensor_log(np.ones(5), 2, 2), E, ["`sig`", "6 coordinates"]),
    # ------------------------------------------------------------------ cde
    ("lemmata.numerics.cde.LinearCDE", lambda: cde.LinearCDE(np.zeros((2, 3, 4))), E, ["`A`", "shape"]),
    ("lemmata.numerics.cde.LinearCDE.solve",
     lambda: cde.random_cde(4, 2, seed=0).solve(np.zeros((4, 2)), tol=np.float32(2.0)), E, ["`tol`", "(0, 1)"]),
    ("lemmata.numerics.cde.LinearCDE.solve", lambda: cde.random_cde(4, 2, seed=0).solve(np.zeros((4, 3))), E,
     ["`omega`", "2 channels"]),
    ("lemmata.numerics.cde.random_cde", lambda: cde.random_cde(0, 2, seed=0), E, ["`N`", "positive"]),
    ("lemmata.numerics.cde.time_augment", lambda: cde.time_augment(np.zeros(5)), E, ["`paths`", "shape"]),
    ("lemmata.numerics.cde.toy_dataset", lambda: cde.toy_dataset("sphere", 10, seed=0), E, ["`task`", "one of"]),
    ("lemmata.numerics.cde.toy_task",
     lambda: cde.toy_task("area", 10, 4, diagonal=True, seed=0, model_seed=1, train_fraction=1.0), E,
     ["`train_fraction`"]),
    ("lemmata.numerics.cde.ridge_readout", lambda: cde.ridge_readout(np.ones((3, 2)), np.ones(4)), E,
     ["`features`", "same n"]),
    ("lemmata.numerics.cde.Readout.predict", lambda: _readout().predict(np.ones((2, 5))), E, ["`features`", "2 columns"]),
    ("lemmata.numerics.cde.rmse", lambda: cde.rmse([1.0, 2.0], [1.0]), E, ["`prediction`", "same shape"]),
    ("lemmata.numerics.cde.word_vectors", lambda: cde.word_vectors(np.ones((2, 3)), np.ones(4), 2), E,
     ["`z0`", "(3,)"]),
    ("lemmata.numerics.cde.expansion", lambda: cde.expansion("model", np.zeros((3, 2)), np.ones(2), 2), T,
     ["`model`", "LinearCDE"]),
    ("lemmata.numerics.cde.random_feature_kernel", lambda: cde.random_feature_kernel([], seed=0), E,
     ["at least one path"]),
    ("lemmata.numerics.cde.selective_scan",
     lambda: cde.selective_scan(-np.ones((4, 2)), -np.ones((2, 3)), np.ones((4, 3)), np.ones((4, 2))), E,
     ["`delta`", "positive"]),
]

EXEMPT = {
    "lemmata.numerics.backends.Backend": "a backend descriptor listed in BACKENDS; users reach it through get(name), "
                                         "which validates the name",
    "lemmata.numerics.backends.available": "takes no argument: lists the backends that import on this machine",
    "lemmata.numerics.stats.Estimate": "a frozen result record (value, stderr, n) built by mean_estimate and "
                                       "fit_slope, which validate their inputs",
    "lemmata.numerics.orbits.OrbitDiagram": "a frozen result record built by orbit_diagram, which validates its inputs",
    "lemmata.numerics.orbits.Cycle": "a frozen result record built by find_cycles, which validates its inputs",
}
