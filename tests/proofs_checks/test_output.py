"""What `lemmata derive` and `lemmata check` print: pretty closed forms, values to the precision
they carry, one LaTeX for --latex and JSON, help texts, and check progress (issue 14, items 1-2)."""

import argparse
import json
import math

import mpmath
import pytest
import sympy as sp

from lemmata.proofs_checks import cli
from lemmata.proofs_checks.derive import TOPICS, format_number
from lemmata.proofs_checks.report import GAP_LEGEND


def _derive(capsys, *argv):
    assert cli.main(["derive", *argv]) == 0
    return capsys.readouterr().out


# ------------------------------------------------------------------------------ plain output
def test_values_at_a_point_are_exact_rationals_when_exact(capsys):
    out = _derive(capsys, "ngn", "--at", "f=1", "g_1=2", "sigma=1/2", "L=3")
    # closed forms: gamma = 2 f sigma / (2 f + g^2 sigma) = 1 / (2 + 2) = 1/4 at this point,
    # sigma / (1 + sigma L) = (1/2) / (5/2) = 1/5, gamma <= sigma = 1/2, step = -gamma g = -1/2
    assert "\n  value: 1/4 ≈ 0.25\n" in out
    assert "\n  value: 1/5 ≈ 0.2\n" in out
    assert "\nstepsize_upper_bound = σ\n  value: 1/2 ≈ 0.5" in out
    assert "\n  value: [-1/2 ≈ -0.5]\n" in out
    assert "at: f = 1, g_1 = 2, sigma = 1/2, L = 3" in out
    assert "Matrix(" not in out and "at the given point" not in out


def test_closed_forms_are_pretty_printed_with_matrices_laid_out(capsys):
    out = _derive(capsys, "sde", "--optimizer", "seg", "--game", "lam*x*y")
    assert "Matrix(" not in out and "**" not in out
    # the SEG drift on f = lam x y (the brief): (-lam (lam rho x + y), lam (x - lam rho y)), as
    # SymPy's unicode printer lays out that 2 x 1 matrix, with the label on its baseline
    lam, rho, x, y = sp.symbols("lam rho x y")
    drift = sp.Matrix([-lam * (lam * rho * x + y), lam * (-lam * rho * y + x)])
    block = sp.pretty(drift, use_unicode=True).splitlines()
    assert all(line.strip() in out for line in block)
    assert "⎡" in out and "⎣" in out
    assert "value:" not in out and "at the given point" not in out     # no --at: no value lines


def test_no_point_means_no_value_lines_and_no_point_text(capsys):
    for argv in (("ngn",), ("signature", "--points", "0,0;1,0;1,2", "--depth", "2"),
                 ("reconstruction", "--nodes", "radius", "--L", "4")):
        out = _derive(capsys, *argv)
        assert "at the given point" not in out and "value:" not in out and "\nat: " not in out


def test_exact_rationals_in_the_closed_form_print_exactly(capsys):
    out = _derive(capsys, "signature", "--points", "0,0;1,0;1,2", "--depth", "2")
    # reference: increments (1, 0) then (0, 2): S = (1, 2, 1/2, 2, 0, 2) (words 1, 2, 11, 12, 21, 22)
    expected = sp.pretty(sp.Matrix([1, 2, sp.Rational(1, 2), 2, 0, 2]), use_unicode=True).splitlines()
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if "signature = " in line) - 5
    got = [line[len("signature = "):] for line in lines[start:start + len(expected)]]
    assert got == expected
    assert "1/2" in out and "0.5" not in out


def test_format_number_keeps_the_precision_a_number_carries():
    assert format_number(sp.Rational(-3, 7)) == f"-3/7 ≈ {-3 / 7!r}"
    assert format_number(sp.Integer(12)) == "12"
    assert format_number(sp.Float(0.12062841227646)) == "0.12062841227646"   # a double: repr
    assert format_number(sp.Float(0.1)) == repr(0.1)
    assert format_number(sp.sqrt(2)) == repr(math.sqrt(2))
    # 30 declared digits: printed at 30 (the digits of pi from mpmath at 40), trailing zeros dropped
    with mpmath.workdps(40):
        assert format_number(sp.N(sp.pi, 30)) == mpmath.nstr(mpmath.pi, 30)
    assert format_number(sp.Float("0.25", 30)) == "0.25"


def test_logistic_prints_its_30_digits_not_a_padded_double(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("x1,y\n1.0,1\n2.0,1\n-0.5,1\n1.5,-1\n0.25,-1\n")
    out = _derive(capsys, "logistic", "--data", str(data))
    line = next(line for line in out.splitlines() if line.startswith("lambda = "))
    printed = line[len("lambda = "):]
    assert not printed.endswith("000") and len(printed.replace("0.", "", 1)) >= 29
    # independent reference at 50 digits: the 1-D minimiser solves mean(z / (1 + exp(z w))) = 0
    # with z_i = y_i x_i, and lambda = f''(w*) = mean(z^2 s (1 - s)), s = 1 / (1 + exp(z w*))
    with mpmath.workdps(50):
        z = [mpmath.mpf(v) for v in ("1.0", "2.0", "-0.5", "-1.5", "-0.25")]
        w = mpmath.findroot(lambda w: sum(zi / (1 + mpmath.exp(zi * w)) for zi in z), 0.2)
        s = [1 / (1 + mpmath.exp(zi * w)) for zi in z]
        lam = sum(zi ** 2 * si * (1 - si) for zi, si in zip(z, s)) / len(z)
        assert abs(mpmath.mpf(printed) - lam) < mpmath.mpf(10) ** -28


# ------------------------------------------------------------------------------ LaTeX
def _aligned_lines(latex_output):
    body = latex_output.split("\\begin{aligned}\n", 1)[1].split("\n\\end{aligned}", 1)[0]
    return dict(line.removesuffix(" \\\\").split(" &= ", 1) for line in body.split("\n"))


@pytest.mark.parametrize("argv", [("sde", "--optimizer", "seg", "--game", "lam*x*y"),
                                  ("memory",)])
def test_json_latex_is_the_latex_of_the_latex_option(capsys, argv):
    latex = _aligned_lines(_derive(capsys, *argv, "--latex"))
    document = json.loads(_derive(capsys, *argv, "--json"))
    for name, result in document["results"].items():
        label = r"\mathrm{" + name.replace("_", r"\_") + "}"
        assert result["latex"] == latex[label]
    joined = " ".join(r["latex"] for r in document["results"].values())
    assert "\\lambda" in joined and "lam " not in joined and "lam}" not in joined


def test_ngn_latex_holds_no_sympy_repr(capsys):
    out = _derive(capsys, "ngn", "--latex", "--dim", "2")
    assert "Matrix(" not in out and "sqrt(" not in out.replace("% LM / Gauss-Newton subproblem on r = sqrt(f)", "")
    # the identity p + gamma g = 0 (the derived step is -gamma grad f) stated as LaTeX
    assert "\\gamma\\, \\left[\\begin{matrix}g_{1} & g_{2}\\end{matrix}\\right]^{\\top} = 0" in out


# ------------------------------------------------------------------------------ help
def _topic_parsers():
    def subparsers(parser):
        return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    return subparsers(subparsers(cli.build_parser())["derive"])


def test_every_derive_option_has_help_and_states_its_default():
    for name, parser in _topic_parsers().items():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, (name, action.option_strings)
            if action.default not in (None, False):
                assert "default" in action.help and str(action.default) in action.help, \
                    (name, action.option_strings)


def test_sde_help_explains_order_noise_and_its_symbols(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["derive", "sde", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for words in ("--order", "default 1", "--noise", "default additive", "multiplicative",
                  "symbols:", "eta step size", "rho extra-step size", "sigma noise scale"):
        assert words in text, words


# the default arguments of each topic that builds without a file (logistic has no symbols)
_BUILD = {"ngn": [], "memory": [], "reconstruction": ["--nodes", "radius", "--L", "3"],
          "sde": ["--optimizer", "seg", "--game", "lam*x*y"],
          "signature": ["--points", "0,0;1,1", "--depth", "2"],
          "parametrization": ["--scheme", "depth_mup"]}


@pytest.mark.parametrize("topic", sorted(_BUILD))
def test_topic_help_lists_the_symbols_of_its_closed_forms(topic):
    parser = _topic_parsers()[topic]
    epilog = TOPICS[topic].epilog
    assert epilog and parser.epilog == epilog and "symbols" in epilog
    derivation = TOPICS[topic].build(cli.build_parser().parse_args(["derive", topic, *_BUILD[topic]]))
    for symbol in derivation.symbols:
        family = symbol.name.split("_")[0] + "_" if symbol.name.startswith("g_") else symbol.name
        assert family in epilog, (topic, symbol.name)


# ------------------------------------------------------------------------------ check
def test_check_prints_the_key_when_it_starts_then_the_status(monkeypatch, capsys):
    real = cli.run_check
    seen = []

    def run_check(check, **kwargs):
        seen.append(capsys.readouterr().err)      # what stderr holds when the check starts
        return real(check, **kwargs)

    monkeypatch.setattr(cli, "run_check", run_check)
    assert cli.main(["check", "--key", "2407.04358/lm-identity"]) == 0
    captured = capsys.readouterr()
    assert seen == ["running 2407.04358/lm-identity (1/1) ...\n"]       # capsys is not a TTY
    assert "pass  2407.04358/lm-identity  (" in captured.err
    assert GAP_LEGEND in captured.out
    table_end = captured.out.index("1 checks: 1 pass")
    assert captured.out.index("worst gap / allowed: ") > table_end        # under the table


def test_check_help_explains_the_gap_column(capsys):
    with pytest.raises(SystemExit):
        cli.main(["check", "--help"])
    text = capsys.readouterr().out
    assert GAP_LEGEND in text
    for words in ("Exact", "atol + rtol |symbolic|", "MonteCarlo", "n_sigma stderr + bias",
                  "Order", "fitted slope", "Bound", "signed excess"):
        assert words in GAP_LEGEND, words
