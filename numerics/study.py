"""Scripted Monte Carlo studies: a function over a parameter grid x seeds, every finished task
kept in an embedded SQLite store, resumable after any interruption, runnable in-process, in
local processes or on a Dask cluster without change.

A task is one ``(params, seed)``; its key is a hash of the parameters, the seed and the study's
code ``version``. The driver is the only writer: each result is committed the moment it arrives,
so a Ctrl-C, a ``kill -9`` or a crashed worker loses at most the tasks still running, and
``run()`` again executes exactly the missing ones.

Several runs may share one store (two terminals, two cluster jobs): every task is claimed in the
store just before it is submitted, with a lease (owner pid, host and expiry, renewed while the
run goes on), so the runs split the work; a task held by another live run is left to it, one
whose lease has expired, or whose owner on this host has died, is taken over. A store that
cannot be written (read-only, full, a folder, a missing folder that cannot be made) raises
:class:`StoreError` ``"cannot write study store PATH: <reason>; N finished tasks are kept"``,
with every finished task kept. Workers of ``executor="processes"`` end themselves when the
driver process dies.

Examples
--------
>>> def square(x, seed):
...     return {"y": x * x + seed}
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "demo.sqlite")
>>> study = Study(square, {"x": [1, 2]}, seeds=2, name="demo", store=path, version="1")
>>> study.run(progress=False).n_executed
4
>>> study.run(progress=False).n_executed       # nothing left to do
0
>>> [(r["x"], r["seed"], r["y"]) for r in study.results()]
[(1, 0, 1), (1, 1, 2), (2, 0, 4), (2, 1, 5)]
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import importlib
import inspect
import itertools
import json
import math
import os
import socket
import sqlite3
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from numbers import Integral, Real
from pathlib import Path
from typing import Callable

import numpy as np

from lemmata.analysis.errors import LemmataError

__all__ = ["Study", "RunSummary", "StudySpec", "StoreError", "StudyWarning", "load_spec",
           "resolve_function", "EXECUTORS"]

EXECUTORS = ("inline", "processes", "dask")
_FORMAT = "lemmata-study"
_FORMAT_VERSION = "1"
_MAX_ARRAY = 10_000


class StoreError(LemmataError):
    """The store file is corrupted, foreign, belongs to another study or code version, or
    cannot be written (read-only, full disk, a folder, a folder that cannot be created)."""


# ------------------------------------------------------------------------------ functions
def resolve_function(ref: str, search_path=()) -> Callable:
    """Import ``"module:function"`` (``search_path`` folders are tried first)."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise LemmataError(f"`function` must look like 'module:function'; got {ref!r}.")
    for folder in reversed([str(p) for p in search_path]):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise LemmataError(f"cannot import module {module_name!r} for `function` {ref!r}: {exc}") from exc
    target = module
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise LemmataError(f"module {module_name!r} has no attribute {attr!r} (`function` {ref!r}).")
    if not callable(target):
        raise LemmataError(f"`function` {ref!r} is not callable.")
    return target


def _code_version(fn) -> str:
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return "unversioned"
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def _jsonable(name: str, value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (Integral, np.integer)):
        return int(value)
    if isinstance(value, (Real, np.floating)):
        return float(value)          # NaN and inf round-trip through Python's json module
    if isinstance(value, str) or value is None:
        return value
    array = np.asarray(value)
    if array.dtype.kind in "biuf" and array.size <= _MAX_ARRAY:
        return [_jsonable(name, v) for v in array.ravel().tolist()] if array.ndim == 1 else \
            [_jsonable(name, list(row)) for row in array]
    raise LemmataError(f"study results must be scalars or small numeric arrays (<= {_MAX_ARRAY} "
                       f"entries); {name!r} is {type(value).__name__} of size {getattr(array, 'size', '?')}.")


def _run_task(fn, ref, search_path, params, seed):
    """Executed where the task runs (this process, a pool process, a Dask worker)."""
    if fn is None:
        fn = resolve_function(ref, search_path)
    start = time.perf_counter()
    try:
        result = fn(**params, seed=seed)
        if not isinstance(result, dict):
            raise LemmataError(f"the study function must return a dict of results; got {type(result).__name__}.")
        clean = {str(k): _jsonable(k, v) for k, v in result.items()}
        return "done", clean, None, time.perf_counter() - start
    except Exception:
        return "error", None, traceback.format_exc(), time.perf_counter() - start


# ------------------------------------------------------------------------------ owners
_HOST = socket.gethostname()


def _process_start(pid: int) -> str:
    """The start time of process ``pid`` in clock ticks since boot (Linux), to tell a live owner
    from an unrelated process that got its pid later; "" where ``/proc`` is not available."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()           # field 22 of proc(5); fields[0] is field 3
    except (OSError, IndexError):
        return ""


def _pid_alive(pid: int, started: str = "") -> bool:
    """Whether process ``pid`` of this host is alive (a zombie is dead; a pid reused by another
    process, seen by its start time, is dead)."""
    if os.name == "nt":                      # os.kill(pid, 0) would send CTRL_C_EVENT there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass                                 # alive, owned by another user
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        if fields[0] in (b"Z", b"X"):
            return False
        if started and fields[19].decode() != started:
            return False
    except (OSError, IndexError):
        pass
    return True


@dataclass(frozen=True)
class _Owner:
    """One ``run()``: a random token plus the pid, host and process start time that let another
    run decide whether its claims are still alive."""

    token: str
    pid: int
    host: str
    started: str

    @classmethod
    def here(cls) -> "_Owner":
        return cls(uuid.uuid4().hex, os.getpid(), _HOST, _process_start(os.getpid()))


def _claim_alive(pid: int, host: str, started: str, expires: float, now: float) -> bool:
    """A claim holds while its lease has not expired and, on this host, its owner process lives
    (so the claims of a killed run on this machine are taken over at once)."""
    if expires < now:
        return False
    return host != _HOST or _pid_alive(pid, started)


# ------------------------------------------------------------------------------ store
def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        connection.close()
        raise
    return connection


_CLAIMS_TABLE = """CREATE TABLE IF NOT EXISTS claims (
    task_id TEXT PRIMARY KEY, version TEXT NOT NULL, owner TEXT NOT NULL, pid INTEGER NOT NULL,
    host TEXT NOT NULL, started TEXT NOT NULL, expires REAL NOT NULL)"""


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on an exception) on an autocommit
    connection: one writer at a time across processes, the others wait up to the timeout."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.db.execute("COMMIT")
        else:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        return False


def _unwritable(path: Path, reason, kept: int | None) -> StoreError:
    tail = ("nothing was written" if kept is None else
            f"{kept} finished task{'s' if kept != 1 else ''} {'are' if kept != 1 else 'is'} kept")
    return StoreError(f"cannot write study store {path}: {reason}; {tail}.")


class _ClosedConnection:
    """Stands for the connection of a closed store: every use says so."""

    def __init__(self, path: Path):
        self.path = path

    def execute(self, *args, **kwargs):
        raise StoreError(f"the study store {self.path} was closed (Study.close()); make a new Study to use it.")

    executemany = execute

    def close(self):
        pass


class _Store:
    def __init__(self, path: Path, name: str, version: str, function: str, new_version: bool):
        self.path = path
        if path.is_dir():
            raise _unwritable(path, "it is a directory (give a file name, e.g. "
                                    f"{str(path / 'study.sqlite')!r})", None)
        existed = path.exists() and path.stat().st_size > 0 and self._inspect(name, version, new_version)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unwritable(path, f"cannot create its folder {str(path.parent)!r} ({exc.strerror or exc})",
                              None) from exc
        created = not path.exists()
        try:
            self.db = _connect(path)
        except sqlite3.Error as exc:
            raise _unwritable(path, exc, self._count_readable() if existed else None) from exc
        try:
            with _Transaction(self.db) as db:
                # decided inside the write lock: another run may have created the store meanwhile
                tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if not tables:
                    self._create(db, name, version, function)
                else:
                    meta = dict(db.execute("SELECT key, value FROM lemmata_meta")) \
                        if "lemmata_meta" in tables else {}
                    self._verify(tables, meta, name, version, new_version)
                    if meta.get("version") != version:
                        db.execute("UPDATE lemmata_meta SET value=? WHERE key='version'", (version,))
                db.execute(_CLAIMS_TABLE)
        except StoreError:
            self.close()
            raise
        except sqlite3.Error as exc:
            kept = self._count_readable()
            self.close()
            if created and kept is None:             # nothing of a study in it: leave no file
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            raise _unwritable(path, exc, kept) from exc

    def _inspect(self, name, version, new_version) -> bool:
        """Whether the file holds a store, after every reason to refuse it was looked for before
        anything could write to it (a plain connection that only reads writes nothing to a
        foreign database, and the -wal and -shm files that reading a WAL store creates go away
        when it closes). A database without tables is no store yet: maybe another run is
        creating it right now; the creation is decided under the write lock."""
        path = self.path
        try:
            with open(path, "rb") as handle:
                header = handle.read(16)
        except OSError as exc:
            raise StoreError(f"`store` {str(path)!r} cannot be read: {exc.strerror or exc}.") from exc
        if header != b"SQLite format 3\x00":
            raise StoreError(f"`store` {str(path)!r} is not a SQLite file (corrupted or foreign); "
                             f"refusing to touch it.")
        try:
            probe = sqlite3.connect(str(path), timeout=30.0)
            try:
                tables = {r[0] for r in probe.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                meta = dict(probe.execute("SELECT key, value FROM lemmata_meta")) \
                    if "lemmata_meta" in tables else {}
            finally:
                probe.close()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"`store` {str(path)!r} cannot be read as a study store: {exc}.") from exc
        if not tables:
            return False         # an empty database, or one another run is creating right now
        self._verify(tables, meta, name, version, new_version)
        return True

    def _verify(self, tables, meta, name, version, new_version):
        path = self.path
        if "lemmata_meta" not in tables or meta.get("format") != _FORMAT:
            raise StoreError(f"`store` {str(path)!r} is a SQLite database of something else (tables "
                             f"{sorted(tables)}); refusing to write into it.")
        if meta.get("name") != name:
            raise StoreError(f"`store` {str(path)!r} belongs to study {meta.get('name')!r}, "
                             f"not {name!r}; use another store file.")
        if meta.get("version") != version and not new_version:
            raise StoreError(
                f"`store` {str(path)!r} holds study {name!r} at code version "
                f"{meta.get('version')!r}, but this is version {version!r}. Nothing was overwritten. "
                f"Pass new_version=True (CLI: --new-version) to start the new version in this "
                f"store (old results stay, under their version), or use another store.")

    def _create(self, db, name, version, function):
        db.execute("CREATE TABLE lemmata_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("""CREATE TABLE tasks (
            task_id TEXT PRIMARY KEY, version TEXT NOT NULL, ordinal INTEGER NOT NULL,
            params TEXT NOT NULL, seed INTEGER NOT NULL, status TEXT NOT NULL,
            result TEXT, error TEXT, seconds REAL, finished_at TEXT NOT NULL)""")
        now = datetime.now(timezone.utc).isoformat()
        db.executemany("INSERT INTO lemmata_meta VALUES (?, ?)", [
            ("format", _FORMAT), ("format_version", _FORMAT_VERSION), ("name", name),
            ("version", version), ("function", function), ("created", now)])

    def close(self):
        db = getattr(self, "db", None)
        if db is not None:
            db.close()
        self.db = _ClosedConnection(self.path)

    @property
    def closed(self) -> bool:
        return isinstance(getattr(self, "db", None), _ClosedConnection)

    def _count_readable(self, version: str | None = None) -> int | None:
        """Finished tasks in the store (of ``version``, or all), read by a fresh connection: a
        full disk still reads. None when even that fails."""
        try:
            probe = sqlite3.connect(str(self.path), timeout=30.0)
            try:
                if version is None:
                    return probe.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
                return probe.execute("SELECT COUNT(*) FROM tasks WHERE version=?", (version,)).fetchone()[0]
            finally:
                probe.close()
        except sqlite3.Error:
            return None

    def failure(self, exc, version: str) -> StoreError:
        return _unwritable(self.path, exc, self._count_readable(version))

    def meta(self) -> dict:
        return dict(self.db.execute("SELECT key, value FROM lemmata_meta"))

    def finished(self, version: str, include_errors: bool) -> set:
        statuses = ("done", "error") if include_errors else ("done",)
        marks = ",".join("?" * len(statuses))
        rows = self.db.execute(f"SELECT task_id FROM tasks WHERE version=? AND status IN ({marks})",
                               (version, *statuses))
        return {r[0] for r in rows}

    def claim(self, tasks, version: str, owner: _Owner, lease: float, include_errors: bool):
        """Claim, in one transaction, every task of ``tasks`` that is neither finished nor held
        by another live run. Returns ``(claimed, held)``: our tasks, and ``{task: (pid, host)}``
        for those another run holds. Finished tasks are in neither."""
        statuses = ("done", "error") if include_errors else ("done",)
        claimed, held = [], {}
        now = time.time()
        with _Transaction(self.db) as db:
            for task in tasks:
                row = db.execute("SELECT status FROM tasks WHERE task_id=?", (task.task_id,)).fetchone()
                if row is not None and row[0] in statuses:
                    continue
                other = db.execute("SELECT owner, pid, host, started, expires FROM claims WHERE task_id=?",
                                   (task.task_id,)).fetchone()
                if other is not None and other[0] != owner.token and _claim_alive(*other[1:], now):
                    held[task.task_id] = (task, other[1], other[2])
                    continue
                db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (task.task_id, version, owner.token, owner.pid, owner.host, owner.started,
                            now + lease))
                claimed.append(task)
        return claimed, held

    def release(self, owner: _Owner):
        try:
            with _Transaction(self.db) as db:
                db.execute("DELETE FROM claims WHERE owner=?", (owner.token,))
        except (sqlite3.Error, AttributeError):
            pass            # unreleased claims lapse with their lease (or their owner's pid)

    def record(self, task, version, status, result, error, seconds, owner: _Owner | None = None):
        with _Transaction(self.db) as db:
            db.execute(
                "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (task.task_id, version, task.ordinal, json.dumps(task.params), task.seed,
                 status, None if result is None else json.dumps(result), error, seconds,
                 datetime.now(timezone.utc).isoformat()))
            if owner is not None:
                db.execute("DELETE FROM claims WHERE task_id=? AND owner=?", (task.task_id, owner.token))

    def rows(self, version: str, status: str):
        return self.db.execute(
            "SELECT params, seed, result, error, seconds FROM tasks WHERE version=? AND status=? "
            "ORDER BY ordinal", (version, status)).fetchall()


class _Renewal(threading.Thread):
    """Extends the leases of one run every third of the lease, on its own connection, until
    stopped; a failed renewal is left to lapse (the run's writes report storage faults)."""

    def __init__(self, path: Path, owner: _Owner, lease: float):
        super().__init__(name="lemmata-study-lease", daemon=True)
        self.path, self.owner, self.lease = path, owner, lease
        self.stopped = threading.Event()

    def run(self):
        try:
            db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        except sqlite3.Error:
            return
        try:
            while not self.stopped.wait(self.lease / 3):
                try:
                    db.execute("UPDATE claims SET expires=? WHERE owner=?",
                               (time.time() + self.lease, self.owner.token))
                except sqlite3.Error:
                    pass
        finally:
            db.close()

    def stop(self):
        self.stopped.set()
        self.join(timeout=5)


class _Feed:
    """The tasks of one run, handed out to the executor a few at a time, each claimed in the
    store just before it is submitted."""

    def __init__(self, store: _Store, todo, version: str, owner: _Owner, lease: float, retry_errors: bool):
        self.store, self.version, self.owner, self.lease = store, version, owner, lease
        self.include_errors = not retry_errors
        self.queue = collections.deque(todo)
        self.held: dict = {}

    def take(self, n: int) -> list:
        """Up to ``n`` claimed tasks; ``[]`` when none is left that this run may take (tasks held
        by another live run are looked at again on every call, in case it died)."""
        if n <= 0:
            return []
        got = []
        if self.held:
            again, self.held = [t for t, _, _ in self.held.values()], {}
            claimed, self.held = self.store.claim(again, self.version, self.owner, self.lease,
                                                  self.include_errors)
            got += claimed[:n]
            self.queue.extendleft(reversed(claimed[n:]))
        while self.queue and len(got) < n:
            batch = [self.queue.popleft() for _ in range(min(n - len(got), len(self.queue)))]
            claimed, held = self.store.claim(batch, self.version, self.owner, self.lease, self.include_errors)
            got += claimed
            self.held.update(held)
        return got

    def others(self) -> tuple:
        """``((pid, host, n_tasks), ...)`` of the runs that hold tasks this run left to them."""
        counts = collections.Counter((pid, host) for _, pid, host in self.held.values())
        return tuple((pid, host, n) for (pid, host), n in sorted(counts.items()))


def _watch_parent(parent: int, interval: float = 0.5):
    """Pool initializer: a daemon thread that ends this worker when the run's driver process
    dies (a pool worker blocked on its task queue would otherwise outlive a killed parent)."""
    parent_started = _process_start(parent)
    ppid = os.getppid()

    def watch():
        while True:
            time.sleep(interval)
            if os.getppid() != ppid or not _pid_alive(parent, parent_started):
                os._exit(70)

    threading.Thread(target=watch, name="lemmata-parent-watchdog", daemon=True).start()


# ------------------------------------------------------------------------------ study
@dataclass(frozen=True)
class _Task:
    task_id: str
    ordinal: int
    params: dict
    seed: int


@dataclass(frozen=True)
class RunSummary:
    """What one ``run()`` did.

    Attributes
    ----------
    n_tasks : int
        Tasks of the study (grid points x seeds).
    n_executed : int
        Tasks this run executed.
    n_skipped : int
        Tasks found finished (before the run, or by another run while it went on).
    n_errors : int
        Tasks of this run that raised.
    seconds : float
    n_left_to_others : int
        Tasks that another live run had claimed and was working on; left to it.
    others : tuple of (pid, host, n_tasks)
        Those runs.
    """

    n_tasks: int
    n_executed: int
    n_skipped: int
    n_errors: int
    seconds: float
    n_left_to_others: int = 0
    others: tuple = ()

    @property
    def note(self) -> str:
        """The sentence naming the runs tasks were left to ("" when none)."""
        return _others_message(self.others) if self.others else ""

    def to_dict(self) -> dict:
        return {"n_tasks": self.n_tasks, "n_executed": self.n_executed, "n_skipped": self.n_skipped,
                "n_errors": self.n_errors, "seconds": self.seconds,
                "n_left_to_others": self.n_left_to_others, "others": [list(o) for o in self.others]}


class StudyWarning(UserWarning):
    """Something a study run wants its user to know that is not an error (tasks left to
    another run working on the same store)."""


def _others_message(others) -> str:
    parts = [f"another run (pid {pid} on {host}) is working on {n} task{'s' if n != 1 else ''}"
             for pid, host, n in others]
    return f"{'; '.join(parts)} of this study; they are left to it."


class _Progress:
    """Progress on ``stream``: a redrawn bar on a terminal, else one line every ``step_percent``
    per cent of the tasks (and at the end), so a log file shows a long run advancing."""

    def __init__(self, total: int, enabled: bool, name: str, stream=None, step_percent: float = 5.0):
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.enabled, self.done, self.name = total, enabled and total > 0, 0, name
        try:
            self.tty = bool(self.stream.isatty())
        except (AttributeError, ValueError):
            self.tty = False
        self.every = max(1, math.ceil(total * step_percent / 100))
        self.start = self.last = time.perf_counter()
        self.closed = False

    def _times(self, now):
        rate = self.done / max(now - self.start, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        return now - self.start, eta

    def step(self):
        self.done += 1
        if not self.enabled:
            return
        now = time.perf_counter()
        elapsed, eta = self._times(now)
        if self.tty:
            if now - self.last > 0.2 or self.done == self.total:
                self.last = now
                filled = int(30 * self.done / self.total)
                self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} "
                                  f"{elapsed:.1f}s elapsed, ETA {eta:.1f}s ")
                if self.done == self.total:
                    self.stream.write("\n")
                    self.closed = True
                self.stream.flush()
        elif self.done % self.every == 0 or self.done == self.total:
            self.stream.write(f"study {self.name!r}: {self.done}/{self.total} tasks "
                              f"({100 * self.done / self.total:.0f}%), {elapsed:.1f} s elapsed, "
                              f"ETA {eta:.1f} s\n")
            self.stream.flush()
            self.closed = self.done == self.total

    def close(self):
        if self.enabled and self.tty and not self.closed and self.done:
            self.stream.write("\n")
            self.stream.flush()


class Study:
    """A function over a parameter grid x seeds, with a resumable SQLite store.

    Parameters
    ----------
    fn : callable or str
        ``fn(**params, seed=seed) -> dict`` of scalars or small numeric arrays; or
        ``"module:function"``.
    grid : dict of lists, or list of dicts
        A dict is expanded as the Cartesian product of its lists (in key order); a list gives the
        points explicitly.
    seeds : int or sequence of int
        ``n`` means seeds ``0..n-1``.
    name : str
        The study's name, recorded in the store.
    store : path
        The SQLite file (created if missing).
    version : str, optional
        The code version; default a hash of ``fn``'s source. Tasks are keyed by (params, seed,
        version), so a new version never reuses old results.
    new_version : bool
        Allow a store written by another version of this study (old results are kept).
    search_path : sequence of paths
        Folders to put on ``sys.path`` before importing a ``"module:function"`` (also on workers).
    """

    def __init__(self, fn, grid, *, seeds=1, name: str, store, version: str | None = None,
                 new_version: bool = False, search_path=()):
        self.search_path = tuple(str(p) for p in search_path)
        if isinstance(fn, str):
            self._ref, self.fn = fn, resolve_function(fn, self.search_path)
        elif callable(fn):
            self.fn = fn
            self._ref = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', '?')}"
        else:
            raise TypeError(f"`fn` must be a callable or 'module:function'; got {fn!r}.")
        if not isinstance(name, str) or not name:
            raise ValueError(f"`name` must be a non-empty string; got {name!r}.")
        self.name = name
        self.points = _expand_grid(grid)
        self.seeds = _seed_list(seeds)
        self.version = version if version is not None else _code_version(self.fn)
        if not isinstance(store, (str, os.PathLike)):
            raise TypeError(f"`store` must be a path to the study's SQLite file; got {type(store).__name__}.")
        self.store_path = Path(store)
        self._store = _Store(self.store_path, name, self.version, self._ref, new_version)
        self.tasks = [
            _Task(_task_id(p, s, self.version), i, p, s)
            for i, (p, s) in enumerate(itertools.product(self.points, self.seeds))]

    def __repr__(self):
        return (f"Study({self.name!r}, {len(self.points)} points x {len(self.seeds)} seeds, "
                f"version={self.version!r}, store={str(self.store_path)!r})")

    # ---------------------------------------------------------------------- running
    def pending(self, retry_errors: bool = False) -> list:
        finished = self._store.finished(self.version, include_errors=not retry_errors)
        return [t for t in self.tasks if t.task_id not in finished]

    def run(self, executor: str = "inline", scheduler=None, progress: bool | None = None, *,
            max_workers: int | None = None, retry_errors: bool = False, lease: float = 60.0) -> RunSummary:
        """Run every task not yet finished, committing each result as it arrives.

        Each task is claimed in the store just before it is submitted (a lease of ``lease``
        seconds carrying this process's pid and host, renewed while the run goes on), so several
        runs of the same study on one store split the work: a task claimed by another live run
        is left to it (a :class:`StudyWarning` names that run), one whose lease expired, or
        whose owner process on this host is gone (``kill -9``), is taken over.

        Parameters
        ----------
        executor : {"inline", "processes", "dask"}
        scheduler : str or dask.distributed.Client, optional
            For ``"dask"``: a scheduler address (``"tcp://host:8786"``) or a client; None starts
            a LocalCluster for the duration of the run.
        progress : bool, optional
            Progress on stderr: a bar on a terminal, else a line every 5 % of the tasks.
            Default on; False for silence.
        max_workers : int, optional
            Pool size for ``"processes"`` (and for the LocalCluster). The pool's workers end
            themselves when this process dies.
        retry_errors : bool
            Run again the tasks that raised in an earlier run.
        lease : float
            Seconds a claim holds without renewal (renewed every ``lease / 3`` s). A run on
            another host takes over the claims of a run that stopped renewing after this long.
            An ``"inline"`` task that holds the GIL longer than ``lease`` blocks the renewal and
            may be repeated by another run (wasted work, never a wrong result).

        Returns
        -------
        RunSummary

        Raises
        ------
        StoreError
            When the store cannot be written (read-only, full disk, ...): ``"cannot write study
            store PATH: <reason>; N finished tasks are kept"``. Every task finished before is in
            the store; running again executes only the missing ones.
        """
        if executor not in EXECUTORS:
            raise ValueError(f"`executor` must be one of {', '.join(map(repr, EXECUTORS))}; got {executor!r}.")
        if scheduler is not None and executor != "dask":
            raise ValueError(f"`scheduler` is only used with executor='dask'; got executor={executor!r}.")
        if max_workers is not None and (isinstance(max_workers, bool) or not isinstance(max_workers, Integral)
                                        or max_workers < 1):
            raise ValueError(f"`max_workers` must be a positive integer; got {max_workers!r}.")
        if isinstance(lease, bool) or not isinstance(lease, Real) or not math.isfinite(lease) or lease <= 0:
            raise ValueError(f"`lease` must be a positive number of seconds; got {lease!r}.")
        if self._store.closed:
            raise StoreError(f"study {self.name!r} was closed (Study.close()); make a new Study to run it.")
        todo = self.pending(retry_errors)
        bar = _Progress(len(todo), True if progress is None else bool(progress), self.name)
        start = time.perf_counter()
        executed = errors = 0
        owner = _Owner.here()
        feed = _Feed(self._store, todo, self.version, owner, float(lease), retry_errors)
        renewal = _Renewal(self.store_path, owner, float(lease))
        renewal.start()
        runner = {"inline": self._inline, "processes": self._processes, "dask": self._dask}[executor]
        try:
            with contextlib.closing(runner(feed, scheduler, max_workers)) as outcomes:
                for task, (status, result, error, seconds) in outcomes:
                    try:
                        self._store.record(task, self.version, status, result, error, seconds, owner)
                    except sqlite3.Error as exc:
                        raise self._store.failure(exc, self.version) from exc
                    executed += 1
                    errors += status == "error"
                    bar.step()
        except sqlite3.Error as exc:                 # a claim that could not be written
            raise self._store.failure(exc, self.version) from exc
        finally:
            renewal.stop()
            self._store.release(owner)
            bar.close()
        others = feed.others()
        left = sum(n for _, _, n in others)
        if others:
            warnings.warn(_others_message(others), StudyWarning, stacklevel=2)
        return RunSummary(len(self.tasks), executed, len(self.tasks) - executed - left, errors,
                          time.perf_counter() - start, left, others)

    def close(self):
        """Close the store's connection (the study cannot run afterwards)."""
        self._store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _payload(self):
        """What travels to a worker: the ``module:function`` reference when the worker can
        import it (so ``search_path`` folders work on workers too), else the pickled callable."""
        importable = False
        if not self._ref.startswith("__main__:"):
            try:
                importable = resolve_function(self._ref, self.search_path) is self.fn
            except LemmataError:
                importable = False
        if importable:
            return None, self._ref, self.search_path
        return self.fn, self._ref, self.search_path

    def _inline(self, feed, scheduler, max_workers):
        while True:
            batch = feed.take(1)
            if not batch:
                return
            task = batch[0]
            yield task, _run_task(self.fn, self._ref, self.search_path, task.params, task.seed)

    def _processes(self, feed, scheduler, max_workers):
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        fn, ref, path = self._payload()
        workers = max_workers or os.cpu_count() or 1
        window = 2 * workers                 # claimed ahead so that no worker waits for a claim
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_watch_parent, initargs=(os.getpid(),))
        futures = {}
        try:
            for t in feed.take(window):
                futures[pool.submit(_run_task, fn, ref, path, t.params, t.seed)] = t
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    yield futures.pop(future), future.result()
                for t in feed.take(window - len(futures)):
                    futures[pool.submit(_run_task, fn, ref, path, t.params, t.seed)] = t
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _dask(self, feed, scheduler, max_workers):
        try:
            from dask.distributed import Client, LocalCluster, as_completed
        except ImportError as exc:
            raise LemmataError("executor='dask' needs dask.distributed: pip install 'lemmata[distributed]'.") from exc
        fn, ref, path = self._payload()
        own = []
        if scheduler is None:
            cluster = LocalCluster(n_workers=max_workers or 2, threads_per_worker=1, processes=True,
                                   dashboard_address=None, host="127.0.0.1")
            client = Client(cluster)
            own = [client, cluster]
        elif isinstance(scheduler, str):
            client = Client(scheduler)
            own = [client]
        else:
            client = scheduler
        try:
            try:
                threads = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
            except Exception:
                threads = 0
            window = 2 * max(threads, max_workers or 2)
            futures = {}

            def submit(tasks):
                new = []
                for t in tasks:
                    future = client.submit(_run_task, fn, ref, path, t.params, t.seed, pure=False,
                                           key=f"{self.name}-{t.task_id}-{feed.owner.token[:8]}")
                    futures[future] = t
                    new.append(future)
                return new

            pending = as_completed(submit(feed.take(window)))
            try:
                for future in pending:
                    yield futures.pop(future), future.result()
                    for new in submit(feed.take(window - len(futures))):
                        pending.add(new)
            finally:
                client.cancel(list(futures))
        finally:
            for thing in own:
                thing.close()

    # ---------------------------------------------------------------------- results
    def results(self) -> list:
        """Finished tasks of this version in grid order: parameters, ``seed``, returned values."""
        return [{**json.loads(p), "seed": s, **json.loads(r)}
                for p, s, r, _, _ in self._store.rows(self.version, "done")]

    def errors(self) -> list:
        """Tasks that raised: parameters, ``seed`` and the ``traceback`` text."""
        return [{**json.loads(p), "seed": s, "traceback": e}
                for p, s, _, e, _ in self._store.rows(self.version, "error")]

    def parameters(self) -> list:
        """The grid's parameter names, in grid order."""
        return list(dict.fromkeys(k for point in self.points for k in point))

    def summary(self, by=None, pool: bool = False) -> list:
        r"""Mean and standard error over seeds of every numeric result, per grid configuration.

        Without pooling, the records are grouped by the ``by`` parameters *and every other grid
        parameter*: each record is one configuration and its statistics are over seeds only,

        .. math:: \bar y = \frac1n\sum_{s} y_s, \qquad
                  \mathrm{s.e.} = \frac{\hat\sigma}{\sqrt n}, \quad
                  \hat\sigma^2 = \frac{1}{n-1}\sum_s (y_s-\bar y)^2 .

        With ``pool=True`` the configurations that differ only in parameters not in ``by``
        (``G`` of them, group means :math:`\bar y_g` over :math:`n_g` seeds) are pooled into
        one record that keeps the two sources of variation apart:

        .. math:: \bar y = \frac1G\sum_g \bar y_g, \qquad
                  \mathrm{s.e.} = \frac1G\Big(\sum_g \frac{\hat\sigma_g^2}{n_g}\Big)^{1/2}, \qquad
                  \mathrm{spread} = \Big(\frac{1}{G-1}\sum_g(\bar y_g-\bar y)^2\Big)^{1/2},

        the standard error (seed noise of the pooled mean: each configuration weighted equally)
        and the spread between configurations (a property of the grid, which no number of seeds
        shrinks).

        Parameters
        ----------
        by : str or list of str, optional
            Parameters that label the records (first, in this order); default all of them.
        pool : bool
            Pool over the parameters not in ``by`` (see above).

        Returns
        -------
        list of dict
            Without pooling: ``{param: value, ... (every parameter), "n", "<m>_mean",
            "<m>_stderr"}``; pooled: ``{by-param: value, ..., "n" (runs), "n_groups" (G),
            "<m>_mean", "<m>_stderr", "<m>_spread"}``. Non-finite values (diverged runs) are left
            out of the statistics and counted in ``"<m>_n_nonfinite"``. Records are in grid order.

        Raises
        ------
        ValueError
            ``by`` names something that is not a parameter of the study.
        """
        names = self.parameters()
        if by is None:
            by = list(names)
        by = [by] if isinstance(by, str) else list(by)
        unknown = [b for b in by if b not in names]
        if unknown:
            raise ValueError(f"`by` names {unknown}, which are not parameters of the study ({sorted(names)}).")
        if len(set(by)) != len(by):
            raise ValueError(f"`by` names a parameter twice; got {by}.")
        rest = [k for k in names if k not in by]
        records = self.results()
        metrics = [k for k in (records[0] if records else {})
                   if k not in names and k != "seed" and isinstance(records[0][k], (int, float))
                   and not isinstance(records[0][k], bool)]

        def key(r, keys):
            return tuple(json.dumps(r.get(k), sort_keys=True) for k in keys)

        configurations: dict = {}
        for r in records:
            configurations.setdefault(key(r, by + rest), []).append(r)
        stats = {}
        for k, rows in configurations.items():
            entry = {name: json.loads(v) for name, v in zip(by + rest, k)}
            entry["n"] = len(rows)
            for m in metrics:
                values = np.array([row[m] if isinstance(row.get(m), (int, float)) else np.nan
                                   for row in rows], dtype=float)
                finite = values[np.isfinite(values)]
                entry[f"{m}_mean"] = float(finite.mean()) if finite.size else float("nan")
                entry[f"{m}_stderr"] = (float(finite.std(ddof=1) / math.sqrt(finite.size))
                                        if finite.size > 1 else float("nan"))
                if finite.size < values.size:
                    entry[f"{m}_n_nonfinite"] = int(values.size - finite.size)
            stats[k] = entry
        if not pool:
            return list(stats.values())
        pooled: dict = {}
        for k, entry in stats.items():
            pooled.setdefault(k[:len(by)], []).append(entry)
        out = []
        for k, entries in pooled.items():
            record = {name: json.loads(v) for name, v in zip(by, k)}
            record["n"] = sum(e["n"] for e in entries)
            record["n_groups"] = len(entries)
            for m in metrics:
                means = np.array([e[f"{m}_mean"] for e in entries])
                errors = np.array([e[f"{m}_stderr"] for e in entries])
                ok = np.isfinite(means)
                count = int(ok.sum())
                record[f"{m}_mean"] = float(means[ok].mean()) if count else float("nan")
                record[f"{m}_stderr"] = (float(math.sqrt(np.sum(errors[ok] ** 2)) / count)
                                         if count else float("nan"))
                record[f"{m}_spread"] = float(means[ok].std(ddof=1)) if count > 1 else float("nan")
                nonfinite = sum(e.get(f"{m}_n_nonfinite", 0) for e in entries)
                if nonfinite:
                    record[f"{m}_n_nonfinite"] = nonfinite
            out.append(record)
        return out

    def to_pandas(self):
        try:
            import pandas as pd
        except ImportError as exc:
            raise LemmataError("to_pandas() needs pandas: pip install pandas.") from exc
        return pd.DataFrame.from_records(self.results())

    def to_csv(self, path) -> Path:
        import csv
        records = self.results()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        columns = list(dict.fromkeys(k for r in records for k in r))
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(records)
        return path

    def to_parquet(self, path) -> Path:
        path = Path(path)
        try:
            self.to_pandas().to_parquet(path)
        except ImportError as exc:
            raise LemmataError("to_parquet() needs pandas and pyarrow: pip install pandas pyarrow.") from exc
        return path

    def export(self, path) -> Path:
        """Write the results to ``path``: ``.csv`` or ``.parquet`` by extension."""
        suffix = Path(path).suffix.lower()
        if suffix == ".csv":
            return self.to_csv(path)
        if suffix in (".parquet", ".pq"):
            return self.to_parquet(path)
        raise ValueError(f"`export` path must end in .csv or .parquet; got {str(path)!r}.")

    def plot(self, metric: str, x: str, hue: str | None = None, *, facet: str | None = None,
             path=None, logx=False, logy=False, labels=None, reference=None, pool: bool = False,
             diverged: str | None = "diverged"):
        """The usual figure: mean of ``metric`` against parameter ``x`` with error bars of one
        standard error over seeds (see :meth:`summary`), one line per value of ``hue``, one
        panel per value of ``facet``.

        A grid parameter named neither ``x``, ``hue`` nor ``facet`` that takes several values
        gets a line per value too (never averaged in silently), unless ``pool=True``: then
        the pooled mean is drawn with its seed standard error as error bars and the spread
        between the pooled configurations as a shaded band. Points where runs diverged (the
        metric non-finite, or a boolean result named by ``diverged`` true) or failed (the task
        raised) are marked with a cross and the count "bad/runs"; a point whose every run
        diverged or failed is drawn at the top edge of its panel.

        Parameters
        ----------
        metric, x, hue, facet : str
            A numeric result and grid parameters.
        path : path, optional
            Save the figure there (PNG/PDF by extension) and close it.
        logx, logy : bool
        labels : mapping, optional
            Display names for parameters and results, e.g. ``{"sigma_L": r"$\\sigma/L$"}``
            (matplotlib mathtext allowed); default the raw names.
        reference : callable or Derivation, optional
            A closed form drawn dashed over every line: ``reference(x_values, **fixed)``
            receiving, of the line's fixed parameters, those its signature names (all with
            ``**kwargs``); or a :class:`~lemmata.analysis.Derivation` whose symbols are named
            as the parameters (``x`` and any held fixed on the line), evaluated compiled.
        pool : bool
            Pool over the parameters not named (see :meth:`summary`).
        diverged : str or None
            Name of a boolean result that marks a diverged run.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib
        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        names = self.parameters()
        for role, value in (("x", x), ("hue", hue), ("facet", facet)):
            if value is not None and value not in names:
                raise ValueError(f"`{role}` must be a parameter of the study ({sorted(names)}); got {value!r}.")
        named = [p for p in dict.fromkeys([x, hue, facet]) if p]
        rows = self.summary(named, pool=pool)
        if not rows:
            raise LemmataError(f"study {self.name!r} has no finished results to plot.")
        if f"{metric}_mean" not in rows[0]:
            raise ValueError(f"`metric` {metric!r} is not a numeric result of the study; "
                             f"results: {sorted(k[:-5] for k in rows[0] if k.endswith('_mean'))}.")
        label = _labeller(labels, names + [k[:-5] for k in rows[0] if k.endswith("_mean")])
        fixed_keys = [p for p in names if p not in named and not pool]
        varying = [p for p in fixed_keys if len({json.dumps(r[p]) for r in rows}) > 1]
        constants = {p: rows[0][p] for p in names if p not in named and p not in varying and not pool}
        line_keys = [p for p in (hue, *varying) if p]
        bad = self._bad_runs(metric, [p for p in (x, hue, facet, *varying) if p], diverged)

        panels = sorted({json.dumps(r[facet]) for r in rows}, key=_natural) if facet else [None]
        fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.0), squeeze=False)
        for ax, panel in zip(axes[0], panels):
            handles = {}
            mine = [r for r in rows if facet is None or json.dumps(r[facet]) == panel]
            lines = sorted({tuple(json.dumps(r[p]) for p in line_keys) for r in mine}, key=_natural)
            for level in lines:
                line = sorted((r for r in mine if tuple(json.dumps(r[p]) for p in line_keys) == level),
                              key=lambda r: r[x])
                xs = np.array([r[x] for r in line], dtype=float)
                ys = np.array([r[f"{metric}_mean"] for r in line], dtype=float)
                es = np.array([r[f"{metric}_stderr"] for r in line], dtype=float)
                text = ", ".join(f"{label(p)} = {json.loads(v)}" for p, v in zip(line_keys, level)) or None
                drawn = ax.errorbar(xs, ys, yerr=np.where(np.isfinite(es), es, 0.0), marker="o", ms=3.5,
                                    capsize=2.5, lw=1.3, label=text)
                colour = drawn[0].get_color()
                if pool and f"{metric}_spread" in line[0]:
                    spread = np.array([r[f"{metric}_spread"] for r in line], dtype=float)
                    if np.isfinite(spread).any():
                        ax.fill_between(xs, ys - spread, ys + spread, color=colour, alpha=0.15, lw=0)
                        handles["spread"] = Patch(color="grey", alpha=0.3,
                                                  label="spread between pooled configurations")
                for r, xv, yv in zip(line, xs, ys):
                    k = tuple(json.dumps(r.get(p)) for p in (x, hue, facet, *varying) if p)
                    n_bad, n_runs = bad.get(k, (0, r["n"]))
                    if not n_bad:
                        continue
                    top = not np.isfinite(yv)
                    where = (xv, 0.97) if top else (xv, yv)
                    transform = ax.get_xaxis_transform() if top else ax.transData
                    ax.plot(*where, marker="x", ms=8, mew=2, color=colour, transform=transform, clip_on=False)
                    ax.annotate(f"{n_bad}/{n_runs}", where, xycoords=transform, xytext=(4, -10 if top else 4),
                                textcoords="offset points", fontsize=7, color=colour)
                    handles["bad"] = Line2D([], [], ls="none", marker="x", mew=2, color="grey",
                                            label="runs diverged or failed (bad/runs)")
                if reference is not None:
                    fixed = {**constants, **{p: json.loads(v) for p, v in zip(line_keys, level)}}
                    if facet:
                        fixed[facet] = json.loads(panel)
                    dense = (np.geomspace(xs.min(), xs.max(), 200) if logx and xs.min() > 0
                             else np.linspace(xs.min(), xs.max(), 200))
                    ax.plot(dense, _reference_values(reference, x, dense, fixed, metric), ls="--", lw=1.0,
                            color="black", zorder=5)
                    handles["reference"] = Line2D([], [], ls="--", lw=1.0, color="black", label="closed form")
            ax.set_xlabel(label(x))
            ax.set_ylabel(f"{label(metric)}  ({'pooled mean ± seed s.e.' if pool else 'mean ± s.e.'})")
            if facet:
                ax.set_title(f"{label(facet)} = {json.loads(panel)}")
            ax.set_xscale("log" if logx else "linear")
            ax.set_yscale("log" if logy else "linear")
            ax.grid(alpha=0.25, lw=0.5)
            own, _ = ax.get_legend_handles_labels()
            extra = list(handles.values())
            if own or extra:
                ax.legend(handles=own + extra, fontsize=7.5, title=None)
        fig.tight_layout()
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=130)
            plt.close(fig)
        return fig

    def _bad_runs(self, metric, keys, diverged) -> dict:
        """``{(json values of keys): (diverged or failed runs, all runs)}``."""
        counts: dict = {}
        for r in self.results():
            k = tuple(json.dumps(r.get(p)) for p in keys)
            value = r.get(metric)
            is_bad = not (isinstance(value, (int, float)) and math.isfinite(value)) or \
                (diverged is not None and r.get(diverged) is True)
            n_bad, n = counts.get(k, (0, 0))
            counts[k] = (n_bad + is_bad, n + 1)
        for r in self.errors():
            k = tuple(json.dumps(r.get(p)) for p in keys)
            n_bad, n = counts.get(k, (0, 0))
            counts[k] = (n_bad + 1, n + 1)
        return counts


def _natural(value):
    """Sort key for json-encoded values: numbers by value, then strings."""
    decoded = json.loads(value) if isinstance(value, str) else value
    if isinstance(decoded, tuple) or isinstance(value, tuple):
        return tuple(_natural(v) for v in value)
    if isinstance(decoded, (int, float)) and not isinstance(decoded, bool):
        return (0, float(decoded), "")
    return (1, 0.0, str(decoded))


def _labeller(labels, known):
    if labels is None:
        return lambda name: name
    if not isinstance(labels, Mapping):
        raise TypeError(f"`labels` must be a mapping of names to display names; got {type(labels).__name__}.")
    unknown = sorted(str(k) for k in labels if k not in known)
    if unknown:
        raise ValueError(f"`labels` names {unknown}, which are neither parameters nor results of the "
                         f"study ({sorted(known)}).")
    bad = [k for k, v in labels.items() if not isinstance(v, str)]
    if bad:
        raise TypeError(f"`labels` values must be strings; got {labels[bad[0]]!r} for {bad[0]!r}.")
    return lambda name: labels.get(name, name)


def _reference_values(reference, x, xs, fixed, metric):
    """The closed form on the dense grid ``xs`` of one line (see :meth:`Study.plot`)."""
    from lemmata.analysis.derivation import Derivation

    if isinstance(reference, Derivation):
        from .codegen import compile_kernel

        names = [s.name for s in reference.symbols]
        values = {x: xs, **{k: v for k, v in fixed.items() if k in names}}
        missing = [n for n in names if n not in values]
        if missing:
            raise ValueError(f"`reference` {reference.name!r} needs {missing}, which are neither `x` "
                             f"({x!r}) nor parameters held fixed on the line ({sorted(fixed)}).")
        exprs = reference.names
        if len(exprs) != 1 and metric not in exprs:
            raise ValueError(f"`reference` {reference.name!r} has expressions {list(exprs)}; give it one, "
                             f"or one named like the metric {metric!r}.")
        out = compile_kernel(reference, "numpy")(**{n: values[n] for n in names})
        out = out[metric] if isinstance(out, dict) else out
    elif callable(reference):
        try:
            signature = inspect.signature(reference)
            takes_all = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
            kwargs = fixed if takes_all else {k: v for k, v in fixed.items() if k in signature.parameters}
        except (TypeError, ValueError):
            kwargs = {}
        out = reference(xs, **kwargs)
    else:
        raise TypeError(f"`reference` must be a callable or a lemmata Derivation; got {type(reference).__name__}.")
    out = np.broadcast_to(np.asarray(out, dtype=float), xs.shape)
    return out


def _task_id(params: dict, seed: int, version: str) -> str:
    payload = json.dumps({"params": params, "seed": seed, "version": version}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _expand_grid(grid) -> list:
    if isinstance(grid, dict):
        if not grid:
            raise ValueError("`grid` must name at least one parameter; got an empty dict.")
        for key, values in grid.items():
            _check_param_name(key)
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                raise ValueError(f"`grid[{key!r}]` must be a list of values; got {values!r}.")
            if len(list(values)) == 0:
                raise ValueError(f"`grid[{key!r}]` is an empty list: the study would have no tasks.")
        keys = list(grid)
        points = [dict(zip(keys, combo)) for combo in itertools.product(*(list(grid[k]) for k in keys))]
    elif isinstance(grid, (list, tuple)):
        if not grid:
            raise ValueError("`grid` must hold at least one point; got an empty list.")
        points = []
        for point in grid:
            if not isinstance(point, dict):
                raise ValueError(f"`grid` points must be dicts; got {point!r}.")
            for key in point:
                _check_param_name(key)
            points.append(dict(point))
    else:
        raise TypeError(f"`grid` must be a dict of lists or a list of dicts; got {type(grid).__name__}.")
    return [{k: _jsonable(k, v) for k, v in p.items()} for p in points]


def _check_param_name(key):
    if not isinstance(key, str) or not key.isidentifier():
        raise ValueError(f"grid parameter names must be identifiers; got {key!r}.")
    if key == "seed":
        raise ValueError("`grid` must not contain 'seed': seeds are given by `seeds`.")


def _seed_list(seeds) -> list:
    if isinstance(seeds, (Integral, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"`seeds` must be a positive count or a list of seeds; got {seeds!r}.")
        return list(range(int(seeds)))
    values = list(seeds)
    if not values or any(isinstance(s, bool) or not isinstance(s, (Integral, np.integer)) or s < 0
                         for s in values):
        raise ValueError(f"`seeds` must be a positive count or a non-empty list of non-negative "
                         f"integers; got {seeds!r}.")
    if len(set(values)) != len(values):
        raise ValueError(f"`seeds` must not repeat; got {seeds!r}.")
    return [int(s) for s in values]


# ------------------------------------------------------------------------------ TOML specs
@dataclass(frozen=True)
class StudySpec:
    """A study described in TOML (see :func:`load_spec`)."""

    study: Study
    figure: dict
    path: Path


_STUDY_KEYS = {"name", "function", "store", "seeds", "version", "search_path", "executor"}
_FIGURE_KEYS = {"path", "metric", "x", "hue", "facet", "logx", "logy", "labels", "pool"}


def load_spec(path, *, new_version: bool = False) -> StudySpec:
    """Read a study spec. Paths inside it are relative to the spec's folder, which is also the
    default ``search_path`` for its function::

        [study]
        name = "ngn-sensitivity"
        function = "ngn_study:final_gap"      # module:function
        store = "out/ngn_sensitivity.sqlite"
        seeds = 3                             # or a list of seeds
        version = "1"                         # optional; default: hash of the function source

        [grid]                                # Cartesian product of the lists
        sigma_L = [0.01, 0.1, 1.0]

        [figure]                              # optional
        path = "out/ngn_sensitivity.png"
        metric = "final_gap"
        x = "sigma_L"
        hue = "optimizer"                     # optional: one line per value
        facet = "problem"                     # optional: one panel per value
        logx = true
        logy = true
        pool = false                          # optional: see Study.summary

        [figure.labels]                       # optional: display names (mathtext allowed)
        sigma_L = '$\\sigma / L$'
        final_gap = '$f(x_K) - f^\\star$'

    The figure is drawn by :meth:`Study.plot` with ``metric`` and ``x`` and the optional keys
    as keyword arguments (``StudySpec.figure``).
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    path = Path(path)
    if not path.is_file():
        raise LemmataError(f"study spec {str(path)!r} does not exist.")
    try:
        spec = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise LemmataError(f"study spec {str(path)!r} is not valid TOML: {exc}.") from exc
    section = spec.get("study")
    if not isinstance(section, dict):
        raise LemmataError(f"study spec {str(path)!r} needs a [study] table.")
    missing = [k for k in ("name", "function", "store") if k not in section]
    if missing:
        raise LemmataError(f"[study] in {str(path)!r} is missing {missing}.")
    unknown = sorted(set(section) - _STUDY_KEYS)
    if unknown:
        raise LemmataError(f"[study] in {str(path)!r} has unknown keys {unknown}; allowed {sorted(_STUDY_KEYS)}.")
    if "grid" not in spec:
        raise LemmataError(f"study spec {str(path)!r} needs a [grid] table (or [[grid]] points).")
    figure = spec.get("figure", {})
    unknown = sorted(set(figure) - _FIGURE_KEYS)
    if unknown:
        raise LemmataError(f"[figure] in {str(path)!r} has unknown keys {unknown}; allowed {sorted(_FIGURE_KEYS)}.")
    labels = figure.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise LemmataError(f"[figure.labels] in {str(path)!r} must be a table of display names "
                           f"(strings); got {labels!r}.")
    for key in ("logx", "logy", "pool"):
        if key in figure and not isinstance(figure[key], bool):
            raise LemmataError(f"[figure] {key} in {str(path)!r} must be true or false; got {figure[key]!r}.")
    base = path.resolve().parent
    search = [base / p for p in section.get("search_path", ["."])]
    study = Study(section["function"], spec["grid"], seeds=section.get("seeds", 1),
                  name=section["name"], store=(base / section["store"]).resolve(), version=section.get("version"),
                  new_version=new_version, search_path=search)
    figure = dict(figure)
    if "path" in figure:
        figure["path"] = (base / figure["path"]).resolve()
    return StudySpec(study, figure, path)
