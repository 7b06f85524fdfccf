"""Checks for arXiv:2402.17457, "Super consistency of neural network landscapes and learning rate
transfer" (Noci, Meterez, Hofmann, Orvieto; NeurIPS 2024): the Gauss-Newton / NTK identities, the
split H = G + R, the two-layer linear closed form, the width scaling of the preconditioned
sharpness and of the NTK's movement under SP, NTP and muP, and (slow) learning-rate transfer.

Sharpness here is lambda_max(P^{1/2} H P^{1/2}) with P the SGD learning-rate multipliers (the
brief's pitfall 1), on a fixed batch; width exponents are log-log slopes fitted per seed, with the
standard error over seeds.
"""

from __future__ import annotations

import functools

import numpy as np

from lemmata.analysis.parametrization import two_layer_linear
from lemmata.numerics.mlp import MLP, proxy_run, teacher_data, train
from lemmata.numerics.spectra import dense_matrix, relative_movement, top_eigenvalues
from lemmata.numerics.stats import fit_slope, mean_estimate

from ..check import Bound, Check, Exact, MonteCarlo, Order

PAPER = "2402.17457"
SOURCE = "arXiv:2402.17457"


def _seed(ctx, *extra):
    return int(np.random.default_rng(ctx.seed_sequence()).integers(2 ** 31)) + sum(extra)


# ------------------------------------------------------------------------------ G and the NTK
def _gn_problem(point, ctx):
    model = MLP([8, point["width"], point["width"], 4], point["activation"], point["scheme"],
                loss=point["loss"], base_width=16)
    X, labels = teacher_data(12, 8, 4, seed=_seed(ctx))
    Y = labels if point["loss"] == "xent" else np.eye(4)[labels]
    theta = model.init(_seed(ctx, 1))
    return model, theta, X, Y


def _gn_numeric(point, ctx):
    """|lambda_max(P^1/2 G P^1/2) by Lanczos on R-operator products - lambda_max(H_l^1/2 J P J^T
    H_l^1/2) / m by a dense eigensolve of the layerwise NTK| / the latter."""
    model, theta, X, Y = _gn_problem(point, ctx)
    m, C = X.shape[0], 4
    ntk = model.ntk(theta, X)
    Hl = model.loss_hessians(theta, X, Y)
    w, U = np.linalg.eigh(Hl)
    root = np.einsum("icd,id,ied->ice", U, np.sqrt(np.clip(w, 0.0, None)), U)
    block = np.zeros((m * C, m * C))
    for i in range(m):
        block[C * i:C * i + C, C * i:C * i + C] = root[i]
    reference = np.linalg.eigvalsh(block @ ntk @ block / m)[-1]
    res = top_eigenvalues(model.operator(theta, X, Y, part="gn"), model.n_params, tol=1e-13,
                          seed=_seed(ctx, 2), throw=True)
    return abs(res.values[0] - reference) / reference


GN_NTK = Check(
    key=f"{PAPER}/gauss-newton-equals-ntk",
    statement="The non-zero spectrum of the preconditioned Gauss-Newton matrix P^1/2 G P^1/2 is that of "
              "(1/m) H_l^1/2 (J P J^T) H_l^1/2: for MSE lambda_max(G) = lambda_max(Theta)/m with Theta the "
              "empirical NTK; for cross-entropy through H_l = diag(p) - p p^T (relative gap, Lanczos on "
              "R-operator products vs a dense eigensolve of the layerwise NTK).",
    source=f"{SOURCE}, Hessian decomposition (section 1 of the brief; derived: G = J^T H_l J / m)",
    symbolic=lambda point: 0.0,
    numeric=_gn_numeric,
    points=[{"scheme": s, "activation": a, "loss": l, "width": 24}
            for s in ("sp", "ntp", "mup") for a, l in (("relu", "mse"), ("tanh", "xent"))],
    tolerance=Exact(rtol=0.0, atol=1e-10),
)


def _split_numeric(point, ctx):
    """max |H - (G_J + R)| / max |H| with H from the exact R-operator, G_J = J^T H_l J / m from the
    per-sample Jacobian, R = (1/m) sum (dl/df) grad^2 f from the output Hessians."""
    model = MLP([3, 5, 5, 5, 3] if point["scheme"] == "depth_mup" else [3, 6, 6, 3], point["activation"],
                point["scheme"], loss=point["loss"])
    rng = np.random.default_rng(ctx.seed_sequence())
    X = rng.standard_normal((6, 3))
    Y = rng.integers(0, 3, 6) if point["loss"] == "xent" else rng.standard_normal((6, 3))
    theta = model.init(_seed(ctx))
    J = model.jacobian(theta, X)
    G = np.einsum("icp,icd,idq->pq", J, model.loss_hessians(theta, X, Y), J) / X.shape[0]
    R = dense_matrix(lambda v: model.residual_hvp(theta, X, Y, v), model.n_params)
    H = dense_matrix(lambda v: model.hvp(theta, X, Y, v), model.n_params)
    return float(np.abs(H - G - R).max() / np.abs(H).max())


SPLIT = Check(
    key=f"{PAPER}/hessian-gauss-newton-residual-split",
    statement="H = G + R on tiny nets: the exact Hessian equals the Gauss-Newton part (1/m) J^T H_l J plus "
              "the residual part (1/m) sum_ic (dl/df_ic) grad^2 f_c (exact up to round-off).",
    source=f"{SOURCE}, Hessian decomposition",
    symbolic=lambda point: 0.0,
    numeric=_split_numeric,
    points=[{"scheme": s, "activation": a, "loss": l} for s, a, l in
            (("mup", "relu", "xent"), ("mup", "tanh", "mse"), ("depth_mup", "relu", "mse"), ("depth_mup", "tanh", "xent"))],
    tolerance=Exact(rtol=0.0, atol=1e-12),
)


# ------------------------------------------------------------------------------ two-layer linear
@functools.lru_cache(maxsize=8)
def _two_layer_flow(scheme, width, gamma_0, y, seed):
    """Gradient flow of the two-layer linear net f = c (u . v) on one example, integrated with
    DOP853 at rtol 1e-13 on the MLP's own gradient (raw parameters, rates mu = the multipliers)."""
    from scipy.integrate import solve_ivp

    d = 8
    model = MLP([d, width, 1], "linear", scheme, loss="mse", gamma_0=gamma_0, base_width=1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, d))
    x *= np.sqrt(d) / np.linalg.norm(x)                     # |x|^2 / d = 1
    Y = np.array([[y]])
    lr = model.multipliers()
    theta0 = model.init(seed)
    sol = solve_ivp(lambda t, th: -lr * model.grad(th, x, Y), (0.0, 30.0), theta0, method="DOP853",
                    rtol=1e-13, atol=1e-13, t_eval=np.linspace(0.0, 30.0, 13))

    def pq(theta):
        W, v = model.unpack(theta)
        u = model.rules[0]["multiplier"] * (W @ x[0])         # u = W x_hat
        v = v[0]
        return float(u @ v), float(u @ u + v @ v), float(u @ u - v @ v)

    return model, x, Y, sol, [pq(sol.y[:, i]) for i in range(sol.y.shape[1])]


def _flow_seed(ctx, k=0):
    """The two-layer checks share their flows: the seed depends on the run's seed only."""
    return 1000 * ctx.seed + k


def _conservation_numeric(point, ctx):
    _, _, _, sol, states = _two_layer_flow(point["scheme"], point["width"], 1.0, point["y"], _flow_seed(ctx))
    name = point["quantity"]
    values = [q * q - 4 * p * p if name == "q^2-4p^2" else b for p, q, b in states]
    scale = max(abs(values[0]), states[0][1] ** 2 if name == "q^2-4p^2" else states[0][1])
    return max(abs(v - values[0]) for v in values) / scale


def _derived_rate(point):
    """The derived time derivative of the quantity (0 for both): from the SymPy derivation."""
    e = two_layer_linear(point["scheme"]).expressions
    return float(e["d_invariant_dt"] if point["quantity"] == "q^2-4p^2" else e["d_balance_dt"])


CONSERVATION = Check(
    key=f"{PAPER}/two-layer-linear-conservation",
    statement="For the two-layer linear net on one example under gradient flow, |u|^2 - |v|^2 and "
              "q^2 - 4 p^2 (p = u.v, q = |u|^2 + |v|^2) are conserved (derived derivative 0; drift along "
              "a DOP853 flow on the MLP's gradient, relative to q_0^2 resp. q_0, <= 1e-10).",
    source=f"{SOURCE}, brief section 2.7 (derived)",
    symbolic=_derived_rate,
    numeric=_conservation_numeric,
    points=[{"scheme": s, "width": w, "y": 1.5, "quantity": q} for s in ("mup", "ntp") for w in (32, 256)
            for q in ("q^2-4p^2", "|u|^2-|v|^2")],
    tolerance=Exact(rtol=0.0, atol=1e-10),
)


def _s_star_numeric(point, ctx):
    """|lambda_max of the preconditioned full Hessian at the end of the flow - S* from the
    closed form at the run's own (p_0, q_0)| / S*."""
    model, x, Y, sol, states = _two_layer_flow(point["scheme"], point["width"], point["gamma_0"], point["y"],
                                               _flow_seed(ctx))
    e = two_layer_linear(point["scheme"]).expressions
    p0, q0 = states[0][0], states[0][1]
    subs = {s: v for s in e["S_star"].free_symbols
            for v in [{"p_0": p0, "q_0": q0, "n": point["width"], "y": point["y"], "gamma_0": point["gamma_0"]}[s.name]]}
    s_star = float(e["S_star"].subs(subs))
    res = top_eigenvalues(model.operator(sol.y[:, -1], x, Y), model.n_params, tol=1e-12, seed=_seed(ctx), throw=True)
    return abs(res.values[0] - s_star) / s_star


S_STAR = Check(
    key=f"{PAPER}/two-layer-linear-limiting-sharpness",
    statement="At the end of gradient flow the preconditioned sharpness of the two-layer linear net equals "
              "the derived S* = mu c^2 sqrt(q_0^2 - 4 p_0^2 + 4 p*^2), p* = y / c (R = 0 at the minimum), "
              "under muP and NTP.",
    source=f"{SOURCE}, brief section 2.7 (derived)",
    symbolic=lambda point: 0.0,
    numeric=_s_star_numeric,
    points=[{"scheme": s, "width": w, "y": 1.5, "gamma_0": 1.0} for s in ("mup", "ntp") for w in (32, 256)],
    tolerance=Exact(rtol=0.0, atol=1e-8),
)


def _sharpening_numeric(point, ctx):
    """S_T - S_0 (mean over seeds) of the two-layer linear net."""
    gains = []
    for k in range(point["seeds"]):
        _, _, _, _, states = _two_layer_flow(point["scheme"], point["width"], 1.0, point["y"], _flow_seed(ctx, k))
        gains.append((states[-1][1] - states[0][1]) / point["width"])
    return mean_estimate(gains)


def _sharpening_symbolic(point):
    """The n -> oo gain S*_limit - 2 (S_0 -> 2): 2 sqrt(1 + y^2) - 2 under muP, 0 under NTP."""
    e = two_layer_linear(point["scheme"]).expressions
    limit = e["S_star_limit"].subs({s: point[s.name] if s.name == "y" else 1.0 for s in e["S_star_limit"].free_symbols})
    return float(limit) - 2.0


SHARPENING = Check(
    key=f"{PAPER}/two-layer-linear-progressive-sharpening",
    statement="Two-layer linear net: under muP the sharpness rises from S_0 ~ 2 to the width-independent "
              "2 sqrt(1 + gamma_0^2 y^2); under NTP it does not move (S* - S_0 = O(1/n)). Mean gain over "
              "seeds within 4 standard errors + the declared O(n^-1/2) finite-width bias 4/sqrt(n).",
    source=f"{SOURCE}, brief section 2.7 (derived) and the illustrative example",
    symbolic=_sharpening_symbolic,
    numeric=_sharpening_numeric,
    points=[{"scheme": s, "width": 256, "y": 1.5, "seeds": 4} for s in ("mup", "ntp")],
    tolerance=MonteCarlo(n_sigma=4.0, bias=0.25),
)


# ------------------------------------------------------------------------------ width exponents
def _init_sharpness(scheme, width, seed, batch=32):
    model = MLP([32, width, width, 10], "relu", scheme, base_width=64)
    X, labels = teacher_data(batch, 32, 10, seed=1000)
    theta = model.init(seed)
    res = top_eigenvalues(model.operator(theta, X, labels), model.n_params, tol=1e-4, seed=seed, throw=True,
                          check=False)
    return float(res.values[0])


def _exponent_numeric(point, ctx):
    """Slope of log lambda_max(P^1/2 H P^1/2) at initialisation against log n, fitted per seed;
    mean and standard error over seeds."""
    slopes = []
    for k in range(point["seeds"]):
        seed = _seed(ctx, k)
        values = [_init_sharpness(point["scheme"], w, seed) for w in point["widths"]]
        slopes.append(fit_slope(np.log(point["widths"]), np.log(values)).value)
    return mean_estimate(slopes)


EXPECTED_SHARPNESS_EXPONENT = {"sp": 1.0, "ntp": 0.0, "mup": 0.0}


def _exponent_checks():
    checks = []
    for cost, widths, seeds, slack in (("fast", (64, 128, 256), 3, 0.4), ("slow", (128, 256, 512, 1024), 3, 0.25)):
        suffix = "" if cost == "fast" else "-full"
        checks.append(Check(
            key=f"{PAPER}/preconditioned-sharpness-width-exponent{suffix}",
            statement="At initialisation the preconditioned sharpness lambda_max(P^1/2 H P^1/2) of a 3-layer ReLU MLP "
                      "(cross-entropy, 32 fixed examples, muP base width 64) is O(1) in width under muP and NTP and "
                      f"grows like n under SP: fitted exponent over widths {widths[0]}..{widths[-1]} ({seeds} seeds) "
                      f"within {slack} of 0, 0, 1. The slack covers a finite-width drift that decays with n: muP's "
                      "outputs at initialisation shrink like 1/gamma away from the base width (so H_l tends to its "
                      "uniform-softmax value), and the top eigenvalue over C = 10 outputs carries an extreme-value "
                      "excess ~ (1 + sqrt(C/n))^2 (the brief's pitfall 3); measured muP and NTP exponents over 64..256 are -0.2 to -0.37.",
            source=f"{SOURCE}, pitfall 1 and super consistency (muP); derived for SP and NTP",
            symbolic=lambda point: EXPECTED_SHARPNESS_EXPONENT[point["scheme"]],
            numeric=_exponent_numeric,
            points=[{"scheme": s, "widths": list(widths), "seeds": seeds} for s in ("sp", "ntp", "mup")],
            tolerance=Order(slack=slack),
            cost=cost,
        ))
    return checks


def _movement(scheme, width, seed, steps, eta):
    X, labels = teacher_data(1024, 32, 10, seed=2000)
    model = MLP([32, width, width, 10], "relu", scheme, base_width=64)
    theta0 = model.init(seed)
    probe = X[:8]
    before = model.ntk(theta0, probe)
    res = train(model, theta0, X, labels, eta=eta, n_steps=steps, batch_size=64, seed=seed)
    if res.diverged:
        raise RuntimeError(f"training diverged ({scheme}, n = {width}, eta = {eta})")
    return relative_movement(before, model.ntk(res.theta, probe))


@functools.lru_cache(maxsize=16)
def _movement_slopes(scheme, widths, seeds, steps, eta, base_seed):
    slopes = []
    for k in range(seeds):
        values = [_movement(scheme, w, base_seed + k, steps, eta) for w in widths]
        slopes.append(fit_slope(np.log(widths), np.log(values)).value)
    return np.array(slopes)


def _movement_numeric(point, ctx):
    """Fitted width exponent of ||Theta_T - Theta_0||_F / ||Theta_0||_F per seed (NTP), or the
    per-seed difference of the muP and NTP exponents; mean and standard error over seeds."""
    args = (tuple(point["widths"]), point["seeds"], point["steps"], point["eta"], 1000 * ctx.seed)
    ntp = _movement_slopes("ntp", *args)
    if point["quantity"] == "ntp exponent":
        return mean_estimate(ntp)
    return mean_estimate(_movement_slopes("mup", *args) - ntp)


def _movement_checks():
    checks = []
    for cost, widths, seeds, steps in (("fast", (64, 128, 256), 2, 16), ("slow", (128, 256, 512, 1024), 3, 32)):
        suffix = "" if cost == "fast" else "-full"
        for quantity, side, bound, claim in (
                ("ntp exponent", "upper", -0.4, "vanishes under NTP (fitted width exponent <= -0.4; the "
                                                "NTK-regime rate is -1/2)"),
                ("mup minus ntp", "lower", 0.3, "decays markedly slower under muP (exponent at least 0.3 above "
                                                "NTP's; muP's limit is O(1) movement)")):
            name = "ntk-freezes-under-ntp" if quantity == "ntp exponent" else "ntk-moves-under-mup"
            checks.append(Check(
                key=f"{PAPER}/{name}{suffix}",
                statement=f"The relative NTK movement ||Theta_T - Theta_0||_F / ||Theta_0||_F after {steps} SGD steps "
                          f"(eta = 4, batch 64, 8 probe inputs, widths {widths[0]}..{widths[-1]}, {seeds} seeds) "
                          f"{claim}. At these widths muP's exponent is still negative (finite-width movement on top "
                          "of the O(1) feature-learning part), so the muP claim is the contrast with NTP.",
                source=f"{SOURCE}, mechanism (section 2.3 of the brief)",
                symbolic=lambda point, b=bound: b,
                numeric=_movement_numeric,
                points=[{"quantity": quantity, "widths": list(widths), "seeds": seeds, "steps": steps, "eta": 4.0}],
                tolerance=Bound(side, n_sigma=0),
                cost=cost,
            ))
    return checks


# ------------------------------------------------------------------------------ learning-rate transfer
TRANSFER_ETAS = (4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0)


@functools.lru_cache(maxsize=4)
def _sweep(scheme, widths, seeds, epochs):
    """Mean final loss over seeds per (width, eta); diverged runs count as loss 10 (the official
    JAX reproduction's convention)."""
    table = {}
    for w in widths:
        losses = np.array([[proxy_run(scheme, w, eta, s, epochs=epochs, n_snapshots=0)["loss"] for eta in TRANSFER_ETAS]
                           for s in range(seeds)])
        table[w] = np.where(np.isfinite(losses), losses, 10.0).mean(axis=0)
    return table


def _transfer_numeric(point, ctx):
    """``argmin drift``: grid steps (factors of 2) from the argmin learning rate at the smallest
    width to that at the largest; ``regret``: L_N(eta*_small) / min_eta L_N(eta) - 1 at the largest
    width N, the loss paid for reusing the small-width optimum."""
    table = _sweep(point["scheme"], tuple(point["widths"]), point["seeds"], point["epochs"])
    small, large = table[point["widths"][0]], table[point["widths"][-1]]
    if point["quantity"] == "argmin drift":
        return float(np.argmin(large) - np.argmin(small))
    return float(large[np.argmin(small)] / large.min() - 1.0)


_PROXY = ("CPU-scale proxy of the brief (3-layer ReLU MLP 32 -> n -> n -> 10 on 4096 teacher-labelled points, "
          "cross-entropy, SGD with batch 128 for 3 epochs, base width 64, eta in {4, ..., 256} by factors of 2, "
          "2 seeds, widths 64, 256, 1024)")

TRANSFER_MUP = Check(
    key=f"{PAPER}/learning-rate-transfer-mup",
    statement=f"Under muP the optimal base learning rate transfers across widths. On the {_PROXY}: the argmin moves "
              "by at most one grid step from n = 64 to n = 1024, and reusing the n = 64 optimum at n = 1024 costs at "
              "most 5% of the best loss.",
    source=f"{SOURCE}, super consistency and learning-rate transfer; CPU proxy of the brief, section 3",
    symbolic=lambda point: {"argmin drift": 1.0, "regret": 0.05}[point["quantity"]],
    numeric=lambda point, ctx: abs(_transfer_numeric(point, ctx)) if point["quantity"] == "argmin drift"
    else _transfer_numeric(point, ctx),
    points=[{"scheme": "mup", "widths": [64, 256, 1024], "seeds": 2, "epochs": 3.0, "quantity": q}
            for q in ("argmin drift", "regret")],
    tolerance=Bound("upper", n_sigma=0),
    cost="slow",
)

TRANSFER_NTP = Check(
    key=f"{PAPER}/learning-rate-drift-ntp",
    statement=f"Under NTP the optimal base learning rate does not transfer. On the same proxy the argmin grows with "
              "width (at least one grid step, a factor 2, from n = 64 to n = 1024), and reusing the n = 64 optimum "
              "at n = 1024 costs at least 10% of the best loss.",
    source=f"{SOURCE}, NTP's learning-rate shift; CPU proxy of the brief, section 3",
    symbolic=lambda point: {"argmin drift": 1.0, "regret": 0.10}[point["quantity"]],
    numeric=_transfer_numeric,
    points=[{"scheme": "ntp", "widths": [64, 256, 1024], "seeds": 2, "epochs": 3.0, "quantity": q}
            for q in ("argmin drift", "regret")],
    tolerance=Bound("lower", n_sigma=0),
    cost="slow",
)

CHECKS = [GN_NTK, SPLIT, CONSERVATION, S_STAR, SHARPENING, *_exponent_checks(), *_movement_checks(),
          TRANSFER_MUP, TRANSFER_NTP]
