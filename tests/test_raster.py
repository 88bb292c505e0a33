"""Raster engine: legends, grid checks and the per-zone crosstab, on arrays counted by hand."""

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

from ocsol.config import config_from_dict
from ocsol.crosstab import crosstab_rasters, row_areas
from ocsol.errors import ConfigError, CRSError, SchemaError, UnknownCodeError
from ocsol.io.raster import check_same_grid, open_raster, open_vintages
from ocsol.legends import BUILTIN_LEGENDS, load_legend
from ocsol.steps.raster import raster_pieces

ROOT = Path(__file__).resolve().parents[1]
X0, Y0 = 700_000.0, 6_600_000.0  # Lambert-93 origin of the hand-made grids, 10 m pixels

# 0 = nodata. Zone A = columns 0–1, zone B = columns 2–3.
V2020 = np.array([[1, 1, 2, 2],
                  [1, 1, 2, 2],
                  [3, 3, 0, 2],
                  [3, 3, 3, 3]])
V2021 = np.array([[1, 2, 2, 2],
                  [1, 1, 2, 2],
                  [3, 1, 2, 2],
                  [3, 3, 0, 3]])


def write_tif(path: Path, arr: np.ndarray, *, crs: str = "EPSG:2154", transform=None, nodata=0,
              dtype="uint8", tiled: bool = False) -> Path:
    transform = transform or from_origin(X0, Y0, 10, 10)
    profile = {"driver": "GTiff", "height": arr.shape[0], "width": arr.shape[1], "count": 1, "dtype": dtype,
               "crs": crs, "transform": transform, "nodata": nodata}
    if tiled:
        profile.update(tiled=True, blockxsize=16, blockysize=16, compress="deflate")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr.astype(dtype), 1)
    return path


@pytest.fixture
def legend(tmp_path: Path) -> pd.DataFrame:
    p = tmp_path / "legend.csv"
    p.write_text("value,label,colour,artif\n1,Bâti,#FF0000,true\n2,Champ,#FFFF00,false\n3,Forêt,#00A000,false\n",
                 encoding="utf-8")
    return load_legend(p)


def zones_ab(crs: str = "EPSG:2154") -> gpd.GeoDataFrame:
    a = shapely.box(X0, Y0 - 40, X0 + 20, Y0)
    b = shapely.box(X0 + 20, Y0 - 40, X0 + 40, Y0)
    return gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[a, b], crs="EPSG:2154").to_crs(crs)


def pair(tmp_path: Path, a=V2020, b=V2021, **kw) -> dict[int, Path]:
    return {2020: write_tif(tmp_path / "a.tif", a, **kw), 2021: write_tif(tmp_path / "b.tif", b, **kw)}


def as_dict(df: pd.DataFrame, keys: list[str]) -> dict:
    return {tuple(r[k] for k in keys): r["area_m2"] for _, r in df.iterrows()}


# ----------------------------------------------------------------------------- legends
def test_builtin_legends_load_with_flags() -> None:
    for name in BUILTIN_LEGENDS:
        leg = load_legend(name)
        assert leg["value"].is_unique and leg["artif"].any()
    clc = load_legend("clc")
    assert len(clc) == 44 and clc["value"].tolist() == list(range(1, 45))
    assert not clc.loc[clc["code"] == "131", "artif"].item()  # extraction: not artificialised
    assert load_legend("clc_level1").query("artif")["code"].str.startswith("1").all()
    assert load_legend("oso23").query("artif")["value"].tolist() == [1, 2, 3, 4]
    assert load_legend("oso17").query("artif")["value"].tolist() == [41, 42, 43, 44]


def test_user_legend_problems_listed_at_once(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("value,label,colour,artif\n1,a,#FF0000,maybe\nx,b,red,true\n1,,#00FF00,false\n")
    with pytest.raises(SchemaError, match=r"bad.csv: column 'value' must hold integers.*duplicate value.*empty label"
                                          r".*colour.*#RRGGBB.*artif.*true/false"):
        load_legend(p)
    p.write_text("value,label\n1,a\n")
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['colour', 'artif'\]"):
        load_legend(p)
    with pytest.raises(SchemaError, match="unknown legend 'wordlcover'.*did you mean 'worldcover'"):
        load_legend("wordlcover")


# ----------------------------------------------------------------------------- grids
def test_grid_mismatch_errors_say_how_to_align(tmp_path: Path) -> None:
    a = write_tif(tmp_path / "a.tif", V2020)
    shifted = write_tif(tmp_path / "s.tif", V2020, transform=from_origin(X0 + 5, Y0, 10, 10))
    with pytest.raises(SchemaError, match=r"s.tif \(2021\) is not on the grid.*origin shifted by \(0.500, "
                                          r"0.000\) pixels.*rio warp s.tif aligned.tif --like a.tif.*gdalwarp"):
        open_vintages({2020: a, 2021: shifted})
    coarse = write_tif(tmp_path / "c.tif", V2020, transform=from_origin(X0, Y0, 20, 20))
    with pytest.raises(SchemaError, match="pixel size 20×20 vs 10×10"):
        open_vintages({2020: a, 2021: coarse})
    small = write_tif(tmp_path / "m.tif", V2020[:3])
    with pytest.raises(SchemaError, match="shape 3×4 vs 4×4"):
        open_vintages({2020: a, 2021: small})
    other = write_tif(tmp_path / "o.tif", V2020, crs="EPSG:3035")
    with pytest.raises(CRSError, match="o.tif \\(2021\\) is in EPSG:3035 but .*EPSG:2154.*-t_srs EPSG:2154"):
        check_same_grid({2020: open_raster(a), 2021: open_raster(other)})


def test_float_raster_rejected(tmp_path: Path) -> None:
    p = write_tif(tmp_path / "f.tif", V2020, dtype="float32")
    with pytest.raises(SchemaError, match="float32 pixels; a classified raster holds integer"):
        open_raster(p)


# ----------------------------------------------------------------------------- counts by hand
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int32"])
def test_hand_counted_stock_and_transitions(tmp_path: Path, legend: pd.DataFrame, dtype: str) -> None:
    zones = zones_ab()
    before = zones.copy()
    r = crosstab_rasters(zones, pair(tmp_path, dtype=dtype), legend, threads=1)
    px = 100.0  # 10 m × 10 m
    assert as_dict(r.transitions, ["code", "cs_from", "cs_to"]) == {
        ("A", "1", "1"): 3 * px, ("A", "1", "2"): 1 * px, ("A", "3", "1"): 1 * px, ("A", "3", "3"): 3 * px,
        ("B", "2", "2"): 5 * px, ("B", "3", "3"): 1 * px,
    }
    assert as_dict(r.stock, ["code", "vintage", "cs"]) == {
        ("A", 2020, "1"): 4 * px, ("A", 2020, "3"): 4 * px,
        ("A", 2021, "1"): 4 * px, ("A", 2021, "2"): 1 * px, ("A", 2021, "3"): 3 * px,
        ("B", 2020, "2"): 5 * px, ("B", 2020, "3"): 1 * px,
        ("B", 2021, "2"): 5 * px, ("B", 2021, "3"): 1 * px,
    }
    assert list(r.stock.columns) == ["code", "vintage", "cs", "us", "area_m2"]
    assert list(r.transitions.columns) == ["code", "vintage_from", "vintage_to", "cs_from", "us_from",
                                           "cs_to", "us_to", "area_m2"]
    assert (r.stock["us"] == "").all() and (r.transitions["us_to"] == "").all()
    cov = r.covered.set_index(["code", "vintage"])
    assert cov.loc[("A", 2020)].tolist() == [800.0, 800.0, 0.0, 0.0, 0.0, 0.0]
    # B: one nodata pixel each year, each valid in the other year → 600 m² common footprint
    assert cov.loc[("B", 2020)].tolist() == [800.0, 600.0, 200.0, 100.0, 0.0, 100.0]
    assert cov.loc[("B", 2021)].tolist() == [800.0, 600.0, 200.0, 100.0, 0.0, 100.0]
    assert r.classes.to_dict("list") == {"cs": ["1", "2", "3"], "us": ["", "", ""], "artif": [True, False, False],
                                         "imper": [False, False, False], "cs_label": ["Bâti", "Champ", "Forêt"],
                                         "us_label": ["", "", ""]}
    assert r.unknown.empty
    pd.testing.assert_frame_equal(zones, before)


def test_margins_equal_stocks(tmp_path: Path, legend: pd.DataFrame) -> None:
    r = crosstab_rasters(zones_ab(), pair(tmp_path), legend, threads=1)
    out = r.transitions.groupby(["code", "cs_from"])["area_m2"].sum()
    s20 = r.stock[r.stock.vintage == 2020].set_index(["code", "cs"])["area_m2"]
    pd.testing.assert_series_equal(out, s20, check_names=False)
    inn = r.transitions.groupby(["code", "cs_to"])["area_m2"].sum()
    s21 = r.stock[r.stock.vintage == 2021].set_index(["code", "cs"])["area_m2"]
    pd.testing.assert_series_equal(inn, s21, check_names=False)


def test_zones_in_another_crs_and_pixel_centre_rule(tmp_path: Path, legend: pd.DataFrame) -> None:
    r = crosstab_rasters(zones_ab("EPSG:4326"), pair(tmp_path), legend, threads=1)
    assert r.covered.groupby("code")["zone_m2"].first().tolist() == [800.0, 800.0]
    # a zone covering 1.4 pixels across: column 0 holds its centre (x = 5 m), column 1 does not (x = 15 m)
    thin = gpd.GeoDataFrame({"code": ["T"]}, geometry=[shapely.box(X0, Y0 - 40, X0 + 14, Y0)], crs="EPSG:2154")
    r = crosstab_rasters(thin, pair(tmp_path), legend, threads=1)
    assert r.covered["zone_m2"].tolist() == [400.0, 400.0]
    assert as_dict(r.stock, ["vintage", "cs"]) == {(2020, "1"): 200.0, (2020, "3"): 200.0,
                                                   (2021, "1"): 200.0, (2021, "3"): 200.0}


def test_single_vintage_gives_stock_only(tmp_path: Path, legend: pd.DataFrame) -> None:
    r = crosstab_rasters(zones_ab(), {2020: write_tif(tmp_path / "a.tif", V2020)}, legend, threads=1)
    assert r.transitions.empty
    assert as_dict(r.stock, ["code", "cs"]) == {("A", "1"): 400.0, ("A", "3"): 400.0,
                                                ("B", "2"): 500.0, ("B", "3"): 200.0}
    assert r.covered.set_index("code").loc["B", "nodata_m2"] == 100.0


# ----------------------------------------------------------------------------- unknown values
@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_unknown_values_listed_with_counts(tmp_path: Path, legend: pd.DataFrame, dtype: str) -> None:
    b = V2021.copy()
    b[0, 0] = b[3, 3] = 7
    b[1, 3] = 250
    paths = pair(tmp_path, b=b, dtype=dtype)
    with pytest.raises(UnknownCodeError, match=r"b.tif \(2021\): 2 value\(s\) not in legend 'mine' and not nodata "
                                               r"\(0\): 7 \(2 px\), 250 \(1 px\).*\[raster\].unknown = \"nodata\""):
        crosstab_rasters(zones_ab(), paths, legend, threads=1, legend_name="mine")
    r = crosstab_rasters(zones_ab(), paths, legend, threads=1, unknown="nodata")
    assert r.unknown[["vintage", "value", "pixels", "area_m2"]].to_dict("list") == {
        "vintage": [2021, 2021], "value": [7, 250], "pixels": [2, 1], "area_m2": [200.0, 100.0]}
    cov = r.covered.set_index(["code", "vintage"])
    assert cov.loc[("A", 2021), "unknown_m2"] == 100.0 and cov.loc[("B", 2021), "unknown_m2"] == 200.0
    assert cov.loc[("A", 2020), "other_vintage_m2"] == 100.0
    assert r.stock.query("code == 'A' and vintage == 2020")["area_m2"].sum() == 700.0


def test_bad_unknown_policy(tmp_path: Path, legend: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="unknown = 'skip'; use one of error, nodata"):
        crosstab_rasters(zones_ab(), pair(tmp_path), legend, unknown="skip")


# ----------------------------------------------------------------------------- geographic CRS
def test_geographic_areas_match_geodesic(tmp_path: Path) -> None:
    res = 0.1
    transform = from_origin(2.0, 46.0, res, res)  # rows at 46.0–45.7 °N
    a = np.array([[10, 50], [50, 50], [10, 10]])
    paths = {2020: write_tif(tmp_path / "g1.tif", a, crs="EPSG:4326", transform=transform),
             2021: write_tif(tmp_path / "g2.tif", np.full_like(a, 50), crs="EPSG:4326", transform=transform)}
    zone = gpd.GeoDataFrame({"code": ["Z"]}, geometry=[shapely.box(1.9, 45.6, 2.3, 46.1)], crs="EPSG:4326")
    r = crosstab_rasters(zone.to_crs("EPSG:2154"), paths, load_legend("worldcover"), threads=1)
    geod = Geod(ellps="WGS84")

    def pixel_area(row: int) -> float:
        north, south = 46.0 - row * res, 46.0 - (row + 1) * res
        lons = np.linspace(2.0, 2.0 + res, 201)  # edges along parallels, densified
        xs = np.concatenate([lons, lons[::-1]])
        ys = np.concatenate([np.full(201, north), np.full(201, south)])
        return abs(geod.polygon_area_perimeter(xs, ys)[0])

    rows = [pixel_area(i) for i in range(3)]
    stock = as_dict(r.stock, ["vintage", "cs"])
    assert stock[(2020, "10")] == pytest.approx(rows[0] + 2 * rows[2], rel=1e-7)
    assert stock[(2020, "50")] == pytest.approx(rows[0] + 2 * rows[1], rel=1e-7)
    assert stock[(2021, "50")] == pytest.approx(2 * sum(rows), rel=1e-7)
    assert r.meta["area_method"].startswith("geodesic")


def test_row_areas_projected_is_pixel_area(tmp_path: Path) -> None:
    _, grid = open_vintages({2020: write_tif(tmp_path / "a.tif", V2020)})
    assert row_areas(grid) == 100.0


# ----------------------------------------------------------------------------- streaming
def test_windows_and_threads_match_a_naive_crosstab(tmp_path: Path, legend: pd.DataFrame) -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(0, 4, size=(70, 90))
    b = np.where(rng.random((70, 90)) < 0.2, rng.integers(0, 4, size=(70, 90)), a)
    paths = pair(tmp_path, a=a, b=b, tiled=True)
    zones = gpd.GeoDataFrame(
        {"code": ["P", "Q", "R"]},
        geometry=[shapely.Point(X0 + 200, Y0 - 300).buffer(230), shapely.box(X0 + 430, Y0 - 690, X0 + 880, Y0 - 20),
                  shapely.Polygon([(X0 + 10, Y0 - 690), (X0 + 400, Y0 - 690), (X0 + 10, Y0 - 520)])],
        crs="EPSG:2154")
    small = crosstab_rasters(zones, paths, legend, block_size=16, threads=2)
    big = crosstab_rasters(zones, paths, legend, threads=1)
    pd.testing.assert_frame_equal(small.transitions, big.transitions)
    pd.testing.assert_frame_equal(small.stock, big.stock)
    assert small.meta["windows"] > 1
    ref, _ = naive_transitions(zones, a, b)
    got = small.transitions.set_index(["code", "cs_from", "cs_to"])["area_m2"]
    pd.testing.assert_series_equal(got.sort_index(), ref, check_names=False)


def naive_transitions(zones, a, b):
    """Naive reference on the 10 m test grid: burn all zones at once (rasterio), count the valid
    pixels per (zone code, class from, class to) in m²; also the zone label image."""
    from rasterio.features import rasterize

    z = rasterize(((g, i + 1) for i, g in enumerate(zones.geometry)), out_shape=a.shape,
                  transform=from_origin(X0, Y0, 10, 10))
    ok = (z > 0) & (a > 0) & (b > 0)
    ref = pd.DataFrame({"code": np.asarray(zones["code"])[z[ok] - 1], "cs_from": a[ok].astype(str),
                        "cs_to": b[ok].astype(str)}).value_counts().mul(100.0)
    return ref.sort_index().astype(float), z


# ----------------------------------------------------------------------------- sample and config
def test_sample_config_runs_with_geodesic_areas() -> None:
    from ocsol.config import load_config
    from ocsol.io.territories import read_territories

    cfg = load_config(ROOT / "data" / "saotome" / "ocsol.toml")
    t = cfg.territories
    terr = read_territories(cfg.resolve(t.path), code=t.code, name=t.name, levels=t.levels,
                            level_names=t.names, crs=cfg.crs)
    r = raster_pieces(cfg, terr)
    assert sorted(r.stock["code"].unique()) == ["ST001", "ST002", "ST003", "ST004"]
    assert r.meta["pixels_in_zones"] == 720 * 720
    _, grid = open_vintages({y: cfg.resolve(p) for y, p in cfg.raster.vintages.items()})
    full = float(np.sum(row_areas(grid)) * grid.width)
    assert r.covered.query("vintage == 2020")["zone_m2"].sum() == pytest.approx(full, rel=1e-9)
    built = r.stock.query("cs == '50'").groupby("vintage")["area_m2"].sum()
    assert built[2021] > built[2020] > 0


def test_config_without_raster_section(tmp_path: Path) -> None:
    cfg = config_from_dict({"territories": {"path": "x.gpkg"}}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"no raster vintages; add \[raster\]"):
        raster_pieces(cfg, None)  # type: ignore[arg-type]


def test_uniform_windows_over_several_zones(tmp_path: Path, legend: pd.DataFrame) -> None:
    ones, twos = np.ones((4, 4)), np.full((4, 4), 2)
    thin = gpd.GeoDataFrame({"code": ["T"]}, geometry=[shapely.box(X0, Y0 - 40, X0 + 14, Y0)], crs="EPSG:2154")
    zones = pd.concat([zones_ab(), thin], ignore_index=True)
    r = crosstab_rasters(zones, pair(tmp_path, a=ones, b=twos), legend, threads=1)
    # T is listed last, so it wins column 0 over A
    assert as_dict(r.transitions, ["code", "cs_from", "cs_to"]) == {
        ("A", "1", "2"): 400.0, ("B", "1", "2"): 800.0, ("T", "1", "2"): 400.0}
