"""The logistic-GD catalogue passes, and fails against wrong statements."""

import dataclasses

import pytest

from lemmata.proofs_checks import catalogue, run_check

CHECKS = {c.key: c for c in catalogue.load_checks(["2406.05033"])}


@pytest.mark.parametrize("key", sorted(k for k, c in CHECKS.items() if c.cost == "fast"))
def test_fast_checks_pass(key):
    report = run_check(CHECKS[key], seed=0)
    assert report.status == "pass", [p for p in report.points if p.status != "pass"][:2]


@pytest.mark.parametrize("key,wrong", [
    ("2406.05033/flip-at-critical-step", lambda p: 1.0),          # the global threshold is not the flip
    ("2406.05033/two-cluster-closed-forms", lambda p: p["p"] * (1 - p["p"]) / 2
     if p["quantity"] == "lambda" else 0.0),
    ("2406.05033/flip-supercritical", lambda p: 1.0),             # kappa is not 1
])
def test_wrong_statements_fail(key, wrong):
    assert run_check(dataclasses.replace(CHECKS[key], symbolic=wrong), seed=0).status == "fail"


def test_global_convergence_fails_above_two_over_lambda():
    # past the flip, GD does not converge to w* from every start: the check must see it
    check = CHECKS["2406.05033/global-convergence-1d"]
    point = {**check.points[0], "n_sets": 5, "eta_lambda": [2.2]}
    assert run_check(dataclasses.replace(check, points=[point]), seed=0).status == "fail"
