r"""The Dynamical Systems Framework (DSF; Sieber, Amo Alonso, Didier, Zeilinger & Orvieto,
arXiv:2405.15731): attention, SSMs and RNNs as one linear time-varying system

.. math::

    h_i=\Lambda_ih_{i-1}+B_iu_i,\qquad y_i=C_ih_i+D_iu_i,\qquad h_0=0,

with :math:`u_i,y_i\in\mathbb R^d`, :math:`h_i\in\mathbb R^N`, :math:`N=nd` (``n`` states per
channel), and its materialised form :math:`y=\Phi u`, :math:`\Phi_{ij}=C_i\Lambda_i\cdots
\Lambda_{j+1}B_j` (:math:`j<i`), :math:`\Phi_{ii}=C_iB_i+D_i`.

Layout (the brief's pitfall 4): the state is **channel-major**, index :math:`c\,n+s` for
channel ``c`` and state ``s``, so that :math:`\Lambda_i=\mathrm{diag}(\exp(\Delta_i\otimes a))`,
:math:`B_i=\mathrm{diag}(\Delta_i)\otimes b_i` (:math:`nd\times d`) and
:math:`C_i=I_d\otimes c_i^\top` use one ordering. :math:`\Phi` is indexed time-major,
row :math:`i\,d+c` (the :math:`d\times d` block :math:`\Phi_{ij}`), so ``y.ravel() = Phi @ u.ravel()``.

Every architecture of the paper is held in a *factored* form per channel ``c``:

.. math::

    h^{(c)}_i=\lambda^{(c)}_i\odot h^{(c)}_{i-1}+k^{(c)}_i\,x^{(c)}_i,\qquad
    y^{(c)}_i=q^{(c)}_i\cdot h^{(c)}_i+D^{(c)}u^{(c)}_i,\qquad x_i=\mathrm{diag}(g_i)Wu_i,

with transitions :math:`\lambda` scalar (shared by all N states: attention, SSD, RetNet) or
diagonal, keys :math:`k` and queries :math:`q\in\mathbb R^n` shared by the channels or per
channel, and values :math:`x` (``W`` = :math:`W_V` for attention, :math:`\mathrm{diag}(g)=
\mathrm{diag}(\Delta)` for S6). :meth:`DSF.matrices` writes the dense channel-major
:math:`(\Lambda_i,B_i,C_i,D_i)`; :meth:`DSF.from_matrices` takes any such sequences (scalar,
diagonal or dense :math:`\Lambda_i`).

Three exact evaluations (equal to rounding; tested to 1e-12 in float64):

* ``"recurrent"``: the recurrence, O(L N d) work — through :func:`lemmata.numerics.scan.linear_scan`
  (the scan engine; backends ``numpy`` / ``cupy``), and with ``backend="numba"`` through a fused
  Numba kernel of the same loop that never stores the L x N states (one task per sequence and
  slab of channels, the slab's states in a local array; S6's transitions exp(Delta A) are
  exponentiated in place, never stored).
* ``"chunked"``: the block algorithm of SSD / chunked linear attention: inside chunks of length
  ``Q`` the output is the masked product :math:`((QK^\top)\circ M)X` with the decay mask
  :math:`M_{ts}=\lambda_t\cdots\lambda_{s+1}` (a cumulative product, no division, so any sign
  and zeros are exact), and the :math:`n\times d` state is carried between chunks by a linear
  scan over the chunk index. O(L Q n d) work in matrix products.
* ``"materialized"``: :math:`\Phi` (per channel :math:`L\times L` where the structure allows),
  then :math:`y=\Phi u`: O(L^2) memory; the only exact form of softmax attention (N = infinity).

``method="auto"`` (rule measured in ``benchmarks/bench_dsf.py``, RESULTS.md "dsf", d = 64,
n = 16, batch 8, L = 256..16384): softmax -> materialised (its only exact form); with the Numba
backend every finite-state model -> recurrent (the fused loop was the fastest at every measured L:
1.1-1.3x ahead of chunked for linear attention, 10x+ for S6, and materialised is O(L^2));
with ``numpy`` / ``cupy`` -> chunked (the scan engine's NumPy loop makes one Python step per time
step, the chunked form one per chunk; on CuPy the chunked products are the GPU-friendly form).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Integral, Real

import numba
import numpy as np

from lemmata.analysis.errors import LemmataError
from lemmata.analysis.validation import one_of, positive_int

from . import backends
from .scan import linear_scan, linear_scan_dense
from .stats import child_seed

__all__ = ["DSF", "DSFMatrices", "MQARData", "from_architecture", "random_params", "mqar",
           "taylor_features", "ARCHITECTURES", "METHODS"]

#: architectures of :func:`from_architecture`
ARCHITECTURES = ("linear_attention", "normalized_attention", "softmax_taylor", "softmax", "s6", "ssd",
                 "retnet", "qlstm", "rg_lru", "rg_lru_expanded")
#: evaluation methods of :meth:`DSF.run`
METHODS = ("auto", "recurrent", "chunked", "materialized")
_DEFAULT_CHUNK = {"scalar": 64, "diagonal": 16, "dense": 16}

# ------------------------------------------------------------------------------ parameters
# name -> (required {key: shape spec}, optional {key: shape spec}, options {key: default}).
# Shape specs use "d" (u_dim), "m" (query/key width), "n" (states per channel), ints.
_SPECS = {
    "linear_attention": ({"W_Q": ("m", "d"), "W_K": ("m", "d"), "W_V": ("d", "d")}, {},
                         {"feature_map": "elu1", "normalize": True, "normalization_in": "output"}),
    "normalized_attention": ({"W_Q": ("m", "d"), "W_K": ("m", "d"), "W_V": ("d", "d"), "W_eta": ("d",)},
                             {"b_eta": ()}, {"eta": "exp", "normalization_in": "output"}),
    "softmax_taylor": ({"W_Q": ("m", "d"), "W_K": ("m", "d"), "W_V": ("d", "d")}, {}, {"order": 2}),
    "softmax": ({"W_Q": ("m", "d"), "W_K": ("m", "d"), "W_V": ("d", "d")}, {}, {}),
    "s6": ({"W_delta": ("d", "d"), "b_delta": ("d",), "W_B": ("n", "d"), "W_C": ("n", "d"), "A": ("d", "n")},
           {"D": ("d",)}, {}),
    "ssd": ({"w_delta": ("d",), "b_delta": (), "W_B": ("n", "d"), "W_C": ("n", "d"), "a": ()},
            {"D": ("d",)}, {}),
    "retnet": ({"W_Q": ("m", "d"), "W_K": ("m", "d"), "W_V": ("d", "d"), "gamma": ()}, {}, {}),
    "qlstm": ({"W_f": ("d", "d"), "W_i": ("d", "d"), "W_o": ("d", "d"), "W_c": ("d", "d"),
               "b_f": ("d",), "b_i": ("d",), "b_o": ("d",)}, {}, {"forget": "sigmoid"}),
    "rg_lru": ({"W_a": ("d", "d"), "W_x": ("d", "d"), "b_a": ("d",), "b_x": ("d",), "Lambda": ("d",)}, {},
               {"c": 8.0}),
    "rg_lru_expanded": ({"W_lambda": ("d", "d"), "b_lambda": ("d",), "A": ("d", "n"), "W_B": ("n", "d"),
                         "W_C": ("n", "d")}, {}, {"c": 8.0}),
}
_OPTION_CHOICES = {"feature_map": ("elu1", "identity"), "normalization_in": ("output", "transition"),
                   "eta": ("exp", "softplus", "sigmoid"), "forget": ("sigmoid", "reversed_sigmoid")}


def _unknown_architecture(name):
    return ValueError(f"`name` must be one of {', '.join(ARCHITECTURES)}; got {name!r}.")


def _check_options(name, params):
    _, _, defaults = _SPECS[name]
    options = {}
    for key, default in defaults.items():
        value = params.get(key, default)
        if key in _OPTION_CHOICES:
            one_of(f"params['{key}']", value, _OPTION_CHOICES[key])
        elif key == "normalize":
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"`params['normalize']` must be True or False; got {value!r}.")
            value = bool(value)
        elif key == "order":
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
                raise ValueError(f"`params['order']` (the Taylor order P) must be a non-negative integer; "
                                 f"got {value!r}.")
            value = int(value)
        elif key == "c":
            if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"`params['c']` must be positive and finite; got {value!r}.")
            value = float(value)
        options[key] = value
    return options


def _validate_params(name, params, u_dim):
    """Arrays of the right shapes (float64, finite), the options, and the sizes (m, n)."""
    if name not in _SPECS:
        raise _unknown_architecture(name)
    if not isinstance(params, dict):
        raise TypeError(f"`params` must be a dict of arrays; got {type(params).__name__}.")
    required, optional, defaults = _SPECS[name]
    known = set(required) | set(optional) | set(defaults)
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"`params` has keys {unknown} that {name!r} does not use; it takes "
                         f"{sorted(required)} (required), {sorted(optional)} (optional) and options "
                         f"{sorted(defaults)}.")
    missing = sorted(set(required) - set(params))
    if missing:
        raise ValueError(f"`params` for {name!r} is missing {missing}.")
    sizes = {"d": u_dim}
    arrays = {}
    # the free sizes m and n are read off the first matrix that carries them
    for key in list(required) + [k for k in optional if k in params]:
        spec = (required | optional)[key]
        try:
            value = np.asarray(params[key], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"`params['{key}']` must be a float array; got {params[key]!r}.") from exc
        if value.ndim != len(spec):
            raise ValueError(f"`params['{key}']` must have shape {_spec_text(spec)}; got {value.shape}.")
        for axis, (want, got) in enumerate(zip(spec, value.shape)):
            if isinstance(want, str) and want not in sizes:
                if got < 1:
                    raise ValueError(f"`params['{key}']` has an empty axis {axis}; got shape {value.shape}.")
                sizes[want] = got
            expected = sizes[want] if isinstance(want, str) else want
            if got != expected:
                raise ValueError(f"`params['{key}']` must have shape {_spec_text(spec, sizes)} "
                                 f"(u_dim = {u_dim}); got {value.shape}.")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"`params['{key}']` must be finite; it holds NaN or inf.")
        arrays[key] = value
    options = _check_options(name, params)
    if name == "s6" and np.any(arrays["A"] > 0):
        raise ValueError("`params['A']` must have entries <= 0 (a stable S6 transition exp(Delta A)); "
                         f"got max {arrays['A'].max()!r}.")
    if name == "ssd" and not arrays["a"] <= 0:
        raise ValueError(f"`params['a']` must be <= 0; got {float(arrays['a'])!r}.")
    if name == "retnet" and not 0 < arrays["gamma"] <= 1:
        raise ValueError(f"`params['gamma']` must lie in (0, 1]; got {float(arrays['gamma'])!r}.")
    return arrays, options, sizes


def _spec_text(spec, sizes=None):
    sizes = sizes or {}
    parts = [str(sizes.get(s, s)) if isinstance(s, str) else str(s) for s in spec]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _state_per_channel(name, options, sizes):
    if name in ("linear_attention", "normalized_attention", "retnet"):
        return sizes["m"]
    if name == "softmax_taylor":
        return sum(sizes["m"] ** p for p in range(options["order"] + 1))
    if name == "softmax":
        return math.inf
    if name in ("qlstm", "rg_lru"):
        return 1
    return sizes["n"]


def _structure(name):
    if name == "softmax":
        return "infinite"
    if name in ("s6", "qlstm", "rg_lru", "rg_lru_expanded"):
        return "diagonal"
    if name == "explicit":
        return "explicit"
    return "scalar"


# ------------------------------------------------------------------------------ elementwise maps
def _softplus(xp, x):
    # max(x, 0) + log1p(e^{-|x|}): stable for both signs, 3-4x faster than logaddexp(0, x)
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


def _sigmoid(xp, x):
    # exp(-softplus(-x)) = 1 / (1 + e^{-x}) without overflow for either sign
    return xp.exp(-_softplus(xp, -x))


def _elu1(xp, x):
    return xp.where(x > 0, x + 1.0, xp.exp(xp.minimum(x, 0.0)))


def taylor_features(x, order: int, *, backend: str = "numpy"):
    r"""The order-P Taylor feature map of :math:`\exp(q^\top k/\sqrt m)`:

    .. math::

        \phi(x)=\Big(\frac{x^{\otimes p}}{\sqrt{m^{p/2}\,p!}}\Big)_{p=0..P},\qquad
        \phi(q)^\top\phi(k)=\sum_{p=0}^{P}\frac{(q^\top k)^p}{m^{p/2}\,p!},

    of dimension :math:`n=\sum_{p\le P}m^p` (arXiv:2405.15731, softmax as the infinite-state
    limit; the brief's pitfall 2: the weights :math:`1/(m^{p/2}p!)` are part of the map).

    Parameters
    ----------
    x : array (..., m)
    order : int >= 0

    Returns
    -------
    array (..., sum_p m^p), blocks p = 0, 1, ..., P with the tensor index row-major.
    """
    if isinstance(order, bool) or not isinstance(order, Integral) or order < 0:
        raise ValueError(f"`order` (the Taylor order P) must be a non-negative integer; got {order!r}.")
    xp = backends.get(backend).xp
    x = xp.asarray(x)
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"`x` must have a last axis of length m >= 1; got shape {tuple(x.shape)}.")
    m = x.shape[-1]
    lead = x.shape[:-1]
    blocks = [xp.ones(lead + (1,), dtype=x.dtype if x.dtype.kind == "f" else np.float64)]
    power = blocks[0]
    for p in range(1, order + 1):
        power = (power[..., :, None] * x[..., None, :]).reshape(lead + (m ** p,))
        blocks.append(power / math.sqrt(m ** (p / 2) * math.factorial(p)))
    return xp.concatenate(blocks, axis=-1)


# ------------------------------------------------------------------------------ factored form
@dataclass(frozen=True)
class _Factors:
    """Per-channel factored DSF for a batch of inputs (leading axis b); see the module docstring.

    lam (b, L, 1|d, 1|n); key, query (b, L, 1|d, n); value (b, L, d) = gain * (W u);
    gain (b, L, 1|d) or None; W (d, d) or None (identity); skip (d,) or None.
    attention (b, L, L): the causal softmax matrix (infinite state; no recurrence).
    """

    value: object
    lam: object = None
    key: object = None
    query: object = None
    gain: object = None
    W: object = None
    skip: object = None
    attention: object = None
    rate: object = None
    log_base: object = None

    @property
    def scalar(self) -> bool:
        return self.lam is not None and self.lam.shape[2] == 1 and self.lam.shape[3] == 1 \
            and self.key.shape[2] == 1 and self.query.shape[2] == 1


def _project(xp, u, W):
    """u (b, L, d) -> (b, L, rows) with W (rows, d): one 2-D product (a stacked 3-D matmul
    measured 2.6x slower)."""
    b, L, d = u.shape
    return (u.reshape(b * L, d) @ W.T).reshape(b, L, W.shape[0])


def _factors(name, arrays, options, u, xp, need_lam=True):
    """The factored DSF of architecture ``name`` on the input batch ``u`` (b, L, d). With
    ``need_lam=False`` S6 keeps its transition as ``rate`` (Delta, (b, L, d)) and ``log_base``
    (A, (d, n)), lam = exp(rate (x) log_base), for the fused kernel to exponentiate in place."""
    p = {k: xp.asarray(v, dtype=u.dtype) for k, v in arrays.items()}
    b, L, d = u.shape
    ones = lambda *shape: xp.ones(shape, dtype=u.dtype)  # noqa: E731
    if name in ("linear_attention", "normalized_attention", "softmax_taylor", "softmax", "retnet"):
        q, k = _project(xp, u, p["W_Q"]), _project(xp, u, p["W_K"])
        value = _project(xp, u, p["W_V"])
        m = q.shape[-1]
        if name == "softmax":
            # in place: one L x L buffer per sequence (the causal mask added as 0 / -inf)
            weights = q @ xp.swapaxes(k, 1, 2)
            weights *= 1.0 / math.sqrt(m)
            weights += xp.where(xp.tril(xp.ones((L, L), dtype=bool)), 0.0, -xp.inf).astype(u.dtype)
            weights -= xp.max(weights, axis=-1, keepdims=True)
            xp.exp(weights, out=weights)
            weights /= xp.sum(weights, axis=-1, keepdims=True)
            return _Factors(value=value, W=p["W_V"], attention=weights)
        if name == "retnet":
            lam = xp.broadcast_to(p["gamma"], (b, L, 1, 1))
            return _Factors(value=value, lam=lam, key=k[:, :, None, :], query=q[:, :, None, :], W=p["W_V"])
        if name == "linear_attention":
            phi = _elu1(xp, q) if options["feature_map"] == "elu1" else q
            psi = _elu1(xp, k) if options["feature_map"] == "elu1" else k
            eta = xp.sum(phi * xp.cumsum(psi, axis=1), axis=-1) if options["normalize"] else None
        elif name == "softmax_taylor":
            phi, psi = taylor_features(q, options["order"], backend=_namespace_name(xp)), \
                taylor_features(k, options["order"], backend=_namespace_name(xp))
            eta = xp.sum(phi * xp.cumsum(psi, axis=1), axis=-1)
        else:                                       # normalized attention: raw q, k, scalar eta(u)
            phi, psi = q, k
            z = u @ p["W_eta"] + (p["b_eta"] if "b_eta" in p else 0.0)
            eta = {"exp": xp.exp, "softplus": lambda t: _softplus(xp, t),
                   "sigmoid": lambda t: _sigmoid(xp, t)}[options["eta"]](z)
        if eta is None:
            lam = xp.ones((b, L, 1, 1), dtype=u.dtype)
            return _Factors(value=value, lam=lam, key=psi[:, :, None, :], query=phi[:, :, None, :], W=p["W_V"])
        if options.get("normalization_in", "output") == "transition":
            # Lambda_i = eta_{i-1}/eta_i, B_i = psi(k_i) W_V / eta_i (eta_0 := eta_1, so Lambda_1 = 1)
            previous = xp.concatenate([eta[:, :1], eta[:, :-1]], axis=1)
            lam = (previous / eta)[:, :, None, None]
            return _Factors(value=value, lam=lam, key=(psi / eta[..., None])[:, :, None, :],
                            query=phi[:, :, None, :], W=p["W_V"])
        lam = xp.ones((b, L, 1, 1), dtype=u.dtype)
        return _Factors(value=value, lam=lam, key=psi[:, :, None, :],
                        query=(phi / eta[..., None])[:, :, None, :], W=p["W_V"])
    if name == "s6":
        delta = _softplus(xp, _project(xp, u, p["W_delta"]) + p["b_delta"])           # (b, L, d)
        lam = xp.exp(delta[..., None] * p["A"]) if need_lam else None                   # (b, L, d, n)
        return _Factors(value=delta * u, lam=lam, rate=delta, log_base=p["A"], key=_project(xp, u, p["W_B"])[:, :, None, :],
                        query=_project(xp, u, p["W_C"])[:, :, None, :], gain=delta, skip=p.get("D"))
    if name == "ssd":
        delta = _softplus(xp, u @ p["w_delta"] + p["b_delta"])                          # (b, L)
        lam = xp.exp(p["a"] * delta)[:, :, None, None]
        return _Factors(value=delta[..., None] * u, lam=lam, key=_project(xp, u, p["W_B"])[:, :, None, :],
                        query=_project(xp, u, p["W_C"])[:, :, None, :], gain=delta[..., None], skip=p.get("D"))
    if name == "qlstm":
        zf = _project(xp, u, p["W_f"]) + p["b_f"]
        forget = _sigmoid(xp, zf if options["forget"] == "sigmoid" else -zf)
        gate_in = _sigmoid(xp, _project(xp, u, p["W_i"]) + p["b_i"])
        gate_out = _sigmoid(xp, _project(xp, u, p["W_o"]) + p["b_o"])
        return _Factors(value=_project(xp, u, p["W_c"]), lam=forget[..., None], key=gate_in[..., None],
                        query=gate_out[..., None], W=p["W_c"])
    if name == "rg_lru":
        r = _sigmoid(xp, _project(xp, u, p["W_a"]) + p["b_a"])
        gate_in = _sigmoid(xp, _project(xp, u, p["W_x"]) + p["b_x"])
        a = xp.exp(-options["c"] * r * _softplus(xp, -p["Lambda"]))                     # sigma(Lambda)^(c r)
        return _Factors(value=u, lam=a[..., None], key=(xp.sqrt(1.0 - a * a) * gate_in)[..., None],
                        query=ones(b, L, 1, 1))
    if name == "rg_lru_expanded":
        g = _sigmoid(xp, _project(xp, u, p["W_lambda"]) + p["b_lambda"])                 # (b, L, d)
        lam = xp.exp(-options["c"] * g[..., None] * _softplus(xp, p["A"]))              # (b, L, d, n)
        bvec = _project(xp, u, p["W_B"])[:, :, None, :]
        return _Factors(value=u, lam=lam, key=xp.sqrt(1.0 - lam * lam) * bvec,
                        query=_project(xp, u, p["W_C"])[:, :, None, :])
    raise _unknown_architecture(name)


def _namespace_name(xp):
    return "cupy" if xp.__name__ == "cupy" else "numpy"


# ------------------------------------------------------------------------------ kernels
# One task per (sequence, slab of channels): the slab's d_slab x n states stay in a local array
# and each time step reads the shared key/query rows once for the whole slab. One task per
# (sequence, channel) re-streamed those rows per channel and fell out of cache at L = 4096
# (S6 6.4x slower from L = 1024 to 4096); each channel still runs its recurrence in order on one
# thread, so results do not depend on the thread count.
@numba.njit(cache=True, parallel=True, error_model="numpy")
def _fused_recurrence(lam, key, query, value, y, n_slabs):
    """y[b, t, c] = q^(c)_t . h^(c)_t with h^(c)_t = lam^(c)_t * h^(c)_{t-1} + k^(c)_t x^(c)_t,
    size-1 axes of lam, key, query broadcast."""
    nb, L, d = value.shape
    n = key.shape[3]
    lam_c, lam_s = lam.shape[2] > 1, lam.shape[3] > 1
    key_c, query_c = key.shape[2] > 1, query.shape[2] > 1
    per = (d + n_slabs - 1) // n_slabs
    for job in numba.prange(nb * n_slabs):
        bi = job // n_slabs
        lo = (job - bi * n_slabs) * per
        hi = min(d, lo + per)
        h = np.zeros((max(hi - lo, 0), n), dtype=y.dtype)
        for t in range(L):
            for c in range(lo, hi):
                cl = c if lam_c else 0
                ck = c if key_c else 0
                cq = c if query_c else 0
                x = value[bi, t, c]
                acc = 0.0
                for s in range(n):
                    a = lam[bi, t, cl, s if lam_s else 0]
                    hs = a * h[c - lo, s] + key[bi, t, ck, s] * x
                    h[c - lo, s] = hs
                    acc += query[bi, t, cq, s] * hs
                y[bi, t, c] = acc


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _fused_recurrence_exp(rate, log_base, key, query, value, y, n_slabs):
    """As _fused_recurrence with lam^(c)_{t,s} = exp(rate[b, t, c] log_base[c, s]) computed in
    place (S6: exp(Delta A)), so the b L d n transitions are never stored."""
    nb, L, d = value.shape
    n = key.shape[3]
    key_c, query_c = key.shape[2] > 1, query.shape[2] > 1
    per = (d + n_slabs - 1) // n_slabs
    for job in numba.prange(nb * n_slabs):
        bi = job // n_slabs
        lo = (job - bi * n_slabs) * per
        hi = min(d, lo + per)
        h = np.zeros((max(hi - lo, 0), n), dtype=y.dtype)
        for t in range(L):
            for c in range(lo, hi):
                ck = c if key_c else 0
                cq = c if query_c else 0
                x = value[bi, t, c]
                r = rate[bi, t, c]
                acc = 0.0
                for s in range(n):
                    hs = np.exp(r * log_base[c, s]) * h[c - lo, s] + key[bi, t, ck, s] * x
                    h[c - lo, s] = hs
                    acc += query[bi, t, cq, s] * hs
                y[bi, t, c] = acc


def _slabs(batch, d):
    """Channel slabs per sequence: enough tasks for every thread, no more."""
    return max(1, min(d, -(-numba.get_num_threads() // batch)))


def _recurrent(f, xp, backend):
    b, L, d = f.value.shape
    if backend == "numba" and f.lam is None:
        y = np.empty((b, L, d), dtype=f.value.dtype)
        _fused_recurrence_exp(*(np.ascontiguousarray(a) for a in (f.rate, f.log_base, f.key, f.query, f.value)), y,
                              _slabs(b, d))
        return y
    if backend == "numba":
        y = np.empty((b, L, d), dtype=f.value.dtype)
        _fused_recurrence(*(np.ascontiguousarray(a) for a in (f.lam, f.key, f.query, f.value)), y, _slabs(b, d))
        return y
    n = f.key.shape[3]
    drive = f.key * f.value[..., None]                                  # (b, L, d, n)
    a = xp.broadcast_to(f.lam, (b, L) + tuple(f.lam.shape[2:]))
    h = linear_scan(xp.moveaxis(a, 1, 0), xp.moveaxis(drive, 1, 0), backend=backend)   # (L, b, d, n)
    h = xp.moveaxis(h, 0, 1)
    assert h.shape[-1] == n
    return xp.sum(f.query * h, axis=-1)


def _decay_mask(xp, lam, axis):
    r"""M[..., t, s, ...] = lam_t ... lam_{s+1} for t >= s (1 on the diagonal, 0 above it), as a
    cumulative product over ``axis`` (the t axis) of lam_t masked to 1 where t <= s: exact for any
    sign and for zeros (no division)."""
    Q = lam.shape[axis]
    shape = [1] * (lam.ndim + 1)
    shape[axis], shape[axis + 1] = Q, Q
    lower = (xp.arange(Q)[:, None] >= xp.arange(Q)[None, :]).reshape(shape)
    if bool(xp.all(lam == 1)):                  # no decay (linear attention): the causal mask
        out_shape = list(lam.shape)
        out_shape.insert(axis + 1, Q)
        return xp.broadcast_to(lower, out_shape).astype(lam.dtype)
    tri = (xp.arange(Q)[:, None] > xp.arange(Q)[None, :]).reshape(shape)     # (t, s): t > s
    X = xp.where(tri, xp.expand_dims(lam, axis + 1), xp.asarray(1.0, dtype=lam.dtype))
    M = xp.cumprod(X, axis=axis)
    return xp.where(lower, M, xp.asarray(0.0, dtype=lam.dtype))


def _pad_time(xp, arr, length, value):
    extra = length - arr.shape[1]
    if extra == 0:
        return arr
    pad = xp.full((arr.shape[0], extra) + tuple(arr.shape[2:]), value, dtype=arr.dtype)
    return xp.concatenate([xp.broadcast_to(arr, (arr.shape[0],) + tuple(arr.shape[1:])), pad], axis=1)


def _chunked(f, xp, backend, Q):
    b, L, d = f.value.shape
    nc = -(-L // Q)
    Lp = nc * Q
    lam = _pad_time(xp, xp.broadcast_to(f.lam, (b, L) + tuple(f.lam.shape[2:])), Lp, 1.0)
    key = _pad_time(xp, xp.broadcast_to(f.key, (b, L) + tuple(f.key.shape[2:])), Lp, 0.0)
    query = _pad_time(xp, xp.broadcast_to(f.query, (b, L) + tuple(f.query.shape[2:])), Lp, 0.0)
    value = _pad_time(xp, f.value, Lp, 0.0)
    n = key.shape[-1]
    if f.scalar:
        lc = lam.reshape(b, nc, Q)
        K, C, V = key.reshape(b, nc, Q, n), query.reshape(b, nc, Q, n), value.reshape(b, nc, Q, d)
        M = _decay_mask(xp, lc, 2)                                      # (b, nc, Q, Q)
        Y = ((C @ xp.swapaxes(K, 2, 3)) * M) @ V                        # intra-chunk
        g = xp.cumprod(lc, axis=2)                                      # lam_0 .. lam_t in the chunk
        E = xp.swapaxes(K * M[:, :, Q - 1, :, None], 2, 3) @ V          # (b, nc, n, d) local end states
        carry = linear_scan(xp.moveaxis(g[:, :, Q - 1], 1, 0)[..., None],
                            xp.moveaxis(E.reshape(b, nc, n * d), 1, 0),
                            backend=backend).reshape(nc, b, n, d)
        before = xp.concatenate([xp.zeros((1, b, n, d), dtype=E.dtype), carry[:-1]], axis=0)
        Y = Y + g[..., None] * (C @ xp.moveaxis(before, 0, 1))
        return Y.reshape(b, Lp, d)[:, :L]
    # diagonal transitions: per-channel, per-state masks; one chunk at a time bounds the memory
    lam = xp.broadcast_to(lam, (b, Lp, d, lam.shape[-1]))
    h = xp.zeros((b, d, lam.shape[-1]), dtype=value.dtype)
    out = xp.empty((b, Lp, d), dtype=value.dtype)
    for c in range(nc):
        sl = slice(c * Q, (c + 1) * Q)
        lc, kc, qc, vc = lam[:, sl], key[:, sl], query[:, sl], value[:, sl]
        M = _decay_mask(xp, lc, 1)                                      # (b, t, s, d, n)
        W = xp.sum(qc[:, :, None] * M * kc[:, None], axis=-1)           # (b, t, s, d)
        g = xp.cumprod(lc, axis=1)                                      # (b, t, d, n)
        out[:, sl] = xp.sum(W * vc[:, None], axis=2) + xp.sum(qc * g * h[:, None], axis=-1)
        h = g[:, -1] * h + xp.sum(M[:, -1] * kc * vc[..., None], axis=1)
    return out[:, :L]


_BLOCK_ELEMENTS = 1 << 23


def _attention_matrices(f, xp):
    """A (b, 1|d, L, L) with y^(c)_t = sum_s A[c, t, s] x^(c)_s: the causal 'attention' of the DSF."""
    if f.attention is not None:
        return f.attention[:, None]
    b, L, d = f.value.shape
    if f.scalar:
        M = _decay_mask(xp, f.lam[:, :, 0, 0], 1)                       # (b, L, L)
        return ((f.query[:, :, 0] @ xp.swapaxes(f.key[:, :, 0], 1, 2)) * M)[:, None]
    n = f.key.shape[-1]
    lam = xp.broadcast_to(f.lam, (b, L, d, f.lam.shape[-1]))
    key = xp.broadcast_to(f.key, (b, L, d, n))
    query = xp.broadcast_to(f.query, (b, L, d, n))
    A = xp.empty((b, d, L, L), dtype=f.value.dtype)
    step = max(1, _BLOCK_ELEMENTS // max(1, L * L * n))
    for bi in range(b):
        for c0 in range(0, d, step):
            cs = slice(c0, min(d, c0 + step))
            M = _decay_mask(xp, lam[bi, :, cs], 0)                      # (t, s, c, n)
            W = xp.sum(query[bi, :, None, cs] * M * key[bi, None, :, cs], axis=-1)   # (t, s, c)
            A[bi, cs] = xp.moveaxis(W, 2, 0)
    return A


def _apply_attention(xp, A, value):
    if A.shape[1] == 1:
        return A[:, 0] @ value
    return xp.moveaxis(xp.sum(A * xp.moveaxis(value, 2, 1)[:, :, None, :], axis=-1), 1, 2)


def _skip(f, u):
    return 0.0 if f.skip is None else f.skip * u


# ------------------------------------------------------------------------------ explicit matrices
def _explicit_drive(xp, B, u):
    return xp.einsum("lNd,bld->blN", B, u)


def _explicit_output(xp, mats, h, u):
    y = xp.einsum("ldN,blN->bld", mats["C"], h)
    if mats["D"] is not None:
        y = y + xp.einsum("lde,ble->bld", mats["D"], u)
    return y


def _explicit_recurrent(mats, u, xp, backend, structure):
    lam, drive = mats["Lambda"], _explicit_drive(xp, mats["B"], u)     # (b, L, N)
    b, L, N = drive.shape
    if structure == "dense":
        h = xp.stack([xp.asarray(linear_scan_dense(backends.to_numpy(lam), backends.to_numpy(drive[i])))
                      for i in range(b)])
    else:
        a = lam[:, None, None] if structure == "scalar" else lam[:, None, :]
        h = xp.moveaxis(linear_scan(a, xp.moveaxis(drive, 1, 0), backend=backend), 0, 1)
    return _explicit_output(xp, mats, h, u)


def _explicit_transfer(xp, lam, structure):
    """T[t, s] = Lambda_t ... Lambda_{s+1} (t >= s), 0 above: (Q, Q), (Q, Q, N) or (Q, Q, N, N)."""
    if structure != "dense":
        return _decay_mask(xp, lam, 0)
    Q, N = lam.shape[0], lam.shape[1]
    T = xp.zeros((Q, Q, N, N), dtype=lam.dtype)
    eye = xp.eye(N, dtype=lam.dtype)
    for t in range(Q):
        T[t, t] = eye
        if t > 0:
            T[t, :t] = lam[t] @ T[t - 1, :t]
    return T


def _apply_transfer(xp, T, x, structure):
    """sum_s T[t, s] x[b, s] -> (b, Q, N)."""
    if structure == "scalar":
        return xp.einsum("ts,bsN->btN", T, x)
    if structure == "diagonal":
        return xp.einsum("tsN,bsN->btN", T, x)
    return xp.einsum("tsNM,bsM->btN", T, x)


def _explicit_chunked(mats, u, xp, structure, Q):
    lam, drive = mats["Lambda"], _explicit_drive(xp, mats["B"], u)
    b, L, N = drive.shape
    h = xp.zeros((b, N), dtype=drive.dtype)
    states = xp.empty((b, L, N), dtype=drive.dtype)
    for start in range(0, L, Q):
        sl = slice(start, min(L, start + Q))
        lc = lam[sl]
        T = _explicit_transfer(xp, lc, structure)
        forced = _apply_transfer(xp, T, drive[:, sl], structure)
        if structure == "scalar":
            free = xp.cumprod(lc)[None, :, None] * h[:, None, :]
        elif structure == "diagonal":
            free = xp.cumprod(lc, axis=0)[None] * h[:, None, :]
        else:
            G = xp.empty_like(lc)
            G[0] = lc[0]
            for t in range(1, lc.shape[0]):
                G[t] = lc[t] @ G[t - 1]
            free = xp.einsum("tNM,bM->btN", G, h)
        states[:, sl] = forced + free
        h = states[:, sl.stop - 1]
    return _explicit_output(xp, mats, states, u)


def _explicit_phi(mats, xp, structure):
    """(L, d, L, d): Phi_ij = C_i Lambda_i ... Lambda_{j+1} B_j (j <= i), + D_i on the diagonal;
    swept one off-diagonal k = i - j at a time, all j at once."""
    lam, B, C, D = mats["Lambda"], mats["B"], mats["C"], mats["D"]
    L, N, d = B.shape
    Phi = xp.zeros((L, d, L, d), dtype=B.dtype)
    X = B.copy()                                                        # X[j] = T_{j+k, j} B_j
    for k in range(L):
        j = xp.arange(L - k)
        Phi[j + k, :, j, :] = xp.einsum("jdN,jNe->jde", C[j + k], X[:L - k])
        if k + 1 < L:
            nxt = lam[k + 1:]                                           # Lambda_{j+k+1}, j < L-k-1
            if structure == "scalar":
                X = nxt[:, None, None] * X[:L - k - 1]
            elif structure == "diagonal":
                X = nxt[:, :, None] * X[:L - k - 1]
            else:
                X = nxt @ X[:L - k - 1]
    if D is not None:
        t = xp.arange(L)
        Phi[t, :, t, :] = Phi[t, :, t, :] + D
    return Phi


# ------------------------------------------------------------------------------ public objects
@dataclass(frozen=True)
class DSFMatrices:
    r"""Dense channel-major DSF matrices of one input sequence: ``Lambda`` (L,) scalar
    (:math:`\Lambda_i=\lambda_iI_N`), (L, N) diagonal or (L, N, N) dense; ``B`` (L, N, d); ``C``
    (L, d, N); ``D`` (L, d, d) or None. ``structure`` names the form of ``Lambda``."""

    Lambda: np.ndarray
    B: np.ndarray
    C: np.ndarray
    D: np.ndarray | None
    structure: str

    @property
    def N(self) -> int:
        return self.B.shape[1]

    def to_dict(self) -> dict:
        return {"structure": self.structure, "Lambda": np.asarray(self.Lambda).tolist(),
                "B": np.asarray(self.B).tolist(), "C": np.asarray(self.C).tolist(),
                "D": None if self.D is None else np.asarray(self.D).tolist()}

    def __repr__(self) -> str:
        return (f"DSFMatrices(structure={self.structure!r}, L={self.B.shape[0]}, N={self.N}, "
                f"d={self.B.shape[2]})")


@dataclass(frozen=True)
class DSF:
    r"""A DSF :math:`h_i=\Lambda_ih_{i-1}+B_iu_i`, :math:`y_i=C_ih_i+D_iu_i` (arXiv:2405.15731).

    Built by :func:`from_architecture` (the matrices are functions of the input, as in every
    selective model) or :meth:`from_matrices` (fixed sequences for one length L).

    Attributes
    ----------
    architecture : str
        One of :data:`ARCHITECTURES`, or ``"explicit"``.
    params : dict
        The validated parameters (float64 arrays; options as given).
    u_dim : int
        Model width d.
    n : int or float
        States per channel (``inf`` for softmax attention; ``N / d`` or the total N for explicit).
    structure : str
        ``"scalar"``, ``"diagonal"``, ``"dense"`` or ``"infinite"`` (the form of Lambda_i).
    """

    architecture: str
    params: dict = field(repr=False)
    u_dim: int
    n: float
    structure: str
    options: dict = field(default_factory=dict, repr=False)

    @property
    def state_size(self) -> float:
        """N = n d, the total state (inf for softmax attention)."""
        if self.architecture == "explicit":
            return self.params["B"].shape[1]
        return self.n * self.u_dim

    # -------------------------------------------------------------- construction
    @classmethod
    def from_matrices(cls, Lambda, B, C, D=None) -> "DSF":
        r"""A DSF from explicit sequences for one length L.

        Parameters
        ----------
        Lambda : array (L,) scalar, (L, N) diagonal or (L, N, N) dense
        B : array (L, N, d)
        C : array (L, d, N)
        D : array (L, d, d) or (d, d), optional (default 0)
        """
        B = _finite_array("B", B, 3)
        L, N, d = B.shape
        C = _finite_array("C", C, 3)
        if C.shape != (L, d, N):
            raise ValueError(f"`C` must have shape ({L}, {d}, {N}) to match `B` {B.shape}; got {C.shape}.")
        lam = np.asarray(Lambda, dtype=np.float64)
        shapes = {1: ((L,), "scalar"), 2: ((L, N), "diagonal"), 3: ((L, N, N), "dense")}
        if lam.ndim not in shapes or lam.shape != shapes[lam.ndim][0]:
            raise ValueError(f"`Lambda` must have shape ({L},) (scalar), ({L}, {N}) (diagonal) or "
                             f"({L}, {N}, {N}) (dense); got {lam.shape}.")
        lam = _finite_array("Lambda", lam, lam.ndim)
        if D is not None:
            D = np.asarray(D, dtype=np.float64)
            if D.shape == (d, d):
                D = np.broadcast_to(D, (L, d, d)).copy()
            if D.shape != (L, d, d):
                raise ValueError(f"`D` must have shape ({d}, {d}) or ({L}, {d}, {d}); got {D.shape}.")
            D = _finite_array("D", D, 3)
        structure = shapes[lam.ndim][1]
        n = N // d if N % d == 0 else N
        return cls("explicit", {"Lambda": lam, "B": B, "C": C, "D": D}, d, n, structure)

    # -------------------------------------------------------------- evaluation
    def _batch(self, u, xp):
        arr = _as_input(u, self.u_dim)
        single = arr.ndim == 2
        if single:
            arr = arr[None]
        if self.architecture == "explicit" and arr.shape[1] != self.params["B"].shape[0]:
            raise ValueError(f"`u` must have length L = {self.params['B'].shape[0]} (the explicit "
                             f"matrices' length); got {arr.shape[1]}.")
        return xp.asarray(arr), single

    def _explicit(self, xp, dtype):
        return {k: None if v is None else xp.asarray(v, dtype=dtype) for k, v in self.params.items()}

    def run(self, u, method: str = "auto", *, chunk: int | None = None, backend: str = "numba"):
        r"""The output :math:`y_i=C_ih_i+D_iu_i` for the input ``u``.

        Parameters
        ----------
        u : array (L, d) or (batch, L, d)
            Real floating input (float32 or float64; integers become float64); NaN or inf refused.
        method : {"auto", "recurrent", "chunked", "materialized"}
            See the module docstring; all are exact (equal to rounding).
        chunk : int, optional
            Chunk length Q of ``"chunked"`` (default 64 for scalar transitions, 16 otherwise).
        backend : {"numba", "numpy", "cupy"}
            Array namespace (NumPy or CuPy) and the recurrence kernel (Numba's fused loop, or the
            scan engine in the array namespace).

        Returns
        -------
        array, the shape of ``u``.

        Raises
        ------
        ValueError
            Wrong shape, non-finite ``u``, ``chunk < 1``, or a method the structure does not
            admit (softmax attention has infinite state: materialised only).
        """
        one_of("method", method, METHODS)
        if chunk is not None:
            chunk = positive_int("chunk", chunk)
        bk = backends.get(backend)
        xp = bk.xp
        ub, single = self._batch(u, xp)
        L = ub.shape[1]
        if method == "auto":
            method = self.auto_method(L, backend)
        if self.structure == "infinite" and method != "materialized":
            raise ValueError(f"`method` {method!r} needs a finite state; softmax attention has N = infinity "
                             "(use method='materialized', or 'softmax_taylor' for a finite truncation).")
        if self.architecture == "explicit":
            mats = self._explicit(xp, ub.dtype)
            if method == "recurrent":
                y = _explicit_recurrent(mats, ub, xp, backend, self.structure)
            elif method == "chunked":
                y = _explicit_chunked(mats, ub, xp, self.structure, chunk or _DEFAULT_CHUNK[self.structure])
            else:
                Phi = _explicit_phi(mats, xp, self.structure)
                y = xp.einsum("tcse,bse->btc", Phi, ub)
        else:
            f = _factors(self.architecture, self.params, self.options, ub, xp,
                         need_lam=not (method == "recurrent" and backend == "numba"))
            if method == "recurrent":
                y = _recurrent(f, xp, backend)
            elif method == "chunked":
                y = _chunked(f, xp, backend, chunk or _DEFAULT_CHUNK["scalar" if f.scalar else "diagonal"])
            else:
                y = _apply_attention(xp, _attention_matrices(f, xp), f.value)
            y = y + _skip(f, ub)
        return y[0] if single else y

    def auto_method(self, L: int, backend: str = "numba") -> str:
        """The method ``run(method="auto", backend=backend)`` uses at length ``L`` (the measured
        rule of the module docstring)."""
        L = positive_int("L", L)
        one_of("backend", backend, tuple(backends.BACKENDS))
        if self.structure == "infinite":
            return "materialized"
        return "recurrent" if backend == "numba" else "chunked"

    def materialize(self, u=None, *, form: str = "dense", backend: str = "numpy"):
        r""":math:`\Phi` with :math:`y=\Phi u`.

        Parameters
        ----------
        u : array (L, d) or (batch, L, d)
            The input the matrices are evaluated on (required for architectures: their matrices
            depend on the input; optional for :meth:`from_matrices`).
        form : {"dense", "channel"}
            ``"dense"``: (L d, L d), block (i, j) = :math:`\Phi_{ij}`, row i d + c. ``"channel"``:
            (d, L, L), :math:`\Phi^{(c)}_{ij}`, when :math:`\Phi` is block-diagonal over
            channels (S6, SSD, RG-LRU: diagonal value maps); attention's
            :math:`\Phi=A\otimes W_V` mixes channels and has no such form.

        Returns
        -------
        array (L d, L d) / (d, L, L), with a leading batch axis when ``u`` has one.
        """
        one_of("form", form, ("dense", "channel"))
        xp = backends.get(backend).xp
        if u is None:
            if self.architecture != "explicit":
                raise ValueError(f"`u` is required: the matrices of {self.architecture!r} depend on the input.")
            u = np.zeros((self.params["B"].shape[0], self.u_dim))
        ub, single = self._batch(u, xp)
        b, L, d = ub.shape
        if self.architecture == "explicit":
            Phi = _explicit_phi(self._explicit(xp, ub.dtype), xp, self.structure)[None]   # (1, L, d, L, d)
            if form == "channel":
                off = Phi * (1 - xp.eye(d, dtype=Phi.dtype))[None, None, :, None, :]
                if xp.any(off != 0):
                    raise ValueError("`form='channel'` needs Phi block-diagonal over channels; these "
                                     "matrices mix channels.")
                c = xp.arange(d)
                out = xp.moveaxis(Phi[:, :, c, :, c], 0, 1)                # (1, d, L, L)
            else:
                out = Phi.reshape(1, L * d, L * d)
            return out[0]
        f = _factors(self.architecture, self.params, self.options, ub, xp)
        A = _attention_matrices(f, xp)                                  # (b, 1|d, L, L)
        if form == "channel":
            if f.W is not None:
                raise ValueError(f"`form='channel'` needs Phi block-diagonal over channels; "
                                 f"{self.architecture!r} mixes channels through W (Phi = A (x) W).")
            gain = xp.ones((b, L, 1), dtype=ub.dtype) if f.gain is None else f.gain
            out = xp.broadcast_to(A, (b, d, L, L)) * xp.moveaxis(gain, 1, 2)[:, :, None, :]
            if f.skip is not None:
                t = xp.arange(L)
                out = out.copy()
                out[:, :, t, t] = out[:, :, t, t] + f.skip[None, :, None]
            return out[0] if single else out
        V = _value_maps(f, xp, ub)                                      # (b, L, d, d)
        Ab = xp.broadcast_to(A, (b, d, L, L))
        Phi = xp.einsum("bcts,bsce->btcse", Ab, V)
        if f.skip is not None:
            t = xp.arange(L)
            Phi[:, t, :, t, :] = Phi[:, t, :, t, :] + xp.diag(f.skip)
        Phi = Phi.reshape(b, L * d, L * d)
        return Phi[0] if single else Phi

    def matrices(self, u) -> DSFMatrices:
        r"""The dense channel-major :math:`(\Lambda_i,B_i,C_i,D_i)` on one input (L, d):
        :math:`B_i[cn+s,c']=k^{(c)}_{i,s}V_i[c,c']`, :math:`C_i[c,cn+s]=q^{(c)}_{i,s}`,
        :math:`\Lambda_i=\lambda_iI` (scalar) or :math:`\mathrm{diag}(\lambda^{(c)}_{i,s})`."""
        if self.architecture == "explicit":
            p = self.params
            return DSFMatrices(p["Lambda"], p["B"], p["C"], p["D"], self.structure)
        if self.structure == "infinite":
            raise ValueError("softmax attention has no finite DSF matrices (N = infinity); use "
                             "'softmax_taylor' for the order-P truncation or materialize() for Phi.")
        arr = _as_input(u, self.u_dim)
        if arr.ndim != 2:
            raise ValueError(f"`u` must be one sequence (L, d) for matrices(); got shape {arr.shape}.")
        f = _factors(self.architecture, self.params, self.options, arr[None], np)
        L, d = arr.shape
        n = f.key.shape[-1]
        key = np.broadcast_to(f.key[0], (L, d, n))
        query = np.broadcast_to(f.query[0], (L, d, n))
        V = _value_maps(f, np, arr[None])[0]                            # (L, d, d)
        B = (key[..., None] * V[:, :, None, :]).reshape(L, d * n, d)
        C = np.zeros((L, d, d * n))
        for c in range(d):
            C[:, c, c * n:(c + 1) * n] = query[:, c]
        if f.scalar:
            Lambda = np.array(f.lam[0, :, 0, 0])
        else:
            Lambda = np.broadcast_to(f.lam[0], (L, d, n)).reshape(L, d * n).copy()
        D = None if f.skip is None else np.broadcast_to(np.diag(f.skip), (L, d, d)).copy()
        return DSFMatrices(Lambda, B, C, D, "scalar" if f.scalar else "diagonal")


def _value_maps(f, xp, u):
    """V_i = diag(gain_i) W, (b, L, d, d)."""
    b, L, d = u.shape
    W = xp.eye(d, dtype=u.dtype) if f.W is None else f.W
    gain = xp.ones((b, L, 1), dtype=u.dtype) if f.gain is None else f.gain
    return gain[..., None] * W


def _finite_array(name, value, ndim):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`{name}` must be a float array; got {type(value).__name__}.") from exc
    if arr.ndim != ndim:
        raise ValueError(f"`{name}` must have {ndim} axes; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite; it holds NaN or inf.")
    return arr


def _as_input(u, d):
    arr = u if hasattr(u, "__cuda_array_interface__") else np.asarray(u)
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    if arr.dtype.kind != "f" or arr.dtype.itemsize not in (4, 8):
        raise ValueError(f"`u` must be a float32 or float64 array; got dtype {arr.dtype}.")
    if arr.ndim not in (2, 3) or arr.shape[-1] != d or arr.shape[-2] < 1:
        raise ValueError(f"`u` must have shape (L, {d}) or (batch, L, {d}) with L >= 1; got {tuple(arr.shape)}.")
    finite = arr if isinstance(arr, np.ndarray) else backends.to_numpy(arr)
    if not np.all(np.isfinite(finite)):
        raise ValueError("`u` must be finite; it holds NaN or inf.")
    return arr


def from_architecture(name: str, params: dict, u_dim: int) -> DSF:
    r"""The DSF of architecture ``name`` with parameters ``params`` (arXiv:2405.15731, section 3;
    equations as in the brief). ``m`` is the query/key width, ``n`` the states per channel.

    * ``"linear_attention"``: ``W_Q``, ``W_K`` (m, d), ``W_V`` (d, d); options ``feature_map``
      "elu1" (default, :math:`\phi=\psi=\mathrm{elu}+1`) or "identity", ``normalize`` (default
      True): :math:`y_i=\sum_{j\le i}\phi(q_i)^\top\psi(k_j)v_j/\sum_{j\le i}\phi(q_i)^\top\psi(k_j)`;
      ``normalization_in`` "output" (default, :math:`C_i=I\otimes\phi(q_i)^\top/\eta_i`,
      :math:`\Lambda=I`) or "transition" (the paper's :math:`\Lambda_i=(\eta_{i-1}/\eta_i)I`,
      :math:`B_i=(I\otimes\psi(k_i))W_V/\eta_i`; equal outputs, pitfall 1). n = m.
    * ``"normalized_attention"``: ``W_Q``, ``W_K``, ``W_V``, ``W_eta`` (d,), optional ``b_eta``;
      option ``eta`` in "exp" (default), "softplus", "sigmoid":
      :math:`y_i=q_i^\top\sum_{j\le i}k_jv_j^\top/\eta(u_i)`, :math:`\eta(u)=f(W_\eta u+b_\eta)`.
      The official code's normalisation function returns the reciprocal :math:`1/\eta`
      (exp(-x), 1/softplus(x), 1 + exp(-x)) and multiplies by it; the model is the same.
    * ``"softmax_taylor"``: ``W_Q``, ``W_K``, ``W_V``, option ``order`` P (default 2): linear
      attention with :func:`taylor_features`, n = sum_p m^p.
    * ``"softmax"``: ``W_Q``, ``W_K``, ``W_V``: causal softmax with scale :math:`1/\sqrt m`;
      infinite state, materialised only.
    * ``"s6"``: ``W_delta`` (d, d), ``b_delta`` (d,), ``W_B``, ``W_C`` (n, d), ``A`` (d, n) <= 0,
      optional ``D`` (d,): :math:`\Delta_i=\mathrm{softplus}(W_\Delta u_i+b_\Delta)`,
      :math:`h^{(c)}_i=e^{\Delta^{(c)}_iA^{(c)}}h^{(c)}_{i-1}+\Delta^{(c)}_i(W_Bu_i)u^{(c)}_i`,
      :math:`y^{(c)}_i=(W_Cu_i)\cdot h^{(c)}_i+D^{(c)}u^{(c)}_i` (ZOH transition, Euler input, as Mamba).
    * ``"ssd"``: ``w_delta`` (d,), ``b_delta`` (), ``W_B``, ``W_C`` (n, d), ``a`` () <= 0, optional
      ``D``: one head, :math:`\Delta_i=\mathrm{softplus}(w_\Delta\cdot u_i+b_\Delta)`,
      :math:`\Lambda_i=e^{a\Delta_i}I`, :math:`B_i=\Delta_i(I\otimes b_i)`, :math:`C_i=I\otimes c_i^\top`.
    * ``"retnet"``: ``W_Q``, ``W_K`` (m, d), ``W_V``, ``gamma`` in (0, 1]: :math:`\Lambda=\gamma I`,
      :math:`\Phi=(QK^\top\circ D_\gamma)\otimes W_V` (no xPos, no group norm).
    * ``"qlstm"``: ``W_f``, ``W_i``, ``W_o``, ``W_c`` (d, d), ``b_f``, ``b_i``, ``b_o`` (d,):
      :math:`h_i=f_i\odot h_{i-1}+i_i\odot W_cu_i`, :math:`y_i=o_i\odot h_i`, gates
      :math:`\sigma(W_\cdot u_i+b_\cdot)`; option ``forget="reversed_sigmoid"`` uses
      :math:`f_i=\sigma(-(W_fu_i+b_f))=e^{-\mathrm{softplus}(W_fu_i+b_f)}` (S6's transition with A = -1). n = 1.
    * ``"rg_lru"``: ``W_a``, ``W_x`` (d, d), ``b_a``, ``b_x``, ``Lambda`` (d,), option ``c`` (8):
      :math:`a_i=\sigma(\Lambda)^{cr_i}=e^{-cr_i\,\mathrm{softplus}(-\Lambda)}`,
      :math:`h_i=a_i\odot h_{i-1}+\sqrt{1-a_i^2}\odot i_i\odot u_i`, :math:`y_i=h_i`. n = 1.
    * ``"rg_lru_expanded"``: ``W_lambda`` (d, d), ``b_lambda`` (d,), ``A`` (d, n), ``W_B``, ``W_C``
      (n, d): :math:`\lambda^{(c)}_{i,s}=\exp(-c\,\sigma(W_\lambda u_i+b_\lambda)^{(c)}\mathrm{softplus}(A_{cs}))`,
      :math:`h^{(c)}_i=\lambda^{(c)}_i\odot h^{(c)}_{i-1}+\sqrt{1-\lambda^2}\odot b_iu^{(c)}_i`,
      :math:`y^{(c)}_i=c_i\cdot h^{(c)}_i`.

    Raises
    ------
    ValueError
        Unknown ``name`` (the message lists the known ones), missing or unknown keys, shapes that
        do not fit ``u_dim`` / each other, non-finite entries, bad options.
    """
    if not isinstance(name, str) or name not in _SPECS:
        raise _unknown_architecture(name)
    u_dim = positive_int("u_dim", u_dim)
    arrays, options, sizes = _validate_params(name, params, u_dim)
    return DSF(name, arrays, u_dim, _state_per_channel(name, options, sizes), _structure(name), options)


def random_params(name: str, u_dim: int, n: int, *, seed, **options) -> dict:
    r"""Random parameters for ``name`` (tests and studies), initialised as the official codes do
    where they say: S6 with S4D-real :math:`A_{cs}=-(s+1)` and :math:`\Delta` bias for steps
    log-uniform in [0.05, 0.5] (Mamba's range [1e-3, 1e-1], widened so that decays show at short L);
    SSD with :math:`a=-U[1,4]`; RG-LRU with :math:`\sigma(\Lambda)^c` uniform in [0.9, 0.999];
    projections with iid :math:`N(0,1/d)` entries. ``n`` is the key width m for the attention
    family (state n = m, or sum_p m^p for ``softmax_taylor``) and the states per channel for
    SSMs; it must be 1 for ``qlstm`` and ``rg_lru`` (N = d). ``options`` are passed through
    (e.g. ``order=3``, ``feature_map="identity"``)."""
    if not isinstance(name, str) or name not in _SPECS:
        raise _unknown_architecture(name)
    d, n = positive_int("u_dim", u_dim), positive_int("n", n)
    if name in ("qlstm", "rg_lru") and n != 1:
        raise ValueError(f"`n` must be 1 for {name!r} (one state per channel, N = d); got {n}.")
    rng = np.random.default_rng(child_seed(seed, 15))
    W = lambda rows, cols=d: rng.normal(scale=1.0 / math.sqrt(cols), size=(rows, cols))  # noqa: E731
    if name in ("linear_attention", "normalized_attention", "softmax_taylor", "softmax", "retnet"):
        p = {"W_Q": W(n), "W_K": W(n), "W_V": W(d)}
        if name == "normalized_attention":
            p["W_eta"] = rng.normal(scale=1.0 / math.sqrt(d), size=d)
            p["b_eta"] = np.array(0.5)
        if name == "retnet":
            p["gamma"] = np.array(0.9)
    elif name == "s6":
        dt = np.exp(rng.uniform(np.log(0.05), np.log(0.5), size=d))
        p = {"W_delta": 0.5 * W(d), "b_delta": np.log(np.expm1(dt)), "W_B": W(n), "W_C": W(n),
             "A": -np.tile(np.arange(1.0, n + 1), (d, 1)), "D": rng.normal(size=d)}
    elif name == "ssd":
        p = {"w_delta": rng.normal(scale=0.5 / math.sqrt(d), size=d), "b_delta": np.array(np.log(np.expm1(0.2))),
             "W_B": W(n), "W_C": W(n), "a": np.array(-rng.uniform(1.0, 4.0)), "D": rng.normal(size=d)}
    elif name == "qlstm":
        p = {"W_f": W(d), "W_i": W(d), "W_o": W(d), "W_c": W(d), "b_f": np.ones(d), "b_i": np.zeros(d),
             "b_o": np.zeros(d)}
    elif name == "rg_lru":
        target = rng.uniform(0.9, 0.999, size=d) ** (1.0 / 8.0)          # sigma(Lambda) = a0^(1/c)
        p = {"W_a": W(d), "W_x": W(d), "b_a": np.zeros(d), "b_x": np.zeros(d),
             "Lambda": np.log(target / (1.0 - target))}
    else:
        p = {"W_lambda": W(d), "b_lambda": np.zeros(d), "A": rng.normal(-2.0, 0.5, size=(d, n)),
             "W_B": W(n), "W_C": W(n)}
    p.update(options)
    from_architecture(name, p, d)                                       # validate what we hand out
    return p


@dataclass(frozen=True)
class MQARData:
    """Multi-query associative recall examples: ``inputs`` (n, L) token ids, ``targets`` (n, L)
    the value to emit at each query position and -100 (ignored) elsewhere."""

    inputs: np.ndarray
    targets: np.ndarray
    n_kv: int
    vocab: int

    def __repr__(self) -> str:
        return (f"MQARData(n={self.inputs.shape[0]}, L={self.inputs.shape[1]}, n_kv={self.n_kv}, "
                f"vocab={self.vocab})")

    def to_dict(self) -> dict:
        return {"inputs": self.inputs.tolist(), "targets": self.targets.tolist(), "n_kv": self.n_kv,
                "vocab": self.vocab}


def mqar(n: int, L: int, n_kv: int, vocab: int, *, seed, power_a: float = 0.01,
         random_non_queries: bool = True) -> MQARData:
    r"""MQAR data as Zoology's ``multiquery_ar`` generates them (Arora et al. 2023): ``n_kv``
    distinct keys from {1, .., vocab/2 - 1} and values from {vocab/2, .., vocab - 1} written as
    k_1 v_1 k_2 v_2 ... at the start; each key is queried once later, at even offsets
    ``2 g`` after the context with the gaps g drawn without replacement with probability
    :math:`\propto g^{a-1}` (``power_a`` = a; short gaps favoured); the target at a query
    position is its value (-100 elsewhere). Other positions hold random tokens when
    ``random_non_queries`` (Zoology's default), else 0.

    Raises
    ------
    ValueError
        When the vocabulary has fewer than ``n_kv`` keys or the sequence has no room for the
        ``n_kv`` queries after the context (L - 2 n_kv >= 2 n_kv).
    """
    n, L, n_kv, vocab = (positive_int(k, v) for k, v in (("n", n), ("L", L), ("n_kv", n_kv), ("vocab", vocab)))
    if vocab // 2 - 1 < n_kv:
        raise ValueError(f"`vocab` must give at least n_kv = {n_kv} keys (vocab // 2 - 1 >= n_kv); got {vocab}.")
    space = (L - 2 * n_kv) // 2
    if space < n_kv:
        raise ValueError(f"`L` must leave room for {n_kv} queries after the context (L >= 4 n_kv = "
                         f"{4 * n_kv}); got {L}.")
    if not (isinstance(power_a, Real) and 0 < power_a <= 1):
        raise ValueError(f"`power_a` must lie in (0, 1]; got {power_a!r}.")
    rng = np.random.default_rng(child_seed(seed, 16))
    half = vocab // 2
    prob = power_a * np.arange(1, space + 1, dtype=np.float64) ** (power_a - 1)
    prob /= prob.sum()
    inputs = np.zeros((n, L), dtype=np.int64)
    targets = np.full((n, L), -100, dtype=np.int64)
    context = 2 * n_kv
    for row in range(n):
        keys = rng.choice(np.arange(1, half), size=n_kv, replace=False)
        values = rng.choice(np.arange(half, vocab), size=n_kv, replace=False)
        gaps = rng.choice(space, size=n_kv, replace=False, p=prob)
        seq = np.zeros(L + 1, dtype=np.int64)
        seq[0:context:2], seq[1:context:2] = keys, values
        seq[context + 2 * gaps] = keys
        labels = np.full(L + 1, -100, dtype=np.int64)
        labels[context + 2 * gaps + 1] = values
        x, t = seq[:-1], labels[1:]
        if random_non_queries:
            empty = x == 0
            x[empty] = rng.integers(0, vocab, size=int(empty.sum()))
        inputs[row], targets[row] = x, t
    return MQARData(inputs, targets, n_kv, vocab)
