"""Scripted Monte Carlo studies: a function over a parameter grid x seeds, every finished task
kept in an embedded SQLite store, resumable after any interruption, runnable in-process, in
local processes or on a Dask cluster without change.

A task is one ``(params, seed)``; its key is a hash of the parameters, the seed and the study's
code ``version``. The driver is the only writer: each result is committed the moment it arrives,
so a Ctrl-C, a ``kill -9`` or a crashed worker loses at most the tasks still running, and
``run()`` again executes exactly the missing ones.

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

import hashlib
import importlib
import inspect
import itertools
import json
import math
import os
import sqlite3
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from numbers import Integral, Real
from pathlib import Path
from typing import Callable

import numpy as np

from lemmata.analysis.errors import LemmataError

__all__ = ["Study", "RunSummary", "StudySpec", "StoreError", "load_spec", "resolve_function", "EXECUTORS"]

EXECUTORS = ("inline", "processes", "dask")
_FORMAT = "lemmata-study"
_FORMAT_VERSION = "1"
_MAX_ARRAY = 10_000


class StoreError(LemmataError):
    """The store file is corrupted, foreign, or belongs to another study or code version."""


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


# ------------------------------------------------------------------------------ store
def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


class _Store:
    def __init__(self, path: Path, name: str, version: str, function: str, new_version: bool):
        self.path = path
        existed = path.exists() and path.stat().st_size > 0
        if existed:
            with open(path, "rb") as handle:
                if handle.read(16) != b"SQLite format 3\x00":
                    raise StoreError(f"`store` {str(path)!r} is not a SQLite file (corrupted or foreign); "
                                     f"refusing to touch it.")
            # inspect read-only first: even switching the journal mode would write to the file
            try:
                probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
                try:
                    tables = {r[0] for r in probe.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                    meta = dict(probe.execute("SELECT key, value FROM lemmata_meta")) \
                        if "lemmata_meta" in tables else {}
                finally:
                    probe.close()
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"`store` {str(path)!r} cannot be read as a study store: {exc}.") from exc
            if "lemmata_meta" not in tables or meta.get("format") != _FORMAT:
                raise StoreError(f"`store` {str(path)!r} is a SQLite database of something else (tables "
                                 f"{sorted(tables)}); refusing to write into it.")
            if meta.get("name") != name:
                raise StoreError(f"`store` {str(path)!r} belongs to study {meta.get('name')!r}, "
                                 f"not {name!r}; use another store file.")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = _connect(path)
        if not existed:
            self._create(name, version, function)
        self._check(name, version, new_version)

    def _create(self, name, version, function):
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("CREATE TABLE lemmata_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.db.execute("""CREATE TABLE tasks (
                task_id TEXT PRIMARY KEY, version TEXT NOT NULL, ordinal INTEGER NOT NULL,
                params TEXT NOT NULL, seed INTEGER NOT NULL, status TEXT NOT NULL,
                result TEXT, error TEXT, seconds REAL, finished_at TEXT NOT NULL)""")
            now = datetime.now(timezone.utc).isoformat()
            self.db.executemany("INSERT INTO lemmata_meta VALUES (?, ?)", [
                ("format", _FORMAT), ("format_version", _FORMAT_VERSION), ("name", name),
                ("version", version), ("function", function), ("created", now)])
            self.db.execute("COMMIT")

    def meta(self) -> dict:
        return dict(self.db.execute("SELECT key, value FROM lemmata_meta"))

    def _check(self, name, version, new_version):
        meta = self.meta()
        if meta.get("format") != _FORMAT:
            raise StoreError(f"`store` {str(self.path)!r} is not a lemmata study store.")
        if meta.get("name") != name:
            raise StoreError(f"`store` {str(self.path)!r} belongs to study {meta.get('name')!r}, "
                             f"not {name!r}; use another store file.")
        if meta.get("version") != version:
            if not new_version:
                raise StoreError(
                    f"`store` {str(self.path)!r} holds study {name!r} at code version "
                    f"{meta.get('version')!r}, but this is version {version!r}. Nothing was overwritten. "
                    f"Pass new_version=True (CLI: --new-version) to start the new version in this "
                    f"store (old results stay, under their version), or use another store.")
            with self.db:
                self.db.execute("UPDATE lemmata_meta SET value=? WHERE key='version'", (version,))

    def finished(self, version: str, include_errors: bool) -> set:
        statuses = ("done", "error") if include_errors else ("done",)
        marks = ",".join("?" * len(statuses))
        rows = self.db.execute(f"SELECT task_id FROM tasks WHERE version=? AND status IN ({marks})",
                               (version, *statuses))
        return {r[0] for r in rows}

    def record(self, task, version, status, result, error, seconds):
        self.db.execute(
            "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (task.task_id, version, task.ordinal, json.dumps(task.params), task.seed,
             status, None if result is None else json.dumps(result), error, seconds,
             datetime.now(timezone.utc).isoformat()))

    def rows(self, version: str, status: str):
        return self.db.execute(
            "SELECT params, seed, result, error, seconds FROM tasks WHERE version=? AND status=? "
            "ORDER BY ordinal", (version, status)).fetchall()


# ------------------------------------------------------------------------------ study
@dataclass(frozen=True)
class _Task:
    task_id: str
    ordinal: int
    params: dict
    seed: int


@dataclass(frozen=True)
class RunSummary:
    """What one ``run()`` did: tasks executed now, skipped as already finished, failed now."""

    n_tasks: int
    n_executed: int
    n_skipped: int
    n_errors: int
    seconds: float


class _Progress:
    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled, self.done = total, enabled and total > 0, 0
        self.start = self.last = time.perf_counter()

    def step(self):
        self.done += 1
        now = time.perf_counter()
        if self.enabled and (now - self.last > 0.2 or self.done == self.total):
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            filled = int(30 * self.done / self.total)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} "
                             f"{now - self.start:.1f}s elapsed, ETA {eta:.1f}s ")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


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
            max_workers: int | None = None, retry_errors: bool = False) -> RunSummary:
        """Run every task not yet finished, committing each result as it arrives.

        Parameters
        ----------
        executor : {"inline", "processes", "dask"}
        scheduler : str or dask.distributed.Client, optional
            For ``"dask"``: a scheduler address (``"tcp://host:8786"``) or a client; None starts
            a LocalCluster for the duration of the run.
        progress : bool, optional
            Show a progress bar with ETA on stderr (default: when stderr is a terminal).
        max_workers : int, optional
            Pool size for ``"processes"`` (and for the LocalCluster).
        retry_errors : bool
            Run again the tasks that raised in an earlier run.
        """
        if executor not in EXECUTORS:
            raise ValueError(f"`executor` must be one of {', '.join(map(repr, EXECUTORS))}; got {executor!r}.")
        if scheduler is not None and executor != "dask":
            raise ValueError(f"`scheduler` is only used with executor='dask'; got executor={executor!r}.")
        todo = self.pending(retry_errors)
        bar = _Progress(len(todo), sys.stderr.isatty() if progress is None else progress)
        start = time.perf_counter()
        errors = 0
        runner = {"inline": self._inline, "processes": self._processes, "dask": self._dask}[executor]
        for task, (status, result, error, seconds) in runner(todo, scheduler, max_workers):
            self._store.record(task, self.version, status, result, error, seconds)
            errors += status == "error"
            bar.step()
        return RunSummary(len(self.tasks), len(todo), len(self.tasks) - len(todo), errors,
                          time.perf_counter() - start)

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

    def _inline(self, todo, scheduler, max_workers):
        for task in todo:
            yield task, _run_task(self.fn, self._ref, self.search_path, task.params, task.seed)

    def _processes(self, todo, scheduler, max_workers):
        from concurrent.futures import ProcessPoolExecutor, as_completed

        fn, ref, path = self._payload()
        with ProcessPoolExecutor(max_workers=max_workers) as pool:
            futures = {pool.submit(_run_task, fn, ref, path, t.params, t.seed): t for t in todo}
            try:
                for future in as_completed(futures):
                    yield futures[future], future.result()
            finally:
                for future in futures:
                    future.cancel()

    def _dask(self, todo, scheduler, max_workers):
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
            futures = {}
            for t in todo:
                future = client.submit(_run_task, fn, ref, path, t.params, t.seed, pure=False,
                                       key=f"{self.name}-{t.task_id}")
                futures[future] = t
            try:
                for future in as_completed(list(futures)):
                    yield futures[future], future.result()
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

    def summary(self, by) -> list:
        """Mean and standard error over the remaining keys (seeds, and any parameter not in
        ``by``) of every numeric result, one record per combination of the ``by`` parameters.
        Each record holds ``{param: value, ..., "n": count, "<metric>_mean", "<metric>_stderr"}``."""
        by = [by] if isinstance(by, str) else list(by)
        names = set(self.points[0]) if self.points else set()
        unknown = [b for b in by if b not in names and b != "seed"]
        if unknown:
            raise ValueError(f"`by` names {unknown}, which are not parameters of the study ({sorted(names)}).")
        records = self.results()
        metrics = [k for k in (records[0] if records else {})
                   if k not in names and k != "seed" and isinstance(records[0][k], (int, float))
                   and not isinstance(records[0][k], bool)]
        groups: dict = {}
        for r in records:
            groups.setdefault(tuple(json.dumps(r[b], sort_keys=True) for b in by), []).append(r)
        out = []
        for key, rows in groups.items():
            entry = {b: json.loads(k) for b, k in zip(by, key)}
            entry["n"] = len(rows)
            for m in metrics:
                values = np.array([row[m] for row in rows], dtype=float)
                finite = values[np.isfinite(values)]
                entry[f"{m}_mean"] = float(finite.mean()) if finite.size else float("nan")
                entry[f"{m}_stderr"] = (float(finite.std(ddof=1) / math.sqrt(finite.size))
                                        if finite.size > 1 else float("nan"))
                if finite.size < values.size:
                    entry[f"{m}_n_nonfinite"] = int(values.size - finite.size)
            out.append(entry)
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
             path=None, logx=False, logy=False):
        """The usual figure: mean of ``metric`` against parameter ``x``, one line per value of
        ``hue``, one panel per value of ``facet``, error bars = standard error over seeds (and
        the parameters not named). Saves to ``path`` (PNG/PDF by extension) when given; returns
        the matplotlib Figure."""
        import matplotlib
        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        by = [x] + [p for p in (hue, facet) if p]
        rows = self.summary(by)
        if not rows:
            raise LemmataError(f"study {self.name!r} has no finished results to plot.")
        if f"{metric}_mean" not in rows[0]:
            raise ValueError(f"`metric` {metric!r} is not a numeric result of the study.")
        panels = sorted({r[facet] for r in rows}, key=str) if facet else [None]
        fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
        for ax, panel in zip(axes[0], panels):
            mine = [r for r in rows if facet is None or r[facet] == panel]
            for level in sorted({r.get(hue) for r in mine} if hue else {None}, key=str):
                line = sorted((r for r in mine if not hue or r[hue] == level), key=lambda r: r[x])
                ax.errorbar([r[x] for r in line], [r[f"{metric}_mean"] for r in line],
                            yerr=[r[f"{metric}_stderr"] for r in line], marker="o", ms=3, capsize=2,
                            label=None if level is None else f"{hue}={level}")
            ax.set_xlabel(x)
            ax.set_ylabel(f"{metric} (mean +- s.e.)")
            ax.set_title(self.name if panel is None else f"{self.name}: {facet}={panel}")
            ax.set_xscale("log" if logx else "linear")
            ax.set_yscale("log" if logy else "linear")
            if hue:
                ax.legend(fontsize=8)
        fig.tight_layout()
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=120)
            plt.close(fig)
        return fig


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
_FIGURE_KEYS = {"path", "metric", "x", "hue", "facet", "logx", "logy"}


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
    base = path.resolve().parent
    search = [base / p for p in section.get("search_path", ["."])]
    study = Study(section["function"], spec["grid"], seeds=section.get("seeds", 1),
                  name=section["name"], store=(base / section["store"]).resolve(), version=section.get("version"),
                  new_version=new_version, search_path=search)
    figure = dict(figure)
    if "path" in figure:
        figure["path"] = (base / figure["path"]).resolve()
    return StudySpec(study, figure, path)
