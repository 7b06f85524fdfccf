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
    parser.add_argument("--optimizer", choices=("sgd", "sgda", "seg", "shgd"),
                        help="the SDE of an optimiser on --game (or give --drift/--diffusion/--state)")
    parser.add_argument("--game", metavar="EXPR",
                        help="SymPy expression: the loss of sgd in x (x_1, x_2, ... for vectors), or "
                             "the game f(x, y) (x descends, y ascends), e.g. 'a/2*x**2 + lam*x*y - a/2*y**2'")
    parser.add_argument("--order", type=int, choices=(1, 2), default=1)
    parser.add_argument("--noise", choices=("additive", "multiplicative"), default="additive")
    parser.add_argument("--drift", metavar='"b1; b2"', help="a general Ito SDE: the drift, one entry per "
                        "state symbol separated by ';', e.g. 'mu*x' (write --drift=-x when it starts with a minus)")
    parser.add_argument("--diffusion", metavar='"D11, D12; D21, D22"',
                        help="its d x m diffusion: rows separated by ';', entries by ','")
    parser.add_argument("--state", metavar="x,y", help="the state symbols, comma-separated; other names "
                        "are parameters and t is the clock")
    parser.add_argument("--stratonovich", action="store_true", help="read --drift as a Stratonovich drift")


_ALLOWED_FUNCTIONS = {"exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
                      "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "asinh": sp.asinh, "atanh": sp.atanh,
                      "Abs": sp.Abs}


def _parse_user_expression(text, name, allowed_symbols):
    """Parse ``text`` into a SymPy expression without evaluating it: Python's ``ast`` checks that it
    holds only numbers, names (``allowed_symbols``, a dict name -> Symbol, or new names taken as real
    symbols when ``allowed_symbols`` is None), calls of whitelisted functions and arithmetic; the
    expression is then built node by node. (Until the shared ``lemmata.analysis.parsing`` lands.)"""
    import ast

    text = text.strip()
    if not text or len(text) > 2000:
        raise LemmataError(f"`{name}` must be a non-empty expression of at most 2000 characters; got {text!r}.")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise LemmataError(f"`{name}` is not a SymPy expression: {exc.msg} in {text!r}.") from None
    operators = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
                 ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b}

    def build(node):
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return sp.Rational(str(node.value)) if isinstance(node.value, float) else sp.Integer(node.value)
        if isinstance(node, ast.Name):
            if node.id in _ALLOWED_FUNCTIONS:
                raise LemmataError(f"`{name}` uses the function {node.id!r} without arguments.")
            if node.id == "pi":
                return sp.pi
            if allowed_symbols is None:
                return sp.Symbol("lam" if node.id == "lambda" else node.id, real=True)
            if node.id not in allowed_symbols:
                raise LemmataError(f"`{name}` uses the unknown name {node.id!r}; allowed: {sorted(allowed_symbols)}.")
            return allowed_symbols[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in operators:
            return operators[type(node.op)](build(node.left), build(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = build(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _ALLOWED_FUNCTIONS \
                and not node.keywords and node.args:
            return _ALLOWED_FUNCTIONS[node.func.id](*[build(a) for a in node.args])
        raise LemmataError(f"`{name}` may hold only numbers, names, arithmetic and the functions "
                           f"{sorted(_ALLOWED_FUNCTIONS)}; got {ast.dump(node)[:60]!r} in {text!r}.")
    return build(tree)


def _general_sde(args):
    if not (args.drift and args.diffusion and args.state):
        raise LemmataError("a general SDE needs all of `--drift`, `--diffusion` and `--state`.")
    names = [n.strip() for n in args.state.split(",")]
    if not all(n.isidentifier() for n in names) or len(set(names)) != len(names):
        raise LemmataError(f"`--state` must be distinct names separated by ','; got {args.state!r}.")
    state = tuple(sp.Symbol(n, real=True) for n in names)
    drift = [_parse_user_expression(e, "--drift", None) for e in args.drift.split(";")]
    rows = [[_parse_user_expression(e, "--diffusion", None) for e in row.split(",")]
            for row in args.diffusion.split(";")]
    if len({len(r) for r in rows}) != 1:
        raise LemmataError(f"`--diffusion` rows must have equal lengths; got {[len(r) for r in rows]}.")
    by_name = {s.name: s for s in state}
    rename = {}
    for e in drift + [v for r in rows for v in r]:
        for sym in e.free_symbols:
            if sym.name in by_name:
                rename[sym] = by_name[sym.name]
    drift = [e.xreplace(rename) for e in drift]
    rows = [[v.xreplace(rename) for v in r] for r in rows]
    if len(drift) != len(state):
        raise LemmataError(f"`--drift` must have one entry per state symbol ({len(state)}); got {len(drift)}.")
    if len(rows) != len(state):
        raise LemmataError(f"`--diffusion` must have one row per state symbol ({len(state)}); got {len(rows)}.")
    free = set().union(*(e.free_symbols for e in drift + [v for r in rows for v in r]))
    time = next((s for s in free if s.name == "t" and s not in state), None)
    params = tuple(sorted(free - set(state) - {time}, key=lambda s: s.name))
    sde_ = sde.SDE.from_coefficients(drift, rows, state, params=params, name="sde", time=time,
                                     convention="stratonovich" if args.stratonovich else "ito",
                                     source="Ito SDE from --drift/--diffusion")
    exprs = {"drift": sde_.drift, "diffusion": sde_.diffusion, "covariance": sde_.covariance,
             "stratonovich_drift": sde_.stratonovich_drift}
    return Derivation("sde", sde_.inputs, sde_.params, exprs, source=sde_.source)


def _sde_build(args):
    if args.drift or args.diffusion or args.state:
        if args.optimizer or args.game:
            raise LemmataError("give either `--optimizer`/`--game` or `--drift`/`--diffusion`/`--state`, not both.")
        return _general_sde(args)
    if not (args.optimizer and args.game):
        raise LemmataError("`derive sde` needs `--optimizer` and `--game` (or `--drift`, `--diffusion`, `--state`).")
    game = _parse_user_expression(args.game, "--game", None)
    names = {s.name: s for s in game.free_symbols}
    real = lambda n: sp.Symbol(n, real=True)  # noqa: E731
    x = sorted((s for n, s in names.items() if n == "x" or n.startswith("x_")), key=lambda s: s.name)
    y = sorted((s for n, s in names.items() if n == "y" or n.startswith("y_")), key=lambda s: s.name)
    if not x:
        raise LemmataError("`--game` must use the player x (x or x_1, x_2, ...).")
    if args.optimizer != "sgd" and not y:
        raise LemmataError("`--game` must use the player y (y or y_1, ...) for a minimax optimiser.")
    # the optimisers' own parameter symbols carry assumptions (positive): use them for these names
    own = {"rho": sde.RHO, "eta": sde.ETA, "sigma": sde.SIGMA}
    rename = {s: real(s.name) for s in x + y}
    rename.update({s: own[s.name] for s in game.free_symbols if s.name in own})
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


TOPICS = {
    "signature": Topic("signature", "exact signature (and log-signature) of a piecewise-linear path "
                                    "(arXiv:2402.19047)", _signature_arguments, _signature_build),
    "sde": Topic("sde", "drift and diffusion of the SDE of SGD/SGDA/SEG/SHGD on a symbolic loss or game, "
                        "additive or multiplicative noise, order 1 or 2 (arXiv:2402.12508); or any Ito SDE "
                        "from --drift/--diffusion/--state with its Stratonovich drift",
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
