r"""Optimisers as pure ``(init, update)`` pairs, and a runner that records their trajectories.

The convention is optax's: ``state = opt.init(params)``;
``updates, state = opt.update(grads, state, params, value=loss)``; the next iterate is
``params + updates``. Nothing is mutated. Arrays are batched: ``params`` has shape ``(..., d)``
and every leading axis is an independent run, so a Monte Carlo study or a sweep over a
hyperparameter is one vectorised call. Hyperparameters may be scalars or arrays that broadcast
against the leading axes (``sigma`` of shape ``(n_runs,)`` sweeps sigma).

Every state records ``stepsize``: the scalar step actually taken (for Adam, the base ``lr``).

Parameters may also be pytrees, as in optax: a dict, list or tuple (nested at will) whose leaves
are arrays, e.g. ``{"w": w, "b": b}``. A tree is one run: its leaves are flattened (dict keys in
sorted order) into one vector, the update is computed on it (so a tree and its flat vector give
identical numbers; norms such as NGN's :math:`\|g\|^2` are over all leaves), and the updates come
back as a tree of the same structure and leaf shapes. A list or tuple of plain numbers (nested
lists included) is an array, not a tree; a list or tuple holding arrays or dicts is a tree.
:func:`apply_updates` adds updates to parameters leaf by leaf; :func:`chain` composes
transforms. ``update`` checks that the gradients have the structure and leaf shapes of the
parameters given to ``init``.

================  ===============================================================================
``ngn``           :math:`\gamma_k=\sigma_k/(1+\sigma_k\|g_k\|^2/(2f_k))`, :math:`x^+=x-\gamma_kg_k`;
                  ``schedule="sqrt"`` uses :math:`\sigma_k=\sigma/\sqrt{k+1}` (arXiv:2407.04358)
``ngn_momentum``  NGN-M: :math:`x^+=x-(1-\beta)\gamma_kg_k+\beta(x-x^-)` (arXiv:2508.15071)
``ngn_ema``       repository-style: :math:`m_k=\beta m_{k-1}+(1-\beta)g_k`,
                  :math:`\gamma_k=\sigma/(1+\sigma\|m_k\|^2/(2f_k))`, :math:`x^+=x-\gamma_k(m_k\pm
                  \mathrm{wd}\,x)` with the weight-decay sign explicit
``sgd``           :math:`x^+=x-\eta g`
``sps``           stochastic Polyak, :math:`\gamma=\min(\gamma_b,(f-f^*)/(c\|g\|^2))`
``adagrad``       AdaGrad-norm :math:`b_k^2=b_0^2+\sum\|g\|^2`, :math:`x^+=x-\eta g/b_k`
                  (``norm=False``: the diagonal version)
``adam``          Adam with bias correction
================  ===============================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from lemmata.analysis.errors import AssumptionError, LemmataError
from lemmata.analysis.validation import one_of

from .arrays import ArrayTypeError, InvalidArrayError, _describe, as_array, integer, real_scalar
from .stats import Estimate, mean_estimate, path_generators

__all__ = [
    "Optimizer", "ngn", "ngn_momentum", "ngn_ema", "sgd", "sps", "adagrad", "adam",
    "apply_updates", "chain", "scale", "run", "sample_indices", "Trajectory", "OPTIMIZERS",
]


class Optimizer(NamedTuple):
    """An optimiser: ``init(params) -> state`` and
    ``update(grads, state, params, *, value=None) -> (updates, state)``."""

    init: Callable
    update: Callable
    name: str = ""


# ============================================================================ pytrees
class _Layout(NamedTuple):
    """How parameters were laid out at ``init``: ``treedef`` None for a plain array (then
    ``shapes`` holds its one shape), else the tree's structure and its leaves' shapes."""

    treedef: object
    shapes: tuple


_SCALAR = "scalar"


def _is_tree(x) -> bool:
    """A dict, or a list/tuple holding an array or a dict at some depth, or a scalar (a one-leaf
    tree: a single run of dimension 1). Nested lists of plain numbers are arrays."""
    if isinstance(x, dict):
        return True
    if isinstance(x, (list, tuple)):
        return any(isinstance(v, (dict, np.ndarray)) or _is_tree(v) and isinstance(v, (list, tuple))
                   or type(v).__module__.startswith("pandas") for v in x)
    return np.ndim(x) == 0 and not isinstance(x, (str, bytes)) and x is not None


def _flatten(tree, path=""):
    """(leaves with their paths, treedef); dict keys sorted as in JAX/optax."""
    if isinstance(tree, dict):
        try:
            keys = sorted(tree)
        except TypeError:
            raise ArrayTypeError(f"the keys of the parameter dict `{path or 'params'}` must be sortable; "
                                 f"got {list(tree)[:5]}.") from None
        leaves, defs = [], []
        for k in keys:
            sub, d = _flatten(tree[k], f"{path}[{k!r}]")
            leaves += sub
            defs.append(d)
        return leaves, ("dict", tuple(keys), tuple(defs))
    if isinstance(tree, (list, tuple)) and _is_tree(tree):
        leaves, defs = [], []
        for i, v in enumerate(tree):
            sub, d = _flatten(v, f"{path}[{i}]")
            leaves += sub
            defs.append(d)
        return leaves, (type(tree), len(tree), tuple(defs))
    return [(path, tree)], None


def _unflatten(treedef, leaves):
    it = iter(leaves)

    def build(d):
        if d is None:
            return next(it)
        kind, keys, defs = d
        if kind == "dict":
            return {k: build(sub) for k, sub in zip(keys, defs)}
        children = [build(sub) for sub in defs]
        if kind is list:
            return children
        if kind is tuple:
            return tuple(children)
        return kind(*children)                       # a NamedTuple
    return build(treedef)


def _describe_tree(treedef) -> str:
    if treedef is None:
        return "an array"
    if treedef == _SCALAR:
        return "a scalar"
    kind, keys, _ = treedef
    if kind == "dict":
        return f"a dict with keys {list(keys)}"
    return f"a {getattr(kind, '__name__', kind)} of {keys} entries"


def _to_flat(name, value, *, finite):
    """(layout, flat array): a plain array keeps its shape (..., d); a tree becomes one vector."""
    if _is_tree(value) and not isinstance(value, (dict, list, tuple)):      # a scalar: one leaf
        arr = as_array(value, name=name, finite=finite)
        return _Layout(_SCALAR, ((),)), arr.reshape(1)
    if _is_tree(value):
        leaves, treedef = _flatten(value)
        arrays = [as_array(leaf, name=f"{name}{path}", finite=finite, min_size=0) for path, leaf in leaves]
        if not arrays or sum(a.size for a in arrays) == 0:
            raise InvalidArrayError(f"`{name}` must hold at least one number; got an empty tree.")
        layout = _Layout(treedef, tuple(a.shape for a in arrays))
        return layout, np.concatenate([a.ravel() for a in arrays])
    arr = as_array(value, name=name, ndim=None, finite=finite)
    if arr.ndim == 0:
        raise InvalidArrayError(f"`{name}` must have a last axis (..., d); got a 0-d array.")
    return _Layout(None, (arr.shape,)), arr


def _flat_like(name, value, layout: _Layout, reference: str = "params"):
    """``value`` flattened after checking that it has the structure and leaf shapes of ``layout``."""
    if layout.treedef == _SCALAR:
        arr = as_array(value, name=name, finite=False)
        if arr.shape != ():
            raise InvalidArrayError(f"`{name}` must be a scalar like `{reference}`; got shape {arr.shape}.")
        return arr.reshape(1)
    if layout.treedef is None:
        if _is_tree(value) and np.ndim(value) != 0:
            raise InvalidArrayError(f"`{name}` must be an array like `{reference}` (shape {layout.shapes[0]}); "
                                    f"got {_describe_tree(_flatten(value)[1])}.")
        arr = as_array(value, name=name, finite=False)
        if arr.shape != layout.shapes[0]:
            raise InvalidArrayError(f"`{name}` must have the shape of `{reference}` {layout.shapes[0]}; "
                                    f"got {arr.shape}.")
        return arr
    if not _is_tree(value):
        raise InvalidArrayError(f"`{name}` must be a tree like `{reference}` ({_describe_tree(layout.treedef)}); "
                                f"got {_describe(value)}.")
    leaves, treedef = _flatten(value)
    if treedef != layout.treedef:
        raise InvalidArrayError(f"`{name}` must have the tree structure of `{reference}` "
                                f"({_describe_tree(layout.treedef)}); got {_describe_tree(treedef)}.")
    arrays = []
    for (path, leaf), shape in zip(leaves, layout.shapes):
        arr = as_array(leaf, name=f"{name}{path}", finite=False, min_size=0)
        if arr.shape != shape:
            raise InvalidArrayError(f"`{name}{path}` must have the shape of `{reference}{path}` {shape}; "
                                    f"got {arr.shape}.")
        arrays.append(arr.ravel())
    return np.concatenate(arrays)


def _restore(flat, layout: _Layout):
    """The inverse of :func:`_to_flat`: a tree of the original leaf shapes (or the array)."""
    if layout.treedef is None:
        return flat
    if layout.treedef == _SCALAR:
        return flat.reshape(())
    leaves, start = [], 0
    for shape in layout.shapes:
        size = int(np.prod(shape))
        leaves.append(flat[start:start + size].reshape(shape))
        start += size
    return _unflatten(layout.treedef, leaves)


def _layout_of(state, name="state"):
    layout = getattr(state, "layout", None)
    if not isinstance(layout, _Layout):
        raise ArrayTypeError(f"`{name}` must be the state returned by this optimiser's init/update; "
                             f"got {type(state).__name__}.")
    return layout


def _wrap(core_init, core_update, name, hypers=()):
    """The public (init, update) around array-level ones: parameters as arrays or trees, gradient
    structure and shapes checked against ``init``'s parameters, hyperparameter arrays checked
    against the leading axes."""

    def init(params):
        layout, flat = _to_flat("params", params, finite=True)
        lead = flat.shape[:-1]
        for hname, h in hypers:
            if np.ndim(h):
                try:
                    ok = np.broadcast_shapes(np.shape(h), lead) == lead
                except ValueError:
                    ok = False
                if not ok:
                    raise InvalidArrayError(f"`{hname}` of shape {np.shape(h)} must broadcast against the "
                                            f"leading axes {lead} of `params` (one value per run).")
        return core_init(flat)._replace(layout=layout)

    def update(grads, state, params=None, *, value=None):
        layout = _layout_of(state)
        g = _flat_like("grads", grads, layout)
        p = None if params is None else _flat_like("params", params, layout)
        updates, new_state = core_update(g, state, p, value=value)
        return _restore(updates, layout), new_state._replace(layout=layout)

    return Optimizer(init, update, name)


def apply_updates(params, updates):
    r"""``params + updates`` leaf by leaf (optax's ``apply_updates``): the next iterate
    :math:`x^{k+1}=x^k+u^k`, with the structure of ``params``.

    Raises
    ------
    InvalidArrayError
        If ``updates`` does not have the tree structure and leaf shapes of ``params``.
    """
    layout, flat = _to_flat("params", params, finite=False)
    return _restore(flat + _flat_like("updates", updates, layout), layout)


class ChainState(tuple):
    """The state of :func:`chain`: a tuple of the states of its transforms, in order."""

    @property
    def stepsize(self):
        """The ``stepsize`` of the last transform that records one."""
        for s in reversed(self):
            if hasattr(s, "stepsize"):
                return s.stepsize
        return np.nan


def chain(*transforms) -> Optimizer:
    r"""Compose transforms as optax's ``chain``: ``init`` returns the tuple of their states;
    ``update`` passes the gradients through each transform in order, each receiving the updates
    of the one before as its gradients (with the same ``params`` and ``value``):
    :math:`u=T_n(\dots T_2(T_1(g)))`.

    Raises
    ------
    ArrayTypeError
        If a transform is not an :class:`Optimizer` (an ``(init, update)`` pair).
    """
    if not transforms:
        raise InvalidArrayError("`chain` needs at least one transform; got none.")
    for i, t in enumerate(transforms):
        if not (hasattr(t, "init") and hasattr(t, "update") and callable(t.init) and callable(t.update)):
            raise ArrayTypeError(f"transform {i} of `chain` must be an Optimizer (an (init, update) pair); "
                                 f"got {type(t).__name__}.")

    def init(params):
        return ChainState(t.init(params) for t in transforms)

    def update(grads, state, params=None, *, value=None):
        if not isinstance(state, tuple) or len(state) != len(transforms):
            raise ArrayTypeError(f"`state` must be the tuple of {len(transforms)} states returned by the "
                                 f"chain's init/update; got {type(state).__name__}.")
        new = []
        updates = grads
        for t, s in zip(transforms, state):
            updates, s = t.update(updates, s, params, value=value)
            new.append(s)
        return updates, ChainState(new)

    return Optimizer(init, update, "chain(" + ", ".join(t.name or "?" for t in transforms) + ")")


class ScaleState(NamedTuple):
    count: np.ndarray
    layout: object = None


def scale(factor) -> Optimizer:
    r"""Multiply the gradients by ``factor`` (optax's ``scale``): :math:`u=c\,g`; a building
    block for :func:`chain`, e.g. ``chain(scale(0.5), sgd(lr))`` is SGD with step ``lr / 2``.
    ``factor`` may be negative (zero is refused: it would stop every transform after it)."""
    factor = as_array(factor, name="factor")
    if np.any(factor == 0):
        raise InvalidArrayError(f"`factor` must be non-zero and finite; got {factor!r}.")
    factor = factor if factor.ndim else float(factor)

    def init(params):
        return ScaleState(np.zeros((), dtype=np.int64))

    def update(grads, state, params=None, *, value=None):
        c = np.asarray(factor)[..., None] if np.ndim(factor) else factor
        return c * grads, ScaleState(state.count + 1)

    return _wrap(init, update, "scale", (("factor", factor),))


# ============================================================================ optimisers
def _hyper(name, value, *, allow_zero=False, upper=None):
    """Validate a hyperparameter (scalar or array): finite, positive (or >= 0), below ``upper``."""
    arr = as_array(value, name=name, finite=False)
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
    value = as_array(value, name="value", finite=False)
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
    layout: object = None


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

    return _wrap(init, update, f"ngn(schedule={schedule})", (("sigma", sigma),))


class MomentumState(NamedTuple):
    count: np.ndarray
    stepsize: np.ndarray
    previous_update: np.ndarray
    layout: object = None


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

    return _wrap(init, update, "ngn_momentum", (("sigma", sigma), ("beta", beta)))


class EMAState(NamedTuple):
    count: np.ndarray
    stepsize: np.ndarray
    momentum: np.ndarray
    layout: object = None


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

    return _wrap(init, update, f"ngn_ema(weight_decay_sign={weight_decay_sign})",
                 (("sigma", sigma), ("beta1", beta1), ("weight_decay", weight_decay)))


class StepState(NamedTuple):
    count: np.ndarray
    stepsize: np.ndarray
    layout: object = None


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

    return _wrap(init, update, "sgd", (("lr", lr),))


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

    return _wrap(init, update, "sps", (("c", c), ("max_lr", max_lr), ("f_star", f_star)))


class AdagradState(NamedTuple):
    count: np.ndarray
    stepsize: np.ndarray
    accumulator: np.ndarray
    layout: object = None


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

    return _wrap(init, update, "adagrad-norm" if norm else "adagrad", (("lr", lr),))


class AdamState(NamedTuple):
    count: np.ndarray
    stepsize: np.ndarray
    mu: np.ndarray
    nu: np.ndarray
    layout: object = None


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

    return _wrap(init, update, "adam", (("lr", lr),))


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
        n = self.losses.shape[0]
        record = integer("record", record, minimum=-n, maximum=n - 1)
        return mean_estimate(self.losses[record] - real_scalar("subtract", subtract))


def sample_indices(seed, n_paths: int, n_steps: int, batch_size: int, n_samples: int) -> np.ndarray:
    """The sample indices :func:`run` uses: shape ``(n_steps, n_paths, batch_size)``, drawn
    uniformly with replacement, path ``i`` from its own stream keyed by ``(seed, i)``."""
    batch_size = integer("batch_size", batch_size, minimum=1)
    n_paths = integer("n_paths", n_paths, minimum=1)
    n_steps = integer("n_steps", n_steps, minimum=0)
    n_samples = integer("n_samples", n_samples, minimum=1)
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
        A path diverges when its iterate or loss is not finite or ``|x - x0| > blowup (1 + |x0|)``.
        Diverged paths are frozen, counted, and NaN from then on; they are never averaged in.
    """
    if not (callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))):
        raise ArrayTypeError(f"`optimizer` must be an Optimizer (an (init, update) pair); got "
                             f"{type(optimizer).__name__}.")
    if not (hasattr(problem, "value_and_grad") and hasattr(problem, "dim")):
        raise ArrayTypeError(f"`problem` must be a lemmata.numerics.problems.Problem; got {type(problem).__name__}.")
    n_steps = integer("n_steps", n_steps, minimum=1)
    n_paths = integer("n_paths", n_paths, minimum=1)
    record_every = integer("record_every", record_every, minimum=1)
    blowup = real_scalar("blowup", blowup, positive=True)
    x0 = as_array(x0, name="x0", ndim=(1, 2), finite=False)
    if x0.shape == (problem.dim,):
        x0 = np.broadcast_to(x0, (n_paths, problem.dim)).copy()
    if x0.shape != (n_paths, problem.dim):
        raise InvalidArrayError(f"`x0` must have shape ({problem.dim},) or ({n_paths}, {problem.dim}); "
                                f"got {x0.shape}.")
    if not np.all(np.isfinite(x0)):
        raise InvalidArrayError("`x0` must be finite.")
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
            stepsizes[k] = np.where(alive, np.broadcast_to(getattr(new_state, "stepsize", np.nan), (n_paths,)),
                                    np.nan)
            grad_sq[k] = np.where(alive, _sq_norm(grads), np.nan)
            sample_losses[k] = np.where(alive, value, np.nan)
            step_sq[k] = np.where(alive, _sq_norm(updates), np.nan)
            x = np.where(alive[:, None], x_new, x)
            state = _keep_alive(new_state, state, alive, n_paths)
    final = np.where(alive[:, None], x, np.nan)
    return Trajectory(losses, record_steps, stepsizes, grad_sq, sample_losses, step_sq, final,
                      ~alive, diverged_at, seed, batch_size)


def _keep_alive(new, old, alive, n_paths):
    """The new state on live paths, the old one on diverged paths (recursively through the tuple
    states of :func:`chain`)."""
    if isinstance(new, _Layout):
        return new
    if isinstance(new, tuple):
        parts = [_keep_alive(a, b, alive, n_paths) for a, b in zip(new, old)]
        return type(new)(*parts) if hasattr(new, "_fields") else type(new)(parts)
    return np.where(_mask_for(alive, new), new, old) if _batched(new, n_paths) else new


def _batched(a, n_paths):
    return isinstance(a, np.ndarray) and a.ndim >= 1 and a.shape[0] == n_paths


def _mask_for(alive, a):
    return alive.reshape(alive.shape + (1,) * (a.ndim - 1))
