"""The Dynamical Systems Framework (arXiv:2405.15731) on one input: the materialised operator Phi
(y = Phi u) of every architecture, and softmax attention as the infinite-state limit of Taylor
features (error vs state size n).

    python examples/dsf_compare.py [--out out/] [--L 24]

Writes dsf_compare.png and dsf_compare.csv. Each heat map is the channel-0 block
Phi[i, 0, j, 0] (how output 0 at step i depends on input 0 at step j), on a symmetric-log colour
scale; every model has random parameters from ``dsf.random_params`` (d = 4, n = 4 states per
channel; n = 1 for qLSTM and RG-LRU). The right-hand panel compares order-P Taylor attention
(n = sum_p m^p with m = 2) and elu+1 linear attention (n = m) with softmax on logits bounded by 1.
"""

from __future__ import annotations

import argparse
import csv
import math
import pathlib

import numpy as np

from lemmata.numerics import dsf

TITLES = {"linear_attention": "linear attention (elu+1)", "normalized_attention": "normalised attention (exp)",
          "softmax_taylor": "softmax, Taylor P = 2", "softmax": "softmax (N = inf)", "s6": "S6 (Mamba)",
          "ssd": "SSD (Mamba-2)", "retnet": "RetNet", "qlstm": "qLSTM", "rg_lru": "RG-LRU",
          "rg_lru_expanded": "RG-LRU, state-expanded"}


def phi_blocks(L: int, d: int = 4, n: int = 4, seed: int = 0) -> dict:
    """The channel-0 block of Phi for every architecture on one input (L, d)."""
    u = np.random.default_rng(seed).normal(size=(L, d))
    out = {}
    for name in dsf.ARCHITECTURES:
        model = dsf.from_architecture(name, dsf.random_params(name, d, 1 if name in ("qlstm", "rg_lru") else n,
                                                             seed=seed), d)
        Phi = model.materialize(u).reshape(L, d, L, d)
        assert np.allclose(Phi.reshape(L * d, L * d) @ u.ravel(), model.run(u).ravel(), rtol=1e-10, atol=1e-12)
        out[name] = Phi[:, 0, :, 0]
    return out


def taylor_errors(orders, L: int = 64, d: int = 4, m: int = 2, seed: int = 0) -> list:
    """Max |y_approx - y_softmax| / max |v| for Taylor features of each order and for elu+1 linear
    attention, with W_Q rescaled so that max |q.k|/sqrt(m) = 1."""
    p = dsf.random_params("softmax", d, m, seed=seed)
    u = np.random.default_rng(seed + 1).normal(size=(L, d))
    q, k = u @ p["W_Q"].T, u @ p["W_K"].T
    p["W_Q"] = p["W_Q"] * math.sqrt(m) / float(np.max(np.abs(np.tril(q @ k.T))))
    soft = dsf.from_architecture("softmax", p, d).run(u)
    vmax = float(np.max(np.abs(u @ p["W_V"].T)))
    rows = []
    for P in orders:
        y = dsf.from_architecture("softmax_taylor", dict(p, order=P), d).run(u)
        rows.append({"model": f"Taylor P={P}", "P": P, "n": sum(m ** r for r in range(P + 1)),
                     "error": float(np.max(np.abs(y - soft))) / vmax})
    y = dsf.from_architecture("linear_attention", {k: p[k] for k in ("W_Q", "W_K", "W_V")}, d).run(u)
    rows.append({"model": "linear (elu+1)", "P": None, "n": m, "error": float(np.max(np.abs(y - soft))) / vmax})
    return rows


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out", help="output folder (default out/)")
    parser.add_argument("--L", type=int, default=24, help="sequence length of the heat maps (default 24)")
    parser.add_argument("--max-order", type=int, default=8, help="largest Taylor order (default 8)")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import SymLogNorm

    blocks = phi_blocks(args.L)
    errors = taylor_errors(range(0, args.max_order + 1))
    rows = [{"panel": "phi", "model": name, "max_abs_phi": float(np.max(np.abs(B))),
             "diagonal_mean": float(np.mean(np.diag(B))), "row_L_sum": float(B[-1].sum())}
            for name, B in blocks.items()]
    rows += [{"panel": "softmax_error", **r} for r in errors]

    fig = plt.figure(figsize=(17, 7.2), constrained_layout=True)
    grid = fig.add_gridspec(2, 7, width_ratios=[1, 1, 1, 1, 1, 0.08, 1.6])
    for index, (name, B) in enumerate(blocks.items()):
        ax = fig.add_subplot(grid[index // 5, index % 5])
        scale = float(np.max(np.abs(B)))
        image = ax.imshow(B / scale, cmap="RdBu_r", norm=SymLogNorm(linthresh=1e-3, vmin=-1.0, vmax=1.0))
        ax.set_title(f"{TITLES[name]}\nmax |Phi| = {scale:.2g}", fontsize=9)
        ax.set_xlabel("input step j", fontsize=8)
        ax.set_ylabel("output step i", fontsize=8)
        ax.tick_params(labelsize=7)
    cax = fig.add_subplot(grid[:, 5])
    fig.colorbar(image, cax=cax).set_label(r"$\Phi_{ij}\,/\,\max|\Phi|$ (channel 0, symmetric log scale)")
    ax = fig.add_subplot(grid[:, 6])
    taylor = [r for r in errors if r["P"] is not None]
    ax.semilogy([r["n"] for r in taylor], [r["error"] for r in taylor], "o-", label="Taylor features, P = 0..%d" % args.max_order)
    for r in taylor:
        ax.annotate(f"P={r['P']}", (r["n"], r["error"]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    lin = errors[-1]
    ax.semilogy([lin["n"]], [lin["error"]], "s", color="C3", label="linear attention, elu+1 (n = m = 2)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("states per channel n")
    ax.set_ylabel(r"max$|y - y_{\rm softmax}|$ / max$|v|$")
    ax.set_title("softmax = infinite-state limit\n(logits |q.k|/sqrt(m) <= 1, L = 64)", fontsize=10)
    ax.set_xlim(0.7, 2 ** (args.max_order + 2.2))
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3, which="both")
    fig.suptitle("DSF (arXiv:2405.15731): materialised operators y = Phi u on one input, d = 4, n = 4", fontsize=12)
    fig.savefig(out / "dsf_compare.png", dpi=110)
    plt.close(fig)
    keys = sorted({k for r in rows for k in r})
    with open(out / "dsf_compare.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    return rows


if __name__ == "__main__":
    main()
