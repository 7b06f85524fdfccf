"""Truncated signatures of 1,000 paths x 1,000 points, depth 4 in d = 2 and depth 3 in d = 5:
lemmata (Numba, paths in blocks of 64 innermost; 1 and 2 threads) vs pysiglib (n_jobs 1 and 2),
iisignature and esig (one path per call, the only form it offers), all on the same arrays in one
run, repetitions interleaved (best of 5; esig timed on 100 paths and scaled). Agreement with
iisignature is the max coefficient difference relative to the largest coefficient. Also the
log-signature (Lyndon basis) against iisignature.logsig."""

from __future__ import annotations

import time

import numba
import numpy as np

from _harness import table

from lemmata.numerics.signature import logsignature, signature

CASES = ((2, 4), (5, 3))
BATCH, LENGTH, REPEATS = 1000, 1000, 5


def _interleaved(fns: dict, repeats: int) -> dict:
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def _with_threads(n, fn):
    def run():
        before = numba.get_num_threads()
        numba.set_num_threads(n)
        try:
            return fn()
        finally:
            numba.set_num_threads(before)
    return run


def main() -> str:
    import iisignature
    try:
        import pysiglib
    except ImportError:            # pragma: no cover - optional peer
        pysiglib = None
    try:
        import esig
    except ImportError:            # pragma: no cover - optional peer
        esig = None
    rows, verdicts = [], []
    rng = np.random.default_rng(0)
    threads = min(2, numba.config.NUMBA_NUM_THREADS)
    for d, depth in CASES:
        X = np.cumsum(rng.normal(scale=0.05, size=(BATCH, LENGTH, d)), axis=1)
        ref = iisignature.sig(X, depth)
        scale = np.abs(ref).max()
        ours = signature(X, depth)                      # compiles (or loads the cache)
        agreement = {"lemmata": np.abs(ours - ref).max() / scale}
        fns = {"lemmata (1 thread)": _with_threads(1, lambda: signature(X, depth)),
               f"lemmata ({threads} threads)": _with_threads(threads, lambda: signature(X, depth)),
               "iisignature": lambda: iisignature.sig(X, depth)}
        if pysiglib is not None:
            agreement["pysiglib"] = np.abs(pysiglib.signature(X, depth) - ref).max() / scale
            fns["pysiglib (n_jobs=1)"] = lambda: pysiglib.signature(X, depth, n_jobs=1)
            fns[f"pysiglib (n_jobs={threads})"] = lambda: pysiglib.signature(X, depth, n_jobs=threads)
        timings = _interleaved(fns, REPEATS)
        if esig is not None:
            sub = X[:100]
            agreement["esig"] = max(np.abs(esig.stream2sig(x, depth)[1:] - r).max() for x, r in zip(sub, ref)) / scale
            start = time.perf_counter()
            for x in sub:
                esig.stream2sig(x, depth)
            timings["esig (per path, scaled from 100)"] = (time.perf_counter() - start) * BATCH / 100
        base = timings[f"lemmata ({threads} threads)"]
        for name, t in sorted(timings.items(), key=lambda kv: kv[1]):
            peer = name.split(" ")[0]
            rows.append([f"d={d}, depth {depth}", name, f"{t * 1e3:.1f} ms", f"{t / base:.2f}",
                         f"{agreement[peer]:.1e}" if peer in agreement else ""])
        one = timings["lemmata (1 thread)"]
        if pysiglib is not None:
            r1 = one / timings["pysiglib (n_jobs=1)"]
            r2 = base / timings[f"pysiglib (n_jobs={threads})"]
            verdicts.append(f"d={d}, depth {depth}: lemmata/pysiglib time ratio {r1:.2f} (1 thread), {r2:.2f} "
                            f"({threads} threads) -> target <= 1 "
                            f"{'reached' if max(r1, r2) <= 1 else 'missed' if min(r1, r2) > 1 else 'reached on one thread count only'}")
        verdicts.append(f"d={d}, depth {depth}: iisignature / lemmata = {timings['iisignature'] / one:.1f}x on 1 thread, "
                        f"{timings['iisignature'] / base:.1f}x with {threads} -> target >= 5x "
                        f"{'reached' if timings['iisignature'] / one >= 5 else 'missed'}; agreement "
                        f"{agreement['lemmata']:.1e} (target 1e-12 {'reached' if agreement['lemmata'] <= 1e-12 else 'missed'})")
        # log-signature
        ref_log = iisignature.logsig(X, iisignature.prepare(d, depth))
        ours_log = logsignature(X, depth)
        t_log = _interleaved({"lemmata": lambda: logsignature(X, depth),
                              "iisignature": lambda: iisignature.logsig(X, iisignature.prepare(d, depth))}, 3)
        rows.append([f"d={d}, depth {depth}", "logsig: lemmata / iisignature (incl. prepare)",
                     f"{t_log['lemmata'] * 1e3:.1f} / {t_log['iisignature'] * 1e3:.1f} ms", "",
                     f"{np.abs(ours_log - ref_log).max() / np.abs(ref_log).max():.1e}"])
    text = table(rows, ["case", "implementation", "time", f"/ lemmata ({threads} thr.)", "rel. diff. vs iisignature"])
    return text + "\n\n" + "\n".join(f"- {v}" for v in verdicts)


if __name__ == "__main__":
    print(main())
