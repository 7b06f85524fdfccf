"""Orbit diagram of the 1-D GD map on logistic regression, 100 samples, 4,000 step sizes x 2,000
iterations (the last 200 kept): lemmata's generated Numba loop (1 and 2 threads) vs vectorised
NumPy over the step sizes, and pynamicalsys where it installs."""

from __future__ import annotations

import numba
import numpy as np

from _harness import best_of, table

from lemmata.numerics import orbits
from lemmata.numerics.logistic import logistic_data

N_ETA, N_ITER, N_KEEP = 4000, 2000, 200


def numpy_diagram(z, p, etas, w0):
    w = np.full(etas.size, w0)
    kept = np.empty((N_KEEP, etas.size))
    pz = p * z
    for k in range(N_ITER):
        w = w + etas * np.sum(pz / (1.0 + np.exp(np.outer(w, z))), axis=1)
        if k >= N_ITER - N_KEEP:
            kept[k - (N_ITER - N_KEEP)] = w
    return kept


def main() -> str:
    rng = np.random.default_rng(0)
    x = rng.normal(size=100)
    y = np.where(x + 0.8 * rng.normal(size=100) > 0, 1, -1)
    data = logistic_data(X=x[:, None], y=y)
    etas = np.linspace(0.5, 3.5, N_ETA) / data.lam
    w0 = float(data.minimizer[0]) + 0.1
    gd = data.gd_map()
    run = lambda: orbits.orbit_diagram(gd, etas, np.array([[w0]]), n_transient=N_ITER - N_KEEP,  # noqa: E731
                                       n_keep=N_KEEP, lyapunov=False)
    run()                                                       # compile (cached on disk)
    threads = numba.config.NUMBA_NUM_THREADS
    timings = {}
    for n in sorted({1, threads}):
        numba.set_num_threads(n)
        timings[f"lemmata orbit_diagram (Numba, {n} thread{'s' if n > 1 else ''})"] = best_of(run, 3)
    numba.set_num_threads(threads)
    z, p = data.z[:, 0], data.p
    reference = numpy_diagram(z, p, etas[:50], w0)
    ours = run().points[:50, 0, :, 0].T
    stable = np.max(np.abs(ours[:, :10] - reference[:, :10]))      # the non-chaotic end agrees
    if stable > 1e-9:
        raise AssertionError(f"lemmata and NumPy orbits disagree: {stable}")
    timings["vectorised NumPy (over step sizes)"] = best_of(lambda: numpy_diagram(z, p, etas, w0), 1)
    try:
        import pynamicalsys  # noqa: F401
        note = "pynamicalsys installed, but it has no map of this form built in; not timed."
    except ImportError:
        note = "pynamicalsys did not install here; not timed."
    base = timings["vectorised NumPy (over step sizes)"]
    rows = [(k, f"{t:.3f}", f"{base / t:.1f}x") for k, t in timings.items()]
    best = min(v for k, v in timings.items() if k.startswith("lemmata"))
    text = [f"{N_ETA} step sizes x {N_ITER} iterations (last {N_KEEP} kept), 100 samples; "
            f"{N_ETA * N_ITER * 100 / 1e6:.0f} M sample-evaluations.", "",
            table(rows, ["implementation", "s", "speed-up vs NumPy"]), "", note,
            f"Target >= 10x NumPy: {base / best:.1f}x ({'reached' if base / best >= 10 else 'missed'})."]
    return "\n".join(text)


if __name__ == "__main__":
    print(main())
