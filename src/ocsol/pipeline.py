"""One way through: configuration → every indicator table → files.

:func:`compute` reads the inputs named in a :class:`~ocsol.config.Config`, computes every table
and returns a :class:`Results`; :func:`write_results` writes them atomically. The CLI, the
notebooks and scripts all call these two functions.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import change, indicators, nomenclature, raster_coverage, schema
from .cluster import open_client, run_tasks
from .config import PATH, Config, load_config
from .consumption_tables import compute_consumption_tables
from .departements import (
    OcsgeInputs,
    OcsgePieces,
    input_paths,
    merge_pieces,
    plan_ocsge,
)
from .departements import parse_year as _year
from .errors import ConfigError, CoverageError, InvariantError
from .ign_artif import compute_ign_tables
from .io.common import text_encoding
from .io.ocsge import OcsgeStream, read_ocsge, read_ocsge_diff
from .io.styles import change_layer_qml
from .io.targets import net_targets_from_config
from .io.territories import read_perimeters, read_territories
from .io.write import check_out_dir, manifest_files, publish_files, write_gpkg
from .step_common import classify_layer as _classify
from .step_common import diff_extent as _diff_extent
from .step_common import file_provenance, partial_qa
from .step_common import qa_row as _qa
from .territories import Territories
from .units import M2_PER_HA
from .zan_2031 import net_trajectory

log = logging.getLogger(__name__)

TABLE_ORDER = [
    "territories", "stock_summary", "stock", "flows", "transitions", "land_account",
    "consumption", "zan", "zan_path", "zan_coherence", "zan_2031", "efficiency", "qa",
]


@dataclass
class Results:
    """Everything one run computed.

    Attributes
    ----------
    tables
        Table name → DataFrame (names and columns in ``docs/ARCHITECTURE.md``).
    changes
        Change polygons cut by commune (``code, vintage_from, vintage_to, cs_from, us_from,
        cs_to, us_to, area_m2, artif_from, artif_to, geometry``).
    territories
        The territories the tables refer to.
    provenance
        One dict per input file: ``role, path, sha256, modified, size``.
    qa
        Notes on what was repaired, ignored or flagged (also in ``tables["qa"]``).
    """

    tables: dict[str, pd.DataFrame]
    changes: gpd.GeoDataFrame | None
    territories: Territories
    provenance: list[dict] = field(default_factory=list)
    config: Config | None = None

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def load_territories(config: Config) -> Territories:
    """Read the territories named in the configuration."""
    t = config.territories
    if not config.has("territories"):
        raise ConfigError(f"{config.label}: a [territories] section is required")
    return read_territories(
        config.resolve(t.path),
        code=t.code, name=t.name, area=t.area, area_unit=t.area_unit,
        levels=t.levels, level_names=t.names,
        membership=config.resolve(t.membership) if t.membership else None,
        membership_code=t.membership_code, layer=t.layer, crs=config.crs,
    )


def compute(
    config: Config | str | os.PathLike[str], *, progress: bool = False, workers: int | None = None,
    scheduler: str | None = None, client: Any = None,
) -> Results:
    """Compute every table the configuration has inputs for.

    Parameters
    ----------
    config
        A :class:`~ocsol.config.Config` or the path of an ``ocsol.toml``.
    progress
        Show a progress bar on long steps (raster windows, départements); the CLI sets it.
    workers, scheduler, client
        Where the départements of an ``[ocsge] departements`` configuration run
        (:mod:`ocsol.departements`): an existing Dask ``client``, the Dask scheduler at
        ``scheduler``, else a new LocalCluster of ``workers`` processes (default: one per CPU);
        ``workers=0`` runs them one after another in this process. Same tables either way.

    Returns
    -------
    Results

    Examples
    --------
    >>> from ocsol.sample import sample_config
    >>> res = compute(sample_config("arcachon"))
    >>> sorted(res.tables)[:3]
    ['flows', 'land_account', 'qa']
    """
    if not isinstance(config, Config):
        config = load_config(config)
    territories = load_territories(config)
    provenance = file_provenance("territories", config.resolve(config.territories.path))
    qa: list[dict] = []
    if territories.repaired:
        qa.append(_qa("territories", "repaired geometries", territories.repaired, territories.source,
                      key="territories.repaired", files=[territories.source]))
    qa += [_qa("territories", note, "", territories.source, key="territories.crs_outside", files=[territories.source],
               fits=note.rsplit("; ", 1)[-1].replace(" would fit", "")) for note in territories.notes]
    tables: dict[str, pd.DataFrame] = {}
    units = territories.units()
    units["area_ha"] = units.pop("area_m2") / M2_PER_HA
    perimeters = config.territories.perimeters
    if perimeters:
        path = config.resolve(perimeters)
        units = perimeter_columns(units, read_perimeters(path))
        provenance += file_provenance("perimeters", path)
    tables["territories"] = units
    changes = None
    if config.has("ocsge"):
        ocs_tables, changes, prov, notes = _compute_ocsge(config, territories, workers=workers,
                                                          scheduler=scheduler, progress=progress, client=client)
        tables.update(ocs_tables)
        provenance += prov
        qa += notes
    if config.has("raster"):
        # start-up: rasterio and numba (≈ 1 s), for rasters only
        from .crosstab import compute_raster_pieces

        rp = compute_raster_pieces(config, territories, progress=progress)
        full = sorted({(int(a), int(b)) for a, b in rp.transitions[["vintage_from", "vintage_to"]].itertuples(index=False)})
        t = indicators.build_tables(rp.stock, rp.transitions, rp.classes, territories, full_pairs=full,
                                    pieces_from="raster", measure="raster_proxy")

        vint = {int(y): config.resolve(p) for y, p in config.raster.vintages.items()}
        shares = raster_coverage.coverage_shares(
            rp.covered, territories, raster_coverage.outside_extent_m2(territories, vint[min(vint)]), sorted(vint))
        covered_tables, cov_qa = raster_coverage.apply_min_coverage(
            t.as_dict(), shares, territories, min_coverage=float(config.raster.min_coverage))
        qa += [_qa(**r) for r in cov_qa]
        qa += partial_qa(t.partial, "raster_proxy", topic="raster")
        no_imper = not rp.classes["imper"].astype(bool).any()
        for name, df in covered_tables.items():
            df = df.assign(source=f"raster:{config.raster.legend}")
            if no_imper:  # the legend says nothing of imperviousness: unknown, not 0 ha
                cols = [c for c in ("imper_ha", "imper_pct", "desimper_ha", "net_imper_ha") if c in df]
                df[cols] = float("nan")
            tables[name] = _stack(tables.get(name), df)  # [ocsge] rows kept: told apart by measure
        if no_imper:
            qa.append(_qa("raster", "imperméabilisation not measured: the legend has no impervious class", "",
                          str(config.raster.legend), key="raster.no_imper",
                          legend=str(config.raster.legend)))
        for year, raster_path in config.raster.vintages.items():
            provenance += file_provenance(f"raster {year}", config.resolve(raster_path))
        for r in rp.unknown.to_dict("records"):
            qa.append(_qa("raster", f"unknown raster value {r['value']} in {r['vintage']} (counted as no data)",
                          int(r["pixels"]), f"{r['path']}: {r['area_m2'] / 1e4:.4f} ha", key="raster.unknown_value",
                          files=[str(r["path"])], value=str(r["value"]), vintage=str(r["vintage"]),
                          area_ha=float(r["area_m2"]) / 1e4))
        cov = rp.covered
        for col, label in (("nodata_m2", "no data"), ("unknown_m2", "unknown values"),
                           ("other_vintage_m2", "valid in one vintage only")):
            part = cov[cov[col] > 0] if col in cov else cov.iloc[0:0]
            if len(part):
                qa.append(_qa("raster", f"zone area left out of stocks: {label} (ha)",
                              round(float(part[col].sum()) / 1e4, 4),
                              ", ".join(sorted(set(part["code"].astype(str))))[:200], key=f"raster.{col[:-3]}",
                              codes=sorted(set(part["code"].astype(str)))))
        qa.append(_qa("raster", "raster figures are proxies (classified imagery), not the OCS GE legal measure",
                      "", str(config.raster.legend), key="raster.proxy",
                      legend=str(config.raster.legend)))
    if any(config.has(s) for s in ("consumption", "population")):
        summary = tables.get("stock_summary")
        extra = compute_consumption_tables(
            config, territories,
            stock_summary=None if summary is None else indicators.headline_measure(summary))
        status = extra.pop("correction_status", None)
        if status is not None:  # [cog]: how each territory's consumption was re-keyed to its codes
            tables["territories"] = tables["territories"].merge(status, on=["level", "code"], how="left")
        for name, df in extra.items():
            if name.endswith("_qa"):  # summarised in qa.csv, and written whole (per commune) as <name>.csv
                qa += [_qa(name, str(r.get("check", r.get("note", ""))), r.get("count", r.get("value", "")),
                           str(r.get("detail", r.get("code", ""))), key=f"{name}.{_row_key(r)}",
                           codes=_codes(r), status=str(r.get("status", "") or ""),
                           year=_int_or_none(r.get("year_start")))
                       for r in df.to_dict("records")]
            tables[name] = df
        for name, table in (("consumption", config.consumption), ("population", config.population),
                            ("households", config.households), ("jobs", config.jobs)):
            if config.has(name):
                provenance += file_provenance(name, config.resolve(table.path))
        z = config.zan
        for key, zan_path in (("targets", z.targets), ("documents", z.documents),
                              ("guarantee_deleguees", z.guarantee_deleguees), ("mutualisation", z.mutualisation),
                              ("deductions", z.deductions)):
            if zan_path:
                provenance += file_provenance(f"zan {key}", config.resolve(zan_path))
    net_targets = config.zan.net_targets or []
    if net_targets or len(tables.get("flows", ())):
        per_end = int(config.zan.period[1])
        nt = net_targets_from_config(net_targets)
        exists = set(zip(territories.names["level"], territories.names["code"], strict=True))
        exists |= {("commune", c) for c in territories.communes["code"]}
        seen: dict[tuple[str, str], int] = {}
        for i, r in enumerate(nt.itertuples(index=False), start=1):
            if (r.level, r.code) not in exists:  # else a phantom row, and the unit left without its target
                raise ConfigError(f"{config.label}: [[zan.net_targets]] #{i}: {r.level} {r.code} names no territory "
                                  "of the run; fix level and code (INSEE/SIREN code as text)")
            if (r.level, r.code) in seen:  # zan_2031.csv has one decade per territory: one entry would be lost
                raise ConfigError(f"{config.label}: [[zan.net_targets]] #{i}: {r.level} {r.code} already has entry "
                                  f"#{seen[(r.level, r.code)]}; give one entry per territory (the decade after "
                                  "[zan].period)")
            seen[(r.level, r.code)] = i
        tables["zan_2031"] = net_trajectory(tables.get("flows"), nt,
                                            period=(per_end + 1, per_end + 10),
                                            horizon=int(config.zan.horizon))
    qa += _encoding_notes(provenance, config)
    tables["qa"] = _collapse_qa(pd.DataFrame(qa, columns=QA_COLUMNS))
    return Results(tables=tables, changes=changes, territories=territories, provenance=provenance, config=config)


#: Columns of ``qa.csv``: ``key`` (worded by the French catalogue, ``ocsol/fr/catalogue.csv``
#: group ``qa``), ``item``/``detail`` (plain English, for logs), ``codes`` (communes or zones
#: concerned, ``;``-separated; empty when the row is about a whole file or run), ``files``
#: (file names concerned), ``params`` (JSON values the French wording uses).
QA_COLUMNS = schema.columns("qa")


def perimeter_columns(units: pd.DataFrame, expected: pd.DataFrame) -> pd.DataFrame:
    """``territories`` with ``n_communes_expected``, ``perimeter_cog`` and ``perimeter_complete``.

    ``perimeter_complete`` is True/False where an expected count is known (``n_communes`` ≥ it),
    empty otherwise: a parent whose communes in the data are fewer than its members is partial.
    """
    out = units.merge(expected.rename(columns={"n_communes": "n_communes_expected", "cog": "perimeter_cog"}),
                      on=["level", "code"], how="left")
    known = out["n_communes_expected"].notna()
    out["perimeter_complete"] = pd.array([pd.NA] * len(out), dtype="boolean")
    out.loc[known, "perimeter_complete"] = (out.loc[known, "n_communes"] >= out.loc[known, "n_communes_expected"])
    return out


def _stack(first: pd.DataFrame | None, second: pd.DataFrame) -> pd.DataFrame:
    """Rows of two measures in one table (the first's rows first); empty parts are skipped."""
    parts = [t for t in (first, second) if t is not None and len(t)]
    if not parts:
        return second if first is None else first
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts, ignore_index=True)


def _collapse_qa(qa: pd.DataFrame, *, limit: int = 3) -> pd.DataFrame:
    """One row per (topic, item) when an item repeats more than ``limit`` times (one per commune…);
    the codes of the merged rows are kept together in ``codes``."""
    rows = []
    for (topic, item), grp in qa.groupby(["topic", "item"], sort=False):
        if len(grp) <= limit:
            rows.extend(grp.to_dict("records"))
            continue
        counts = pd.to_numeric(grp["count"], errors="coerce")
        details = grp["detail"].astype(str).tolist()
        codes = sorted({c for v in grp["codes"] for c in str(v or "").split(";") if c})
        first = grp.iloc[0]
        rows.append({"topic": topic, "key": first["key"], "item": item,
                     "count": int(counts.sum()) if counts.notna().all() else len(grp),
                     "detail": " | ".join(details[:limit]) + f" | … and {len(grp) - limit} more",
                     "codes": ";".join(codes), "files": first["files"], "params": first["params"]})
    return pd.DataFrame(rows, columns=qa.columns)


def _encoding_notes(provenance: list[dict], config: Config) -> list[dict]:
    """A qa row for every text input that was not UTF-8 (how it was decoded, on the whole file)."""
    paths = [r["path"] for r in provenance]
    for name, sec in config.sections():  # inputs without a provenance row (membership, COG tables…)
        if not config.has(name):
            continue
        for _, value, spec in sec.items():
            if isinstance(value, str) and spec is PATH:
                paths.append(str(config.resolve(value)))
    notes = []
    for path in dict.fromkeys(paths):
        if Path(path).suffix.lower() in {".csv", ".txt", ".tsv"} and Path(path).is_file():
            enc = text_encoding(path)
            if enc not in ("utf-8", "utf-8-sig"):
                notes.append(_qa("encoding", f"not UTF-8: decoded as {enc} (whole file checked)", "", path,
                                 key="encoding.not_utf8", files=[path], file=Path(path).name, encoding=enc))
    return notes


def _row_key(row: dict) -> str:
    """The key of a consumption/COG QA row: its ``key`` when given, else its ``check``."""
    key = row.get("key")
    return key if isinstance(key, str) and key else str(row.get("check", ""))


def _codes(row: dict) -> list[str]:
    """Codes a consumption/COG QA row concerns (its ``code``, or the codes listed in its detail)."""
    codes = row.get("codes")
    if isinstance(codes, list):
        return [str(c) for c in codes]
    code = row.get("code")
    if isinstance(code, str) and code:
        return [code]
    return []


def _int_or_none(value: Any) -> int | None:
    try:
        return None if pd.isna(value) else int(value)
    except (TypeError, ValueError):
        return None


def _compute_ocsge(config: Config, territories: Territories, *, workers: int | None = None,
                   scheduler: str | None = None, progress: bool = False, client: Any = None):
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
    return _ocsge_tables(config, territories, pieces)


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
            qa.append(_qa("ocsge", f"repaired geometries in vintage {year}", repaired, str(p),
                          key="ocsge.repaired_vintage", files=[p], vintage=int(year)))
        for c in ("cs", "us"):
            n = int(summary.loc[summary[c] == "", "n"].sum())
            if n:
                qa.append(_qa("ocsge", f"polygons with an empty {c} code (classified by the rule table)", n, str(p),
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
        qa.append(_qa("ocsge", f"polygons identical in {y1} and {y2} (no overlay needed)", res.matched, "",
                      key="ocsge.identical", y1=int(y1), y2=int(y2)))
        qa.append(_qa("ocsge", f"polygons of {y1} overlaid with {y2}", res.overlaid, "", key="ocsge.overlaid",
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
            qa.append(_qa("ocsge", f"repaired geometries in change layer {y1}-{y2}", repaired,
                          ", ".join(map(str, resolved)), key="ocsge.repaired_diff", files=resolved, y1=int(y1),
                          y2=int(y2)))
        qa += _empty_codes(diff, ["cs_from", "us_from", "cs_to", "us_to"], ", ".join(map(str, resolved)), resolved)
        rule = base_rule
        if entry.rule:
            rule = nomenclature.load_rule(_rule_ref(config, entry.rule))
            out.provenance += file_provenance(f"rule {y1}-{y2}", nomenclature.rule_source(_rule_ref(config, entry.rule)))
        dzones = _zones(communes, [tuple(diff.total_bounds)] if len(diff) else [], inputs.dep)
        table, ch = change.diff_pieces(diff, dzones, vintage_from=y1, vintage_to=y2)
        extents.append(_diff_extent(diff, communes, y1, y2))
        cls = _classify(diff, ["cs_from", "cs_to"], ["us_from", "us_to"], rule, ", ".join(map(str, resolved)))
        trans_parts.append(_flag_pair(table, cls))  # each change layer is flagged by its own rule
        change_parts.append(ch.assign(_pair=f"{y1}-{y2}"))
        if entry.rule:
            out.rule_tables.append(rule.assign(rule=str(entry.rule), applies_to=f"change layer {y1}-{y2}"))
        classes_parts.append(cls.assign(_pair=f"{y1}-{y2}"))
        total = float(diff.geometry.area.sum())
        inside = float(table["area_m2"].sum())
        if total - inside > 1.0:
            qa.append(_qa("ocsge", f"change-layer area outside the territories, {y1}-{y2} (ha)",
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


def _ocsge_tables(config: Config, territories: Territories, pieces: OcsgePieces):
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
            qa.append(_qa("ocsge", "communes outside every OCS GE vintage (no stock rows)", len(outside),
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
        from .threshold_tables import configured_thresholds  # start-up: scipy.sparse (≈ 0.5 s)

        extra, notes, thresholded = configured_thresholds(config, by_dep, base_classes, zones, territories,
                                                          rule_name=base_rule_name, diff_pairs=diff_pairs)
        for name, df in extra.items():
            tables[name] = pd.concat([tables[name], df], ignore_index=True)
        qa += notes
    if config.has("fragmentation"):
        from .fragmentation import configured_fragmentation  # start-up: scipy.sparse (≈ 0.5 s)

        frag, notes = configured_fragmentation(config, vintages, base_classes, thresholded, zones, territories,
                                               summary=tables["stock_summary"])
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
    if sec.artif.vintages or sec.artif_diff:  # IGN Artificialisation products
        zones = change.Zones.from_communes(territories.communes)
        base_rule = nomenclature.load_rule(_rule_ref(config, base_rule_name))
        ign, ign_changes, prov, notes = compute_ign_tables(config, territories, zones, base_rule, base_rule_name)
        for name, df in ign.items():
            tables[name] = _stack(df, tables.get(name))  # the legal measure's rows first
        if ign_changes is not None and len(ign_changes):
            ign_changes = ign_changes[["code", "measure", *[c for c in ign_changes.columns
                                                              if c not in ("code", "measure")]]]
            ign_changes["area_m2"] = ign_changes["area_m2"].round(4)
            if changes is None or not len(changes):
                changes = ign_changes
            else:
                changes = gpd.GeoDataFrame(pd.concat([ign_changes, changes[list(ign_changes.columns)]],
                                                     ignore_index=True), geometry="geometry", crs=config.crs)
        provenance += prov
        qa += notes
    nomen = nomenclature.outside_nomenclature(classes)
    for r in nomen.itertuples():
        code = r.code if r.code else "(vide)"
        qa.append(_qa("ocsge", f"code outside the OCS GE nomenclature, classified by the rule table ({r.field})",
                      "", code, key="ocsge.outside_nomenclature", field=str(r.field), code=code))
    return tables, changes, provenance, qa


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
            out.append(_qa("ocsge", f"polygons with an empty {c} code (classified by the rule table)", n, source,
                           key="ocsge.empty_code", files=files, field=c))
    return out


def _rule_measure(rule: str) -> str:
    """``decret_matrix`` for the packaged décret rule, ``custom_rule`` for a user rule table."""
    return "decret_matrix" if str(rule) == "decret-2023" else "custom_rule"


def _rule_ref(config: Config, rule: str) -> str | Path:
    return rule if rule in nomenclature.BUILTIN_RULES else config.resolve(rule)


def manifest_from_config(cfg: Config | None) -> dict[str, Any]:
    """The settings reports need that are not in the tables (JSON-able), written as ``manifest.json``."""
    if cfg is None:
        return {}
    r = cfg.report
    return {
        "title": cfg.general.title,
        "config": str(cfg.source) if cfg.source else None,
        "rule": cfg.ocsge.rule if cfg.has("ocsge") else None,
        "thresholds": ({k: v for k, v in cfg.thresholds.as_dict().items() if k != "edge"}
                       if cfg.has("ocsge.thresholds") and cfg.thresholds.enabled else None),
        "fragmentation": ({**cfg.fragmentation.as_dict(), "lines": [Path(str(p)).name for p in (
            cfg.fragmentation.lines if isinstance(cfg.fragmentation.lines, list)
            else [cfg.fragmentation.lines])]} if cfg.has("fragmentation") else None),
        "raster_legend": cfg.raster.legend if cfg.has("raster") else None,
        "decades": cfg.zan.decades,
        "zan_horizon": cfg.zan.horizon,
        "neighbours": cfg.compare.neighbours,
        "compare_with": cfg.compare.with_,
        "report_title": r.title,
        "author": r.author,
        "report_levels": r.levels,
        "report_territories": r.territories,
        "report_profile": r.profile,
        "report_profiles": r.profiles or {},
        "report_year": r.year,
        "report_period": r.period,
        "report_texts": str(cfg.resolve(r.texts)) if r.texts else None,
        "report_previous": r.previous,
        "synthetic": _synthetic_inputs(cfg),
        "raster_versions": {str(k): str(v) for k, v in (cfg.raster.versions or {}).items()}
        if cfg.has("raster") else {},
    }


def _synthetic_inputs(cfg: Config) -> list[str]:
    """Inputs the configuration flags as synthetic: ``territories``, ``raster``, ``ocsge:<year>``."""
    out = []
    if cfg.territories.synthetic:
        out.append("territories")
    if cfg.has("raster") and cfg.raster.synthetic:
        out.append("raster")
    if cfg.has("ocsge"):
        if cfg.ocsge.synthetic:
            out += [f"ocsge:{int(y)}" for y in cfg.ocsge.vintages]
        for d in cfg.ocsge.diff:
            if d.synthetic:
                out += [f"ocsge:{int(d.from_)}", f"ocsge:{int(d.to)}"]
    return sorted(set(out))


def _table_writer(df: pd.DataFrame) -> Callable[[Path], None]:
    """A writer of one table as CSV (UTF-8, ``\\n`` line ends, six decimals) for :func:`publish_files`."""
    return lambda p: df.to_csv(p, index=False, encoding="utf-8", lineterminator="\n", float_format="%.6f")


def write_results(results: Results, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write every table as CSV (UTF-8), the change polygons as a GeoPackage, and provenance.

    All files are staged and moved into ``out_dir`` together: a failure leaves the previous
    outputs untouched. ``manifest.json`` lists the files (``files``): those an earlier run wrote
    there and this one does not are removed. An ``out_dir`` holding an input file is refused.

    Raises
    ------
    OutputError
        When ``out_dir`` holds an input, is locked by another run, or a file cannot be written.
    """
    inputs = [p["path"] for p in results.provenance]
    if results.config is not None:
        inputs += input_paths(results.config)
    check_out_dir(out_dir, inputs, label="output folder")
    writers: dict[str, Callable[[Path], object]] = {}
    for name in [n for n in TABLE_ORDER if n in results.tables] + sorted(set(results.tables) - set(TABLE_ORDER)):
        writers[f"{name}.csv"] = _table_writer(results.tables[name])
    memb = results.territories.membership
    writers["membership.csv"] = lambda p: memb.to_csv(p, index=False, lineterminator="\n")
    prov = pd.DataFrame(results.provenance, columns=schema.columns("provenance"))
    writers["provenance.csv"] = lambda p: prov.to_csv(p, index=False, lineterminator="\n")
    if results.changes is not None and len(results.changes):
        ch = results.changes
        writers["changes.gpkg"] = lambda p: write_gpkg(ch, p, layer="changes")
        writers["changes.parquet"] = lambda p: ch.to_parquet(p, index=False)  # GeoParquet
        writers["changes.qml"] = lambda p: p.write_text(change_layer_qml(), encoding="utf-8")  # QGIS style
    if results.territories.has_geometry:
        geo = results.territories.communes
        writers["communes.gpkg"] = lambda p: write_gpkg(geo, p, layer="communes")
        writers["communes.parquet"] = lambda p: geo.to_parquet(p, index=False)
    meta = manifest_from_config(results.config) | {"files": manifest_files(writers)}
    manifest = json.dumps(meta, indent=1, ensure_ascii=False, sort_keys=True)
    writers["manifest.json"] = lambda p: p.write_text(manifest, encoding="utf-8")
    return publish_files(writers, out_dir)
