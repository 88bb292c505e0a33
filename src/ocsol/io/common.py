"""Shared file plumbing for the readers: open tables and layers with errors people can act on."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from ..errors import InputFileError, SchemaError, close_matches

log = logging.getLogger(__name__)

VECTOR_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".parquet", ".geoparquet", ".fgb", ".gml"}
TABLE_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xls", ".parquet"}


def check_file(path: str | os.PathLike[str], *, what: str, hint: str = "") -> Path:
    """Return the path if it is a readable non-empty file, else raise InputFileError."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(
            f"{p}: {what} file not found" + (f"; {hint}" if hint else "; check the path in ocsol.toml")
        )
    if p.is_dir():
        raise InputFileError(f"{p}: is a folder, expected a {what} file; name the file itself")
    if p.stat().st_size == 0:
        raise InputFileError(f"{p}: {what} file is empty; re-download or re-export it")
    return p


def read_table(
    path: str | os.PathLike[str], *, what: str = "table", sheet: str | int | None = None, header_row: int = 0
) -> pd.DataFrame:
    """Read a CSV (comma, semicolon or tab, UTF-8 or Latin-1) or XLSX table, all columns as text.

    Numbers are converted by the caller, which knows which columns hold numbers and can name
    the bad cell. Column names are stripped of surrounding spaces. ``header_row`` (0-based)
    skips title lines above the header (INSEE tables).
    """
    p = check_file(path, what=what)
    suffix = p.suffix.lower()
    try:
        if suffix in {".xlsx", ".xls", ".xlsm"}:
            df = pd.read_excel(p, sheet_name=sheet or 0, dtype=str, header=header_row)
        elif suffix == ".parquet":
            df = pd.read_parquet(p).astype(str)
        else:
            df = _read_csv_text(p, header_row=header_row)
    except InputFileError:
        raise
    except (ValueError, OSError, ImportError, KeyError) as exc:
        raise InputFileError(f"{p}: cannot read as a {what} ({exc}); check the format and encoding") from None
    df.columns = [str(c).strip() for c in df.columns]
    if df.columns.duplicated().any():
        dup = sorted(set(df.columns[df.columns.duplicated()]))
        raise SchemaError(f"{p}: duplicate column names {dup}; rename them")
    return df


def _read_csv_text(p: Path, *, header_row: int = 0) -> pd.DataFrame:
    raw = p.read_bytes()
    try:
        text_head = raw[:65536].decode("utf-8-sig")
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        text_head = raw[:65536].decode("latin-1")
        encoding = "latin-1"
    lines = text_head.splitlines()
    first = lines[header_row] if len(lines) > header_row else ""
    sep = max([",", ";", "\t"], key=first.count)
    try:
        return pd.read_csv(p, sep=sep, dtype=str, encoding=encoding, keep_default_na=False,
                           na_values=[""], skiprows=header_row)
    except pd.errors.ParserError as exc:
        raise InputFileError(f"{p}: malformed CSV ({exc}); check for truncated lines or stray separators") from None
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{p}: no columns found; the file is empty or not a CSV") from None


def find_column(
    columns: list[str] | pd.Index,
    candidates: list[str],
    *,
    given: str | None,
    source: str,
    what: str,
    config_key: str,
    required: bool = True,
) -> str | None:
    """Pick a column: the one the user named, else the first candidate present (any case).

    Raises SchemaError naming what was found and the config key to set.
    """
    cols = [str(c) for c in columns]
    if given:
        if given in cols:
            return given
        lower = {c.lower(): c for c in cols}
        if given.lower() in lower:
            return lower[given.lower()]
        raise SchemaError(
            f"{source}: no column {given!r} for the {what}{close_matches(given, cols)}; "
            f"found {_short(cols)}; fix {config_key} in ocsol.toml"
        )
    lower = {c.lower(): c for c in cols}
    for cand in candidates:
        if cand.lower() in lower:
            return lower[cand.lower()]
    if required:
        raise SchemaError(
            f"{source}: no {what} column (looked for {', '.join(candidates)}); found {_short(cols)}; "
            f"set {config_key} in ocsol.toml"
        )
    return None


def _short(cols: list[str], n: int = 12) -> str:
    useful = [c for c in cols if c != "geometry"]
    shown = useful[:n]
    more = len(useful) - len(shown)
    return "[" + ", ".join(shown) + (f", … {more} more" if more > 0 else "") + "]"


def as_code(values: pd.Series, *, width: int | None = None) -> pd.Series:
    """Codes as clean strings: '41018.0' -> '41018', ints -> str, optional left zero-padding.

    >>> as_code(pd.Series([1001, "2A004", " 41018 ", 69123.0]), width=5).tolist()
    ['01001', '2A004', '41018', '69123']
    """
    s = values.astype("string").str.strip()
    s = s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    if width:
        digits = s.str.fullmatch(r"\d+").fillna(False).astype(bool)
        s = s.where(~digits, s.str.zfill(width))
    return s.astype(object).where(s.notna(), None)
