"""Compiled kernels: vertex-hash pairing against shapely.equals, raster pair bins against bincount."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from ocsol import change, kernels

pytestmark = pytest.mark.slow  # numba kernels (compiled on a cold cache)


def _rotate_ring(coords: np.ndarray, k: int, reverse: bool) -> np.ndarray:
    ring = coords[:-1]
    ring = np.roll(ring, -k, axis=0)
    if reverse:
        ring = ring[::-1]
    return np.vstack([ring, ring[:1]])


def _variant(poly: shapely.Polygon, rng: np.random.Generator) -> shapely.Polygon:
    """The same polygon written from another start vertex, maybe reversed, holes too."""
    shell = np.asarray(poly.exterior.coords)
    holes = [np.asarray(h.coords) for h in poly.interiors]
    new_shell = _rotate_ring(shell, int(rng.integers(len(shell) - 1)), bool(rng.integers(2)))
    new_holes = [_rotate_ring(h, int(rng.integers(len(h) - 1)), bool(rng.integers(2))) for h in holes][::-1]
    return shapely.Polygon(new_shell, new_holes)


@pytest.fixture(scope="module")
def polygons() -> np.ndarray:
    rng = np.random.default_rng(7)
    out = []
    for i in range(300):
        cx, cy = rng.uniform(0, 1e4, 2)
        n = int(rng.integers(4, 30))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        r = rng.uniform(20, 50, n)
        shell = np.c_[cx + r * np.cos(ang), cy + r * np.sin(ang)]
        holes = []
        if i % 5 == 0:
            a = np.linspace(0, 2 * np.pi, 7)[:-1]
            holes = [np.c_[cx + 5 * np.cos(a), cy + 5 * np.sin(a)]]
        out.append(shapely.Polygon(shell, holes))
    out = np.array(out, dtype=object)
    return out[shapely.is_valid(out)]


def test_vertex_hash_pairing_matches_shapely_equals(polygons):
    rng = np.random.default_rng(1)
    g1 = polygons
    # vintage 2: each polygon rotated and/or reversed; a few moved by 1 mm, one vertex dropped,
    # or swapped with a neighbour; shuffled; plus one multipolygon written in another part order
    g2 = []
    for i, p in enumerate(g1):
        if i % 17 == 0:
            g2.append(shapely.affinity.translate(p, 0.001, 0))
        elif i % 23 == 0 and len(p.exterior.coords) > 5:
            g2.append(shapely.Polygon(np.asarray(p.exterior.coords)[1:], [h.coords for h in p.interiors]))
        else:
            g2.append(_variant(p, rng))
    g2 = np.array(g2, dtype=object)
    perm = rng.permutation(len(g2))
    g2 = g2[perm]
    multi1 = shapely.MultiPolygon([g1[0], g1[1]])
    multi2 = shapely.MultiPolygon([_variant(g1[1], rng), _variant(g1[0], rng)])
    g1 = np.append(g1, multi1)
    g2 = np.append(g2, multi2)
    match = change.match_identical(g1, g2)
    # independent truth: topological equality, and for equal shapes the same vertex set
    truth = np.full(len(g1), -1)
    for i, a in enumerate(g1):
        eq = np.flatnonzero(shapely.equals(a, g2) & (shapely.get_num_coordinates(g2) == shapely.get_num_coordinates(a)))
        if len(eq) == 1:
            truth[i] = eq[0]
    assert (match == truth).all()
    assert (match >= 0).sum() > 0.8 * len(g1)  # most pairs found although every ring was rotated or reversed
    h = kernels.vertex_hash(np.array([g1[5], _variant(g1[5], rng), _variant(g1[5], rng)], dtype=object))
    assert h[0] == h[1] == h[2]


def test_hash_collision_is_checked_exactly():
    """Two different polygons with the same vertex set (a bow-tie order) share a hash: not paired."""
    a = shapely.Polygon([(0, 0), (2, 0), (2, 1), (1, 2), (0, 1)])
    b = shapely.Polygon([(0, 0), (2, 0), (0, 1), (1, 2), (2, 1)])  # same vertices, other order
    h = kernels.vertex_hash(np.array([a, b], dtype=object))
    assert h[0] == h[1]
    assert not shapely.equals(a, b)
    assert (change.match_identical(np.array([a]), np.array([b])) == -1).all()


def test_pair_bins_compiled_equals_bincount():
    rng = np.random.default_rng(3)
    n = 100_000
    a = rng.integers(0, 256, n).astype(np.uint8)
    b = rng.integers(0, 256, n).astype(np.uint8)
    z = rng.integers(0, 4, n).astype(np.uint16)
    w = rng.uniform(90, 110, n)
    c1, s1 = kernels.pair_bins(z, a, b, v=256, n_zones=4, weights=w)
    c2, s2 = kernels.pair_bins(z, a, b, v=256, n_zones=4, weights=w, compiled=False)
    assert (c1 == c2).all() and (s1 == s2).all()  # same sums, bit for bit (same order)
    c3, s3 = kernels.pair_bins(None, a.astype(np.int64) % 7, b.astype(np.int64) % 7, v=7, n_zones=1)
    assert s3 is None and c3.sum() == n
    assert (c3 == np.bincount((a.astype(np.int64) % 7) * 7 + b % 7, minlength=49)).all()


def test_pair_bins_rows_and_zone_row_counts_equal_numpy():
    rng = np.random.default_rng(5)
    h, w = 64, 300
    runs = rng.integers(0, 3, (h, w // 20)).repeat(20, axis=1)  # runs of one bin, as in real rasters
    a = (runs * 40 + rng.integers(0, 2, (h, w))).astype(np.uint8)
    b = a.copy()
    b[rng.random((h, w)) < 0.05] = 7
    z = rng.integers(0, 4, (h, w // 50)).repeat(50, axis=1).astype(np.uint8)
    row_w = rng.uniform(90, 110, h)
    for zone, m in ((z, 4), (None, 1)):
        c1, s1 = kernels.pair_bins_rows(zone, a, b, row_w, v=256, n_zones=m)
        c2, s2 = kernels.pair_bins_rows(zone, a, b, row_w, v=256, n_zones=m, compiled=False)
        c3, s3 = kernels.pair_bins(None if zone is None else zone.ravel(), a.ravel(), b.ravel(), v=256,
                                   n_zones=m, weights=np.repeat(row_w, w))
        assert (c1 == c2).all() and (s1 == s2).all() and (c1 == c3).all() and (s1 == s3).all()
    rows = kernels.zone_row_counts(z, 3)  # label 3 left out
    assert rows.shape == (3, h)
    for j in range(3):
        assert (rows[j] == np.count_nonzero(z == j, axis=1)).all()
    assert kernels.is_uniform(np.full((50, 100), 80, np.uint8))
    c = np.full(10_000, 80, np.uint8)
    c[-1] = 81
    assert not kernels.is_uniform(c) and not kernels.is_uniform(c[::-1].copy())
