r"""Optimisers as pure ``(init, update)`` pairs, and a runner that records their trajectories.

The convention is optax's: ``state = opt.init(params)``;
``updates, state = opt.update(grads, state, params, value=loss)``; the next iterate is
``params + updates``. Nothing is mutated. Arrays are batched: ``params`` has shape ``(..., d)``
and every leading axis is an independent run, so a Monte Carlo study or a sweep over a
hyperparameter is one vectorised call. Hyperparameters may be scalars or arrays that broadcast
against the leading axes (``sigma`` of shape ``(n_runs,)`` sweeps sigma).

Every state records ``stepsize``: the scalar step actually taken (for Adam, the base ``lr``).

=============  ===============================================================================
``ngn``        :math:`\gamma_k=\sigma_k/(1+\sigma_k\|g_k\|^2/(2f_k))`, :math:`x^+=x-\gamma_kg_k`;
               ``schedule="sqrt"`` uses :math:`\sigma_k=\sigma/\sqrt{k+1}` (arXiv:2407.04358)
``ngn_momentum``  NGN-M: :math:`x^+=x-(1-\beta)\gamma_kg_k+\beta(x-x^-)` (arXiv:2508.15071)
``ngn_ema``    repository-style: :math:`m_k=\beta m_{k-1}+(1-\beta)g_k`,
               :math:`\gamma_k=\sigma/(1+\sigma\|m_k\|^2/(2f_k))`, :math:`x^+=x-\gamma_k(m_k\pm
               \mathrm{wd}\,x)` with the weight-decay sign explicit
``sgd``        :math:`x^+=x-\eta g`
``sps``        stochastic Polyak, :math:`\gamma=\min(\gamma_b,(f-f^*)/(c\|g\|^2))`
``adagrad``    AdaGrad-norm :math:`b_k^2=b_0^2+\sum\|g\|^2`, :math:`x^+=x-\eta g/b_k`
               (``norm=False``: the diagonal version)
``adam``       Adam with bias correction
=============  ===============================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from lemmata.analysis.errors import AssumptionError, LemmataError
from lemmata.analysis.validation import one_of, positive_int

from .stats import Estimate, mean_estimate, path_generators

__all__ = [
    "Optimizer", "ngn", "ngn_momentum", "ngn_ema", "sgd", "sps", "adagrad", "adam",
    "run", "sample_indices", "Trajectory", "OPTIMIZERS",
]


class Optimizer(NamedTuple):
    """An optimiser: ``init(params) -> state`` and
    ``update(grads, state, params, *, value=None) -> (updates, state)``."""

    init: Callable
    update: Callable
    name: str = ""


def _hyper(name, value, *, allow_zero=False, upper=None):
    """Validate a hyperparameter (scalar or array): finite, positive (or >= 0), below ``upper``."""
    arr = np.asarray(value, dtype=float)
    bad = ~np.isfinite(arr) | ((arr < 0) if allow_zero else (arr <= 0))
    if upper is not None:
        bad |= arr >= upper
    if np.any(bad):
        need = "non-negative" if allow_zero else "positive"
        bound = f" and below {upper}" if upper is not None else ""
        shown = value if arr.ndim == 0 else arr[bad][:3]
        raise ValueError(f"`{name}` must be {need} and finite{bound}; got {shown!r}.")
    return arr if arr.ndim else float(arr)


def _sq_norm(g):
    return np.einsum("...d,...d->...", g, g)


def _require_value(name, value, grads):
    if value is None:
        raise LemmataError(f"{name} needs the loss: call update(grads, state, params, value=f(params)).")
    value = np.asarray(value, dtype=float)
    if value.shape != grads.shape[:-1] and value.ndim != 0:
        raise ValueError(f"`value` must have shape {grads.shape[:-1]} (the leading axes of `grads`); "
                         f"got {value.shape}.")
    if np.any(value < 0):
        raise AssumptionError(f"`value` must be non-negative (NGN-type steps assume f >= 0); "
                              f"got min {float(np.min(value))!r}.")
    return value


def _ngn_gamma(sigma, value, sq_norm):
    """sigma / (1 + t), t = sigma |g|^2 / (2 f), with t = 0 when g = 0 (then the step is zero
    whatever gamma is, and gamma = sigma exactly, also for a subnormal f) and t = inf when f = 0 <
    |g|^2 (gamma = 0): safe at f = 0 like the form 2 f sigma / (2 f + sigma |g|^2), and exact at
    stationary points."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):   # t = inf gives gamma = 0
        t = np.where(sq_norm > 0, sigma * sq_norm / (2.0 * value), 0.0)
    return sigma / (1.0 + t)


class NGNState(NamedTuple):
    count: np.ndarray
    stepsize: np.ndarray


def ngn(sigma, *, schedule: str = "constant") -> Optimizer:
    r"""NGN: :math:`x^{k+1}=x^k-\gamma_k\nabla f(x^k)`,
    :math:`\gamma_k=\sigma_k/(1+\frac{\sigma_k}{2f(x^k)}\|\nabla f(x^k)\|^2)`.

    Deterministic, stochastic or mini-batch depending on the ``grads``/``value`` passed (they must
    come from the same sample). ``schedule="sqrt"`` gives :math:`\sigma_k=\sigma/\sqrt{k+1}`.

    References: arXiv:2407.04358, the NGN step; arXiv:2410.12455 Thm 6 for the decreasing schedule.
    """
    sigma = _hyper("sigma", sigma)
    schedule = one_of("schedule", schedule, ("constant", "sqrt"))

    def init(params):
        params = np.asarray(params, dtype=float)
        return NGNState(np.zeros((), dtype=np.int64), np.full(params.shape[:-1], np.nan))

    def update(grads, state, params=None, *, value=None):
        grads = np.asarray(grads, dtype=float)
        value = _require_value("ngn", value, grads)
        sigma_k = sigma if schedule == "constant" else sigma / math.sqrt(int(state.count) + 1)
        gamma = _ngn_gamma(sigma_k, value, _sq_norm(grads))
        return -gamma[..., None] * grads, NGNState(state.count + 1, gamma)

    return Optimizer(init, update, f"ngn(schedule={schedule})")


class MomentumState(NamedTuple):
    count: np.ndarray
    stepsize: np.ndarray
    previous_update: np.ndarray


def ngn_momentum(sigma, beta: float = 0.9) -> Optimizer:
    r"""NGN-M (arXiv:2508.15071): heavy ball with the NGN step on the raw stochastic gradient,
    :math:`x^{k+1}=x^k-(1-\beta)\gamma_k\nabla f_{S_k}(x^k)+\beta(x^k-x^{k-1})`."""
    sigma = _hyper("sigma", sigma)
    beta = _hyper("beta", beta, allow_zero=True, upper=1.0)

    def init(params):
        params = np.asarray(params, dtype=float)
        return MomentumState(np.zeros((), dtype=np.int64), np.full(params.shape[:-1], np.nan),
                             np.zeros_like(params))

    def update(grads, state, params=None, *, value=None):
        grads = np.asarray(grads, dtype=float)
        value = _require_value("ngn_momentum", value, grads)
        gamma = _ngn_gamma(sigma, value, _sq_norm(grads))
        beta_ = np.asarray(beta)[..., None] if np.ndim(beta) else beta
        updates = -(1.0 - beta_) * gamma[..., None] * grads + beta_ * state.previous_update
        return updates, MomentumState(state.count + 1, gamma, updates)

    return Optimizer(init, update, "ngn_momentum")


class EMAState(NamedTuple):
    count: np.ndarray
    stepsize: np.ndarray
    momentum: np.ndarray


def ngn_ema(sigma, beta1: float = 0.9, *, weight_decay: float = 0.0,
            weight_decay_sign: str = "decay") -> Optimizer:
    r"""The official repository's ``ngnm`` option: :math:`m_k=\beta_1m_{k-1}+(1-\beta_1)g_k`
    (:math:`m_0=g_0`), :math:`\gamma_k=\sigma/(1+\sigma\|m_k\|^2/(2f_k))`,
    :math:`x^{k+1}=x^k-\gamma_k(m_k+s\,\mathrm{wd}\,x^k)`.

    ``weight_decay_sign="decay"`` (s=+1) shrinks the weights; ``"repository"`` (s=-1) reproduces
    the public code, whose sign makes it weight *anti*-decay (see the NGN brief's pitfalls).
    It is not NGN-M: the EMA enters the stepsize. ``beta1=0`` gives NGN.
    """
    sigma = _hyper("sigma", sigma)
    beta1 = _hyper("beta1", beta1, allow_zero=True, upper=1.0)
    weight_decay = _hyper("weight_decay", weight_decay, allow_zero=True)
    sign = {"decay": 1.0, "repository": -1.0}[one_of("weight_decay_sign", weight_decay_sign,
                                                      ("decay", "repository"))]

    def init(params):
        params = np.asarray(params, dtype=float)
        return EMAState(np.zeros((), dtype=np.int64), np.full(params.shape[:-1], np.nan),
                        np.zeros_like(params))

    def update(grads, state, params=None, *, value=None):
        grads = np.asarray(grads, dtype=float)
        value = _require_value("ngn_ema", value, grads)
        if int(state.count) == 0:
            m = grads
        else:
            b = np.asarray(beta1)[..., None] if np.ndim(beta1) else beta1
            m = b * state.momentum + (1.0 - b) * grads
        gamma = _ngn_gamma(sigma, value, _sq_norm(m))
        direction = m
        if np.any(np.asarray(weight_decay) != 0):
            if params is None:
                raise LemmataError("ngn_ema with weight decay needs `params`.")
            wd = np.asarray(weight_decay)[..., None] if np.ndim(weight_decay) else weight_decay
            direction = m + sign * wd * np.asarray(params, dtype=float)
        return -gamma[..., None] * direction, EMAState(state.count + 1, gamma, m)

    return Optimizer(init, update, f"ngn_ema(weight_decay_sign={weight_decay_sign})")


class StepState(NamedTuple):
    count: np.ndarray
    stepsize: np.ndarray


def _lead(params):
    return np.asarray(params, dtype=float).shape[:-1]


def sgd(lr) -> Optimizer:
    r"""Gradient descent :math:`x^{k+1}=x^k-\eta g_k`."""
    lr = _hyper("lr", lr)

    def init(params):
        return StepState(np.zeros((), dtype=np.int64), np.full(_lead(params), np.nan))

    def update(grads, state, params=None, *, value=None):
        grads = np.asarray(grads, dtype=float)
        step = np.broadcast_to(np.asarray(lr, dtype=float), grads.shape[:-1])
        return -step[..., None] * grads, StepState(state.count + 1, np.array(step))

    return Optimizer(init, update, "sgd")


def sps(c: float = 0.5, *, max_lr=np.inf, f_star=0.0) -> Optimizer:
    r"""Stochastic Polyak step (SPS_max, Loizou et al. 2021):
    :math:`\gamma_k=\min\{\gamma_b,(f_{i_k}(x^k)-f_{i_k}^*)/(c\|g_k\|^2)\}`. The NGN repository
    codes it with :math:`c=1`, :math:`f_i^*=0`, :math:`\gamma_b=\sigma`."""
    c = _hyper("c", c)
    if not (np.ndim(max_lr) == 0 and max_lr == np.inf):
        max_lr = _hyper("max_lr", max_lr)
    f_star = _hyper("f_star", f_star, allow_zero=True)

    def init(params):
        return StepState(np.zeros((), dtype=np.int64), np.full(_lead(params), np.nan))

    def update(grads, state, params=None, *, value=None):
        grads = np.asarray(grads, dtype=float)
        value = _require_value("sps", value, grads)
        sq = _sq_norm(grads)
        gap = np.maximum(value - f_star, 0.0)
        polyak = np.where(sq > 0, gap / (c * np.where(sq > 0, sq, 1.0)), np.inf)
        gamma = np.minimum(polyak, max_lr) * np.ones_like(sq)
        gamma = np.where(np.isfinite(gamma), gamma, 0.0)   # g = 0 and no cap: nothing to do
        return -gamma[..., None] * grads, StepState(state.count + 1, gamma)

    return Optimizer(init, update, "sps")


class AdagradState(NamedTuple):
    count: np.ndarray
    stepsize: np.ndarray
    accumulator: np.ndarray


def adagrad(lr, *, initial_accumulator: float = 1e-10, norm: bool = True) -> Optimizer:
    r"""AdaGrad. ``norm=True`` (AdaGrad-norm): :math:`b_k^2=b_{k-1}^2+\|g_k\|^2`,
    :math:`x^{k+1}=x^k-\eta g_k/b_k`, with :math:`b_{-1}^2` = ``initial_accumulator``.
    ``norm=False``: the same per coordinate."""
    lr = _hyper("lr", lr)
    initial_accumulator = _hyper("initial_accumulator", initial_accumulator)

    def init(params):
        params = np.asarray(params, dtype=float)
        shape = params.shape[:-1] if norm else params.shape
        return AdagradState(np.zeros((), dtype=np.int64), np.full(params.shape[:-1], np.nan),
                            np.full(shape, initial_accumulator))

    def update(grads, state, params=None, *, value=None):
        grads = np.asarray(grads, dtype=float)
        if norm:
            acc = state.accumulator + _sq_norm(grads)
            step = np.asarray(lr) / np.sqrt(acc)
            return -step[..., None] * grads, AdagradState(state.count + 1, step, acc)
        acc = state.accumulator + grads ** 2
        scale = np.asarray(lr)[..., None] if np.ndim(lr) else lr
        updates = -scale * grads / np.sqrt(acc)
        step = np.broadcast_to(np.asarray(lr, dtype=float), grads.shape[:-1])
        return updates, AdagradState(state.count + 1, np.array(step), acc)

    return Optimizer(init, update, "adagrad-norm" if norm else "adagrad")


class AdamState(NamedTuple):
    count: np.ndarray
    stepsize: np.ndarray
    mu: np.ndarray
    nu: np.ndarray


def adam(lr, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    r"""Adam: :math:`m=\beta_1m+(1-\beta_1)g`, :math:`v=\beta_2v+(1-\beta_2)g^2`,
    :math:`x^+=x-\eta\,\hat m/(\sqrt{\hat v}+\epsilon)` with bias-corrected :math:`\hat m,\hat v`."""
    lr = _hyper("lr", lr)
    b1 = _hyper("b1", b1, allow_zero=True, upper=1.0)
    b2 = _hyper("b2", b2, allow_zero=True, upper=1.0)
    eps = _hyper("eps", eps)

    def init(params):
        params = np.asarray(params, dtype=float)
        return AdamState(np.zeros((), dtype=np.int64), np.full(params.shape[:-1], np.nan),
                         np.zeros_like(params), np.zeros_like(params))

    def update(grads, state, params=None, *, value=None):
        grads = np.asarray(grads, dtype=float)
        k = int(state.count) + 1
        mu = b1 * state.mu + (1 - b1) * grads
        nu = b2 * state.nu + (1 - b2) * grads ** 2
        mu_hat = mu / (1 - b1 ** k)
        nu_hat = nu / (1 - b2 ** k)
        scale = np.asarray(lr)[..., None] if np.ndim(lr) else lr
        updates = -scale * mu_hat / (np.sqrt(nu_hat) + eps)
        step = np.broadcast_to(np.asarray(lr, dtype=float), grads.shape[:-1])
        return updates, AdamState(state.count + 1, np.array(step), mu, nu)

    return Optimizer(init, update, "adam")


#: Constructors by name, each taking the step-size-like hyperparameter first.
OPTIMIZERS = {"ngn": ngn, "sgd": sgd, "sps": lambda lr: sps(max_lr=lr), "adagrad": adagrad,
              "adam": adam, "ngn_momentum": ngn_momentum, "ngn_ema": ngn_ema}


# ============================================================================ runner
@dataclass(frozen=True)
class Trajectory:
    """What :func:`run` records.

    Attributes
    ----------
    losses : (n_records, n_paths) full loss f(x_k) at the recorded steps ``record_steps``
    record_steps : (n_records,) iteration numbers k of ``losses``
    stepsizes : (n_steps, n_paths) the stepsize of every step
    grad_sq_norms : (n_steps, n_paths) squared norm of the (stochastic) gradient used
    sample_losses : (n_steps, n_paths) the (mini-batch) loss the step used
    step_sq_norms : (n_steps, n_paths) ||x_{k+1} - x_k||^2
    final_params : (n_paths, d)
    diverged : (n_paths,) bool; a diverged path is frozen and its later entries are NaN
    diverged_at : (n_paths,) first step at which the path diverged, -1 if never
    seed, batch_size
    """

    losses: np.ndarray
    record_steps: np.ndarray
    stepsizes: np.ndarray
    grad_sq_norms: np.ndarray
    sample_losses: np.ndarray
    step_sq_norms: np.ndarray
    final_params: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    seed: object
    batch_size: int | None

    @property
    def n_paths(self) -> int:
        return self.final_params.shape[0]

    @property
    def n_diverged(self) -> int:
        return int(self.diverged.sum())

    def loss_estimate(self, record: int = -1, *, subtract: float = 0.0) -> Estimate:
        """Mean of ``f(x_k) - subtract`` over the paths that did not diverge, at ``record``."""
        return mean_estimate(self.losses[record] - subtract)


def sample_indices(seed, n_paths: int, n_steps: int, batch_size: int, n_samples: int) -> np.ndarray:
    """The sample indices :func:`run` uses: shape ``(n_steps, n_paths, batch_size)``, drawn
    uniformly with replacement, path ``i`` from its own stream keyed by ``(seed, i)``."""
    batch_size = positive_int("batch_size", batch_size)
    gens = path_generators(seed, n_paths)
    return np.stack([g.integers(0, n_samples, size=(n_steps, batch_size)) for g in gens], axis=1)


def run(optimizer: Optimizer, problem, x0, *, n_steps: int, n_paths: int = 1,
        batch_size: int | None = None, seed=0, record_every: int = 1,
        blowup: float = 1e12) -> Trajectory:
    """Run ``optimizer`` on ``problem`` from ``x0`` for ``n_steps`` steps on ``n_paths`` paths.

    Parameters
    ----------
    optimizer : Optimizer
        Its hyperparameters may be arrays of shape ``(n_paths,)``.
    problem : lemmata.numerics.problems.Problem
    x0 : array (d,) or (n_paths, d)
    batch_size : int or None
        None: full gradients (deterministic). b: each step draws b sample indices uniformly
        with replacement; path i uses its own stream keyed by (seed, i) (see
        :func:`lemmata.numerics.stats.path_generators`), so the numbers do not depend on batching.
    record_every : int
        Record the full loss every this many steps (and at the last step).
    blowup : float
        A path diverges when its iterate or loss is not finite or |x - x0| > blowup (1 + |x0|).
        Diverged paths are frozen, counted, and NaN from then on; they are never averaged in.
    """
    n_steps = positive_int("n_steps", n_steps)
    n_paths = positive_int("n_paths", n_paths)
    record_every = positive_int("record_every", record_every)
    x0 = np.asarray(x0, dtype=float)
    if x0.shape == (problem.dim,):
        x0 = np.broadcast_to(x0, (n_paths, problem.dim)).copy()
    if x0.shape != (n_paths, problem.dim):
        raise ValueError(f"`x0` must have shape ({problem.dim},) or ({n_paths}, {problem.dim}); got {x0.shape}.")
    if not np.all(np.isfinite(x0)):
        raise ValueError("`x0` must be finite.")
    indices = None
    if batch_size is not None:
        indices = sample_indices(seed, n_paths, n_steps, batch_size, problem.n_samples)

    record_steps = np.unique(np.r_[np.arange(0, n_steps + 1, record_every), n_steps])
    losses = np.full((record_steps.size, n_paths), np.nan)
    stepsizes = np.full((n_steps, n_paths), np.nan)
    grad_sq = np.full((n_steps, n_paths), np.nan)
    sample_losses = np.full((n_steps, n_paths), np.nan)
    step_sq = np.full((n_steps, n_paths), np.nan)
    diverged_at = np.full(n_paths, -1)
    limit = blowup * (1.0 + np.linalg.norm(x0, axis=-1))

    x = x0.copy()
    state = optimizer.init(x)
    alive = np.ones(n_paths, dtype=bool)
    r = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n_steps + 1):
            if r < record_steps.size and record_steps[r] == k:
                losses[r] = np.where(alive, problem.value(x), np.nan)
                r += 1
            if k == n_steps:
                break
            idx = None if indices is None else indices[k]
            value, grads = problem.value_and_grad(x, idx)
            updates, new_state = optimizer.update(grads, state, x, value=value)
            x_new = x + updates
            bad = alive & (~np.all(np.isfinite(x_new), axis=-1) | ~np.isfinite(value)
                           | (np.linalg.norm(x_new - x0, axis=-1) > limit))
            diverged_at[bad] = k
            alive &= ~bad
            stepsizes[k] = np.where(alive, np.broadcast_to(new_state.stepsize, (n_paths,)), np.nan)
            grad_sq[k] = np.where(alive, _sq_norm(grads), np.nan)
            sample_losses[k] = np.where(alive, value, np.nan)
            step_sq[k] = np.where(alive, _sq_norm(updates), np.nan)
            x = np.where(alive[:, None], x_new, x)
            state = type(new_state)(*(np.where(_mask_for(alive, a), a, b) if _batched(a, n_paths) else a
                                      for a, b in zip(new_state, state)))
    final = np.where(alive[:, None], x, np.nan)
    return Trajectory(losses, record_steps, stepsizes, grad_sq, sample_losses, step_sq, final,
                      ~alive, diverged_at, seed, batch_size)


def _batched(a, n_paths):
    return isinstance(a, np.ndarray) and a.ndim >= 1 and a.shape[0] == n_paths


def _mask_for(alive, a):
    return alive.reshape(alive.shape + (1,) * (a.ndim - 1))
