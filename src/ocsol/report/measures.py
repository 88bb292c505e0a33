"""Which measure each artificialisation figure is (the ``measure`` column), and the honesty flags.

The measures issue adds a ``measure`` column (``decret_ign``, ``decret_thresholds``,
``decret_matrix``, ``custom_rule``, ``raster_proxy``) to the land tables. For tables written
before it, :func:`with_measure` derives it from what the run used: a raster legend →
``raster_proxy``; the built-in décret matrix → ``decret_matrix``; any other rule table →
``custom_rule`` (``rule.csv`` says which rule applied to which pair of vintages).

Also here: the synthetic inputs a territory's figures use (:func:`synthetic_parts`) and the
completeness of a parent's perimeter (:func:`perimeter`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..nomenclature import BUILTIN_RULES

DECREE_RULES = {"decret-2023"}


def rule_for_pair(rule: pd.DataFrame, a: int, b: int) -> str:
    """The rule table's name used for the pair of vintages ``a → b`` ('' when unknown)."""
    if rule is None or rule.empty or "rule" not in rule.columns:
        return ""
    applies = rule["applies_to"].astype(str) if "applies_to" in rule.columns else pd.Series("default", index=rule.index)
    own = rule.loc[applies == f"change layer {a}-{b}", "rule"]
    if len(own):
        return str(own.iloc[0])
    default = rule.loc[applies == "default", "rule"]
    return str(default.iloc[0]) if len(default) else ""


def _measure_of_rule(name: str) -> str:
    stem = Path(name).stem if name not in BUILTIN_RULES else name
    return "decret_matrix" if stem in DECREE_RULES or name in DECREE_RULES else "custom_rule"


def with_measure(df: pd.DataFrame | None, rule: pd.DataFrame, *, default_rule: str = "") -> pd.DataFrame | None:
    """The table with a ``measure`` column (kept when present, derived otherwise) and ``rule_name``."""
    if df is None or df.empty:
        return df
    out = df.copy()
    raster = out["source"].astype(str).str.startswith("raster") if "source" in out.columns else \
        pd.Series(False, index=out.index)
    if "vintage_from" in out.columns:
        pairs = list(zip(out["vintage_from"].astype(int), out["vintage_to"].astype(int), strict=True))
        of_pair = {p: rule_for_pair(rule, *p) or default_rule for p in set(pairs)}  # once per pair, not per row
        names = [of_pair[p] for p in pairs]
    else:
        names = [rule_for_pair(rule, -1, -1) or default_rule] * len(out)
    out["rule_name"] = [("" if r else n) for n, r in zip(names, raster, strict=True)]
    if "measure" not in out.columns:
        out["measure"] = ["raster_proxy" if r else _measure_of_rule(n) for n, r in zip(names, raster, strict=True)]
    return out


def vintages_used(tables: dict[str, pd.DataFrame]) -> set[int]:
    """Land-cover vintages a territory's stock and flow rows use."""
    used: set[int] = set()
    for name, cols in (("stock_summary", ["vintage"]), ("flows", ["vintage_from", "vintage_to"])):
        t = tables.get(name)
        if t is not None and len(t):
            for c in cols:
                used |= {int(v) for v in t[c].dropna()}
    return used


def synthetic_parts(meta: dict[str, Any], tables: dict[str, pd.DataFrame]) -> list[str]:
    """Which synthetic inputs a territory's figures use (``territories``, ``raster``, ``ocsge:Y``…).

    A synthetic OCS GE vintage counts only when the territory has a stock or flow row of that
    vintage: a Lyon report does not carry the banner of the synthetic Blois land cover.
    """
    flags = meta.get("synthetic") or []
    if flags is True:  # older manifests: one flag for the whole run
        return ["all"]
    used = vintages_used(tables)
    has_raster = any(t is not None and len(t) and "source" in t.columns
                     and t["source"].astype(str).str.startswith("raster").any()
                     for t in (tables.get("stock_summary"), tables.get("flows")))
    out = []
    for f in flags:
        if f == "territories":
            out.append(f)
        elif f == "raster" and has_raster:
            out.append(f)
        elif f.startswith("ocsge:") and int(f.split(":", 1)[1]) in used:
            out.append(f)
    return out


def perimeter(units_row: pd.Series) -> dict[str, Any]:
    """``state`` (``complete``, ``partial``, ``unchecked``), ``n``, ``expected``, ``cog`` of a territory."""
    n = int(units_row.get("n_communes", 1) or 1)
    expected = units_row.get("n_communes_expected")
    if expected is None or pd.isna(expected):
        return {"state": "unchecked", "n": n, "expected": None, "cog": ""}
    cog = units_row.get("perimeter_cog")
    cog = "" if cog is None or pd.isna(cog) else str(cog)
    return {"state": "complete" if n >= int(expected) else "partial", "n": n, "expected": int(expected), "cog": cog}
