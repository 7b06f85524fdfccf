"""lemmata.analysis: closed forms with SymPy. Imports no numeric backend."""

from .derivation import Assumption, Derivation
from .errors import AssumptionError, BackendUnavailableError, LemmataError, UnsupportedExpressionError
from .rewrite import STABLE_REWRITES, RewriteRule, apply_rewrites

__all__ = [
    "Assumption",
    "Derivation",
    "LemmataError",
    "AssumptionError",
    "UnsupportedExpressionError",
    "BackendUnavailableError",
    "RewriteRule",
    "STABLE_REWRITES",
    "apply_rewrites",
]
