"""Sensitivity to the step-size parameter: NGN (sigma) against SGD, SPS, AdaGrad-norm and Adam
(learning rate), over six decades, on logistic regression and least squares (arXiv:2407.04358).

Every optimiser runs stochastically (one sample per step) for several seeds; all step sizes and
seeds of one optimiser run as one batched call of ``lemmata.numerics.optim.run``. The figure shows the
final optimality gap f(x_K) - f* (mean over seeds, with the standard error); diverged runs are
counted, drawn as crosses on the top edge, and never averaged in.

    python examples/ngn_stepsize_sensitivity.py --out out/ngn     # PNG + CSV, well under a minute
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

from lemmata.numerics import optim  # noqa: E402
from lemmata.numerics.problems import LeastSquares, LogisticRegression  # noqa: E402

OPTIMIZERS = {
    "NGN (sigma)": lambda step: optim.ngn(step),
    "SGD": lambda step: optim.sgd(step),
    "SPS_max": lambda step: optim.sps(c=0.5, max_lr=step),
    "AdaGrad-norm": lambda step: optim.adagrad(step),
    "Adam": lambda step: optim.adam(step),
}


def make_problems(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    n, d = 200, 10
    A = rng.normal(size=(n, d)) / np.sqrt(d)
    least_squares = LeastSquares(A, A @ rng.normal(size=d) + 0.1 * rng.normal(size=n))
    Z = rng.normal(size=(n, d))
    labels = np.where((Z @ rng.normal(size=d) > 0) ^ (rng.random(n) < 0.1), 1, -1)
    return {"logistic regression": LogisticRegression(Z, labels), "least squares": least_squares}


def sweep(problem, steps_times_L, n_seeds: int, n_steps: int, seed: int) -> list:
    """One batched run per optimiser over (step size x seed); returns CSV rows."""
    L = problem.smoothness
    step = np.repeat(np.asarray(steps_times_L) / L, n_seeds)
    x0 = np.zeros(problem.dim)
    rows = []
    for name, make in OPTIMIZERS.items():
        traj = optim.run(make(step), problem, x0, n_steps=n_steps, n_paths=step.size, batch_size=1,
                         seed=seed, record_every=n_steps)
        gaps = traj.losses[-1] - problem.f_star
        for j in range(step.size):
            rows.append({"optimizer": name, "step": step[j], "step_times_L": step[j] * L,
                         "seed_index": j % n_seeds, "final_gap": gaps[j],
                         "diverged": bool(traj.diverged[j])})
    return rows


def plot(results: dict, path: pathlib.Path) -> None:
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.2), sharey=False)
    for ax, (title, rows) in zip(np.atleast_1d(axes), results.items()):
        top = max(r["final_gap"] for r in rows if not r["diverged"]) * 3
        for name in OPTIMIZERS:
            mine = [r for r in rows if r["optimizer"] == name]
            grid = sorted({r["step_times_L"] for r in mine})
            mean, err, crosses = [], [], []
            for s in grid:
                gaps = np.array([r["final_gap"] for r in mine if r["step_times_L"] == s and not r["diverged"]])
                n_div = sum(r["diverged"] for r in mine if r["step_times_L"] == s)
                mean.append(gaps.mean() if gaps.size else np.nan)
                err.append(gaps.std(ddof=1) / np.sqrt(gaps.size) if gaps.size > 1 else np.nan)
                if n_div:
                    crosses.append(s)
            line = ax.errorbar(grid, mean, yerr=err, marker="o", ms=3, capsize=2, label=name)
            if crosses:
                ax.plot(crosses, [top] * len(crosses), "x", color=line[0].get_color(), ms=7)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step-size parameter x L  (sigma L for NGN, lr L otherwise)")
        ax.set_ylabel("final f(x_K) - f*  (mean over seeds)")
        ax.set_title(f"{title}  (x on top: diverged runs)")
        ax.grid(True, which="major", alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/ngn_stepsize_sensitivity", help="output folder")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per step size (default 5)")
    parser.add_argument("--steps", type=int, default=1000, help="iterations per run (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps_times_L = np.logspace(-3, 3, 13)

    start = time.perf_counter()
    results = {title: sweep(problem, steps_times_L, args.seeds, args.steps, args.seed)
               for title, problem in make_problems(args.seed).items()}
    with open(out / "ngn_stepsize_sensitivity.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["problem", "optimizer", "step", "step_times_L", "seed_index",
                                         "final_gap", "diverged"])
        writer.writeheader()
        for title, rows in results.items():
            for r in rows:
                writer.writerow({"problem": title, **r})
    plot(results, out / "ngn_stepsize_sensitivity.png")
    print(f"wrote {out}/ngn_stepsize_sensitivity.png and .csv in {time.perf_counter() - start:.1f} s")
    for title, rows in results.items():
        for name in OPTIMIZERS:
            mine = [r for r in rows if r["optimizer"] == name]
            ok = [r for r in mine if not r["diverged"]]
            good = sorted({r["step_times_L"] for r in ok if r["final_gap"] < 10 * min(x["final_gap"] for x in ok)})
            print(f"  {title:20s} {name:13s} diverged runs: {len(mine) - len(ok):3d}/{len(mine)}; "
                  f"within 10x of its best gap for step*L in [{good[0]:.3g}, {good[-1]:.3g}]")
    return results


if __name__ == "__main__":
    main()
