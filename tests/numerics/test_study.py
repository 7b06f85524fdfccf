"""Studies with real parts: a real SQLite file, a subprocess killed with SIGKILL mid-run, local
processes and a real Dask LocalCluster on loopback."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lemmata.analysis import LemmataError
from lemmata.numerics.study import Study, StoreError, load_spec
from lemmata.proofs_checks import cli

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def make(store, fn="study_tasks:noisy_square", grid=None, **kw):
    grid = grid if grid is not None else {"x": [1, 2, 3], "scale": [1.0, 10.0]}
    kw.setdefault("seeds", 2)
    kw.setdefault("version", "1")
    return Study(fn, grid, name=kw.pop("name", "demo"), store=store, search_path=[HERE], **kw)


def test_inline_run_stores_every_task_and_does_not_repeat(tmp_path):
    study = make(tmp_path / "s.sqlite")
    first = study.run(progress=False)
    assert (first.n_tasks, first.n_executed, first.n_errors) == (12, 12, 0)
    again = make(tmp_path / "s.sqlite").run(progress=False)
    assert again.n_executed == 0 and again.n_skipped == 12
    records = study.results()
    assert [(r["x"], r["scale"], r["seed"]) for r in records][:3] == [(1, 1.0, 0), (1, 1.0, 1), (1, 10.0, 0)]
    # reference: the task function called directly
    rng = np.random.default_rng(1)
    assert records[1]["y"] == 1 * 1 * 1.0 + rng.normal()
    assert records[1]["vec"] == [0, 1, 2]
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT task_id) FROM tasks").fetchone() == (12, 12)


def test_summary_is_mean_and_standard_error_over_seeds(tmp_path):
    study = make(tmp_path / "s.sqlite", seeds=5)
    study.run(progress=False)
    rows = study.summary(by=["x", "scale"])
    assert len(rows) == 6
    row = next(r for r in rows if r["x"] == 2 and r["scale"] == 10.0)
    ys = np.array([r["y"] for r in study.results() if r["x"] == 2 and r["scale"] == 10.0])
    assert row["n"] == 5 and row["y_mean"] == pytest.approx(ys.mean())
    assert row["y_stderr"] == pytest.approx(ys.std(ddof=1) / np.sqrt(5))
    with pytest.raises(ValueError, match="not parameters"):
        study.summary(by=["nope"])


def test_kill_minus_nine_then_resume_loses_and_repeats_nothing(tmp_path):
    store = tmp_path / "killed.sqlite"
    script = (f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(HERE)!r}]\n"
              "from lemmata.numerics.study import Study\n"
              f"Study('study_tasks:slow_square', {{'x': list(range(40))}}, seeds=1, name='kill', "
              f"store={str(store)!r}, version='1').run(progress=False)\n")
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 60
    done = 0
    while time.time() < deadline and done < 8:
        time.sleep(0.05)
        if store.exists():
            try:
                with sqlite3.connect(store, timeout=5) as db:
                    done = db.execute("SELECT COUNT(*) FROM tasks WHERE status='done'").fetchone()[0]
            except sqlite3.OperationalError:
                pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    study = Study("study_tasks:slow_square", {"x": list(range(40))}, seeds=1, name="kill",
                  store=store, version="1", search_path=[HERE])
    finished_before = 40 - len(study.pending())
    assert 8 <= finished_before < 40                     # it really was interrupted mid-run
    summary = study.run(progress=False)
    assert summary.n_executed == 40 - finished_before   # exactly the missing tasks ran
    uninterrupted = Study("study_tasks:slow_square", {"x": list(range(40))}, seeds=1, name="kill",
                          store=tmp_path / "whole.sqlite", version="1", search_path=[HERE])
    uninterrupted.run(progress=False)
    assert study.results() == uninterrupted.results()
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 40


def test_processes_executor_gives_the_inline_results(tmp_path):
    inline = make(tmp_path / "a.sqlite")
    inline.run(progress=False)
    pooled = make(tmp_path / "b.sqlite")
    assert pooled.run("processes", max_workers=2, progress=False).n_executed == 12
    assert pooled.results() == inline.results()


def test_dask_local_cluster_gives_the_inline_results(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    inline = make(tmp_path / "a.sqlite")
    inline.run(progress=False)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, host="127.0.0.1")
    try:
        with distributed.Client(cluster) as client:
            by_client = make(tmp_path / "b.sqlite")
            assert by_client.run("dask", scheduler=client, progress=False).n_executed == 12
            assert by_client.results() == inline.results()
        by_address = make(tmp_path / "c.sqlite")
        by_address.run("dask", scheduler=cluster.scheduler_address, progress=False)
        assert by_address.results() == inline.results()
    finally:
        cluster.close()


def test_failing_tasks_are_recorded_and_retried_only_on_request(tmp_path):
    study = make(tmp_path / "s.sqlite", fn="study_tasks:fails_at_two", grid={"x": [1, 2, 3]}, seeds=1)
    summary = study.run(progress=False)
    assert summary.n_errors == 1 and len(study.results()) == 2
    (error,) = study.errors()
    assert error["x"] == 2 and "RuntimeError: boom at two" in error["traceback"]
    assert study.run(progress=False).n_executed == 0
    assert study.run(progress=False, retry_errors=True).n_executed == 1
    bad = make(tmp_path / "t.sqlite", fn="study_tasks:not_a_dict", grid={"x": [1]}, seeds=1, name="t")
    bad.run(progress=False)
    assert "must return a dict" in bad.errors()[0]["traceback"]


def test_foreign_or_corrupted_store_is_refused_untouched(tmp_path):
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database at all" * 10)
    before = garbage.read_bytes()
    with pytest.raises(StoreError, match="not a SQLite file"):
        make(garbage)
    assert garbage.read_bytes() == before
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE customers (id INTEGER)")
    before = foreign.read_bytes()
    with pytest.raises(StoreError, match="something else"):
        make(foreign)
    assert foreign.read_bytes() == before
    make(tmp_path / "other.sqlite", name="first")
    with pytest.raises(StoreError, match="belongs to study 'first'"):
        make(tmp_path / "other.sqlite", name="second")


def test_new_code_version_is_refused_unless_asked_and_keeps_old_results(tmp_path):
    store = tmp_path / "s.sqlite"
    make(store).run(progress=False)
    with pytest.raises(StoreError, match="new_version=True"):
        make(store, version="2")
    study = make(store, version="2", new_version=True)
    assert len(study.pending()) == 12                   # nothing reused across versions
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM tasks WHERE version='1'").fetchone()[0] == 12


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="`executor` must be one of"):
        make(tmp_path / "a.sqlite").run("threads")
    with pytest.raises(ValueError, match=r"`grid\['x'\]` is an empty list"):
        make(tmp_path / "b.sqlite", grid={"x": []})
    with pytest.raises(ValueError, match="must not contain 'seed'"):
        make(tmp_path / "c.sqlite", grid={"seed": [1]})
    with pytest.raises(LemmataError, match="cannot import module 'no_such_module'"):
        make(tmp_path / "d.sqlite", fn="no_such_module:f")
    with pytest.raises(LemmataError, match="has no attribute 'missing'"):
        make(tmp_path / "e.sqlite", fn="study_tasks:missing")
    with pytest.raises(LemmataError, match="module:function"):
        make(tmp_path / "f.sqlite", fn="study_tasks")
    with pytest.raises(ValueError, match="`seeds` must be a positive count"):
        make(tmp_path / "g.sqlite", seeds=0)
    with pytest.raises(ValueError, match="only used with executor='dask'"):
        make(tmp_path / "h.sqlite").run("inline", scheduler="tcp://127.0.0.1:1")


def test_exports_and_plot(tmp_path):
    study = make(tmp_path / "s.sqlite")
    study.run(progress=False)
    csv_path = study.export(tmp_path / "r.csv")
    assert csv_path.read_text().splitlines()[0].startswith("x,scale,seed,y")
    assert len(study.to_pandas()) == 12
    fig = study.plot("y", "x", hue="scale", path=tmp_path / "fig.png", logy=False)
    assert (tmp_path / "fig.png").stat().st_size > 5_000 and len(fig.axes) == 1
    with pytest.raises(ValueError, match="`metric`"):
        study.plot("nope", "x")
    with pytest.raises(ValueError, match=".csv or .parquet"):
        study.export(tmp_path / "r.txt")


SPEC = """
[study]
name = "spec-demo"
function = "study_tasks:noisy_square"
store = "store.sqlite"
seeds = [0, 1]
version = "1"
search_path = [{here!r}]

[grid]
x = [1, 2]
scale = [1.0]

[figure]
path = "fig.png"
metric = "y"
x = "x"
hue = "scale"
"""


def test_cli_study_runs_resumes_and_exports(tmp_path, capsys):
    spec = tmp_path / "demo.toml"
    spec.write_text(SPEC.format(here=str(HERE)))
    assert cli.main(["study", str(spec), "--export", str(tmp_path / "out.csv"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "4 tasks run" in out and (tmp_path / "fig.png").exists()
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 5
    assert cli.main(["study", str(spec), "--resume", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "0 tasks run, 4 already finished" in captured.out and "resuming" in captured.err
    loaded = load_spec(spec)
    assert loaded.study.store_path == tmp_path / "store.sqlite"


def test_cli_study_bad_specs(tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text('[study]\nname = "x"\nstore = "s.sqlite"\n[grid]\nx = [1]\n')
    assert cli.main(["study", str(spec)]) == 2
    assert "missing ['function']" in capsys.readouterr().err
    spec.write_text('[study]\nname = "x"\nfunction = "nowhere:f"\nstore = "s.sqlite"\n[grid]\nx = [1]\n')
    assert cli.main(["study", str(spec)]) == 2
    assert "cannot import module 'nowhere'" in capsys.readouterr().err
    assert cli.main(["study", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    spec.write_text("[study\n")
    assert cli.main(["study", str(spec)]) == 2
    assert "not valid TOML" in capsys.readouterr().err
