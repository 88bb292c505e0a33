"""One way through: configuration → every indicator table → files.

:func:`compute` composes the steps of :mod:`ocsol.steps`, which read the inputs named in a
:class:`~ocsol.config.Config` (territories, OCS GE, raster, INSEE population, Cerema consumption,
ZAN after 2031), into a :class:`Results`; :func:`write_results` writes them atomically. The CLI,
the notebooks and scripts all call these two functions.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from . import schema
from .config import PATH, Config, load_config
from .departements import input_paths
from .io.common import text_encoding
from .io.styles import change_layer_qml
from .io.write import check_out_dir, manifest_files, publish_files, write_gpkg
from .step_common import qa_row as _qa
from .step_common import stack
from .steps import cerema, ocsge, population, raster, zan
from .steps.ocsge import _rule_ref as _rule_ref  # (ocsol thresholds compare)
from .steps.ocsge import ocsge_departement as ocsge_departement  # (Dask tasks, docs)
from .steps.ocsge import run_departements as run_departements
from .steps.territories import load_territories as load_territories
from .steps.territories import perimeter_columns as perimeter_columns
from .steps.territories import territory_table
from .territories import Territories

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
    config
        The configuration of the run (its settings go to ``manifest.json``).

    Examples
    --------
    The Métropole de Lyon sample: ``results[name]`` is ``results.tables[name]``; what was repaired,
    ignored or flagged is the table ``qa``.

    >>> from ocsol.sample import sample_config
    >>> results = compute(sample_config("lyon"))
    >>> sorted(results.tables)[:4], [p["role"] for p in results.provenance]
    (['consumption', 'consumption_qa', 'efficiency', 'qa'], ['territories', 'consumption', 'population'])
    >>> results["zan"].query("level == 'epci'")["allowed_ha"].round(1).tolist()
    [413.9]
    """

    tables: dict[str, pd.DataFrame]
    changes: gpd.GeoDataFrame | None
    territories: Territories
    provenance: list[dict] = field(default_factory=list)
    config: Config | None = None

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


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
    steps = [territory_table(config, territories)]
    tables = steps[0].tables
    if config.has("ocsge"):
        steps.append(ocsge.ocsge_tables(config, territories, workers=workers, scheduler=scheduler,
                                        progress=progress, client=client))
        tables.update(steps[-1].tables)
    if config.has("raster"):  # beside the OCS GE rows, told apart by their measure
        steps.append(raster.raster_tables(config, territories, progress=progress))
        tables.update({name: stack(tables.get(name), df) for name, df in steps[-1].tables.items()})
    if any(config.has(s) for s in ("consumption", "population")):
        # the INSEE tables serve the efficiency of the Cerema consumption: the Cerema step computes it
        # (and lists their files after its own, the order of provenance.csv)
        steps.append(cerema.consumption_tables(config, territories, population=population.population_tables(config),
                                               stock_summary=tables.get("stock_summary")))
        tables["territories"] = cerema.with_correction_status(tables["territories"], steps[-1].tables)
        tables.update(steps[-1].tables)
    zan_2031 = zan.zan_2031_table(config, territories, tables.get("flows"))
    if zan_2031 is not None:
        tables["zan_2031"] = zan_2031
    provenance = [row for step in steps for row in step.provenance]
    qa = [row for step in steps for row in step.qa] + _encoding_notes(provenance, config)
    tables["qa"] = _collapse_qa(pd.DataFrame(qa, columns=QA_COLUMNS))
    changes = steps[1].changes if config.has("ocsge") else None
    return Results(tables=tables, changes=changes, territories=territories, provenance=provenance, config=config)


#: Columns of ``qa.csv``: ``key`` (worded by the French catalogue, ``ocsol/fr/catalogue.csv``
#: group ``qa``), ``item``/``detail`` (plain English, for logs), ``codes`` (communes or zones
#: concerned, ``;``-separated; empty when the row is about a whole file or run), ``files``
#: (file names concerned), ``params`` (JSON values the French wording uses).
QA_COLUMNS = schema.columns("qa")


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

    Parameters
    ----------
    results
        What :func:`compute` returned.
    out_dir
        The output folder (created if needed).

    Returns
    -------
    list of Path
        The files written, in ``out_dir``.

    Raises
    ------
    OutputError
        When ``out_dir`` holds an input, is locked by another run, or a file cannot be written.

    Examples
    --------
    The tables of the Métropole de Lyon sample (Cerema consumption, population, ZAN):

    >>> import tempfile
    >>> from ocsol.sample import sample_config
    >>> results = compute(sample_config("lyon"))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     written = write_results(results, tmp)
    >>> [p.name for p in written if p.suffix == ".csv"][:4]
    ['territories.csv', 'consumption.csv', 'zan.csv', 'zan_path.csv']
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
