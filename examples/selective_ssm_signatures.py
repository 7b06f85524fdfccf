"""Selective SSMs as linear CDEs (arXiv:2402.19047) at small scale.

Left: the paper's toy tasks. Random linear CDEs dZ = sum_i A_i Z d omega^i + B d xi with
omega = xi = [t, X], A_i ~ N(0, 1/N) dense or diagonal, a ridge readout on Z_T; test RMSE divided
by the predict-zero RMSE as the width N grows. The signed area S^{12} is learnt by both; the
volume S^{123} only with dense A_i (diagonal A_i see the path through increments only). A ridge
readout on the depth-3 signature of omega is the reference.

Right: random Gaussian transitions project the signature. The Frobenius deviation of the Gram
matrix of {A_I Z_0 / |Z_0|} (words up to length 2, d = 2) from the identity, and the RMS gap between
(1/N) <Z_T(X), Z_T(Y)> and the signature kernel <S(X), S(Y)>, both with N^(-1/2) slopes.

    python examples/selective_ssm_signatures.py --out out/ssm      # PNG + CSV, about a minute on 2 cores
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

from lemmata.numerics import cde  # noqa: E402
from lemmata.numerics.signature import signature, signature_kernel  # noqa: E402
from lemmata.numerics.stats import fit_slope, mean_estimate  # noqa: E402


def toy_tasks(widths, n_paths, seed):
    rows = []
    for task in ("area", "volume"):
        X, y = cde.toy_dataset(task, n_paths, seed=seed)
        omega = cde.time_augment(X)
        n_train = int(0.8 * n_paths)
        zero = cde.rmse(0.0 * y[n_train:], y[n_train:])
        feats = signature(omega, 3)
        ref = cde.ridge_readout(feats[:n_train], y[:n_train], alpha=1e-10)
        rows.append({"panel": "toy", "task": task, "model": "signature depth 3", "N": feats.shape[1],
                     "value": cde.rmse(ref.predict(feats[n_train:]), y[n_train:]) / zero, "stderr": ""})
        for kind in ("dense", "diagonal"):
            for N in widths:
                prediction, target = cde.toy_task(task, n_paths, N, diagonal=kind == "diagonal", seed=seed,
                                                  model_seed=seed + N)
                ratio = cde.rmse(prediction, target) / zero
                rows.append({"panel": "toy", "task": task, "model": kind, "N": N, "value": ratio, "stderr": ""})
                print(f"{task:6s} {kind:8s} N = {N:4d}: test RMSE / predict-zero = {ratio:.3f}")
    return rows


def projections(widths, reps, seed):
    rng = np.random.default_rng(seed)
    X = np.array([[0.0, 0.0], [0.4, 0.1], [0.5, 0.6], [0.2, 0.9]])
    Y = np.array([[0.0, 0.0], [0.1, 0.5], [0.7, 0.4], [0.6, -0.2], [0.9, 0.1]])
    k_xy = float(signature_kernel(X[None], Y[None], 14, backend="numpy")[0, 0])
    rows = []
    for N in widths:
        gram, gap = [], []
        for _ in range(reps):
            A = rng.normal(scale=1 / math.sqrt(N), size=(2, N, N))
            z = rng.normal(size=N)
            V = cde.word_vectors(A, z / np.linalg.norm(z), 2)
            gram.append(np.linalg.norm(V @ V.T - np.eye(V.shape[0])))
            value = cde.random_feature_kernel([X], [Y], N, seed=int(rng.integers(2 ** 63)))[0, 0]
            gap.append((value - k_xy) ** 2)
        g, s = mean_estimate(np.array(gram)), mean_estimate(np.array(gap))
        rows.append({"panel": "gram", "task": "", "model": "|G - I|_F", "N": N, "value": g.value, "stderr": g.stderr})
        rows.append({"panel": "kernel", "task": "", "model": "RMS gap", "N": N, "value": math.sqrt(s.value),
                     "stderr": 0.5 * s.stderr / math.sqrt(s.value)})
    return rows, k_xy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/ssm")
    parser.add_argument("--paths", type=int, default=2000, help="toy data set size (80/20 split)")
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128, 256])
    parser.add_argument("--reps", type=int, default=32, help="draws per width for the right panel")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows = toy_tasks(args.widths, args.paths, args.seed)
    proj, k_xy = projections([16, 32, 64, 128, 256, 512], args.reps, args.seed)
    rows += proj

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"dense": "o-", "diagonal": "s--"}
    for task, colour in (("area", "C0"), ("volume", "C3")):
        for kind in ("dense", "diagonal"):
            mine = [r for r in rows if r["panel"] == "toy" and r["task"] == task and r["model"] == kind]
            ax1.plot([r["N"] for r in mine], [r["value"] for r in mine], styles[kind], color=colour,
                     label=f"{task} ({'S^12' if task == 'area' else 'S^123'}), {kind} A_i")
    ax1.axhline(1.0, color="k", lw=1, ls=":", label="predict zero")
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log")
    ax1.set_xlabel("hidden width $N$")
    ax1.set_ylabel("test RMSE / predict-zero RMSE")
    refs = {r["task"]: r["value"] for r in rows if r["panel"] == "toy" and r["model"] == "signature depth 3"}
    ax1.set_ylim(1e-4, 2.0)
    ax1.set_title("toy tasks, random LCDE + ridge readout\n(readout on the depth-3 signature of omega: "
                  f"{refs['area']:.0e} area, {refs['volume']:.0e} volume)", fontsize=9)
    ax1.legend(fontsize=7)
    for panel, marker, label in (("gram", "o", "|Gram(A_I z) - I|_F, |I| <= 2"),
                                 ("kernel", "s", "RMS of (1/N)<Z(X), Z(Y)> - <S(X), S(Y)>")):
        mine = [r for r in rows if r["panel"] == panel]
        Ns = np.array([r["N"] for r in mine], dtype=float)
        vals = np.array([r["value"] for r in mine])
        slope = fit_slope(np.log(Ns), np.log(vals))
        ax2.errorbar(Ns, vals, yerr=[r["stderr"] for r in mine], fmt=marker,
                     label=f"{label}: slope {slope.value:.2f} +- {slope.stderr:.2f}")
        ax2.plot(Ns, vals[0] * (Ns / Ns[0]) ** -0.5, "k:", lw=0.8)
    ax2.set_xscale("log", base=2)
    ax2.set_yscale("log")
    ax2.set_xlabel("hidden width $N$")
    ax2.set_ylabel("error of the random projection (mean $\\pm$ s.e.)")
    ax2.set_title(f"random projections of the signature ($k(X, Y) = {k_xy:.4f}$)\ndotted: $N^{{-1/2}}$")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "selective_ssm_signatures.png", dpi=130)
    with open(out / "selective_ssm_signatures.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["panel", "task", "model", "N", "value", "stderr"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out}/selective_ssm_signatures.png and .csv in {time.perf_counter() - start:.1f} s")
    return rows


if __name__ == "__main__":
    main()
