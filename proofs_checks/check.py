"""Declared theorem checks, their tolerances, and the reports they produce.

A :class:`Check` holds a claim and two ways of computing it: ``symbolic(point)`` (a closed form,
exact arithmetic or high-precision evaluation) and ``numeric(point, ctx)`` (a kernel, a
simulation or an independent algorithm, returning a number or an :class:`Estimate`). The
tolerance decides, per point, whether the gap between them is consistent with the claim.

Statuses: ``pass``; ``fail``; ``inconclusive`` (the error bar is wider than the tolerance);
``assumptions-violated`` (the point breaks the hypotheses); ``skipped`` (a backend or package
is missing, with the reason); ``error`` (the computation raised).
"""

from __future__ import annotations

import math
import platform
import time
import traceback
import zlib
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from lemmata.analysis.errors import AssumptionError, BackendUnavailableError
from lemmata.numerics.stats import Estimate

__all__ = [
    "Exact", "MonteCarlo", "Order", "Bound", "Check", "RunContext", "PointResult",
    "CheckReport", "run_check", "STATUSES", "versions",
]

STATUSES = ("pass", "fail", "inconclusive", "assumptions-violated", "skipped", "error")
_EPS = np.finfo(float).eps


# ------------------------------------------------------------------------------ tolerances
@dataclass(frozen=True)
class Exact:
    """``|numeric - symbolic| <= atol + rtol |symbolic|`` (deterministic computations)."""

    rtol: float = 1e-12
    atol: float = 0.0

    def judge(self, symbolic, numeric, stderr):
        gap = abs(numeric - symbolic)
        bound = self.atol + self.rtol * abs(symbolic)
        return ("pass" if gap <= bound else "fail"), gap, bound

    def describe(self) -> str:
        return f"exact (rtol={self.rtol:g}, atol={self.atol:g})"


@dataclass(frozen=True)
class MonteCarlo:
    """``|numeric - symbolic| <= n_sigma * stderr + bias``, with ``bias`` a declared systematic error
    (discretisation, burn-in). Inconclusive when ``stderr > max_stderr`` (too few paths to test)."""

    n_sigma: float = 4.0
    bias: float = 0.0
    max_stderr: float | None = None

    def judge(self, symbolic, numeric, stderr):
        if stderr is None or not math.isfinite(stderr):
            raise ValueError("a MonteCarlo tolerance needs an Estimate with a finite stderr.")
        gap = abs(numeric - symbolic)
        bound = self.n_sigma * stderr + self.bias
        if self.max_stderr is not None and stderr > self.max_stderr:
            return "inconclusive", gap, bound
        return ("pass" if gap <= bound else "fail"), gap, bound

    def describe(self) -> str:
        return f"monte-carlo ({self.n_sigma:g} sigma + bias {self.bias:g})"


@dataclass(frozen=True)
class Order:
    """A fitted slope (``numeric``, an Estimate) within ``slack`` of the order ``symbolic``.
    Inconclusive when the slope's standard error exceeds the slack."""

    slack: float = 0.2

    def judge(self, symbolic, numeric, stderr):
        gap = abs(numeric - symbolic)
        if stderr is not None and stderr > self.slack:
            return "inconclusive", gap, self.slack
        return ("pass" if gap <= self.slack else "fail"), gap, self.slack

    def describe(self) -> str:
        return f"order (slack {self.slack:g})"


@dataclass(frozen=True)
class Bound:
    """A one-sided claim. ``side="upper"``: numeric <= symbolic; ``"lower"``: numeric >= symbolic.
    The gap is the signed excess (negative when the claim holds with room); it is allowed up to
    ``n_sigma * stderr + slack + rtol |symbolic|`` (``slack`` covers declared round-off)."""

    side: str = "upper"
    n_sigma: float = 4.0
    slack: float = 0.0
    rtol: float = 0.0

    def __post_init__(self):
        if self.side not in ("upper", "lower"):
            raise ValueError(f"`side` must be 'upper' or 'lower'; got {self.side!r}.")

    def judge(self, symbolic, numeric, stderr):
        gap = numeric - symbolic if self.side == "upper" else symbolic - numeric
        bound = self.slack + self.rtol * abs(symbolic) + self.n_sigma * (stderr or 0.0)
        return ("pass" if gap <= bound else "fail"), gap, bound

    def describe(self) -> str:
        rel = "<=" if self.side == "upper" else ">="
        return f"bound (numeric {rel} symbolic; {self.n_sigma:g} sigma, slack {self.slack:g})"


# ------------------------------------------------------------------------------ checks
@dataclass(frozen=True)
class RunContext:
    """What a numeric side receives besides the point: the seed, the backend, and the point's
    index. :meth:`seed_sequence` gives a stream that depends on (seed, check key, point index)
    only, so a check run alone reproduces its numbers from the full catalogue run."""

    seed: int
    backend: str
    key: str
    index: int

    def seed_sequence(self) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(self.key.encode()), self.index))


@dataclass(frozen=True)
class Check:
    """A theorem check, declared.

    Parameters
    ----------
    key : str
        ``"<arXiv id>/<short-name>"``.
    statement, source : str
        The claim in words, and where it comes from.
    symbolic : callable(point) -> float
    numeric : callable(point, RunContext) -> float or Estimate
    points : sequence of dict
        Parameter points (JSON-friendly values).
    tolerance : Exact | MonteCarlo | Order | Bound
    cost : "fast" | "slow"
    assumptions : callable(point) -> list of str, optional
        The hypotheses the point violates (empty when it satisfies them).
    """

    key: str
    statement: str
    source: str
    symbolic: Callable
    numeric: Callable
    points: Sequence
    tolerance: object
    cost: str = "fast"
    assumptions: Callable | None = None

    def __post_init__(self):
        if "/" not in self.key:
            raise ValueError(f"`key` must look like '<paper>/<name>'; got {self.key!r}.")
        if self.cost not in ("fast", "slow"):
            raise ValueError(f"`cost` must be 'fast' or 'slow'; got {self.cost!r}.")
        if not self.points:
            raise ValueError(f"check {self.key!r} must declare at least one point.")

    @property
    def paper(self) -> str:
        return self.key.split("/", 1)[0]


@dataclass(frozen=True)
class PointResult:
    params: dict
    status: str
    symbolic: float | None = None
    numeric: float | None = None
    stderr: float | None = None
    gap: float | None = None
    bound: float | None = None
    message: str = ""

    def to_dict(self) -> dict:
        return {"params": _jsonable(self.params), "status": self.status,
                "symbolic": _num(self.symbolic), "numeric": _num(self.numeric),
                "stderr": _num(self.stderr), "gap": _num(self.gap), "bound": _num(self.bound),
                "message": self.message}


@dataclass(frozen=True)
class CheckReport:
    key: str
    paper: str
    statement: str
    source: str
    tolerance: str
    status: str
    points: tuple
    seed: int
    backend: str
    seconds: float
    message: str = ""
    versions: dict = field(default_factory=dict)

    @property
    def worst(self) -> PointResult | None:
        """The point whose gap is largest relative to its allowed bound."""
        judged = [p for p in self.points if p.gap is not None and p.bound is not None]
        if not judged:
            return None
        return max(judged, key=lambda p: _ratio(p.gap, p.bound))

    def to_dict(self) -> dict:
        return {"key": self.key, "paper": self.paper, "statement": self.statement,
                "source": self.source, "tolerance": self.tolerance, "status": self.status,
                "points": [p.to_dict() for p in self.points], "seed": self.seed,
                "backend": self.backend, "seconds": self.seconds, "message": self.message}


def _ratio(gap, bound):
    if bound > 0:
        return gap / bound
    return 0.0 if gap <= 0 else math.inf


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def versions() -> dict:
    import numba
    import scipy
    import sympy

    from . import __version__
    return {"lemmata": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "sympy": sympy.__version__, "numba": numba.__version__}


def _aggregate(statuses) -> str:
    for status in ("fail", "error", "inconclusive", "assumptions-violated"):
        if status in statuses:
            return status
    if statuses and all(s == "skipped" for s in statuses):
        return "skipped"
    return "pass"


def _evaluate_point(check: Check, point: dict, ctx: RunContext) -> PointResult:
    if check.assumptions is not None:
        violated = check.assumptions(point)
        if violated:
            return PointResult(point, "assumptions-violated", message="; ".join(violated))
    try:
        symbolic = float(check.symbolic(point))
        result = check.numeric(point, ctx)
    except AssumptionError as exc:
        return PointResult(point, "assumptions-violated", message=str(exc))
    except BackendUnavailableError as exc:
        return PointResult(point, "skipped", message=str(exc))
    except Exception as exc:  # a check must report, not crash the catalogue
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return PointResult(point, "error", message=tb)
    if isinstance(result, Estimate):
        numeric, stderr = result.value, result.stderr
        note = f"{result.n} samples" + (f", {result.n_excluded} excluded (diverged)"
                                        if result.n_excluded else "")
    else:
        numeric, stderr, note = float(result), None, ""
    try:
        status, gap, bound = check.tolerance.judge(symbolic, numeric, stderr)
    except ValueError as exc:
        return PointResult(point, "error", symbolic, numeric, stderr, message=str(exc))
    if not (math.isfinite(numeric) and math.isfinite(symbolic)):
        status, note = "fail", (note + "; " if note else "") + "non-finite value"
    return PointResult(point, status, symbolic, numeric, stderr, gap, bound, note)


def run_check(check: Check, *, seed: int = 0, backend: str = "numba") -> CheckReport:
    """Run every point of ``check`` and return its :class:`CheckReport` (never raises for a
    failing computation: that is reported as status ``error``)."""
    start = time.perf_counter()
    rows = []
    for index, point in enumerate(check.points):
        ctx = RunContext(seed, backend, check.key, index)
        rows.append(_evaluate_point(check, dict(point), ctx))
    status = _aggregate([r.status for r in rows])
    messages = sorted({r.message for r in rows if r.status in ("error", "skipped") and r.message})
    return CheckReport(check.key, check.paper, check.statement, check.source,
                       check.tolerance.describe(), status, tuple(rows), seed, backend,
                       time.perf_counter() - start, "; ".join(messages))
