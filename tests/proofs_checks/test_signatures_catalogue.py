import dataclasses

import pytest

from lemmata.proofs_checks import catalogue, run_check

CHECKS = {c.key: c for c in catalogue.load_checks(["2402.19047"])}
FAST = sorted(k for k, c in CHECKS.items() if c.cost == "fast")


@pytest.mark.parametrize("key", FAST)
def test_checks_pass(key):
    report = run_check(CHECKS[key], seed=0)
    assert report.status == "pass", [p for p in report.points if p.status != "pass"][:2]


@pytest.mark.slow
def test_full_toy_tasks_pass():
    for key in ("2402.19047/toy-tasks-learnt-full", "2402.19047/toy-volume-diagonal-fails-full"):
        assert run_check(CHECKS[key], seed=0).status == "pass"


@pytest.mark.parametrize("key,wrong", [
    # Wick's sum without its O(1/N) terms: E|A^2 z|^2 = |z|^2 instead of |z|^2 (1 + 2/N^2)
    ("2402.19047/gaussian-word-moments", lambda p: 1.0 if p["I"] == p["J"] else 0.0),
    # a Gram deviation shrinking like 1/N, a kernel error like 1/N
    ("2402.19047/near-orthonormal-order", lambda p: -1.0),
    ("2402.19047/kernel-limit-order", lambda p: -1.0),
    # Euler-input and ZOH differing at first order
    ("2402.19047/s6-euler-vs-zoh-order", lambda p: 1.0),
    # a "bound" below the actual truncation error at the deepest truncations
    ("2402.19047/expansion-convergence", lambda p: 1e-10 if p["depth"] >= 8 else 1e3),
])
def test_wrong_statements_fail(key, wrong):
    assert run_check(dataclasses.replace(CHECKS[key], symbolic=wrong), seed=0).status == "fail"
