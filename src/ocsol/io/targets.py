"""Read the ZAN input tables: targets (as documents), planning documents, pooling, deductions.

Every reader returns a tidy table with fixed columns and names each bad cell by line and
column in one :class:`~ocsol.errors.SchemaError`. The rules that use these tables are in
:mod:`ocsol.zan_rules`; docs/consumption.md gives their legal sources.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd

from .. import schema
from ..errors import ConfigError, SchemaError, format_problems
from ..territories import COMMUNE
from .common import as_code, find_column, parse_numbers, read_table

#: Columns of :func:`read_targets` (schema input table ``zan_targets``, ``ocsol/data/tables.csv``).
TARGET_COLUMNS = schema.columns("zan_targets")
#: Planning documents that may carry a target (R. 101-1 III C. urb.; CC = carte communale).
TARGET_DOCUMENTS = ("SRADDET", "SDRIF", "PADDUC", "SAR", "SCoT", "PLUi", "PLU", "CC")
DOC_STATUSES = ("opposable", "arrete", "projet")
#: Planning documents of a commune for the garantie communale (``RNU``: none).
DOCUMENT_TYPES = ("PLU", "PLUi", "CC", "PSMV", "RNU")
DEDUCTION_TYPES = ("pene", "pv", "renaturation", "other")
#: Columns of :func:`read_documents` and :func:`read_deductions` (schema input tables).
DOCUMENT_COLUMNS = schema.columns("zan_documents")
DEDUCTION_COLUMNS = schema.columns("zan_deductions")
MUTUALISATION_COLUMNS = schema.columns("zan_mutualisation")


def parse_number(raw: pd.Series, *, source: str = "targets") -> pd.Series:
    """Numbers of one column, optional ``%`` (NaN if not a number), through the one number parser.

    See :func:`ocsol.io.common.parse_number_columns` (``1 234,5``, ``1,234.5``…; an ambiguous
    ``12,000`` is decided by the column or refused).
    """
    return parse_numbers(raw, column=str(raw.name), source=source, percent="strip")


def parse_date(value: object) -> date | None:
    """``YYYY-MM-DD`` or ``DD/MM/YYYY`` (None when empty). Raises ValueError otherwise."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or pd.isna(value):
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00:00)?", text)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3]))
    m = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", text)
    if m:
        return date(int(m[3]), int(m[2]), int(m[1]))
    raise ValueError(text)


def config_date(value: Any, key: str) -> date:
    """A date from the configuration (TOML date or text), or ConfigError naming the key."""
    try:
        d = parse_date(value)
    except ValueError:
        d = None
    if d is None:
        raise ConfigError(f"{key} = {value!r}: not a date; write it as \"YYYY-MM-DD\"")
    return d


def _text(df: pd.DataFrame, col: str | None) -> pd.Series:
    if col is None:
        return pd.Series([""] * len(df), index=df.index, dtype=object)
    return df[col].astype("string").str.strip().fillna("").astype(object)


def _enum(value: str, allowed: Sequence[str]) -> str | None:
    """Case- and accent-insensitive match of ``value`` in ``allowed``."""
    key = value.lower().replace("é", "e").replace("ê", "e").replace(" ", "")
    for a in allowed:
        if a.lower() == key:
            return a
    return None


def read_targets(
    path: str | os.PathLike[str], *, period: tuple[int, int] = (2021, 2030), sheet: str | int | None = None
) -> pd.DataFrame:
    """Read the targets table: one row per territory whose planning document sets a target.

    Parameters
    ----------
    path
        CSV or XLSX with columns ``level`` (``commune`` or a parent level of the territories),
        ``code``, ``target_pct`` (reduction versus the reference, ≤ 100, may be negative: an
        increase; a value between −1 and 1 without a ``%`` sign is refused as ambiguous, being
        what a spreadsheet percent cell holds) **or** ``envelope_ha`` (hectares allocated; overrides the %), and optionally
        ``period_start, period_end`` (flow years; default ``period``), ``document`` (SRADDET,
        SDRIF, PADDUC, SAR, SCoT, PLUi, PLU, CC), ``document_name``, ``doc_status``
        (``opposable``, ``arrete``, ``projet``), ``date``, ``source``, ``note``.
    period
        The configured ``[zan].period``: rows must be for it (net-artificialisation targets
        after 2031 go in ``[[zan.net_targets]]``).
    sheet
        Sheet name or index for XLSX files.

    Returns
    -------
    DataFrame
        :data:`TARGET_COLUMNS`; ``doc_status`` empty when not given (never binding).

    Raises
    ------
    SchemaError
        A missing column, an empty level or code, a target above 100 % or not a number, a
        negative envelope, an unknown document or status, another period, a duplicate row.
    """
    df = read_table(path, what="targets", sheet=sheet)
    src = str(path)
    cols = list(df.columns)

    def col(names: list[str], what: str, required: bool = False) -> str | None:
        return find_column(cols, names, given=None, source=src, what=what, config_key="zan.targets",
                           required=required)

    level_col = find_column(cols, ["level", "niveau"], given=None, source=src, what="level", config_key="zan.targets")
    code_col = find_column(cols, ["code"], given=None, source=src, what="territory code", config_key="zan.targets")
    pct_col = col(["target_pct", "objectif_pct", "target"], "target_pct")
    env_col = col(["envelope_ha", "enveloppe_ha"], "envelope_ha")
    if pct_col is None and env_col is None:
        raise SchemaError(f"{src}: no target_pct or envelope_ha column; give one of them (zan.targets)")
    level = df[level_col].astype("string").str.strip().str.lower()
    code = as_code(df[code_col], column=code_col, source=src)
    code = code.where(level != COMMUNE, as_code(df[code_col], width=5, column=code_col, source=src))
    pct = parse_number(df[pct_col], source=src) if pct_col else pd.Series(float("nan"), index=df.index)
    env = parse_number(df[env_col], source=src) if env_col else pd.Series(float("nan"), index=df.index)
    p0 = parse_number(df[c], source=src) if (c := col(["period_start"], "period_start")) else pd.Series(float(period[0]), index=df.index)
    p1 = parse_number(df[c], source=src) if (c := col(["period_end"], "period_end")) else pd.Series(float(period[1]), index=df.index)
    document, doc_status = _text(df, col(["document"], "document")), _text(df, col(["doc_status", "status"], "doc_status"))
    dates = _text(df, col(["date"], "date"))
    problems = []
    for i in df.index:
        where = f"line {i + 2} ({level[i]} {code[i]})"
        if pd.isna(level[i]) or level[i] == "":
            problems.append(f"line {i + 2}: empty level")
        if code[i] is None:
            problems.append(f"line {i + 2}: empty code")
        has_pct = pct_col is not None and str(df[pct_col][i] if not pd.isna(df[pct_col][i]) else "").strip() != ""
        has_env = env_col is not None and not pd.isna(env[i])
        if has_pct and (pd.isna(pct[i]) or pct[i] > 100.0):
            problems.append(f"{where}: target_pct {df[pct_col][i]!r} is not a number up to 100 "
                            "(negative = an increase)")
        if has_pct and 0 < abs(pct[i]) <= 1 and not str(df[pct_col][i]).strip().endswith("%"):
            problems.append(f"{where}: target_pct {df[pct_col][i]!r} is ambiguous (a spreadsheet percent cell "
                            "stores 50 % as 0.5): write 50 for 50 %, or '0.5 %' for half a percent")
        if env_col is not None and not pd.isna(df[env_col][i]) and str(df[env_col][i]).strip() and (
                pd.isna(env[i]) or env[i] < 0):
            problems.append(f"{where}: envelope_ha {df[env_col][i]!r} is not a number ≥ 0")
        if not has_pct and not has_env:
            problems.append(f"{where}: neither target_pct nor envelope_ha")
        if (p0[i], p1[i]) != (period[0], period[1]):
            problems.append(f"{where}: period {p0[i]:g}–{p1[i]:g} is not [zan].period {period[0]}–{period[1]} "
                            "(flow years; targets after the ENAF decade go in [[zan.net_targets]])")
        if document[i] and _enum(document[i], TARGET_DOCUMENTS) is None:
            problems.append(f"{where}: document {document[i]!r} is not one of {', '.join(TARGET_DOCUMENTS)}")
        if doc_status[i] and _enum(doc_status[i], DOC_STATUSES) is None:
            problems.append(f"{where}: doc_status {doc_status[i]!r} is not one of {', '.join(DOC_STATUSES)}")
        try:
            parse_date(dates[i])
        except ValueError:
            problems.append(f"{where}: date {dates[i]!r} is not YYYY-MM-DD")
    out = pd.DataFrame({
        "level": level.astype(object), "code": code, "period_start": p0, "period_end": p1,
        "target_pct": pct, "envelope_ha": env,
        "document": [(_enum(d, TARGET_DOCUMENTS) or d) if d else "" for d in document],
        "document_name": _text(df, col(["document_name", "nom_document"], "document_name")),
        "doc_status": [(_enum(s, DOC_STATUSES) or s) if s else "" for s in doc_status],
        "date": dates, "source": _text(df, col(["source"], "source")), "note": _text(df, col(["note"], "note")),
    })
    dup = out[out.duplicated(["level", "code"]) & out["code"].notna()]
    if len(dup):
        problems.append("duplicate target(s) for " + ", ".join(f"{r.level} {r.code}" for r in dup.head(5).itertuples()))
    if problems:
        raise SchemaError(f"{src}: " + format_problems(problems) + "; fix the targets file")
    out[["period_start", "period_end"]] = out[["period_start", "period_end"]].astype(int)
    out = out[TARGET_COLUMNS].reset_index(drop=True)
    out.attrs["source"] = str(src)  # errors found later (a % disagreeing with an envelope) name the file
    return out


def read_documents(path: str | os.PathLike[str], *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read the planning-documents table of the garantie communale.

    Columns ``code`` (a commune, or a parent unit such as the EPCI of a PLUi: it then covers
    all its communes), ``type`` (PLU, PLUi, CC, PSMV, RNU) and ``prescription_date``,
    ``arret_date``, ``approval_date`` (``YYYY-MM-DD`` or ``DD/MM/YYYY``, may be empty).

    Returns
    -------
    DataFrame
        :data:`DOCUMENT_COLUMNS`, dates as :class:`datetime.date` or None.
    """
    df = read_table(path, what="planning documents", sheet=sheet)
    src, cols = str(path), list(df.columns)
    code_col = find_column(cols, ["code", "insee_com", "code_insee"], given=None, source=src, what="code",
                           config_key="zan.documents")
    type_col = find_column(cols, ["type", "type_document"], given=None, source=src, what="document type",
                           config_key="zan.documents")
    problems: list[str] = []
    out = pd.DataFrame({"code": as_code(df[code_col])})
    types = _text(df, type_col)
    out["type"] = [_enum(t, DOCUMENT_TYPES) for t in types]
    for i in df.index:
        if out.at[i, "code"] is None:
            problems.append(f"line {i + 2}: empty code")
        if out.at[i, "type"] is None:
            problems.append(f"line {i + 2}: type {types[i]!r} is not one of {', '.join(DOCUMENT_TYPES)}")
    for name in DOCUMENT_COLUMNS[2:]:
        c = find_column(cols, [name], given=None, source=src, what=name, config_key="zan.documents", required=False)
        values = []
        for i in df.index:
            try:
                values.append(parse_date(df[c][i]) if c else None)
            except ValueError:
                problems.append(f"line {i + 2}: {name} {df[c][i]!r} is not YYYY-MM-DD")
                values.append(None)
        out[name] = values
    if problems:
        raise SchemaError(f"{src}: " + format_problems(problems) + "; fix the planning-documents file")
    return out[DOCUMENT_COLUMNS]


def read_mutualisation(path: str | os.PathLike[str], *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read the pooling table: ``commune, epci`` (communes whose guarantee is pooled by their EPCI)."""
    df = read_table(path, what="mutualisation", sheet=sheet)
    src, cols = str(path), list(df.columns)
    c = find_column(cols, ["commune", "code", "insee_com"], given=None, source=src, what="commune",
                    config_key="zan.mutualisation")
    e = find_column(cols, ["epci", "siren"], given=None, source=src, what="epci", config_key="zan.mutualisation")
    out = pd.DataFrame({"commune": as_code(df[c], width=5), "epci": as_code(df[e])}, columns=MUTUALISATION_COLUMNS)
    bad = out.isna().any(axis=1)
    problems = [f"line {i + 2}: empty commune or epci" for i in bad[bad].index]
    dup = out[out["commune"].duplicated() & out["commune"].notna()]
    if len(dup):
        problems.append("commune(s) listed twice: " + ", ".join(dup["commune"].head(5)))
    if problems:
        raise SchemaError(f"{src}: " + format_problems(problems) + "; fix the mutualisation file")
    return out


def read_deductions(path: str | os.PathLike[str], *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read the deductions ledger: ``code, year, type, area_ha, reference, source``.

    ``code`` is a commune, ``year`` the Cerema flow year in which the consumption is recorded,
    ``type`` one of ``pene`` (projet d'envergure nationale ou européenne), ``pv`` (ground PV
    meeting décret 2023-1408), ``renaturation``, ``other``; ``area_ha`` > 0; ``reference`` (the
    arrêté, the project or the deliberation) is required: a deduction must say what it rests on.
    A row repeating another (same code, year, type, area and reference) is an error: it would
    be deducted twice.
    """
    df = read_table(path, what="deductions", sheet=sheet)
    src, cols = str(path), list(df.columns)

    def col(name: str) -> str:
        return find_column(cols, [name], given=None, source=src, what=name, config_key="zan.deductions")

    out = pd.DataFrame({"code": as_code(df[col("code")], width=5, column=col("code"), source=src),
                        "year": parse_number(df[col("year")], source=src),
                        "type": [_enum(t, DEDUCTION_TYPES) for t in _text(df, col("type"))],
                        "area_ha": parse_number(df[col("area_ha")], source=src), "reference": _text(df, col("reference")),
                        "source": _text(df, find_column(cols, ["source"], given=None, source=src, what="source",
                                                         config_key="zan.deductions", required=False))})
    problems = []
    for i in df.index:
        where = f"line {i + 2} ({out.at[i, 'code']})"
        if out.at[i, "code"] is None:
            problems.append(f"line {i + 2}: empty code")
        if pd.isna(out.at[i, "year"]) or out.at[i, "year"] != int(out.at[i, "year"]):
            problems.append(f"{where}: year {df[col('year')][i]!r} is not a year")
        if out.at[i, "type"] is None:
            problems.append(f"{where}: type {df[col('type')][i]!r} is not one of {', '.join(DEDUCTION_TYPES)}")
        if pd.isna(out.at[i, "area_ha"]) or out.at[i, "area_ha"] <= 0:
            problems.append(f"{where}: area_ha {df[col('area_ha')][i]!r} is not a number > 0")
        if not out.at[i, "reference"]:
            problems.append(f"{where}: empty reference (name the arrêté, project or deliberation)")
    key = out[["code", "year", "type", "area_ha", "reference"]]
    for i in key.index[key.duplicated()]:
        first = key.index[(key == key.loc[i]).all(axis=1)][0]
        r = out.loc[i]
        problems.append(f"line {i + 2} repeats line {first + 2} ({r.code} {r.year:g} {r.type} {r.area_ha:g} ha, "
                        f"{r.reference}): one deduction counted twice; remove the copy")
    if problems:
        raise SchemaError(f"{src}: " + format_problems(problems) + "; fix the deductions file")
    out["year"] = out["year"].astype(int)
    return out[DEDUCTION_COLUMNS]


#: Keys of one ``[[zan.net_targets]]`` entry (None = optional).
NET_TARGET_KEYS = {"level": True, "code": True, "period": True, "envelope_ha": None, "reduction_pct": None,
                   "reference": None, "document": None, "document_name": None, "doc_status": None,
                   "source": None}
NET_TARGET_COLUMNS = schema.columns("zan_net_targets")


def net_targets_from_config(entries: Sequence[Mapping[str, Any]] | None) -> pd.DataFrame:
    """The ``[[zan.net_targets]]`` entries as a table (net artificialisation after the ENAF decade).

    Each entry: ``level, code, period = [first, last]`` (years of the decade, e.g. [2031, 2040]),
    ``envelope_ha`` (net artificialisation allowed over the decade) **or** ``reduction_pct``
    with ``reference = [vintage_from, vintage_to]`` (the OCS GE window whose annualised net
    artificialisation is reduced), and optionally ``document, document_name, doc_status, source``.

    Raises
    ------
    ConfigError
        Naming the entry and key.
    """
    rows, problems = [], []
    for i, e in enumerate(entries or [], start=1):
        where = f"[[zan.net_targets]] #{i}"
        if not isinstance(e, Mapping):
            problems.append(f"{where} must be a table")
            continue
        for k in e:
            if k not in NET_TARGET_KEYS:
                problems.append(f"{where}: unknown key {k!r}")
        for k, req in NET_TARGET_KEYS.items():
            if req and k not in e:
                problems.append(f"{where} needs {k!r}")
        try:
            p0, p1 = (int(v) for v in e.get("period", ()))
            assert p0 <= p1
        except (TypeError, ValueError, AssertionError):
            problems.append(f"{where}: period = {e.get('period')!r} must be [first_year, last_year]")
            p0 = p1 = 0
        env, pct = e.get("envelope_ha"), e.get("reduction_pct")
        ref = e.get("reference")
        if (env is None) == (pct is None):
            problems.append(f"{where}: give envelope_ha or reduction_pct (one of them)")
        if env is not None and (not isinstance(env, int | float) or env < 0):
            problems.append(f"{where}: envelope_ha = {env!r} must be a number ≥ 0")
        if pct is not None and (not isinstance(pct, int | float) or pct > 100):
            problems.append(f"{where}: reduction_pct = {pct!r} must be a number up to 100")
        r0 = r1 = None
        if pct is not None:
            try:
                r0, r1 = (int(v) for v in ref)  # type: ignore[union-attr]  # None: TypeError, caught
                assert r0 < r1
            except (TypeError, ValueError, AssertionError):
                problems.append(f"{where}: reduction_pct needs reference = [vintage_from, vintage_to] "
                                f"(two OCS GE vintages), found {ref!r}")
        status = str(e.get("doc_status") or "")
        if status and _enum(status, DOC_STATUSES) is None:
            problems.append(f"{where}: doc_status {status!r} is not one of {', '.join(DOC_STATUSES)}")
        rows.append({"level": str(e.get("level", "")).lower(), "code": str(e.get("code", "")), "period_start": p0,
                     "period_end": p1, "envelope_ha": float(env) if isinstance(env, int | float) else float("nan"),
                     "reduction_pct": float(pct) if isinstance(pct, int | float) else float("nan"),
                     "reference_from": r0, "reference_to": r1, "document": str(e.get("document") or ""),
                     "document_name": str(e.get("document_name") or ""),
                     "doc_status": (_enum(status, DOC_STATUSES) or status) if status else "",
                     "source": str(e.get("source") or "")})
    if problems:
        raise ConfigError(format_problems(problems))
    out = pd.DataFrame(rows, columns=NET_TARGET_COLUMNS)
    for c in ("reference_from", "reference_to"):
        out[c] = out[c].astype("Int64")
    return out
