"""After the ENAF decade: net artificialisation (OCS GE) against the configured decade targets.

From 1 January 2031 the ZAN objective is no longer a cap on ENAF consumption but on **net
artificialisation** (artificialisation − renaturation, L. 101-2-1 C. urb.), measured on OCS GE
(R. 101-1), set by the SRADDET per ten-year tranche toward « absence d'artificialisation nette
en 2050 » (art. 191 and 194 III loi 2021-1104). There is **no default envelope**: only the
``[[zan.net_targets]]`` entries give one; 2050 is shown as the horizon, not as a zero decade.

:func:`net_trajectory` compares each territory's annualised net artificialisation (the latest
pair of OCS GE vintages of ``flows.csv``) with its decade envelope, annualised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import schema
from .indicators import headline_measure

#: Columns of ``zan_2031.csv``.
ZAN_2031_COLUMNS: list[str] = schema.columns("zan_2031")


def net_trajectory(
    flows: pd.DataFrame | None,
    net_targets: pd.DataFrame | None,
    *,
    period: tuple[int, int] = (2031, 2040),
    horizon: int = 2050,
) -> pd.DataFrame:
    """Net artificialisation of each territory against its post-2031 decade envelope.

    Parameters
    ----------
    flows
        ``flows.csv`` (``level, code, vintage_from, vintage_to, net_artif_ha`` [, ``measure``,
        ``source``]) or None.
    net_targets
        :func:`ocsol.io.targets.net_targets_from_config`.
    period
        The decade shown for territories without a target (the one after ``[zan].period``).
    horizon
        The ZAN horizon (2050), shown on every row.

    Returns
    -------
    DataFrame
        :data:`ZAN_2031_COLUMNS`, one row per territory with flows or a target. ``envelope_ha`` =
        the entry's ``envelope_ha``, or the reference window's annualised net artificialisation ×
        (1 − ``reduction_pct``/100) × years of the decade. ``observed_pct`` = observed annual /
        annual envelope × 100. The reading (``above`` / ``within`` the envelope's annual pace) goes
        to ``status`` only when the target is binding (own entry, ``doc_status = opposable``) and
        the observed window lies inside the decade; otherwise to ``indicative_status``.

    Examples
    --------
    >>> f = pd.DataFrame({"level": "epci", "code": "E", "vintage_from": [2015, 2021],
    ...                   "vintage_to": [2021, 2024], "net_artif_ha": [60.0, 24.0]})
    >>> nt = pd.DataFrame({"level": ["epci"], "code": ["E"], "period_start": [2031], "period_end": [2040],
    ...                    "envelope_ha": [np.nan], "reduction_pct": [50.0], "reference_from": [2015],
    ...                    "reference_to": [2021], "document": ["SRADDET"], "document_name": [""],
    ...                    "doc_status": ["opposable"], "source": [""]})
    >>> r = net_trajectory(f, nt).iloc[0]
    >>> float(r["envelope_ha"]), float(r["observed_annual_ha"]), r["status"], r["indicative_status"]
    (50.0, 8.0, '', 'above')
    """
    f = _one_measure(flows)
    nt = net_targets if net_targets is not None else pd.DataFrame(columns=["level", "code"])
    keys = pd.concat([f[["level", "code"]], nt[["level", "code"]]], ignore_index=True).drop_duplicates()
    by_unit = {k: g for k, g in f.groupby(["level", "code"], sort=False)}
    targets = {(r.level, r.code): r for r in nt.itertuples(index=False)}
    rows = []
    for level, code in keys.itertuples(index=False):
        g = by_unit.get((level, code))
        t = targets.get((level, code))
        row = {"level": level, "code": code, "horizon": int(horizon), "target_source": "", "document": "",
               "document_name": "", "doc_status": "", "binding": False, "reduction_pct": np.nan,
               "reference_from": None, "reference_to": None, "reference_net_ha": np.nan,
               "envelope_ha": np.nan, "annual_envelope_ha": np.nan, "measure": "", "observed_from": None,
               "observed_to": None, "observed_net_ha": np.nan, "observed_annual_ha": np.nan,
               "observed_pct": np.nan, "status": "", "indicative_status": "", "note": ""}
        notes = []
        p0, p1 = period
        if g is not None and len(g):
            last = g.sort_values(["vintage_to", "vintage_from"]).iloc[-1]
            years = int(last["vintage_to"]) - int(last["vintage_from"])
            row.update(measure=str(last.get("measure", "") or ""), observed_from=int(last["vintage_from"]),
                       observed_to=int(last["vintage_to"]), observed_net_ha=float(last["net_artif_ha"]),
                       observed_annual_ha=float(last["net_artif_ha"]) / years if years > 0 else np.nan)
        else:
            notes.append("no OCS GE flows for this territory")
        if t is None:
            notes.append("no net artificialisation target configured (set per decade by the SRADDET)")
        else:
            p0, p1 = int(t.period_start), int(t.period_end)
            n = p1 - p0 + 1
            row.update(target_source="own", document=t.document, document_name=t.document_name,
                       doc_status=t.doc_status, binding=t.doc_status == "opposable",
                       reduction_pct=float(t.reduction_pct))
            if not np.isnan(t.envelope_ha):
                row["envelope_ha"] = float(t.envelope_ha)
            else:
                row.update(reference_from=int(t.reference_from), reference_to=int(t.reference_to))
                hit = g[(g["vintage_from"] == t.reference_from) & (g["vintage_to"] == t.reference_to)] \
                    if g is not None else pd.DataFrame()
                if len(hit):
                    ref = float(hit["net_artif_ha"].iloc[0])
                    ref_annual = ref / (int(t.reference_to) - int(t.reference_from))
                    row.update(reference_net_ha=ref,
                               envelope_ha=ref_annual * (1.0 - float(t.reduction_pct) / 100.0) * n)
                else:
                    notes.append(f"no OCS GE flows {t.reference_from}–{t.reference_to} for the reference window: "
                                 "envelope not computed")
            row["annual_envelope_ha"] = row["envelope_ha"] / n
        row["period_start"], row["period_end"] = p0, p1
        obs, env = row["observed_annual_ha"], row["annual_envelope_ha"]
        if not (np.isnan(obs) or np.isnan(env)):
            row["observed_pct"] = obs / env * 100.0 if env > 0 else np.nan
            reading = "above" if obs > env + 1e-9 else "within"
            inside = row["observed_from"] is not None and row["observed_from"] >= p0
            if row["binding"] and inside:
                row["status"] = reading
            else:
                row["indicative_status"] = reading
                if row["binding"]:
                    notes.append(f"observed {row['observed_from']}–{row['observed_to']} is before the decade: "
                                 "indicative pace comparison")
        row["note"] = "; ".join(notes)
        rows.append(row)
    out = pd.DataFrame(rows, columns=ZAN_2031_COLUMNS)
    for c in ("reference_from", "reference_to", "observed_from", "observed_to"):
        out[c] = pd.array(out[c], dtype="Int64")
    out["binding"] = out["binding"].astype(bool)
    return out


def _one_measure(flows: pd.DataFrame | None) -> pd.DataFrame:
    """Flows of one measure per territory (:func:`ocsol.indicators.headline_measure`, the one picker)."""
    cols = ["level", "code", "vintage_from", "vintage_to", "net_artif_ha", "measure"]
    if flows is None or not len(flows):
        return pd.DataFrame(columns=cols)
    f = flows.copy()
    if "measure" not in f:
        src = f["source"].astype(str) if "source" in f else pd.Series("", index=f.index)
        f["measure"] = np.where(src.str.startswith("raster"), "raster_proxy", "")
    f = headline_measure(f)
    f = f.astype({"vintage_from": int, "vintage_to": int, "code": str})
    return f[cols]
