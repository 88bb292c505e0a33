"""Raster figures that are right or absent (issue 9, items 10 and 11).

- geographic rasters: per-row pixel areas equal pyproj.Geod's ellipsoidal areas, at 70° N too;
- pixel-centre rule: each pixel in exactly one zone, so communes sum to the dissolved parent;
- a zone partly outside the raster: its covered share is in qa.csv, and below min_coverage its
  figures are empty with a note (never a partial sum shown as complete);
- a raster zone whose pixels exceed its polygon is not told about "overlapping polygons".
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from pyproj import Geod
from rasterio.transform import from_origin

from ocsol.cli import main
from ocsol.crosstab import crosstab_rasters, row_areas
from ocsol.io.raster import open_vintages
from ocsol.legends import load_legend
from ocsol.pipeline import compute

X0, Y0 = 700_000.0, 6_600_000.0


def write_tif(path: Path, arr: np.ndarray, *, crs: str = "EPSG:2154", transform=None) -> Path:
    transform = transform or from_origin(X0, Y0, 10, 10)
    with rasterio.open(path, "w", driver="GTiff", height=arr.shape[0], width=arr.shape[1], count=1, dtype="uint8",
                       crs=crs, transform=transform, nodata=0) as dst:
        dst.write(arr.astype("uint8"), 1)
    return path


def geod_pixel(lon0: float, north: float, res: float) -> float:
    """Area of a lon/lat pixel with pyproj.Geod, its edges densified along the parallels."""
    geod = Geod(ellps="WGS84")
    lons = np.linspace(lon0, lon0 + res, 401)
    xs = np.concatenate([lons, lons[::-1]])
    ys = np.concatenate([np.full(401, north), np.full(401, north - res)])
    return abs(geod.polygon_area_perimeter(xs, ys)[0])


def test_geodesic_row_areas_at_70_north(tmp_path: Path) -> None:
    res = 0.05
    transform = from_origin(20.0, 70.1, res, res)  # rows 70.10–69.90 °N (northern Norway)
    path = write_tif(tmp_path / "n.tif", np.full((4, 3), 50), crs="EPSG:4326", transform=transform)
    _, grid = open_vintages({2020: path})
    areas = row_areas(grid)
    expected = [geod_pixel(20.0, 70.1 - r * res, res) for r in range(4)]
    assert areas == pytest.approx(expected, rel=1e-7)
    # a pixel at 70° N is about a third of one at the equator (cos 70° ≈ 0.342 on a sphere)
    assert areas[2] / geod_pixel(20.0, res / 2, res) == pytest.approx(np.cos(np.radians(70.0)), rel=2e-2)
    zone = gpd.GeoDataFrame({"code": ["N"]}, geometry=[shapely.box(19.9, 69.8, 20.2, 70.2)], crs="EPSG:4326")
    r = crosstab_rasters(zone, {2020: path}, load_legend("worldcover"), threads=1)
    assert r.stock["area_m2"].sum() == pytest.approx(3 * sum(expected), rel=1e-7)


def test_pixel_centre_rule_communes_sum_to_their_parent(tmp_path: Path) -> None:
    """Commune borders through pixel centres and diagonals: every pixel lands in exactly one commune."""
    rng = np.random.default_rng(3)
    a = rng.integers(1, 3, size=(30, 30))
    paths = {2020: write_tif(tmp_path / "a.tif", a), 2021: write_tif(tmp_path / "b.tif", np.roll(a, 1, axis=1))}
    xm, ym = X0 + 155, Y0 - 155  # through pixel centres (x = X0 + 155 is the centre of column 15)
    parent = shapely.box(X0 + 3, Y0 - 297, X0 + 297, Y0 - 3)
    cut = [shapely.Polygon([(X0, Y0), (xm, Y0), (xm, ym), (X0, Y0 - 300)]),  # diagonal border too
           shapely.Polygon([(xm, Y0), (X0 + 300, Y0), (X0 + 300, ym), (xm, ym)]),
           shapely.Polygon([(X0, Y0 - 300), (xm, ym), (X0 + 300, ym), (X0 + 300, Y0 - 300)])]
    communes = gpd.GeoDataFrame({"code": ["C1", "C2", "C3"]}, geometry=[g.intersection(parent) for g in cut],
                                crs="EPSG:2154")
    legend = load_legend(_legend(tmp_path))
    parts = crosstab_rasters(communes, paths, legend, threads=1)
    whole = crosstab_rasters(gpd.GeoDataFrame({"code": ["P"]}, geometry=[parent], crs="EPSG:2154"), paths, legend,
                             threads=1)
    summed = parts.transitions.groupby(["cs_from", "cs_to"])["area_m2"].sum()
    pd.testing.assert_series_equal(summed, whole.transitions.groupby(["cs_from", "cs_to"])["area_m2"].sum())
    # the parent holds the pixels whose centre is inside it: columns/rows 0 … 29 (3 m margin < 5 m)
    assert whole.covered["zone_m2"].iloc[0] == 900 * 100.0
    assert parts.covered.groupby("vintage")["zone_m2"].sum().tolist() == [90_000.0, 90_000.0]


def _legend(d: Path) -> Path:
    p = d / "legend.csv"
    p.write_text("value,label,colour,artif\n1,Bâti,#FF0000,true\n2,Champ,#FFFF00,false\n", encoding="utf-8")
    return p


def _raster_case(d: Path, zones: list[shapely.Geometry], extra: str = "") -> Path:
    gpd.GeoDataFrame({"code": [f"Z{i + 1}" for i in range(len(zones))], "grp": "G"}, geometry=zones,
                     crs="EPSG:2154").to_file(d / "zones.gpkg")
    _legend(d)
    a = np.array([[1, 1, 2, 2]] * 4)
    write_tif(d / "r2020.tif", a)
    write_tif(d / "r2021.tif", a)
    (d / "ocsol.toml").write_text(
        '[territories]\npath = "zones.gpkg"\ncode = "code"\nlevels = { grp = "grp" }\n\n'
        f'[raster]\nlegend = "legend.csv"\n{extra}\n[raster.vintages]\n2020 = "r2020.tif"\n2021 = "r2021.tif"\n',
        encoding="utf-8")
    return d / "ocsol.toml"


@pytest.mark.slow
def test_zone_partly_outside_the_raster_is_empty_with_a_reason(tmp_path: Path) -> None:
    # Z1 inside the 40 m × 40 m raster; Z2 half outside it (x 20–60): 20 × 40 m of it has no pixel
    cfg = _raster_case(tmp_path, [shapely.box(X0, Y0 - 40, X0 + 20, Y0), shapely.box(X0 + 20, Y0 - 40, X0 + 60, Y0)])
    res = compute(cfg)
    ss = res["stock_summary"].set_index(["level", "code", "vintage"])
    assert ss.loc[("commune", "Z1", 2020), "artif_ha"] == pytest.approx(0.08)  # 8 pixels of class 1
    assert ss.loc[("commune", "Z1", 2020), "covered_pct"] == pytest.approx(100.0)
    assert ss.loc[("commune", "Z2", 2020), "covered_pct"] == pytest.approx(50.0)
    assert np.isnan(ss.loc[("commune", "Z2", 2020), "artif_ha"])  # not 0: empty
    assert "below min_coverage 99.0 %" in ss.loc[("commune", "Z2", 2020), "note"]
    # the parent: 16 covered pixels over 1 600 + 800 m² → 66.67 %, empty too
    assert ss.loc[("grp", "G", 2021), "covered_pct"] == pytest.approx(1600 / 2400 * 100)
    assert np.isnan(ss.loc[("grp", "G", 2021), "artif_pct"])
    fl = res["flows"].set_index(["level", "code"])
    assert fl.loc[("commune", "Z1"), "artif_ha"] == 0.0 and np.isnan(fl.loc[("commune", "Z2"), "artif_ha"])
    qa = res["qa"]
    row = qa[qa["item"] == "covered share of commune Z2"]
    assert row["detail"].iloc[0].startswith("2020: 50.00 %; 2021: 50.00 % — below min_coverage")
    assert not (qa["item"] == "covered share of commune Z1").any()


@pytest.mark.slow
def test_lower_min_coverage_keeps_the_partial_figures(tmp_path: Path) -> None:
    cfg = _raster_case(tmp_path, [shapely.box(X0, Y0 - 40, X0 + 20, Y0), shapely.box(X0 + 20, Y0 - 40, X0 + 60, Y0)],
                       extra="min_coverage = 0.4\n")
    ss = compute(cfg)["stock_summary"].set_index(["level", "code", "vintage"])
    assert ss.loc[("commune", "Z2", 2020), "artif_ha"] == 0.0  # columns 2–3 are class 2: truly 0 artificialised
    assert ss.loc[("commune", "Z2", 2020), "note"] == ""


@pytest.mark.slow
def test_zone_wholly_outside_the_raster_gets_a_row_with_a_reason(tmp_path: Path) -> None:
    cfg = _raster_case(tmp_path, [shapely.box(X0, Y0 - 40, X0 + 40, Y0), shapely.box(X0 + 100, Y0 - 40, X0 + 140, Y0)])
    res = compute(cfg)
    ss = res["stock_summary"].set_index(["level", "code", "vintage"])
    assert ss.loc[("commune", "Z2", 2021), "covered_pct"] == 0.0
    assert np.isnan(ss.loc[("commune", "Z2", 2021), "artif_ha"])
    # the parent is partial for this measure: no row, named in qa.csv (never Z1's figures as G's)
    assert ("grp", "G", 2021) not in ss.index
    qa = res["qa"]
    assert qa["codes"].astype(str).str.split(";").apply(lambda c: "G" in c).any()


@pytest.mark.slow
def test_small_zone_pixels_above_polygon_area_is_not_a_topology_error(tmp_path: Path, capsys) -> None:
    """A 12 m × 12 m zone holding 4 pixel centres (400 m² of pixels, 144 m² of polygon)."""
    z = shapely.box(X0 + 4, Y0 - 16, X0 + 16, Y0 - 4)
    cfg = _raster_case(tmp_path, [z, shapely.box(X0 + 20, Y0 - 40, X0 + 40, Y0)], extra="min_coverage = 0.0\n")
    code = main(["indicators", "-c", str(cfg), "-o", str(tmp_path / "out"), "-q"])
    assert code == 0, capsys.readouterr().err
    ss = pd.read_csv(tmp_path / "out" / "stock_summary.csv", dtype={"code": str}).set_index(["level", "code", "vintage"])
    assert ss.loc[("commune", "Z1", 2020), "covered_ha"] == pytest.approx(0.04)
