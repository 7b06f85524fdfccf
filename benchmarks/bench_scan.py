"""Diagonal complex scan h_t = a h_{t-1} + b_t, 256 channels x 100,000 steps, complex64 and
complex128: lemmata linear_scan (sequential Numba with a preallocated output; associative in
NumPy) vs a NumPy loop over time vs scipy.signal.lfilter per channel, with a large NumPy copy of
the same bytes as the memory-bandwidth ceiling (bytes read + written)."""

from __future__ import annotations

import numba
import numpy as np
from scipy.signal import lfilter

from _harness import best_of, table

from lemmata.numerics.scan import linear_scan

T, C = 100_000, 256


def numpy_loop(a, b):
    out = np.empty_like(b)
    h = np.zeros(b.shape[1], dtype=b.dtype)
    for t in range(b.shape[0]):
        h = a * h + b[t]
        out[t] = h
    return out


def lfilter_per_channel(a, b):
    out = np.empty_like(b)
    for c in range(b.shape[1]):
        out[:, c] = lfilter([1.0], [1.0, -a[c]], b[:, c])
    return out


def main() -> str:
    rng = np.random.default_rng(0)
    rows = []
    verdicts = []
    for dtype in (np.complex64, np.complex128):
        a = (rng.uniform(0.5, 0.999, C) * np.exp(1j * rng.uniform(0, np.pi, C))).astype(dtype)
        b = (rng.normal(size=(T, C)) + 1j * rng.normal(size=(T, C))).astype(dtype)
        out = np.empty_like(b)
        nbytes = 2 * b.nbytes                            # read b, write h
        linear_scan(a, b[:100], out=out[:100])           # compile outside the timing
        reference = linear_scan(a.astype(np.complex128), b.astype(np.complex128))
        copy_dst = np.empty_like(b)
        np.copyto(copy_dst, b)                            # touch the pages first
        t_copy = best_of(lambda: np.copyto(copy_dst, b), 10)
        t_seq = best_of(lambda: linear_scan(a, b, out=out), 5)
        t_seq_alloc = best_of(lambda: linear_scan(a, b), 3)
        t_assoc = best_of(lambda: linear_scan(a, b, method="associative", backend="numpy"), 1)
        t_loop = best_of(lambda: numpy_loop(a, b), 1)
        t_lfilter = best_of(lambda: lfilter_per_channel(a, b), 1)
        tol = 1e-3 if dtype == np.complex64 else 1e-9
        for name, fn in (("assoc", lambda: linear_scan(a, b, method="associative", backend="numpy")),
                         ("lfilter", lambda: lfilter_per_channel(a, b))):
            err = float(np.max(np.abs(fn() - reference)) / np.max(np.abs(reference)))
            if err > tol:
                raise AssertionError(f"{name} disagrees with the sequential scan: {err}")
        name = np.dtype(dtype).name
        for label, t in (("NumPy copy (ceiling)", t_copy), ("lemmata sequential, out=", t_seq),
                         ("lemmata sequential, allocating", t_seq_alloc),
                         ("lemmata associative (NumPy)", t_assoc), ("NumPy loop over time", t_loop),
                         ("scipy lfilter per channel", t_lfilter)):
            rows.append((name, label, f"{t * 1e3:.1f}", f"{nbytes / t / 1e9:.2f}", f"{t_copy / t:.2f}",
                         f"{t_lfilter / t:.1f}x"))
        verdicts.append(f"{name}: sequential at {t_copy / t_seq:.0%} of copy bandwidth "
                        f"({'reached' if t_copy / t_seq >= 0.6 else 'missed'} >= 60%), "
                        f"{t_lfilter / t_seq:.1f}x lfilter ({'reached' if t_lfilter / t_seq >= 5 else 'missed'} >= 5x)")
    text = [f"{C} channels x {T:,} steps, constant complex a; Numba threads: {numba.config.NUMBA_NUM_THREADS}; "
            f"bandwidth counts bytes read + written (2 x the array).", "",
            table(rows, ["dtype", "implementation", "ms", "GB/s", "fraction of copy", "speed-up vs lfilter"]),
            "", "Targets: " + "; ".join(verdicts) + "."]
    return "\n".join(text)


if __name__ == "__main__":
    print(main())
