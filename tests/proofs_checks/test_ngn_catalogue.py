"""The NGN catalogue passes, and its checks can fail: each is also run against a deliberately
wrong closed form (a check that cannot fail proves nothing)."""

import dataclasses

import pytest

from lemmata.proofs_checks import catalogue, run_check

CHECKS = {c.key: c for c in catalogue.load_checks(["2407.04358"])}
FAST = sorted(k for k, c in CHECKS.items() if c.cost == "fast")


@pytest.mark.parametrize("key", FAST)
def test_fast_checks_pass(key):
    report = run_check(CHECKS[key], seed=0, backend="numba")
    assert report.status == "pass", [p for p in report.points if p.status != "pass"][:2]


@pytest.mark.parametrize("key,wrong", [
    # the lower stepsize bound with sigma L replaced by sigma L / 2 (too high a bound)
    ("2407.04358/lower-bound-attained", lambda p: p["sigma_L"] / p["L"] / (1 + p["sigma_L"] / 2)),
    # F1 contraction off by one: 1/(2 + sigma L)
    ("2407.04358/quadratic-contraction", lambda p: 1 / (2 + p["sigma_L"])),
    # the 2-cycle amplitude with (sigma L - 1) in place of (sigma L - 2)
    ("2407.04358/offset-quadratic-cycle",
     lambda p: 0.0 if p["sigma_L"] <= 2 else (2 * 0.5 * (p["sigma_L"] - 1) / (2 * (p["sigma_L"] + 2))) ** 0.5),
    # the convex-rate bound divided by 1000 (the theorem does not hold for it)
    ("2407.04358/convex-rate", lambda p: CHECKS["2407.04358/convex-rate"].symbolic(p) / 1e3),
    # an O(sigma^2) neighbourhood
    ("2407.04358/neighbourhood-order", lambda p: 2.0),
])
def test_wrong_closed_forms_fail(key, wrong):
    check = dataclasses.replace(CHECKS[key], symbolic=wrong)
    assert run_check(check, seed=0).status == "fail"


def test_stepsize_bound_check_detects_a_wrong_optimiser(monkeypatch):
    # an NGN whose stepsize ignores the gradient (gamma = sigma): violates nothing in N1's upper
    # bound but breaks N2's step-length bound at large sigma
    from lemmata.numerics import optim
    from lemmata.proofs_checks.papers import ngn as module

    monkeypatch.setattr(optim, "ngn", lambda sigma, **kw: optim.sgd(sigma))
    module._sweep.cache_clear()
    try:
        assert run_check(CHECKS["2407.04358/bounded-steps"], seed=0).status == "fail"
    finally:
        module._sweep.cache_clear()     # drop the trajectories made with the wrong optimiser
