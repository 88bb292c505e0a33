"""The legal artificialisation measure from IGN's OCS GE Artificialisation products (``decret_ign``).

IGN publishes, per département and vintage, the OCS GE with the décret n° 2023-1096 matrix **and
its interpretation thresholds** already applied (field ``artif``), and a difference layer between
two vintages (field ``artificialisation`` = 1 / −1). Stocks are the areas of the ``artif``
polygons per commune and flows the areas of the difference polygons per commune, the way Mon
Diagnostic Artificialisation computes them (docs/artificialisation.md): the flags are
IGN's, never recomputed from the codes. Imperviousness is not in the product: it comes from the
configured rule (décret: CS1.1.1.x) and is labelled with the same measure.

The pure functions turn layers into the pieces tables of ``docs/ARCHITECTURE.md`` carrying
their own flags; :func:`compute_ign_tables` reads the configured files and builds the tables.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from . import change, indicators
from .config import Config
from .departements import entry_paths
from .departements import parse_year as _year
from .errors import ConfigError
from .io.ocsge_artif import read_ocsge_artif, read_ocsge_artif_diff
from .step_common import classify_layer, diff_extent, file_provenance, partial_qa, qa_row
from .territories import Territories

MEASURE = "decret_ign"


def artif_stock_pieces(layer: gpd.GeoDataFrame, zones: change.Zones, *, vintage: int) -> pd.DataFrame:
    """Area per commune, (cs, us) couple and IGN ``artif`` flag for one vintage.

    Returns ``code, vintage, cs, us, artif, area_m2``.
    """
    flags = layer["artif"].to_numpy(dtype=bool)
    parts = [change.stock_pieces(layer[flags == f], zones, vintage=vintage).assign(artif=bool(f))
             for f in (True, False) if (flags == f).any()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*change.STOCK_COLUMNS, "artif"])


def artif_transition_pieces(
    diff: gpd.GeoDataFrame, zones: change.Zones, *, vintage_from: int, vintage_to: int
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Transitions per commune from IGN's artificialisation difference layer, with its flags.

    Returns the pieces (``code, vintage_from, vintage_to, cs_from, us_from, cs_to, us_to,
    artif_from, artif_to, area_m2``) and the difference polygons cut by commune.
    """
    af, at = diff["artif_from"].to_numpy(dtype=bool), diff["artif_to"].to_numpy(dtype=bool)
    tables, polys = [], []
    for f, t in ((False, True), (True, False), (False, False), (True, True)):
        sel = (af == f) & (at == t)
        if sel.any():
            table, ch = change.diff_pieces(diff[sel], zones, vintage_from=vintage_from, vintage_to=vintage_to)
            tables.append(table.assign(artif_from=f, artif_to=t))
            polys.append(ch.assign(artif_from=f, artif_to=t))
    cols = [*change.TRANSITION_COLUMNS, "artif_from", "artif_to"]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=cols)
    changes = pd.concat(polys, ignore_index=True) if polys else change._empty_changes(diff.crs)
    return table, gpd.GeoDataFrame(changes, geometry="geometry", crs=diff.crs)


def with_imper(pieces: pd.DataFrame, classes: pd.DataFrame, *, suffix: str = "") -> pd.DataFrame:
    """Add the rule's ``imper`` flag of each couple (the product has no imperviousness)."""
    cl = classes[["cs", "us", "imper"]].drop_duplicates(["cs", "us"]).rename(
        columns={"cs": f"cs{suffix}", "us": f"us{suffix}", "imper": f"imper{suffix}"})
    out = pieces.merge(cl, on=[f"cs{suffix}", f"us{suffix}"], how="left", validate="many_to_one")
    out[f"imper{suffix}"] = out[f"imper{suffix}"].fillna(False).astype(bool)
    return out


def compute_ign_tables(config: Config, territories: Territories, zones: change.Zones, rule: pd.DataFrame,
                       rule_name: str):
    """Read ``[ocsge.artif.vintages]`` and ``[[ocsge.artif_diff]]`` and build the ``decret_ign`` tables.

    Returns ``(tables, changes, provenance, qa)`` like the OCS GE step of :func:`ocsol.compute`.
    """
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
        return {}, None, provenance, qa
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
    return tables, changes, provenance, qa


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

