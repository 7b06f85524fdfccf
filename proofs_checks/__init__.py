"""lemmata.proofs_checks: the theorem catalogue, its reports, and the ``lemmata`` CLI.

Nothing imports this package; it imports everything else.
"""

from lemmata import __version__

from .catalogue import PAPERS, load_checks, select
from .check import (Bound, Check, CheckReport, Exact, MonteCarlo, Order, PointResult, RunContext,
                    run_check)
from .report import catalogue_report, format_table, to_json, to_markdown

__all__ = [
    "__version__", "Check", "CheckReport", "PointResult", "RunContext", "Exact", "MonteCarlo",
    "Order", "Bound", "run_check", "PAPERS", "load_checks", "select", "catalogue_report",
    "format_table", "to_json", "to_markdown",
]
