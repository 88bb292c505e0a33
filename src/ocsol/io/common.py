"""Shared file plumbing for the readers: open tables and layers with errors people can act on."""

from __future__ import annotations

import functools
import io
import logging
import os
import re
from pathlib import Path
from typing import Literal, overload

import numpy as np
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
    """Read a CSV (comma, semicolon or tab; encoding decided on the whole file) or XLSX table as text.

    Numbers are converted by the caller, which knows which columns hold numbers and can name
    the bad cell. Column names are stripped of surrounding spaces. ``header_row`` (0-based)
    skips title lines above the header (INSEE tables).
    """
    p = check_file(path, what=what)
    suffix = p.suffix.lower()
    try:
        if suffix in {".xlsx", ".xls", ".xlsm"}:
            df = pd.read_excel(p, sheet_name=sheet or 0, dtype=object, header=header_row).map(_excel_cell)
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


#: Encodings tried, in order, on the whole file (never on its first bytes only).
ENCODINGS = ("utf-8", "cp1252", "latin-1")


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode a whole text file: ``(text, encoding)``.

    A byte-order mark decides (UTF-8 or UTF-16); otherwise the **whole** content is decoded as
    strict UTF-8, then as Windows-1252 (what French spreadsheets export), then as Latin-1
    (which never fails). A file whose first accent lies far from its start keeps its accents.

    >>> decode_text("é".encode("cp1252"))
    ('é', 'cp1252')
    >>> decode_text(b"a" * 70000 + "é".encode("utf-8"))[1]
    'utf-8'
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    for enc in ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


@functools.lru_cache(maxsize=256)
def _encoding_of(path: str, mtime_ns: int, size: int) -> str:
    return decode_text(Path(path).read_bytes())[1]


def text_encoding(path: str | os.PathLike[str]) -> str:
    """The encoding :func:`read_table` uses for a CSV file (see :func:`decode_text`)."""
    st = Path(path).stat()
    return _encoding_of(str(path), st.st_mtime_ns, st.st_size)


def _excel_cell(value: object) -> object:
    """A spreadsheet cell as text; numeric cells written so the number parser cannot misread them.

    A numeric cell has no thousands separator: ``12.125`` is written ``12.1250`` so that it
    never looks like the ambiguous ``12,000`` / ``12.000`` form; whole numbers lose their ``.0``.

    >>> [_excel_cell(v) for v in (12.125, 1001.0, 0.5, "2A004", None)]
    ['12.1250', '1001', '0.5', '2A004', None]
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if float(value).is_integer():
        return str(int(value))
    text = repr(float(value))
    frac = text.partition(".")[2]
    return text + "0" if len(frac) == 3 and "e" not in text else text


def _read_csv_text(p: Path, *, header_row: int = 0) -> pd.DataFrame:
    try:
        text, encoding = decode_text(p.read_bytes())
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{p}: not valid text ({exc.reason}); save the file as UTF-8") from None
    if "\x00" in text:
        raise InputFileError(f"{p}: holds NUL characters (UTF-16 without byte-order mark?); save it as UTF-8")
    if encoding not in ("utf-8", "utf-8-sig"):
        log.info("%s: not UTF-8, read as %s", p, encoding)
    lines = text.splitlines()
    first = lines[header_row] if len(lines) > header_row else ""
    sep = max([",", ";", "\t"], key=first.count)
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                           skiprows=header_row)
    except pd.errors.ParserError as exc:
        raise InputFileError(f"{p}: malformed CSV ({exc}); check for truncated lines or stray separators") from None
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{p}: no columns found; the file is empty or not a CSV") from None


@overload
def find_column(columns: list[str] | pd.Index, candidates: list[str], *, given: str | None, source: str,
                what: str, config_key: str, required: Literal[True] = ...) -> str: ...
@overload
def find_column(columns: list[str] | pd.Index, candidates: list[str], *, given: str | None, source: str,
                what: str, config_key: str, required: bool) -> str | None: ...
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


# --- numbers and codes: the one parser every table reader uses ---------------------------------
#
# Spreadsheets write numbers the way their locale does: ``1 234,5`` (French, thousands separated
# by a space, a no-break space U+00A0 or a narrow no-break space U+202F), ``1,234.5`` (English),
# ``1234,5``, ``1.234,5``. A cell is read as meant when its form says it; ``12,000`` or ``12.000``
# (one separator followed by exactly three digits) could be a thousands separator or a decimal
# mark: such cells are decided by the other cells of the column, then by the other number columns
# of the same file, and an undecidable column is an error naming it (never a guess).

#: Characters used as thousands separators between digit groups.
SPACES = " \u00a0\u202f\u2009\u2007"
_SPACE_RE = re.compile(f"[{SPACES}]")
_INT = re.compile(r"[+-]?\d+")
_ONE_SEP = re.compile(r"[+-]?(\d+)([.,])(\d+)")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:([.,])\d{3})+(?:([.,])\d+)?")
_GROUPED_SPACE = re.compile(rf"[+-]?\d{{1,3}}(?:[{SPACES}]\d{{3}})+(?:[.,]\d+)?")
_SCI = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")
_SCI_CODE = re.compile(r"\d+(?:[.,]\d+)?[eE][+-]?\d+")

#: What a cell says about the decimal mark of its column.
COMMA, DOT, AMBIGUOUS = ",", ".", "?"


def _cell(text: str) -> tuple[str | None, str | None, str | None]:
    """``(value_for_comma_decimal, value_for_dot_decimal, evidence)`` of one stripped cell.

    The values are Python float literals, ``None`` when the cell is not a number under that
    reading; ``evidence`` is COMMA / DOT when the cell shows the decimal mark, AMBIGUOUS when it
    could be either, None when it says nothing (an integer).
    """
    if _INT.fullmatch(text):
        return text, text, None
    if _SCI.fullmatch(text):
        v = text.replace(",", ".")
        return v, v, None
    if _GROUPED_SPACE.fullmatch(text):  # spaces group the thousands: the separator left is decimal
        v = _SPACE_RE.sub("", text).replace(",", ".")
        mark = COMMA if "," in text else DOT if "." in text else None
        return v, v, mark
    m = _ONE_SEP.fullmatch(text)
    if m:
        whole, sep, frac = m.groups()
        dec = text.replace(",", ".")
        thousands = text.replace(sep, "")
        if len(frac) == 3 and 1 <= len(whole) <= 3 and not whole.startswith("0"):
            return (dec if sep == "," else thousands), (dec if sep == "." else thousands), AMBIGUOUS
        return (dec, None, COMMA) if sep == "," else (None, dec, DOT)
    m = _GROUPED.fullmatch(text)
    if m:
        group, decimal = m.groups()
        if decimal is not None and decimal == group:
            return None, None, None
        digits = text.replace(group, "")
        if group == ",":  # 1,234,567 or 1,234.5: English
            return None, digits, DOT
        return digits.replace(",", "."), None, COMMA  # 1.234.567 or 1.234,5: continental
    return None, None, None


def parse_number_columns(
    frame: pd.DataFrame, columns: list[str], *, source: str, percent: str | None = None
) -> pd.DataFrame:
    """Read text columns of one table as numbers, deciding ambiguous cells per column.

    Parameters
    ----------
    frame
        The table as read by :func:`read_table` (text cells).
    columns
        The columns holding numbers.
    source
        File name, for messages.
    percent
        ``None``: a trailing ``%`` is not a number; ``"strip"``: ``50 %`` reads 50;
        ``"fraction"``: ``50 %`` reads 0.5.

    Returns
    -------
    DataFrame
        The columns as floats; empty and unreadable cells are NaN (the caller names them, with
        the row's code, as it knows which cells must be filled).

    Raises
    ------
    SchemaError
        A column holds cells that are ambiguous (``12,000``: twelve thousand or twelve?) and
        neither it nor the other number columns of the file show which decimal mark is used.

    Examples
    --------
    >>> df = pd.DataFrame({"a": ["1 234,5", "12,000", "7"], "b": ["1,234.5", "12,000", "1\u202f000"]})
    >>> parse_number_columns(df, ["a", "b"], source="t.csv").to_dict("list")
    {'a': [1234.5, 12.0, 7.0], 'b': [1234.5, 12000.0, 1000.0]}
    """
    cleaned: dict[str, tuple[pd.Series, pd.Series, pd.Series, dict[str, tuple]]] = {}
    evidence: dict[str, set[str]] = {}
    strip = SPACES + "\t\r\n"
    for col in columns:
        text = frame[col].astype("string").str.strip(strip).str.strip('"').str.strip(strip)
        if percent is not None:
            is_pct = text.str.endswith("%").fillna(False).astype(bool)
            text = text.where(~is_pct, text.str[:-1].str.rstrip(strip))
        else:
            is_pct = pd.Series(False, index=frame.index)
        text = text.where(text != "", pd.NA)
        plain = text.str.fullmatch(r"[+-]?\d+").fillna(False).astype(bool)  # most cells: no separator at all
        other = text[~plain & text.notna()]
        cells = {u: _cell(u) for u in pd.unique(other.to_numpy(dtype=object))}  # each distinct form once
        cleaned[col] = (text, plain, is_pct, cells)
        evidence[col] = {e for _, _, e in cells.values() if e in (COMMA, DOT)}
    file_marks = set().union(*evidence.values()) if evidence else set()
    out = {}
    for col in columns:
        text, plain, is_pct, cells = cleaned[col]
        mark = None
        ambiguous = [u for u, c in cells.items() if c[2] == AMBIGUOUS]
        if ambiguous:
            marks = evidence[col] or file_marks
            if len(marks) != 1:
                why = ("other cells use both ',' and '.' as decimal mark" if len(marks) > 1 else
                       "no cell of the file shows which is the decimal mark")
                raise SchemaError(
                    f"{source}: column {col!r}: cell {ambiguous[0]!r} could be a thousands separator or a "
                    f"decimal mark and {why}; write the numbers without thousands separators "
                    "(12000 or 12,5) or with an unambiguous cell such as 1 234,5"
                )
            mark = next(iter(marks))
        lookup = {}
        for u, (as_comma, as_dot, e) in cells.items():
            literal = (as_comma if mark == COMMA else as_dot) if e == AMBIGUOUS else (as_comma or as_dot)
            lookup[u] = float(literal) if literal is not None else float("nan")
        arr = np.full(len(text), np.nan)
        mask = plain.to_numpy()
        arr[mask] = text[plain].astype("float64").to_numpy()  # the plain cells, converted in bulk
        rest = (~plain & text.notna()).to_numpy()
        if rest.any():
            arr[rest] = [lookup[u] for u in text[rest].to_numpy(dtype=object)]
        values = pd.Series(arr, index=frame.index, dtype=float)
        if percent == "fraction":
            values = values.where(~is_pct, values / 100.0)
        out[col] = values.rename(col)
    return pd.DataFrame(out, index=frame.index)


def parse_numbers(values: pd.Series, *, column: str, source: str, percent: str | None = None) -> pd.Series:
    """One column as numbers (see :func:`parse_number_columns`).

    >>> parse_numbers(pd.Series(["1 234,5", "12 000", "0,5"]), column="x", source="t.csv").tolist()
    [1234.5, 12000.0, 0.5]
    """
    frame = pd.DataFrame({column: values})
    return parse_number_columns(frame, [column], source=source, percent=percent)[column]


def as_code(
    values: pd.Series, *, width: int | None = None, column: str = "code", source: str = "table"
) -> pd.Series:
    """Codes as clean strings, normalised once for every reader.

    Surrounding spaces are stripped, ``41018.0`` becomes ``41018`` (a float round trip), letters
    of Corsican codes are upper-cased (``2a004`` → ``2A004``, ``2b`` → ``2B``; other codes, such as
    the names of custom units, are kept as written) and all-digit codes are left-padded with zeros to
    ``width``. Empty cells become None.

    Raises
    ------
    SchemaError
        A cell in scientific notation (``2.00047E+08``: a spreadsheet turned the code into a
        number and its last digits are lost).

    >>> as_code(pd.Series([1001, "2a004", " 41018 ", 69123.0]), width=5).tolist()
    ['01001', '2A004', '41018', '69123']
    """
    s = values.astype("string").str.strip().str.strip(SPACES)
    s = s.where(s != "", pd.NA)
    sci = s.str.fullmatch(_SCI_CODE.pattern).fillna(False).astype(bool)
    if sci.any():
        bad = s[sci]
        raise SchemaError(
            f"{source}: column {column!r}: code {bad.iloc[0]!r} (line {int(bad.index[0]) + 2}) is in scientific "
            f"notation: its digits are lost ({int(sci.sum())} cell(s)); re-export the column as text"
        )
    s = s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    s = s.str.replace(r"^(0?2)([ab])(\d*)$", lambda m: m.group(1) + m.group(2).upper() + m.group(3), regex=True)
    if width:
        digits = s.str.fullmatch(r"\d+").fillna(False).astype(bool)
        s = s.where(~digits, s.str.zfill(width))
    return s.astype(object).where(s.notna(), None)
