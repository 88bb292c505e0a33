"""ZAN trajectory: reference decade, allowance, counted consumption, projection, verdict.

Pure functions over the ``consumption.csv`` table (:func:`ocsol.consumption.consumption_by_year`)
and the ZAN input tables (:mod:`ocsol.io.targets`, rules in :mod:`ocsol.zan_rules`). The rules
(DOMAIN §1.2–1.3, §1.8; docs/consumption.md gives each with its legal source):

- **Reference** = sum of the annual flows ``reference[0]``…``reference[1]`` inclusive
  (default 2011…2020: ten flows, 1 Jan 2011 → 1 Jan 2021; not eleven).
- **Target**: own row → parent's row → region default (region level only) → national default
  (:func:`ocsol.zan_rules.targets_for`); ``binding`` only for an own row of an opposable document.
- **Allowance** = the document's ``envelope_ha``, else reference × (1 − target/100); for a
  commune, raised to its garantie communale (:func:`ocsol.zan_rules.commune_guarantees`) unless
  the guarantee is pooled by its EPCI (shown there as ``pooled_ha``).
- **Counted consumption** = gross Cerema flows of the period − deductions (PENE, PV, other;
  renaturation on option). Shares, pace, projection and verdict use it.
- **Projection** = pace × number of years in the period (× 10 for 2021–2030, never × 9), with
  ``projection_basis`` and ``projection_confidence`` (``low``: fewer than ``min_years`` observed
  years, or one year carries more than ``max_year_share`` of the counted consumption).
- **Reading**: ``exceeded`` when counted > allowance; else ``will_exceed`` when projection >
  allowance; else ``within``. It goes to ``status`` only when the target is binding, else to
  ``indicative_status``; neither is filled for an incomplete territory (``complete = false``: a
  member commune is missing from the Cerema file, ``n_missing`` of them).
- **Exhaustion year**: the flow year during which cumulative counted consumption passes the
  allowance — observed when already exceeded, else extrapolated at the current pace; ``<NA>``
  when it does not happen by the end of the period (or nothing was observed / the pace is zero).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import schema
from .consumption import completeness
from .errors import ConfigError, SchemaError
from .territories import COMMUNE, Territories
from .zan_rules import DEDUCTED, NO_SRADDET_REGIONS, deductions_by_year, targets_for

log = logging.getLogger(__name__)

#: Columns of ``zan.csv`` (ocsol/data/tables.csv; the deducted columns are those of ``DEDUCTED``).
ZAN_COLUMNS: list[str] = schema.columns("zan")
#: Columns of :func:`zan_path`.
PATH_COLUMNS: list[str] = schema.columns("zan_path")
STATUSES = ("within", "will_exceed", "exceeded")
TARGET_SOURCES = ("own", "parent", "region_default", "national_default")
NATIONAL_TARGET_PCT = 50.0
REGION_TARGET_PCT = 54.5
#: Later ENAF decades: none by default (after 2031 the objective is net artificialisation).
DEFAULT_DECADES: tuple[tuple[int, int, float], ...] = ()
_EPS = 1e-9


def _window(value: Sequence[int], name: str) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"[zan].{name} must be two years [first, last], found {value!r}") from None
    if b < a:
        raise ConfigError(f"[zan].{name} = [{a}, {b}]: the last year is before the first; swap them")
    return a, b


def check_decades(
    decades: Sequence[Sequence[float]], period: tuple[int, int]
) -> list[tuple[int, int, float]]:
    """Validate ``[[start, end, reduction_pct], …]``: contiguous after the period, 0–100 %.

    Raises
    ------
    ConfigError
        When a decade is malformed, overlaps or leaves a gap, or its reduction is outside 0–100.
    """
    out = []
    prev_end = period[1]
    for i, d in enumerate(decades or [], start=1):
        try:
            a, b, pct = int(d[0]), int(d[1]), float(d[2])
        except (TypeError, ValueError, IndexError):
            raise ConfigError(f"[zan].decades #{i} must be [first_year, last_year, reduction_pct], "
                              f"found {d!r}") from None
        if a != prev_end + 1 or b < a:
            raise ConfigError(f"[zan].decades #{i} = [{a}, {b}]: must start the year after {prev_end} "
                              "and end after it starts")
        if not 0.0 <= pct <= 100.0:
            raise ConfigError(f"[zan].decades #{i}: reduction {pct:g} % is outside 0–100")
        out.append((a, b, pct))
        prev_end = b
    return out


def zan_trajectory(
    consumption: pd.DataFrame,
    territories: Territories,
    *,
    reference: tuple[int, int] = (2011, 2020),
    period: tuple[int, int] = (2021, 2030),
    national_default_pct: float = NATIONAL_TARGET_PCT,
    region_default_pct: float | None = REGION_TARGET_PCT,
    region_level: str = "region",
    no_sraddet_regions: Sequence[str] = NO_SRADDET_REGIONS,
    targets: pd.DataFrame | None = None,
    guarantees: pd.DataFrame | None = None,
    guarantee_ha: float = 1.0,
    pool_amount: str = "top_up",
    deductions: pd.DataFrame | None = None,
    count_renaturation: bool = False,
    min_years: int = 3,
    max_year_share: float = 0.5,
    decades: Sequence[Sequence[float]] = DEFAULT_DECADES,
) -> pd.DataFrame:
    """The ZAN position of every territory: reference, allowance, counted consumption, projection.

    Parameters
    ----------
    consumption
        ``consumption.csv``-shaped table (``level, code, year, total_ha`` [, ``provisional``]).
    territories
        Levels and membership (target cascade, completeness, pooling).
    reference, period
        First and last annual flow of the reference decade and of the current period.
    national_default_pct
        Reduction when no document and no region default applies (art. 191: 50 %); never binding.
    region_default_pct, region_level, no_sraddet_regions
        Reduction for a territory of level ``region_level`` with a SRADDET (arrêté du 31 mai
        2024: 54.5 %), never passed on to lower levels; None turns it off.
    targets
        :func:`ocsol.io.targets.read_targets` or None.
    guarantees
        :func:`ocsol.zan_rules.commune_guarantees` (entitlements per commune). None: every
        commune gets ``guarantee_ha`` (``assumed``).
    guarantee_ha
        Used when ``guarantees`` is None (0 disables the guarantee).
    pool_amount
        What a pooled commune adds to its EPCI's pool: ``"top_up"`` (what the guarantee would
        have added to its allowance) or ``"guarantee"`` (the whole guarantee).
    deductions
        :func:`ocsol.io.targets.read_deductions` or None.
    count_renaturation
        Deduct renaturation (R. 2231-1 1° CGCT: an option of the council).
    min_years, max_year_share
        Thresholds of ``projection_confidence = low``.
    decades
        Later decades ``[first, last, reduction_pct]``; only validated here (see :func:`zan_path`).

    Returns
    -------
    DataFrame
        :data:`ZAN_COLUMNS`, one row per territory with data (a commune missing from the Cerema
        file has none; every territory containing it has ``complete = false``, ``n_missing`` > 0
        and no status).

    Raises
    ------
    SchemaError
        When the consumption table does not cover every year of the reference decade, or a
        deduction does not fit the consumption.
    ConfigError
        On malformed windows, targets or decades.

    Examples
    --------
    >>> comm = pd.DataFrame({"code": ["1", "2"], "name": ["a", "b"], "area_m2": [1e6, 1e6]})
    >>> t = Territories(communes=comm, membership=pd.DataFrame({"code": ["1", "2"], "epci": "E"}),
    ...                 levels=("epci",))
    >>> rows = [("commune", "1", y, 0.1) for y in range(2011, 2024)]
    >>> rows += [("commune", "2", y, 4.0) for y in range(2011, 2024)]
    >>> rows += [("epci", "E", y, 4.1) for y in range(2011, 2024)]
    >>> conso = pd.DataFrame(rows, columns=["level", "code", "year", "total_ha"])
    >>> z = zan_trajectory(conso, t)
    >>> z[["code", "allowed_ha", "guarantee_applied", "indicative_status"]].values.tolist()
    [['1', 1.0, True, 'within'], ['2', 20.0, False, 'will_exceed'], ['E', 20.5, False, 'will_exceed']]
    >>> set(z["status"])  # the national default binds nobody: no verdict
    {''}
    """
    ref0, ref1 = _window(reference, "reference")
    per0, per1 = _window(period, "period")
    check_decades(decades, (per0, per1))
    if not float(national_default_pct) <= 100.0:
        raise ConfigError(f"[zan].national_default_pct = {national_default_pct!r}: must be at most 100")
    if pool_amount not in ("top_up", "guarantee"):
        raise ConfigError(f"[zan].pool_amount = {pool_amount!r}; use \"top_up\" or \"guarantee\"")
    years = set(consumption["year"].astype(int).unique().tolist())
    missing = [y for y in range(ref0, ref1 + 1) if y not in years]
    if missing:
        lo, hi = (min(years), max(years)) if years else (None, None)
        raise SchemaError(
            f"the consumption file covers flow years {lo}–{hi}, but the reference decade "
            f"{ref0}–{ref1} also needs {', '.join(map(str, missing))}; use an older millésime or "
            "set [zan].reference"
        )
    n_period = per1 - per0 + 1
    cons = consumption.copy()
    cons["year"] = cons["year"].astype(int)
    if "provisional" not in cons:
        cons["provisional"] = False
    cons["provisional"] = cons["provisional"].astype(str).str.lower() == "true"
    ded = deductions_by_year(deductions, cons, territories, period=(per0, per1),
                             count_renaturation=count_renaturation)
    per = cons[(cons["year"] >= per0) & (cons["year"] <= per1)][["level", "code", "year", "total_ha", "provisional"]]
    per = per.merge(ded, on=["level", "code", "year"], how="left")
    per["deducted_ha"] = per["deducted_ha"].fillna(0.0)
    per["counted_ha"] = per["total_ha"] - per["deducted_ha"]
    per = per.sort_values("year")
    per_groups = {k: g for k, g in per.groupby(["level", "code"], sort=False)}
    ref = cons[(cons["year"] >= ref0) & (cons["year"] <= ref1)].groupby(["level", "code"])["total_ha"].sum()

    present = cons.loc[cons["level"] == COMMUNE, "code"].astype(str).unique()
    units = completeness(present, territories)
    # territories with at least one commune in the file (a missing commune has no row, as in
    # consumption.csv; its parents are flagged incomplete)
    units = units[units.set_index(["level", "code"]).index.isin(ref.index)]
    refs = {k: float(v) for k, v in ref.items()}
    tgt = targets_for(units, territories, references=refs, targets=targets,
                      national_default_pct=float(national_default_pct), region_default_pct=region_default_pct,
                      region_level=region_level, no_sraddet_regions=no_sraddet_regions)
    gmap: dict[str, tuple[float, str, str]] = {}
    if guarantees is not None:
        gmap = {r.code: (float(r.guarantee_ha), r.guarantee_reason, r.pooled_by)
                for r in guarantees.itertuples(index=False)}
    rows = []
    for level, code, n_miss, complete in units.itertuples(index=False):
        t = tgt[(level, code)]
        has_data = (level, code) in ref.index
        reference_ha = float(ref.get((level, code), np.nan))
        pct = t.pct
        if not np.isnan(t.envelope_ha):
            base = t.envelope_ha
            pct = (1.0 - base / reference_ha) * 100.0 if reference_ha > 0 else np.nan
        else:
            base = reference_ha * (1.0 - t.pct / 100.0)
        g_amount, g_reason, pooled_by, pooled = np.nan, "", "", 0.0
        if level == COMMUNE:
            g_amount, g_reason, pooled_by = gmap.get(code, (float(guarantee_ha), "assumed" if guarantee_ha else "", ""))
        allowed, applied = base, False
        if pooled_by:
            pooled = g_amount if pool_amount == "guarantee" else max(0.0, g_amount - base)
            g_amount = 0.0
        elif level == COMMUNE and g_amount and base < g_amount:
            allowed, applied = float(g_amount), True
        grp = per_groups.get((level, code))
        n_obs = 0 if grp is None else int(grp["year"].nunique())
        gross = np.nan if not has_data else (0.0 if grp is None else float(grp["total_ha"].sum()))
        dsum = {c: (float(grp[c].sum(min_count=1)) if grp is not None and c in grp else np.nan)
                for c in DEDUCTED.values()}
        counted = np.nan if not has_data else (0.0 if grp is None else float(grp["counted_ha"].sum()))
        pace = counted / n_obs if n_obs else np.nan
        projected = pace * n_period if n_obs else np.nan
        reading = _reading(counted, projected, allowed, n_obs) if has_data and complete else ""
        last_obs = int(grp["year"].max()) if grp is not None and n_obs else None
        prov = bool(grp["provisional"].any()) if grp is not None and n_obs else False
        rows.append({
            "level": level, "code": code, "complete": bool(complete), "n_missing": int(n_miss),
            "reference_start": ref0, "reference_end": ref1, "reference_ha": reference_ha,
            "target_pct": pct, "target_source": t.source, "target_document": t.document,
            "target_document_name": t.document_name, "doc_status": t.doc_status, "binding": t.binding,
            "allowed_before_guarantee_ha": base, "guarantee_ha": g_amount, "guarantee_reason": g_reason,
            "guarantee_applied": applied, "pooled_ha": pooled if level == COMMUNE else 0.0,
            "allowed_ha": allowed, "period_start": per0, "period_end": per1, "consumed_gross_ha": gross,
            **{c: (dsum[c] if not np.isnan(dsum[c]) else (0.0 if has_data else np.nan))
               for c in DEDUCTED.values()},
            "consumed_counted_ha": counted, "consumed_since_ha": counted, "years_observed": n_obs,
            "last_year_observed": last_obs, "provisional_included": prov,
            "annual_pace_ha": pace, "projected_ha": projected,
            "projection_basis": _basis(per0, last_obs, n_obs, grp),
            "projection_confidence": _confidence(grp, n_obs, min_years, max_year_share) if has_data else "",
            "used_pct": counted / allowed * 100.0 if allowed > 0 else np.nan,
            "projected_pct": projected / allowed * 100.0 if allowed > 0 and n_obs else np.nan,
            "exhaustion_year": (_exhaustion_year(grp, allowed, pace, per0, per1) if has_data else None),
            "status": reading if t.binding else "", "indicative_status": "" if t.binding else reading,
            "_pooled_by": pooled_by,
        })
    out = pd.DataFrame(rows, columns=[*ZAN_COLUMNS, "_pooled_by"])
    if not count_renaturation:
        out["deducted_renaturation_ha"] = np.nan
    _pool_on_parents(out)
    out = out[ZAN_COLUMNS].copy()
    for c in ("exhaustion_year", "last_year_observed"):
        out[c] = out[c].astype("Int64")
    for c in ("guarantee_applied", "binding", "complete", "provisional_included"):
        out[c] = out[c].astype(bool)
    return out


def _pool_on_parents(out: pd.DataFrame) -> None:
    """Add each pooled commune's amount to the ``pooled_ha`` of the unit that pools it."""
    pooled = out[out["_pooled_by"] != ""]
    for by, amount in pooled.groupby("_pooled_by")["pooled_ha"].sum().items():
        hit = (out["level"] != COMMUNE) & (out["code"] == by)
        out.loc[hit, "pooled_ha"] = out.loc[hit, "pooled_ha"] + float(amount)


def _reading(counted: float, projected: float, allowed: float, n_obs: int) -> str:
    if np.isnan(allowed) or np.isnan(counted):
        return ""
    if counted > allowed + _EPS:
        return "exceeded"
    if n_obs and projected > allowed + _EPS:
        return "will_exceed"
    return "within"


def _basis(per0: int, last: int | None, n_obs: int, grp: pd.DataFrame | None) -> str:
    """``"2021–2023 (3 years; 2023 provisional)"``: the observed years the projection rests on."""
    if not n_obs or grp is None:
        return "no year observed"
    prov = sorted(int(y) for y in grp.loc[grp["provisional"], "year"].unique())
    text = f"{per0}–{last} ({n_obs} year{'s' if n_obs > 1 else ''}"
    return text + (f"; {', '.join(map(str, prov))} provisional)" if prov else ")")


def _confidence(grp: pd.DataFrame | None, n_obs: int, min_years: int, max_share: float) -> str:
    """``low`` when fewer than ``min_years`` years, or one year carries more than ``max_share``."""
    if grp is None or n_obs < min_years:
        return "low"
    yearly = grp.groupby("year")["counted_ha"].sum()
    total = float(yearly.sum())
    if total > 0 and float(yearly.max()) > max_share * total + _EPS:
        return "low"
    return "normal"


def _exhaustion_year(grp: pd.DataFrame | None, allowed: float, pace: float, per0: int,
                     per1: int) -> int | None:
    """Flow year during which cumulative consumption first passes the allowance."""
    if grp is None or grp.empty:
        return None
    yearly = grp.groupby("year")["counted_ha"].sum().sort_index()
    cum = yearly.cumsum()
    over = cum[cum > allowed + _EPS]
    if len(over):
        return int(over.index[0])
    if not pace or pace <= 0 or math.isnan(pace):
        return None
    last = int(yearly.index.max())
    remaining = allowed - float(cum.iloc[-1])
    k = math.floor(remaining / pace + _EPS) + 1  # smallest k with consumed + k·pace > allowed
    year = last + k
    return year if year <= per1 else None


def zan_path(
    zan: pd.DataFrame, *, decades: Sequence[Sequence[float]] = DEFAULT_DECADES
) -> pd.DataFrame:
    """Allowed ENAF consumption year by year, for the trajectory chart.

    The first span is the period's allowance (``basis = "allowance"``). Later decades are
    drawn only when ``[zan].decades`` configures them (none by default: after 2031 the objective
    is net artificialisation, :mod:`ocsol.zan_2031`); they are an **indicative** ENAF reading
    (``basis = "indicative_enaf"``). Each later envelope is the previous one reduced by its
    ``reduction_pct``, starting from the allowance **without** the garantie communale, which is
    a first-decade rule (a commune floored from 0.553 to 1 ha gets 0.276 ha, not 0.5 ha, for
    2031–2040 at −50 %). Within a decade the envelope is spread evenly over its years.

    Parameters
    ----------
    zan
        Output of :func:`zan_trajectory`.
    decades
        ``[[first, last, reduction_pct], …]`` following the period without a gap.

    Returns
    -------
    DataFrame
        :data:`PATH_COLUMNS` (cumulative since the period start, to the end of ``year``); the
        first decade has ``reduction_pct`` = the territory's target.

    Examples
    --------
    >>> z = pd.DataFrame({"level": ["commune"], "code": ["1"], "target_pct": [50.0],
    ...                   "allowed_before_guarantee_ha": [0.553], "allowed_ha": [1.0],
    ...                   "period_start": [2021], "period_end": [2030]})
    >>> p = zan_path(z, decades=[[2031, 2040, 50]])
    >>> p.groupby("decade_start")["envelope_ha"].first().round(4).tolist()
    [1.0, 0.2765]
    >>> sorted(set(p["basis"]))
    ['allowance', 'indicative_enaf']
    """
    rows = []
    for r in zan.itertuples(index=False):
        per = (int(r.period_start), int(r.period_end))
        spans = [(per[0], per[1], float(r.target_pct), float(r.allowed_ha), "allowance")]
        envelope = float(getattr(r, "allowed_before_guarantee_ha", r.allowed_ha))
        for a, b, pct in check_decades(decades, per):
            envelope = envelope * (1.0 - pct / 100.0)
            spans.append((a, b, pct, envelope, "indicative_enaf"))
        cumulative = 0.0
        for a, b, pct, env, basis in spans:
            annual = env / (b - a + 1)
            for y in range(a, b + 1):
                cumulative += annual
                rows.append((r.level, r.code, y, a, b, pct, env, annual, cumulative, basis))
    return pd.DataFrame(rows, columns=PATH_COLUMNS)


#: Columns of ``zan_coherence.csv``.
COHERENCE_COLUMNS: list[str] = schema.columns("zan_coherence")


def zan_coherence(zan: pd.DataFrame, territories: Territories) -> pd.DataFrame:
    """Territorialisation check of every parent with a binding envelope, per member level.

    For a binding parent and each lower level whose units lie entirely inside it: Σ members'
    allowances before the guarantee + Σ guarantee top-ups (allowed − allowance before the
    guarantee) + Σ pooled amounts, against the parent's envelope (R. 4251-3 CGCT / SCoT: the
    sum of the territorialised envelopes should not exceed the parent's).

    Returns
    -------
    DataFrame
        :data:`COHERENCE_COLUMNS`; ``flag`` = ``within`` or ``exceeds`` (``difference_ha`` > 0),
        empty when a member's figures are missing (``complete = false``).

    Examples
    --------
    >>> comm = pd.DataFrame({"code": ["1", "2"], "area_m2": [1.0, 1.0]})
    >>> t = Territories(communes=comm, membership=pd.DataFrame({"code": ["1", "2"], "epci": "E"}),
    ...                 levels=("epci",))
    >>> z = pd.DataFrame({"level": ["commune", "commune", "epci"], "code": ["1", "2", "E"],
    ...                   "binding": [False, False, True], "complete": True,
    ...                   "allowed_before_guarantee_ha": [0.5, 9.5, 10.0], "allowed_ha": [1.0, 9.5, 10.0],
    ...                   "pooled_ha": [0.0, 0.0, 0.0], "target_source": ["parent:epci:E"] * 2 + ["own"]})
    >>> zan_coherence(z, t)[["total_ha", "envelope_ha", "difference_ha", "flag"]].values.tolist()
    [[10.5, 10.0, 0.5, 'exceeds']]
    """
    rows = []
    z = zan.set_index(["level", "code"])
    for (level, code), r in z[(z["binding"].astype(bool)) & (z.index.get_level_values(0) != COMMUNE)].iterrows():
        lower = [COMMUNE, *territories.levels[: territories.levels.index(level)]] if level in territories.levels \
            else [COMMUNE]
        for mlevel in lower:
            if mlevel == COMMUNE:
                members = [(COMMUNE, c) for c in territories.members(level, code)]
            else:
                codes = territories.membership.loc[
                    territories.membership[level] == code, mlevel].dropna().unique()
                members = [(mlevel, c) for c in codes if (level, code) in territories.parents(c, mlevel)]
            if not members:
                continue
            m = z.reindex(members)
            base = m["allowed_before_guarantee_ha"].astype(float)
            top = (m["allowed_ha"].astype(float) - base).clip(lower=0)
            pooled = m["pooled_ha"].astype(float) if mlevel == COMMUNE else pd.Series(0.0, index=m.index)
            complete = bool(m["complete"].fillna(False).astype(bool).all()) and bool(base.notna().all())
            total = float(base.sum() + top.sum() + pooled.sum())
            envelope = float(r["allowed_ha"])
            diff = total - envelope
            rows.append({"level": level, "code": code, "member_level": mlevel, "n_members": len(members),
                         "n_members_own_target": int((m["target_source"] == "own").sum()),
                         "members_envelope_ha": float(base.sum()), "guarantees_ha": float(top.sum()),
                         "pooled_ha": float(pooled.sum()), "total_ha": total, "envelope_ha": envelope,
                         "difference_ha": diff, "complete": complete,
                         "flag": ("" if not complete else "exceeds" if diff > 1e-6 else "within")})
    return pd.DataFrame(rows, columns=COHERENCE_COLUMNS)
