import dataclasses

import pytest

from lemmata.proofs_checks import catalogue, run_check

CHECKS = {c.key: c for c in catalogue.load_checks(["2402.12508"])}


# the convergence-harness checks hosted under this paper (2402.12508/harness-*) have their own test
@pytest.mark.parametrize("key", sorted(k for k, c in CHECKS.items() if c.cost == "fast" and "/harness-" not in k))
def test_fast_checks_pass(key):
    report = run_check(CHECKS[key], seed=0)
    assert report.status == "pass", [p for p in report.points if p.status != "pass"][:2]


@pytest.mark.parametrize("key,wrong", [
    # independent noise in the two SEG calls would give sigma^2 (I + rho^2 M M^T): a wrong law
    ("2402.12508/stationary-covariance", lambda p: 0.01 / 2 * (1 + p["rho"] ** 2 * p["lam"] ** 2)
     / (p["a"] + p["rho"] * (p["lam"] ** 2 - p["a"] ** 2)) if p["algorithm"] == "seg" else 0.01),
    ("2402.12508/extra-step-sizes", lambda p: 1 / (p["a"] - p["lam"]) if p["quantity"] == "rho_V"
     else (p["a"] ** 2 + p["lam"] ** 2) / (p["lam"] ** 2 - p["a"] ** 2)),
    ("2402.12508/weak-order", lambda p: float(p["order"]) + 1.0),
    ("2402.12508/sde-monte-carlo", lambda p: CHECKS["2402.12508/sde-monte-carlo"].symbolic(p) * 1.05),
])
def test_wrong_statements_fail(key, wrong):
    assert run_check(dataclasses.replace(CHECKS[key], symbolic=wrong), seed=0).status == "fail"
