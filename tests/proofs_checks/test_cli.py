"""The lemmata command, run in-process through main() and once as a real console script."""

import json
import shutil
import subprocess

import pytest

from lemmata.proofs_checks import catalogue, cli
from lemmata.proofs_checks.check import Check, Exact


def test_check_one_key_writes_the_json_schema(tmp_path, capsys):
    path = tmp_path / "r.json"
    md = tmp_path / "r.md"
    code = cli.main(["check", "--key", "2407.04358/lm-identity", "--json", str(path),
                     "--markdown", str(md), "--seed", "2"])
    assert code == 0
    document = json.loads(path.read_text())
    assert document["seed"] == 2 and document["lemmata_version"]
    (entry,) = document["checks"]
    assert entry["key"] == "2407.04358/lm-identity" and entry["status"] == "pass"
    assert entry["paper"] == "2407.04358"
    assert {"params", "symbolic", "numeric", "stderr", "gap", "bound"} <= set(entry["points"][0])
    assert "lm-identity" in capsys.readouterr().out
    assert "| `2407.04358/lm-identity` | pass |" in md.read_text()


def test_check_exits_1_when_a_check_fails(monkeypatch, capsys):
    failing = Check("2407.04358/always-wrong", "1 == 2", "test", lambda p: 1.0, lambda p, c: 2.0,
                    [{"x": 0}], Exact())
    monkeypatch.setattr(cli, "load_checks", lambda papers=None: [failing])
    assert cli.main(["check"]) == 1
    assert "fail" in capsys.readouterr().out


def test_list_and_selection(capsys):
    assert cli.main(["check", "--list", "--paper", "2407.04358"]) == 0
    out = capsys.readouterr().out
    assert "2407.04358/stepsize-bounds" in out and "[fast]" in out
    checks = catalogue.load_checks()
    assert len(catalogue.select(checks, full=True)) >= len(catalogue.select(checks))
    assert [c.key for c in catalogue.select(checks, key="2407.04358/kacz*")] == ["2407.04358/kaczmarz"]
    assert cli.main(["check", "--key", "nope/none"]) == 2
    assert "matches no check" in capsys.readouterr().err


def test_derive_json_contract(capsys):
    assert cli.main(["derive", "ngn", "--at", "f=1", "g_1=2", "sigma=1/2", "L=3", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["topic"] == "ngn"
    assert document["symbols"] == ["f", "g_1", "sigma", "L"]
    results = document["results"]
    assert set(results) == {"step", "stepsize", "stepsize_lower_bound", "stepsize_upper_bound"}
    # reference: gamma = sigma / (1 + sigma g^2 / (2 f)) = 0.5 / (1 + 0.5 * 4 / 2) = 1/4
    assert results["stepsize"]["value"] == pytest.approx(0.25, rel=1e-15)
    assert results["step"]["value"] == [pytest.approx(-0.5, rel=1e-15)]     # a column prints flat
    assert results["stepsize_lower_bound"]["value"] == pytest.approx(0.5 / 2.5, rel=1e-15)
    assert results["stepsize"]["latex"].startswith("\\frac")


def test_derive_without_point_has_null_values_and_latex(capsys):
    assert cli.main(["derive", "ngn", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"]["stepsize"]["value"] is None
    assert cli.main(["derive", "ngn", "--latex", "--dim", "2"]) == 0
    out = capsys.readouterr().out
    assert "\\arg\\min" in out and "\\begin{aligned}" in out and "g_{2}" in out


def test_derive_bad_input(capsys):
    assert cli.main(["derive", "ngn", "--at", "foo=1"]) == 2
    assert "`--at` names 'foo'" in capsys.readouterr().err
    assert cli.main(["derive", "ngn", "--at", "sigma"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    assert cli.main(["derive", "ngn", "--at", "sigma=abc"]) == 2
    assert "must be a number" in capsys.readouterr().err
    assert cli.main(["derive", "ngn", "--dim", "0"]) == 2
    assert "`--dim` must be a positive integer" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("lemmata") is None, reason="console script not installed")
def test_console_script_runs():
    import os

    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    result = subprocess.run(["lemmata", "derive", "ngn"], capture_output=True, text=True,
                            encoding="utf-8", env=env)
    # the closed form gamma <= sigma, pretty-printed (sigma as its Greek letter)
    assert result.returncode == 0 and "\nstepsize_upper_bound = σ\n" in result.stdout


def test_derive_memory_contract(capsys):
    assert cli.main(["derive", "memory", "--at", "lam=0.9", "rho=0.5", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    results = document["results"]
    assert {"E_h2", "E_dh2"} <= set(results)
    # reference: (1 + rho lam) / ((1 - rho lam)(1 - lam^2)) from the paper brief
    assert results["E_h2"]["value"] == pytest.approx(1.45 / (0.55 * 0.19), rel=1e-14)
    assert results["E_dh2_exponent"]["value"] == -3
    assert cli.main(["derive", "memory", "--normalization", "l2", "--parametrization", "optimal",
                     "--at", "lam=0.99", "rho=0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"]["E_dh2"]["value"] == pytest.approx(1.0)


def test_derive_reconstruction_contract(capsys):
    assert cli.main(["derive", "reconstruction", "--nodes", "radius", "--L", "16", "--at", "r=0.9",
                     "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert results["condition_number"]["value"] == pytest.approx(0.9 ** -15, rel=1e-14)
    assert cli.main(["derive", "reconstruction", "--nodes", "roots", "--L", "8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"]["condition_number"]["value"] == 1.0
    assert cli.main(["derive", "reconstruction", "--nodes", "real", "--L", "0"]) == 2
    assert "`--L` must be a positive integer" in capsys.readouterr().err


def test_derive_logistic_contract(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("x1,y\n1.0,1\n2.0,1\n-0.5,1\n1.5,-1\n0.25,-1\n")
    assert cli.main(["derive", "logistic", "--data", str(data), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert {"minimizer", "lambda", "eta_global_1d", "eta_critical"} <= set(results)
    lam = results["lambda"]["value"]
    assert results["eta_critical"]["value"] == pytest.approx(2 / lam, rel=1e-14)
    assert results["eta_global_1d"]["value"] == pytest.approx(1 / lam, rel=1e-14)
    # reference: f'(w*) = 0 checked directly at the printed minimiser
    import math
    w = results["minimizer"]["value"][0]
    z = [1.0, 2.0, -0.5, -1.5, -0.25]
    assert abs(sum(-zi / (1 + math.exp(zi * w)) for zi in z) / 5) < 1e-14
    separable = tmp_path / "s.csv"
    separable.write_text("x1,y\n1.0,1\n2.0,1\n")
    assert cli.main(["derive", "logistic", "--data", str(separable)]) == 2
    assert "separable" in capsys.readouterr().err
    bad = tmp_path / "b.csv"
    bad.write_text("x1,y\n1.0,2\n")
    assert cli.main(["derive", "logistic", "--data", str(bad)]) == 2
    assert "must be -1 or +1" in capsys.readouterr().err
    empty = tmp_path / "e.csv"
    empty.write_text("x1,y\n")
    assert cli.main(["derive", "logistic", "--data", str(empty)]) == 2
    assert "no samples" in capsys.readouterr().err


def test_derive_sde_contract(capsys):
    assert cli.main(["derive", "sde", "--optimizer", "seg", "--game", "lam*x*y", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["topic"] == "sde" and document["symbols"][:2] == ["x", "y"]
    assert {"drift", "diffusion"} <= set(document["results"])
    import sympy as sp
    drift = sp.sympify(document["results"]["drift"]["expr"])
    x, y, lam, rho = sp.symbols("x y lam rho")
    # the brief: SEG drift on f = lam x y is -F + rho grad F F = (-lam y - rho lam^2 x, lam x - rho lam^2 y)
    assert sp.simplify(drift - sp.Matrix([-lam * y - rho * lam ** 2 * x, lam * x - rho * lam ** 2 * y])) == sp.zeros(2, 1)
    assert cli.main(["derive", "sde", "--optimizer", "sgd", "--game", "x**2/2", "--noise", "multiplicative"]) == 2
    assert "minimax optimisers only" in capsys.readouterr().err
    assert cli.main(["derive", "sde", "--optimizer", "seg", "--game", "x*y +", "--json"]) == 2
    assert "`--game` must be an accepted expression" in capsys.readouterr().err


def test_paper_selection_includes_a_hosted_follow_up():
    chosen = catalogue.select(catalogue.load_checks(), paper="2406.05033")
    keys = {c.key for c in chosen}
    assert "2507.11228/equal-magnitude-1d" in keys
    assert all(k.startswith(("2406.05033/", "2507.11228/")) for k in keys)


def test_derive_refuses_points_outside_the_assumptions(capsys):
    assert cli.main(["derive", "memory", "--at", "lam=1.5", "rho=0.5", "--json"]) == 2
    assert "|lambda| < 1" in capsys.readouterr().err
    assert cli.main(["derive", "memory", "--at", "lam=0.5", "rho=1.5"]) == 2
    assert "rho lies in [0, 1]" in capsys.readouterr().err


def test_derive_signature_contract(capsys):
    assert cli.main(["derive", "signature", "--points", "0,0;1,0;1,2", "--depth", "2", "--log", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    # reference: increments (1, 0) then (0, 2): S = (1, 2, 1/2, 2, 0, 2) in the order 1, 2, 11, 12, 21, 22
    assert results["signature"]["exact"] == ["1", "2", "1/2", "2", "0", "2"]
    assert results["logsignature"]["exact"] == ["1", "2", "1"]     # Levy area 1 on [1, 2]
    # a one-point path has length zero: its signature is the trivial one, (0, ..., 0) after the 1
    assert cli.main(["derive", "signature", "--points", "3,4", "--depth", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"]["signature"]["exact"] == ["0"] * 6
    assert cli.main(["derive", "signature", "--points", "0,0;1", "--depth", "2"]) == 2
    assert "point 1 has 1" in capsys.readouterr().err
    assert cli.main(["derive", "signature", "--points", "a,b;c,d", "--depth", "2"]) == 2
    assert "`--points` must look like" in capsys.readouterr().err


def test_output_paths_are_checked_before_any_check_runs(tmp_path, monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(cli, "run_check", lambda *a, **k: ran.append(a))
    for option, path, words in (("--json", tmp_path / "missing" / "r.json", "does not exist"),
                                ("--markdown", tmp_path, "is a directory")):
        assert cli.main(["check", "--paper", "2407.04358", option, str(path)]) == 2
        err = capsys.readouterr().err
        assert f"lemmata: error: cannot write {option}" in err and words in err
    assert ran == [] and not (tmp_path / "missing").exists()
    assert list(tmp_path.iterdir()) == []          # the write test leaves nothing behind


def test_missing_backend_exits_2_unless_allow_skip_and_skips_print_their_reason(monkeypatch, capsys):
    from lemmata.analysis.errors import BackendUnavailableError
    from lemmata.numerics import backends

    def unavailable(name):
        raise BackendUnavailableError(f"backend {name!r} is unavailable: no device here.")

    def numeric(point, ctx):
        backends.get(ctx.backend)
        return 1.0

    check = Check("2407.04358/needs-gpu", "1 == 1", "test", lambda p: 1.0, numeric, [{"x": 0}], Exact())
    monkeypatch.setattr(backends, "get", unavailable)
    monkeypatch.setattr(cli, "load_checks", lambda papers=None: [check])
    assert cli.main(["check", "--backend", "cupy"]) == 2
    assert "`--backend cupy`" in capsys.readouterr().err
    assert cli.main(["check", "--backend", "cupy", "--allow-skip"]) == 0
    out = capsys.readouterr().out
    assert "2407.04358/needs-gpu skipped: backend 'cupy' is unavailable: no device here." in out


def test_values_that_cannot_be_given_say_why(capsys):
    assert cli.main(["derive", "ngn", "--json"]) == 0
    stepsize = json.loads(capsys.readouterr().out)["results"]["stepsize"]
    assert stepsize["value"] is None and stepsize["why"] == "no --at point was given"
    assert cli.main(["derive", "ngn", "--at", "f=1", "g_1=2", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert results["stepsize"]["why"] == "no value for ['sigma']"
    assert results["stepsize_lower_bound"]["why"] == "no value for ['L', 'sigma']"
    assert cli.main(["derive", "ngn", "--at", "f=1", "g_1=2", "sigma=1/2", "L=3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"]["stepsize"]["why"] is None
    assert cli.main(["derive", "ngn", "--at", "f=1", "g_1=2"]) == 0
    out = capsys.readouterr().out
    assert "\nstepsize_upper_bound = σ\n  no value: no value for ['sigma']" in out
    assert "  no value: no value for ['L', 'sigma']" in out
