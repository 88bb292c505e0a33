"""Read territorialised ZAN targets: ``level, code, target_pct, source`` (SRADDET, SCoT, PLU…)."""

from __future__ import annotations

import os

import pandas as pd

from ..errors import SchemaError, format_problems
from ..territories import COMMUNE
from .common import as_code, find_column, parse_numbers, read_table

TARGET_COLUMNS = ["level", "code", "target_pct", "source"]


def read_targets(path: str | os.PathLike[str], *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read the optional targets table.

    Parameters
    ----------
    path
        CSV or XLSX with columns ``level`` (``commune`` or a parent level key of the
        territories, e.g. ``scot``), ``code``, ``target_pct`` (reduction of NAF consumption
        versus the reference decade, 0–100) and optionally ``source`` (``SRADDET``, ``SCoT``…).
    sheet
        Sheet name or index for XLSX files.

    Returns
    -------
    DataFrame
        ``level, code, target_pct, source`` (``source`` defaults to ``"own"``).

    Raises
    ------
    SchemaError
        A missing column, an empty level or code, a target that is not a number in 0–100, or
        the same (level, code) twice.
    """
    df = read_table(path, what="targets", sheet=sheet)
    src = str(path)
    cols = list(df.columns)
    level_col = find_column(cols, ["level", "niveau"], given=None, source=src, what="level",
                            config_key="zan.targets")
    code_col = find_column(cols, ["code"], given=None, source=src, what="territory code",
                           config_key="zan.targets")
    pct_col = find_column(cols, ["target_pct", "objectif_pct", "target"], given=None, source=src,
                          what="target_pct", config_key="zan.targets")
    source_col = find_column(cols, ["source"], given=None, source=src, what="source",
                             config_key="zan.targets", required=False)
    level = df[level_col].astype("string").str.strip().str.lower()
    code = as_code(df[code_col], column=code_col, source=src)
    code = code.where(level != COMMUNE, as_code(df[code_col], width=5, column=code_col, source=src))
    pct = parse_numbers(df[pct_col], column=pct_col, source=src, percent="strip")
    problems = []
    for i in df.index:
        where = f"line {i + 2}"
        if pd.isna(level[i]) or level[i] == "":
            problems.append(f"{where}: empty level")
        if code[i] is None:
            problems.append(f"{where}: empty code")
        if pd.isna(pct[i]) or not 0.0 <= pct[i] <= 100.0:
            problems.append(f"{where} ({level[i]} {code[i]}): target_pct {df[pct_col][i]!r} is not a "
                            "number between 0 and 100")
    out = pd.DataFrame({
        "level": level.astype(object), "code": code, "target_pct": pct,
        "source": (df[source_col].astype("string").str.strip().fillna("own").astype(object)
                   if source_col else "own"),
    })
    out.loc[out["source"] == "", "source"] = "own"
    dup = out[out.duplicated(["level", "code"]) & out["code"].notna()]
    if len(dup):
        problems.append("duplicate target(s) for " + ", ".join(
            f"{r.level} {r.code}" for r in dup.head(5).itertuples()))
    if problems:
        raise SchemaError(f"{src}: " + format_problems(problems) + "; fix the targets file")
    return out.reset_index(drop=True)
