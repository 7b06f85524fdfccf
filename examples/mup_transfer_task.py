"""Task function of the learning-rate transfer study (``examples/mup_transfer.toml``).

One task = one run of the brief's CPU-scale proxy of arXiv:2402.17457 (3-layer ReLU MLP on teacher
data, cross-entropy, SGD) at one (scheme, width, base learning rate, seed): the final loss and the
preconditioned sharpness at a few snapshots (``lemmata.numerics.mlp.proxy_run``).

    lemmata study examples/mup_transfer.toml --export out/mup_transfer.csv
"""

from __future__ import annotations

from lemmata.numerics.mlp import proxy_run


def run(scheme: str, width: int, eta: float, seed: int, epochs: float = 3.0, n_snapshots: int = 6) -> dict:
    out = proxy_run(scheme, int(width), float(eta), seed, epochs=epochs, n_snapshots=n_snapshots)
    return {"loss": out["loss"], "diverged": out["diverged"], "steps": out["steps"],
            "sharpness": out["sharpness"], "final_sharpness": float(out["sharpness"][-1]) if len(out["sharpness"])
            else float("nan")}
