"""Every Python snippet of the user guide and of the README runs (issue 14: "every snippet
runnable and run").

The ``.. code-block:: python`` blocks of each page (and the fenced python blocks of README.md) run
in order in one namespace, in a temporary working directory; their own ``assert`` lines state what
they show (values from closed forms or exact arithmetic written in the page).
"""

from __future__ import annotations

import pathlib
import re
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.rst"))


def python_blocks(text: str) -> list[str]:
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if re.match(r"^\s*\.\. code-block:: python\s*$", lines[i]):
            indent = len(lines[i]) - len(lines[i].lstrip())
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or
                                      len(lines[i]) - len(lines[i].lstrip()) > indent):
                body.append(lines[i])
                i += 1
            blocks.append(textwrap.dedent("\n".join(body)))
        else:
            i += 1
    return blocks


def test_the_guide_has_snippets():
    assert sum(len(python_blocks(p.read_text())) for p in PAGES) >= 8


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p.read_text())],
                         ids=lambda p: str(p.relative_to(DOCS)))
def test_page_snippets_run(page, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__snippet__"}
    for k, block in enumerate(python_blocks(page.read_text())):
        code = compile(block, f"{page.name}[block {k}]", "exec")
        exec(code, namespace)  # noqa: S102 - the documentation's own code, not user input


def readme_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), flags=re.S | re.M)


def test_readme_snippets_run(tmp_path, monkeypatch, capsys):
    blocks = readme_blocks()
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    for k, block in enumerate(blocks):      # each workflow stands alone: a fresh namespace
        exec(compile(block, f"README.md[block {k}]", "exec"), {"__name__": "__snippet__"})  # noqa: S102
