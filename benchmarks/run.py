"""Run the benchmarks side by side and print Markdown for benchmarks/RESULTS.md.

    python benchmarks/run.py                 # all benchmarks
    python benchmarks/run.py codegen_ngn     # one of them
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import machine  # noqa: E402

BENCHMARKS = sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default all): {', '.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {BENCHMARKS}")
    names = args.names or BENCHMARKS
    print(f"Machine: {machine()}; {datetime.date.today().isoformat()}\n")
    for name in names:
        module = importlib.import_module(f"bench_{name}")
        print(f"## {name}\n")
        print(module.main())
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
