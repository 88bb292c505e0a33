"""Display tables of a report context, and small readers every section builder shares.

Below :mod:`.sections`, :mod:`.members` and :mod:`.methodology`, which all register their tables
here (one way to add a view, no import between the section modules).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .. import fr
from .data import ReportData
from .safe import md


def add_view(ctx: ReportData, name: str, columns: Sequence[tuple[str, ...]], df: pd.DataFrame, **params: Any) -> None:
    """Register a display table: ``columns`` = (source column, kind) pairs.

    A column's French header is the ``ocsol.fr`` catalogue's text ``view_column`` keyed
    ``<view>.<column>`` when the view words it its own way, else keyed ``<column>``; ``params``
    fill its placeholders (``{period}``). A (source column, header, kind) triple brings its own
    header, computed from another list (every literal header is in the catalogue).
    """

    def header(src: str) -> str:
        key = f"{name}.{src}" if fr.has("view_column", f"{name}.{src}") else src
        return fr.text("view_column", key, **params)

    cols = [(c[0], c[1], c[2]) if len(c) == 3 else (c[0], header(c[0]), c[1]) for c in columns]
    cols = [(src, label, kind) for src, label, kind in cols if src in df.columns]
    view = pd.DataFrame({label: df[src].to_numpy() for src, label, _ in cols})
    ctx.views[name] = view
    ctx.kinds[name] = {label: kind for _, label, kind in cols}


def to_float(value: Any) -> float:
    """``value`` as a float, NaN when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def measure_params(ctx: ReportData, t: pd.DataFrame | None) -> dict[str, str]:
    """The rule file names and raster legend that the measure notes name (Markdown-safe)."""
    rule = ""
    if t is not None and len(t) and "rule_name" in t.columns:
        names = [n for n in t["rule_name"].astype(str).unique() if n]
        rule = ", ".join(Path(n).name for n in names)
    legend = str(ctx.meta.get("raster_legend") or "")
    return {"rule": md(rule or "?"), "legend": md(legend or "raster")}
