"""Demography and land-use efficiency: m² per new inhabitant, (Δhouseholds + Δjobs) per ha, SDG 11.3.1.

Pure functions. Periods are given in **flow years** like the ZAN windows: the period
``(start, end)`` covers the flows ``start``…``end``, i.e. 1 January ``start`` → 1 January
``end + 1``, ``y = end + 1 − start`` years. Population (INSEE population municipale of year N,
dated 1 January N) is therefore read at ``start`` and ``end + 1``. A period is clipped to the
years present in both the consumption and the population tables (the row says so in ``note``).

SDG 11.3.1 (DOMAIN §4.1), variant ``"ln"`` (default, current UN metadata) or ``"linear"``
(older metadata), applied to both rates::

    ln:      LCR = ln(Urb_t2 / Urb_t1) / y        PGR = ln(Pop_t2 / Pop_t1) / y
    linear:  LCR = (Urb_t2 − Urb_t1) / Urb_t1 / y PGR = (Pop_t2 − Pop_t1) / Pop_t1 / y
    LCRPGR = LCR / PGR

``Urb`` is the OCS GE artificialised stock (``stock_summary.artif_ha``) at ``start`` and
``end + 1``; pairs of OCS GE vintages ``(v1, v2)`` are added as periods ``(v1, v2 − 1)``. Without
a stock at both dates, ``lcr`` (and ``lcrpgr``) are NaN with a note.
Policy for zero or negative population growth: ``lcrpgr`` is NaN (undefined when PGR = 0,
not interpretable when PGR < 0: a negative ratio would rank a shrinking, sprawling town as
"densifying"); ``m2_per_new_inhabitant`` is NaN as well; the note says why; LCR and PGR are
still reported.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import schema
from .consumption import completeness
from .errors import ConfigError
from .territories import COMMUNE, Territories, aggregate, sort_by_level
from .units import M2_PER_HA

log = logging.getLogger(__name__)

#: Columns of ``efficiency.csv`` (``households_jobs_per_ha`` is appended when households or jobs
#: are given).
EFFICIENCY_COLUMNS: list[str] = schema.columns("efficiency")
VARIANTS = ("ln", "linear")


def growth_rate(start: np.ndarray | float, end: np.ndarray | float, years: float, *,
                variant: str = "ln") -> np.ndarray:
    """Annual growth rate between two positive quantities (SDG 11.3.1 LCR / PGR).

    Examples
    --------
    >>> round(float(growth_rate(100.0, 110.0, 10)), 6)
    0.009531
    >>> round(float(growth_rate(100.0, 110.0, 10, variant="linear")), 6)
    0.01
    """
    s = np.asarray(start, dtype=float)
    e = np.asarray(end, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if variant == "ln":
            out = np.log(e / s) / years
        elif variant == "linear":
            out = (e - s) / s / years
        else:
            raise ConfigError(f"[efficiency].sdg_variant = {variant!r}; use 'ln' or 'linear'")
    return np.where((s > 0) & (e > 0), out, np.nan)


def _levels_by_year(table: pd.DataFrame, territories: Territories, value: str) -> pd.DataFrame:
    """Sum a commune × year table to every level; parents missing a commune's value get NaN."""
    known = set(territories.communes["code"])
    t = table[table["code"].isin(known)][["code", "year", value]].assign(_n=1)
    agg = aggregate(t, territories, values=[value, "_n"], by=["year"])
    units = territories.units()[["level", "code", "n_communes"]]
    agg = agg.merge(units, on=["level", "code"], how="left")
    agg.loc[agg["_n"] < agg["n_communes"], value] = np.nan
    return agg[["level", "code", "year", value]]


def _at(table: pd.DataFrame, year: int, value: str) -> pd.Series:
    sub = table[table["year"] == year]
    return sub.set_index(["level", "code"])[value]


def efficiency(
    consumption: pd.DataFrame,
    population: pd.DataFrame,
    territories: Territories,
    *,
    periods: Sequence[Sequence[int]] | None = None,
    households: pd.DataFrame | None = None,
    jobs: pd.DataFrame | None = None,
    stock_summary: pd.DataFrame | None = None,
    sdg_variant: str = "ln",
    sdg_vintages: Sequence[int] | None = None,
    reference: tuple[int, int] = (2011, 2020),
    period: tuple[int, int] = (2021, 2030),
) -> pd.DataFrame:
    """Land-use efficiency per territory and period.

    Parameters
    ----------
    consumption
        ``consumption.csv``-shaped table at every level (ha).
    population
        ``code, year, population`` per commune (:func:`ocsol.io.cerema.read_population`).
    territories
        Membership used to sum communes to parents.
    periods
        ``[[start, end], …]`` in flow years (default: the reference decade and the current
        period, each clipped to the data).
    households, jobs
        Optional ``code, year, households`` / ``code, year, jobs`` tables; adds
        ``households_jobs_per_ha`` = (Δhouseholds + Δjobs) / consumption_ha.
    stock_summary
        Optional ``level, code, vintage, artif_ha`` (OCS GE): gives Urb for the LCR and adds
        the vintage pairs as periods.
    sdg_variant
        ``"ln"`` or ``"linear"``.
    sdg_vintages
        Two OCS GE vintages to use instead of every consecutive pair.
    reference, period
        The ZAN windows used for the default ``periods``.

    Returns
    -------
    DataFrame
        :data:`EFFICIENCY_COLUMNS` (+ ``households_jobs_per_ha``), one row per territory and
        period.

    Raises
    ------
    ConfigError
        On a malformed period or an unknown ``sdg_variant``.

    Examples
    --------
    >>> comm = pd.DataFrame({"code": ["1"], "name": ["a"], "area_m2": [1e6]})
    >>> t = Territories(communes=comm, membership=pd.DataFrame({"code": ["1"]}))
    >>> conso = pd.DataFrame({"level": "commune", "code": "1", "year": [2011, 2012],
    ...                       "total_ha": [1.0, 1.0]})
    >>> pop = pd.DataFrame({"code": "1", "year": [2011, 2013], "population": [100.0, 150.0]})
    >>> e = efficiency(conso, pop, t, periods=[[2011, 2012]])
    >>> float(e["m2_per_new_inhabitant"].iloc[0])
    400.0
    """
    if sdg_variant not in VARIANTS:
        raise ConfigError(f"[efficiency].sdg_variant = {sdg_variant!r}; use 'ln' or 'linear'")
    cons_years = sorted(consumption["year"].astype(int).unique().tolist())
    pop = _levels_by_year(population, territories, "population")
    pop_years = sorted(pop["year"].astype(int).unique().tolist())
    stock = None
    if stock_summary is not None and len(stock_summary):
        stock = stock_summary[["level", "code", "vintage", "artif_ha"]].rename(
            columns={"vintage": "year", "artif_ha": "urb"})
        stock = stock.assign(code=stock["code"].astype(str), year=stock["year"].astype(int))

    wanted: list[tuple[int, int, str]] = []
    for p in (periods if periods is not None else [reference, period]):
        try:
            a, b = int(p[0]), int(p[1])
        except (TypeError, ValueError, IndexError):
            raise ConfigError(f"[efficiency].periods: {p!r} is not [first_year, last_year]") from None
        if b < a:
            raise ConfigError(f"[efficiency].periods: [{a}, {b}] ends before it starts")
        wanted.append((a, b, ""))
    if stock is not None:
        vint = sorted(stock["year"].unique().tolist())
        if sdg_vintages:
            vint = sorted(int(v) for v in sdg_vintages)
        wanted += [(v1, v2 - 1, "OCS GE vintages") for v1, v2 in zip(vint, vint[1:], strict=False)]

    # every territory with consumption, population or an OCS GE stock gets rows
    sources = [consumption[["level", "code"]], pop[["level", "code"]]]
    if stock is not None:
        sources.append(stock[["level", "code"]])
    units = pd.concat(sources, ignore_index=True).astype({"code": str}).drop_duplicates()
    units = sort_by_level(units, territories.all_levels, ["code"])
    extra = {}
    for name, tab in (("households", households), ("jobs", jobs)):
        if tab is not None and len(tab):
            extra[name] = _levels_by_year(tab, territories, name)
    frames = []
    seen = set()
    for a, b, origin in wanted:
        notes: list[str] = [origin] if origin else []
        start, end = clip_period(a, b, cons_years, pop_years)
        no_data = start is None
        if no_data:  # never an inverted period: the one asked for, empty, with the reason
            start, end = a, b
            notes.append("no consumption and population data cover this period")
        elif (start, end) != (a, b):
            notes.append(f"period clipped to {start}–{end} (data available)")
        if (start, end) in seen:
            continue
        seen.add((start, end))
        assert start is not None and end is not None  # clip_period gives both or neither
        frames.append(_one_period(units, consumption, pop, stock, extra, start, end, notes, sdg_variant, territories,
                                  empty=no_data))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=EFFICIENCY_COLUMNS)
    cols = EFFICIENCY_COLUMNS + (["households_jobs_per_ha"] if extra else [])
    return out[cols]


def clip_period(start: int, end: int, cons_years: list[int], pop_years: list[int]) -> tuple[int | None, int | None]:
    """The largest part of the flow years ``start…end`` that the data can measure.

    It needs the consumption of every year ``s…e`` and the population at ``s`` and ``e + 1``
    (population years may be sparse: census years). Returns ``(None, None)`` when nothing fits;
    never an inverted period.

    >>> clip_period(2021, 2030, list(range(2009, 2024)), list(range(2009, 2024)))
    (2021, 2022)
    >>> clip_period(2011, 2020, list(range(2009, 2024)), [2015, 2021])
    (2015, 2020)
    >>> clip_period(2021, 2030, list(range(2009, 2024)), [2015, 2021])
    (None, None)
    """
    if not cons_years or not pop_years:
        return start, end
    lo, hi = max(start, min(cons_years)), min(end, max(cons_years))
    s = min((y for y in pop_years if y >= lo), default=None)
    e = max((y - 1 for y in pop_years if y - 1 <= hi), default=None)
    if s is None or e is None or e < s:
        return None, None
    return s, e


def _one_period(units: pd.DataFrame, consumption: pd.DataFrame, pop: pd.DataFrame,
                stock: pd.DataFrame | None, extra: dict[str, pd.DataFrame], start: int, end: int,
                notes: list[str], variant: str, territories: Territories, *, empty: bool = False) -> pd.DataFrame:
    df = units.copy()
    df["period_start"], df["period_end"] = start, end
    n = len(df)
    note = [list(notes) for _ in range(n)]
    if empty:
        for c in EFFICIENCY_COLUMNS[4:-3]:
            df[c] = np.nan
        n_com = territories.units().set_index(["level", "code"])["n_communes"]
        df["n_missing"] = n_com.reindex(pd.MultiIndex.from_frame(df[["level", "code"]])).fillna(0).astype(int).to_numpy()
        df["complete"] = False
        df["note"] = ["; ".join(x) for x in note]
        if extra:
            df["households_jobs_per_ha"] = np.nan
        return df
    years = end + 1 - start
    key = pd.MultiIndex.from_frame(df[["level", "code"]])
    win = consumption[(consumption["year"] >= start) & (consumption["year"] <= end)]
    cons = win.groupby(["level", "code"])["total_ha"].sum()
    n_years = win.groupby(["level", "code"])["year"].nunique()
    df["consumption_ha"] = cons.reindex(key).to_numpy()
    complete = n_years.reindex(key).fillna(0).to_numpy() == years
    df.loc[~complete, "consumption_ha"] = np.nan
    p0 = _at(pop, start, "population").reindex(key).to_numpy()
    p1 = _at(pop, end + 1, "population").reindex(key).to_numpy()
    df["population_start"], df["population_end"] = p0, p1
    growth = p1 - p0
    with np.errstate(divide="ignore", invalid="ignore"):
        m2 = df["consumption_ha"].to_numpy() * M2_PER_HA / growth
    df["m2_per_new_inhabitant"] = np.where(growth > 0, m2, np.nan)
    pgr = growth_rate(p0, p1, years, variant=variant)
    df["pgr"] = pgr
    if stock is not None:
        u0 = _at(stock, start, "urb").reindex(key).to_numpy()
        u1 = _at(stock, end + 1, "urb").reindex(key).to_numpy()
        lcr = growth_rate(u0, u1, years, variant=variant)
    else:
        u0 = u1 = np.full(n, np.nan)
        lcr = np.full(n, np.nan)
    df["lcr"] = lcr
    with np.errstate(divide="ignore", invalid="ignore"):
        df["lcrpgr"] = np.where((pgr > 0) & ~np.isnan(lcr), lcr / pgr, np.nan)
    if extra:
        delta = np.zeros(n)
        for name, tab in extra.items():
            d = (_at(tab, end + 1, name).reindex(key).to_numpy()
                 - _at(tab, start, name).reindex(key).to_numpy())
            delta = delta + d
            for k in np.flatnonzero(np.isnan(d)):
                note[k].append(f"no {name} at {start} or {end + 1}")
        with np.errstate(divide="ignore", invalid="ignore"):
            df["households_jobs_per_ha"] = np.where(df["consumption_ha"] > 0,
                                                    delta / df["consumption_ha"].to_numpy(), np.nan)
    for i in range(n):
        if not complete[i]:
            note[i].append(f"consumption not available for every year {start}–{end}")
        if np.isnan(p0[i]) or np.isnan(p1[i]):
            note[i].append(f"no population at {start} or {end + 1}")
        elif growth[i] == 0:
            note[i].append("population unchanged: no m² per new inhabitant, LCRPGR undefined (PGR = 0)")
        elif growth[i] < 0:
            note[i].append(f"population fell by {-growth[i]:.0f}: no m² per new inhabitant; LCRPGR not "
                           "meaningful for PGR < 0 (left empty, read LCR and PGR)")
        if stock is None:
            note[i].append("no OCS GE stock: LCR not computed")
        elif np.isnan(u0[i]) or np.isnan(u1[i]):
            note[i].append(f"no OCS GE artificialised stock at {start} or {end + 1}: LCR not computed")
    # completeness: member communes with consumption and a population at both dates
    com = pop[(pop["level"] == COMMUNE) & pop["population"].notna()]
    have = set(com.loc[com["year"] == start, "code"]) & set(com.loc[com["year"] == end + 1, "code"])
    have &= set(consumption.loc[consumption["level"] == COMMUNE, "code"].astype(str))
    comp = completeness(sorted(have), territories).set_index(["level", "code"])
    df["n_missing"] = comp["n_missing"].reindex(key).fillna(0).astype(int).to_numpy()
    df["complete"] = df["n_missing"] == 0
    for k in np.flatnonzero(df["n_missing"].to_numpy() > 0):
        note[k].append(f"{df['n_missing'].iloc[k]} commune(s) without consumption or population at both dates")
    df["note"] = ["; ".join(x) for x in note]
    return df
