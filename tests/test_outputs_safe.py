"""Safe outputs: determinism, previous outputs kept on failure, one run per output folder, a lock,
writer errors as one line (issue 9, items 4, 5 and 13; the OCS GE tables are also in test_ocsge.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from ocsol.cli import main
from ocsol.io.write import LOCK_NAME, publish_dir, staging_dir, write_xlsx

from .conftest import DATA, ROOT

SRC = ROOT / "src"

TABLES = ["territories.csv", "consumption.csv", "zan.csv", "zan_path.csv", "efficiency.csv", "qa.csv"]


def _lyon(tmp_path: Path, name: str = "lyon") -> Path:
    d = tmp_path / name
    shutil.copytree(DATA / "lyon", d)
    return d


def _run(config: Path, out: Path) -> int:
    return main(["indicators", "-c", str(config), "-o", str(out), "-q"])


@pytest.mark.slow
def test_consumption_tables_byte_identical_and_independent_of_row_order(tmp_path):
    a = _lyon(tmp_path, "a")
    b = _lyon(tmp_path, "b")
    for name in ("conso_communes_cerema_format.csv", "population_communes_2009_2023.csv"):
        df = pd.read_csv(b / name, dtype=str, keep_default_na=False)
        df.iloc[::-1].to_csv(b / name, index=False)  # same data, rows reversed
    assert _run(a / "ocsol.toml", tmp_path / "out1") == 0
    assert _run(a / "ocsol.toml", tmp_path / "out2") == 0
    assert _run(b / "ocsol.toml", tmp_path / "out3") == 0
    for t in TABLES:
        first = (tmp_path / "out1" / t).read_bytes()
        assert first == (tmp_path / "out2" / t).read_bytes(), t
        if t != "qa.csv":  # qa names the input file
            assert first == (tmp_path / "out3" / t).read_bytes(), t


@pytest.mark.slow
def test_failed_consumption_run_keeps_previous_outputs(tmp_path, capsys):
    d = _lyon(tmp_path)
    out = tmp_path / "out"
    assert _run(d / "ocsol.toml", out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    conso = d / "conso_communes_cerema_format.csv"
    conso.write_text(conso.read_text(encoding="utf-8").replace("69149,", "69149x,", 1) + "oops,1\n", encoding="utf-8")
    assert _run(d / "ocsol.toml", out) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not list(out.glob(".ocsol-stage-*"))


@pytest.mark.slow
def test_writer_failure_mid_publish_keeps_previous_outputs(paper, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert _run(paper / "ocsol.toml", out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    v = gpd.read_file(paper / "ocsge_2022.gpkg")
    v.loc[0, "code_us"] = "US1.2"  # a new result that must not be half-written
    v.to_file(paper / "ocsge_2022.gpkg")

    def disk_full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", disk_full)  # the GPKG is written after every CSV
    assert _run(paper / "ocsol.toml", out) == 2  # one line on stderr, no traceback
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


# -- one run per output folder (issue 9, item 4) --------------------------------------------------
def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_files_of_an_earlier_run_not_produced_again_are_removed_others_kept(paper, tmp_path):
    out = tmp_path / "out"
    assert _run(paper / "ocsol.toml", out) == 0
    assert "changes.gpkg" in _files(out)
    (out / "notes.txt").write_text("mine", encoding="utf-8")  # not written by ocsol: never touched
    (out / "old_flows.csv").write_text("mine too", encoding="utf-8")
    one = paper / "one.toml"  # one vintage: no change layer, no flows
    one.write_text((paper / "ocsol.toml").read_text(encoding="utf-8").replace('2022 = "ocsge_2022.gpkg"\n', ""),
                   encoding="utf-8")
    assert _run(one, out) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    files = set(_files(out))
    assert files == set(manifest["files"]) | {"notes.txt", "old_flows.csv"}
    assert "changes.gpkg" not in files  # a change layer from the earlier run would be a stale result
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.slow
def test_a_second_run_on_a_locked_folder_stops_with_one_line(paper, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(paper / "ocsol.toml", out) == 0
    before = _files(out)
    holder = subprocess.Popen(  # another run holding the folder
        [sys.executable, "-c", "import sys, time; from ocsol.io.write import output_lock\n"
         f"with output_lock({str(out)!r}):\n    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(SRC)})
    try:
        assert holder.stdout.readline().strip() == "held"
        assert _run(paper / "ocsol.toml", out) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and re.match(rf"ocsol: error: {re.escape(str(out))}: another ocsol run \(pid {holder.pid}, ",
                                          err[0]), err
        assert {k: v for k, v in _files(out).items() if k != LOCK_NAME} == before
    finally:
        holder.kill()  # killed while holding the lock: the OS releases it
        holder.wait()
    assert _run(paper / "ocsol.toml", out) == 0
    assert not (out / LOCK_NAME).exists()


@pytest.mark.slow
def test_staging_left_by_a_killed_run_is_cleaned_by_the_next(paper, tmp_path):
    out = tmp_path / "out"
    assert _run(paper / "ocsol.toml", out) == 0
    stage = out / ".ocsol-stage-k1ll3d00"
    stage.mkdir()
    (stage / "flows.csv").write_text("half", encoding="utf-8")
    tmp = out / ".flows.csv.a1b2c3d4.tmp.csv"  # atomic_path's name for a file ocsol publishes here
    tmp.write_text("half", encoding="utf-8")
    mine = [out / ".my-hidden-notes", out / ".notes.txt.a1b2c3d4.tmp.txt"]  # not ocsol's: kept
    for p in mine:
        p.write_text("keep", encoding="utf-8")
    assert _run(paper / "ocsol.toml", out) == 0
    assert not stage.exists() and not tmp.exists() and all(p.exists() for p in mine)


def test_a_report_folder_holds_one_run(tmp_path):
    """publish_dir (used for each report folder): files of the previous publication not written
    again are removed, with their emptied sub-folder; other files stay."""
    out = tmp_path / "commune-1"
    for names in (["rapport.html", "donnees/figure_carte.csv", "donnees/figure_zan.csv"],
                  ["rapport.html", "donnees/figure_zan.csv"], ["rapport.html"]):
        stage = staging_dir(out, label="commune-1")
        for n in names:
            (stage / n).parent.mkdir(parents=True, exist_ok=True)
            (stage / n).write_text(n, encoding="utf-8")
        if names == ["rapport.html"]:
            (out / "donnees" / "user.txt").write_text("mine", encoding="utf-8")
        publish_dir(stage, out)
        assert not stage.exists()
        assert json.loads((out / "manifest.json").read_text())["files"] == sorted(names + ["manifest.json"])
    assert set(_files(out)) == {"rapport.html", "manifest.json", "donnees/user.txt"}


# -- byte-identical reruns, GeoPackages included (item 5) -------------------------------------------
@pytest.mark.slow
def test_reruns_are_byte_identical_geopackages_included(paper, tmp_path):
    assert _run(paper / "ocsol.toml", tmp_path / "a") == 0
    time.sleep(1.1)  # GDAL would stamp gpkg_contents.last_change with the time of writing
    assert _run(paper / "ocsol.toml", tmp_path / "b") == 0
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert {"changes.gpkg", "communes.gpkg"} <= set(a)
    assert a.keys() == b.keys() and [k for k in a if a[k] != b[k]] == []


@pytest.mark.slow  # workbooks written at two clock times
def test_xlsx_bytes_do_not_depend_on_the_time_of_writing(tmp_path):
    df = pd.DataFrame({"name": ["Lyon", "=1"], "area_ha": [1.5, float("nan")]})
    write_xlsx({"t": df}, tmp_path / "a.xlsx")
    time.sleep(2.1)  # ZIP dates have a 2-second step; docProps/core.xml has seconds
    write_xlsx({"t": df}, tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


# -- writer errors (item 13) -----------------------------------------------------------------------
LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, like a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
from ocsol.cli import main
from ocsol.io.write import LOCK_NAME, publish_dir, staging_dir, write_xlsx
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_disk_full_in_gdal_writer_is_one_line_and_keeps_previous_outputs(paper, tmp_path):
    out = tmp_path / "out"
    assert _run(paper / "ocsol.toml", out) == 0
    before = _files(out)
    v = gpd.read_file(paper / "ocsge_2022.gpkg")
    v.loc[0, "code_us"] = "US1.2"  # new results, which must not be half-written
    v.to_file(paper / "ocsge_2022.gpkg")
    # 40 kB: every CSV fits, a GeoPackage (≈ 100 kB of SQLite pages) does not — GDAL fails mid-write
    proc = subprocess.run([sys.executable, "-c", LIMITED.format(limit=40_000), "indicators", "-c",
                           str(paper / "ocsol.toml"), "-o", str(out), "-q"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(SRC), "PYTHONDONTWRITEBYTECODE": "1"})
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and re.match(r"ocsol: error: .*\.gpkg: could not write \(", lines[0]), lines
    assert "free space" in lines[0] and "Traceback" not in proc.stderr
    assert _files(out) == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_out_that_is_a_file_is_one_line(paper, tmp_path, capsys):
    out = tmp_path / "out"
    out.write_text("a file where a folder is expected", encoding="utf-8")
    assert _run(paper / "ocsol.toml", out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"ocsol: error: {out}") and "could not write" in err[0], err
    assert out.read_text(encoding="utf-8") == "a file where a folder is expected"
