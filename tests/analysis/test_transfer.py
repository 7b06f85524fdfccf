"""Closed forms of the transfer protocols (lemmata.analysis.transfer): the critical |r| solved
from the t statistic, checked by substituting back and against published table values; the
prompt counts against direct counting of a mask."""

import itertools

import mpmath
import pytest
import sympy as sp

from lemmata.analysis import transfer as A


def test_critical_r_inverts_the_t_statistic():
    rc = A.critical_r_expression()["r_crit"]
    t_expr = A.t_statistic_expression()["t"]
    r, n = sp.Symbol("r", real=True), sp.Symbol("n", real=True)
    t_c = sp.Symbol("t_c", real=True)
    back = t_expr.subs(r, rc)
    for nv, tv in itertools.product((3, 5, 12), (sp.Rational(1, 3), 2, sp.Rational(27, 10))):
        assert sp.simplify(back.subs({n: nv, t_c: tv}) - tv) == 0


def test_critical_r_matches_tables():
    """Two-sided 5 % critical r (Fisher and Yates): n = 5: 0.878, n = 10: 0.632, n = 30: 0.361."""
    for nv, table in ((5, 0.878), (10, 0.632), (30, 0.361)):
        t_c = mpmath.findroot(lambda t: mpmath.betainc((nv - 2) / 2, 0.5, 0, (nv - 2) / ((nv - 2) + t * t),
                                                       regularized=True) - 0.05, 2.0)
        value = A.critical_r_expression(n=nv).evaluate({"t_c": float(t_c)})["r_crit"]
        assert round(float(value), 3) == table


@pytest.mark.parametrize("L,s,c", [(224, 32, 3), (224, 128, 3), (9, 4, 1), (5, 5, 2)])
def test_prompt_counts_count_the_frame(L, s, c):
    counts = A.prompt_counts(L, s, c)
    before = counts["pad_before"]
    inside = sum(1 for i in range(L) for j in range(L) if before <= i < before + s and before <= j < before + s)
    assert counts["active"] == c * (L * L - inside)
    assert counts["pad_before"] + counts["pad_after"] + s == L
    assert counts["image_fraction"] == sp.Rational(s * s, L * L)


def test_probe_parameters():
    assert A.probe_parameters()["parameters"].subs({A.C: 10, A.D: 768}) == 7690
