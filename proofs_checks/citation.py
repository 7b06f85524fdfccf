"""BibTeX of the papers in lemmata's scope and of lemmata itself (``lemmata cite``).

Like diffrax's ``citation()``: a check or a derivation names its paper by arXiv id, and
:func:`bibtex` prints what to cite for it. Entries cite the arXiv preprint (an ``@misc`` with
``eprint``); the venue is added in ``note`` only where it is confirmed in the paper briefs.
"""

from __future__ import annotations

from dataclasses import dataclass

from lemmata import __version__
from lemmata.analysis.errors import LemmataError

__all__ = ["Paper", "PAPERS", "bibtex", "lemmata_bibtex"]


@dataclass(frozen=True)
class Paper:
    """What is needed to cite one paper: its arXiv id, title, authors, year and venue (if known)."""

    arxiv: str
    title: str
    authors: tuple[str, ...]
    year: int
    venue: str = ""

    @property
    def key(self) -> str:
        surname = self.authors[0].split()[-1].lower()
        return f"{surname}{self.year}_{self.arxiv.replace('.', '_')}"

    def bibtex(self) -> str:
        fields = [("title", "{" + self.title + "}"), ("author", " and ".join(self.authors)),
                  ("year", str(self.year)), ("eprint", self.arxiv), ("archivePrefix", "arXiv")]
        if self.venue:
            fields.append(("note", self.venue))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        return f"@misc{{{self.key},\n{body}\n}}"


#: arXiv id -> Paper, for every paper in scope (titles and authors from the paper briefs)
PAPERS: dict[str, Paper] = {p.arxiv: p for p in (
    Paper("2407.04358", "NGN: An Adaptive Stochastic Gradient Method with Non-negative Gauss-Newton Stepsizes",
          ("Antonio Orvieto", "Lin Xiao"), 2024),
    Paper("2405.21064", "Recurrent neural networks: vanishing and exploding gradients are not the end of the story",
          ("Nicolas Zucchet", "Antonio Orvieto"), 2024, "NeurIPS 2024"),
    Paper("2307.11888", "Universality of Linear Recurrences Followed by Non-linear Projections: Finite-Width "
                        "Guarantees and Benefits of Complex Eigenvalues",
          ("Antonio Orvieto", "Soham De", "Caglar Gulcehre", "Razvan Pascanu", "Samuel L. Smith"), 2023,
          "ICML 2024"),
    Paper("2406.05033", "Gradient Descent on Logistic Regression with Non-Separable Data and Large Step Sizes",
          ("Si Yi Meng", "Antonio Orvieto", "Daniel Yiming Cao", "Christopher De Sa"), 2024),
    Paper("2507.11228", "Gradient Descent on Logistic Regression: Do Large Step-Sizes Work with Data on the Sphere?",
          ("Si Yi Meng", "Baptiste Goujaud", "Antonio Orvieto", "Christopher De Sa"), 2025),
    Paper("2402.12508", "SDEs for Minimax Optimization",
          ("Enea Monzio Compagnoni", "Antonio Orvieto", "Hans Kersting", "Frank Norbert Proske",
           "Aurelien Lucchi"), 2024, "AISTATS 2024, PMLR 238:4834-4842"),
    Paper("2312.01538", "Recurrent Distance Filtering for Graph Representation Learning",
          ("Yuhui Ding", "Antonio Orvieto", "Bobby He", "Thomas Hofmann"), 2023, "ICML 2024"),
    Paper("2402.19047", "Theoretical Foundations of Deep Selective State-Space Models",
          ("Nicola Muca Cirone", "Antonio Orvieto", "Benjamin Walker", "Cristopher Salvi", "Terry Lyons"),
          2024, "NeurIPS 2024"),
    Paper("2405.15731", "Understanding the differences in Foundation Models: Attention, State Space Models, "
                        "and Recurrent Neural Networks",
          ("Jerome Sieber", "Carmen Amo Alonso", "Alexandre Didier", "Melanie N. Zeilinger", "Antonio Orvieto"),
          2024, "NeurIPS 2024"),
    Paper("2402.17457", "Super Consistency of Neural Network Landscapes and Learning Rate Transfer",
          ("Lorenzo Noci", "Alexandru Meterez", "Thomas Hofmann", "Antonio Orvieto"), 2024, "NeurIPS 2024"),
    Paper("2403.10696", "On the low-shot transferability of [V]-Mamba",
          ("Diganta Misra", "Jay Gala", "Antonio Orvieto"), 2024),
)}


def lemmata_bibtex() -> str:
    """The BibTeX entry of lemmata itself, with the installed version."""
    return ("@software{lemmata,\n"
            "  title = {lemmata: symbolic-plus-numeric checks of theorems on learning dynamics and "
            "sequence models},\n"
            "  author = {{The lemmata developers}},\n"
            "  year = {2026},\n"
            f"  version = {{{__version__}}}\n"
            "}")


def bibtex(papers=None, *, include_lemmata: bool = True) -> str:
    """BibTeX of ``papers`` (arXiv ids; default: every paper in scope), then of lemmata.

    Raises
    ------
    LemmataError
        If an id is not a paper in scope (the message lists them).
    """
    ids = list(PAPERS) if papers is None else [papers] if isinstance(papers, str) else list(papers)
    unknown = [p for p in ids if p not in PAPERS]
    if unknown:
        raise LemmataError(f"`paper` must be one of {sorted(PAPERS)}; got {unknown[0]!r}.")
    entries = [PAPERS[p].bibtex() for p in ids]
    if include_lemmata:
        entries.append(lemmata_bibtex())
    return "\n\n".join(entries) + "\n"
