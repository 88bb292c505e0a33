"""Stocks and flows of the décret measure with the thresholds computed by ocsol (``decret_thresholds``).

Each full vintage is thresholded on its own, as a whole (:func:`ocsol.thresholds.apply_thresholds`;
never per commune: patches cross communes). The thresholded vintages then go through the same
overlay engine and indicator tables as the matrix measure, so the flows of a pair are the
difference of the two thresholded vintages (THRESHOLDS.md §5: IGN applies the thresholds per
millésime before differencing) and satisfy the same invariants (net flow = stock difference).

How the per-polygon status travels through the engine: the thresholded status is appended to
the usage code (``us`` + :data:`SEP` + ``0``/``1``) so that the overlay keeps polygons of one
(cs, us) couple but different status apart; the class table gives each such key its status.
The key is split again in the output tables, which therefore hold real codes only.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import change, indicators
from .errors import ConfigError
from .territories import Territories
from .thresholds import ThresholdSettings, apply_thresholds

log = logging.getLogger(__name__)

SEP = "\x1f"  # joins the usage code and the thresholded status inside the engine only
MEASURE = "decret_thresholds"
#: Tables of the thresholded measure (transitions and land accounts are those of the matrix:
#: the thresholds change the status of polygons, not their couverture or usage).
TABLES = ("stock_summary", "stock", "flows")


def with_status(layer: gpd.GeoDataFrame, classes: pd.DataFrame) -> gpd.GeoDataFrame:
    """The layer (``cs, us, geometry``) with the matrix status ``artif`` of its couples."""
    flags = classes[["cs", "us", "artif"]].drop_duplicates(["cs", "us"])
    artif = layer[["cs", "us"]].merge(flags, on=["cs", "us"], how="left")["artif"]
    out = layer.copy()
    out["artif"] = artif.to_numpy()
    return out


def threshold_layers(
    vintages: dict[int, gpd.GeoDataFrame],
    classes: pd.DataFrame,
    *,
    settings: ThresholdSettings,
    edge: shapely.Geometry | None = None,
) -> dict[int, gpd.GeoDataFrame]:
    """Each vintage thresholded on its own: ``cs, us, artif, artif_seuil, crit_seuil, geometry``."""
    return {year: apply_thresholds(with_status(layer, classes), settings=settings, edge=edge)
            for year, layer in sorted(vintages.items())}


def threshold_tables(
    layers: dict[int, gpd.GeoDataFrame],
    classes: pd.DataFrame,
    zones: change.Zones,
    territories: Territories,
) -> dict[str, pd.DataFrame]:
    """``stock_summary``, ``stock`` and ``flows`` of thresholded vintages, ``measure = decret_thresholds``.

    Parameters
    ----------
    layers
        Year → thresholded layer (:func:`threshold_layers`).
    classes
        Flags and labels of the (cs, us) couples (:func:`ocsol.nomenclature.classify`);
        ``imper`` is taken from it (imperméabilisation has no threshold).
    zones, territories
        The communes, as for the matrix tables.
    """
    keyed = {y: _keyed(layer) for y, layer in layers.items()}
    years = sorted(keyed)
    stock_parts, trans_parts, extents, full_pairs = [], [], [], []
    if len(years) == 1:
        stock_parts.append(change.stock_pieces(keyed[years[0]], zones, vintage=years[0]))
    for k, (y1, y2) in enumerate(zip(years, years[1:], strict=False)):
        res = change.compare_vintages(keyed[y1], keyed[y2], zones, vintage_from=y1, vintage_to=y2, keep_changes=False)
        if k == 0:
            stock_parts.append(res.stock_from)
        stock_parts.append(res.stock_to)
        trans_parts.append(res.transitions)
        full_pairs.append((y1, y2))
        both = sorted(set(res.stock_from["code"]) & set(res.stock_to["code"]))
        extents.append(pd.DataFrame({"code": both, "vintage_from": y1, "vintage_to": y2}))
    stock_p = pd.concat(stock_parts, ignore_index=True)
    trans_p = (pd.concat(trans_parts, ignore_index=True) if trans_parts
               else pd.DataFrame(columns=change.TRANSITION_COLUMNS))
    extent = pd.concat(extents, ignore_index=True) if extents else None
    keyed_classes = _keyed_classes(classes)
    built = indicators.build_tables(stock_p, trans_p, keyed_classes, territories, full_pairs=full_pairs,
                                    extent=extent, measure=MEASURE)
    t = built.as_dict()
    st = t["stock"].copy()
    st["us"] = st["us"].str.split(SEP, n=1).str[0]
    out = {"stock_summary": t["stock_summary"], "stock": st, "flows": t["flows"]}
    out["stock_summary"].attrs["partial"] = built.partial  # parents left out (a partial sum), for qa.csv
    return out


def threshold_qa(layers: dict[int, gpd.GeoDataFrame]) -> list[dict[str, Any]]:
    """What the thresholds changed per vintage (polygons and ha), and run diagnostics.

    Every row has a catalogue key (group ``qa`` of ``ocsol/fr/catalogue.csv``): reports word it in French.
    """
    rows = []
    for year, lay in sorted(layers.items()):
        info = lay.attrs.get("thresholds", {})
        crit = lay["crit_seuil"].to_numpy()
        area = shapely.area(np.asarray(lay.geometry.values))
        filled = crit & lay["artif_seuil"].to_numpy()
        label = "/".join(str(info.get(k, "")) for k in ("adjacency", "schedule", "edge_policy", "built_scope"))
        made, unmade = area[filled].sum() / 1e4, area[crit & ~filled].sum() / 1e4
        rows.append(_qa(f"thresholds {year}: polygons whose status the thresholds changed (crit_seuil)",
                        int(crit.sum()), f"settings {label}; made artificial {made:.4f} ha, "
                        f"made non-artificial {unmade:.4f} ha", key="thresholds.changed", vintage=int(year),
                        settings=label))
        if info.get("oscillating"):
            rows.append(_qa(f"thresholds {year}: polygons oscillating under fixpoint, set artificial",
                            int(info["oscillating"]), "enclosed by protected buildings", key="thresholds.oscillating",
                            vintage=int(year)))
        if info.get("exploded_parts"):
            rows.append(_qa(f"thresholds {year}: multipolygons split into parts judged separately",
                            int(info["exploded_parts"]), "", key="thresholds.exploded", vintage=int(year)))
        if info.get("excluded"):
            rows.append(_qa(f"thresholds {year}: polygons taken out of the connectivity graph "
                            "(exclude_from_connectivity), matrix status kept", int(info["excluded"]),
                            ", ".join(info.get("exclude_from_connectivity", [])), key="thresholds.excluded",
                            vintage=int(year)))
    return rows


def configured_thresholds(
    by_dep: list[dict[int, gpd.GeoDataFrame]], classes: pd.DataFrame, zones: change.Zones,
    territories: Territories, *, settings: ThresholdSettings, edge: shapely.Geometry | None = None,
    rule_name: str, diff_pairs: set[tuple[int, int]], label: str = "ocsol.toml",
) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]], dict[int, gpd.GeoDataFrame]]:
    """The ``[ocsge.thresholds]`` tables: ``(tables, qa notes, thresholded layers)``.

    ``by_dep``: the vintages of each département (``[ocsge] departements``), or one dict for all
    files. Each département is thresholded on its own (IGN delivers and thresholds OCS GE per
    département; a patch ends at its edge), then the thresholded layers are put together.
    ``settings`` and the data ``edge`` (the union of the edge layer, read by the OCS GE step) come
    from ``[ocsge.thresholds]``; ``label`` names the configuration in error messages.
    """
    if rule_name != "decret-2023":
        raise ConfigError(f"{label}: [ocsge.thresholds] applies the décret's thresholds to its matrix; it "
                          f"needs ocsge.rule = \"decret-2023\" (found {rule_name!r}); remove one of the two")
    if not by_dep or not by_dep[0]:
        raise ConfigError(f"{label}: [ocsge.thresholds] needs full OCS GE vintages ([ocsge.vintages]); "
                          "change layers alone cannot be thresholded")
    layers = _merge_layers([threshold_layers(v, classes, settings=settings, edge=edge) for v in by_dep])
    notes = threshold_qa(layers)
    notes += [_qa(f"pair {a}-{b} from a change layer: no decret_thresholds flows "
                  "(thresholds need both full vintages)", "", "", key="thresholds.change_layer_pair", y1=int(a),
                  y2=int(b)) for a, b in sorted(diff_pairs)]
    notes.append(_qa("decret_thresholds rows: thresholds computed by ocsol from raw OCS GE, not IGN's "
                     "product; imperméabilisation has no threshold (same as decret_matrix)", "", settings.label,
                     key="thresholds.computed_by_ocsol", settings=settings.label))
    tables = threshold_tables(layers, classes, zones, territories)
    partial = tables["stock_summary"].attrs.pop("partial", None)
    if partial is not None and len(partial):
        items = [f"{r.level} {r.code} ({r.n_missing} of {r.n_members} communes outside)" for r in partial.itertuples()]
        notes.append(_qa(f"{MEASURE} figures not given for territories whose communes are not all covered (a partial "
                         "sum)", len(items), ", ".join(items[:10]) + (" …" if len(items) > 10 else ""),
                         key="ocsge.partial_parents", topic="ocsge", codes=partial["code"].astype(str).tolist(),
                         measure=MEASURE))
    return tables, notes, layers


def _merge_layers(parts: list[dict[int, gpd.GeoDataFrame]]) -> dict[int, gpd.GeoDataFrame]:
    """Thresholded layers of several départements as one layer per year, run diagnostics added up."""
    if len(parts) == 1:
        return parts[0]
    out = {}
    for year in sorted(parts[0]):
        pieces = [p[year] for p in parts]
        merged = gpd.GeoDataFrame(pd.concat(pieces, ignore_index=True), geometry="geometry", crs=pieces[0].crs)
        infos = [p.attrs.get("thresholds", {}) for p in pieces]
        info = dict(infos[0])
        for k in ("oscillating", "exploded_parts", "excluded"):
            info[k] = sum(int(i.get(k, 0)) for i in infos)
        info["iterations"] = max(int(i.get("iterations", 0)) for i in infos)
        merged.attrs = {"thresholds": info}
        out[year] = merged
    return out


def _qa(item: str, count: object, detail: str, *, key: str, topic: str = "thresholds", codes: tuple[str, ...] | list[str] = (),
        **params: object) -> dict[str, Any]:
    """One ``qa.csv`` row (columns of :data:`ocsol.pipeline.QA_COLUMNS`); ``key`` words it in French,
    ``codes`` name the territories it concerns (a report shows it to them only)."""
    return {"topic": topic, "key": key, "item": item, "count": count, "detail": detail, "codes": ";".join(codes),
            "files": "", "params": json.dumps(params, ensure_ascii=False, sort_keys=True)}


def _keyed(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    flag = np.where(layer["artif_seuil"].to_numpy(dtype=bool), "1", "0")
    us = layer["us"].astype(str).to_numpy(dtype=object) + SEP + flag.astype(object)
    return gpd.GeoDataFrame({"cs": layer["cs"].to_numpy(dtype=object), "us": us},
                            geometry=layer.geometry.values, crs=layer.crs)


def _keyed_classes(classes: pd.DataFrame) -> pd.DataFrame:
    base = classes.drop_duplicates(["cs", "us"])
    parts = []
    for flag in (False, True):
        part = base.copy()
        part["us"] = part["us"].astype(str) + SEP + ("1" if flag else "0")
        part["artif"] = flag
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
