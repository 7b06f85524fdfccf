import dataclasses
import json

import pytest

from lemmata.proofs_checks import catalogue, cli, run_check

CHECKS = {c.key: c for c in catalogue.load_checks(["2405.15731"])}
FAST = sorted(k for k, c in CHECKS.items() if c.cost == "fast")


@pytest.mark.parametrize("key", FAST)
def test_checks_pass(key):
    report = run_check(CHECKS[key], seed=0)
    assert report.status == "pass", [p for p in report.points if p.status != "pass"][:2]


def test_every_fast_check_has_its_points_and_slow_twins_exist():
    assert {"2405.15731/dsf-representation-full", "2405.15731/softmax-taylor-rate-full"} <= set(CHECKS)
    assert all(CHECKS[k].cost == "slow" for k in CHECKS if k.endswith("-full"))


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(k for k, c in CHECKS.items() if c.cost == "slow"))
def test_slow_checks_pass(key):
    assert run_check(CHECKS[key], seed=0).status == "pass"


@pytest.mark.parametrize("key,wrong", [
    # a Taylor error falling only like sqrt of the remainder, or not at all
    ("2405.15731/softmax-taylor-rate", lambda p: 0.5),
    # claiming S6 matches attention even when the transitions are not matched
    ("2405.15731/matching-conditions-violated", lambda p: 10.0),
    # a transition eta_{i-1}/eta_i that never exceeds one
    ("2405.15731/normalisation-as-transition", lambda p: 1.0 if p["quantity"] == "Lambda_3" else 0.0),
    # claiming the truncated Taylor attention is softmax to 1e-8 already at P = 4..8
    ("2405.15731/softmax-taylor-bound", lambda p: 1e-8),
])
def test_wrong_statements_fail(key, wrong):
    assert run_check(dataclasses.replace(CHECKS[key], symbolic=wrong), seed=0).status == "fail"


def test_derive_dsf_json_contract(capsys):
    assert cli.main(["derive", "dsf", "--arch", "retnet", "--L", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["topic"] == "dsf" and set(doc["results"]) == {"Phi", "Lambda", "B", "C"}
    assert "gamma" in doc["results"]["Phi"]["expr"] and "gamma" in doc["symbols"]
    assert cli.main(["derive", "dsf", "--arch", "softmax", "--L", "2", "--latex"]) == 0
    assert "e^{" in capsys.readouterr().out
