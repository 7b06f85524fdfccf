"""``lemmata continue SPEC.toml``: a bifurcation diagram by numerical continuation from the
command line, written as a PNG, a CSV of the branches and a CSV of the events (also printed).

A spec names the map and the continuation::

    [map]
    kind = "logistic-gd"          # GD on logistic regression: z (absorbed samples) and p (weights)
    z = [[1.0], [-1.0], [25.0]]   # or data = "file.csv" with columns z_1..z_d[, p]
    p = [0.5, 0.45, 0.05]
    # kind = "expression": state = ["x"], parameter = "r", map = ["r*x*(1 - x)"]

    [continuation]
    span = [1.0, 2.6]             # in eta lambda for logistic-gd, in the parameter otherwise
    start = "minimizer"           # or a list (a point of the cycle)
    period = 1
    cascade = true                # switch branches at flips up to max_period
    max_period = 8

    [output]
    dir = "out/continue"

Expressions are parsed with a whitelist (numbers, the declared symbols, ``+ - * / **``, exp, log,
sqrt, sin, cos, tanh), never evaluated.
"""

from __future__ import annotations

import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

from lemmata.analysis.errors import LemmataError

__all__ = ["add_parser", "run"]



def add_parser(subparsers):
    parser = subparsers.add_parser("continue", help="bifurcation diagram by continuation (TOML spec)",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", help="the TOML spec")
    parser.add_argument("--out", help="output directory (overrides [output] dir)")
    return parser


def _parse(text, names):
    """One map component: parsed by the shared whitelist parser (no eval), in the declared names."""
    import sympy as sp

    from lemmata.analysis.parsing import parse_expression

    if not isinstance(text, str):
        raise LemmataError(f"map components must be strings; got {text!r}.")
    return parse_expression(text, name=f"map component {text!r}",
                            symbols={n: sp.Symbol(n) for n in names})


def _build(spec, base: Path):
    import numpy as np
    import sympy as sp

    from lemmata.analysis import Derivation

    m = spec.get("map")
    if not isinstance(m, dict) or "kind" not in m:
        raise LemmataError("the spec needs a [map] table with `kind` = \"logistic-gd\" or \"expression\".")
    if m["kind"] == "logistic-gd":
        from lemmata.numerics.logistic import logistic_data

        if "data" in m:
            import csv
            with open(base / m["data"]) as handle:
                rows = list(csv.DictReader(handle))
            if not rows:
                raise LemmataError(f"the data file {m['data']!r} has no rows.")
            zcols = sorted(k for k in rows[0] if k.startswith("z"))
            z = np.array([[float(r[k]) for k in zcols] for r in rows])
            p = np.array([float(r["p"]) for r in rows]) if "p" in rows[0] else None
        else:
            if "z" not in m:
                raise LemmataError("[map] of kind logistic-gd needs `z` (and optionally `p`) or `data`.")
            z, p = np.array(m["z"], dtype=float), (np.array(m["p"], dtype=float) if "p" in m else None)
        data = logistic_data(z=z, p=p)
        return data.gd_map(), data.lam, data.minimizer, "eta lambda"
    if m["kind"] == "expression":
        state, parameter, comps = m.get("state"), m.get("parameter"), m.get("map")
        if not (isinstance(state, list) and state and all(isinstance(s, str) and s.isidentifier() for s in state)):
            raise LemmataError(f"[map] `state` must be a list of names; got {state!r}.")
        if not (isinstance(parameter, str) and parameter.isidentifier()):
            raise LemmataError(f"[map] `parameter` must be a name; got {parameter!r}.")
        if not (isinstance(comps, list) and len(comps) == len(state)):
            raise LemmataError(f"[map] `map` must hold one expression per state variable ({len(state)}); got {comps!r}.")
        names = tuple(state) + (parameter,)
        exprs = [_parse(c, names) for c in comps]
        symbols = [sp.Symbol(n) for n in names]
        return (Derivation("spec_map", tuple(symbols[:-1]), (symbols[-1],), {"map": sp.Matrix(exprs)}),
                1.0, None, parameter)
    raise LemmataError(f"[map] `kind` must be \"logistic-gd\" or \"expression\"; got {m['kind']!r}.")


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from lemmata.numerics import continuation

    path = Path(args.spec)
    try:
        spec = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise LemmataError(f"`spec` file {str(path)!r} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise LemmataError(f"`spec` {str(path)!r} is not valid TOML: {exc}.") from None
    step, scale, minimizer, xlabel = _build(spec, path.parent)
    c = spec.get("continuation", {})
    span = c.get("span")
    if not (isinstance(span, list) and len(span) == 2):
        raise LemmataError(f"[continuation] `span` must be a list [start, end]; got {span!r}.")
    eta_span = (float(span[0]) / scale, float(span[1]) / scale)
    start = c.get("start", "minimizer")
    if start == "minimizer":
        if minimizer is None:
            raise LemmataError("[continuation] `start` = \"minimizer\" needs kind = \"logistic-gd\"; give a point.")
        start = minimizer
    period = c.get("period", 1)
    if c.get("cascade", False):
        result = continuation.cascade(step, eta_span, start, max_period=int(c.get("max_period", 8)))
        branches = list(result.branches)
    else:
        branches = [continuation.continue_cycles(step, eta_span, start, period=period)]
    out = Path(args.out or spec.get("output", {}).get("dir", "out/continue"))
    out.mkdir(parents=True, exist_ok=True)
    import dataclasses

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for b in branches:
        events = tuple(dataclasses.replace(e, eta=e.eta * scale) for e in b.events)
        dataclasses.replace(b, eta=b.eta * scale, events=events, parameter=xlabel).plot(ax)
    ax.set_title(f"{path.stem}: branches by continuation (solid stable, dashed unstable; "
                 "v flip, s fold, D Neimark-Sacker)", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / f"{path.stem}.png", dpi=130)
    plt.close(fig)
    table = pd.concat([b.to_pandas() for b in branches], ignore_index=True)
    table.to_csv(out / f"{path.stem}_branches.csv", index=False)
    events = pd.concat([b.events_table() for b in branches if b.events] or [pd.DataFrame()], ignore_index=True)
    if len(events) and scale != 1.0:
        events[xlabel.replace(" ", "_")] = events[step.params[0].name] * scale
    events.to_csv(out / f"{path.stem}_events.csv", index=False)
    print(events.to_string() if len(events) else "no events")
    for b in branches:
        if b.status not in ("completed", "stopped-at-event"):
            print(f"period {b.period}: {b.status}: {b.message}", file=sys.stderr)
    print(f"wrote {out / (path.stem + '.png')}, {path.stem}_branches.csv, {path.stem}_events.csv")
    return 0
