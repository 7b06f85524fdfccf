"""Task function of the few-shot transfer study (``examples/fewshot_transfer.toml``): one
(backbone, size, dataset, budget, method, seed) cell of the CPU-scale proxy of arXiv:2403.10696,
through :func:`lemmata.numerics.torch_transfer.transfer_task` (needs the ``deep`` extra).

    lemmata study examples/fewshot_transfer.toml --export out/fewshot_transfer_study.csv
"""

from __future__ import annotations


def run(backbone: str, size: str, dataset: str, budget: int, method: str, seed: int, vp_epochs: int = 10,
        pretrain_epochs: int = 10, pretrain_per_class: int = 40) -> dict:
    import torch

    from lemmata.numerics.torch_transfer import transfer_task

    torch.set_num_threads(1)          # one thread per task: no oversubscription under the process executor
    out = transfer_task(backbone, size, dataset, budget, method, seed, vp_epochs=vp_epochs,
                        pretrain_epochs=pretrain_epochs, pretrain_per_class=pretrain_per_class)
    out["model"] = f"{backbone}-{size}"
    return out
