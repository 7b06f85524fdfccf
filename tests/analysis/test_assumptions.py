"""Assumptions are real relations checked at a point (issue 12): none may be the constant
True/False that SymPy makes of ``sigma > 0`` for a positive symbol, and the CLI reproducers of the
issue (sigma=-2, sigma=0, L=-3, r=0, eta=-1) exit 2 with the assumption's sentence."""

import argparse

import pytest
import sympy as sp

from lemmata.analysis import AssumptionError, Derivation, logistic, ngn, recurrence, sde, vandermonde
from lemmata.proofs_checks import cli
from lemmata.proofs_checks.derive import TOPICS

x, y = sp.symbols("x y", real=True)

#: cheap factories (a few seconds together); the expensive ones are in the slow test below
FAST_FACTORIES = {
    "derive_ngn": lambda: [ngn.derive_ngn(1), ngn.derive_ngn(2, "half")],
    "ngn_family": lambda: [ngn.ngn_stepsize(), ngn.ngn_stepsize_bounds(), ngn.ngn_decomposition(),
                           ngn.ngn_key_inequality(), ngn.ngn_convex_bound(), ngn.ngn_decreasing_bound(),
                           ngn.ngn_quadratic_contraction(), ngn.ngn_least_squares_stepsize()],
    "sde": lambda: [sde.sgd(x ** 2 / 2, x), sde.sgda(x * y, x, y), sde.seg(x * y, x, y),
                    sde.shgd(x * y, x, y), sde.seg(x * y, x, y, noise="multiplicative")],
    "logistic": lambda: [logistic.gd_map([[1.0], [-0.5]], [1, 1])],
    "vandermonde": lambda: [vandermonde.reconstruction_condition("radius", 3),
                            vandermonde.reconstruction_condition("roots", 3),
                            vandermonde.vandermonde_determinant(3)],
    "memory": lambda: [recurrence.gru_moments()],
}

SLOW_FACTORIES = {
    "memory_all": lambda: [recurrence.memory_moments(n, p) for n in recurrence.NORMALIZATIONS
                           for p in recurrence.PARAMETRIZATIONS],
    "recurrence": lambda: [recurrence.complex_sensitivities(), recurrence.teacher_student_loss(),
                           recurrence.teacher_student_curvature()],
    "ngn_more": lambda: [ngn.ngn_identities(), ngn.ngn_offset_quadratic()],
    "sde_more": lambda: [sde.extra_step_sizes(), sde.multiplicative_window(), sde.seg_discrete_window(),
                         sde.schedule_solution(0), sde.schedule_solution(1)],
    "logistic_more": lambda: [logistic.two_cluster(), logistic.ideal_wall_cycle(), logistic.two_wall_cycle()],
}


def _assert_real_relations(derivations):
    for d in derivations:
        assert isinstance(d, Derivation)
        names = {s.name for s in d.symbols}
        for a in d.assumptions:
            assert a.relation not in (sp.true, sp.false), (d.name, a.sentence)
            assert isinstance(a.relation, sp.logic.boolalg.Boolean)
            assert a.names <= names, (d.name, a.sentence, a.names - names)


@pytest.mark.parametrize("name", sorted(FAST_FACTORIES))
def test_factory_assumptions_are_real_relations(name):
    _assert_real_relations(FAST_FACTORIES[name]())


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLOW_FACTORIES))
def test_expensive_factory_assumptions_are_real_relations(name):
    _assert_real_relations(SLOW_FACTORIES[name]())


TOPIC_ARGS = {
    "ngn": ["--dim", "1"], "memory": [], "reconstruction": ["--nodes", "radius", "--L", "3"],
    "sde": ["--optimizer", "seg", "--game", "lam*x*y"],
    "signature": ["--points", "0,0;1,1", "--depth", "2"],
}


@pytest.mark.parametrize("topic", sorted(TOPIC_ARGS))
def test_every_derive_topic_has_real_relations(topic):
    parser = cli.build_parser()
    args = parser.parse_args(["derive", topic, *TOPIC_ARGS[topic]])
    _assert_real_relations([TOPICS[topic].build(args)])


def test_the_logistic_topic_has_real_relations(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x1,y\n1,1\n-0.5,1\n")
    args = argparse.Namespace(data=str(data))
    _assert_real_relations([TOPICS["logistic"].build(args)])


@pytest.mark.parametrize("argv, sentence", [
    (["ngn", "--at", "f=1", "g_1=1", "sigma=-2", "L=1"], "sigma is positive"),
    (["ngn", "--at", "f=1", "g_1=1", "sigma=0", "L=1"], "sigma is positive"),
    (["ngn", "--at", "f=1", "g_1=1", "sigma=1", "L=-3"], "L is the smoothness constant"),
    (["reconstruction", "--nodes", "radius", "--L", "3", "--at", "r=0"], "0 < r <= 1"),
    (["reconstruction", "--nodes", "radius", "--L", "3", "--at", "r=2"], "0 < r <= 1"),
    (["sde", "--optimizer", "seg", "--game", "lam*x*y", "--at", "eta=-1"], "step size eta is positive"),
    (["sde", "--optimizer", "seg", "--game", "lam*x*y", "--at", "rho=0"], "rho is positive"),
    (["sde", "--optimizer", "sgd", "--game", "x**2", "--at", "eta=0"], "step size eta is positive"),
    (["memory", "--at", "rho=2"], "rho lies in [0, 1]"),
    (["memory", "--at", "lam=1"], "|lambda| < 1"),
])
def test_cli_points_violating_an_assumption_exit_2(argv, sentence, capsys):
    assert cli.main(["derive", *argv]) == 2
    err = capsys.readouterr().err
    assert "lemmata: error:" in err and sentence in err and "Traceback" not in err


@pytest.mark.parametrize("value, words", [("nan", "`--at f` must be finite"), ("oo", "must be finite"),
                                          ("-inf", "must be finite"), ("1/0", "must be finite"),
                                          ("1+", "`--at f` must be a number")])
def test_cli_non_finite_points_are_clean_errors(value, words, capsys):
    assert cli.main(["derive", "ngn", "--at", f"f={value}", "g_1=1", "sigma=1", "L=1"]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and "TypeError" not in err


def test_symbol_flags_are_checked_and_subs_checks_fixed_values():
    s = sp.Symbol("s", positive=True)
    d = Derivation("d", (x,), (s,), {"e": sp.sqrt(s ** 2) * x})    # = s x only because s > 0
    assert d.check_assumptions({"s": -1}) == ["s is positive (declared on the symbol); got -1"]
    with pytest.raises(AssumptionError, match="s is positive"):
        d.evaluate({"x": 1, "s": -1})
    nd = ngn.ngn_stepsize()
    with pytest.raises(AssumptionError, match="sigma is positive"):
        nd.subs({"sigma": -2})
    fixed = nd.subs({"sigma": 2})
    assert fixed.assumptions == () and fixed.params == ()
