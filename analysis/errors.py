"""The exception hierarchy shared by every lemmata package.

``analysis`` is the bottom of the import graph, so the exceptions live here and the other
packages re-export them.
"""

from __future__ import annotations

__all__ = [
    "LemmataError",
    "AssumptionError",
    "UnsupportedExpressionError",
    "BackendUnavailableError",
]


class LemmataError(Exception):
    """Base class of every error raised by lemmata itself."""


class AssumptionError(LemmataError, ValueError):
    """Inputs violate the hypotheses of a theorem or of a closed form."""


class UnsupportedExpressionError(LemmataError, NotImplementedError):
    """A code generator met an expression node it cannot print faithfully."""


class BackendUnavailableError(LemmataError, ImportError):
    """A numeric backend was requested whose library is not installed or has no device."""
