"""Bifurcations by numerical continuation (lemmata.numerics.continuation): the logistic map's
period-doubling cascade to period 64 with its Feigenbaum ratios, and the full picture of GD on a
1-D wall data set (arXiv:2406.05033; the data set is lemmata's construction for eta lambda = 1.6):
the minimiser's branch with its flip at eta lambda = 2 and the cascade beyond, the fold that
creates the stable 2-cycle below 2/lambda (with its unstable partner), drawn over an orbit
diagram, and the basins of the two attractors at eta lambda = 1.6.

    python examples/bifurcation_continuation.py --out out/continuation     # PNG + CSV, ~20 s
"""

from __future__ import annotations

import argparse
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

from lemmata.analysis import Derivation  # noqa: E402
from lemmata.numerics import continuation, orbits  # noqa: E402
from lemmata.numerics.logistic import wall_dataset_1d  # noqa: E402

FEIGENBAUM_DELTA = 4.669201609102990


def logistic_panel(ax, max_period):
    x, r = sp.Symbol("x"), sp.Symbol("r")
    logistic = Derivation("logistic_map", (x,), (r,), {"map": r * x * (1 - x)})
    cas = continuation.cascade(logistic, (2.8, 3.5699456), [0.6], max_period=max_period)
    diagram = orbits.orbit_diagram(logistic, np.linspace(2.8, 3.5699456, 600), np.array([[0.5]]),
                                   n_transient=3000, n_keep=128)
    cas.plot(ax, diagram=diagram)
    ax.set_xlim(2.8, 3.575)
    ax.set_title(f"logistic map: cascade to period {max_period}")
    ratios = cas.feigenbaum_ratios()
    text = "\n".join(f"$\\delta_{k + 1}$ = {d:.6f}" for k, d in enumerate(ratios))
    ax.text(0.03, 0.03, text + f"\n($\\delta$ = {FEIGENBAUM_DELTA:.6f})", transform=ax.transAxes,
            fontsize=7, va="bottom", family="monospace")
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    return cas


def wall_panels(ax_diagram, ax_basin, target=1.6):
    data = wall_dataset_1d(target)
    gd = data.gd_map()
    lam, w_star = data.lam, float(data.minimizer[0])
    # the minimiser from eta lambda = 1 through its flip at 2, and the cascade beyond
    cas = continuation.cascade(gd, (data.eta(1.0), data.eta(2.6)), data.minimizer, max_period=8)
    # the stable 2-cycle below 2/lambda, certified by find_cycles, followed down to its fold
    inits = w_star + np.linspace(-1, 1, 21)[:, None] * 8 / abs(w_star)
    cycle = next(c for c in orbits.find_cycles(gd, data.eta(target), inits, n_transient=20_000)
                 if c.period == 2 and c.stable)
    fold_branch = continuation.continue_cycles(gd, (data.eta(target), data.eta(1.0)), cycle.points[0],
                                               period=2)
    # ... and up to 2/lambda
    up = continuation.continue_cycles(gd, (data.eta(target), data.eta(2.0)), cycle.points[0], period=2)
    etas = np.linspace(1.0, 2.6, 400) / lam
    starts = np.array([[w_star + 0.01], [cycle.points[0, 0]], [w_star - 4.0]])
    diagram = orbits.orbit_diagram(gd, etas, starts, n_transient=5000, n_keep=64)
    scaled = [dataclass_scaled(b, lam) for b in (*cas.branches, fold_branch, up)]
    for b in scaled[:len(cas.branches)]:
        b.plot(ax_diagram)
    scaled[-2].plot(ax_diagram, color="C6", label="2-cycle (fold branch)")
    scaled[-1].plot(ax_diagram, color="C6", label="")
    pts = diagram.points[..., 0]
    ax_diagram.plot(np.broadcast_to((etas * lam)[:, None, None], pts.shape).ravel(), pts.ravel(), ",",
                    color="0.6", alpha=0.6, rasterized=True, zorder=0)
    fold = fold_branch.events[0]
    ax_diagram.annotate(f"fold, $\\eta\\lambda$ = {fold.eta * lam:.6f}", (fold.eta * lam, fold.state[0]),
                        xytext=(1.05, fold.state[0] - 1.2), fontsize=7, arrowprops={"arrowstyle": "->"})
    for v in (1.0, 2.0):
        ax_diagram.axvline(v, color="k", lw=0.5, ls=":")
    ax_diagram.set_xlabel(r"$\eta\lambda$")
    ax_diagram.set_ylabel("w")
    ax_diagram.set_title(f"GD on a 1-D wall data set (construction, target $\\eta\\lambda$ = {target})")
    ax_diagram.legend(fontsize=7, loc="lower left", ncol=2)
    # basins at the target step: the minimiser vs the 2-cycle (separated by the unstable partner)
    grid = w_star + np.linspace(-6, 6, 481)
    result = orbits.basins(gd, data.eta(target), grid[:, None], [[[w_star]], cycle.points], n_transient=20_000)
    colors = np.array(["C0", "C3", "k", "0.7"])
    labels = result["labels"]
    idx = np.where(labels >= 0, labels, np.where(labels == -1, 2, 3))
    ax_basin.scatter(grid, np.zeros_like(grid), c=colors[idx], s=12, marker="|")
    partner = fold_branch.cycles[-1, :, 0]
    for v in partner:
        ax_basin.axvline(v, color="C6", ls="--", lw=0.8)
    ax_basin.axvline(w_star, color="C0", lw=0.8)
    for v in cycle.points[:, 0]:
        ax_basin.axvline(v, color="C3", lw=0.8)
    ax_basin.set_yticks([])
    ax_basin.set_xlabel("initial w")
    ax_basin.set_title(f"basins at $\\eta\\lambda$ = {target}: minimiser (blue) {result['fractions']['attractor_0']:.2f}, "
                       f"2-cycle (red) {result['fractions']['attractor_1']:.2f}; solid lines: the attractors, dashed: "
                       f"the unstable partner 2-cycle", fontsize=8)
    return cas, fold_branch, up, data


def dataclass_scaled(branch, lam):
    """The branch with eta replaced by eta * lambda (plots against the invariant)."""
    import dataclasses

    events = tuple(dataclasses.replace(e, eta=e.eta * lam) for e in branch.events)
    return dataclasses.replace(branch, eta=branch.eta * lam, events=events, parameter="eta lambda")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/continuation")
    parser.add_argument("--max-period", type=int, default=64)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    fig = plt.figure(figsize=(12, 8.5))
    grid = fig.add_gridspec(3, 2, height_ratios=[3, 3, 1])
    ax_log = fig.add_subplot(grid[0:2, 0])
    ax_wall = fig.add_subplot(grid[0:2, 1])
    ax_basin = fig.add_subplot(grid[2, :])
    cas = logistic_panel(ax_log, args.max_period)
    wall_cas, fold_branch, up, data = wall_panels(ax_wall, ax_basin)
    fig.tight_layout()
    fig.savefig(out / "bifurcation_continuation.png", dpi=130)
    plt.close(fig)
    import pandas as pd

    branches = pd.concat([cas.to_pandas().assign(system="logistic map"),
                          wall_cas.to_pandas().assign(system="wall GD"),
                          fold_branch.to_pandas().assign(system="wall GD (fold branch)"),
                          up.to_pandas().assign(system="wall GD (fold branch, up)")], ignore_index=True)
    branches.to_csv(out / "bifurcation_continuation_branches.csv", index=False)
    events = pd.concat([cas.events_table().assign(system="logistic map"),
                        wall_cas.events_table().assign(system="wall GD", eta_lambda=lambda f: f["eta"] * data.lam),
                        fold_branch.events_table().assign(system="wall GD (fold branch)",
                                                          eta_lambda=lambda f: f["eta"] * data.lam)],
                       ignore_index=True)
    events.to_csv(out / "bifurcation_continuation_events.csv", index=False)
    print(events[["system", "period", "kind", "r", "eta", "eta_lambda", "kappa", "certified"]].to_string())
    print(f"Feigenbaum ratios: {np.round(cas.feigenbaum_ratios(), 6).tolist()}")
    print(f"wrote {out}/bifurcation_continuation.png and two CSVs in {time.perf_counter() - start:.1f} s")
    return {"cascade": cas, "wall": wall_cas, "fold": fold_branch, "data": data}


if __name__ == "__main__":
    main()
