"""Bad-input cases for the ``lemmata`` command (issue 12, part A): ``check``, ``study`` and every
``derive`` topic. Expected: exit status 2 and ``lemmata: error: ...`` on stderr, no traceback.
Every case fails before any catalogue check or study task runs, so the table stays fast."""

import importlib.util
import pathlib
import tempfile

from lemmata.proofs_checks import cli

INJECTION = "__import__('os').system('touch PWNED')"
_TMP = pathlib.Path(tempfile.mkdtemp(prefix="lemmata-bad-cli-"))


def _run(*argv):
    try:
        return cli.main(list(argv))
    except SystemExit as exc:          # argparse's own refusals
        return exc.code


def _csv(name, text):
    path = _TMP / name
    path.write_text(text)
    return str(path)


NGN_POINT = ["f=1", "g_1=1", "L=1"]

CASES = [
    # ------------------------------------------------------------------ check
    ("cli:check", lambda: _run("check", "--paper", "2407.04358", "--json", str(_TMP / "missing" / "r.json")),
     2, ["lemmata: error:", "cannot write --json", "does not exist"]),
    ("cli:check", lambda: _run("check", "--paper", "2407.04358", "--markdown", str(_TMP)),
     2, ["cannot write --markdown", "is a directory"]),
    ("cli:check", lambda: _run("check", "--seed", "-1"), 2, ["`--seed`", "non-negative"]),
    ("cli:check", lambda: _run("check", "--seed", "abc"), 2, ["--seed", "invalid int"]),
    ("cli:check", lambda: _run("check", "--paper", "2407.04358", "--key", "no/such-check"), 2, ["`--key`", "matches no check"]),
    ("cli:check", lambda: _run("check", "--backend", "fortran"), 2, ["--backend", "invalid choice"]),
    # ------------------------------------------------------------------ study
    ("cli:study", lambda: _run("study", "spec.toml", "--workers", "0"), 2, ["`--workers`", "positive integer"]),
    ("cli:study", lambda: _run("study", "spec.toml", "--scheduler", "tcp://x:1"), 2, ["`--scheduler`", "dask"]),
    ("cli:study", lambda: _run("study", "spec.toml", "--export", str(_TMP / "missing" / "out.csv")),
     2, ["cannot write --export", "does not exist"]),
    ("cli:study", lambda: _run("study", "spec.toml", "--export", str(_TMP / "out.xlsx")),
     2, ["`--export`", ".csv or .parquet"]),
    # ------------------------------------------------------------------ derive ngn (issue 12 reproducers)
    ("cli:derive ngn", lambda: _run("derive", "ngn", "--at", *NGN_POINT, "sigma=-2"),
     2, ["violates the assumptions", "sigma is positive"]),
    ("cli:derive ngn", lambda: _run("derive", "ngn", "--at", *NGN_POINT, "sigma=0"),
     2, ["violates the assumptions", "sigma is positive"]),
    ("cli:derive ngn", lambda: _run("derive", "ngn", "--at", "f=1", "g_1=1", "sigma=1", "L=-3"),
     2, ["violates the assumptions", "L is the smoothness constant"]),
    ("cli:derive ngn", lambda: _run("derive", "ngn", "--at", "f=nan", "g_1=1", "sigma=1", "L=1"),
     2, ["`--at f` must be finite"]),
    ("cli:derive ngn", lambda: _run("derive", "ngn", "--at", "f=oo", "g_1=1", "sigma=1", "L=1"),
     2, ["`--at f` must be finite"]),
    ("cli:derive ngn", lambda: _run("derive", "ngn", "--at", f"f={INJECTION}"), 2, ["`--at f` must be a number"]),
    ("cli:derive ngn", lambda: _run("derive", "ngn", "--at", "sigma=1", "sigma=2"), 2, ["`--at`", "twice"]),
    ("cli:derive ngn", lambda: _run("derive", "ngn", "--dim", "100000"), 2, ["`--dim 100000`", "at most 32", "about"]),
    ("cli:derive ngn", lambda: _run("derive", "ngn", "--dim", "0"), 2, ["`--dim`", "positive integer"]),
    # ------------------------------------------------------------------ derive reconstruction
    ("cli:derive reconstruction", lambda: _run("derive", "reconstruction", "--nodes", "radius", "--L", "3",
                                               "--at", "r=0"), 2, ["violates the assumptions", "0 < r <= 1"]),
    ("cli:derive reconstruction", lambda: _run("derive", "reconstruction", "--nodes", "real", "--L", "0"),
     2, ["`--L`", "positive integer"]),
    # ------------------------------------------------------------------ derive sde
    ("cli:derive sde", lambda: _run("derive", "sde", "--optimizer", "seg", "--game", INJECTION),
     2, ["`--game` must be an accepted expression"]),
    ("cli:derive sde", lambda: _run("derive", "sde", "--optimizer", "seg", "--game", "().__class__.__bases__"),
     2, ["`--game`", "attribute access"]),
    ("cli:derive sde", lambda: _run("derive", "sde", "--optimizer", "seg", "--game", "lam*x*y", "--at", "eta=-1"),
     2, ["violates the assumptions", "step size eta is positive"]),
    ("cli:derive sde", lambda: _run("derive", "sde", "--optimizer", "sgd", "--game", "y**2"),
     2, ["`--game` must use the player x"]),
    # ------------------------------------------------------------------ derive signature
    ("cli:derive signature", lambda: _run("derive", "signature", "--points", "0,0;1,1", "--depth", "30"),
     2, ["`--depth 30`", "2147483646 words", "at most 10000"]),
    ("cli:derive signature", lambda: _run("derive", "signature", "--points", "0,0;nan,1", "--depth", "2"),
     2, ["`--points", "finite"]),
    ("cli:derive signature", lambda: _run("derive", "signature", "--points", f"0,0;1,{INJECTION}", "--depth", "2"),
     2, ["`--points"]),
    ("cli:derive signature", lambda: _run("derive", "signature", "--points", "0,0;1", "--depth", "2"),
     2, ["`--points`", "point 1 has 1"]),
    # ------------------------------------------------------------------ derive logistic (CSV reader)
    ("cli:derive logistic", lambda: _run("derive", "logistic", "--data", _csv("nan.csv", "x1,y\n1,1\nnan,-1\n")),
     2, ["`--data` line 3", "finite"]),
    ("cli:derive logistic", lambda: _run("derive", "logistic", "--data", _csv("inf.csv", "x1,y\n1,1\n-inf,-1\n")),
     2, ["`--data` line 3", "finite"]),
    ("cli:derive logistic", lambda: _run("derive", "logistic", "--data", _csv("ragged.csv", "x1,x2,y\n1,2,1\n3,-1\n")),
     2, ["`--data` line 3", "2 entries", "header has 3"]),
    ("cli:derive logistic", lambda: _run("derive", "logistic", "--data", _csv("dup.csv", "x1,x1,y\n1,2,1\n")),
     2, ["`--data` line 1", "duplicate", "x1"]),
    ("cli:derive logistic", lambda: _run("derive", "logistic", "--data", _csv("lab.csv", "x1,y\n1,1\n2,0\n")),
     2, ["`--data` line 3", "-1 or +1"]),
    ("cli:derive logistic", lambda: _run("derive", "logistic", "--data", _csv("code.csv", f"x1,y\n\"{INJECTION}\",1\n")),
     2, ["`--data` line 2"]),
    ("cli:derive logistic", lambda: _run("derive", "logistic", "--data", str(_TMP / "absent.csv")),
     2, ["`--data`", "does not exist"]),
    # ------------------------------------------------------------------ derive memory
    ("cli:derive memory", lambda: _run("derive", "memory", "--at", "rho=2"), 2, ["violates the assumptions", "rho lies in [0, 1]"]),
    ("cli:derive memory", lambda: _run("derive", "memory", "--at", "rho=nan"), 2, ["`--at rho` must be finite"]),
]

if importlib.util.find_spec("cupy") is None:
    # issue 12: without CuPy every check was skipped and the run exited 0
    CASES.append(("cli:check", lambda: _run("check", "--paper", "2407.04358", "--backend", "cupy"),
                  2, ["`--backend cupy`", "unavailable", "--allow-skip"]))

EXEMPT = {}
