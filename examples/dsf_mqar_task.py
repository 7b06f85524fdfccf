"""Task function of the DSF MQAR study (``examples/dsf_mqar.toml``, needs the ``deep`` extra):
train one small model on MQAR and report its query accuracy with the standard error over the
held-out sequences.

    lemmata study examples/dsf_mqar.toml --export out/dsf_mqar.csv
"""

from __future__ import annotations


def recall(model: str, n: int, d: int, lr: float, L: int, n_kv: int, seed: int, steps: int = 400,
           vocab: int = 64, batch: int = 64) -> dict:
    from lemmata.numerics.torch_dsf import train_mqar

    out = train_mqar(model, d=d, n=n, L=L, n_kv=n_kv, vocab=vocab, lr=lr, steps=steps, batch=batch, seed=seed)
    return {"accuracy": out["accuracy"], "accuracy_stderr": out["stderr"], "final_loss": out["loss"]}
