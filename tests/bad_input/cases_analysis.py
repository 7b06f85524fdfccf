"""Bad-input cases for every public callable of ``lemmata.analysis`` (issue 12, part A).

Each case: (dotted target, thunk making the bad call, expected exception type, words its message
must hold). The reproducers of issue 12 on the analysis side are marked "issue 12".
"""

import sympy as sp

from lemmata.analysis import (AssumptionError, LemmataError, UnsupportedExpressionError, cde,
                              derivation, logistic, ngn, parsing, recurrence, rewrite, sde,
                              signature, validation, vandermonde)

try:
    import numpy as np
except ImportError:         # pragma: no cover - numpy is a dependency of lemmata.numerics
    np = None

NAN, INF = float("nan"), float("inf")
x, y = sp.symbols("x y", real=True)
s = sp.Symbol("s", real=True)
A2 = [sp.Matrix([[0, 0], [1, 0]]), sp.Matrix([[0, 0], [2, 0]])]
INJECTION = "__import__('os').system('touch PWNED')"


def _derivation():
    return derivation.Derivation("d", (x,), (s,), {"e": s * x},
                                 (derivation.Assumption("s > 0", "s is positive"),))


def _linear_sde():
    return sde.sgd(x ** 2 / 2, x)


def _cubic_sde():
    return sde.sgd(x ** 4 / 4, x)


P = "lemmata.analysis."
CASES = [
    # ---------------------------------------------------------------- parsing
    (P + "parsing.parse_expression", lambda: parsing.parse_expression(INJECTION, name="--game"),
     LemmataError, ["`--game`", "whitelisted"]),
    (P + "parsing.parse_expression", lambda: parsing.parse_expression("().__class__.__bases__", name="f"),
     LemmataError, ["`f`", "attribute access"]),
    (P + "parsing.parse_expression", lambda: parsing.parse_expression("lambda: 0", name="f"),
     LemmataError, ["`f`", "lambda"]),
    (P + "parsing.parse_expression", lambda: parsing.parse_expression("[x for x in ()]", name="f"),
     LemmataError, ["`f`", "comprehensions"]),
    (P + "parsing.parse_expression", lambda: parsing.parse_expression("f'{1}'", name="f"),
     LemmataError, ["`f`", "f-strings"]),
    (P + "parsing.parse_expression", lambda: parsing.parse_expression(42, name="f"),
     TypeError, ["`f`", "string"]),
    (P + "parsing.parse_relation", lambda: parsing.parse_relation("x + 1", name="rel", allow_new_symbols=True),
     LemmataError, ["`rel`", "relation"]),
    (P + "parsing.parse_relation", lambda: parsing.parse_relation("x == 1", name="rel", allow_new_symbols=True),
     LemmataError, ["`rel`", "comparison"]),
    (P + "parsing.parse_number", lambda: parsing.parse_number("nan", name="v"), LemmataError, ["`v`", "finite"]),
    (P + "parsing.parse_number", lambda: parsing.parse_number("x", name="v"), LemmataError, ["`v`", "number"]),
    (P + "parsing.parse_number", lambda: parsing.parse_number("1e100000", name="v"), LemmataError, ["`v`", "exponent"]),
    (P + "parsing.exact_number", lambda: parsing.exact_number(NAN, name="point['f']"),
     LemmataError, ["`point['f']` must be finite; got nan."]),
    (P + "parsing.exact_number", lambda: parsing.exact_number(-INF, name="v"), LemmataError, ["`v`", "finite"]),
    (P + "parsing.exact_number", lambda: parsing.exact_number(True, name="v"), TypeError, ["`v`", "bool"]),
    (P + "parsing.exact_number", lambda: parsing.exact_number(2j, name="v"), LemmataError, ["`v`", "real"]),
    (P + "parsing.exact_numbers", lambda: parsing.exact_numbers([1.0, NAN], name="w"),
     LemmataError, ["`w[1]`", "finite"]),
    # ---------------------------------------------------------------- validation
    (P + "validation.positive_finite", lambda: validation.positive_finite("dt", -0.01),
     ValueError, ["`dt` must be positive and finite; got -0.01."]),
    (P + "validation.positive_finite", lambda: validation.positive_finite("dt", True), ValueError, ["`dt`", "True"]),
    (P + "validation.positive_finite", lambda: validation.positive_finite("dt", NAN), ValueError, ["`dt`", "nan"]),
    (P + "validation.nonnegative_finite", lambda: validation.nonnegative_finite("t", INF),
     ValueError, ["`t`", "non-negative and finite"]),
    (P + "validation.positive_int", lambda: validation.positive_int("n", 2.0), ValueError, ["`n`", "positive integer"]),
    (P + "validation.positive_int", lambda: validation.positive_int("n", 0), ValueError, ["`n`", "positive integer"]),
    (P + "validation.nonnegative_int", lambda: validation.nonnegative_int("k", -1),
     ValueError, ["`k`", "non-negative integer"]),
    (P + "validation.one_of", lambda: validation.one_of("mode", "c", ("a", "b")), ValueError, ["`mode`", "'a'"]),
    # ---------------------------------------------------------------- derivation
    (P + "derivation.Assumption", lambda: derivation.Assumption(sp.Symbol("q", positive=True) > 0, "q > 0"),
     LemmataError, ["always True", "evaluate=False"]),                           # issue 12
    (P + "derivation.Assumption", lambda: derivation.Assumption("q >", "broken"), LemmataError, ["`relation`"]),
    (P + "derivation.Assumption", lambda: derivation.Assumption(x + 1, "not a relation"),
     TypeError, ["`relation`", "relation"]),
    (P + "derivation.Assumption.holds", lambda: derivation.Assumption("q > 0", "q > 0").holds({"q": NAN}),
     LemmataError, ["`point['q']`", "finite"]),
    (P + "derivation.Derivation", lambda: derivation.Derivation("d", (x,), (), {"e": INJECTION}),
     LemmataError, ["`expressions['e']`"]),                                      # issue 12
    (P + "derivation.Derivation", lambda: derivation.Derivation("d", (x,), (), {"e": x + y}),
     LemmataError, ["undeclared symbols", "'y'"]),
    (P + "derivation.Derivation", lambda: derivation.Derivation(
        "d", (x,), (), {"e": x}, (derivation.Assumption("z > 0", "z positive"),)),
     LemmataError, ["'z'", "not symbols"]),
    (P + "derivation.Derivation.evaluate", lambda: _derivation().evaluate({"x": NAN, "s": 1.0}),
     LemmataError, ["`point['x']` must be finite"]),                             # issue 12
    (P + "derivation.Derivation.evaluate", lambda: _derivation().evaluate({"x": 1.0, "s": -1.0}),
     AssumptionError, ["s is positive"]),
    (P + "derivation.Derivation.check_assumptions", lambda: _derivation().check_assumptions({"s": INF}),
     LemmataError, ["`point['s']`", "finite"]),
    (P + "derivation.Derivation.subs", lambda: _derivation().subs({"s": -3}), AssumptionError, ["s is positive"]),
    (P + "derivation.Derivation.subs", lambda: _derivation().subs({"s": INJECTION}), LemmataError, ["`values['s']`"]),
    # ---------------------------------------------------------------- logistic
    (P + "logistic.loss_expression", lambda: logistic.loss_expression([], []), LemmataError, ["`z`", "at least one"]),
    (P + "logistic.gd_map", lambda: logistic.gd_map([[1.0], [NAN]], [1, -1]), LemmataError, ["`X[1][0]`", "finite"]),
    (P + "logistic.gd_map", lambda: logistic.gd_map([[1.0], [2.0, 3.0]], [1, -1]),
     LemmataError, ["`X`", "same length"]),
    (P + "logistic.gd_map", lambda: logistic.gd_map([[1.0], [2.0]], [1]), LemmataError, ["`y`", "one label"]),
    (P + "logistic.gd_map", lambda: logistic.gd_map([[1.0], [2.0]], [1, 0]), LemmataError, ["`y`", "-1, +1"]),
    (P + "logistic.gd_map", lambda: logistic.gd_map("1,2", [1]), TypeError, ["`X`", "sequence"]),
    (P + "logistic.gd_map", lambda: logistic.gd_map([[1.0], [2.0]], weights=[1, -1]),
     LemmataError, ["`weights`", "non-negative"]),
    (P + "logistic.flip_coefficient_1d", lambda: logistic.flip_coefficient_1d(x ** 2, "w"), TypeError, ["`w`", "Symbol"]),
    (P + "logistic.solution", lambda: logistic.solution([1.0, NAN, -1.0]),
     LemmataError, ["`z[1][0]`", "finite"]),                                     # issue 12
    (P + "logistic.solution", lambda: logistic.solution([1.0, 2.0]), AssumptionError, ["separable"]),
    (P + "logistic.is_separable", lambda: logistic.is_separable([[1.0, INF]]), LemmataError, ["`z[0][1]`", "finite"]),
    # ---------------------------------------------------------------- ngn, recurrence, vandermonde
    (P + "ngn.lm_objective", lambda: ngn.lm_objective(0), ValueError, ["`dim`", "positive integer"]),
    (P + "ngn.lm_objective", lambda: ngn.lm_objective(1, "full"), ValueError, ["`convention`"]),
    (P + "recurrence.leading_term", lambda: recurrence.leading_term(INJECTION), LemmataError, ["`expr`"]),
    (P + "recurrence.leading_term", lambda: recurrence.leading_term(3), TypeError, ["`expr`", "SymPy expression"]),
    (P + "recurrence.leading_term", lambda: recurrence.leading_term(recurrence.lam, at=NAN),
     LemmataError, ["`at`", "finite"]),
    (P + "vandermonde.vandermonde_matrix", lambda: vandermonde.vandermonde_matrix([1, NAN], 2),
     LemmataError, ["`nodes[1]`", "finite"]),
    (P + "vandermonde.vandermonde_matrix", lambda: vandermonde.vandermonde_matrix([1, 2], 0), ValueError, ["`k`"]),
    (P + "vandermonde.radius_gram_diagonal", lambda: vandermonde.radius_gram_diagonal(0), ValueError, ["`L`"]),
    (P + "vandermonde.hop_encoder_matrix", lambda: vandermonde.hop_encoder_matrix(2, -1, 1),
     ValueError, ["`K`", "non-negative integer"]),
    # ---------------------------------------------------------------- rewrite
    (P + "rewrite.RewriteRule", lambda: rewrite.RewriteRule("r", "no query", None, lambda e: e),
     TypeError, ["`query`", "callable"]),
    (P + "rewrite.apply_rewrites", lambda: rewrite.apply_rewrites("log(1 + exp(x))"), TypeError, ["`expr`", "SymPy"]),
    (P + "rewrite.apply_rewrites", lambda: rewrite.apply_rewrites(x, rules=[object()]), TypeError, ["`rules`"]),
    (P + "rewrite.log1p", lambda: rewrite.log1p(), TypeError, ["log1p", "argument"]),
    (P + "rewrite.expm1", lambda: rewrite.expm1(x, y), TypeError, ["expm1", "argument"]),
    (P + "rewrite.logaddexp", lambda: rewrite.logaddexp(x), TypeError, ["logaddexp", "argument"]),
    # ---------------------------------------------------------------- sde
    (P + "sde.SDE", lambda: sde.SDE("s", ("x",), (), {"drift": x}), TypeError, ["`inputs`", "Symbols"]),
    (P + "sde.from_update", lambda: sde.from_update(sp.Matrix([-x]), (x,), (), order=3), ValueError, ["`order`"]),
    (P + "sde.from_update", lambda: sde.from_update(sp.Matrix([-x, x]), (x,), ()), LemmataError, ["`delta`"]),
    (P + "sde.gaussian_expectation", lambda: sde.gaussian_expectation(sp.exp(s), (s,)),
     UnsupportedExpressionError, ["not polynomial"]),
    (P + "sde.sgd", lambda: sde.sgd(INJECTION, x), LemmataError, ["`f`"]),           # issue 12
    (P + "sde.sgd", lambda: sde.sgd(x ** 2, x, eta=-0.1), ValueError, ["`eta` must be positive"]),
    (P + "sde.sgd", lambda: sde.sgd(x ** 2, x, eta=NAN), LemmataError, ["`eta`", "finite"]),
    (P + "sde.sgda", lambda: sde.sgda(x * y, x, y, noise="pink"), ValueError, ["`noise`"]),
    (P + "sde.seg", lambda: sde.seg("x*y +", x, y), LemmataError, ["`f`"]),
    (P + "sde.seg", lambda: sde.seg(x * y, x, y, rho=0), ValueError, ["`rho` must be positive"]),
    (P + "sde.shgd", lambda: sde.shgd(x * y, x, ()), TypeError, ["`y`"]),
    (P + "sde.linear_structure", lambda: sde.linear_structure(_cubic_sde()), LemmataError, ["not linear"]),
    (P + "sde.linear_structure", lambda: sde.linear_structure("sde"), TypeError, ["`sde`"]),
    (P + "sde.linear_moments", lambda: sde.linear_moments(_cubic_sde()), LemmataError, ["not linear"]),
    (P + "sde.norm_second_moment", lambda: sde.norm_second_moment(_linear_sde(), z0=INJECTION),
     LemmataError, ["`z0`"]),
    (P + "sde.norm_second_moment", lambda: sde.norm_second_moment(_cubic_sde()), LemmataError, ["does not close"]),
    (P + "sde.stationary_covariance", lambda: sde.stationary_covariance(sp.zeros(2, 2), sp.eye(2)),
     LemmataError, ["not Hurwitz"]),
    (P + "sde.stationary_covariance", lambda: sde.stationary_covariance("K", sp.eye(2)), TypeError, ["`K`"]),
    (P + "sde.quadratic_game", lambda: sde.quadratic_game(0), ValueError, ["`d`", "positive integer"]),
    # ---------------------------------------------------------------- signature, cde
    (P + "signature.words", lambda: signature.words(0, 2), ValueError, ["`d`"]),
    (P + "signature.truncate", lambda: signature.truncate([1, 2], 2), TypeError, ["`a`", "dict"]),
    (P + "signature.product", lambda: signature.product({(1,): 1}, {(1,): 1}, -1), ValueError, ["`depth`"]),
    (P + "signature.product", lambda: signature.product({"1": 1}, {}, 2), TypeError, ["`a`", "words"]),
    (P + "signature.exp", lambda: signature.exp({(): 1, (1,): 1}, 2), LemmataError, ["constant term"]),
    (P + "signature.log", lambda: signature.log({(): 2}, 2), LemmataError, ["constant term 1"]),
    (P + "signature.signature", lambda: signature.signature([(0, 0), (NAN, 1)], 2),
     LemmataError, ["`points[1][0]`", "finite"]),
    (P + "signature.signature", lambda: signature.signature([(0, 0), (1, 1)], 0), ValueError, ["`depth`"]),
    (P + "signature.signature", lambda: signature.signature([(0, 0), (1, 1)], 40), LemmataError, ["words"]),
    (P + "signature.signature", lambda: signature.signature([], 2), LemmataError, ["at least one point"]),
    (P + "signature.flatten", lambda: signature.flatten({}, 0, 2), ValueError, ["`d`"]),
    (P + "signature.lyndon_words", lambda: signature.lyndon_words(2, 0), ValueError, ["`depth`"]),
    (P + "signature.logsignature", lambda: signature.logsignature([(0, 0), (1,)], 2),
     LemmataError, ["same, positive dimension"]),
    (P + "cde.flow", lambda: cde.flow([], [(0,), (1,)], [1]), LemmataError, ["`A`", "at least one"]),
    (P + "cde.flow", lambda: cde.flow(A2, [(0, 0), (INF, 1)], [1, 0]), LemmataError, ["`points[1][0]`", "finite"]),
    (P + "cde.expansion", lambda: cde.expansion(A2, [1, 0], {}, 0), ValueError, ["`depth`"]),
    (P + "cde.expansion", lambda: cde.expansion(A2, [1, 0, 0], {}, 2), LemmataError, ["`z0`"]),
    (P + "cde.expansion", lambda: cde.expansion(A2, [1, 0], [1, 2], 2), TypeError, ["`signature`"]),
    (P + "cde.expansion_from_points", lambda: cde.expansion_from_points(A2, [(0, 0), (1, NAN)], [1, 0], 2),
     LemmataError, ["`points[1][1]`", "finite"]),
    (P + "cde.signature_symbols", lambda: cde.signature_symbols(0, 2), ValueError, ["`d`"]),
    (P + "cde.word_matrix", lambda: cde.word_matrix(A2, (3,)), LemmataError, ["`word`", "1..2"]),
    (P + "cde.gaussian_word_moment", lambda: cde.gaussian_word_moment((1, 0), (1,)), LemmataError, ["`I`"]),
    (P + "cde.gaussian_word_moment", lambda: cde.gaussian_word_moment((1,), (1,), N=0), ValueError, ["`N`"]),
    (P + "cde.gram_moments", lambda: cde.gram_moments([]), LemmataError, ["`words`", "at least one"]),
    (P + "cde.gram_moments", lambda: cde.gram_moments(5), TypeError, ["`words`"]),
    (P + "cde.nilpotent_example", lambda: cde.nilpotent_example(0, 2), ValueError, ["`N`", "positive integer"]),
]

if np is not None:
    CASES += [
        (P + "validation.positive_finite", lambda: validation.positive_finite("dt", np.float32("nan")),
         ValueError, ["`dt`", "nan"]),
        (P + "logistic.gd_map", lambda: logistic.gd_map(np.array([[1.0], [np.nan]]), np.array([1, -1])),
         LemmataError, ["`X[1][0]`", "finite"]),
        (P + "logistic.is_separable", lambda: logistic.is_separable(np.array([[1.0, 2.0], [np.inf, 0.0]])),
         LemmataError, ["`z[1][0]`", "finite"]),
    ]

EXEMPT = {}
