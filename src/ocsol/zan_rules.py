"""The legal rules of the ZAN trajectory that come from tables: targets, guarantee, deductions.

Pure functions over the tables of :mod:`ocsol.io.targets`. docs/consumption.md gives each rule
with its legal source and lists the parameters kept open where DOMAIN.md says UNVERIFIED.

- **Targets as documents** (R. 101-1 III C. urb.; art. 194 III loi 2021-1104): a territory's
  target comes from its own row, else the nearest parent's row (``parent:<level>:<code>``),
  else ``region_default`` (region level only, regions with a SRADDET; arrêté du 31 mai 2024),
  else ``national_default`` (art. 191). It is **binding** only from its own row with
  ``doc_status = opposable``.
- **Garantie communale** (art. 194 III 3° bis loi 2021-1104, loi 2023-630): communes with a
  PLU, document en tenant lieu or carte communale prescribed, arrêté or approved before the
  cutoff; +0.5 ha per commune déléguée for communes nouvelles created since 2011; pooled at EPCI
  level on request.
- **Deductions**: PENE (national forfait, arrêté du 31 mai 2024), ground PV (décret 2023-1408),
  renaturation (R. 2231-1 1° CGCT, council's option), other documented deductions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import ConfigError, SchemaError
from .territories import COMMUNE, Territories, aggregate

log = logging.getLogger(__name__)

#: Regions without a SRADDET: Île-de-France (SDRIF), Corse (PADDUC), the DROM (SAR).
NO_SRADDET_REGIONS = ("11", "94", "01", "02", "03", "04", "06")
GUARANTEE_REASONS = ("eligible", "rnu", "not_eligible", "commune_nouvelle", "pooled", "assumed")
#: Columns of :func:`commune_guarantees`.
GUARANTEE_COLUMNS = ["code", "guarantee_ha", "guarantee_reason", "pooled_by"]


@dataclass(frozen=True)
class Target:
    """The target that applies to a territory and where it comes from."""

    pct: float  # reduction (%), NaN when only hectares are known
    envelope_ha: float  # hectares allocated by the document, NaN when given as a %
    source: str  # own | parent:<level>:<code> | region_default | national_default
    document: str = ""
    document_name: str = ""
    doc_status: str = ""

    @property
    def binding(self) -> bool:
        return self.source == "own" and self.doc_status == "opposable"


#: Largest gap (ha) tolerated between a target row's envelope and reference × (1 − target_pct/100):
#: rounding of a document's hectares.
ENVELOPE_TOLERANCE_HA = 0.01


def _check_pct_and_envelope(targets: pd.DataFrame, level: str, code: str, pct: float, env: float,
                            reference: float | None) -> None:
    """A row giving both a % and an envelope must agree (the envelope is used; a silent disagreement
    would hide which one the document says).

    >>> t = pd.DataFrame()
    >>> _check_pct_and_envelope(t, "commune", "1", 50.0, 10.004, 20.0)  # within 0.01 ha: fine
    >>> _check_pct_and_envelope(t, "commune", "1", 50.0, 12.0, 20.0)
    Traceback (most recent call last):
    ...
    ocsol.errors.SchemaError: targets: commune 1: target_pct 50 % gives 10.0000 ha (reference 20.0000 ha × (1 − 50/100)) but envelope_ha is 12.0000 ha; give only one of them, or make them agree within 0.01 ha
    """
    if np.isnan(pct) or np.isnan(env) or reference is None or np.isnan(reference):
        return
    implied = reference * (1.0 - pct / 100.0)
    if abs(implied - env) > ENVELOPE_TOLERANCE_HA:
        where = targets.attrs.get("source", "targets")
        raise SchemaError(f"{where}: {level} {code}: target_pct {pct:g} % gives {implied:.4f} ha (reference "
                          f"{reference:.4f} ha × (1 − {pct:g}/100)) but envelope_ha is {env:.4f} ha; give only one "
                          f"of them, or make them agree within {ENVELOPE_TOLERANCE_HA:g} ha")


def targets_for(
    units: pd.DataFrame,
    territories: Territories,
    *,
    references: dict[tuple[str, str], float],
    targets: pd.DataFrame | None,
    national_default_pct: float,
    region_default_pct: float | None,
    region_level: str,
    no_sraddet_regions: Sequence[str] = NO_SRADDET_REGIONS,
) -> dict[tuple[str, str], Target]:
    """The :class:`Target` of each ``(level, code)`` of ``units`` (the cascade above).

    A parent that allocates hectares passes on its implied reduction (envelope / reference) to
    the territories that inherit from it: a document's hectares belong to its own territory.
    """
    own: dict[tuple[str, str], Target] = {}
    known = set(territories.all_levels)
    exists = set(zip(territories.names["level"], territories.names["code"], strict=True))
    exists |= {(COMMUNE, c) for c in territories.communes["code"]}
    for r in (targets.itertuples(index=False) if targets is not None else []):
        if r.level not in known:
            raise ConfigError(f"targets: level {r.level!r} of {r.code} is not a level of the territories "
                              f"({', '.join(sorted(known))}); fix the targets file or [territories].levels")
        if (r.level, r.code) not in exists:  # else the target would be dropped and the unit left on a default
            raise SchemaError(f"targets: {r.level} {r.code} names no territory of the run; fix the code, or remove "
                              "the rows of territories outside [territories]")
        pct, env = float(getattr(r, "target_pct", np.nan)), float(getattr(r, "envelope_ha", np.nan))
        _check_pct_and_envelope(targets, r.level, r.code, pct, env, references.get((r.level, r.code)))
        own[(r.level, r.code)] = Target(
            pct, env, "own",
            str(getattr(r, "document", "") or ""), str(getattr(r, "document_name", "") or ""),
            str(getattr(r, "doc_status", "") or ""))
    no_sraddet = {str(c) for c in no_sraddet_regions}
    out = {}
    for level, code in units[["level", "code"]].itertuples(index=False):
        if (level, code) in own:
            out[(level, code)] = own[(level, code)]
            continue
        found = None
        for plevel, pcode in _parents_of(level, code, territories):
            if (plevel, pcode) in own:
                t = own[(plevel, pcode)]
                pct = t.pct
                if not np.isnan(t.envelope_ha):
                    ref = references.get((plevel, pcode), np.nan)
                    pct = (1.0 - t.envelope_ha / ref) * 100.0 if ref and ref > 0 else np.nan
                found = Target(pct, np.nan, f"parent:{plevel}:{pcode}", t.document, t.document_name, t.doc_status)
                break
        if found is None and level == region_level and region_default_pct is not None and code not in no_sraddet:
            found = Target(float(region_default_pct), np.nan, "region_default")
        out[(level, code)] = found or Target(float(national_default_pct), np.nan, "national_default")
    return out


def _parents_of(level: str, code: str, territories: Territories) -> list[tuple[str, str]]:
    """Parents in level order; for a parent unit, only containing units of later levels."""
    parents = territories.parents(code, level)
    if level == COMMUNE or level not in territories.levels:
        return parents
    later = territories.levels[territories.levels.index(level) + 1:]
    return [(lvl, c) for lvl, c in parents if lvl in later]


def commune_guarantees(
    territories: Territories,
    *,
    base_ha: float = 1.0,
    documents: pd.DataFrame | None = None,
    cutoff: date = date(2026, 8, 22),
    deleguees: pd.DataFrame | None = None,
    per_deleguee_ha: float = 0.5,
    cap_ha: float = 2.0,
    cap_applies_to: str = "total",
    nouvelle_since: date = date(2011, 1, 1),
    mutualisation: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The garantie communale each commune is entitled to, and why (loi 2023-630, DOMAIN §1.3).

    Parameters
    ----------
    territories
        The communes and their parents (a documents row may name a parent unit: a PLUi's EPCI).
    base_ha
        The guarantee of the first decade (1 ha); 0 turns the guarantee off.
    documents
        :func:`ocsol.io.targets.read_documents`. A commune is eligible when one of its documents
        other than RNU has a prescription, arrêt or approval date **before** ``cutoff``. Without
        the table every commune is assumed eligible (``assumed``). A commune of the territories
        absent from a given table is an error (write ``RNU`` for a commune without a document).
    deleguees
        ``old_code, new_code[, type], creation_date`` (communes déléguées): an eligible commune
        nouvelle created on or after ``nouvelle_since`` gets ``per_deleguee_ha`` more per commune
        déléguée (communes associées do not count).
    cap_ha, cap_applies_to
        The 2 ha limit and what it caps: ``"total"`` (1 + bonus ≤ 2) or ``"bonus"`` (bonus ≤ 2);
        the text is unsettled (DOMAIN §7.2), hence a parameter.
    mutualisation
        ``commune, epci``: a pooled commune keeps no floor of its own (``pooled``); the EPCI
        must contain it.

    Returns
    -------
    DataFrame
        ``code, guarantee_ha, guarantee_reason, pooled_by`` per commune; ``guarantee_ha`` is the
        entitlement (the pooled amount for a pooled commune); ``pooled_by`` the EPCI code or "".

    Raises
    ------
    SchemaError
        Documents or pooling rows for unknown territories, a commune missing from the
        documents table, or déléguées without a creation date.
    ConfigError
        An unknown ``cap_applies_to``.
    """
    if cap_applies_to not in ("total", "bonus"):
        raise ConfigError(f"[zan].guarantee_cap_applies_to = {cap_applies_to!r}; use \"total\" or \"bonus\"")
    communes = territories.communes["code"].astype(str).tolist()
    eligible: dict[str, str] = {}
    if documents is not None:
        eligible = _eligibility(documents, territories, cutoff)
        missing = [c for c in communes if c not in eligible]
        if missing:
            raise SchemaError(f"[zan].documents: no row for commune(s) {', '.join(missing[:10])}"
                              f"{' …' if len(missing) > 10 else ''}; add them (type RNU for a commune "
                              "without a planning document)")
    n_del = _deleguees_since(deleguees, nouvelle_since) if deleguees is not None else {}
    pooled = {}
    if mutualisation is not None:
        for c, e in mutualisation[["commune", "epci"]].itertuples(index=False):
            if c not in set(communes):
                raise SchemaError(f"[zan].mutualisation: commune {c} is not a commune of the territories")
            if e not in {pc for _, pc in territories.parents(c)}:
                raise SchemaError(f"[zan].mutualisation: commune {c} is not in a unit {e} of the territories; "
                                  "name the EPCI that contains it")
            pooled[c] = e
    rows = []
    for code in communes:
        reason = eligible.get(code, "assumed")
        amount = float(base_ha) if reason in ("eligible", "assumed") else 0.0
        if amount and n_del.get(code):
            bonus = per_deleguee_ha * n_del[code]
            amount = (min(cap_ha, base_ha + bonus) if cap_applies_to == "total" else base_ha + min(cap_ha, bonus))
            reason = "commune_nouvelle"
        by = ""
        if amount and code in pooled:
            reason, by = "pooled", pooled[code]
        rows.append((code, float(amount), reason if base_ha else "", by))
    return pd.DataFrame(rows, columns=GUARANTEE_COLUMNS)


def _eligibility(documents: pd.DataFrame, territories: Territories, cutoff: date) -> dict[str, str]:
    """Commune → ``eligible`` / ``not_eligible`` / ``rnu`` from its documents (any parent row applies)."""
    names = territories.names
    units = set(zip(names["level"], names["code"], strict=True))
    by_code = {code: lvl for lvl, code in units}
    per: dict[str, list[tuple[str, list[Any]]]] = {}
    unknown = []
    for r in documents.itertuples(index=False):
        dates = [d for d in (r.prescription_date, r.arret_date, r.approval_date) if d is not None]
        if (COMMUNE, r.code) in units:
            targets = [r.code]
        elif r.code in by_code:
            targets = territories.members(by_code[r.code], r.code)
        else:
            unknown.append(r.code)
            continue
        for c in targets:
            per.setdefault(c, []).append((r.type, dates))
    if unknown:
        raise SchemaError(f"[zan].documents: code(s) {', '.join(unknown[:10])} name no territory; "
                          "use commune INSEE codes or a parent unit's code")
    out = {}
    for c, docs in per.items():
        real = [(t, d) for t, d in docs if t != "RNU"]
        if not real:
            out[c] = "rnu"
        elif any(x < cutoff for _, d in real for x in d):
            out[c] = "eligible"
        else:
            out[c] = "not_eligible"
    return out


def _deleguees_since(deleguees: pd.DataFrame, since: date) -> dict[str, int]:
    """Commune nouvelle code → number of communes déléguées, for those created on or after ``since``."""
    d = deleguees
    if "type" in d:
        d = d[d["type"].astype(str).str.lower().str.contains("deleg|délég|comd", regex=True)]
    if "creation_date" not in d:
        raise SchemaError("[zan].guarantee_deleguees: no creation_date column; the commune nouvelle bonus "
                          f"applies only to communes created on or after {since.isoformat()}: add the "
                          "date of creation of each commune nouvelle (YYYY-MM-DD)")
    d = d[[x is not None and x >= since for x in d["creation_date"]]]
    return {str(k): int(v) for k, v in d.groupby("new_code")["old_code"].nunique().items()}


#: Columns of :func:`deductions_by_year` (per level, code, year).
DEDUCTED = {"pene": "deducted_pene_ha", "pv": "deducted_pv_ha", "renaturation": "deducted_renaturation_ha",
            "other": "deducted_other_ha"}


def deductions_by_year(
    deductions: pd.DataFrame | None,
    consumption: pd.DataFrame,
    territories: Territories,
    *,
    period: tuple[int, int],
    count_renaturation: bool = False,
) -> pd.DataFrame:
    """Deducted hectares per territory, flow year and type (the ledger summed to every level).

    Parameters
    ----------
    deductions
        :func:`ocsol.io.targets.read_deductions` or None.
    consumption
        ``consumption.csv``-shaped table: a deduction must fall in an observed year of the
        period and not exceed that commune's gross consumption of the year.
    count_renaturation
        Renaturation is deducted only when the council opts in (R. 2231-1 1° CGCT); otherwise its
        column is left empty.

    Returns
    -------
    DataFrame
        ``level, code, year`` + :data:`DEDUCTED` columns + ``deducted_ha`` (the sum counted).

    Raises
    ------
    SchemaError
        A code that is no commune of the territories, a year outside the observed period, or a
        deduction larger than the consumption recorded that year.
    """
    cols = ["level", "code", "year", *DEDUCTED.values(), "deducted_ha"]
    if deductions is None or not len(deductions):
        return pd.DataFrame(columns=cols)
    d = deductions
    known = set(territories.communes["code"])
    com = consumption[consumption["level"] == COMMUNE].set_index(["code", "year"])["total_ha"]
    years = sorted(consumption.loc[consumption["year"] >= period[0], "year"].astype(int).unique())
    last = min(years[-1], period[1]) if years else period[0] - 1
    problems = []
    for r in d.itertuples(index=False):
        if r.code not in known:
            problems.append(f"{r.code}: not a commune of the territories")
        elif not period[0] <= r.year <= last:
            problems.append(f"{r.code} {r.year}: outside the observed flows of the period "
                            f"{period[0]}–{last}")
    wide = d.pivot_table(index=["code", "year"], columns="type", values="area_ha", aggfunc="sum").fillna(0.0)
    for t in DEDUCTED:
        if t not in wide:
            wide[t] = 0.0
    counted = [t for t in DEDUCTED if t != "renaturation" or count_renaturation]
    wide["deducted_ha"] = wide[counted].sum(axis=1)
    for (code, year), value in wide["deducted_ha"].items():
        gross = float(com.get((code, year), np.nan))
        if code in known and period[0] <= year <= last and not value <= (gross if gross == gross else 0.0) + 1e-6:
            problems.append(f"{code} {year}: {value:.4f} ha deducted but {gross:.4f} ha consumed that year "
                            "(use the Cerema flow year in which the consumption is recorded)")
    if problems:
        raise SchemaError("[zan].deductions: " + "; ".join(problems[:10]) + "; fix the deductions file")
    wide = wide.rename(columns=DEDUCTED).reset_index()
    out = aggregate(wide, territories, values=[*DEDUCTED.values(), "deducted_ha"], by=["year"])
    if not count_renaturation:
        out["deducted_renaturation_ha"] = np.nan
    return out[cols]


def communes_touched(perimeters: gpd.GeoDataFrame, territories: Territories) -> pd.DataFrame:
    """Communes a PENE perimeter layer touches (to fill the deductions ledger; not its hectares).

    The Cerema file is communal: it cannot tell which hectares of a commune a project consumed,
    so the deductions' ``area_ha`` must come from the user (the project's own figures). This
    helper only lists the communes concerned and the area of the perimeter inside each.

    Parameters
    ----------
    perimeters
        Polygons of PENE perimeters (e.g. Cerema Cartagène « PENE_contour »), in the territories'
        CRS: read them with ``ocsol.io.vector.read_layer(path, what="PENE perimeter",
        crs=working_crs("EPSG:2154"))``.
    territories
        With commune geometry.

    Returns
    -------
    DataFrame
        ``code, name, perimeter_area_ha`` (area of the perimeters inside the commune), sorted by code.

    Raises
    ------
    SchemaError
        Without commune geometry.
    """
    if not territories.has_geometry:
        raise SchemaError("communes_touched: the territories have no geometry; use a commune polygon layer")
    com = territories.communes[["code", "name", "geometry"]]
    pieces = com.overlay(perimeters[["geometry"]], how="intersection", keep_geom_type=True)
    pieces["perimeter_area_ha"] = pieces.geometry.area / 1e4
    out = pieces.groupby(["code", "name"], as_index=False)["perimeter_area_ha"].sum()
    return out[out["perimeter_area_ha"] > 0].sort_values("code").reset_index(drop=True)
