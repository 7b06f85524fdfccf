import sympy as sp

from lemmata.analysis.rewrite import apply_rewrites, expm1, log1p, logaddexp

x, y = sp.symbols("x y", real=True)


def test_softplus_becomes_logaddexp():
    assert apply_rewrites(sp.log(1 + sp.exp(x))) == logaddexp(0, x)


def test_log_of_two_exponentials():
    assert apply_rewrites(sp.log(sp.exp(x) + sp.exp(2 * y))) == logaddexp(x, 2 * y)


def test_log1p_and_expm1():
    assert apply_rewrites(sp.log(1 + x ** 2)) == log1p(x ** 2)
    assert apply_rewrites(sp.exp(x) - 1 + y) == expm1(x) + y


def test_rewrites_preserve_value():
    # reference: the unrewritten expression evaluated in high precision by SymPy
    exprs = [sp.log(1 + sp.exp(x)), sp.exp(x) - 1 + y, sp.log(1 + x * y), sp.log(sp.exp(x) + sp.exp(y))]
    for e in exprs:
        r = apply_rewrites(e)
        at = {x: sp.Rational(3, 7), y: sp.Rational(-2, 5)}
        assert abs(sp.N(e.subs(at), 30) - sp.N(r.subs(at), 30)) < 1e-25


def test_things_that_do_not_match_are_left_alone():
    for e in (sp.log(x), 2 * sp.exp(x) - 1, sp.exp(x) + 1):
        assert apply_rewrites(e) == e
