"""The Cerema consumption step (``[consumption]``, with ``[population]``, ``[households]``, ``[jobs]``,
``[zan]``, ``[efficiency]`` and ``[cog]``): consumption of natural, agricultural and forest land
from the Cerema's *fichiers fonciers*, the ZAN trajectory and the efficiency of that consumption.

The files are read and the tables computed by :func:`ocsol.consumption_tables.compute_consumption_tables`
(the population, households and jobs tables only serve the efficiency of the consumption, so they are
read in the same pass). Here: the QA tables summarised into ``qa.csv`` rows, the provenance of every
file read, and the ``[cog]`` correction status added to the ``territories`` table.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import indicators
from ..config import Config
from ..consumption_tables import compute_consumption_tables
from ..step_common import StepOutput, file_provenance, qa_row
from ..territories import Territories


def consumption_tables(config: Config, territories: Territories, *,
                       stock_summary: pd.DataFrame | None = None) -> StepOutput:
    """The consumption step: ``consumption``, ``zan``, ``zan_path``, ``zan_coherence``, ``efficiency``
    and their QA tables (also summarised as QA rows); ``correction_status`` with ``[cog]``
    (see :func:`with_correction_status`). ``stock_summary`` (OCS GE) gives SDG 11.3.1's Urb."""
    tables: dict[str, pd.DataFrame] = {}
    qa: list[dict] = []
    provenance: list[dict] = []
    extra = compute_consumption_tables(
        config, territories,
        stock_summary=None if stock_summary is None else indicators.headline_measure(stock_summary))
    for name, df in extra.items():
        if name.endswith("_qa"):  # summarised in qa.csv, and written whole (per commune) as <name>.csv
            qa += [qa_row(name, str(r.get("check", r.get("note", ""))), r.get("count", r.get("value", "")),
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
    return StepOutput(tables=tables, provenance=provenance, qa=qa)


def with_correction_status(units: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``territories`` with the ``[cog]`` correction status (how each territory's consumption was
    re-keyed to its codes), taken out of ``tables``; unchanged without ``[cog]``."""
    status = tables.pop("correction_status", None)
    return units if status is None else units.merge(status, on=["level", "code"], how="left")


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
