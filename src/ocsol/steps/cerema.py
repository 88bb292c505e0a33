"""The Cerema consumption step (``[consumption]``, with ``[zan]``, ``[efficiency]`` and ``[cog]``):
consumption of natural, agricultural and forest land from the Cerema's *fichiers fonciers*, the ZAN
trajectory and the efficiency of that consumption.

Here the files are read: the Cerema table, the ``[cog]`` code links, the ``[zan]`` tables (targets,
planning documents, communes déléguées, pooling, deductions); the INSEE population tables come
read from :mod:`ocsol.steps.population`. The tables are computed from them by
:func:`ocsol.consumption_tables.compute_consumption_tables`. Also here: the QA tables summarised
into ``qa.csv`` rows, the provenance of every file read, and the ``[cog]`` correction status added
to the ``territories`` table.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import indicators
from ..cog import links_from_changes, links_from_deleguees
from ..config import Config
from ..consumption_tables import CogInputs, compute_consumption_tables
from ..errors import ConfigError
from ..io.cerema import read_cerema
from ..io.cog import read_changes, read_deleguees, read_weights
from ..io.targets import (
    config_date,
    read_deductions,
    read_documents,
    read_mutualisation,
    read_targets,
)
from ..step_common import StepOutput, file_provenance, qa_row
from ..territories import Territories
from ..zan_rules import commune_guarantees


def consumption_tables(config: Config, territories: Territories, *, population: StepOutput | None = None,
                       stock_summary: pd.DataFrame | None = None) -> StepOutput:
    """The consumption step: ``consumption``, ``zan``, ``zan_path``, ``zan_coherence``, ``efficiency``
    and their QA tables (also summarised as QA rows); ``correction_status`` with ``[cog]``
    (see :func:`with_correction_status`). ``population``: the output of
    :func:`ocsol.steps.population.population_tables` (its tables give the efficiency, its provenance
    follows the Cerema file's). ``stock_summary`` (OCS GE) gives SDG 11.3.1's Urb."""
    tables: dict[str, pd.DataFrame] = {}
    qa: list[dict] = []
    provenance: list[dict] = []
    extra: dict[str, pd.DataFrame] = {}
    if config.has("consumption"):
        section = config.consumption
        conso = read_cerema(config.resolve(section.path), code=section.code or "idcom", sheet=section.sheet)
        cog = read_cog_inputs(config) if config.has("cog") else None  # read once, for every source
        eff = config.efficiency
        extra = compute_consumption_tables(
            conso, territories, zan=zan_inputs(config, territories), documents_given=bool(config.zan.documents),
            cog=cog, population=population.tables if population is not None else None,
            efficiency_options={"periods": eff.periods, "sdg_variant": eff.sdg_variant,
                                "sdg_vintages": eff.sdg_vintages},
            stock_summary=None if stock_summary is None else indicators.headline_measure(stock_summary))
    for name, df in extra.items():
        if name.endswith("_qa"):  # summarised in qa.csv, and written whole (per commune) as <name>.csv
            qa += [qa_row(name, str(r.get("check", r.get("note", ""))), r.get("count", r.get("value", "")),
                       str(r.get("detail", r.get("code", ""))), key=f"{name}.{_row_key(r)}",
                       codes=_codes(r), status=str(r.get("status", "") or ""),
                       year=_int_or_none(r.get("year_start")))
                   for r in df.to_dict("records")]
        tables[name] = df
    if config.has("consumption"):
        provenance += file_provenance("consumption", config.resolve(config.consumption.path))
    if population is not None:
        provenance += population.provenance
    z = config.zan
    for key, zan_path in (("targets", z.targets), ("documents", z.documents),
                          ("guarantee_deleguees", z.guarantee_deleguees), ("mutualisation", z.mutualisation),
                          ("deductions", z.deductions)):
        if zan_path:
            provenance += file_provenance(f"zan {key}", config.resolve(zan_path))
    return StepOutput(tables=tables, provenance=provenance, qa=qa)


def _pair(value: Any, key: str) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be two years [first, last], found {value!r}") from None
    return a, b


def zan_inputs(config: Config, territories: Territories) -> dict[str, Any]:
    """The keyword arguments of :func:`ocsol.zan.zan_trajectory` from ``[zan]``: its keys, and the
    tables it names read here (targets, deductions; the garantie communale of each commune from
    the planning documents, communes déléguées and pooling tables)."""
    z = config.zan
    period = _pair(z.period, "[zan].period")
    national = z.national_default_pct
    if z.target_pct is not None:  # former name of the key
        if float(national) != 50.0 and float(z.target_pct) != float(national):
            raise ConfigError(f"{config.label}: [zan].target_pct = {z.target_pct} and national_default_pct = "
                              f"{national} disagree; keep national_default_pct only")
        national = z.target_pct
    guarantees = None
    if z.documents or z.guarantee_deleguees or z.mutualisation:
        guarantees = commune_guarantees(
            territories, base_ha=float(z.guarantee_ha or 0.0),
            documents=read_documents(config.resolve(z.documents)) if z.documents else None,
            cutoff=config_date(z.guarantee_cutoff, "[zan].guarantee_cutoff"),
            deleguees=read_deleguees(config.resolve(z.guarantee_deleguees)) if z.guarantee_deleguees else None,
            per_deleguee_ha=float(z.guarantee_per_deleguee_ha), cap_ha=float(z.guarantee_cap_ha),
            cap_applies_to=str(z.guarantee_cap_applies_to),
            nouvelle_since=config_date(z.commune_nouvelle_since, "[zan].commune_nouvelle_since"),
            mutualisation=read_mutualisation(config.resolve(z.mutualisation)) if z.mutualisation else None,
        )
    return {
        "reference": _pair(z.reference, "[zan].reference"), "period": period,
        "national_default_pct": float(national),
        "region_default_pct": None if z.region_default_pct is None else float(z.region_default_pct),
        "region_level": str(z.region_level), "no_sraddet_regions": [str(c) for c in z.no_sraddet_regions or []],
        "targets": read_targets(config.resolve(z.targets), period=period) if z.targets else None,
        "guarantees": guarantees, "guarantee_ha": float(z.guarantee_ha or 0.0),
        "pool_amount": str(z.pool_amount),
        "deductions": read_deductions(config.resolve(z.deductions)) if z.deductions else None,
        "count_renaturation": bool(z.count_renaturation),
        "min_years": int(z.confidence_min_years), "max_year_share": float(z.confidence_max_year_share),
        "decades": z.decades or [],
    }


def read_cog_inputs(config: Config) -> CogInputs:
    """The ``[cog]`` code links (old → new) and optional split weights, read once per run."""
    sec = config.cog
    links = []
    if sec.changes:
        links.append(links_from_changes(read_changes(config.resolve(sec.changes)), since=sec.since))
    if sec.deleguees:
        links.append(links_from_deleguees(read_deleguees(config.resolve(sec.deleguees))))
    if not links:
        raise ConfigError(f"{config.label}: [cog] needs changes = \"…csv\" (INSEE commune changes) "
                          "and/or deleguees = \"…csv\" (communes déléguées)")
    weights = read_weights(config.resolve(sec.weights)) if sec.weights else None
    return pd.concat(links, ignore_index=True), weights


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
