r"""Few-shot transfer on tiny CPU backbones (the ``deep`` extra): a bidirectional selective-SSM
vision model (Vim-style S6 blocks scanned forward and backward), a tiny ViT, a procedurally
rendered 32 x 32 source task to pretrain them on (cached on disk), target tasks from a different
seed family, and visual prompting with iterative label mapping (ILM-VP) through a frozen backbone.

This is a **CPU-scale proxy** of arXiv:2403.10696's pipeline, not its experiment: the paper's
backbones are ImageNet-pretrained Vim/VMamba/DeiT models on 224 x 224 inputs. Here the source
resolution (32) plays the role of 224, the source task's 64 classes the role of ImageNet-1k's
1000, and target images are resized to s x s (s < 32) and framed by the prompt.

This module imports torch; nothing in ``lemmata.numerics`` imports it at import time.

Any ``torch.nn.Module`` with ``features(x) -> (B, D)`` and ``logits(x) -> (B, n_source)`` taking
normalised images (B, 3, 32, 32) plugs into :func:`extract_features` and
:func:`train_visual_prompt`.

References
----------
D. Misra, J. Gala, A. Orvieto, arXiv:2403.10696, 2024 (protocols). L. Zhu et al., "Vision Mamba",
arXiv:2401.09417 (bidirectional S6 blocks). A. Gu, T. Dao, "Mamba", arXiv:2312.00752 (S6). A. Chen
et al., CVPR 2023 (ILM-VP).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lemmata.analysis.validation import one_of, positive_int

from . import transfer as tr
from .stats import child_seed

__all__ = [
    "s6_scan", "BiS6Block", "TinyVim", "TinyViT", "SIZES", "build_backbone", "parameter_count",
    "render_source_task", "render_target_task", "TARGET_TASKS", "target_split",
    "pretrain", "transfer_cache_dir", "extract_features", "VPResult", "train_visual_prompt", "adam_probe",
    "normalise", "transfer_task", "proxy_table",
]

SOURCE_SIZE = 32
N_SOURCE = 64
#: code version of the pretraining recipe, part of every cache key
_RECIPE = "1"


# ------------------------------------------------------------------------------ S6 recurrence
def s6_scan(delta, A, B, x, C=None, *, discretization: str = "zoh", method: str = "sequential"):
    r"""The S6 recurrence of :func:`lemmata.numerics.cde.selective_scan` in torch, batched:

    .. math::  h_k=e^{\Delta_kA}h_{k-1}+\beta_k,\quad
               \beta_k=\varphi_1(\Delta_kA)\,\Delta_kB_kx_k\ (\text{"zoh"})\ \text{or}\ \Delta_kB_kx_k\ (\text{"euler"}),

    with :math:`\varphi_1(g)=(e^g-1)/g` and :math:`h_0=0`, time on axis -2.

    ``method="sequential"`` runs the recurrence step by step; ``"parallel"`` evaluates its
    solution :math:`h_k=\sum_{j\le k}e^{G_k-G_j}\beta_j`, :math:`G_k=\sum_{i\le k}\Delta_iA`, all at
    once (O(T^2) memory; every exponent is <= 0 because A < 0, so it is stable) -- the faster
    choice for the short token sequences of the tiny backbones.

    Parameters
    ----------
    delta, x : tensor (..., T, E)
    A : tensor (E, n), negative
    B : tensor (..., T, n)
    C : tensor (..., T, n), optional
        When given, return the outputs :math:`y_k=\langle C_k, h_k\rangle` (..., T, E) instead of
        the states (..., T, E, n).
    """
    one_of("discretization", discretization, ("zoh", "euler"))
    one_of("method", method, ("sequential", "parallel"))
    g = delta.unsqueeze(-1) * A                                   # (..., T, E, n)
    drive = (delta * x).unsqueeze(-1) * B.unsqueeze(-2)           # Delta_k B_k x_k
    if discretization == "zoh":
        drive = drive * torch.expm1(g) / g
    if method == "parallel":
        G = torch.cumsum(g, dim=-3)
        T = g.shape[-3]
        diff = G.unsqueeze(-3) - G.unsqueeze(-4)                  # [..., k, j, E, n] = G_k - G_j
        causal = torch.ones(T, T, dtype=torch.bool, device=g.device).tril()
        weights = torch.exp(diff.masked_fill(~causal[:, :, None, None], -math.inf))
        states = (weights * drive.unsqueeze(-4)).sum(-3)
        return states if C is None else (states * C.unsqueeze(-2)).sum(-1)
    # unbind once: slicing inside the loop would make autograd build a full-size gradient per step
    decays, drives = torch.exp(g).unbind(-3), drive.unbind(-3)
    h = torch.zeros_like(drives[0])
    states = []
    for a, b in zip(decays, drives):
        h = a * h + b
        states.append(h)
    states = torch.stack(states, dim=-3)
    return states if C is None else (states * C.unsqueeze(-2)).sum(-1)


class BiS6Block(nn.Module):
    """A Vim block: pre-LayerNorm, input projection to (x, z), and for each scan direction a
    depthwise causal convolution, SiLU and an S6 scan with input-dependent (Delta, B, C); the two
    directions are summed, gated by SiLU(z), projected back and added to the residual stream."""

    def __init__(self, dim: int, d_state: int = 4, expand: int = 2, conv: int = 3, method: str = "sequential"):
        super().__init__()
        self.method = method
        E = expand * dim
        self.rank = max(1, math.ceil(dim / 16))
        self.norm = nn.LayerNorm(dim)
        self.in_proj = nn.Linear(dim, 2 * E)
        self.conv = nn.ModuleList([nn.Conv1d(E, E, conv, groups=E, padding=conv - 1) for _ in range(2)])
        self.x_proj = nn.ModuleList([nn.Linear(E, self.rank + 2 * d_state, bias=False) for _ in range(2)])
        self.dt_proj = nn.ModuleList([nn.Linear(self.rank, E) for _ in range(2)])
        # Mamba's initialisation: softplus(dt bias) log-uniform in [1e-3, 1e-1], A = -(1..n)
        for proj in self.dt_proj:
            dt = torch.exp(torch.rand(E) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
            with torch.no_grad():
                proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(2, E, 1))
        self.D = nn.Parameter(torch.ones(2, E))
        self.out_proj = nn.Linear(E, dim)
        self.d_state = d_state

    def _direction(self, u, i):
        T = u.shape[1]
        v = F.silu(self.conv[i](u.transpose(1, 2))[..., :T].transpose(1, 2))       # (B, T, E)
        dt, Bm, Cm = torch.split(self.x_proj[i](v), [self.rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj[i](dt))
        y = s6_scan(delta, -torch.exp(self.A_log[i]), Bm, v, Cm, discretization="euler", method=self.method)
        return y + self.D[i] * v

    def forward(self, tokens):
        u, z = self.in_proj(self.norm(tokens)).chunk(2, dim=-1)
        y = self._direction(u, 0) + self._direction(u.flip(1), 1).flip(1)
        return tokens + self.out_proj(y * F.silu(z))


class _Backbone(nn.Module):
    """Patch embedding + absolute position embedding, blocks, LayerNorm, pooled features, head."""

    def __init__(self, n_classes: int, dim: int, patch: int, image: int):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, patch, stride=patch)
        self.n_tokens = (image // patch) ** 2
        self.pos = nn.Parameter(torch.randn(1, self.n_tokens, dim) * 0.02)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_classes)
        self.feature_dim = dim

    def tokens(self, x):
        return self.patch(x).flatten(2).transpose(1, 2) + self.pos

    def logits(self, x):
        return self.head(self.features(x))

    def forward(self, x):
        return self.logits(x)


class TinyVim(_Backbone):
    """A bidirectional selective-SSM vision model (Vim-style, mean pooling)."""

    def __init__(self, n_classes: int = N_SOURCE, dim: int = 32, depth: int = 2, d_state: int = 4,
                 patch: int = 8, image: int = SOURCE_SIZE):
        super().__init__(n_classes, dim, patch, image)
        self.blocks = nn.ModuleList([BiS6Block(dim, d_state) for _ in range(depth)])

    def features(self, x):
        h = self.tokens(x)
        for block in self.blocks:
            h = block(h)
        return self.norm(h).mean(dim=1)


class TinyViT(_Backbone):
    """A tiny ViT: class token, pre-norm transformer encoder layers, class-token features."""

    def __init__(self, n_classes: int = N_SOURCE, dim: int = 32, depth: int = 2, heads: int = 2,
                 patch: int = 8, image: int = SOURCE_SIZE):
        super().__init__(n_classes, dim, patch, image)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)

    def features(self, x):
        h = self.tokens(x)
        h = torch.cat([self.cls.expand(h.shape[0], -1, -1), h], dim=1)
        return self.norm(self.encoder(h))[:, 0]


#: backbone -> size -> constructor arguments (sizes grow in width and depth)
SIZES = {
    "vim": {"t": {"dim": 16, "depth": 1}, "s": {"dim": 24, "depth": 2}, "b": {"dim": 32, "depth": 3}},
    "vit": {"t": {"dim": 16, "depth": 1, "heads": 2}, "s": {"dim": 24, "depth": 2, "heads": 2},
            "b": {"dim": 32, "depth": 3, "heads": 4}},
}


#: default peak learning rate of pretraining per family
PRETRAIN_LR = {"vim": 1e-2, "vit": 3e-3}


def build_backbone(backbone: str, size: str, *, seed: int = 0) -> nn.Module:
    """A freshly initialised ``TinyVim`` or ``TinyViT`` of a size in :data:`SIZES` (seeded)."""
    one_of("backbone", backbone, tuple(SIZES))
    one_of("size", size, tuple(SIZES[backbone]))
    torch.manual_seed(int(seed))
    cls = TinyVim if backbone == "vim" else TinyViT
    return cls(**SIZES[backbone][size])


def parameter_count(model: nn.Module) -> int:
    """Number of parameters (the paper's model scale)."""
    return int(sum(p.numel() for p in model.parameters()))


# ------------------------------------------------------------------------------ procedural data
def _grid(size):
    v = (np.arange(size) + 0.5) / size * 2 - 1
    return np.meshgrid(v, v, indexing="ij")


_PALETTE = np.array([[0.9, 0.2, 0.2], [0.2, 0.8, 0.3], [0.25, 0.35, 0.95], [0.95, 0.85, 0.2],
                     [0.8, 0.3, 0.85], [0.2, 0.85, 0.9], [0.95, 0.55, 0.15], [0.95, 0.95, 0.95]])


def _shape_mask(kind, x, y, r):
    rho = np.sqrt(x * x + y * y)
    if kind == 0:
        return rho < r
    if kind == 1:
        return np.maximum(np.abs(x), np.abs(y)) < 0.8 * r
    if kind == 2:
        return (y > -0.5 * r) & (y < r - np.sqrt(3) * np.abs(x))
    if kind == 3:
        return np.abs(rho - 0.7 * r) < 0.22 * r
    if kind == 4:
        return ((np.abs(x) < 0.25 * r) & (np.abs(y) < r)) | ((np.abs(y) < 0.25 * r) & (np.abs(x) < r))
    if kind == 5:
        return (rho < r) & (np.sin(9 * x / r) > 0)
    if kind == 6:
        return (np.maximum(np.abs(x), np.abs(y)) < 0.8 * r) & (np.sin(7 * x / r) * np.sin(7 * y / r) > 0)
    return np.abs(x) + np.abs(y) < r


def render_source_task(n_per_class: int, *, seed: int, size: int = SOURCE_SIZE):
    """The source task: 64 classes = 8 shapes (disk, square, triangle, ring, cross, striped disk,
    checkered square, diamond) x 8 colours, each image with a random position, scale, rotation,
    background colour and pixel noise. Image i of class c draws from the stream (seed, c, i).

    Returns images (n, 3, size, size) float32 in [0, 1] and labels (n,) int64.
    """
    positive_int("n_per_class", n_per_class)
    X, Y = _grid(size)
    images = np.empty((N_SOURCE * n_per_class, 3, size, size), dtype=np.float32)
    labels = np.repeat(np.arange(N_SOURCE), n_per_class)
    for c in range(N_SOURCE):
        for i in range(n_per_class):
            rng = np.random.default_rng(child_seed(seed, c, i))
            cx, cy = rng.uniform(-0.3, 0.3, 2)
            r, th = rng.uniform(0.35, 0.6), rng.uniform(0, 2 * np.pi)
            xr = np.cos(th) * (X - cx) + np.sin(th) * (Y - cy)
            yr = -np.sin(th) * (X - cx) + np.cos(th) * (Y - cy)
            mask = _shape_mask(c % 8, xr, yr, r)
            colour = np.clip(_PALETTE[c // 8] + rng.normal(0, 0.05, 3), 0, 1)
            back = rng.uniform(0.0, 0.35, 3)
            img = np.where(mask[None], colour[:, None, None], back[:, None, None])
            images[c * n_per_class + i] = np.clip(img + rng.normal(0, 0.04, img.shape), 0, 1)
    return images, labels


def _segments_mask(segments, x, y, width):
    out = np.zeros_like(x, dtype=bool)
    for (x0, y0), (x1, y1) in segments:
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((x - x0) * dx + (y - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
        out |= (x - x0 - t * dx) ** 2 + (y - y0 - t * dy) ** 2 < width * width
    return out


def _glyphs(n_per_class, seed, size, family):
    """10 glyph classes, each 3 strokes between points of a 3 x 3 lattice chosen by the family
    seed; images jitter rotation, scale, shift and stroke width; white on dark, grey."""
    lattice = [(a, b) for a in (-0.6, 0, 0.6) for b in (-0.6, 0, 0.6)]
    frng = np.random.default_rng(child_seed(family, 0))
    classes = []
    while len(classes) < 10:
        pts = frng.choice(9, size=(3, 2))
        strokes = tuple(sorted((int(min(p)), int(max(p))) for p in pts if p[0] != p[1]))
        if len(strokes) == 3 and strokes not in classes:
            classes.append(strokes)
    X, Y = _grid(size)
    images = np.empty((10 * n_per_class, 3, size, size), dtype=np.float32)
    for c, strokes in enumerate(classes):
        segs = [(lattice[a], lattice[b]) for a, b in strokes]
        for i in range(n_per_class):
            rng = np.random.default_rng(child_seed(seed, c, i))
            th, sc = rng.normal(0, 0.15), rng.uniform(0.85, 1.15)
            sx, sy = rng.normal(0, 0.08, 2)
            xr = (np.cos(th) * (X - sx) + np.sin(th) * (Y - sy)) / sc
            yr = (-np.sin(th) * (X - sx) + np.cos(th) * (Y - sy)) / sc
            ink = _segments_mask(segs, xr, yr, rng.uniform(0.09, 0.15)).astype(np.float32)
            g = np.clip(0.1 + 0.8 * ink + rng.normal(0, 0.05, ink.shape), 0, 1)
            images[c * n_per_class + i] = g[None]
    return images, np.repeat(np.arange(10), n_per_class)


def _textures(n_per_class, seed, size, family):
    """10 texture classes: gratings whose (orientation, frequency) pair is drawn by the family
    seed; images jitter phase, contrast, orientation (+-8 degrees) and a random tint."""
    frng = np.random.default_rng(child_seed(family, 1))
    angles = frng.permutation(5) * np.pi / 5
    params = [(angles[k % 5], 3.0 + 3.0 * (k // 5) + frng.uniform(0, 0.5)) for k in range(10)]
    X, Y = _grid(size)
    images = np.empty((10 * n_per_class, 3, size, size), dtype=np.float32)
    for c, (angle, freq) in enumerate(params):
        for i in range(n_per_class):
            rng = np.random.default_rng(child_seed(seed, c, i))
            a = angle + rng.normal(0, 0.14)
            wave = np.sin(freq * np.pi * (np.cos(a) * X + np.sin(a) * Y) + rng.uniform(0, 2 * np.pi))
            tint = rng.uniform(0.4, 1.0, 3)
            img = 0.5 + 0.5 * rng.uniform(0.5, 1.0) * wave[None] * tint[:, None, None]
            images[c * n_per_class + i] = np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1)
    return images, np.repeat(np.arange(10), n_per_class)


def _digits(n_per_class, seed, size, family):
    """scikit-learn's 8 x 8 handwritten digits (1797 images, ~180 per class), upsampled; needs
    scikit-learn (optional)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        from lemmata.analysis.errors import BackendUnavailableError
        raise BackendUnavailableError("the 'digits' target task needs scikit-learn (pip install scikit-learn); "
                                      "the procedural tasks 'glyphs' and 'textures' need nothing.") from exc
    data = load_digits()
    x = torch.tensor(data.images[:, None] / 16.0, dtype=torch.float32)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).repeat(1, 3, 1, 1)
    y = data.target.astype(np.int64)
    take = tr.few_shot_indices(y, min(n_per_class, int(np.bincount(y).min())), seed=seed)
    return x.numpy()[take], y[take]


#: target tasks: name -> renderer(n_per_class, seed, size, family)
TARGET_TASKS = {"glyphs": _glyphs, "textures": _textures, "digits": _digits}
#: the target tasks' seed family, disjoint from any source seed (source streams are (seed, c, i))
TARGET_FAMILY = 7_919_001


def render_target_task(name: str, n_per_class: int, *, seed: int, size: int = SOURCE_SIZE):
    """A 10-class target task rendered at ``size`` x ``size``: ``"glyphs"`` (stroke glyphs),
    ``"textures"`` (oriented gratings) from the target seed family, or ``"digits"``
    (scikit-learn's, optional). Returns images (n, 3, size, size) in [0, 1] and labels."""
    one_of("name", name, tuple(TARGET_TASKS))
    positive_int("n_per_class", n_per_class)
    return TARGET_TASKS[name](n_per_class, child_seed(TARGET_FAMILY, seed), size, child_seed(TARGET_FAMILY))


def target_split(name: str, *, n_train: int = 60, n_test: int = 40, seed: int = 0):
    """A target task with a disjoint train pool and test set (:class:`lemmata.numerics.transfer.Split`
    asserts it): images, labels, split (read-only arrays, cached per process)."""
    one_of("name", name, tuple(TARGET_TASKS))
    return _target_split(name, positive_int("n_train", n_train), positive_int("n_test", n_test), int(seed))


@functools.lru_cache(maxsize=8)
def _target_split(name, n_train, n_test, seed):
    images, labels = render_target_task(name, n_train + n_test, seed=seed)
    images.setflags(write=False)
    labels.setflags(write=False)
    split = tr.stratified_split(labels, n_test / (n_train + n_test), seed=child_seed(TARGET_FAMILY, seed, 1))
    return images, labels, split


# ------------------------------------------------------------------------------ pretraining
def transfer_cache_dir() -> Path:
    """Pretrained tiny backbones live under the lemmata cache dir (``$LEMMATA_CACHE_DIR``)."""
    from .codegen import cache_dir
    return cache_dir() / "transfer"


def _source_stats(images):
    return images.mean(axis=(0, 2, 3)).astype(np.float32), images.std(axis=(0, 2, 3)).astype(np.float32)


def normalise(images, mean, std):
    """(x - mean) / std per channel (the last step before the backbone, after padding and prompting)."""
    return (images - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


def pretrain(backbone: str, size: str, *, seed: int = 0, n_per_class: int = 40, epochs: int = 10,
             lr: float | None = None, batch_size: int = 128, cache: bool = True, verbose: bool = False):
    """Pretrain a tiny backbone on the source task (AdamW, one-cycle schedule, flips as
    augmentation) or load it from the cache, keyed by the config, the recipe version and the seed.
    The default peak learning rate is per family (:data:`PRETRAIN_LR`: the S6 model needs a larger
    one, as Mamba models do; at 3e-3 the tiny Vim reached 7 % source accuracy against 22 % at 1e-2).

    Returns ``(model, info)``: the model in eval mode with frozen parameters; ``info`` holds the
    source mean/std, held-out source accuracy, #parameters, seconds and the cache path.
    """
    lr = PRETRAIN_LR.get(backbone, 3e-3) if lr is None else lr
    config = {"backbone": backbone, "size": size, "arch": SIZES.get(backbone, {}).get(size), "seed": int(seed),
              "n_per_class": int(n_per_class), "epochs": int(epochs), "lr": float(lr), "batch": int(batch_size),
              "recipe": _RECIPE, "torch": torch.__version__.split("+")[0]}
    model = build_backbone(backbone, size, seed=seed)
    key = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    path = transfer_cache_dir() / f"{backbone}-{size}-seed{seed}-{key}.pt"
    if cache and path.is_file():
        blob = torch.load(path, weights_only=True)
        model.load_state_dict(blob["state_dict"])
        info = dict(blob["info"], cached=True)
    else:
        start = time.perf_counter()
        n_held = min(10, n_per_class)          # held-out source images per class (10 by default)
        images, labels = render_source_task(n_per_class + n_held, seed=seed)
        held = (np.arange(labels.size) % (n_per_class + n_held)) >= n_per_class
        mean, std = _source_stats(images[~held])
        mean_t, std_t = torch.tensor(mean), torch.tensor(std)
        x = normalise(torch.tensor(images), mean_t, std_t)
        y = torch.tensor(labels)
        xtr, ytr, xte, yte = x[~held], y[~held], x[held], y[held]
        gen = torch.Generator().manual_seed(int(seed))
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
        steps = epochs * math.ceil(len(ytr) / batch_size)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
        model.train()
        for epoch in range(epochs):
            order = torch.randperm(len(ytr), generator=gen)
            for i in range(0, len(ytr), batch_size):
                idx = order[i:i + batch_size]
                xb = xtr[idx]
                flip = torch.rand(len(idx), generator=gen) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
                loss = F.cross_entropy(model.logits(xb), ytr[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
            if verbose:
                print(f"pretrain {backbone}-{size} epoch {epoch + 1}/{epochs} loss {loss.item():.3f}", flush=True)
        model.eval()
        with torch.no_grad():
            acc = float((model.logits(xte).argmax(1) == yte).float().mean())
        info = {"mean": mean.tolist(), "std": std.tolist(), "source_accuracy": acc,
                "params": parameter_count(model), "seconds": time.perf_counter() - start, "config": config}
        if cache:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            torch.save({"state_dict": model.state_dict(), "info": info}, tmp)
            os.replace(tmp, path)                     # atomic: concurrent pretrainers never see half a file
        info = dict(info, cached=False)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    info["path"] = str(path)
    return model, info


# ------------------------------------------------------------------------------ LP and VP
def _images(name, images):
    """Images (N, 3, H, W) with finite values in [0, 1] (tensor conversion only, no normalisation)."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] != x.shape[3]:
        raise ValueError(f"`{name}` must have shape (N, 3, H, H); got {tuple(x.shape)}.")
    if not torch.isfinite(x).all():
        raise ValueError(f"`{name}` must be finite (NaN or inf pixels are refused).")
    if x.min() < 0 or x.max() > 1:
        raise ValueError(f"`{name}` must hold values in [0, 1] (the tensor conversion, before normalisation); "
                         f"got range [{float(x.min()):.3g}, {float(x.max()):.3g}].")
    return x


def _resize(images, size):
    x = torch.as_tensor(images, dtype=torch.float32)
    if x.shape[-1] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


@torch.no_grad()
def extract_features(model, images, *, mean, std, batch_size: int = 256) -> np.ndarray:
    """Frozen features for linear probing: resize to the source resolution (the paper's 224),
    normalise with the source statistics, ``model.features`` in eval mode."""
    mean_t, std_t = torch.as_tensor(mean, dtype=torch.float32), torch.as_tensor(std, dtype=torch.float32)
    x = normalise(_resize(_images("images", images), SOURCE_SIZE), mean_t, std_t)
    model.eval()
    return torch.cat([model.features(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]).double().numpy()


@dataclass(frozen=True)
class VPResult:
    """A trained frame prompt: last-epoch test accuracy with the last epoch's mapping (the brief's
    pitfall 5: last, not best), training accuracy, the mapping and its history."""

    test_accuracy: float
    train_accuracy: float
    mapping: tuple
    mapping_changes: int
    epochs: int
    image_size: int
    canvas: int
    active_parameters: int
    prompt: np.ndarray

    def to_dict(self):
        out = asdict(self)
        out["prompt"] = self.prompt.tolist()
        return out

    def __repr__(self):
        return (f"VPResult(test={self.test_accuracy:.4f}, train={self.train_accuracy:.4f}, s={self.image_size}, "
                f"L={self.canvas}, epochs={self.epochs}, mapping changes={self.mapping_changes})")


def train_visual_prompt(model, train_images, train_labels, test_images, test_labels, *, n_classes: int,
                        image_size: int, mean, std, canvas: int = SOURCE_SIZE, n_source: int | None = None,
                        epochs: int = 30, lr: float = 0.01, batch_size: int | None = None, seed: int = 0,
                        milestones=(0.5, 0.72)) -> VPResult:
    r"""ILM-VP through a frozen backbone (brief section 1 and pitfall 3, in this order):

    1. resize the target image to s x s (tensor values in [0, 1], no normalisation);
    2. zero-pad to the L x L canvas;
    3. add the frame prompt :math:`\sigma(\delta)\odot M` (delta learnable, initialised at 0);
    4. normalise with the source statistics and take the source logits.

    At the start of every epoch the label mapping is recomputed by
    :func:`lemmata.numerics.transfer.ilm_mapping` from the arg-max source predictions of the
    training images under the current prompt; target t is scored by source logit mapping[t].
    Only delta is trained: Adam (lr 0.01), step decay x0.1 at ``milestones`` (fractions of
    ``epochs``; the paper's 50 and 72 of 100), batch size by budget unless given.
    """
    L = canvas
    geometry = tr.frame_prompt_geometry(image_size, L, 3)
    positive_int("epochs", epochs)
    ytr_np, _ = tr._labels("train_labels", train_labels, n_classes)
    yte_np, _ = tr._labels("test_labels", test_labels, n_classes)
    xtr, xte = _images("train_images", train_images), _images("test_images", test_images)
    if len(xtr) != ytr_np.size or len(xte) != yte_np.size:
        raise ValueError("`train_images`/`test_images` must have one image per label.")
    torch.manual_seed(int(seed))
    ytr, yte = torch.as_tensor(ytr_np), torch.as_tensor(yte_np)
    pad = (geometry.pad_before, geometry.pad_after, geometry.pad_before, geometry.pad_after)
    xtr = F.pad(_resize(xtr, image_size), pad)
    xte = F.pad(_resize(xte, image_size), pad)
    mask = torch.as_tensor(tr.frame_mask(image_size, L), dtype=torch.float32)
    mean_t, std_t = torch.as_tensor(mean, dtype=torch.float32), torch.as_tensor(std, dtype=torch.float32)
    delta = torch.zeros(3, L, L, requires_grad=True)
    model.eval()
    n_source = n_source or model.head.out_features

    def source_logits(x):
        return model.logits(normalise(x + torch.sigmoid(delta) * mask, mean_t, std_t))

    def predictions(x):
        with torch.no_grad():
            return torch.cat([source_logits(x[i:i + 512]).argmax(1) for i in range(0, len(x), 512)]).numpy()

    n_shot = max(1, len(ytr) // n_classes)
    batch = batch_size or tr.batch_size_for(n_shot)
    opt = torch.optim.Adam([delta], lr=lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [max(1, round(m * epochs)) for m in milestones], 0.1)
    gen = torch.Generator().manual_seed(int(seed))
    mapping, changes = None, 0
    for _ in range(epochs):
        new = tr.ilm_mapping(predictions(xtr), ytr.numpy(), n_source, n_classes=n_classes)
        changes += int(mapping is not None and not np.array_equal(new, mapping))
        mapping = new
        index = torch.as_tensor(mapping)
        order = torch.randperm(len(ytr), generator=gen)
        for i in range(0, len(ytr), batch):
            idx = order[i:i + batch]
            loss = F.cross_entropy(source_logits(xtr[idx])[:, index], ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    index = torch.as_tensor(mapping)
    with torch.no_grad():
        hits = sum(int((source_logits(xte[i:i + 512])[:, index].argmax(1) == yte[i:i + 512]).sum())
                   for i in range(0, len(yte), 512))
        test_acc = hits / len(yte)
        train_acc = float((source_logits(xtr)[:, index].argmax(1) == ytr).float().mean())
        prompt = (torch.sigmoid(delta) * mask).numpy().copy()
    return VPResult(test_acc, train_acc, tuple(int(m) for m in mapping), changes, int(epochs), int(image_size),
                    int(L), geometry.active_parameters, prompt)


def adam_probe(features, labels, n_classes: int, *, l2: float, epochs: int, lr: float, batch_size: int, seed,
               milestones=(0.5, 0.72)):
    """The paper's LP schedule on fixed features: Adam (lr), step decay x0.1 at 50 % and 72 % of
    the epochs, mini-batches, cross-entropy + (l2/2)||W||^2. Returns (W, b, final full-batch loss)."""
    if isinstance(seed, np.random.SeedSequence):
        seed = int(seed.generate_state(1)[0])
    torch.manual_seed(int(seed))
    X = torch.as_tensor(features, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.long)
    head = nn.Linear(X.shape[1], n_classes).double()
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [max(1, round(m * epochs)) for m in milestones], 0.1)
    gen = torch.Generator().manual_seed(int(seed))

    def objective(xb, yb):
        return F.cross_entropy(head(xb), yb) + 0.5 * l2 * (head.weight ** 2).sum()

    for _ in range(epochs):
        order = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), batch_size):
            idx = order[i:i + batch_size]
            loss = objective(X[idx], y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    with torch.no_grad():
        final = float(objective(X, y))
    return head.weight.detach().numpy().copy(), head.bias.detach().numpy().copy(), final


# ------------------------------------------------------------------------------ one cell of a study
#: defaults of the CPU-scale proxy (the paper: s = 32 or 128 on a 224 canvas, 100 epochs)
PROXY = {"image_size": 16, "vp_epochs": 10, "pretrain_epochs": 10, "pretrain_per_class": 40, "n_train": 60,
         "n_test": 40, "l2": 1e-3, "data_seed": 0, "pretrain_seed": 0}


def transfer_task(backbone: str, size: str, dataset: str, budget, method: str, seed: int, **options) -> dict:
    """One (backbone, size, dataset, budget, method, seed) cell of the CPU-scale proxy: pretrain
    (or load from the cache) the tiny backbone, draw the few-shot set with ``seed`` from the
    target task's training pool (never its test split), and report the test accuracy of LP
    (L-BFGS on frozen features) or VP (ILM-VP, last epoch). ``options`` override :data:`PROXY`.

    Returns a dict with ``accuracy``, ``params`` (#parameters of the backbone), ``family``
    (the backbone), ``source_accuracy``, ``n_train`` and, for VP, ``mapping_changes``.
    """
    one_of("method", method, ("LP", "VP"))
    unknown = sorted(set(options) - set(PROXY))
    if unknown:
        raise ValueError(f"unknown options {unknown}; allowed {sorted(PROXY)}.")
    o = dict(PROXY, **options)
    model, info = pretrain(backbone, size, seed=o["pretrain_seed"], n_per_class=o["pretrain_per_class"],
                           epochs=o["pretrain_epochs"])
    images, labels, split = target_split(dataset, n_train=o["n_train"], n_test=o["n_test"], seed=o["data_seed"])
    train = tr.few_shot_pool(split, labels, budget, seed=seed)
    test = split.test
    mean, std = np.asarray(info["mean"], dtype=np.float32), np.asarray(info["std"], dtype=np.float32)
    out = {"params": info["params"], "family": backbone, "source_accuracy": info["source_accuracy"],
           "n_train": int(train.size)}
    if method == "LP":
        f_train = extract_features(model, images[train], mean=mean, std=std)
        f_test = extract_features(model, images[test], mean=mean, std=std)
        res = tr.linear_probe(f_train, labels[train], f_test, labels[test], l2=o["l2"], n_classes=10)
        out["accuracy"] = res.test_accuracy
    else:
        res = train_visual_prompt(model, images[train], labels[train], images[test], labels[test], n_classes=10,
                                  image_size=o["image_size"], mean=mean, std=std, epochs=o["vp_epochs"], seed=seed)
        out["accuracy"] = res.test_accuracy
        out["mapping_changes"] = res.mapping_changes
    return out


def proxy_table(*, backbones=("vim", "vit"), sizes=("t", "s", "b"), datasets=("glyphs",), budgets=(1, 10, 50),
                seeds=(0, 1, 2), methods=("LP", "VP"), progress=None, **options) -> list:
    """The tidy result table (one record per cell) of the CPU-scale proxy over the grid, ready for
    :func:`lemmata.numerics.transfer.gap_statistics` and :func:`~lemmata.numerics.transfer.family_difference`."""
    rows = []
    for backbone in backbones:
        for size in sizes:
            for dataset in datasets:
                for budget in budgets:
                    for method in methods:
                        for seed in seeds:
                            cell = transfer_task(backbone, size, dataset, budget, method, seed, **options)
                            rows.append(dict(cell, backbone=f"{backbone}-{size}", dataset=dataset, budget=budget,
                                             method=method, seed=seed))
                            if progress:
                                progress(rows[-1])
    return rows
