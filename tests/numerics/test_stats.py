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
