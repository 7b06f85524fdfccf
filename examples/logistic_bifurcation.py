"""GD on logistic regression with large steps (arXiv:2406.05033): the orbit (bifurcation) diagram
against eta * lambda with 1/lambda and 2/lambda marked, the largest Lyapunov exponent, a 1-D wall
data set whose stable 2-cycle coexists with the stable minimiser for eta lambda in (1, 2), and
the basins of a 2-D two-wall data set with a stable cycle at eta lambda = 0.7 < 1.

The data sets with cycles are lemmata's constructions (lemmata.numerics.logistic), labelled as such.

    python examples/logistic_bifurcation.py --out out/logistic      # PNG + CSV, ~30 s
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from lemmata.numerics import orbits, plotting  # noqa: E402
from lemmata.numerics.logistic import random_dataset_1d, two_wall_dataset_2d, wall_dataset_1d  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/logistic")
    parser.add_argument("--n-eta", type=int, default=800, help="step sizes in the orbit diagram")
    parser.add_argument("--grid", type=int, default=120, help="basin grid points per axis")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows = []
    with plotting.style():
        fig, axes = plotting.figure(2, 2, panel=(6.0, 4.2))
        result, diagram, cycles, found = _draw(args, axes, rows)
        plotting.save(fig, out / "logistic_bifurcation.png")
    with open(out / "logistic_bifurcation.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out}/logistic_bifurcation.png and .csv in {time.perf_counter() - start:.1f} s; "
          f"basins at eta lambda = 0.7: {result['fractions']}")
    return {"diagram": diagram, "cycles_1d": cycles, "cycles_2d": found, "basins": result}


def _draw(args, axes, rows):

    # 1. orbit diagram and Lyapunov exponent of a random 1-D data set
    data = random_dataset_1d(np.random.default_rng(args.seed), n=8)
    eta_lambda = np.linspace(0.5, 3.2, args.n_eta)
    inits = data.minimizer[0] + np.linspace(-3, 3, 4)      # w* itself (unstable past 2) excluded
    diagram = orbits.orbit_diagram(data.gd_map(), eta_lambda / data.lam, inits[:, None],
                                   n_transient=3000, n_keep=100)
    ax = axes[0, 0]
    for j in range(inits.size):
        pts = diagram.points[:, j, :, 0]
        ax.plot(np.repeat(eta_lambda, pts.shape[1]), pts.ravel() - data.minimizer[0], ",", color="k", alpha=0.4)
    for x, label in ((1, r"$1/\lambda$"), (2, r"$2/\lambda$")):
        ax.axvline(x, color="C3", ls="--", lw=1)
        ax.annotate(label, (x, 1), xycoords=("data", "axes fraction"), xytext=(-3, -3),
                    textcoords="offset points", color="C3", ha="right", va="top")
    ax.set_xlabel(r"step size $\eta\lambda$")
    ax.set_ylabel(r"$w - w^*$ (kept orbit points, 4 starts)")
    ax.set_title("(a) orbit diagram, random non-separable 1-D data")
    axes[0, 1].plot(eta_lambda, np.nanmax(diagram.lyapunov, axis=1), lw=0.8)
    axes[0, 1].axhline(0, color="k", lw=0.5)
    axes[0, 1].axvline(2, color="C3", ls="--", lw=1)
    axes[0, 1].set_xlabel(r"step size $\eta\lambda$")
    axes[0, 1].set_ylabel("largest Lyapunov exponent")
    axes[0, 1].set_title("(b) Lyapunov exponent: > 0 chaos, = 0 at bifurcations")
    for i, el in enumerate(eta_lambda):
        rows.append({"panel": "orbit", "eta_lambda": el, "period": int(diagram.periods[i, 0]),
                     "lyapunov": float(diagram.lyapunov[i, 0]), "x": "", "y": "", "label": ""})

    # 2. a 1-D wall data set: bistability at eta lambda = 1.6
    wall = wall_dataset_1d(1.6)
    eta = wall.eta(1.6)
    cycles = orbits.find_cycles(wall.gd_map(), eta, wall.minimizer[0] + np.linspace(-1, 1, 41)[:, None] * 150,
                                n_transient=20_000)
    ax = axes[1, 0]
    starts = wall.minimizer[0] + np.linspace(-1, 1, 400) * 150
    ends = orbits.orbit_diagram(wall.gd_map(), [eta], starts[:, None], n_transient=20_000, n_keep=2)
    ax.plot(starts, ends.points[0, :, -1, 0], ".", ms=2)
    for c in cycles:
        kind = "fixed point" if c.period == 1 else f"{c.period}-cycle, |multiplier| {abs(c.multipliers[0]):.2f}"
        for x in c.points[:, 0]:
            ax.axhline(x, lw=0.8, ls=":", color="C1" if c.period > 1 else "C2")
        ax.plot([], [], color="C1" if c.period > 1 else "C2", ls=":", label=kind)
    ax.set_xlabel(r"initial $w_0$")
    ax.set_ylabel(r"$w$ after 20,000 steps")
    ax.set_title(r"(c) 1-D wall data set at $\eta\lambda = 1.6 < 2$: two attractors")
    ax.legend(loc="center right")

    # 3. basins of a 2-D two-wall data set at eta lambda = 0.7
    two = two_wall_dataset_2d(0.7)
    eta2 = two.eta(0.7)
    rng = np.random.default_rng(args.seed)
    found = orbits.find_cycles(two.gd_map(), eta2, two.minimizer + rng.normal(size=(60, 2)) * 40,
                               n_transient=20_000)
    attractors = [c.points for c in found]
    span = 60
    g = np.linspace(-span, span, args.grid)
    X, Y = np.meshgrid(two.minimizer[0] + g, two.minimizer[1] + g)
    result = orbits.basins(two.gd_map(), eta2, np.column_stack([X.ravel(), Y.ravel()]), attractors,
                           n_transient=20_000)
    labels = result["labels"].reshape(X.shape)
    ax = axes[1, 1]
    # one colour per outcome: -2 none of these, -1 diverged, i the basin of attractor i
    kinds = ["no attractor reached", "diverged"] + [
        f"basin of the period-{c.period} {'cycle' if c.period > 1 else 'fixed point'}" for c in found]
    colours = ["0.85", "0.3"] + [f"C{i}" for i in range(len(found))]
    ax.pcolormesh(X - two.minimizer[0], Y - two.minimizer[1], labels + 2, shading="auto",
                  cmap=ListedColormap(colours), vmin=-0.5, vmax=len(colours) - 0.5)
    fractions = [result["fractions"]["other"], result["fractions"]["diverged"]] + [
        result["fractions"][f"attractor_{i}"] for i in range(len(found))]
    handles = [Patch(color=colour, label=f"{kind} ({share:.0%})")
               for colour, kind, share in zip(colours, kinds, fractions) if share > 0]
    for i, c in enumerate(found):
        handles += ax.plot(*(c.points - two.minimizer).T, "o", color="k" if c.period == 1 else "w",
                           mec="k", ms=5, ls="none",
                           label=f"period-{c.period} points ({'stable' if c.stable else 'unstable'})")
    ax.set_xlabel(r"$w_1 - w_1^*$ (initial)")
    ax.set_ylabel(r"$w_2 - w_2^*$ (initial)")
    ax.set_title(r"(d) basins, 2-D two-wall data set at $\eta\lambda = 0.7 < 1$")
    ax.legend(handles=handles, loc="lower right")
    for x, y, lab in zip(X.ravel()[::7], Y.ravel()[::7], result["labels"][::7]):
        rows.append({"panel": "basin", "eta_lambda": 0.7, "period": "", "lyapunov": "", "x": x, "y": y,
                     "label": int(lab)})
    return result, diagram, cycles, found


if __name__ == "__main__":
    main()
