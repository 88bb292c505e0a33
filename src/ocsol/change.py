"""Overlay engine: split OCS GE polygons by commune, and compare two vintages.

Everything here works on arrays of shapely 2 geometries and returns the commune-level "pieces"
tables of ``docs/ARCHITECTURE.md``. Three ideas keep it exact and fast:

1. **Communes are subdivided** into pieces of at most ``max_vertices`` vertices, so that
   intersecting a small polygon with its commune costs little. Pieces of one commune are
   disjoint, so summing over pieces gives the commune's area exactly.
2. **Polygons lying wholly inside a piece are not intersected**: their own area is their part.
   Only polygons crossing a commune boundary are cut.
3. **Two vintages share most polygons**: a polygon whose geometry is identical in both vintages
   (same area, length, bounds and vertex count, then ``equals_exact``) is a transition on its
   own and reuses its twin's commune parts; only the remaining polygons are cut by the
   communes and overlaid with each other: by the area kernel where only the area of old ∩ new
   is used and one of the two lies in one commune piece, else by GEOS ``intersection``.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from .cluster import n_threads, thread_map
from .io.batches import VintageBatch, WkbColumn, layer_batches
from .io.vector import repair_array

if TYPE_CHECKING:
    from .kernels import Rings

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

STOCK_COLUMNS = ["code", "vintage", "cs", "us", "area_m2"]
TRANSITION_COLUMNS = ["code", "vintage_from", "vintage_to", "cs_from", "us_from", "cs_to", "us_to", "area_m2"]


@dataclass
class Zones:
    """Communes subdivided into small pieces, with spatial indexes on the pieces and on their
    edges (cut into short chunks, so that a chunk's bounding box hugs the boundary)."""

    codes: np.ndarray  # commune codes (str), one per commune
    pieces: np.ndarray  # geometries
    owner: np.ndarray  # commune index of each piece
    edges: np.ndarray | None = None  # boundary chunks of the pieces (LineStrings)

    @classmethod
    def from_communes(cls, communes: gpd.GeoDataFrame, *, max_vertices: int = 256) -> Zones:
        geoms = np.asarray(communes.geometry.values)
        pieces, owner = subdivide(geoms, max_vertices=max_vertices)
        shapely.prepare(pieces)
        edges = edge_chunks(pieces)
        shapely.prepare(edges)
        return cls(codes=communes["code"].astype(str).to_numpy(), pieces=pieces, owner=owner, edges=edges)

    def thread_pieces(self) -> np.ndarray:
        """The pieces, prepared, for the calling thread: GEOS builds a prepared geometry's
        indexes lazily, so two threads must not share one."""
        local = self.__dict__.setdefault("_local", threading.local())
        if threading.current_thread() is threading.main_thread():
            return self.pieces
        pieces = getattr(local, "pieces", None)
        if pieces is None:
            pieces = shapely.from_wkb(shapely.to_wkb(self.pieces))
            shapely.prepare(pieces)
            local.pieces = pieces
        return cast(np.ndarray, pieces)

    @functools.cached_property
    def piece_tree(self) -> STRtree:
        return STRtree(self.pieces)

    @functools.cached_property
    def edge_tree(self) -> STRtree:
        return STRtree(self.edges if self.edges is not None else edge_chunks(self.pieces))

    @functools.cached_property
    def piece_vertices(self) -> np.ndarray:
        counts: np.ndarray = shapely.get_num_coordinates(self.pieces)
        return counts

    @functools.cached_property
    def piece_rings(self) -> Rings | None:
        """The pieces as flat coordinate arrays (:class:`ocsol.kernels.Rings`) for the area
        kernel, or None without numba."""
        # start-up: numba (≈ 0.5 s), compiled on first use
        from .kernels import HAS_NUMBA, polygon_rings

        return polygon_rings(self.pieces) if HAS_NUMBA else None

    @functools.cached_property
    def tiling(self) -> tuple[np.ndarray, STRtree]:
        """Where the pieces provably tile the plane, for :func:`_split_near`'s subtraction.

        Returns ``(clean, loose)``: ``clean[k]`` is True when no other piece's interior meets
        piece ``k``'s (GEOS ``overlaps``/``contains`` are False for every pair: an exact test);
        ``loose`` indexes the boundary segments of the pieces that are not shared, reversed,
        with exactly one other piece (the outer boundary of the communes, gaps, and borders
        whose vertices do not match). Inside a box that meets no loose segment and no piece
        that is not clean, every point lies in exactly one piece or in none.
        """
        a, b = self.piece_tree.query(self.pieces, predicate="overlaps")
        c, d = self.piece_tree.query(self.pieces, predicate="contains")
        clean = np.ones(len(self.pieces), dtype=bool)
        clean[np.concatenate([a, b, c[c != d], d[c != d]])] = False
        # segments of the pieces, every shell turned one way and every hole the other
        seg = shapely.get_coordinates(edge_chunks(shapely.orient_polygons(self.pieces))).reshape(-1, 4)
        seg = seg[(seg[:, 0] != seg[:, 2]) | (seg[:, 1] != seg[:, 3])]  # zero-length: no boundary
        fwd = np.ascontiguousarray(seg).view("V32").ravel()
        rev = np.ascontiguousarray(seg[:, [2, 3, 0, 1]]).view("V32").ravel()
        keys, counts = np.unique(fwd, return_counts=True)
        at = np.minimum(np.searchsorted(keys, rev), len(keys) - 1)
        twin = (keys[at] == rev) & (counts[at] == 1) & (counts[np.searchsorted(keys, fwd)] == 1)
        loose = seg[~twin]
        return clean, STRtree(shapely.linestrings(loose.reshape(-1, 2, 2)))


def edge_chunks(polygons: np.ndarray, *, max_segments: int = 1) -> np.ndarray:
    """The boundaries of polygons as LineStrings of at most ``max_segments`` segments.

    >>> e = edge_chunks(np.array([shapely.box(0, 0, 10, 10).segmentize(1)]), max_segments=8)
    >>> len(e), round(float(shapely.length(e).sum()), 9)
    (5, 40.0)
    """
    rings = shapely.get_rings(shapely.get_parts(np.asarray(polygons, dtype=object)))
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    if len(coords) == 0:
        return np.array([], dtype=object)
    starts = np.flatnonzero(np.r_[True, ring_of[1:] != ring_of[:-1]])
    ends = np.r_[starts[1:], len(coords)]  # one past the closing vertex
    chunk_lo, chunk_hi = [], []
    for lo, hi in zip(starts, ends, strict=True):
        first = np.arange(lo, hi - 1, max_segments)
        chunk_lo.append(first)
        chunk_hi.append(np.minimum(first + max_segments, hi - 1))
    los = np.concatenate(chunk_lo)
    his = np.concatenate(chunk_hi)
    sizes = his - los + 1
    idx = np.repeat(los, sizes) + (np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes))
    return cast(np.ndarray, shapely.linestrings(coords[idx], indices=np.repeat(np.arange(len(los)), sizes)))


def subdivide(geoms: np.ndarray, *, max_vertices: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygons into pieces of at most ``max_vertices`` vertices (halving their bounding box).

    Returns the pieces and, for each, the index of the polygon it came from. The pieces of one
    polygon are disjoint and their union is the polygon.

    >>> sq = shapely.box(0, 0, 10, 10).segmentize(1)
    >>> pieces, owner = subdivide(np.array([sq]), max_vertices=16)
    >>> round(float(shapely.area(pieces).sum()), 9), bool((owner == 0).all()), len(pieces) > 1
    (100.0, True, True)
    """
    out_geoms: list[np.ndarray] = []
    out_owner: list[np.ndarray] = []
    todo_g = np.asarray(geoms, dtype=object)
    todo_o = np.arange(len(todo_g))
    for _ in range(32):
        if len(todo_g) == 0:
            break
        n = shapely.get_num_coordinates(todo_g)
        small = n <= max_vertices
        out_geoms.append(todo_g[small])
        out_owner.append(todo_o[small])
        big_g, big_o = todo_g[~small], todo_o[~small]
        if len(big_g) == 0:
            break
        b = shapely.bounds(big_g)
        wide = (b[:, 2] - b[:, 0]) >= (b[:, 3] - b[:, 1])
        mid_x = (b[:, 0] + b[:, 2]) / 2
        mid_y = (b[:, 1] + b[:, 3]) / 2
        box_a = np.where(
            wide,
            shapely.box(b[:, 0], b[:, 1], mid_x, b[:, 3]),
            shapely.box(b[:, 0], b[:, 1], b[:, 2], mid_y),
        )
        box_b = np.where(
            wide,
            shapely.box(mid_x, b[:, 1], b[:, 2], b[:, 3]),
            shapely.box(b[:, 0], mid_y, b[:, 2], b[:, 3]),
        )
        halves = np.concatenate([shapely.intersection(big_g, box_a), shapely.intersection(big_g, box_b)])
        owners = np.concatenate([big_o, big_o])
        halves = _polygonal(halves)
        keep = ~shapely.is_empty(halves) & (shapely.area(halves) > 0)
        todo_g, todo_o = halves[keep], owners[keep]
    pieces = np.concatenate(out_geoms) if out_geoms else np.array([], dtype=object)
    owner = np.concatenate(out_owner) if out_owner else np.array([], dtype=int)
    return pieces, owner


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal part of intersection results (drop stray lines and points)."""
    geoms = np.asarray(geoms, dtype=object)
    kinds = shapely.get_type_id(geoms)
    mixed = kinds == 7  # GeometryCollection
    if mixed.any():
        fixed = []
        for g in geoms[mixed]:
            polys = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
            fixed.append(shapely.union_all(polys) if polys else shapely.Polygon())
        geoms = geoms.copy()
        geoms[mixed] = np.array(fixed, dtype=object)
    return geoms


@dataclass
class Parts:
    """The parts of polygons inside communes: polygon index, commune index, area (m²)."""

    poly: np.ndarray
    commune: np.ndarray
    area: np.ndarray
    cut: np.ndarray  # True where the polygon crosses a piece boundary (the part is an intersection);
    # False: the polygon lies in the piece (in its interior, or touching its boundary from inside)
    piece: np.ndarray  # index of the commune piece holding the part


def split_by_commune(geoms: np.ndarray, zones: Zones, *, areas: np.ndarray | None = None,
                     threads: int | None = None, rings: Rings | None = None) -> Parts:
    """Split polygons by the communes: the area of every (polygon, commune) part.

    A polygon whose bounding box meets no commune edge lies inside one commune piece (or
    outside all): it is placed by one point (its bounding box centre) and keeps its own area.
    The others are tested against the pieces their box meets: inside one piece, their own
    area; across an edge, the area of the intersection. Parts of area 0 (polygons only touching
    a commune) are dropped; area outside every commune is not counted. Runs on ``threads``
    threads (default: one per CPU; shapely releases the GIL); parts come in polygon order.
    ``rings`` are the :func:`ocsol.kernels.polygon_rings` of ``geoms`` when the caller already
    has them (else they are read for the polygons near an edge only).
    """
    geoms = np.asarray(geoms, dtype=object)
    if areas is None:
        areas = shapely.area(geoms)
    if len(geoms) == 0:
        empty = np.array([], dtype=np.int64)
        return Parts(empty, empty, np.array([], dtype=float), np.array([], dtype=bool), empty)
    _ = zones.tiling, zones.piece_rings  # built once, before the threads share them
    # contiguous slices of polygons on threads: every step releases the GIL (shapely, numba),
    # and the parts of a polygon do not depend on the slice it is in
    chunks = [c for c in np.array_split(np.arange(len(geoms)), n_threads(threads, len(geoms), min_per_thread=5000))
              if len(c)]
    results = thread_map(lambda idx: _split_slice(geoms, idx, areas, zones, rings), chunks)
    poly, piece, area, cut = (np.concatenate([r[k] for r in results]) for k in range(4))
    keep = area > 0
    order = np.lexsort((piece[keep], poly[keep]))  # polygon order: sums independent of the batching
    poly, piece, area, cut = poly[keep][order], piece[keep][order], area[keep][order], cut[keep][order]
    return Parts(poly=poly, commune=zones.owner[piece], area=area, cut=cut, piece=piece)


def _split_slice(geoms: np.ndarray, idx: np.ndarray, areas: np.ndarray, zones: Zones,
                 rings: Rings | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`split_by_commune` of the polygons ``idx``: (polygon, piece, area, cut), unsorted."""
    sub = geoms[idx]
    bounds = shapely.bounds(sub)
    # polygons whose box meets an edge chunk's box: the only ones that may cross a boundary
    _, hit_idx = STRtree(sub).query(zones.edges if zones.edges is not None else edge_chunks(zones.pieces))
    near = np.zeros(len(sub), dtype=bool)
    near[hit_idx] = True
    clear = np.flatnonzero(~near)
    # the pieces whose box meets the polygon's box, then the one holding its box centre
    c_local, c_piece = zones.piece_tree.query(sub[clear])
    cx = (bounds[clear[c_local], 0] + bounds[clear[c_local], 2]) / 2
    cy = (bounds[clear[c_local], 1] + bounds[clear[c_local], 3]) / 2
    held = shapely.contains_xy(zones.thread_pieces()[c_piece], cx, cy)
    c_pt, c_piece = idx[clear[c_local[held]]], c_piece[held]
    near_poly, near_piece, near_area, near_cut = _split_near(geoms, idx[near], areas, zones, rings)
    return (np.concatenate([c_pt, near_poly]), np.concatenate([c_piece, near_piece]),
            np.concatenate([areas[c_pt], near_area]), np.concatenate([np.zeros(len(c_pt), dtype=bool), near_cut]))


def _split_near(geoms: np.ndarray, idx: np.ndarray, areas: np.ndarray, zones: Zones,
                rings: Rings | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parts of the polygons ``idx`` near an edge: (polygon, piece, area, cut).

    Each polygon is tested against the pieces its box meets by :func:`ocsol.kernels.clip_area`
    (the area of the intersection from the edges of both, no geometry built; vertices and edges
    in common with the piece are handled: ``touching``). A pair the kernel leaves undecided (a
    vertex on a piece's edge, edges partly along a border, a part smaller than 1e-9 of the
    polygon: possibly a mere touch) sends its polygon wholly the GEOS way
    (:func:`_split_geos`), so that a polygon's parts never mix the two. (Deriving a lone
    undecided part by subtraction was tried: in a tiling, a degenerate contact with one piece is
    one with its neighbour too, so it almost never applied.)
    """
    sub = geoms[idx]
    poly_local, piece_idx = zones.piece_tree.query(sub)
    own_rings, pieces = rings, zones.piece_rings
    if pieces is None or len(poly_local) == 0:
        return _split_geos(geoms, idx, poly_local, piece_idx, areas, zones)
    # start-up: numba (≈ 0.5 s), compiled on first use
    from .kernels import CLIP_CROSSING, CLIP_INSIDE, CLIP_UNDECIDED, clip_area, polygon_rings

    if own_rings is None:
        k_area, state = clip_area(polygon_rings(sub), poly_local, pieces, piece_idx, touching=True)
    else:  # the caller's rings of all of geoms: no coordinates read again
        k_area, state = clip_area(own_rings, idx[poly_local], pieces, piece_idx, touching=True)
    own = areas[idx[poly_local]]
    odd = (state == CLIP_CROSSING) & ((k_area < 1e-9 * own) | (k_area > own * (1 + 1e-9)))
    state[odd] = CLIP_UNDECIDED
    geos = np.zeros(len(idx), dtype=bool)
    geos[poly_local[state == CLIP_UNDECIDED]] = True
    g = geos[poly_local]
    out = _split_geos(geoms, idx, poly_local[g], piece_idx[g], areas, zones)
    mine = ~g & ((state == CLIP_INSIDE) | (state == CLIP_CROSSING))
    cross = state[mine] == CLIP_CROSSING
    poly = idx[poly_local[mine]]
    area = np.where(cross, k_area[mine], areas[poly])
    return (np.concatenate([poly, out[0]]), np.concatenate([piece_idx[mine], out[1]]),
            np.concatenate([area, out[2]]), np.concatenate([cross, out[3]]))


def _split_geos(geoms: np.ndarray, idx: np.ndarray, poly_local: np.ndarray, piece_idx: np.ndarray,
                areas: np.ndarray, zones: Zones) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_split_near` by GEOS for the (polygon ``idx[poly_local]``, piece) box pairs given:
    exact predicates, then intersections (one part per polygon by subtraction where the pieces
    provably tile, :func:`_derivable`)."""
    sub = geoms[idx]
    pieces = zones.thread_pieces()
    # the predicates on the prepared pieces (cheaper than preparing each polygon)
    inside = shapely.contains_properly(pieces[piece_idx], sub[poly_local])
    hit = inside.copy()
    hit[~inside] = shapely.intersects(pieces[piece_idx[~inside]], sub[poly_local[~inside]])
    poly_idx, piece_idx, inside = idx[poly_local[hit]], piece_idx[hit], inside[hit]
    part_area = np.empty(len(poly_idx), dtype=float)
    part_area[inside] = areas[poly_idx[inside]]
    cross = ~inside
    if cross.any():
        direct = np.flatnonzero(cross)
        derived = _derivable(geoms, poly_idx, piece_idx, direct, zones)
        direct = direct[~np.isin(direct, derived)]
        part_area[direct] = shapely.area(shapely.intersection(geoms[poly_idx[direct]], pieces[piece_idx[direct]]))
        if len(derived):
            # the polygon's area less its other parts (all cut directly, each polygon once)
            rest = areas[poly_idx[derived]].copy()
            pos = np.searchsorted(poly_idx[derived], poly_idx[direct])
            mine = (pos < len(derived)) & (poly_idx[derived][np.minimum(pos, len(derived) - 1)] == poly_idx[direct])
            np.subtract.at(rest, pos[mine], part_area[direct[mine]])
            # a part tiny against its polygon may be a mere touch (GEOS: area 0): cut it directly
            tiny = rest < 1e-9 * areas[poly_idx[derived]]
            if tiny.any():
                t = derived[tiny]
                rest[tiny] = shapely.area(shapely.intersection(geoms[poly_idx[t]], pieces[piece_idx[t]]))
            part_area[derived] = rest
    return poly_idx, piece_idx, part_area, cross


def _derivable(geoms: np.ndarray, poly_idx: np.ndarray, piece_idx: np.ndarray, cross: np.ndarray,
               zones: Zones) -> np.ndarray:
    """Crossing parts whose area is the polygon's area less its other parts: one per polygon.

    A polygon qualifies when its bounding box meets no loose boundary segment and all the
    pieces it meets are clean (:attr:`Zones.tiling`): then almost every point of it lies in
    exactly one of those pieces, so its area is exactly the sum of its parts, and one
    intersection (the one with the piece of most vertices, the costliest) can be skipped.
    Only the last bits of the floating-point result change. Returns sorted positions into
    ``poly_idx``, at most one per polygon, sorted by polygon.
    """
    clean, loose_tree = zones.tiling
    p = poly_idx[cross]
    order = np.lexsort((piece_idx[cross], zones.piece_vertices[piece_idx[cross]], p))
    cross, p = cross[order], p[order]
    start = np.r_[True, p[1:] != p[:-1]]
    group = np.cumsum(start) - 1
    n_parts = np.bincount(group)
    dirty = np.bincount(group, weights=~clean[piece_idx[cross]]) > 0
    last = np.r_[p[1:] != p[:-1], True]
    cand = last & (n_parts[group] >= 2) & ~dirty[group]
    if not cand.any():
        return np.zeros(0, dtype=np.int64)
    hit, _ = loose_tree.query(geoms[p[cand]])  # box against segment boxes: exact
    ok = np.ones(int(cand.sum()), dtype=bool)
    ok[hit] = False
    out: np.ndarray = cross[cand][ok]
    return out[np.argsort(poly_idx[out], kind="stable")]


def _lone_piece(parts: Parts, n: int) -> np.ndarray:
    """For each of ``n`` polygons, the commune piece holding it wholly, or -1.

    That is the piece of its only part when that part is not cut (the polygon lies in the
    piece: placed by one point, or found inside by the kernel or GEOS). Anything
    inside such a polygon lies in that piece alone, so its area needs no cutting."""
    count = np.bincount(parts.poly, minlength=n)
    lone = (count[parts.poly] == 1) & ~parts.cut
    out = np.full(n, -1, dtype=np.int64)
    out[parts.poly[lone]] = parts.piece[lone]
    return out


def _overlap_areas(g1: np.ndarray, i: np.ndarray, g2: np.ndarray, j: np.ndarray, area1: np.ndarray,
                   area2: np.ndarray, threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Area of ``g1[i[k]] ∩ g2[j[k]]`` by :func:`ocsol.kernels.clip_area`, and whether it is
    decided (else the caller asks GEOS). ``area1``, ``area2``: the two polygons' own areas.

    Same contract as for the commune pieces (:func:`_split_near`): a pair the kernel leaves
    undecided, or whose area is below 1e-9 of the smaller polygon (possibly a mere touch, which
    GEOS gives as 0) or above it, is not decided. The old polygon inside the new one (their
    boundaries may touch) has its own area. Vertices and edges common to both are handled
    (``touching``). Each pair is computed on its own: the result does not depend on the threads."""
    area = np.zeros(len(i), dtype=float)
    ok = np.zeros(len(i), dtype=bool)
    if len(i) == 0:
        return area, ok
    # start-up: numba (≈ 0.5 s), compiled on first use
    from .kernels import (
        CLIP_CROSSING,
        CLIP_DISJOINT,
        CLIP_INSIDE,
        HAS_NUMBA,
        clip_area,
        polygon_rings,
    )

    if not HAS_NUMBA:  # pragma: no cover - without numba GEOS does all
        return area, ok
    r1, r2 = polygon_rings(g1), polygon_rings(g2)
    chunks = [c for c in np.array_split(np.arange(len(i)), n_threads(threads, len(i), min_per_thread=2000)) if len(c)]
    results = thread_map(lambda c: clip_area(r1, i[c], r2, j[c], touching=True), chunks)
    k_area = np.concatenate([r[0] for r in results])
    state = np.concatenate([r[1] for r in results])
    small = np.minimum(area1, area2)
    cross = (state == CLIP_CROSSING) & (k_area >= 1e-9 * small) & (k_area <= small * (1 + 1e-9))
    inside = state == CLIP_INSIDE  # the old polygon in the new one
    area[cross] = k_area[cross]
    area[inside] = area1[inside]
    ok = cross | inside | (state == CLIP_DISJOINT)
    return area, ok


def _class_ids(cs: np.ndarray, us: np.ndarray) -> tuple[np.ndarray, pd.DataFrame]:
    """A class id per row, numbered in order of first appearance of each (cs, us) couple."""
    fc, uc = pd.factorize(np.asarray(cs, dtype=object))
    fu, uu = pd.factorize(np.asarray(us, dtype=object))
    ids, first = pd.factorize(fc.astype(np.int64) * max(len(uu), 1) + fu)
    classes = pd.DataFrame({"cs": np.asarray(uc, dtype=object)[first // max(len(uu), 1)],
                            "us": np.asarray(uu, dtype=object)[first % max(len(uu), 1)]})
    return ids.astype(np.int64), classes


def _sum_by(commune: np.ndarray, cls: np.ndarray, area: np.ndarray, n_cls: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    key = commune.astype(np.int64) * n_cls + cls
    uniq, inv = np.unique(key, return_inverse=True)
    sums = np.bincount(inv, weights=area)
    return uniq // n_cls, uniq % n_cls, sums


def stock_pieces(layer: gpd.GeoDataFrame, communes: gpd.GeoDataFrame | Zones, *, vintage: int) -> pd.DataFrame:
    """Area per commune and (couverture, usage) couple for one vintage.

    Parameters
    ----------
    layer
        ``cs, us, geometry`` (from :func:`ocsol.io.ocsge.read_ocsge`).
    communes
        ``code, geometry`` in the same CRS, or prebuilt :class:`Zones`.
    vintage
        The year of the layer.

    Returns
    -------
    DataFrame
        ``code, vintage, cs, us, area_m2``.

    Examples
    --------
    Blois (41018) in the synthetic 2019 vintage, hectares by couverture:

    >>> from ocsol import read_ocsge, read_territories
    >>> communes = read_territories("data/cvl/communes_blois.gpkg", code="CODE_INSEE", name="NOM").communes
    >>> layer, _ = read_ocsge("data/cvl/ocsge_synth_2019.gpkg")
    >>> stock = stock_pieces(layer, communes, vintage=2019)
    >>> blois = stock[stock["code"] == "41018"]
    >>> blois.groupby("cs")["area_m2"].sum().div(1e4).round(1).head(3)
    cs
    CS1.1.1.1    147.3
    CS1.1.1.2    207.3
    CS1.1.2.1     21.3
    Name: area_m2, dtype: float64
    >>> round(blois["area_m2"].sum() / 1e4)
    3756
    """
    zones = communes if isinstance(communes, Zones) else Zones.from_communes(communes)
    geoms = np.asarray(layer.geometry.values)
    parts = split_by_commune(geoms, zones)
    return _stock_table(parts, layer["cs"].to_numpy(), layer["us"].to_numpy(), zones, vintage)


def _stock_table(parts: Parts, cs: np.ndarray, us: np.ndarray, zones: Zones, vintage: int) -> pd.DataFrame:
    ids, classes = _class_ids(cs, us)
    return _stock_table_ids(parts.commune, ids[parts.poly], parts.area, classes, zones, vintage)


def match_identical(g1: np.ndarray, g2: np.ndarray, *, threads: int | None = None) -> np.ndarray:
    """For each polygon of ``g1``, the index of an identical polygon in ``g2``, or -1.

    Candidates share a hash of their vertices (:func:`ocsol.kernels.vertex_hash`: the same
    whatever the start vertex and orientation of the rings) and their vertex count; each
    candidate pair is confirmed exactly (``equals_exact``, else ``equals_exact`` of the
    normalised geometries), so a hash collision never pairs different polygons.
    Geometries repeated within one vintage are left unmatched (the overlay handles them).
    """
    h1 = _hashes(g1, threads)
    h2 = _hashes(g2, threads)
    u1 = ~pd.Series(h1).duplicated(keep=False).to_numpy()
    u2 = ~pd.Series(h2).duplicated(keep=False).to_numpy()
    right = pd.Series(np.flatnonzero(u2), index=h2[u2])
    cand = pd.Series(h1).map(right)
    cand[~u1] = np.nan
    match = cand.fillna(-1).to_numpy(dtype=np.int64, copy=True)  # writable even when pandas returns a view
    has = np.flatnonzero(match >= 0)
    if len(has):
        ok = np.concatenate(thread_map(
            lambda i: shapely.equals_exact(g1[i], g2[match[i]], tolerance=0.0),
            [c for c in np.array_split(has, n_threads(threads, len(has))) if len(c)]))
        if (~ok).any():  # another start vertex or orientation: compare the normalised rings
            bad = has[~ok]
            ok[~ok] = shapely.equals_exact(shapely.normalize(g1[bad]), shapely.normalize(g2[match[bad]]),
                                           tolerance=0.0)
        match[has[~ok]] = -1
    return cast(np.ndarray, match)


def _hashes(geoms: np.ndarray, threads: int | None) -> np.ndarray:
    """Vertex hash combined with the vertex count, computed by chunks on threads."""
    # start-up: numba (≈ 0.5 s), compiled on first use
    from .kernels import vertex_hash

    geoms = np.asarray(geoms, dtype=object)
    chunks = [c for c in np.array_split(np.arange(len(geoms)), max(1, len(geoms) // 50_000)) if len(c)]
    groups = [chunks[i::n_threads(threads, len(geoms))] for i in range(n_threads(threads, len(geoms)))]

    def work(group: list[np.ndarray]) -> list[np.ndarray]:
        return [vertex_hash(geoms[c]) for c in group]

    out = np.zeros(len(geoms), dtype=np.uint64)
    for group, hashes in zip(groups, thread_map(work, groups), strict=True):
        for c, h in zip(group, hashes, strict=True):
            out[c] = h
    n = shapely.get_num_coordinates(geoms).astype(np.uint64)
    return cast(np.ndarray, out ^ (n * np.uint64(0x9E3779B97F4A7C15)))


@dataclass
class PairResult:
    """Everything two vintages give: both stocks, the transitions and the change polygons."""

    stock_from: pd.DataFrame
    stock_to: pd.DataFrame
    transitions: pd.DataFrame
    changes: gpd.GeoDataFrame
    matched: int
    overlaid: int
    #: per vintage (``from``, ``to``): ``cs, us, n, area_m2`` of its polygons, and the count of
    #: geometries repaired while streaming (0 for layers handed over already read)
    classes: dict[str, pd.DataFrame] | None = None
    repaired: dict[str, int] | None = None


@dataclass
class _Side:
    """What one vintage's stream keeps per polygon, batch by batch (in file order)."""

    n: int = 0
    keys: list[np.ndarray] = field(default_factory=list)  # vertex hash ^ vertex count (uint64)
    cls: list[np.ndarray] = field(default_factory=list)  # class id (int32)
    area: list[np.ndarray] = field(default_factory=list)  # area of the repaired polygon (m²)
    bad: list[np.ndarray] = field(default_factory=list)  # invalid as read (repaired)


@dataclass
class _FromBatch:
    """An old-vintage batch prepared on a reader thread: decoded, repaired, hashed."""

    batch: VintageBatch
    key: np.ndarray
    wkb: WkbColumn | None
    geoms: np.ndarray
    bad: np.ndarray
    area: np.ndarray
    rings: Rings | None = None  # polygon_rings of geoms (batches of geometries), for the cutting


@dataclass
class _ToBatch:
    """A new-vintage batch prepared on a reader thread: paired, and the unpaired rows decoded."""

    batch: VintageBatch
    key: np.ndarray
    match: np.ndarray  # gid of the old twin, or -1
    new: np.ndarray  # rows without a twin
    geoms: np.ndarray  # their geometries, repaired
    bad: np.ndarray  # which of them were invalid
    area: np.ndarray  # their areas


class _Pairing:
    """The engine of :func:`compare_vintages`, fed batch by batch.

    The old vintage is streamed first: each batch is decoded, repaired, hashed and split by
    the communes, and only its parts, hashes, areas and WKB are kept (not its geometries).
    The new vintage is streamed next: a polygon whose hash and vertex count find a unique
    twin is confirmed exactly (same WKB bytes, else ``equals_exact`` of the decoded
    geometries, else of the normalised ones) and reuses its twin's parts without being
    decoded; the others are decoded and split. Only the polygons without a twin are then
    overlaid. Every sum runs over parts in the order of the polygons in the files, so the
    tables do not depend on the batch size.
    """

    def __init__(self, zones: Zones, threads: int | None = None) -> None:
        self.zones = zones
        self.threads = threads
        self.class_ids: dict[tuple[str, str], int] = {}
        self.side = {"from": _Side(), "to": _Side()}
        self.parts1: list[Parts] = []
        self.wkb1: list[tuple[int, WkbColumn | None, np.ndarray | None]] = []  # (first gid, WKB, geometries)
        self.match2: list[np.ndarray] = []
        self.parts2_new: list[Parts] = []
        self.u2_gid: list[np.ndarray] = []
        self.u2_geom: list[np.ndarray] = []

    # -- helpers ---------------------------------------------------------------------------
    def _classes(self, cs: np.ndarray, us: np.ndarray) -> np.ndarray:
        """Class id of each row, numbered in order of first appearance over the whole stream."""
        fc, uc = pd.factorize(np.asarray(cs, dtype=object))
        fu, uu = pd.factorize(np.asarray(us, dtype=object))
        codes, first = pd.factorize(fc.astype(np.int64) * max(len(uu), 1) + fu)
        pairs = zip(np.asarray(uc, dtype=object)[first // max(len(uu), 1)],
                    np.asarray(uu, dtype=object)[first % max(len(uu), 1)], strict=True)
        ids = np.array([self.class_ids.setdefault(p, len(self.class_ids)) for p in pairs], dtype=np.int32)
        return np.asarray(ids[codes])

    def _hash(self, batch: VintageBatch, *, signs: bool = False
              ) -> tuple[np.ndarray, WkbColumn | None, np.ndarray, Rings | None]:
        """(key, WKB, bad, rings) of a batch: the key hashes the geometry as read (before repair).

        A batch of geometries (not WKB) is hashed from its :func:`ocsol.kernels.polygon_rings`,
        which are returned too (with the area signs if ``signs``), so that the cutting reads
        no coordinates again; a WKB batch is hashed from its bytes (rings None)."""
        # start-up: numba (≈ 0.5 s), compiled on first use
        from .kernels import polygon_rings, vertex_hash, wkb_scan

        if batch.wkb is not None:
            w = WkbColumn(batch.wkb)
            h, n, kind = wkb_scan(w.data, w.offsets)
            other = np.flatnonzero(kind < 0)  # not read by the kernel (another byte order or dimension)
            if len(other):
                g = w.decode(other)
                h[other], n[other] = vertex_hash(g), shapely.get_num_coordinates(g)
            return _key(h, n), w, np.zeros(0, bool), None
        g = np.asarray(batch.geoms, dtype=object)
        bad = np.zeros(len(g), dtype=bool)
        if batch.needs_repair:
            g, bad = repair_array(g)
            batch.geoms, batch.needs_repair = g, False
        rings = polygon_rings(g, signs=signs)
        n_coords = rings.ring_off[rings.geom_ring[1:]] - rings.ring_off[rings.geom_ring[:-1]]  # (closing ones too)
        other = np.flatnonzero(~rings.ok)
        n_coords[other] = shapely.get_num_coordinates(g[other])
        return _key(vertex_hash(g, rings=rings), n_coords), None, bad, rings

    def _decode(self, w: WkbColumn | None, batch: VintageBatch, bad: np.ndarray, idx: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Geometries ``idx`` of a batch, repaired; and which were invalid."""
        if w is None:
            return (np.asarray(batch.geoms, dtype=object), bad) if idx is None else \
                (np.asarray(batch.geoms, dtype=object)[idx], bad[idx])
        return repair_array(w.decode(idx))

    def _store(self, side: str, key: np.ndarray, cls: np.ndarray, area: np.ndarray, bad: np.ndarray) -> None:
        s = self.side[side]
        s.keys.append(key)
        s.cls.append(cls)
        s.area.append(area)
        s.bad.append(bad)
        s.n += len(key)

    # -- the two streams -------------------------------------------------------------------
    def prepare_from(self, batch: VintageBatch) -> _FromBatch:
        """The work on an old-vintage batch that needs nothing else (runs ahead on a reader thread)."""
        key, w, bad, rings = self._hash(batch, signs=True)
        g, bad = self._decode(w, batch, bad, None)
        if rings is None:
            area = np.asarray(shapely.area(g))
        else:  # from the coordinates already read (the same numbers as GEOS)
            # start-up: numba (≈ 0.5 s), compiled on first use
            from .kernels import simple_areas

            area, done = simple_areas(rings)
            area[~done] = shapely.area(g[~done])
        return _FromBatch(batch, key, w, g, bad, area, rings)

    def add_from(self, prepared: _FromBatch | VintageBatch) -> None:
        b = prepared if isinstance(prepared, _FromBatch) else self.prepare_from(prepared)
        gid0 = self.side["from"].n
        parts = split_by_commune(b.geoms, self.zones, areas=b.area, threads=self.threads, rings=b.rings)
        parts.poly = parts.poly + gid0
        self.parts1.append(parts)
        self.wkb1.append((gid0, b.wkb, b.geoms if b.wkb is None else None))
        self._store("from", b.key, self._classes(b.batch.cs, b.batch.us), b.area, b.bad)

    def start_to(self) -> None:
        s = self.side["from"]
        keys = np.concatenate(s.keys) if s.keys else np.zeros(0, np.uint64)
        self.area1: np.ndarray = np.concatenate(s.area) if s.area else np.zeros(0)
        self.bad1: np.ndarray = np.concatenate(s.bad) if s.bad else np.zeros(0, bool)
        self.cls1: np.ndarray = np.concatenate(s.cls) if s.cls else np.zeros(0, np.int32)
        unique = ~pd.Series(keys).duplicated(keep=False).to_numpy()
        self.lookup = pd.Series(np.flatnonzero(unique), index=keys[unique])  # key -> gid of a unique old polygon
        self.starts1 = np.array([x[0] for x in self.wkb1], dtype=np.int64)

    def _geom1(self, gids: np.ndarray, *, raw: bool = False) -> np.ndarray:
        """Old-vintage geometries by gid (decoded again from the kept WKB), repaired unless ``raw``."""
        gids = np.asarray(gids, dtype=np.int64)
        out = np.empty(len(gids), dtype=object)
        which = np.searchsorted(self.starts1, gids, side="right") - 1
        for b in np.unique(which):
            sel = np.flatnonzero(which == b)
            gid0, w, geoms = self.wkb1[b]
            if w is None:
                assert geoms is not None  # a batch handed over decoded keeps its geometries
                out[sel] = geoms[gids[sel] - gid0]
                continue
            g = w.decode(gids[sel] - gid0)
            if not raw:
                bad = self.bad1[gids[sel]]
                if bad.any():
                    g[bad] = repair_array(g[bad])[0]
            out[sel] = g
        return out

    def _exact(self, j: np.ndarray, gid1: np.ndarray, w: WkbColumn | None, batch: VintageBatch) -> np.ndarray:
        """Candidate pairs (row ``j`` of this batch, old polygon ``gid1``) confirmed exactly."""
        # start-up: numba (≈ 0.5 s), compiled on first use
        from .kernels import wkb_equal

        ok = np.zeros(len(j), dtype=bool)
        if w is not None:
            which = np.searchsorted(self.starts1, gid1, side="right") - 1
            for b in np.unique(which):
                sel = np.flatnonzero(which == b)
                gid0, w1, _ = self.wkb1[b]
                if w1 is not None:
                    ok[sel] = wkb_equal(w1.data, w1.offsets, gid1[sel] - gid0, w.data, w.offsets, j[sel])
        rest = np.flatnonzero(~ok)
        if len(rest):  # another start vertex or orientation (or a hash collision): compare geometries
            a = self._geom1(gid1[rest], raw=True)
            b = w.decode(j[rest]) if w is not None else np.asarray(batch.geoms, dtype=object)[j[rest]]
            same = shapely.equals_exact(a, b, tolerance=0.0)
            if (~same).any():
                same[~same] = shapely.equals_exact(shapely.normalize(a[~same]), shapely.normalize(b[~same]),
                                                   tolerance=0.0)
            ok[rest] = same
        return ok

    def prepare_to(self, batch: VintageBatch) -> _ToBatch:
        """Pair a new-vintage batch with the old vintage and decode the rest (runs ahead on a reader thread)."""
        key, w, bad_in, _ = self._hash(batch)  # (only a few rows are cut: their rings are read then)
        match = np.full(len(key), -1, dtype=np.int64)
        if len(self.lookup):
            cand = self.lookup.reindex(key).to_numpy(dtype=float, na_value=np.nan)
            has = np.flatnonzero(~np.isnan(cand))
            if len(has):
                ok = self._exact(has, cand[has].astype(np.int64), w, batch)
                match[has[ok]] = cand[has[ok]].astype(np.int64)
        new = np.flatnonzero(match < 0)
        g, bad_new = self._decode(w, batch, bad_in, new)
        return _ToBatch(batch, key, match, new, g, bad_new, np.asarray(shapely.area(g)))

    def add_to(self, prepared: _ToBatch | VintageBatch) -> None:
        b = prepared if isinstance(prepared, _ToBatch) else self.prepare_to(prepared)
        batch, key, match, new, g, bad_new, area_new = b.batch, b.key, b.match, b.new, b.geoms, b.bad, b.area
        gid0 = self.side["to"].n
        area = np.empty(len(key))
        area[new] = area_new
        twin = match >= 0
        area[twin] = self.area1[match[twin]]
        bad = np.zeros(len(key), dtype=bool)
        bad[new] = bad_new
        bad[twin] = self.bad1[match[twin]]
        parts = split_by_commune(g, self.zones, areas=area_new, threads=self.threads)
        parts.poly = new[parts.poly] + gid0
        self.parts2_new.append(parts)
        self.u2_gid.append(new + gid0)
        self.u2_geom.append(g)
        self.match2.append(match)
        self._store("to", key, self._classes(batch.cs, batch.us), area, bad)

    # -- the tables ------------------------------------------------------------------------
    def finish(self, *, vintage_from: int, vintage_to: int, keep_changes: bool, crs: Any) -> PairResult:
        zones = self.zones
        s2 = self.side["to"]
        keys2 = np.concatenate(s2.keys) if s2.keys else np.zeros(0, np.uint64)
        cls2 = np.concatenate(s2.cls) if s2.cls else np.zeros(0, np.int32)
        twin2 = np.concatenate(self.match2) if self.match2 else np.zeros(0, np.int64)
        n1 = len(self.area1)
        # a geometry repeated within the new vintage pairs with nothing (like one repeated in the old)
        match2 = twin2.copy()
        again = np.flatnonzero((match2 >= 0) & pd.Series(keys2).duplicated(keep=False).to_numpy())
        match2[again] = -1
        u2_gid = [*self.u2_gid, again]
        u2_geom = [*self.u2_geom, self._geom1(twin2[again])]  # the same geometry as its old twin
        match1 = np.full(n1, -1, dtype=np.int64)
        match1[match2[match2 >= 0]] = np.flatnonzero(match2 >= 0)
        twin1 = np.full(n1, -1, dtype=np.int64)
        twin1[twin2[twin2 >= 0]] = np.flatnonzero(twin2 >= 0)
        p1 = _concat_parts(self.parts1)
        p2n = _concat_parts(self.parts2_new)
        classes = pd.DataFrame(list(self.class_ids), columns=["cs", "us"], dtype=object)
        cs_of, us_of = classes["cs"].to_numpy(), classes["us"].to_numpy()
        stock1 = _stock_table_ids(p1.commune, self.cls1[p1.poly], p1.area, classes, zones, vintage_from)
        # the new vintage: an identical polygon has the same commune parts as its old twin
        t = twin1[p1.poly] >= 0
        stock2 = _stock_table_ids(np.concatenate([p1.commune[t], p2n.commune]),
                                  cls2[np.concatenate([twin1[p1.poly[t]], p2n.poly])],
                                  np.concatenate([p1.area[t], p2n.area]), classes, zones, vintage_to)
        # transitions: 1. identical geometries: the parts of the old polygon carry the transition
        m = match1[p1.poly] >= 0
        t_comm, t_from, t_to, t_area = [p1.commune[m]], [p1.poly[m]], [match1[p1.poly[m]]], [p1.area[m]]
        # 2. the others: overlay old × new (pairs in file order), then split by commune
        u1 = np.flatnonzero(match1 < 0)
        u2 = np.concatenate(u2_gid) if u2_gid else np.zeros(0, np.int64)
        g2u = np.concatenate(u2_geom) if u2_geom else np.zeros(0, dtype=object)
        inter_geoms = np.array([], dtype=object)
        inter_from = inter_to = np.array([], dtype=np.int64)
        if len(u1) and len(u2):
            g1u = self._geom1(u1)
            i, j = STRtree(g2u).query(g1u, predicate="intersects")
            order = np.lexsort((u2[j], u1[i]))
            i, j = i[order], j[order]
            # where only the area of old ∩ new is used and one of the two lies wholly inside one
            # commune piece, the kernel gives it and that piece places it; the rest take GEOS
            area2 = np.concatenate(s2.area) if s2.area else np.zeros(0)
            home1, home2 = _lone_piece(p1, n1), _lone_piece(p2n, len(cls2))
            home2[again] = home1[twin2[again]]  # (cut as their old twin)
            home = np.where(home1[u1[i]] >= 0, home1[u1[i]], home2[u2[j]])
            quick = np.flatnonzero((home >= 0) & ~(keep_changes & (self.cls1[u1[i]] != cls2[u2[j]])))
            q_area, q_ok = _overlap_areas(g1u, i[quick], g2u, j[quick], self.area1[u1[i[quick]]],
                                          area2[u2[j[quick]]], self.threads)
            q, q_area = quick[q_ok], q_area[q_ok]
            kept = q_area > 0  # (0: the two only touch)
            t_comm.append(zones.owner[home[q[kept]]])
            t_from.append(u1[i[q[kept]]])
            t_to.append(u2[j[q[kept]]])
            t_area.append(q_area[kept])
            slow = np.ones(len(i), dtype=bool)
            slow[q] = False
            log.debug("old × new: %d pairs, %d by area alone, %d by GEOS (%d undecided)", len(i), len(q),
                      int(slow.sum()), len(quick) - len(q))
            i, j = i[slow], j[slow]
            inter = _polygonal(np.concatenate(thread_map(
                lambda c: shapely.intersection(g1u[i[c]], g2u[j[c]]),
                [c for c in np.array_split(np.arange(len(i)), n_threads(self.threads, len(i))) if len(c)])
                or [np.zeros(0, dtype=object)]))
            ia = shapely.area(inter)
            ok = ia > 0
            inter_geoms, inter_from, inter_to = inter[ok], u1[i[ok]], u2[j[ok]]
            ip = split_by_commune(inter_geoms, zones, areas=ia[ok], threads=self.threads)
            t_comm.append(ip.commune)
            t_from.append(inter_from[ip.poly])
            t_to.append(inter_to[ip.poly])
            t_area.append(ip.area)
        pf, pt = np.concatenate(t_from), np.concatenate(t_to)
        transitions = _transition_table_ids(np.concatenate(t_comm), self.cls1[pf], cls2[pt], np.concatenate(t_area),
                                            classes, zones, vintage_from, vintage_to)
        del p1, p2n, t_comm, t_from, t_to, t_area, pf, pt
        changes = _empty_changes(crs)
        if keep_changes:
            idx1 = np.flatnonzero(match1 >= 0)
            idx1 = idx1[self.cls1[idx1] != cls2[match1[idx1]]]
            changes = _change_polygons(self._geom1(idx1), idx1, match1[idx1], inter_geoms, inter_from, inter_to,
                                       self.cls1, cls2, cs_of, us_of, zones, vintage_from, vintage_to, crs)
        summaries = {side: self._summary(side, classes) for side in ("from", "to")}
        repaired = {"from": int(self.bad1.sum()), "to": int(np.concatenate(s2.bad).sum()) if s2.bad else 0}
        log.info("vintages %s→%s: %d identical polygons paired, %d overlaid", vintage_from, vintage_to,
                 int((match1 >= 0).sum()), len(u1))
        return PairResult(stock1, stock2, transitions, changes, int((match1 >= 0).sum()), len(u1),
                          classes=summaries, repaired=repaired)

    def _summary(self, side: str, classes: pd.DataFrame) -> pd.DataFrame:
        s = self.side[side]
        if not s.cls:
            return pd.DataFrame({"cs": [], "us": [], "n": [], "area_m2": []})
        cls, area = np.concatenate(s.cls), np.concatenate(s.area)
        n = np.bincount(cls, minlength=len(classes))
        a = np.bincount(cls, weights=area, minlength=len(classes))
        keep = n > 0
        return pd.DataFrame({"cs": classes["cs"].to_numpy()[keep], "us": classes["us"].to_numpy()[keep],
                             "n": n[keep], "area_m2": a[keep]})


def stock_vintage(layer: gpd.GeoDataFrame | Iterable[VintageBatch], communes: gpd.GeoDataFrame | Zones, *, vintage: int,
                  threads: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """:func:`stock_pieces` of a layer in memory or a stream of :class:`VintageBatch` es.

    Returns the stock pieces, the ``cs, us, n, area_m2`` summary of its polygons and the
    number of geometries repaired while streaming.
    """
    zones = communes if isinstance(communes, Zones) else Zones.from_communes(communes)
    batches = layer_batches(layer) if isinstance(layer, gpd.GeoDataFrame) else layer
    engine = _Pairing(zones, threads)
    with _no_gc():
        for prepared in _ahead(batches, engine.prepare_from):
            engine.add_from(prepared)
            del prepared
            _release_memory()
        engine.start_to()
    p1 = _concat_parts(engine.parts1)
    classes = pd.DataFrame(list(engine.class_ids), columns=["cs", "us"], dtype=object)
    stock = _stock_table_ids(p1.commune, engine.cls1[p1.poly], p1.area, classes, zones, vintage)
    return stock, engine._summary("from", classes), int(engine.bad1.sum())


def _release_memory() -> None:
    """Give the memory freed by batches back to the system once the resident set has grown by
    :data:`TRIM_STEP` bytes since the last time (glibc keeps freed blocks of every thread's arena
    otherwise, and the resident set grows with the number of batches). Trimming after every
    batch would make the next one fault its pages in again (about a tenth of the CPU time)."""
    global _TRIM, _TRIMMED_AT
    if _TRIM is None:
        import ctypes
        import ctypes.util

        try:
            _TRIM = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc
            _TRIM = False
    if not callable(_TRIM):
        return
    rss = _rss_bytes()
    if rss is None or rss - _TRIMMED_AT >= TRIM_STEP:
        _TRIM(0)
        _TRIMMED_AT = _rss_bytes() or 0


def _rss_bytes() -> int | None:
    """This process's resident set (Linux), or None."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


#: Growth of the resident set (bytes) after which the freed memory is given back (:func:`_release_memory`).
TRIM_STEP = 128 << 20
_TRIM: Callable[[int], int] | bool | None = None
_TRIMMED_AT = 0


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Python's cyclic garbage collector paused: a stream creates millions of geometry objects,
    none in a reference cycle, and each collection would walk them all (≈ 8 % of the CPU time)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _ahead(items: Iterable[T], fn: Callable[[T], R], *, workers: int = 2) -> Iterator[R]:
    """``fn(item)`` for each item, in order, computed ahead on ``workers`` threads.

    The items are drawn one at a time (a stream reads its file in order), then ``fn`` runs on
    up to ``workers`` items at once: reading, WKB decoding and validity checks release the GIL,
    so they overlap each other and the caller's work. At most ``workers`` results wait beside
    the one the caller holds, so memory stays that of a few batches.
    """
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

    it = iter(items)
    lock = threading.Lock()
    counter = itertools.count()

    def step() -> tuple[int, R | None, bool]:
        with lock:  # draw the next item and its rank together
            item, k = next(it, _END), next(counter)
        if item is _END:
            return k, None, False
        return k, fn(cast(T, item)), True

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="ocsol-read") as pool:
        running: set[Future[tuple[int, R | None, bool]]] = {pool.submit(step) for _ in range(max(1, workers))}
        ready: dict[int, tuple[R | None, bool]] = {}
        want = 0
        while True:
            while want not in ready:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for f in done:
                    k, result, more = f.result()
                    ready[k] = (result, more)
                    if more:
                        running.add(pool.submit(step))
                del done, f, result  # hold no batch the caller has released
            box, more = ready.pop(want)
            if not more:
                return
            want += 1
            held = [cast(R, box)]
            del box
            yield held.pop()


_END = object()


def _key(h: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Vertex hash combined with the vertex count."""
    return np.asarray(h ^ (n.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)))


def _concat_parts(parts: list[Parts]) -> Parts:
    if not parts:
        e = np.array([], dtype=np.int64)
        return Parts(e, e, np.array([], dtype=float), np.array([], dtype=bool), e)
    return Parts(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("poly", "commune", "area", "cut", "piece")))


def _stock_table_ids(commune: np.ndarray, cls: np.ndarray, area: np.ndarray, classes: pd.DataFrame, zones: Zones, vintage: int) -> pd.DataFrame:
    c, k, a = _sum_by(commune, cls, area, max(len(classes), 1))
    out = pd.DataFrame({"code": zones.codes[c], "vintage": int(vintage), "cs": classes["cs"].to_numpy()[k],
                        "us": classes["us"].to_numpy()[k], "area_m2": a})
    return out.sort_values(["code", "cs", "us"], kind="mergesort").reset_index(drop=True)


def _transition_table_ids(comm: np.ndarray, kf: np.ndarray, kt: np.ndarray, area: np.ndarray, classes: pd.DataFrame, zones: Zones, vf: int, vt: int) -> pd.DataFrame:
    """:func:`_transition_table` from class ids: sums per (commune, class from, class to) in the
    order of the parts (integer keys, no grouping on strings)."""
    n = max(len(classes), 1)
    key = (comm.astype(np.int64) * n + kf) * n + kt
    uniq, inv = np.unique(key, return_inverse=True)
    sums = np.bincount(inv, weights=area, minlength=len(uniq))
    c, rest = np.divmod(uniq, n * n)
    f, t = np.divmod(rest, n)
    cs, us = classes["cs"].to_numpy(), classes["us"].to_numpy()
    out = pd.DataFrame({"code": zones.codes[c] if len(c) else np.array([], dtype=object),
                        "vintage_from": int(vf), "vintage_to": int(vt), "cs_from": cs[f], "us_from": us[f],
                        "cs_to": cs[t], "us_to": us[t], "area_m2": sums})
    return out.sort_values(TRANSITION_COLUMNS[:-1], kind="mergesort").reset_index(drop=True)


def compare_vintages(
    layer_from: gpd.GeoDataFrame | Iterable[VintageBatch],
    layer_to: gpd.GeoDataFrame | Iterable[VintageBatch],
    communes: gpd.GeoDataFrame | Zones,
    *,
    vintage_from: int,
    vintage_to: int,
    keep_changes: bool = True,
    crs: Any = None,
    batch_size: int | None = None,
    threads: int | None = None,
) -> PairResult:
    """Stocks of both vintages, transitions between them and the change polygons, per commune.

    ``layer_from`` and ``layer_to`` are layers in memory (``cs, us, geometry``) or iterables of
    :class:`VintageBatch` (a stream read by :func:`ocsol.io.ocsge.ocsge_batches`): then only
    one batch of geometries is decoded at a time. Identical polygons are paired without
    geometry work; the rest are overlaid. Transitions of area that only one vintage covers are
    not produced (the invariants then report it). The tables do not depend on ``batch_size``.

    Parameters
    ----------
    layer_from, layer_to
        The two vintages, in memory or as streams of :class:`VintageBatch`.
    communes
        ``code, geometry`` in the working CRS, or prebuilt :class:`Zones`.
    vintage_from, vintage_to
        The two years.
    keep_changes
        Keep the change polygons (``changes``); ``False`` saves memory when only tables are needed.
    crs
        CRS of the change polygons when the layers are streams.
    batch_size, threads
        Polygons per batch and worker threads of the overlay (``None``: defaults).

    Returns
    -------
    PairResult
        ``stock_from``, ``stock_to`` (as :func:`stock_pieces`), ``transitions`` (as
        :func:`transition_pieces`), ``changes`` (polygons whose codes changed, cut by commune),
        and the counts of polygons ``matched`` unchanged and ``overlaid``.

    Examples
    --------
    The synthetic vintages of the CA de Blois: most polygons are identical at both dates and are
    paired without any overlay; 313 change polygons cover 1 808 ha of its 79 337 ha.

    >>> from ocsol import read_ocsge, read_territories
    >>> communes = read_territories("data/cvl/communes_blois.gpkg", code="CODE_INSEE", name="NOM").communes
    >>> a, _ = read_ocsge("data/cvl/ocsge_synth_2019.gpkg")
    >>> b, _ = read_ocsge("data/cvl/ocsge_synth_2022.gpkg")
    >>> pair = compare_vintages(a, b, communes, vintage_from=2019, vintage_to=2022)
    >>> pair.matched, pair.overlaid, len(pair.changes)
    (8877, 132, 313)
    >>> round(float(pair.changes.area.sum()) / 1e4, 1), round(pair.transitions["area_m2"].sum() / 1e4)
    (1808.1, 79337)
    """
    zones = communes if isinstance(communes, Zones) else Zones.from_communes(communes)
    if isinstance(layer_from, gpd.GeoDataFrame):
        crs = layer_from.crs if crs is None else crs
    old = layer_batches(layer_from, batch_size) if isinstance(layer_from, gpd.GeoDataFrame) else layer_from
    new = layer_batches(layer_to, batch_size) if isinstance(layer_to, gpd.GeoDataFrame) else layer_to
    engine = _Pairing(zones, threads)
    with _no_gc():
        for prepared in _ahead(old, engine.prepare_from):  # reading and decoding overlap the cutting
            engine.add_from(prepared)
            del prepared
            _release_memory()
        engine.start_to()
        for paired in _ahead(new, engine.prepare_to):
            engine.add_to(paired)
            del paired
            _release_memory()
        return engine.finish(vintage_from=vintage_from, vintage_to=vintage_to, keep_changes=keep_changes, crs=crs)


def transition_pieces(
    layer_from: gpd.GeoDataFrame,
    layer_to: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame | Zones,
    *,
    vintage_from: int,
    vintage_to: int,
) -> pd.DataFrame:
    """Transition areas per commune between two full vintages.

    Parameters
    ----------
    layer_from, layer_to
        ``cs, us, geometry`` of the two vintages (from :func:`ocsol.io.ocsge.read_ocsge`).
    communes
        ``code, geometry`` in the same CRS, or prebuilt :class:`Zones`.
    vintage_from, vintage_to
        The two years.

    Returns
    -------
    DataFrame
        ``code, vintage_from, vintage_to, cs_from, us_from, cs_to, us_to, area_m2``; unchanged
        land is a row whose codes are equal at both dates.

    See Also
    --------
    compare_vintages : the same transitions with both stocks and the change polygons.

    Examples
    --------
    Land whose couverture or usage changed between the synthetic 2019 and 2022 vintages of the
    CA de Blois, and the three largest changes in Blois:

    >>> from ocsol import read_ocsge, read_territories
    >>> communes = read_territories("data/cvl/communes_blois.gpkg", code="CODE_INSEE", name="NOM").communes
    >>> a, _ = read_ocsge("data/cvl/ocsge_synth_2019.gpkg")
    >>> b, _ = read_ocsge("data/cvl/ocsge_synth_2022.gpkg")
    >>> t = transition_pieces(a, b, communes, vintage_from=2019, vintage_to=2022)
    >>> changed = t[(t["cs_from"] != t["cs_to"]) | (t["us_from"] != t["us_to"])]
    >>> round(float(changed["area_m2"].sum()) / 1e4, 1)
    1808.1
    >>> top = changed[changed["code"] == "41018"].nlargest(3, "area_m2")
    >>> top.assign(ha=top["area_m2"].div(1e4).round(2))[["cs_from", "us_from", "cs_to", "us_to", "ha"]]
        cs_from us_from      cs_to  us_to     ha
    77  CS2.2.1   US1.1  CS1.1.1.1    US5  31.47
    80  CS2.2.1   US1.1  CS2.1.1.1  US1.2  13.76
    82  CS2.2.1   US1.1    CS2.2.1  US6.3  13.33
    """
    return compare_vintages(
        layer_from, layer_to, communes, vintage_from=vintage_from, vintage_to=vintage_to, keep_changes=False
    ).transitions


def diff_pieces(
    diff: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame | Zones,
    *,
    vintage_from: int,
    vintage_to: int,
    keep_changes: bool = True,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Transitions per commune from an IGN change (DIFF) layer, and its polygons cut by commune.

    Parameters
    ----------
    diff
        ``cs_from, us_from, cs_to, us_to, geometry`` (from :func:`ocsol.io.ocsge.read_ocsge_diff`).
    communes
        ``code, geometry`` in the same CRS, or prebuilt :class:`Zones`.
    vintage_from, vintage_to
        The two years.
    keep_changes
        Also return the polygons cut by commune (else an empty frame).

    Returns
    -------
    (DataFrame, GeoDataFrame)
        Transitions as :func:`transition_pieces` (change only: a DIFF layer holds no unchanged
        land), and the polygons with ``code, vintage_from, vintage_to``, the four codes and
        ``area_m2``.

    Examples
    --------
    The IGN change layers of the Bassin d'Arcachon, 2015 → 2018, cut by its 17 communes:

    >>> from ocsol import read_ocsge_diff, read_territories
    >>> communes = read_territories("data/arcachon/communes_sybarval.shp", code="CODE_INSEE", name="NOM").communes
    >>> diff, _ = read_ocsge_diff(["data/arcachon/A_B_2015_2018.shp", "data/arcachon/A_B_2018_2015.shp"],
    ...                           vintage_from=2015, vintage_to=2018)
    >>> table, polygons = diff_pieces(diff, communes, vintage_from=2015, vintage_to=2018)
    >>> len(table), len(polygons), round(float(table["area_m2"].sum()) / 1e4, 1)
    (1486, 5376, 472.8)
    >>> table.groupby("code")["area_m2"].sum().div(1e4).round(1).nlargest(2)
    code
    33284    84.8
    33529    63.4
    Name: area_m2, dtype: float64
    """
    zones = communes if isinstance(communes, Zones) else Zones.from_communes(communes)
    g = np.asarray(diff.geometry.values)
    parts = split_by_commune(g, zones)
    cols = [diff[c].to_numpy() for c in ("cs_from", "us_from", "cs_to", "us_to")]
    p = parts.poly
    table = _transition_table(parts.commune, cols[0][p], cols[1][p], cols[2][p], cols[3][p], parts.area, zones,
                              vintage_from, vintage_to)
    changes = _empty_changes(diff.crs)
    if keep_changes and len(p):
        geoms = g[p].copy()
        if parts.cut.any():
            cut = np.flatnonzero(parts.cut)
            geoms[cut] = _clip(geoms[cut], parts.piece[cut], zones)
        changes = gpd.GeoDataFrame(
            {
                "code": zones.codes[parts.commune],
                "vintage_from": int(vintage_from),
                "vintage_to": int(vintage_to),
                "cs_from": cols[0][p], "us_from": cols[1][p], "cs_to": cols[2][p], "us_to": cols[3][p],
                "area_m2": parts.area,
            },
            geometry=geoms,
            crs=diff.crs,
        )
    return table, changes


def _transition_table(comm: np.ndarray, csf: np.ndarray, usf: np.ndarray, cst: np.ndarray, ust: np.ndarray,
                      area: np.ndarray, zones: Zones, vf: int, vt: int) -> pd.DataFrame:
    df = pd.DataFrame(
        {"c": comm, "cs_from": csf, "us_from": usf, "cs_to": cst, "us_to": ust, "area_m2": area}
    )
    df = df.groupby(["c", "cs_from", "us_from", "cs_to", "us_to"], sort=False, as_index=False)["area_m2"].sum()
    out = pd.DataFrame(
        {
            "code": zones.codes[df["c"].to_numpy(dtype=np.int64)] if len(df) else np.array([], dtype=object),
            "vintage_from": int(vf),
            "vintage_to": int(vt),
        }
    )
    for c in ("cs_from", "us_from", "cs_to", "us_to", "area_m2"):
        out[c] = df[c].to_numpy()
    return out.sort_values(TRANSITION_COLUMNS[:-1], kind="mergesort").reset_index(drop=True)


def _clip(geoms: np.ndarray, piece: np.ndarray, zones: Zones) -> np.ndarray:
    """Clip each geometry to the commune piece its part lies in."""
    return _polygonal(shapely.intersection(geoms, zones.pieces[piece]))


def _empty_changes(crs: Any) -> gpd.GeoDataFrame:
    cols = {c: pd.Series(dtype=object) for c in ["code", "cs_from", "us_from", "cs_to", "us_to"]}
    return gpd.GeoDataFrame(
        {"code": cols["code"], "vintage_from": pd.Series(dtype=int), "vintage_to": pd.Series(dtype=int),
         "cs_from": cols["cs_from"], "us_from": cols["us_from"], "cs_to": cols["cs_to"], "us_to": cols["us_to"],
         "area_m2": pd.Series(dtype=float)},
        geometry=gpd.GeoSeries([], crs=crs), crs=crs,
    )


def _change_polygons(g1: np.ndarray, idx1: np.ndarray, idx2: np.ndarray, inter_geoms: np.ndarray,
                     inter_from: np.ndarray, inter_to: np.ndarray, cls1: np.ndarray, cls2: np.ndarray,
                     cs_of: np.ndarray, us_of: np.ndarray, zones: Zones, vf: int, vt: int,
                     crs: Any) -> gpd.GeoDataFrame:
    """Polygons whose class changed, cut by commune: identical geometries reclassified (``g1``,
    old ``idx1`` → new ``idx2``), then the pieces of the overlay whose class changed."""
    src_geoms, src_from, src_to = [g1], [idx1], [idx2]
    if len(inter_geoms):
        ch = cls1[inter_from] != cls2[inter_to]
        src_geoms.append(inter_geoms[ch])
        src_from.append(inter_from[ch])
        src_to.append(inter_to[ch])
    geoms = np.concatenate(src_geoms)
    f = np.concatenate(src_from)
    t = np.concatenate(src_to)
    if len(geoms) == 0:
        return _empty_changes(crs)
    parts = split_by_commune(geoms, zones)
    pg = geoms[parts.poly].copy()
    if parts.cut.any():
        cut = np.flatnonzero(parts.cut)
        pg[cut] = _clip(pg[cut], parts.piece[cut], zones)
    kf, kt = cls1[f[parts.poly]], cls2[t[parts.poly]]
    return gpd.GeoDataFrame(
        {
            "code": zones.codes[parts.commune],
            "vintage_from": int(vf),
            "vintage_to": int(vt),
            "cs_from": cs_of[kf], "us_from": us_of[kf], "cs_to": cs_of[kt], "us_to": us_of[kt],
            "area_m2": parts.area,
        },
        geometry=pg,
        crs=crs,
    )
