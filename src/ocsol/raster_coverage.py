"""How much of each zone a raster covers, and raster figures left empty where it covers too little.

The raster engine (:mod:`ocsol.crosstab`) counts, per zone and vintage, the pixels whose centre
lies in the zone (``zone_m2``) and those valid in both vintages of a pair (``covered_m2``). A zone
may also lie partly (or wholly) **outside the raster's extent**: those parts hold no pixel at
all, so they are measured here from the polygons (area of the zone outside the raster's
footprint, in the working CRS).

The covered share of a zone and vintage is ``covered_m2 / (zone_m2 + outside_m2)``; a parent's
share is the sum of its communes' covered areas over the sum of their areas. A zone whose share
is below ``[raster].min_coverage`` gets its figures left **empty** (NaN) with the reason in a
``note`` column, never a partial sum shown as if complete; every partly covered zone is listed in
``qa.csv``. A zone too small to hold one pixel centre has share 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import pandas as pd

from .territories import Territories, aggregate
from .units import M2_PER_HA

#: Shares closer to 1 than this are complete (float noise of polygon areas).
SHARE_EPSILON = 1e-9
#: At most this many partly covered zones are listed one by one in qa.csv.
QA_ZONES = 200
#: Figure columns emptied per table when a zone is not covered enough.
FIGURES = {
    "stock_summary": ["artif_ha", "artif_pct", "imper_ha", "imper_pct"],
    "stock": ["area_ha"],
    "flows": ["artif_ha", "desartif_ha", "net_artif_ha", "imper_ha", "desimper_ha", "net_imper_ha"],
    "transitions": ["area_ha"],
    "land_account": ["opening_ha", "additions_ha", "reductions_ha", "closing_ha"],
}


def outside_extent_m2(territories: Territories, bounds: tuple[float, float, float, float], crs: Any) -> pd.Series:
    """Area (m², working CRS) of each commune lying outside the raster's footprint, by code.

    ``bounds``: the raster's extent ``(xmin, ymin, xmax, ymax)`` in its own ``crs`` (anything
    :meth:`geopandas.GeoSeries.to_crs` takes), as the raster step reads them
    (:func:`ocsol.steps.raster.raster_footprint`).
    """
    import geopandas as gpd
    import shapely

    x0, y0, x1, y1 = bounds
    box = shapely.segmentize(shapely.box(x0, y0, x1, y1), max(x1 - x0, y1 - y0) / 256)
    communes = territories.communes
    footprint = gpd.GeoSeries([box], crs=crs).to_crs(communes.crs).iloc[0]
    geoms = np.asarray(communes.geometry.values)
    total = shapely.area(geoms)
    inside = shapely.area(shapely.intersection(geoms, footprint))
    outside = np.where(total - inside > SHARE_EPSILON * total, total - inside, 0.0)
    return pd.Series(outside, index=communes["code"].astype(str).to_numpy())


def coverage_shares(covered: pd.DataFrame, territories: Territories, outside_m2: pd.Series,
                    vintages: list[int]) -> pd.DataFrame:
    """Covered share of every zone of every level and vintage.

    Parameters
    ----------
    covered
        :attr:`ocsol.crosstab.RasterPieces.covered` (``code, vintage, zone_m2, covered_m2, …``).
    territories
        The zones and their parents.
    outside_m2
        Area of each commune outside the raster's extent (:func:`outside_extent_m2`).
    vintages
        Every vintage of the run (communes without any pixel get a row with share 0).

    Returns
    -------
    DataFrame
        ``level, code, vintage, zone_m2, covered_m2, share`` (``zone_m2`` includes the part
        outside the raster).
    """
    codes = territories.communes["code"].astype(str)
    grid = pd.MultiIndex.from_product([codes, vintages], names=["code", "vintage"]).to_frame(index=False)
    cov = covered[["code", "vintage", "zone_m2", "covered_m2"]].astype({"code": str, "vintage": int})
    full = grid.merge(cov, on=["code", "vintage"], how="left").fillna({"zone_m2": 0.0, "covered_m2": 0.0})
    full["zone_m2"] = full["zone_m2"] + full["code"].map(outside_m2).fillna(0.0).to_numpy()
    agg = aggregate(full, territories, by=["vintage"], values=["zone_m2", "covered_m2"])
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(agg["zone_m2"] > 0, agg["covered_m2"] / agg["zone_m2"], 0.0)
    agg["share"] = np.clip(share, 0.0, 1.0)
    return agg[["level", "code", "vintage", "zone_m2", "covered_m2", "share"]]


def apply_min_coverage(
    tables: Mapping[str, pd.DataFrame], shares: pd.DataFrame, territories: Territories, *, min_coverage: float
) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]]]:
    """Empty the figures of zones covered below ``min_coverage``; qa rows for partly covered zones.

    Returns new tables (the inputs are not changed) with ``covered_pct`` (stock_summary) and a
    ``note`` column saying why figures are empty, and the qa rows (``topic, item, count, detail``,
    ``key`` and the parameters of its French wording).

    Examples
    --------
    >>> comm = pd.DataFrame({"code": ["1"], "area_m2": [100.0]})
    >>> t = Territories(communes=comm, membership=pd.DataFrame({"code": ["1"]}))
    >>> sh = pd.DataFrame({"level": ["commune"], "code": ["1"], "vintage": [2020], "zone_m2": [100.0],
    ...                    "covered_m2": [40.0], "share": [0.4]})
    >>> ss = pd.DataFrame({"level": ["commune"], "code": ["1"], "vintage": [2020], "area_ha": [0.01],
    ...                    "covered_ha": [0.004], "artif_ha": [0.001], "artif_pct": [10.0],
    ...                    "imper_ha": [0.0], "imper_pct": [0.0]})
    >>> out, qa = apply_min_coverage({"stock_summary": ss}, sh, t, min_coverage=0.99)
    >>> out["stock_summary"][["covered_pct", "artif_ha"]].values.tolist()
    [[40.0, nan]]
    >>> qa[0]["detail"]
    '2020: 40.00 % — below min_coverage (99.0 %): figures left empty'
    """
    share = shares.set_index(["level", "code", "vintage"])["share"]
    low = share[share < min_coverage - SHARE_EPSILON]
    out: dict[str, pd.DataFrame] = {}
    for name, df in tables.items():
        cols = [c for c in FIGURES.get(name, []) if c in df.columns]
        if not cols or df.empty:
            out[name] = df
            continue
        df = df.copy()
        if "vintage" in df.columns:
            s = _lookup(share, df, "vintage")
        else:  # a pair of vintages: the smaller of the two shares
            s = np.minimum(_lookup(share, df, "vintage_from"), _lookup(share, df, "vintage_to"))
        bad = s < min_coverage - SHARE_EPSILON
        if name == "stock_summary":
            df["covered_pct"] = s * 100
        df.loc[bad, cols] = np.nan
        df["note"] = np.where(bad, [_note(v, min_coverage) for v in s], "")
        out[name] = df
    if "stock_summary" in out:
        out["stock_summary"] = _add_missing_zones(out["stock_summary"], shares, territories, min_coverage)
    qa = _qa_rows(shares, min_coverage)
    if len(low):
        qa.append({"topic": "raster", "item": f"zones covered below min_coverage {min_coverage * 100:.1f} % "
                   "(figures left empty)", "count": int(low.reset_index()[["level", "code"]].drop_duplicates().shape[0]),
                   "detail": "see stock_summary.note", "key": "raster.below_min_coverage",
                   "pct": f"{min_coverage * 100:.1f}"})
    return out, qa


def _lookup(share: pd.Series, df: pd.DataFrame, col: str) -> np.ndarray:
    idx = pd.MultiIndex.from_arrays([df["level"], df["code"].astype(str), df[col].astype(int)])
    return cast(np.ndarray, share.reindex(idx).fillna(0.0).to_numpy())


def _note(share: float, min_coverage: float) -> str:
    return (f"raster covers {share * 100:.2f} % of the zone, below min_coverage {min_coverage * 100:.1f} %: "
            "figure left empty")


def _add_missing_zones(ss: pd.DataFrame, shares: pd.DataFrame, territories: Territories,
                       min_coverage: float) -> pd.DataFrame:
    """stock_summary rows for zones without any pixel (outside the raster, or smaller than a pixel)."""
    have = pd.MultiIndex.from_frame(ss[["level", "code", "vintage"]].astype({"code": str, "vintage": int}))
    key = pd.MultiIndex.from_frame(shares[["level", "code", "vintage"]])
    missing = shares[~key.isin(have) & (shares["covered_m2"] <= 0)]
    if missing.empty:
        return ss
    units = territories.units().set_index(["level", "code"])["area_m2"]
    rows = pd.DataFrame({
        "level": missing["level"].to_numpy(), "code": missing["code"].to_numpy(),
        "vintage": missing["vintage"].to_numpy(),
        "area_ha": units.reindex(pd.MultiIndex.from_frame(missing[["level", "code"]])).to_numpy() / M2_PER_HA,
        "covered_ha": 0.0, "covered_pct": 0.0,
        "note": [_note(0.0, min_coverage)] * len(missing)})
    if "measure" in ss.columns:  # what the raster figures measure (ocsol.indicators.MEASURES)
        rows.insert(2, "measure", ss["measure"].iloc[0] if len(ss) else "raster_proxy")
    out = pd.concat([ss, rows], ignore_index=True)
    order = {lvl: i for i, lvl in enumerate(territories.all_levels)}
    out = out.assign(_o=out["level"].map(order)).sort_values(["_o", "code", "vintage"], kind="mergesort")
    return out.drop(columns="_o").reset_index(drop=True)


def _qa_rows(shares: pd.DataFrame, min_coverage: float) -> list[dict[str, Any]]:
    part = shares[shares["share"] < 1 - 1e-6]
    rows = []
    for (level, code), grp in part.groupby(["level", "code"], sort=False):
        below = (grp["share"] < min_coverage - SHARE_EPSILON).any()
        detail = "; ".join(f"{int(v)}: {s * 100:.2f} %" for v, s in zip(grp["vintage"], grp["share"], strict=True))
        if below:
            detail += f" — below min_coverage ({min_coverage * 100:.1f} %): figures left empty"
        rows.append({"topic": "raster", "item": f"covered share of {level} {code}", "count": "", "detail": detail,
                     "key": "raster.zone_covered", "codes": [code], "level": level, "code": code, "shares": detail})
    if len(rows) > QA_ZONES:
        n = len(rows) - QA_ZONES
        rows = rows[:QA_ZONES] + [{"topic": "raster", "item": "zones partly covered, not listed above", "count": n,
                                   "detail": "stock_summary.covered_pct gives every share", "key": "raster.zones_more"}]
    return rows
