"""Legends of classified rasters: value → label, colour and the ``artif`` / ``imper`` flags.

Built-in legends are package data (``ocsol/data/legends/*.csv``, DOMAIN.md §6):

============== ==============================================================================
name           product
============== ==============================================================================
``worldcover`` ESA WorldCover 10 m (2020 v100, 2021 v200); ``artif`` = 50 Built-up
``clc``        CORINE Land Cover, raster GRID_CODE 1…44 (+ 3-digit ``code``); ``artif`` = the
               ZAN-aligned proxy (1xx except 131 extraction; 141 urban green counted in)
``clc_level1`` CORINE Land Cover, ``artif`` = every level-1 "Territoires artificialisés" (1xx)
``oso23``      OSO (CESBIO) 23-class legend; ``artif`` = 1–4 (bâti, zones ind., routes)
``oso17``      OSO legacy 17-class legend (2016–2017); ``artif`` = 41–44
============== ==============================================================================

``zan_proxy`` is an alias of ``clc``. Any other product plugs in with a CSV
``value,label,colour,artif`` (optional ``imper``, ``code``, ``note``). Raster ``artif`` flags are
*proxies* of artificialisation, never the OCS GE legal measure.
"""

from __future__ import annotations

import logging
import os
import re
from importlib import resources
from pathlib import Path

import pandas as pd

from .errors import SchemaError, close_matches, format_problems
from .io.common import check_file, parse_numbers, read_table

log = logging.getLogger(__name__)

#: Names of the legends shipped with ocsol.
BUILTIN_LEGENDS: tuple[str, ...] = ("worldcover", "clc", "clc_level1", "oso23", "oso17")
ALIASES: dict[str, str] = {"zan_proxy": "clc", "clc_zan": "clc", "corine": "clc", "esa_worldcover": "worldcover"}
REQUIRED_COLUMNS: tuple[str, ...] = ("value", "label", "colour", "artif")
OPTIONAL_COLUMNS: tuple[str, ...] = ("code", "imper", "note")
#: Columns of the frame :func:`load_legend` returns, in this order.
LEGEND_COLUMNS: tuple[str, ...] = ("value", "code", "label", "colour", "artif", "imper", "note")

_TRUE = {"true", "1", "yes", "y", "oui", "o", "vrai", "t"}
_FALSE = {"false", "0", "no", "n", "non", "faux", "f", ""}
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$")


def legend_path(name: str) -> Path:
    """Path of a built-in legend CSV (``worldcover``, ``clc``, …)."""
    key = ALIASES.get(name.lower(), name.lower())
    return Path(str(resources.files("ocsol") / "data" / "legends" / f"{key}.csv"))


def load_legend(name_or_path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load a built-in legend by name, or check and load a user legend CSV.

    Parameters
    ----------
    name_or_path
        A built-in name (``worldcover``, ``clc``, ``clc_level1``, ``oso23``, ``oso17``,
        alias ``zan_proxy``) or the path of a CSV with columns ``value,label,colour,artif``
        (optional ``imper``, ``code``, ``note``; comma, semicolon or tab separated).

    Returns
    -------
    DataFrame
        One row per class, sorted by value: ``value`` (int64), ``code`` (str, the value itself
        when the CSV has no code column), ``label``, ``colour`` (``#RRGGBB`` or ""), ``artif`` and
        ``imper`` (bool), ``note`` (str).

    Raises
    ------
    SchemaError
        Listing every problem of the file at once: missing columns, non-integer or duplicate
        values, flags that are not true/false, malformed colours, empty labels.
    InputFileError
        When the path does not exist or cannot be read.

    Examples
    --------
    >>> wc = load_legend("worldcover")
    >>> wc.loc[wc["artif"], "value"].tolist()
    [50]
    >>> len(load_legend("clc")), int(load_legend("clc_level1")["artif"].sum())
    (44, 11)
    """
    text = os.fspath(name_or_path)
    key = ALIASES.get(text.lower(), text.lower())
    if key in BUILTIN_LEGENDS and not Path(text).suffix:
        return _validate(read_table(legend_path(key), what="legend"), source=f"legend {key!r}")
    p = Path(text)
    if not p.suffix and not p.exists():
        raise SchemaError(
            f"unknown legend {text!r}{close_matches(text, BUILTIN_LEGENDS + tuple(ALIASES))}; "
            f"use one of {', '.join(BUILTIN_LEGENDS)} or the path of a CSV value,label,colour,artif"
        )
    check_file(p, what="legend", hint="set [raster].legend to a built-in name or an existing CSV")
    return _validate(read_table(p, what="legend"), source=str(p))


def _flag(series: pd.Series, column: str, problems: list[str]) -> pd.Series:
    low = series.fillna("").astype(str).str.strip().str.lower()
    bad = ~low.isin(_TRUE | _FALSE)
    if bad.any():
        problems.append(
            f"column {column!r} must be true/false (or 1/0, oui/non); found "
            f"{sorted(set(series[bad].astype(str)))[:5]}"
        )
    return low.isin(_TRUE)


def _validate(df: pd.DataFrame, *, source: str) -> pd.DataFrame:
    cols = {c.lower(): c for c in df.columns}
    if "color" in cols and "colour" not in cols:
        cols["colour"] = cols.pop("color")
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    if missing:
        raise SchemaError(
            f"{source}: missing column(s) {missing}; found {list(df.columns)}; a legend CSV needs "
            "value,label,colour,artif (e.g. `50,Bâti,#FA0000,true`)"
        )
    problems: list[str] = []
    raw = df[cols["value"]].astype("string").str.strip()
    values = parse_numbers(df[cols["value"]], column=cols["value"], source=source)
    bad = values.isna() | (values % 1 != 0)
    if bad.any():
        problems.append(
            f"column 'value' must hold integers (the raster pixel values); found "
            f"{raw[bad].fillna('<empty>').tolist()[:5]} on line(s) {(df.index[bad] + 2).tolist()[:5]}"
        )
    values = values.where(~bad, -1).astype("int64")
    dup = sorted(set(values[values.duplicated() & ~bad].tolist()))
    if dup:
        problems.append(f"duplicate value(s) {dup[:10]}; each raster value must have one class")
    label = df[cols["label"]].fillna("").astype(str).str.strip()
    if (label == "").any():
        problems.append(f"empty label on line(s) {(df.index[label == ''] + 2).tolist()[:5]}")
    colour = df[cols["colour"]].fillna("").astype(str).str.strip()
    badc = (colour != "") & ~colour.str.match(_COLOUR)
    if badc.any():
        problems.append(f"column 'colour' must be #RRGGBB or empty; found {colour[badc].tolist()[:5]}")
    artif = _flag(df[cols["artif"]], "artif", problems)
    imper = _flag(df[cols["imper"]], "imper", problems) if "imper" in cols else pd.Series(False, index=df.index)
    if len(df) == 0:
        problems.append("no class rows")
    if problems:
        raise SchemaError(f"{source}: " + format_problems(problems))
    code = (
        df[cols["code"]].fillna("").astype(str).str.strip()
        if "code" in cols
        else values.astype(str)
    )
    code = code.where(code != "", values.astype(str))
    note = df[cols["note"]].fillna("").astype(str) if "note" in cols else pd.Series("", index=df.index)
    out = pd.DataFrame(
        {
            "value": values.to_numpy(),
            "code": code.to_numpy(dtype=object),
            "label": label.to_numpy(dtype=object),
            "colour": colour.str.upper().to_numpy(dtype=object),
            "artif": artif.to_numpy(dtype=bool),
            "imper": imper.to_numpy(dtype=bool),
            "note": note.to_numpy(dtype=object),
        }
    )
    return out.sort_values("value", kind="mergesort").reset_index(drop=True)
