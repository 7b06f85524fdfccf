"""lemmata.numerics: kernels compiled from derivations, optimisers, simulations."""

from lemmata.analysis.errors import AssumptionError, BackendUnavailableError, LemmataError, UnsupportedExpressionError

from . import backends
from .codegen import Kernel, compile_kernel, kernel_source

__all__ = [
    "compile_kernel",
    "Kernel",
    "kernel_source",
    "backends",
    "LemmataError",
    "AssumptionError",
    "UnsupportedExpressionError",
    "BackendUnavailableError",
]
