r"""Monte Carlo of SDEs and of the discrete stochastic algorithms they model, with error bars.

:func:`simulate` integrates :math:`dZ=b(Z)\,dt+D(Z)\,dW` (Euler-Maruyama, or Milstein for
diagonal noise) with drift and diffusion compiled from an :class:`lemmata.analysis.sde.SDE` into one Numba
loop (paths innermost, so the arithmetic vectorises); :func:`simulate_discrete` runs the
algorithm itself, :math:`z^+=z+\eta\Delta(z,\xi)`, in the same engine.

Randomness: the paths are split into chunks of :data:`CHUNK`; chunk ``c`` draws from a
``numpy.random.Generator`` seeded by ``(seed, c)``, used inside the compiled loop (the fastest
normal generator measured here, PERFORMANCE.md). Chunks run on a thread pool with the GIL
released, so the same seed gives the same numbers for any number of threads. Diverged paths
(non-finite, or beyond ``blowup``, tested every 32 steps) are flagged, counted in ``n_diverged``
and left out of the moments, never averaged in.
"""

from __future__ import annotations

import dataclasses
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import sympy as sp

from lemmata.analysis.derivation import Derivation
from lemmata.analysis.errors import LemmataError
from lemmata.analysis.validation import one_of, positive_int

from . import backends
from .codegen import compile_kernel, compile_template
from .stats import child_seed

__all__ = ["simulate", "simulate_discrete", "discrete_moments", "SimulationResult", "CHUNK"]

CHUNK = 256


@dataclass(frozen=True)
class SimulationResult:
    """Moments at the saved times ``times`` (n_saves,): ``mean`` (n_saves, d) with
    ``mean_stderr``; ``second_moment`` E[Z Z^T] (n_saves, d, d) with ``second_moment_stderr``;
    ``n_paths``, ``n_diverged`` (excluded from the moments), ``seed``; ``norm_sq`` E|Z|^2 with
    ``norm_sq_stderr`` (from the per-path |Z|^2); ``paths`` (n_saves, n_paths, d) only when
    asked for."""

    times: np.ndarray
    mean: np.ndarray
    mean_stderr: np.ndarray
    second_moment: np.ndarray
    second_moment_stderr: np.ndarray
    n_paths: int
    n_diverged: int
    seed: object
    norm_sq: np.ndarray = None
    norm_sq_stderr: np.ndarray = None
    paths: np.ndarray | None = None


def _numeric_params(derivation, params, skip=()):
    params = dict(params or {})
    values, missing = [], []
    for symbol in derivation.params:
        if symbol in skip:
            continue
        key = symbol.name
        if key in params:
            values.append(float(params.pop(key)))
        elif symbol in params:
            values.append(float(params.pop(symbol)))
        else:
            missing.append(key)
    if missing:
        raise ValueError(f"`params` must give values for {missing} (the SDE's free parameters).")
    if params:
        raise ValueError(f"`params` names {sorted(map(str, params))}, which are not parameters of the SDE.")
    return values


def _snapshot_lines(d):
    """Generated code that records the state (NaN for diverged paths) every ``save_every`` steps."""
    return ["        if (step + 1) % save_every == 0:",
            "            save += 1",
            "            for p in range(P):",
            f"                for k in range({d}):",
            "                    snapshots[save, k, p] = np.nan if diverged[p] else state[k, p]"]


def _template_em(d, m, n_params, milstein, zero=(), scheduled=False):
    z = [f"z{k}" for k in range(d)]
    args = ", ".join(z + [f"prm[{j}]" for j in range(n_params)])
    lines = [
        "@numba.njit(cache=True, nogil=True, error_model='numpy')",
        "def run_chunk(state, prm, dt, n_steps, save_every, rng, snapshots, diverged, blowup, alpha=0.0):",
        "    P = state.shape[1]",
        f"    dw = np.empty(({m}, P))",
        "    save = 0",
        "    for step in range(n_steps):",
    ]
    if scheduled:
        # the step-size schedule eta/(1+t)^alpha scales the drift by s and the diffusion by s
        # (its variance by s^2), s evaluated at the left end of the step
        lines += ["        s_t = (1.0 + step * dt) ** (-alpha)",
                  "        h = dt * s_t",
                  "        sq = np.sqrt(dt) * s_t"]
    else:
        lines += ["        h = dt", "        sq = np.sqrt(dt)"]
    lines += [
        f"        for j in range({m}):",
        "            for p in range(P):",
        "                dw[j, p] = sq * rng.standard_normal()",
        "        for p in range(P):",
    ]
    # no per-path branch in the hot loop (it keeps the loop vectorisable): a diverged path goes on
    # as inf/NaN, is flagged below, and is masked out of every snapshot
    lines += [f"            z{k} = state[{k}, p]" for k in range(d)]
    lines.append(f"            r = core({args})")
    for k in range(d):
        # entries of the diffusion that are identically zero are left out of the generated code
        noise = " + ".join(f"r[{d + k * m + j}] * dw[{j}, p]" for j in range(m) if (k, j) not in zero) or "0.0"
        extra = ""
        if milstein:
            extra = f" + 0.5 * r[{d + k * m + k}] * r[{d + d * m + k}] * (dw[{k}, p] * dw[{k}, p] - sq * sq)"
        lines.append(f"            n{k} = z{k} + r[{k}] * h + {noise}{extra}")
    lines += [f"            state[{k}, p] = n{k}" for k in range(d)]
    # divergence is tested every 32 steps and at saves: a path that blew up in between is NaN or
    # huge by then; once flagged it stays flagged and is masked out of every later snapshot
    size = " + ".join(f"state[{k}, p] * state[{k}, p]" for k in range(d))
    lines += ["        if (step & 31) == 31 or (step + 1) % save_every == 0 or step == n_steps - 1:",
              "            for p in range(P):",
              f"                if not diverged[p] and not ({size} <= blowup * blowup):",
              "                    diverged[p] = True"]
    lines += _snapshot_lines(d)
    return "\n".join(lines)


def _template_discrete(d, n_noise, n_params):
    z = [f"state[{k}, p]" for k in range(d)]
    args = ", ".join(z + [f"xi[{j}]" for j in range(n_noise)] + [f"prm[{j}]" for j in range(n_params)])
    lines = [
        "@numba.njit(cache=True, nogil=True, error_model='numpy')",
        "def run_chunk(state, prm, dt, n_steps, save_every, rng, snapshots, diverged, blowup):",
        "    P = state.shape[1]",
        f"    xi = np.empty({max(n_noise, 1)})",
        "    save = 0",
        "    for step in range(n_steps):",
        "        for p in range(P):",
        f"            for j in range({n_noise}):",
        "                xi[j] = rng.standard_normal()",
        "            if diverged[p]:",
        "                continue",
        f"            r = core({args})",
    ]
    if d == 1:
        lines.append("            r = (r,)")
    size = " + ".join(f"r[{k}] * r[{k}]" for k in range(d))
    lines += [f"            if not np.isfinite({size}) or {size} > blowup * blowup:",
              "                diverged[p] = True",
              "                continue"]
    lines += [f"            state[{k}, p] = r[{k}]" for k in range(d)]
    lines += _snapshot_lines(d)
    return "\n".join(lines)


def _chunks(n_paths):
    return [(c, lo, min(n_paths, lo + CHUNK)) for c, lo in enumerate(range(0, n_paths, CHUNK))]


def _run(module, z0, prm, dt, n_steps, save_every, n_paths, seed, blowup, keep_paths, threads, alpha=None):
    """The compiled loop over path chunks on a thread pool (the GIL is released)."""
    d = z0.shape[0]
    n_saves = n_steps // save_every + 1
    prm = np.asarray(prm, dtype=float)

    def work(chunk):
        c, lo, hi = chunk
        P = hi - lo
        state = np.repeat(z0[:, None], P, axis=1).astype(float)
        snapshots = np.full((n_saves, d, P), np.nan)
        snapshots[0] = state
        diverged = np.zeros(P, dtype=np.bool_)
        rng = np.random.default_rng(child_seed(seed, c))
        if alpha is None:
            module.run_chunk(state, prm, dt, n_steps, save_every, rng, snapshots, diverged, blowup)
        else:
            module.run_chunk(state, prm, dt, n_steps, save_every, rng, snapshots, diverged, blowup, alpha)
        return chunk, snapshots, diverged

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return _moments(pool.map(work, _chunks(n_paths)), n_saves, d, n_paths, dt * save_every,
                        seed, keep_paths)


def _moments(results, n_saves, d, n_paths, save_dt, seed, keep_paths):
    """Moments with standard errors from per-chunk snapshots (n_saves, d, P) and divergence flags."""
    sums = np.zeros((n_saves, d))
    sums2 = np.zeros((n_saves, d, d))
    sums4 = np.zeros((n_saves, d, d))
    norm = np.zeros(n_saves)
    norm2 = np.zeros(n_saves)
    count = 0
    paths = np.empty((n_saves, n_paths, d)) if keep_paths else None
    n_diverged = 0
    for (c, lo, hi), snapshots, diverged in results:
        n_diverged += int(diverged.sum())
        ok = ~diverged
        good = snapshots[:, :, ok]                                 # (n_saves, d, P_ok)
        count += int(ok.sum())
        sums += good.sum(axis=2)
        outer = np.einsum("sip,sjp->sijp", good, good)
        sums2 += outer.sum(axis=3)
        sums4 += (outer ** 2).sum(axis=3)
        n2 = np.einsum("sip,sip->sp", good, good)
        norm += n2.sum(axis=1)
        norm2 += (n2 ** 2).sum(axis=1)
        if keep_paths:
            paths[:, lo:hi, :] = np.transpose(snapshots, (0, 2, 1))
    n = count
    if n < 2:
        raise LemmataError(f"{n_diverged} of {n_paths} paths diverged: too few left for moments.")
    mean = sums / n
    second = sums2 / n
    var_mean = (second[:, range(d), range(d)] - mean ** 2) / (n - 1)
    var_second = (sums4 / n - second ** 2) / (n - 1)
    return SimulationResult(np.arange(n_saves) * save_dt, mean, np.sqrt(np.maximum(var_mean, 0)),
                            second, np.sqrt(np.maximum(var_second, 0)), n_paths, n_diverged, seed,
                            norm / n, np.sqrt(np.maximum(norm2 / n - (norm / n) ** 2, 0) / (n - 1)), paths)


def _run_array(derivation, z0, prm, dt, n_steps, save_every, n_paths, seed, blowup, keep_paths, backend):
    """Euler-Maruyama in array code (NumPy or CuPy), all paths at once: the GPU path. Its random
    numbers come from the backend's own generator, so they differ from the Numba path's."""
    xp = backends.get(backend).xp
    kernel = compile_kernel(derivation, backend)
    d, m = derivation["drift"].shape[0], derivation["diffusion"].shape[1]
    n_saves = n_steps // save_every + 1
    if backend == "cupy":
        rng = xp.random.default_rng(int(child_seed(seed, 0).generate_state(1)[0]))
    else:
        rng = xp.random.default_rng(child_seed(seed, 0))
    z = [xp.full(n_paths, float(v)) for v in z0]
    bad = xp.zeros(n_paths, dtype=bool)
    snapshots = np.full((n_saves, d, n_paths), np.nan)
    snapshots[0] = np.asarray(z0)[:, None]
    save = 0
    sq = math.sqrt(dt)
    with np.errstate(all="ignore"):
        for step in range(n_steps):
            dw = rng.standard_normal((m, n_paths)) * sq
            out = kernel(*z, *prm)
            b, D = out["drift"], out["diffusion"]
            new = [z[k] + b[:, k, 0] * dt + sum(D[:, k, j] * dw[j] for j in range(m)) for k in range(d)]
            size = sum(v * v for v in new)
            bad = bad | ~xp.isfinite(size) | (size > blowup * blowup)
            z = [xp.where(bad, z[k], new[k]) for k in range(d)]
            if (step + 1) % save_every == 0:
                save += 1
                block = xp.stack([xp.where(bad, xp.nan, v) for v in z])
                snapshots[save] = block.get() if backend == "cupy" else block
    flags = bad.get() if backend == "cupy" else np.asarray(bad)
    return _moments([((0, 0, n_paths), snapshots, flags)], n_saves, d, n_paths, dt * save_every,
                    seed, keep_paths)


def _validate(z0, d, t1, dt, n_paths, save_every):
    z0 = np.atleast_1d(np.asarray(z0, dtype=float))
    if z0.shape != (d,):
        raise ValueError(f"`z0` must have shape ({d},) (one value per state symbol); got {z0.shape}.")
    if not np.all(np.isfinite(z0)):
        raise ValueError(f"`z0` must be finite; got {z0.tolist()}.")
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"`dt` must be positive and finite; got {dt!r}.")
    if not (isinstance(t1, (int, float)) and math.isfinite(t1) and t1 >= 0):
        raise ValueError(f"`t1` must be non-negative and finite; got {t1!r}.")
    n_paths = positive_int("n_paths", n_paths)
    n_steps = int(round(t1 / dt))
    if abs(n_steps * dt - t1) > 1e-9 * max(1.0, t1):
        raise ValueError(f"`t1` must be a whole number of steps `dt`; got t1={t1!r}, dt={dt!r}.")
    save_every = n_steps if save_every is None else positive_int("save_every", save_every)
    if n_steps and n_steps % max(save_every, 1):
        raise ValueError(f"`save_every` must divide the number of steps {n_steps}; got {save_every}.")
    return z0, n_steps, n_paths, max(save_every, 1)


def simulate(sde, z0, *, t1: float, dt: float, n_paths: int, seed=0, method: str = "euler_maruyama",
             backend: str = "numba", save_every: int | None = None, progress: bool = False,
             params=None, keep_paths: bool = False, blowup: float = 1e12,
             threads: int | None = None, schedule: float | None = None) -> SimulationResult:
    r"""Monte Carlo of :math:`dZ=b\,dt+D\,dW` from ``z0`` to ``t1`` with step ``dt``.

    Parameters
    ----------
    sde : lemmata.analysis.sde.SDE (or a Derivation with ``drift`` d x 1 and ``diffusion`` d x m)
    params : dict, optional
        Values of the SDE's free parameters (``eta``, ``rho``, ``sigma``, game coefficients).
    method : {"euler_maruyama", "milstein"}
        Milstein needs diagonal noise (m = d, D_kk depending on z_k only).
    save_every : int, optional
        Record moments every this many steps (default: only the start and the end).
    keep_paths : bool
        Also return every path at the saved times.
    threads : int, optional
        Threads over path chunks (default: the CPU count); the numbers do not depend on it.
    backend : {"numba", "numpy", "cupy"}
        ``numba``: the compiled loop; ``numpy``/``cupy``: array code over all paths at once (the GPU
        path), with the backend's own random numbers.
    progress : bool
        Accepted for interface compatibility; runs report nothing while they go.
    schedule : float, optional
        ``alpha`` of the step-size schedule :math:`\eta_t=\eta/(1+t)^\alpha`: the drift is scaled by
        :math:`(1+t)^{-\alpha}` and the diffusion by the same factor (numba backend).
    """
    one_of("method", method, ("euler_maruyama", "milstein"))
    backends.get(backend)
    if backend != "numba" and method != "euler_maruyama":
        raise ValueError(f"`method` {method!r} is available on the numba backend only.")
    derivation = sde.derivation if hasattr(sde, "derivation") and not isinstance(sde, Derivation) else sde
    drift, diffusion = derivation["drift"], derivation["diffusion"]
    d, m = drift.shape[0], diffusion.shape[1]
    if drift.shape != (len(derivation.inputs), 1):
        raise ValueError(f"the drift must be ({len(derivation.inputs)}, 1); got {drift.shape}.")
    if diffusion.shape[0] != d:
        raise ValueError(f"the diffusion must have {d} rows (one per state); got shape {diffusion.shape}.")
    z0, n_steps, n_paths, save_every = _validate(z0, d, t1, dt, n_paths, save_every)
    expressions = {"drift": drift, "diffusion": diffusion}
    if method == "milstein":
        if m != d or any(diffusion[i, j] != 0 for i in range(d) for j in range(m) if i != j):
            raise ValueError("method='milstein' needs diagonal noise (diffusion d x d, diagonal).")
        state = derivation.inputs
        if any(diffusion[k, k].has(*[s for s in state if s != state[k]]) for k in range(d)):
            raise ValueError("method='milstein' needs D_kk to depend on z_k only.")
        expressions["diffusion_derivative"] = sp.Matrix([sp.diff(diffusion[k, k], state[k]) for k in range(d)])
    core = Derivation(derivation.name + "_sde", derivation.inputs, derivation.params, expressions,
                      source=derivation.source)
    prm = _numeric_params(derivation, params)
    if schedule is not None and not (math.isfinite(schedule) and schedule >= 0):
        raise ValueError(f"`schedule` (alpha) must be a non-negative number; got {schedule!r}.")
    if backend != "numba":
        if schedule is not None:
            raise ValueError("`schedule` is available on the numba backend only.")
        return _run_array(core, z0, prm, dt, n_steps, save_every, n_paths, seed, blowup, keep_paths, backend)
    zero = tuple((k, j) for k in range(d) for j in range(m) if diffusion[k, j] == 0)
    template = _template_em(d, m, len(prm), method == "milstein", zero, scheduled=schedule is not None)
    module = compile_template(core, f"sde_{method}{'_scheduled' if schedule is not None else ''}", template)
    return _run(module, z0, prm, dt, n_steps, save_every, n_paths, seed, blowup, keep_paths,
                threads or os.cpu_count() or 1, None if schedule is None else float(schedule))


def simulate_discrete(sde, z0, *, n_steps: int, n_paths: int, seed=0, params=None,
                      save_every: int | None = None, keep_paths: bool = False, blowup: float = 1e12,
                      threads: int | None = None) -> SimulationResult:
    r"""Monte Carlo of the discrete algorithm behind ``sde`` (built by :mod:`lemmata.analysis.sde`):
    :math:`z_{k+1}=z_k+\eta\Delta(z_k,\xi_k)`, :math:`\xi_k\sim N(0,I)`. Saved "times" are
    :math:`k\eta`, the SDE's clock."""
    if getattr(sde, "increment", None) is None:
        raise LemmataError("`sde` does not carry its update rule; build it with lemmata.analysis.sde "
                           "(sgd, sgda, seg, shgd or from_update).")
    d = len(sde.state)
    eta_value = dict(params or {}).get("eta", sde.eta if not isinstance(sde.eta, sp.Symbol) else None)
    if eta_value is None:
        raise ValueError("`params` must give `eta` (the step size of the discrete algorithm).")
    n_steps = positive_int("n_steps", n_steps)
    z0, _, n_paths, save_every = _validate(z0, d, float(n_steps), 1.0, n_paths, save_every)
    update = sp.Matrix(sde.state) + sde.eta * sp.Matrix(sde.increment)
    core = Derivation(sde.name + "_discrete", tuple(sde.state) + tuple(sde.noise), sde.params,
                      {"next": update}, source=sde.source)
    prm = _numeric_params(sde, params)
    module = compile_template(core, "discrete", _template_discrete(d, len(sde.noise), len(prm)))
    result = _run(module, z0, prm, 1.0, n_steps, save_every, n_paths, seed, blowup, keep_paths,
                  threads or os.cpu_count() or 1)
    return dataclasses.replace(result, times=result.times * float(eta_value))


def discrete_moments(sde, z0, *, n_steps: int, params) -> tuple:
    r"""Exact mean and second moment of the discrete algorithm behind ``sde`` when its update is
    linear in the state and the noise, :math:`z^+=Gz+\eta N\xi` (SGDA, SEG, SHGD with additive
    noise on linear games): :math:`m_{k+1}=Gm_k`, :math:`S_{k+1}=GS_kG^\top+\eta^2NN^\top`.
    Returns ``(means, second_moments)`` for k = 0..n_steps."""
    if getattr(sde, "increment", None) is None:
        raise LemmataError("`sde` does not carry its update rule; build it with lemmata.analysis.sde.")
    z = sp.Matrix(sde.state)
    xi = sp.Matrix(sde.noise)
    delta = sp.Matrix(sde.increment)
    A = delta.jacobian(z)
    N = delta.jacobian(xi)
    if any(e.has(*sde.state, *sde.noise) for e in list(A) + list(N)) or \
            (delta - A * z - N * xi).applyfunc(sp.simplify) != sp.zeros(*delta.shape):
        raise LemmataError("the update is not linear in the state and the noise (no exact recursion).")
    values = {s: float(params[s.name]) for s in sde.params if s.name in params}
    missing = [s.name for s in sde.params if s.name not in params]
    if missing:
        raise ValueError(f"`params` must give values for {missing}.")
    eta = float(sde.eta.subs(values)) if isinstance(sde.eta, sp.Basic) else float(sde.eta)
    G = np.eye(len(z)) + eta * np.array(A.subs(values).evalf(), dtype=float)
    Nn = eta * np.array(N.subs(values).evalf(), dtype=float)
    m = np.asarray(z0, dtype=float)
    S = np.outer(m, m)
    means, seconds = [m], [S]
    for _ in range(positive_int("n_steps", n_steps)):
        m = G @ m
        S = G @ S @ G.T + Nn @ Nn.T
        means.append(m)
        seconds.append(S)
    return np.array(means), np.array(seconds)
