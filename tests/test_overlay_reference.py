"""Acceptance: ocsol's overlay engine reproduces an independent geopandas.overlay to 1e-4 relative.

Two synthetic full vintages (a few hundred polygons over four real communes around Blois) are
compared per commune and per (cs, us) couple — stock pieces — and per commune and per
(cs, us)_from × (cs, us)_to — transition pieces — with a plain chained ``geopandas.overlay``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from ocsol import change
from ocsol.synthetic import generate_ocsge

DATA = Path(__file__).resolve().parents[1] / "data" / "cvl"
RTOL = 1e-4
ATOL_M2 = 1e-3  # slivers of floating-point noise that one method keeps and the other drops


@pytest.fixture(scope="module")
def case() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    c = gpd.read_file(DATA / "communes_blois.gpkg")
    communes = (c[c["CODE_INSEE"].isin(["41018", "41047", "41276", "41212"])]
                .rename(columns={"CODE_INSEE": "code"})[["code", "geometry"]].reset_index(drop=True))
    layers = generate_ocsge(communes, n_polygons=400, change_rate=0.15, seed=2154)
    v1, v2 = (layers[y].rename(columns={"code_cs": "cs", "code_us": "us"})[["cs", "us", "geometry"]]
              for y in (2019, 2022))
    return v1, v2, communes


def _compare(ours: pd.DataFrame, ref: pd.DataFrame, keys: list[str]) -> None:
    m = ours.groupby(keys)["area_m2"].sum().to_frame("ours").join(
        ref.groupby(keys)["area_m2"].sum().to_frame("ref"), how="outer").fillna(0.0)
    m = m[(m["ours"] > ATOL_M2) | (m["ref"] > ATOL_M2)]
    err = (m["ours"] - m["ref"]).abs()
    bad = m[err > RTOL * m[["ours", "ref"]].max(axis=1) + ATOL_M2]
    assert bad.empty, f"{len(bad)} of {len(m)} rows differ:\n{bad.head(20)}"
    assert len(m) > 0


def test_stock_pieces_match_geopandas_overlay(case):
    v1, v2, communes = case
    for year, layer in ((2019, v1), (2022, v2)):
        ours = change.stock_pieces(layer, communes, vintage=year)
        assert list(ours.columns) == change.STOCK_COLUMNS
        ref = gpd.overlay(layer, communes, how="intersection", keep_geom_type=True)
        ref["area_m2"] = ref.area
        _compare(ours, ref, ["code", "cs", "us"])
        assert ours["area_m2"].sum() == pytest.approx(communes.area.sum(), rel=1e-6)


def test_transition_pieces_match_chained_geopandas_overlay(case):
    v1, v2, communes = case
    ours = change.transition_pieces(v1, v2, communes, vintage_from=2019, vintage_to=2022)
    assert list(ours.columns) == change.TRANSITION_COLUMNS
    assert set(ours["vintage_from"]) == {2019} and set(ours["vintage_to"]) == {2022}
    a = v1.rename(columns={"cs": "cs_from", "us": "us_from"})
    b = v2.rename(columns={"cs": "cs_to", "us": "us_to"})
    ref = gpd.overlay(gpd.overlay(a, b, how="intersection", keep_geom_type=True), communes,
                      how="intersection", keep_geom_type=True)
    ref["area_m2"] = ref.area
    _compare(ours, ref, ["code", "cs_from", "us_from", "cs_to", "us_to"])
    # and some of it is real change, not only the diagonal
    moved = ours[(ours["cs_from"] != ours["cs_to"]) | (ours["us_from"] != ours["us_to"])]
    assert moved["area_m2"].sum() > 0
    assert np.isclose(ours["area_m2"].sum(), communes.area.sum(), rtol=1e-6)
