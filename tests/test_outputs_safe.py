"""Determinism and safe outputs for the consumption tables (the OCS GE ones are in test_ocsge.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ocsol.cli import main

from .conftest import DATA

TABLES = ["territories.csv", "consumption.csv", "zan.csv", "zan_path.csv", "efficiency.csv", "qa.csv"]


def _lyon(tmp_path: Path, name: str = "lyon") -> Path:
    d = tmp_path / name
    shutil.copytree(DATA / "lyon", d)
    return d


def _run(config: Path, out: Path) -> int:
    return main(["indicators", "-c", str(config), "-o", str(out), "-q"])


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
