import dataclasses

import pytest

from lemmata.proofs_checks import catalogue, run_check

CHECKS = {c.key: c for c in catalogue.load_checks(["2312.01538"])}


@pytest.mark.parametrize("key", sorted(CHECKS))
def test_checks_pass(key):
    report = run_check(CHECKS[key], seed=0)
    assert report.status == "pass", [p for p in report.points if p.status != "pass"][:2]


@pytest.mark.parametrize("key,wrong", [
    ("2312.01538/normalised-gain", lambda p: 1 - p["r"] ** (2 * p["K"])),       # off by one hop
    # real nodes counted like complex ones in the real-stacked readout
    ("2312.01538/hop-encoder-rank", lambda p: float(min(2 * p["N"] if p["stack"] == "real" else p["N"],
                                                          (p["K"] + 1) * p["d"]))),
])
def test_wrong_statements_fail(key, wrong):
    assert run_check(dataclasses.replace(CHECKS[key], symbolic=wrong), seed=0).status == "fail"
