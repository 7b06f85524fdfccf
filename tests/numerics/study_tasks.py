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
