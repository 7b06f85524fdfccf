"""Few-shot transfer of tiny selective-SSM (Vim-style) and ViT backbones by linear probing (LP)
and visual prompting with iterative label mapping (VP), a CPU-scale proxy of arXiv:2403.10696.

The backbones are pretrained here on a procedural 64-class source task (cached under the lemmata
cache dir after the first run), then transferred to a 10-class target task from another seed
family ("glyphs" by default; "textures", and "digits" when scikit-learn is installed). Budgets
{1, 10, 50} shots x 3 seeds by default. Writes

* ``fewshot_transfer.csv``: the tidy table (backbone, size, dataset, budget, method, seed, accuracy, ...);
* ``fewshot_transfer.png``: accuracy vs budget per backbone (LP, VP), and the LP - VP gap vs
  log(#parameters) with its bootstrap band, Pearson r, its interval, the permutation p-value and
  the critical |r| for that many models;
* ``fewshot_transfer.json``: the statistics (claims (a), (b), (c) of the paper, as proxies).

    python examples/fewshot_transfer.py [--out out/fewshot_transfer] [--budgets 1 10 50] [--seeds 3]

This is not the paper's experiment: that needs the pretrained Vim/VMamba/DeiT checkpoints on a
GPU. It exercises the same protocols end to end and reports what such a study can conclude.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import pathlib
import time

import numpy as np

from lemmata.numerics import transfer as tr

COLOURS = {"vim": ("#08306b", "#2171b5", "#6baed6"), "vit": ("#67000d", "#cb181d", "#fc9272")}


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/fewshot_transfer")
    p.add_argument("--backbones", nargs="+", default=["vim", "vit"])
    p.add_argument("--sizes", nargs="+", default=["t", "s", "b"])
    p.add_argument("--datasets", nargs="+", default=["glyphs"])
    p.add_argument("--budgets", nargs="+", type=int, default=[1, 10, 50])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--vp-epochs", type=int, default=10)
    p.add_argument("--pretrain-epochs", type=int, default=10)
    p.add_argument("--pretrain-per-class", type=int, default=40)
    p.add_argument("--n-train", type=int, default=60, help="training pool per class of the target task")
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids oversubscription)")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    import torch

    from lemmata.numerics import torch_transfer as tt

    args = parse(argv)
    torch.set_num_threads(args.threads)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    def progress(row):
        if not args.quiet:
            print(f"{time.perf_counter() - start:7.1f} s  {row['backbone']:6s} {row['dataset']} "
                  f"{row['budget']:>3}-shot {row['method']} seed {row['seed']}: {row['accuracy']:.3f}", flush=True)

    options = {"vp_epochs": args.vp_epochs, "pretrain_epochs": args.pretrain_epochs,
               "pretrain_per_class": args.pretrain_per_class, "n_train": max(args.n_train, max(args.budgets))}
    rows = tt.proxy_table(backbones=args.backbones, sizes=args.sizes, datasets=args.datasets, budgets=args.budgets,
                          seeds=range(args.seeds), progress=progress, **options)
    with open(out / "fewshot_transfer.csv", "w", newline="") as handle:
        columns = list(dict.fromkeys(k for r in rows for k in r))
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)

    summary = {"grid": vars(args), "seconds": None, "note": "CPU-scale proxy of arXiv:2403.10696; not the paper's "
               "backbones (those need the pretrained Vim/VMamba/DeiT checkpoints on a GPU)."}
    stats = {}
    for family in args.backbones:
        mine = [r for r in rows if r["family"] == family]
        if len(args.sizes) >= 3 and args.seeds >= 2:
            stats[family] = tr.gap_statistics(mine, n_boot=args.n_boot, seed=0)
            summary[f"gap_vs_scale_{family}"] = {k: v for k, v in stats[family].to_dict().items()
                                                 if k not in ("cells", "gaps")}
    if len(args.backbones) >= 2 and args.seeds >= 2:
        a, b = args.backbones[:2]
        for method in ("LP", "VP"):
            comp = tr.family_difference(rows, method, a, b, n_boot=args.n_boot, seed=0)
            summary[f"{method}_{a}_minus_{b}"] = comp.to_dict()
    summary["seconds"] = time.perf_counter() - start
    with open(out / "fewshot_transfer.json", "w") as handle:
        json.dump(summary, handle, indent=1, default=float)
    figure(rows, stats, args, out / "fewshot_transfer.png", summary)
    if not args.quiet:
        for key, value in summary.items():
            if key.startswith(("LP_", "VP_")):
                print(f"{key}: overall {value['overall']:+.3f} [{value['overall_ci'][0]:+.3f}, "
                      f"{value['overall_ci'][1]:+.3f}]")
        for family, st in stats.items():
            print(f"{family}: {st!r}")
        print(f"wrote {out}/fewshot_transfer.{{csv,png,json}} in {summary['seconds']:.0f} s")
    return {"rows": rows, "summary": summary, "stats": stats}


def figure(rows, stats, args, path, summary):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    models = list(dict.fromkeys(r["backbone"] for r in rows))
    budgets = sorted(args.budgets)
    for ax, method in zip(axes[:2], ("LP", "VP")):
        for model in models:
            family, size = model.split("-")
            colour = COLOURS.get(family, ("k",) * 3)[min(args.sizes.index(size), 2)]
            means, sems = [], []
            for k in budgets:
                acc = np.array([r["accuracy"] for r in rows if r["backbone"] == model and r["method"] == method
                                and r["budget"] == k])
                means.append(acc.mean())
                sems.append(acc.std(ddof=1) / math.sqrt(acc.size) if acc.size > 1 else 0.0)
            params = next(r["params"] for r in rows if r["backbone"] == model)
            ax.errorbar(budgets, means, yerr=sems, marker="o" if family == "vim" else "s", ms=4, capsize=3,
                        color=colour, ls="-" if family == "vim" else "--", label=f"{model} ({params / 1e3:.1f}k)")
        ax.axhline(0.1, color="grey", lw=0.8, ls=":", label="chance (10 classes)")
        ax.set_xscale("log")
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.set_xlabel("shots per class (budget)")
        ax.set_ylabel("test accuracy (mean +- s.e. over seeds)")
        ax.set_title(f"{method}: {'linear probe (L-BFGS)' if method == 'LP' else 'ILM-VP, frame prompt'}"
                     f" on {', '.join(args.datasets)}")
        ax.legend(fontsize=7, ncol=2, loc="best", framealpha=0.7)
    ax = axes[2]
    lines = []
    for family, st in stats.items():
        x = np.array(st.log_params)
        g = np.array(st.model_gap)
        colour = COLOURS.get(family, ("k",) * 3)[1]
        ax.errorbar(x, g, yerr=st.model_gap_sem, fmt="o" if family == "vim" else "s", color=colour, capsize=3,
                    label=f"{family} sizes {', '.join(args.sizes)} (+- bootstrap s.e.)")
        grid = np.linspace(x.min() - 0.1, x.max() + 0.1, 50)
        slope, icept = np.polyfit(x, g, 1)
        boot = np.array([np.polyval(np.polyfit(x, rep, 1), grid) for rep in st.bootstrap_gaps[:500]])
        lo, hi = np.percentile(boot, [2.5, 97.5], axis=0)
        ax.fill_between(grid, lo, hi, color=colour, alpha=0.15)
        ax.plot(grid, slope * grid + icept, color=colour, lw=1.2)
        lines.append(f"{family}: r = {st.pearson_r:+.2f} [{st.pearson_ci[0]:+.2f}, {st.pearson_ci[1]:+.2f}], "
                     f"p_perm = {st.permutation_pearson.p_value:.2f}, |r|crit = {st.critical_r:.3f} (n = {st.n_models})")
    ax.set_xlabel("log(#parameters)")
    ax.set_ylabel("LP - VP accuracy gap (mean over budgets, seeds)")
    ax.set_title("gap vs model scale (band: 95 % bootstrap of the fit)")
    if stats:
        ax.legend(fontsize=7, loc="lower right", framealpha=0.7)
    if lines:
        ax.margins(y=0.45)          # headroom for the statistics, so no point hides behind them
        ax.text(0.98, 0.98, "\n".join(lines), transform=ax.transAxes, fontsize=7, va="top", ha="right",
                bbox=dict(facecolor="white", alpha=0.8, lw=0))
    fig.suptitle("CPU-scale proxy of arXiv:2403.10696 (tiny Vim-style SSM vs tiny ViT, procedural tasks) -- "
                 "not the paper's backbones", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
