"""NAF consumption (Cerema fichiers fonciers): QA identities, yearly table at every level, % of area.

Pure functions: the input is the long table of :func:`ocsol.io.cerema.read_cerema` (m², one row
per commune and flow year). Year convention: year 20YY = flow from 1 January 20YY to 1 January
20YY+1 (``naf{YY}art{YY+1}``). The last year of a millésime is provisional (registration lag; it
is revised in the next millésime) and flagged as such.

QA policy (see docs/consumption.md)
-----------------------------------
Two identities are checked (DOMAIN §3.2): the six destinations sum to the total of each year,
and each multi-year total (``naf11art21``…) equals the sum of its annual flows. A difference up
to ``tolerance_m2`` (2 m², Cerema's rounding) is ``ok``; beyond it the item is listed as a
``warning`` in the QA table and computation goes on with the annual totals; a **gross**
difference (more than ``gross_m2`` = 1 ha *and* more than ``gross_share`` = 5 % of the expected
value) means columns are mislabelled or mixed from two files, and raises
:class:`~ocsol.errors.InvariantError`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import schema
from .errors import InvariantError, format_problems
from .territories import Territories, aggregate
from .units import M2_PER_HA

log = logging.getLogger(__name__)

#: Value columns of the Cerema table (:func:`ocsol.io.cerema.read_cerema`; schema table ``cerema``):
#: the total, then one column per destination.
VALUE_COLUMNS: list[str] = schema.columns("cerema", exclude=("code", "year"))
DESTINATION_COLUMNS: list[str] = VALUE_COLUMNS[1:]
HA_COLUMNS: list[str] = [c.replace("_m2", "_ha") for c in VALUE_COLUMNS]
#: Columns of ``consumption.csv``.
CONSUMPTION_COLUMNS: list[str] = schema.columns("consumption")
#: Columns of ``consumption_qa.csv`` (differences in m²: rounding residues are below a hectare).
#: ``count`` = items concerned (failing items for a summary row, 1 for an item); ``detail`` =
#: one readable line (status, code, years, note) for the run's ``qa.csv``.
QA_COLUMNS: list[str] = schema.columns("consumption_qa")


def consumption_qa(
    conso: pd.DataFrame,
    *,
    territories: Territories | None = None,
    tolerance_m2: float = 2.0,
    gross_m2: float = 10_000.0,
    gross_share: float = 0.05,
) -> pd.DataFrame:
    """Check Cerema's identities and report them as a table.

    Parameters
    ----------
    conso
        Output of :func:`~ocsol.io.cerema.read_cerema` (its ``attrs["multi_year"]`` are checked
        when present).
    territories
        When given, communes of the territories missing from the file are reported, and
        communes of the file outside the territories are counted.
    tolerance_m2
        Rounding tolerance of both identities.
    gross_m2, gross_share
        A difference above both thresholds is an error, not a warning.

    Returns
    -------
    DataFrame
        ``check, code, year_start, year_end, expected_m2, found_m2, difference_m2, status, note,
        count, detail``:
        one summary row per check (``code`` empty), one row per failing item (``warning``), one
        ``info`` row naming the provisional year.

    Raises
    ------
    InvariantError
        When an identity is grossly wrong (see the module docstring).
    """
    rows: list[dict[str, Any]] = []
    gross: list[str] = []

    def item(check: str, code: str, y0: int, y1: int, expected: float, found: float) -> None:
        diff = found - expected
        rows.append({"check": check, "code": code, "year_start": y0, "year_end": y1,
                     "expected_m2": expected, "found_m2": found, "difference_m2": diff,
                     "status": "warning", "note": f"differs by {diff:+.0f} m²"})
        if abs(diff) > gross_m2 and abs(diff) > gross_share * abs(expected):
            gross.append(f"{check} {code} {y0}–{y1}: expected {expected:.0f} m², found {found:.0f} m²")

    dest_sum = conso[DESTINATION_COLUMNS].sum(axis=1)
    diff = dest_sum - conso["total_m2"]
    bad = diff.abs() > tolerance_m2
    for i in bad[bad].index:
        y = int(conso.at[i, "year"])
        item("destinations_sum", str(conso.at[i, "code"]), y, y, float(conso.at[i, "total_m2"]),
             float(dest_sum[i]))
    rows.append(_summary("destinations_sum", len(conso), int(bad.sum()), tolerance_m2,
                         "sum of the six destinations = total of the year"))

    multi = pd.DataFrame(conso.attrs.get("multi_year") or [],
                         columns=["code", "start", "end", "total_m2", "value", "column"])
    multi["value"] = multi["value"].fillna("total_m2")
    multi["column"] = multi["column"].fillna("")
    years = set(conso["year"].unique().tolist())
    absent = set(conso.attrs.get("absent_values") or [])
    n_checked = n_bad = 0
    if len(multi):
        by_code = {k: g.set_index("year") for k, g in conso.groupby("code", sort=False)}
        for (start, end, value, column), grp in multi.groupby(["start", "end", "value", "column"], sort=True):
            check = "multi_year_total" if value == "total_m2" else "multi_year_destination"
            if not set(range(int(start), int(end) + 1)) <= years or value in absent:
                rows.append({"check": check, "code": "", "year_start": int(start),
                             "year_end": int(end), "expected_m2": np.nan, "found_m2": np.nan,
                             "difference_m2": np.nan, "status": "info",
                             "note": f"{column or value} not checked: annual flows of the window are not all "
                                     "in the file"})
                continue
            for rec in grp.itertuples():
                s = by_code[rec.code][value].loc[int(start):int(end)].sum()
                n_checked += 1
                if abs(rec.total_m2 - s) > tolerance_m2 * max(1, int(end) - int(start) + 1):
                    n_bad += 1
                    item(check, str(rec.code), int(start), int(end), float(s), float(rec.total_m2))
    rows.append(_summary("multi_year_total", n_checked, n_bad, tolerance_m2,
                         "multi-year totals (total and by destination) = sum of their annual flows"))
    for note in conso.attrs.get("notes") or []:  # what the reader recognised or filled in
        rows.append({"check": note["check"], "code": "", "year_start": np.nan, "year_end": np.nan,
                     "expected_m2": np.nan, "found_m2": np.nan, "difference_m2": np.nan,
                     "count": note.get("count", 0), "status": "info", "note": note["note"]})

    if territories is not None:
        known = set(territories.communes["code"])
        present = set(conso["code"])
        missing = sorted(known - present)
        for code in missing:
            rows.append({"check": "missing_commune", "code": code, "year_start": np.nan,
                         "year_end": np.nan, "expected_m2": np.nan, "found_m2": np.nan,
                         "difference_m2": np.nan, "status": "warning",
                         "note": "commune of the territories absent from the consumption file "
                                 "(no consumption counted; check the COG year)"})
        outside = len(present - known)
        rows.append({"check": "communes", "code": "", "year_start": np.nan, "year_end": np.nan,
                     "count": len(missing),
                     "expected_m2": np.nan, "found_m2": np.nan, "difference_m2": np.nan,
                     "status": "warning" if missing else "ok",
                     "note": f"{len(known & present)} of {len(known)} communes found; {len(missing)} "
                             f"missing; {outside} commune(s) of the file outside the territories ignored"})
        if missing:
            log.info("%d commune(s) of the territories absent from the consumption file: %s",
                        len(missing), ", ".join(missing[:5]))
    if len(conso):
        last = int(conso["year"].max())
        rows.append({"check": "provisional", "code": "", "year_start": last, "year_end": last,
                     "expected_m2": np.nan, "found_m2": np.nan, "difference_m2": np.nan,
                     "status": "info",
                     "note": f"last flow year {last} is provisional (revised in the next millésime)"})
    if gross:
        raise InvariantError(
            f"{conso.attrs.get('source', 'consumption file')}: Cerema identities grossly violated: "
            + format_problems(gross, limit=5)
            + "; the columns may be mislabelled or mixed from two millésimes — re-download the file"
        )
    qa = pd.DataFrame(rows, columns=QA_COLUMNS[:-2])
    for col in ("year_start", "year_end"):
        qa[col] = qa[col].astype("Int64")
    qa["count"] = [r.get("count", 1 if r["code"] else 0) for r in rows]
    qa["detail"] = [
        " ".join(str(x) for x in (r["status"] + ":", r["code"],
                                  _years(r["year_start"], r["year_end"]), r["note"]) if x)
        for r in rows
    ]
    return qa[QA_COLUMNS]


def _years(a: Any, b: Any) -> str:
    if pd.isna(a):
        return ""
    return f"{int(a)}" if a == b else f"{int(a)}–{int(b)}"


def _summary(check: str, n: int, n_bad: int, tol: float, what: str) -> dict[str, Any]:
    return {"check": check, "code": "", "year_start": np.nan, "year_end": np.nan,
            "expected_m2": np.nan, "found_m2": np.nan, "difference_m2": np.nan, "count": n_bad,
            "status": "warning" if n_bad else "ok",
            "note": f"{what}: {n} checked, {n_bad} off by more than {tol:g} m²"}


def consumption_by_year(
    conso: pd.DataFrame,
    territories: Territories,
    *,
    provisional_years: list[int] | None = None,
) -> pd.DataFrame:
    """Yearly NAF consumption, in hectares, for every territory of every level.

    Parameters
    ----------
    conso
        Output of :func:`~ocsol.io.cerema.read_cerema` (m²).
    territories
        Communes kept and their parents; communes of the file outside the territories are
        left out (a national file may be used for a small territory).
    provisional_years
        Years flagged provisional (default: the last year of the file).

    Returns
    -------
    DataFrame
        ``level, code, year, total_ha, habitat_ha, activite_ha, mixte_ha, route_ha,
        ferroviaire_ha, inconnu_ha, provisional, complete, n_missing``; parents are sums of
        their communes; ``complete = False`` and ``n_missing`` > 0 when some of a territory's
        communes are absent from the file (its sums are partial; a missing commune has no row).

    Examples
    --------
    >>> from ocsol.io.cerema import read_cerema
    >>> from ocsol.io.territories import read_territories
    >>> t = read_territories("data/lyon/communes_metropole_lyon.csv", area="surface_ha",
    ...                      levels={"epci": "epci_siren"})
    >>> c = consumption_by_year(read_cerema("data/lyon/conso_communes_cerema_format.csv"), t)
    >>> row = c[(c["level"] == "epci") & (c["year"] == 2011)]
    >>> round(float(row["total_ha"].iloc[0]), 2)
    80.32
    """
    keep = conso[conso["code"].isin(set(territories.communes["code"]))]
    dropped = conso["code"].nunique() - keep["code"].nunique()
    if dropped:
        log.info("%d commune(s) of the consumption file outside the territories left out", dropped)
    table = keep[["code", "year", *VALUE_COLUMNS]].copy()
    for m2, ha in zip(VALUE_COLUMNS, HA_COLUMNS, strict=True):
        table[ha] = table[m2] / M2_PER_HA
    out = aggregate(table, territories, values=HA_COLUMNS, by=["year"])
    if provisional_years is None:
        provisional_years = [int(conso["year"].max())] if len(conso) else []
    out["year"] = out["year"].astype(int)
    out["provisional"] = out["year"].isin(list(provisional_years))
    out = out.merge(completeness(keep["code"].unique(), territories), on=["level", "code"], how="left")
    return out[CONSUMPTION_COLUMNS].reset_index(drop=True)


def completeness(present: Sequence[str], territories: Territories) -> pd.DataFrame:
    """``level, code, n_missing, complete`` of every territory: its communes absent from ``present``.

    >>> comm = pd.DataFrame({"code": ["1", "2"], "area_m2": [1.0, 1.0]})
    >>> t = Territories(communes=comm, membership=pd.DataFrame({"code": ["1", "2"], "epci": "E"}),
    ...                 levels=("epci",))
    >>> completeness(["1"], t)[["level", "code", "n_missing", "complete"]].values.tolist()
    [['commune', '1', 0, True], ['commune', '2', 1, False], ['epci', 'E', 1, False]]
    """
    have = set(map(str, present))
    base = pd.DataFrame({"code": territories.communes["code"].astype(str)})
    base["n_missing"] = (~base["code"].isin(have)).astype(int)
    out = aggregate(base, territories, values=["n_missing"])
    out["n_missing"] = out["n_missing"].astype(int)
    out["complete"] = out["n_missing"] == 0
    return out[["level", "code", "n_missing", "complete"]]


def period_total(consumption: pd.DataFrame, start: int, end: int) -> pd.DataFrame:
    """Consumption summed over flow years ``start``…``end`` (inclusive) per territory.

    Parameters
    ----------
    consumption
        ``consumption.csv``-shaped table.
    start, end
        First and last flow year (2011, 2020 = 1 Jan 2011 → 1 Jan 2021, ten flows).

    Returns
    -------
    DataFrame
        ``level, code, consumption_ha, years_observed, last_year`` for every territory of the
        table (0 and 0 when no year of the window is present).
    """
    keys = consumption[["level", "code"]].drop_duplicates()
    win = consumption[(consumption["year"] >= start) & (consumption["year"] <= end)]
    agg = win.groupby(["level", "code"], sort=False).agg(
        consumption_ha=("total_ha", "sum"), years_observed=("year", "nunique"), last_year=("year", "max"))
    out = keys.merge(agg.reset_index(), on=["level", "code"], how="left")
    out["consumption_ha"] = out["consumption_ha"].fillna(0.0)
    out["years_observed"] = out["years_observed"].fillna(0).astype(int)
    out["last_year"] = out["last_year"].astype("Int64")
    return out.reset_index(drop=True)


def with_area_pct(
    table: pd.DataFrame, territories: Territories, *, columns: list[str] | None = None
) -> pd.DataFrame:
    """Add ``*_pct`` columns: a hectare column as a percentage of the territory's area.

    Parameters
    ----------
    table
        Has ``level, code`` and hectare columns (``total_ha`` …).
    territories
        Gives the areas (from the geometry or the ``area`` column), summed for parents.
    columns
        Hectare columns to convert (default: every ``*_ha`` column); ``total_ha`` gives
        ``total_pct`` (R. 2231-1 1° CGCT: consumption as % of the territory's area).

    Returns
    -------
    DataFrame
        A copy of ``table`` with the new columns.

    Examples
    --------
    >>> comm = pd.DataFrame({"code": ["1"], "name": ["a"], "area_m2": [2_000_000.0]})
    >>> t = Territories(communes=comm, membership=pd.DataFrame({"code": ["1"]}),
    ...                 names=pd.DataFrame({"level": ["commune"], "code": ["1"], "name": ["a"]}))
    >>> with_area_pct(pd.DataFrame({"level": ["commune"], "code": ["1"], "total_ha": [2.0]}), t)
         level code  total_ha  total_pct
    0  commune    1       2.0        1.0
    """
    columns = columns or [c for c in table.columns if c.endswith("_ha")]
    units = territories.units()[["level", "code", "area_m2"]]
    merged = table.merge(units, on=["level", "code"], how="left")
    out = table.copy()
    area_ha = (merged["area_m2"] / M2_PER_HA).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        for col in columns:
            out[col[: -len("_ha")] + "_pct"] = out[col].to_numpy(dtype=float) / area_ha * 100.0
    return out

