"""GeoParquet in (`.parquet` and `.geoparquet`) and out (changes.parquet, communes.parquet), and
the QGIS style of the change layer (changes.qml) in the change map's colours."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

import ocsol
from ocsol.plot import CHANGE_COLOURS


@pytest.mark.slow
def test_parquet_inputs_give_the_same_tables(paper: Path, tmp_path: Path) -> None:
    for name, suffix in (("communes", ".parquet"), ("ocsge_2019", ".geoparquet"), ("ocsge_2022", ".parquet")):
        gpd.read_file(paper / f"{name}.gpkg").to_parquet(paper / f"{name}{suffix}")
    toml = (paper / "ocsol.toml").read_text(encoding="utf-8")
    pq = (toml.replace('"communes.gpkg"', '"communes.parquet"').replace('"ocsge_2019.gpkg"', '"ocsge_2019.geoparquet"')
          .replace('"ocsge_2022.gpkg"', '"ocsge_2022.parquet"'))
    (paper / "pq.toml").write_text(pq, encoding="utf-8")
    ref, got = ocsol.compute(paper / "ocsol.toml"), ocsol.compute(paper / "pq.toml")
    for name in ("stock_summary", "flows", "transitions"):
        pd.testing.assert_frame_equal(got[name], ref[name])


@pytest.mark.slow
def test_geoparquet_outputs_and_qgis_style(paper: Path, tmp_path: Path) -> None:
    res = ocsol.compute(paper / "ocsol.toml")
    a, b = tmp_path / "a", tmp_path / "b"
    ocsol.write_results(res, a)
    ocsol.write_results(res, b)
    ch_pq = gpd.read_parquet(a / "changes.parquet")
    ch_gpkg = gpd.read_file(a / "changes.gpkg")
    assert len(ch_pq) == len(ch_gpkg) and ch_pq.crs.to_epsg() == 2154
    assert ch_pq["area_m2"].sum() == ch_gpkg["area_m2"].sum()
    com = gpd.read_parquet(a / "communes.parquet")
    assert sorted(com["code"]) == ["00001", "00002"]
    for f in ("changes.parquet", "communes.parquet", "changes.qml"):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    # the style: one rule per kind of change, colours of the report's change map
    root = ET.parse(a / "changes.qml").getroot()
    rules = {r.get("label"): r for r in root.iter("rule")}
    assert list(rules) == list(CHANGE_COLOURS)
    symbols = {s.get("name"): s for s in root.iter("symbol")}
    for label, colour in CHANGE_COLOURS.items():
        sym = symbols[rules[label].get("symbol")]
        value = next(o.get("value") for o in sym.iter("Option") if o.get("name") == "color")
        assert value == ",".join(str(int(colour[i:i + 2], 16)) for i in (1, 3, 5)) + ",255"
    # the filters select what the map calls artificialisation: on paper, the 5 000 m² garden
    artif = ch_pq[~ch_pq["artif_from"].astype(bool) & ch_pq["artif_to"].astype(bool)]
    assert rules["Artificialisation"].get("filter") == '"artif_from" = 0 AND "artif_to" = 1'
    assert artif["area_m2"].sum() == 5000.0
