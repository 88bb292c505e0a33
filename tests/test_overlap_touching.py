"""The area kernel on two vintages (``kernels.clip_area(..., touching=True)``) and its use in the
old × new overlay of ``change.compare_vintages``, against GEOS.

Two vintages of a land cover share vertices and edges: the second is made from the first by
merging neighbours (same vertices), cutting cells along a line through two of their vertices
(same vertices, a new edge) and cutting cells along a line through their edges (new vertices
on the old edges: the kernel must leave those pairs to GEOS). Every pair the kernel answers
must equal ``shapely.intersection(...).area`` at 1e-9 of the smaller polygon; the engine's
transitions must equal those of the GEOS-only overlay and must not depend on the threads.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ocsol import change, kernels

pytestmark = pytest.mark.slow  # compiled kernel and engine against GEOS on generated vintages

X0, Y0 = 651_000.0, 6_862_000.0  # Lambert 93: large coordinates, where rounding shows


def _cells(seed: int, n: int = 400, size: float = 2000.0) -> np.ndarray:
    """A tessellation of a square (Voronoi cells: neighbours share vertices and edges exactly)."""
    rng = np.random.default_rng(seed)
    pts = shapely.multipoints(np.c_[X0 + rng.uniform(0, size, n), Y0 + rng.uniform(0, size, n)])
    frame = shapely.box(X0, Y0, X0 + size, Y0 + size)
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=frame))
    cells = shapely.intersection(cells, frame)
    return np.asarray(cells[~shapely.is_empty(cells)], dtype=object)


def _next_vintage(cells: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A second vintage: merged neighbours, cells cut corner to corner, cells cut across edges.
    Returns the polygons and which of them were cut across edges (new vertices on old edges)."""
    rng = np.random.default_rng(seed)
    out, across = [], []
    tree = shapely.STRtree(cells)
    used = np.zeros(len(cells), dtype=bool)
    for k in rng.permutation(len(cells)):
        if used[k]:
            continue
        c = cells[k]
        what = rng.integers(0, 5)
        if what == 0:  # merged with a free neighbour
            nb = [m for m in tree.query(c, predicate="touches") if not used[m] and m != k]
            if nb:
                used[[k, nb[0]]] = True
                out.append(shapely.union(c, cells[nb[0]]))
                across.append(False)
                continue
        used[k] = True
        ring = shapely.get_coordinates(c.exterior)[:-1]
        if what == 1 and len(ring) >= 4:  # cut along a diagonal: two polygons on the old vertices
            m = len(ring) // 2
            out += [shapely.Polygon(ring[: m + 1]), shapely.Polygon(np.r_[ring[m:], ring[:1]])]
            across += [False, False]
        elif what == 2:  # cut through the middle: new vertices on the old edges
            x = shapely.centroid(c).x
            b = shapely.bounds(c)
            for half in (shapely.box(b[0] - 1, b[1] - 1, x, b[3] + 1), shapely.box(x, b[1] - 1, b[2] + 1, b[3] + 1)):
                part = shapely.intersection(c, half)
                if part.geom_type == "Polygon" and part.area > 0:
                    out.append(part)
                    across.append(True)
        else:
            out.append(c)
            across.append(False)
    g = np.asarray(out, dtype=object)
    ok = shapely.is_valid(g) & (shapely.get_type_id(g) == 3)
    return g[ok], np.asarray(across)[ok]


@pytest.fixture(scope="module")
def vintages() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = _cells(3)
    b, across = _next_vintage(a, 4)
    return a, b, across


def _clip_touching(a: np.ndarray, i: np.ndarray, b: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    area, state = kernels.clip_area(kernels.polygon_rings(a), i, kernels.polygon_rings(b), j, touching=True)
    return np.where(state == kernels.CLIP_INSIDE, shapely.area(a[i]), area), state


def test_touching_pairs_equal_geos(vintages):
    a, b, across = vintages
    i, j = shapely.STRtree(b).query(a, predicate="intersects")
    area, state = _clip_touching(a, i, b, j)
    ref = shapely.area(shapely.intersection(a[i], b[j]))
    done = state != kernels.CLIP_UNDECIDED
    small = np.minimum(shapely.area(a[i]), shapely.area(b[j]))
    assert np.abs(area[done] - ref[done]).max() <= 1e-9 * small[done].max()
    assert (np.abs(area[done] - ref[done]) <= 1e-9 * small[done]).all()
    # the vertex-sharing pairs are answered: merged, cut corner to corner, unchanged, neighbours
    assert done[~across[j]].mean() > 0.99
    counts = np.bincount(state, minlength=4)
    assert counts[kernels.CLIP_INSIDE] > 50 and counts[kernels.CLIP_DISJOINT] > 500
    assert counts[kernels.CLIP_CROSSING] > 50
    # without touching, nearly all of them fall back (they share vertices)
    _, plain = kernels.clip_area(kernels.polygon_rings(a), i, kernels.polygon_rings(b), j)
    assert (plain == kernels.CLIP_UNDECIDED).mean() > 0.9


def test_new_vertices_on_old_edges_fall_back(vintages):
    a, b, across = vintages
    i, j = shapely.STRtree(b).query(a, predicate="intersects")
    _, state = _clip_touching(a, i, b, j)
    # a polygon cut across its cell has new vertices near the cell's edges: those exactly on an
    # edge of the other polygon (not one of its vertices; GEOS's exact test) must fall back
    on_edge = np.zeros(len(i), dtype=bool)
    for k in np.flatnonzero(across[j]):
        for x, y in ((a[i[k]], b[j[k]]), (b[j[k]], a[i[k]])):
            own = set(map(tuple, shapely.get_coordinates(y)))
            pts = [p for p in map(tuple, shapely.get_coordinates(x)) if p not in own]
            on_edge[k] |= bool(pts) and shapely.intersects(shapely.points(pts), y.boundary).any()
    assert on_edge.sum() >= 5  # (mostly on the edges along the frame)
    assert (state[on_edge] == kernels.CLIP_UNDECIDED).all()


T = 651_000.0
TOUCHING = {  # (A, B, state, expected area)
    "identical": (shapely.box(T, 0, T + 10, 10).segmentize(3), shapely.box(T, 0, T + 10, 10).segmentize(3),
                  kernels.CLIP_INSIDE, 100.0),
    "inside, sharing two edges": (shapely.box(T, 0, T + 5, 5), shapely.box(T, 0, T + 10, 10).segmentize(5),
                                  kernels.CLIP_INSIDE, 25.0),
    "neighbours sharing an edge": (shapely.box(T, 0, T + 10, 10), shapely.box(T + 10, 0, T + 20, 10),
                                   kernels.CLIP_DISJOINT, 0.0),
    "a shared vertex, crossing": (shapely.Polygon([(T, 0), (T + 10, 0), (T + 10, 10)]),
                                  shapely.Polygon([(T, 0), (T + 12, 4), (T, 4)]), kernels.CLIP_CROSSING, None),
    "containing, sharing a diagonal": (shapely.box(T, 0, T + 10, 10),
                                       shapely.Polygon([(T, 0), (T + 10, 0), (T + 10, 10)]),
                                       kernels.CLIP_CROSSING, 50.0),
    "hole sharing the vertices of an inner polygon": (
        shapely.box(T, 0, T + 10, 10).difference(shapely.box(T + 3, 3, T + 6, 6)), shapely.box(T + 3, 3, T + 6, 6),
        kernels.CLIP_DISJOINT, 0.0),
}


@pytest.mark.parametrize("case", list(TOUCHING))
def test_touching_special_pairs(case):
    a, b, expected, value = TOUCHING[case]
    for x, y in ((a, b), (b, a), (shapely.reverse(a), b)):
        area, state = _clip_touching(np.array([x]), np.array([0]), np.array([y]), np.array([0]))
        ref = shapely.intersection(x, y).area
        if expected == kernels.CLIP_DISJOINT:
            assert state[0] == expected, case
        else:  # (one inside the other: INSIDE or CROSSING depending on which is first)
            assert state[0] in (kernels.CLIP_INSIDE, kernels.CLIP_CROSSING), case
        assert abs(area[0] - ref) <= 1e-9 * min(x.area, y.area), case
        if value is not None:
            assert abs(ref - value) < 1e-6


@pytest.mark.parametrize("case", ["collinear overlap", "vertex on an edge"])
def test_touching_still_falls_back(case):
    a = shapely.box(T, 0, T + 20, 10)
    b = shapely.box(T + 10, 0, T + 30, 20) if case == "collinear overlap" else \
        shapely.Polygon([(T + 5, 10), (T + 8, 20), (T + 2, 20)])
    _, state = _clip_touching(np.array([a, b]), np.array([0, 1]), np.array([b, a]), np.array([0, 1]))
    assert (state == kernels.CLIP_UNDECIDED).all()


def _layers(vintages: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame,
                                                                          gpd.GeoDataFrame]:
    a, b, _ = vintages
    rng = np.random.default_rng(5)
    classes = np.array(["CS1.1.1.1", "CS2.1.1.1", "CS2.2.1"])
    la = gpd.GeoDataFrame({"cs": classes[rng.integers(0, 3, len(a))], "us": "US1.1"}, geometry=a, crs=2154)
    lb = gpd.GeoDataFrame({"cs": classes[rng.integers(0, 3, len(b))], "us": "US1.1"}, geometry=b, crs=2154)
    # four communes cutting the square (one boundary along the cells, one across them)
    communes = gpd.GeoDataFrame(
        {"code": ["41001", "41002", "41003", "41004"]},
        geometry=[shapely.box(X0 - 10, Y0 - 10, X0 + 900, Y0 + 1100), shapely.box(X0 + 900, Y0 - 10, X0 + 2010, Y0 + 1100),
                  shapely.box(X0 - 10, Y0 + 1100, X0 + 1300, Y0 + 2010),
                  shapely.box(X0 + 1300, Y0 + 1100, X0 + 2010, Y0 + 2010)], crs=2154)
    return la, lb, communes


def _transitions(la, lb, communes, *, keep_changes: bool, threads: int | None = None) -> pd.DataFrame:
    res = change.compare_vintages(la, lb, communes, vintage_from=2019, vintage_to=2022, keep_changes=keep_changes,
                                  threads=threads, batch_size=300)
    return res.transitions


@pytest.mark.parametrize("keep_changes", [False, True])
def test_engine_transitions_equal_the_geos_overlay(vintages, monkeypatch, keep_changes):
    la, lb, communes = _layers(vintages)
    calls = []
    real = change._overlap_areas

    def spy(*args, **kw):
        area, ok = real(*args, **kw)
        calls.append(int(ok.sum()))
        return area, ok

    monkeypatch.setattr(change, "_overlap_areas", spy)
    fast = _transitions(la, lb, communes, keep_changes=keep_changes)
    assert calls and calls[-1] > 100  # the kernel answered pairs
    monkeypatch.setattr(change, "_overlap_areas",
                        lambda g1, i, g2, j, a1, a2, threads: (np.zeros(len(i)), np.zeros(len(i), dtype=bool)))
    slow = _transitions(la, lb, communes, keep_changes=keep_changes)
    keys = list(fast.columns[:-1])
    assert fast[keys].equals(slow[keys])
    diff = np.abs(fast["area_m2"].to_numpy() - slow["area_m2"].to_numpy())
    assert diff.max() <= 1e-6  # m², on cells of about 10 000 m²
    # every polygon's area is accounted for once in each commune
    assert abs(fast["area_m2"].sum() - 2000.0**2) < 1e-3


def test_engine_transitions_do_not_depend_on_threads(vintages):
    la, lb, communes = _layers(vintages)
    one = _transitions(la, lb, communes, keep_changes=False, threads=1)
    two = _transitions(la, lb, communes, keep_changes=False, threads=2)
    pd.testing.assert_frame_equal(one, two, check_exact=True)


def test_simple_areas_are_geos_areas_bit_for_bit(vintages):
    a, b, _ = vintages
    rng = np.random.default_rng(9)
    blobs = [shapely.Polygon(np.c_[X0 + 50 * np.cos(t) * rng.uniform(0.5, 1, 30), Y0 + 50 * np.sin(t) * rng.uniform(0.5, 1, 30)])
             for t in [np.sort(rng.uniform(0, 2 * np.pi, 30)) for _ in range(200)]]
    g = np.concatenate([a, b, shapely.reverse(b), np.asarray(blobs, dtype=object),
                        np.array([shapely.box(X0, Y0, X0 + 10, Y0 + 10).difference(shapely.box(X0 + 2, Y0 + 2, X0 + 3, Y0 + 3)),
                                  shapely.MultiPolygon([shapely.box(X0, Y0, X0 + 1, Y0 + 1), shapely.box(X0 + 2, Y0, X0 + 3, Y0 + 1)]),
                                  None, shapely.Polygon()], dtype=object)])
    area, done = kernels.simple_areas(kernels.polygon_rings(g))
    assert done[:-4].all() and not done[-4:].any()  # holes, two parts, missing, empty: GEOS
    assert (area[done] == shapely.area(g[done])).all()  # the same numbers, not merely close
