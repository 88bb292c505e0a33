"""The ``[ocsge]`` step: OCS GE vintages and change layers → stock, flow, transition and land-account
tables, and the change polygons.

The plan of files (:func:`ocsol.departements.plan_ocsge`) is computed per département
(:func:`ocsge_departement`, one Dask task each with ``[ocsge] departements``): each reads its
vintages as Arrow streams, pairs them with the engine (:func:`ocsol.change.compare_vintages`) and
returns commune-level pieces. :func:`ocsge_tables` merges them, aggregates parents once
(:func:`ocsol.indicators.build_tables`), then adds what sits under ``[ocsge]``: the décret's
thresholds (:mod:`ocsol.threshold_tables`), the fragmentation (:mod:`ocsol.fragmentation`) and
IGN's artificialisation products (:mod:`ocsol.steps.ign_artif`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import change, indicators, nomenclature
from ..cluster import open_client, run_tasks
from ..config import Config
from ..departements import OcsgeInputs, OcsgePieces, merge_pieces, plan_ocsge
from ..departements import parse_year as _year
from ..errors import ConfigError, CoverageError, InvariantError
from ..io.ocsge import OcsgeStream, read_ocsge, read_ocsge_diff
from ..io.vector import read_layer, working_crs
from ..step_common import (
    StepOutput,
    classify_layer,
    diff_extent,
    file_provenance,
    partial_qa,
    qa_row,
)
from ..territories import Territories
from . import ign_artif


def ocsge_tables(config: Config, territories: Territories, *, workers: int | None = None,
                 scheduler: str | None = None, progress: bool = False,
                 client: Any = None) -> StepOutput:
    """The ``[ocsge]`` step: stock, flow, transition and land-account tables of the OCS GE vintages
    and change layers (and, under ``[ocsge]``, the thresholds, fragmentation and IGN products).

    Returns the tables, the change polygons, provenance and QA rows. With ``[ocsge] departements``
    each département is one task (:func:`run_departements`); parents are aggregated once.
    """
    if not territories.has_geometry:
        raise ConfigError(
            f"{territories.source}: OCS GE indicators need commune polygons; the territories table has no geometry"
        )
    plan = plan_ocsge(config)
    communes = territories.communes[["code", "geometry"]]
    if plan[0].dep is None:
        pieces = ocsge_departement(config, plan[0], communes=communes)
    else:  # one task per département (Dask), parents aggregated once on the merged communes
        pieces = run_departements(config, plan, communes, workers=workers, scheduler=scheduler,
                                  progress=progress, client=client)
    tables, changes, provenance, qa = _ocsge_tables(config, territories, pieces)
    return StepOutput(tables=tables, provenance=provenance, qa=qa, changes=changes)


def ocsge_departement(config: Config, inputs: OcsgeInputs, *, communes: gpd.GeoDataFrame) -> OcsgePieces:
    """The commune-level pieces of one département's OCS GE files (or of all files).

    Reads the vintages and change layers of ``inputs``, cuts them by the communes they reach
    (all of ``communes`` without a département) and returns the pieces tables, change polygons,
    classes, provenance and QA notes, before any aggregation to parents. Runs as a Dask task.
    """
    sec = config.ocsge
    base_rule_name = sec.rule
    base_rule = nomenclature.load_rule(_rule_ref(config, base_rule_name))
    out = OcsgePieces()
    out.provenance += file_provenance("rule", nomenclature.rule_source(_rule_ref(config, base_rule_name)))
    qa, stock_parts, trans_parts, change_parts, classes_parts = out.qa, out.stock, out.transitions, out.changes, out.classes
    full_pairs, extents = out.full_pairs, out.extents
    out.rule_tables.append(base_rule.assign(rule=str(base_rule_name), applies_to="default"))

    # the vintages are streamed by Arrow batches (never held whole): see change.compare_vintages
    streams = {}
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocsol-sha256")  # beside the engine
    provenance = []
    for year, p in inputs.vintages.items():
        streams[year] = OcsgeStream(p, crs=config.crs, cs_field=sec.cs_field, us_field=sec.us_field,
                                    layer=sec.layer, batch_size=int(sec.batch_rows))
        provenance.append(hashing.submit(file_provenance, f"ocsge {year}", p))
    years = sorted(streams)
    zones = _zones(communes, [s.bounds for s in streams.values()], inputs.dep)
    noted: set[int] = set()

    def vintage_notes(year: int, summary: pd.DataFrame, repaired: int) -> None:
        """QA and classes of a vintage, once (a middle vintage is streamed for two pairs)."""
        if year in noted:
            return
        noted.add(year)
        p = inputs.vintages[year]
        if repaired:
            qa.append(qa_row("ocsge", f"repaired geometries in vintage {year}", repaired, str(p),
                          key="ocsge.repaired_vintage", files=[p], vintage=int(year)))
        for c in ("cs", "us"):
            n = int(summary.loc[summary[c] == "", "n"].sum())
            if n:
                qa.append(qa_row("ocsge", f"polygons with an empty {c} code (classified by the rule table)", n, str(p),
                              key="ocsge.empty_code", files=[p], field=c))
        classes_parts.append(nomenclature.classify(summary[["cs", "us"]], base_rule, source=str(p),
                                                   area=summary["area_m2"], count=summary["n"]))

    if len(years) == 1:
        stock, summary, repaired = change.stock_vintage(streams[years[0]], zones, vintage=years[0])
        vintage_notes(years[0], summary, repaired)
        stock_parts.append(stock)
    for y1, y2 in zip(years, years[1:], strict=False):
        res = change.compare_vintages(streams[y1], streams[y2], zones, vintage_from=y1, vintage_to=y2, crs=config.crs)
        side_classes, side_repaired = res.classes or {}, res.repaired or {}  # (compare_vintages gives both)
        vintage_notes(y1, side_classes["from"], side_repaired["from"])
        vintage_notes(y2, side_classes["to"], side_repaired["to"])
        if not stock_parts or y1 not in {int(s["vintage"].iloc[0]) for s in stock_parts if len(s)}:
            stock_parts.append(res.stock_from)
        stock_parts.append(res.stock_to)
        trans_parts.append(res.transitions)
        change_parts.append(res.changes.assign(_pair=""))
        full_pairs.append((y1, y2))
        both = set(res.stock_from["code"]) & set(res.stock_to["code"])
        extents.append(pd.DataFrame({"code": sorted(both), "vintage_from": y1, "vintage_to": y2}))
        qa.append(qa_row("ocsge", f"polygons identical in {y1} and {y2} (no overlay needed)", res.matched, "",
                      key="ocsge.identical", y1=int(y1), y2=int(y2)))
        qa.append(qa_row("ocsge", f"polygons of {y1} overlaid with {y2}", res.overlaid, "", key="ocsge.overlaid",
                      y1=int(y1), y2=int(y2)))
    del streams
    hashing.shutdown()
    for f in provenance:
        out.provenance += f.result()

    for entry in inputs.diffs:
        y1, y2 = entry.vintage_from, entry.vintage_to
        resolved = list(entry.paths)
        diff, repaired = read_ocsge_diff(resolved, vintage_from=y1, vintage_to=y2, crs=config.crs,
                                         layer=entry.layer)
        for p in resolved:
            out.provenance += file_provenance(f"ocsge diff {y1}-{y2}", p)
        if repaired:
            qa.append(qa_row("ocsge", f"repaired geometries in change layer {y1}-{y2}", repaired,
                          ", ".join(map(str, resolved)), key="ocsge.repaired_diff", files=resolved, y1=int(y1),
                          y2=int(y2)))
        qa += _empty_codes(diff, ["cs_from", "us_from", "cs_to", "us_to"], ", ".join(map(str, resolved)), resolved)
        rule = base_rule
        if entry.rule:
            rule = nomenclature.load_rule(_rule_ref(config, entry.rule))
            out.provenance += file_provenance(f"rule {y1}-{y2}", nomenclature.rule_source(_rule_ref(config, entry.rule)))
        dzones = _zones(communes, [tuple(diff.total_bounds)] if len(diff) else [], inputs.dep)
        table, ch = change.diff_pieces(diff, dzones, vintage_from=y1, vintage_to=y2)
        extents.append(diff_extent(diff, communes, y1, y2))
        cls = classify_layer(diff, ["cs_from", "cs_to"], ["us_from", "us_to"], rule, ", ".join(map(str, resolved)))
        trans_parts.append(_flag_pair(table, cls))  # each change layer is flagged by its own rule
        change_parts.append(ch.assign(_pair=f"{y1}-{y2}"))
        if entry.rule:
            out.rule_tables.append(rule.assign(rule=str(entry.rule), applies_to=f"change layer {y1}-{y2}"))
        classes_parts.append(cls.assign(_pair=f"{y1}-{y2}"))
        total = float(diff.geometry.area.sum())
        inside = float(table["area_m2"].sum())
        if total - inside > 1.0:
            qa.append(qa_row("ocsge", f"change-layer area outside the territories, {y1}-{y2} (ha)",
                          round((total - inside) / 1e4, 4), "", key="ocsge.diff_outside", y1=int(y1), y2=int(y2)))
    return out


def run_departements(
    config: Config, plan: list[OcsgeInputs], communes: Any, *, workers: int | None = None,
    scheduler: str | None = None, progress: bool = False, client: Any = None,
) -> OcsgePieces:
    """Compute every département of ``plan`` as a task and merge their pieces.

    ``workers=0`` runs them one after another in this process; otherwise on ``client``, on the
    scheduler at ``scheduler``, or on a new LocalCluster of ``workers`` processes.
    """
    items = [(config, inputs) for inputs in plan]
    labels = [str(p.dep) for p in plan]
    kwargs = dict(desc="Départements", unit="dép.", progress=progress, labels=labels, communes=communes)
    if client is not None or workers == 0:
        parts = run_tasks(client, ocsge_departement, items, **kwargs)
    else:
        with open_client(workers=workers, scheduler=scheduler, n_tasks=len(plan)) as cl:
            parts = run_tasks(cl, ocsge_departement, items, **kwargs)
    return merge_pieces(parts, [p.dep for p in plan])


def _concat_vintages(by_dep: list[dict[int, gpd.GeoDataFrame]]) -> dict[int, gpd.GeoDataFrame]:
    """The vintages of every département as one layer per year (the départements do not overlap)."""
    if len(by_dep) == 1:
        return by_dep[0]
    return {y: gpd.GeoDataFrame(pd.concat([d[y] for d in by_dep], ignore_index=True), geometry="geometry",
                                crs=by_dep[0][y].crs) for y in sorted(by_dep[0])}


def _zones(communes: gpd.GeoDataFrame, bounds: list[tuple[float, float, float, float] | None],
           dep: str | None) -> change.Zones:
    """Zones of the communes within the bounds of a département's layers (every commune without
    a département, or when a layer's bounds are not in its metadata)."""
    if dep is None or any(b is None for b in bounds):
        return change.Zones.from_communes(communes)
    boxes = [shapely.box(*b) for b in bounds if b is not None]
    idx = communes.sindex.query(shapely.union_all(boxes), predicate="intersects") if boxes else []
    return change.Zones.from_communes(communes.iloc[np.sort(np.asarray(idx, dtype=np.int64))])


def _ocsge_tables(config: Config, territories: Territories,
                  pieces: OcsgePieces) -> tuple[dict[str, pd.DataFrame], Any, list[dict], list[dict]]:
    sec = config.ocsge
    base_rule_name = sec.rule
    qa, provenance = list(pieces.qa), list(pieces.provenance)
    stock_parts, trans_parts, change_parts = pieces.stock, pieces.transitions, pieces.changes
    full_pairs, extents, rule_tables = pieces.full_pairs, pieces.extents, pieces.rule_tables
    classes = _merge_classes(pieces.classes)
    base_classes = classes[classes["_pair"] == ""].drop(columns="_pair")
    trans_parts = [p if set(indicators.FLAG_COLUMNS) <= set(p.columns) else _flag_pair(p, base_classes)
                   for p in trans_parts]
    stock_p = pd.concat(stock_parts, ignore_index=True) if stock_parts else pd.DataFrame(columns=change.STOCK_COLUMNS)
    trans_p = pd.concat(trans_parts, ignore_index=True) if trans_parts else pd.DataFrame(columns=change.TRANSITION_COLUMNS)
    extent = pd.concat(extents, ignore_index=True) if extents else None
    try:
        built = indicators.build_tables(stock_p, trans_p, base_classes, territories, full_pairs=full_pairs,
                                        extent=extent, measure=_rule_measure(base_rule_name))
        tables = built.as_dict()
        qa += partial_qa(built.partial, _rule_measure(base_rule_name))
    except (CoverageError, InvariantError) as exc:  # name the files behind the vintages
        files = "; ".join(f"{y} = {config.resolve(p)}" for y, p in sorted(sec.vintages.items()))
        raise type(exc)(f"{exc} [OCS GE vintages: {files}]") from None
    if len(stock_p):
        outside = sorted(set(territories.communes["code"]) - set(stock_p["code"]))
        if outside:
            qa.append(qa_row("ocsge", "communes outside every OCS GE vintage (no stock rows)", len(outside),
                          ", ".join(outside[:10]) + (" …" if len(outside) > 10 else ""),
                          key="ocsge.outside_vintages", codes=outside))
    if len(tables["stock_summary"]):
        indicators.check_coverage(tables["stock_summary"], min_coverage=float(sec.min_coverage), source="OCS GE")
    for entry in sec.diff:  # a change layer with its own rule: its pair's rows measure that rule
        if entry.rule:
            pair = (_year(entry.from_, config), _year(entry.to, config))
            for name in ("flows", "transitions", "land_account"):
                t = tables[name]
                hit = (t["vintage_from"].astype(int) == pair[0]) & (t["vintage_to"].astype(int) == pair[1])
                t.loc[hit, "measure"] = _rule_measure(entry.rule)
    thresholded = None
    want_thresholds = config.has("ocsge.thresholds") and config.thresholds.enabled
    if want_thresholds or config.has("fragmentation"):  # both need whole vintages (patches cross communes)
        # one dict of vintages per département ([ocsge] departements) or one for all files; read in
        # this process (not on Dask workers): thresholds are applied per département, as IGN does
        by_dep = [{y: read_ocsge(p, crs=config.crs, cs_field=sec.cs_field, us_field=sec.us_field,
                                 layer=sec.layer)[0] for y, p in sorted(inputs.vintages.items())}
                  for inputs in plan_ocsge(config)]
        vintages = _concat_vintages(by_dep)
        zones = change.Zones.from_communes(territories.communes)
        diff_pairs = {(_year(e.from_, config), _year(e.to, config)) for e in sec.diff}
    if want_thresholds:
        from ..threshold_tables import configured_thresholds  # start-up: scipy.sparse (≈ 0.5 s)
        from ..thresholds import ThresholdSettings  # start-up: scipy.sparse (≈ 0.5 s)

        extra, notes, thresholded = configured_thresholds(
            by_dep, base_classes, zones, territories, settings=ThresholdSettings.from_config(config.thresholds.as_dict()),
            edge=_edge(config), rule_name=base_rule_name, diff_pairs=diff_pairs, label=config.label)
        for name, df in extra.items():
            tables[name] = pd.concat([tables[name], df], ignore_index=True)
        qa += notes
    if config.has("fragmentation"):
        from ..fragmentation import configured_fragmentation  # start-up: scipy.sparse (≈ 0.5 s)

        frag_sec = config.fragmentation
        frag, notes = configured_fragmentation(
            vintages, base_classes, thresholded, zones, territories, summary=tables["stock_summary"],
            lines=_barrier_lines(config), barrier=frag_sec.barrier, adjacency=frag_sec.adjacency,
            buffer_m=float(frag_sec.buffer_m), label=config.label)
        tables.update(frag)
        qa += notes
    tables["rule"] = pd.concat(rule_tables, ignore_index=True)
    changes = pd.concat(change_parts, ignore_index=True) if change_parts else None
    if changes is not None and len(changes):
        # flags from the rule of each pair (a change layer may have its own rule)
        flags = classes[["_pair", "cs", "us", "artif", "imper"]]
        changes = changes.merge(flags.rename(columns={"cs": "cs_from", "us": "us_from", "artif": "artif_from",
                                                      "imper": "imper_from"}), on=["_pair", "cs_from", "us_from"], how="left")
        changes = changes.merge(flags.rename(columns={"cs": "cs_to", "us": "us_to", "artif": "artif_to",
                                                      "imper": "imper_to"}), on=["_pair", "cs_to", "us_to"], how="left")
        changes = gpd.GeoDataFrame(changes.drop(columns="_pair"), geometry="geometry", crs=config.crs)
        changes["area_m2"] = changes["area_m2"].round(4)
    if changes is not None:
        changes.insert(1, "measure", _rule_measure(base_rule_name))
        for entry in sec.diff:
            if entry.rule:
                hit = ((changes["vintage_from"] == _year(entry.from_, config))
                       & (changes["vintage_to"] == _year(entry.to, config)))
                changes.loc[hit, "measure"] = _rule_measure(entry.rule)
    if sec.artif.vintages or sec.artif_diff:  # IGN Artificialisation products, under [ocsge]
        base_rule = nomenclature.load_rule(_rule_ref(config, base_rule_name))
        ign = ign_artif.ign_tables(config, territories, base_rule, base_rule_name)
        changes = ign_artif.merge_into(ign, tables, changes, crs=config.crs)
        provenance += ign.provenance
        qa += ign.qa
    nomen = nomenclature.outside_nomenclature(classes)
    for r in nomen.itertuples():
        code = r.code if r.code else "(vide)"
        qa.append(qa_row("ocsge", f"code outside the OCS GE nomenclature, classified by the rule table ({r.field})",
                      "", code, key="ocsge.outside_nomenclature", field=str(r.field), code=code))
    return tables, changes, provenance, qa


def _edge(config: Config) -> shapely.Geometry | None:
    """``[ocsge.thresholds] edge``: the union of the data edge layer, or None (the vintages' union)."""
    if not config.thresholds.edge:
        return None
    g, _ = read_layer(config.resolve(config.thresholds.edge), what="data edge layer", crs=working_crs(config.crs))
    return g.geometry.union_all()


def _barrier_lines(config: Config) -> np.ndarray:
    """``[fragmentation] lines``: the geometries of every linear barrier layer, one array."""
    sec = config.fragmentation
    lines: list[Any] = []
    for path in sec.lines if isinstance(sec.lines, list) else [sec.lines]:
        g, _ = read_layer(config.resolve(path), what="linear barrier layer", crs=working_crs(config.crs),
                          polygons=False)
        lines.extend(g.geometry.values)
    return np.array(lines, dtype=object)


def _flag_pair(pieces: pd.DataFrame, classes: pd.DataFrame) -> pd.DataFrame:
    """Transition pieces with the artif/imper flags of the rule of their pair of vintages."""
    cl = classes.drop(columns=[c for c in ("_pair",) if c in classes])
    return indicators.flag(indicators.flag(pieces, cl, suffix="_from"), cl, suffix="_to")


def _merge_classes(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p if "_pair" in p else p.assign(_pair="") for p in parts]
    if not parts:
        return pd.DataFrame(columns=["cs", "us", "artif", "imper", "cs_label", "us_label", "_pair"])
    return pd.concat(parts, ignore_index=True).drop_duplicates(["_pair", "cs", "us"]).reset_index(drop=True)


def _empty_codes(layer, cols, source, files=()) -> list[dict]:
    out = []
    for c in cols:
        n = int((layer[c] == "").sum())
        if n:
            out.append(qa_row("ocsge", f"polygons with an empty {c} code (classified by the rule table)", n, source,
                           key="ocsge.empty_code", files=files, field=c))
    return out


def _rule_measure(rule: str) -> str:
    """``decret_matrix`` for the packaged décret rule, ``custom_rule`` for a user rule table."""
    return "decret_matrix" if str(rule) == "decret-2023" else "custom_rule"


def _rule_ref(config: Config, rule: str) -> str | Path:
    return rule if rule in nomenclature.BUILTIN_RULES else config.resolve(rule)
