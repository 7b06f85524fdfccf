"""The check machinery: tolerance semantics, statuses, reports."""

import json

import pytest

from lemmata.analysis import AssumptionError, BackendUnavailableError
from lemmata.numerics.stats import Estimate
from lemmata.proofs_checks import Bound, Check, Exact, MonteCarlo, Order, run_check
from lemmata.proofs_checks.report import catalogue_report, format_table, to_markdown


def make(numeric, symbolic=lambda p: 1.0, tolerance=Exact(1e-12), points=({"a": 1},), **kw):
    return Check(key="0000.00000/demo", statement="demo", source="test", symbolic=symbolic,
                 numeric=numeric, points=list(points), tolerance=tolerance, **kw)


def test_exact_pass_and_fail():
    assert run_check(make(lambda p, c: 1.0 + 1e-13)).status == "pass"
    report = run_check(make(lambda p, c: 1.001))
    assert report.status == "fail"
    row = report.points[0]
    assert row.gap == pytest.approx(1e-3) and row.bound == pytest.approx(1e-12)


def test_monte_carlo_uses_the_standard_error():
    tol = MonteCarlo(n_sigma=4, bias=0.01)
    assert run_check(make(lambda p, c: Estimate(1.04, 0.01, 100), tolerance=tol)).status == "pass"
    assert run_check(make(lambda p, c: Estimate(1.06, 0.01, 100), tolerance=tol)).status == "fail"
    wide = MonteCarlo(n_sigma=4, max_stderr=0.001)
    assert run_check(make(lambda p, c: Estimate(1.0, 0.01, 100), tolerance=wide)).status == "inconclusive"
    assert run_check(make(lambda p, c: 1.0, tolerance=tol)).status == "error"   # no stderr


def test_order_and_bound():
    order = make(lambda p, c: Estimate(1.1, 0.02, 5), tolerance=Order(slack=0.2))
    assert run_check(order).status == "pass"
    assert run_check(make(lambda p, c: Estimate(1.5, 0.02, 5), tolerance=Order(0.2))).status == "fail"
    assert run_check(make(lambda p, c: Estimate(1.1, 0.5, 5), tolerance=Order(0.2))).status == "inconclusive"
    upper = Bound("upper", n_sigma=2)
    assert run_check(make(lambda p, c: Estimate(1.05, 0.03, 9), tolerance=upper)).status == "pass"
    assert run_check(make(lambda p, c: Estimate(1.1, 0.03, 9), tolerance=upper)).status == "fail"
    assert run_check(make(lambda p, c: 0.5, tolerance=Bound("lower", n_sigma=0))).status == "fail"
    with pytest.raises(ValueError, match="`side`"):
        Bound("both")


def test_statuses_for_assumptions_errors_and_missing_backends():
    def violated(p, c):
        raise AssumptionError("sigma must be positive")

    def missing(p, c):
        raise BackendUnavailableError("no cupy")

    def broken(p, c):
        raise ZeroDivisionError("oops")

    assert run_check(make(violated)).status == "assumptions-violated"
    assert run_check(make(missing)).status == "skipped"
    report = run_check(make(broken))
    assert report.status == "error" and "ZeroDivisionError: oops" in report.message
    declared = make(lambda p, c: 1.0, assumptions=lambda p: ["a must be even"] if p["a"] % 2 else [])
    assert run_check(declared).status == "assumptions-violated"
    nan = run_check(make(lambda p, c: float("nan"), tolerance=Bound("upper", n_sigma=0)))
    assert nan.status == "fail"


def test_worst_point_aggregation_and_json_schema():
    check = make(lambda p, c: 1.0 + p["e"], points=[{"e": 0.0}, {"e": 1.0}, {"e": 1e-14}])
    report = run_check(check, seed=3)
    assert report.status == "fail"
    assert report.worst.params == {"e": 1.0}
    document = json.loads(json.dumps(catalogue_report([report], seed=3), allow_nan=False))
    assert set(document) >= {"lemmata_version", "seed", "checks"}
    entry = document["checks"][0]
    assert set(entry) >= {"key", "paper", "statement", "status", "points", "seconds"}
    assert set(entry["points"][0]) >= {"params", "symbolic", "numeric", "stderr", "gap", "bound"}
    assert entry["paper"] == "0000.00000"
    assert "0000.00000/demo" in format_table([report]) and "| `0000.00000/demo` |" in to_markdown([report], 3)


def test_check_declaration_is_validated():
    with pytest.raises(ValueError, match="`key` must look like"):
        Check("nokey", "s", "s", lambda p: 0, lambda p, c: 0, [{}], Exact())
    with pytest.raises(ValueError, match="at least one point"):
        make(lambda p, c: 1.0, points=[])
    with pytest.raises(ValueError, match="`cost`"):
        make(lambda p, c: 1.0, cost="medium")


def test_seed_sequence_depends_on_key_and_index_only():
    seen = {}

    def numeric(p, ctx):
        seen[(ctx.key, ctx.index)] = ctx.seed_sequence().generate_state(1)[0]
        return 1.0

    run_check(make(numeric, points=[{"a": 1}, {"a": 2}]), seed=4)
    first = dict(seen)
    run_check(make(numeric, points=[{"a": 1}, {"a": 2}]), seed=4)
    assert seen == first and len(set(first.values())) == 2
