"""The IGN artificialisation products step (``[ocsge.artif]``, ``[[ocsge.artif_diff]]``): the legal
measure ``decret_ign``, read from IGN's layers with their own ``artif`` flags.

The layers are read here (:mod:`ocsol.io.ocsge_artif`) and turned into pieces by the pure
functions of :mod:`ocsol.ign_artif`; the tables are built like the OCS GE ones. The OCS GE step
(:mod:`ocsol.steps.ocsge`) puts these rows first in its tables (:func:`merge_into`).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import change, indicators
from ..config import Config
from ..departements import entry_paths
from ..departements import parse_year as _year
from ..errors import ConfigError
from ..ign_artif import MEASURE, artif_stock_pieces, artif_transition_pieces, with_imper
from ..io.ocsge_artif import read_ocsge_artif, read_ocsge_artif_diff
from ..step_common import (
    StepOutput,
    classify_layer,
    diff_extent,
    file_provenance,
    partial_qa,
    qa_row,
    stack,
)
from ..territories import Territories


def merge_into(ign: StepOutput, tables: dict[str, pd.DataFrame], changes: Any, *, crs: str) -> Any:
    """Put the ``decret_ign`` rows first in the OCS GE ``tables`` (in place) and its change
    polygons before the OCS GE ones; returns the change polygons."""
    for name, df in ign.tables.items():
        tables[name] = stack(df, tables.get(name))  # the legal measure's rows first
    ign_changes = ign.changes
    if ign_changes is not None and len(ign_changes):
        ign_changes = ign_changes[["code", "measure", *[c for c in ign_changes.columns
                                                          if c not in ("code", "measure")]]]
        ign_changes["area_m2"] = ign_changes["area_m2"].round(4)
        if changes is None or not len(changes):
            changes = ign_changes
        else:
            changes = gpd.GeoDataFrame(pd.concat([ign_changes, changes[list(ign_changes.columns)]],
                                                 ignore_index=True), geometry="geometry", crs=crs)
    return changes


def ign_tables(config: Config, territories: Territories, rule: pd.DataFrame, rule_name: str) -> StepOutput:
    """Read ``[ocsge.artif.vintages]`` and ``[[ocsge.artif_diff]]`` and build the ``decret_ign`` tables.

    ``rule`` (named ``rule_name``) is the ``[ocsge]`` rule: it gives the imperviousness the product
    lacks. Returns the tables, the change polygons (measure ``decret_ign``), provenance and QA rows.
    """
    zones = change.Zones.from_communes(territories.communes)
    sec = config.ocsge
    art = sec.artif
    provenance: list[dict] = []
    qa: list[dict] = []
    stock_parts, trans_parts, change_parts, class_parts, extents = [], [], [], [], []
    years: list[int] = []
    stock_codes: dict[int, set[str]] = {}
    for key, path in sorted(art.vintages.items(), key=lambda kv: _year(kv[0], config)):
        year = _year(key, config)
        p = config.resolve(path)
        layer, repaired = read_ocsge_artif(p, vintage=year, crs=config.crs, layer=art.layer)
        provenance += file_provenance(f"ocsge artificialisation {year}", p)
        if repaired:
            qa.append(qa_row("ocsge", f"repaired geometries in artificialisation layer {year}", repaired, str(p)))
        seuil = layer["crit_seuil"].fillna(False).to_numpy(dtype=bool)
        if seuil.any():
            qa.append(qa_row("ocsge", f"polygons decided by an interpretation threshold (crit_seuil) in {year} (ha)",
                             round(float(layer.geometry.area[seuil].sum()) / 1e4, 4), str(p)))
        cls = classify_layer(layer, ["cs"], ["us"], rule, str(p))
        class_parts.append(cls)
        stock_parts.append(with_imper(artif_stock_pieces(layer, zones, vintage=year), cls))
        stock_codes[year] = set(stock_parts[-1]["code"])
        years.append(year)
    pairs: list[tuple[int, int]] = []
    for i, entry in enumerate(sec.artif_diff, start=1):
        y1, y2 = _year(entry.from_, config), _year(entry.to, config)
        if y1 >= y2:
            raise ConfigError(f"{config.label}: [[ocsge.artif_diff]] #{i}: from = {y1} must be before to = {y2}")
        if (y1, y2) in pairs:
            raise ConfigError(f"{config.label}: [[ocsge.artif_diff]] #{i}: the pair {y1}→{y2} is already given; "
                              "list all files of one pair in the same entry's paths")
        pairs.append((y1, y2))
        resolved = entry_paths(config, entry)
        diff, repaired = read_ocsge_artif_diff(resolved, vintage_from=y1, vintage_to=y2, crs=config.crs,
                                               layer=entry.layer)
        provenance += [r for p in resolved for r in file_provenance(f"ocsge artificialisation diff {y1}-{y2}", p)]
        if repaired:
            qa.append(qa_row("ocsge", f"repaired geometries in artificialisation difference {y1}-{y2}", repaired,
                             ", ".join(map(str, resolved))))
        cls = classify_layer(diff, ["cs_from", "cs_to"], ["us_from", "us_to"], rule, ", ".join(map(str, resolved)))
        class_parts.append(cls)
        table, ch = artif_transition_pieces(diff, zones, vintage_from=y1, vintage_to=y2)
        trans_parts.append(with_imper(with_imper(table, cls, suffix="_from"), cls, suffix="_to"))
        change_parts.append(ch)
        extents.append(diff_extent(diff, territories, y1, y2))
        if y1 in stock_codes and y2 in stock_codes:  # communes both IGN stocks cover: 0 when no change
            both = sorted(stock_codes[y1] & stock_codes[y2])
            extents.append(pd.DataFrame({"code": both, "vintage_from": y1, "vintage_to": y2}))
        outside = float(diff.geometry.area.sum()) - float(table["area_m2"].sum())
        if outside > 1.0:
            qa.append(qa_row("ocsge", f"artificialisation difference area outside the territories, {y1}-{y2} (ha)",
                             round(outside / 1e4, 4), ""))
    for y1, y2 in zip(years, years[1:], strict=False):
        if (y1, y2) not in pairs:
            qa.append(qa_row("ocsge", f"no IGN artificialisation difference layer for {y1}-{y2}: no {MEASURE} flows "
                                      "for this pair (add [[ocsge.artif_diff]])", "", ""))
    if not stock_parts and not trans_parts:
        return StepOutput(provenance=provenance, qa=qa)
    classes = pd.concat(class_parts, ignore_index=True).drop_duplicates(["cs", "us"]).reset_index(drop=True)
    stock_p = pd.concat(stock_parts, ignore_index=True) if stock_parts else pd.DataFrame(columns=change.STOCK_COLUMNS)
    trans_p = (pd.concat(trans_parts, ignore_index=True) if trans_parts
               else pd.DataFrame(columns=change.TRANSITION_COLUMNS))
    extent = pd.concat(extents, ignore_index=True) if extents else None
    built = indicators.build_tables(stock_p, trans_p, classes, territories, extent=extent, measure=MEASURE)
    tables = built.as_dict()
    qa += partial_qa(built.partial, MEASURE)
    if len(tables["stock_summary"]):
        indicators.check_coverage(tables["stock_summary"], min_coverage=float(sec.min_coverage),
                                  source="OCS GE artificialisation")
    qa += _flow_stock_gaps(tables, pairs, years)
    changes = None
    if change_parts:
        changes = pd.concat(change_parts, ignore_index=True)
        changes = with_imper(with_imper(changes, classes, suffix="_from"), classes, suffix="_to")
        changes = gpd.GeoDataFrame(changes.assign(measure=MEASURE), geometry="geometry", crs=config.crs)
    return StepOutput(tables=tables, provenance=provenance, qa=qa, changes=changes)


def _flow_stock_gaps(tables: dict[str, pd.DataFrame], pairs: list[tuple[int, int]], years: list[int]) -> list[dict]:
    """IGN's difference layer against its two stock layers: the largest gap, as a QA note (not an error)."""
    out = []
    ss = tables["stock_summary"].set_index(["level", "code", "vintage"])["artif_ha"]
    fl = tables["flows"]
    for y1, y2 in pairs:
        if y1 not in years or y2 not in years:
            continue
        f = fl[(fl["vintage_from"] == y1) & (fl["vintage_to"] == y2)].set_index(["level", "code"])["net_artif_ha"]
        d = (ss.xs(y2, level="vintage") - ss.xs(y1, level="vintage")).reindex(f.index)
        gap = (f - d).abs()
        if len(gap) and np.nanmax(gap.to_numpy(dtype=float)) > 1e-4:
            lvl, code = gap.idxmax()
            out.append(qa_row("ocsge", f"IGN net artificialisation {y1}-{y2} differs from its stock difference (ha, "
                                       "largest gap)", round(float(gap.max()), 4), f"{lvl} {code}"))
    return out

