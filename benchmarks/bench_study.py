"""Overhead per task of the study runner (SQLite commit per task, hashing, bookkeeping) against a
bare Python loop over the same tasks, for 1 ms and 10 ms tasks: in-process, and on a Dask
LocalCluster with 2 worker processes (including its start-up, reported separately)."""

from __future__ import annotations

import pathlib
import tempfile
import time

from _harness import table

from lemmata.numerics.study import Study

HERE = pathlib.Path(__file__).resolve().parent


def spin(duration: float, i: int, seed: int) -> dict:
    """Busy-wait ``duration`` seconds (sleep is too coarse at 1 ms)."""
    end = time.perf_counter() + duration
    while time.perf_counter() < end:
        pass
    return {"i": i, "seed": seed}


def _study(folder, duration, n, name):
    return Study("bench_study:spin", {"duration": [duration], "i": list(range(n))}, seeds=1,
                 name=name, store=pathlib.Path(folder) / f"{name}.sqlite", version="1",
                 search_path=[HERE])


def main() -> str:
    from dask.distributed import Client, LocalCluster

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None, host="127.0.0.1")
        client = Client(cluster)
        startup = time.perf_counter() - start
        client.run(lambda: __import__("lemmata.numerics.study"))      # warm the workers' imports
        try:
            for duration, n in ((0.001, 500), (0.010, 200)):
                start = time.perf_counter()
                for i in range(n):
                    spin(duration, i, 0)
                bare = time.perf_counter() - start

                inline = _study(folder, duration, n, f"inline{n}")
                inline_time = inline.run("inline", progress=False).seconds

                dask = _study(folder, duration, n, f"dask{n}")
                dask_time = dask.run("dask", scheduler=client, progress=False).seconds
                assert dask.results() == inline.results()

                rows.append((f"{duration * 1e3:g} ms x {n}", f"{bare:.3f}",
                             f"{inline_time:.3f}", f"{(inline_time - bare) / n * 1e3:.3f}",
                             f"{dask_time:.3f}", f"{(dask_time - bare / 2) / n * 1e3:.3f}"))
        finally:
            client.close()
            cluster.close()
    text = [table(rows, ["tasks", "bare loop s", "inline s", "inline overhead ms/task",
                         "dask (2 workers) s", "dask overhead ms/task vs bare/2"]), "",
            f"Dask LocalCluster start-up (2 processes): {startup:.2f} s (not included above).",
            "Target: < 2 ms overhead per task in-process: "
            + ("reached" if all(float(r[3]) < 2 for r in rows) else "missed") + "."]
    return "\n".join(text)


if __name__ == "__main__":
    print(main())
