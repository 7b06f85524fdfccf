"""Topics of ``lemmata derive``: each turns command-line options into a Derivation to print.

JSON contract (every topic): ``{"topic", "symbols", "results": {NAME: {"expr", "latex",
"value"}}}`` where ``expr`` is the SymPy string, ``latex`` its LaTeX, and ``value`` the number at
the ``--at`` point (a list for matrices), or null when no point is given or a symbol is missing.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

import sympy as sp

from lemmata.analysis import dsf as adsf
from lemmata.analysis import logistic, ngn, recurrence, sde, signature, vandermonde
from lemmata.analysis.derivation import Derivation
from lemmata.analysis.errors import LemmataError

__all__ = ["Topic", "TOPICS", "parse_point", "topic_document", "format_plain"]


@dataclass(frozen=True)
class Topic:
    """A ``lemmata derive`` topic. ``preamble(args)``, when given, returns LaTeX lines that state
    where the closed forms come from (printed before them with ``--latex``)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    build: Callable[[argparse.Namespace], Derivation]
    preamble: Callable[[argparse.Namespace], list] | None = None


def _ngn_arguments(parser):
    parser.add_argument("--dim", type=int, default=1,
                        help="dimension of x (the gradient symbols are g_1..g_dim); default 1")
    parser.add_argument("--convention", choices=sorted(ngn.CONVENTIONS), default="paper",
                        help="weight of the squared residual in the LM subproblem; default paper")


def _ngn_build(args):
    if args.dim < 1:
        raise LemmataError(f"`--dim` must be a positive integer; got {args.dim}.")
    return ngn.derive_ngn(args.dim, args.convention)


def _ngn_preamble(args):
    objective, p = ngn.lm_objective(args.dim, args.convention)
    g = sp.Matrix(sp.symbols(f"g_1:{args.dim + 1}", real=True))
    gamma = ngn.derive_ngn(args.dim, args.convention)["stepsize"]
    p_vec = sp.latex(sp.Matrix(p).T) + "^{\\top}"
    return [
        f"% LM / Gauss-Newton subproblem on r = sqrt(f) ({args.convention} convention):",
        f"{p_vec} = \\arg\\min_{{p}}\\; {sp.latex(objective)}",
        f"% its solution is p = -gamma grad f with",
        f"\\gamma = {sp.latex(gamma)} = \\frac{{\\sigma}}{{1 + \\frac{{\\sigma}}{{2f}}\\|\\nabla f\\|^2}}"
        if args.convention == "paper" else f"\\gamma = {sp.latex(gamma)}",
        f"% (p + gamma g = {sp.sstr((ngn.derive_ngn(args.dim, args.convention)['step'] + gamma * g).applyfunc(sp.simplify).T)})",
    ]


def _memory_arguments(parser):
    parser.add_argument("--normalization", choices=recurrence.NORMALIZATIONS, default="none",
                        help="input normalisation gamma: none, l2 = sqrt(1-lam^2), l1 = 1-lam")
    parser.add_argument("--parametrization", choices=recurrence.PARAMETRIZATIONS, default="none",
                        help="sensitivity w.r.t. lam (none) or omega: exp lam=exp(-exp(omega)), "
                             "sigmoid lam=sigmoid(omega), optimal lam=tanh(omega)")


def _memory_build(args):
    d = recurrence.memory_moments(args.normalization, args.parametrization)
    exprs = dict(d.expressions)
    for name in ("E_h2", "E_dh2"):
        coefficient, power = recurrence.leading_term(d[name])
        exprs[f"{name}_near_one"] = coefficient * recurrence.eps ** power
        exprs[f"{name}_exponent"] = power
    exprs["K"] = recurrence.stationary_kernel()
    exprs["S"] = recurrence.mixed_kernel()
    return Derivation("memory", (recurrence.lam, recurrence.a, recurrence.b, recurrence.eps),
                      (recurrence.rho,), exprs, d.assumptions, d.source)


def _reconstruction_arguments(parser):
    parser.add_argument("--nodes", choices=vandermonde.NODE_FAMILIES, required=True,
                        help="roots of unity, radius r times them, real equispaced n/L, or Chebyshev")
    parser.add_argument("--L", type=int, required=True, dest="length",
                        help="sequence length = number of nodes")


def _reconstruction_build(args):
    if args.length < 1:
        raise LemmataError(f"`--L` must be a positive integer; got {args.length}.")
    if args.length > 64 and args.nodes in ("real", "chebyshev"):
        raise LemmataError(f"`--L` above 64 with real nodes needs more than 60 digits; got {args.length}.")
    return vandermonde.reconstruction_condition(args.nodes, args.length)


def _logistic_arguments(parser):
    parser.add_argument("--data", required=True, metavar="FILE.csv",
                        help="CSV with a header x1..xd,y and labels y in {-1, +1}")


def read_logistic_csv(path):
    """Rows of features and labels from a CSV with columns x1..xd, y (y in {-1, +1})."""
    import csv
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise LemmataError(f"`--data` file {str(path)!r} does not exist.")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        features = [c for c in columns if c.strip().lower().startswith("x")]
        if "y" not in [c.strip().lower() for c in columns] or not features:
            raise LemmataError(f"`--data` must have columns x1..xd and y; got {columns}.")
        label = next(c for c in columns if c.strip().lower() == "y")
        X, y = [], []
        for line, row in enumerate(reader, start=2):
            try:
                X.append([float(row[c]) for c in features])
                value = float(row[label])
            except (TypeError, ValueError) as exc:
                raise LemmataError(f"`--data` line {line}: non-numeric entry ({exc}).") from exc
            if value not in (-1.0, 1.0):
                raise LemmataError(f"`--data` line {line}: label y must be -1 or +1; got {row[label]!r}.")
            y.append(int(value))
    if not X:
        raise LemmataError(f"`--data` file {str(path)!r} holds no samples.")
    return X, y


def _logistic_build(args):
    X, y = read_logistic_csv(args.data)
    z = [[yi * v for v in row] for row, yi in zip(X, y)]
    sol = logistic.solution(z)
    digits = 30
    minimizer = sp.Matrix([sp.Float(str(v), digits) for v in sol["minimizer"]])
    lam = sp.Float(str(sol["lambda"]), digits)
    return Derivation("logistic", (), (), {
        "minimizer": minimizer, "lambda": lam, "eta_global_1d": 1 / lam, "eta_critical": 2 / lam,
        "top_eigenvector": sp.Matrix([sp.Float(str(v), digits) for v in sol["eigenvector"]])},
        source=f"{logistic.SOURCE}: minimiser by damped Newton at 40 digits; lambda = top Hessian "
               f"eigenvalue at it; thresholds 1/lambda (1-D global convergence) and 2/lambda (flip)")


def _sde_arguments(parser):
    parser.add_argument("--optimizer", choices=("sgd", "sgda", "seg", "shgd"), required=True)
    parser.add_argument("--game", required=True, metavar="EXPR",
                        help="SymPy expression: the loss of sgd in x (x_1, x_2, ... for vectors), or "
                             "the game f(x, y) (x descends, y ascends), e.g. 'a/2*x**2 + lam*x*y - a/2*y**2'")
    parser.add_argument("--order", type=int, choices=(1, 2), default=1)
    parser.add_argument("--noise", choices=("additive", "multiplicative"), default="additive")


def _sde_build(args):
    try:
        game = sp.sympify(args.game, locals={"lambda": sp.Symbol("lam"), "rho": sde.RHO,
                                             "eta": sde.ETA, "sigma": sde.SIGMA})
    except (sp.SympifyError, SyntaxError, TypeError) as exc:
        raise LemmataError(f"`--game` is not a SymPy expression: {exc}") from exc
    names = {s.name: s for s in game.free_symbols}
    real = lambda n: sp.Symbol(n, real=True)  # noqa: E731
    x = sorted((s for n, s in names.items() if n == "x" or n.startswith("x_")), key=lambda s: s.name)
    y = sorted((s for n, s in names.items() if n == "y" or n.startswith("y_")), key=lambda s: s.name)
    if not x:
        raise LemmataError("`--game` must use the player x (x or x_1, x_2, ...).")
    if args.optimizer != "sgd" and not y:
        raise LemmataError("`--game` must use the player y (y or y_1, ...) for a minimax optimiser.")
    rename = {s: real(s.name) for s in x + y}
    game = game.xreplace(rename)
    x = tuple(rename[s] for s in x)
    y = tuple(rename[s] for s in y)
    if args.optimizer == "sgd":
        if args.noise != "additive":
            raise LemmataError("`--noise multiplicative` is defined for the minimax optimisers only.")
        return sde.sgd(game, x, order=args.order)
    return getattr(sde, args.optimizer)(game, x, y, order=args.order, noise=args.noise)


def _signature_arguments(parser):
    parser.add_argument("--points", required=True, metavar='"x0,y0;x1,y1;..."',
                        help="the points of a piecewise-linear path (exact: 0.1 means 1/10)")
    parser.add_argument("--depth", type=int, required=True, help="truncation level (>= 1)")
    parser.add_argument("--log", action="store_true", help="also the log-signature in the Lyndon basis")


def _signature_build(args):
    try:
        points = [[sp.Rational(c.strip()) for c in row.split(",")] for row in args.points.split(";") if row.strip()]
    except (TypeError, ValueError) as exc:
        raise LemmataError(f"`--points` must look like 'x0,y0;x1,y1;...' with numbers; got {args.points!r}.") from exc
    if args.depth < 1:
        raise LemmataError(f"`--depth` must be a positive integer; got {args.depth}.")
    sig = signature.signature(points, args.depth)
    d = len(points[0])
    exprs = {"signature": sp.Matrix(signature.flatten(sig, d, args.depth))}
    if args.log:
        exprs["logsignature"] = sp.Matrix(signature.logsignature(points, args.depth))
    return Derivation("signature", (), (), exprs,
                      source="arXiv:2402.19047: exact signature (levels concatenated, words in "
                             "lexicographic order, no leading 1); log-signature in the Lyndon basis")


def _dsf_arguments(parser):
    parser.add_argument("--arch", choices=adsf.ARCHITECTURES, required=True,
                        help="the architecture whose DSF matrices (one channel) to print")
    parser.add_argument("--L", type=int, default=3, dest="length", help="number of steps (default 3)")
    parser.add_argument("--order", type=int, default=2,
                        help="Taylor order P of softmax_taylor (default 2)")


def _dsf_build(args):
    if args.length < 1 or args.length > 8:
        raise LemmataError(f"`--L` must be an integer in 1..8 (the entries grow with L); got {args.length}.")
    if args.order < 0 or args.order > 6:
        raise LemmataError(f"`--order` (the Taylor order P) must be an integer in 0..6; got {args.order}.")
    return adsf.derive_dsf(args.arch, args.length, args.order)


TOPICS = {
    "signature": Topic("signature", "exact signature (and log-signature) of a piecewise-linear path "
                                    "(arXiv:2402.19047)", _signature_arguments, _signature_build),
    "sde": Topic("sde", "drift and diffusion of the SDE of SGD/SGDA/SEG/SHGD on a symbolic loss or game, "
                        "additive or multiplicative noise, order 1 or 2 (arXiv:2402.12508)",
                 _sde_arguments, _sde_build),
    "logistic": Topic("logistic", "minimiser, lambda (top Hessian eigenvalue at it) and the step "
                                  "thresholds 1/lambda and 2/lambda of GD on logistic regression for a "
                                  "CSV data set (arXiv:2406.05033)", _logistic_arguments, _logistic_build),
    "memory": Topic("memory", "stationary variance E_h2 and sensitivity E_dh2 of h = lam h + gamma x "
                              "for AR(1) input (rho), with normalisation and reparametrisation, their "
                              "lam -> 1 behaviour, the kernel K and S = d2K/dadb (arXiv:2405.21064)",
                    _memory_arguments, _memory_build),
    "reconstruction": Topic("reconstruction", "condition number and determinant of the L x L "
                                              "Vandermonde encoder of a node family (arXiv:2307.11888)",
                            _reconstruction_arguments, _reconstruction_build),
    "ngn": Topic("ngn", "the NGN step from the LM/Gauss-Newton subproblem on sqrt(f), its "
                        "stepsize and the bounds sigma/(1+sigma L) <= gamma <= sigma "
                        "(arXiv:2407.04358)", _ngn_arguments, _ngn_build, _ngn_preamble),
    "dsf": Topic("dsf", "DSF matrices Lambda_i, B_i, C_i and the entries of Phi (y = Phi u) of an attention, "
                        "SSM or RNN architecture, one channel, L steps (arXiv:2405.15731)",
                 _dsf_arguments, _dsf_build),
}


def parse_point(items, derivation: Derivation) -> dict:
    """``["sigma=0.5", "L=2"]`` -> {Symbol: exact number}; values are parsed exactly
    (``0.1`` is 1/10), names must be symbols of the derivation."""
    by_name = {s.name: s for s in derivation.symbols}
    point = {}
    for item in items or ():
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name or not text.strip():
            raise LemmataError(f"`--at` expects NAME=VALUE; got {item!r}.")
        if name not in by_name:
            raise LemmataError(f"`--at` names {name!r}, which is not a symbol of this topic "
                               f"(symbols: {sorted(by_name)}).")
        try:
            value = sp.Rational(text.strip())
        except (TypeError, ValueError):
            try:
                value = sp.sympify(text.strip())
            except (sp.SympifyError, SyntaxError) as exc:
                raise LemmataError(f"`--at {name}` must be a number; got {text!r}.") from exc
        if not value.is_number:
            raise LemmataError(f"`--at {name}` must be a number; got {text!r}.")
        point[by_name[name]] = value
    return point


def _value(expr, point, dps=30):
    if not expr.free_symbols <= set(point):
        return None
    if isinstance(expr, sp.MatrixBase):
        if expr.cols == 1:          # column vectors print as flat lists
            return [_value(e, point, dps) for e in expr]
        return [[_value(e, point, dps) for e in expr.row(i)] for i in range(expr.rows)]
    number = sp.N(expr.xreplace(point), dps)
    if number.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    re, im = number.as_real_imag()
    if im != 0:
        return None
    return float(re)


def topic_document(topic: str, derivation: Derivation, point: dict) -> dict:
    """The JSON document of the derive contract."""
    results = {}
    for name, expr in derivation.expressions.items():
        entry = {"expr": sp.sstr(expr), "latex": sp.latex(expr), "value": _value(expr, point)}
        if isinstance(expr, sp.MatrixBase) and expr.cols == 1 and all(e.is_Rational for e in expr):
            entry["exact"] = [sp.sstr(e) for e in expr]        # exact rationals as strings
        results[name] = entry
    return {"topic": topic, "symbols": [s.name for s in derivation.symbols], "results": results}


def format_plain(topic: str, derivation: Derivation, point: dict) -> str:
    lines = [f"{topic}: {derivation.source}",
             f"symbols: {', '.join(s.name for s in derivation.symbols)}"]
    for a in derivation.assumptions:
        lines.append(f"assume: {a.sentence}")
    lines.append("")
    document = topic_document(topic, derivation, point)
    for name, result in document["results"].items():
        line = f"{name} = {result['expr']}"
        if result["value"] is not None:
            line += f"    [= {result['value']!r} at the given point]"
        lines.append(line)
    return "\n".join(lines)
