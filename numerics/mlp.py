r"""NumPy MLPs under an abc-parametrisation, with exact gradients, Hessian-vector products by the
R-operator, per-sample Jacobians, the Gauss-Newton / residual split and the empirical NTK
(the tools of arXiv:2402.17457, section 1 of the brief).

The network (no biases; ``widths = [d, n, ..., n, C]``, ``n_layers = len(widths) - 1`` weight
matrices)::

    x_0 = x,   z_l = a_l x_{l-1} W_l^T,   x_l = [x_{l-1} if residual] + s_l phi(z_l),   f = z_L

with raw weights W_l ~ N(0, b_l^2), multipliers a_l and SGD learning-rate multipliers c_l from
:func:`lemmata.analysis.parametrization.table` (s_l = beta/sqrt(L_blocks) on the residual hidden
layers under Depth-muP, 1 otherwise). The loss is L(theta) = (1/m) sum_i l(f(x_i), y_i) with
``l = |f - y|^2 / 2`` (``"mse"``) or the softmax cross-entropy (``"xent"``).

Second order. With J the Jacobian of the outputs and H_l the Hessian of l in f,

    H = G + R,   G = (1/m) J^T H_l J,   R = (1/m) sum_{i,c} (dl/df_ic) grad^2_theta f_c(x_i),

and H v is computed exactly by forward-mode differentiation of the backward pass (Pearlmutter's
R-operator, Neural Computation 6, 1994): no finite differences, which fail at ReLU kinks (the
brief's pitfall 4). G v and R v are the same pass with the second-order terms, respectively the
loss curvature, switched off. The empirical NTK Theta = J P J^T (P = diag of per-parameter
multipliers) is formed layer by layer, Theta = sum_l p_l a_l^2 (D_l D_l^T) o (X_{l-1} X_{l-1}^T),
without the (mC x P) Jacobian.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from lemmata.analysis.errors import LemmataError
from lemmata.analysis.parametrization import SCHEMES, table
from lemmata.analysis.validation import one_of, positive_finite, positive_int
from lemmata.numerics.stats import child_seed, fit_slope

__all__ = ["ACTIVATIONS", "LOSSES", "MLP", "TrainResult", "train", "teacher_data", "proxy_run",
           "CoordinateCheck", "coordinate_check"]

ACTIVATIONS = ("relu", "tanh", "linear")
LOSSES = ("mse", "xent")
_GAIN = {"relu": math.sqrt(2.0), "tanh": 1.0, "linear": 1.0}


@functools.lru_cache(maxsize=256)
def _rules(scheme, n_layers, width, input_dim, n_blocks, gamma_0, base_width, beta, gain):
    return tuple(table(scheme, n_layers).evaluate(width=width, input_dim=input_dim, n_blocks=n_blocks,
                                                  gamma_0=gamma_0, base_width=base_width, beta_=beta, gain=gain))


def _phi(name, z):
    if name == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(z.dtype), None
    if name == "tanh":
        t = np.tanh(z)
        d1 = 1.0 - t * t
        return t, d1, -2.0 * t * d1
    return z, np.ones_like(z), None


class MLP:
    r"""A bias-free MLP under an abc-parametrisation (SP, NTP, muP or Depth-muP).

    Parameters
    ----------
    widths : sequence of int
        [d, n, ..., n, C]: input dimension, equal hidden widths, outputs; 2 to 5 weight matrices.
    activation : {"relu", "tanh", "linear"}
    scheme : {"sp", "ntp", "mup", "depth_mup"}
    loss : {"mse", "xent"}
    residual : bool
        Residual hidden-to-hidden layers x_l = x_{l-1} + s phi(z_l) (forced under Depth-muP).
    gamma_0, base_width : float
        muP's gamma = gamma_0 sqrt(n / base_width); at n = base_width muP equals NTP.
    beta : float
        Depth-muP branch multiplier beta / sqrt(number of residual blocks).

    Attributes
    ----------
    n_params : int
    rules : list of dict
        The evaluated table (one dict per layer).
    """

    def __init__(self, widths, activation: str = "relu", scheme: str = "mup", *, loss: str = "xent",
                 residual: bool = False, gamma_0: float = 1.0, base_width: float = 1.0, beta: float = 1.0):
        widths = list(widths) if not isinstance(widths, (str, bytes)) else None
        if widths is None or len(widths) < 3 or len(widths) > 6:
            raise ValueError(f"`widths` must list [d, n, ..., n, C] with 2 to 5 layers; got {widths!r}.")
        for w in widths:
            if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
                raise ValueError(f"`widths` must hold integers >= 1; got {widths!r}.")
        hidden = widths[1:-1]
        if len(set(hidden)) != 1:
            raise ValueError(f"`widths` must have equal hidden widths (one n for the table); got {hidden}.")
        self.activation = one_of("activation", activation, ACTIVATIONS)
        self.scheme = one_of("scheme", scheme, SCHEMES)
        self.loss_name = one_of("loss", loss, LOSSES)
        self.widths = [int(w) for w in widths]
        self.n_layers = len(widths) - 1
        self.gamma_0 = positive_finite("gamma_0", gamma_0)
        self.base_width = positive_finite("base_width", base_width)
        self.beta = positive_finite("beta", beta)
        if scheme == "depth_mup" and self.n_layers < 3:
            raise ValueError(f"`widths` must give >= 3 layers under 'depth_mup' (a residual block); got {widths}.")
        self.residual = bool(residual) or scheme == "depth_mup"
        n_blocks = max(self.n_layers - 2, 1)
        rules = _rules(scheme, self.n_layers, hidden[0], widths[0], n_blocks, self.gamma_0, self.base_width,
                       self.beta, _GAIN[activation])
        self.rules = [dict(r) for r in rules]
        self.shapes = [(widths[l + 1], widths[l]) for l in range(self.n_layers)]
        sizes = [a * b for a, b in self.shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.n_params = int(self.offsets[-1])
        self._a = np.array([r["multiplier"] for r in rules])
        self._res = [self.residual and 0 < l < self.n_layers - 1 for l in range(self.n_layers)]
        self._scale = [rules[l]["residual_multiplier"] if self._res[l] else 1.0 for l in range(self.n_layers)]

    def __repr__(self) -> str:
        return (f"MLP({self.widths}, {self.activation!r}, {self.scheme!r}, loss={self.loss_name!r}, "
                f"residual={self.residual}, n_params={self.n_params})")

    # ---------------------------------------------------------------- parameters
    def init(self, seed=0) -> np.ndarray:
        """Raw parameters theta_0: layer l's entries ~ N(0, init_std_l^2), from the stream (seed, l)."""
        parts = [np.random.default_rng(child_seed(seed, l)).standard_normal(self.shapes[l]).ravel()
                 * self.rules[l]["init_std"] for l in range(self.n_layers)]
        return np.concatenate(parts)

    def multipliers(self, optimizer: str = "sgd") -> np.ndarray:
        """Per-parameter learning-rate multipliers (physical rate = eta * multiplier)."""
        one_of("optimizer", optimizer, ("sgd", "adam"))
        key = "sgd_lr" if optimizer == "sgd" else "adam_lr"
        return np.concatenate([np.full(self.shapes[l][0] * self.shapes[l][1], self.rules[l][key])
                               for l in range(self.n_layers)])

    def unpack(self, theta) -> list:
        theta = self._theta(theta)
        return [theta[self.offsets[l]:self.offsets[l + 1]].reshape(self.shapes[l]) for l in range(self.n_layers)]

    def _theta(self, theta, name="theta"):
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self.n_params,):
            raise ValueError(f"`{name}` must be a vector of length n_params = {self.n_params}; got shape {theta.shape}.")
        return theta

    def _inputs(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.widths[0]:
            raise ValueError(f"`X` must have shape (m, {self.widths[0]}); got {X.shape}.")
        if not np.all(np.isfinite(X)):
            raise ValueError("`X` must be finite.")
        return X

    def _targets(self, Y, m):
        C = self.widths[-1]
        Y = np.asarray(Y)
        if self.loss_name == "xent":
            if Y.shape == (m,):
                if not np.issubdtype(Y.dtype, np.integer) or Y.min() < 0 or Y.max() >= C:
                    raise ValueError(f"`Y` must hold integer labels in [0, {C}) for 'xent'; got {Y[:5]}...")
                return np.eye(C)[Y]
            if Y.shape == (m, C):
                return Y.astype(float)
            raise ValueError(f"`Y` must have shape ({m},) (labels) or ({m}, {C}) for 'xent'; got {Y.shape}.")
        if Y.shape != (m, C):
            if C == 1 and Y.shape == (m,):
                return Y.astype(float)[:, None]
            raise ValueError(f"`Y` must have shape ({m}, {C}) for 'mse'; got {Y.shape}.")
        return Y.astype(float)

    # ---------------------------------------------------------------- passes
    def _forward(self, Ws, X):
        xs, zs, d1s, d2s = [X], [], [], []
        for l, W in enumerate(Ws):
            z = self._a[l] * (xs[-1] @ W.T)
            zs.append(z)
            if l == self.n_layers - 1:
                break
            h, d1, d2 = _phi(self.activation, z)
            d1s.append(d1)
            d2s.append(d2)
            xs.append(xs[-1] + self._scale[l] * h if self._res[l] else h)
        return xs, zs, d1s, d2s

    def _loss_terms(self, f, T):
        """Per-sample losses, dl/df, and the map u -> H_l u (row-wise)."""
        if self.loss_name == "mse":
            r = f - T
            return 0.5 * np.sum(r * r, axis=1), r, (lambda U: U)
        z = f - f.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        p = np.exp(logp)
        return -np.sum(T * logp, axis=1), p - T, (lambda U: p * U - p * np.sum(p * U, axis=1, keepdims=True))

    def _rop(self, Ws, cache, V, g_out, rg_out_fn, second_order):
        """Gradient (with output cotangent g_out) and its directional derivative along V.

        ``rg_out_fn(Rf)`` is the tangent of the output cotangent; ``second_order`` keeps the terms
        of the network's own curvature (False gives the Gauss-Newton product)."""
        xs, zs, d1s, d2s = cache
        L = self.n_layers
        Rxs, Rzs = [np.zeros_like(xs[0])], []
        for l in range(L):
            Rz = self._a[l] * (Rxs[l] @ Ws[l].T + xs[l] @ V[l].T)
            Rzs.append(Rz)
            if l == L - 1:
                break
            Rh = d1s[l] * Rz
            Rxs.append(Rxs[l] + self._scale[l] * Rh if self._res[l] else self._scale[l] * Rh)
        delta, Rdelta = g_out, rg_out_fn(Rzs[-1])
        out = [None] * L
        dx_next = Rdx_next = None
        for l in reversed(range(L)):
            Rg = Rdelta.T @ xs[l]
            if second_order:
                Rg = Rg + delta.T @ Rxs[l]
            out[l] = self._a[l] * Rg
            if l == 0:
                break
            dx = self._a[l] * (delta @ Ws[l])
            Rdx = self._a[l] * (Rdelta @ Ws[l] + (delta @ V[l] if second_order else 0.0))
            if self._res[l]:
                dx, Rdx = dx + dx_next, Rdx + Rdx_next
            s = self._scale[l - 1]
            delta = dx * (s * d1s[l - 1])
            Rdelta = Rdx * (s * d1s[l - 1])
            if second_order and d2s[l - 1] is not None:
                Rdelta = Rdelta + dx * (s * d2s[l - 1] * Rzs[l - 1])
            dx_next, Rdx_next = dx, Rdx
        return np.concatenate([o.ravel() for o in out])

    def _backward(self, Ws, cache, g_out, per_sample=False):
        xs, zs, d1s, _ = cache
        L = self.n_layers
        grads, deltas = [None] * L, [None] * L
        delta, dx_next = g_out, None
        for l in reversed(range(L)):
            deltas[l] = delta
            if per_sample:
                grads[l] = self._a[l] * np.einsum("mi,mj->mij", delta, xs[l]).reshape(delta.shape[0], -1)
            else:
                grads[l] = (self._a[l] * (delta.T @ xs[l])).ravel()
            if l == 0:
                break
            dx = self._a[l] * (delta @ Ws[l])
            if self._res[l]:
                dx = dx + dx_next
            delta = dx * (self._scale[l - 1] * d1s[l - 1])
            dx_next = dx
        return grads, deltas

    # ---------------------------------------------------------------- public maths
    def forward(self, theta, X) -> np.ndarray:
        """Outputs f(x_i; theta), shape (m, C)."""
        return self._forward(self.unpack(theta), self._inputs(X))[1][-1]

    def loss(self, theta, X, Y) -> float:
        """L(theta) = (1/m) sum_i l(f(x_i), y_i)."""
        X = self._inputs(X)
        f = self._forward(self.unpack(theta), X)[1][-1]
        return float(np.mean(self._loss_terms(f, self._targets(Y, X.shape[0]))[0]))

    def loss_and_grad(self, theta, X, Y):
        X = self._inputs(X)
        Ws = self.unpack(theta)
        cache = self._forward(Ws, X)
        losses, g, _ = self._loss_terms(cache[1][-1], self._targets(Y, X.shape[0]))
        grads, _ = self._backward(Ws, cache, g / X.shape[0])
        return float(np.mean(losses)), np.concatenate(grads)

    def grad(self, theta, X, Y) -> np.ndarray:
        """grad_theta L (backpropagation)."""
        return self.loss_and_grad(theta, X, Y)[1]

    def _second(self, theta, X, Y, v, part):
        X = self._inputs(X)
        m = X.shape[0]
        Ws = self.unpack(theta)
        V = self.unpack(self._theta(v, "v"))
        cache = self._forward(Ws, X)
        _, g, hl = self._loss_terms(cache[1][-1], self._targets(Y, m))
        if part == "full":
            return self._rop(Ws, cache, V, g / m, lambda Rf: hl(Rf) / m, True)
        if part == "gn":
            return self._rop(Ws, cache, V, np.zeros_like(g), lambda Rf: hl(Rf) / m, False)
        return self._rop(Ws, cache, V, g / m, np.zeros_like, True)

    def hvp(self, theta, X, Y, v) -> np.ndarray:
        """H v, exact (R-operator)."""
        return self._second(theta, X, Y, v, "full")

    def gauss_newton_hvp(self, theta, X, Y, v) -> np.ndarray:
        """G v = (1/m) J^T H_l J v."""
        return self._second(theta, X, Y, v, "gn")

    def residual_hvp(self, theta, X, Y, v) -> np.ndarray:
        """R v = (1/m) sum_{i,c} (dl/df_ic) grad^2 f_c(x_i) v."""
        return self._second(theta, X, Y, v, "residual")

    def operator(self, theta, X, Y, *, part: str = "full", preconditioned: bool = True) -> Callable:
        """v -> (P^{1/2}) H (P^{1/2}) v for ``part`` in {"full", "gn", "residual"}, with P the
        SGD multipliers when ``preconditioned`` (the sharpness compared with 2/eta)."""
        one_of("part", part, ("full", "gn", "residual"))
        X = self._inputs(X).copy()
        m = X.shape[0]
        Ws = [W.copy() for W in self.unpack(theta)]
        cache = self._forward(Ws, X)            # theta is fixed: one forward pass serves every product
        _, g, hl = self._loss_terms(cache[1][-1], self._targets(Y, m))
        if part == "full":
            args = (g / m, lambda Rf: hl(Rf) / m, True)
        elif part == "gn":
            args = (np.zeros_like(g), lambda Rf: hl(Rf) / m, False)
        else:
            args = (g / m, np.zeros_like, True)
        root = np.sqrt(self.multipliers()) if preconditioned else None

        def apply(v):
            v = self._theta(v, "v")
            if root is not None:
                v = root * v
            out = self._rop(Ws, cache, self.unpack(v), *args)
            return out if root is None else root * out

        return apply

    def jacobian(self, theta, X) -> np.ndarray:
        """Per-sample Jacobians d f_c(x_i) / d theta, shape (m, C, n_params)."""
        X = self._inputs(X)
        Ws = self.unpack(theta)
        cache = self._forward(Ws, X)
        m, C = X.shape[0], self.widths[-1]
        J = np.empty((m, C, self.n_params))
        for c in range(C):
            g = np.zeros((m, C))
            g[:, c] = 1.0
            grads, _ = self._backward(Ws, cache, g, per_sample=True)
            J[:, c, :] = np.concatenate(grads, axis=1)
        return J

    def loss_hessians(self, theta, X, Y) -> np.ndarray:
        """H_l per sample, shape (m, C, C): I (MSE) or diag(p) - p p^T (cross-entropy)."""
        X = self._inputs(X)
        f = self.forward(theta, X)
        C = f.shape[1]
        if self.loss_name == "mse":
            return np.broadcast_to(np.eye(C), (X.shape[0], C, C)).copy()
        z = f - f.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return np.einsum("ic,cd->icd", p, np.eye(C)) - np.einsum("ic,id->icd", p, p)

    def ntk(self, theta, X, *, preconditioned: bool = True) -> np.ndarray:
        """The empirical NTK Theta = J P J^T (P = SGD multipliers, or I), shape (mC, mC), rows
        ordered (sample, output)."""
        X = self._inputs(X)
        Ws = self.unpack(theta)
        cache = self._forward(Ws, X)
        m, C = X.shape[0], self.widths[-1]
        per_class = []
        for c in range(C):
            g = np.zeros((m, C))
            g[:, c] = 1.0
            per_class.append(self._backward(Ws, cache, g)[1])
        p = [r["sgd_lr"] if preconditioned else 1.0 for r in self.rules]
        theta_ntk = np.zeros((m * C, m * C))
        ones = np.ones((C, C))
        for l in range(self.n_layers):
            D = np.stack([per_class[c][l] for c in range(C)], axis=1).reshape(m * C, -1)
            Kx = cache[0][l] @ cache[0][l].T
            theta_ntk += p[l] * self._a[l] ** 2 * (D @ D.T) * np.kron(Kx, ones)
        return theta_ntk


# ------------------------------------------------------------------------------ training
@dataclass(frozen=True)
class TrainResult:
    """The outcome of :func:`train`: final parameters, the recorded (step, loss) pairs, what the
    callback returned, and whether the loss became non-finite (then training stopped there)."""

    theta: np.ndarray = field(repr=False)
    steps: np.ndarray
    losses: np.ndarray
    records: tuple = field(repr=False, default=())
    diverged: bool = False
    n_steps: int = 0

    def to_dict(self) -> dict:
        return {"steps": self.steps.tolist(), "losses": self.losses.tolist(), "diverged": self.diverged,
                "n_steps": self.n_steps, "records": list(self.records)}


def train(model: MLP, theta, X, Y, *, eta: float, n_steps: int, batch_size: int | None = None,
          optimizer: str = "sgd", seed=0, record_every: int = 0, callback: Callable | None = None,
          divergence_threshold: float = 1e6, adam_betas=(0.9, 0.999), adam_eps: float = 1e-8) -> TrainResult:
    r"""Minibatch SGD or Adam on raw parameters with the table's multipliers.

    SGD: theta <- theta - eta c o grad L_B(theta) (c the per-parameter SGD multipliers).
    Adam: m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
    theta <- theta - eta c_adam o m_hat / (sqrt(v_hat) + eps).

    Minibatches are drawn without replacement within each epoch from the stream (seed, epoch).
    Every ``record_every`` steps (and at the start and end) the loss on the full (X, Y) is
    recorded and ``callback(step, theta)`` called; its return value is kept in ``records``.
    A loss that is non-finite or above ``divergence_threshold`` stops training with
    ``diverged=True``.
    """
    theta = model._theta(theta).copy()
    X = model._inputs(X)
    m = X.shape[0]
    model._targets(Y, m)
    eta = positive_finite("eta", eta)
    n_steps = positive_int("n_steps", n_steps)
    batch_size = m if batch_size is None else positive_int("batch_size", batch_size)
    if batch_size > m:
        raise ValueError(f"`batch_size` must be at most the number of samples {m}; got {batch_size}.")
    one_of("optimizer", optimizer, ("sgd", "adam"))
    record_every = int(record_every)
    if record_every < 0:
        raise ValueError(f"`record_every` must be >= 0; got {record_every}.")
    Y = np.asarray(Y)
    lr = eta * model.multipliers(optimizer)
    mom = np.zeros_like(theta)
    sec = np.zeros_like(theta)
    steps, losses, records = [], [], []
    per_epoch = m // batch_size
    order, diverged, done = None, False, 0

    def record(step):
        value = model.loss(theta, X, Y)
        steps.append(step)
        losses.append(value)
        if callback is not None:
            records.append(callback(step, theta.copy()))
        return value

    record(0)
    for step in range(n_steps):
        position = step % per_epoch
        if position == 0:
            order = np.random.default_rng(child_seed(seed, 11, step // per_epoch)).permutation(m)
        idx = order[position * batch_size:(position + 1) * batch_size]
        value, g = model.loss_and_grad(theta, X[idx], Y[idx])
        if not math.isfinite(value) or value > divergence_threshold or not np.all(np.isfinite(g)):
            diverged = True
            break
        if optimizer == "sgd":
            theta -= lr * g
        else:
            b1, b2 = adam_betas
            mom = b1 * mom + (1 - b1) * g
            sec = b2 * sec + (1 - b2) * g * g
            t = step + 1
            theta -= lr * (mom / (1 - b1 ** t)) / (np.sqrt(sec / (1 - b2 ** t)) + adam_eps)
        done = step + 1
        if record_every and done % record_every == 0 and done < n_steps:
            value = record(done)
            if not math.isfinite(value) or value > divergence_threshold:
                diverged = True
                break
    if not diverged:
        value = record(done)
        diverged = not math.isfinite(value) or value > divergence_threshold
    return TrainResult(theta, np.array(steps), np.array(losses), tuple(records), diverged, done)


def teacher_data(n_samples: int, input_dim: int = 32, n_classes: int = 10, *, seed=0, teacher_width: int = 64):
    r"""The brief's CPU-scale proxy data: x ~ N(0, I_d), label = argmax of a random tanh teacher
    W_2 tanh(W_1 x / sqrt(d)) (W ~ N(0, 1)). Returns (X, labels)."""
    n_samples = positive_int("n_samples", n_samples)
    input_dim = positive_int("input_dim", input_dim)
    n_classes = positive_int("n_classes", n_classes)
    teacher_width = positive_int("teacher_width", teacher_width)
    if n_classes < 2:
        raise ValueError(f"`n_classes` must be at least 2; got {n_classes}.")
    rng = np.random.default_rng(child_seed(seed, 21))
    W1 = rng.standard_normal((teacher_width, input_dim))
    W2 = rng.standard_normal((n_classes, teacher_width))
    X = np.random.default_rng(child_seed(seed, 22)).standard_normal((n_samples, input_dim))
    labels = np.argmax(np.tanh(X @ W1.T / math.sqrt(input_dim)) @ W2.T, axis=1)
    return X, labels


# ------------------------------------------------------------------------------ coordinate check
@dataclass(frozen=True)
class CoordinateCheck:
    """RMS sizes per width and layer: ``activations[w, l]`` = rms of x_l (l = 1..L, x_L = f) at
    initialisation, ``updates[w, l]`` = rms of x_l(theta_t) - x_l(theta_0) after ``steps`` SGD
    steps; ``exponents`` the fitted log-log slopes of the updates against width (one per layer),
    with standard errors."""

    scheme: str
    widths: tuple
    activations: np.ndarray
    updates: np.ndarray
    exponents: tuple

    def to_dict(self) -> dict:
        return {"scheme": self.scheme, "widths": list(self.widths), "activations": self.activations.tolist(),
                "updates": self.updates.tolist(),
                "exponents": [(e.value, e.stderr) for e in self.exponents]}


def coordinate_check(scheme: str, widths=(64, 128, 256, 512), *, n_layers: int = 3, activation: str = "relu",
                     input_dim: int = 32, n_classes: int = 10, n_samples: int = 64, eta: float = 0.1,
                     steps: int = 3, seed=0, base_width: float = 64.0) -> CoordinateCheck:
    r"""Activation and update sizes against width (Yang & Hu's coordinate check): under muP every
    layer's rms activation and rms update after a few SGD steps are O(1) in n; under NTP the
    updates shrink like n^{-1/2}; under SP with a fixed rate the readout update grows."""
    one_of("scheme", scheme, SCHEMES)
    widths = tuple(positive_int("widths", w) for w in widths)
    if len(widths) < 3:
        raise ValueError(f"`widths` must hold at least 3 widths (for a fitted slope); got {widths}.")
    X, labels = teacher_data(n_samples, input_dim, n_classes, seed=seed)
    acts, ups = [], []
    for w in widths:
        model = MLP([input_dim] + [w] * (n_layers - 1) + [n_classes], activation, scheme,
                    base_width=base_width)
        theta0 = model.init(seed)
        res = train(model, theta0, X, labels, eta=eta, n_steps=steps, seed=seed)
        c0 = model._forward(model.unpack(theta0), X)
        c1 = model._forward(model.unpack(res.theta), X)
        layers0 = c0[0][1:] + [c0[1][-1]]
        layers1 = c1[0][1:] + [c1[1][-1]]
        acts.append([float(np.sqrt(np.mean(a ** 2))) for a in layers0])
        ups.append([float(np.sqrt(np.mean((b - a) ** 2))) for a, b in zip(layers0, layers1)])
    acts, ups = np.array(acts), np.array(ups)
    if not np.all(np.isfinite(ups)) or np.any(ups <= 0):
        raise LemmataError(f"coordinate check under {scheme!r}: updates non-finite or zero (eta too large?).")
    exps = tuple(fit_slope(np.log(widths), np.log(ups[:, l])) for l in range(ups.shape[1]))
    return CoordinateCheck(scheme, widths, acts, ups, exps)


# ------------------------------------------------------------------------------ the width study
def proxy_run(scheme: str, width: int, eta: float, seed=0, *, n_train: int = 4096, input_dim: int = 32,
              n_classes: int = 10, n_layers: int = 3, batch_size: int = 128, epochs: float = 3.0,
              base_width: float = 64.0, gamma_0: float = 1.0, sharpness_batch: int = 32,
              n_snapshots: int = 6, eval_size: int = 512, data_seed: int = 0, sharpness_tol: float = 1e-4) -> dict:
    r"""One run of the brief's CPU-scale proxy (arXiv:2402.17457 section 3): a ``n_layers``-layer
    ReLU MLP d -> n -> ... -> C on teacher data, cross-entropy, minibatch SGD at base rate
    ``eta`` (physical eta * multipliers), ``epochs`` passes.

    Returns the final training loss on ``eval_size`` fixed training examples (``loss``; NaN
    and ``diverged`` = True when training blew up), and at ``n_snapshots + 1`` evenly spaced
    steps the preconditioned sharpness lambda_max(P^{1/2} H P^{1/2}) on ``sharpness_batch`` fixed
    examples (Lanczos, warm-started from the previous snapshot's vector) and ``eta`` times it
    (``eta_sharpness``; GD on that batch is unstable above 2).
    """
    one_of("scheme", scheme, SCHEMES)
    width = positive_int("width", width)
    eta = positive_finite("eta", eta)
    X, labels = teacher_data(n_train, input_dim, n_classes, seed=data_seed)
    model = MLP([input_dim] + [width] * (n_layers - 1) + [n_classes], "relu", scheme,
                base_width=base_width, gamma_0=gamma_0)
    theta0 = model.init(seed)
    n_steps = max(1, int(round(epochs * n_train / batch_size)))
    every = max(1, n_steps // max(n_snapshots, 1))
    Xs, Ys = X[:sharpness_batch], labels[:sharpness_batch]
    Xe, Ye = X[:eval_size], labels[:eval_size]
    state = {"v": None}

    def snapshot(step, theta):
        from lemmata.numerics.spectra import top_eigenvalues

        if not np.all(np.isfinite(theta)):
            return math.nan
        res = top_eigenvalues(model.operator(theta, Xs, Ys), model.n_params, tol=sharpness_tol,
                              v0=state["v"], seed=seed, check=False, max_hvp=200)
        state["v"] = res.vectors[:, 0]
        return float(res.values[0]) if res.converged else math.nan

    result = train(model, theta0, X, labels, eta=eta, n_steps=n_steps, batch_size=batch_size, seed=seed,
                   record_every=every if n_snapshots else 0, callback=snapshot if n_snapshots else None)
    loss = math.nan if result.diverged else model.loss(result.theta, Xe, Ye)
    sharp = np.array(result.records, dtype=float) if n_snapshots else np.zeros(0)
    return {"loss": loss, "diverged": bool(result.diverged), "steps": result.steps.astype(float),
            "sharpness": sharp, "eta_sharpness": eta * sharp}
