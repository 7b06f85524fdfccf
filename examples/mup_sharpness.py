"""Learning-rate transfer and sharpness under muP versus NTP (arXiv:2402.17457, "Super consistency
of neural network landscapes and learning rate transfer"), on the brief's CPU-scale proxy.

A 3-layer ReLU MLP 32 -> n -> n -> 10 (scaled layers, muP base width 64, so muP = NTP at n = 64)
learns 4096 points labelled by a random tanh teacher with cross-entropy and minibatch SGD (batch
128, 3 epochs) at base learning rate eta (physical eta * gamma^2 under muP). For each scheme, width
and eta: the final training loss (512 fixed examples) and, at 7 snapshots, the preconditioned
sharpness lambda_max(P^1/2 H P^1/2) on 32 fixed examples (exact R-operator Hessian-vector products,
Lanczos warm-started between snapshots). Panels: loss against eta per width (muP, NTP; the circle
marks each width's best eta), and the sharpness trajectories at one eta with the 2/eta line.

    python examples/mup_sharpness.py --out out/mup_sharpness            # widths 64, 256, 1024: ~6 min
    python examples/mup_sharpness.py --out out/mup_sharpness --full     # widths 64..1024 x2, 2 seeds (slow)

Measured (1 seed, loaded 2-core machine, 5 min 53 s wall, 2 min 15 s CPU): muP's best eta is 32 at
every width (reusing n = 64's eta at n = 1024 costs 0%); NTP's moves 32 -> 64 -> 64 (cost 18%); muP's
sharpness rises past 2/eta at every width while NTP's wide nets stay below it.

The runs go through ``lemmata.numerics.study`` (resumable SQLite store in --out), the same task
as ``examples/mup_transfer.toml``.
"""

from __future__ import annotations

import os

# the matrices here are small (batch 128 x n): two OpenBLAS threads were 10-30x slower than one on
# the shared 2-core machine; set before NumPy is imported (an explicit setting wins)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import math  # noqa: E402
import pathlib  # noqa: E402
import sys  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mup_transfer_task import run  # noqa: E402

from lemmata.numerics.study import Study  # noqa: E402

ETAS = [4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]
SCHEMES = {"mup": "muP", "ntp": "NTP"}


def summarise(rows, widths, etas):
    """Mean loss over seeds (diverged = 10, the official reproduction's convention), the best eta
    per width, and the regret of reusing the smallest width's best eta."""
    out = {}
    for scheme in SCHEMES:
        table = np.full((len(widths), len(etas)), np.nan)
        for i, w in enumerate(widths):
            for j, eta in enumerate(etas):
                vals = [10.0 if (r["diverged"] or not math.isfinite(r["loss"])) else r["loss"] for r in rows
                        if r["scheme"] == scheme and r["width"] == w and r["eta"] == eta]
                table[i, j] = np.mean(vals)
        best = [etas[int(np.argmin(row))] for row in table]
        j0 = int(np.argmin(table[0]))
        regret = table[-1, j0] / table[-1].min() - 1.0
        out[scheme] = {"loss": table, "best_eta": best, "regret": float(regret)}
    return out


def figure(rows, summary, widths, etas, eta_track, path):
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    colors = plt.cm.viridis(np.linspace(0.0, 0.85, len(widths)))
    for col, (scheme, label) in enumerate(SCHEMES.items()):
        ax = axes[0, col]
        table = summary[scheme]["loss"]
        for i, w in enumerate(widths):
            shown = np.where(table[i] >= 10.0, np.nan, table[i])
            ax.plot(etas, shown, "-o", ms=3, color=colors[i], label=f"n = {w}")
            j = int(np.argmin(table[i]))
            ax.plot(etas[j], table[i, j], "o", ms=11, mfc="none", mec=colors[i], mew=2)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("base learning rate eta")
        ax.set_ylabel("final training loss (cross-entropy)")
        ax.set_title(f"{label}: best eta {', '.join(f'{b:g}' for b in summary[scheme]['best_eta'])}\n"
                     f"(regret of reusing n={widths[0]}'s eta at n={widths[-1]}: "
                     f"{100 * summary[scheme]['regret']:.0f}%)", fontsize=10)
        ax.legend(fontsize=8, title="diverged runs not drawn", title_fontsize=7)
        ax.grid(alpha=0.3)
        ax = axes[1, col]
        for i, w in enumerate(widths):
            runs = [r for r in rows if r["scheme"] == scheme and r["width"] == w and r["eta"] == eta_track
                    and not r["diverged"]]
            if not runs:
                continue
            steps = np.asarray(runs[0]["steps"])
            sharp = np.array([r["sharpness"] for r in runs], dtype=float)
            mean = np.nanmean(sharp, axis=0)
            ax.plot(steps, mean, "-o", ms=3, color=colors[i], label=f"n = {w}")
            if sharp.shape[0] > 1:
                err = np.nanstd(sharp, axis=0, ddof=1) / math.sqrt(sharp.shape[0])
                ax.fill_between(steps, mean - err, mean + err, color=colors[i], alpha=0.2)
        ax.axhline(2.0 / eta_track, color="k", ls="--", lw=1, label=f"2/eta (eta = {eta_track:g})")
        ax.set_yscale("log")
        ax.set_xlabel("SGD step")
        ax.set_ylabel("preconditioned sharpness lambda_max(P^1/2 H P^1/2)")
        ax.set_title(f"{label}: sharpness on 32 fixed examples, eta = {eta_track:g}", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
    fig.suptitle("Learning-rate transfer and sharpness, 3-layer ReLU MLP (arXiv:2402.17457, CPU proxy)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/mup_sharpness")
    parser.add_argument("--full", action="store_true", help="widths 64, 128, 256, 512, 1024 and 2 seeds")
    parser.add_argument("--widths", type=int, nargs="+", default=None)
    parser.add_argument("--etas", type=float, nargs="+", default=None)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--eta-track", type=float, default=8.0,
                        help="eta of the sharpness panels (default 8: below 2/eta at initialisation)")
    args = parser.parse_args(argv)
    widths = args.widths or ([64, 128, 256, 512, 1024] if args.full else [64, 256, 1024])
    etas = args.etas or ETAS
    seeds = args.seeds or (2 if args.full else 1)
    if args.eta_track not in etas:
        parser.error(f"`--eta-track` must be one of the learning rates {etas}; got {args.eta_track}.")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    study = Study(run, {"scheme": list(SCHEMES), "width": widths, "eta": etas, "epochs": [args.epochs]},
                  seeds=seeds, name="mup-sharpness", store=out / "mup_sharpness.sqlite", version="1")
    study.run(progress=False)
    rows = study.results()
    summary = summarise(rows, widths, etas)
    with open(out / "mup_sharpness.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["scheme", "width", "eta", "seed", "loss", "diverged", "final_sharpness"])
        for r in sorted(rows, key=lambda r: (r["scheme"], r["width"], r["eta"], r["seed"])):
            writer.writerow([r["scheme"], r["width"], r["eta"], r["seed"], r["loss"], r["diverged"],
                             r["final_sharpness"]])
    figure(rows, summary, widths, etas, args.eta_track, out / "mup_sharpness.png")
    for scheme, label in SCHEMES.items():
        print(f"{label}: best eta per width {dict(zip(widths, summary[scheme]['best_eta']))}; regret of "
              f"reusing n={widths[0]}'s eta at n={widths[-1]}: {100 * summary[scheme]['regret']:.1f}%")
    return summary


if __name__ == "__main__":
    main()
