"""The one entry point the pipeline calls for the Cerema / ZAN / efficiency tables."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from .cog import (
    Reconciliation,
    build_reconciliation,
    links_from_changes,
    links_from_deleguees,
    parent_status,
)
from .config import Config
from .consumption import consumption_by_year, consumption_qa
from .demography import efficiency
from .errors import ConfigError
from .io.cerema import VALUE_COLUMNS, read_cerema, read_population
from .io.cog import read_changes, read_deleguees, read_weights
from .io.targets import (
    config_date,
    read_deductions,
    read_documents,
    read_mutualisation,
    read_targets,
)
from .territories import COMMUNE, Territories
from .zan import zan_coherence, zan_path, zan_trajectory
from .zan_rules import commune_guarantees

log = logging.getLogger(__name__)


def _pair(value: Any, key: str) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be two years [first, last], found {value!r}") from None
    return a, b


def zan_inputs(config: Config, territories: Territories) -> dict[str, Any]:
    """The keyword arguments of :func:`ocsol.zan.zan_trajectory` from ``[zan]`` (tables read here)."""
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


def zan_qa(config: Config, zan: pd.DataFrame, deductions: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """What the reader of zan.csv must know about the legal choices of this run (qa rows)."""
    z = config.zan
    rows = []
    if not z.documents and float(z.guarantee_ha or 0.0):
        rows.append({"key": "guarantee_assumed",
                     "check": "garantie communale: no [zan].documents table, every commune assumed eligible "
                              "(guarantee_reason = assumed)", "count": int((zan["guarantee_reason"] == "assumed").sum()),
                     "detail": "give a planning-documents table to exclude RNU communes"})
    if not z.targets:
        rows.append({"key": "no_targets", "check": "no [zan].targets table: every target is a default, no binding status",
                     "count": len(zan), "detail": "indicative readings only (indicative_status)"})
    renat = deductions[deductions["type"] == "renaturation"] if deductions is not None else None
    if renat is not None and len(renat) and not z.count_renaturation:
        rows.append({"key": "renaturation_not_deducted",
                     "check": "renaturation rows of [zan].deductions not deducted (count_renaturation = false, "
                              "R. 2231-1 1°: the council's option)", "count": len(renat),
                     "detail": f"{renat['area_ha'].sum():.4f} ha"})
    inc = zan[~zan["complete"].astype(bool)]
    if len(inc):
        rows.append({"key": "incomplete", "check": "territories with communes missing from the consumption file: no status",
                     "count": len(inc), "detail": ", ".join(f"{r.level} {r.code} ({r.n_missing} missing)"
                                                            for r in inc.head(10).itertuples())})
    return rows


def compute_consumption_tables(
    config: Config,
    territories: Territories,
    *,
    stock_summary: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Read the Cerema, population, households and jobs files named in the config and compute.

    Parameters
    ----------
    config
        Checked configuration; uses ``[consumption]``, ``[population]``, ``[households]``,
        ``[jobs]``, ``[zan]`` and ``[efficiency]``.
    territories
        The territories of the run.
    stock_summary
        Optional OCS GE ``stock_summary`` table (``level, code, vintage, artif_ha``): Urb for
        SDG 11.3.1.

    Returns
    -------
    dict
        ``{"consumption", "consumption_qa", "zan", "zan_path", "efficiency"}`` — only the
        tables whose inputs are configured: nothing without ``[consumption]``; ``efficiency``
        only with ``[population]``. ``zan_path`` is the year-by-year allowed envelope to 2050
        (:func:`ocsol.zan.zan_path`) for the trajectory chart.

    Raises
    ------
    OcsolError
        From the readers (bad files) or the computations (reference years not covered…).
    """
    if not config.has("consumption"):
        return {}
    section = config.consumption
    conso = read_cerema(config.resolve(section.path), code=section.code or "idcom", sheet=section.sheet)
    cog_out: dict[str, pd.DataFrame] = {}
    cog_inputs = read_cog_inputs(config) if config.has("cog") else None  # read once, for every source
    if cog_inputs is not None:
        conso, cog_out = _reconcile_consumption(cog_inputs, territories, conso)
    qa = consumption_qa(conso, territories=territories)
    consumption = consumption_by_year(conso, territories)
    kwargs = zan_inputs(config, territories)
    reference, period = kwargs["reference"], kwargs["period"]
    zan = zan_trajectory(consumption, territories, **kwargs)
    path = zan_path(zan, decades=config.zan.decades or [])
    qa = pd.concat([qa, pd.DataFrame(zan_qa(config, zan, kwargs["deductions"]))], ignore_index=True)
    out = {"consumption": consumption, "consumption_qa": qa, "zan": zan, "zan_path": path,
           "zan_coherence": zan_coherence(zan, territories)}
    if config.has("population"):
        def read(name: str) -> pd.DataFrame | None:
            if not config.has(name):
                return None
            s = {"population": config.population, "households": config.households, "jobs": config.jobs}[name]
            table = read_population(config.resolve(s.path), code=s.code, sheet=s.sheet, what=name,
                                    header_row=s.header_row)
            if cog_inputs is not None:
                table = reconciliation(cog_inputs, territories, table["code"]).apply(table, values=[name],
                                                                                    by=["year"])
            return table

        eff = config.efficiency
        out["efficiency"] = efficiency(
            consumption, read("population"), territories,
            periods=eff.periods, households=read("households"), jobs=read("jobs"),
            stock_summary=stock_summary, sdg_variant=eff.sdg_variant or "ln",
            sdg_vintages=eff.sdg_vintages, reference=reference, period=period,
        )
    out.update(cog_out)
    log.info("consumption tables: %s", ", ".join(f"{k} ({len(v)} rows)" for k, v in out.items()))
    return out


def read_cog_inputs(config: Config) -> tuple[pd.DataFrame, pd.DataFrame | None]:
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


def reconciliation(cog_inputs: tuple[pd.DataFrame, pd.DataFrame | None], territories: Territories,
                   source_codes: Any) -> Reconciliation:
    """The ``[cog]`` reconciliation of a source's codes to the territories' codes."""
    links, weights = cog_inputs
    communes = territories.communes
    return build_reconciliation(
        source_codes, communes["code"], links=links,
        areas=pd.Series(communes["area_m2"].to_numpy(), index=communes["code"].to_numpy()), weights=weights,
    )


def _reconcile_consumption(cog_inputs: tuple[pd.DataFrame, pd.DataFrame | None], territories: Territories,
                           conso: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Map the Cerema table to the territories' codes; return it with its status and QA tables."""
    rec = reconciliation(cog_inputs, territories, conso["code"])
    attrs = dict(conso.attrs)
    mapped = rec.apply(conso, values=VALUE_COLUMNS, by=["year"])
    multi = pd.DataFrame(attrs.get("multi_year") or [], columns=["code", "start", "end", "total_m2"])
    if len(multi):
        attrs["multi_year"] = rec.apply(multi, values=["total_m2"], by=["start", "end"]).to_dict("records")
    mapped.attrs = attrs
    counts = rec.status["correction_status"].value_counts()
    qa = [{"check": f"communes {s} by the commune-code reconciliation", "key": s, "count": int(counts.get(s, 0)),
           "detail": ", ".join(rec.status.loc[rec.status["correction_status"] == s, "code"].head(10)),
           "codes": rec.status.loc[rec.status["correction_status"] == s, "code"].tolist()}
          for s in ("merged", "split", "missing_from_source")]
    qa.append({"check": "source codes reaching no commune of the territories (left out)", "key": "unmapped",
               "count": len(rec.unmapped), "detail": ", ".join(rec.unmapped[:10])})
    status = pd.concat([rec.status.assign(level=COMMUNE)[["level", "code", "correction_status", "source_codes"]],
                        parent_status(rec.status, territories.membership, territories.levels)], ignore_index=True)
    return mapped, {"cog_qa": pd.DataFrame(qa), "correction_status": status}
