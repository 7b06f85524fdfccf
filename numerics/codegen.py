"""From a :class:`analysis.Derivation` to a compiled kernel.

Pipeline (one printer; the backends differ only in data):

1. stable rewrites (:data:`lemmata.analysis.rewrite.STABLE_REWRITES`: logaddexp/softplus, log1p, expm1);
2. the derivation's symbols are renamed ``a0, a1, ...`` (inputs then params) so that any SymPy
   name, ``lambda`` included, is a valid argument;
3. common subexpressions are shared (``sympy.cse``), and the bases of integer powers are hoisted
   into temporaries so that ``b**3`` prints as ``b*b*b`` (SymPy's ``pow`` calls cost ~100x on
   large arrays);
4. a strict walk refuses any node outside the supported set with
   :class:`UnsupportedExpressionError` naming it;
5. printing: ``numba`` gets a scalar ``core`` (``@njit(cache=True)``) plus a ``prange`` loop
   specialised to which arguments are arrays and which are scalars; ``numpy`` and ``cupy`` share
   one array function ``core(xp, ...)`` called with the right namespace.

Generated modules are written to the kernel cache directory (``$LEMMATA_CACHE_DIR``, else
``~/.cache/lemmata/kernels``) under a content hash, so Numba's on-disk cache applies and each
derivation compiles once per machine; :func:`compile_kernel` memoises per process. A cache
folder that cannot be written is replaced by a per-process temporary folder, with one warning.
"""

from __future__ import annotations

import atexit
import importlib.util
import math
import os
import shutil
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from lemmata.analysis.derivation import Derivation
from lemmata.analysis.errors import LemmataError, UnsupportedExpressionError
from lemmata.analysis.rewrite import STABLE_REWRITES, apply_rewrites

from . import backends

__all__ = ["compile_kernel", "Kernel", "kernel_source", "FUNCTIONS", "cache_dir", "compile_template",
           "component_layout"]

#: SymPy function class name -> name in the array namespace (NumPy, CuPy, and NumPy-in-Numba).
FUNCTIONS = {
    "exp": "exp", "log": "log", "sqrt": "sqrt",
    "sin": "sin", "cos": "cos", "tan": "tan",
    "asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2",
    "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
    "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh",
    "Abs": "abs", "sign": "sign", "floor": "floor", "ceiling": "ceil",
    "re": "real", "im": "imag", "conjugate": "conj",
    "log1p": "log1p", "expm1": "expm1", "logaddexp": "logaddexp",
    "Max": "maximum", "Min": "minimum",
}

_ATOMS = (sp.Symbol, sp.Integer, sp.Rational, sp.Float, sp.core.numbers.ImaginaryUnit,
          sp.core.numbers.Pi, sp.core.numbers.Exp1)
_REJECTED_NUMBERS = (sp.core.numbers.Infinity, sp.core.numbers.NegativeInfinity,
                     sp.core.numbers.ComplexInfinity, sp.core.numbers.NaN)
_LOGIC = (sp.And, sp.Or, sp.Not, sp.core.relational.Relational,
          sp.logic.boolalg.BooleanTrue, sp.logic.boolalg.BooleanFalse)


def _configured_cache_dir() -> Path:
    root = os.environ.get("LEMMATA_CACHE_DIR")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lemmata" / "kernels"


_cache_lock = threading.Lock()
_cache_checked: set = set()          # configured folders found writable in this process
_cache_fallback: dict = {}           # configured folder -> the temporary folder used instead
_cache_temporary: list = []          # this process's temporary folder, made on first need


def _unwritable_reason(directory: Path) -> str | None:
    """Why ``directory`` cannot hold the kernel cache (None when it can): made if missing, then
    a file created and removed in it."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _fall_back(configured: Path, reason: str) -> Path:
    """Switch ``configured`` to this process's temporary folder, warning once per folder."""
    with _cache_lock:
        if str(configured) in _cache_fallback:
            return _cache_fallback[str(configured)]
        if not _cache_temporary:
            temporary = Path(tempfile.mkdtemp(prefix="lemmata-kernels-"))
            atexit.register(shutil.rmtree, temporary, ignore_errors=True)
            _cache_temporary.append(temporary)
        _cache_fallback[str(configured)] = _cache_temporary[0]
        _cache_checked.discard(str(configured))
    source = "$LEMMATA_CACHE_DIR" if os.environ.get("LEMMATA_CACHE_DIR") else "the default kernel cache"
    warnings.warn(f"{source} {str(configured)!r} is not writable ({reason}); kernels are kept in "
                  f"{str(_cache_temporary[0])!r} for this process only, so they compile again in every "
                  f"new process. Set LEMMATA_CACHE_DIR to a writable folder to keep them.",
                  RuntimeWarning, stacklevel=3)
    return _cache_temporary[0]


def cache_dir() -> Path:
    """Where generated kernel modules (and Numba's cache of them) are kept.

    ``$LEMMATA_CACHE_DIR``, else ``$XDG_CACHE_HOME/lemmata/kernels`` (``~/.cache/lemmata/kernels``).
    A folder that cannot be created or written (a read-only or full file system, a path under a
    regular file) is replaced, for the rest of this process, by a temporary folder, with one
    ``RuntimeWarning`` saying so: kernels still work, they are only compiled again in every
    process.
    """
    configured = _configured_cache_dir()
    key = str(configured)
    with _cache_lock:
        if key in _cache_fallback:
            return _cache_fallback[key]
        if key in _cache_checked:
            return configured
    reason = _unwritable_reason(configured)
    if reason is None:
        with _cache_lock:
            _cache_checked.add(key)
        return configured
    return _fall_back(configured, reason)


# --------------------------------------------------------------------------- validation
def _require_derivation(derivation) -> None:
    if not isinstance(derivation, Derivation):
        raise TypeError(f"`derivation` must be an analysis.Derivation; got {type(derivation).__name__}.")


def _check_supported(expr: sp.Basic, where: str) -> None:
    for node in sp.preorder_traversal(expr):
        if isinstance(node, _REJECTED_NUMBERS):
            raise UnsupportedExpressionError(
                f"cannot generate code for the non-finite constant `{node}` in {where}.")
        if isinstance(node, _ATOMS) or isinstance(node, (sp.Add, sp.Mul, sp.Pow)):
            continue
        if isinstance(node, (sp.Piecewise, sp.functions.elementary.piecewise.ExprCondPair)):
            continue
        if isinstance(node, _LOGIC) or isinstance(node, sp.Tuple):
            continue
        if isinstance(node, (sp.Function, sp.Max, sp.Min)) and type(node).__name__ in FUNCTIONS:
            continue
        raise UnsupportedExpressionError(
            f"cannot generate code for `{node}` (a {type(node).__name__}) in {where}: it has no "
            f"translation to the array backends. Supported functions: {sorted(FUNCTIONS)}.")


# --------------------------------------------------------------------------- printing
class _KernelPrinter(PythonCodePrinter):
    """Prints the supported subset for one namespace (``np`` or ``xp``) and one style
    (``scalar`` for Numba cores, ``array`` for NumPy/CuPy)."""

    def __init__(self, namespace: str, style: str):
        super().__init__({"fully_qualified_modules": True, "strict": True})
        self._ns = namespace
        self._style = style

    def _print_Function(self, expr):
        name = type(expr).__name__
        target = FUNCTIONS.get(name)
        if target is None:  # guarded by _check_supported; kept for direct use of the printer
            raise UnsupportedExpressionError(f"no translation for `{expr}` ({name}).")
        args = [self._print(a) for a in expr.args]
        if name in ("Max", "Min") and len(args) > 2:
            out = args[0]
            for a in args[1:]:
                out = f"{self._ns}.{target}({out}, {a})"
            return out
        return f"{self._ns}.{target}({', '.join(args)})"

    def _print_Integer(self, expr):
        return str(int(expr))

    def _print_Rational(self, expr):
        return repr(float(expr))

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Half(self, expr):
        return "0.5"

    def _print_ImaginaryUnit(self, expr):
        return "1j"

    def _print_Pi(self, expr):
        return repr(math.pi)

    def _print_Exp1(self, expr):
        return repr(math.e)

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.base, expr.exp
        b = self.parenthesize(base, sp.printing.precedence.PRECEDENCE["Pow"])
        if exponent.is_Integer:
            n = int(exponent)
            if n == 0:
                return "1.0"
            if 0 < abs(n) <= 8:
                product = "*".join([b] * abs(n))
                return f"({product})" if n > 0 else f"(1.0/({product}))"
            return f"({b}**{n})"
        if exponent == sp.S.Half:
            return f"{self._ns}.sqrt({self._print(base)})"
        if exponent == -sp.S.Half:
            return f"(1.0/{self._ns}.sqrt({self._print(base)}))"
        return f"({b}**{self.parenthesize(exponent, sp.printing.precedence.PRECEDENCE['Pow'])})"

    def _print_Piecewise(self, expr):
        pieces = list(expr.args)
        if pieces[-1].cond in (True, sp.true):
            result = self._print(pieces.pop().expr)
        else:
            result = f"{self._ns}.nan"
        for piece in reversed(pieces):
            value, cond = self._print(piece.expr), self._print(piece.cond)
            if self._style == "scalar":
                result = f"(({value}) if ({cond}) else ({result}))"
            else:
                result = f"{self._ns}.where({cond}, {value}, {result})"
        return result

    def _print_Relational(self, expr):
        op = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[expr.rel_op]
        return f"({self._print(expr.lhs)} {op} {self._print(expr.rhs)})"

    def _print_And(self, expr):
        return self._logic(expr, "and", "logical_and")

    def _print_Or(self, expr):
        return self._logic(expr, "or", "logical_or")

    def _print_Not(self, expr):
        inner = self._print(expr.args[0])
        return f"(not {inner})" if self._style == "scalar" else f"{self._ns}.logical_not({inner})"

    def _print_BooleanTrue(self, expr):
        return "True"

    def _print_BooleanFalse(self, expr):
        return "False"

    def _logic(self, expr, word, func):
        args = [self._print(a) for a in expr.args]
        if self._style == "scalar":
            return "(" + f" {word} ".join(args) + ")"
        out = args[0]
        for a in args[1:]:
            out = f"{self._ns}.{func}({out}, {a})"
        return out

    def _print_not_supported(self, expr):
        raise UnsupportedExpressionError(f"cannot print `{expr}` ({type(expr).__name__}).")


# SymPy's Python printer has its own method per known function; route them all through the table.
for _name in FUNCTIONS:
    setattr(_KernelPrinter, f"_print_{_name}", _KernelPrinter._print_Function)
del _name


# --------------------------------------------------------------------------- lowering
@dataclass(frozen=True)
class _Lowered:
    """A derivation reduced to straight-line code over ``a0..a{n-1}``."""

    arg_names: tuple          # the derivation's symbol names, in argument order
    assignments: tuple        # ((temp Symbol, expr), ...)
    components: tuple         # flat output expressions
    layout: tuple             # ((name, shape or None, start, stop), ...)
    is_complex: bool


def _hoist_power_bases(assignments, components):
    """Give every non-atomic base of an integer power its own temporary."""
    counter = [0]
    new_assignments = []

    def hoist(expr):
        bases = {}
        for node in sp.preorder_traversal(expr):
            if (node.is_Pow and node.exp.is_Integer and abs(int(node.exp)) >= 2
                    and not node.base.is_Atom and node.base not in bases):
                bases[node.base] = None
        if not bases:
            return expr
        mapping = {}
        for base in sorted(bases, key=sp.count_ops):
            symbol = sp.Symbol(f"p{counter[0]}")
            counter[0] += 1
            new_assignments.append((symbol, base.xreplace(mapping)))
            mapping[base] = symbol
        return expr.xreplace(mapping)

    for symbol, expr in assignments:
        expr = hoist(expr)
        new_assignments.append((symbol, expr))
    hoisted_components = tuple(hoist(c) for c in components)
    return tuple(new_assignments), hoisted_components


def _lower(derivation: Derivation, rewrite: bool) -> _Lowered:
    symbols = derivation.symbols
    rename = {s: sp.Symbol(f"a{i}") for i, s in enumerate(symbols)}
    components, layout = [], []
    for name, expr in derivation.expressions.items():
        if rewrite:
            expr = apply_rewrites(expr, STABLE_REWRITES)
        start = len(components)
        if isinstance(expr, sp.MatrixBase):
            components.extend(e.xreplace(rename) for e in expr)
            layout.append((name, expr.shape, start, len(components)))
        else:
            components.append(expr.xreplace(rename))
            layout.append((name, None, start, len(components)))
    for (name, _, start, stop) in layout:
        for c in components[start:stop]:
            _check_supported(c, f"expression {name!r} of derivation {derivation.name!r}")
    replacements, reduced = sp.cse(components, symbols=sp.numbered_symbols("t"))
    assignments, reduced = _hoist_power_bases(tuple(replacements), tuple(reduced))
    is_complex = any(c.has(sp.I) for c in reduced) or any(e.has(sp.I) for _, e in assignments)
    return _Lowered(tuple(s.name for s in symbols), assignments, reduced, tuple(layout), is_complex)


def _body(lowered: _Lowered, printer: _KernelPrinter, indent: str) -> list:
    lines = [f"{indent}{printer._print(sym)} = {printer._print(expr)}"
             for sym, expr in lowered.assignments]
    results = [printer._print(c) for c in lowered.components]
    if len(results) == 1:
        lines.append(f"{indent}return {results[0]}")
    else:
        lines.append(f"{indent}return ({', '.join(results)},)")
    return lines


def _header(derivation: Derivation, lowered: _Lowered) -> list:
    args = ", ".join(f"a{i}={n}" for i, n in enumerate(lowered.arg_names))
    outputs = ", ".join(f"{n}{'' if s is None else list(s)}" for n, s, _, _ in lowered.layout)
    return [f"# Generated by lemmata from derivation {derivation.name!r} "
            f"(fingerprint {derivation.fingerprint}).",
            f"# arguments: {args}",
            f"# outputs: {outputs}"]


def kernel_source(derivation: Derivation, backend: str = "numba", *, rewrite: bool = True,
                  array_mask: tuple | None = None) -> str:
    """The Python source that :func:`compile_kernel` generates (for reading and debugging).

    For ``numba``, ``array_mask`` (one bool per argument, True for arrays) selects the
    vectorised loop that is appended after the scalar ``core``; None gives the core alone.
    """
    _require_derivation(derivation)
    lowered = _lower(derivation, rewrite)
    args = ", ".join(f"a{i}" for i in range(len(lowered.arg_names)))
    lines = _header(derivation, lowered)
    if backend == "numba":
        printer = _KernelPrinter("np", "scalar")
        lines += ["import numpy as np", "import numba", "",
                  "@numba.njit(cache=True, error_model=\"numpy\")", f"def core({args}):"]
        lines += _body(lowered, printer, "    ")
        if array_mask is not None:
            if len(array_mask) != len(lowered.arg_names) or not any(array_mask):
                raise LemmataError(f"`array_mask` must mark at least one of "
                                   f"{len(lowered.arg_names)} arguments; got {array_mask}.")
            first = next(i for i, m in enumerate(array_mask) if m)
            call = ", ".join(f"a{i}[i]" if m else f"a{i}" for i, m in enumerate(array_mask))
            lines += ["", "", "@numba.njit(cache=True, parallel=True, error_model=\"numpy\")",
                      f"def loop({args}, out):",
                      f"    for i in numba.prange(a{first}.shape[0]):"]
            n_out = len(lowered.components)
            if n_out == 1:
                lines.append(f"        out[0, i] = core({call})")
            else:
                lines.append(f"        r = core({call})")
                lines += [f"        out[{j}, i] = r[{j}]" for j in range(n_out)]
    elif backend in ("numpy", "cupy"):
        printer = _KernelPrinter("xp", "array")
        lines += ["", f"def core(xp, {args}):"]
        lines += _body(lowered, printer, "    ")
    else:
        backends.get(backend)  # raises the standard error for unknown names
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- loading
_load_lock = threading.Lock()


def _write_once(path: Path, source: str) -> None:
    if path.exists() and path.read_text() == source:
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(source)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_module(source: str, stem: str):
    """Write ``source`` to the kernel cache (once) and import it as a module."""
    directory = cache_dir()
    path = directory / f"{stem}.py"
    with _load_lock:
        try:
            _write_once(path, source)
        except OSError as exc:           # the folder stopped being writable (a full disk)
            if directory in _cache_temporary:
                raise LemmataError(f"cannot write the kernel module {str(path)!r}: "
                                   f"{exc.strerror or exc}") from exc
            directory = _fall_back(_configured_cache_dir(), exc.strerror or str(exc))
            path = directory / f"{stem}.py"
            _write_once(path, source)
        module_name = f"lemmata_kernels.{stem}"
        if module_name in sys.modules:
            return sys.modules[module_name]
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[module_name] = module
        return module


# --------------------------------------------------------------------------- kernel
@dataclass(eq=False)
class Kernel:
    """A compiled derivation.

    Call it with one value per symbol, inputs then params, positionally or by symbol name.
    Arguments broadcast like NumPy arrays. A derivation with one expression returns one array;
    with several, a dict of arrays; a Matrix-valued expression gets its shape as trailing axes.

    Attributes
    ----------
    derivation : Derivation
    backend : str
    source : str
        The generated code (for ``numba``, the scalar core and the loop for all-array inputs).
    """

    derivation: Derivation
    backend: str
    source: str
    _lowered: _Lowered = field(repr=False)
    _rewrite: bool = field(repr=False)
    _modules: dict = field(default_factory=dict, repr=False)

    @property
    def arg_names(self) -> tuple:
        return self._lowered.arg_names

    @property
    def outputs(self) -> tuple:
        """``(name, shape)`` for every output; shape is None for scalars."""
        return tuple((n, s) for n, s, _, _ in self._lowered.layout)

    def __repr__(self) -> str:
        return (f"Kernel({self.derivation.name!r}, backend={self.backend!r}, "
                f"args={list(self.arg_names)})\n{self.source}")

    # -- numba scalar core, for use inside other jitted code
    @property
    def scalar(self):
        """The Numba-compiled scalar function ``core(*args)`` (``numba`` backend only)."""
        if self.backend != "numba":
            raise LemmataError(f"`Kernel.scalar` exists for the numba backend only; "
                               f"this kernel's backend is {self.backend!r}.")
        return self._module(None).core

    def _module(self, mask):
        if mask not in self._modules:
            if self.backend == "numba":
                source = kernel_source(self.derivation, "numba", rewrite=self._rewrite,
                                       array_mask=mask)
                tag = "core" if mask is None else "".join("a" if m else "s" for m in mask)
                stem = f"k_{self.derivation.fingerprint}_{int(self._rewrite)}_numba_{tag}"
            else:
                source = self.source
                stem = f"k_{self.derivation.fingerprint}_{int(self._rewrite)}_array"
            self._modules[mask] = _load_module(source, stem)
        return self._modules[mask]

    def _bind(self, args, kwargs) -> list:
        names = self.arg_names
        if len(args) > len(names):
            raise TypeError(f"kernel {self.derivation.name!r} takes {len(names)} arguments "
                            f"{list(names)}; got {len(args)} positional.")
        values = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"kernel {self.derivation.name!r} has no argument {key!r}; "
                                f"its arguments are {list(names)}.")
            if key in values:
                raise TypeError(f"argument {key!r} given twice.")
            values[key] = value
        missing = [n for n in names if n not in values]
        if missing:
            raise TypeError(f"kernel {self.derivation.name!r} is missing arguments {missing}.")
        return [values[n] for n in names]

    def __call__(self, *args, **kwargs):
        values = self._bind(args, kwargs)
        if self.backend == "numba":
            components, shape = self._call_numba(values)
        else:
            components, shape = self._call_array(values)
        return self._unpack(components, shape)

    def _result_dtype(self, arrays):
        complex_ = self._lowered.is_complex or any(np.iscomplexobj(a) for a in arrays)
        return np.complex128 if complex_ else np.float64

    def _call_numba(self, values):
        arrays = [np.asarray(v) for v in values]
        dtype = self._result_dtype(arrays)
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
        n = math.prod(shape)
        n_out = len(self._lowered.components)
        out = np.empty((n_out, n), dtype=dtype)
        if n == 0:
            return out.reshape((n_out,) + shape), shape
        prepared, mask = [], []
        for a in arrays:
            in_dtype = np.complex128 if np.iscomplexobj(a) else np.float64
            if a.size == 1 and n > 1 or a.ndim == 0:
                prepared.append(in_dtype(a.reshape(())[()]))
                mask.append(False)
            else:
                flat = np.broadcast_to(a, shape).astype(in_dtype, copy=False)
                prepared.append(np.ascontiguousarray(flat).reshape(-1))
                mask.append(True)
        if not any(mask):  # all scalars: use the core directly
            result = self._module(None).core(*prepared)
            out[:, 0] = result if n_out > 1 else (result,)
        else:
            self._module(tuple(mask)).loop(*prepared, out)
        return out.reshape((n_out,) + shape), shape

    def _call_array(self, values):
        xp = backends.get(self.backend).xp
        arrays = [xp.asarray(v) for v in values]
        arrays = [a if a.dtype.kind in "fc" else a.astype(xp.float64) for a in arrays]
        shape = tuple(np.broadcast_shapes(*(tuple(a.shape) for a in arrays)))
        dtype = self._result_dtype([np.empty(0, dtype=str(a.dtype)) for a in arrays])
        result = self._module(None).core(xp, *arrays)
        if len(self._lowered.components) == 1:
            result = (result,)
        out = xp.stack([xp.broadcast_to(xp.asarray(r, dtype=dtype), shape) for r in result])
        return out, shape

    def _unpack(self, components, shape):
        results = {}
        for name, mshape, start, stop in self._lowered.layout:
            block = components[start:stop]
            if mshape is None:
                results[name] = block[0]
            else:
                block = block.reshape(tuple(mshape) + tuple(shape))
                results[name] = block.transpose(tuple(range(2, 2 + len(shape))) + (0, 1))
        if len(results) == 1:
            return next(iter(results.values()))
        return results


_kernels: dict = {}


def compile_kernel(derivation: Derivation, backend: str = "numba", *, rewrite: bool = True) -> Kernel:
    """Compile ``derivation`` into a :class:`Kernel` for ``backend``.

    Parameters
    ----------
    derivation : Derivation
    backend : {"numba", "numpy", "cupy"}
    rewrite : bool
        Apply the numerically stable rewrites (log1p, expm1, logaddexp) before printing.

    Raises
    ------
    UnsupportedExpressionError
        If an expression holds a node no backend can print (the message names it).
    BackendUnavailableError
        If the backend cannot run here (CuPy missing, no GPU).

    Examples
    --------
    >>> import sympy as sp
    >>> from analysis import Derivation
    >>> x, c = sp.symbols("x c")
    >>> k = compile_kernel(Derivation("softplus", (x,), (c,), c * sp.log(1 + sp.exp(x))), "numpy")
    >>> float(k(1000.0, 2.0))
    2000.0
    """
    _require_derivation(derivation)
    backends.get(backend)
    key = (derivation.fingerprint, backend, bool(rewrite))
    kernel = _kernels.get(key)
    if kernel is None:
        lowered = _lower(derivation, rewrite)
        mask = (True,) * len(lowered.arg_names) if backend == "numba" and lowered.arg_names else None
        source = kernel_source(derivation, backend, rewrite=rewrite, array_mask=mask)
        kernel = Kernel(derivation, backend, source, lowered, bool(rewrite))
        _kernels[key] = kernel
    return kernel


def component_layout(derivation: Derivation, rewrite: bool = True) -> tuple:
    """``(name, shape, start, stop)`` of every expression in the flat tuple that the Numba
    ``core`` of ``derivation`` returns."""
    _require_derivation(derivation)
    return _lower(derivation, rewrite).layout


def compile_template(derivation: Derivation, name: str, template: str, *, rewrite: bool = True):
    """Compile ``template`` (Numba source that calls ``core(a0, ..., a{n-1})``) in one module with
    the derivation's scalar core, cached on disk like any kernel; returns the module.

    This is how simulators and orbit loops get the generated maths inlined into their hot loop
    without passing functions around (Numba cannot cache a function that takes a dispatcher)."""
    import hashlib

    _require_derivation(derivation)
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"`name` must be a Python identifier (it names the cached module); got {name!r}.")
    if not isinstance(template, str):
        raise TypeError(f"`template` must be Numba source text; got {type(template).__name__}.")
    source = kernel_source(derivation, "numba", rewrite=rewrite) + "\n\n" + template.strip() + "\n"
    tag = hashlib.sha256(template.encode()).hexdigest()[:10]
    stem = f"k_{derivation.fingerprint}_{int(rewrite)}_{name}_{tag}"
    return _load_module(source, stem)
