"""The ``lemmata`` command: ``lemmata check``, ``lemmata derive`` and ``lemmata study``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lemmata.analysis.errors import AssumptionError, BackendUnavailableError, LemmataError

from . import __version__, continuation_cli
from .catalogue import PAPERS, load_checks, select
from .check import run_check
from .derive import TOPICS, format_plain, parse_point, topic_document
from .report import GAP_LEGEND, format_table, to_json, to_markdown

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lemmata", description="Check theorems numerically and derive closed forms.")
    parser.add_argument("--version", action="version", version=f"lemmata {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser(
        "check", help="run the theorem catalogue",
        description="Run the theorem catalogue: each check compares a closed form (symbolic) with a "
                    "kernel, simulation or independent algorithm (numeric) at its points. The key of "
                    "each check is printed to stderr as it starts, its status when it ends; the "
                    "table goes to stdout.",
        epilog=GAP_LEGEND, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("--paper", choices=sorted(PAPERS), help="only this paper's checks")
    check.add_argument("--key", help="only the check with this key (globs allowed)")
    check.add_argument("--full", action="store_true", help="include the slow checks")
    check.add_argument("--backend", default="numba", choices=("numba", "numpy", "cupy"),
                       help="kernel backend for the numeric sides (default numba)")
    check.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    check.add_argument("--json", metavar="FILE", help="write the JSON report to FILE")
    check.add_argument("--markdown", metavar="FILE", help="write a Markdown report to FILE")
    check.add_argument("--list", action="store_true", help="list the selected checks and exit")
    check.add_argument("--allow-skip", action="store_true",
                       help="run even when the requested backend is missing (its checks are "
                            "reported as skipped, with the reason); without it that is an error")

    derive = commands.add_parser("derive", help="print the closed forms of a topic")
    topics = derive.add_subparsers(dest="topic", required=True, metavar="TOPIC")
    for topic in TOPICS.values():
        sub = topics.add_parser(topic.name, help=topic.help, description=topic.help,
                                epilog=getattr(topic, "epilog", "") or None,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
        topic.add_arguments(sub)
        sub.add_argument("--at", nargs="+", metavar="NAME=VALUE",
                         help="evaluate every closed form at this point (exact values: 0.1 is "
                              "1/10; symbols listed below); default: no point, closed forms only")
        fmt = sub.add_mutually_exclusive_group()
        fmt.add_argument("--latex", action="store_true",
                         help="print LaTeX (an aligned block) instead of the pretty-printed text")
        fmt.add_argument("--json", action="store_true",
                         help="print the JSON document {topic, symbols, results: {NAME: {expr, "
                              "latex, value, why}}} instead of text")
    study = commands.add_parser("study", help="run a Monte Carlo study described in TOML",
                                description="Run (and resume) a study: every finished task is kept "
                                            "in the study's SQLite store, so running again continues "
                                            "where it stopped.")
    study.add_argument("spec", help="the study's TOML file")
    study.add_argument("--executor", choices=("inline", "processes", "dask"), default="inline",
                       help="where tasks run (default inline)")
    study.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (with --executor dask; "
                                                            "default: a LocalCluster)")
    study.add_argument("--workers", type=int, help="processes or LocalCluster workers")
    study.add_argument("--resume", action="store_true",
                       help="continue an interrupted run (runs always resume: finished tasks are never "
                            "repeated; the flag makes it explicit in scripts)")
    study.add_argument("--retry-errors", action="store_true", help="run again the tasks that raised")
    study.add_argument("--new-version", action="store_true",
                       help="accept a store written by another code version of the study")
    study.add_argument("--export", metavar="FILE", help="write the results to FILE (.csv or .parquet)")
    study.add_argument("--no-progress", action="store_true", help="no progress bar")

    cite = commands.add_parser("cite", help="print the BibTeX of the papers and of lemmata",
                               description="BibTeX of the papers in scope (or of one) and of lemmata.")
    cite.add_argument("--paper", action="append", metavar="ID",
                      help="only this paper (arXiv id; repeat for several); default every paper in scope")
    continuation_cli.add_parser(commands)
    return parser


def check_writable(path, option: str) -> Path:
    """Fail before any work when ``path`` (the value of ``option``) cannot be written: a
    directory, a missing or non-directory parent, or no permission (tested by creating a
    temporary file beside it, so that it holds for root too). Nothing is left behind."""
    import tempfile

    target = Path(path)
    if target.is_dir():
        raise LemmataError(f"cannot write {option} {str(target)!r}: it is a directory.")
    parent = target.parent
    if not parent.is_dir():
        raise LemmataError(f"cannot write {option} {str(target)!r}: the directory {str(parent)!r} "
                           f"does not exist.")
    try:
        if target.exists():
            with open(target, "ab"):
                pass
        else:
            with tempfile.NamedTemporaryFile(dir=parent, prefix=".lemmata-write-test-"):
                pass
    except OSError as exc:
        raise LemmataError(f"cannot write {option} {str(target)!r}: {exc.strerror or exc}.") from None
    return target


def _study(args) -> int:
    from lemmata.numerics.study import load_spec

    if args.scheduler and args.executor != "dask":
        raise LemmataError("`--scheduler` needs `--executor dask`.")
    if args.workers is not None and args.workers < 1:
        raise LemmataError(f"`--workers` must be a positive integer; got {args.workers}.")
    if args.export:
        if Path(args.export).suffix.lower() not in (".csv", ".parquet"):
            raise LemmataError(f"`--export` must name a .csv or .parquet file; got {args.export!r}.")
        check_writable(args.export, "--export")
    spec = load_spec(args.spec, new_version=args.new_version)
    study = spec.study
    before = len(study.tasks) - len(study.pending(args.retry_errors))
    if before:
        print(f"resuming {study.name!r}: {before} of {len(study.tasks)} tasks already finished", file=sys.stderr)
    summary = study.run(args.executor, scheduler=args.scheduler,
                        progress=False if args.no_progress else None,
                        max_workers=args.workers, retry_errors=args.retry_errors)
    print(f"study {study.name!r}: {summary.n_executed} tasks run, {summary.n_skipped} already finished, "
          f"{summary.n_errors} failed, {summary.seconds:.1f} s; store {study.store_path}")
    if args.export:
        print(f"exported {study.export(args.export)}")
    if spec.figure.get("path"):
        options = {k: spec.figure[k] for k in ("hue", "facet", "logx", "logy") if k in spec.figure}
        study.plot(spec.figure["metric"], spec.figure["x"], path=spec.figure["path"], **options)
        print(f"figure {spec.figure['path']}")
    if summary.n_errors or study.errors():
        print(f"{len(study.errors())} tasks raised; see Study.errors() or rerun with --retry-errors",
              file=sys.stderr)
        return 1
    return 0


def _check(args) -> int:
    if args.seed < 0:
        raise LemmataError(f"`--seed` must be a non-negative integer; got {args.seed}.")
    if args.seed >= 2 ** 64:
        raise LemmataError(f"`--seed` must be below 2**64; got {args.seed}.")
    for option, path in (("--json", args.json), ("--markdown", args.markdown)):
        if path:
            check_writable(path, option)
    # only the named paper's module is imported when --paper is given (a key glob needs them all)
    checks = select(load_checks([args.paper] if args.paper else None), paper=args.paper, key=args.key,
                    full=args.full)
    if args.list:
        for c in checks:
            print(f"{c.key}  [{c.cost}]  {c.statement}")
        return 0
    if not args.allow_skip:
        from lemmata.numerics import backends

        try:
            backends.get(args.backend)
        except BackendUnavailableError as exc:
            raise LemmataError(f"`--backend {args.backend}`: {exc} Pass --allow-skip to run anyway "
                               f"and report its checks as skipped.") from None
    reports = []
    live = sys.stderr.isatty()      # on a terminal the running line is replaced by the status line
    for i, c in enumerate(checks, start=1):
        print(f"running {c.key} ({i}/{len(checks)}) ...", file=sys.stderr, flush=True,
              end="" if live else "\n")
        report = run_check(c, seed=args.seed, backend=args.backend)
        reports.append(report)
        print(("\r\033[K" if live else "") + f"{report.status:>20}  {c.key}  ({report.seconds:.2f} s)",
              file=sys.stderr, flush=True)
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
        if violated:
            raise AssumptionError(f"the `--at` point violates the assumptions of topic {topic.name!r}: "
                                  f"{'; '.join(violated)}.")
    if args.json:
        print(json.dumps(topic_document(topic.name, derivation, point), indent=2))
    elif args.latex:
        if topic.preamble is not None:
            print("\n".join(topic.preamble(args)))
        print(derivation.latex())
        if point:
            document = topic_document(topic.name, derivation, point)
            for name, result in document["results"].items():
                shown = (repr(result["value"]) if not isinstance(result["value"], list) else result["value"]) \
                    if result["why"] is None else f"no value: {result['why']}"
                print(f"% {name} = {shown}")
    else:
        print(format_plain(topic.name, derivation, point))
    return 0


def main(argv=None) -> int:
    """Run ``lemmata``; returns the exit status: 0 success, 1 a check failed (or a study task
    raised), 2 bad input or an environment fault, printed as ``lemmata: error: ...`` (never a
    traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "study":
            return _study(args)
        if args.command == "cite":
            from .citation import bibtex

            print(bibtex(args.paper), end="")
            return 0
        if args.command == "continue":
            return continuation_cli.run(args)
        return _derive(args)
    except (LemmataError, ValueError, TypeError, ImportError) as exc:   # AssumptionError is both
        print(f"lemmata: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        print(f"lemmata: error: cannot access{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except RecursionError as exc:
        print(f"lemmata: error: the input is nested too deeply ({exc})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lemmata: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
