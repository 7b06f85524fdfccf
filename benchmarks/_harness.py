"""Timing helpers shared by the benchmarks: best-of-n wall time, machine description."""

from __future__ import annotations

import os
import platform
import time


def best_of(fn, repeats: int = 5) -> float:
    """Minimum wall time of ``fn()`` over ``repeats`` runs (the least disturbed run)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def machine() -> str:
    import numba
    import numpy
    import sympy
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"NumPy {numpy.__version__}, Numba {numba.__version__} ({numba.config.NUMBA_NUM_THREADS} "
            f"threads), SymPy {sympy.__version__}")


def table(rows, headers) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
