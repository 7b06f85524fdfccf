"""Random text into every parser a user string reaches (issue 12): parse_expression,
parse_number, the ``--at`` parser, the ``--points`` parser and the logistic CSV reader.

Every failure must be a LemmataError/ValueError/TypeError with a message (never an exception
from deeper code), and an accepted input must not be a silently wrong number: a decimal literal
parses to exactly the Rational of its text, and ``--at``/``--points``/CSV values equal
:func:`parse_number` of the same text.
"""

import string
from fractions import Fraction

import pytest
import sympy as sp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from lemmata.analysis import Derivation, LemmataError  # noqa: E402
from lemmata.analysis.parsing import parse_expression, parse_number  # noqa: E402
from lemmata.proofs_checks.derive import parse_point, parse_points, read_logistic_csv  # noqa: E402

ALLOWED = (LemmataError, ValueError, TypeError)
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

NONFINITE = ["nan", "NaN", "-nan", "inf", "-inf", "+inf", "Infinity", "-Infinity", "oo", "-oo", "zoo",
             "1e999999", "-1e400000", "1/0", "0**-1", "log(0)"]
TOKENS = ["x", "y", "sigma", "(", ")", "+", "-", "*", "/", "**", "^", ".", ",", "e", "E", "pi", "sqrt(",
          "exp(", "log(", "__", "import", "lambda", "[", "]", "{", "}", "'", '"', "f'", ":", "=", "0", "1",
          "9" * 40, "0.1", "1e-3", " ", "\u00b2", "\u221a", "\x00", "\u0660", "\u2212", "Abs(", "Max("]

texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.printable, max_size=60),
    st.lists(st.sampled_from(TOKENS), max_size=25).map("".join),
    st.sampled_from(NONFINITE),
    st.integers(1, 400).map(lambda n: "(" * n + "1" + ")" * n),
    st.integers(1, 3000).map(lambda n: "9" * n),
)


def _failure_is_clean(call):
    try:
        return call()
    except ALLOWED as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        return None


@SETTINGS
@given(texts)
def test_parse_expression_fails_cleanly(text):
    value = _failure_is_clean(lambda: parse_expression(text, name="e", allow_new_symbols=True))
    assert value is None or isinstance(value, sp.Expr)


@SETTINGS
@given(texts)
def test_parse_number_fails_cleanly_and_accepts_only_finite_reals(text):
    value = _failure_is_clean(lambda: parse_number(text, name="v"))
    if value is not None:
        assert value.is_number and value.is_finite is not False
        assert sp.im(value.evalf(20)) == 0


decimals = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{'.' + frac if frac else ''}{'e' + str(exp) if exp is not None else ''}",
    st.sampled_from(["", "-", "+"]), st.integers(0, 10 ** 30).map(str),
    st.text(alphabet="0123456789", max_size=25), st.one_of(st.none(), st.integers(-300, 300)))


@SETTINGS
@given(decimals)
def test_decimals_are_exactly_the_rational_of_their_text(text):
    # reference: Python's exact Fraction of the decimal string (independent of the parser)
    assert parse_number(text, name="v") == sp.Rational(Fraction(text))


_x, _s = sp.symbols("x s", real=True)
_DERIVATION = Derivation("d", (_x,), (_s,), {"e": _x * _s})


@SETTINGS
@given(texts)
def test_at_parser_fails_cleanly_or_agrees_with_parse_number(text):
    point = _failure_is_clean(lambda: parse_point([f"x={text}"], _DERIVATION))
    if point is not None:
        assert point[_x] == parse_number(text, name="x")


@SETTINGS
@given(st.lists(st.one_of(texts, decimals), min_size=1, max_size=6))
def test_points_parser_fails_cleanly_or_agrees_with_parse_number(cells):
    text = ";".join(",".join(cells[i:i + 2]) for i in range(0, len(cells), 2))
    points = _failure_is_clean(lambda: parse_points(text))
    if points is not None:
        flat = [c for row in text.split(";") if row.strip() for c in row.split(",")]
        assert [v for p in points for v in p] == [parse_number(c, name="c") for c in flat]


@SETTINGS
@given(st.lists(st.lists(st.one_of(texts, decimals, st.sampled_from(["1", "-1"])), min_size=1, max_size=3),
                min_size=1, max_size=5),
       st.sampled_from(["x1,y", "x1,x2,y", "x1,x1,y", "y", "x1,x2"]))
def test_csv_reader_fails_cleanly(tmp_path_factory, rows, header):
    path = tmp_path_factory.mktemp("csv") / "d.csv"
    body = "\n".join(",".join(c.replace("\n", " ").replace("\r", " ") for c in row) for row in rows)
    path.write_text(header + "\n" + body + "\n", encoding="utf-8", errors="surrogatepass")
    result = _failure_is_clean(lambda: read_logistic_csv(path))
    if result is not None:
        X, y = result
        assert all(label in (-1, 1) for label in y) and len(X) == len(y)
        assert all(v.is_number and v.is_finite for row in X for v in row)
