"""`lemmata study` against storage faults and a second run on the same store (issue 12, item 7):
exit status 2 with one `lemmata: error:` line, never a traceback, nothing finished lost."""

import os
import socket
import sqlite3
import time
from pathlib import Path

import pytest

from lemmata.numerics.study import Study
from lemmata.proofs_checks import cli

HERE = Path(__file__).resolve().parent

SPEC = """
[study]
name = "cli-faults"
function = "study_tasks:noisy_square"
store = {store!r}
seeds = [0, 1]
version = "1"
search_path = [{here!r}]

[grid]
x = {xs!r}
scale = [1.0]
"""


def _spec(tmp_path, store, xs=(1, 2)):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.format(store=str(store), here=str(HERE), xs=list(xs)).replace("'", '"'))
    return spec


def test_a_directory_as_store_exits_2_with_the_reason(tmp_path, capsys):
    assert cli.main(["study", str(_spec(tmp_path, tmp_path)), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lemmata: error: cannot write study store {tmp_path}: it is a directory")
    assert "Traceback" not in err


def test_an_uncreatable_folder_exits_2(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    store = tmp_path / "file" / "out" / "s.sqlite"
    assert cli.main(["study", str(_spec(tmp_path, store)), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"cannot write study store {store}: cannot create its folder" in err and "Traceback" not in err


def test_full_disk_exits_2_and_keeps_the_finished_tasks(tmp_path, capsys, monkeypatch):
    import lemmata.numerics.study as study_module

    real_connect = study_module._connect

    def small_disk(path):
        connection = real_connect(path)
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count={pages + 2}")
        return connection

    store = tmp_path / "s.sqlite"
    spec = _spec(tmp_path, store, xs=range(1, 61))
    monkeypatch.setattr(study_module, "_connect", small_disk)
    # a new store on a full disk: nothing is created, not even an empty file or a -wal
    assert cli.main(["study", str(spec), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lemmata: error: cannot write study store {store}: database or disk is full")
    assert "nothing was written" in err and sorted(p.name for p in tmp_path.iterdir()) == ["spec.toml"]
    # an existing store fills up during the run
    monkeypatch.setattr(study_module, "_connect", real_connect)
    Study("study_tasks:noisy_square", {"x": list(range(1, 61)), "scale": [1.0]}, seeds=[0, 1],
          name="cli-faults", store=store, version="1", search_path=[HERE]).close()
    monkeypatch.setattr(study_module, "_connect", small_disk)
    assert cli.main(["study", str(spec), "--no-progress"]) == 2
    err = capsys.readouterr().err
    with sqlite3.connect(store) as db:
        kept = db.execute("SELECT COUNT(*) FROM tasks WHERE status='done'").fetchone()[0]
    assert 0 < kept < 120
    assert err == (f"lemmata: error: cannot write study store {store}: database or disk is full; "
                   f"{kept} finished tasks are kept.\n")
    monkeypatch.setattr(study_module, "_connect", real_connect)
    assert cli.main(["study", str(spec), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"{120 - kept} tasks run, {kept} already finished" in out


def test_tasks_held_by_another_run_are_named(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    spec = _spec(tmp_path, store)
    study = Study("study_tasks:noisy_square", {"x": [1, 2], "scale": [1.0]}, seeds=[0, 1], name="cli-faults",
                  store=store, version="1", search_path=[HERE])
    with sqlite3.connect(store) as db:               # a live run of this host holds one task
        db.execute("INSERT INTO claims VALUES (?, '1', 'other', ?, ?, '', ?)",
                   (study.tasks[0].task_id, os.getpid(), socket.gethostname(), time.time() + 600))
    study.close()
    with pytest.warns(UserWarning, match=rf"another run \(pid {os.getpid()} on {socket.gethostname()}\) "
                                         r"is working on 1 task of this study; they are left to it"):
        assert cli.main(["study", str(spec), "--no-progress"]) == 0
    assert "3 tasks run, 0 already finished" in capsys.readouterr().out


def test_study_progress_reaches_a_log_file_without_a_terminal(tmp_path, capsys):
    """`lemmata study ... 2>log`: a line every 5 % of the tasks on a stream that is no TTY."""
    spec = _spec(tmp_path, tmp_path / "s.sqlite", xs=range(1, 21))
    assert cli.main(["study", str(spec)]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("study 'cli-faults'")]
    assert len(lines) == 20 and lines[-1].startswith("study 'cli-faults': 40/40 tasks (100%)")
    assert cli.main(["study", str(spec), "--retry-errors", "--no-progress"]) == 0
    assert "tasks (" not in capsys.readouterr().err


def test_figure_labels_and_pool_are_read_from_the_spec(tmp_path):
    from lemmata.analysis.errors import LemmataError
    from lemmata.numerics.study import load_spec

    spec = _spec(tmp_path, tmp_path / "s.sqlite")
    spec.write_text(spec.read_text() + "\n[figure]\nmetric = 'y'\nx = 'x'\npool = true\n"
                    "[figure.labels]\nx = '$x$'\ny = '$y = x^2 s + \\epsilon$'\n")
    loaded = load_spec(spec)
    assert loaded.figure["labels"] == {"x": "$x$", "y": r"$y = x^2 s + \epsilon$"} and loaded.figure["pool"] is True
    loaded.study.run(progress=False)
    options = {k: v for k, v in loaded.figure.items() if k not in ("metric", "x")}
    ax = loaded.study.plot("y", "x", **options).axes[0]
    assert ax.get_xlabel() == "$x$" and ax.get_ylabel().startswith(r"$y = x^2 s + \epsilon$")
    loaded.study.close()
    spec.write_text(spec.read_text().replace("pool = true", "pool = 'yes'"))
    with pytest.raises(LemmataError, match="pool .* must be true or false"):
        load_spec(spec)
    import matplotlib.pyplot as plt
    plt.close("all")
