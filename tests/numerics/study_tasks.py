"""Task functions for the study tests; imported by name (also by subprocesses and Dask workers)."""

import time

import numpy as np


def noisy_square(x, scale, seed):
    rng = np.random.default_rng(seed)
    return {"y": x * x * scale + rng.normal(), "vec": np.arange(3) * x}


def slow_square(x, seed):
    time.sleep(0.05)
    return {"y": x * x + seed}


def fails_at_two(x, seed):
    if x == 2:
        raise RuntimeError("boom at two")
    return {"y": float(x)}


def not_a_dict(x, seed):
    return [x]


def logged_square(x, seed):
    """Appends "pid x seed" to the file named by $LEMMATA_TEST_LOG (one short O_APPEND write per
    execution, atomic on POSIX), so a test can count executions across processes."""
    import os

    time.sleep(float(os.environ.get("LEMMATA_TEST_SLEEP", "0.05")))
    with open(os.environ["LEMMATA_TEST_LOG"], "a") as handle:
        handle.write(f"{os.getpid()} {x} {seed}\n")
    return {"y": x * x + seed}


#: deviations of the four seeds of `two_factor`: mean 0, sample variance 5/3
SEED_DEVIATIONS = (-1.5, -0.5, 0.5, 1.5)


def two_factor(lr, L, seed):
    """y = 10 L + lr + L d_seed: a grid where pooling over L gives known different answers."""
    return {"y": 10.0 * L + lr + L * SEED_DEVIATIONS[seed]}


def partly_bad(x, seed):
    """Two seeds: x = 2 raises for seed 0; x = 3 is non-finite; x = 4 flags seed 1 as diverged."""
    if x == 2 and seed == 0:
        raise RuntimeError("failed run")
    if x == 3:
        return {"y": float("nan"), "diverged": True}
    return {"y": float(x * x + seed), "diverged": x == 4 and seed == 1}
