"""The curse of memory (arXiv:2405.21064): state variance and parameter sensitivity of
h_t = lam h_{t-1} + gamma x_t as the memory 1/(1 - lam) grows, for AR(1) inputs of correlation rho.

Curves: the closed forms derived in lemmata.analysis.recurrence. Points: Monte Carlo of the recurrence
and its tangent through the scan engine (error bars: 2 standard errors). Panels: E[h^2];
E[(dh/dlam)^2] (grows like (1-lam)^-3); the same after L2 normalisation (still (1-lam)^-2); and
with the exp reparametrisation lam = exp(-exp(omega)) (bounded, -> (1+rho)/(4(1-rho))).

    python examples/curse_of_memory.py --out out/curse_of_memory      # PNG + CSV, ~20 s
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from lemmata.analysis import recurrence  # noqa: E402
from lemmata.numerics import compile_kernel, plotting  # noqa: E402
from lemmata.numerics.recurrence import simulate_moments  # noqa: E402

PANELS = [("E_h2", "none", "none", r"$\mathbb{E}[h_t^2]$", "state variance"),
          ("E_dh2", "none", "none", r"$\mathbb{E}[(\partial_\lambda h_t)^2]$", "sensitivity"),
          ("E_dh2", "l2", "none", r"$\mathbb{E}[(\partial_\lambda (\gamma h_t))^2]$",
           r"normalised, $\gamma=\sqrt{1-\lambda^2}$"),
          ("E_dh2", "l2", "exp", r"$\mathbb{E}[(\partial_\omega (\gamma h_t))^2]$",
           r"normalised, $\lambda=e^{-e^{\omega}}$")]
RHOS = (0.0, 0.5, 0.9)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/curse_of_memory")
    parser.add_argument("--paths", type=int, default=5000, help="Monte Carlo paths per point")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    lam_curve = 1 - np.logspace(-3, np.log10(0.7), 200)
    lam_mc = np.array([0.5, 0.7, 0.8, 0.9, 0.95])
    rows = []
    with plotting.style():
        fig, axes = plotting.figure(1, len(PANELS), squeeze=True)
        for ax, (moment, norm, par, ylabel, title) in zip(axes, PANELS):
            kernel = compile_kernel(recurrence.memory_moments(norm, par), "numpy")
            for j, rho in enumerate(RHOS):
                curve = kernel(lam_curve, rho)[moment]
                style = plotting.series_style(j)
                ax.plot(1 - lam_curve, curve, color=style["color"], label=rf"closed form, $\rho={rho}$")
                for k, lam in enumerate(lam_mc):
                    est = simulate_moments(lam, rho, n_paths=args.paths, seed=args.seed * 1000 + 10 * j + k,
                                           normalization=norm, parametrization=par)[moment]
                    exact = float(kernel(lam, rho)[moment])
                    ax.errorbar(1 - lam, est.value, yerr=2 * est.stderr, ls="none", **style,
                                label=r"Monte Carlo $\pm 2$ s.e." if (j, k) == (0, 0) else None)
                    rows.append({"moment": moment, "normalization": norm, "parametrization": par, "rho": rho,
                                 "lam": lam, "closed_form": exact, "monte_carlo": est.value,
                                 "stderr": est.stderr, "z_score": (est.value - exact) / est.stderr})
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(r"$1-\lambda$  (memory $\sim 1/(1-\lambda)$)")
            ax.set_ylabel(ylabel)
            ax.set_title(title)
        axes[0].legend(loc="upper right")
        plotting.save(fig, out / "curse_of_memory.png")
    with open(out / "curse_of_memory.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    worst = max(abs(r["z_score"]) for r in rows)
    print(f"wrote {out}/curse_of_memory.png and .csv in {time.perf_counter() - start:.1f} s; "
          f"{len(rows)} Monte Carlo points, largest |z| = {worst:.2f}")
    return rows


if __name__ == "__main__":
    main()
