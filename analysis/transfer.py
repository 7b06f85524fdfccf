r"""Closed forms of the few-shot transfer protocols of arXiv:2403.10696 (SymPy only).

* The critical Pearson correlation for n models, derived from the t statistic
  :math:`t=r\sqrt{n-2}/\sqrt{1-r^2}` (n - 2 degrees of freedom under H0) by solving for r:
  :math:`|r|_{crit}=t_c/\sqrt{n-2+t_c^2}` (brief item 5). The numeric quantile t_c is taken by
  :func:`lemmata.numerics.transfer.critical_r`.
* The frame prompt of ILM-VP on an L x L canvas holding an s x s image with c channels: pads
  :math:`\lceil (L-s)/2\rceil` and :math:`\lfloor (L-s)/2\rfloor`, active parameters
  :math:`c(L^2-s^2)`, image fraction :math:`s^2/L^2`; and the linear probe's C(D + 1) parameters.

References
----------
D. Misra, J. Gala, A. Orvieto, "On the low-shot transferability of [V]-Mamba", arXiv:2403.10696, 2024.
"""

from __future__ import annotations

from numbers import Integral

import sympy as sp

from .derivation import Assumption, Derivation
from .validation import positive_int

__all__ = ["t_statistic_expression", "critical_r_expression", "prompt_geometry", "prompt_counts",
           "probe_parameters", "SOURCE"]

SOURCE = "arXiv:2403.10696 (Misra, Gala, Orvieto), brief item 5 and section 1 (derived)"
r, n_models, t_c = sp.symbols("r n t_c", real=True)
L, s, c = sp.symbols("L s c", integer=True, positive=True)
C, D = sp.symbols("C D", integer=True, positive=True)


def t_statistic_expression() -> Derivation:
    r"""The t statistic of a Pearson correlation, :math:`t=r\sqrt{n-2}/\sqrt{1-r^2}`."""
    return Derivation("t_statistic", (r,), (n_models,), {"t": r * sp.sqrt(n_models - 2) / sp.sqrt(1 - r ** 2)},
                      (Assumption(n_models >= 3, "at least three models (n - 2 >= 1 degrees of freedom)"),
                       Assumption(r ** 2 < 1, "|r| < 1")),
                      "Student (1908), Fisher (1915): t has n - 2 degrees of freedom under rho = 0")


def critical_r_expression(*, n=None) -> Derivation:
    r""":math:`|r|_{crit}` as a function of the t quantile :math:`t_c` and n, *derived* by solving
    :math:`t_c=r\sqrt{n-2}/\sqrt{1-r^2}` for r > 0 (t is increasing in r on (-1, 1), so
    :math:`|t|>t_c\iff|r|>|r|_{crit}`):

    .. math::  |r|_{crit}=\frac{t_c}{\sqrt{n-2+t_c^2}} .

    Parameters
    ----------
    n : int, optional
        Substitute a number of models (>= 3).

    Raises
    ------
    ValueError
        ``n`` < 3.
    """
    rp, tp, np_ = sp.symbols("r t n", positive=True)
    # square both sides of t = r sqrt(n-2) / sqrt(1-r^2) and keep the root in (0, 1)
    roots = sp.solve(sp.Eq(tp ** 2 * (1 - rp ** 2), rp ** 2 * (np_ - 2)), rp)
    root = next(x for x in roots if x.subs({tp: 1, np_: 3}).is_positive)
    # write t sqrt(1/q) as t / sqrt(q) with q = n - 2 + t^2
    q = sp.simplify(1 / (root / tp) ** 2)
    expr = (tp / sp.sqrt(q)).subs({tp: t_c, np_: n_models})
    d = Derivation("critical_r", (t_c,), (n_models,), {"r_crit": expr},
                   (Assumption(n_models >= 3, "at least three models (n - 2 >= 1 degrees of freedom)"),
                    Assumption(t_c > 0, "t_c is an upper quantile of Student's t")), SOURCE)
    if n is None:
        return d
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 3:
        raise ValueError(f"`n` must be an integer >= 3 (the number of models); got {n!r}.")
    return d.subs({"n": int(n)})


def prompt_geometry() -> Derivation:
    r"""The frame prompt of ILM-VP: an s x s image centred on an L x L canvas with c channels.

    ``pad_before`` :math:`=\lceil (L-s)/2\rceil`, ``pad_after`` :math:`=\lfloor (L-s)/2\rfloor`,
    ``active`` :math:`=c(L^2-s^2)` (3(224^2 - s^2) in the paper), ``image_fraction`` :math:`=s^2/L^2`.
    """
    return Derivation("prompt_geometry", (s,), (L, c),
                      {"pad_before": sp.ceiling((L - s) / 2), "pad_after": sp.floor((L - s) / 2),
                       "active": c * (L ** 2 - s ** 2), "image_fraction": s ** 2 / L ** 2},
                      (Assumption(L >= s, "the canvas is at least as large as the image"),), SOURCE)


def prompt_counts(canvas: int, image_size: int, channels: int = 3) -> dict:
    """The exact values of :func:`prompt_geometry` at integers (SymPy Integers and a Rational).

    Raises
    ------
    ValueError
        Non-positive sizes, or a canvas smaller than the image.
    """
    Lv, sv, cv = (positive_int(k, v) for k, v in (("canvas", canvas), ("image_size", image_size),
                                                  ("channels", channels)))
    if Lv < sv:
        raise ValueError(f"`canvas` must be at least `image_size` ({sv}); got {Lv}.")
    d = prompt_geometry()
    return {k: sp.nsimplify(e.subs({L: Lv, s: sv, c: cv})) for k, e in d.expressions.items()}


def probe_parameters() -> Derivation:
    """Parameters of the linear probe's head W in R^{C x D}, b in R^C: C (D + 1)."""
    return Derivation("probe_parameters", (D,), (C,), {"parameters": C * (D + 1)}, (), SOURCE)
