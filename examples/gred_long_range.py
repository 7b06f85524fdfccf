"""A synthetic long-range task for GRED (arXiv:2312.01538): on a path, the target (one end) must
output the sign carried by the node at distance exactly k. GRED with K >= k reads it from its hop-k
shell in one layer; a 1-hop message-passing network needs at least k layers to see that node at
all. Needs the ``deep`` extra (PyTorch; on CPU: ``pip install torch==2.13.0``).

    python examples/gred_long_range.py --out out/gred          # PNG + CSV, about a minute on 2 cores
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError as exc:  # pragma: no cover - the example states its requirement
    raise SystemExit("this example needs PyTorch: pip install 'lemmata[deep]' (CPU: torch==2.13.0)") from exc

from lemmata.graphs.torch_models import GREDNet, MPNN, accuracy, train  # noqa: E402
from lemmata.numerics import plotting  # noqa: E402

N_TEST = 2000           # fresh test graphs per (model, k); the accuracy is a binomial proportion
LABELS = {"GRED, K = k": "GRED, $K=k$ (one layer)", "GRED, K = 1": "GRED, $K=1$ (one layer)",
          "MPNN, k - 1 layers": "MPNN, $k-1$ layers", "MPNN, k layers": "MPNN, $k$ layers"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/gred")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--distances", type=int, nargs="+", default=[2, 4, 6])
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    start = time.perf_counter()
    n_nodes = max(args.distances) + 4
    G = nx.path_graph(n_nodes)
    rows = []
    for k in args.distances:
        models = {"GRED, K = k": GREDNet(G, k), "GRED, K = 1": GREDNet(G, 1),
                  "MPNN, k - 1 layers": MPNN(G, max(k - 1, 1)), "MPNN, k layers": MPNN(G, k)}
        for name, model in models.items():
            losses = train(model, n_nodes, k, steps=args.steps)
            acc = accuracy(model, n_nodes, k, n_graphs=N_TEST)
            low, high = plotting.binomial_interval(round(acc * N_TEST), N_TEST)
            rows.append({"k": k, "model": name, "accuracy": acc, "n_test": N_TEST,
                         "ci95_low": low, "ci95_high": high, "final_loss": losses[-1]})
            print(f"k = {k}: {name:20s} accuracy {acc:.3f} (95% CI {low:.3f}-{high:.3f})")
    names = list(dict.fromkeys(r["model"] for r in rows))
    with plotting.style():
        fig, axes = plotting.figure(1, 1, panel=(6.4, 4.0))
        ax = axes[0, 0]
        positions = np.arange(len(args.distances))
        width = 0.8 / len(names)
        for i, name in enumerate(names):         # dodged: curves that coincide stay visible
            mine = [r for r in rows if r["model"] == name]
            acc = np.array([r["accuracy"] for r in mine])
            err = np.array([[r["accuracy"] - r["ci95_low"] for r in mine],
                            [r["ci95_high"] - r["accuracy"] for r in mine]])
            ax.errorbar(positions + (i - (len(names) - 1) / 2) * width, acc, yerr=err, ls="none",
                        capsize=3, label=LABELS.get(name, name), **plotting.series_style(i))
        ax.axhline(0.5, color="k", ls=":", lw=1, label="chance")
        ax.set_xticks(positions, [f"$k={k}$" for k in args.distances])
        ax.set_xlabel("distance $k$ of the node that carries the label")
        ax.set_ylabel(f"test accuracy ({N_TEST:,} fresh graphs, 95% CI)")
        ax.set_ylim(0.3, 1.05)
        ax.set_title("label at distance $k$ on a path: GRED reads hop $k$ in one layer")
        fig.legend(loc="outside lower center", ncols=3)
        plotting.save(fig, out / "gred_long_range.png")
    with open(out / "gred_long_range.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out}/gred_long_range.png and .csv in {time.perf_counter() - start:.1f} s")
    return rows


if __name__ == "__main__":
    main()
