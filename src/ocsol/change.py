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
   communes and overlaid (``intersection``) with each other.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from .cluster import n_threads, thread_map

log = logging.getLogger(__name__)

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
    cut: np.ndarray  # True where the polygon crosses a piece boundary (the part is an intersection)
    piece: np.ndarray  # index of the commune piece holding the part


def split_by_commune(geoms: np.ndarray, zones: Zones, *, areas: np.ndarray | None = None,
                     threads: int | None = None) -> Parts:
    """Split polygons by the communes: the area of every (polygon, commune) part.

    A polygon whose bounding box meets no commune edge lies inside one commune piece (or
    outside all): it is placed by one point (its bounding box centre) and keeps its own area.
    The others are tested against the pieces their box meets: inside one piece, their own
    area; across an edge, the area of the intersection. Parts of area 0 (polygons only touching
    a commune) are dropped; area outside every commune is not counted. Runs on ``threads``
    threads (default: one per CPU; shapely releases the GIL); parts come in polygon order.
    """
    geoms = np.asarray(geoms, dtype=object)
    if areas is None:
        areas = shapely.area(geoms)
    if len(geoms) == 0:
        empty = np.array([], dtype=np.int64)
        return Parts(empty, empty, np.array([], dtype=float), np.array([], dtype=bool), empty)
    bounds = shapely.bounds(geoms)
    # polygons whose box meets an edge chunk's box: the only ones that may cross a boundary
    _, hit_idx = STRtree(geoms).query(zones.edges if zones.edges is not None else edge_chunks(zones.pieces))
    near = np.zeros(len(geoms), dtype=bool)
    near[hit_idx] = True
    clear = np.flatnonzero(~near)
    # the pieces whose box meets the polygon's box, then the one holding its box centre
    c_local, c_piece = zones.piece_tree.query(geoms[clear])
    cx = (bounds[clear[c_local], 0] + bounds[clear[c_local], 2]) / 2
    cy = (bounds[clear[c_local], 1] + bounds[clear[c_local], 3]) / 2
    held = shapely.contains_xy(zones.pieces[c_piece], cx, cy)
    c_pt, c_piece = c_local[held], c_piece[held]
    near_idx = np.flatnonzero(near)
    chunks = [c for c in np.array_split(near_idx, n_threads(threads, len(near_idx))) if len(c)]
    results = thread_map(lambda idx: _split_near(geoms, idx, areas, zones), chunks)
    poly = np.concatenate([clear[c_pt], *(r[0] for r in results)])
    piece = np.concatenate([c_piece, *(r[1] for r in results)])
    area = np.concatenate([areas[clear[c_pt]], *(r[2] for r in results)])
    cut = np.concatenate([np.zeros(len(c_pt), dtype=bool), *(r[3] for r in results)])
    keep = area > 0
    order = np.lexsort((piece[keep], poly[keep]))  # polygon order: sums independent of the batching
    poly, piece, area, cut = poly[keep][order], piece[keep][order], area[keep][order], cut[keep][order]
    return Parts(poly=poly, commune=zones.owner[piece], area=area, cut=cut, piece=piece)


def _split_near(geoms: np.ndarray, idx: np.ndarray, areas: np.ndarray,
                zones: Zones) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parts of the polygons ``idx`` near an edge: (polygon, piece, area, cut)."""
    sub = geoms[idx]
    pieces = zones.thread_pieces()
    poly_local, piece_idx = zones.piece_tree.query(sub, predicate="intersects")
    poly_idx = idx[poly_local]
    inside = shapely.contains_properly(pieces[piece_idx], geoms[poly_idx])
    part_area = np.empty(len(poly_idx), dtype=float)
    part_area[inside] = areas[poly_idx[inside]]
    cross = ~inside
    if cross.any():
        inter = shapely.intersection(geoms[poly_idx[cross]], pieces[piece_idx[cross]])
        part_area[cross] = shapely.area(inter)
    return poly_idx, piece_idx, part_area, cross


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
    """
    zones = communes if isinstance(communes, Zones) else Zones.from_communes(communes)
    geoms = np.asarray(layer.geometry.values)
    parts = split_by_commune(geoms, zones)
    return _stock_table(parts, layer["cs"].to_numpy(), layer["us"].to_numpy(), zones, vintage)


def _stock_table(parts: Parts, cs: np.ndarray, us: np.ndarray, zones: Zones, vintage: int) -> pd.DataFrame:
    ids, classes = _class_ids(cs, us)
    c, k, a = _sum_by(parts.commune, ids[parts.poly], parts.area, max(len(classes), 1))
    out = pd.DataFrame(
        {
            "code": zones.codes[c],
            "vintage": int(vintage),
            "cs": classes["cs"].to_numpy()[k],
            "us": classes["us"].to_numpy()[k],
            "area_m2": a,
        }
    )
    return out.sort_values(["code", "cs", "us"], kind="mergesort").reset_index(drop=True)


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
    from .kernels import vertex_hash  # start-up: numba (≈ 0.5 s), compiled on first use

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


def compare_vintages(
    layer_from: gpd.GeoDataFrame,
    layer_to: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame | Zones,
    *,
    vintage_from: int,
    vintage_to: int,
    keep_changes: bool = True,
) -> PairResult:
    """Stocks of both vintages, transitions between them and the change polygons, per commune.

    Identical polygons are paired without geometry work; the rest are overlaid. Transitions of
    area that only one vintage covers are not produced (the invariants then report it).
    """
    zones = communes if isinstance(communes, Zones) else Zones.from_communes(communes)
    g1 = np.asarray(layer_from.geometry.values)
    g2 = np.asarray(layer_to.geometry.values)
    a1, a2 = shapely.area(g1), shapely.area(g2)
    cs1, us1 = layer_from["cs"].to_numpy(), layer_from["us"].to_numpy()
    cs2, us2 = layer_to["cs"].to_numpy(), layer_to["us"].to_numpy()
    match = match_identical(g1, g2)
    parts1 = split_by_commune(g1, zones, areas=a1)
    stock1 = _stock_table(parts1, cs1, us1, zones, vintage_from)
    # the new vintage: an identical polygon has the same commune parts as its old twin,
    # so only the polygons without a twin are cut by the communes
    matched_to = np.zeros(len(g2), dtype=bool)
    matched_to[match[match >= 0]] = True
    u2 = np.flatnonzero(~matched_to)
    parts2_new = split_by_commune(g2[u2], zones, areas=a2[u2])
    twin = match[parts1.poly] >= 0
    parts2 = Parts(
        poly=np.concatenate([match[parts1.poly[twin]], u2[parts2_new.poly]]),
        commune=np.concatenate([parts1.commune[twin], parts2_new.commune]),
        area=np.concatenate([parts1.area[twin], parts2_new.area]),
        cut=np.concatenate([parts1.cut[twin], parts2_new.cut]),
        piece=np.concatenate([parts1.piece[twin], parts2_new.piece]),
    )
    stock2 = _stock_table(parts2, cs2, us2, zones, vintage_to)
    # 1. identical geometries: the parts of the old polygon carry the transition
    matched_part = match[parts1.poly] >= 0
    t_comm = [parts1.commune[matched_part]]
    t_from = [parts1.poly[matched_part]]
    t_to = [match[parts1.poly[matched_part]]]
    t_area = [parts1.area[matched_part]]
    # 2. the others: overlay old × new, then split by commune
    u1 = np.flatnonzero(match < 0)
    inter_geoms = np.array([], dtype=object)
    inter_from = inter_to = np.array([], dtype=np.int64)
    if len(u1) and len(u2):
        tree = STRtree(g2[u2])
        i, j = tree.query(g1[u1], predicate="intersects")
        inter = _polygonal(shapely.intersection(g1[u1][i], g2[u2][j]))
        ia = shapely.area(inter)
        ok = ia > 0
        inter_geoms, inter_from, inter_to = inter[ok], u1[i[ok]], u2[j[ok]]
        ip = split_by_commune(inter_geoms, zones, areas=ia[ok])
        t_comm.append(ip.commune)
        t_from.append(inter_from[ip.poly])
        t_to.append(inter_to[ip.poly])
        t_area.append(ip.area)
    comm = np.concatenate(t_comm)
    pf = np.concatenate(t_from)
    pt = np.concatenate(t_to)
    area = np.concatenate(t_area)
    transitions = _transition_table(comm, cs1[pf], us1[pf], cs2[pt], us2[pt], area, zones, vintage_from, vintage_to)

    changes = _empty_changes(layer_from.crs)
    if keep_changes:
        changes = _change_polygons(
            g1, g2, match, inter_geoms, inter_from, inter_to, (cs1, us1, cs2, us2), zones, vintage_from, vintage_to,
            layer_from.crs,
        )
    log.info(
        "vintages %s→%s: %d identical polygons paired, %d overlaid", vintage_from, vintage_to,
        int((match >= 0).sum()), len(u1),
    )
    return PairResult(stock1, stock2, transitions, changes, int((match >= 0).sum()), len(u1))


def transition_pieces(
    layer_from: gpd.GeoDataFrame,
    layer_to: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame | Zones,
    *,
    vintage_from: int,
    vintage_to: int,
) -> pd.DataFrame:
    """Transition areas per commune between two full vintages: ``code, vintage_from, vintage_to,
    cs_from, us_from, cs_to, us_to, area_m2``."""
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
    """Transitions per commune from an IGN change (DIFF) layer, and its polygons cut by commune."""
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


def _change_polygons(g1: np.ndarray, g2: np.ndarray, match: np.ndarray, inter_geoms: np.ndarray,
                     inter_from: np.ndarray, inter_to: np.ndarray,
                     classes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], zones: Zones, vf: int,
                     vt: int, crs: Any) -> gpd.GeoDataFrame:
    cs1, us1, cs2, us2 = classes
    idx1 = np.flatnonzero(match >= 0)
    changed = (cs1[idx1] != cs2[match[idx1]]) | (us1[idx1] != us2[match[idx1]])
    src_geoms = [g1[idx1[changed]]]
    src_from = [idx1[changed]]
    src_to = [match[idx1[changed]]]
    if len(inter_geoms):
        ch = (cs1[inter_from] != cs2[inter_to]) | (us1[inter_from] != us2[inter_to])
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
    pf, pt = f[parts.poly], t[parts.poly]
    return gpd.GeoDataFrame(
        {
            "code": zones.codes[parts.commune],
            "vintage_from": int(vf),
            "vintage_to": int(vt),
            "cs_from": cs1[pf], "us_from": us1[pf], "cs_to": cs2[pt], "us_to": us2[pt],
            "area_m2": parts.area,
        },
        geometry=pg,
        crs=crs,
    )
