"""Readers: formats, field spellings, CRS handling, membership tables, repairs."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from ocsol import read_ocsge, read_ocsge_diff, read_territories
from ocsol.errors import ConfigError, SchemaError
from ocsol.io.vector import recognise_crs
from ocsol.pipeline import compute

from .conftest import DATA


def test_ignf_lambert93_wkt_is_epsg_2154():
    wkt = (DATA / "arcachon" / "A_B_2015_2018.prj").read_text()
    assert recognise_crs(CRS.from_wkt(wkt)).to_epsg() == 2154
    d, _ = read_ocsge_diff(DATA / "arcachon" / "A_B_2015_2018.shp", vintage_from=2015, vintage_to=2018)
    assert d.crs.to_epsg() == 2154
    assert list(d.columns) == ["cs_from", "us_from", "cs_to", "us_to", "geometry"]


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "parquet", "shp"])
def test_formats_and_field_spellings(paper, fmt):
    v = gpd.read_file(paper / "ocsge_2019.gpkg").rename(columns={"code_cs": "CODE_CS", "code_us": "usage"})
    path = paper / f"layer.{fmt}"
    if fmt == "parquet":
        v.to_parquet(path)
    else:
        v.to_file(path)
    layer, repaired = read_ocsge(path)
    assert repaired == 0
    assert layer["cs"].tolist() == ["CS2.2.1", "CS2.1.1.1", "CS1.1.1.1"]
    assert layer.geometry.area.sum() == pytest.approx(20_000)


def test_field_override(paper):
    v = gpd.read_file(paper / "ocsge_2019.gpkg").rename(columns={"code_cs": "cov", "code_us": "use"})
    v.to_file(paper / "x.gpkg")
    layer, _ = read_ocsge(paper / "x.gpkg", cs_field="cov", us_field="use")
    assert layer["us"].tolist() == ["US1.1", "US1.2", "US5"]


def test_other_crs_reprojected(paper):
    v = gpd.read_file(paper / "ocsge_2019.gpkg").to_crs(4326)
    v.to_file(paper / "wgs84.geojson")
    layer, _ = read_ocsge(paper / "wgs84.geojson")
    assert layer.crs.to_epsg() == 2154
    assert layer.geometry.area.sum() == pytest.approx(20_000, rel=1e-6)


def test_invalid_geometry_repaired_and_counted(paper):
    v = gpd.read_file(paper / "ocsge_2019.gpkg")
    bowtie = shapely.Polygon([(150, 0), (200, 100), (200, 0), (150, 100)])  # self-intersecting
    v.loc[2, "geometry"] = bowtie
    v.to_file(paper / "bad.gpkg")
    layer, repaired = read_ocsge(paper / "bad.gpkg")
    assert repaired == 1
    assert len(layer) == 3 and layer.geometry.is_valid.all()
    assert layer.geometry.iloc[2].area == pytest.approx(2_500)  # two triangles kept, nothing dropped


def test_membership_table_adds_levels(paper):
    pd.DataFrame({"code_insee": ["00001", "00002"], "scot": ["S1", "S1"], "scot_name": ["SCoT Un", "SCoT Un"]}).to_csv(
        paper / "membership.csv", index=False
    )
    t = read_territories(paper / "communes.gpkg", code="CODE_INSEE", levels={"epci": "EPCI"},
                         membership=paper / "membership.csv")
    assert t.levels == ("epci", "scot")
    assert t.name_of("scot", "S1") == "SCoT Un"
    assert t.members("scot", "S1") == ["00001", "00002"]


def test_table_without_geometry_needs_area(tmp_path):
    pd.DataFrame({"insee_com": ["69003"], "nom": ["Albigny"]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(SchemaError, match=r"without geometry needs an area column; set territories.area"):
        read_territories(tmp_path / "t.csv")
    pd.DataFrame({"insee_com": ["69003"], "surface_ha": ["261,6"]}).to_csv(tmp_path / "t.csv", index=False, sep=";")
    t = read_territories(tmp_path / "t.csv", area="surface_ha")
    assert t.communes["area_m2"].iloc[0] == pytest.approx(2_616_000)
    assert not t.has_geometry


def test_codes_stay_strings_with_leading_zeros(tmp_path):
    pd.DataFrame({"code": [1001, 2004], "area": [1.0, 2.0]}).to_csv(tmp_path / "t.csv", index=False)
    t = read_territories(tmp_path / "t.csv", area="area")
    assert t.communes["code"].tolist() == ["01001", "02004"]


def test_ocsge_needs_polygon_territories(tmp_path, paper):
    pd.DataFrame({"CODE_INSEE": ["00001"], "NOM": ["A"], "surface_ha": [1.0]}).to_csv(paper / "t.csv", index=False)
    text = (paper / "ocsol.toml").read_text().replace('path = "communes.gpkg"', 'path = "t.csv"\narea = "surface_ha"')
    text = text.replace("levels = { epci = \"EPCI\" }", "")
    (paper / "ocsol.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"need commune polygons"):
        compute(paper / "ocsol.toml")
