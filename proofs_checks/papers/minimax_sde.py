"""Checks for arXiv:2402.12508, "SDEs for minimax optimization" (Monzio Compagnoni, Orvieto,
Kersting, Proske, Lucchi; AISTATS 2024).

Three exact references meet the Monte Carlo here: the SDE coefficients derived by
:mod:`lemmata.analysis.sde` from the update rules, the exact second-moment recursions of the discrete
algorithms on linear games (S_{k+1} = G S G^T + eta^2 sigma^2 N N^T) and of the Euler-Maruyama
scheme (which gives the declared discretisation bias of each SDE Monte Carlo check exactly), and
the closed forms of the linear SDEs.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp
from scipy.linalg import expm, solve_continuous_lyapunov
from scipy.optimize import minimize_scalar

from lemmata.analysis import sde as S
from lemmata.analysis.errors import LemmataError
from lemmata.numerics.convergence import order_from_errors, weak_order
from lemmata.numerics.sde import simulate, simulate_discrete
from lemmata.numerics.stats import Estimate

from . import sde_numerics

from ..check import Bound, Check, Exact, MonteCarlo, Order

PAPER = "2402.12508"
SOURCE = "arXiv:2402.12508"
EPS = float(np.finfo(float).eps)
BUILDERS = {"sgda": S.sgda, "seg": S.seg, "shgd": S.shgd}


@functools.lru_cache(maxsize=32)
def _game_sde(algorithm: str, d: int, order: int = 1, noise: str = "additive"):
    f, x, y, a, lam = S.quadratic_game(d)
    return BUILDERS[algorithm](f, x, y, order=order, noise=noise), a, lam


def _M(a, lam, d):
    """F = M z on the quadratic game, z = (x_1..x_d, y_1..y_d)."""
    eye = np.eye(d)
    return np.block([[a * eye, lam * eye], [-lam * eye, a * eye]])


def _numeric(sde, values):
    """Drift matrix K (drift = K z) and Q = D D^T at parameter values."""
    K, _, Q = S.linear_structure(sde)
    at = {s: values[s.name] for s in sde.params if s.name in values}
    return (np.array(K.subs(at).evalf(), dtype=float), np.array(Q.subs(at).evalf(), dtype=float))


# ------------------------------------------------------------------------------ coefficients
def _coefficients_numeric(point, ctx):
    """Largest gap between the derived drift matrix / covariance and the brief's formulas:
    SGDA b = -M z, Sigma = sigma^2 I; SEG b = -(M - rho M^2) z, Sigma = sigma^2 (I - rho M)(I - rho M)^T;
    SHGD b = -M^T M z, Sigma = sigma^2 M^T M."""
    d = point["d"]
    sde, a, lam = _game_sde(point["algorithm"], d)
    values = {"a": point["a"], "lam": point["lam"], "rho": point["rho"], "sigma": 0.7, "eta": 0.01}
    K, Q = _numeric(sde, values)
    M = _M(point["a"], point["lam"], d)
    I = np.eye(2 * d)
    expected_K = {"sgda": -M, "seg": -(M - values["rho"] * M @ M), "shgd": -M.T @ M}[point["algorithm"]]
    N = {"sgda": I, "seg": I - values["rho"] * M, "shgd": M.T}[point["algorithm"]]
    expected_Q = values["eta"] * values["sigma"] ** 2 * N @ N.T
    return float(max(np.abs(K - expected_K).max(), np.abs(Q - expected_Q).max()))


COEFFICIENTS = Check(
    key=f"{PAPER}/sde-coefficients",
    statement="Matching one-step moments of SGDA, SEG (same noise in both calls) and SHGD on the quadratic "
              "game gives drift -F, -(M - rho M^2) z, -grad H and covariance sigma^2 I, "
              "sigma^2 (I - rho M)(I - rho M)^T, sigma^2 M^T M (exact for every rho).",
    source=f"{SOURCE}, the SDE models (derived; official code)",
    symbolic=lambda point: 0.0,
    numeric=_coefficients_numeric,
    points=[{"algorithm": alg, "d": d, "a": a, "lam": lam, "rho": rho}
            for alg in ("sgda", "seg", "shgd") for d in (1, 2) for (a, lam) in ((2.0, 1.0), (-1.0, 2.0))
            for rho in ((0.3,) if alg == "seg" else (0.0,))],
    tolerance=Exact(rtol=0.0, atol=64 * EPS),
)


def _regulariser_numeric(point, ctx):
    """For a non-linear game, the coefficient of rho in SEG's drift (series of the exact update)
    equals +grad F . F at random points; grad H = grad F^T F differs from it."""
    x, y = sp.symbols("x y", real=True)
    phi = lambda z: z ** 2 / 4 - z ** 4 / 2 + z ** 6 / 6  # noqa: E731
    f = x * (y - sp.Rational(45, 100)) + phi(x) - phi(y)
    sde = S.seg(f, x, y, rho_order=1)
    rho = sp.Symbol("rho", positive=True)
    linear = sde.drift.applyfunc(lambda e: sp.expand(e).coeff(rho, 1))
    F = sp.Matrix([sp.diff(f, x), -sp.diff(f, y)])
    expected = F.jacobian([x, y]) * F
    rng = np.random.default_rng(ctx.seed_sequence())
    worst = 0.0
    for _ in range(5):
        at = {x: float(rng.uniform(-1, 1)), y: float(rng.uniform(-1, 1))}
        gap = (linear - expected).subs(at).evalf()
        worst = max(worst, float(max(abs(g) for g in gap)))
    return worst


REGULARISER = Check(
    key=f"{PAPER}/seg-implicit-regulariser",
    statement="On a non-linear game the SEG drift is -F + rho grad F . F + O(rho^2): the implicit "
              "regulariser is the Jacobian times F, not grad H = grad F^T F.",
    source=f"{SOURCE}, implicit regularisation (derived)",
    symbolic=lambda point: 0.0,
    numeric=_regulariser_numeric,
    points=[{"game": "x(y - 0.45) + phi1(x) - phi1(y)"}],
    tolerance=Exact(rtol=0.0, atol=1e-12),
)


# ------------------------------------------------------------------------------ stationary laws
def _stationary_symbolic(point):
    a, lam, rho, eta, sigma = point["a"], point["lam"], point["rho"], 0.01, 1.0
    if point["algorithm"] == "shgd":
        return eta * sigma ** 2 / 2
    kappa = a + rho * (lam ** 2 - a ** 2)
    return eta * sigma ** 2 * ((1 - rho * a) ** 2 + rho ** 2 * lam ** 2) / (2 * kappa)


def _stationary_numeric(point, ctx):
    """P_inf from the Lyapunov equation K P + P K^T + Q = 0 (SciPy) on the derived K, Q; it must be
    a multiple of I: returns its diagonal entry (after checking the off-diagonal vanishes)."""
    sde, _, _ = _game_sde(point["algorithm"], 2)
    K, Q = _numeric(sde, {"a": point["a"], "lam": point["lam"], "rho": point["rho"], "sigma": 1.0,
                          "eta": 0.01})
    P = solve_continuous_lyapunov(K, -Q)
    if np.abs(P - P[0, 0] * np.eye(4)).max() > 1e-12 * abs(P[0, 0]):
        return float("nan")
    return float(P[0, 0])


STATIONARY = Check(
    key=f"{PAPER}/stationary-covariance",
    statement="On the quadratic game (d = 2) the SEG SDE has the stationary law N(0, P) with P = eta sigma^2 "
              "[(1 - rho a)^2 + rho^2 lam^2]/(2 kappa) I, kappa = a + rho(lam^2 - a^2) > 0, and SHGD has "
              "P = eta sigma^2 / 2 I whatever the game.",
    source=f"{SOURCE}, quadratic game (unconfirmed wording)",
    symbolic=_stationary_symbolic,
    numeric=_stationary_numeric,
    points=[{"algorithm": alg, "a": a, "lam": lam, "rho": rho}
            for (a, lam) in ((3.0, 1.0), (2.0, 1.0)) for alg, rho in (("seg", 0.0), ("seg", 0.2), ("shgd", 0.0))],
    tolerance=Exact(rtol=1e-12),
)


def _rho_symbolic(point):
    forms = S.extra_step_sizes()
    value = forms[point["quantity"]].subs({sp.Symbol("a", real=True): point["a"],
                                           sp.Symbol("lam", real=True): point["lam"]})
    return float(value)


def _rho_numeric(point, ctx):
    a, lam = point["a"], point["lam"]
    kappa = lambda r: a + r * (lam ** 2 - a ** 2)  # noqa: E731
    if point["quantity"] == "rho_V":
        # minimise V over the rho with kappa > 0 (bounded, golden-section + parabolic)
        upper = a / (a ** 2 - lam ** 2) if a ** 2 > lam ** 2 else 50.0
        V = lambda r: ((1 - r * a) ** 2 + r ** 2 * lam ** 2) / kappa(r)  # noqa: E731
        res = minimize_scalar(V, bounds=(0.0, upper * (1 - 1e-9)), method="bounded",
                              options={"xatol": 1e-12})
        return float(res.x)
    # rho_H: the root of kappa(rho) = a^2 + lam^2 by bisection
    lo, hi = -100.0, 100.0
    g = lambda r: kappa(r) - (a ** 2 + lam ** 2)  # noqa: E731
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if g(lo) * g(mid) > 0 else (lo, mid)
    return (lo + hi) / 2


EXTRA_STEPS = Check(
    key=f"{PAPER}/extra-step-sizes",
    statement="SEG's stationary variance V(rho) = [(1 - rho a)^2 + rho^2 lam^2]/kappa(rho) is minimised at "
              "rho^V = 1/(a + lam) (where kappa = lam), and rho^H = (a^2 + lam^2 - a)/(lam^2 - a^2) gives SHGD's "
              "rate kappa = a^2 + lam^2: a speed/accuracy trade-off (numerical minimiser and root vs the "
              "derived forms).",
    source=f"{SOURCE}, special extra-step sizes (unconfirmed wording)",
    symbolic=_rho_symbolic,
    numeric=_rho_numeric,
    points=[{"a": a, "lam": lam, "quantity": q} for (a, lam) in ((0.5, 2.0), (1.0, 3.0), (-1.0, 2.0))
            for q in ("rho_V", "rho_H")],
    tolerance=Exact(rtol=1e-7),
)


# ------------------------------------------------------------------------------ Monte Carlo
FIG1 = {"a": 2.0, "lam": 1.0, "eta": 0.01, "sigma": 1.0}


def _em_exact_norm(K, Q, z0, dt, n_steps):
    """E|Z|^2 of the Euler-Maruyama scheme Z+ = (I + K dt) Z + sqrt(dt) D xi, exactly."""
    A = np.eye(K.shape[0]) + K * dt
    P = np.outer(z0, z0)
    for _ in range(n_steps):
        P = A @ P @ A.T + Q * dt
    return float(np.trace(P))


def _sde_closed_norm(K, Q, z0, t):
    """E|Z_t|^2 of the linear SDE, from the matrix exponential of the moment equation."""
    d = K.shape[0]
    A = np.kron(np.eye(d), K) + np.kron(K, np.eye(d))
    P0 = np.outer(z0, z0).reshape(-1)
    E = expm(A * t)
    vecP = E @ P0 + np.linalg.solve(A, (E - np.eye(d * d)) @ Q.reshape(-1))
    return float(np.trace(vecP.reshape(d, d)))


def _sde_mc_symbolic(point):
    sde, _, _ = _game_sde(point["algorithm"], 1)
    K, Q = _numeric(sde, {**FIG1, "rho": point["rho"]})
    return _sde_closed_norm(K, Q, np.array([1.0, 1.0]), point["t"])


def _sde_mc_numeric(point, ctx):
    sde, _, _ = _game_sde(point["algorithm"], 1)
    dt = FIG1["eta"] / 9
    result = simulate(sde, [1.0, 1.0], t1=point["t"], dt=dt, n_paths=20_000, seed=ctx.seed_sequence(),
                      params={k: v for k, v in {**FIG1, "rho": point["rho"]}.items()
                              if k in {s.name for s in sde.params}})
    return Estimate(float(result.norm_sq[-1]), float(result.norm_sq_stderr[-1]), result.n_paths,
                    result.n_diverged)


def _em_bias(point):
    sde, _, _ = _game_sde(point["algorithm"], 1)
    K, Q = _numeric(sde, {**FIG1, "rho": point["rho"]})
    dt = FIG1["eta"] / 9
    n = int(round(point["t"] / dt))
    return abs(_em_exact_norm(K, Q, np.array([1.0, 1.0]), dt, n) - _sde_closed_norm(K, Q, np.array([1.0, 1.0]), point["t"]))


def _sde_mc_check():
    points = [{"algorithm": alg, "rho": rho, "t": t} for alg, rho in
              (("sgda", 0.0), ("seg", 0.01), ("seg", round(1 / 3, 2)), ("shgd", 0.0)) for t in (0.5, 2.0)]
    bias = max(_em_bias(p) for p in points)
    return Check(
        key=f"{PAPER}/sde-monte-carlo",
        statement="Euler-Maruyama Monte Carlo of the SGDA, SEG and SHGD SDEs (20,000 paths, dt = eta/9) on "
                  "the quadratic game of Fig. 1 matches E|Z_t|^2 of the linear-SDE closed form within "
                  "4 sigma plus the scheme's exact bias.",
        source=f"{SOURCE}, Fig. 1 settings (a = 2, lam = 1, eta = 0.01, sigma = 1, z0 = (1, 1))",
        symbolic=_sde_mc_symbolic,
        numeric=_sde_mc_numeric,
        points=points,
        tolerance=MonteCarlo(n_sigma=4.0, bias=bias),
    )


def _discrete_exact(algorithm, rho, z0, n_steps, values):
    a, lam, eta, sigma = values["a"], values["lam"], values["eta"], values["sigma"]
    M = _M(a, lam, len(z0) // 2)
    I = np.eye(len(z0))
    G, N = {"sgda": (I - eta * M, I), "seg": (I - eta * (M - rho * M @ M), I - rho * M),
            "shgd": (I - eta * M.T @ M, M.T)}[algorithm]
    P = np.outer(z0, z0)
    for _ in range(n_steps):
        P = G @ P @ G.T + eta ** 2 * sigma ** 2 * N @ N.T
    return float(np.trace(P))


def _discrete_symbolic(point):
    return _discrete_exact(point["algorithm"], point["rho"], np.array([1.0, 1.0]), point["k"], FIG1)


def _discrete_numeric(point, ctx):
    sde, _, _ = _game_sde(point["algorithm"], 1)
    values = {k: v for k, v in {**FIG1, "rho": point["rho"]}.items() if k in {s.name for s in sde.params}}
    result = simulate_discrete(sde, [1.0, 1.0], n_steps=point["k"], n_paths=20_000, seed=ctx.seed_sequence(),
                               params=values)
    return Estimate(float(result.norm_sq[-1]), float(result.norm_sq_stderr[-1]), result.n_paths,
                    result.n_diverged)


DISCRETE_MC = Check(
    key=f"{PAPER}/discrete-monte-carlo",
    statement="Monte Carlo of the discrete SGDA, SEG and SHGD with their noisy oracles matches the exact "
              "second-moment recursion S_{k+1} = G S G^T + eta^2 sigma^2 N N^T on the quadratic game (4 sigma).",
    source=f"{SOURCE}, discrete algorithms (derived)",
    symbolic=_discrete_symbolic,
    numeric=_discrete_numeric,
    points=[{"algorithm": alg, "rho": rho, "k": k} for alg, rho in (("sgda", 0.0), ("seg", 0.33), ("shgd", 0.0))
            for k in (50, 200)],
    tolerance=MonteCarlo(n_sigma=4.0),
)


# ------------------------------------------------------------------------------ weak order
ETAS = (0.04, 0.02, 0.01, 0.005)


def _weak_numeric(point, ctx):
    """Fitted slope of log |E g(z_{T/eta}) - E g(Z_T)| against log eta, both sides exact: the
    discrete moment recursion and the closed form of the SDE (order 1: g = |z|^2; order 2: the
    mean, with the O(eta)-corrected drift)."""
    T, rho = 1.0, point["rho"]
    errors = []
    for eta in ETAS:
        values = {**FIG1, "eta": eta, "rho": rho}
        n = int(round(T / eta))
        if point["order"] == 1:
            sde, _, _ = _game_sde(point["algorithm"], 1, 1)
            K, Q = _numeric(sde, values)
            exact = _discrete_exact(point["algorithm"], rho, np.array([1.0, 1.0]), n, values)
            errors.append(abs(exact - _sde_closed_norm(K, Q, np.array([1.0, 1.0]), T)))
        else:
            sde, _, _ = _game_sde(point["algorithm"], 1, 2)
            K, _ = _numeric(sde, values)
            M = _M(values["a"], values["lam"], 1)
            G = {"sgda": np.eye(2) - eta * M, "seg": np.eye(2) - eta * (M - rho * M @ M)}[point["algorithm"]]
            discrete = np.linalg.matrix_power(G, n) @ np.array([1.0, 1.0])
            errors.append(float(np.linalg.norm(discrete - expm(K * T) @ np.array([1.0, 1.0]))))
    fitted = order_from_errors(ETAS, errors, expected=point["order"], kind="weak",
                               reference="exact discrete recursion vs SDE closed form")
    return Estimate(fitted.order, fitted.order_stderr, len(ETAS))


WEAK_ORDER = Check(
    key=f"{PAPER}/weak-order",
    statement="The first-order SDEs are weak order 1 (fitted slope of the error in E|z|^2 at fixed T "
              "against eta is 1), and the O(eta)-corrected drift raises the order of the mean to 2.",
    source=f"{SOURCE}, weak approximation (Li-Tai-E definition; unconfirmed wording)",
    symbolic=lambda point: float(point["order"]),
    numeric=_weak_numeric,
    points=[{"algorithm": alg, "rho": rho, "order": order} for alg, rho in (("sgda", 0.0), ("seg", 0.3))
            for order in (1, 2)],
    tolerance=Order(slack=0.2),
)


def _bilinear_sgda_numeric(point, ctx):
    """log10 of (error of the first-order SDE) / (error of the order-2 SDE) for E|z|^2 of discrete
    SGDA on f = lam x y after k steps (t = k eta); positive: the order-2 drift is closer."""
    lam, sigma, eta, k = 1.0, 0.5, point["eta"], point["k"]
    m0 = 2.0
    discrete = (1 + eta ** 2 * lam ** 2) ** k * (m0 + 2 * sigma ** 2 / lam ** 2) - 2 * sigma ** 2 / lam ** 2
    t = k * eta
    x, y, L = sp.symbols("x y lam", real=True)
    first = S.norm_second_moment(S.sgda(L * x * y, x, y), z0=m0)[0]
    second = S.norm_second_moment(S.sgda(L * x * y, x, y, order=2), z0=m0)[0]
    at = {L: lam, sp.Symbol("sigma", positive=True): sigma, sp.Symbol("eta", positive=True): eta,
          sp.Symbol("t", nonnegative=True): t}
    err1 = abs(float(first.subs(at)) - discrete)
    err2 = abs(float(second.subs(at)) - discrete)
    return math.log10(err1 / err2)


BILINEAR_SGDA = Check(
    key=f"{PAPER}/order-two-drift-sgda-divergence",
    statement="On the bilinear game discrete SGDA grows geometrically, E|z_k|^2 = (1+eta^2 lam^2)^k "
              "(m0 + 2 sigma^2/lam^2) - 2 sigma^2/lam^2: the O(eta)-corrected SDE reproduces it (error at "
              "least 10x smaller than the first-order SDE's linear growth).",
    source=f"{SOURCE}, second-order drift (derived)",
    symbolic=lambda point: 1.0,
    numeric=_bilinear_sgda_numeric,
    points=[{"eta": eta, "k": k} for eta in (0.05, 0.1) for k in (200, 1000)],
    tolerance=Bound("lower", n_sigma=0),
)


# ------------------------------------------------------------------------------ schedules
def _schedule_symbolic(point):
    d = S.schedule_solution(sp.nsimplify(point["alpha"]))
    t, k, c, b = d.symbols
    return float(sp.N(d["u"].subs({t: point["t"], k: point["k"], c: 0.3, b: 1.0}), 20))


def _schedule_numeric(point, ctx):
    alpha, k = point["alpha"], point["k"]
    rhs = lambda t, u: -k * u / (1 + t) ** alpha + 0.3 / (1 + t) ** (2 * alpha)  # noqa: E731
    sol = solve_ivp(rhs, (0.0, point["t"]), [1.0], rtol=1e-12, atol=1e-14, method="DOP853")
    return float(sol.y[0, -1])


SCHEDULES = Check(
    key=f"{PAPER}/schedules",
    statement="The decaying schedules eta/(1+t)^alpha give u' = -k u/(1+t)^alpha + c/(1+t)^(2 alpha); the "
              "closed forms (alpha = 0, 1, and 1/2 with the exponential integral) match a high-accuracy "
              "numerical integration of the ODE.",
    source=f"{SOURCE}, schedulers (derived; official code)",
    symbolic=_schedule_symbolic,
    numeric=_schedule_numeric,
    points=[{"alpha": al, "k": k, "t": t} for al in (0.0, 0.5, 1.0) for k in (0.5, 2.5) for t in (1.0, 20.0)],
    tolerance=Exact(rtol=1e-8),
)


def _window_symbolic(point):
    d = S.multiplicative_window()
    lam, eta, sigma, rho = d.params
    rate = d["seg_rate"].subs({lam: 2, eta: sp.Rational(1, 100), sigma: 1, rho: sp.nsimplify(point["rho"])})
    return 1.0 if rate > 0 else -1.0


def _window_numeric(point, ctx):
    """+1 when Monte Carlo of the discrete multiplicative-noise SEG shrinks E|z|^2 over 400 steps by
    more than 4 standard errors, -1 when it grows by more than 4."""
    x, y, lam = sp.symbols("x y lam", real=True)
    sde = S.seg(lam * x * y, x, y, noise="multiplicative")
    try:
        result = simulate_discrete(sde, [0.1, 0.1], n_steps=400, n_paths=4000, seed=ctx.seed_sequence(),
                                   params={"eta": 0.01, "rho": point["rho"], "sigma": 1.0, "lam": 2.0})
    except LemmataError:            # every path left the ball of radius 1e12: mean-square blow-up
        return -1.0
    final, se = result.norm_sq[-1], result.norm_sq_stderr[-1]
    if final + 4 * se < 0.02:
        return 1.0
    if final - 4 * se > 0.02:
        return -1.0
    return 0.0


WINDOW = Check(
    key=f"{PAPER}/multiplicative-window",
    statement="With multiplicative noise on the bilinear game, SEG converges in mean square iff "
              "2 rho lam^2 > eta sigma^2 (1 + rho^2 (2 lam^2 + sigma^2)): a bounded window in rho "
              "(lam = 2, eta = 0.01, sigma = 1; discrete Monte Carlo inside and outside the window).",
    source=f"{SOURCE}, multiplicative noise (derived; official code)",
    symbolic=_window_symbolic,
    numeric=_window_numeric,
    points=[{"rho": rho} for rho in (0.0002, 0.5, 2.0, 300.0)],
    tolerance=Exact(rtol=0.0, atol=0.0),
)

def _window_discrete_symbolic(point):
    d = S.seg_discrete_window()
    lam, eta, rho = d.params
    return float(d[point["root"]].subs({lam: point["lam"], eta: point["eta"]}))


def _window_discrete_numeric(point, ctx):
    """The rho where the spectral radius of G = I - eta (M - rho M^2) crosses 1, by bisection on
    NumPy eigenvalues, below (root rho_low) or above (rho_high) the minimiser of the radius."""
    lam, eta = point["lam"], point["eta"]
    M = np.array([[0.0, lam], [-lam, 0.0]])
    radius = lambda r: np.abs(np.linalg.eigvals(np.eye(2) - eta * (M - r * M @ M))).max()  # noqa: E731
    best = 1 / (eta * lam ** 2)                      # radius is smallest here
    lo, hi = (0.0, best) if point["root"] == "rho_low" else (best, 100 * best)
    inside_at_hi = point["root"] == "rho_low"
    for _ in range(200):
        mid = (lo + hi) / 2
        if (radius(mid) < 1) == inside_at_hi:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


SEG_WINDOW = Check(
    key=f"{PAPER}/seg-discrete-window",
    statement="Discrete SEG on the bilinear game contracts iff eta (1 + rho^2 lam^2) < 2 rho: rho between "
              "(1 -+ sqrt(1 - eta^2 lam^2))/(eta lam^2), ~(eta/2, 2/(eta lam^2)); the first-order SDE only "
              "needs rho > 0 (derived roots vs bisection on the spectral radius).",
    source=f"{SOURCE}, discrete vs SDE thresholds (derived)",
    symbolic=_window_discrete_symbolic,
    numeric=_window_discrete_numeric,
    points=[{"lam": lam, "eta": eta, "root": r} for lam, eta in ((1.0, 0.1), (2.0, 0.2)) for r in ("rho_low", "rho_high")],
    tolerance=Exact(rtol=1e-10),
)


SCHEDULE_SETTING = {"lam": 2.0, "eta": 0.01, "rho": 5.0, "sigma": 0.05}


def _schedule_mc_symbolic(point):
    v = SCHEDULE_SETTING
    k = 2 * v["rho"] * v["lam"] ** 2
    c = v["eta"] * v["sigma"] ** 2 * (1 + v["rho"] ** 2 * v["lam"] ** 2)
    d = S.schedule_solution(sp.nsimplify(point["alpha"]))
    ts, ks, cs, bs = d.symbols
    return float(sp.N(d["u"].subs({ts: point["t"], ks: k, cs: c, bs: 0.01}), 20))


def _schedule_em_bias(point, dt):
    """|u of the Euler-Maruyama scheme - closed form|: the scheme's exact recursion for the bilinear
    SEG SDE, m_{k+1} = ((1 - h_k rho lam^2)^2 + h_k^2 lam^2) m_k + q s_k^2 dt, h_k = s_k dt."""
    v = SCHEDULE_SETTING
    q = 2 * v["eta"] * v["sigma"] ** 2 * (1 + v["rho"] ** 2 * v["lam"] ** 2)       # tr D D^T
    m = 0.02
    for k in range(int(round(point["t"] / dt))):
        s = (1 + k * dt) ** (-point["alpha"])
        h = s * dt
        m = ((1 - h * v["rho"] * v["lam"] ** 2) ** 2 + h ** 2 * v["lam"] ** 2) * m + q * s * s * dt
    return abs(m / 2 - _schedule_mc_symbolic(point))


def _schedule_mc_numeric(point, ctx):
    x, y, lam = sp.symbols("x y lam", real=True)
    sde = S.seg(lam * x * y, x, y)
    dt = 1e-3
    r = simulate(sde, [0.1, 0.1], t1=point["t"], dt=dt, n_paths=20_000, seed=ctx.seed_sequence(),
                 params=SCHEDULE_SETTING, schedule=point["alpha"])
    return Estimate(float(r.norm_sq[-1] / 2), float(r.norm_sq_stderr[-1] / 2), r.n_paths, r.n_diverged)


def _schedule_mc_check():
    points = [{"alpha": al, "t": t} for al in (0.0, 0.5, 1.0) for t in (0.5, 3.0)]
    bias = max(_schedule_em_bias(p, 1e-3) for p in points)
    return Check(
        key=f"{PAPER}/schedules-monte-carlo",
        statement="Monte Carlo of the bilinear SEG SDE with the step-size schedule eta/(1+t)^alpha "
                  "(alpha = 0, 1/2, 1) matches the closed forms u(t) = E|Z_t|^2/2 within 4 sigma plus the "
                  "scheme's exact bias.",
        source=f"{SOURCE}, schedulers (Figs. 3 and 5 game; sigma raised to 0.05 for a visible floor)",
        symbolic=_schedule_mc_symbolic,
        numeric=_schedule_mc_numeric,
        points=points,
        tolerance=MonteCarlo(n_sigma=4.0, bias=bias),
    )


def _sde_weak_numeric(point, ctx):
    """The harness on the SEG SDE itself: Euler-Maruyama's weak error in E|Z_T|^2 against the linear
    SDE's closed form, every dt on the same Brownian paths."""
    sde, _, _ = _game_sde("seg", 1)
    values = {**FIG1, "rho": point["rho"], "eta": 0.25}
    K, Q = _numeric(sde, values)
    exact = _sde_closed_norm(K, Q, np.array([1.0, 1.0]), 1.0)
    x, y = sde.state
    r = weak_order(sde, x ** 2 + y ** 2, [1.0, 1.0], t1=1.0, dts=(1 / 4, 1 / 8, 1 / 16, 1 / 32), n_paths=100_000,
                   seed=ctx.seed_sequence(), method="euler", params=values, exact=exact)
    return Estimate(r.order, r.order_stderr, r.n_paths)


SDE_WEAK_ORDER = Check(
    key=f"{PAPER}/harness-seg-sde-euler-weak",
    statement="Euler-Maruyama on the SEG SDE of the quadratic game converges weakly at order 1 in E|Z_T|^2 "
              "(closed form of the linear SDE as the reference; slack 0.2).",
    source=f"{SOURCE}, Fig. 1 game (a = 2, lam = 1, sigma = 1; eta = 0.25 so the discretisation error "
           f"dominates the Monte Carlo noise)",
    symbolic=lambda point: 1.0,
    numeric=_sde_weak_numeric,
    points=[{"rho": 0.3}],
    tolerance=Order(slack=0.2),
)


CHECKS = [COEFFICIENTS, REGULARISER, STATIONARY, EXTRA_STEPS, _sde_mc_check(), DISCRETE_MC, WEAK_ORDER,
          BILINEAR_SGDA, SCHEDULES, _schedule_mc_check(), WINDOW, SEG_WINDOW, SDE_WEAK_ORDER,
          *sde_numerics.CHECKS]
