"""The package layout of DESIGN.md section 1: one import package ``lemmata``, ``lemmata.analysis``
free of numeric backends, nothing importing ``lemmata.proofs_checks``, and a user's own modules
named ``analysis`` or ``graphs`` unable to shadow lemmata's."""

import ast
import os
import pathlib
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("analysis", "numerics", "graphs", "proofs_checks")

BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'numba', 'cupy', 'torch', 'scipy', 'networkx', 'numpy'}:
            raise ImportError('blocked for the layering test: ' + name)
        return None
sys.meta_path.insert(0, Block())
import lemmata, lemmata.analysis, lemmata.analysis.ngn, lemmata.analysis.rewrite, lemmata.analysis.derivation
import lemmata.analysis.sde, lemmata.analysis.logistic, lemmata.analysis.signature, lemmata.analysis.cde
d = lemmata.analysis.ngn.derive_ngn(2)
assert d['stepsize'] is not None
loaded = sorted(m for m in sys.modules if m.split('.')[0] in {'numba', 'cupy', 'torch', 'numpy'}
                or m.split('.')[:2] in (['lemmata', 'numerics'], ['lemmata', 'proofs_checks'], ['lemmata', 'graphs']))
print('LOADED', loaded)
"""


def test_analysis_imports_without_numeric_backends():
    result = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout


def _python_files():
    for folder in PACKAGES + ("tests", "examples", "benchmarks", "docs"):
        yield from (ROOT / folder).rglob("*.py")


def _imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def test_every_import_goes_through_the_lemmata_namespace():
    """A bare ``import analysis`` would work from the repository root and nowhere else, and would
    load a second copy of the package (with its own exception classes)."""
    offenders = [f"{path.relative_to(ROOT)}:{line}: {name}"
                 for path in _python_files() for line, name in _imported_modules(path)
                 if name.split(".")[0] in PACKAGES]
    assert offenders == []


def test_nothing_imports_proofs_checks():
    offenders = [f"{path.relative_to(ROOT)}:{line}: {name}"
                 for package in ("analysis", "numerics", "graphs")
                 for path in (ROOT / package).rglob("*.py")
                 for line, name in _imported_modules(path)
                 if name.startswith("lemmata.proofs_checks") or name == "lemmata"]
    assert offenders == []


def test_user_modules_named_like_the_subpackages_do_not_shadow_lemmata(tmp_path):
    """A notebook folder with its own ``analysis.py``, ``graphs/`` and ``numerics.py`` (the
    issue's reproducer): lemmata still imports from there, derives, compiles and runs."""
    (tmp_path / "analysis.py").write_text("raise RuntimeError('the user analysis.py was imported')\n")
    (tmp_path / "numerics.py").write_text("raise RuntimeError('the user numerics.py was imported')\n")
    (tmp_path / "graphs").mkdir()
    (tmp_path / "graphs" / "__init__.py").write_text("raise RuntimeError('the user graphs/ was imported')\n")
    (tmp_path / "proofs_checks").mkdir()
    script = (
        "import lemmata\n"
        "from lemmata.analysis import Derivation\n"
        "from lemmata.analysis.ngn import ngn_stepsize\n"
        "from lemmata.numerics import compile_kernel\n"
        "import lemmata.numerics.sde, lemmata.graphs, lemmata.proofs_checks.cli\n"
        "import networkx as nx\n"
        "k = compile_kernel(ngn_stepsize(), backend='numpy')\n"
        "assert abs(float(k(1.0, 2.0, 0.5)) - 2 * 1.0 * 0.5 / (2 * 1.0 + 0.5 * 2.0)) < 1e-15\n"
        "assert lemmata.graphs.hop_counts(nx.path_graph(4), 1)[0].tolist() == [1, 1]\n"
        "assert isinstance(lemmata.__version__, str)\n"
        "print('OK', lemmata.numerics.__file__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            env=env)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and str(tmp_path) not in result.stdout
    cli = subprocess.run([sys.executable, "-m", "lemmata.proofs_checks.cli", "check", "--list"],
                         cwd=tmp_path, capture_output=True, text=True, env=env)
    assert cli.returncode == 0, cli.stderr
    assert "2407.04358/lm-identity" in cli.stdout


def test_import_lemmata_exposes_version_and_subpackages():
    import lemmata
    import lemmata.analysis

    assert lemmata.__version__ != "0+unknown"
    assert lemmata.analysis is sys.modules["lemmata.analysis"]
    assert lemmata.numerics.compile_kernel is not None       # loaded on first use
    assert set(lemmata.__all__) >= {"__version__", "analysis", "numerics", "graphs", "proofs_checks"}
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lemmata.nope  # noqa: B018


def test_the_wheel_installs_nothing_at_the_top_level_but_lemmata(tmp_path):
    """What ``pip show -f lemmata`` lists after a regular install: the files of the wheel."""
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                             "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("lemmata-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"lemmata"}
    for package in PACKAGES:
        assert f"lemmata/{package}/__init__.py" in names
    assert "lemmata/proofs_checks/papers/ngn.py" in names
    assert "lemmata/py.typed" in names                     # PEP 561: the annotations are public
    assert not any(n.startswith(("lemmata/tests/", "lemmata/examples/", "lemmata/benchmarks/")) for n in names)
