"""The examples run end to end at small size and write what they promise."""

import csv
import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ngn_stepsize_sensitivity_writes_png_and_csv(tmp_path):
    module = _load("ngn_stepsize_sensitivity")
    module.main(["--out", str(tmp_path), "--steps", "60", "--seeds", "2"])
    rows = list(csv.DictReader(open(tmp_path / "ngn_stepsize_sensitivity.csv")))
    assert len(rows) == 2 * len(module.OPTIMIZERS) * 13 * 2
    assert (tmp_path / "ngn_stepsize_sensitivity.png").stat().st_size > 10_000
    ngn_rows = [r for r in rows if r["optimizer"] == "NGN (sigma)"]
    assert not any(r["diverged"] == "True" for r in ngn_rows)      # NGN never diverges (N2)


def test_ngn_sweep_spec_runs_and_draws_its_figure(tmp_path):
    """The shipped spec, shrunk (two step sizes, one seed) and pointed at a temporary store."""
    import re

    from lemmata.proofs_checks import cli

    text = (ROOT / "examples" / "ngn_sweep.toml").read_text()
    text = text.replace('"../out/ngn_sweep.sqlite"', repr(str(tmp_path / "s.sqlite")).replace("'", '"'))
    text = text.replace('"../out/ngn_sweep.png"', repr(str(tmp_path / "f.png")).replace("'", '"'))
    text = re.sub(r"step_times_L = \[.*\]", "step_times_L = [0.1, 1000.0]", text)
    text = text.replace("seeds = 3", f"seeds = 1\nsearch_path = [{str(ROOT / 'examples')!r}]".replace("'", '"'))
    spec = tmp_path / "ngn_sweep.toml"
    spec.write_text(text)
    assert cli.main(["study", str(spec), "--export", str(tmp_path / "r.csv"), "--no-progress"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert len(rows) == 2 * 5 * 2
    assert (tmp_path / "f.png").stat().st_size > 10_000
    sgd_big = [r for r in rows if r["optimizer"] == "sgd" and float(r["step_times_L"]) == 1000.0
               and r["problem"] == "least squares"]
    assert sgd_big[0]["diverged"] == "True"


def test_curse_of_memory_example(tmp_path):
    rows = _load("curse_of_memory").main(["--out", str(tmp_path), "--paths", "2000"])
    assert (tmp_path / "curse_of_memory.png").stat().st_size > 10_000
    assert len(rows) == 4 * 3 * 5
    # every Monte Carlo point sits within 5 standard errors of its closed form (60 points)
    assert max(abs(r["z_score"]) for r in rows) < 5


def test_reconstruction_example(tmp_path):
    rows = _load("reconstruction").main(["--out", str(tmp_path)])
    assert (tmp_path / "reconstruction.png").stat().st_size > 10_000
    roots = [r for r in rows if r["panel"] == "error" and r["family"] == "roots of unity"]
    assert max(r["error"] for r in roots) < 1e-12


def test_logistic_bifurcation_example(tmp_path):
    out = _load("logistic_bifurcation").main(["--out", str(tmp_path), "--n-eta", "120", "--grid", "30"])
    assert (tmp_path / "logistic_bifurcation.png").stat().st_size > 10_000
    assert any(c.period == 2 and c.stable for c in out["cycles_1d"])
    fractions = out["basins"]["fractions"]
    assert fractions["diverged"] == 0 and fractions["attractor_1"] > 0     # the 2-D cycle has a basin


def test_minimax_sde_example(tmp_path):
    rows = _load("minimax_sde").main(["--out", str(tmp_path), "--paths", "400"])
    assert (tmp_path / "minimax_sde.png").stat().st_size > 10_000
    fig1 = [r for r in rows if r["panel"] == "fig1" and r["k"] > 0]
    # discrete and SDE curves agree to within a factor 1.5 everywhere (eta = 0.01, 400 paths)
    assert all(0.66 < r["discrete"] / r["sde"] < 1.5 for r in fig1)


def test_memory_sweep_spec_runs(tmp_path):
    """The shipped curse-of-memory spec, shrunk and pointed at a temporary store."""
    import re

    from lemmata.proofs_checks import cli

    text = (ROOT / "examples" / "memory_sweep.toml").read_text()
    text = text.replace('"../out/memory_sweep.sqlite"', '"' + str(tmp_path / "s.sqlite") + '"')
    text = text.replace('"../out/memory_sweep.png"', '"' + str(tmp_path / "f.png") + '"')
    text = re.sub(r"lam = \[.*\]", "lam = [0.5, 0.8]", text)
    text = text.replace("seeds = 3", 'seeds = 2\nsearch_path = ["' + str(ROOT / "examples") + '"]')
    spec = tmp_path / "memory.toml"
    spec.write_text(text)
    assert cli.main(["study", str(spec), "--export", str(tmp_path / "r.csv"), "--no-progress"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert len(rows) == 2 * 3 * 2 * 2
    # Monte Carlo within 5 standard errors of the closed forms on every row (24 rows, 2 moments)
    assert max(abs(float(r["E_h2_z"])) for r in rows) < 5
    assert (tmp_path / "f.png").stat().st_size > 10_000


@pytest.mark.torch
def test_gred_long_range_example(tmp_path):
    pytest.importorskip("torch")
    rows = _load("gred_long_range").main(["--out", str(tmp_path), "--distances", "3", "--steps", "200"])
    acc = {r["model"]: r["accuracy"] for r in rows}
    for r in rows:          # the figure's error bars: a 95% Wilson interval around each accuracy
        assert r["ci95_low"] <= r["accuracy"] <= r["ci95_high"] and r["n_test"] == 2000
    assert set(next(csv.DictReader(open(tmp_path / "gred_long_range.csv")))) >= {"ci95_low", "ci95_high"}
    assert acc["GRED, K = k"] > 0.95 and acc["MPNN, k layers"] > 0.95
    assert acc["GRED, K = 1"] < 0.6 and acc["MPNN, k - 1 layers"] < 0.6     # blind to distance k


def test_selective_ssm_signatures_example(tmp_path):
    rows = _load("selective_ssm_signatures").main(["--out", str(tmp_path), "--paths", "600", "--widths", "16", "64",
                                                   "--reps", "8"])
    assert (tmp_path / "selective_ssm_signatures.png").stat().st_size > 10_000
    assert len(list(csv.DictReader(open(tmp_path / "selective_ssm_signatures.csv")))) == len(rows)
    toy = {(r["task"], r["model"], r["N"]): r["value"] for r in rows if r["panel"] == "toy"}
    # the labels are linear in the depth-3 signature of omega = [t, X]: that readout is exact
    assert toy[("area", "signature depth 3", 39)] < 1e-6 and toy[("volume", "signature depth 3", 84)] < 1e-6
    # the area is within reach of diagonal transitions already at N = 64
    assert toy[("area", "diagonal", 64)] < 0.1


def test_mup_sharpness_example(tmp_path):
    """The muP / NTP width study at toy size (three widths, two rates, a quarter epoch)."""
    summary = _load("mup_sharpness").main(["--out", str(tmp_path), "--widths", "16", "32", "64", "--etas", "4", "16",
                                           "--epochs", "0.25", "--eta-track", "16"])
    rows = list(csv.DictReader(open(tmp_path / "mup_sharpness.csv")))
    assert len(rows) == 2 * 3 * 2
    assert (tmp_path / "mup_sharpness.png").stat().st_size > 10_000
    # at the base width 64 muP and NTP are the same network: identical losses
    mup = {r["eta"]: r["loss"] for r in rows if r["scheme"] == "mup" and r["width"] == "64"}
    ntp = {r["eta"]: r["loss"] for r in rows if r["scheme"] == "ntp" and r["width"] == "64"}
    assert mup == ntp
    assert set(summary) == {"mup", "ntp"}


def test_mup_transfer_spec_runs(tmp_path):
    """The shipped study spec, shrunk (two widths, one rate, a short run) and pointed at a temporary store."""
    import re

    from lemmata.proofs_checks import cli

    text = (ROOT / "examples" / "mup_transfer.toml").read_text()
    text = text.replace('"../out/mup_transfer.sqlite"', repr(str(tmp_path / "s.sqlite")).replace("'", '"'))
    text = text.replace('"../out/mup_transfer.png"', repr(str(tmp_path / "f.png")).replace("'", '"'))
    text = re.sub(r"width = \[.*\]", "width = [16, 32]", text)
    text = re.sub(r"eta = \[.*\]", "eta = [8.0]\nepochs = [0.25]\nn_snapshots = [1]", text)
    text = text.replace("seeds = 1", f"seeds = 1\nsearch_path = [{str(ROOT / 'examples')!r}]".replace("'", '"'))
    spec = tmp_path / "mup_transfer.toml"
    spec.write_text(text)
    assert cli.main(["study", str(spec), "--export", str(tmp_path / "r.csv"), "--no-progress"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert len(rows) == 2 * 2
    assert all(float(r["loss"]) < 2.5 for r in rows)
def test_bifurcation_continuation_example(tmp_path):
    result = _load("bifurcation_continuation").main(["--out", str(tmp_path), "--max-period", "16"])
    assert (tmp_path / "bifurcation_continuation.png").stat().st_size > 20_000
    assert len(list(csv.DictReader(open(tmp_path / "bifurcation_continuation_events.csv")))) >= 5
    flips = [f.eta for f in result["cascade"].flips]
    assert abs(flips[0] - 3) < 1e-10 and abs(flips[1] - (1 + 6 ** 0.5)) < 1e-10   # closed forms
    data = result["data"]
    assert abs(result["wall"].flips[0].eta * data.lam - 2) < 1e-10                  # L1: eta = 2/lambda
    fold = result["fold"].events[0]
    assert fold.kind == "fold" and 1 < fold.eta * data.lam < 1.6                    # born below the target


def test_continue_cli_specs(tmp_path):
    from lemmata.proofs_checks import cli

    for name in ("continue_wall", "continue_delayed_logistic"):
        assert cli.main(["continue", str(ROOT / "examples" / f"{name}.toml"), "--out", str(tmp_path)]) == 0
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    events = list(csv.DictReader(open(tmp_path / "continue_delayed_logistic_events.csv")))
    # the delayed logistic map's Neimark-Sacker point is at r = 2 exactly
    assert events[0]["kind"] == "neimark-sacker" and abs(float(events[0]["r"]) - 2) < 1e-10
    wall = list(csv.DictReader(open(tmp_path / "continue_wall_events.csv")))
    assert abs(float(wall[0]["eta_lambda"]) - 2) < 1e-10
def test_sde_convergence_example(tmp_path):
    rows = _load("sde_convergence").main(["--out", str(tmp_path), "--paths", "2000", "--weak-paths", "20000",
                                          "--targets", "1e-2"])
    assert (tmp_path / "sde_convergence.png").stat().st_size > 20_000
    assert (tmp_path / "sde_convergence.csv").exists()
    strong = {(r["method"], r["problem"]): r for r in rows if r["panel"] == "strong"}
    # Milstein on GBM is strong order 1 (Kloeden & Platen 10.3): its fitted slope within 0.2
    assert abs(strong[("milstein", "gbm")]["order"] - 1.0) < 0.2
    assert len([r for r in rows if r["panel"] == "work-precision"]) == 3
def test_dsf_compare_example(tmp_path):
    rows = _load("dsf_compare").main(["--out", str(tmp_path), "--L", "12", "--max-order", "6"])
    assert (tmp_path / "dsf_compare.png").stat().st_size > 10_000
    assert len(list(csv.DictReader(open(tmp_path / "dsf_compare.csv")))) == len(rows) == 10 + 7 + 1
    taylor = [r["error"] for r in rows if r["panel"] == "softmax_error" and r["P"] is not None]
    # the Taylor error falls with the order from P = 1 on (logits bounded by 1) and is < 1e-4 at P = 6
    assert all(b < a for a, b in zip(taylor[1:], taylor[2:])) and taylor[-1] < 1e-4


@pytest.mark.torch
def test_dsf_mqar_spec_runs(tmp_path):
    """The shipped MQAR spec, shrunk (two models, a few steps, one seed) on a temporary store."""
    import re

    pytest.importorskip("torch")
    from lemmata.proofs_checks import cli

    text = (ROOT / "examples" / "dsf_mqar.toml").read_text()
    text = text.replace('"../out/dsf_mqar.sqlite"', '"' + str(tmp_path / "s.sqlite") + '"')
    text = text.replace('"../out/dsf_mqar.png"', '"' + str(tmp_path / "f.png") + '"')
    for key, value in (("model", '["linear", "ssd"]'), ("n", "[4]"), ("d", "[8]"), ("lr", "[0.003]"),
                       ("L", "[16]"), ("n_kv", "[2]"), ("steps", "[3]")):
        text = re.sub(rf"^{key} = \[.*\]$", f"{key} = {value}", text, flags=re.M)
    text = text.replace("seeds = 3", 'seeds = 1\nsearch_path = ["' + str(ROOT / "examples") + '"]')
    spec = tmp_path / "mqar.toml"
    spec.write_text(text)
    assert cli.main(["study", str(spec), "--export", str(tmp_path / "r.csv"), "--no-progress"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert len(rows) == 2 and all(0.0 <= float(r["accuracy"]) <= 1.0 for r in rows)
    assert (tmp_path / "f.png").stat().st_size > 5_000


@pytest.mark.torch
def test_fewshot_transfer_example(tmp_path, monkeypatch):
    """The CPU-scale proxy of arXiv:2403.10696 at toy size (1-epoch pretraining into a temporary
    cache, 1- and 2-shot, 2 seeds): the table is complete, the few-shot sets have n C images, and
    the figure and statistics are written."""
    pytest.importorskip("torch")
    monkeypatch.setenv("LEMMATA_CACHE_DIR", str(tmp_path / "cache"))
    out = _load("fewshot_transfer").main(["--out", str(tmp_path), "--budgets", "1", "2", "--seeds", "2",
                                          "--vp-epochs", "1", "--pretrain-epochs", "1", "--pretrain-per-class", "2",
                                          "--n-train", "4", "--n-boot", "200", "--quiet"])
    rows = list(csv.DictReader(open(tmp_path / "fewshot_transfer.csv")))
    assert len(rows) == 2 * 3 * 1 * 2 * 2 * 2
    assert all(int(r["n_train"]) == 10 * int(r["budget"]) for r in rows)
    assert all(0.0 <= float(r["accuracy"]) <= 1.0 for r in rows)
    assert (tmp_path / "fewshot_transfer.png").stat().st_size > 10_000
    stats = out["stats"]["vim"]
    assert stats.n_models == 3 and stats.critical_r > 0.99          # |r|_crit with 3 models at 5 %
    assert set(out["summary"]) >= {"LP_vim_minus_vit", "VP_vim_minus_vit", "gap_vs_scale_vim"}


@pytest.mark.torch
def test_fewshot_transfer_spec_runs(tmp_path, monkeypatch):
    """The shipped study spec, shrunk (tiny sizes, 1 shot, 1 seed, 1-epoch pretraining)."""
    import re

    pytest.importorskip("torch")
    from lemmata.proofs_checks import cli

    monkeypatch.setenv("LEMMATA_CACHE_DIR", str(tmp_path / "cache"))
    text = (ROOT / "examples" / "fewshot_transfer.toml").read_text()
    text = text.replace('"../out/fewshot_transfer.sqlite"', '"' + str(tmp_path / "s.sqlite") + '"')
    text = text.replace('"../out/fewshot_transfer_study.png"', '"' + str(tmp_path / "f.png") + '"')
    text = re.sub(r"^size = \[.*\]", 'size = ["t"]', text, flags=re.M)
    text = re.sub(r"^budget = \[.*\]", "budget = [1]\npretrain_epochs = [1]\npretrain_per_class = [2]\n"
                  "vp_epochs = [1]", text, flags=re.M)
    text = text.replace("seeds = 3", 'seeds = 1\nsearch_path = ["' + str(ROOT / "examples") + '"]')
    spec = tmp_path / "fewshot.toml"
    spec.write_text(text)
    assert cli.main(["study", str(spec), "--export", str(tmp_path / "r.csv"), "--no-progress"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert len(rows) == 2 * 2 and {r["model"] for r in rows} == {"vim-t", "vit-t"}
    assert (tmp_path / "f.png").stat().st_size > 10_000
