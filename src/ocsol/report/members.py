"""Parent reports' members (table, two maps, the sum of the allowances explained) and the comparison
with territories of the same level.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from .. import fr
from ..compare import neighbours
from ..fr import format as ff
from ..territories import COMMUNE
from .data import ReportData
from .headline import first_efficiency, latest_stock
from .loader import Indicators, has_membership
from .safe import md
from .views import add_view

log = logging.getLogger(__name__)
#: Fewest values a median is computed over.
MIN_MEDIAN = 3
#: Parent levels that bound the default neighbours (same département, else same région).
BOUNDING_LEVELS = ("dep", "departement", "region")


def _true(v: Any) -> bool:
    return str(v).strip().lower() in ("true", "1")


def members(ctx: ReportData, ind: Indicators) -> None:
    """Member table (reference, allowance, guarantee, consumed, % used, status where binding), two maps
    and the sentence explaining the sum of the members' allowances."""
    terr = ind.territories
    if ctx.level == COMMUNE or not has_membership(terr):
        ctx.available["membres"] = False
        return
    codes = terr.members(ctx.level, ctx.code)
    units = ind.units(COMMUNE)
    m = units[units["code"].isin(codes)][["code", "name", "area_ha"]].copy()
    if m.empty:
        ctx.available["membres"] = False
        ctx.messages["membres"] = fr.text("missing", "membres")
        return
    ctx.available["membres"] = True
    zan = ind.table("zan")
    zc = zan[zan["level"] == COMMUNE] if len(zan) else zan
    if len(zc):
        cols = [c for c in ("code", "reference_ha", "target_pct", "allowed_ha", "guarantee_applied", "guarantee_ha",
                            "consumed_since_ha", "used_pct", "status", "binding") if c in zc.columns]
        m = m.merge(zc[cols], on="code", how="left")
        base = m["reference_ha"] * (1 - m["target_pct"] / 100)
        m["guarantee_topup_ha"] = np.where(m.get("guarantee_applied", False).map(_true) if "guarantee_applied" in m
                                           else False, (m["allowed_ha"] - base).clip(lower=0), 0.0)
        if "guarantee_ha" not in m:
            m["guarantee_ha"] = np.where(m["guarantee_topup_ha"] > 0, m["allowed_ha"], np.nan)
        binding = m["binding"].map(_true) if "binding" in m else pd.Series(False, index=m.index)
        m["status_fr"] = [fr.text("binding_status", str(s), default="") if b else "—"
                          for s, b in zip(m.get("status", pd.Series([""] * len(m))), binding, strict=True)]
        m["used_share"] = m["consumed_since_ha"] / m["area_ha"] * 100
    m = m.sort_values("name", kind="mergesort")
    m = m.dropna(axis=1, how="all")  # no consumption data: no empty columns of n.d.

    add_view(ctx, "membres", [("code", "text"), ("name", "text"), ("area_ha", "ha"), ("reference_ha", "ha"),
                              ("allowed_ha", "ha"), ("guarantee_ha", "ha"), ("consumed_since_ha", "ha"),
                              ("used_pct", "pct"), ("status_fr", "text")], m)
    ctx.figures["membres"] = m.drop(columns=[c for c in ("status_fr",) if c in m]).reset_index(drop=True)
    lines = [f"{ff.fmt(len(m), 'int')} communes membres dans les données."]
    z = ctx.tables.get("zan")
    if len(zc) and z is not None and len(z) and m["allowed_ha"].notna().any():
        total = float(m["allowed_ha"].sum())
        parent = float(z["allowed_ha"].iloc[0])
        diff = total - parent
        topup = float(m["guarantee_topup_ha"].sum())
        n = int((m["guarantee_topup_ha"] > 0).sum())
        kw: dict[str, Any] = {"sum": ff.fmt_unit(total, "ha"), "parent": ff.fmt_unit(parent, "ha"), "diff": ff.fmt_unit(diff, "signed"),
              "topup": ff.fmt_unit(topup, "ha"), "n": n}
        if abs(diff) < 0.005:
            lines.append(fr.text("members_sum", "equal", **kw))
        elif abs(diff - topup) < 0.01:
            lines.append(fr.text("members_sum", "explained", **kw))
        else:
            lines.append(fr.text("members_sum", "unexplained", **kw))
    ctx.texts["membres"] = "\n\n".join(lines)
    if terr.has_geometry and "consumed_since_ha" in m.columns:
        geo = terr.communes[terr.communes["code"].isin(codes)][["code", "geometry"]]
        gm = geo.merge(m[["code", "used_share", "consumed_since_ha"]], on="code", how="left")
        ctx.member_geometry = gm if len(gm) else None


def _bounding_pool(terr: Any, level: str, code: str) -> tuple[list[str], str, str] | None:
    """Codes of the same level sharing the territory's département (else région), and that parent."""
    levels = [lvl for lvl in BOUNDING_LEVELS if lvl in terr.all_levels and lvl != level]
    if not levels or not has_membership(terr):
        return None
    mem = terr.membership
    mine = set(terr.members(level, code))
    for lvl in levels:
        parents = mem.loc[mem["code"].isin(mine), lvl].dropna().unique().tolist()
        if len(parents) != 1:
            continue
        parent = str(parents[0])
        inside = set(mem.loc[mem[lvl] == parent, "code"])
        if level == COMMUNE:
            return sorted(inside), lvl, parent
        pool = sorted({str(c) for c in mem.loc[mem["code"].isin(inside), level].dropna()})
        return pool, lvl, parent
    return None


def comparison(ctx: ReportData, ind: Indicators) -> None:
    """The territory first, then neighbours of the same level (same département or région by default,
    nearest by centroid distance, or ``[compare].with``), and a median over at least three values."""
    terr = ind.territories
    n = int(ctx.meta.get("neighbours") or 8)
    with_codes = ctx.meta.get("compare_with") or None
    units = ind.units(ctx.level)
    bound = None if with_codes else _bounding_pool(terr, ctx.level, ctx.code)
    pool = bound[0] if bound else None
    how = ""
    codes: list[str] = []
    dist: dict[str, float] = {}
    try:
        nb = neighbours(terr, ctx.level, ctx.code, table=units[["level", "code", "area_ha"]], value="area_ha", n=n,
                        with_codes=with_codes if isinstance(with_codes, list) else None, within=pool)
        body = nb[nb["role"] == "neighbour"]
        codes = body["code"].tolist()
        dist = dict(zip(body["code"], body["distance_km"], strict=True))
    except Exception as exc:  # no geometry: the pool itself, in code order
        log.debug("neighbours by distance unavailable: %s", exc)
        codes = [c for c in (pool or []) if c != ctx.code][:n]
    if with_codes:
        how = fr.text("compare", "how_chosen")
    elif bound:
        how = fr.text("compare", "how_parent", level_pl=fr.level_label(ctx.level).lower() + "s",
                      parent_level=fr.level_label(bound[1]).lower(), parent=md(terr.name_of(bound[1], bound[2])))
    else:
        how = fr.text("compare", "how_nearest", n=len(codes))
    if not codes:
        ctx.available["comparaison"] = False
        ctx.messages["comparaison"] = fr.text("missing", "comparaison")
        return
    ctx.available["comparaison"] = True
    rows = units.set_index("code")
    zan = ind.table("zan")
    z = zan[zan["level"] == ctx.level].set_index("code") if len(zan) else pd.DataFrame()

    summ = ind.table("stock_summary")
    s = latest_stock(summ[summ["level"] == ctx.level]).set_index("code") if len(summ) else pd.DataFrame()
    eff = ind.table("efficiency")
    ef = first_efficiency(eff[eff["level"] == ctx.level]).set_index("code") if len(eff) else pd.DataFrame()

    def get(df: pd.DataFrame, code: str, col: str) -> float:
        try:
            return float(df.at[code, col]) if len(df) and code in df.index and col in df.columns else float("nan")
        except (TypeError, ValueError):
            return float("nan")

    table = []
    for role, code in [("territoire", ctx.code)] + [("voisin", c) for c in codes]:
        area = get(rows, code, "area_ha")
        ref = get(z, code, "reference_ha")
        table.append({"role": role, "code": code, "name": str(rows.at[code, "name"]) if code in rows.index else code,
                      "distance_km": 0.0 if role == "territoire" else dist.get(code, np.nan),
                      "area_ha": area, "reference_ha": ref, "reference_pct": ref / area * 100 if area else np.nan,
                      "consumed_since_ha": get(z, code, "consumed_since_ha"), "used_pct": get(z, code, "used_pct"),
                      "artif_pct": get(s, code, "artif_pct"),
                      "m2_per_new_inhabitant": get(ef, code, "m2_per_new_inhabitant")})
    df = pd.DataFrame(table)
    values = [c for c in df.columns if c not in ("role", "code", "name", "distance_km")]
    neigh = df[df["role"] == "voisin"]
    counts = {c: int(neigh[c].notna().sum()) for c in values}
    med: dict[str, Any] = {"role": "médiane", "code": "", "name": fr.text("compare", "median", n=len(neigh)), "distance_km": np.nan}
    for col in values:
        med[col] = float(neigh[col].median()) if counts[col] >= MIN_MEDIAN else np.nan
    if any(not np.isnan(med[c]) for c in values):  # no median at all: no empty row (the sentence says why)
        df = pd.concat([df, pd.DataFrame([med])], ignore_index=True)
    df = df.dropna(axis=1, how="all")
    if "distance_km" in df:  # the median has no distance: an empty cell, not « n.d. »
        df["distance_km"] = pd.Series([None if r == "médiane" else d for r, d in zip(df["role"], df["distance_km"],
                                                                                    strict=True)], dtype=object)
    sentence = fr.text("compare", "sentence", how=how)
    if max(counts.values(), default=0) < MIN_MEDIAN:
        sentence += " " + fr.text("compare", "no_median", n=max(counts.values(), default=0))
    ctx.texts["comparaison"] = sentence
    add_view(ctx, "comparaison", [("name", "text"), ("distance_km", "int"), ("area_ha", "ha"),
                                  ("reference_ha", "ha"), ("reference_pct", "pct_area"),
                                  ("consumed_since_ha", "ha"), ("used_pct", "pct"), ("artif_pct", "pct"),
                                  ("m2_per_new_inhabitant", "m2")], df)
    value = "reference_pct"
    if "reference_pct" not in df or df["reference_pct"].isna().all():
        value = "artif_pct"
    if value in df and df[value].notna().any():
        fig = df[["role", "code", "name", value]].rename(columns={value: "value"})
        fig.attrs["label"] = fr.text("compare", f"chart.{value}")
        ctx.figures["comparaison"] = fig
