"""The Cerema / ZAN / efficiency tables, from tables read by the Cerema step (:mod:`ocsol.steps.cerema`).

Nothing here reads a file: the step reads the Cerema consumption, the ``[zan]`` tables, the
``[cog]`` code links and (through :mod:`ocsol.steps.population`) the INSEE population tables,
and passes them with plain options to :func:`compute_consumption_tables`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from .cog import Reconciliation, build_reconciliation, parent_status
from .consumption import VALUE_COLUMNS, consumption_by_year, consumption_qa
from .demography import efficiency
from .territories import COMMUNE, Territories
from .zan import zan_coherence, zan_path, zan_trajectory

log = logging.getLogger(__name__)

#: The ``[cog]`` code links (old → new: ``old, new``) and optional split weights, read once per run.
CogInputs = tuple[pd.DataFrame, pd.DataFrame | None]
def zan_qa(zan: pd.DataFrame, *, documents_given: bool, targets_given: bool, guarantee_ha: float,
           deductions: pd.DataFrame | None = None, count_renaturation: bool = False) -> list[dict[str, Any]]:
    """What the reader of zan.csv must know about the legal choices of this run (qa rows).

    ``documents_given``/``targets_given``: whether ``[zan]`` names a planning-documents table and a
    targets table; the other arguments are the ``[zan]`` keys of the same names.
    """
    rows = []
    if not documents_given and guarantee_ha:
        rows.append({"key": "guarantee_assumed",
                     "check": "garantie communale: no [zan].documents table, every commune assumed eligible "
                              "(guarantee_reason = assumed)", "count": int((zan["guarantee_reason"] == "assumed").sum()),
                     "detail": "give a planning-documents table to exclude RNU communes"})
    if not targets_given:
        rows.append({"key": "no_targets", "check": "no [zan].targets table: every target is a default, no binding status",
                     "count": len(zan), "detail": "indicative readings only (indicative_status)"})
    renat = deductions[deductions["type"] == "renaturation"] if deductions is not None else None
    if renat is not None and len(renat) and not count_renaturation:
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
    conso: pd.DataFrame,
    territories: Territories,
    *,
    zan: Mapping[str, Any],
    documents_given: bool = False,
    cog: CogInputs | None = None,
    population: Mapping[str, pd.DataFrame | None] | None = None,
    efficiency_options: Mapping[str, Any] | None = None,
    stock_summary: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """The consumption, ZAN and efficiency tables from the tables the Cerema step read.

    Parameters
    ----------
    conso
        The Cerema table (:func:`ocsol.io.cerema.read_cerema`), keyed by the source's commune codes.
    territories
        The territories of the run.
    zan
        The keyword arguments of :func:`ocsol.zan.zan_trajectory` (``reference``, ``period``, the
        targets, guarantees and deductions tables…; :func:`ocsol.steps.cerema.zan_inputs`).
    documents_given
        Whether ``[zan]`` names a planning-documents table (else every commune is assumed eligible
        to the garantie communale, said in the QA).
    cog
        The ``[cog]`` code links and weights: the Cerema and population tables are re-keyed to the
        territories' codes (``cog_qa`` and ``correction_status`` tables).
    population
        ``{"population": …, "households": …, "jobs": …}`` as read by
        :func:`ocsol.io.cerema.read_population` (None when absent): ``efficiency`` needs
        ``population``.
    efficiency_options
        ``periods``, ``sdg_variant``, ``sdg_vintages`` of :func:`ocsol.demography.efficiency`.
    stock_summary
        Optional OCS GE ``stock_summary`` table (``level, code, vintage, artif_ha``): Urb for
        SDG 11.3.1.

    Returns
    -------
    dict
        ``{"consumption", "consumption_qa", "zan", "zan_path", "zan_coherence"}``, ``efficiency``
        with a population table, ``cog_qa`` and ``correction_status`` with ``cog``. ``zan_path``
        is the year-by-year allowed envelope to 2050 (:func:`ocsol.zan.zan_path`) for the
        trajectory chart.

    Raises
    ------
    OcsolError
        From the computations (reference years not covered…).
    """
    cog_out: dict[str, pd.DataFrame] = {}
    if cog is not None:
        conso, cog_out = _reconcile_consumption(cog, territories, conso)
    qa = consumption_qa(conso, territories=territories)
    consumption = consumption_by_year(conso, territories)
    kwargs = dict(zan)
    reference, period = kwargs["reference"], kwargs["period"]
    zan_table = zan_trajectory(consumption, territories, **kwargs)
    path = zan_path(zan_table, decades=kwargs.get("decades") or [])
    notes = zan_qa(zan_table, documents_given=documents_given, targets_given=kwargs.get("targets") is not None,
                   guarantee_ha=float(kwargs.get("guarantee_ha") or 0.0), deductions=kwargs.get("deductions"),
                   count_renaturation=bool(kwargs.get("count_renaturation")))
    qa = pd.concat([qa, pd.DataFrame(notes)], ignore_index=True)
    out = {"consumption": consumption, "consumption_qa": qa, "zan": zan_table, "zan_path": path,
           "zan_coherence": zan_coherence(zan_table, territories)}
    tables = dict(population or {})
    if tables.get("population") is not None:
        def keyed(name: str) -> pd.DataFrame | None:
            table = tables.get(name)
            if table is not None and cog is not None:
                table = reconciliation(cog, territories, table["code"]).apply(table, values=[name], by=["year"])
            return table

        opts = dict(efficiency_options or {})
        out["efficiency"] = efficiency(
            consumption, keyed("population"), territories,
            periods=opts.get("periods"), households=keyed("households"), jobs=keyed("jobs"),
            stock_summary=stock_summary, sdg_variant=opts.get("sdg_variant") or "ln",
            sdg_vintages=opts.get("sdg_vintages"), reference=reference, period=period,
        )
    out.update(cog_out)
    log.info("consumption tables: %s", ", ".join(f"{k} ({len(v)} rows)" for k, v in out.items()))
    return out


def reconciliation(cog_inputs: CogInputs, territories: Territories,
                   source_codes: Any) -> Reconciliation:
    """The ``[cog]`` reconciliation of a source's codes to the territories' codes."""
    links, weights = cog_inputs
    communes = territories.communes
    return build_reconciliation(
        source_codes, communes["code"], links=links,
        areas=pd.Series(communes["area_m2"].to_numpy(), index=communes["code"].to_numpy()), weights=weights,
    )


def _reconcile_consumption(cog_inputs: CogInputs, territories: Territories,
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
