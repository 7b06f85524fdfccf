"""The curse-of-memory and universality catalogues pass, and fail against wrong closed forms."""

import dataclasses
import math

import pytest

from lemmata.proofs_checks import catalogue, run_check

CHECKS = {c.key: c for c in catalogue.load_checks(["2405.21064", "2307.11888"])}
FAST = sorted(k for k, c in CHECKS.items() if c.cost == "fast")


@pytest.mark.parametrize("key", FAST)
def test_fast_checks_pass(key):
    report = run_check(CHECKS[key], seed=0)
    assert report.status == "pass", [p for p in report.points if p.status != "pass"][:2]


def _wrong_kernel(point):
    # the form of the official notebook for S that is exact only at rho in {0, 1} is not what is
    # tested here; this is K without the rho^2 ab term of the numerator
    a = complex(point["a_re"], point["a_im"])
    b = complex(point["b_re"], point["b_im"])
    rho = point["rho"]
    value = 1 / ((1 - a * b) * (1 - rho * a) * (1 - rho * b))
    return value.real if point["part"] == "re" else value.imag


@pytest.mark.parametrize("key,wrong", [
    ("2405.21064/stationary-kernel", _wrong_kernel),
    # the sensitivity exponent -2 instead of -3 (what normalising after differentiating suggests)
    ("2405.21064/memory-exponents", lambda p: -2.0),
    ("2405.21064/exp-parametrisation-limit", lambda p: 0.5 * (1 + p["rho"]) / (4 * (1 - p["rho"]))),
    ("2307.11888/radius-condition-number", lambda p: p["r"] ** -p["L"]),
    ("2307.11888/real-nodes-ill-conditioned", lambda p: math.log(2.0)),
])
def test_wrong_closed_forms_fail(key, wrong):
    assert run_check(dataclasses.replace(CHECKS[key], symbolic=wrong), seed=0).status == "fail"


def test_monte_carlo_detects_a_missing_normalisation_cross_term():
    # the official notebook multiplies the unnormalised sensitivity by gamma^2, dropping the
    # gamma' cross terms: (1 + lam^2)/(1 - lam^2)^2 for white noise instead of 1/(1 - lam^2)^2
    check = CHECKS["2405.21064/moments-monte-carlo"]
    points = [p for p in check.points if p["normalization"] == "l2" and p["moment"] == "E_dh2"
              and p["rho"] == 0.0]
    wrong = dataclasses.replace(
        check, points=[{**p, "parametrization": "exp"} for p in points],
        symbolic=lambda p: (p["lam"] * math.log(p["lam"])) ** 2 * (1 + p["lam"] ** 2) / (1 - p["lam"] ** 2) ** 2)
    assert run_check(wrong, seed=0).status == "fail"
