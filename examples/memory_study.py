"""Task function of the curse-of-memory sweep (``examples/memory_sweep.toml``): one Monte Carlo
estimate of E[h^2] and E[(d_p(gamma h))^2] with its closed form and z-scores.

    lemmata study examples/memory_sweep.toml --export out/memory_sweep.csv
"""

from __future__ import annotations

import functools

from lemmata.analysis import recurrence
from lemmata.numerics import compile_kernel
from lemmata.numerics.recurrence import simulate_moments


@functools.lru_cache(maxsize=None)
def _closed_form(normalization: str, parametrization: str):
    return compile_kernel(recurrence.memory_moments(normalization, parametrization), "numpy")


def moments(lam: float, rho: float, normalization: str, parametrization: str, seed: int,
            n_paths: int = 4000) -> dict:
    mc = simulate_moments(lam, rho, n_paths=n_paths, seed=seed, normalization=normalization,
                          parametrization=parametrization)
    exact = _closed_form(normalization, parametrization)(lam, rho)
    out = {}
    for key in ("E_h2", "E_dh2"):
        value = float(exact[key])
        out[f"{key}_mc"] = mc[key].value
        out[f"{key}_stderr"] = mc[key].stderr
        out[f"{key}_closed_form"] = value
        out[f"{key}_z"] = (mc[key].value - value) / mc[key].stderr
    return out
