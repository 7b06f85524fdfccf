"""Bad-input cases for lemmata.numerics.study, lemmata.numerics.codegen and ``lemmata study``
(issue 12): see test_registry.py for the format."""

from __future__ import annotations

import tempfile
from pathlib import Path

import sympy as sp

from lemmata.analysis import Derivation
from lemmata.analysis.errors import LemmataError
from lemmata.numerics import codegen
from lemmata.numerics.study import StoreError, Study, load_spec, resolve_function


def _square(x, seed):
    return {"y": x * x + seed}


def _in_tmp(action):
    """Run ``action(folder)`` in a fresh temporary folder, removed afterwards."""
    def thunk():
        with tempfile.TemporaryDirectory() as folder:
            return action(Path(folder))
    return thunk


def _study(folder, **kw):
    kw.setdefault("seeds", 1)
    return Study(_square, kw.pop("grid", {"x": [1, 2]}), name="bad", store=folder / "s.sqlite",
                 version="1", **kw)


def _ran(folder):
    study = _study(folder)
    study.run(progress=False)
    return study


def _closed(folder):
    study = _study(folder)
    study.close()
    return study


def _cli(*args):
    from lemmata.proofs_checks import cli

    return cli.main(["study", *map(str, args)])


def _spec(folder, store):
    spec = folder / "s.toml"
    spec.write_text(f'[study]\nname = "bad"\nfunction = "nowhere:f"\nstore = "{store}"\n[grid]\nx = [1]\n')
    return spec


_X = sp.Symbol("x", positive=True)
_D = Derivation("bad_input_square", (_X,), (), {"f": _X ** 2})

ST = "lemmata.numerics.study"
CG = "lemmata.numerics.codegen"

CASES = [
    # ---------------------------------------------------------------- Study
    (f"{ST}.Study", _in_tmp(lambda d: _study(d, grid={"x": []})), ValueError, ["`grid['x']`", "empty"]),
    (f"{ST}.Study", _in_tmp(lambda d: _study(d, grid={"seed": [1]})), ValueError, ["'seed'", "`seeds`"]),
    (f"{ST}.Study", _in_tmp(lambda d: _study(d, seeds=0)), ValueError, ["`seeds`", "positive", "0"]),
    (f"{ST}.Study", _in_tmp(lambda d: _study(d, seeds=[1, 1])), ValueError, ["`seeds`", "repeat"]),
    (f"{ST}.Study", _in_tmp(lambda d: Study(42, {"x": [1]}, name="bad", store=d / "s.sqlite")),
     TypeError, ["`fn`", "42"]),
    (f"{ST}.Study", _in_tmp(lambda d: Study(_square, {"x": [1]}, name="", store=d / "s.sqlite")),
     ValueError, ["`name`", "non-empty"]),
    (f"{ST}.Study", _in_tmp(lambda d: Study(_square, {"x": [1]}, name="bad", store=d)),
     StoreError, ["cannot write study store", "is a directory"]),
    (f"{ST}.Study", _in_tmp(lambda d: ((d / "f").write_text("x"),
                                       Study(_square, {"x": [1]}, name="bad", store=d / "f" / "s.sqlite"))),
     StoreError, ["cannot write study store", "cannot create its folder"]),
    (f"{ST}.Study", _in_tmp(lambda d: ((d / "s.sqlite").write_bytes(b"garbage" * 10), _study(d))),
     StoreError, ["`store`", "not a SQLite file"]),
    (f"{ST}.Study", lambda: Study(_square, {"x": [1]}, name="bad", store=3), TypeError, ["`store`", "int"]),
    (f"{ST}.Study.run", _in_tmp(lambda d: _closed(d).run()), StoreError, ["was closed", "new Study"]),
    (f"{ST}.Study.results", _in_tmp(lambda d: _closed(d).results()), StoreError, ["was closed", "new Study"]),
    (f"{ST}.Study.run", _in_tmp(lambda d: _study(d).run("threads")), ValueError,
     ["`executor`", "'inline'", "'threads'"]),
    (f"{ST}.Study.run", _in_tmp(lambda d: _study(d).run(max_workers=0)), ValueError,
     ["`max_workers`", "positive integer", "0"]),
    (f"{ST}.Study.run", _in_tmp(lambda d: _study(d).run(lease=-1.0)), ValueError, ["`lease`", "positive", "-1"]),
    (f"{ST}.Study.run", _in_tmp(lambda d: _study(d).run(scheduler="tcp://127.0.0.1:1")), ValueError,
     ["`scheduler`", "dask"]),
    (f"{ST}.Study.summary", _in_tmp(lambda d: _ran(d).summary(by="nope")), ValueError,
     ["`by`", "nope", "not parameters"]),
    (f"{ST}.Study.plot", _in_tmp(lambda d: _ran(d).plot("nope", "x")), ValueError, ["`metric`", "nope"]),
    (f"{ST}.Study.export", _in_tmp(lambda d: _ran(d).export(d / "r.txt")), ValueError,
     ["`export`", ".csv or .parquet", "r.txt"]),
    # ---------------------------------------------------------------- specs and functions
    (f"{ST}.load_spec", _in_tmp(lambda d: load_spec(d / "missing.toml")), LemmataError, ["does not exist"]),
    (f"{ST}.load_spec", _in_tmp(lambda d: ((d / "s.toml").write_text("[study\n"), load_spec(d / "s.toml"))),
     LemmataError, ["not valid TOML"]),
    (f"{ST}.load_spec", _in_tmp(lambda d: ((d / "s.toml").write_text('[study]\nname = "x"\n[grid]\nx = [1]\n'),
                                           load_spec(d / "s.toml"))),
     LemmataError, ["missing", "'function'", "'store'"]),
    (f"{ST}.resolve_function", lambda: resolve_function("no_colon_here"), LemmataError,
     ["`function`", "module:function", "no_colon_here"]),
    (f"{ST}.resolve_function", lambda: resolve_function("no_such_module_xyz:f"), LemmataError,
     ["cannot import module", "no_such_module_xyz"]),
    (f"{ST}.resolve_function", lambda: resolve_function("math:no_such_function"), LemmataError,
     ["no attribute", "no_such_function"]),
    # ---------------------------------------------------------------- codegen
    (f"{CG}.compile_kernel", lambda: codegen.compile_kernel("x**2"), TypeError, ["`derivation`", "str"]),
    (f"{CG}.compile_kernel", lambda: codegen.compile_kernel(_D, "fortran"), ValueError, ["`backend`", "fortran"]),
    (f"{CG}.kernel_source", lambda: codegen.kernel_source("x**2", "numpy"), TypeError, ["`derivation`", "str"]),
    (f"{CG}.kernel_source", lambda: codegen.kernel_source(_D, "numba", array_mask=(False,)), LemmataError,
     ["`array_mask`"]),
    (f"{CG}.compile_template", lambda: codegen.compile_template(_D, "bad name!", "def f():\n    pass"),
     ValueError, ["`name`", "identifier", "bad name!"]),
    (f"{CG}.compile_template", lambda: codegen.compile_template(_D, "t", 3), TypeError, ["`template`", "int"]),
    (f"{CG}.component_layout", lambda: codegen.component_layout(None), TypeError, ["`derivation`", "NoneType"]),
    (f"{CG}.Kernel.__call__", lambda: codegen.compile_kernel(_D, "numpy")(), TypeError,
     ["missing arguments", "'x'"]),
    (f"{CG}.Kernel.__call__", lambda: codegen.compile_kernel(_D, "numpy")(1.0, q=2.0), TypeError,
     ["no argument 'q'"]),
    # ---------------------------------------------------------------- lemmata study
    ("cli:study", _in_tmp(lambda d: _cli(d / "missing.toml")), 2, ["lemmata: error:", "does not exist"]),
    ("cli:study", _in_tmp(lambda d: _cli(_spec(d, "s.sqlite"))), 2, ["cannot import module 'nowhere'"]),
    ("cli:study", _in_tmp(lambda d: _cli(_spec(d, "s.sqlite"), "--workers", "0")), 2, ["`--workers`", "0"]),
    ("cli:study", _in_tmp(lambda d: _cli(_spec(d, "s.sqlite"), "--scheduler", "tcp://127.0.0.1:1")), 2,
     ["`--scheduler`", "--executor dask"]),
]

EXEMPT = {
    f"{ST}.RunSummary": "a result record that Study.run builds; users never construct one",
    f"{ST}.StudySpec": "a result record that load_spec builds from a validated TOML file",
    f"{CG}.cache_dir": "takes no argument; an unwritable folder falls back to a temporary one (tested "
                       "in tests/numerics/test_codegen.py)",
}
