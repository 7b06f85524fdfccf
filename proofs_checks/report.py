"""Reports of a catalogue run: a terminal table, JSON (the schema other tools read), Markdown."""

from __future__ import annotations

import json

from .check import CheckReport, versions

__all__ = ["GAP_LEGEND", "catalogue_report", "format_table", "to_json", "to_markdown"]

#: What the "worst gap / allowed" column means, per tolerance kind (see :mod:`.check`)
GAP_LEGEND = """\
worst gap / allowed: the point with the largest ratio gap/allowed; a point passes when
gap <= allowed ("-" when no point was judged). Per tolerance kind:
  Exact       gap = |numeric - symbolic|;  allowed = atol + rtol |symbolic|
  MonteCarlo  gap = |numeric - symbolic|;  allowed = n_sigma stderr + bias (declared systematic
              error); inconclusive when stderr > max_stderr
  Order       gap = |fitted slope - claimed order|;  allowed = slack; inconclusive when the
              slope's stderr > slack
  Bound       gap = signed excess, numeric - symbolic (upper) or symbolic - numeric (lower),
              negative when the claim holds with room;  allowed = n_sigma stderr + slack
              + rtol |symbolic|"""


def catalogue_report(reports, seed: int) -> dict:
    """The JSON document: ``{"lemmata_version", "seed", "versions", "checks": [...]}``."""
    info = versions()
    return {"lemmata_version": info["lemmata"], "seed": seed, "versions": info,
            "checks": [r.to_dict() for r in reports]}


def to_json(reports, seed: int) -> str:
    return json.dumps(catalogue_report(reports, seed), indent=2, allow_nan=False)


def _worst(report: CheckReport) -> str:
    worst = report.worst
    if worst is None:
        return "-"
    return f"{worst.gap:.3g} / {worst.bound:.3g}"


def format_table(reports) -> str:
    """key | status | worst gap / allowed | seconds, one line per check, a summary line, the
    reason of every skip and the worst points of every failing, erroring or inconclusive check,
    then :data:`GAP_LEGEND`."""
    rows = [("key", "status", "worst gap / allowed", "seconds")]
    for r in reports:
        rows.append((r.key, r.status, _worst(r), f"{r.seconds:.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for j, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    counts = {}
    for r in reports:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    lines.append("")
    lines.append(f"{len(reports)} checks: {summary}")
    for r in reports:
        if r.status == "skipped" or any(p.status == "skipped" for p in r.points):
            reasons = sorted({p.message for p in r.points if p.status == "skipped" and p.message})
            lines.append(f"  {r.key} skipped: {'; '.join(reasons) or r.message or 'no reason given'}")
        if r.status in ("fail", "error", "inconclusive") :
            bad = [p for p in r.points if p.status == r.status][:3]
            for p in bad:
                lines.append(f"  {r.key} {p.status} at {p.params}: {p.message or ''} "
                             f"symbolic={p.symbolic} numeric={p.numeric} gap={p.gap} bound={p.bound}")
    lines.append("")
    lines.append(GAP_LEGEND)
    return "\n".join(lines)


def to_markdown(reports, seed: int) -> str:
    info = versions()
    lines = [f"# lemmata check report", "",
             f"seed {seed}; " + ", ".join(f"{k} {v}" for k, v in info.items()), "",
             "| key | status | statement | worst gap / allowed | seconds |",
             "|---|---|---|---|---|"]
    for r in reports:
        statement = r.statement.replace("|", "\\|")
        lines.append(f"| `{r.key}` | {r.status} | {statement} | {_worst(r)} | {r.seconds:.2f} |")
    return "\n".join(lines) + "\n"
