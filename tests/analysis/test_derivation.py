import mpmath
import pytest
import sympy as sp

from lemmata.analysis import Assumption, AssumptionError, Derivation, LemmataError

x, y, a = sp.symbols("x y a", real=True)


def test_single_expression_is_stored_under_the_name():
    d = Derivation("sq", (x,), (a,), a * x ** 2)
    assert d.names == ("sq",)
    assert d["sq"] == a * x ** 2
    assert d.symbols == (x, a)


def test_undeclared_symbol_is_refused_with_its_name():
    with pytest.raises(LemmataError, match=r"undeclared symbols \['y'\]"):
        Derivation("bad", (x,), (), {"e": x + y})


def test_duplicate_symbols_are_refused():
    with pytest.raises(LemmataError, match="more than once"):
        Derivation("bad", (x,), (x,), {"e": x})


def test_expression_names_must_be_identifiers():
    with pytest.raises(LemmataError, match="identifiers"):
        Derivation("bad", (x,), (), {"not a name": x})


def test_missing_expressions_are_refused():
    with pytest.raises(LemmataError, match="at least one"):
        Derivation("bad", (x,), (), {})


def test_evaluate_matches_exact_rational_arithmetic():
    # reference: exact SymPy rationals; 1/3 + 1/7 at x = 1/3 cannot be represented in binary,
    # so pass the float 0.1 and compare with the exact value of that float
    d = Derivation("r", (x,), (), {"e": x / 3 + 1 / (7 * x)})
    value = d.evaluate({"x": 0.1}, dps=60)["e"]
    exact = sp.Rational(0.1) / 3 + 1 / (7 * sp.Rational(0.1))
    with mpmath.workdps(60):
        assert abs(value - mpmath.mpf(sp.N(exact, 70))) < mpmath.mpf(10) ** -55


def test_evaluate_matrix_and_missing_values():
    d = Derivation("m", (x,), (a,), {"M": sp.Matrix([[x, a], [x * a, 1]])})
    out = d.evaluate({x: 2, "a": 3})["M"]
    assert out.rows == 2 and float(out[1, 0]) == 6.0
    with pytest.raises(LemmataError, match=r"missing values for \['a'\]"):
        d.evaluate({"x": 1})
    with pytest.raises(LemmataError, match="not a symbol"):
        d.evaluate({"x": 1, "a": 1, "zz": 2})


def test_assumptions_are_enforced_in_evaluate():
    s = sp.Symbol("s")
    d = Derivation("sqrt", (s,), (), sp.sqrt(s), (Assumption(s >= 0, "s is non-negative"),))
    assert d.check_assumptions({"s": -1.0}) == ["s is non-negative"]
    with pytest.raises(AssumptionError, match="s is non-negative"):
        d.evaluate({"s": -1.0})
    assert d.evaluate({"s": -1.0}, strict=False)["sqrt"] == mpmath.mpc(0, 1)


def test_latex_and_repr_latex():
    d = Derivation("q", (x,), (a,), {"value_of_q": a * x ** 2})
    text = d.latex()
    assert "\\begin{aligned}" in text and "a x^{2}" in text and "value\\_of\\_q" in text
    assert d._repr_latex_().startswith("$$")


def test_subs_fixes_parameters():
    d = Derivation("q", (x,), (a,), {"e": a * x}, (Assumption(a > 0, "a positive"),))
    e = d.subs({"a": 2})
    assert e.params == () and e["e"] == 2 * x and e.assumptions == ()


def test_fingerprint_depends_on_content_only():
    d1 = Derivation("q", (x,), (a,), {"e": a * x})
    d2 = Derivation("q", (x,), (a,), {"e": a * x})
    d3 = Derivation("q", (x,), (a,), {"e": a * x + 1})
    assert d1.fingerprint == d2.fingerprint != d3.fingerprint
