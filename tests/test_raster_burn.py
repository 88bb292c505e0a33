"""The compiled zone burn (:func:`ocsol.kernels.burn_zones`) against GDAL's own rasterize.

The raster crosstab burns the zone labels with a numba scanline fill instead of
``rasterio.features.rasterize``; it must give GDAL's pixels exactly, and hand back to GDAL
every window where rounding could decide (a vertex or a boundary through a pixel centre).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from rasterio.features import rasterize
from rasterio.transform import from_origin

from ocsol import kernels
from ocsol.crosstab import crosstab_rasters

from .test_raster import X0, Y0, legend, naive_transitions, pair  # noqa: F401  (legend is a fixture)

pytestmark = [
    pytest.mark.slow,  # compiled kernel against rasterio on 400 generated windows
    pytest.mark.skipif(not kernels.HAS_NUMBA, reason="numba missing: GDAL burns every window"),
]


def _zones(rng: np.random.Generator) -> np.ndarray:
    """Voronoi cells, cells with holes, a multipolygon, a disc and two polygons whose vertices
    and edges lie on pixel centres of the 0.5-unit grids below (the ambiguous case)."""
    pts = shapely.multipoints(np.c_[rng.uniform(0, 100, 60), rng.uniform(0, 100, 60)])
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(pts)), shapely.box(0, 0, 100, 100))
    holed = shapely.difference(cells[:5], shapely.buffer(shapely.centroid(cells[:5]), 2))
    multi = shapely.multipolygons([shapely.box(10, 10, 20, 20), shapely.box(30, 30, 40, 45)])
    on_centres = [shapely.box(10.25, 10.25, 30.25, 30.75),
                  shapely.Polygon([(5.25, 5.25), (60.25, 5.25), (30.25, 60.25)])]
    return np.concatenate([cells, holed, [multi, shapely.Point(50, 50).buffer(30), *on_centres]])


def _gdal(geoms: np.ndarray, cand: np.ndarray, shape: tuple[int, int], t: Affine) -> np.ndarray:
    return rasterize(((geoms[i], j + 1) for j, i in enumerate(cand)), out_shape=shape, transform=t, fill=0,
                     dtype=np.uint8)


def test_burn_gives_gdal_pixels_or_hands_the_window_back() -> None:
    rng = np.random.default_rng(0)
    geoms = _zones(rng)
    rings = kernels.ZoneRings(geoms)
    tree = shapely.STRtree(geoms)
    assert rings.usable
    same = handed_back = 0
    for trial in range(400):
        px = float(rng.choice([0.37, 0.1, 0.5, 1.0, 0.05]))
        x0, y0 = rng.uniform(-10, 90), rng.uniform(10, 110)
        if trial % 5 == 0:  # grids whose pixel centres fall on the quarter-unit vertices
            x0, y0 = float(round(x0)), float(round(y0))
        h, w = (int(v) for v in rng.integers(1, 200, 2))
        t = Affine(px, 0, x0, 0, -px, y0)
        cand = np.sort(tree.query(shapely.box(x0, y0 - h * px, x0 + w * px, y0)))
        if not len(cand):
            continue
        ref = _gdal(geoms, cand, (h, w), t)
        got = kernels.burn_zones(rings, cand, (t.a, t.b, t.c, t.d, t.e, t.f), (h, w))
        if got is None:
            handed_back += 1
            continue
        labels, rows = got
        assert labels is not None
        np.testing.assert_array_equal(labels, ref, err_msg=f"trial {trial}")
        expected_rows = np.array([np.count_nonzero(ref == j, axis=1) for j in range(len(cand) + 1)])
        np.testing.assert_array_equal(rows, expected_rows)
        rows_only = kernels.burn_zones(rings, cand, (t.a, t.b, t.c, t.d, t.e, t.f), (h, w), image=False)
        assert rows_only is not None and rows_only[0] is None
        np.testing.assert_array_equal(rows_only[1], expected_rows)
        same += 1
    assert same > 300
    assert handed_back > 0  # the quarter-unit polygons on 0.5 grids are left to GDAL


def test_overlapping_zones_last_wins() -> None:
    geoms = np.array([shapely.box(0, 0, 10, 10), shapely.box(3.1, 3.1, 7.1, 7.1), shapely.box(5.1, 0.1, 9.1, 4.1)])
    t = from_origin(-1.03, 11.03, 0.3, 0.3)
    cand = np.array([0, 1, 2])
    got = kernels.burn_zones(kernels.ZoneRings(geoms), cand, tuple(t)[:6], (41, 43))  # type: ignore[arg-type]
    assert got is not None
    ref = _gdal(geoms, cand, (41, 43), t)
    np.testing.assert_array_equal(got[0], ref)
    np.testing.assert_array_equal(got[1], [np.count_nonzero(ref == j, axis=1) for j in range(4)])
    assert (ref == 3).any() and (ref == 2).any()


def test_other_geometry_types_go_to_gdal() -> None:
    rings = kernels.ZoneRings(np.array([shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (1, 1)])]))
    assert not rings.usable
    assert kernels.burn_zones(rings, np.array([0]), (0.1, 0, 0, 0, -0.1, 1), (10, 10)) is None


def test_crosstab_with_zones_on_pixel_centres_matches_naive(tmp_path: Path, legend: pd.DataFrame) -> None:  # noqa: F811
    """Zones whose vertices sit on pixel centres (GDAL decides those windows) next to ordinary
    ones: the pieces equal a naive burn of the whole grid + ``value_counts``."""
    rng = np.random.default_rng(7)
    a = rng.integers(0, 4, size=(70, 90))
    b = np.where(rng.random((70, 90)) < 0.2, rng.integers(0, 4, size=(70, 90)), a)
    paths = pair(tmp_path, a=a, b=b, tiled=True)
    zones = gpd.GeoDataFrame(
        {"code": ["C", "P", "Q"]},
        geometry=[shapely.box(X0 + 15, Y0 - 605, X0 + 305, Y0 - 15),  # edges through pixel centres
                  shapely.Point(X0 + 400, Y0 - 300).buffer(233),
                  shapely.Polygon([(X0 + 310, Y0 - 690), (X0 + 880, Y0 - 690), (X0 + 880, Y0 - 13)])],
        crs="EPSG:2154")
    got = crosstab_rasters(zones, paths, legend, block_size=16, threads=2)
    ref, z = naive_transitions(zones, a, b)
    series = got.transitions.set_index(["code", "cs_from", "cs_to"])["area_m2"]
    pd.testing.assert_series_equal(series.sort_index(), ref, check_names=False)
    assert got.meta["pixels_in_zones"] == int((z > 0).sum())
