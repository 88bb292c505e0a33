"""The indicator tables a report reads: from an indicators folder, or computed from a config.

An **indicators folder** is what :func:`ocsol.pipeline.write_results` writes (``ocsol indicators
--out DIR``): one ``<table>.csv`` per table of ``docs/ARCHITECTURE.md`` and, when available,
``communes.gpkg`` (commune polygons), ``changes.gpkg`` (change polygons), ``provenance.csv``,
``rule.csv``, ``zan_path.csv`` and ``qa.csv``. The report also uses ``membership.csv`` (commune
code + one column per parent level) and ``manifest.json`` (settings the tables do not carry:
title, ZAN decades, comparison settings); :func:`compute_indicators` adds both.

Every file but ``territories.csv`` is optional: a missing table makes the report say, in one
sentence, that this section has no data.

Batch workers each read the folder once (:func:`load_indicators` caches it per process, keyed by
the files' size and modification time), then slice it for every territory.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from .. import pipeline, schema
from ..config import load_config
from ..errors import InputFileError
from ..indicators import headline_measure
from ..territories import COMMUNE, Territories

log = logging.getLogger(__name__)

TABLES = ["territories", "stock_summary", "stock", "flows", "transitions", "land_account", "consumption",
          "zan", "zan_path", "zan_2031", "efficiency", "rule", "qa", "fragmentation", "fragmentation_change"]
#: How the text columns of these tables (and ``provenance.csv``) are read back, from the schema
#: (``ocsol/data/tables.csv``): as text, an empty cell being ``""``; or, ``empty = none``, as text
#: with an empty cell null (a territory without a target document stays null in ``headline.json``).
READ_TYPES = schema.read_types([*TABLES, "provenance"])
TEXT_COLUMNS = {c for c, kind in READ_TYPES.items() if kind == "text"}
NULLABLE_TEXT_COLUMNS = {c for c, kind in READ_TYPES.items() if kind == "none"}
#: Summary tables keep **every** measure of a territory: a report shows its measures side by side
#: (the headline figures are still picked by :mod:`ocsol.report.headline`, the legal measure first).
ALL_MEASURES = {"stock_summary", "flows"}
#: Detail tables (class breakdowns) keep the headline measure only: two measures of one class would
#: otherwise be added up in one chart (:func:`ocsol.indicators.headline_measure`).
HEADLINE_MEASURE = {"stock", "transitions", "land_account"}
#: Files that define an indicators folder's content (their hash is the report's "inputs" stamp).
FINGERPRINT_SUFFIXES = {".csv", ".json"}

_CACHE: dict[tuple, Indicators] = {}


@dataclass
class Indicators:
    """Every indicator table of a run, ready to be sliced per territory.

    Attributes
    ----------
    tables
        Table name → DataFrame (``level, code`` first), as in ``docs/ARCHITECTURE.md``.
    territories
        The territories (names, membership and, when known, commune polygons).
    changes
        Change polygons (``code`` = commune, ``vintage_from``, ``vintage_to``, cs/us, artif
        flags, geometry), or None.
    provenance
        Input files: ``role, path, sha256, size, modified``.
    meta
        Settings not in the tables (``title``, ``decades``, ``neighbours``, ``compare_with``,
        ``rule``, ``synthetic``…).
    source
        The folder or configuration the tables come from.

    Examples
    --------
    The tables of the Métropole de Lyon sample, read back from an indicators folder:

    >>> import tempfile
    >>> from ocsol.sample import sample_config
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     ind = load_indicators(compute_indicators(sample_config("lyon"), tmp))
    >>> type(ind).__name__, ind.meta["title"], len(ind.territories.communes)
    ('Indicators', 'Métropole de Lyon', 58)
    >>> bool(ind.tables["zan"].query("level == 'epci'")["target_document"].isna().all())  # empty means none
    True
    """

    tables: dict[str, pd.DataFrame]
    territories: Territories
    changes: Any = None
    provenance: pd.DataFrame = field(default_factory=pd.DataFrame)
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def table(self, name: str) -> pd.DataFrame:
        """A whole table (empty frame when the run did not produce it); detail tables under each
        territory's headline measure only (:data:`HEADLINE_MEASURE`)."""
        df = self.tables.get(name, pd.DataFrame(columns=["level", "code"]))
        if name in HEADLINE_MEASURE:
            return headline_measure(df)
        return df

    @cached_property
    def _index(self) -> dict[str, dict[tuple[str, str], Any]]:
        return {}

    def slice(self, name: str, level: str, code: str) -> pd.DataFrame:
        """The rows of one territory in one table (empty frame when none)."""
        df = self.tables.get(name)
        if df is None or df.empty or "level" not in df.columns:
            return pd.DataFrame(columns=list(df.columns) if df is not None else ["level", "code"])
        idx = self._index.get(name)
        if idx is None:
            idx = df.groupby(["level", "code"], sort=False).indices
            self._index[name] = idx
        rows = idx.get((level, code))
        if rows is None:
            return df.iloc[0:0]
        if name in HEADLINE_MEASURE:
            return headline_measure(df.iloc[rows])
        return df.iloc[rows]

    def units(self, level: str) -> pd.DataFrame:
        """``territories.csv`` rows of one level."""
        t = self.table("territories")
        return t[t["level"] == level]


def load_indicators(folder: str | os.PathLike[str]) -> Indicators:
    """Read an indicators folder (cached per process while its files are unchanged).

    Parameters
    ----------
    folder
        A folder written by ``ocsol indicators`` or :func:`compute_indicators`.

    Returns
    -------
    Indicators
        Its tables (hectares; codes as strings), territories, change polygons, provenance and
        the settings the reports need.

    Raises
    ------
    InputFileError
        When the folder or its ``territories.csv`` is missing.

    Examples
    --------
    The Métropole de Lyon's NAF consumption (Cerema) and its ZAN budget for 2021–2030:

    >>> import tempfile
    >>> from ocsol.sample import sample_config
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     ind = load_indicators(compute_indicators(sample_config("lyon"), tmp))
    >>> ind.meta["title"], sorted(ind.tables)
    ('Métropole de Lyon', ['consumption', 'efficiency', 'qa', 'territories', 'zan', 'zan_path'])
    >>> conso = ind.tables["consumption"].query("level == 'epci'")
    >>> conso[["code", "year", "total_ha", "habitat_ha", "activite_ha"]].tail(3).round(1)
              code  year  total_ha  habitat_ha  activite_ha
    882  200046977  2021      81.2        38.3         28.5
    883  200046977  2022      32.3        20.6          5.7
    884  200046977  2023      36.4        22.9          8.8
    >>> zan = ind.tables["zan"].query("level == 'epci'").iloc[0]
    >>> float(zan["allowed_ha"]), float(zan["consumed_since_ha"]), zan["indicative_status"]
    (413.8727, 149.8944, 'will_exceed')
    """
    p = Path(folder).expanduser().resolve()
    if not p.is_dir():
        raise InputFileError(f"{p}: indicators folder not found; run `ocsol indicators --out {p}` first")
    if not (p / "territories.csv").is_file():
        raise InputFileError(
            f"{p}: no territories.csv in this folder, so it is not an ocsol indicators folder; "
            "point --indicators at the folder written by `ocsol indicators`"
        )
    key = (str(p), tuple(sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in p.iterdir()
                                if f.is_file())))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    tables = {}
    for name in TABLES:
        f = p / f"{name}.csv"
        if f.is_file():
            tables[name] = _read_csv(f)
    provenance = _read_csv(p / "provenance.csv") if (p / "provenance.csv").is_file() else pd.DataFrame(
        columns=["role", "path", "sha256", "size", "modified"])
    meta: dict[str, Any] = {}
    if (p / "manifest.json").is_file():
        meta = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
    communes = None
    if (p / "communes.gpkg").is_file():
        import geopandas as gpd

        communes = gpd.read_file(p / "communes.gpkg", engine="pyogrio")
        communes["code"] = communes["code"].astype(str)
    changes = None
    if (p / "changes.gpkg").is_file():
        import geopandas as gpd

        changes = gpd.read_file(p / "changes.gpkg", engine="pyogrio")
        changes["code"] = changes["code"].astype(str)
    membership = None
    if (p / "membership.csv").is_file():
        membership = pd.read_csv(p / "membership.csv", dtype=str, keep_default_na=True)
    territories = territories_from_tables(tables["territories"], membership, communes, source=str(p))
    ind = Indicators(tables=tables, territories=territories, changes=changes, provenance=provenance, meta=meta,
                     source=str(p))
    _CACHE.clear()  # one folder at a time per process: batches read one
    _CACHE[key] = ind
    return ind


def _read_csv(path: Path) -> pd.DataFrame:
    head = pd.read_csv(path, nrows=0).columns
    dtype = {c: "str" for c in head if c in READ_TYPES}
    df = pd.read_csv(path, dtype=dtype, keep_default_na=True)
    for c in dtype:
        if c in TEXT_COLUMNS:
            df[c] = df[c].fillna("")
    return df


def territories_from_tables(
    units: pd.DataFrame, membership: pd.DataFrame | None, communes: Any = None, *, source: str = ""
) -> Territories:
    """Rebuild a :class:`~ocsol.territories.Territories` from ``territories.csv`` (+ membership, polygons)."""
    names = units[["level", "code", "name"]].copy()
    names["name"] = names["name"].where(names["name"] != "", names["code"])
    comm = units[units["level"] == COMMUNE][["code", "name", "area_ha"]].copy()
    comm["area_m2"] = comm.pop("area_ha").astype(float) * 10_000.0
    levels = [lvl for lvl in dict.fromkeys(units["level"]) if lvl != COMMUNE]
    if communes is not None and len(communes):
        import geopandas as gpd

        geo = communes[["code", "geometry"]].drop_duplicates("code")
        comm = gpd.GeoDataFrame(comm.merge(geo, on="code", how="left"), geometry="geometry", crs=communes.crs)
    if membership is None:
        membership = pd.DataFrame({"code": comm["code"].to_numpy()})
        for lvl in levels:
            membership[lvl] = None
    else:
        membership = membership.copy()
        for lvl in levels:
            if lvl not in membership.columns:
                membership[lvl] = None
            else:
                membership[lvl] = membership[lvl].astype(object).where(membership[lvl].notna(), None)
                membership[lvl] = membership[lvl].replace("", None)
    return Territories(communes=comm.reset_index(drop=True), membership=membership, levels=tuple(levels),
                       names=names.reset_index(drop=True), source=source)


def has_membership(territories: Territories) -> bool:
    """Whether the communes' parents are known (``membership.csv`` was found)."""
    m = territories.membership
    return all(m[lvl].notna().any() for lvl in territories.levels) if territories.levels else True


def compute_indicators(
    config: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, progress: bool = False,
    client: Any = None,
) -> Path:
    """Compute every indicator table once and write the folder the reports read.

    Calls :func:`ocsol.pipeline.compute` and :func:`ocsol.pipeline.write_results` (which also
    writes ``membership.csv`` and ``manifest.json``, the settings reports need).

    Parameters
    ----------
    config
        Path of an ``ocsol.toml``.
    out_dir
        Folder to write (created if needed).
    progress
        Show a progress bar on long steps.
    client
        A ``dask.distributed`` client for the départements of a multi-département run.

    Returns
    -------
    Path
        The indicators folder.

    Raises
    ------
    OcsolError
        Any input or configuration error of the run (one line naming the file and the fix).

    Examples
    --------
    >>> import tempfile
    >>> from ocsol.sample import sample_config
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = compute_indicators(sample_config("lyon"), tmp)
    ...     files = sorted(f.name for f in folder.iterdir())
    >>> files[:6]
    ['consumption.csv', 'consumption_qa.csv', 'efficiency.csv', 'manifest.json', 'membership.csv', 'provenance.csv']
    """
    cfg = load_config(config)
    results = pipeline.compute(cfg, progress=progress, client=client)
    out = Path(out_dir)
    pipeline.write_results(results, out)
    return out


def indicators_from_config(config: str | os.PathLike[str]) -> Indicators:
    """Compute the tables of a configuration in memory (cached per process while unchanged)."""
    p = Path(config).expanduser().resolve()
    key = ("config", str(p), p.stat().st_mtime_ns if p.exists() else 0)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    cfg = load_config(p)
    res = pipeline.compute(cfg)
    prov = pd.DataFrame(res.provenance)
    for col in ("role", "path", "sha256", "size", "modified"):
        if col not in prov:
            prov[col] = ""
    tables = {k: v for k, v in res.tables.items()}
    ind = Indicators(tables=tables, territories=res.territories, changes=res.changes, provenance=prov,
                     meta=pipeline.manifest_from_config(cfg), source=str(p))
    _CACHE.clear()
    _CACHE[key] = ind
    return ind
