"""OCS GE nomenclature and artificialisation rules, as data.

The couverture (CS) and usage (US) code tables and the rule tables are CSV files shipped in
``ocsol/data``. A rule table has columns ``cs, us, artif, imper`` (``category`` and ``note``
optional): ``cs`` and ``us`` are shell-style patterns (``CS1.1*``, ``*``), ``artif`` and
``imper`` are ``true``/``false``, and the first matching row wins. The built-in rule
``decret-2023`` encodes the official matrix of the décret n° 2023-1096 (DOMAIN.md §2.3).

Where the rule file's row comes from is recorded (``rule_row``) so a number in a report can be
traced back to the line of the table that classified it.
"""

from __future__ import annotations

import fnmatch
import os
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd

from .errors import SchemaError, UnknownCodeError

BUILTIN_RULES = {"decret-2023": "decret-2023.csv"}
TRUE = {"true", "1", "yes", "oui", "vrai", "t", "y"}
FALSE = {"false", "0", "no", "non", "faux", "f", "n"}
#: Kinds of change polygons and their colours (the report's change map, the QGIS style of changes.gpkg).
CHANGE_COLOURS = {"Artificialisation": "#d62728", "Désartificialisation": "#2ca02c", "Autre changement": "#9e9e9e"}


def _data_path(*parts: str) -> Path:
    return Path(str(resources.files("ocsol").joinpath("data", *parts)))


@cache
def couverture() -> pd.DataFrame:
    """OCS GE couverture codes: ``code, label, label_short, parent, colour, leaf``."""
    return pd.read_csv(_data_path("couverture.csv"), dtype=str, keep_default_na=False).assign(
        leaf=lambda d: d["leaf"] == "True"
    )


@cache
def usage() -> pd.DataFrame:
    """OCS GE usage codes: ``code, label, label_short, parent, colour, leaf``."""
    return pd.read_csv(_data_path("usage.csv"), dtype=str, keep_default_na=False).assign(
        leaf=lambda d: d["leaf"] == "True"
    )


def rule_source(rule: str | os.PathLike[str]) -> Path:
    """The CSV behind a rule name or path."""
    if isinstance(rule, str) and rule in BUILTIN_RULES:
        return _data_path("rules", BUILTIN_RULES[rule])
    return Path(rule)


def load_rule(rule: str | os.PathLike[str] = "decret-2023") -> pd.DataFrame:
    """Load a rule table by built-in name or path, and check it.

    Returns
    -------
    DataFrame
        ``cs, us, artif, imper, category, note, rule_row`` (``rule_row`` = 1-based data line).

    Raises
    ------
    SchemaError
        Missing columns or values that are not true/false, with the line number.

    Examples
    --------
    >>> r = load_rule("decret-2023")
    >>> r.loc[0, ["cs", "us"]].tolist(), bool(r.loc[0, "artif"]), bool(r.loc[0, "imper"])
    (['CS1.1.1.1', '*'], True, True)
    """
    path = rule_source(rule)
    if not path.is_file():
        raise SchemaError(
            f"{path}: rule table not found; use a built-in rule ({', '.join(BUILTIN_RULES)}) or a CSV "
            "with columns cs,us,artif,imper"
        )
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{path}: cannot read the rule table ({exc}); quote fields that hold commas") from None
    df.columns = [c.strip().lower() for c in df.columns]
    missing = [c for c in ("cs", "us", "artif", "imper") if c not in df.columns]
    if missing:
        raise SchemaError(f"{path}: rule table lacks column(s) {missing}; found {list(df.columns)}")
    problems = []
    for col in ("artif", "imper"):
        vals = df[col].str.strip().str.lower()
        bad = ~vals.isin(TRUE | FALSE)
        for i in df.index[bad][:5]:
            problems.append(f"line {i + 2}: {col} = {df.at[i, col]!r}")
        df[col] = vals.isin(TRUE)
    if problems:
        raise SchemaError(f"{path}: artif/imper must be true or false: " + "; ".join(problems))
    for col in ("cs", "us"):
        df[col] = df[col].str.strip()
        empty = df[col] == ""
        if empty.any():
            raise SchemaError(f"{path}: line {int(df.index[empty][0]) + 2}: empty {col} pattern; use '*' for any")
    for col in ("category", "note"):
        if col not in df.columns:
            df[col] = ""
    df["rule_row"] = range(1, len(df) + 1)
    return df[["cs", "us", "artif", "imper", "category", "note", "rule_row"]].reset_index(drop=True)


def classify(
    pairs: pd.DataFrame,
    rule: pd.DataFrame,
    *,
    source: str = "",
    area: pd.Series | None = None,
    count: pd.Series | None = None,
) -> pd.DataFrame:
    """Give each (cs, us) couple its ``artif`` and ``imper`` flags from a rule table.

    Parameters
    ----------
    pairs
        Distinct ``cs, us`` couples (more columns are ignored).
    rule
        A table from :func:`load_rule`; the first matching row wins.
    source
        Name of the layer, for messages.
    area
        Optional area (m²) per couple, aligned with ``pairs``, quoted in the error message.
    count
        Optional number of polygons per row of ``pairs`` (default 1 each), quoted in the error message.

    Returns
    -------
    DataFrame
        ``cs, us, artif, imper, category, rule_row, cs_label, us_label``.

    Raises
    ------
    UnknownCodeError
        Codes that no rule row matches, with counts and areas.

    Examples
    --------
    >>> classify(pd.DataFrame({"cs": ["CS2.2.1"], "us": ["US5"]}), load_rule())[["artif", "imper"]].values.tolist()
    [[True, False]]
    """
    uniq = pairs[["cs", "us"]].copy()
    uniq["_area"] = area.to_numpy() if area is not None else 0.0
    uniq["_n"] = count.to_numpy() if count is not None else 1
    uniq = uniq.groupby(["cs", "us"], sort=True, as_index=False)[["_area", "_n"]].sum()
    patterns = list(zip(rule["cs"], rule["us"], rule.index, strict=True))
    matched = []
    for cs, us in zip(uniq["cs"], uniq["us"], strict=True):
        hit = next((i for pc, pu, i in patterns if fnmatch.fnmatchcase(cs, pc) and fnmatch.fnmatchcase(us, pu)), -1)
        matched.append(hit)
    uniq["_rule"] = matched
    unknown = uniq[uniq["_rule"] < 0]
    if len(unknown):
        items = [
            f"({cs!r}, {us!r}) × {int(n)}" + (f" = {a / 10_000:.2f} ha" if area is not None else "")
            for cs, us, n, a in zip(unknown["cs"], unknown["us"], unknown["_n"], unknown["_area"], strict=True)
        ]
        raise UnknownCodeError(
            f"{source or 'layer'}: {len(unknown)} (couverture, usage) couple(s) not known to the rule table (couple × polygons = area): "
            + "; ".join(items[:12]) + (" …" if len(items) > 12 else "")
            + "; correct the codes, or give a rule table (ocsge.rule) with a row for them"
        )
    r = rule.loc[uniq["_rule"].to_numpy()].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "cs": uniq["cs"].to_numpy(),
            "us": uniq["us"].to_numpy(),
            "artif": r["artif"].to_numpy(dtype=bool),
            "imper": r["imper"].to_numpy(dtype=bool),
            "category": r["category"].to_numpy(),
            "rule_row": r["rule_row"].to_numpy(),
        }
    )
    out["cs_label"] = out["cs"].map(couverture().set_index("code")["label_short"]).fillna("")
    out["us_label"] = out["us"].map(usage().set_index("code")["label_short"]).fillna("")
    return out


def outside_nomenclature(pairs: pd.DataFrame) -> pd.DataFrame:
    """Codes that a rule matched but that are not OCS GE codes (``INDETERMINE``, empty…).

    They are classified (a pattern such as ``*`` matched them) but worth reporting.

    >>> outside_nomenclature(pd.DataFrame({"cs": ["CS2.2.1", "CS1.1.1.1"], "us": ["US1.1", "INDETERMINE"]})).values.tolist()
    [['us', 'INDETERMINE']]
    """
    rows = []
    for field, table in (("cs", couverture()), ("us", usage())):
        known = set(table["code"])
        for code in sorted(set(pairs[field].astype(str)) - known):
            rows.append({"field": field, "code": code})
    return pd.DataFrame(rows, columns=["field", "code"])
