r"""Spectral tools for any ``torch.nn.Module`` + loss through ``torch.func`` (the ``deep`` extra),
and muP / NTP versions of a small MLP and of the two-layer ConvNet of arXiv:2402.17457's Figure 1.

Hessian-vector products are forward-over-reverse, ``jvp(grad(L), (theta,), (v,))`` on
``functional_call`` (exact, no finite differences); they are exposed as NumPy callables so that
:func:`lemmata.numerics.spectra.top_eigenvalues` and friends apply unchanged. The empirical NTK
is ``J P J^T`` with per-sample Jacobians from ``vmap(jacrev(...))``.

This module imports torch at import time; ``lemmata.numerics`` never imports it.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.func import functional_call, grad, jacrev, jvp, vmap

from lemmata.analysis.validation import one_of, positive_int
from lemmata.numerics.spectra import top_eigenvalues

__all__ = ["ScaledLinear", "ScaledConv2d", "scaled_mlp", "scaled_convnet", "lr_multipliers", "hvp_operator",
           "sharpness", "empirical_ntk"]


class ScaledLinear(torch.nn.Linear):
    """A bias-free linear layer storing raw weights ~ N(0, 1), used as ``multiplier * W``;
    ``lr_multiplier`` is the SGD rate multiplier on the raw weight (the scaled-layer convention)."""

    def __init__(self, fan_in, fan_out, multiplier, lr_multiplier=1.0):
        super().__init__(fan_in, fan_out, bias=False)
        torch.nn.init.normal_(self.weight)
        self.multiplier, self.lr_multiplier = float(multiplier), float(lr_multiplier)

    def forward(self, x):
        return self.multiplier * super().forward(x)


class ScaledConv2d(torch.nn.Conv2d):
    """A bias-free convolution with raw N(0, 1) weights used as ``multiplier * W``."""

    def __init__(self, c_in, c_out, kernel, stride, multiplier, lr_multiplier=1.0):
        super().__init__(c_in, c_out, kernel, stride=stride, padding=1, bias=False)
        torch.nn.init.normal_(self.weight)
        self.multiplier, self.lr_multiplier = float(multiplier), float(lr_multiplier)

    def forward(self, x):
        return self.multiplier * super().forward(x)


def _gamma(scheme, width, gamma_0, base_width):
    return gamma_0 * math.sqrt(width / base_width) if scheme == "mup" else 1.0


def scaled_mlp(widths, scheme="mup", *, gamma_0=1.0, base_width=1.0, seed=0) -> torch.nn.Sequential:
    """ReLU MLP ``widths = [d, n, ..., n, C]`` under ``scheme`` in {"ntp", "mup"}: multipliers
    sqrt(2/fan_in) (hidden), 1/(sqrt(n) gamma) (readout), SGD multipliers gamma^2 under muP."""
    one_of("scheme", scheme, ("ntp", "mup"))
    widths = [positive_int("widths", w) for w in widths]
    torch.manual_seed(seed)
    g = _gamma(scheme, widths[-2], gamma_0, base_width)
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        last = i == len(widths) - 2
        mult = 1 / (math.sqrt(a) * g) if last else math.sqrt(2 / a)
        layers.append(ScaledLinear(a, b, mult, g * g))
        if not last:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def scaled_convnet(width, scheme="mup", *, gamma_0=1.0, base_width=1.0, n_classes=10, seed=0) -> torch.nn.Sequential:
    """The brief's Figure 1 network for 3 x 32 x 32 inputs: conv 3x3 stride 2 (3 -> n), ReLU,
    max-pool 2; conv 3x3 stride 4 (n -> n), ReLU, max-pool 2; flatten (n features); readout to
    ``n_classes``. Multipliers 1/sqrt(27), 1/sqrt(9n), 1/(sqrt(n) gamma)."""
    one_of("scheme", scheme, ("ntp", "mup"))
    width = positive_int("width", width)
    torch.manual_seed(seed)
    g = _gamma(scheme, width, gamma_0, base_width)
    return torch.nn.Sequential(
        ScaledConv2d(3, width, 3, 2, 1 / math.sqrt(27), g * g), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        ScaledConv2d(width, width, 3, 4, 1 / math.sqrt(9 * width), g * g), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), ScaledLinear(width, n_classes, 1 / (math.sqrt(width) * g), g * g))


def lr_multipliers(module) -> np.ndarray:
    """Per-parameter SGD multipliers in ``module.named_parameters()`` order (1 for layers
    without an ``lr_multiplier``)."""
    out = []
    for mod in module.modules():
        for _, p in mod.named_parameters(recurse=False):
            out.append(np.full(p.numel(), getattr(mod, "lr_multiplier", 1.0)))
    return np.concatenate(out)


def _flat(module):
    names = [n for n, _ in module.named_parameters()]
    params = [p.detach() for _, p in module.named_parameters()]
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]
    theta = torch.cat([p.reshape(-1) for p in params])

    def unflatten(vec):
        return {n: t.reshape(s) for n, t, s in zip(names, torch.split(vec, sizes), shapes)}

    return theta, unflatten


def hvp_operator(module, loss_fn, inputs, targets, *, preconditioned=True):
    r"""``(hvp, dim)``: v -> P^{1/2} H P^{1/2} v (NumPy in and out) for L(theta) =
    loss_fn(module(inputs; theta), targets), by ``jvp(grad(L))``."""
    theta, unflatten = _flat(module)
    root = torch.from_numpy(np.sqrt(lr_multipliers(module))).to(theta.dtype) if preconditioned else None

    def loss(vec):
        return loss_fn(functional_call(module, unflatten(vec), (inputs,)), targets)

    g = grad(loss)

    def hvp(v):
        t = torch.from_numpy(np.asarray(v, dtype=np.float64)).to(theta.dtype)
        if root is not None:
            t = root * t
        out = jvp(g, (theta,), (t,))[1]
        if root is not None:
            out = root * out
        return out.detach().cpu().numpy().astype(np.float64)

    return hvp, int(theta.numel())


def sharpness(module, loss_fn, inputs, targets, *, preconditioned=True, **kwargs):
    """lambda_max of the (preconditioned) Hessian: :func:`top_eigenvalues` on :func:`hvp_operator`."""
    hvp, dim = hvp_operator(module, loss_fn, inputs, targets, preconditioned=preconditioned)
    return top_eigenvalues(hvp, dim, **kwargs)


def empirical_ntk(module, inputs, *, preconditioned=True) -> np.ndarray:
    """Theta = J P J^T, shape (m C, m C), rows ordered (sample, output)."""
    theta, unflatten = _flat(module)

    def f(vec, x):
        return functional_call(module, unflatten(vec), (x[None],))[0]

    J = vmap(jacrev(f), in_dims=(None, 0))(theta, inputs)          # (m, C, P)
    J = J.reshape(-1, J.shape[-1]).detach().cpu().numpy().astype(np.float64)
    p = lr_multipliers(module) if preconditioned else np.ones(J.shape[1])
    return (J * p) @ J.T
