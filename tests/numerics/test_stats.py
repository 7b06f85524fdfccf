import numpy as np
import pytest

from lemmata.analysis import LemmataError
from lemmata.numerics.stats import fit_slope, mean_estimate, path_generators


def test_mean_estimate_excludes_and_counts_non_finite():
    est = mean_estimate([1.0, 2.0, 3.0, np.nan, np.inf])
    assert est.value == 2.0 and est.n == 3 and est.n_excluded == 2
    assert est.stderr == pytest.approx(np.std([1, 2, 3], ddof=1) / np.sqrt(3))
    with pytest.raises(LemmataError, match="1 finite samples"):
        mean_estimate([1.0, np.nan])


def test_fit_slope_recovers_an_exact_line_and_its_error_shrinks():
    x = np.linspace(0, 1, 10)
    assert fit_slope(x, 3 * x + 1).value == pytest.approx(3.0)
    rng = np.random.default_rng(0)
    noisy = [fit_slope(np.linspace(0, 1, n), 2 * np.linspace(0, 1, n) + 0.1 * rng.normal(size=n))
             for n in (10, 1000)]
    assert noisy[1].stderr < noisy[0].stderr / 5
    assert abs(noisy[1].value - 2) < 4 * noisy[1].stderr


def test_path_generators_depend_on_path_index_only():
    a = [g.normal() for g in path_generators(7, 5)]
    b = [g.normal() for g in path_generators(7, 2, offset=3)]
    assert a[3:] == b
    assert len(set(a)) == 5
    seq = np.random.SeedSequence(7)
    assert [g.normal() for g in path_generators(seq, 5)] == a


def test_fit_slope_treats_nan_as_mean_estimate_does_and_refuses_a_constant_x():
    x = np.arange(6.0)
    y = 2 * x + 1
    y_nan = y.copy()
    y_nan[2] = np.nan
    est = fit_slope(x, y_nan)          # was nan +- nan
    ref = fit_slope(np.delete(x, 2), np.delete(y, 2))       # the same fit without the point
    assert est.value == ref.value and est.n == 5 and est.n_excluded == 1
    assert mean_estimate(y_nan).n_excluded == est.n_excluded == 1   # one rule for both
    with pytest.raises(LemmataError, match="`x` is constant"):
        fit_slope(np.ones(5), np.arange(5.0))
    with pytest.raises(ValueError, match="at least 3 finite points"):
        fit_slope([1.0, 2.0, np.nan, 4.0], [1.0, np.nan, 3.0, 4.0])
    with pytest.raises(ValueError, match="`stderr_y` must be positive"):
        fit_slope(x, y, np.r_[np.ones(5), 0.0])
    with pytest.raises(ValueError, match="equal length"):
        fit_slope(x, y[:-1])
