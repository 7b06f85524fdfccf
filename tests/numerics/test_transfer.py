"""Few-shot transfer protocols and statistics (lemmata.numerics.transfer, arXiv:2403.10696).

References: the ILM greedy against a brute-force loop of the same rule (written here
independently) and against the optimal assignment (scipy.optimize.linear_sum_assignment; the
greedy matching is a 1/2-approximation of a maximum-weight matching); critical |r| against
published table values and a null simulation; permutation p-values uniform under the null (KS);
power against a Monte Carlo of bivariate normal samples; the probe against its KKT conditions.
"""

import math

import numpy as np
import pytest
from scipy import optimize, stats

from lemmata.analysis.errors import AssumptionError
from lemmata.numerics import transfer as T


# ------------------------------------------------------------------------------ sampler
def test_sampler_takes_n_per_class_nested_and_seeded():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 7, 700)
    one = T.few_shot_indices(y, 1, seed=3)
    ten = T.few_shot_indices(y, 10, seed=3)
    assert np.bincount(y[ten], minlength=7).tolist() == [10] * 7
    assert np.unique(ten).size == ten.size
    assert set(one) <= set(ten)                                  # nested budgets, same seed
    assert np.array_equal(ten, T.few_shot_indices(y, 10, seed=3))
    assert not np.array_equal(ten, T.few_shot_indices(y, 10, seed=4))
    assert np.array_equal(np.sort(T.few_shot_indices(y, "full", seed=0)), np.arange(y.size))


def test_sampler_draws_uniformly_within_a_class():
    """Each of the m members of a class is chosen with probability n/m (binomial, 4 sigma)."""
    y = np.zeros(20, dtype=int)
    hits = np.zeros(20)
    reps = 2000
    for s in range(reps):
        hits[T.few_shot_indices(y, 5, seed=s)] += 1
    p = 5 / 20
    assert np.all(np.abs(hits / reps - p) <= 4 * math.sqrt(p * (1 - p) / reps))


def test_short_class_is_an_error_unless_allowed():
    y = np.array([0] * 10 + [1] * 3)
    with pytest.raises(AssumptionError, match="allow_short"):
        T.few_shot_indices(y, 5, seed=0)
    with pytest.warns(UserWarning, match="fewer than 5"):
        idx = T.few_shot_indices(y, 5, seed=0, allow_short=True)
    assert np.bincount(y[idx]).tolist() == [5, 3]
    b = T.few_shot_budget(y, 5, allow_short=True)
    assert b.saturated and b.short_classes == (1,) and b.n_train == 8 and b.n_nominal == 10


def test_budget_bookkeeping_matches_the_paper():
    y = np.repeat(np.arange(10), 200)
    assert [T.batch_size_for(b) for b in T.BUDGETS] == [8, 32, 64, 128, 256]
    b = T.few_shot_budget(y, 1)
    assert (b.n_train, b.batch_size, b.steps_per_epoch) == (10, 8, 2)     # pitfall 6: 2 steps per epoch
    b = T.few_shot_budget(y, 100)
    assert (b.n_train, b.n_nominal, b.steps_per_epoch) == (1000, 1000, 8)


# ------------------------------------------------------------------------------ splits
def test_splits_are_disjoint_and_stratified():
    y = np.repeat(np.arange(5), [30, 40, 50, 60, 70])
    split = T.stratified_split(y, 0.1, seed=1)
    assert np.intersect1d(split.train, split.test).size == 0
    assert split.train.size + split.test.size == y.size
    assert np.bincount(y[split.test]).tolist() == [3, 4, 5, 6, 7]
    pool = T.few_shot_pool(split, y, 10, seed=2)
    assert np.intersect1d(pool, split.test).size == 0 and np.all(np.isin(pool, split.train))
    with pytest.raises(AssumptionError, match="disjoint"):
        T.make_split(10, [0, 1, 2], [2, 3])


# ------------------------------------------------------------------------------ linear probe
def test_probe_satisfies_kkt_and_reaches_bayes_accuracy():
    """Stationarity of the L2 multinomial loss: l2 W = X^T (Y - P) / n, b: sum (Y - P) = 0; and on
    two unit-variance Gaussians at distance 3 the accuracy is near Phi(1.5) (Bayes rate)."""
    rng = np.random.default_rng(1)
    n = 4000
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 2))
    X[:, 0] += 3.0 * y
    res = T.linear_probe(X[:3000], y[:3000], X[3000:], y[3000:], l2=1e-2, standardize=False)
    Z = X[:3000] @ res.weights.T + res.bias
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    R = np.eye(2)[y[:3000]] - P
    assert np.max(np.abs(1e-2 * res.weights - R.T @ X[:3000] / 3000)) < 1e-6
    assert np.max(np.abs(R.sum(0))) / 3000 < 1e-6
    bayes = stats.norm.cdf(1.5)
    assert abs(res.test_accuracy - bayes) < 4 * math.sqrt(bayes * (1 - bayes) / 1000) + 0.005


def test_probe_refuses_nan_features():
    X = np.ones((4, 2))
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="`train_features` must be finite"):
        T.linear_probe(X, [0, 1, 0, 1], np.ones((2, 2)), [0, 1])


# ------------------------------------------------------------------------------ ILM
def _ilm_brute(D):
    """The greedy of ILM-VP written as its definition: C times, the first maximal entry in
    row-major order among remaining rows and columns."""
    D = D.astype(float).copy()
    S, C = D.shape
    mapping = [-1] * C
    for _ in range(C):
        s, t = np.unravel_index(np.argmax(D), D.shape)
        mapping[t] = int(s)
        D[s, :] = -np.inf
        D[:, t] = -np.inf
    return mapping


def _realistic(rng, S, C, n_per_class, concentration):
    """Predictions of a source model: each target class spreads over a few preferred sources."""
    preds, labels = [], []
    for t in range(C):
        prefs = rng.choice(S, size=4, replace=False)
        w = rng.dirichlet(np.full(4, concentration))
        preds.append(rng.choice(prefs, size=n_per_class, p=w))
        labels.append(np.full(n_per_class, t))
    return np.concatenate(preds), np.concatenate(labels)


def test_ilm_equals_brute_force_greedy_and_is_half_optimal():
    rng = np.random.default_rng(5)
    short = 0
    for trial in range(60):
        S, C = int(rng.integers(10, 40)), int(rng.integers(2, 10))
        preds, labels = _realistic(rng, S, C, int(rng.integers(1, 30)), 0.5)
        mapping = T.ilm_mapping(preds, labels, S)
        D = T.label_mapping_counts(preds, labels, S)
        assert mapping.tolist() == _ilm_brute(D)
        assert np.unique(mapping).size == C
        rows, cols = optimize.linear_sum_assignment(D, maximize=True)
        optimum = int(D[rows, cols].sum())
        total = T.mapping_total(D, mapping)
        assert 2 * total >= optimum and total <= optimum
        short += total < optimum
    assert short < 60          # on these matrices the greedy is usually optimal


def test_ilm_tie_rule_is_row_major_first():
    # every count 1: the rule gives target t the source t (smallest free row, then column)
    preds = np.array([0, 1, 0, 1])
    labels = np.array([0, 0, 1, 1])
    assert T.ilm_mapping(preds, labels, 3).tolist() == [0, 1]
    # no positive count left for target 2: it receives the smallest free source (0)
    assert T.ilm_mapping([3, 3, 4], [0, 0, 1], 6, n_classes=3).tolist() == [3, 4, 0]


# ------------------------------------------------------------------------------ geometry
@pytest.mark.parametrize("s,L", [(32, 224), (128, 224), (31, 64), (7, 7)])
def test_frame_geometry_counts(s, L):
    g = T.frame_prompt_geometry(s, L)
    mask = T.frame_mask(s, L)
    assert g.active_parameters == 3 * (L * L - s * s) == 3 * int(mask.sum())
    assert g.pad_before + g.pad_after + s == L
    img = np.ones((2, s, s))
    padded = T.pad_to_canvas(img, L)
    assert padded.shape == (2, L, L) and np.array_equal(padded[0] > 0, ~mask)


def test_canvas_smaller_than_image_is_refused():
    with pytest.raises(ValueError, match="`canvas` must be at least"):
        T.frame_prompt_geometry(64, 32)


# ------------------------------------------------------------------------------ statistics
def test_critical_r_matches_tables_and_null_simulation():
    # published two-sided 5 % values (e.g. Fisher and Yates' tables): n = 5 -> 0.878, n = 10 -> 0.632
    assert round(T.critical_r(5), 3) == 0.878 and round(T.critical_r(10), 3) == 0.632
    rng = np.random.default_rng(2)
    for n in (4, 6, 12):
        N = 20000
        x, y = rng.normal(size=(2, N, n))
        xc, yc = x - x.mean(1, keepdims=True), y - y.mean(1, keepdims=True)
        r = (xc * yc).sum(1) / np.sqrt((xc ** 2).sum(1) * (yc ** 2).sum(1))
        rate = np.mean(np.abs(r) > T.critical_r(n))
        assert abs(rate - 0.05) <= 4 * math.sqrt(0.05 * 0.95 / N)


def test_power_against_simulation():
    rng = np.random.default_rng(3)
    n, rho, N = 6, 0.6, 20000
    cov = [[1, rho], [rho, 1]]
    xy = rng.multivariate_normal([0, 0], cov, size=(N, n))
    xc = xy - xy.mean(1, keepdims=True)
    r = (xc[..., 0] * xc[..., 1]).sum(1) / np.sqrt((xc[..., 0] ** 2).sum(1) * (xc[..., 1] ** 2).sum(1))
    rate = np.mean(np.abs(r) > T.critical_r(n))
    power = T.correlation_power(rho, n)
    assert abs(rate - power) <= 4 * math.sqrt(power * (1 - power) / N)
    assert abs(T.correlation_power(0.0, n) - 0.05) < 1e-8


def test_permutation_pvalues_are_uniform_under_the_null():
    """p = (1 + k)/(1 + B) with k uniform on 0..B under the null; p - V/(B + 1), V ~ U(0, 1),
    is exactly U(0, 1): KS test at level 0.001 over 400 null data sets of 8 models."""
    rng = np.random.default_rng(4)
    B = 199
    u = []
    for i in range(400):
        x, y = rng.normal(size=(2, 8))
        res = T.permutation_pvalue(x, y, n_perm=B, seed=i, exact=False)
        u.append(res.p_value - rng.random() / (B + 1))
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_exact_permutation_pvalue_agrees_with_t_test_order():
    x = np.log([1e6, 2e6, 5e6, 1e7, 3e7])
    y = np.array([0.01, 0.03, 0.02, 0.05, 0.06])
    res = T.permutation_pvalue(x, y)
    assert res.exact and res.n_perm == 120
    assert res.p_value == res.count / 120 and 0 < res.p_value < 0.2


def _table(rng, gaps, params, datasets=("d0", "d1", "d2"), budgets=(1, 10), seeds=3, noise=0.02):
    rows = []
    for b, (gap, p) in enumerate(zip(gaps, params)):
        for d in datasets:
            for k in budgets:
                for s in range(seeds):
                    base = 0.5 + rng.normal(scale=noise)
                    rows.append(dict(backbone=f"m{b}", dataset=d, budget=k, seed=s, method="LP",
                                     accuracy=base + gap, params=p, family="A" if b % 2 else "B"))
                    rows.append(dict(backbone=f"m{b}", dataset=d, budget=k, seed=s, method="VP",
                                     accuracy=base, params=p, family="A" if b % 2 else "B"))
    return rows


def test_gap_statistics_recovers_a_linear_trend_and_its_cells():
    rng = np.random.default_rng(6)
    params = [1e5, 1e6, 1e7, 1e8, 1e9]
    gaps = [0.01 * math.log(p) for p in params]
    res = T.gap_statistics(_table(rng, gaps, params), n_boot=400, n_perm=999)
    assert res.pearson_r > 0.999 and res.spearman_rho == pytest.approx(1.0)
    assert res.permutation_pearson.exact and res.permutation_pearson.p_value == pytest.approx(2 / 120)
    assert np.allclose(res.model_gap, gaps)                    # LP - VP exactly (paired by seed)
    assert res.critical_r == pytest.approx(T.critical_r(5))
    assert len(res.cells) == 2 * 5 * 3 * 2 and len(res.gaps) == 5 * 3 * 2


def test_gap_statistics_needs_three_models_and_a_complete_grid():
    rng = np.random.default_rng(7)
    with pytest.raises(ValueError, match="at least 3 models"):
        T.gap_statistics(_table(rng, [0.1, 0.2], [1e5, 1e6]))
    rows = _table(rng, [0.1, 0.2, 0.3], [1e5, 1e6, 1e7])
    with pytest.raises(ValueError, match="complete grid"):
        T.gap_statistics(rows[1:])


def test_family_difference_interval_covers_the_truth():
    rng = np.random.default_rng(8)
    rows = _table(rng, [0.0, 0.1, 0.0, 0.1], [1, 2, 3, 4], noise=0.05)
    res = T.family_difference(rows, "LP", "A", "B", n_boot=500)
    # the difference is 0.1 by construction; a 95 % interval at this fixed seed covers it
    assert all(lo <= 0.1 <= hi for lo, hi in zip(res.ci_low, res.ci_high))
    assert res.overall_ci[0] <= res.overall <= res.overall_ci[1]
