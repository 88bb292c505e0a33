"""The synthetic OCS GE generator: determinism, exact tessellation, change rate, valid codes."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from ocsol import nomenclature
from ocsol.errors import CRSError, SchemaError
from ocsol.synthetic import generate_ocsge

DATA = Path(__file__).resolve().parents[1] / "data" / "cvl"
RATE = 0.05


@pytest.fixture(scope="module")
def communes() -> gpd.GeoDataFrame:
    """Five real communes around Blois (EPSG:2154)."""
    c = gpd.read_file(DATA / "communes_blois.gpkg")
    return c[c["CODE_INSEE"].isin(["41018", "41295", "41047", "41276", "41212"])].reset_index(drop=True)


@pytest.fixture(scope="module")
def layers(communes: gpd.GeoDataFrame) -> dict[int, gpd.GeoDataFrame]:
    return generate_ocsge(communes, n_polygons=1500, vintages=(2019, 2022, 2025), change_rate=RATE, seed=7)


def test_same_seed_gives_identical_layers(communes, layers):
    again = generate_ocsge(communes, n_polygons=1500, vintages=(2019, 2022, 2025), change_rate=RATE, seed=7)
    assert list(again) == [2019, 2022, 2025]
    for year, layer in layers.items():
        other = again[year]
        assert layer.drop(columns="geometry").equals(other.drop(columns="geometry"))
        assert shapely.equals_identical(layer.geometry.values, other.geometry.values).all()
    different = generate_ocsge(communes, n_polygons=1500, change_rate=RATE, seed=8)[2019]
    assert not (len(different) == len(layers[2019])
                and shapely.equals_identical(different.geometry.values, layers[2019].geometry.values).all())


def test_layout_like_ign(layers):
    for year, layer in layers.items():
        assert list(layer.columns) == ["ID", "code_cs", "code_us", "millesime", "geometry"]
        assert layer.crs.to_epsg() == 2154
        assert (layer["millesime"] == year).all()
        assert layer["ID"].is_unique
        assert layer["ID"].str.startswith("SYNTH").all()  # labelled synthetic
        assert (layer.geom_type == "Polygon").all()
        assert layer.is_valid.all()
    n = shapely.get_num_coordinates(layers[2019].geometry.values)
    assert 20 <= n.mean() <= 60


def test_every_vintage_tessellates_the_union_of_the_communes(communes, layers):
    union = shapely.union_all(communes.geometry.values)
    for layer in layers.values():
        geoms = layer.geometry.values
        total = float(shapely.area(geoms).sum())
        assert total == pytest.approx(union.area, rel=1e-6)  # no gap …
        assert shapely.union_all(geoms).area == pytest.approx(total, rel=1e-6)  # … and no overlap
        assert shapely.symmetric_difference(shapely.union_all(geoms), union).area < 1e-6 * union.area


def test_change_rate_reclassified_and_split(layers):
    for y1, y2 in ((2019, 2022), (2022, 2025)):
        a, b = layers[y1], layers[y2]
        m = a.merge(b, on="ID", how="left", suffixes=("", "_2"))
        gone = m["code_cs_2"].isna()  # split: the old polygon is replaced by new parts
        reclassified = ~gone & ((m["code_cs"] != m["code_cs_2"]) | (m["code_us"] != m["code_us_2"]))
        rate = (gone | reclassified).mean()
        assert 0.5 * RATE <= rate <= 1.5 * RATE
        assert gone.sum() > 0 and reclassified.sum() > 0
        # reclassified polygons keep their geometry exactly
        kept = a.set_index("ID").geometry
        same = b.set_index("ID").geometry.reindex(kept.index)
        keep_ids = m.loc[~gone, "ID"]
        assert shapely.equals_identical(kept[keep_ids].values, same[keep_ids].values).all()
        # the new parts cover exactly the polygons that were split
        new = b[~b["ID"].isin(a["ID"])]
        assert new.area.sum() == pytest.approx(a[a["ID"].isin(m.loc[gone, "ID"])].area.sum(), rel=1e-9)


def test_changes_include_artificialisation_and_desartificialisation(layers):
    a, b = layers[2019], layers[2022]
    m = a.merge(b, on="ID", suffixes=("", "_2"))
    moved = m[(m["code_cs"] != m["code_cs_2"]) | (m["code_us"] != m["code_us_2"])]
    pairs = set(zip(moved["code_cs"], moved["code_us"], moved["code_cs_2"], moved["code_us_2"], strict=True))
    assert any(cs == "CS2.2.1" and us == "US1.1" and cs2.startswith("CS1.1") for cs, us, cs2, _ in pairs)
    assert any(cs.startswith("CS1.1.1") and cs2 == "CS2.2.1" for cs, _, cs2, _ in pairs)


def test_only_valid_leaf_codes(layers):
    cs_ok = set(nomenclature.couverture().query("leaf")["code"])
    us_ok = set(nomenclature.usage().query("leaf")["code"])
    for layer in layers.values():
        assert set(layer["code_cs"]) <= cs_ok
        assert set(layer["code_us"]) <= us_ok
    counts = layers[2019]["code_cs"].value_counts(normalize=True)
    assert counts.index[0] == "CS2.2.1"  # herbaceous (farmland) is the most common couverture


def test_input_checks(communes):
    with pytest.raises(CRSError, match="no CRS"):
        generate_ocsge(communes.set_crs(None, allow_override=True), n_polygons=100)
    with pytest.raises(SchemaError, match="increasing"):
        generate_ocsge(communes, n_polygons=100, vintages=(2022, 2019))
    with pytest.raises(SchemaError, match="at least 10"):
        generate_ocsge(communes, n_polygons=3)


def test_any_crs_and_a_square(communes):
    square = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1000, 1000)], crs="EPSG:2154")
    out = generate_ocsge(square, n_polygons=100, seed=1)
    assert float(out[2022].area.sum()) == pytest.approx(1e6, rel=1e-12)
    wgs = generate_ocsge(communes.to_crs(4326), n_polygons=100, seed=1)[2019]
    assert wgs.crs.to_epsg() == 2154
    assert np.isfinite(wgs.total_bounds).all()
