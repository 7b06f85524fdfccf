import dataclasses

import pytest

from lemmata.proofs_checks import catalogue, run_check

CHECKS = {c.key: c for c in catalogue.load_checks(["2403.10696"])}
FAST = sorted(k for k, c in CHECKS.items() if c.cost == "fast")


@pytest.mark.parametrize("key", FAST)
def test_checks_pass(key):
    report = run_check(CHECKS[key], seed=0)
    assert report.status == "pass", [p for p in report.points if p.status != "pass"][:2]


@pytest.mark.parametrize("key,wrong", [
    # a critical value from the normal instead of Student's t (too small with few models)
    ("2403.10696/critical-r-closed-form", lambda p: 1.959964 / (p["n"] - 2 + 1.959964 ** 2) ** 0.5),
    # the t test's nominal level claimed at 10 % instead of alpha
    ("2403.10696/critical-r-null-simulation", lambda p: 0.1),
    # the prompt counted on one channel only
    ("2403.10696/probe-parameters", lambda p: p["C"] * p["D"]),
])
def test_wrong_statements_fail(key, wrong):
    assert run_check(dataclasses.replace(CHECKS[key], symbolic=wrong), seed=0).status == "fail"


def test_greedy_guarantee_is_tight_for_a_wrong_bound():
    """The worst greedy/optimal ratio on the realistic matrices is below 1: claiming the greedy is
    always optimal fails."""
    check = dataclasses.replace(CHECKS["2403.10696/ilm-half-optimal"], symbolic=lambda p: 1.0)
    assert run_check(check, seed=0).status == "fail"
