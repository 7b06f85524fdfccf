import dataclasses

import pytest

from lemmata.proofs_checks import catalogue, run_check

CHECKS = {c.key: c for c in catalogue.load_checks(["2402.17457"])}
FAST = sorted(k for k, c in CHECKS.items() if c.cost == "fast")


@pytest.mark.parametrize("key", FAST)
def test_checks_pass(key):
    report = run_check(CHECKS[key], seed=0)
    assert report.status == "pass", [p for p in report.points if p.status != "pass"][:2]


@pytest.mark.parametrize("key,wrong", [
    # NTP sharpening as large as muP's (the limit 2 sqrt(1 + y^2) - 2): no, NTP does not sharpen
    ("2402.17457/two-layer-linear-progressive-sharpening",
     lambda p: 2 * (1 + p["y"] ** 2) ** 0.5 - 2 if p["scheme"] == "ntp" else 0.0),
    # the NTK frozen under NTP claimed to freeze at a rate faster than n^-1
    ("2402.17457/ntk-freezes-under-ntp", lambda p: -1.5),
    # muP and NTP claimed to differ by a full unit in exponent
    ("2402.17457/ntk-moves-under-mup", lambda p: 1.0),
])
def test_wrong_statements_fail(key, wrong):
    assert run_check(dataclasses.replace(CHECKS[key], symbolic=wrong), seed=0).status == "fail"


def test_slow_twins_exist():
    slow = {k for k, c in CHECKS.items() if c.cost == "slow"}
    for key in ("preconditioned-sharpness-width-exponent", "ntk-freezes-under-ntp", "ntk-moves-under-mup"):
        assert f"2402.17457/{key}-full" in slow
    assert "2402.17457/learning-rate-transfer-mup" in slow and "2402.17457/learning-rate-drift-ntp" in slow
