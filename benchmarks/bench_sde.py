"""Two SDE benchmarks.

1. Euler-Maruyama throughput on dZ = -A Z dt + S dW in 2-D, A = [[1, .5], [-.5, 1]], S = 0.3 I,
   10^4 paths x 10^3 steps: the kernel lemmata generates (lemmata.numerics.sde.simulate), a
   hand-written Numba kernel with the same random streams, vectorised NumPy, torchsde (CPU) and
   sdeint (fewer paths, extrapolated), with the normal-generator throughput as the ceiling.
2. Time to error 1e-3 on E X_T^2 of geometric Brownian motion (X0 = 1, T = 1): plain Monte Carlo
   with Euler-Maruyama (lemmata, and torchsde's euler, the peer that has the scheme) against plain
   Monte Carlo with the weak order-2 scheme and multilevel Monte Carlo (Milstein). Each plain run
   uses the fewest steps whose exact bias (the scheme's own E Y_n^2, in closed form) is at most
   target/2 and enough paths that 2 standard errors are at most target/2; MLMC is asked for RMS
   error target/2. Runs that would take minutes are timed on a fraction of the paths and scaled
   (Monte Carlo time is linear in the paths); the table says which.
"""

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


# ------------------------------------------------------------------------------ time to a weak error
SETTINGS = {"Giles (mu 0.05, sigma 0.2)": {"mu": 0.05, "s": 0.2}, "harder (mu 0.1, sigma 0.4)": {"mu": 0.1, "s": 0.4}}
TARGET = 1e-3


def scheme_second_moment(method, n, mu, s):
    """E Y_n^2 of the scheme on GBM exactly: Y+ = Y (c0 + c1 xi + c2 xi^2), xi ~ N(0, 1), so
    E Y_n^2 = [(c0 + c2)^2 + c1^2 + 2 c2^2]^n."""
    h = 1.0 / n
    if method == "euler":
        c0, c1, c2 = 1 + mu * h, s * np.sqrt(h), 0.0
    else:
        c0, c1, c2 = 1 + mu * h + mu ** 2 * h ** 2 / 2 - s ** 2 * h / 2, (s + mu * s * h) * np.sqrt(h), s ** 2 * h / 2
    return ((c0 + c2) ** 2 + c1 ** 2 + 2 * c2 ** 2) ** n


def plan(method, mu, s, target=TARGET):
    exact = np.exp(2 * mu + s ** 2)
    n = 1
    while abs(scheme_second_moment(method, n, mu, s) - exact) > target / 2:
        n += 1
    var = np.exp(4 * mu + 6 * s ** 2) - exact ** 2                # Var X_T^2, lognormal moments
    return n, int(np.ceil(var * (4 / target) ** 2)), exact


def _timed_fraction(fn, n_paths, budget_paths):
    """Seconds for n_paths, timing at most budget_paths and scaling linearly."""
    run = min(n_paths, budget_paths)
    start = time.perf_counter()
    result = fn(run)
    return (time.perf_counter() - start) * n_paths / run, run, result


def time_to_error() -> str:
    from lemmata.numerics.convergence import mlmc
    from lemmata.numerics.sde_problems import get_problem

    p = get_problem("gbm")
    x = p.sde.state[0]
    rows, verdicts = [], []
    for label, prm in SETTINGS.items():
        mu, s = prm["mu"], prm["s"]
        timings = {}
        for method in ("euler", "weak2"):
            n, N, exact = plan(method, mu, s)
            simulate(p.sde, p.z0, t1=1.0, dt=1.0 / n, n_paths=4, params=prm, method=method, functionals={"g": x ** 2})

            def run(k, n=n, method=method):
                return simulate(p.sde, p.z0, t1=1.0, dt=1.0 / n, n_paths=k, params=prm, method=method,
                                functionals={"g": x ** 2}, seed=1)
            seconds, used, r = _timed_fraction(run, N, 4_000_000)
            err = abs(r.functionals["g"][-1] - exact)
            timings[f"lemmata MC {method}"] = seconds
            rows.append((label, f"lemmata plain MC, {method}", n, f"{N:,}", f"{used:,}", f"{seconds:.2f}",
                         f"{err:.1e} +- {r.functionals_stderr['g'][-1]:.0e}"))
        mlmc(p.sde, x ** 2, p.z0, t1=1.0, eps=0.05, seed=0, method="milstein", params=prm)
        start = time.perf_counter()
        r = mlmc(p.sde, x ** 2, p.z0, t1=1.0, eps=TARGET / 2, seed=2, method="milstein", params=prm)
        seconds = time.perf_counter() - start
        timings["lemmata MLMC milstein"] = seconds
        rows.append((label, "lemmata MLMC, milstein", r.levels[-1]["n_steps"],
                     f"{sum(lv['n_paths'] for lv in r.levels):,}", "all", f"{seconds:.2f}",
                     f"{abs(r.value - exact):.1e} +- {r.stderr:.0e}"))
        try:
            import torch
            import torchsde

            class GBM(torch.nn.Module):
                noise_type, sde_type = "diagonal", "ito"

                def f(self, t, z):
                    return mu * z

                def g(self, t, z):
                    return s * z
            torch.set_num_threads(os.cpu_count() or 1)
            n, N, _ = plan("euler", mu, s)

            def torch_run(k):
                z0 = torch.ones(k, 1, dtype=torch.float64)
                ts = torch.tensor([0.0, 1.0], dtype=torch.float64)
                return torchsde.sdeint(GBM(), z0, ts, method="euler", dt=1.0 / n)
            seconds, used, out = _timed_fraction(torch_run, N, 200_000)
            timings["torchsde euler"] = seconds
            rows.append((label, "torchsde plain MC, euler", n, f"{N:,}", f"{used:,}", f"{seconds:.2f}", "-"))
        except ImportError:
            pass
        base = timings["lemmata MC euler"]
        verdicts.append(f"{label}: EM / weak2 = {base / timings['lemmata MC weak2']:.1f}x, EM / MLMC = "
                        f"{base / timings['lemmata MLMC milstein']:.1f}x"
                        + (f", torchsde EM / MLMC = {timings['torchsde euler'] / timings['lemmata MLMC milstein']:.0f}x"
                           if "torchsde euler" in timings else ""))
    return "\n".join([f"Time to error {TARGET:g} on E X_T^2 of GBM (X0 = 1, T = 1); bias <= target/2 from the "
                      f"scheme's exact moment, 2 stderr <= target/2.", "",
                      table(rows, ["setting", "method", "steps (finest)", "paths needed", "paths timed", "s",
                                   "|error| +- stderr"]), "",
                      "Speed-ups at equal error (target >= 10x): " + "; ".join(verdicts) + "."])


def main() -> str:
    return throughput() + "\n\n" + time_to_error()


def throughput() -> str:
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
