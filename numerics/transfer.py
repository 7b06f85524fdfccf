r"""Few-shot transfer protocols and their statistics: linear probing (LP) and visual prompting
(VP) with iterative label mapping (ILM), as in arXiv:2403.10696 (Misra, Gala, Orvieto, "On the
low-shot transferability of [V]-Mamba"), with the ILM-VP protocol of Chen et al. (CVPR 2023).

Everything here is NumPy/SciPy and runs on cached features or on predictions; training a visual
prompt through a frozen backbone needs gradients and lives in the optional
:mod:`lemmata.numerics.torch_transfer` (``deep`` extra).

Protocol pieces
    * :func:`few_shot_indices` -- per-class seeded sampler (shuffle each class, take the first n);
      a class with fewer than n examples is an error unless ``allow_short=True``;
      :func:`few_shot_budget` -- the bookkeeping (n C, batch size by budget, steps per epoch).
    * :class:`Split`, :func:`make_split`, :func:`stratified_split`, :func:`few_shot_pool` --
      splits that can never put a test index into the training pool (asserted at construction).
    * :func:`linear_probe` -- multinomial logistic regression with L2 by L-BFGS on frozen features
      (or the paper's Adam + step-decay schedule through PyTorch).
    * :func:`label_mapping_counts`, :func:`ilm_mapping` -- the greedy label mapping.
    * :func:`frame_prompt_geometry`, :func:`frame_mask`, :func:`pad_to_canvas` -- the frame prompt.

Statistics
    * :func:`gap_statistics` -- per-cell mean and standard error over seeds, the LP - VP gap,
      Pearson and Spearman correlation of the per-model gap with log(#parameters), bootstrap
      intervals over seeds and datasets, permutation p-values, critical ``|r|`` and power.
    * :func:`family_difference` -- accuracy difference between two backbone families per budget
      with its bootstrap interval (claims (a) and (b) of the paper).
    * :func:`critical_r`, :func:`correlation_power`, :func:`permutation_pvalue`.

References
----------
D. Misra, J. Gala, A. Orvieto, "On the low-shot transferability of [V]-Mamba", arXiv:2403.10696, 2024.
A. Chen, Y. Yao, P.-Y. Chen, Y. Zhang, S. Liu, "Understanding and improving visual prompting: a
label-mapping perspective", CVPR 2023.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import asdict, dataclass
from numbers import Integral, Real

import numpy as np
from scipy import optimize, special, stats

from lemmata.analysis.errors import AssumptionError, BackendUnavailableError, LemmataError
from lemmata.analysis.validation import positive_finite, positive_int

from .stats import child_seed

__all__ = [
    "BUDGETS", "BATCH_SIZES", "batch_size_for", "FewShotBudget", "few_shot_budget", "few_shot_indices",
    "Split", "make_split", "stratified_split", "few_shot_pool",
    "ProbeResult", "linear_probe",
    "label_mapping_counts", "ilm_mapping", "mapping_total",
    "PromptGeometry", "frame_prompt_geometry", "frame_mask", "pad_to_canvas",
    "CellSummary", "GapSummary", "PermutationTest", "GapStatistics", "FamilyComparison",
    "gap_statistics", "family_difference", "critical_r", "correlation_power", "permutation_pvalue",
]

#: the paper's budgets (examples per class); "full" is the whole training split
BUDGETS = (1, 10, 50, 100, "full")
#: batch size by budget in the paper's code
BATCH_SIZES = {1: 8, 10: 32, 50: 64, 100: 128, "full": 256}


# ------------------------------------------------------------------------------ validation
def _labels(name, labels, n_classes=None) -> tuple[np.ndarray, int]:
    """Integer labels in 0..C-1 (C = ``n_classes`` or max + 1)."""
    raw = np.asarray(labels)
    if raw.ndim != 1 or raw.size == 0:
        raise ValueError(f"`{name}` must be a non-empty 1-D array of class labels; got shape {raw.shape}.")
    if raw.dtype.kind == "f":
        if not np.all(np.isfinite(raw)) or not np.all(raw == np.round(raw)):
            bad = raw[~np.isfinite(raw) | (raw != np.round(raw))][0]
            raise ValueError(f"`{name}` must hold integer class labels 0..C-1; got {bad!r}.")
    elif raw.dtype.kind not in "iub":
        raise ValueError(f"`{name}` must hold integer class labels 0..C-1; got dtype {raw.dtype}.")
    y = raw.astype(np.int64)
    if n_classes is None:
        if y.min() < 0:
            raise ValueError(f"`{name}` must hold integer class labels 0..C-1; got {int(y.min())}.")
        n_classes = int(y.max()) + 1
    else:
        n_classes = positive_int("n_classes", n_classes)
        bad = y[(y < 0) | (y >= n_classes)]
        if bad.size:
            raise ValueError(f"`{name}` must hold class labels in 0..{n_classes - 1}; got {int(bad[0])}.")
    return y, n_classes


def _features(name, features, n_rows=None) -> np.ndarray:
    x = np.asarray(features, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"`{name}` must be a 2-D array (samples, features); got shape {x.shape}.")
    if n_rows is not None and x.shape[0] != n_rows:
        raise ValueError(f"`{name}` must have one row per label ({n_rows}); got {x.shape[0]} rows.")
    if not np.all(np.isfinite(x)):
        where = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"`{name}` must be finite; got {x[tuple(where)]!r} at row {where[0]}, column {where[1]} "
                         "(NaN or inf features are refused, never imputed).")
    return x


def _budget_value(n_shot):
    if n_shot == "full":
        return "full"
    if isinstance(n_shot, bool) or not isinstance(n_shot, Integral) or n_shot < 1:
        raise ValueError(f"`n_shot` must be a positive integer or 'full'; got {n_shot!r}.")
    return int(n_shot)


def _seed(seed):
    child_seed(seed)    # validates: a non-negative int or a SeedSequence
    return seed


# ------------------------------------------------------------------------------ budgets
def batch_size_for(n_shot) -> int:
    """The paper's batch size for a budget: 1 -> 8, 10 -> 32, 50 -> 64, 100 -> 128, full -> 256.
    Other budgets take the batch of the largest listed budget not above them (at least 8)."""
    n_shot = _budget_value(n_shot)
    if n_shot in BATCH_SIZES:
        return BATCH_SIZES[n_shot]
    listed = [b for b in BATCH_SIZES if b != "full" and b <= n_shot]
    return BATCH_SIZES[max(listed)] if listed else BATCH_SIZES[1]


@dataclass(frozen=True)
class FewShotBudget:
    """Bookkeeping of one few-shot draw: the nominal size n C, what each class actually gave, the
    batch size by budget and the optimiser steps per epoch (ceil(n_train / batch))."""

    n_shot: object
    n_classes: int
    per_class: tuple
    n_train: int
    n_nominal: int | None
    batch_size: int
    steps_per_epoch: int
    short_classes: tuple

    @property
    def saturated(self) -> bool:
        """Whether some class gave fewer than ``n_shot`` examples (the budget is silently smaller)."""
        return bool(self.short_classes)

    def to_dict(self) -> dict:
        return asdict(self)

    def __repr__(self):
        short = f", short classes {list(self.short_classes)}" if self.short_classes else ""
        return (f"FewShotBudget(n_shot={self.n_shot!r}, C={self.n_classes}, n_train={self.n_train}, "
                f"batch={self.batch_size}, steps/epoch={self.steps_per_epoch}{short})")


def few_shot_budget(labels, n_shot, *, allow_short: bool = False, n_classes=None) -> FewShotBudget:
    """The bookkeeping of :func:`few_shot_indices` for ``labels`` and ``n_shot`` (no draw needed:
    the counts depend on the class sizes only).

    Raises
    ------
    AssumptionError
        If a class has fewer than ``n_shot`` examples and ``allow_short`` is false.
    """
    y, C = _labels("labels", labels, n_classes)
    n_shot = _budget_value(n_shot)
    counts = np.bincount(y, minlength=C)
    if n_shot == "full":
        taken = counts
        short = ()
    else:
        short = tuple(int(c) for c in np.flatnonzero(counts < n_shot))
        if short and not allow_short:
            c = short[0]
            raise AssumptionError(
                f"`n_shot` = {n_shot} exceeds the {int(counts[c])} examples of class {c} "
                f"({len(short)} of {C} classes are short); pass `allow_short=True` to take what there is.")
        taken = np.minimum(counts, n_shot)
    n_train = int(taken.sum())
    batch = batch_size_for(n_shot)
    return FewShotBudget(n_shot, C, tuple(int(t) for t in taken), n_train,
                         None if n_shot == "full" else n_shot * C, batch, max(1, math.ceil(n_train / batch)), short)


def few_shot_indices(labels, n_shot, *, seed, allow_short: bool = False, n_classes=None) -> np.ndarray:
    r"""Per-class few-shot sample: for each class c, shuffle its indices with the stream
    ``(seed, c)`` and take the first ``n_shot`` (the paper's sampler, arXiv:2403.10696 code).

    The draw of class c depends only on (seed, c) and on the indices of class c, so adding a class
    or a larger budget never changes the examples of the others, and budgets are nested: the
    10-shot draw contains the 1-shot draw for the same seed.

    Parameters
    ----------
    labels : array of int, shape (n,)
        Class labels in 0..C-1 of the pool to draw from.
    n_shot : int or "full"
        Examples per class; ``"full"`` returns every index.
    seed : int or SeedSequence
    allow_short : bool
        Take every example of a class with fewer than ``n_shot`` (and warn); otherwise an error.
    n_classes : int, optional
        C, when some classes may be absent from ``labels``.

    Returns
    -------
    array of int64: indices into ``labels``, grouped by class (class 0 first), within a class in
    the shuffled order.

    Raises
    ------
    AssumptionError
        A class is short and ``allow_short`` is false (the paper's code saturates silently).
    ValueError
        Labels outside 0..C-1, a bad budget or seed.
    """
    _seed(seed)
    budget = few_shot_budget(labels, n_shot, allow_short=allow_short, n_classes=n_classes)
    y = np.asarray(labels).astype(np.int64)
    if budget.short_classes:
        warnings.warn(f"few_shot_indices: classes {list(budget.short_classes)} have fewer than {n_shot} examples; "
                      f"the draw has {budget.n_train} instead of {budget.n_nominal}.", stacklevel=2)
    out = []
    for c in range(budget.n_classes):
        members = np.flatnonzero(y == c)
        rng = np.random.default_rng(child_seed(seed, c))
        out.append(members[rng.permutation(members.size)][:budget.per_class[c]])
    return np.concatenate(out).astype(np.int64)


# ------------------------------------------------------------------------------ splits
@dataclass(frozen=True)
class Split:
    """Disjoint train and test index sets of a data set of ``n`` items. Construction asserts that
    no test index is in the training pool (the brief's pitfall 1: a split that is not applied
    leaks the test images into training)."""

    train: np.ndarray
    test: np.ndarray
    n: int

    def __post_init__(self):
        for name in ("train", "test"):
            v = np.asarray(getattr(self, name))
            if v.ndim != 1 or (v.size and (v.dtype.kind not in "iu" or v.min() < 0 or v.max() >= self.n)):
                raise ValueError(f"`{name}` must be 1-D integer indices in 0..{self.n - 1}.")
            if np.unique(v).size != v.size:
                raise ValueError(f"`{name}` must not repeat an index.")
            object.__setattr__(self, name, v.astype(np.int64))
        overlap = np.intersect1d(self.train, self.test)
        if overlap.size:
            raise AssumptionError(f"`train` and `test` must be disjoint; {overlap.size} indices are in both "
                                  f"(first {int(overlap[0])}).")

    def to_dict(self) -> dict:
        return {"train": self.train.tolist(), "test": self.test.tolist(), "n": self.n}

    def __repr__(self):
        return f"Split(n={self.n}, train={self.train.size}, test={self.test.size})"


def make_split(n, train, test) -> Split:
    """A :class:`Split` from explicit index arrays (e.g. a data set's official train/test files).

    Raises
    ------
    AssumptionError
        If an index is in both.
    """
    n = positive_int("n", n)
    return Split(np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64), n)


def stratified_split(labels, test_fraction: float = 0.1, *, seed, n_classes=None) -> Split:
    """A stratified split by index (the brief's fix for EuroSAT: split the sample indices, never
    assign arrays to a dataset object): each class keeps ``round(test_fraction * n_c)`` test
    examples (at least one when n_c >= 2), drawn with the stream ``(seed, c)``."""
    y, C = _labels("labels", labels, n_classes)
    if not isinstance(test_fraction, Real) or not 0 < test_fraction < 1:
        raise ValueError(f"`test_fraction` must be in (0, 1); got {test_fraction!r}.")
    _seed(seed)
    train, test = [], []
    for c in range(C):
        members = np.flatnonzero(y == c)
        order = members[np.random.default_rng(child_seed(seed, c)).permutation(members.size)]
        k = int(round(test_fraction * members.size))
        if members.size >= 2:
            k = min(max(k, 1), members.size - 1)
        test.append(order[:k])
        train.append(order[k:])
    return Split(np.sort(np.concatenate(train)), np.sort(np.concatenate(test)), int(y.size))


def few_shot_pool(split: Split, labels, n_shot, *, seed, allow_short: bool = False, n_classes=None) -> np.ndarray:
    """Few-shot indices (into the whole data set) drawn from ``split.train`` only; asserted
    disjoint from ``split.test``."""
    if not isinstance(split, Split):
        raise TypeError(f"`split` must be a Split; got {type(split).__name__}.")
    y, C = _labels("labels", labels, n_classes)
    if y.size != split.n:
        raise ValueError(f"`labels` must have one entry per item of the split ({split.n}); got {y.size}.")
    local = few_shot_indices(y[split.train], n_shot, seed=seed, allow_short=allow_short, n_classes=C)
    chosen = split.train[local]
    assert np.intersect1d(chosen, split.test).size == 0, "a few-shot index fell into the test split"
    return chosen


# ------------------------------------------------------------------------------ linear probing
@dataclass(frozen=True)
class ProbeResult:
    """A trained linear head ``logits = x W^T + b`` on (standardised) features."""

    train_accuracy: float
    test_accuracy: float
    weights: np.ndarray
    bias: np.ndarray
    loss: float
    n_iter: int
    converged: bool
    method: str
    l2: float
    mean: np.ndarray
    scale: np.ndarray

    def predict(self, features) -> np.ndarray:
        """Arg-max class of each row of ``features``."""
        x = (_features("features", features) - self.mean) / self.scale
        return np.argmax(x @ self.weights.T + self.bias, axis=1)

    def to_dict(self) -> dict:
        return {"train_accuracy": self.train_accuracy, "test_accuracy": self.test_accuracy, "loss": self.loss,
                "n_iter": self.n_iter, "converged": self.converged, "method": self.method, "l2": self.l2,
                "weights": self.weights.tolist(), "bias": self.bias.tolist()}

    def __repr__(self):
        return (f"ProbeResult(test={self.test_accuracy:.4f}, train={self.train_accuracy:.4f}, {self.method}, "
                f"iters={self.n_iter}, converged={self.converged})")


def _softmax_loss(theta, X, Y, l2, C):
    """Mean cross-entropy + (l2/2)||W||_F^2 and its gradient (bias unpenalised)."""
    n, D = X.shape
    W = theta[:C * D].reshape(C, D)
    b = theta[C * D:]
    Z = X @ W.T + b
    Z -= Z.max(axis=1, keepdims=True)
    logsum = np.log(np.exp(Z).sum(axis=1, keepdims=True))
    logP = Z - logsum
    loss = -np.sum(Y * logP) / n + 0.5 * l2 * np.sum(W * W)
    R = (np.exp(logP) - Y) / n
    grad = np.concatenate([(R.T @ X + l2 * W).ravel(), R.sum(axis=0)])
    return loss, grad


def linear_probe(train_features, train_labels, test_features, test_labels, *, l2: float = 1e-3,
                 n_classes=None, standardize: bool = True, method: str = "lbfgs", max_iter: int = 1000,
                 tol: float = 1e-9, epochs: int = 100, lr: float = 0.01, batch_size=None, seed=0) -> ProbeResult:
    r"""Linear probe on frozen features: multinomial logistic regression with L2,

    .. math::

        \min_{W,b}\ \frac1n\sum_{i=1}^n -\log\operatorname{softmax}(Wx_i+b)_{y_i}
        + \frac{\lambda}{2}\|W\|_F^2 ,

    solved by L-BFGS (``method="lbfgs"``, SciPy, analytic gradient; the optimum is unique for
    lambda > 0), or by the paper's schedule (``method="adam"``: Adam, learning rate ``lr`` = 0.01,
    ``epochs`` = 100, step decay x0.1 at epochs 50 and 72, batch size by budget; needs PyTorch).
    The paper trains the head of the frozen backbone (arXiv:2403.10696, brief section 1).

    Parameters
    ----------
    train_features, test_features : array (n, D)
    train_labels, test_labels : array of int in 0..C-1
    l2 : float
        lambda >= 0 (L-BFGS needs lambda > 0 or separable data may not converge).
    standardize : bool
        Centre and scale features by the training mean and standard deviation.
    method : "lbfgs" | "adam"

    Returns
    -------
    ProbeResult

    Raises
    ------
    ValueError
        NaN/inf features, labels outside 0..C-1, shapes that disagree.
    BackendUnavailableError
        ``method="adam"`` without PyTorch.
    """
    if method not in ("lbfgs", "adam"):
        raise ValueError(f"`method` must be 'lbfgs' or 'adam'; got {method!r}.")
    y_train, C = _labels("train_labels", train_labels, n_classes)
    y_test, _ = _labels("test_labels", test_labels, C)
    X = _features("train_features", train_features, y_train.size)
    X_test = _features("test_features", test_features, y_test.size)
    if X_test.shape[1] != X.shape[1]:
        raise ValueError(f"`test_features` must have {X.shape[1]} columns like `train_features`; got {X_test.shape[1]}.")
    if not isinstance(l2, Real) or not math.isfinite(l2) or l2 < 0:
        raise ValueError(f"`l2` must be non-negative and finite; got {l2!r}.")
    positive_int("max_iter", max_iter)
    mean = X.mean(axis=0) if standardize else np.zeros(X.shape[1])
    scale = X.std(axis=0) if standardize else np.ones(X.shape[1])
    scale = np.where(scale > 0, scale, 1.0)
    Xs, Xt = (X - mean) / scale, (X_test - mean) / scale
    n, D = Xs.shape
    if method == "lbfgs":
        Y = np.eye(C)[y_train]
        res = optimize.minimize(_softmax_loss, np.zeros(C * (D + 1)), args=(Xs, Y, float(l2), C), jac=True,
                                method="L-BFGS-B", options={"maxiter": max_iter, "gtol": tol, "ftol": 1e-15})
        W, b = res.x[:C * D].reshape(C, D), res.x[C * D:]
        loss, n_iter, converged = float(res.fun), int(res.nit), bool(res.success)
    else:
        try:
            from .torch_transfer import adam_probe
        except ImportError as exc:
            raise BackendUnavailableError("`method='adam'` needs PyTorch: pip install 'lemmata[deep]'.") from exc
        W, b, loss = adam_probe(Xs, y_train, C, l2=float(l2), epochs=positive_int("epochs", epochs),
                                lr=positive_finite("lr", lr),
                                batch_size=batch_size or batch_size_for(max(1, n // C)), seed=seed)
        n_iter, converged = epochs, True
    train_acc = float(np.mean(np.argmax(Xs @ W.T + b, axis=1) == y_train))
    test_acc = float(np.mean(np.argmax(Xt @ W.T + b, axis=1) == y_test))
    return ProbeResult(train_acc, test_acc, W, b, loss, n_iter, converged, method, float(l2), mean, scale)


# ------------------------------------------------------------------------------ label mapping
def label_mapping_counts(source_predictions, target_labels, n_source, *, n_classes=None) -> np.ndarray:
    """The count matrix D[s, t] = #{training images of target class t whose arg-max source
    prediction is s}, shape (n_source, C)."""
    n_source = positive_int("n_source", n_source)
    s, _ = _labels("source_predictions", source_predictions, n_source)
    t, C = _labels("target_labels", target_labels, n_classes)
    if s.size != t.size:
        raise ValueError(f"`source_predictions` must have one entry per target label ({t.size}); got {s.size}.")
    if C > n_source:
        raise ValueError(f"`n_source` must be at least the number of target classes ({C}); got {n_source}.")
    D = np.zeros((n_source, C), dtype=np.int64)
    np.add.at(D, (s, t), 1)
    return D


def ilm_mapping(source_predictions, target_labels, n_source, *, n_classes=None) -> np.ndarray:
    r"""Greedy (iterative) label mapping of ILM-VP (Chen et al. 2023, used by arXiv:2403.10696):
    with D[s, t] the count matrix of :func:`label_mapping_counts`, repeat C times: take the
    largest remaining entry (s, t), assign source class s to target class t, remove row s and
    column t.

    **Tie rule** (deterministic): among equal largest entries the one first in row-major order of
    D (smallest source class s, then smallest target class t) is taken; this is what ``argmax``
    over the flattened (n_source, C) matrix returns. Once the positive counts are used up, the
    free targets therefore receive the smallest free source classes in increasing order.

    Implemented by one stable sort of the entries by (-count, row-major position) and a single
    pass that accepts an entry when its row and column are free, which is the same greedy.

    Parameters
    ----------
    source_predictions : array of int in 0..n_source-1
        The arg-max source class of each training image (under the current prompt).
    target_labels : array of int in 0..C-1
    n_source : int
        Number of source classes (1000 for ImageNet-1k); at least C.

    Returns
    -------
    array of int64, shape (C,): ``mapping[t]`` is the source class whose logit scores target t.

    Raises
    ------
    ValueError
        Labels out of range, lengths that disagree, n_source < C.
    """
    D = label_mapping_counts(source_predictions, target_labels, n_source, n_classes=n_classes)
    S, C = D.shape
    order = np.argsort(-D.ravel(), kind="stable")
    mapping = np.full(C, -1, dtype=np.int64)
    row_free = np.ones(S, dtype=bool)
    assigned = 0
    for flat in order:
        s, t = divmod(int(flat), C)
        if row_free[s] and mapping[t] < 0:
            mapping[t] = s
            row_free[s] = False
            assigned += 1
            if assigned == C:
                break
    return mapping


def mapping_total(counts, mapping) -> int:
    """sum_t D[mapping[t], t]: the number of training images whose arg-max source class is the
    one mapped to their target class (the matching's weight)."""
    D = np.asarray(counts)
    m = np.asarray(mapping, dtype=np.int64)
    if D.ndim != 2 or m.shape != (D.shape[1],):
        raise ValueError(f"`mapping` must have one entry per column of `counts` ({D.shape[1] if D.ndim == 2 else '?'}); "
                         f"got shape {m.shape}.")
    return int(D[m, np.arange(m.size)].sum())


# ------------------------------------------------------------------------------ prompt geometry
@dataclass(frozen=True)
class PromptGeometry:
    """The frame prompt of an s x s image zero-padded onto an L x L canvas with ``channels``
    channels: pads (before, after) per axis, active prompt parameters channels (L^2 - s^2), and
    the fraction s^2 / L^2 of the canvas the image occupies."""

    canvas: int
    image_size: int
    channels: int
    pad_before: int
    pad_after: int
    active_parameters: int
    image_fraction: float

    def to_dict(self) -> dict:
        return asdict(self)


def _geometry_args(image_size, canvas, channels):
    s = positive_int("image_size", image_size)
    L = positive_int("canvas", canvas)
    c = positive_int("channels", channels)
    if L < s:
        raise ValueError(f"`canvas` must be at least `image_size` ({s}); got {L}.")
    return s, L, c


def frame_prompt_geometry(image_size, canvas: int = 224, channels: int = 3) -> PromptGeometry:
    r"""Geometry of ILM-VP's frame prompt (brief section 1, step 2-3): the image goes to the
    centre of the canvas with ``ceil((L - s)/2)`` zeros before and ``floor((L - s)/2)`` after on
    each axis (the ILM-VP code's split of an odd margin), and the prompt is active on the
    :math:`c(L^2-s^2)` canvas entries outside the image (3(224^2 - s^2) in the paper)."""
    s, L, c = _geometry_args(image_size, canvas, channels)
    before = (L - s + 1) // 2
    return PromptGeometry(L, s, c, before, L - s - before, c * (L * L - s * s), s * s / (L * L))


def frame_mask(image_size, canvas: int = 224) -> np.ndarray:
    """Boolean (canvas, canvas) mask M, True on the frame (outside the centred image)."""
    g = frame_prompt_geometry(image_size, canvas, 1)
    mask = np.ones((g.canvas, g.canvas), dtype=bool)
    mask[g.pad_before:g.pad_before + g.image_size, g.pad_before:g.pad_before + g.image_size] = False
    return mask


def pad_to_canvas(images, canvas: int = 224) -> np.ndarray:
    """Zero-pad images (..., s, s) to (..., L, L) with the pads of :func:`frame_prompt_geometry`
    (step 2 of ILM-VP: after tensor conversion, before prompting and normalisation)."""
    x = np.asarray(images, dtype=float)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"`images` must end in two equal axes (..., s, s); got shape {x.shape}.")
    g = frame_prompt_geometry(x.shape[-1], canvas, 1)
    pad = [(0, 0)] * (x.ndim - 2) + [(g.pad_before, g.pad_after)] * 2
    return np.pad(x, pad)


# ------------------------------------------------------------------------------ correlation tools
def critical_r(n_models, alpha: float = 0.05) -> float:
    r"""Two-sided critical Pearson :math:`|r|` at level alpha for n models: the t statistic
    :math:`t=r\sqrt{n-2}/\sqrt{1-r^2}` has n - 2 degrees of freedom under H0 (bivariate normal,
    rho = 0), so :math:`|r|_{crit}=t_c/\sqrt{n-2+t_c^2}` with :math:`t_c=t_{1-\alpha/2,\,n-2}`
    (brief item 5; closed form in :func:`lemmata.analysis.transfer.critical_r_expression`).

    Raises
    ------
    ValueError
        ``n_models`` < 3 (no degrees of freedom), alpha outside (0, 1).
    """
    n = _n_models(n_models)
    alpha = _alpha(alpha)
    t_c = stats.t.ppf(1 - alpha / 2, n - 2)
    return float(t_c / math.sqrt(n - 2 + t_c * t_c))


def _n_models(n_models) -> int:
    if isinstance(n_models, bool) or not isinstance(n_models, Integral) or n_models < 3:
        raise ValueError(f"`n_models` must be an integer >= 3 for a correlation (n - 2 degrees of freedom); "
                         f"got {n_models!r}.")
    return int(n_models)


def _alpha(alpha) -> float:
    if not isinstance(alpha, Real) or not 0 < alpha < 1:
        raise ValueError(f"`alpha` must be in (0, 1); got {alpha!r}.")
    return float(alpha)


def _r_density(r, rho, n):
    """Exact density of the sample correlation of n bivariate normal pairs (Hotelling 1953)."""
    log_c = (math.log(n - 2) + special.gammaln(n - 1) - 0.5 * math.log(2 * math.pi) - special.gammaln(n - 0.5))
    return np.exp(log_c + 0.5 * (n - 1) * math.log1p(-rho * rho) + 0.5 * (n - 4) * np.log1p(-r * r)
                  - (n - 1.5) * np.log1p(-rho * r)) * special.hyp2f1(0.5, 0.5, n - 0.5, (1 + rho * r) / 2)


def correlation_power(rho, n_models, alpha: float = 0.05) -> float:
    r"""Power of the two-sided Pearson test at level alpha against a true correlation rho with n
    models: :math:`P_\rho(|r|>|r|_{crit})`, from the exact density of r for bivariate normal data

    .. math::

        f(r)=\frac{(n-2)\Gamma(n-1)(1-\rho^2)^{(n-1)/2}(1-r^2)^{(n-4)/2}}
        {\sqrt{2\pi}\,\Gamma(n-\tfrac12)(1-\rho r)^{n-3/2}}\,
        {}_2F_1\!\left(\tfrac12,\tfrac12;n-\tfrac12;\tfrac{1+\rho r}{2}\right),

    integrated by adaptive quadrature (at rho = 0 it reduces to the t distribution, so the power
    is alpha).
    """
    n = _n_models(n_models)
    alpha = _alpha(alpha)
    if not isinstance(rho, Real) or not -1 < rho < 1:
        raise ValueError(f"`rho` must be in (-1, 1); got {rho!r}.")
    rc = critical_r(n, alpha)
    inside, _ = _quad(lambda r: _r_density(r, float(rho), n), -rc, rc)
    return float(min(1.0, max(0.0, 1.0 - inside)))


def _quad(f, a, b):
    from scipy import integrate
    return integrate.quad(f, a, b, epsabs=1e-12, epsrel=1e-10, limit=200)


def _pearson_rows(x, Y):
    """Pearson r of the vector x with every row of Y."""
    xc = x - x.mean()
    Yc = Y - Y.mean(axis=-1, keepdims=True)
    den = np.sqrt((xc * xc).sum()) * np.sqrt((Yc * Yc).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (Yc @ xc) / den


def _statistic(kind):
    if kind == "pearson":
        return _pearson_rows
    if kind == "spearman":
        return lambda x, Y: _pearson_rows(stats.rankdata(x), stats.rankdata(Y, axis=-1))
    raise ValueError(f"`statistic` must be 'pearson' or 'spearman'; got {kind!r}.")


@dataclass(frozen=True)
class PermutationTest:
    """Two-sided permutation test of zero correlation: ``count`` permutations (of ``n_perm``) with
    ``|stat| >= |observed|``; ``p_value`` = count / n! when exact, else (1 + count) / (1 + n_perm)."""

    statistic: str
    observed: float
    p_value: float
    count: int
    n_perm: int
    exact: bool

    def to_dict(self) -> dict:
        return asdict(self)


def permutation_pvalue(x, y, *, statistic: str = "pearson", n_perm: int = 9999, seed=0,
                       exact: bool | None = None) -> PermutationTest:
    """Two-sided permutation p-value of the correlation of x and y (x permuted). Exact
    enumeration of all n! permutations when ``exact`` (default: when n! <= n_perm), else
    ``n_perm`` random permutations with p = (1 + count) / (1 + n_perm), which is valid
    (P(p <= u) <= u under exchangeability)."""
    fn = _statistic(statistic)
    x = _vector("x", x)
    y = _vector("y", y, x.size)
    _n_models(x.size)
    positive_int("n_perm", n_perm)
    observed = float(fn(y, x[None])[0])
    if not math.isfinite(observed):
        raise LemmataError("the correlation is undefined: `x` or `y` is constant.")
    if exact is None:
        exact = math.factorial(x.size) <= n_perm
    eps = 1e-12 * max(1.0, abs(observed))
    if exact:
        perms = np.array(list(itertools.permutations(range(x.size))))
        values = fn(y, x[perms])
        count = int(np.sum(np.abs(values) >= abs(observed) - eps))
        return PermutationTest(statistic, observed, count / perms.shape[0], count, int(perms.shape[0]), True)
    rng = np.random.default_rng(child_seed(seed, 0))
    perms = np.argsort(rng.random((n_perm, x.size)), axis=1)
    values = fn(y, x[perms])
    count = int(np.sum(np.abs(values) >= abs(observed) - eps))
    return PermutationTest(statistic, observed, (1 + count) / (1 + n_perm), count, int(n_perm), False)


def _vector(name, v, size=None):
    a = np.asarray(v, dtype=float)
    if a.ndim != 1 or (size is not None and a.size != size):
        raise ValueError(f"`{name}` must be 1-D" + (f" of length {size}" if size else "") + f"; got shape {a.shape}.")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"`{name}` must be finite; got {a[~np.isfinite(a)][0]!r}.")
    return a


# ------------------------------------------------------------------------------ gap statistics
@dataclass(frozen=True)
class CellSummary:
    """Mean and standard error over seeds of one (backbone, dataset, budget, method) cell."""

    backbone: str
    dataset: str
    budget: object
    method: str
    mean: float
    sem: float
    n_seeds: int

    def to_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class GapSummary:
    """The LP - VP gap of one (backbone, dataset, budget) cell, paired by seed."""

    backbone: str
    dataset: str
    budget: object
    gap: float
    sem: float
    n_seeds: int

    def to_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class GapStatistics:
    """The gap table and the correlation of the per-model gap with log(#parameters).

    ``model_gap[i]``: mean over datasets, budgets and seeds of acc_LP - acc_VP for ``models[i]``;
    ``pearson_ci``, ``spearman_ci``: percentile bootstrap intervals at level ``1 - alpha`` from
    resampling datasets (shared by all models) and seeds within each cell; ``p_t``: the t-test
    p-value of Pearson r; ``critical_r``: the ``|r|`` needed for significance with this many models;
    ``power``: power of that test against a true rho equal to ``power_rho``;
    ``bootstrap_gaps``: the (n_boot, n_models) bootstrap replicates of the model gaps.

    The bootstrap intervals are conditional on these models: they measure the noise of the
    few-shot draws and the choice of datasets, not the sampling of models. With n models the
    test of r itself is the permutation p-value (and ``critical_r``): a tight interval around
    r = 0.9 with three models is still not a significant correlation.
    """

    cells: tuple
    gaps: tuple
    models: tuple
    log_params: tuple
    model_gap: tuple
    model_gap_sem: tuple
    pearson_r: float
    pearson_ci: tuple
    spearman_rho: float
    spearman_ci: tuple
    permutation_pearson: PermutationTest
    permutation_spearman: PermutationTest
    p_t: float
    critical_r: float
    power: float
    power_rho: float
    alpha: float
    n_boot: int
    seed: int
    bootstrap_gaps: np.ndarray = None

    @property
    def n_models(self) -> int:
        return len(self.models)

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("models", "log_params", "model_gap", "model_gap_sem", "pearson_r",
                                              "pearson_ci", "spearman_rho", "spearman_ci", "p_t", "critical_r",
                                              "power", "power_rho", "alpha", "n_boot", "seed")}
        out["cells"] = [c.to_dict() for c in self.cells]
        out["gaps"] = [g.to_dict() for g in self.gaps]
        out["permutation_pearson"] = self.permutation_pearson.to_dict()
        out["permutation_spearman"] = self.permutation_spearman.to_dict()
        return out

    def __repr__(self):
        lo, hi = self.pearson_ci
        return (f"GapStatistics({self.n_models} models: r={self.pearson_r:.3f} [{lo:.3f}, {hi:.3f}], "
                f"rho={self.spearman_rho:.3f}, p_perm={self.permutation_pearson.p_value:.3g}, "
                f"|r|_crit={self.critical_r:.3f})")


def _records(table):
    if hasattr(table, "to_dict") and hasattr(table, "columns"):      # pandas
        table = table.to_dict("records")
    rows = list(table)
    if not rows:
        raise ValueError("`table` must hold at least one record; got none.")
    needed = ("backbone", "dataset", "budget", "seed", "method", "accuracy")
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            raise ValueError(f"`table` must be a list of dicts (records); row {i} is {type(r).__name__}.")
        missing = [k for k in needed if k not in r]
        if missing:
            raise ValueError(f"`table` rows need keys {list(needed)}; row {i} lacks {missing}.")
        acc = r["accuracy"]
        if not isinstance(acc, Real) or not math.isfinite(acc):
            raise ValueError(f"`table` accuracy must be finite; row {i} has {acc!r}.")
    return rows


def _cube(rows, methods, models=None):
    """A[m, b, d, k, s] over methods, backbones, datasets, budgets, seeds (a balanced design)."""
    backbones = sorted({str(r["backbone"]) for r in rows}) if models is None else list(models)
    datasets = sorted({str(r["dataset"]) for r in rows})
    budgets = sorted({r["budget"] for r in rows}, key=lambda b: (b == "full", b if b != "full" else 0))
    seeds = sorted({int(r["seed"]) for r in rows})
    index = {}
    for r in rows:
        key = (str(r["method"]), str(r["backbone"]), str(r["dataset"]), r["budget"], int(r["seed"]))
        if key in index:
            raise ValueError(f"`table` holds {key} twice.")
        index[key] = float(r["accuracy"])
    A = np.empty((len(methods), len(backbones), len(datasets), len(budgets), len(seeds)))
    for pos in itertools.product(*(range(len(v)) for v in (methods, backbones, datasets, budgets, seeds))):
        key = (methods[pos[0]], backbones[pos[1]], datasets[pos[2]], budgets[pos[3]], seeds[pos[4]])
        if key not in index:
            raise ValueError(f"`table` must be a complete grid (method x backbone x dataset x budget x seed); "
                             f"{key} is missing.")
        A[pos] = index[key]
    return A, backbones, datasets, budgets, seeds


def _bootstrap_indices(rng, n_boot, shape):
    """Dataset draws (n_boot, D) and seed draws (n_boot, B, D, K, S)."""
    B, D, K, S = shape
    return rng.integers(0, D, size=(n_boot, D)), rng.integers(0, S, size=(n_boot, B, D, K, S))


def _resampled_means(G, d_idx, s_idx):
    """Model means of G[b, d, k, s] under the bootstrap draws: (n_boot, B)."""
    n_boot = d_idx.shape[0]
    B, D, K, S = G.shape
    b = np.arange(B)[None, :, None, None, None]
    k = np.arange(K)[None, None, None, :, None]
    d = d_idx[:, None, :, None, None]
    return G[b, d, k, s_idx].reshape(n_boot, B, -1).mean(axis=2)


def _sem(x, axis=-1):
    n = x.shape[axis]
    return x.std(axis=axis, ddof=1) / math.sqrt(n) if n > 1 else np.full(np.delete(x.shape, axis), np.nan)


def gap_statistics(table, *, params=None, lp: str = "LP", vp: str = "VP", n_boot: int = 2000, n_perm: int = 9999,
                   alpha: float = 0.05, power_rho: float = 0.3, seed=0) -> GapStatistics:
    r"""Statistics of the LP - VP gap and its correlation with model scale (arXiv:2403.10696,
    claim (c) and brief item 5).

    For backbone b, dataset d, budget k and seed s, :math:`\Delta_{bdks}=acc^{LP}_{bdks}-acc^{VP}_{bdks}`
    (paired: the same seed draws the same few-shot set for both methods). The model gap
    :math:`g_b=\overline{\Delta_{b\cdot\cdot\cdot}}` is correlated with :math:`x_b=\log P_b`
    (P_b = #parameters) by Pearson's r (t test with n - 2 degrees of freedom, exact permutation
    test when n! <= ``n_perm``) and Spearman's rho; intervals come from a two-level percentile
    bootstrap (datasets, shared across models; then seeds within each cell).

    Parameters
    ----------
    table : list of dict (or a pandas DataFrame)
        Records with ``backbone, dataset, budget, seed, method, accuracy`` and ``params``
        (#parameters) unless ``params`` is given; a complete grid.
    params : mapping backbone -> #parameters, optional
    lp, vp : str
        The method names in the table.
    n_boot, n_perm : int
    alpha : float
        Level of the tests and 1 - coverage of the intervals.
    power_rho : float
        The true correlation at which to report the power with this many models.
    seed : int

    Returns
    -------
    GapStatistics

    Raises
    ------
    ValueError
        Fewer than 3 models, an incomplete grid, non-finite accuracies, missing parameter counts.
    """
    rows = _records(table)
    positive_int("n_boot", n_boot)
    alpha = _alpha(alpha)
    _seed(seed)
    A, models, datasets, budgets, seeds = _cube(rows, [lp, vp])
    if len(models) < 3:
        raise ValueError(f"`table` must hold at least 3 models for a correlation (n - 2 degrees of freedom); "
                         f"got {len(models)}: {models}.")
    if params is None:
        params = {}
        for r in rows:
            if "params" not in r:
                raise ValueError("`table` rows need a `params` entry (#parameters) unless `params` is given.")
            params.setdefault(str(r["backbone"]), r["params"])
    counts = []
    for m in models:
        p = params.get(m) if hasattr(params, "get") else None
        if not isinstance(p, Real) or not math.isfinite(p) or p <= 0:
            raise ValueError(f"`params` must give a positive parameter count for every model; {m!r} has {p!r}.")
        counts.append(float(p))
    x = np.log(np.asarray(counts))
    if np.ptp(x) == 0:
        raise ValueError("`params`: every model has the same parameter count; no correlation with scale.")
    cells = tuple(CellSummary(b, d, k, meth, float(A[i, j, l, q].mean()), float(_sem(A[i, j, l, q])), len(seeds))
                  for i, meth in enumerate([lp, vp]) for j, b in enumerate(models)
                  for l, d in enumerate(datasets) for q, k in enumerate(budgets))
    G = A[0] - A[1]                                   # (B, D, K, S)
    gaps = tuple(GapSummary(b, d, k, float(G[j, l, q].mean()), float(_sem(G[j, l, q])), len(seeds))
                 for j, b in enumerate(models) for l, d in enumerate(datasets) for q, k in enumerate(budgets))
    g = G.reshape(len(models), -1).mean(axis=1)
    if np.ptp(g) == 0:
        raise LemmataError("every model has the same mean gap; the correlation is undefined.")
    rng = np.random.default_rng(child_seed(seed, 1))
    d_idx, s_idx = _bootstrap_indices(rng, n_boot, G.shape)
    boot = _resampled_means(G, d_idx, s_idx)
    # the bootstrap distribution of the model gaps gives their standard errors too
    gap_sem = boot.std(axis=0, ddof=1)
    r_boot = _pearson_rows(x, boot)
    rho_boot = _statistic("spearman")(x, boot)
    q = [100 * alpha / 2, 100 * (1 - alpha / 2)]

    def interval(values):
        values = values[np.isfinite(values)]
        return tuple(float(v) for v in np.percentile(values, q)) if values.size else (math.nan, math.nan)

    r = float(_pearson_rows(x, g[None])[0])
    rho = float(_statistic("spearman")(x, g[None])[0])
    n = len(models)
    t = r * math.sqrt(n - 2) / math.sqrt(max(1e-300, 1 - r * r))
    p_t = float(2 * stats.t.sf(abs(t), n - 2))
    perm_r = permutation_pvalue(x, g, statistic="pearson", n_perm=n_perm, seed=child_seed(seed, 2))
    perm_rho = permutation_pvalue(x, g, statistic="spearman", n_perm=n_perm, seed=child_seed(seed, 3))
    return GapStatistics(cells, gaps, tuple(models), tuple(float(v) for v in x), tuple(float(v) for v in g),
                         tuple(float(v) for v in gap_sem), r, interval(r_boot), rho, interval(rho_boot),
                         perm_r, perm_rho, p_t, critical_r(n, alpha), correlation_power(power_rho, n, alpha),
                         float(power_rho), alpha, int(n_boot), int(seed) if isinstance(seed, Integral) else 0, boot)


@dataclass(frozen=True)
class FamilyComparison:
    """Mean accuracy of family a minus family b under one method, per budget (averaged over the
    families' backbones, datasets and seeds), with percentile bootstrap intervals (datasets,
    then seeds within each cell) at level 1 - alpha."""

    method: str
    family_a: str
    family_b: str
    budgets: tuple
    difference: tuple
    ci_low: tuple
    ci_high: tuple
    overall: float
    overall_ci: tuple
    alpha: float

    def to_dict(self) -> dict:
        return asdict(self)

    def __repr__(self):
        lo, hi = self.overall_ci
        return (f"FamilyComparison({self.method}: {self.family_a} - {self.family_b} = {self.overall:+.4f} "
                f"[{lo:+.4f}, {hi:+.4f}])")


def family_difference(table, method: str, family_a: str, family_b: str, *, n_boot: int = 2000,
                      alpha: float = 0.05, seed=0) -> FamilyComparison:
    """Claims (a) and (b) of arXiv:2403.10696 as a measured difference: acc(family_a) -
    acc(family_b) under ``method`` per budget, with bootstrap intervals. Rows need a ``family``
    key. "Superior or equivalent" at margin m reads ``ci_low > -m``; "weaker or similar" reads
    ``ci_high < m``."""
    rows = [r for r in _records(table) if str(r["method"]) == method]
    if not rows:
        raise ValueError(f"`method` {method!r} has no rows in `table`.")
    positive_int("n_boot", n_boot)
    alpha = _alpha(alpha)
    _seed(seed)
    fam = {}
    for r in rows:
        if "family" not in r:
            raise ValueError("`table` rows need a `family` key for a family comparison.")
        fam[str(r["backbone"])] = str(r["family"])
    for f, name in ((family_a, "family_a"), (family_b, "family_b")):
        if f not in fam.values():
            raise ValueError(f"`{name}` {f!r} is not a family in `table`; families: {sorted(set(fam.values()))}.")
    A, models, datasets, budgets, seeds = _cube(rows, [method])
    A = A[0]                                                   # (B, D, K, S)
    in_a = np.array([fam[m] == family_a for m in models])
    in_b = np.array([fam[m] == family_b for m in models])
    rng = np.random.default_rng(child_seed(seed, 4))
    d_idx, s_idx = _bootstrap_indices(rng, n_boot, A.shape)
    B, D, K, S = A.shape
    b = np.arange(B)[None, :, None, None, None]
    k = np.arange(K)[None, None, None, :, None]
    boot = A[b, d_idx[:, None, :, None, None], k, s_idx].mean(axis=(2, 4))    # (n_boot, B, K)
    diff_boot = boot[:, in_a].mean(axis=1) - boot[:, in_b].mean(axis=1)        # (n_boot, K)
    diff = A[in_a].mean(axis=(0, 1, 3)) - A[in_b].mean(axis=(0, 1, 3))
    q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    lo, hi = np.percentile(diff_boot, q, axis=0)
    overall_boot = diff_boot.mean(axis=1)
    return FamilyComparison(method, family_a, family_b, tuple(budgets), tuple(float(v) for v in diff),
                            tuple(float(v) for v in lo), tuple(float(v) for v in hi), float(diff.mean()),
                            tuple(float(v) for v in np.percentile(overall_boot, q)), alpha)
