"""The DSF (arXiv:2405.15731) against references written the usual way: the masked attention
matrix (linear / normalised / softmax / Taylor / RetNet), a per-channel selective-scan loop (S6,
SSD, and the codebase's independent ``cde.selective_scan``), gated recurrence loops (qLSTM,
RG-LRU with sigma(Lambda)^(c r) as a power). Plus the three evaluation methods against each
other, the explicit channel-major matrices against the factored form, batching and dtypes."""

import math

import numpy as np
import pytest

from lemmata.numerics import dsf
from lemmata.numerics.cde import selective_scan

D_MODEL, L = 4, 23
FINITE = [a for a in dsf.ARCHITECTURES if a != "softmax"]


def _n(name):
    return 1 if name in ("qlstm", "rg_lru") else 3


def _u(batch=None, length=L, seed=0):
    rng = np.random.default_rng(seed)
    shape = (length, D_MODEL) if batch is None else (batch, length, D_MODEL)
    return rng.normal(size=shape)


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


def _model(name, **options):
    return dsf.from_architecture(name, dsf.random_params(name, D_MODEL, _n(name), seed=3, **options), D_MODEL)


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    return np.log1p(np.exp(x))


# ------------------------------------------------------------------------------ references
def _masked_attention(scores, values, normalize):
    """y = (mask o S) V, row-normalised when asked: the attention matrix written directly."""
    A = np.tril(scores)
    if normalize:
        A = A / A.sum(axis=1, keepdims=True)
    return A @ values


def reference(name, p, u):
    """The architecture's usual implementation on one sequence u (L, d)."""
    Lu, d = u.shape
    if name in ("linear_attention", "softmax_taylor", "softmax", "retnet", "normalized_attention"):
        q, k, v = u @ p["W_Q"].T, u @ p["W_K"].T, u @ p["W_V"].T
        m = q.shape[1]
        if name == "linear_attention":
            fm = (lambda x: np.where(x > 0, x + 1, np.exp(x))) if p.get("feature_map", "elu1") == "elu1" else (lambda x: x)
            return _masked_attention(fm(q) @ fm(k).T, v, p.get("normalize", True))
        if name == "softmax_taylor":
            s = q @ k.T
            kernel = sum(s ** j / (m ** (j / 2) * math.factorial(j)) for j in range(p.get("order", 2) + 1))
            return _masked_attention(kernel, v, True)
        if name == "softmax":
            out = np.zeros_like(v)
            for i in range(Lu):
                w = np.exp(q[i] @ k[: i + 1].T / math.sqrt(m))
                out[i] = w @ v[: i + 1] / w.sum()
            return out
        if name == "retnet":
            i, j = np.indices((Lu, Lu))
            return np.where(i >= j, (q @ k.T) * float(p["gamma"]) ** np.abs(i - j), 0.0) @ v
        z = u @ p["W_eta"] + float(p.get("b_eta", 0.0))
        eta = {"exp": np.exp, "softplus": softplus, "sigmoid": sig}[p.get("eta", "exp")](z)
        out, S = np.zeros_like(v), np.zeros((m, d))
        for i in range(Lu):
            S = S + np.outer(k[i], v[i])
            out[i] = q[i] @ S / eta[i]
        return out
    if name == "s6":
        delta = softplus(u @ p["W_delta"].T + p["b_delta"])
        Bm, Cm = u @ p["W_B"].T, u @ p["W_C"].T
        h = np.zeros((d, Bm.shape[1]))
        out = np.zeros_like(u)
        for i in range(Lu):
            for c in range(d):                       # the per-channel selective scan
                h[c] = np.exp(delta[i, c] * p["A"][c]) * h[c] + delta[i, c] * Bm[i] * u[i, c]
                out[i, c] = Cm[i] @ h[c] + p.get("D", np.zeros(d))[c] * u[i, c]
        return out
    if name == "ssd":
        delta = softplus(u @ p["w_delta"] + float(p["b_delta"]))
        Bm, Cm = u @ p["W_B"].T, u @ p["W_C"].T
        H = np.zeros((Bm.shape[1], d))
        out = np.zeros_like(u)
        for i in range(Lu):
            H = math.exp(float(p["a"]) * delta[i]) * H + delta[i] * np.outer(Bm[i], u[i])
            out[i] = Cm[i] @ H + p.get("D", np.zeros(d)) * u[i]
        return out
    if name == "qlstm":
        h, out = np.zeros(d), np.zeros_like(u)
        for i in range(Lu):
            zf = p["W_f"] @ u[i] + p["b_f"]
            f = sig(zf) if p.get("forget", "sigmoid") == "sigmoid" else sig(-zf)
            h = f * h + sig(p["W_i"] @ u[i] + p["b_i"]) * (p["W_c"] @ u[i])
            out[i] = sig(p["W_o"] @ u[i] + p["b_o"]) * h
        return out
    if name == "rg_lru":
        h, out = np.zeros(d), np.zeros_like(u)
        for i in range(Lu):
            r = sig(p["W_a"] @ u[i] + p["b_a"])
            a = sig(p["Lambda"]) ** (p.get("c", 8.0) * r)        # the power form, not exp(-c r softplus)
            h = a * h + np.sqrt(1 - a ** 2) * sig(p["W_x"] @ u[i] + p["b_x"]) * u[i]
            out[i] = h
        return out
    if name == "rg_lru_expanded":
        n = p["A"].shape[1]
        h, out = np.zeros((d, n)), np.zeros_like(u)
        for i in range(Lu):
            g = sig(p["W_lambda"] @ u[i] + p["b_lambda"])
            lam = np.exp(-8.0 * g[:, None] * softplus(p["A"]))
            h = lam * h + np.sqrt(1 - lam ** 2) * np.outer(u[i], p["W_B"] @ u[i])
            out[i] = h @ (p["W_C"] @ u[i])
        return out
    raise AssertionError(name)


# ------------------------------------------------------------------------------ builders vs references
@pytest.mark.parametrize("name", dsf.ARCHITECTURES)
def test_builder_equals_the_usual_implementation(name):
    """Reference: the architecture written the usual way (see ``reference``), one sequence."""
    p = dsf.random_params(name, D_MODEL, _n(name), seed=3)
    model = dsf.from_architecture(name, p, D_MODEL)
    u = _u()
    ref = reference(name, p, u)
    for method in ("materialized",) if name == "softmax" else ("recurrent", "chunked", "materialized"):
        assert _rel(model.run(u, method), ref) < 1e-12, method


@pytest.mark.parametrize("name,options", [("linear_attention", {"feature_map": "identity"}),
                                          ("linear_attention", {"normalize": False}),
                                          ("linear_attention", {"normalization_in": "transition"}),
                                          ("normalized_attention", {"eta": "softplus"}),
                                          ("normalized_attention", {"eta": "sigmoid", "normalization_in": "transition"}),
                                          ("softmax_taylor", {"order": 3}),
                                          ("softmax_taylor", {"order": 0}),
                                          ("qlstm", {"forget": "reversed_sigmoid"})])
def test_options_equal_the_usual_implementation(name, options):
    p = dsf.random_params(name, D_MODEL, _n(name), seed=4, **options)
    model = dsf.from_architecture(name, p, D_MODEL)
    u = _u(seed=1)
    ref = reference(name, p, u)
    for method in ("recurrent", "chunked", "materialized"):
        assert _rel(model.run(u, method), ref) < 1e-12, method


def test_s6_equals_the_codebase_selective_scan():
    """Independent code path: ``cde.selective_scan`` (Euler input, Mamba's discretisation) gives
    the states; y = c_i . h + D u."""
    p = dsf.random_params("s6", D_MODEL, 5, seed=2)
    u = _u(length=40)
    delta = softplus(u @ p["W_delta"].T + p["b_delta"])
    h = selective_scan(delta, p["A"], u @ p["W_B"].T, u, discretization="euler")   # (T, D, n)
    ref = np.einsum("tcn,tn->tc", h, u @ p["W_C"].T) + p["D"] * u
    assert _rel(dsf.from_architecture("s6", p, D_MODEL).run(u, "recurrent"), ref) < 1e-12


def test_s6_with_zero_A_and_unit_delta_is_tril_c_bT_u_exactly():
    """Brief, statement 4(i): A = 0, Delta = 1 (W_delta = 0, b_delta = log(e - 1)) -> per channel
    Y = tril(C B^T) U, identical to unnormalised linear attention with q = c, k = b, v = u."""
    p = dsf.random_params("s6", D_MODEL, 3, seed=5)
    p.update(A=np.zeros_like(p["A"]), W_delta=np.zeros_like(p["W_delta"]),
             b_delta=np.full(D_MODEL, math.log(math.e - 1)), D=np.zeros(D_MODEL))
    u = _u()
    Bm, Cm = u @ p["W_B"].T, u @ p["W_C"].T
    expected = np.tril(Cm @ Bm.T) @ u
    model = dsf.from_architecture("s6", p, D_MODEL)
    lin = dsf.from_architecture("linear_attention", {"W_Q": p["W_C"], "W_K": p["W_B"], "W_V": np.eye(D_MODEL),
                                                     "feature_map": "identity", "normalize": False}, D_MODEL)
    for method in ("recurrent", "chunked", "materialized"):
        assert _rel(model.run(u, method), expected) < 1e-13
    assert _rel(lin.run(u), expected) < 1e-13


# ------------------------------------------------------------------------------ methods, layout, batching
@pytest.mark.parametrize("name", FINITE)
def test_methods_agree_on_batches_for_several_chunk_lengths(name):
    model = _model(name)
    u = _u(batch=3, length=37)
    ref = model.run(u, "materialized")
    assert ref.shape == u.shape
    for chunk in (1, 5, 37, 64):
        assert _rel(model.run(u, "chunked", chunk=chunk), ref) < 1e-12
    for backend in ("numba", "numpy"):
        assert _rel(model.run(u, "recurrent", backend=backend), ref) < 1e-12
    for b in range(3):                               # batching = one call per sequence
        assert _rel(model.run(u[b], "recurrent"), ref[b]) < 1e-12


@pytest.mark.parametrize("name", FINITE)
def test_explicit_channel_major_matrices_reproduce_the_model(name):
    """The dense (Lambda_i, B_i, C_i, D_i) in the channel-major layout, run as a generic DSF
    (its own recurrence, chunked and Phi code), equal the factored model; Phi u = y."""
    model = _model(name)
    u = _u(length=17)
    y = model.run(u, "recurrent")
    mats = model.matrices(u)
    assert mats.B.shape == (17, model.state_size, D_MODEL) and mats.C.shape == (17, D_MODEL, model.state_size)
    explicit = dsf.DSF.from_matrices(mats.Lambda, mats.B, mats.C, mats.D)
    for method in ("recurrent", "chunked", "materialized"):
        assert _rel(explicit.run(u, method, chunk=4), y) < 1e-12
    Phi = model.materialize(u)
    assert Phi.shape == (17 * D_MODEL, 17 * D_MODEL)
    assert _rel(Phi @ u.ravel(), y.ravel()) < 1e-12
    assert _rel(explicit.materialize(), Phi) < 1e-12
    # block lower triangular
    blocks = Phi.reshape(17, D_MODEL, 17, D_MODEL)
    i, j = np.triu_indices(17, 1)
    assert np.all(blocks[i, :, j, :] == 0)


def test_s6_layout_is_channel_major():
    """Lambda_i = diag(exp(Delta_i (x) a)): state c n + s holds exp(Delta^(c) A[c, s]); column c of
    B_i is Delta^(c) b_i in rows c n .. c n + n - 1 (brief, pitfall 4)."""
    p = dsf.random_params("s6", D_MODEL, 3, seed=8)
    u = _u(length=5)
    mats = dsf.from_architecture("s6", p, D_MODEL).matrices(u)
    delta = softplus(u @ p["W_delta"].T + p["b_delta"])
    b = u @ p["W_B"].T
    assert np.allclose(mats.Lambda[2], np.exp(np.kron(delta[2], np.ones(3)) * p["A"].ravel()), rtol=1e-15)
    assert np.allclose(mats.B[2], np.kron(np.diag(delta[2]), b[2][:, None]), rtol=1e-15)
    assert np.allclose(mats.C[2], np.kron(np.eye(D_MODEL), (u[2] @ p["W_C"].T)[None, :]), rtol=1e-15)


@pytest.mark.parametrize("name", ["s6", "ssd", "rg_lru", "rg_lru_expanded"])
def test_per_channel_phi_equals_the_dense_blocks(name):
    model = _model(name)
    u = _u(length=11)
    Phi = model.materialize(u).reshape(11, D_MODEL, 11, D_MODEL)
    per = model.materialize(u, form="channel")
    for c in range(D_MODEL):
        assert _rel(per[c], Phi[:, c, :, c]) < 1e-14


def test_channel_form_is_refused_when_channels_mix():
    with pytest.raises(ValueError, match="block-diagonal"):
        _model("linear_attention").materialize(_u(), form="channel")


@pytest.mark.parametrize("name", ["linear_attention", "s6", "rg_lru"])
def test_float32_runs_in_float32_and_agrees_with_float64(name):
    """float32: result dtype float32; error vs float64 within 2e-5 relative (L = 23 steps of
    float32 rounding, eps 6e-8, with the projections' conditioning ~10)."""
    model = _model(name)
    u = _u(batch=2)
    y64 = model.run(u)
    for method in ("recurrent", "chunked", "materialized"):
        y32 = model.run(u.astype(np.float32), method)
        assert y32.dtype == np.float32
        assert _rel(y32, y64) < 2e-5


def test_auto_follows_the_documented_rule():
    lin, s6, soft = _model("linear_attention"), _model("s6"), _model("softmax")
    assert lin.auto_method(100) == s6.auto_method(10 ** 5) == "recurrent"
    assert lin.auto_method(100, "numpy") == s6.auto_method(100, "numpy") == "chunked"
    assert soft.auto_method(10_000) == "materialized"


def test_softmax_has_no_finite_state():
    model = _model("softmax")
    with pytest.raises(ValueError, match="infinity"):
        model.run(_u(), "recurrent")
    with pytest.raises(ValueError, match="infinity"):
        model.matrices(_u())


def test_dense_lambda_dsf_methods_agree_and_equal_a_loop():
    """A DSF with dense Lambda_i (a rotation-like LTV system): recurrence loop by hand."""
    rng = np.random.default_rng(9)
    Lx, N, d = 9, 5, 2
    Lam = rng.normal(scale=0.4, size=(Lx, N, N))
    B, C, D = rng.normal(size=(Lx, N, d)), rng.normal(size=(Lx, d, N)), rng.normal(size=(d, d))
    u = rng.normal(size=(2, Lx, d))
    h, ref = np.zeros((2, N)), np.zeros((2, Lx, d))
    for i in range(Lx):
        h = h @ Lam[i].T + u[:, i] @ B[i].T
        ref[:, i] = h @ C[i].T + u[:, i] @ D.T
    model = dsf.DSF.from_matrices(Lam, B, C, D)
    assert model.structure == "dense"
    for method in ("recurrent", "chunked", "materialized"):
        assert _rel(model.run(u, method, chunk=4), ref) < 1e-12


def test_transition_placement_exceeds_one_when_eta_decreases():
    """Normalisation as forgetting: with normalization_in='transition' Lambda_i = eta_{i-1}/eta_i;
    a normalised-attention eta(u) = exp(w . u) that falls from step 1 to 2 makes Lambda_2 > 1."""
    d = 2
    p = {"W_Q": np.eye(d), "W_K": np.eye(d), "W_V": np.eye(d), "W_eta": np.array([1.0, 0.0]),
         "normalization_in": "transition"}
    model = dsf.from_architecture("normalized_attention", p, d)
    u = np.array([[2.0, 0.1], [0.0, 0.3], [1.0, -0.2]])
    mats = model.matrices(u)
    assert math.isclose(mats.Lambda[1], math.exp(2.0) / math.exp(0.0), rel_tol=1e-14)
    out = dict(p, normalization_in="output")
    assert _rel(model.run(u), dsf.from_architecture("normalized_attention", out, d).run(u)) < 1e-14


# ------------------------------------------------------------------------------ helpers
def test_taylor_features_reproduce_the_truncated_exponential_kernel():
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=(5, 3)), rng.normal(size=(7, 3))
    for P in (0, 1, 2, 4):
        F, G = dsf.taylor_features(q, P), dsf.taylor_features(k, P)
        assert F.shape == (5, sum(3 ** p for p in range(P + 1)))
        s = q @ k.T
        kernel = sum(s ** p / (3 ** (p / 2) * math.factorial(p)) for p in range(P + 1))
        assert _rel(F @ G.T, kernel) < 1e-13


def test_random_params_are_seeded():
    a = dsf.random_params("s6", 3, 2, seed=1)
    b = dsf.random_params("s6", 3, 2, seed=1)
    c = dsf.random_params("s6", 3, 2, seed=2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["W_B"], c["W_B"])


def test_mqar_structure():
    """Zoology's layout: k v pairs first, each key queried once afterwards with its value as the
    target; keys < vocab/2 <= values; seeded."""
    data = dsf.mqar(20, 64, 4, 32, seed=0)
    again = dsf.mqar(20, 64, 4, 32, seed=0)
    assert np.array_equal(data.inputs, again.inputs) and np.array_equal(data.targets, again.targets)
    assert data.inputs.shape == data.targets.shape == (20, 64)
    for x, t in zip(data.inputs, data.targets):
        keys, values = x[0:8:2], x[1:8:2]
        assert np.all((1 <= keys) & (keys < 16)) and np.all((16 <= values) & (values < 32))
        assert len(set(keys)) == 4
        query_pos = np.flatnonzero(t != -100)
        assert len(query_pos) == 4 and np.all(query_pos >= 8)
        lookup = dict(zip(keys, values))
        for pos in query_pos:
            assert t[pos] == lookup[x[pos]]
    assert np.all((data.inputs >= 0) & (data.inputs < 32))
