"""One plotting style for lemmata's figures (examples, ``Study.plot``, branch diagrams).

Figures are meant for a paper: constrained layout (nothing cut off at the edges), mathtext
labels, a colour and marker per series so that overlapping curves stay distinguishable, and
error bars whose meaning is stated. Draw inside ``with style():`` (matplotlib reads most settings
when an artist is created), use :func:`figure` for a grid of panels, :data:`MARKERS` and
:func:`series_style` for series, :func:`save` to write a PNG, and :func:`binomial_interval` for
the error bar of an accuracy.

Examples
--------
>>> from lemmata.numerics import plotting
>>> with plotting.style():
...     fig, axes = plotting.figure(1, 2)
>>> style = plotting.series_style(1)
>>> sorted(style)
['color', 'marker', 'markersize']
"""

from __future__ import annotations

import contextlib
import math
import pathlib

__all__ = ["RC", "MARKERS", "style", "figure", "series_style", "save", "binomial_interval"]

#: matplotlib settings of every lemmata figure
RC = {
    "figure.constrained_layout.use": True,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.3,
    "lines.markersize": 4,
    "mathtext.fontset": "cm",
    "legend.framealpha": 0.85,
}

#: markers of successive series (so curves that coincide stay visible)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")

#: width and height of one panel, inches
PANEL = (4.2, 3.2)


@contextlib.contextmanager
def style():
    """A context in which matplotlib uses :data:`RC`."""
    import matplotlib

    with matplotlib.rc_context(RC):
        yield


def figure(nrows: int = 1, ncols: int = 1, *, panel=PANEL, squeeze: bool = False, **kwargs):
    """A figure of ``nrows`` x ``ncols`` panels of size ``panel`` in the lemmata style.

    Returns ``(fig, axes)`` with ``axes`` a 2-D array unless ``squeeze=True``.
    """
    import matplotlib.pyplot as plt

    for name, value in (("nrows", nrows), ("ncols", ncols)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel[0] * ncols, panel[1] * nrows),
                             squeeze=squeeze, layout="constrained", **kwargs)
    return fig, axes


def series_style(index: int) -> dict:
    """Colour ``C{index}`` and the ``index``-th marker of :data:`MARKERS`."""
    return {"color": f"C{index % 10}", "marker": MARKERS[index % len(MARKERS)],
            "markersize": RC["lines.markersize"] + 1}


def save(fig, path) -> pathlib.Path:
    """Write ``fig`` as a PNG at :data:`RC` ``savefig.dpi`` and close it."""
    import matplotlib.pyplot as plt

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=RC["savefig.dpi"])
    plt.close(fig)
    return path


def binomial_interval(successes: int, trials: int, *, z: float = 1.96) -> tuple[float, float]:
    r"""Wilson score interval of a binomial proportion (default 95 %).

    .. math:: \frac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n}
              + \frac{z^2}{4n^2}}}{1 + z^2/n}

    It stays inside [0, 1] and is not degenerate at :math:`\hat p \in \{0, 1\}` (where the
    normal interval :math:`\hat p \pm z\sqrt{\hat p(1-\hat p)/n}` has zero width).

    Raises
    ------
    ValueError
        If ``trials`` < 1 or ``successes`` is not in 0..trials.
    """
    if isinstance(trials, bool) or int(trials) != trials or trials < 1:
        raise ValueError(f"`trials` must be a positive integer; got {trials!r}.")
    if int(successes) != successes or not 0 <= successes <= trials:
        raise ValueError(f"`successes` must be an integer in 0..{trials}; got {successes!r}.")
    if not (math.isfinite(z) and z > 0):
        raise ValueError(f"`z` must be positive and finite; got {z!r}.")
    n, p = float(trials), successes / trials
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
