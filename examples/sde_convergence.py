"""Convergence orders of the SDE schemes, measured with error bars, and a work-precision diagram.

Panels: (1) strong error E|Y_T - Z_T| against dt for Euler-Maruyama, Milstein and the weak-2
scheme on geometric Brownian motion (exact path solution on the same Brownian path) and for SRA1
on the additive problem dX = -X/(1+t) dt + dW/(1+t) and on dX = -sin X dt + dW (finest level as the
reference); (2) weak error |E g(Y_T) - E g(Z_T)| for g = X^2 (GBM; control variate g of the exact
path) for Euler-Maruyama and the weak-2 scheme, and for SRA1 on the additive problem; (3) work
against precision for E X_T^2 of GBM (mu = 0.05, sigma = 0.2, T = 1): plain Monte Carlo with
Euler-Maruyama and with the weak-2 scheme, each at its best dt for the target, and multilevel
Monte Carlo: RMS error (exact scheme bias and the run's standard error) against wall time. Fitted orders with standard errors are in the legends and
in the CSV.

    python examples/sde_convergence.py --out out/sde_convergence     # PNG + CSV, under two minutes
"""

from __future__ import annotations

import argparse
import csv
import math
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from lemmata.numerics.convergence import mlmc, strong_order, weak_order  # noqa: E402
from lemmata.numerics.sde import simulate  # noqa: E402
from lemmata.numerics.sde_problems import get_problem  # noqa: E402

GILES = {"mu": 0.05, "s": 0.2}


def strong_runs(n_paths, seed):
    gbm, add, sin = get_problem("gbm"), get_problem("kp_additive_time"), get_problem("langevin_sin")
    dts = (1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128)
    runs = [(m, gbm, dts, gbm.exact_path) for m in ("euler", "milstein", "weak2")]
    runs += [("sra", add, (1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64), add.exact_path),
             ("sra", sin, (1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 512), None)]
    return [(m, p.name, strong_order(p.sde, p.z0, t1=p.t1, dts=d, n_paths=n_paths, seed=seed, method=m,
                                     params=p.params, exact=ex)) for m, p, d, ex in runs]


def weak_runs(n_paths, seed):
    gbm, add = get_problem("gbm"), get_problem("kp_additive_time")
    out = []
    for m, dts in (("euler", (1 / 8, 1 / 16, 1 / 32, 1 / 64)), ("weak2", (1 / 4, 1 / 8, 1 / 16, 1 / 32))):
        out.append((m, "gbm", weak_order(gbm.sde, gbm.expectations["x2"].g, gbm.z0, t1=1.0, dts=dts,
                                         n_paths=n_paths, seed=seed, method=m, params=gbm.params,
                                         exact_path=gbm.exact_path)))
    out.append(("sra", "kp_additive_time",
                weak_order(add.sde, add.expectations["x2"].g, add.z0, t1=1.0, dts=(1 / 2, 1 / 4, 1 / 8, 1 / 16),
                           n_paths=n_paths, seed=seed, method="sra", exact_path=add.exact_path)))
    return out


def scheme_second_moment(method, n, mu=GILES["mu"], s=GILES["s"]):
    """E Y_n^2 of the scheme on GBM exactly: Y+ = Y (c0 + c1 xi + c2 xi^2) with xi ~ N(0, 1), so
    E Y_n^2 = [(c0 + c2)^2 + c1^2 + 2 c2^2]^n (Gaussian moments)."""
    h = 1.0 / n
    if method == "euler":
        c0, c1, c2 = 1 + mu * h, s * math.sqrt(h), 0.0
    else:
        c0, c1, c2 = 1 + mu * h + mu ** 2 * h ** 2 / 2 - s ** 2 * h / 2, (s + mu * s * h) * math.sqrt(h), s ** 2 * h / 2
    return ((c0 + c2) ** 2 + c1 ** 2 + 2 * c2 ** 2) ** n


def steps_for(method, target, exact):
    """The fewest steps whose exact bias |E Y_n^2 - E X_T^2| is at most target / 2."""
    n = 1
    while abs(scheme_second_moment(method, n) - exact) > target / 2:
        n += 1
    return n


def work_precision_runs(targets, seed):
    """For each target error: plain MC with Euler-Maruyama and with weak-2 (the fewest steps whose exact
    bias is <= target/2, and paths so that 2 stderr <= target/2), and MLMC to RMS error target/2."""
    p = get_problem("gbm")
    g = p.expectations["x2"].g
    exact = p.expectation("x2", params=GILES)
    rows = []
    var_g = math.exp(4 * 0.05 + 6 * 0.04) - exact ** 2                  # Var X_T^2 (lognormal moments)
    for target in targets:
        n_paths = int(math.ceil((4 / target) ** 2 * var_g))              # 2 stderr <= target / 2
        for method in ("euler", "weak2"):
            steps = steps_for(method, target, exact)
            simulate(p.sde, p.z0, t1=1.0, dt=1.0 / steps, n_paths=2, params=GILES, method=method, functionals={"g": g})
            start = time.perf_counter()
            r = simulate(p.sde, p.z0, t1=1.0, dt=1.0 / steps, n_paths=n_paths, seed=seed, params=GILES,
                         method=method, functionals={"g": g})
            bias = scheme_second_moment(method, steps) - exact
            se = r.functionals_stderr["g"][-1]
            rows.append({"method": f"MC {method}", "target": target, "seconds": time.perf_counter() - start,
                         "error": abs(r.functionals["g"][-1] - exact), "stderr": se,
                         "rms": math.hypot(bias, se), "n_steps": steps, "n_paths": n_paths})
        mlmc(p.sde, g, p.z0, t1=1.0, eps=0.05, seed=seed, method="milstein", params=GILES)      # compile
        start = time.perf_counter()
        r = mlmc(p.sde, g, p.z0, t1=1.0, eps=target / 2, seed=seed, method="milstein", params=GILES)
        rows.append({"method": "MLMC milstein", "target": target, "seconds": time.perf_counter() - start,
                     "error": abs(r.value - exact), "stderr": r.stderr, "rms": math.hypot(r.stderr, r.bias_estimate),
                     "n_steps": r.levels[-1]["n_steps"],
                     "n_paths": sum(lv["n_paths"] for lv in r.levels)})
    return rows, exact


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/sde_convergence")
    parser.add_argument("--paths", type=int, default=20_000, help="paths for the strong fits")
    parser.add_argument("--weak-paths", type=int, default=200_000, help="paths per level for the weak fits")
    parser.add_argument("--targets", default="1e-2,3e-3,1e-3", help="target errors of the work-precision panel")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    begin = time.perf_counter()
    strong = strong_runs(args.paths, args.seed)
    weak = weak_runs(args.weak_paths, args.seed)
    wp, exact = work_precision_runs([float(v) for v in args.targets.split(",")], args.seed)

    fig, axes = plt.subplots(1, 3, figsize=(16, 6.2))
    for method, name, r in strong:
        axes[0].errorbar(r.dts, r.errors, yerr=2 * r.errors_stderr, marker="o", capsize=2,
                         label=f"{method} on {name}: {r.order:.2f} +- {r.order_stderr:.2f} (declared "
                               f"{r.expected:g})")
    axes[0].set_title("strong error at T = 1 (bars: 2 s.e.)")
    axes[0].set_ylabel("E |Y_T - Z_T|")
    for method, name, r in weak:
        axes[1].errorbar(r.dts, np.abs(r.errors), yerr=2 * r.errors_stderr, marker="s", capsize=2,
                         label=f"{method} on {name}, g = x^2: {r.order:.2f} +- {r.order_stderr:.2f} "
                               f"(declared {r.expected:g})")
    axes[1].set_title(f"weak error at T = 1 ({args.weak_paths:,} shared paths per level)")
    axes[1].set_ylabel("|E g(Y_T) - E g(Z_T)|")
    for ax in axes[:2]:
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("dt")
        ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    for i, method in enumerate(dict.fromkeys(r["method"] for r in wp)):
        rows = [r for r in wp if r["method"] == method]
        line, = axes[2].plot([r["seconds"] for r in rows], [r["rms"] for r in rows], marker="o",
                             label=f"{method}: RMS error")
        axes[2].plot([r["seconds"] for r in rows], [r["error"] for r in rows], ls="none", marker="x",
                     color=line.get_color(), alpha=0.6, label=f"{method}: |estimate - exact|")
    for target in sorted({r["target"] for r in wp}):
        axes[2].axhline(target, color="grey", lw=0.6, ls=":")
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes[2].set_xlabel("wall time (s), compile excluded")
    axes[2].set_ylabel("error of E X_T^2  (dotted: targets)")
    axes[2].set_title("work-precision: GBM E X_T^2 (mu = 0.05, sigma = 0.2)")
    axes[2].legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    fig.tight_layout()
    fig.savefig(out / "sde_convergence.png", dpi=120)
    plt.close(fig)

    rows = []
    for kind, runs in (("strong", strong), ("weak", weak)):
        for method, name, r in runs:
            for h, e, se in zip(r.dts, r.errors, r.errors_stderr):
                rows.append({"panel": kind, "method": method, "problem": name, "dt": h, "error": e, "stderr": se,
                             "order": r.order, "order_stderr": r.order_stderr, "declared": r.expected})
    for r in wp:
        rows.append({"panel": "work-precision", "method": r["method"], "problem": "gbm", "dt": 1 / r["n_steps"],
                     "error": r["error"], "stderr": r["stderr"], "rms": r["rms"], "seconds": r["seconds"], "target": r["target"],
                     "n_paths": r["n_paths"]})
    fields = sorted({k for r in rows for k in r}, key=lambda k: list(rows[0]).index(k) if k in rows[0] else 99)
    with open(out / "sde_convergence.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    for kind, runs in (("strong", strong), ("weak", weak)):
        for method, name, r in runs:
            print(f"{kind:6s} {method:8s} {name:17s} order {r.order:.3f} +- {r.order_stderr:.3f} (declared {r.expected:g})")
    for r in wp:
        print(f"target {r['target']:.0e}  {r['method']:14s} {r['seconds']:.3f} s  error {r['error']:.2e} "
              f"+- {r['stderr']:.1e}")
    print(f"wrote {out / 'sde_convergence.png'} and .csv in {time.perf_counter() - begin:.1f} s")
    return rows


if __name__ == "__main__":
    main()
