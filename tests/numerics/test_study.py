"""Studies with real parts: a real SQLite file, a subprocess killed with SIGKILL mid-run, local
processes and a real Dask LocalCluster on loopback."""

import math
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


# ------------------------------------------------------------------------------ claims (issue 12)
def _claim(store, task, owner, pid, host, expires):
    with sqlite3.connect(store) as db:
        db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (task.task_id, "1", owner, pid, host, "", expires))


def test_two_processes_on_one_store_split_the_work(tmp_path):
    """Two real processes create the store and start the same 40-task study at the same instant:
    the side file (one line per execution, written by the task itself) holds every task once."""
    store, log, go = tmp_path / "race.sqlite", tmp_path / "executions.log", tmp_path / "go"
    script = (f"import os, sys, time\nsys.path[:0] = [{str(ROOT)!r}, {str(HERE)!r}]\n"
              "from lemmata.numerics.study import Study\n"
              f"study = Study('study_tasks:logged_square', {{'x': list(range(40))}}, seeds=1, "
              f"name='race', store={str(store)!r}, version='1')\n"
              f"open({str(tmp_path)!r} + '/ready-' + str(os.getpid()), 'w').close()\n"
              f"while not os.path.exists({str(go)!r}): time.sleep(0.005)\n"
              "s = study.run(progress=False)\n"
              "print(s.n_executed, s.n_left_to_others, s.n_skipped)\n")
    env = {**os.environ, "LEMMATA_TEST_LOG": str(log), "LEMMATA_TEST_SLEEP": "0.05"}
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    deadline = time.time() + 120
    while len(list(tmp_path.glob("ready-*"))) < 2 and time.time() < deadline:
        time.sleep(0.02)
    go.touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    lines = [line.split() for line in log.read_text().splitlines()]
    executed = sorted(int(x) for _, x, _ in lines)
    assert executed == list(range(40))                    # union = task set, none twice
    pids = {pid for pid, _, _ in lines}
    assert len(pids) == 2                                 # both did a share of the work
    counts = [int(out.split()[0]) for out, _ in outputs]
    assert sum(counts) == 40 and all(c > 0 for c in counts)
    for out, err in outputs:                              # a task left to the other run is named
        if int(out.split()[1]):
            assert "another run (pid" in err and "they are left to it" in err
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0   # all released
    joined = Study("study_tasks:logged_square", {"x": list(range(40))}, seeds=1, name="race",
                   store=store, version="1", search_path=[HERE])
    assert joined.pending() == []
    os.environ["LEMMATA_TEST_LOG"] = str(tmp_path / "inline.log")
    try:
        inline = Study("study_tasks:logged_square", {"x": list(range(40))}, seeds=1, name="race",
                       store=tmp_path / "inline.sqlite", version="1", search_path=[HERE])
        os.environ["LEMMATA_TEST_SLEEP"] = "0"
        inline.run(progress=False)
    finally:
        os.environ.pop("LEMMATA_TEST_LOG")
        os.environ.pop("LEMMATA_TEST_SLEEP", None)
    assert joined.results() == inline.results()


def test_tasks_claimed_by_a_live_run_are_left_to_it_with_a_message(tmp_path):
    import socket

    from lemmata.numerics.study import StudyWarning

    store = tmp_path / "s.sqlite"
    study = make(store)
    host = socket.gethostname()
    for task in study.tasks[:3]:        # this very process is alive: a live owner on this host
        _claim(store, task, "another-run", os.getpid(), host, time.time() + 600)
    message = rf"another run \(pid {os.getpid()} on {host}\) is working on 3 tasks of this study; they are left to it"
    with pytest.warns(StudyWarning, match=message):
        summary = study.run(progress=False)
    assert (summary.n_executed, summary.n_left_to_others, summary.n_skipped) == (9, 3, 0)
    assert summary.others == ((os.getpid(), host, 3),)
    assert summary.note == (f"another run (pid {os.getpid()} on {host}) is working on 3 tasks of this "
                            f"study; they are left to it.")
    assert summary.to_dict()["n_left_to_others"] == 3
    # a run on another host whose lease is still valid keeps its claims; the claims of a
    # finished process of this host are void at once, expiry or not; a released task is free
    _claim(store, study.tasks[0], "remote", 4242, "elsewhere.example", time.time() + 600)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _claim(store, study.tasks[1], "killed", dead.pid, host, time.time() + 600)
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM claims WHERE task_id=?", (study.tasks[2].task_id,))
    with pytest.warns(StudyWarning, match=r"another run \(pid 4242 on elsewhere.example\) is working on "
                                          r"1 task of this study; they are left to it"):
        summary = study.run(progress=False)
    assert (summary.n_executed, summary.n_left_to_others, summary.n_skipped) == (2, 1, 9)
    # an expired lease is taken over
    _claim(store, study.tasks[0], "remote", 4242, "elsewhere.example", time.time() - 1)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = study.run(progress=False)
    assert (summary.n_executed, summary.n_left_to_others) == (1, 0)
    reference = make(tmp_path / "ref.sqlite")
    reference.run(progress=False)
    assert study.results() == reference.results()


# ------------------------------------------------------------------------------ storage faults
def _no_sidecars(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(("-wal", "-shm", "-journal")))


def test_a_directory_or_an_uncreatable_folder_is_refused_clearly(tmp_path):
    with pytest.raises(StoreError, match=r"cannot write study store .*: it is a directory.*nothing was written"):
        make(tmp_path)
    (tmp_path / "a_file").write_text("not a folder")
    bad = tmp_path / "a_file" / "sub" / "s.sqlite"
    with pytest.raises(StoreError, match=rf"cannot write study store {bad}: cannot create its folder"):
        make(bad)
    assert _no_sidecars(tmp_path) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes through a read-only mode; the monkeypatched twin below runs")
def test_read_only_folder_is_refused_clearly(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(StoreError, match="cannot write study store"):
            make(folder / "s.sqlite")
    finally:
        folder.chmod(0o755)
    assert _no_sidecars(folder) == []


def test_full_disk_keeps_every_finished_task_and_resumes(tmp_path, monkeypatch):
    """A real SQLite "database or disk is full": the store's connection gets a page limit a few
    pages above its size when the run opens it."""
    import lemmata.numerics.study as study_module

    real_connect = study_module._connect

    def small_disk(path):
        connection = real_connect(path)
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count={pages + 2}")
        return connection

    grid = {"x": list(range(1, 61)), "scale": [1.0]}
    store = tmp_path / "full.sqlite"
    make(store, grid=grid).close()                  # created with room; then the disk "fills"
    monkeypatch.setattr(study_module, "_connect", small_disk)
    study = make(store, grid=grid)
    with pytest.raises(StoreError) as info:
        study.run(progress=False)
    study.close()
    monkeypatch.setattr(study_module, "_connect", real_connect)
    with sqlite3.connect(store) as db:
        kept = db.execute("SELECT COUNT(*) FROM tasks WHERE status='done'").fetchone()[0]
    assert 0 < kept < 120
    assert str(info.value) == (f"cannot write study store {store}: database or disk is full; "
                               f"{kept} finished tasks are kept.")
    resumed = make(store, grid=grid)
    assert resumed.run(progress=False).n_executed == 120 - kept
    reference = make(tmp_path / "ref.sqlite", grid=grid)
    reference.run(progress=False)
    assert resumed.results() == reference.results()


def test_read_only_store_at_write_time_is_a_store_error(tmp_path, monkeypatch):
    """The error a read-only medium gives at the first write after opening, injected."""
    import lemmata.numerics.study as study_module

    real_record = study_module._Store.record
    calls = []

    def record(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 4:
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return real_record(self, *args, **kwargs)

    monkeypatch.setattr(study_module._Store, "record", record)
    store = tmp_path / "s.sqlite"
    with pytest.raises(StoreError, match=r"attempt to write a readonly database; 4 finished tasks are kept"):
        make(store).run(progress=False)


def test_refusing_a_store_leaves_no_wal_or_shm_files(tmp_path):
    store = tmp_path / "s.sqlite"
    with make(store) as first:
        first.run(progress=False)
    assert _no_sidecars(tmp_path) == []
    with pytest.raises(StoreError, match="new_version=True"):
        make(store, version="2")
    with pytest.raises(StoreError, match="belongs to study 'demo'"):
        make(store, name="other")
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(StoreError, match="something else"):
        make(foreign)
    assert _no_sidecars(tmp_path) == []


# ------------------------------------------------------------------------------ orphaned workers
def test_process_workers_exit_when_their_parent_is_killed(tmp_path):
    from lemmata.numerics.study import _pid_alive

    log = tmp_path / "executions.log"
    script = (f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(HERE)!r}]\n"
              "from lemmata.numerics.study import Study\n"
              "if __name__ == '__main__':\n"
              f"    Study('study_tasks:logged_square', {{'x': list(range(400))}}, seeds=1, name='orphans', "
              f"store={str(tmp_path / 's.sqlite')!r}, version='1').run('processes', max_workers=2, progress=False)\n")
    (tmp_path / "driver.py").write_text(script)
    env = {**os.environ, "LEMMATA_TEST_LOG": str(log), "LEMMATA_TEST_SLEEP": "0.1"}
    proc = subprocess.Popen([sys.executable, str(tmp_path / "driver.py")], env=env)
    deadline = time.time() + 60
    workers = set()
    while time.time() < deadline and len(workers) < 2:
        time.sleep(0.05)
        if log.exists():
            workers = {int(line.split()[0]) for line in log.read_text().splitlines() if line.strip()}
    assert len(workers) == 2 and proc.pid not in workers
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 5
    while time.time() < deadline and any(_pid_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_pid_alive(pid) for pid in workers)


# ------------------------------------------------------------------------------ statistics (issue 14)
def test_summary_groups_by_every_parameter_unless_pooling(tmp_path):
    """y = 10 L + lr + L d_s with seed deviations d = (-1.5, -0.5, 0.5, 1.5) (mean 0, sample
    variance 5/3): every number below is computed by hand from that formula."""
    study = make(tmp_path / "s.sqlite", fn="study_tasks:two_factor", grid={"lr": [0.1, 0.2], "L": [1, 4]},
                 seeds=4)
    study.run(progress=False)
    var = 5 / 3
    rows = study.summary(by="lr")                       # L is not named: still a key, not pooled
    assert [(r["lr"], r["L"], r["n"]) for r in rows] == [(0.1, 1, 4), (0.1, 4, 4), (0.2, 1, 4), (0.2, 4, 4)]
    for r in rows:
        assert r["y_mean"] == pytest.approx(10 * r["L"] + r["lr"], rel=1e-14)
        assert r["y_stderr"] == pytest.approx(r["L"] * math.sqrt(var) / 2, rel=1e-14)
    assert study.summary() == study.summary(by=["lr", "L"])
    pooled = study.summary(by="lr", pool=True)
    assert [(r["lr"], r["n"], r["n_groups"]) for r in pooled] == [(0.1, 8, 2), (0.2, 8, 2)]
    for r in pooled:
        assert r["y_mean"] == pytest.approx((10 + 40) / 2 + r["lr"], rel=1e-14)
        # seed error of the mean of the two configuration means: sqrt(var/4 + 16 var/4) / 2
        assert r["y_stderr"] == pytest.approx(math.sqrt(17 * var / 4) / 2, rel=1e-14)
        # spread between the configuration means 10 + lr and 40 + lr: 30 / sqrt(2)
        assert r["y_spread"] == pytest.approx(30 / math.sqrt(2), rel=1e-14)
        # what mixing L = 1 and L = 4 into n = 8 reported before: std of 8 values / sqrt(8)
        ys = [10 * L + r["lr"] + L * d for L in (1, 4) for d in (-1.5, -0.5, 0.5, 1.5)]
        assert abs(r["y_stderr"] - np.std(ys, ddof=1) / math.sqrt(8)) > 3
    alone = study.summary(by=["lr", "L"], pool=True)    # nothing left to pool: one group each
    assert all(r["n_groups"] == 1 and math.isnan(r["y_spread"]) for r in alone)
    assert [r["y_stderr"] for r in alone] == pytest.approx([r["y_stderr"] for r in rows], rel=1e-14)
    with pytest.raises(ValueError, match="`by` names a parameter twice"):
        study.summary(by=["lr", "lr"])


def test_progress_is_a_line_every_five_percent_on_a_non_terminal(tmp_path, capsys):
    study = make(tmp_path / "s.sqlite", fn="study_tasks:two_factor",
                 grid={"lr": [0.1 * k for k in range(10)], "L": [1]}, seeds=4)
    study.run()                                         # default: progress on; capsys is no TTY
    lines = capsys.readouterr().err.splitlines()
    assert "\r" not in "".join(lines)
    assert len(lines) == 20                             # 40 tasks, a line every 2 (5 %)
    assert lines[0].startswith("study 'demo': 2/40 tasks (5%)") and "ETA" in lines[0]
    assert lines[-1].startswith("study 'demo': 40/40 tasks (100%)")
    quiet = make(tmp_path / "q.sqlite", fn="study_tasks:two_factor", grid={"lr": [0.1], "L": [1]}, seeds=4)
    quiet.run(progress=False)
    assert capsys.readouterr().err == ""


def test_plot_marks_bad_runs_labels_axes_and_overlays_a_reference(tmp_path):
    import sympy as sp

    from lemmata.analysis import Derivation

    study = make(tmp_path / "s.sqlite", fn="study_tasks:partly_bad", grid={"x": [1, 2, 3, 4, 5]}, seeds=2)
    study.run(progress=False)
    fig = study.plot("y", "x", labels={"x": r"$\eta$", "y": r"loss $f$"}, reference=lambda x: x ** 2 + 0.5)
    ax = fig.axes[0]
    assert ax.get_xlabel() == r"$\eta$" and ax.get_ylabel().startswith("loss $f$") and ax.get_title() == ""
    # failed: x = 2 (1 of 2 runs raised); diverged: x = 3 (non-finite, 2 of 2), x = 4 (flagged, 1 of 2)
    assert sorted(t.get_text() for t in ax.texts) == ["1/2", "1/2", "2/2"]
    # the error bars drawn are the computed standard errors: seeds 0 and 1 differ by 1 -> s.e. 1/2
    (bars,) = ax.containers
    segments = {float(seg[0, 0]): seg[1, 1] - seg[0, 1] for seg in bars.lines[2][0].get_segments()
                if np.ndim(seg) == 2 and np.isfinite(seg).all()}
    rows = {r["x"]: r for r in study.summary("x")}
    expected = {float(x): 2 * r["y_stderr"] if np.isfinite(r["y_stderr"]) else 0.0
                for x, r in rows.items() if np.isfinite(r["y_mean"])}
    assert segments == pytest.approx(expected)
    assert sorted(expected) == [1.0, 2.0, 4.0, 5.0] and expected[1.0] == pytest.approx(1.0)
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1
    assert dashed[0].get_ydata() == pytest.approx(dashed[0].get_xdata() ** 2 + 0.5)
    # a Derivation as the closed form, its symbol named like the parameter
    x = sp.Symbol("x", positive=True)
    fig = study.plot("y", "x", logx=True, reference=Derivation("square", (x,), (), {"y": x ** 2 + sp.Rational(1, 2)}))
    (dashed,) = [line for line in fig.axes[0].lines if line.get_linestyle() == "--"]
    assert dashed.get_ydata() == pytest.approx(dashed.get_xdata() ** 2 + 0.5, rel=1e-14)
    lam = sp.Symbol("lam", positive=True)
    with pytest.raises(ValueError, match=r"`reference` 'scaled' needs \['lam'\]"):
        study.plot("y", "x", reference=Derivation("scaled", (x,), (lam,), {"y": lam * x}))
    with pytest.raises(ValueError, match=r"`labels` names \['nope'\]"):
        study.plot("y", "x", labels={"nope": "N"})
    with pytest.raises(TypeError, match="`reference` must be a callable or a lemmata Derivation"):
        study.plot("y", "x", reference=3.0)
    import matplotlib.pyplot as plt
    plt.close("all")


def test_plot_never_averages_unnamed_parameters_silently(tmp_path):
    study = make(tmp_path / "s.sqlite", fn="study_tasks:two_factor", grid={"lr": [0.1, 0.2], "L": [1, 4]},
                 seeds=4)
    study.run(progress=False)
    split = study.plot("y", "lr").axes[0]
    assert len(split.containers) == 2                   # one line per value of L
    assert sorted(t.get_text() for t in split.get_legend().get_texts()) == ["L = 1", "L = 4"]
    pooled = study.plot("y", "lr", pool=True).axes[0]
    (bars,) = pooled.containers
    means = bars.lines[0].get_ydata()
    assert means == pytest.approx([25.1, 25.2], rel=1e-14)
    assert len(pooled.collections) >= 2                 # error bars and the spread band
    import matplotlib.pyplot as plt
    plt.close("all")
