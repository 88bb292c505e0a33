"""Cutting polygons by commune: parts found by subtraction equal GEOS intersection areas.

``change._split_near`` skips one intersection per polygon that crosses clean pieces away from
any loose boundary, taking that part as the polygon's area less its other parts. This test
builds communes that tile part of the plane (with an enclave in a hole, a commune whose
neighbour's vertices do not match, two overlapping communes and the outer boundary), throws
polygons on them (holes, edges along commune borders, vertices on commune edges), and compares
every (polygon, commune) area with a plain ``shapely.intersection`` of the two.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from ocsol import change


def _communes() -> gpd.GeoDataFrame:
    geoms, codes = [], []
    for i in range(4):
        for j in range(3):
            cell = shapely.box(i * 100, j * 100, (i + 1) * 100, (j + 1) * 100)
            if (i, j) == (1, 1):  # a hole filled by an enclave commune
                cell = cell.difference(shapely.box(130, 130, 170, 170))
            if (i, j) == (3, 0):  # its left border with extra vertices: not shared with (2, 0)
                cell = shapely.Polygon([(300, 0), (400, 0), (400, 100), (300, 100), (300, 50)])
            if (i, j) == (2, 2):  # overlaps its right neighbour by a strip
                cell = shapely.box(200, 200, 305, 300)
            geoms.append(cell)
            codes.append(f"{i}{j}")
    geoms.append(shapely.box(130, 130, 170, 170))
    codes.append("EN")
    return gpd.GeoDataFrame({"code": codes}, geometry=geoms, crs="EPSG:2154")


def _polygons(rng: np.random.Generator) -> np.ndarray:
    out = []
    for k in range(600):
        cx, cy = rng.uniform(-20, 420), rng.uniform(-20, 320)
        if k % 4 == 0:  # snapped to the 10 m grid: edges along borders, vertices on edges
            cx, cy = round(cx, -1), round(cy, -1)
            w, h = rng.choice([10, 20, 30]), rng.choice([10, 20, 30])
            p = shapely.box(cx - w, cy - h, cx + w, cy + h)
            if k % 8 == 0:
                p = p.difference(shapely.box(cx - 5, cy - 5, cx + 5, cy + 5))  # a hole on the grid
        else:
            n = int(rng.integers(5, 25))
            ang = np.sort(rng.uniform(0, 2 * np.pi, n))
            r = rng.uniform(5, 30, n)
            p = shapely.Polygon(np.c_[cx + r * np.cos(ang), cy + r * np.sin(ang)])
            if k % 3 == 0 and p.is_valid:  # a hole
                p = p.difference(shapely.Point(cx, cy).buffer(3))
        out.append(p)
    g = np.array(out, dtype=object)
    return g[shapely.is_valid(g) & ~shapely.is_empty(g)]


@pytest.mark.parametrize("kernel", [False, True], ids=["geos", "area-kernel"])
def test_parts_by_subtraction_equal_geos_intersections(monkeypatch, kernel):
    communes = _communes()
    geoms = _polygons(np.random.default_rng(13))
    zones = change.Zones.from_communes(communes)
    if not kernel:  # every polygon the GEOS way (the area kernel would answer most of them)
        zones.__dict__["piece_rings"] = None
    derived, to_geos = [], []
    real = change._derivable
    monkeypatch.setattr(change, "_derivable", lambda *a: derived.append(r := real(*a)) or r)
    real_geos = change._split_geos
    monkeypatch.setattr(change, "_split_geos", lambda *a: to_geos.append(len(a[2])) or real_geos(*a))
    parts = change.split_by_commune(geoms, zones, threads=2)
    # the subtraction did run (with the kernel: only for polygons it leaves to GEOS)
    assert sum(len(d) for d in derived) > (0 if kernel else 50)
    if kernel:  # the degenerate pairs (snapped polygons) went to GEOS, the others did not
        assert 0 < sum(to_geos) < 0.5 * len(geoms)
    clean, _ = zones.tiling
    assert not clean[np.isin(zones.owner, [8, 11])].any()  # the overlapping pair is not trusted
    # reference: every polygon against every commune, by GEOS
    i, c = np.meshgrid(np.arange(len(geoms)), np.arange(len(communes)), indexing="ij")
    i, c = i.ravel(), c.ravel()
    ref = shapely.area(shapely.intersection(geoms[i], communes.geometry.values[c]))
    keep = ref > 0
    ref_key = i[keep] * 100 + c[keep]
    ours = {}
    for p, k, a in zip(parts.poly, parts.commune, parts.area, strict=True):
        ours[p * 100 + k] = ours.get(p * 100 + k, 0.0) + a
    assert set(ours) == set(ref_key.tolist())
    got = np.array([ours[k] for k in ref_key])
    np.testing.assert_allclose(got, ref[keep], rtol=1e-9, atol=0)


def test_parts_do_not_depend_on_the_split_among_threads():
    # split_by_commune hands each thread a slice of the polygons near an edge: the parts of a
    # slice must not depend on the others (sums then run in polygon order, whatever the threads)
    zones = change.Zones.from_communes(_communes())
    geoms = _polygons(np.random.default_rng(5))
    areas = shapely.area(geoms)
    idx = np.arange(len(geoms))
    _ = zones.tiling, zones.piece_rings  # built before use, as split_by_commune does

    def parts(chunks: list[np.ndarray]) -> tuple[bytes, ...]:
        out = [change._split_near(geoms, c, areas, zones) for c in chunks]
        poly, piece, area, cut = (np.concatenate([o[k] for o in out]) for k in range(4))
        order = np.lexsort((piece, poly))
        return poly[order].tobytes(), piece[order].tobytes(), area[order].tobytes(), cut[order].tobytes()

    assert parts([idx]) == parts(np.array_split(idx, 3))
