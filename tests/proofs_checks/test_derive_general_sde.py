"""`lemmata derive sde --drift ... --diffusion ... --state ...`: a general SDE from user strings,
parsed (never evaluated), with its Stratonovich drift computed by hand."""

import json

import sympy as sp

from lemmata.proofs_checks import cli


def test_general_sde_from_strings(capsys):
    assert cli.main(["derive", "sde", "--drift", "mu*x", "--diffusion", "s*x", "--state", "x", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    x, mu, s = sp.symbols("x mu s", real=True)
    strat = sp.parse_expr(doc["results"]["stratonovich_drift"]["expr"], {"x": x, "mu": mu, "s": s, "Matrix": sp.Matrix})
    assert sp.simplify(strat[0] - (mu - s ** 2 / 2) * x) == 0           # Ito -> Stratonovich for GBM
    assert doc["symbols"] == ["x", "mu", "s"]


def test_stratonovich_input_and_time(capsys):
    assert cli.main(["derive", "sde", "--drift=-x/(1+t)", "--diffusion", "x", "--state", "x", "--stratonovich",
                     "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "t" in doc["symbols"] and "x/2" in doc["results"]["drift"]["expr"]     # + (1/2) x * 1


def test_strings_are_parsed_not_evaluated(capsys):
    assert cli.main(["derive", "sde", "--drift", "x.__class__", "--diffusion", "1", "--state", "x"]) == 2
    assert "attribute access not allowed" in capsys.readouterr().err
