"""Topics of ``lemmata derive``: each turns command-line options into a Derivation to print.

JSON contract (every topic): ``{"topic", "symbols", "results": {NAME: {"expr", "latex",
"value", "why"}}}`` where ``expr`` is the SymPy string, ``latex`` its LaTeX, and ``value`` the
number at the ``--at`` point (a list for matrices, entry by entry). ``value`` is null exactly when
it cannot be given, and then ``why`` says why: no ``--at`` point, symbols without a value (named),
a closed form that is not finite there (a division by zero, a logarithm of 0), or a complex value;
``why`` is null when ``value`` is a number (for a matrix, ``why`` is the first entry's reason).

Input rules: every user string is parsed by :mod:`lemmata.analysis.parsing`, never evaluated;
``--at`` values are exact, finite, real numbers (``0.1`` is 1/10; NaN and infinities are refused);
a point that violates a stated assumption of the topic (or a symbol's declared sign) is refused
with the assumption's sentence; sizes whose exact computation cannot finish in reasonable time
(``--dim`` above :data:`MAX_DIM`, signatures with more than :data:`MAX_WORDS` words) are refused
with an estimate. Every refusal is a :class:`~lemmata.analysis.errors.LemmataError`, which
``lemmata`` prints as ``lemmata: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

import mpmath
import sympy as sp

from lemmata.analysis import dsf as adsf
from lemmata.analysis import logistic, ngn, parametrization, recurrence, sde, signature, vandermonde
from lemmata.analysis.derivation import Derivation
from lemmata.analysis.errors import LemmataError
from lemmata.analysis.parsing import parse_expression, parse_number

__all__ = ["Topic", "TOPICS", "parse_point", "parse_points", "read_logistic_csv", "topic_document",
           "format_plain", "format_number", "MAX_DIM", "MAX_WORDS"]

#: Largest ``--dim`` of ``derive ngn``: SymPy solves the dim x dim normal equations exactly, about
#: 17 s at dim 30 on a loaded 2-core machine, growing like dim^3 (minutes at 100).
MAX_DIM = 32

#: Most words (d + d^2 + ... + d^depth) of an exact signature in ``derive signature``: 8190
#: words (d=2, depth 12) took 15 s on a loaded 2-core machine; time grows like words^1.5.
MAX_WORDS = 10_000


@dataclass(frozen=True)
class Topic:
    """A ``lemmata derive`` topic. ``preamble(args)``, when given, returns LaTeX lines that state
    where the closed forms come from (printed before them with ``--latex``); ``epilog`` lists
    the symbols the closed forms use and what they mean (shown by ``--help``)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    build: Callable[[argparse.Namespace], Derivation]
    preamble: Callable[[argparse.Namespace], list] | None = None
    #: the topic's symbols and what they mean, shown under ``lemmata derive TOPIC --help``
    epilog: str = ""


def _ngn_arguments(parser):
    parser.add_argument("--dim", type=int, default=1,
                        help="dimension of x (the gradient symbols are g_1..g_dim); default 1")
    parser.add_argument("--convention", choices=sorted(ngn.CONVENTIONS), default="paper",
                        help="weight of the squared residual in the LM subproblem; default paper")


def _ngn_build(args):
    if args.dim < 1:
        raise LemmataError(f"`--dim` must be a positive integer; got {args.dim}.")
    if args.dim > MAX_DIM:
        estimate = 17 * (args.dim / 30) ** 3
        raise LemmataError(f"`--dim {args.dim}` is too large for an exact solve: at most {MAX_DIM} "
                           f"(the time grows like dim^3: about {_duration(estimate)} here).")
    return ngn.derive_ngn(args.dim, args.convention)


def _duration(seconds: float) -> str:
    for unit, size in (("years", 3.15e7), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"


def _ngn_preamble(args):
    objective, p = ngn.lm_objective(args.dim, args.convention)
    g = sp.Matrix(sp.symbols(f"g_1:{args.dim + 1}", real=True))
    gamma = ngn.derive_ngn(args.dim, args.convention)["stepsize"]
    p_vec = sp.latex(sp.Matrix(p).T) + "^{\\top}"
    step = ngn.derive_ngn(args.dim, args.convention)["step"]
    residual = (step + gamma * g).applyfunc(sp.simplify)
    return [
        f"% LM / Gauss-Newton subproblem on r = sqrt(f) ({args.convention} convention):",
        f"{p_vec} = \\arg\\min_{{p}}\\; {sp.latex(objective)}",
        f"% its solution is p = -gamma grad f with",
        f"\\gamma = {sp.latex(gamma)} = \\frac{{\\sigma}}{{1 + \\frac{{\\sigma}}{{2f}}\\|\\nabla f\\|^2}}"
        if args.convention == "paper" else f"\\gamma = {sp.latex(gamma)}",
        # the check that the derived step is -gamma g, as LaTeX (0 when it holds)
        f"{p_vec} + \\gamma\\, {sp.latex(g.T)}^{{\\top}} = {_latex_vector(residual)}",
    ]


def _latex_vector(vector) -> str:
    """``0`` for a zero vector (the identity holds), else the column as LaTeX."""
    return "0" if all(e == 0 for e in vector) else sp.latex(vector.T) + "^{\\top}"


def _memory_arguments(parser):
    parser.add_argument("--normalization", choices=recurrence.NORMALIZATIONS, default="none",
                        help="input normalisation gamma: none (gamma = 1), l2 = sqrt(1-lam^2), l1 = 1-lam; "
                             "default none")
    parser.add_argument("--parametrization", choices=recurrence.PARAMETRIZATIONS, default="none",
                        help="sensitivity w.r.t. lam (none) or omega: exp lam=exp(-exp(omega)), "
                             "sigmoid lam=sigmoid(omega), optimal lam=tanh(omega); default none")


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
                        help="the node family: roots (of unity), radius (r times the roots), real "
                             "(equispaced n/L) or chebyshev; required")
    parser.add_argument("--L", type=int, required=True, dest="length",
                        help="sequence length = number of nodes (>= 1); required")


def _reconstruction_build(args):
    if args.length < 1:
        raise LemmataError(f"`--L` must be a positive integer; got {args.length}.")
    if args.length > 64 and args.nodes in ("real", "chebyshev"):
        raise LemmataError(f"`--L` above 64 with real nodes needs more than 60 digits; got {args.length}.")
    return vandermonde.reconstruction_condition(args.nodes, args.length)


def _logistic_arguments(parser):
    parser.add_argument("--data", required=True, metavar="FILE.csv",
                        help="CSV with a header x1..xd,y and labels y in {-1, +1}; required")


def read_logistic_csv(path):
    """Rows of features and labels from a CSV with columns x1..xd, y (y in {-1, +1}).

    Cells are parsed as exact numbers (``0.1`` is 1/10) by
    :func:`lemmata.analysis.parsing.parse_number`; NaN, infinities, empty or non-numeric cells,
    ragged rows and duplicate headers are refused with the line number.

    Returns
    -------
    (X, y) : list of lists of SymPy numbers, list of int

    Raises
    ------
    LemmataError
        "`--data` line 3: `x1` must be finite; got nan."
    """
    import csv
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise LemmataError(f"`--data` file {str(path)!r} does not exist or is not a file.")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LemmataError(f"`--data` file {str(path)!r} cannot be read: {exc}") from exc
    if not rows:
        raise LemmataError(f"`--data` file {str(path)!r} is empty; expected a header x1..xd,y.")
    header = [c.strip() for c in rows[0]]
    lowered = [c.lower() for c in header]
    duplicates = sorted({c for c in lowered if lowered.count(c) > 1})
    if duplicates:
        raise LemmataError(f"`--data` line 1: duplicate column names {duplicates}.")
    features = [i for i, c in enumerate(lowered) if c.startswith("x")]
    if "y" not in lowered or not features:
        raise LemmataError(f"`--data` must have columns x1..xd and y; got {header}.")
    label = lowered.index("y")
    X, y = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise LemmataError(f"`--data` line {line}: {len(row)} entries; the header has {len(header)}.")
        try:
            X.append([parse_number(row[i], name=header[i]) for i in features])
            value = parse_number(row[label], name="y")
        except LemmataError as exc:
            raise LemmataError(f"`--data` line {line}: {exc}") from None
        if value not in (-1, 1):
            raise LemmataError(f"`--data` line {line}: label y must be -1 or +1; got {row[label]!r}.")
        y.append(int(value))
    if not X:
        raise LemmataError(f"`--data` file {str(path)!r} holds no samples.")
    return X, y


def _logistic_build(args):
    X, y = read_logistic_csv(args.data)
    z = [[yi * v for v in row] for row, yi in zip(X, y)]
    sol = logistic.solution(z)
    digits = 30     # of the 40 the solver carries (the mpf itself, not its 15-digit str)
    minimizer = sp.Matrix([sp.Float(v, digits) for v in sol["minimizer"]])
    lam = sp.Float(sol["lambda"], digits)
    return Derivation("logistic", (), (), {
        "minimizer": minimizer, "lambda": lam, "eta_global_1d": 1 / lam, "eta_critical": 2 / lam,
        "top_eigenvector": sp.Matrix([sp.Float(v, digits) for v in sol["eigenvector"]])},
        source=f"{logistic.SOURCE}: minimiser by damped Newton at 40 digits; lambda = top Hessian "
               f"eigenvalue at it; thresholds 1/lambda (1-D global convergence) and 2/lambda (flip)")


def _sde_arguments(parser):
    parser.add_argument("--optimizer", choices=("sgd", "sgda", "seg", "shgd"),
                        help="the SDE of an optimiser on --game: sgd (a loss), or sgda, seg (extra-gradient, step "
                             "rho), shgd (Hamiltonian) on a game; no default (or give --drift/--diffusion/--state)")
    parser.add_argument("--game", metavar="EXPR",
                        help="SymPy expression: the loss of sgd in x (x_1, x_2, ... for vectors), or "
                             "the game f(x, y) (x descends, y ascends), e.g. 'a/2*x**2 + lam*x*y - a/2*y**2'; "
                             "names other than x, y are parameters")
    parser.add_argument("--order", type=int, choices=(1, 2), default=1,
                        help="order in the step size eta of the weak approximation: 1 (drift = -F) "
                             "or 2 (adds the O(eta) correction); default 1")
    parser.add_argument("--noise", choices=("additive", "multiplicative"), default="additive",
                        help="gradient noise: additive (sigma xi added to the oracle) or "
                             "multiplicative (sigma-scaled noise on the matrix of a bilinear game "
                             "x^T B y; minimax optimisers only); default additive")
    parser.add_argument("--drift", metavar='"b1; b2"', help="a general Ito SDE: the drift, one entry per "
                        "state symbol separated by ';', e.g. 'mu*x' (write --drift=-x when it starts with a minus)")
    parser.add_argument("--diffusion", metavar='"D11, D12; D21, D22"',
                        help="its d x m diffusion: rows separated by ';', entries by ','; with --drift and --state")
    parser.add_argument("--state", metavar="x,y", help="the state symbols, comma-separated; other names "
                        "are parameters and t is the clock")
    parser.add_argument("--stratonovich", action="store_true", help="read --drift as a Stratonovich drift (default: Ito)")


def _parse_user_expression(text, name, allowed_symbols):
    """``text`` through the shared whitelist parser (:mod:`lemmata.analysis.parsing`, no eval): in
    ``allowed_symbols`` (name -> Symbol), or, when that is None, with new names as real symbols."""
    if allowed_symbols is None:
        return parse_expression(text, name=name, allow_new_symbols=True,
                                new_symbol=lambda n: sp.Symbol(n, real=True))
    return parse_expression(text, name=name, symbols=allowed_symbols)


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
    known = {"lam": sp.Symbol("lam"), "rho": sde.RHO, "eta": sde.ETA, "sigma": sde.SIGMA}
    game = parse_expression(args.game, name="--game", symbols=known, allow_new_symbols=True)
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
                        help="the points of a piecewise-linear path (exact: 0.1 means 1/10); required")
    parser.add_argument("--depth", type=int, required=True, help="truncation level (>= 1); required")
    parser.add_argument("--log", action="store_true", help="also the log-signature in the Lyndon basis (default: off)")


def parse_points(text: str, name: str = "--points") -> list:
    """``"x0,y0;x1,y1;..."`` -> rows of exact numbers (``0.1`` is 1/10; ``1/3`` and ``sqrt(2)``
    allowed; NaN, infinities and ragged rows refused)."""
    rows = [row for row in text.split(";") if row.strip()]
    if not rows:
        raise LemmataError(f"`{name}` must look like 'x0,y0;x1,y1;...' with numbers; got {text!r}.")
    try:
        points = [[parse_number(c, name=f"{name}[{i}][{j}]") for j, c in enumerate(row.split(","))]
                  for i, row in enumerate(rows)]
    except LemmataError as exc:
        raise LemmataError(f"`{name}` must look like 'x0,y0;x1,y1;...' with numbers: {exc}") from None
    d = len(points[0])
    ragged = [i for i, p in enumerate(points) if len(p) != d]
    if ragged:
        raise LemmataError(f"`{name}` points must all have {d} coordinates; point {ragged[0]} has "
                           f"{len(points[ragged[0]])}.")
    return points


def _signature_build(args):
    points = parse_points(args.points)
    if args.depth < 1:
        raise LemmataError(f"`--depth` must be a positive integer; got {args.depth}.")
    d = len(points[0])
    count = sum(d ** k for k in range(1, args.depth + 1))
    if count > MAX_WORDS:
        estimate = 15 * (count / 8190) ** 1.5 * (4 if args.log else 1)
        raise LemmataError(f"`--depth {args.depth}` with {d}-dimensional points gives {count} words; "
                           f"at most {MAX_WORDS} are computed exactly (about {_duration(estimate)} "
                           f"here; the time grows like words^1.5).")
    sig = signature.signature(points, args.depth)
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


def _symbols_epilog(entries, note: str = "") -> str:
    """The ``--help`` epilog of a topic: ``symbols:`` then one ``NAME  meaning`` line each."""
    lines = ["symbols:"]
    width = max((len(name) for name, _ in entries), default=0)
    lines += [f"  {name.ljust(width)}  {meaning}" for name, meaning in entries]
    if note:
        lines.append(f"  {note}" if entries else f"symbols: {note}")
    if not entries:
        lines = lines[1:]
    lines.append("values of --at are exact (0.1 means 1/10); --json gives expr, latex, value, why.")
    return "\n".join(lines)


TOPICS = {
    "signature": Topic("signature", "exact signature (and log-signature) of a piecewise-linear path "
                                    "(arXiv:2402.19047)", _signature_arguments, _signature_build,
                           epilog=_symbols_epilog([], "none: the signature of the given points is "
                                                  "exact numbers (rationals for rational points)")),
    "sde": Topic("sde", "drift and diffusion of the SDE of SGD/SGDA/SEG/SHGD on a symbolic loss or game, "
                        "additive or multiplicative noise, order 1 or 2 (arXiv:2402.12508); or any Ito SDE "
                        "from --drift/--diffusion/--state with its Stratonovich drift",
                 _sde_arguments, _sde_build, epilog=_symbols_epilog([
                     ("x, y", "the players (x_1, x_2, ... and y_1, ... for vectors): the SDE's state"),
                     ("eta", "step size (learning rate) of the optimiser, > 0"),
                     ("rho", "extra-step size of SEG (the extrapolation z - rho F(z)), > 0"),
                     ("sigma", "noise scale of the gradient oracle, > 0"),
                     ("others", "every other name in --game (e.g. lam, a) is a parameter"),
                     ("general", "with --drift/--diffusion: the names of --state are the state, "
                                 "t the clock,\n           every other name a parameter")])),
    "logistic": Topic("logistic", "minimiser, lambda (top Hessian eigenvalue at it) and the step "
                                  "thresholds 1/lambda and 2/lambda of GD on logistic regression for a "
                                  "CSV data set (arXiv:2406.05033)", _logistic_arguments, _logistic_build,
                         epilog=_symbols_epilog([], "none: the results are numbers for the data, "
                                                "computed at 40 digits and printed at 30")),
    "memory": Topic("memory", "stationary variance E_h2 and sensitivity E_dh2 of h = lam h + gamma x "
                              "for AR(1) input (rho), with normalisation and reparametrisation, their "
                              "lam -> 1 behaviour, the kernel K and S = d2K/dadb (arXiv:2405.21064)",
                    _memory_arguments, _memory_build, epilog=_symbols_epilog([
                        ("lam", "the recurrence's eigenvalue (lambda), |lam| < 1"),
                        ("rho", "the AR(1) correlation of the input, E[x_t x_{t+k}] = rho^|k|, in [0, 1]"),
                        ("a, b", "the arguments of the kernel K(a, b; rho) = sum a^n b^m rho^|n-m|"),
                        ("epsilon", "1 - lam, in the lam -> 1 expansions *_near_one")])),
    "reconstruction": Topic("reconstruction", "condition number and determinant of the L x L "
                                              "Vandermonde encoder of a node family (arXiv:2307.11888)",
                            _reconstruction_arguments, _reconstruction_build,
                            epilog=_symbols_epilog([("r", "the radius of the nodes r e^{2 pi i k/L} "
                                                          "(--nodes radius), 0 < r <= 1")],
                                                   "the other node families give numbers")),
    "ngn": Topic("ngn", "the NGN step from the LM/Gauss-Newton subproblem on sqrt(f), its "
                        "stepsize and the bounds sigma/(1+sigma L) <= gamma <= sigma "
                        "(arXiv:2407.04358)", _ngn_arguments, _ngn_build, _ngn_preamble,
                 epilog=_symbols_epilog([
                     ("f", "the loss value at the current point, > 0"),
                     ("g_1..g_dim", "the gradient of f there"),
                     ("sigma", "the NGN parameter (the step size's scale), > 0"),
                     ("L", "the smoothness constant of f, > 0")])),
    "dsf": Topic("dsf", "DSF matrices Lambda_i, B_i, C_i and the entries of Phi (y = Phi u) of an attention, "
                        "SSM or RNN architecture, one channel, L steps (arXiv:2405.15731)",
                 _dsf_arguments, _dsf_build),
}


def _parametrization_arguments(parser):
    parser.add_argument("--scheme", choices=parametrization.SCHEMES, required=True,
                        help="sp, ntp (NTK multipliers, constant rate), mup, depth_mup; required")
    parser.add_argument("--layers", type=int, default=3, dest="n_layers",
                        help="number of weight matrices (>= 2; >= 3 for depth_mup); default 3")
    parser.add_argument("--two-layer-linear", action="store_true",
                        help="instead: the two-layer linear net on one example (mup or ntp): "
                             "conserved quantities, fixed point and limiting sharpness S* (default: off)")


def _parametrization_build(args):
    if args.two_layer_linear:
        if args.scheme not in ("mup", "ntp"):
            raise LemmataError(f"`--two-layer-linear` needs `--scheme` mup or ntp; got {args.scheme}.")
        return parametrization.two_layer_linear(args.scheme)
    if args.n_layers < 2 or (args.scheme == "depth_mup" and args.n_layers < 3):
        raise LemmataError(f"`--layers` must be an integer >= {3 if args.scheme == 'depth_mup' else 2}; "
                           f"got {args.n_layers}.")
    return parametrization.table(args.scheme, args.n_layers).derivation()


def _parametrization_preamble(args):
    if args.two_layer_linear:
        return ["% f = c (u . v), u = W x_hat; gradient flow; p = u.v, q = |u|^2 + |v|^2 (arXiv:2402.17457)"]
    return ["% W_eff = multiplier * W_raw, W_raw ~ N(0, init_std^2); SGD rate on W_raw = eta * sgd_lr "
            "(arXiv:2402.17457, official code's convention)",
            parametrization.table(args.scheme, args.n_layers).latex()]


TOPICS["parametrization"] = Topic(
    "parametrization", "per-layer init std, forward multiplier and SGD/Adam learning-rate multipliers "
                       "of SP, NTP, muP and Depth-muP, or the two-layer linear closed form "
                       "(arXiv:2402.17457)",
    _parametrization_arguments, _parametrization_build, _parametrization_preamble,
    epilog=_symbols_epilog([
        ("n", "the width of the hidden layers"), ("d", "the input dimension"),
        ("gamma_0, n_0", "the base output multiplier and base width: gamma = gamma_0 sqrt(n/n_0)"),
        ("g", "the activation gain (sqrt 2 for ReLU)"),
        ("L, beta", "depth_mup: the number of residual blocks and the branch multiplier"),
        ("p, q", "--two-layer-linear: p = u.v and q = |u|^2 + |v|^2 of f = c (u.v)"),
        ("y, p_0, q_0", "--two-layer-linear: the target and the initial p, q")]))


def parse_point(items, derivation: Derivation) -> dict:
    """``["sigma=0.5", "L=2"]`` -> {Symbol: exact number}; values are parsed as exact, finite,
    real numbers (``0.1`` is 1/10; never evaluated as code), names must be symbols of the
    derivation, each given once."""
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
        if by_name[name] in point:
            raise LemmataError(f"`--at` gives {name!r} twice.")
        point[by_name[name]] = parse_number(text, name=f"--at {name}")
    return point


def _value(expr, point, dps=30):
    """``(value, why)``: the float value of ``expr`` at ``point``, or None and the reason."""
    if isinstance(expr, sp.MatrixBase):
        if expr.cols == 1:          # column vectors print as flat lists
            entries = [_value(e, point, dps) for e in expr]
        else:
            entries = [[_value(e, point, dps) for e in expr.row(i)] for i in range(expr.rows)]
        flat = entries if expr.cols == 1 else [x for row in entries for x in row]
        why = next((w for _, w in flat if w is not None), None)
        strip = (lambda e: e[0]) if expr.cols == 1 else (lambda row: [x[0] for x in row])
        return [strip(e) for e in entries], why
    if not point and expr.free_symbols:
        return None, "no --at point was given"
    missing = sorted(s.name for s in expr.free_symbols - set(point))
    if missing:
        return None, f"no value for {missing}"
    number = sp.N(expr.xreplace(point), dps)
    if number.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or number.is_finite is False:
        return None, f"not finite at this point ({number})"
    re, im = number.as_real_imag()
    if im != 0:
        return None, f"complex at this point ({sp.N(number, 15)})"
    value = float(re)
    if value != value or value in (float("inf"), float("-inf")):
        return None, f"outside the float range at this point ({sp.N(re, 15)})"
    return value, None


def _latex_entries(derivation: Derivation) -> dict:
    """``{name: LaTeX}`` taken from :meth:`Derivation.latex` itself (the same symbol names, e.g.
    ``\\lambda`` for ``lam``), so that the JSON ``latex`` field and ``--latex`` are identical."""
    entries = {}
    for name in derivation.names:
        block = derivation.latex([name])
        body = block[len("\\begin{aligned}\n"):-len("\n\\end{aligned}")]
        entries[name] = body.partition(" &= ")[2]
    return entries


def topic_document(topic: str, derivation: Derivation, point: dict) -> dict:
    """The JSON document of the derive contract (``latex`` as :meth:`Derivation.latex` writes it)."""
    results = {}
    latex = _latex_entries(derivation)
    for name, expr in derivation.expressions.items():
        value, why = _value(expr, point)
        entry = {"expr": sp.sstr(expr), "latex": latex[name], "value": value, "why": why}
        if isinstance(expr, sp.MatrixBase) and expr.cols == 1 and all(e.is_Rational for e in expr):
            entry["exact"] = [sp.sstr(e) for e in expr]        # exact rationals as strings
        results[name] = entry
    return {"topic": topic, "symbols": [s.name for s in derivation.symbols], "results": results}


def _float_digits(expr) -> int | None:
    """Decimal digits of the most precise SymPy Float in ``expr`` above double precision (None
    when it holds none: its numbers are exact, or doubles)."""
    precisions = [f._prec for f in expr.atoms(sp.Float) if f._prec > 53]
    return mpmath.libmp.prec_to_dps(max(precisions)) if precisions else None


def format_number(number) -> str:
    """A real SymPy number as text, to the precision it carries: integers and rationals exactly
    (``1/4``, with the shortest round-trip double after it: ``1/4 ≈ 0.25``), Floats above double
    precision at their own digits (trailing zeros dropped), everything else (doubles, ``sqrt(2)``,
    ``pi``) as the shortest string that reads back as the same double (``repr(float)``)."""
    number = sp.sympify(number)
    if number.is_Integer:
        return str(number)
    if number.is_Rational:
        return f"{number.p}/{number.q} ≈ {float(number)!r}"
    digits = _float_digits(number)
    if digits is not None:
        value = sp.N(number, digits)
        return mpmath.libmp.to_str(value._mpf_, digits)
    return repr(float(sp.N(number, 30)))


def _point_value(expr, point):
    """Lines for the value of ``expr`` at ``point`` (exact where it is exact), or None when
    ``_value`` gives none."""
    def entry(e):
        return format_number(e.xreplace(point))
    if isinstance(expr, sp.MatrixBase):
        rows = [[entry(expr[i, j]) for j in range(expr.cols)] for i in range(expr.rows)]
        return _layout(rows)
    return [entry(expr)]


def _layout(rows) -> list:
    """A matrix of strings laid out in brackets, columns right-aligned (as SymPy draws them)."""
    widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]
    body = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
    if len(body) == 1:
        return [f"[{body[0]}]"]
    return [("⎡" if i == 0 else "⎣" if i == len(body) - 1 else "⎢") + line
            + ("⎤" if i == 0 else "⎦" if i == len(body) - 1 else "⎥") for i, line in enumerate(body)]


def _pretty(label: str, expr, unicode: bool, columns: int) -> str:
    """``label = expr`` with SymPy's pretty printer (matrices laid out, the label on the
    expression's baseline)."""
    from sympy.printing.pretty.pretty import PrettyPrinter
    from sympy.printing.pretty.stringpict import prettyForm

    printer = PrettyPrinter({"use_unicode": unicode, "wrap_line": True, "num_columns": columns})
    form = prettyForm(*prettyForm(f"{label} = ").right(printer._print(expr)))
    return form.render(wrap_line=True, num_columns=columns)


def _supports_unicode(stream=None) -> bool:
    import sys

    encoding = getattr(stream or sys.stdout, "encoding", None) or "ascii"
    try:
        "⎡⎢⎣─⋅√₁".encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def format_plain(topic: str, derivation: Derivation, point: dict, *, unicode: bool | None = None,
                 columns: int | None = None) -> str:
    """The plain-text output of ``lemmata derive``: a header (source, symbols, the ``--at`` point,
    assumptions), then every closed form pretty-printed by SymPy, and, where one can be given, its
    value (exact rationals exactly, high-precision numbers at their digits, doubles by
    ``repr``). Without ``--at`` a value line appears only for a closed form without symbols that is
    not already a plain number (``sqrt(2)``); with ``--at`` every closed form gets a value or the
    reason it has none."""
    import shutil

    unicode = _supports_unicode() if unicode is None else unicode
    columns = columns or shutil.get_terminal_size((100, 24)).columns
    lines = [f"{topic}: {derivation.source}",
             f"symbols: {', '.join(s.name for s in derivation.symbols) or '(none)'}"]
    if point:
        lines.append("at: " + ", ".join(f"{s.name} = {format_number(v).split(' ≈ ')[0]}"
                                        for s, v in point.items()))
    for a in derivation.assumptions:
        lines.append(f"assume: {a.sentence}")
    for name, expr in derivation.expressions.items():
        lines.append("")
        lines.append(_pretty(name, expr, unicode, columns))
        value, why = _value(expr, point)
        literal = all(e.is_Number for e in (expr if isinstance(expr, sp.MatrixBase) else [expr]))
        if why is None and value is not None:
            if point or not literal:
                shown = _point_value(expr, point)
                lines.append(f"  value: {shown[0]}")
                lines.extend("         " + row for row in shown[1:])
        elif point:
            lines.append(f"  no value: {why}")
    text = "\n".join(lines)
    return text if unicode else text.translate(_ASCII)


_ASCII = str.maketrans({"⎡": "[", "⎢": "[", "⎣": "[", "⎤": "]", "⎥": "]", "⎦": "]", "≈": "~"})
