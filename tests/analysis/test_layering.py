"""analysis must import with the numeric backends blocked (DESIGN.md section 1)."""

import subprocess
import sys

BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'numba', 'cupy', 'torch', 'scipy', 'networkx'}:
            raise ImportError('blocked for the layering test: ' + name)
        return None
sys.meta_path.insert(0, Block())
import analysis, analysis.ngn, analysis.rewrite, analysis.derivation
d = analysis.ngn.derive_ngn(2)
assert d['stepsize'] is not None
loaded = sorted(m for m in sys.modules if m.split('.')[0] in {'numba', 'cupy', 'torch', 'numerics', 'proofs_checks', 'graphs'})
print('LOADED', loaded)
"""


def test_analysis_imports_without_numeric_backends():
    result = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout


def test_nothing_imports_proofs_checks():
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[2]
    offenders = []
    for package in ("analysis", "numerics", "graphs"):
        for path in (root / package).rglob("*.py"):
            text = path.read_text()
            if "proofs_checks" in text.replace('"proofs_checks"', "").replace("`proofs_checks`", ""):
                if "import proofs_checks" in text or "from proofs_checks" in text:
                    offenders.append(str(path))
    assert offenders == []
