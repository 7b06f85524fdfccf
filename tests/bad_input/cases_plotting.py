"""Bad inputs of lemmata.numerics.plotting."""

from lemmata.numerics import plotting

CASES = [
    ("lemmata.numerics.plotting.figure", lambda: plotting.figure(0, 2), ValueError, ["`nrows`", "positive integer", "0"]),
    ("lemmata.numerics.plotting.binomial_interval", lambda: plotting.binomial_interval(7, 5), ValueError,
     ["`successes`", "0..5", "7"]),
    ("lemmata.numerics.plotting.binomial_interval", lambda: plotting.binomial_interval(1, 5, z=float("nan")),
     ValueError, ["`z`", "nan"]),
]

EXEMPT = {
    "lemmata.numerics.plotting.style": "a context manager without arguments",
    "lemmata.numerics.plotting.series_style": "maps any integer index to a colour and marker cyclically",
    "lemmata.numerics.plotting.save": "writes a matplotlib figure; matplotlib's and the OS's errors pass through",
}
