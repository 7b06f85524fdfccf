"""Euler-Maruyama throughput on dZ = -A Z dt + S dW in 2-D, A = [[1, .5], [-.5, 1]], S = 0.3 I,
10^4 paths x 10^3 steps: the kernel lemmata generates (lemmata.numerics.sde.simulate), a hand-written Numba
kernel with the same random streams, vectorised NumPy, torchsde (CPU) and sdeint (fewer paths,
extrapolated), with the standalone normal-generator throughput on the same cores as the ceiling."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import sympy as sp

from _harness import best_of, table

from lemmata.analysis.sde import SDE
from lemmata.numerics.sde import CHUNK, simulate
from lemmata.numerics.stats import child_seed

N_PATHS, N_STEPS, DT = 10_000, 1_000, 1e-3
A = np.array([[1.0, 0.5], [-0.5, 1.0]])


@numba.njit(cache=True, nogil=True)
def _hand_chunk(state, dt, n_steps, rng):
    P = state.shape[1]
    sq = np.sqrt(dt)
    dw = np.empty((2, P))
    for _ in range(n_steps):
        for j in range(2):
            for p in range(P):
                dw[j, p] = sq * rng.standard_normal()
        for p in range(P):
            x, y = state[0, p], state[1, p]
            state[0, p] = x + (-x - 0.5 * y) * dt + 0.3 * dw[0, p]
            state[1, p] = y + (0.5 * x - y) * dt + 0.3 * dw[1, p]


def hand_written(threads):
    def work(c):
        lo, hi = c * CHUNK, min(N_PATHS, (c + 1) * CHUNK)
        state = np.ones((2, hi - lo))
        _hand_chunk(state, DT, N_STEPS, np.random.default_rng(child_seed(0, c)))
        return state
    with ThreadPoolExecutor(threads) as pool:
        return np.concatenate(list(pool.map(work, range((N_PATHS + CHUNK - 1) // CHUNK))), axis=1)


@numba.njit(cache=True, nogil=True)
def _normals(rng, out):
    for i in range(out.size):
        out[i] = rng.standard_normal()


def rng_ceiling(threads):
    """Normals per second from numpy Generators inside Numba, one per thread (buffers of 64 K
    reused, so the figure is the generator's, not page faults')."""
    per, rounds = 1 << 16, 150
    bufs = [np.ones(per) for _ in range(threads)]
    gens = [np.random.default_rng(i) for i in range(threads)]
    _normals(gens[0], bufs[0][:10])

    def work(i):
        for _ in range(rounds):
            _normals(gens[i], bufs[i])
    with ThreadPoolExecutor(threads) as pool:
        seconds = best_of(lambda: list(pool.map(work, range(threads))), 3)
    return threads * per * rounds / seconds


def numpy_em(n_paths=N_PATHS):
    rng = np.random.default_rng(0)
    z = np.ones((n_paths, 2))
    sq = np.sqrt(DT)
    for _ in range(N_STEPS):
        z = z - DT * z @ A.T + 0.3 * sq * rng.standard_normal((n_paths, 2))
    return z


def main() -> str:
    threads = os.cpu_count() or 1
    x, y = sp.symbols("x y", real=True)
    sde = SDE("ou2", (x, y), (), {"drift": sp.Matrix([-x - sp.Rational(1, 2) * y, sp.Rational(1, 2) * x - y]),
                                   "diffusion": sp.Matrix([[sp.Rational(3, 10), 0], [0, sp.Rational(3, 10)]]),
                                   "covariance": sp.eye(2) * sp.Rational(9, 100)})
    run = lambda: simulate(sde, [1.0, 1.0], t1=N_STEPS * DT, dt=DT, n_paths=N_PATHS, seed=0)  # noqa: E731
    run()
    hand_written(threads)
    steps = N_PATHS * N_STEPS
    timings = {"lemmata simulate (generated)": best_of(run, 3),
               "hand-written Numba": best_of(lambda: hand_written(threads), 3),
               "vectorised NumPy": best_of(numpy_em, 1)}
    try:
        import torch
        import torchsde

        class OU(torch.nn.Module):
            noise_type, sde_type = "diagonal", "ito"

            def f(self, t, z):
                return -z @ torch.tensor(A.T)

            def g(self, t, z):
                return 0.3 * torch.ones_like(z)
        torch.set_num_threads(threads)
        z0 = torch.ones(N_PATHS, 2, dtype=torch.float64)
        ts = torch.tensor([0.0, N_STEPS * DT], dtype=torch.float64)
        timings["torchsde (CPU, euler)"] = best_of(
            lambda: torchsde.sdeint(OU(), z0, ts, method="euler", dt=DT), 1)
    except ImportError:
        pass
    try:
        import sdeint
        few = 20
        f = lambda z, t: -A @ z  # noqa: E731
        G = lambda z, t: 0.3 * np.eye(2)  # noqa: E731
        tspan = np.linspace(0.0, N_STEPS * DT, N_STEPS + 1)
        t_few = best_of(lambda: [sdeint.itoEuler(f, G, np.ones(2), tspan) for _ in range(few)], 1)
        timings[f"sdeint itoEuler ({few} paths, extrapolated)"] = t_few * N_PATHS / few
    except ImportError:
        pass
    ceiling = rng_ceiling(threads)
    ours = timings["lemmata simulate (generated)"]
    rows = [(k, f"{t:.3f}", f"{steps / t / 1e6:.0f}", f"{t / ours:.2f}") for k, t in timings.items()]
    fraction = (steps / ours) / (ceiling / 2)
    verdicts = [f"generated / hand-written = {ours / timings['hand-written Numba']:.2f} (target <= 1.15)",
                f"NumPy / generated = {timings['vectorised NumPy'] / ours:.1f}x (target >= 3x)"]
    if "torchsde (CPU, euler)" in timings:
        verdicts.append(f"torchsde / generated = {timings['torchsde (CPU, euler)'] / ours:.0f}x (target >= 20x)")
    verdicts.append(f"{fraction:.0%} of the RNG ceiling (2 normals per path-step; target >= 50%)")
    return "\n".join([f"{N_PATHS:,} paths x {N_STEPS:,} steps = {steps / 1e6:.0f} M path-steps; {threads} threads; "
                      f"RNG ceiling {ceiling / 1e6:.0f} M normals/s = {ceiling / 2e6:.0f} M path-steps/s.", "",
                      table(rows, ["implementation", "s", "M path-steps/s", "time vs lemmata"]), "",
                      "Targets: " + "; ".join(verdicts) + "."])


if __name__ == "__main__":
    print(main())
