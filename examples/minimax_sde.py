"""SDEs for minimax optimisation (arXiv:2402.12508) at small scale: the discrete algorithms next to
their SDEs, with Monte Carlo error bars (E|z|^2/2 on a log scale, as in the paper's figures).

Panels: (1) Fig. 1: SEG on f = a/2 x^2 + lam x y - a/2 y^2 (a = 2, lam = 1, eta = 0.01, sigma = 1)
for several extra-step sizes rho, discrete (points) vs SDE (lines, Euler-Maruyama with dt = eta/9);
(2) Fig. 4 left: SGDA vs SEG at rho^V and rho^H vs SHGD on the quadratic game a = 3, lam = 1,
x, y in R^2, sigma = 0.1; (3) Figs. 3 and 5: the decaying-schedule closed forms for SEG and SHGD on
the bilinear game (lam = 2, eta = 0.01, rho = 5, sigma = 1e-3).

    python examples/minimax_sde.py --out out/minimax_sde        # PNG + CSV, well under two minutes
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

from lemmata.analysis import sde as S  # noqa: E402
from lemmata.numerics.sde import simulate, simulate_discrete  # noqa: E402


def _run_pair(builder, d, values, n_iter, n_paths, seed, z0, **kw):
    f, x, y, a, lam = S.quadratic_game(d)
    sde = builder(f, x, y, **kw)
    names = {s.name for s in sde.params}
    params = {k: v for k, v in values.items() if k in names}
    eta = values["eta"]
    save = max(1, n_iter // 20)
    disc = simulate_discrete(sde, z0, n_steps=n_iter, n_paths=n_paths, seed=seed, params=params,
                             save_every=save)
    cont = simulate(sde, z0, t1=n_iter * eta, dt=eta / 9, n_paths=n_paths, seed=seed + 1, params=params,
                    save_every=9 * save)
    return disc, cont


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/minimax_sde")
    parser.add_argument("--paths", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows = []
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.5))

    fig1 = {"a": 2.0, "lam": 1.0, "eta": 0.01, "sigma": 1.0}
    rho_v = 1 / (fig1["a"] + fig1["lam"])
    for label, rho in (("SGDA (rho = 0)", 0.0), ("rho = eta", 0.01), ("rho = sqrt(eta)", 0.1),
                       (f"rho^V = 1/(a+lam) = {rho_v:.2f}", rho_v)):
        disc, cont = _run_pair(S.seg, 1, {**fig1, "rho": rho}, 500, args.paths, args.seed, [1.0, 1.0])
        line, = axes[0].plot(cont.times / fig1["eta"], cont.norm_sq / 2, lw=1.2, label=label)
        axes[0].errorbar(disc.times / fig1["eta"], disc.norm_sq / 2, yerr=2 * disc.norm_sq_stderr / 2, fmt="o",
                         ms=3, color=line.get_color())
        rows += [{"panel": "fig1", "curve": label, "k": k, "discrete": dv, "sde": sv}
                 for k, dv, sv in zip(disc.times / fig1["eta"], disc.norm_sq / 2, cont.norm_sq / 2)]
    axes[0].set_yscale("log")
    axes[0].set_title("SEG, a = 2, lam = 1: discrete (points) vs SDE (lines)")

    fig4 = {"a": 3.0, "lam": 1.0, "eta": 0.01, "sigma": 0.1}
    extra = S.extra_step_sizes()
    at = {sp.Symbol("a", real=True): 3, sp.Symbol("lam", real=True): 1}
    rho_V, rho_H = float(extra["rho_V"].subs(at)), float(extra["rho_H"].subs(at))
    for label, builder, kw in (("SGDA", S.sgda, {}), (f"SEG rho^V = {rho_V:.3g}", S.seg, {"rho": rho_V}),
                               (f"SEG rho^H = {rho_H:.3g}", S.seg, {"rho": rho_H}), ("SHGD", S.shgd, {})):
        values = {**fig4, **kw}
        disc, cont = _run_pair(builder, 2, values, 1000, args.paths, args.seed, [1.0, 1.0, 1.0, 1.0])
        line, = axes[1].plot(cont.times / fig4["eta"], cont.norm_sq / 2, lw=1.2, label=label)
        axes[1].plot(disc.times / fig4["eta"], disc.norm_sq / 2, "o", ms=3, color=line.get_color())
        rows += [{"panel": "fig4", "curve": label, "k": k, "discrete": dv, "sde": sv}
                 for k, dv, sv in zip(disc.times / fig4["eta"], disc.norm_sq / 2, cont.norm_sq / 2)]
    axes[1].set_yscale("log")
    axes[1].set_title("quadratic game a = 3, lam = 1, x, y in R^2")

    lam, eta, rho, sigma, b = 2.0, 0.01, 5.0, 1e-3, 0.01        # u(0) = |z0|^2 / 2 with z0 = (0.1, 0.1)
    t = np.linspace(0, 2000 * eta, 400)
    for name, k, c in (("SEG", 2 * rho * lam ** 2, eta * sigma ** 2 * (1 + rho ** 2 * lam ** 2)),
                       ("SHGD", 2 * lam ** 2, eta * sigma ** 2 * lam ** 2)):
        for alpha in (0, 0.5, 1):
            d = S.schedule_solution(sp.nsimplify(alpha))
            ts, ks, cs, bs = d.symbols
            u = sp.lambdify(ts, d["u"].subs({ks: k, cs: c, bs: b}), "mpmath")
            values = [float(u(v)) for v in t]
            axes[2].plot(t / eta, values, label=f"{name}, p = {alpha}")
            rows += [{"panel": "schedules", "curve": f"{name} p={alpha}", "k": tv / eta, "discrete": "", "sde": v}
                     for tv, v in zip(t[::20], values[::20])]
    axes[2].set_yscale("log")
    axes[2].set_title("bilinear lam = 2: schedules eta/(1+t)^p (closed forms)")
    for ax in axes:
        ax.set_xlabel("iteration k")
        ax.set_ylabel("E|z|^2 / 2")
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "minimax_sde.png", dpi=110)
    plt.close(fig)
    with open(out / "minimax_sde.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out}/minimax_sde.png and .csv in {time.perf_counter() - start:.1f} s")
    return rows


if __name__ == "__main__":
    main()
