"""Checks for arXiv:2405.15731, "Understanding the differences in Foundation Models: Attention,
State Space Models, and Recurrent Neural Networks" (Sieber, Amo Alonso, Didier, Zeilinger,
Orvieto; NeurIPS 2024): the Dynamical Systems Framework. Statements as in the brief (equation
numbers and lemma wording unconfirmed): every architecture is exactly a DSF (three evaluations
and a direct implementation agree), S6 with A = 0 and Delta = 1 is unnormalised linear
attention, the linear-attention <-> S6 matching conditions, normalisation as a transition that
can exceed 1, softmax as the infinite-state limit of Taylor features, and the two identities.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from lemmata.analysis import dsf as adsf
from lemmata.numerics import dsf
from lemmata.numerics.cde import selective_scan
from lemmata.numerics.stats import fit_slope

from ..check import Bound, Check, Exact, Order

PAPER = "2405.15731"
SOURCE = "arXiv:2405.15731"
FINITE = tuple(a for a in dsf.ARCHITECTURES if a != "softmax")


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / max(float(np.max(np.abs(b))), 1e-300))


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(0.0, x)


# ------------------------------------------------------------------------------ direct implementations
def direct(name, p, u):
    """The architecture as it is usually written (one sequence u (L, d)): masked attention
    matrices, S6 through ``cde.selective_scan`` (Euler input), gated loops for the RNNs."""
    Lu, d = u.shape
    if name in ("linear_attention", "softmax_taylor", "softmax", "retnet", "normalized_attention"):
        q, k, v = u @ p["W_Q"].T, u @ p["W_K"].T, u @ p["W_V"].T
        m = q.shape[1]
        i, j = np.indices((Lu, Lu))
        causal = i >= j
        if name == "linear_attention":
            fm = (lambda x: np.where(x > 0, x + 1, np.exp(x))) if p.get("feature_map", "elu1") == "elu1" else (lambda x: x)
            S = np.where(causal, fm(q) @ fm(k).T, 0.0)
            if p.get("normalize", True):
                S = S / S.sum(axis=1, keepdims=True)
            return S @ v
        if name in ("softmax_taylor", "softmax"):
            x = q @ k.T / math.sqrt(m)
            kern = np.exp(x) if name == "softmax" else sum(x ** r / math.factorial(r) for r in range(p.get("order", 2) + 1))
            S = np.where(causal, kern, 0.0)
            return S / S.sum(axis=1, keepdims=True) @ v
        if name == "retnet":
            return np.where(causal, (q @ k.T) * float(p["gamma"]) ** np.abs(i - j), 0.0) @ v
        z = u @ p["W_eta"] + float(p.get("b_eta", 0.0))
        eta = {"exp": np.exp, "softplus": _softplus, "sigmoid": _sig}[p.get("eta", "exp")](z)
        return np.where(causal, q @ k.T, 0.0) @ v / eta[:, None]
    if name == "s6":
        delta = _softplus(u @ p["W_delta"].T + p["b_delta"])
        h = selective_scan(delta, p["A"], u @ p["W_B"].T, u, discretization="euler", backend="numpy")
        return np.einsum("tcn,tn->tc", h, u @ p["W_C"].T) + p.get("D", np.zeros(d)) * u
    out = np.zeros_like(u)
    if name == "ssd":
        delta = _softplus(u @ p["w_delta"] + float(p["b_delta"]))
        Bm, Cm = u @ p["W_B"].T, u @ p["W_C"].T
        H = np.zeros((Bm.shape[1], d))
        for t in range(Lu):
            H = math.exp(float(p["a"]) * delta[t]) * H + delta[t] * np.outer(Bm[t], u[t])
            out[t] = Cm[t] @ H + p.get("D", np.zeros(d)) * u[t]
        return out
    if name == "qlstm":
        h = np.zeros(d)
        for t in range(Lu):
            zf = p["W_f"] @ u[t] + p["b_f"]
            f = _sig(zf) if p.get("forget", "sigmoid") == "sigmoid" else _sig(-zf)
            h = f * h + _sig(p["W_i"] @ u[t] + p["b_i"]) * (p["W_c"] @ u[t])
            out[t] = _sig(p["W_o"] @ u[t] + p["b_o"]) * h
        return out
    if name == "rg_lru":
        h = np.zeros(d)
        for t in range(Lu):
            a = _sig(p["Lambda"]) ** (p.get("c", 8.0) * _sig(p["W_a"] @ u[t] + p["b_a"]))
            h = a * h + np.sqrt(1 - a ** 2) * _sig(p["W_x"] @ u[t] + p["b_x"]) * u[t]
            out[t] = h
        return out
    h = np.zeros(p["A"].shape)                                          # rg_lru_expanded
    for t in range(Lu):
        lam = np.exp(-p.get("c", 8.0) * _sig(p["W_lambda"] @ u[t] + p["b_lambda"])[:, None] * _softplus(p["A"]))
        h = lam * h + np.sqrt(1 - lam ** 2) * np.outer(u[t], p["W_B"] @ u[t])
        out[t] = h @ (p["W_C"] @ u[t])
    return out


def _state(name, n):
    return 1 if name in ("qlstm", "rg_lru") else n


def _representation(point, ctx):
    """Largest relative gap among recurrent, chunked, materialised and the direct implementation
    (and, for finite states, Phi u and the explicit channel-major matrices run as a generic DSF)."""
    name, d, n, L = point["arch"], point["d"], point["n"], point["L"]
    p = dsf.random_params(name, d, _state(name, n), seed=ctx.seed_sequence())
    model = dsf.from_architecture(name, p, d)
    u = np.random.default_rng(ctx.seed_sequence()).normal(size=(L, d))
    ref = direct(name, p, u)
    outputs = [model.run(u, "materialized")]
    if name != "softmax":
        outputs += [model.run(u, "recurrent", backend=ctx.backend if ctx.backend in ("numba", "numpy") else "numba"),
                    model.run(u, "chunked", chunk=point.get("chunk", 8))]
        mats = model.matrices(u)
        outputs.append(dsf.DSF.from_matrices(mats.Lambda, mats.B, mats.C, mats.D).run(u, "recurrent"))
        outputs.append((model.materialize(u) @ u.ravel()).reshape(L, d))
    return max(_rel(y, ref) for y in outputs)


REPRESENTATION = Check(
    key=f"{PAPER}/dsf-representation",
    statement="Every architecture is exactly the DSF h_i = Lambda_i h_{i-1} + B_i u_i, y_i = C_i h_i + D_i u_i: "
              "the recurrence, the chunked block algorithm, the materialised Phi u, the explicit channel-major "
              "matrices and a direct implementation (masked attention, selective scan, gated loop) agree to 1e-12.",
    source=f"{SOURCE}, section 3 (DSF representations; brief statement 1)",
    symbolic=lambda point: 0.0,
    numeric=_representation,
    points=[{"arch": a, "d": 4, "n": 3, "L": 32} for a in dsf.ARCHITECTURES],
    tolerance=Exact(rtol=0.0, atol=1e-12),
)

REPRESENTATION_FULL = Check(
    key=f"{PAPER}/dsf-representation-full",
    statement="As dsf-representation at larger sizes (d = 8, n = 4, L = 257, chunk 16).",
    source=f"{SOURCE}, section 3",
    symbolic=lambda point: 0.0,
    numeric=_representation,
    points=[{"arch": a, "d": 8, "n": 4 if a != "softmax_taylor" else 2, "L": 257, "chunk": 16}
            for a in dsf.ARCHITECTURES],
    tolerance=Exact(rtol=0.0, atol=1e-12),
    cost="slow",
)


# ------------------------------------------------------------------------------ S6 = linear attention
def _s6_tril(point, ctx):
    d, n, L = point["d"], point["n"], point["L"]
    p = dsf.random_params("s6", d, n, seed=ctx.seed_sequence())
    p.update(A=np.zeros((d, n)), W_delta=np.zeros((d, d)), b_delta=np.full(d, math.log(math.e - 1.0)), D=np.zeros(d))
    u = np.random.default_rng(ctx.seed_sequence()).normal(size=(L, d))
    expected = np.tril((u @ p["W_C"].T) @ (u @ p["W_B"].T).T) @ u
    model = dsf.from_architecture("s6", p, d)
    return max(_rel(model.run(u, m), expected) for m in ("recurrent", "chunked", "materialized"))


S6_IS_LINEAR_ATTENTION = Check(
    key=f"{PAPER}/s6-zero-A-unit-delta",
    statement="S6 with A = 0 and Delta = 1 equals unnormalised linear attention with q = c, k = b, v = u: "
              "Y = tril(C B^T) U per channel, for every evaluation method.",
    source=f"{SOURCE}, linear attention vs S6 (brief statement 4(i))",
    symbolic=lambda point: 0.0,
    numeric=_s6_tril,
    points=[{"d": 4, "n": 3, "L": 40}, {"d": 2, "n": 8, "L": 65}],
    tolerance=Exact(rtol=0.0, atol=1e-13),
)


# ------------------------------------------------------------------------------ matching conditions
def _normalized_case(ctx, L=24, d=3, m=2):
    """A normalised-attention model whose eta(u_i) = exp(u_i[0]) increases along the sequence."""
    rng = np.random.default_rng(ctx.seed_sequence())
    p = dsf.random_params("normalized_attention", d, m, seed=ctx.seed_sequence())
    p["W_eta"], p["b_eta"] = np.eye(d)[0], np.array(0.0)
    u = rng.normal(size=(L, d))
    u[:, 0] = np.sort(rng.uniform(-1.0, 1.0, size=L))                # eta increasing: S6 can match it
    return p, u


def _matching(point, ctx):
    """SSD-form DSF (Lambda_i = exp(a Delta_i) I, B_i = Delta_i (I (x) b_i) W_V, C_i = I (x) q_i^T)
    built from the normalised-attention model with Delta_i and b_i from the matching conditions
    (analysis.dsf.matching_conditions), or with b_i = k_i and Delta_i = 1/eta_i (the gains matched,
    the transitions not). Returns the relative output gap to the attention model."""
    p, u = _normalized_case(ctx)
    d = u.shape[1]
    attention = dsf.from_architecture("normalized_attention", p, d)
    y = attention.run(u)
    mc = adsf.matching_conditions()
    eta = np.exp(u[:, 0])
    previous = np.concatenate([[eta[0] * math.exp(-0.1)], eta[:-1]])   # eta_0 < eta_1: Delta_1 > 0 too
    a = point["a"]
    if point["case"] == "matched":
        f_delta = sp.lambdify((mc["eta_i"], mc["eta_im1"], mc["a"]), mc["Delta"], "numpy")
        f_scale = sp.lambdify((mc["eta_i"], mc["eta_im1"], mc["a"]), mc["b_scale"], "numpy")
        delta, scale = f_delta(eta, previous, a), f_scale(eta, previous, a)
    else:
        delta, scale = 1.0 / eta, np.ones_like(eta)
    if np.any(delta <= 0):
        raise AssertionError("the matched Delta_i must be positive (eta increasing)")
    q, k = u @ p["W_Q"].T, u @ p["W_K"].T
    b = scale[:, None] * k
    L, m = q.shape
    Lambda = np.exp(a * delta)
    B = np.einsum("t,cC,ts->tcsC", delta, p["W_V"], b).reshape(L, d * m, d)
    C = np.zeros((L, d, d * m))
    for c in range(d):
        C[:, c, c * m:(c + 1) * m] = q
    ssd = dsf.DSF.from_matrices(Lambda, B, C)
    return _rel(ssd.run(u, "chunked"), y)


MATCHING = Check(
    key=f"{PAPER}/matching-conditions",
    statement="An SSD/S6-form DSF with scalar a, Delta_i = log(eta_{i-1}/eta_i)/a and b_i = k_i/(eta_i Delta_i) "
              "(the matching conditions solved symbolically) reproduces normalised attention with increasing eta.",
    source=f"{SOURCE}, linear attention vs S6 (brief statement 4(ii))",
    symbolic=lambda point: 0.0,
    numeric=_matching,
    points=[{"case": "matched", "a": -1.0}, {"case": "matched", "a": -0.25}],
    tolerance=Exact(rtol=0.0, atol=1e-12),
)

MATCHING_VIOLATED = Check(
    key=f"{PAPER}/matching-conditions-violated",
    statement="With the input gains matched (b_i = k_i, Delta_i = 1/eta_i) but the transitions not "
              "(exp(a/eta_i) != eta_{i-1}/eta_i), the SSD differs from normalised attention by more than 1% "
              "of its output: the coupling of transition and gain differs (S6 through Delta, attention through eta).",
    source=f"{SOURCE}, linear attention vs S6 (brief statement 4(ii))",
    symbolic=lambda point: 0.01,
    numeric=_matching,
    points=[{"case": "violated", "a": -1.0}, {"case": "violated", "a": -0.25}],
    tolerance=Bound(side="lower"),
)


# ------------------------------------------------------------------------------ normalisation as forgetting
def _forgetting_case():
    d = 2
    p = {"W_Q": np.eye(d), "W_K": np.eye(d), "W_V": np.eye(d), "W_eta": np.array([1.0, 0.0]),
         "normalization_in": "transition"}
    u = np.array([[0.4, 0.1], [1.5, -0.3], [0.2, 0.3], [-0.7, 0.5]])    # eta = exp(u[:, 0]) falls at step 3
    return dsf.from_architecture("normalized_attention", p, d), p, u


def _forgetting(point, ctx):
    model, p, u = _forgetting_case()
    if point["quantity"] == "Lambda_3":
        return float(model.matrices(u).Lambda[2])
    out = dsf.from_architecture("normalized_attention", dict(p, normalization_in="output"), 2)
    return _rel(model.run(u, "recurrent"), out.run(u, "recurrent"))


NORMALISATION_TRANSITION = Check(
    key=f"{PAPER}/normalisation-as-transition",
    statement="Putting the normalisation in the transition, Lambda_i = eta_{i-1}/eta_i, gives the same outputs as "
              "putting 1/eta_i in C_i; when eta decreases (here eta = exp(u[0]) from e^1.5 to e^0.2) the transition "
              "is e^1.3 > 1.",
    source=f"{SOURCE}, normalisation as forgetting (brief statement 3, pitfall 1)",
    symbolic=lambda point: math.exp(1.5 - 0.2) if point["quantity"] == "Lambda_3" else 0.0,
    numeric=_forgetting,
    points=[{"quantity": "Lambda_3"}, {"quantity": "output-gap"}],
    tolerance=Exact(rtol=1e-14, atol=1e-14),
)


# ------------------------------------------------------------------------------ softmax as the infinite-state limit
def _taylor_case(seed, L=32, d=4, m=2, R=1.0):
    """Softmax attention on logits bounded by R: W_Q rescaled so that max |q.k|/sqrt(m) over the
    causal pairs is R. Returns params, input, R, the softmax output and max |v|; ``seed`` comes
    from the point, so both sides of a check see the same case."""
    p = dsf.random_params("softmax", d, m, seed=seed)
    u = np.random.default_rng(seed).normal(size=(L, d))
    q, k = u @ p["W_Q"].T, u @ p["W_K"].T
    p["W_Q"] = p["W_Q"] * (R * math.sqrt(m) / float(np.max(np.abs(np.tril(q @ k.T)))))
    soft = dsf.from_architecture("softmax", p, d).run(u)
    vmax = float(np.max(np.abs(u @ p["W_V"].T)))
    return p, u, R, soft, vmax


def _taylor_error(p, u, soft, vmax, order):
    y = dsf.from_architecture("softmax_taylor", dict(p, order=order), u.shape[1]).run(u, "chunked")
    return float(np.max(np.abs(y - soft))) / vmax


def _taylor_bound(point, ctx):
    p, u, R, soft, vmax = _taylor_case(point["seed"])
    return _taylor_error(p, u, soft, vmax, point["P"])


def _taylor_bound_symbolic(point):
    """2 delta/(1 - delta), delta = R^{P+1} e^{2R}/(P+1)! (Lagrange's remainder relative to
    e^{-R}): every weight is off by at most that fraction of itself."""
    _, _, R, _, _ = _taylor_case(point["seed"])
    bound = adsf.taylor_remainder_bound(point["P"])
    (x,) = bound.free_symbols
    delta = float(bound.xreplace({x: R})) * math.exp(R)
    return 2 * delta / (1 - delta)


def _taylor_rate(point, ctx):
    p, u, R, soft, vmax = _taylor_case(point["seed"])
    orders = list(range(point["P_min"], point["P_max"] + 1))
    errors = [_taylor_error(p, u, soft, vmax, P) for P in orders]
    leading = [R ** (P + 1) / math.factorial(P + 1) for P in orders]
    return fit_slope(np.log(leading), np.log(errors))


TAYLOR_RATE = Check(
    key=f"{PAPER}/softmax-taylor-rate",
    statement="Softmax attention is the infinite-state limit of separable attention: with order-P Taylor features "
              "(n = sum_p m^p states) on logits bounded by R = 1 the output error falls like the leading remainder "
              "R^{P+1}/(P+1)!: the fitted log-log slope is 1 (slack 0.1: R is the largest logit, the typical one "
              "is smaller, which biases a finite range of P slightly below 1).",
    source=f"{SOURCE}, softmax needs N = infinity (brief statement 2, derived)",
    symbolic=lambda point: 1.0,
    numeric=_taylor_rate,
    points=[{"P_min": 1, "P_max": 8, "seed": 0}, {"P_min": 1, "P_max": 8, "seed": 1}],
    tolerance=Order(slack=0.1),
)

TAYLOR_RATE_FULL = Check(
    key=f"{PAPER}/softmax-taylor-rate-full",
    statement="As softmax-taylor-rate over P = 1..10 (n up to 2047 states per channel).",
    source=f"{SOURCE}, softmax needs N = infinity (brief statement 2, derived)",
    symbolic=lambda point: 1.0,
    numeric=_taylor_rate,
    points=[{"P_min": 1, "P_max": 10, "seed": s} for s in range(4)],
    tolerance=Order(slack=0.1),
    cost="slow",
)

TAYLOR_BOUND = Check(
    key=f"{PAPER}/softmax-taylor-bound",
    statement="The order-P Taylor attention differs from softmax by at most 2 delta/(1 - delta) max|v| with "
              "delta = R^{P+1} e^{2R}/(P+1)! (R the largest |q.k|/sqrt(m)), for P with delta < 1.",
    source=f"{SOURCE}, softmax as the infinite-state limit (derived: Lagrange's remainder)",
    symbolic=_taylor_bound_symbolic,
    numeric=_taylor_bound,
    points=[{"P": P, "seed": 0} for P in (4, 6, 8)],
    tolerance=Bound(side="upper"),
)


def _taylor_minimum(point, ctx):
    """The smallest truncated exponential T_P(x) on a grid of logits x in [-3, 3]."""
    P = point["P"]
    x = np.linspace(-3.0, 3.0, 61)
    return float(np.min(sum(x ** r / math.factorial(r) for r in range(P + 1))))


TAYLOR_ODD_NEGATIVE = Check(
    key=f"{PAPER}/taylor-odd-order-negative",
    statement="A truncated exponential of odd order goes negative for large negative logits (here logits down to "
              "-3), which breaks the normalisation (pitfall 2).",
    source=f"{SOURCE}, brief pitfall 2",
    symbolic=lambda point: 0.0,
    numeric=_taylor_minimum,
    points=[{"P": 1}, {"P": 3}, {"P": 5}],
    tolerance=Bound(side="upper"),
)

TAYLOR_EVEN_POSITIVE = Check(
    key=f"{PAPER}/taylor-even-order-positive",
    statement="A truncated exponential of even order is positive for every logit (its minimum over [-3, 3] > 0).",
    source=f"{SOURCE}, brief pitfall 2",
    symbolic=lambda point: 0.0,
    numeric=_taylor_minimum,
    points=[{"P": 2}, {"P": 4}, {"P": 6}],
    tolerance=Bound(side="lower", slack=-1e-3),
)


def _taylor_features_exact(point, ctx):
    return float(adsf.taylor_identity(point["P"], point["m"])["difference"] != 0)


TAYLOR_IDENTITY = Check(
    key=f"{PAPER}/taylor-feature-identity",
    statement="sum_{p<=P} <q^{(x)p}, k^{(x)p}>/(m^{p/2} p!) = sum_{p<=P} (q.k/sqrt m)^p/p! exactly (symbolic q, k).",
    source=f"{SOURCE}, softmax attention's Taylor features (brief section 1)",
    symbolic=lambda point: 0.0,
    numeric=_taylor_features_exact,
    points=[{"P": 2, "m": 2}, {"P": 3, "m": 2}, {"P": 2, "m": 3}],
    tolerance=Exact(rtol=0.0, atol=0.0),
)


# ------------------------------------------------------------------------------ identities
def _identity(point, ctx):
    if point["identity"] == "reversed-sigmoid":
        return float(adsf.reversed_sigmoid_identity()["difference"] != 0)
    if point["identity"] == "rg-lru":
        return float(adsf.rg_lru_identity()["log_difference"] != 0)
    # numerically: S6's transition with A = -1, n = 1 against the reversed-sigmoid forget gate
    # written directly as 1 / (1 + e^{z}), z = W_f u + b_f
    d = 3
    q = dsf.random_params("qlstm", d, 1, seed=ctx.seed_sequence(), forget="reversed_sigmoid")
    s6 = {"W_delta": q["W_f"], "b_delta": q["b_f"], "W_B": np.ones((1, d)), "W_C": np.ones((1, d)),
          "A": -np.ones((d, 1))}
    u = np.random.default_rng(ctx.seed_sequence()).normal(scale=3.0, size=(20, d))
    direct_gate = 1.0 / (1.0 + np.exp(u @ q["W_f"].T + q["b_f"]))
    lam_s = dsf.from_architecture("s6", s6, d).matrices(u).Lambda.reshape(20, d)
    return float(np.max(np.abs(lam_s / direct_gate - 1.0)))


IDENTITIES = Check(
    key=f"{PAPER}/identities",
    statement="exp(-softplus(z)) = sigmoid(-z) (S6's transition with A = -1 is an LSTM forget gate) and "
              "sigmoid(Lambda)^{c r} = exp(-c r softplus(-Lambda)) (RG-LRU), symbolically; and numerically the "
              "qLSTM's reversed-sigmoid forget gate 1/(1 + e^z) equals S6's transition with A = -1 to 1e-14 relative.",
    source=f"{SOURCE}, brief statements 5 and 6",
    symbolic=lambda point: 0.0,
    numeric=_identity,
    points=[{"identity": "reversed-sigmoid"}, {"identity": "rg-lru"}, {"identity": "qlstm-equals-s6-transition"}],
    tolerance=Exact(rtol=0.0, atol=1e-14),
)


CHECKS = [REPRESENTATION, REPRESENTATION_FULL, S6_IS_LINEAR_ATTENTION, MATCHING, MATCHING_VIOLATED,
          NORMALISATION_TRANSITION, TAYLOR_RATE, TAYLOR_RATE_FULL, TAYLOR_BOUND, TAYLOR_ODD_NEGATIVE,
          TAYLOR_EVEN_POSITIVE, TAYLOR_IDENTITY, IDENTITIES]

