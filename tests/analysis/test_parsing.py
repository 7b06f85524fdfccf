"""Safe parsing (issue 12): user strings are parsed by an ast whitelist, never evaluated, and every
number enters exactly, NaN and infinities refused with the argument's name."""

from decimal import Decimal
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

from lemmata.analysis import Assumption, Derivation, LemmataError, sde
from lemmata.analysis.parsing import exact_number, parse_expression, parse_number, parse_relation
from lemmata.proofs_checks import cli

#: Python that must never run: each would create the file PWNED in the working directory
INJECTIONS = [
    "__import__('os').system('touch PWNED')",
    "().__class__.__bases__[0].__subclasses__()",
    "(lambda: __import__('os').system('touch PWNED'))()",
    "lambda: 0",
    "[x for x in ()]",
    "{x: 1 for x in ()}",
    "f\"{__import__('os').system('touch PWNED')}\"",
    "exec(\"open('PWNED', 'w')\")",
    "eval(\"open('PWNED', 'w')\")",
    "open('PWNED', 'w')",
    "x.__class__",
    "x[0]",
    "exp(x, base=2)",
    "'a string'",
    "__builtins__",
    "Symbol('x')",
    "(x := 2)",
    "x if x else 1",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injections_are_refused_and_run_nothing(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x = sp.Symbol("x")
    with pytest.raises(LemmataError, match="`f` must be"):
        parse_expression(text, name="f", symbols=[x], allow_new_symbols=True)
    with pytest.raises(LemmataError, match="`v` must be"):
        parse_number(text, name="v")
    with pytest.raises(LemmataError):
        Derivation("d", (x,), (), {"e": text})
    with pytest.raises(LemmataError):
        sde.sgd(text, x)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("text", INJECTIONS[:10])
def test_injections_through_the_cli_exit_2_and_run_nothing(text, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["derive", "sde", "--optimizer", "seg", "--game", text]) == 2
    assert "`--game` must be" in capsys.readouterr().err
    assert cli.main(["derive", "ngn", "--at", f"f={text}"]) == 2
    assert "`--at f` must be" in capsys.readouterr().err
    assert cli.main(["derive", "signature", "--points", f"0,0;1,{text}", "--depth", "2"]) == 2
    assert "`--points" in capsys.readouterr().err
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("text, exact", [
    ("0.1", sp.Rational(1, 10)), ("1/3", sp.Rational(1, 3)), ("-2", sp.Integer(-2)),
    ("1e-3", sp.Rational(1, 1000)), ("2.5E2", sp.Integer(250)), (".5", sp.Rational(1, 2)),
    ("sqrt(2)", sp.sqrt(2)), ("pi/4", sp.pi / 4), ("2^3", sp.Integer(8)), ("+7", sp.Integer(7)),
])
def test_numbers_are_exact(text, exact):
    # reference: the decimal's value by hand (0.1 is 1/10, not the binary float)
    assert parse_number(text, name="v") == exact


@pytest.mark.parametrize("text, words", [
    ("nan", "finite"), ("-inf", "finite"), ("oo", "finite"), ("1/0", "finite"), ("log(0)", "finite"),
    ("sqrt(-1)", "real"), ("x", "unknown name 'x'"), ("", "empty"), ("1e999999", "exponent"),
    ("9**9999**9", "digits"), ("(" * 300 + "1" + ")" * 300, "`v`"), ("-" * 5000 + "1", "`v`"),
])
def test_numbers_refused_with_a_reason(text, words):
    with pytest.raises(LemmataError, match="`v`") as info:
        parse_number(text, name="v")
    assert words in str(info.value)


def test_expression_symbols_keep_their_flags():
    sigma = sp.Symbol("sigma", positive=True)
    expr = parse_expression("sqrt(sigma**2) + 0.25", name="e", symbols={"sigma": sigma})
    assert expr == sigma + sp.Rational(1, 4)        # SymPy used sigma > 0: the flagged symbol
    with pytest.raises(LemmataError, match="unknown name 'tau'"):
        parse_expression("tau", name="e", symbols=[sigma])


def test_relations_stay_unevaluated():
    r = sp.Symbol("r", positive=True)
    relation = parse_relation("0 < r <= 1", name="a", symbols=[r])
    assert relation not in (sp.true, sp.false)
    assert relation.xreplace({r: sp.Rational(1, 2)}) == sp.true
    assert relation.xreplace({r: 0}) == sp.false


def test_exact_number_conversion():
    # reference: a float is the binary rational it is (Python's float.as_integer_ratio)
    assert exact_number(0.1, name="v") == sp.Rational(*(0.1).as_integer_ratio())
    assert exact_number(np.float32(0.01), name="v") == sp.Rational(*float(np.float32(0.01)).as_integer_ratio())
    assert exact_number(np.int64(3), name="v") == 3
    assert exact_number(Fraction(1, 3), name="v") == sp.Rational(1, 3)
    assert exact_number(Decimal("0.1"), name="v") == sp.Rational(1, 10)
    assert exact_number("0.1", name="v") == sp.Rational(1, 10)
    assert exact_number(mpmath.mpf(2), name="v") == 2
    assert exact_number(1 + 2j, name="v", allow_complex=True) == 1 + 2 * sp.I
    for bad, words in [(float("nan"), "`point['f']` must be finite; got nan."),
                       (float("inf"), "must be finite"), (np.float64("-inf"), "must be finite"),
                       (sp.nan, "must be finite"), (sp.zoo, "must be finite"), (mpmath.inf, "finite"),
                       (Decimal("NaN"), "finite"), (1j, "must be real"), (sp.Symbol("q"), "number")]:
        with pytest.raises(LemmataError) as info:
            exact_number(bad, name="point['f']")
        assert words in str(info.value)
    with pytest.raises(TypeError, match="bool"):
        exact_number(True, name="v")
    with pytest.raises(TypeError, match="must be a number"):
        exact_number(object(), name="v")


def test_derivation_evaluate_refuses_nan_instead_of_returning_zero():
    # issue 12: sp.Rational(nan) is 0 in SymPy 1.14, so evaluate({'f': nan}) used to return 0.0
    f, s = sp.symbols("f s", real=True)
    d = Derivation("d", (f,), (s,), {"e": f * s})
    for bad in (float("nan"), float("inf"), np.float64("nan")):
        with pytest.raises(LemmataError, match=r"`point\['f'\]` must be finite"):
            d.evaluate({"f": bad, "s": 1.0})
    assert float(d.evaluate({"f": "0.1", "s": 10})["e"]) == 1.0        # strings parsed exactly


def test_assumption_strings_and_trivial_relations():
    sigma = sp.Symbol("sigma", positive=True)
    with pytest.raises(LemmataError, match="always True"):
        Assumption(sigma > 0, "sigma positive")          # SymPy reduced it from the flag
    a = Assumption("sigma > 0", "sigma positive")
    assert a.holds({sigma: 2}) and not a.holds({"sigma": -2})
    with pytest.raises(LemmataError, match="`relation` must be a relation"):
        Assumption("sigma + 1", "not a relation")
    with pytest.raises(LemmataError, match="must be finite"):
        a.holds({"sigma": float("nan")})
