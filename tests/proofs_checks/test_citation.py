"""`lemmata cite`: BibTeX that a reference manager can read, for every paper in scope."""

import re

import pytest

from lemmata.analysis.errors import LemmataError
from lemmata.proofs_checks import citation
from lemmata.proofs_checks.catalogue import PAPERS as CATALOGUE



def _entries(text):
    return re.findall(r"@(\w+)\{([^,]+),\n(.*?)\n\}", text, flags=re.S)


def test_every_catalogued_paper_can_be_cited():
    assert set(CATALOGUE) <= set(citation.PAPERS)


def test_bibtex_is_well_formed_with_balanced_braces_and_unique_keys():
    text = citation.bibtex()
    entries = _entries(text)
    assert len(entries) == len(citation.PAPERS) + 1
    keys = [key for _kind, key, _body in entries]
    assert len(set(keys)) == len(keys)
    for _kind, _key, body in entries:
        assert body.count("{") == body.count("}")
        for line in body.splitlines():
            assert re.match(r"  \w+ = \{.*\},?$", line), line
    assert "version = {" in text


def test_one_paper_and_its_eprint():
    text = citation.bibtex("2402.12508", include_lemmata=False)
    (entry,) = _entries(text)
    assert "eprint = {2402.12508}" in entry[2] and "Compagnoni" in entry[2]


def test_an_unknown_paper_is_refused_with_the_list():
    with pytest.raises(LemmataError, match="`paper` must be one of"):
        citation.bibtex(["9999.99999"])


def test_cli_cite(capsys):
    from lemmata.proofs_checks import cli

    assert cli.main(["cite", "--paper", "2406.05033"]) == 0
    out = capsys.readouterr().out
    assert "eprint = {2406.05033}" in out and "@software{lemmata" in out
    assert cli.main(["cite", "--paper", "1234.5678"]) == 2
    assert "`paper` must be one of" in capsys.readouterr().err
