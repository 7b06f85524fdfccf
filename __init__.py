"""lemmata: closed forms (SymPy), kernels compiled from them (Numba, CuPy) and a theorem catalogue
that holds each paper's claims against both sides.

The subpackages are

- :mod:`lemmata.analysis`: derivations, closed forms, LaTeX (SymPy only);
- :mod:`lemmata.numerics`: code generation, kernels, simulations, studies;
- :mod:`lemmata.graphs`: distance chains, the GRED layer, WL refinements;
- :mod:`lemmata.proofs_checks`: the theorem catalogue, reports and the ``lemmata`` command.

``import lemmata`` is cheap: a subpackage is imported the first time it is used
(``lemmata.numerics``) or imported by name (``import lemmata.numerics``).
"""

from __future__ import annotations

import importlib
from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("lemmata")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "analysis", "numerics", "graphs", "proofs_checks"]

_SUBPACKAGES = frozenset({"analysis", "numerics", "graphs", "proofs_checks"})


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBPACKAGES)
