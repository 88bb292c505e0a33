"""The area-only clipping kernel (``kernels.clip_area``) against ``shapely.intersection(...).area``.

Generated polygons (holes, several parts, both ring orientations, at Lambert-93-like
coordinates) are clipped by generated pieces (holes, densified edges): every pair the kernel
answers must equal GEOS at 1e-9 of the polygon's area. Degenerate pairs (shared edges, a vertex
on an edge, collinear overlaps, an enclave filling a hole, identical polygons) must be left to
GEOS, and non-degenerate special cases (a piece inside the polygon, a polygon in a hole, a thin
sliver) must be answered right.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from ocsol import kernels

pytestmark = pytest.mark.slow  # compiled kernel against GEOS on 3 000 generated pairs

X0, Y0 = 651_000.0, 6_862_000.0  # Lambert 93: large coordinates, where rounding shows


def _blob(rng: np.random.Generator, cx: float, cy: float, holes: bool) -> shapely.Geometry:
    n = int(rng.integers(5, 40))
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = rng.uniform(5, 30, n)
    p = shapely.Polygon(np.c_[cx + r * np.cos(ang), cy + r * np.sin(ang)])
    if holes and p.is_valid:
        p = p.difference(shapely.Point(cx, cy).buffer(3))
    return p


def _pairs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = [], []
    for k in range(n):
        cx, cy = X0 + rng.uniform(0, 100), Y0 + rng.uniform(0, 100)
        p = _blob(rng, cx, cy, holes=k % 3 == 0)
        if k % 5 == 0:
            p = shapely.reverse(p)  # clockwise shell, counter-clockwise holes
        if k % 7 == 0:  # two parts
            p = shapely.MultiPolygon([p, shapely.box(cx + 40, cy + 40, cx + 50, cy + 55)]) if p.geom_type == "Polygon" else p
        x0, y0 = X0 + rng.uniform(-20, 60), Y0 + rng.uniform(-20, 60)
        q = shapely.box(x0, y0, x0 + rng.uniform(20, 90), y0 + rng.uniform(20, 90)).segmentize(7)
        if k % 2:
            q = q.difference(shapely.Point(shapely.centroid(q)).buffer(rng.uniform(2, 12)))
        a.append(p)
        b.append(q)
    ga, gb = np.array(a, dtype=object), np.array(b, dtype=object)
    ok = shapely.is_valid(ga) & shapely.is_valid(gb) & ~shapely.is_empty(ga) & ~shapely.is_empty(gb)
    return ga[ok], gb[ok]


def _clip(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(len(a))
    area, state = kernels.clip_area(kernels.polygon_rings(a), i, kernels.polygon_rings(b), i)
    return np.where(state == kernels.CLIP_INSIDE, shapely.area(a), area), state


def test_clip_area_equals_geos_on_generated_polygons():
    a, b = _pairs(np.random.default_rng(7), 3000)
    area, state = _clip(a, b)
    ref = shapely.area(shapely.intersection(a, b))
    counts = np.bincount(state, minlength=4)
    assert counts[kernels.CLIP_CROSSING] > 1000 and counts[kernels.CLIP_INSIDE] > 20
    assert counts[kernels.CLIP_DISJOINT] > 100
    assert counts[kernels.CLIP_UNDECIDED] < 0.01 * len(a)  # generic positions: nearly all answered
    done = state != kernels.CLIP_UNDECIDED
    err = np.abs(area[done] - ref[done]) / shapely.area(a[done])
    assert err.max() <= 1e-9
    assert (ref[state == kernels.CLIP_DISJOINT] == 0).all()


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Geometry:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


DEGENERATE = {
    "shared edge": (_box(0, 0, 10, 10), _box(10, 0, 20, 10)),
    "vertex on an edge": (shapely.Polygon([(X0 + 5, Y0 + 10), (X0 + 8, Y0 + 20), (X0 + 2, Y0 + 20)]), _box(0, 0, 10, 10)),
    "collinear overlap": (_box(0, 0, 20, 10), _box(10, 0, 30, 20)),
    "enclave filling a hole": (_box(3, 3, 6, 6), _box(0, 0, 10, 10).difference(_box(3, 3, 6, 6))),
    "identical": (_box(0, 0, 10, 10).segmentize(3), _box(0, 0, 10, 10).segmentize(3)),
    "inside, touching the border": (_box(0, 2, 5, 5), _box(0, 0, 10, 10)),
    "vertex 1e-10 off an edge (rounds onto it at these coordinates)": (
        shapely.Polygon([(X0 + 5, Y0 + 10 - 1e-10), (X0 + 8, Y0 + 20), (X0 + 2, Y0 + 20)]), _box(0, 0, 10, 10)),
}


@pytest.mark.parametrize("case", list(DEGENERATE))
def test_degenerate_pairs_are_left_to_geos(case):
    a, b = DEGENERATE[case]
    _, state = _clip(np.array([a, b], dtype=object), np.array([b, a], dtype=object))
    assert (state == kernels.CLIP_UNDECIDED).all(), case


SPECIAL = {
    "piece inside the polygon": (_box(0, 0, 30, 30), _box(10, 10, 20, 20).segmentize(2), kernels.CLIP_CROSSING),
    "polygon in a piece's hole": (_box(4, 4, 5, 5), _box(0, 0, 10, 10).difference(_box(3, 3, 6, 6)),
                                  kernels.CLIP_DISJOINT),
    "polygon in the interior": (_box(1, 1, 2, 2), _box(0, 0, 10, 10), kernels.CLIP_INSIDE),
    "vertex 2e-8 inside an edge (about 20 units in the last place)": (
        shapely.Polygon([(X0 + 5, Y0 + 10 - 2e-8), (X0 + 8, Y0 + 20), (X0 + 2, Y0 + 20)]), _box(0, 0, 10, 10),
        kernels.CLIP_CROSSING),
    "thin sliver across": (_box(-5, 9.9999999, 15, 10.0000003), _box(0, 0, 10, 10), kernels.CLIP_CROSSING),
    "hole straddling the border": (_box(0, 0, 20, 20).difference(_box(5, 5, 15, 15)), _box(10.5, -5, 30, 30),
                                   kernels.CLIP_CROSSING),
}


@pytest.mark.parametrize("case", list(SPECIAL))
def test_special_pairs_are_answered_right(case):
    a, b, expected = SPECIAL[case]
    area, state = _clip(np.array([a], dtype=object), np.array([b], dtype=object))
    assert state[0] == expected
    ref = shapely.intersection(a, b).area
    assert abs(area[0] - ref) <= 1e-9 * a.area


def _zigzag(amplitude: float) -> tuple[shapely.Geometry, shapely.Geometry]:
    """A piece with a 2 km edge, and a polygon whose side runs along that edge, crossing it
    back and forth ``amplitude`` metres away (as a polygon cut along a border by another tool)."""
    c, d = np.array([X0, Y0]), np.array([X0 + 2000.0, Y0 + 500.0])
    piece = shapely.Polygon([c, d, d + [-500, 2000], c + [-500, 2000]])
    along = (d - c) / np.linalg.norm(d - c)
    normal = np.array([-along[1], along[0]])  # into the piece
    t = np.linspace(900, 1000, 12)
    side = c + t[:, None] * along + (amplitude * (-1.0) ** np.arange(12))[:, None] * normal
    poly = shapely.Polygon(np.r_[side, [side[-1] + 60 * normal, side[0] + 60 * normal]])
    return poly, piece


@pytest.mark.parametrize("amplitude", [1e-7, 1e-6, 1e-4])
def test_polygon_zigzagging_along_a_long_edge(amplitude):
    # The crossing points are badly conditioned along the long edge: each is computed once and
    # shared by both edges, so the pieces of boundary close up and the area stays exact.
    poly, piece = _zigzag(amplitude)
    assert poly.is_valid
    area, state = _clip(np.array([poly], dtype=object), np.array([piece], dtype=object))
    assert state[0] == kernels.CLIP_CROSSING
    assert abs(area[0] - shapely.intersection(poly, piece).area) <= 1e-9 * poly.area


def test_results_do_not_depend_on_the_split_of_pairs():
    a, b = _pairs(np.random.default_rng(3), 400)
    whole, _ = _clip(a, b)
    halves = np.concatenate([_clip(a[:150], b[:150])[0], _clip(a[150:], b[150:])[0]])
    assert whole.tobytes() == halves.tobytes()


def test_unsigned_rings_are_refused() -> None:
    # Rings read for the hash carry no signs: the hole would count as a shell (46 m² would read 54).
    square = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(6, 2), (8, 2), (8, 4), (6, 4)]])
    right = shapely.box(5, -1, 11, 11)
    b = kernels.polygon_rings(np.array([right]))
    unsigned = kernels.polygon_rings(np.array([square]), signs=False)
    with pytest.raises(ValueError, match="ring signs"):
        kernels.clip_area(unsigned, np.array([0]), b, np.array([0]))
    area, _ = kernels.clip_area(kernels.polygon_rings(np.array([square])), np.array([0]), b, np.array([0]))
    assert area[0] == pytest.approx(shapely.intersection(square, right).area) == 46.0
