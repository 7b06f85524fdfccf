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
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError as exc:  # pragma: no cover - the example states its requirement
    raise SystemExit("this example needs PyTorch: pip install 'lemmata[deep]' (CPU: torch==2.13.0)") from exc

from lemmata.graphs.torch_models import GREDNet, MPNN, accuracy, train  # noqa: E402


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
            rows.append({"k": k, "model": name, "accuracy": accuracy(model, n_nodes, k),
                         "final_loss": losses[-1]})
            print(f"k = {k}: {name:20s} accuracy {rows[-1]['accuracy']:.3f}")
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == name]
        ax.plot([r["k"] for r in mine], [r["accuracy"] for r in mine], "o-", label=name)
    ax.axhline(0.5, color="k", ls=":", lw=1, label="chance")
    ax.set_xlabel("distance k of the label")
    ax.set_ylabel("test accuracy (2,000 fresh graphs)")
    ax.set_title("label at distance k on a path")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "gred_long_range.png", dpi=120)
    plt.close(fig)
    with open(out / "gred_long_range.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out}/gred_long_range.png and .csv in {time.perf_counter() - start:.1f} s")
    return rows


if __name__ == "__main__":
    main()
