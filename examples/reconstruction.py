"""Linear recurrences as lossless compressors (arXiv:2307.11888): how well the input sequence
can be read back from the final state, by node family.

Panels: cond(V) against L for nodes r * (roots of unity) (lines: the closed form r^-(L-1);
points: SVD); float64 reconstruction error against L for roots of unity, radius 0.99, LRU
initialisations (full circle / small arc of phases), equispaced real and Chebyshev nodes; and
cond(V) of real nodes against N in 60-digit arithmetic with the fitted growth rate.

    python examples/reconstruction.py --out out/reconstruction        # PNG + CSV, a few seconds
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
import numpy as np  # noqa: E402

from lemmata.analysis.vandermonde import reconstruction_condition  # noqa: E402
from lemmata.numerics import encoder  # noqa: E402
from lemmata.numerics.stats import fit_slope  # noqa: E402

FAMILIES = {
    "roots of unity": dict(family="roots"),
    "radius 0.99": dict(family="radius", r=0.99),
    "LRU, phases in [0, 2pi)": dict(family="lru", r_min=0.9, max_phase=2 * math.pi),
    "LRU, phases in [0, pi/10)": dict(family="lru", r_min=0.9, max_phase=math.pi / 10),
    "real equispaced": dict(family="real"),
    "Chebyshev": dict(family="chebyshev"),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/reconstruction")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    rows = []
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))

    lengths = np.arange(4, 129, 4)
    law = reconstruction_condition("radius", 16)["condition_number"]     # r**-15, derived by SymPy
    print(f"closed form at L = 16: cond = {law}; lines below: r**-(L-1)")
    for r in (1.0, 0.999, 0.99, 0.9):
        measured = [encoder.condition_number(encoder.nodes("radius", L, r=r), L) for L in lengths]
        line, = axes[0].plot(lengths, r ** -(lengths - 1.0), lw=1, label=f"r = {r}")
        axes[0].plot(lengths, measured, "o", ms=3, color=line.get_color())
        rows += [{"panel": "radius", "family": f"r={r}", "L": int(L), "condition_number": c,
                  "closed_form": r ** -(L - 1.0), "error": ""} for L, c in zip(lengths, measured)]
    axes[0].set_yscale("log")
    axes[0].set_xlabel("$L = N$")
    axes[0].set_ylabel(r"$\mathrm{cond}(V)$")
    axes[0].set_title(r"$r\,\times$ roots of unity: $\mathrm{cond} = r^{-(L-1)}$")
    axes[0].legend(fontsize=8)

    for name, spec in FAMILIES.items():
        errors = []
        for L in lengths:
            spec_ = dict(spec)
            lam = encoder.nodes(spec_.pop("family"), int(L), seed=args.seed, **spec_)
            v = rng.normal(size=L)
            x = encoder.encode(lam, v)
            with np.errstate(all="ignore"):
                try:
                    error = float(np.max(np.abs(encoder.reconstruct(lam, x, int(L)) - v)))
                except np.linalg.LinAlgError:
                    error = float("inf")
            errors.append(error if np.isfinite(error) else 1e3)
            rows.append({"panel": "error", "family": name, "L": int(L), "condition_number": "",
                         "closed_form": "", "error": error})
        axes[1].plot(lengths, np.maximum(errors, 1e-17), "o-", ms=3, label=name)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("$L = N$")
    axes[1].set_ylabel(r"$\max|v - \hat v|$ (float64)")
    axes[1].set_title(r"reconstruction of $v$ from $x_L$")
    axes[1].set_ylim(top=1e13)   # room above the curves for the key
    axes[1].legend(fontsize=7, loc="upper center", ncol=2)

    Ns = np.arange(6, 41, 2)
    for family in ("real", "chebyshev"):
        conds = [encoder.condition_number(encoder.nodes(family, int(N)), int(N), dps=60) for N in Ns]
        slope = fit_slope(Ns.astype(float), np.log(conds))
        axes[2].plot(Ns, conds, "o-", ms=3, label=f"{family}: log cond ~ {slope.value:.3f} N")
        rows += [{"panel": "real", "family": family, "L": int(N), "condition_number": c,
                  "closed_form": "", "error": ""} for N, c in zip(Ns, conds)]
    axes[2].axhline(1e16, color="k", ls=":", lw=1, label="float64 saturation")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("$N = L$")
    axes[2].set_ylabel(r"$\mathrm{cond}(V)$ (60-digit SVD)")
    axes[2].set_title(f"real nodes (Chebyshev rate log(1+sqrt2) = {math.log(1 + math.sqrt(2)):.3f})")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "reconstruction.png", dpi=120)
    plt.close(fig)
    with open(out / "reconstruction.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out}/reconstruction.png and .csv in {time.perf_counter() - start:.1f} s")
    return rows


if __name__ == "__main__":
    main()
