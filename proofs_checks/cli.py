"""The ``lemmata`` command: ``lemmata check`` and ``lemmata derive``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analysis.errors import LemmataError

from . import __version__
from .catalogue import PAPERS, load_checks, select
from .check import run_check
from .derive import TOPICS, format_plain, parse_point, topic_document
from .report import format_table, to_json, to_markdown

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lemmata", description="Check theorems numerically and derive closed forms.")
    parser.add_argument("--version", action="version", version=f"lemmata {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="run the theorem catalogue")
    check.add_argument("--paper", choices=sorted(PAPERS), help="only this paper's checks")
    check.add_argument("--key", help="only the check with this key (globs allowed)")
    check.add_argument("--full", action="store_true", help="include the slow checks")
    check.add_argument("--backend", default="numba", choices=("numba", "numpy", "cupy"),
                       help="kernel backend for the numeric sides (default numba)")
    check.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    check.add_argument("--json", metavar="FILE", help="write the JSON report to FILE")
    check.add_argument("--markdown", metavar="FILE", help="write a Markdown report to FILE")
    check.add_argument("--list", action="store_true", help="list the selected checks and exit")

    derive = commands.add_parser("derive", help="print the closed forms of a topic")
    topics = derive.add_subparsers(dest="topic", required=True, metavar="TOPIC")
    for topic in TOPICS.values():
        sub = topics.add_parser(topic.name, help=topic.help, description=topic.help)
        topic.add_arguments(sub)
        sub.add_argument("--at", nargs="+", metavar="NAME=VALUE",
                         help="evaluate every closed form at this point")
        fmt = sub.add_mutually_exclusive_group()
        fmt.add_argument("--latex", action="store_true", help="print LaTeX")
        fmt.add_argument("--json", action="store_true", help="print the JSON document")
    return parser


def _check(args) -> int:
    if args.seed < 0:
        raise LemmataError(f"`--seed` must be a non-negative integer; got {args.seed}.")
    checks = select(load_checks(), paper=args.paper, key=args.key, full=args.full)
    if args.list:
        for c in checks:
            print(f"{c.key}  [{c.cost}]  {c.statement}")
        return 0
    reports = []
    for c in checks:
        report = run_check(c, seed=args.seed, backend=args.backend)
        reports.append(report)
        print(f"{report.status:>20}  {c.key}  ({report.seconds:.2f} s)", file=sys.stderr, flush=True)
    print(format_table(reports))
    if args.json:
        Path(args.json).write_text(to_json(reports, args.seed))
    if args.markdown:
        Path(args.markdown).write_text(to_markdown(reports, args.seed))
    return 1 if any(r.status in ("fail", "error") for r in reports) else 0


def _derive(args) -> int:
    topic = TOPICS[args.topic]
    derivation = topic.build(args)
    point = parse_point(args.at, derivation)
    if point:
        violated = derivation.check_assumptions(point)
        for sentence in violated:
            print(f"lemmata: warning: the point violates the assumption: {sentence}", file=sys.stderr)
    if args.json:
        print(json.dumps(topic_document(topic.name, derivation, point), indent=2))
    elif args.latex:
        if topic.preamble is not None:
            print("\n".join(topic.preamble(args)))
        print(derivation.latex())
        if point:
            document = topic_document(topic.name, derivation, point)
            for name, result in document["results"].items():
                print(f"% {name} = {result['value']}")
    else:
        print(format_plain(topic.name, derivation, point))
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return _check(args)
        return _derive(args)
    except (LemmataError, ValueError) as exc:
        print(f"lemmata: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
