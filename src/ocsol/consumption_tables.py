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
from .io.targets import read_targets
from .territories import COMMUNE, Territories
from .zan import commune_guarantees, zan_path, zan_trajectory

log = logging.getLogger(__name__)


def _pair(value: Any, key: str) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be two years [first, last], found {value!r}") from None
    return a, b


def _guarantees(config: Config, territories: Territories) -> dict[str, float] | None:
    """Per-commune garantie communale when the config names déléguées or eligible communes."""
    z = config.sections["zan"]
    if not (z.get("guarantee_deleguees") or z.get("guarantee_eligible")):
        return None
    from .io.cog import read_eligible

    deleguees = read_deleguees(config.resolve(z["guarantee_deleguees"])) if z.get("guarantee_deleguees") else None
    eligible = read_eligible(config.resolve(z["guarantee_eligible"])) if z.get("guarantee_eligible") else None
    return commune_guarantees(
        territories.communes["code"].tolist(), base_ha=float(z["guarantee_ha"] or 0.0), deleguees=deleguees,
        per_deleguee_ha=float(z["guarantee_per_deleguee_ha"]), cap_ha=float(z["guarantee_cap_ha"]), eligible=eligible,
    )


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
    section = config.sections["consumption"]
    conso = read_cerema(config.resolve(section["path"]), code=section.get("code") or "idcom",
                        sheet=section.get("sheet"))
    cog_out: dict[str, pd.DataFrame] = {}
    cog_inputs = read_cog_inputs(config) if config.has("cog") else None  # read once, for every source
    if cog_inputs is not None:
        conso, cog_out = _reconcile_consumption(cog_inputs, territories, conso)
    qa = consumption_qa(conso, territories=territories)
    consumption = consumption_by_year(conso, territories)
    zan_cfg = config.sections["zan"]
    reference = _pair(zan_cfg["reference"], "[zan].reference")
    period = _pair(zan_cfg["period"], "[zan].period")
    targets = read_targets(config.resolve(zan_cfg["targets"])) if zan_cfg.get("targets") else None
    guarantees = _guarantees(config, territories)
    zan = zan_trajectory(
        consumption, territories, reference=reference, period=period,
        target_pct=float(zan_cfg["target_pct"]), guarantee_ha=float(zan_cfg["guarantee_ha"] or 0.0),
        guarantees=guarantees, targets=targets, decades=zan_cfg["decades"] or [],
    )
    path = zan_path(zan, decades=zan_cfg["decades"] or [])
    out = {"consumption": consumption, "consumption_qa": qa, "zan": zan, "zan_path": path}
    if config.has("population"):
        def read(name: str) -> pd.DataFrame | None:
            if not config.has(name):
                return None
            s = config.sections[name]
            table = read_population(config.resolve(s["path"]), code=s.get("code") or "insee_com",
                                    sheet=s.get("sheet"), what=name)
            if cog_inputs is not None:
                table = reconciliation(cog_inputs, territories, table["code"]).apply(table, values=[name],
                                                                                    by=["year"])
            return table

        eff = config.sections["efficiency"]
        out["efficiency"] = efficiency(
            consumption, read("population"), territories,
            periods=eff.get("periods"), households=read("households"), jobs=read("jobs"),
            stock_summary=stock_summary, sdg_variant=eff.get("sdg_variant") or "ln",
            sdg_vintages=eff.get("sdg_vintages"), reference=reference, period=period,
        )
    out.update(cog_out)
    log.info("consumption tables: %s", ", ".join(f"{k} ({len(v)} rows)" for k, v in out.items()))
    return out


def read_cog_inputs(config: Config) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The ``[cog]`` code links (old → new) and optional split weights, read once per run."""
    sec = config.sections["cog"]
    links = []
    if sec.get("changes"):
        links.append(links_from_changes(read_changes(config.resolve(sec["changes"])), since=sec.get("since")))
    if sec.get("deleguees"):
        links.append(links_from_deleguees(read_deleguees(config.resolve(sec["deleguees"]))))
    if not links:
        raise ConfigError(f"{config.label}: [cog] needs changes = \"…csv\" (INSEE commune changes) "
                          "and/or deleguees = \"…csv\" (communes déléguées)")
    weights = read_weights(config.resolve(sec["weights"])) if sec.get("weights") else None
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
