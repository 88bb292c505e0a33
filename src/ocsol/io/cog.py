"""Read the tables that link commune codes across COG years (see :mod:`ocsol.cog`).

- INSEE commune changes (``mvtcommune``): ``MOD, DATE_EFF, TYPECOM_AV, COM_AV, …, TYPECOM_AP, COM_AP, …``;
- communes déléguées / associées: ``insee_old`` (or ``com``/``code``) → ``insee_chef_lieu…`` (or ``comparent``);
- split weights: ``old_code, new_code, weight`` (0–1, summing to 1 per old code).
"""

from __future__ import annotations

import os

import pandas as pd

from .. import schema
from ..errors import SchemaError, format_problems
from .common import as_code, find_column, parse_numbers, read_table
from .targets import parse_date

#: Columns of :func:`read_changes`, :func:`read_deleguees` (``type`` and ``creation_date`` when the
#: file has them) and :func:`read_weights`: schema input tables ``cog_changes``, ``cog_deleguees``,
#: ``cog_weights`` (``ocsol/data/tables.csv``).
CHANGE_COLUMNS = schema.columns("cog_changes")
DELEGUEE_COLUMNS = schema.columns("cog_deleguees", optional=True)
WEIGHT_COLUMNS = schema.columns("cog_weights")


def read_changes(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an INSEE table of commune changes.

    Returns
    -------
    DataFrame
        ``mod, date_eff, typecom_av, com_av, typecom_ap, com_ap`` (codes as 5-character text).

    Raises
    ------
    SchemaError
        A missing column or an empty commune code (named with its line).
    """
    df = read_table(path, what="commune changes")
    src = str(path)
    cols = list(df.columns)
    out = {}
    for key, cands in (("mod", ["MOD"]), ("date_eff", ["DATE_EFF"]), ("com_av", ["COM_AV"]),
                       ("com_ap", ["COM_AP"])):
        c = find_column(cols, cands, given=None, source=src, what=key.upper(), config_key="cog.changes")
        out[key] = df[c]
    for key in ("typecom_av", "typecom_ap"):
        opt = find_column(cols, [key.upper()], given=None, source=src, what=key.upper(), config_key="cog.changes",
                          required=False)
        out[key] = df[opt].astype("string").str.strip().str.upper().astype(object) if opt else "COM"
    res = pd.DataFrame(out)
    res["com_av"] = as_code(res["com_av"], width=5, column="COM_AV", source=src)
    res["com_ap"] = as_code(res["com_ap"], width=5, column="COM_AP", source=src)
    res["mod"] = res["mod"].astype("string").str.strip().astype(object)
    res["date_eff"] = res["date_eff"].astype("string").str.strip().astype(object)
    bad = res["com_av"].isna() | res["com_ap"].isna()
    if bad.any():
        lines = ", ".join(str(i + 2) for i in bad[bad].index[:5])
        raise SchemaError(f"{src}: empty COM_AV or COM_AP on line(s) {lines}; fix or remove those rows")
    return res[CHANGE_COLUMNS]


def read_deleguees(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a communes déléguées / associées table into ``old_code, new_code``."""
    df = read_table(path, what="communes déléguées")
    src = str(path)
    cols = list(df.columns)
    old = find_column(cols, ["insee_old", "com", "code_commune_deleguee", "code"], given=None, source=src,
                      what="old commune code", config_key="cog.deleguees")
    new = next((c for c in cols if c.lower().startswith("insee_chef_lieu")), None)
    if new is None:
        new = find_column(cols, ["comparent", "chef_lieu", "new_code"], given=None, source=src,
                          what="chef-lieu code", config_key="cog.deleguees")
    out = pd.DataFrame({"old_code": as_code(df[old], width=5, column=old, source=src),
                        "new_code": as_code(df[new], width=5, column=new, source=src)})
    bad = out.isna().any(axis=1)
    type_col = next((c for c in cols if c.lower() in ("type", "typecom")), None)
    if type_col is not None:  # commune-deleguee / commune-associee (COMD / COMA)
        out["type"] = df[type_col].astype(str).str.strip().to_numpy()
    date_col = next((c for c in cols if c.lower() in ("creation_date", "date_creation")), None)
    if date_col is not None:  # date of creation of the commune nouvelle (garantie communale bonus)
        try:
            out["creation_date"] = [parse_date(v) for v in df[date_col]]
        except ValueError as exc:
            raise SchemaError(f"{src}: {date_col} {str(exc)!r} is not a date; write YYYY-MM-DD") from None
    if bad.any():
        lines = ", ".join(str(i + 2) for i in bad[bad].index[:5])
        raise SchemaError(f"{src}: empty code in column {old!r} or {new!r} on line(s) {lines}; fill or remove them")
    return out[[c for c in DELEGUEE_COLUMNS if c in out.columns]]


def read_weights(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read split weights ``old_code, new_code, weight`` (a share in 0–1; ``%`` values are divided by 100)."""
    df = read_table(path, what="split weights")
    src = str(path)
    cols = list(df.columns)
    old = find_column(cols, ["old_code"], given=None, source=src, what="old_code", config_key="cog.weights")
    new = find_column(cols, ["new_code"], given=None, source=src, what="new_code", config_key="cog.weights")
    wcol = find_column(cols, ["weight", "share", "pct"], given=None, source=src, what="weight",
                       config_key="cog.weights")
    w = parse_numbers(df[wcol], column=wcol, source=src, percent="fraction")
    problems = [f"line {i + 2}: weight {df[wcol][i]!r} is not a number between 0 and 1"
                for i in w.index if pd.isna(w[i]) or not 0.0 <= w[i] <= 1.0]
    if problems:
        raise SchemaError(f"{src}: " + format_problems(problems) + "; fix the weights")
    return pd.DataFrame({"old_code": as_code(df[old], width=5, column=old, source=src),
                         "new_code": as_code(df[new], width=5, column=new, source=src), "weight": w},
                        columns=WEIGHT_COLUMNS)
