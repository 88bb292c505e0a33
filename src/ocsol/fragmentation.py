"""Landscape fragmentation: effective mesh size of the non-artificial land (Jaeger 2000; Moser et al. 2007).

An indicator beyond the law (DOMAIN.md §4.3, THRESHOLDS.md §8b). Barriers are the artificial land
of a vintage (by the matrix, or after the décret thresholds) plus optional linear layers (roads,
rail); the unfragmented *patches* are the connected groups of the remaining polygons.

For a reporting unit of area ``A_t`` (km²):

- cutting-out (CUT): ``m_eff = Σ A_i² / A_t`` where ``A_i`` are the patches cut by the unit's
  boundary (the boundary acts as a barrier);
- cross-boundary connection (CBC): ``m_eff_CBC = Σ A_i · A_i^cmpl / A_t`` where ``A_i`` is the
  part of patch ``i`` inside the unit and ``A_i^cmpl`` the patch's complete area (inside the data,
  whatever the unit). CBC is additive by area: a parent's value is the area-weighted mean of its
  communes' values, which is how parents get it;
- effective mesh density ``s_eff = 1 000 / m_eff_CBC`` meshes per 1 000 km² (EEA convention,
  UNVERIFIED scaling).

Patches come from one adjacency graph and connected components, never from geometric unions:
the CBC patches from the polygons, the CUT patches from the polygons' parts inside each unit,
with edges kept only between parts of the same unit at the level computed.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely import STRtree

from . import change, schema, thresholds
from .errors import ConfigError
from .indicators import complete_parents
from .territories import Territories, aggregate
from .threshold_tables import _qa, with_status
from .thresholds import adjacent_pairs, decode, geometry_values, is_wkb

log = logging.getLogger(__name__)

COLUMNS = schema.columns("fragmentation")
CHANGE_COLUMNS = schema.columns("fragmentation_change")
M2_PER_KM2 = 1e6


def cut_by_lines(geoms: np.ndarray, lines: np.ndarray, *, buffer_m: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Remove linear barriers (buffered by ``buffer_m``) from polygons; return the parts and their source index.

    >>> import shapely
    >>> parts, src = cut_by_lines(np.array([shapely.box(0, 0, 10, 10)]),
    ...                           np.array([shapely.LineString([(5, -1), (5, 11)])]))
    >>> len(parts), [round(float(a), 6) for a in shapely.area(parts)], src.tolist()
    (2, [45.0, 45.0], [0, 0])
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(lines) == 0 or len(geoms) == 0:
        return geoms, np.arange(len(geoms))
    if is_wkb(geoms):  # by chunks of polygons (a polygon's parts do not depend on the others): WKB parts
        done = [cut_by_lines(decode(geoms, slice(k, k + thresholds.CHUNK)), lines, buffer_m=buffer_m)
                for k in range(0, len(geoms), thresholds.CHUNK)]
        return (np.concatenate([shapely.to_wkb(p) for p, _ in done]),
                np.concatenate([src + k * thresholds.CHUNK for k, (_, src) in enumerate(done)]))
    bufs = shapely.buffer(np.asarray(lines, dtype=object), buffer_m, cap_style="flat")
    poly_i, buf_j = STRtree(bufs).query(geoms, predicate="intersects")
    out = geoms.copy()
    if len(poly_i):
        order = np.argsort(poly_i, kind="stable")
        poly_i, buf_j = poly_i[order], buf_j[order]
        starts = np.flatnonzero(np.r_[True, poly_i[1:] != poly_i[:-1]])
        hit = poly_i[starts]
        cutters = [shapely.union_all(bufs[buf_j[a:b]]) for a, b in zip(starts, [*starts[1:], len(poly_i)], strict=True)]
        out[hit] = shapely.difference(geoms[hit], np.array(cutters, dtype=object))
    parts, src = shapely.get_parts(out, return_index=True)
    keep = shapely.area(parts) > 0
    return parts[keep], src[keep]


def _scan(geoms: np.ndarray, zones: change.Zones) -> tuple[np.ndarray, np.ndarray, change.Parts]:
    """Bounds, areas and :func:`ocsol.change.split_by_commune` of shapely or WKB polygons, in one pass.

    The polygons are decoded :data:`ocsol.thresholds.CHUNK` at a time. The parts of a polygon do
    not depend on the others and come in polygon order, so the chunks' parts, concatenated,
    are those of one call.
    """
    step = thresholds.CHUNK
    bounds, area, done = np.empty((len(geoms), 4)), np.empty(len(geoms)), []
    for k in range(0, max(len(geoms), 1), step):
        g = decode(geoms, slice(k, k + step))
        bounds[k:k + len(g)] = shapely.bounds(g)
        area[k:k + len(g)] = shapely.area(g)
        p = change.split_by_commune(g, zones, areas=area[k:k + len(g)])
        done.append(change.Parts(poly=p.poly + k, commune=p.commune, area=p.area, cut=p.cut, piece=p.piece))
    parts = change.Parts(*(np.concatenate([getattr(p, f) for p in done])
                           for f in ("poly", "commune", "area", "cut", "piece")))
    return bounds, area, parts


def _components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    m = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    return cast(np.ndarray, connected_components(m, directed=False)[1])


def effective_mesh(
    open_land: np.ndarray,
    zones: change.Zones,
    territories: Territories,
    *,
    adjacency: str = "queen",
    communes: list[str] | None = None,
) -> pd.DataFrame:
    """CUT and CBC effective mesh size of the open (non-barrier) land, per territory at every level.

    Parameters
    ----------
    open_land
        Polygons of non-artificial land, linear barriers already cut out (:func:`cut_by_lines`).
        They may extend beyond the territories: CBC patches keep their complete area. Shapely
        geometries or WKB; WKB is only decoded by chunks (:data:`ocsol.thresholds.CHUNK`), so
        that the memory does not grow with the decoded layer.
    zones
        The communes (:class:`ocsol.change.Zones`).
    territories
        Communes and levels; a unit's area ``A_t`` is its territory area.
    adjacency
        ``queen`` (touching at a point connects, 8-connectivity) or ``rook``.
    communes
        Communes the layer covers: those without open land get 0 (default: communes holding
        open land only).

    Returns
    -------
    DataFrame
        ``level, code, meff_km2, meff_cbc_km2, seff_per_1000km2``.
    """
    geoms = np.asarray(open_land, dtype=object)
    # boxes, areas and the parts of the polygons inside each commune piece, in one decoding pass
    bounds, area, parts = _scan(geoms, zones)
    # CBC: patches of the whole layer, their complete areas
    pi, pj = adjacent_pairs(geoms, adjacency=adjacency, bounds=bounds)
    patch = _components(len(geoms), pi, pj)
    del pi, pj
    complete = np.bincount(patch, weights=area)
    # the parts' geometries: the same objects (geometries or WKB), those crossing a boundary clipped
    pgeoms, pbounds = geoms[parts.poly], bounds[parts.poly]
    del bounds
    if parts.cut.any():
        cut = np.flatnonzero(parts.cut)
        step = thresholds.CHUNK
        for k in range(0, len(cut), step):
            c = cut[k:k + step]
            clipped = change._polygonal(shapely.intersection(decode(pgeoms, c), zones.pieces[parts.piece[c]]))
            pbounds[c] = shapely.bounds(clipped)
            pgeoms[c] = shapely.to_wkb(clipped) if is_wkb(geoms) else clipped
    commune = zones.codes[parts.commune]
    units = territories.units().set_index(["level", "code"])["area_m2"]
    # CBC per commune: Σ part × complete area of its patch; parents by area weighting (additive)
    cbc = pd.DataFrame({"code": commune, "w": parts.area * complete[patch[parts.poly]]})
    cbc = cbc.groupby("code")["w"].sum()
    if communes is not None:  # communes the layer covers, open land or not (no open land: m_eff = 0)
        cbc = cbc.reindex(sorted(set(map(str, communes)) | set(cbc.index)), fill_value=0.0)
    cbc = cbc.rename_axis("code").reset_index()
    comm_area = territories.communes.set_index("code")["area_m2"]
    cbc["area_m2"] = cbc["code"].map(comm_area)
    cbc["cbc_x_area"] = cbc["w"]  # m_eff_CBC × A_t = Σ A_i A_i^cmpl: summing it is the area weighting
    cbc_all = aggregate(cbc, territories, values=["cbc_x_area", "area_m2"])
    cbc_all["meff_cbc_km2"] = cbc_all["cbc_x_area"] / cbc_all["area_m2"] / M2_PER_KM2
    # CUT per level: the unit boundary cuts, so parts connect only within one unit
    qi, qj = adjacent_pairs(pgeoms, adjacency=adjacency, bounds=pbounds) if len(pgeoms) else (np.array([], int), np.array([], int))
    rows = []
    memb = territories.membership.set_index("code")
    for level in territories.all_levels:
        unit = pd.Series(commune) if level == "commune" else pd.Series(commune).map(memb[level])
        unit = unit.fillna("").astype(str).to_numpy(dtype=object)
        keep = (unit[qi] == unit[qj]) & (unit[qi] != "")
        lab = _components(len(pgeoms), qi[keep], qj[keep])
        a = np.bincount(lab, weights=parts.area)
        first = np.zeros(len(a), dtype=np.int64)
        first[lab] = np.arange(len(lab))  # any part of a patch names its unit (edges join one unit only)
        df = pd.DataFrame({"code": unit[first], "a2": a**2})
        df = df[df["code"] != ""].groupby("code", as_index=False)["a2"].sum()
        df.insert(0, "level", level)
        rows.append(df)
    cut_all = pd.concat(rows, ignore_index=True)
    out = cbc_all[["level", "code", "meff_cbc_km2"]].merge(cut_all, on=["level", "code"], how="left")
    a_t = units.reindex(pd.MultiIndex.from_frame(out[["level", "code"]])).to_numpy()
    out["meff_km2"] = out.pop("a2").fillna(0.0).to_numpy() / a_t / M2_PER_KM2
    with np.errstate(divide="ignore"):
        out["seff_per_1000km2"] = np.where(out["meff_cbc_km2"] > 0, 1000.0 / out["meff_cbc_km2"], np.nan)
    return out[["level", "code", "meff_km2", "meff_cbc_km2", "seff_per_1000km2"]]


def fragmentation_table(
    layers: dict[int, gpd.GeoDataFrame],
    zones: change.Zones,
    territories: Territories,
    *,
    barrier: str,
    status: str,
    lines: np.ndarray | None = None,
    buffer_m: float = 0.5,
    adjacency: str = "queen",
    communes: dict[int, list[str]] | None = None,
) -> pd.DataFrame:
    """``fragmentation.csv`` rows for every vintage: open land = polygons whose ``status`` column is False.

    ``communes``: per vintage, the communes the layer covers (see :func:`effective_mesh`).
    """
    lines = np.asarray(lines if lines is not None else [], dtype=object)
    parts = []
    for year, layer in sorted(layers.items()):
        open_land = geometry_values(layer)[~layer[status].to_numpy(dtype=bool)]
        open_land, _ = cut_by_lines(open_land, lines, buffer_m=buffer_m)
        t = effective_mesh(open_land, zones, territories, adjacency=adjacency,
                           communes=None if communes is None else communes.get(year))
        t.insert(2, "vintage", int(year))
        t.insert(3, "barrier", barrier)
        parts.append(t)
    return pd.concat(parts, ignore_index=True)[COLUMNS]


def fragmentation_change(table: pd.DataFrame) -> pd.DataFrame:
    """Change of the effective mesh between consecutive vintages, per territory and barrier."""
    rows = []
    for (_level, _code, _barrier), grp in table.groupby(["level", "code", "barrier"], sort=False):
        g = grp.sort_values("vintage")
        for a, b in zip(g.itertuples(), g.iloc[1:].itertuples(), strict=False):
            rows.append({"level": a.level, "code": a.code, "barrier": a.barrier, "vintage_from": a.vintage,
                         "vintage_to": b.vintage, "meff_change_km2": b.meff_km2 - a.meff_km2,
                         "meff_cbc_change_km2": b.meff_cbc_km2 - a.meff_cbc_km2,
                         "meff_cbc_change_pct": ((b.meff_cbc_km2 / a.meff_cbc_km2 - 1) * 100
                                                 if a.meff_cbc_km2 > 0 else np.nan),
                         "seff_change_per_1000km2": b.seff_per_1000km2 - a.seff_per_1000km2})
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def configured_fragmentation(vintages: dict[int, gpd.GeoDataFrame], classes: pd.DataFrame,
                             thresholded: dict[int, gpd.GeoDataFrame] | None, zones: change.Zones,
                             territories: Territories, *, summary: pd.DataFrame, lines: np.ndarray,
                             barrier: str = "matrix", adjacency: str = "queen", buffer_m: float = 0.5,
                             label: str = "ocsol.toml") -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]]]:
    """The ``[fragmentation]`` tables: ``fragmentation`` and ``fragmentation_change``, and QA notes.

    ``lines``: the geometries of the linear barrier layers (read by the OCS GE step); ``barrier``,
    ``adjacency`` and ``buffer_m`` are the section's keys; ``label`` names the configuration in
    error messages.
    """
    choice = barrier
    barriers = {"matrix": ["matrix"], "thresholds": ["thresholds"], "both": ["matrix", "thresholds"]}.get(choice)
    if barriers is None:
        raise ConfigError(f"{label}: [fragmentation] barrier = {choice!r} is not known; use \"matrix\", "
                          "\"thresholds\" (artificial land by the matrix or after the thresholds) or \"both\"")
    for b in barriers:
        if b == "thresholds" and thresholded is None:
            raise ConfigError(f"{label}: [fragmentation] barrier = \"thresholds\" needs an [ocsge.thresholds] "
                              "section (enabled = true)")
    if adjacency not in ("queen", "rook"):
        raise ConfigError(f"{label}: [fragmentation] adjacency = {adjacency!r}; use \"queen\" or \"rook\"")
    if not vintages:
        raise ConfigError(f"{label}: [fragmentation] needs full OCS GE vintages ([ocsge.vintages])")
    s = summary[(summary["level"] == "commune") & (summary["covered_ha"] > 0)]
    s = s[s["measure"] != "decret_thresholds"]  # the matrix (or custom rule) rows: what each vintage covers
    covered = {int(y): list(g["code"]) for y, g in s.groupby("vintage")}
    parts = []
    for b in barriers:
        layers = thresholded if b == "thresholds" and thresholded is not None \
            else {y: with_status(v, classes) for y, v in vintages.items()}  # (None refused above)
        parts.append(fragmentation_table(layers, zones, territories, barrier=b,
                                         status="artif_seuil" if b == "thresholds" else "artif",
                                         lines=lines, buffer_m=float(buffer_m),
                                         adjacency=adjacency, communes=covered))
    table = pd.concat(parts, ignore_index=True)
    # a parent whose communes are not all covered by a vintage gets no row (a partial sum is no figure)
    cover = pd.DataFrame([(c, y) for y, codes in covered.items() for c in codes], columns=["code", "vintage"])
    table, partial = complete_parents(table, cover, territories, keys=["vintage"])
    notes = []
    if len(partial):
        items = [f"{r.level} {r.code} ({r.n_missing} of {r.n_members} communes outside)" for r in partial.itertuples()]
        notes.append(_qa("fragmentation not given for territories whose communes are not all covered (a partial "
                         "sum)", len(items), ", ".join(items[:10]) + (" …" if len(items) > 10 else ""),
                         key="fragmentation.partial_parents", topic="fragmentation",
                         codes=partial["code"].astype(str).tolist()))
    notes += [_qa("effective mesh size: an indicator beyond the law (Jaeger 2000, EEA), barriers "
                 f"= artificial land ({', '.join(barriers)}) + {len(lines)} linear feature(s)", "", "",
                 key=f"fragmentation.indicator_{choice}", topic="fragmentation", n_lines=len(lines))]
    return {"fragmentation": table, "fragmentation_change": fragmentation_change(table)}, notes
