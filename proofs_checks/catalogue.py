"""The catalogue: one module per paper under ``lemmata.proofs_checks.papers``, each exporting ``CHECKS``."""

from __future__ import annotations

import fnmatch
import importlib

__all__ = ["PAPERS", "load_checks", "select"]

#: arXiv id -> (module, short title). A paper without a module yet has None.
PAPERS = {
    "2407.04358": ("lemmata.proofs_checks.papers.ngn", "NGN: non-negative Gauss-Newton stepsizes"),
    "2405.21064": ("lemmata.proofs_checks.papers.memory", "Curse of memory in RNNs"),
    "2307.11888": ("lemmata.proofs_checks.papers.universality", "Universality of linear recurrences"),
    "2406.05033": ("lemmata.proofs_checks.papers.logistic_gd", "GD on logistic regression with large steps"),
    "2402.12508": ("lemmata.proofs_checks.papers.minimax_sde", "SDEs for minimax optimisers"),
    "2312.01538": ("lemmata.proofs_checks.papers.gred", "GRED: recurrent distance filtering on graphs"),
    "2402.19047": ("lemmata.proofs_checks.papers.signatures", "Selective SSMs, linear CDEs and path signatures"),
    "2402.17457": ("lemmata.proofs_checks.papers.mup", "Sharpness, the NTK and learning-rate transfer under muP"),
    "2405.15731": ("lemmata.proofs_checks.papers.dsf", "DSF: attention, SSMs and RNNs as one linear system"),
    "2403.10696": ("lemmata.proofs_checks.papers.transfer", "Low-shot transfer of [V]-Mamba: LP vs VP with ILM"),
}


def load_checks(papers=None) -> list:
    """All declared checks of ``papers`` (default: every paper), in catalogue order."""
    ids = list(PAPERS) if papers is None else list(papers)
    checks = []
    for paper in ids:
        if paper not in PAPERS:
            raise ValueError(f"`paper` must be one of {sorted(PAPERS)}; got {paper!r}.")
        module = importlib.import_module(PAPERS[paper][0])
        checks.extend(module.CHECKS)
    keys = [c.key for c in checks]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise RuntimeError(f"check keys declared twice: {duplicates}")
    return checks


def select(checks, *, paper=None, key=None, full=False) -> list:
    """Filter ``checks``: by paper id, by key (exact or a glob such as ``'2407.04358/*bound*'``),
    and dropping ``slow`` checks unless ``full``. A key names a check explicitly, so it is
    selected even when slow."""
    chosen = list(checks)
    if paper is not None:
        # a check's paper is the prefix of its key; a paper's module may also hold a follow-up's
        # claim (2406.05033 holds 2507.11228's), selected with its host paper
        module = PAPERS.get(paper, (None,))[0]
        chosen = [c for c in chosen if c.paper == paper or getattr(c.numeric, "__module__", None) == module]
    if key is not None:
        chosen = [c for c in chosen if c.key == key or fnmatch.fnmatchcase(c.key, key)]
        if not chosen:
            raise ValueError(f"`--key` {key!r} matches no check; `lemmata check --list` lists them.")
    elif not full:
        chosen = [c for c in chosen if c.cost == "fast"]
    return chosen

