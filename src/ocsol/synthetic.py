"""Synthetic full OCS GE vintages laid over real commune boundaries (for samples, tests, benchmarks).

No public full OCS GE vintage can be shipped with ocsol, so this module *generates* one: a
deterministic tessellation of the union of the given communes into Voronoi cells, densified and
gently wiggled to realistic vertex counts, each cell carrying a plausible OCS GE couverture/usage
pair. Later vintages copy the first one and change a few per cent of the polygons: some are only
reclassified (same geometry), some are split in two parts with different classes (new geometry).
Every layer it produces is **synthetic**: the IDs start with ``SYNTH`` and nothing in it
describes real land cover.

Properties the tests rely on:

- the same inputs and ``seed`` give identical layers;
- every vintage tessellates exactly the union of the communes (no gap, no overlap, up to
  floating-point noise far below 1e-6 relative);
- only leaf codes of the OCS GE nomenclature occur;
- about ``change_rate`` of the first vintage's polygons differ in each later vintage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import CRSError, SchemaError

log = logging.getLogger(__name__)

__all__ = ["generate_ocsge", "CLASSES"]

#: Every (couverture, usage) pair the generator can emit, with its weight in rural and urban
#: surroundings, and whether it is forest (used for the forest blobs of the rural landscape).
#: Columns: cs, us, rural weight, urban weight.
CLASSES: tuple[tuple[str, str, float, float], ...] = (
    ("CS2.2.1", "US1.1", 0.50, 0.07),  # arable land, meadows
    ("CS2.1.1.1", "US1.2", 0.14, 0.01),  # broadleaf forest
    ("CS2.1.1.2", "US1.2", 0.04, 0.0),  # conifer forest
    ("CS2.1.1.3", "US1.2", 0.05, 0.0),  # mixed forest
    ("CS2.1.2", "US6.3", 0.03, 0.005),  # shrubland without use
    ("CS2.1.3", "US1.1", 0.03, 0.0),  # vineyards, orchards
    ("CS2.2.1", "US6.3", 0.04, 0.03),  # herbaceous without use
    ("CS1.2.2", "US6.3", 0.015, 0.01),  # water
    ("CS1.2.2", "US1.4", 0.01, 0.0),  # fish ponds
    ("CS1.2.1", "US6.3", 0.005, 0.002),  # bare soil
    ("CS1.1.2.1", "US1.3", 0.003, 0.0),  # quarry
    ("CS1.1.1.1", "US1.1", 0.02, 0.005),  # farm buildings
    ("CS1.1.2.1", "US1.1", 0.005, 0.0),  # farm yards
    ("CS1.1.1.2", "US4.1.1", 0.03, 0.15),  # roads, car parks
    ("CS1.1.2.1", "US4.1.2", 0.002, 0.005),  # railway ballast
    ("CS2.2.1", "US4.1.1", 0.01, 0.03),  # road verges
    ("CS1.1.1.1", "US5", 0.02, 0.20),  # houses
    ("CS1.1.1.1", "US235", 0.003, 0.06),  # built, undifferentiated use
    ("CS1.1.1.1", "US2", 0.002, 0.03),  # industry
    ("CS1.1.1.1", "US3", 0.002, 0.04),  # services
    ("CS1.1.1.1", "US4.3", 0.001, 0.005),  # utilities
    ("CS1.1.1.2", "US5", 0.003, 0.03),  # driveways, yards
    ("CS1.1.1.2", "US3", 0.0, 0.02),  # car parks of services
    ("CS1.1.2.1", "US4.2", 0.0, 0.01),  # storage yards
    ("CS1.1.2.2", "US3", 0.0, 0.01),  # sports grounds
    ("CS2.2.1", "US5", 0.02, 0.15),  # gardens, lawns
    ("CS2.1.1.1", "US5", 0.005, 0.04),  # wooded gardens
    ("CS2.2.1", "US3", 0.0, 0.03),  # lawns of services
    ("CS2.1.1.1", "US3", 0.0, 0.02),  # parks
    ("CS2.2.1", "US6.1", 0.002, 0.01),  # land in transition
    ("CS1.1.2.1", "US6.1", 0.001, 0.01),  # building sites
    ("CS2.2.1", "US6.2", 0.0, 0.005),  # abandoned land
)

_CS = np.array([c[0] for c in CLASSES], dtype=object)
_US = np.array([c[1] for c in CLASSES], dtype=object)
_KEY = {(c[0], c[1]): i for i, c in enumerate(CLASSES)}
_FOREST = np.array([cs.startswith("CS2.1.1") and us == "US1.2" for cs, us, _, _ in CLASSES])

#: What a changed polygon becomes, by group of its former class: (cs, us, weight).
_TRANSITIONS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "farmland": (
        ("CS1.1.1.1", "US5", 0.30),
        ("CS1.1.1.2", "US4.1.1", 0.15),
        ("CS2.2.1", "US5", 0.15),
        ("CS1.1.1.1", "US235", 0.10),
        ("CS1.1.2.1", "US6.1", 0.10),
        ("CS2.2.1", "US6.3", 0.10),
        ("CS2.1.1.1", "US1.2", 0.05),
        ("CS1.1.1.1", "US2", 0.05),
    ),
    "forest": (
        ("CS2.2.1", "US1.1", 0.30),
        ("CS2.1.2", "US6.3", 0.30),
        ("CS1.1.1.1", "US5", 0.20),
        ("CS2.2.1", "US5", 0.20),
    ),
    "built": (
        ("CS2.2.1", "US6.3", 0.40),
        ("CS2.2.1", "US5", 0.30),
        ("CS1.1.1.2", "US4.1.1", 0.30),
    ),
    "sealed": (
        ("CS2.2.1", "US6.3", 0.50),
        ("CS1.1.1.1", "US235", 0.50),
    ),
    "transition": (
        ("CS1.1.1.1", "US5", 0.60),
        ("CS1.1.1.2", "US4.1.1", 0.40),
    ),
    "garden": (
        ("CS1.1.1.1", "US5", 0.60),
        ("CS1.1.1.2", "US5", 0.40),
    ),
    "other": (
        ("CS1.1.1.1", "US5", 0.40),
        ("CS2.2.1", "US1.1", 0.30),
        ("CS2.2.1", "US6.3", 0.30),
    ),
}
#: Relative chance of being changed, by group (farmland near towns changes most in reality).
_CHANGE_WEIGHT = {"farmland": 1.0, "forest": 0.4, "built": 0.3, "sealed": 0.2, "transition": 3.0,
                  "garden": 0.6, "other": 0.6}


def _group(cs: str, us: str) -> str:
    if us == "US6.1":
        return "transition"
    if cs == "CS2.2.1" and us == "US1.1":
        return "farmland"
    if cs.startswith("CS2.1.1"):
        return "forest"
    if cs == "CS1.1.1.1":
        return "built"
    if cs.startswith("CS1.1"):
        return "sealed"
    if cs == "CS2.2.1" and us == "US5":
        return "garden"
    return "other"


_GROUP = np.array([_group(cs, us) for cs, us, _, _ in CLASSES], dtype=object)


def generate_ocsge(
    communes: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    n_polygons: int,
    vintages: Sequence[int] = (2019, 2022),
    change_rate: float = 0.03,
    seed: int = 0,
    vertices: tuple[int, int] = (20, 60),
    urban_share: float = 0.35,
    forest_share: float = 0.3,
    crs: str = "EPSG:2154",
) -> dict[int, gpd.GeoDataFrame]:
    """Generate synthetic full OCS GE vintages tessellating the union of ``communes``.

    Parameters
    ----------
    communes
        Commune polygons (any CRS; reprojected to ``crs``). Only their union is used: the
        synthetic polygons cross commune boundaries, as real OCS GE polygons do.
    n_polygons
        Number of Voronoi cells of the first vintage (the layer has slightly more polygons,
        as cells cut in two by the outline of the territory are split into parts).
    vintages
        Years of the vintages, increasing. The first is the base; each later one copies the
        previous one and changes about ``change_rate`` of its polygons.
    change_rate
        Share of polygons changed between consecutive vintages: half of them reclassified only
        (geometry identical), half split in two parts, one keeping the old class.
    seed
        Seed of the random generator; the same seed gives identical layers.
    vertices
        Rough range of the vertex count per polygon (each Voronoi edge is densified into
        ``vertices / 6`` segments, chosen per edge).
    urban_share
        Share of cells drawn around towns (smaller cells, built classes).
    forest_share
        Share of the rural landscape in forest blobs.
    crs
        Projected CRS of the output (metres).

    Returns
    -------
    dict[int, geopandas.GeoDataFrame]
        One layer per vintage with columns ``ID``, ``code_cs``, ``code_us``, ``millesime``,
        ``geometry``, like an IGN OCS GE "occupation du sol" layer. The data are synthetic.

    Raises
    ------
    CRSError
        If ``communes`` has no CRS.
    SchemaError
        If there are no polygons, fewer than 10 cells are asked, or vintages are not increasing.

    Examples
    --------
    >>> import shapely, geopandas as gpd
    >>> communes = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1000, 1000)], crs="EPSG:2154")
    >>> layers = generate_ocsge(communes, n_polygons=200, seed=1)
    >>> sorted(layers), round(layers[2019].area.sum())
    ([2019, 2022], 1000000)
    """
    vintages = [int(v) for v in vintages]
    if len(vintages) < 1 or any(b <= a for a, b in zip(vintages, vintages[1:], strict=False)):
        raise SchemaError(f"synthetic OCS GE: vintages must be increasing years, got {vintages}")
    if n_polygons < 10:
        raise SchemaError(f"synthetic OCS GE: n_polygons must be at least 10, got {n_polygons}")
    if communes.crs is None:
        raise CRSError("synthetic OCS GE: the communes have no CRS; set one (e.g. EPSG:4326)")
    geoms = communes.to_crs(crs).geometry.values
    geoms = shapely.make_valid(np.asarray(geoms))
    extent = shapely.union_all(geoms)
    extent = shapely.union_all(
        [p for p in shapely.get_parts(extent) if p.geom_type == "Polygon" and p.area > 0]
    )
    if extent.is_empty:
        raise SchemaError("synthetic OCS GE: the communes hold no polygon")
    rng = np.random.default_rng(seed)

    centres = shapely.get_coordinates(shapely.point_on_surface(geoms[~shapely.is_empty(geoms)]))
    points, urban_pt = _draw_points(extent, centres, n_polygons, urban_share, rng)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(points), extend_to=extent, ordered=True)
    )
    cells, owner, clipped = _clip(cells, extent)
    urban = urban_pt[owner]
    cells = _densify(cells, extent, clipped, vertices=vertices, seed=seed)

    cls = _assign_classes(cells, urban, forest_share, rng)
    base = vintages[0]
    ids = np.array([f"SYNTH{base}_{i:08d}" for i in range(len(cells))], dtype=object)
    layers = {base: _frame(ids, cls, cells, base, crs)}
    log.info("synthetic OCS GE %s: %d polygons", base, len(cells))
    for year in vintages[1:]:
        ids, cls, cells = _change(ids, cls, cells, change_rate, year, rng)
        layers[year] = _frame(ids, cls, cells, year, crs)
        log.info("synthetic OCS GE %s: %d polygons", year, len(cells))
    return layers


def _frame(ids: np.ndarray, cls: np.ndarray, cells: np.ndarray, year: int, crs: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "ID": pd.array(ids, dtype="str"),
            "code_cs": pd.array(_CS[cls], dtype="str"),
            "code_us": pd.array(_US[cls], dtype="str"),
            "millesime": np.full(len(ids), year, dtype="int32"),
        },
        geometry=gpd.array.from_shapely(cells, crs=crs),
    )


def _draw_points(
    extent: shapely.Geometry, centres: np.ndarray, n: int, urban_share: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Seed points inside the extent: a uniform rural background plus clusters around towns.

    Every commune gets a town (Gaussian cluster) at a point inside it; town sizes are very
    unequal (log-normal weights), as in reality.
    """
    shapely.prepare(extent)
    x0, y0, x1, y1 = extent.bounds
    n_urban = int(round(n * urban_share))
    n_rural = n - n_urban
    fill = extent.area / ((x1 - x0) * (y1 - y0))

    def inside(xy: np.ndarray) -> np.ndarray:
        return xy[shapely.contains_xy(extent, xy[:, 0], xy[:, 1])]

    rural = np.empty((0, 2))
    while len(rural) < n_rural:
        m = int((n_rural - len(rural)) / fill * 1.1) + 16
        rural = np.vstack([rural, inside(np.column_stack([rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)]))])
    rural = rural[:n_rural]

    weight = rng.lognormal(0.0, 1.2, len(centres))
    weight /= weight.sum()
    radius = 350.0 * np.sqrt(weight * len(centres))  # bigger towns spread wider
    urban = np.empty((0, 2))
    while len(urban) < n_urban:
        m = int((n_urban - len(urban)) * 1.2) + 16
        which = rng.choice(len(centres), m, p=weight)
        xy = centres[which] + rng.normal(0.0, 1.0, (m, 2)) * radius[which, None]
        urban = np.vstack([urban, inside(xy)])
    urban = urban[:n_urban]

    xy = np.vstack([rural, urban])
    is_urban = np.r_[np.zeros(len(rural), bool), np.ones(len(urban), bool)]
    # Voronoi merges coincident points; keep them distinct (deterministically) to keep n cells.
    _, first = np.unique(xy, axis=0, return_index=True)
    first.sort()
    return shapely.points(xy[first]), is_urban[first]


def _clip(cells: np.ndarray, extent: shapely.Geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clip cells to the extent: polygon parts, the cell each came from, whether it was cut."""
    shapely.prepare(extent)
    inside = shapely.contains_properly(extent, cells)
    out = np.flatnonzero(~inside)
    clipped = shapely.intersection(cells[out], extent)
    parts, idx = shapely.get_parts(clipped, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    parts, owner_out = parts[keep], out[idx[keep]]
    inside_idx = np.flatnonzero(inside)
    owner = np.r_[inside_idx, owner_out]
    geoms = np.r_[cells[inside_idx], parts]
    cut = np.r_[np.zeros(len(inside_idx), bool), np.ones(len(parts), bool)]
    order = np.argsort(owner, kind="stable")
    return geoms[order], owner[order], cut[order]


def _mix(*keys: np.ndarray) -> np.ndarray:
    """A splitmix64-style hash of uint64 arrays (deterministic, platform independent)."""
    h = np.full(keys[0].shape, 0x9E3779B97F4A7C15, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in keys:
            h = h ^ k
            h = h + np.uint64(0x9E3779B97F4A7C15)
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            h = h ^ (h >> np.uint64(31))
    return h


def _unit(h: np.ndarray) -> np.ndarray:
    """uint64 hash → float in [0, 1)."""
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _densify(
    polys: np.ndarray, extent: shapely.Geometry, clipped: np.ndarray, *, vertices: tuple[int, int],
    seed: int, amplitude: float = 0.06,
) -> np.ndarray:
    """Densify every edge into k segments and wiggle it, identically for both polygons sharing it.

    Each edge is processed in a canonical direction (lexicographically smaller endpoint first),
    and the number of segments and the wiggle come from a hash of its endpoints: the two cells on
    either side of an edge therefore get exactly the same coordinates, so the tessellation stays
    free of gaps and overlaps. Edges touching the outline of the extent are densified without
    wiggle (the union area is kept); cells that a wiggle would make invalid get straight edges.
    """
    kmin = max(2, int(round(vertices[0] / 6)))
    kmax = max(kmin, int(round(vertices[1] / 6)))
    gtype, coords, (ring_off, poly_off) = shapely.to_ragged_array(polys)
    n = len(coords)
    # Vertices lying on the outline of the extent (only cells cut by the outline have any).
    vpoly = np.repeat(np.arange(len(polys)), np.diff(ring_off[poly_off]))
    cand = np.flatnonzero(clipped[vpoly])
    boundary = shapely.boundary(extent)
    shapely.prepare(boundary)
    scale = max(float(np.abs(coords).max()), 1.0) if n else 1.0
    near = shapely.dwithin(boundary, shapely.points(coords[cand]), scale * 1e-9)
    frozen = _vertex_keys(coords[cand[near]])

    # Segment i goes from coords[i] to coords[i+1], except at the last vertex of each ring.
    is_last = np.zeros(n, bool)
    is_last[ring_off[1:] - 1] = True
    seg = np.flatnonzero(~is_last)
    del is_last
    p, q = coords[seg], coords[seg + 1]
    swap = (p[:, 0] > q[:, 0]) | ((p[:, 0] == q[:, 0]) & (p[:, 1] > q[:, 1]))
    a = np.where(swap[:, None], q, p)
    b = np.where(swap[:, None], p, q)
    del p, q
    ka = _mix(np.ascontiguousarray(a[:, 0]).view(np.uint64), np.ascontiguousarray(a[:, 1]).view(np.uint64))
    kb = _mix(np.ascontiguousarray(b[:, 0]).view(np.uint64), np.ascontiguousarray(b[:, 1]).view(np.uint64))
    h = _mix(ka, kb, np.full(len(seg), np.uint64(seed & 0xFFFFFFFFFFFFFFFF)))
    k = kmin + (h % np.uint64(kmax - kmin + 1)).astype(np.int64)
    s1 = _unit(_mix(h, np.full(len(seg), np.uint64(1)))) * 2 - 1
    s2 = _unit(_mix(h, np.full(len(seg), np.uint64(2)))) * 2 - 1
    del h
    still = _member(ka, frozen) | _member(kb, frozen)
    s1[still] = 0.0
    s2[still] = 0.0

    # Output: for each segment its start vertex then k-1 inserted points; ring ends are kept.
    count = np.ones(n, np.int64)
    count[seg] = k
    new_off = np.r_[0, np.cumsum(count)]
    del count
    out = np.empty((new_off[-1], 2))
    out[new_off[:-1]] = coords
    start = new_off[seg]
    _insert(out, np.arange(len(seg)), a, b, swap, k, s1, s2, start, amplitude)
    new_ring_off = new_off[ring_off]
    del new_off
    polys = shapely.from_ragged_array(gtype, out, (new_ring_off, poly_off))

    seg_poly = vpoly[seg]
    bad = np.flatnonzero(~shapely.is_valid(polys))
    for _ in range(4):
        if len(bad) == 0:
            return polys
        # Straighten every edge touching a vertex of an invalid cell (the same for neighbours).
        vidx = _ranges(ring_off[poly_off[bad]], ring_off[poly_off[bad + 1]])
        frozen = np.union1d(frozen, _vertex_keys(coords[vidx]))
        redo = np.flatnonzero((_member(ka, frozen) | _member(kb, frozen)) & ((s1 != 0) | (s2 != 0)))
        s1[redo] = 0.0
        s2[redo] = 0.0
        _insert(out, redo, a, b, swap, k, s1, s2, start, amplitude)
        touched = np.unique(seg_poly[redo])
        lo, hi = new_ring_off[poly_off[touched]], new_ring_off[poly_off[touched + 1]]
        sub = shapely.from_ragged_array(
            gtype, out[_ranges(lo, hi)],
            (np.r_[0, np.cumsum(np.diff(new_ring_off)[_ranges(poly_off[touched], poly_off[touched + 1])])],
             np.r_[0, np.cumsum(poly_off[touched + 1] - poly_off[touched])]),
        )
        polys[touched] = sub
        bad = touched[~shapely.is_valid(sub)]
    log.warning("synthetic OCS GE: %d cells still invalid after straightening", len(bad))
    return polys


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenation of arange(lo[i], hi[i]) for every i."""
    m = hi - lo
    return np.repeat(lo - np.r_[0, np.cumsum(m)[:-1]], m) + np.arange(m.sum())


def _member(keys: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    if len(sorted_set) == 0:
        return np.zeros(len(keys), bool)
    pos = np.minimum(np.searchsorted(sorted_set, keys), len(sorted_set) - 1)
    return sorted_set[pos] == keys


def _insert(
    out: np.ndarray, which: np.ndarray, a: np.ndarray, b: np.ndarray, swap: np.ndarray,
    k: np.ndarray, s1: np.ndarray, s2: np.ndarray, start: np.ndarray, amplitude: float,
) -> None:
    """Write the k-1 inserted points of the segments ``which`` into ``out`` (canonical a → b)."""
    kw = k[which]
    for K in np.unique(kw):
        if K < 2:
            continue
        w = which[kw == K]
        t = np.arange(1, K) / K  # canonical parameters along a → b
        sin1, sin2 = np.sin(np.pi * t), np.sin(2 * np.pi * t)
        aw, d = a[w], b[w] - a[w]
        off = amplitude * (s1[w, None] * sin1[None, :] + 0.5 * s2[w, None] * sin2[None, :])
        xs = aw[:, 0, None] + d[:, 0, None] * t[None, :] - d[:, 1, None] * off
        ys = aw[:, 1, None] + d[:, 1, None] * t[None, :] + d[:, 0, None] * off
        sw = swap[w]
        xs[sw] = xs[sw, ::-1]
        ys[sw] = ys[sw, ::-1]
        dest = start[w, None] + np.arange(1, K)[None, :]
        out[dest, 0] = xs
        out[dest, 1] = ys


def _vertex_keys(xy: np.ndarray) -> np.ndarray:
    xy = np.asarray(xy, dtype=np.float64)
    return np.unique(_mix(np.ascontiguousarray(xy[:, 0]).view(np.uint64),
                          np.ascontiguousarray(xy[:, 1]).view(np.uint64)))


def _assign_classes(
    cells: np.ndarray, urban: np.ndarray, forest_share: float, rng: np.random.Generator
) -> np.ndarray:
    """Pick a class per cell: urban or rural weights, rural forest in smooth blobs."""
    n = len(cells)
    xy = shapely.get_coordinates(shapely.centroid(cells))
    # A coarse random field, bilinearly interpolated: forest where it is low (~forest_share).
    step = 3000.0
    gx = (xy[:, 0] - xy[:, 0].min()) / step
    gy = (xy[:, 1] - xy[:, 1].min()) / step
    field = rng.uniform(0, 1, (int(gx.max()) + 2, int(gy.max()) + 2))
    ix, iy = np.floor(gx).astype(int), np.floor(gy).astype(int)
    fx, fy = gx - ix, gy - iy
    v = (field[ix, iy] * (1 - fx) * (1 - fy) + field[ix + 1, iy] * fx * (1 - fy)
         + field[ix, iy + 1] * (1 - fx) * fy + field[ix + 1, iy + 1] * fx * fy)
    forest_zone = v < np.quantile(v, forest_share) if n else np.zeros(0, bool)

    rural_w = np.array([c[2] for c in CLASSES])
    urban_w = np.array([c[3] for c in CLASSES])
    woods_w = np.where(_FOREST, rural_w * 6.0, rural_w * 0.3)
    cls = np.empty(n, np.int64)
    u = rng.uniform(0, 1, n)
    for mask, w in ((urban, urban_w), (~urban & ~forest_zone, rural_w * np.where(_FOREST, 0.35, 1.0)),
                    (~urban & forest_zone, woods_w)):
        cdf = np.cumsum(w / w.sum())
        cls[mask] = np.minimum(np.searchsorted(cdf, u[mask], side="right"), len(CLASSES) - 1)
    return cls


def _change(
    ids: np.ndarray, cls: np.ndarray, cells: np.ndarray, rate: float, year: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Copy a vintage and change about ``rate`` of its polygons (reclassify or split)."""
    n = len(cells)
    n_change = min(n, int(round(rate * n)))
    weight = np.array([_CHANGE_WEIGHT[_GROUP[c]] for c in range(len(CLASSES))])[cls]
    # Weighted sampling without replacement (Efraimidis–Spirakis keys), deterministic.
    keys = np.log(rng.uniform(1e-300, 1.0, n)) / weight
    chosen = np.sort(np.argpartition(-keys, n_change - 1)[:n_change]) if n_change else np.array([], int)
    target = _targets(cls[chosen], rng)
    split = rng.uniform(0, 1, len(chosen)) < 0.5

    new_cls = cls.copy()
    reclass = chosen[~split]
    new_cls[reclass] = target[~split]

    to_split = chosen[split]
    geoms = cells[to_split]
    # A cutting half-plane through an interior point, at a random angle.
    c = shapely.get_coordinates(shapely.point_on_surface(geoms))
    ang = rng.uniform(0, np.pi, len(to_split))
    ux, uy = np.cos(ang), np.sin(ang)
    big = 1e6
    corners = np.stack(
        [
            c + big * np.column_stack([ux, uy]),
            c + big * np.column_stack([ux - uy, uy + ux]),
            c + big * np.column_stack([-ux - uy, -uy + ux]),
            c - big * np.column_stack([ux, uy]),
            c + big * np.column_stack([ux, uy]),
        ],
        axis=1,
    )
    half = shapely.polygons(corners)
    part_a = shapely.intersection(geoms, half)
    part_b = shapely.difference(geoms, half)
    ok = (shapely.area(part_a) > 0) & (shapely.area(part_b) > 0)
    # Degenerate cuts (should not happen): reclassify instead.
    new_cls[to_split[~ok]] = target[split][~ok]
    to_split, part_a, part_b, t_split = to_split[ok], part_a[ok], part_b[ok], target[split][ok]

    keep = np.ones(n, bool)
    keep[to_split] = False
    pa, ia = shapely.get_parts(part_a, return_index=True)
    pb, ib = shapely.get_parts(part_b, return_index=True)
    pa_ok = shapely.get_type_id(pa) == 3
    pb_ok = shapely.get_type_id(pb) == 3
    pa, ia, pb, ib = pa[pa_ok], ia[pa_ok], pb[pb_ok], ib[pb_ok]
    new_geoms = np.r_[pa, pb]
    new_cls_parts = np.r_[cls[to_split][ia], t_split[ib]]
    start = n  # new IDs continue after the last one of the base vintage numbering
    new_ids = np.array([f"SYNTH{year}_{start + i:08d}" for i in range(len(new_geoms))], dtype=object)
    return (
        np.r_[ids[keep], new_ids],
        np.r_[new_cls[keep], new_cls_parts],
        np.r_[cells[keep], new_geoms],
    )


def _targets(src: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw the new class of each changed polygon from the transitions of its group."""
    out = np.empty(len(src), np.int64)
    u = rng.uniform(0, 1, len(src))
    groups = _GROUP[src]
    for g, table in _TRANSITIONS.items():
        mask = groups == g
        if not mask.any():
            continue
        idx = np.array([_KEY[(cs, us)] for cs, us, _ in table])
        w = np.array([t[2] for t in table])
        cdf = np.cumsum(w / w.sum())
        pick = idx[np.minimum(np.searchsorted(cdf, u[mask], side="right"), len(idx) - 1)]
        # Never "change" into the same class: fall back to the next one in the table.
        same = pick == src[mask]
        pos = np.argmax(idx[None, :] == pick[same][:, None], axis=1)
        pick[same] = idx[(pos + 1) % len(idx)]
        out[mask] = pick
    return out
