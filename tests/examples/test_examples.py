"""The examples run end to end at small size and write what they promise."""

import csv
import importlib.util
import pathlib

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
