"""The continuation checks are in the catalogue under both papers, pass (the NGN one here; the
2406.05033 fast ones run in test_logistic_catalogue), and fail against wrong statements."""

import dataclasses

import pytest

from lemmata.proofs_checks import catalogue, run_check

ALL = {c.key: c for c in catalogue.load_checks()}


def test_selected_by_paper():
    logistic = {c.key for c in catalogue.select(catalogue.load_checks(), paper="2406.05033", full=True)}
    assert {"2406.05033/continuation-logistic-cascade-flips", "2406.05033/continuation-wall-fold-1d",
            "2406.05033/continuation-wall-fold-2d"} <= logistic
    ngn = {c.key for c in catalogue.select(catalogue.load_checks(), paper="2407.04358")}
    assert "2407.04358/continuation-offset-quadratic-cycle-birth" in ngn


def test_ngn_birth_passes():
    report = run_check(ALL["2407.04358/continuation-offset-quadratic-cycle-birth"], seed=0)
    assert report.status == "pass", [p for p in report.points if p.status != "pass"]


@pytest.mark.parametrize("key,wrong", [
    ("2406.05033/continuation-flip-at-critical-step", lambda p: 2.0 + 1e-8),     # not exactly 2
    ("2406.05033/continuation-logistic-cascade-flips", lambda p: 3.0 + 1e-9 * p["flip"]),
    ("2406.05033/continuation-feigenbaum-ratio", lambda p: 4.6692 + 1e-4),
    ("2407.04358/continuation-offset-quadratic-cycle-birth", lambda p: 2.1 if p["quantity"] == "flip" else 0.0),
])
def test_wrong_statements_fail(key, wrong):
    assert run_check(dataclasses.replace(ALL[key], symbolic=wrong), seed=0).status == "fail"


def test_the_gd_flip_is_checked_on_unseen_data():
    # another seed draws other data sets: the flip is still at eta lambda = 2
    report = run_check(ALL["2406.05033/continuation-flip-at-critical-step"], seed=7)
    assert report.status == "pass"
