"""The bad-input corpus: every broken input gives exit code 2, one short line naming the problem.

The corpus is generated at test time by ``tests/data/make_bad_corpus.py`` into a temporary
folder (nothing binary is committed). Each case is run through the CLI in-process; a few also in a
subprocess to check the real exit code and that no traceback reaches the terminal.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from ocsol import errors
from ocsol.cli import main

pytestmark = pytest.mark.slow  # the generated corpus of 90+ broken inputs, each run through the CLI and the API

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("make_bad_corpus", HERE / "data" / "make_bad_corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules["make_bad_corpus"] = corpus
_spec.loader.exec_module(corpus)

CASES = {c.name: c for c in corpus.CASES}


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus.build(root)
    return root


def _argv(case, d: Path, out: Path) -> list[str]:
    if case.kind == "outself":  # --out over the inputs: refused, the folder left as it was
        return ["indicators", "-c", str(d / "ocsol.toml"), "-o", str(d), "-q"]
    if case.kind == "noconfig":
        return ["indicators", "-c", str(d / "missing.toml"), "-o", str(out), "-q"]
    return ["indicators", "-c", str(d / "ocsol.toml"), "-o", str(out), "-q"]


def test_corpus_is_large_and_listed(bad):
    with open(bad / "cases.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 90
    assert [r["case"] for r in rows] == list(CASES)
    for r in rows:
        if r["kind"] == "value":
            assert CASES[r["case"]].check is not None
            continue
        assert issubclass(getattr(errors, r["exception"]), errors.OcsolError)
        re.compile(r["message"])
    readers = {r["case"].split("_")[0] for r in rows}
    assert {"config", "territories", "ocsge", "cerema", "population", "targets", "raster", "territory"} <= readers


ERROR_CASES = [n for n, c in CASES.items() if c.kind not in ("find", "value")]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", ERROR_CASES)
def test_bad_input_cli(bad, tmp_path, capsys, name):
    case = CASES[name]
    d = bad / name
    out = tmp_path / "out"
    before = {p: p.read_bytes() for p in d.rglob("*") if p.is_file()}
    code = main(_argv(case, d, out))
    assert {p: p.read_bytes() for p in d.rglob("*") if p.is_file()} == before, "an input folder changed"
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ocsol: error: ")
    assert re.search(case.message, lines[0]), lines[0]
    assert len(lines[0]) < 700, "message too long for one line"
    assert not out.exists() or not [p for p in out.iterdir() if not p.name.startswith(".")]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", ERROR_CASES)
def test_bad_input_raises_the_documented_class(bad, name):
    """The library raises the class cases.csv names (the CLI only sees OcsolError)."""
    from ocsol.pipeline import compute

    case = CASES[name]
    config = bad / name / ("missing.toml" if case.kind == "noconfig" else "ocsol.toml")
    with pytest.raises(getattr(errors, case.exception), match=case.message):
        if case.kind == "outself":
            from ocsol.pipeline import write_results

            write_results(compute(config), bad / name)
        else:
            compute(config)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.kind == "value"])
def test_tricky_input_gives_the_right_number(bad, tmp_path, capsys, name):
    """Valid but tricky inputs (number formats, codes, encodings, partial rasters): exit 0, right figure."""
    case = CASES[name]
    out = tmp_path / "out"
    code = main(_argv(case, bad / name, out))
    assert code == 0, capsys.readouterr().err
    case.check(out)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.kind == "find"])
def test_unknown_territory_code_suggests(bad, name):
    from ocsol.pipeline import load_territories

    case = CASES[name]
    t = load_territories(__import__("ocsol.config", fromlist=["load_config"]).load_config(bad / name / "ocsol.toml"))
    with pytest.raises(getattr(errors, case.exception), match=case.message):
        t.find(case.argument)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.kind == "find"])
def test_unknown_territory_code_report_cli(bad, tmp_path, capsys, name):
    if importlib.util.find_spec("ocsol.report.commands") is None:
        pytest.skip("ocsol report command not available yet")
    case = CASES[name]
    out = tmp_path / "reports"
    code = main(["report", case.argument, "-c", str(bad / name / "ocsol.toml"), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert re.search(case.message, err)
    # the indicator tables are cached in <out>/indicateurs by design; no report folder may appear
    assert not out.exists() or not [p for p in out.iterdir() if p.name != "indicateurs" and not p.name.startswith(".")]


@pytest.mark.parametrize("name", ["ocsge_truncated_gpkg", "cerema_non_numeric_cell", "config_syntax_error"])
def test_bad_input_subprocess(bad, tmp_path, name):
    case = CASES[name]
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "ocsol", *_argv(case, bad / name, out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errs = [line for line in proc.stderr.splitlines() if line.startswith("ocsol: error:")]
    assert len(errs) == 1 and re.search(case.message, errs[0])
    assert not out.exists() or not any(out.glob("*.csv"))
