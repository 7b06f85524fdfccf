"""The convergence-harness checks (2402.12508/harness-*): the fast ones pass, and wrong orders fail."""

import dataclasses

import pytest

from lemmata.proofs_checks import catalogue, run_check

CHECKS = {c.key: c for c in catalogue.load_checks(["2402.12508"]) if "/harness-" in c.key}


def test_the_harness_checks_are_in_the_catalogue():
    assert {"2402.12508/harness-euler-strong", "2402.12508/harness-weak2-weak", "2402.12508/harness-sra-strong",
            "2402.12508/harness-mlmc-gbm", "2402.12508/harness-mlmc-cost-rate"} <= set(CHECKS)
    assert all(CHECKS[k].cost == "slow" for k in CHECKS if k.endswith("-full"))


@pytest.mark.parametrize("key", sorted(k for k, c in CHECKS.items() if c.cost == "fast"))
def test_fast_harness_checks_pass(key):
    report = run_check(CHECKS[key], seed=0)
    assert report.status == "pass", [p for p in report.points if p.status != "pass"][:2]


@pytest.mark.parametrize("key,wrong", [
    ("2402.12508/harness-euler-strong", 1.0),         # Euler-Maruyama is not strong order 1 on GBM
    ("2402.12508/harness-weak2-weak", 1.0),           # nor is the weak-2 scheme only first order
])
def test_wrong_orders_fail(key, wrong):
    assert run_check(dataclasses.replace(CHECKS[key], symbolic=lambda p: wrong), seed=0).status == "fail"


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(k for k, c in CHECKS.items() if c.cost == "slow"))
def test_slow_harness_checks_pass(key):
    assert run_check(CHECKS[key], seed=0).status == "pass"
