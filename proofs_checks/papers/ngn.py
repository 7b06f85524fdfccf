"""Checks for arXiv:2407.04358, NGN: an adaptive stochastic gradient method with non-negative
Gauss-Newton stepsizes (Orvieto & Xiao, 2024).

Statement labels (N1-N6, F1-F3) follow the paper brief in ``shared/papers``. Trajectory checks
run the optimisers of :mod:`lemmata.numerics.optim` on the problems of :mod:`lemmata.numerics.problems` and
evaluate the closed forms of :mod:`lemmata.analysis.ngn` with kernels compiled for the selected backend.
Round-off allowances are declared as multiples of the double-precision epsilon.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from lemmata.analysis import ngn as ngn_forms
from lemmata.numerics import compile_kernel
from lemmata.numerics.backends import to_numpy
from lemmata.numerics import optim
from lemmata.numerics.problems import LeastSquares, LogisticRegression, OffsetQuadratic, SigmoidRegression
from lemmata.numerics.stats import Estimate, fit_slope, mean_estimate

from ..check import Bound, Check, Exact, Order

PAPER = "2407.04358"
SOURCE = "arXiv:2407.04358"
EPS = float(np.finfo(float).eps)

# sigma * L over seven decades, for the trajectory-wide inequalities
SIGMA_L_GRID = tuple(float(v) for v in np.logspace(-3, 4, 8))


# ------------------------------------------------------------------------------ problems
@functools.lru_cache(maxsize=None)
def problem(name: str):
    """The fixed test problems (data drawn once from a fixed seed; they are part of the check)."""
    rng = np.random.default_rng(20240705)
    n, d = 64, 5
    A = rng.normal(size=(n, d))
    x_true = rng.normal(size=d)
    noise = 0.5 * rng.normal(size=n)
    Z = rng.normal(size=(n, d))
    w = rng.normal(size=d)
    flips = rng.random(n) < 0.2
    labels = np.where((Z @ w > 0) ^ flips, 1, -1)
    S = rng.normal(size=(n, d))
    s_star = rng.normal(size=d)
    h = rng.uniform(0.5, 2.0, size=n)
    centres = rng.normal(size=(n, d))
    problems = {
        "least-squares": LeastSquares(A, A @ x_true),                 # interpolation
        "least-squares-noisy": LeastSquares(A, A @ x_true + noise),   # sigma_int > 0
        "logistic": LogisticRegression(Z, labels),                    # non-separable
        "sigmoid-regression": SigmoidRegression(S, s_star),           # non-convex
        "offset-quadratic": OffsetQuadratic(h, centres, np.full(n, 0.3)),  # f_i* = 0.3 > 0
    }
    return problems[name]


CONVEX = ("least-squares", "least-squares-noisy", "logistic", "offset-quadratic")
ALL = CONVEX + ("sigmoid-regression",)


def _start(prob, seed_offset=0):
    rng = np.random.default_rng(7 + seed_offset)
    return prob.minimizer + 3.0 * rng.normal(size=prob.dim)


@functools.lru_cache(maxsize=32)
def _sweep(name: str, batch: int, seed: int, n_paths_per_sigma: int = 32, n_steps: int = 300):
    """Stochastic NGN over SIGMA_L_GRID, all sigmas in one batched run."""
    prob = problem(name)
    L = prob.smoothness
    sigma = np.repeat(np.asarray(SIGMA_L_GRID) / L, n_paths_per_sigma)
    traj = optim.run(optim.ngn(sigma), prob, _start(prob), n_steps=n_steps, n_paths=sigma.size,
                     batch_size=batch, seed=np.random.SeedSequence(seed, spawn_key=(batch,)),
                     record_every=n_steps)
    return traj, sigma, L


def _normal_range(traj):
    """Steps whose loss and squared gradient are far from floating-point underflow. With sigma L
    up to 1e4 NGN is nearly exact Kaczmarz and a resampled row can have a residual of 1e-160;
    its square is then subnormal and carries no relative precision, so such steps are excluded
    from the relative comparisons (they are a property of doubles, not of NGN)."""
    tiny = 1e-250
    return (traj.sample_losses > tiny) & ((traj.grad_sq_norms > tiny) | (traj.grad_sq_norms == 0))


def _kernel(derivation, backend):
    return compile_kernel(derivation, backend)



# ------------------------------------------------------------------------------ the LM identity
def _lm_symbolic(point):
    """0 when SymPy proves step + gamma * grad f == 0 identically; otherwise the residual's size
    at a fixed point (so a broken identity shows up as a non-zero symbolic value)."""
    forms = ngn_forms.derive_ngn(point["dim"], point["convention"])
    g = sp.Matrix(forms.inputs[1:])
    residual = (forms["step"] + forms["stepsize"] * g).applyfunc(sp.simplify)
    if residual.is_zero_matrix:
        return 0.0
    at = {s: sp.Rational(k + 2, 3) for k, s in enumerate(forms.symbols)}
    return float(max(abs(sp.N(e.xreplace(at))) for e in residual))


def _lm_numeric(point, ctx):
    """Solve the LM normal equations (2 w grad r grad r^T + I/sigma) p = -2 w r grad r with NumPy
    at random points and compare with the compiled closed-form step; worst relative error."""
    dim, weight = point["dim"], float(ngn_forms.CONVENTIONS[point["convention"]])
    kernel = compile_kernel(ngn_forms.derive_ngn(dim, point["convention"]), ctx.backend)
    rng = np.random.default_rng(ctx.seed_sequence())
    worst = 0.0
    for _ in range(50):
        f = float(rng.uniform(0.1, 10.0))
        g = rng.normal(size=dim)
        sigma = float(10 ** rng.uniform(-3, 3))
        grad_r = g / (2 * np.sqrt(f))
        matrix = 2 * weight * np.outer(grad_r, grad_r) + np.eye(dim) / sigma
        p_solve = np.linalg.solve(matrix, -2 * weight * np.sqrt(f) * grad_r)
        p_closed = to_numpy(kernel(f, *g, sigma, 1.0)["step"]).reshape(dim)
        worst = max(worst, float(np.max(np.abs(p_solve - p_closed)) / np.max(np.abs(p_solve))))
    return worst


LM_IDENTITY = Check(
    key=f"{PAPER}/lm-identity",
    statement="The Levenberg-Marquardt step on r = sqrt(f), argmin_p (r + grad r.p)^2 + |p|^2/(2 sigma), "
              "equals -gamma grad f with gamma = sigma/(1 + sigma |grad f|^2/(2 f)); with a 1/2 in "
              "front of the square it is NGN with sigma/2. Exact in SymPy for d = 1, 2, 3, and the "
              "compiled closed form matches a NumPy solve of the normal equations.",
    source=f"{SOURCE}, derivation of the NGN step (Sherman-Morrison)",
    symbolic=_lm_symbolic,
    numeric=_lm_numeric,
    points=[{"dim": d, "convention": c} for d in (1, 2, 3) for c in ("paper", "half")],
    # the normal equations have condition number <= 1 + 2 sigma |grad r|^2 <~ 1e5 here
    tolerance=Exact(rtol=0.0, atol=1e5 * EPS),
)


# ------------------------------------------------------------------------------ N1
def _n1_numeric(point, ctx):
    traj, sigma, L = _sweep(point["problem"], point["batch"], ctx.seed)
    bounds = _kernel(ngn_forms.ngn_stepsize_bounds(), ctx.backend)(sigma, L)
    lower, upper = (to_numpy(bounds[k]) for k in ("lower", "upper"))
    gamma = traj.stepsizes
    return float(np.nanmax(np.maximum((gamma - upper) / upper, (lower - gamma) / lower)))


STEPSIZE_BOUNDS = Check(
    key=f"{PAPER}/stepsize-bounds",
    statement="For L-smooth f_i >= 0, every NGN stepsize satisfies sigma/(1+sigma L) <= gamma_k <= "
              "sigma (N1), along stochastic and mini-batch trajectories for sigma*L in 1e-3..1e4.",
    source=f"{SOURCE}, Lemma 4.9 as cited by arXiv:2508.15071 (unconfirmed wording)",
    symbolic=lambda point: 0.0,
    numeric=_n1_numeric,
    points=[{"problem": p, "batch": b} for p in ALL for b in (1, 8)],
    tolerance=Bound("upper", n_sigma=0, slack=4 * EPS),
)


# ------------------------------------------------------------------------------ N2
def _n2_numeric(point, ctx):
    traj, sigma, _ = _sweep(point["problem"], point["batch"], ctx.seed)
    forms = _kernel(ngn_forms.ngn_identities(), ctx.backend)
    f_i = traj.sample_losses
    with np.errstate(divide="ignore", invalid="ignore"):
        out = forms(f_i, traj.grad_sq_norms, sigma)
        length = traj.step_sq_norms / to_numpy(out["step_length_sq_bound"])
        descent = traj.stepsizes * traj.grad_sq_norms / to_numpy(out["descent_bound"])
    ratio = np.where(_normal_range(traj), np.maximum(length, descent), np.nan)
    return float(np.nanmax(ratio) - 1.0)


BOUNDED_STEPS = Check(
    key=f"{PAPER}/bounded-steps",
    statement="For any f_i >= 0 (no smoothness needed): |x_{k+1}-x_k|^2 <= sigma f_ik(x_k)/2 and "
              "gamma_k |grad f_ik|^2 <= 2 f_ik(x_k) (N2), the mechanism behind non-divergence.",
    source=f"{SOURCE} (derived from the stepsize formula)",
    symbolic=lambda point: 0.0,
    numeric=_n2_numeric,
    points=[{"problem": p, "batch": b} for p in ALL for b in (1, 8)],
    tolerance=Bound("upper", n_sigma=0, slack=8 * EPS),
)


# ------------------------------------------------------------------------------ N3
def _n3_numeric(point, ctx):
    prob = problem(point["problem"])
    traj, sigma, L = _sweep(point["problem"], 1, ctx.seed)
    # every problem here has the same f_i* for all i, so f_ik* needs no index bookkeeping
    f_i_star = float(prob.sample_f_star[0])
    sides = _kernel(ngn_forms.ngn_key_inequality(), ctx.backend)(
        traj.stepsizes, traj.grad_sq_norms, traj.sample_losses, f_i_star, sigma, L)
    lhs, rhs = to_numpy(sides["lhs"]), to_numpy(sides["rhs"])
    # f_i - f_i* is computed by subtraction, so its round-off is relative to f_i + f_i*: the
    # comparison is scaled by the magnitude of the terms, not of their difference
    coefficient = 4 * sigma * L / (1 + 2 * sigma * L)
    scale = (np.abs(lhs) + np.abs(rhs) + coefficient * traj.stepsizes * (traj.sample_losses + f_i_star)
             + np.finfo(float).tiny)
    return float(np.nanmax(np.where(_normal_range(traj), (lhs - rhs) / scale, np.nan)))


KEY_INEQUALITY = Check(
    key=f"{PAPER}/key-inequality",
    statement="gamma^2 |g_i|^2 <= 4 sigma L/(1+2 sigma L) gamma (f_i - f_i*) + 2 sigma^2 L/(1+sigma L) "
              "max{(2 sigma L-1)/(2 sigma L+1), 0} f_i* along single-sample trajectories (N3), "
              "including f_i* > 0.",
    source=f"{SOURCE}, Lemma 4.2 as cited by arXiv:2508.15071; arXiv:2410.12455 Lemma 5 "
           "(unconfirmed wording)",
    symbolic=lambda point: 0.0,
    numeric=_n3_numeric,
    points=[{"problem": p} for p in ALL],
    tolerance=Bound("upper", n_sigma=0, slack=16 * EPS),
)


# ------------------------------------------------------------------------------ N4
def _n4_numeric(point, ctx):
    traj, sigma, L = _sweep(point["problem"], point["batch"], ctx.seed)
    parts = _kernel(ngn_forms.ngn_decomposition(), ctx.backend)(sigma, L)
    rho, eps_max = to_numpy(parts["rho"]), to_numpy(parts["eps_max"])
    eps_k = traj.stepsizes - rho
    return float(np.nanmax(np.maximum(-eps_k, eps_k - eps_max) / sigma))


DECOMPOSITION = Check(
    key=f"{PAPER}/decomposition",
    statement="gamma_k = rho + eps_k with rho = sigma/((1+sigma L)(1+2 sigma L)) and "
              "0 <= eps_k <= 3 sigma^2 L/(1+2 sigma L) along trajectories (N4).",
    source=f"{SOURCE}, stepsize decomposition (abstract); constants from arXiv:2410.12455",
    symbolic=lambda point: 0.0,
    numeric=_n4_numeric,
    points=[{"problem": p, "batch": b} for p in ALL for b in (1, 8)],
    tolerance=Bound("upper", n_sigma=0, slack=4 * EPS),
)


def _margins_symbolic(point):
    forms = ngn_forms.ngn_decomposition()
    proven = all(sp.simplify(forms[name]).is_positive for name in ("lower_margin", "upper_margin"))
    return 1.0 if proven else 0.0


def _margins_numeric(point, ctx):
    sigma = np.logspace(-6, 6, 2001)
    parts = _kernel(ngn_forms.ngn_decomposition(), ctx.backend)(sigma, 1.0)
    lower = to_numpy(parts["lower_margin"])
    upper = to_numpy(parts["upper_margin"])
    return float(np.all(lower > 0) and np.all(upper > 0))


DECOMPOSITION_RANGE = Check(
    key=f"{PAPER}/decomposition-contains-range",
    statement="[rho, rho + eps_max] contains [sigma/(1+sigma L), sigma] for every sigma, L > 0: "
              "both margins factor into manifestly positive terms (SymPy proves positivity; the "
              "compiled margins are positive for sigma L in 1e-6..1e6).",
    source=f"{SOURCE} (derived)",
    symbolic=_margins_symbolic,
    numeric=_margins_numeric,
    points=[{"form": "factored margins"}],
    tolerance=Exact(rtol=0.0, atol=0.0),
)


# ------------------------------------------------------------------------------ N5, N6
RATE_SIGMA_L = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)


@functools.lru_cache(maxsize=16)
def _rate_run(name: str, schedule: str, seed: int, n_paths: int = 64, n_steps: int = 500):
    prob = problem(name)
    L = prob.smoothness
    sigma = np.repeat(np.asarray(RATE_SIGMA_L) / L, n_paths)
    x0 = _start(prob, 1)
    traj = optim.run(optim.ngn(sigma, schedule=schedule), prob, x0, n_steps=n_steps,
                     n_paths=sigma.size, batch_size=1,
                     seed=np.random.SeedSequence(seed, spawn_key=(2, len(schedule))), record_every=5)
    return traj, float(prob.solution_distance_sq(x0)), n_paths


def _rate_numeric(schedule):
    def numeric(point, ctx):
        prob = problem(point["problem"])
        traj, _, n_paths = _rate_run(point["problem"], schedule, ctx.seed)
        j = RATE_SIGMA_L.index(point["sigma_L"])
        block = slice(j * n_paths, (j + 1) * n_paths)
        keep = traj.record_steps < traj.stepsizes.shape[0]          # k < K
        gaps = traj.losses[keep][:, block] - prob.f_star
        estimates = [mean_estimate(row) for row in gaps]
        best = min(estimates, key=lambda e: e.value)
        return best
    return numeric


def _rate_symbolic(derivation_fn):
    def symbolic(point):
        prob = problem(point["problem"])
        _, dist0_sq, _ = _rate_run(point["problem"], "constant" if derivation_fn is
                                   ngn_forms.ngn_convex_bound else "sqrt", 0)
        L = prob.smoothness
        values = derivation_fn().evaluate({
            "sigma": point["sigma_L"] / L, "L": L, "K": 500, "dist0_sq": dist0_sq,
            "interp_gap": max(prob.interp_gap, 0.0), "pos_gap": prob.pos_gap}, dps=30)
        return float(values["bound"])
    return symbolic


CONVEX_RATE = Check(
    key=f"{PAPER}/convex-rate",
    statement="Convex, L-smooth f_i >= 0, any sigma > 0: min_{k<K} E[f(x_k) - f*] <= "
              "(1+2 sigma L)^2 dist(x0,S)^2/(2 sigma K) + 3 sigma L (1+sigma L) sigma_int^2 + "
              "sigma L max{2 sigma L - 1, 0} sigma_pos^2 (N5), one-sided, sigma L over five decades.",
    source=f"{SOURCE}, Theorem 4.5 as cited by arXiv:2508.15071; arXiv:2410.12455 Remark 5 "
           "(unconfirmed wording)",
    symbolic=_rate_symbolic(ngn_forms.ngn_convex_bound),
    numeric=_rate_numeric("constant"),
    points=[{"problem": p, "sigma_L": s} for p in CONVEX for s in RATE_SIGMA_L],
    tolerance=Bound("upper", n_sigma=4),
)

DECREASING_RATE = Check(
    key=f"{PAPER}/decreasing-sigma-rate",
    statement="With sigma_k = sigma/sqrt(k+1): min_k E[f - f*] <= C1 D^2/sqrt(K) + C2 log(K+1) "
              "sigma_int^2/sqrt(K) + C4 log(K+1) sigma_pos^2/sqrt(K) (N6), one-sided.",
    source="arXiv:2410.12455 Theorem 6 (alpha=1, beta=0), restating NGN (unconfirmed wording)",
    symbolic=_rate_symbolic(ngn_forms.ngn_decreasing_bound),
    numeric=_rate_numeric("sqrt"),
    points=[{"problem": p, "sigma_L": s} for p in CONVEX for s in RATE_SIGMA_L],
    tolerance=Bound("upper", n_sigma=4),
)


# ------------------------------------------------------------------------------ stability
def _divergence_numeric(point, ctx):
    prob = problem(point["problem"])
    sigma = point["sigma_L"] / prob.smoothness
    opt = optim.ngn(sigma) if point["optimizer"] == "ngn" else optim.sgd(sigma)
    traj = optim.run(opt, prob, _start(prob, 2), n_steps=300, n_paths=64, batch_size=1,
                     seed=ctx.seed_sequence(), record_every=300)
    return traj.n_diverged / traj.n_paths


def _divergence_symbolic(point):
    # NGN: never (N2 bounds every step by sqrt(sigma f/2)). SGD with lr * min_i L_i > 2 on least
    # squares multiplies the sampled residual by |1 - lr |a_i|^2| > 1 each step: every path diverges.
    if point["optimizer"] == "ngn":
        return 0.0
    prob = problem(point["problem"])
    lr = point["sigma_L"] / prob.smoothness
    if lr * float(np.min(prob.sample_smoothness)) <= 2.0:
        raise ValueError("the SGD contrast needs lr * min_i L_i > 2")
    return 1.0


NEVER_DIVERGES = Check(
    key=f"{PAPER}/never-diverges",
    statement="On convex problems NGN never diverges, for any sigma, including sigma L up to 1e6 "
              "where SGD with lr = sigma diverges on every path (stability contrast).",
    source=f"{SOURCE} (abstract: robustness to the choice of sigma); the SGD contrast is derived",
    symbolic=_divergence_symbolic,
    numeric=_divergence_numeric,
    points=([{"optimizer": "ngn", "problem": p, "sigma_L": s} for p in CONVEX for s in (1e2, 1e4, 1e6)]
            + [{"optimizer": "sgd", "problem": p, "sigma_L": s}
               for p in ("least-squares", "least-squares-noisy") for s in (1e2, 1e4)]),
    tolerance=Exact(rtol=0.0, atol=0.0),
)


# ------------------------------------------------------------------------------ F1
def _quadratic(L, dim=3):
    return OffsetQuadratic([L], np.zeros((1, dim)), [0.0])


def _f1_numeric(point, ctx):
    L = point["L"]
    sigma = point["sigma_L"] / L
    prob = _quadratic(L)
    x = np.array([[1.0, -2.0, 0.5]])
    opt = optim.ngn(sigma)
    state = opt.init(x)
    ratios = []
    for _ in range(10):
        value, grad = prob.value_and_grad(x)
        updates, state = opt.update(grad, state, x, value=value)
        x_new = x + updates
        ratios.append(np.linalg.norm(x_new) / np.linalg.norm(x))
        x = x_new
    return float(np.exp(np.mean(np.log(ratios))))


QUADRATIC_CONTRACTION = Check(
    key=f"{PAPER}/quadratic-contraction",
    statement="On f = L/2 |x - x*|^2, NGN contracts the error by exactly 1/(1 + sigma L) per step, "
              "for every sigma > 0 (F1: linear convergence at any sigma).",
    source=f"{SOURCE} (derived, F1)",
    symbolic=lambda p: float(ngn_forms.ngn_quadratic_contraction().evaluate(
        {"sigma": p["sigma_L"] / p["L"], "L": p["L"]})["contraction"]),
    numeric=_f1_numeric,
    points=[{"L": L, "sigma_L": s} for L in (0.5, 3.0) for s in (1e-3, 1e-1, 1.0, 10.0, 1e3)],
    # x - gamma L x cancels: the computed ratio 1 - gamma L has relative error ~ eps * sigma L
    tolerance=Exact(rtol=4e3 * EPS),
)


def _lower_attained_numeric(point, ctx):
    L = point["L"]
    sigma = point["sigma_L"] / L
    rng = np.random.default_rng(ctx.seed_sequence())
    x = rng.normal(size=(256, 3)) * np.logspace(-3, 3, 256)[:, None]
    value, grad = _quadratic(L).value_and_grad(x)
    opt = optim.ngn(sigma)
    _, state = opt.update(grad, opt.init(x), x, value=value)
    lower = float(ngn_forms.ngn_stepsize_bounds().evaluate({"sigma": sigma, "L": L})["lower"])
    worst = np.argmax(np.abs(state.stepsize - lower))
    return float(state.stepsize[worst])


LOWER_BOUND_ATTAINED = Check(
    key=f"{PAPER}/lower-bound-attained",
    statement="The lower bound sigma/(1+sigma L) of N1 is attained by f = L/2 |x|^2 at every x != 0.",
    source=f"{SOURCE}, remark after Lemma 4.9 (unconfirmed wording)",
    symbolic=lambda p: float(ngn_forms.ngn_stepsize_bounds().evaluate(
        {"sigma": p["sigma_L"] / p["L"], "L": p["L"]})["lower"]),
    numeric=_lower_attained_numeric,
    points=[{"L": L, "sigma_L": s} for L in (0.5, 3.0) for s in (1e-3, 1.0, 1e3)],
    tolerance=Exact(rtol=8 * EPS),
)


# ------------------------------------------------------------------------------ F2
def _kaczmarz_numeric(point, ctx):
    prob = problem("least-squares")
    sigma = point["sigma_L"] / prob.smoothness
    relax = compile_kernel(ngn_forms.ngn_least_squares_stepsize(), ctx.backend)
    y = prob.minimizer
    n_paths, n_steps = 16, 200
    idx = optim.sample_indices(ctx.seed_sequence(), n_paths, n_steps, 1, prob.n_samples)[..., 0]
    x = np.broadcast_to(_start(prob, 3), (n_paths, prob.dim)).copy()
    scale = float(np.max(np.sum((x - y) ** 2, axis=-1)))
    opt = optim.ngn(sigma)
    state = opt.init(x)
    worst = 0.0
    for k in range(n_steps):
        i = idx[k]
        value, grad = prob.value_and_grad(x, i)
        updates, state = opt.update(grad, state, x, value=value)
        x_new = x + updates
        a = prob.A[i]
        a_sq = np.sum(a * a, axis=-1)
        omega = to_numpy(relax(a_sq, sigma)["relaxation"])
        residual = np.sum(a * x, axis=-1) - prob.b[i]
        predicted = np.sum((x - y) ** 2, -1) - omega * (2 - omega) * residual ** 2 / a_sq
        worst = max(worst, float(np.max(np.abs(np.sum((x_new - y) ** 2, -1) - predicted))) / scale)
        x = x_new
    return worst


KACZMARZ = Check(
    key=f"{PAPER}/kaczmarz",
    statement="On least squares NGN is randomized Kaczmarz relaxed by omega_i = sigma |a_i|^2/(1+sigma "
              "|a_i|^2): |x+ - y|^2 = |x - y|^2 - omega_i (2 - omega_i) r_i^2/|a_i|^2 for every "
              "solution y of a consistent system (F2), for sigma up to the exact-Kaczmarz limit.",
    source=f"{SOURCE} (derived, F2)",
    symbolic=lambda point: 0.0,
    numeric=_kaczmarz_numeric,
    points=[{"sigma_L": s} for s in (1e-2, 1.0, 1e2, 1e8)],
    tolerance=Exact(rtol=0.0, atol=1e3 * EPS),
)


# ------------------------------------------------------------------------------ F3
F3_L, F3_C = 2.0, 0.5


def _offset_map(sigma):
    prob = OffsetQuadratic([F3_L], np.zeros((1, 1)), [F3_C])
    opt = optim.ngn(sigma)

    def T(x):
        x = np.atleast_1d(np.asarray(x, dtype=float))[:, None]
        value, grad = prob.value_and_grad(x)
        updates, _ = opt.update(grad, opt.init(x), x, value=value)
        return (x + updates)[:, 0]
    return T


def _cycle_symbolic(point):
    sigma = point["sigma_L"] / F3_L
    forms = ngn_forms.ngn_offset_quadratic()
    if point["sigma_L"] <= 2:
        return 0.0   # |T'(0)| = |1 - sigma L| < 1: the minimiser attracts
    return float(forms.evaluate({"x": 0, "sigma": sigma, "L": F3_L, "c": F3_C})["cycle_amplitude"])


def _cycle_numeric(point, ctx):
    T = _offset_map(point["sigma_L"] / F3_L)
    x = np.array([1.3])
    for _ in range(4000):
        x = T(x)
    return float(abs(x[0]))


OFFSET_CYCLE = Check(
    key=f"{PAPER}/offset-quadratic-cycle",
    statement="Deterministic NGN on f = L/2 x^2 + c (c > 0) converges to the minimiser for sigma L < 2 "
              "and to the stable 2-cycle +-sqrt(2c(sigma L - 2)/(L(sigma L + 2))) for sigma L > 2 (F3).",
    source=f"{SOURCE} (derived, F3)",
    symbolic=_cycle_symbolic,
    numeric=_cycle_numeric,
    points=[{"sigma_L": s} for s in (0.5, 1.9, 2.5, 3.0, 5.0, 20.0)],
    tolerance=Exact(rtol=1e-12, atol=1e-12),
)


def _derivative(fun, x, h):
    """Central difference with one Richardson step: error O(h^4)."""
    d1 = (fun(x + h) - fun(x - h)) / (2 * h)
    d2 = (fun(x + h / 2) - fun(x - h / 2)) / h
    return (4 * d2 - d1) / 3


def _multiplier_symbolic(point):
    sigma = point["sigma_L"] / F3_L
    values = ngn_forms.ngn_offset_quadratic().evaluate({"x": 0, "sigma": sigma, "L": F3_L, "c": F3_C})
    key = "fixed_point_multiplier" if point["orbit"] == "fixed-point" else "cycle_multiplier"
    return float(values[key])


def _multiplier_numeric(point, ctx):
    T = _offset_map(point["sigma_L"] / F3_L)
    if point["orbit"] == "fixed-point":
        return float(_derivative(T, np.array([0.0]), 1e-3)[0])
    xc = _cycle_symbolic(point)
    return float(_derivative(lambda x: T(T(x)), np.array([xc]), 1e-3 * xc)[0])


OFFSET_MULTIPLIERS = Check(
    key=f"{PAPER}/offset-quadratic-multipliers",
    statement="On f = L/2 x^2 + c the minimiser's multiplier is 1 - sigma L (stability lost at "
              "sigma L = 2) and the 2-cycle's Floquet multiplier is (1 - 8/(sigma L)^2)^2 < 1 (F3).",
    source=f"{SOURCE} (derived, F3)",
    symbolic=_multiplier_symbolic,
    numeric=_multiplier_numeric,
    points=([{"orbit": "fixed-point", "sigma_L": s} for s in (0.5, 1.9, 2.1, 5.0)]
            + [{"orbit": "2-cycle", "sigma_L": s} for s in (2.5, 3.0, 5.0, 20.0)]),
    tolerance=Exact(rtol=1e-8, atol=1e-8),   # Richardson central differences, truncation O(h^4)
)


# ------------------------------------------------------------------------------ O(sigma) neighbourhood
NEIGHBOURHOOD_SIGMAS = (0.01, 0.02, 0.04, 0.08)


@functools.lru_cache(maxsize=4)
def _neighbourhood_problem():
    angles = np.pi * np.arange(8) / 8
    A = np.column_stack([np.cos(angles), np.sin(angles)])            # |a_i| = 1, A^T A / N = I/2
    b = A @ np.array([0.3, -0.7]) + np.array([0.5, -0.4, 0.3, -0.6, 0.2, 0.45, -0.35, 0.1])
    return LeastSquares(A, b)


def _neighbourhood_numeric(point, ctx):
    prob = _neighbourhood_problem()
    n_paths, n_steps, burn_in = 128, 3000, 1000
    sigma = np.repeat(NEIGHBOURHOOD_SIGMAS, n_paths)
    traj = optim.run(optim.ngn(sigma), prob, prob.minimizer, n_steps=n_steps, n_paths=sigma.size,
                     batch_size=1, seed=ctx.seed_sequence(), record_every=5)
    window = traj.record_steps >= burn_in
    per_path = traj.losses[window].mean(axis=0) - prob.f_star       # time average per path
    estimates = [mean_estimate(per_path[j * n_paths:(j + 1) * n_paths])
                 for j in range(len(NEIGHBOURHOOD_SIGMAS))]
    values = np.array([e.value for e in estimates])
    errors = np.array([e.stderr for e in estimates]) / values        # stderr of the log
    return fit_slope(np.log(NEIGHBOURHOOD_SIGMAS), np.log(values), errors)


NEIGHBOURHOOD_ORDER = Check(
    key=f"{PAPER}/neighbourhood-order",
    statement="With sigma_int > 0 the stationary neighbourhood E[f(x_k) - f*] of constant-sigma NGN "
              "shrinks like O(sigma) as sigma -> 0 (N5's neighbourhood term): fitted log-log slope 1.",
    source=f"{SOURCE} (N5 consequence)",
    symbolic=lambda point: 1.0,
    numeric=_neighbourhood_numeric,
    points=[{"problem": "least-squares (8 unit rows, noisy)", "sigma": list(NEIGHBOURHOOD_SIGMAS)}],
    # slack: 4 standard errors of the slope are ~0.05 at this size, and the O(sigma^2) term of
    # gamma = sigma/(1+sigma) bends the slope by up to ~0.05 over this range
    tolerance=Order(slack=0.15),
)


CHECKS = [
    LM_IDENTITY, STEPSIZE_BOUNDS, BOUNDED_STEPS, KEY_INEQUALITY, DECOMPOSITION, DECOMPOSITION_RANGE,
    CONVEX_RATE, DECREASING_RATE, NEVER_DIVERGES, QUADRATIC_CONTRACTION, LOWER_BOUND_ATTAINED,
    KACZMARZ, OFFSET_CYCLE, OFFSET_MULTIPLIERS, NEIGHBOURHOOD_ORDER,
]
