"""The bad-input registry (issue 12): one table, spread over the ``cases_*.py`` files beside this
one, of (public function or CLI command, bad input, expected error, words its message must hold).

Every case must fail the way it says: a call raises the expected exception type (a subclass
counts) and its message contains every listed word (case-insensitive); a CLI case returns the
expected exit status and prints the words on stderr, with no traceback.

Coverage: every public callable (a function or class listed in a module's ``__all__``) of
``lemmata.analysis``, ``lemmata.numerics`` and ``lemmata.graphs``, and every ``lemmata``
subcommand and ``derive`` topic, must be the target of at least one case or be listed in a
cases file's ``EXEMPT`` with the reason it takes no user input. A new public function without a
case makes ``test_every_public_callable_has_a_case`` fail.

A cases file defines ``CASES``: a list of ``(target, thunk, expected, words)`` where ``target``
is the dotted name of the callable (``"lemmata.numerics.sde.simulate"``, a method as
``"lemmata.analysis.derivation.Derivation.evaluate"``) or ``"cli:check"``, ``"cli:study"``,
``"cli:derive TOPIC"``; ``thunk`` a function of no arguments that makes the bad call;
``expected`` an exception class, or an int exit status for CLI cases; ``words`` a list of
strings. It may define ``EXEMPT``: ``{dotted name: reason}``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pathlib
import pkgutil

import pytest

HERE = pathlib.Path(__file__).resolve().parent


def _load_case_files():
    modules = []
    for path in sorted(HERE.glob("cases_*.py")):
        spec = importlib.util.spec_from_file_location(f"_bad_input_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


CASE_FILES = _load_case_files()
CASES = [(module.__name__.removeprefix("_bad_input_"), *case)
         for module in CASE_FILES for case in getattr(module, "CASES", [])]
EXEMPT = {name: reason for module in CASE_FILES for name, reason in getattr(module, "EXEMPT", {}).items()}


def _case_id(case):
    file, target, _thunk, expected, words = case
    return f"{file}:{target}:{words[0] if words else ''}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_bad_input_fails_clearly(case, capsys):
    _file, target, thunk, expected, words = case
    if isinstance(expected, int):
        status = thunk()
        err = capsys.readouterr().err
        assert status == expected, f"{target}: exit status {status}, expected {expected}; stderr:\n{err}"
        assert "Traceback" not in err, err
        text = err
    else:
        with pytest.raises(expected) as info:
            thunk()
        text = str(info.value)
        assert text.strip(), f"{target}: {type(info.value).__name__} without a message"
    missing = [w for w in words if w.lower() not in text.lower()]
    assert not missing, f"{target}: message lacks {missing}: {text!r}"


def _public_callables():
    import lemmata

    names = {}
    for package in ("analysis", "numerics", "graphs"):
        pkg = importlib.import_module(f"lemmata.{package}")
        for info in pkgutil.iter_modules(pkg.__path__):
            module_name = f"lemmata.{package}.{info.name}"
            try:
                module = importlib.import_module(module_name)
            except ImportError:          # an optional extra (torch) that is not installed
                continue
            for attr in getattr(module, "__all__", ()):
                obj = getattr(module, attr, None)
                if inspect.isclass(obj) and issubclass(obj, BaseException):
                    continue
                if inspect.isfunction(obj) or inspect.isclass(obj):
                    home = getattr(obj, "__module__", module_name)
                    names.setdefault(f"{home}.{obj.__qualname__}", f"{module_name}.{attr}")
    assert lemmata.__version__
    return names


def _cli_commands():
    from lemmata.proofs_checks.derive import TOPICS

    return {"cli:check", "cli:study"} | {f"cli:derive {topic}" for topic in TOPICS}


def test_every_public_callable_has_a_case():
    targets = {case[1] for case in CASES}
    covered = targets | set(EXEMPT)

    def is_covered(qualified, listed):
        return any(name == qualified or name == listed or name.startswith(qualified + ".")
                   or name.startswith(listed + ".") for name in covered)

    missing = sorted(listed for qualified, listed in _public_callables().items()
                     if not is_covered(qualified, listed))
    missing += sorted(_cli_commands() - targets)
    assert missing == [], ("public callables with no bad-input case (add one to a cases_*.py "
                           f"file, or an EXEMPT entry with the reason): {missing}")


def test_exemptions_name_real_callables_and_give_a_reason():
    public = set(_public_callables()) | set(_public_callables().values())
    for name, reason in EXEMPT.items():
        assert name in public, f"EXEMPT names {name!r}, which is not a public callable"
        assert isinstance(reason, str) and len(reason) > 10, f"EXEMPT[{name!r}] needs a reason"
