"""The one picker of headline figures, used by the report, ``headline.json``, the index and the open data.

Ordering (documented once, here):

- **measure**: when a territory has figures under several measures, the first present in
  :data:`ocsol.indicators.MEASURES` is the headline one (the legal IGN measure first, a raster
  proxy last; :func:`ocsol.indicators.headline_measure`);
- **latest stock**: the greatest ``vintage``;
- **latest flow**: the greatest ``vintage_to``, then the greatest ``vintage_from`` (the most recent,
  shortest pair);
- **first efficiency period**: the smallest ``period_start``, then the smallest ``period_end``;
- **ZAN**: the one ``zan`` row of the territory.

Tables without a ``measure`` column are taken as one measure (the rows are kept as they are).
"""

from __future__ import annotations

import pandas as pd

from ..indicators import MEASURES, headline_measure

KEYS = ["level", "code"]
STOCK_COLUMNS = {"vintage": "artif_vintage", "artif_ha": "artif_ha", "artif_pct": "artif_pct",
                 "imper_ha": "imper_ha", "imper_pct": "imper_pct", "measure": "artif_measure"}
FLOW_COLUMNS = {"vintage_from": "flows_from", "vintage_to": "flows_to", "net_artif_ha": "net_artif_ha",
                "net_imper_ha": "net_imper_ha", "measure": "flows_measure"}
#: Measures from the most to the least authoritative (:data:`ocsol.indicators.MEASURES` order).
MEASURE_ORDER = list(MEASURES)


def latest_stock(stock_summary: pd.DataFrame) -> pd.DataFrame:
    """One row per territory: its latest stock under its headline measure (``artif_*`` columns).

    Examples
    --------
    >>> s = pd.DataFrame({"level": ["commune"] * 2, "code": ["1", "1"], "vintage": [2019, 2022],
    ...                   "artif_ha": [1.0, 2.0], "artif_pct": [1.0, 2.0], "imper_ha": [0.5, 0.6],
    ...                   "imper_pct": [0.5, 0.6]})
    >>> row = latest_stock(s).iloc[0]
    >>> int(row["artif_vintage"]), float(row["artif_ha"])
    (2022, 2.0)
    """
    if stock_summary is None or stock_summary.empty or "vintage" not in stock_summary:
        return pd.DataFrame(columns=KEYS + list(STOCK_COLUMNS.values()))
    s = headline_measure(stock_summary).sort_values(KEYS + ["vintage"], kind="mergesort")
    s = s.groupby(KEYS, as_index=False, sort=False).tail(1)
    cols = [c for c in STOCK_COLUMNS if c in s.columns]
    return s[KEYS + cols].rename(columns=STOCK_COLUMNS).reset_index(drop=True)


def latest_flow(flows: pd.DataFrame) -> pd.DataFrame:
    """One row per territory: its latest flow under its headline measure (``flows_*``, ``net_*``)."""
    if flows is None or flows.empty or "vintage_to" not in flows:
        return pd.DataFrame(columns=KEYS + list(FLOW_COLUMNS.values()))
    f = headline_measure(flows).sort_values(KEYS + ["vintage_to", "vintage_from"], kind="mergesort")
    f = f.groupby(KEYS, as_index=False, sort=False).tail(1)
    cols = [c for c in FLOW_COLUMNS if c in f.columns]
    return f[KEYS + cols].rename(columns=FLOW_COLUMNS).reset_index(drop=True)


def first_efficiency(efficiency: pd.DataFrame) -> pd.DataFrame:
    """One row per territory: its first efficiency period (``m2_per_new_inhabitant``, ``efficiency_period``)."""
    if efficiency is None or efficiency.empty or "period_start" not in efficiency:
        return pd.DataFrame(columns=KEYS + ["m2_per_new_inhabitant", "efficiency_period"])
    e = efficiency.sort_values(KEYS + ["period_start", "period_end"], kind="mergesort")
    e = e.groupby(KEYS, as_index=False, sort=False).head(1)
    out = e[KEYS + ["m2_per_new_inhabitant"]].copy()
    out["efficiency_period"] = [f"{int(a)}-{int(b)}" for a, b in zip(e["period_start"], e["period_end"], strict=True)]
    return out.reset_index(drop=True)


def headline_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every territory's headline figures, one row per ``(level, code)`` present in any table.

    Parameters
    ----------
    tables
        Indicator tables (whole, or sliced to one territory): ``zan``, ``stock_summary``,
        ``flows``, ``efficiency`` (each optional).

    Returns
    -------
    DataFrame
        ``level, code`` + the ``zan`` columns + ``artif_*`` + ``flows_*``/``net_*`` +
        ``m2_per_new_inhabitant, efficiency_period``.
    """
    parts = []
    zan = tables.get("zan")
    if zan is not None and len(zan):
        parts.append(zan.drop_duplicates(KEYS).drop(columns=[c for c in ("measure",) if c in zan.columns]))
    parts.append(latest_stock(tables.get("stock_summary")))
    parts.append(latest_flow(tables.get("flows")))
    parts.append(first_efficiency(tables.get("efficiency")))
    out: pd.DataFrame | None = None
    for p in parts:
        if p is None or p.empty:
            continue
        out = p if out is None else out.merge(p, on=KEYS, how="outer")
    return out if out is not None else pd.DataFrame(columns=KEYS)
