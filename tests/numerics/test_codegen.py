"""compile_kernel against Derivation.evaluate (mpmath, 50 digits) on every available backend."""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from lemmata.analysis import Derivation, UnsupportedExpressionError
from lemmata.analysis.ngn import derive_ngn, ngn_stepsize
from lemmata.numerics import backends, compile_kernel, kernel_source
from lemmata.numerics.codegen import cache_dir

x, y = sp.symbols("x y", positive=True)
z = sp.Symbol("z", real=True)
lam = sp.Symbol("lambda", positive=True)          # a Python keyword as a symbol name

BACKENDS = [pytest.param("numpy"), pytest.param("numba"), pytest.param("cupy", marks=pytest.mark.gpu)]

#: derivations exercising every printer path, with sampling boxes for their inputs
CASES = {
    "polynomial": (Derivation("poly", (x, y), (lam,), {
        "p": 3 * x ** 5 - 2 * x ** 3 * y ** 2 + lam * y ** 7 - x ** -3 + (x + y) ** 4}), (0.5, 2.0)),
    "transcendental": (Derivation("trans", (x, z), (lam,), {
        "a": sp.exp(-x * lam) * sp.sin(z) + sp.log(x) * sp.cos(z) ** 2,
        "b": sp.sqrt(x + lam) / (1 + sp.tanh(z)) + sp.atan(z / x),
        "c": x ** sp.Rational(1, 3) + x ** sp.Rational(-1, 2) + sp.Abs(z)}), (0.3, 3.0)),
    "stable": (Derivation("stable", (x, z), (), {
        "softplus": sp.log(1 + sp.exp(z)), "l1p": sp.log(1 + x * 1e-3), "em1": sp.exp(z * 1e-3) - 1}),
        (0.1, 5.0)),
    "piecewise": (Derivation("pw", (x, z), (), {
        "relu": sp.Piecewise((z, z > 0), (0, True)),
        "clip": sp.Max(sp.Min(z, x), -x),
        "band": sp.Piecewise((x * z, sp.And(z > -1, z < 1)), (z ** 2, True))}), (0.2, 2.0)),
    "matrix": (Derivation("mat", (x, z), (lam,), {
        "M": sp.Matrix([[x * lam, sp.exp(z)], [z ** 2, x + z], [1, lam]]), "s": x * z}), (0.2, 2.0)),
    "ngn": (derive_ngn(3), (0.1, 4.0)),
}


def _random_points(derivation, box, n, seed):
    rng = np.random.default_rng(seed)
    lo, hi = box
    values = []
    for s in derivation.symbols:
        if s.is_positive or s.is_nonnegative:
            values.append(rng.uniform(lo, hi, n))
        else:
            values.append(rng.uniform(-hi, hi, n))
    return values


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_kernel_matches_high_precision_reference(case, backend):
    derivation, box = CASES[case]
    kernel = compile_kernel(derivation, backend)
    args = _random_points(derivation, box, 64, seed=len(case))
    out = kernel(*args)
    if not isinstance(out, dict):
        out = {derivation.names[0]: out}
    for i in range(0, 64, 7):
        point = {s: float(a[i]) for s, a in zip(derivation.symbols, args)}
        reference = derivation.evaluate(point, dps=50, strict=False)
        for name, ref in reference.items():
            got = np.asarray(out[name].get() if hasattr(out[name], "get") else out[name])[i]
            ref = np.array(ref.tolist(), dtype=float) if isinstance(ref, mpmath.matrix) else float(ref)
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-300, err_msg=f"{case}:{name}")


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_broadcasting_scalars_and_shapes(backend):
    k = compile_kernel(ngn_stepsize(), backend)
    f = np.linspace(0.5, 2.0, 12).reshape(3, 4)
    g2 = np.linspace(0.1, 1.0, 4)
    out = k(f, g2, 0.5)
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out, 2 * f * 0.5 / (2 * f + 0.5 * g2), rtol=1e-15)
    assert np.shape(k(1.0, 2.0, 0.5)) == ()
    assert k(f=1.0, grad_sq_norm=2.0, sigma=0.5) == pytest.approx(1 / 3, rel=1e-15)  # 1/(2+1)


def test_matrix_output_shape():
    derivation, _ = CASES["matrix"]
    out = compile_kernel(derivation, "numba")(np.ones(5), np.zeros(5), 2.0)
    assert out["M"].shape == (5, 3, 2)
    assert out["s"].shape == (5,)
    np.testing.assert_array_equal(out["M"][0], [[2.0, 1.0], [0.0, 1.0], [1.0, 2.0]])


def test_stable_rewrites_avoid_overflow_and_cancellation():
    d = Derivation("s", (z,), (), {"softplus": sp.log(1 + sp.exp(z)), "em1": sp.exp(z) - 1,
                                   "l1p": sp.log(1 + z)})
    k = compile_kernel(d, "numpy")
    with np.errstate(over="ignore"):
        out = k(np.array([1000.0, 1e-20]))
        plain = compile_kernel(d, "numpy", rewrite=False)(np.array([1000.0, 1e-20]))
    assert out["softplus"][0] == 1000.0                       # log(1 + e^1000) = 1000 + e^-1000
    assert out["em1"][1] == pytest.approx(1e-20, rel=1e-15)   # expm1: no cancellation
    assert out["l1p"][1] == pytest.approx(1e-20, rel=1e-15)
    assert plain["em1"][1] == 0.0                              # what the rewrite prevents


def test_integer_powers_print_as_products_and_cse_shares():
    d = Derivation("p", (x, y), (), {"a": (x + y) ** 3 + x ** 2, "b": (x + y) ** 3 * y})
    source = kernel_source(d, "numpy")
    assert "**" not in source.split("def core")[1]
    assert source.count("a0 + a1") == 1               # the shared base is computed once


def test_keyword_symbol_names_are_valid_arguments():
    d = Derivation("kw", (lam,), (), {"e": lam ** 2})
    assert compile_kernel(d, "numba")(3.0) == 9.0


def test_unsupported_expression_names_the_node():
    d = Derivation("bad", (x,), (), {"g": sp.gamma(x) + 1})
    with pytest.raises(UnsupportedExpressionError, match=r"`gamma\(a0\)` \(a gamma\)"):
        compile_kernel(d, "numpy")
    d = Derivation("inf", (x,), (), {"g": sp.Piecewise((x, x > 1), (sp.oo, True))})
    with pytest.raises(UnsupportedExpressionError, match="non-finite constant"):
        compile_kernel(d, "numba")


def test_division_by_zero_follows_ieee_in_parallel_loops():
    # numba's default error model would raise (and a prange loop stopped early, leaving the rest of
    # `out` unwritten); kernels must behave like NumPy: inf/nan, every element written
    d = Derivation("ratio", (x, y), (), {"r": x / y})
    num = np.ones(100_000)
    den = np.ones(100_000)
    den[10] = 0.0
    out = compile_kernel(d, "numba")(num, den)
    assert np.isinf(out[10]) and np.all(out[np.arange(out.size) != 10] == 1.0)


def test_compiled_once_per_process_and_cached_on_disk():
    d = ngn_stepsize()
    assert compile_kernel(d, "numba") is compile_kernel(d, "numba")
    compile_kernel(d, "numba")(np.ones(3), np.ones(3), np.ones(3))
    files = list(cache_dir().glob(f"k_{d.fingerprint}_*"))
    assert files, "generated module should be written to the kernel cache"
    assert any((cache_dir() / "__pycache__").glob(f"k_{d.fingerprint}_*.nbi"))


def test_kernel_repr_shows_source_and_bad_arguments():
    k = compile_kernel(ngn_stepsize(), "numpy")
    assert "def core" in repr(k)
    with pytest.raises(TypeError, match="missing arguments"):
        k(1.0)
    with pytest.raises(TypeError, match="no argument 'q'"):
        k(1.0, 2.0, q=3.0)
    with pytest.raises(TypeError, match="derivation"):
        compile_kernel("not a derivation")


def test_unknown_and_unavailable_backends():
    with pytest.raises(ValueError, match="`backend` must be one of"):
        compile_kernel(ngn_stepsize(), "fortran")
    if "cupy" not in backends.available():
        with pytest.raises(ImportError, match=r"lemmata\[gpu\]"):
            compile_kernel(ngn_stepsize(), "cupy")


def test_complex_expressions():
    w = sp.Symbol("w", real=True)
    d = Derivation("phase", (w,), (), {"e": sp.exp(sp.I * w)})
    out = compile_kernel(d, "numba")(np.array([0.0, math.pi / 2]))
    np.testing.assert_allclose(out, [1.0, 1j], atol=1e-15)


@pytest.fixture
def fresh_cache_state(monkeypatch):
    """The cache folder's writability is decided once per process: start from no decision."""
    from lemmata.numerics import codegen

    monkeypatch.setattr(codegen, "_cache_checked", set())
    monkeypatch.setattr(codegen, "_cache_fallback", {})
    monkeypatch.setattr(codegen, "_cache_temporary", [])
    return codegen


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_unwritable_cache_dir_falls_back_to_a_temporary_folder_with_one_warning(
        tmp_path, monkeypatch, fresh_cache_state, backend):
    # a path under a regular file cannot be created, even by root (chmod would not stop root)
    (tmp_path / "a_file").write_text("not a folder")
    monkeypatch.setenv("LEMMATA_CACHE_DIR", str(tmp_path / "a_file" / "kernels"))
    # fresh derivations (unique constants), so the per-process kernel memo cannot hide a load
    tag = sp.Rational(7919, 13 + (backend == "numba"))
    first = Derivation("fallback1", (x,), (), {"f": tag * x ** 2 + 1})
    second = Derivation("fallback2", (x,), (), {"g": sp.exp(-tag * x)})
    with pytest.warns(RuntimeWarning, match="LEMMATA_CACHE_DIR .* is not writable") as record:
        out1 = compile_kernel(first, backend)(np.array([0.5, 2.0]))
        out2 = compile_kernel(second, backend)(np.array([0.5, 2.0]))
    assert len([w for w in record if issubclass(w.category, RuntimeWarning)]) == 1
    # reference: the closed forms evaluated by hand
    t = float(tag)
    np.testing.assert_allclose(out1, [t * 0.25 + 1, t * 4 + 1], rtol=1e-15)
    np.testing.assert_allclose(out2, [math.exp(-t * 0.5), math.exp(-t * 2)], rtol=1e-15)
    folder = fresh_cache_state.cache_dir()
    assert folder.is_dir() and folder != tmp_path / "a_file" / "kernels"
    assert list(folder.glob(f"k_{first.fingerprint}_*")) and list(folder.glob(f"k_{second.fingerprint}_*"))


def test_writability_probe_decides_the_folder(tmp_path, monkeypatch, fresh_cache_state):
    """A read-only folder (what chmod gives a non-root user) by monkeypatching the probe."""
    codegen = fresh_cache_state
    monkeypatch.setenv("LEMMATA_CACHE_DIR", str(tmp_path / "ro"))
    monkeypatch.setattr(codegen, "_unwritable_reason", lambda d: "Read-only file system")
    with pytest.warns(RuntimeWarning, match="Read-only file system"):
        folder = codegen.cache_dir()
    assert folder != tmp_path / "ro" and codegen.cache_dir() == folder
    monkeypatch.setenv("LEMMATA_CACHE_DIR", str(tmp_path / "rw"))
    monkeypatch.setattr(codegen, "_unwritable_reason", lambda d: None)
    assert codegen.cache_dir() == tmp_path / "rw"
