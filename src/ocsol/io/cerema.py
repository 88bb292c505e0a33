"""Read Cerema's communal NAF-consumption file and INSEE population / households / jobs tables.

Readers only: they find the columns, convert the numbers and name every bad cell. No maths
beyond unit-free reshaping (the identities are checked in :mod:`ocsol.consumption`).

Year convention (DOMAIN §3.1): the column ``naf{YY}art{YY+1}`` is the flow from 1 January 20YY to
1 January 20YY+1 and is labelled **year 20YY** (``naf11art12`` → 2011). The window is detected
from the column names; no year is hard-coded.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence

import pandas as pd

from .. import schema
from ..errors import InputFileError, SchemaError, format_problems
from .common import (
    VECTOR_SUFFIXES,
    as_code,
    check_file,
    find_column,
    parse_number_columns,
    read_table,
)
from .vector import pick_layer

log = logging.getLogger(__name__)

#: Annual total flow ``naf{a}art{a+1}`` (or a multi-year total when b > a + 1).
NAF_RE = re.compile(r"^naf(\d{2})art(\d{2})$", re.IGNORECASE)
#: Destination flow ``art{a}{hab|act|mix|rou|fer|inc}{b}``.
DEST_RE = re.compile(r"^art(\d{2})(hab|act|mix|rou|fer|inc)(\d{2})$", re.IGNORECASE)
#: Older millésimes' multi-year totals: ``nafart0920`` (total), ``arthab0920`` (by destination).
OLD_TOTAL_RE = re.compile(r"^(?:nafart|art(hab|act|mix|rou|fer|inc))(\d{2})(\d{2})$", re.IGNORECASE)
#: Share of the commune area consumed over a window, in % (``artcom0923``; definition UNVERIFIED).
SHARE_RE = re.compile(r"^artcom(\d{2})(\d{2})$", re.IGNORECASE)
#: Destination families older millésimes lack (2009–2021 and before: no road / rail split).
OPTIONAL_DESTINATIONS = ("rou", "fer")

#: Cerema destination suffix -> output column (m²).
DESTINATIONS: dict[str, str] = {
    "hab": "habitat_m2",
    "act": "activite_m2",
    "mix": "mixte_m2",
    "rou": "route_m2",
    "fer": "ferroviaire_m2",
    "inc": "inconnu_m2",
}
#: Value columns of :func:`read_cerema`, in order (schema table ``cerema``, ``ocsol/data/tables.csv``).
VALUE_COLUMNS: list[str] = schema.columns("cerema", exclude=("code", "year"))
#: Cerema's ``inc`` destination may carry −1/−2 m² rounding residues (DOMAIN §3.1).
INC_RESIDUE_M2 = 2.0

CODE_CANDIDATES = ["idcom", "insee_com", "code_insee", "codgeo", "code_commune", "code"]

#: Wide column prefixes per quantity (``pmun2020``, ``pop2020``, ``pop20``, ``men2020`` …).
WIDE_PREFIXES: dict[str, tuple[str, ...]] = {
    "population": ("pmun", "pop", "population"),
    "households": ("men", "menages", "households"),
    "jobs": ("emp", "emplois", "jobs", "emploi"),
}


def _year(two_digits: str) -> int:
    return 2000 + int(two_digits)


def _bad_cells(raw: pd.Series, values: pd.Series, codes: pd.Series, column: str, *,
               min_value: float = 0.0) -> list[str]:
    """Messages for empty, non-numeric or too-negative cells of one column."""
    problems = []
    empty = raw.isna() | (raw.astype("string").str.strip() == "")
    text = values.isna() & ~empty
    neg = values < min_value
    for mask, what in ((empty, "empty cell"), (text, "non-numeric value"), (neg, "negative value")):
        if mask.any():
            idx = mask[mask].index
            shown = ", ".join(f"{codes[i]} ({raw[i]!r})" if what != "empty cell" else str(codes[i])
                              for i in idx[:3])
            more = f" and {len(idx) - 3} more" if len(idx) > 3 else ""
            problems.append(f"column {column!r}: {what} for commune {shown}{more}")
    return problems


def read_cerema(
    path: str | os.PathLike[str], *, code: str = "idcom", sheet: str | int | None = None
) -> pd.DataFrame:
    """Read a Cerema communal NAF-consumption file (any millésime) into a long table.

    Parameters
    ----------
    path
        CSV (comma, semicolon or tab) or XLSX file in Cerema's layout (``idcom``,
        ``naf{YY}art{YY+1}``, ``art{YY}{hab,act,mix,rou,fer,inc}{YY+1}`` …), values in m².
    code
        Column holding the INSEE commune code.
    sheet
        Sheet name or index for XLSX files.

    Returns
    -------
    DataFrame
        ``code, year, total_m2, habitat_m2, activite_m2, mixte_m2, route_m2, ferroviaire_m2,
        inconnu_m2``, one row per commune and annual flow; ``year`` = first year of the flow
        (``naf11art12`` → 2011). ``df.attrs`` holds:

        - ``"multi_year"``: list of ``{"code", "start", "end", "total_m2"}`` records for the
          multi-year totals found (``naf11art21`` → start 2011, end 2020, the last flow year);
        - ``"years"``: the annual flow years found, sorted;
        - ``"source"``: the file path.

    Raises
    ------
    SchemaError
        When the code column or annual columns are missing, a year lacks destination columns,
        years have a gap, codes are empty or duplicated, or a cell is empty, not a number or
        negative (the ``inc`` destination tolerates Cerema's −2 m² rounding residue). Every
        problem of the file is listed, each naming the column and the commune code.

    Examples
    --------
    >>> conso = read_cerema("data/lyon/conso_communes_cerema_format.csv")
    >>> conso.attrs["years"][0], conso.attrs["years"][-1], conso["code"].nunique()
    (2009, 2023, 58)
    """
    df = _read_cerema_table(path, sheet=sheet)
    src = str(path)
    code_col = find_column(list(df.columns), CODE_CANDIDATES, given=code, source=src,
                           what="commune code", config_key="consumption.code")
    codes = as_code(df[code_col], width=5, column=code_col, source=src)
    problems: list[str] = []
    empty_rows = codes.isna()
    if empty_rows.any():
        rows = [str(i + 2) for i in empty_rows[empty_rows].index[:5]]
        problems.append(f"column {code_col!r}: empty commune code on line(s) {', '.join(rows)}")
    dup = codes[codes.duplicated() & codes.notna()].unique().tolist()
    if dup:
        problems.append(f"column {code_col!r}: duplicate commune code(s) {', '.join(map(str, dup[:10]))}"
                        " (each commune must appear once; merge fused communes first)")
    codes = codes.fillna("<empty>")

    annual: dict[int, str] = {}
    multi: list[tuple[int, int, str, str]] = []  # start, end (last flow year), column, value column
    shares: list[tuple[int, int, str]] = []
    for col in df.columns:
        m = NAF_RE.match(col)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if b == a + 1:
                if _year(m.group(1)) in annual:  # e.g. naf11art12 and NAF11ART12: one would win silently
                    problems.append(f"columns {annual[_year(m.group(1))]!r} and {col!r} both give the flow of "
                                    f"{_year(m.group(1))}; keep one")
                annual[_year(m.group(1))] = col
            elif b > a + 1:
                multi.append((_year(m.group(1)), _year(m.group(2)) - 1, col, "total_m2"))
            continue
        m = DEST_RE.match(col)
        if m and int(m.group(3)) > int(m.group(1)) + 1:
            multi.append((_year(m.group(1)), _year(m.group(3)) - 1, col, DESTINATIONS[m.group(2).lower()]))
            continue
        m = OLD_TOTAL_RE.match(col)
        if m and int(m.group(3)) > int(m.group(2)):
            value = DESTINATIONS[m.group(1).lower()] if m.group(1) else "total_m2"
            multi.append((_year(m.group(2)), _year(m.group(3)) - 1, col, value))
            continue
        m = SHARE_RE.match(col)
        if m:
            shares.append((_year(m.group(1)), _year(m.group(2)) - 1, col))
    if not annual:
        raise SchemaError(
            f"{src}: no annual consumption column naf{{YY}}art{{YY+1}} (e.g. naf11art12); found "
            f"{list(df.columns)[:12]}; is this Cerema's communal consumption file?"
        )
    years = sorted(annual)
    gaps = [y for y in range(years[0], years[-1] + 1) if y not in annual]
    if gaps:
        problems.append("missing annual column(s) " + ", ".join(
            f"naf{y % 100:02d}art{(y + 1) % 100:02d}" for y in gaps) + f" inside the window {years[0]}–{years[-1]}")
    dest_cols: dict[tuple[int, str], str] = {}
    for col in df.columns:
        m = DEST_RE.match(col)
        if m and int(m.group(3)) == int(m.group(1)) + 1:
            key = (_year(m.group(1)), m.group(2).lower())
            if key in dest_cols:
                problems.append(f"columns {dest_cols[key]!r} and {col!r} both give the {key[1]} flow of {key[0]}; "
                                "keep one")
            dest_cols[key] = col
    notes: list[dict] = []
    absent = [d for d in OPTIONAL_DESTINATIONS if not any((y, d) in dest_cols for y in years)]
    for d in absent:  # an older millésime: the family did not exist yet; 0, and said so
        notes.append({"check": "destination_absent", "note": f"no art{{YY}}{d}{{YY+1}} columns in this millésime: "
                      f"{DESTINATIONS[d][:-3]} flows set to 0 (older Cerema files count them in other destinations)",
                      "count": len(years)})
    missing = [f"art{y % 100:02d}{d}{(y + 1) % 100:02d}" for y in years for d in DESTINATIONS
               if (y, d) not in dest_cols and d not in absent]
    if missing:
        problems.append(f"missing destination column(s) {format_problems(missing, limit=8)}")
    if problems:
        raise SchemaError(f"{src}: " + format_problems(problems))

    value_cols = [annual[y] for y in years] + [dest_cols[(y, d)] for y in years for d in DESTINATIONS
                                               if d not in absent]
    value_cols += [m[2] for m in multi] + [sh[2] for sh in shares]
    numbers = parse_number_columns(df, list(dict.fromkeys(value_cols)), source=src)  # one locale per file
    parts = []
    for y in years:
        part = {"code": codes.to_numpy(), "year": y}
        col = annual[y]
        vals = numbers[col]
        problems += _bad_cells(df[col], vals, codes, col)
        part["total_m2"] = vals.to_numpy()
        for d, out in DESTINATIONS.items():
            if d in absent:
                part[out] = 0.0
                continue
            col = dest_cols[(y, d)]
            vals = numbers[col]
            problems += _bad_cells(df[col], vals, codes, col,
                                   min_value=-INC_RESIDUE_M2 if d == "inc" else 0.0)
            part[out] = vals.to_numpy()
        parts.append(pd.DataFrame(part))
    multi_records = []
    for start, end, col, value in sorted(multi):
        vals = numbers[col]
        problems += _bad_cells(df[col], vals, codes, col,
                               min_value=-INC_RESIDUE_M2 * (end - start + 1) if value == "inconnu_m2" else 0.0)
        multi_records += [{"code": c, "start": start, "end": end, "total_m2": float(v), "value": value,
                           "column": col} for c, v in zip(codes, vals, strict=True)]
    for start, end, col in shares:  # recognised, range-checked, not used (definition UNVERIFIED)
        vals = numbers[col]
        problems += _bad_cells(df[col], vals, codes, col)
        over = int((vals > 100).sum())
        notes.append({"check": "share_column", "note": f"{col}: share of the commune area consumed {start}–{end} "
                      "(%), recognised and not used" + (f"; {over} value(s) above 100 %" if over else ""),
                      "count": over})
    if problems:
        raise SchemaError(f"{src}: " + format_problems(problems) + "; fix these cells (values are m²)")
    out = pd.concat(parts, ignore_index=True)
    out["code"] = out["code"].astype(object)
    out["year"] = out["year"].astype(int)
    out = out.sort_values(["code", "year"], kind="mergesort").reset_index(drop=True)
    out.attrs = {"multi_year": multi_records, "years": years, "source": src, "notes": notes,
                 "absent_values": [DESTINATIONS[d] for d in absent]}
    log.info("%s: %d communes, annual flows %d–%d, %d multi-year total(s)", src, len(df), years[0],
             years[-1], len(multi))
    return out


def _read_cerema_table(path: str | os.PathLike[str], *, sheet: str | int | None) -> pd.DataFrame:
    """Cerema's file as text columns: CSV/XLSX, or the attribute table of its SHP/GPKG edition."""
    p = check_file(path, what="Cerema consumption")
    if p.suffix.lower() not in VECTOR_SUFFIXES - {".parquet", ".json"} and p.suffix.lower() != ".dbf":
        return read_table(p, what="Cerema consumption", sheet=sheet)
    import warnings

    import pyogrio

    def has_flows(fields: Sequence[str]) -> bool:
        return any(NAF_RE.match(str(f)) for f in fields)

    layer = pick_layer(p, layer=str(sheet) if sheet else None, what="Cerema consumption", wants=has_flows,
                       expected="naf{YY}art{YY+1} columns", config_key="[consumption] (sheet)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = pyogrio.read_dataframe(p, layer=layer, read_geometry=False)
    except Exception as exc:  # GDAL raises many types for corrupt files
        raise InputFileError(f"{p}: cannot read the Cerema attribute table ({type(exc).__name__}: {exc})") from None
    df = df.drop(columns=[c for c in ("geometry",) if c in df.columns])
    df.columns = [str(c).strip() for c in df.columns]
    return df.astype("string").astype(object).where(df.notna(), None)


#: INSEE "séries historiques" columns: ``P21_POP`` (2021), ``D99_POP`` (dénombrement 1999)…
HISTORICAL_SUFFIX = {"population": "pop", "households": "men", "jobs": "emplt"}
POP_CODE_CANDIDATES = ["insee_com", "codgeo", "code_insee", "idcom", "com", "depcom", "code_commune", "code"]


def wide_columns(columns: list[str], what: str, *, source: str = "") -> tuple[dict[int, str], list[str]]:
    """Year columns of a wide population table, and the change columns recognised as such.

    ``pmun2021``/``pop2021``/``pop21``/``P21_POP``/``D99_POP`` are years. Cerema's file has
    2-digit years (``pop15``, ``pop21``) and 4-digit **changes** (``pop1521`` = 2015 → 2021):
    when a quantity has 2-digit year columns, its 4-digit columns are changes; a 4-digit number
    that is no plausible year (``1521``) is a change too. Two columns for one year are a
    SchemaError (naming ``source``).

    >>> wide_columns(["pop15", "pop21", "pop1521", "men1521"], "population")
    ({2015: 'pop15', 2021: 'pop21'}, ['pop1521'])
    >>> wide_columns(["CODGEO", "P21_POP", "P15_POP", "D99_POP", "P21_MEN"], "population")
    ({1999: 'D99_POP', 2015: 'P15_POP', 2021: 'P21_POP'}, [])
    """
    prefixes = "|".join(sorted(WIDE_PREFIXES[what], key=len, reverse=True))
    pattern = re.compile(rf"^(?:{prefixes})_?(\d{{4}}|\d{{2}})$", re.IGNORECASE)
    hist = re.compile(rf"^([PD])(\d{{2}})_{HISTORICAL_SUFFIX[what]}$", re.IGNORECASE)
    found = [(c, m.group(1)) for c in columns if (m := pattern.match(str(c)))]
    two_digit = any(len(d) == 2 for _, d in found)
    years: dict[int, str] = {}
    changes: list[str] = []

    def put(year: int, col: str) -> None:
        if year in years:  # e.g. pmun2021 and pop2021: which one counts would be a silent choice
            raise SchemaError(f"{source or 'table'}: {what} {year} is given by two columns, {years[year]!r} and "
                              f"{col!r}; keep one (or name the table's columns apart)")
        years[year] = col

    for c, d in found:
        n = int(d)
        if len(d) == 2:
            put(_two_digit_year(n), str(c))
        elif two_digit or not 1850 <= n <= 2100:
            changes.append(c)
        else:
            put(n, str(c))
    for c in columns:
        m = hist.match(str(c))
        if m:
            yy = int(m.group(2))
            put(1900 + yy if m.group(1).upper() == "D" else _two_digit_year(yy), str(c))
    return dict(sorted(years.items())), changes


def _two_digit_year(n: int) -> int:
    return 2000 + n if n <= 60 else 1900 + n


def find_header_row(path: str | os.PathLike[str], *, sheet: str | int | None = None,
                    candidates: list[str], scan: int = 40) -> tuple[int, str | int | None]:
    """The 0-based header line of a table with title lines above it (INSEE files), and its sheet.

    The header is the first line among the first ``scan`` that holds one of the ``candidates``
    (any case). For an XLSX file without ``sheet``, the first sheet that has such a line.
    Returns ``(0, sheet)`` when nothing is found (the reader then names the missing column).
    """
    p = check_file(path, what="table")
    wanted = {c.lower() for c in candidates}
    if p.suffix.lower() in {".xlsx", ".xlsm", ".xls"}:
        try:
            sheets = [sheet] if sheet not in (None, "") else pd.ExcelFile(p).sheet_names
        except (ValueError, OSError, ImportError):
            return 0, sheet
        for sh in sheets:
            try:
                head = pd.read_excel(p, sheet_name=sh, header=None, nrows=scan, dtype=str)
            except (ValueError, OSError, KeyError):
                return 0, sheet
            for i, row in enumerate(head.itertuples(index=False)):
                if any(str(v).strip().lower() in wanted for v in row if isinstance(v, str)):
                    return i, sh
        return 0, sheet
    if p.suffix.lower() not in {".csv", ".txt", ".tsv"}:
        return 0, sheet
    with open(p, "rb") as fh:
        text = fh.read(1 << 16).decode("utf-8", errors="replace")  # only to find the header line
    for i, line in enumerate(text.splitlines()[:scan]):
        cells = re.split(r"[;,\t]", line)
        if any(c.strip().strip('"').lower() in wanted for c in cells):
            return i, sheet
    return 0, sheet


def read_population(
    path: str | os.PathLike[str],
    *,
    code: str | None = None,
    sheet: str | int | None = None,
    what: str = "population",
    header_row: int | None = None,
) -> pd.DataFrame:
    """Read population (or households, or jobs) by commune and year, wide or long.

    Parameters
    ----------
    path
        CSV or XLSX. Wide: one column per year (``pmun2021`` / ``pop2021`` / ``pop21`` for
        population; ``men…`` for households; ``emp…`` for jobs). Long: ``code, year`` and a
        value column named ``population`` / ``households`` / ``jobs`` (or ``value``).
    code
        Column holding the INSEE commune code (detected among ``insee_com``, ``codgeo``,
        ``code_insee``, ``idcom``, ``com``, ``depcom``… when not given).
    sheet
        Sheet name or index for XLSX files (default: the first sheet with a header line).
    what
        ``"population"``, ``"households"`` or ``"jobs"``; names the value column returned.
    header_row
        1-based line of the header when title lines sit above it (INSEE files); detected
        when not given (the first line holding a commune-code column name).

    Returns
    -------
    DataFrame
        ``code, year, <what>`` (float). Empty cells are left out (logged): a commune created
        during the window has no value before its creation. By INSEE convention the
        population municipale of year N is dated 1 January N.

    Raises
    ------
    SchemaError
        No code column, no year column, duplicate codes, or a non-numeric or negative value
        (named by column and commune).

    Examples
    --------
    >>> pop = read_population("data/lyon/population_communes_2009_2023.csv")
    >>> list(pop.columns), int(pop["year"].min()), int(pop["year"].max())
    (['code', 'year', 'population'], 2009, 2023)
    """
    if what not in WIDE_PREFIXES:
        raise ValueError(f"what must be one of {', '.join(WIDE_PREFIXES)}, not {what!r}")
    if header_row is None:
        skip, sheet = find_header_row(path, sheet=sheet, candidates=[*([code] if code else []), *POP_CODE_CANDIDATES])
    else:
        skip = int(header_row) - 1
    df = read_table(path, what=what, sheet=sheet, header_row=skip)
    src = str(path)
    cols = list(df.columns)
    code_col = find_column(cols, POP_CODE_CANDIDATES, given=code,
                           source=src, what="commune code", config_key=f"[{what}] code (or header_row)")
    codes = as_code(df[code_col], width=5, column=code_col, source=src)
    problems: list[str] = []
    if codes.isna().any():
        rows = [str(i + 2) for i in codes[codes.isna()].index[:5]]
        problems.append(f"column {code_col!r}: empty commune code on line(s) {', '.join(rows)}")
    codes = codes.fillna("<empty>")
    lower = {c.lower(): c for c in cols}
    year_col = lower.get("year") or lower.get("annee") or lower.get("année")
    value_col = lower.get(what) or lower.get("value") or lower.get("valeur")
    if year_col and value_col:  # long layout
        numbers = parse_number_columns(df, [year_col, value_col], source=src)
        years = numbers[year_col]
        not_year = years.isna() | (years % 1 != 0)
        if not_year.any():
            i = years[not_year].index[0]
            problems.append(f"column {year_col!r}: not a year ({df[year_col][i]!r}) for commune {codes[i]}")
            years = years.where(~not_year, 0)
        vals = numbers[value_col]
        keep = df[value_col].notna()
        problems += _bad_cells(df[value_col][keep], vals[keep], codes[keep], value_col)
        out = pd.DataFrame({"code": codes, "year": years, what: vals})[keep]
        n_cells = len(df)
        dup = out[out.duplicated(["code", "year"])]
        if len(dup):
            problems.append(f"duplicate (code, year) rows, e.g. {dup['code'].iloc[0]} {dup['year'].iloc[0]}")
    else:
        year_cols, changes = wide_columns([c for c in cols if c != code_col], what, source=src)
        if changes:
            log.info("%s: %s read as changes between years, not used", src, ", ".join(changes))
        if not year_cols:
            raise SchemaError(
                f"{src}: no {what} columns found (looked for wide {WIDE_PREFIXES[what][0]}YYYY columns "
                f"or long 'code, year, {what}' columns); found {cols[:12]}"
            )
        dup = codes[codes.duplicated()].unique().tolist()
        if dup:
            problems.append(f"column {code_col!r}: duplicate commune code(s) {', '.join(dup[:10])}")
        parts = []
        numbers = parse_number_columns(df, list(year_cols.values()), source=src)
        for y, c in sorted(year_cols.items()):
            vals = numbers[c]
            keep = df[c].notna()
            problems += _bad_cells(df[c][keep], vals[keep], codes[keep], c)
            parts.append(pd.DataFrame({"code": codes[keep], "year": y, what: vals[keep]}))
        out = pd.concat(parts, ignore_index=True)
        n_cells = len(df) * len(year_cols)
    if problems:
        raise SchemaError(f"{src}: " + format_problems(problems))
    n_empty = n_cells - len(out)
    if n_empty:
        log.warning("%s: %d empty %s cell(s) left out", src, n_empty, what)
    out["code"] = out["code"].astype(object)
    out["year"] = out["year"].astype(int)
    out[what] = out[what].astype(float)
    out = out[schema.columns(what)]  # schema input tables population, households, jobs
    return out.sort_values(["code", "year"], kind="mergesort").reset_index(drop=True)
