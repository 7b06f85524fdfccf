"""The shared figure style and the Wilson interval used for accuracy error bars."""

import math

import pytest

from lemmata.numerics import plotting


def test_wilson_interval_at_zero_successes_has_the_closed_form_upper_end():
    # p_hat = 0: the interval is [0, z^2 / (n + z^2)] (set p_hat = 0 in the Wilson formula)
    low, high = plotting.binomial_interval(0, 10, z=1.96)
    assert low == 0.0
    assert high == pytest.approx(1.96 ** 2 / (10 + 1.96 ** 2), rel=1e-14)


def test_wilson_interval_is_symmetric_under_relabelling():
    for k in range(0, 21):
        low, high = plotting.binomial_interval(k, 20)
        low2, high2 = plotting.binomial_interval(20 - k, 20)
        assert low == pytest.approx(1 - high2, abs=1e-15) and high == pytest.approx(1 - low2, abs=1e-15)


def test_wilson_interval_coverage_is_near_nominal():
    """Exact coverage (a sum of binomial probabilities, no simulation) of the 95 % interval at
    n = 50: Brown, Cai and DasGupta (Statist. Sci. 2001, Fig. 4) show it oscillating within a few
    points of 0.95 for p away from 0 and 1."""
    n = 50
    for p in (0.2, 0.3, 0.5, 0.7):
        cover = sum(math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n + 1)
                    if plotting.binomial_interval(k, n)[0] <= p <= plotting.binomial_interval(k, n)[1])
        assert 0.92 <= cover <= 0.975, (p, cover)


@pytest.mark.parametrize("args, word", [((3, 0), "`trials`"), ((-1, 5), "`successes`"),
                                        ((6, 5), "`successes`"), ((2.5, 5), "`successes`")])
def test_wilson_interval_refuses_bad_counts(args, word):
    with pytest.raises(ValueError, match=word):
        plotting.binomial_interval(*args)


def test_figure_grid_and_save(tmp_path):
    with plotting.style():
        fig, axes = plotting.figure(2, 3)
        assert axes.shape == (2, 3)
        axes[0, 0].plot([0, 1], [0, 1], **plotting.series_style(0))
        path = plotting.save(fig, tmp_path / "sub" / "f.png")
    assert path.stat().st_size > 1000
    with pytest.raises(ValueError, match="`ncols`"):
        plotting.figure(1, 0)
