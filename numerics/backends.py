"""Array backends: ``numpy`` (the reference, always present), ``numba`` (the CPU default) and
``cupy`` (optional, GPU).

Array logic written once against an array namespace ``xp`` runs on NumPy in CI and on CuPy on a
GPU; :func:`get` hands out the namespace and fails with the install hint when it is missing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


from lemmata.analysis.errors import BackendUnavailableError

from .arrays import as_array  # noqa: F401  (the array boundary, re-exported here)

__all__ = ["Backend", "BACKENDS", "get", "available", "to_numpy", "DEFAULT_BACKEND"]

DEFAULT_BACKEND = "numba"


@dataclass(frozen=True)
class Backend:
    """A numeric backend: its name, the module that provides arrays, and how to install it."""

    name: str
    array_module: str
    requires: str
    install_hint: str

    @property
    def xp(self) -> ModuleType:
        """The array namespace (``numpy`` or ``cupy``)."""
        return importlib.import_module(self.array_module)

    def is_available(self) -> bool:
        try:
            get(self.name)
        except BackendUnavailableError:
            return False
        return True


BACKENDS = {
    "numpy": Backend("numpy", "numpy", "numpy", "pip install numpy"),
    "numba": Backend("numba", "numpy", "numba", "pip install numba"),
    "cupy": Backend("cupy", "cupy", "cupy", "pip install 'lemmata[gpu]' (CuPy for your CUDA version) "
                    "on a machine with an NVIDIA GPU"),
}

_checked: dict = {}


def get(name: str) -> Backend:
    """The backend called ``name``, after checking that it can run here.

    Raises
    ------
    ValueError
        If ``name`` is not a known backend.
    BackendUnavailableError
        If the backend's library is missing, or (CuPy) no CUDA device is visible.
    """
    if name not in BACKENDS:
        raise ValueError(f"`backend` must be one of {sorted(BACKENDS)}; got {name!r}.")
    backend = BACKENDS[name]
    if name not in _checked:
        _checked[name] = _probe(backend)
    problem = _checked[name]
    if problem is not None:
        raise BackendUnavailableError(
            f"backend {name!r} is unavailable: {problem}. Install it with: {backend.install_hint}."
        )
    return backend


def _probe(backend: Backend):
    try:
        module = importlib.import_module(backend.requires)
    except ImportError as exc:
        return f"cannot import {backend.requires!r} ({exc})"
    if backend.name == "cupy":
        try:
            if module.cuda.runtime.getDeviceCount() < 1:
                return "no CUDA device is visible"
        except Exception as exc:  # CuPy raises its own runtime errors without a driver
            return f"CUDA is not usable ({type(exc).__name__}: {exc})"
    return None


def available() -> list:
    """Names of the backends that can run on this machine."""
    return [name for name, b in BACKENDS.items() if b.is_available()]


def to_numpy(x):
    """A NumPy array from a NumPy or CuPy array (copies device memory to the host).

    Raises
    ------
    TypeError
        If ``x`` is not an array of numbers (a dict's ``get`` is not CuPy's).
    """
    if hasattr(x, "get") and hasattr(x, "shape") and hasattr(x, "dtype"):
        return x.get()
    arr = as_array(x, name="x", dtype=None, complex_ok=True, finite=False, min_size=0)
    given = getattr(x, "dtype", None)                # keep integer and boolean dtypes as they are
    return arr.astype(given) if given is not None and getattr(given, "kind", "") in "biu" else arr
