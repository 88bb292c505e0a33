"""ZAN trajectory: reference decade, allowance, consumption since the period start, projection.

Pure functions over the ``consumption.csv`` table (:func:`ocsol.consumption.consumption_by_year`).
The rules (DOMAIN §1.2–1.3, §1.8; docs/consumption.md):

- **Reference** = sum of the annual flows ``reference[0]``…``reference[1]`` inclusive
  (default 2011…2020: ten flows, 1 Jan 2011 → 1 Jan 2021; not eleven).
- **Target** (reduction in %) cascade: the territory's own row in ``targets`` → the nearest
  parent that has one (parents in ``territories.levels`` order; a parent unit of a non-commune
  territory is the unit all its communes share) → the default ``target_pct``.
  ``target_source`` says which: the file's ``source`` (``"SCoT"``), ``"SCoT (inherited from scot
  X)"``, or ``"national default"`` (``"configured default"`` when ``target_pct`` ≠ 50).
- **Allowance** = reference × (1 − target/100); for level ``commune`` only, raised to
  ``guarantee_ha`` (garantie communale, 1 ha) when lower (``guarantee_applied``).
- **Consumed since** = sum of the observed flows of the period (the provisional last year
  included); ``annual_pace_ha`` = consumed / years observed;
  **projection** = pace × number of years in the period (× 10 for 2021–2030, never × 9).
- **Status**: ``exceeded`` when consumed > allowance; else ``will exceed`` when projection >
  allowance; else ``within``.
- **Exhaustion year**: the flow year during which cumulative consumption passes the allowance —
  observed when already exceeded, else extrapolated at the current pace; ``<NA>`` when it does
  not happen by the end of the period (or nothing was observed / the pace is zero).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import ConfigError, SchemaError
from .territories import COMMUNE, Territories

log = logging.getLogger(__name__)

#: Columns of ``zan.csv``.
ZAN_COLUMNS: list[str] = [
    "level", "code", "reference_start", "reference_end", "reference_ha", "target_pct", "target_source",
    "allowed_ha", "guarantee_applied", "period_start", "period_end", "consumed_since_ha", "years_observed",
    "annual_pace_ha", "projected_ha", "used_pct", "projected_pct", "exhaustion_year", "status",
]
#: Columns of :func:`zan_path`.
PATH_COLUMNS: list[str] = [
    "level", "code", "year", "decade_start", "decade_end", "reduction_pct", "envelope_ha",
    "annual_allowed_ha", "allowed_cumulative_ha",
]
STATUSES = ("within", "will exceed", "exceeded")
NATIONAL_TARGET_PCT = 50.0
DEFAULT_DECADES: tuple[tuple[int, int, float], ...] = ((2031, 2040, 50.0), (2041, 2050, 100.0))
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
    target_pct: float = NATIONAL_TARGET_PCT,
    guarantee_ha: float = 1.0,
    guarantees: Mapping[str, float] | None = None,
    targets: pd.DataFrame | None = None,
    decades: Sequence[Sequence[float]] = DEFAULT_DECADES,
) -> pd.DataFrame:
    """The ZAN position of every territory: reference, allowance, consumption, projection, status.

    Parameters
    ----------
    consumption
        ``consumption.csv``-shaped table (``level, code, year, total_ha`` …) at every level.
    territories
        Levels and membership, used for the target cascade.
    reference
        First and last annual flow of the reference decade (inclusive).
    period
        First and last annual flow of the current period (inclusive).
    target_pct
        Default reduction (%) when neither the territory nor a parent has a target.
    guarantee_ha
        Garantie communale: minimum allowance of a commune (0 disables it). Never applied to
        parent levels.
    guarantees
        Optional commune code -> guarantee (ha) overriding ``guarantee_ha`` for that commune
        (communes nouvelles, communes without a PLU: see :func:`commune_guarantees`).
    targets
        Optional ``level, code, target_pct, source`` table (:func:`ocsol.io.targets.read_targets`).
    decades
        Later decades ``[first, last, reduction_pct]``; only validated here (see :func:`zan_path`).

    Returns
    -------
    DataFrame
        The ``zan.csv`` columns (:data:`ZAN_COLUMNS`), one row per territory.

    Raises
    ------
    SchemaError
        When the consumption table does not cover every year of the reference decade.
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
    >>> z[["level", "code", "reference_ha", "allowed_ha", "guarantee_applied", "status"]]
         level code  reference_ha  allowed_ha  guarantee_applied       status
    0  commune    1           1.0         1.0               True       within
    1  commune    2          40.0        20.0              False  will exceed
    2     epci    E          41.0        20.5              False  will exceed
    """
    ref0, ref1 = _window(reference, "reference")
    per0, per1 = _window(period, "period")
    check_decades(decades, (per0, per1))
    if not 0.0 <= float(target_pct) <= 100.0:
        raise ConfigError(f"[zan].target_pct = {target_pct!r}: must be between 0 and 100")
    years = set(consumption["year"].astype(int).unique().tolist())
    missing = [y for y in range(ref0, ref1 + 1) if y not in years]
    if missing:
        lo, hi = (min(years), max(years)) if years else (None, None)
        raise SchemaError(
            f"the consumption file covers flow years {lo}–{hi}, but the reference decade "
            f"{ref0}–{ref1} also needs {', '.join(map(str, missing))}; use an older millésime or "
            "set [zan].reference"
        )
    default_source = ("national default" if float(target_pct) == NATIONAL_TARGET_PCT
                      else "configured default")
    own = _target_lookup(targets, territories)
    n_period = per1 - per0 + 1

    cons = consumption[["level", "code", "year", "total_ha"]].copy()
    cons["year"] = cons["year"].astype(int)
    units = cons[["level", "code"]].drop_duplicates().reset_index(drop=True)
    ref = cons[(cons["year"] >= ref0) & (cons["year"] <= ref1)].groupby(["level", "code"])["total_ha"].sum()
    per = cons[(cons["year"] >= per0) & (cons["year"] <= per1)].sort_values("year")
    per_groups = {k: g for k, g in per.groupby(["level", "code"], sort=False)}

    rows = []
    for level, code in units.itertuples(index=False):
        reference_ha = float(ref.get((level, code), 0.0))
        pct, source = _target_for(level, code, territories, own, float(target_pct), default_source)
        allowed = reference_ha * (1.0 - pct / 100.0)
        applied = False
        floor = guarantee_ha if guarantees is None else guarantees.get(code, guarantee_ha)
        if level == COMMUNE and floor and allowed < floor:
            allowed, applied = float(floor), True
        grp = per_groups.get((level, code))
        n_obs = 0 if grp is None else int(grp["year"].nunique())
        consumed = 0.0 if grp is None else float(grp["total_ha"].sum())
        pace = consumed / n_obs if n_obs else np.nan
        projected = pace * n_period if n_obs else np.nan
        exceeded = consumed > allowed + _EPS
        if exceeded:
            status = "exceeded"
        elif n_obs and projected > allowed + _EPS:
            status = "will exceed"
        else:
            status = "within"
        rows.append({
            "level": level, "code": code, "reference_start": ref0, "reference_end": ref1,
            "reference_ha": reference_ha, "target_pct": pct, "target_source": source,
            "allowed_ha": allowed, "guarantee_applied": applied, "period_start": per0,
            "period_end": per1, "consumed_since_ha": consumed, "years_observed": n_obs,
            "annual_pace_ha": pace, "projected_ha": projected,
            "used_pct": consumed / allowed * 100.0 if allowed > 0 else np.nan,
            "projected_pct": projected / allowed * 100.0 if allowed > 0 and n_obs else np.nan,
            "exhaustion_year": _exhaustion_year(grp, allowed, pace, per0, per1),
            "status": status,
        })
    out = pd.DataFrame(rows, columns=ZAN_COLUMNS)
    out["exhaustion_year"] = out["exhaustion_year"].astype("Int64")
    out["guarantee_applied"] = out["guarantee_applied"].astype(bool)
    return out


def _exhaustion_year(grp: pd.DataFrame | None, allowed: float, pace: float, per0: int,
                     per1: int) -> int | None:
    """Flow year during which cumulative consumption first passes the allowance."""
    if grp is None or grp.empty:
        return None
    yearly = grp.groupby("year")["total_ha"].sum().sort_index()
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


def _target_lookup(targets: pd.DataFrame | None, territories: Territories) -> dict[tuple[str, str], tuple[float, str]]:
    if targets is None or len(targets) == 0:
        return {}
    need = {"level", "code", "target_pct"}
    if not need <= set(targets.columns):
        raise SchemaError(f"targets table needs columns level, code, target_pct; found {list(targets.columns)}")
    known = set(territories.all_levels)
    out = {}
    for r in targets.itertuples(index=False):
        lvl = str(r.level)
        if lvl not in known:
            log.warning("targets: level %r is not a level of the territories (%s); row for %s ignored",
                        lvl, ", ".join(known), r.code)
            continue
        pct = float(r.target_pct)
        if not 0.0 <= pct <= 100.0:
            raise ConfigError(f"targets: {lvl} {r.code}: target_pct {pct:g} is outside 0–100")
        source = str(getattr(r, "source", "") or "own")
        out[(lvl, str(r.code))] = (pct, source)
    return out


def _target_for(
    level: str, code: str, territories: Territories, own: dict[tuple[str, str], tuple[float, str]],
    default_pct: float, default_source: str,
) -> tuple[float, str]:
    if (level, code) in own:
        return own[(level, code)]
    if own:
        for plevel, pcode in _parents_of(level, code, territories):
            if (plevel, pcode) in own:
                pct, source = own[(plevel, pcode)]
                return pct, f"{source} (inherited from {plevel} {pcode})"
    return default_pct, default_source


def _parents_of(level: str, code: str, territories: Territories) -> list[tuple[str, str]]:
    """Parents in level order; for a parent unit, only containing units of later levels."""
    parents = territories.parents(code, level)
    if level == COMMUNE or level not in territories.levels:
        return parents
    later = territories.levels[territories.levels.index(level) + 1:]
    return [(lvl, c) for lvl, c in parents if lvl in later]


def zan_path(
    zan: pd.DataFrame, *, decades: Sequence[Sequence[float]] = DEFAULT_DECADES
) -> pd.DataFrame:
    """Allowed consumption year by year from the period start to 2050, for the trajectory chart.

    Each later decade's envelope is the previous decade's envelope reduced by its
    ``reduction_pct`` (default: halve again for 2031–2040, zero for 2041–2050, i.e. net zero).
    The garantie communale is a first-decade rule and is not carried over. Within a decade the
    envelope is spread evenly over its years.

    Parameters
    ----------
    zan
        Output of :func:`zan_trajectory`.
    decades
        ``[[first, last, reduction_pct], …]`` following the period without a gap.

    Returns
    -------
    DataFrame
        ``level, code, year, decade_start, decade_end, reduction_pct, envelope_ha,
        annual_allowed_ha, allowed_cumulative_ha`` (cumulative since the period start, to the end
        of ``year``); the first decade has ``reduction_pct`` = the territory's target.

    Examples
    --------
    >>> z = pd.DataFrame({"level": ["epci"], "code": ["E"], "target_pct": [50.0],
    ...                   "allowed_ha": [20.0], "period_start": [2021], "period_end": [2030]})
    >>> p = zan_path(z)
    >>> p.groupby("decade_start")["envelope_ha"].first().tolist()
    [20.0, 10.0, 0.0]
    >>> float(p["allowed_cumulative_ha"].iloc[-1])
    30.0
    """
    rows = []
    for r in zan.itertuples(index=False):
        per = (int(r.period_start), int(r.period_end))
        spans = [(per[0], per[1], float(r.target_pct), float(r.allowed_ha))]
        envelope = float(r.allowed_ha)
        for a, b, pct in check_decades(decades, per):
            envelope = envelope * (1.0 - pct / 100.0)
            spans.append((a, b, pct, envelope))
        cumulative = 0.0
        for a, b, pct, env in spans:
            annual = env / (b - a + 1)
            for y in range(a, b + 1):
                cumulative += annual
                rows.append((r.level, r.code, y, a, b, pct, env, annual, cumulative))
    return pd.DataFrame(rows, columns=PATH_COLUMNS)


def commune_guarantees(
    communes: Sequence[str],
    *,
    base_ha: float = 1.0,
    deleguees: pd.DataFrame | None = None,
    per_deleguee_ha: float = 0.5,
    cap_ha: float = 2.0,
    eligible: Sequence[str] | None = None,
) -> dict[str, float]:
    """The garantie communale of each commune (loi n° 2023-630, DOMAIN.md §1.3).

    - every commune gets ``base_ha`` (1 ha for 2021–2031);
    - a commune nouvelle gets ``per_deleguee_ha`` (0.5 ha) more per commune déléguée, the total
      capped at ``cap_ha`` (2 ha). Whether the 2 ha cap the total or the bonus is not settled
      (DOMAIN.md §7.2): ocsol caps the total; set ``cap_ha`` to change it. Only rows of type
      *déléguée* count when the table has a type column (communes associées do not);
    - when ``eligible`` is given (communes covered by a PLU, a document en tenant lieu or a carte
      communale), the others get 0: communes under the RNU do not benefit.

    >>> d = pd.DataFrame({"old_code": ["1", "2", "3", "4"], "new_code": ["1", "1", "1", "9"],
    ...                   "type": ["commune-deleguee"] * 3 + ["commune-associee"]})
    >>> commune_guarantees(["1", "5", "9"], deleguees=d, eligible=["1", "9"])
    {'1': 2.0, '5': 0.0, '9': 1.0}
    """
    n_del: dict[str, int] = {}
    if deleguees is not None and len(deleguees):
        d = deleguees
        if "type" in d:
            d = d[d["type"].str.lower().str.contains("deleg|délég|comd", regex=True)]
        n_del = d.groupby("new_code")["old_code"].nunique().to_dict()
    allowed = None if eligible is None else set(map(str, eligible))
    out = {}
    for code in map(str, communes):
        if allowed is not None and code not in allowed:
            out[code] = 0.0
            continue
        bonus = per_deleguee_ha * n_del.get(code, 0)
        out[code] = float(min(cap_ha, base_ha + bonus)) if bonus else float(base_ha)
    return out
