"""Bad input of numerical continuation (lemmata.numerics.continuation) and of the symbolic flip
coefficient (lemmata.analysis.bifurcation)."""

import sympy as sp

from lemmata.analysis import Derivation
from lemmata.analysis import bifurcation as B
from lemmata.analysis.errors import AssumptionError, LemmataError
from lemmata.numerics import continuation as C

_x, _r, _eta = sp.Symbol("x"), sp.Symbol("r"), sp.Symbol("eta")
_LOGISTIC = Derivation("logistic_map", (_x,), (_r,), {"map": _r * _x * (1 - _x)})
_NONE = Derivation("no_fixed_point", (_x,), (_eta,), {"map": _x - _eta * (_x ** 2 + 1)})


def _flip_branch():
    b = C.continue_cycles(_LOGISTIC, (2.5, 3.2), [0.6], backend="numpy")
    return b, b.events[0]


def _switch_on_a_fold():
    b, flip = _flip_branch()
    return C.switch_branch(b, "fold", _LOGISTIC, backend="numpy")


def _cli(text, tmp="/tmp"):
    import pathlib
    import tempfile

    from lemmata.proofs_checks import cli

    folder = pathlib.Path(tempfile.mkdtemp())
    spec = folder / "spec.toml"
    spec.write_text(text)
    return cli.main(["continue", str(spec), "--out", str(folder)])


CASES = [
    ("cli:continue", lambda: _cli('[map]\nkind = "expression"\nstate = ["x"]\nparameter = "r"\n'
                                  'map = ["__import__(1)"]\n[continuation]\nspan = [1, 2]\nstart = [0.1]\n'),
     2, ["__import__", "allowed functions"]),
    ("cli:continue", lambda: _cli('[map]\nkind = "expression"\nstate = ["x"]\nparameter = "r"\n'
                                  'map = ["r*x*(1-q)"]\n[continuation]\nspan = [1, 2]\nstart = [0.1]\n'),
     2, ["unknown name", "q"]),
    ("cli:continue", lambda: _cli('[map]\nkind = "spline"\n'), 2, ["`kind`", "spline"]),
    ("lemmata.numerics.continuation.continue_cycles",
     lambda: C.continue_cycles(_LOGISTIC, (2.5, 3.0), [0.6], period=0), ValueError, ["`period`", ">= 1", "0"]),
    ("lemmata.numerics.continuation.continue_cycles",
     lambda: C.continue_cycles(_LOGISTIC, (2.5, 2.5), [0.6]), ValueError, ["`eta_span`", "non-zero length"]),
    ("lemmata.numerics.continuation.continue_cycles",
     lambda: C.continue_cycles(_NONE, (0.5, 1.0), [0.3], backend="numpy"), LemmataError,
     ["`start`", "not near", "residual"]),
    ("lemmata.numerics.continuation.continue_cycles",
     lambda: C.continue_cycles(_LOGISTIC, (2.5, 3.0), [0.6, 0.1]), ValueError, ["`start`", "1 components"]),
    ("lemmata.numerics.continuation.continue_cycles",
     lambda: C.continue_cycles(_LOGISTIC, (2.5, 3.0), [0.6], stop_on=("hopf",)), ValueError, ["`stop_on`", "hopf"]),
    ("lemmata.numerics.continuation.continue_cycles",
     lambda: C.continue_cycles("r*x*(1-x)", (2.5, 3.0), [0.6]), TypeError, ["`step`", "Derivation"]),
    ("lemmata.numerics.continuation.switch_branch", _switch_on_a_fold, ValueError, ["`event`", "flip"]),
    ("lemmata.numerics.continuation.cascade",
     lambda: C.cascade(_LOGISTIC, (2.5, 3.5), [0.6], max_period=0), ValueError, ["`max_period`", "positive"]),
    ("lemmata.numerics.continuation.cascade",
     lambda: C.cascade(_LOGISTIC, (3.0, 3.0), [0.6]), ValueError, ["`eta_span`", "non-zero"]),
    ("lemmata.analysis.bifurcation.flip_coefficient",
     lambda: B.flip_coefficient(_r * _x * (1 - _x), (_x,), {_x: sp.Rational(1, 2), _r: 3}), AssumptionError,
     ["not a flip point"]),
    ("lemmata.analysis.bifurcation.flip_coefficient",
     lambda: B.flip_coefficient(_r * _x * (1 - _x), (_x,), {_x: sp.Rational(2, 3)}), ValueError, ["`point`", "missing"]),
    ("lemmata.analysis.bifurcation.compose_map",
     lambda: B.compose_map(_r * _x, (_x,), 0), ValueError, ["`period`", ">= 1"]),
    ("lemmata.analysis.bifurcation.compose_map",
     lambda: B.compose_map(sp.Matrix([_x, _r]), (_x,), 1), ValueError, ["`T`", "one component per state"]),
]

EXEMPT = {
    "lemmata.numerics.continuation.Branch": "a result object built by continue_cycles, not by users",
    "lemmata.numerics.continuation.Event": "a result object built by the event locator, not by users",
    "lemmata.numerics.continuation.Certificate": "a result object built by the event locator, not by users",
    "lemmata.numerics.continuation.Cascade": "a result object built by cascade(), not by users",
}
