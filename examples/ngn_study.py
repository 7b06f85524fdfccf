"""Task function of the NGN step-size sweep study (``examples/ngn_sweep.toml``).

One task = one optimiser at one step size on one problem with one seed; ``lemmata study`` runs
the grid, keeps every finished task in SQLite and resumes after an interruption:

    lemmata study examples/ngn_sweep.toml --export out/ngn_sweep.csv
    lemmata study examples/ngn_sweep.toml --executor dask          # the same, on a LocalCluster
"""

from __future__ import annotations

import functools

import numpy as np

from ngn_stepsize_sensitivity import OPTIMIZERS, make_problems
from lemmata.numerics import optim

NAMES = {"ngn": "NGN (sigma)", "sgd": "SGD", "sps": "SPS_max", "adagrad": "AdaGrad-norm", "adam": "Adam"}


@functools.lru_cache(maxsize=None)
def _problems():
    return make_problems(0)


def final_gap(problem: str, optimizer: str, step_times_L: float, seed: int, n_steps: int = 500) -> dict:
    """Final optimality gap f(x_K) - f* of one stochastic run (one sample per step)."""
    prob = _problems()[problem]
    step = step_times_L / prob.smoothness
    traj = optim.run(OPTIMIZERS[NAMES[optimizer]](step), prob, np.zeros(prob.dim), n_steps=n_steps,
                     batch_size=1, seed=seed, record_every=n_steps)
    return {"final_gap": float(traj.losses[-1, 0] - prob.f_star), "diverged": bool(traj.diverged[0])}
