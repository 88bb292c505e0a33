"""One schema of the output tables: every table's columns, types, units and French labels.

The declaration is data, ``ocsol/data/tables.csv`` (``table, column, type, unit, optional, empty,
kind``), one row per column in the order the column is written; French labels come from the ``ocsol.fr``
catalogue (group ``column``, keyed by column; open-data descriptions in group ``column_help``).
Everything else reads it: the compute modules take their column lists from :func:`columns`, the
report loader its text columns from :func:`text_columns`, the open-data Table Schema from
:func:`table_schema_fields`, and the table reference of ``docs/ARCHITECTURE.md`` is
:func:`reference_markdown` (a test keeps them equal).

``type`` is a Table Schema type (``string``, ``number``, ``integer``, ``year``, ``boolean``,
``date``). ``unit`` is the unit of a figure (``ha``, ``m²``, ``%``, ``km²``, ``ha/an``…), empty for
codes, words and counts. ``optional = yes`` marks a column written only by some runs (a raster's
``covered_pct``, a ``[cog]`` section's ``correction_status``…). ``empty = none`` marks a text column
whose empty cell means "no value" (a territory without a target document): read back as null,
where the other text columns read an empty cell as ``""`` (:func:`read_types`). ``kind`` is
``output`` (a table ocsol writes) or ``input`` (the tidy table a reader returns: ``cerema``,
``population``, the ``[zan]`` and ``[cog]`` tables); :func:`tables` lists one kind.

This module imports only :mod:`ocsol.fr` (bottom level).

>>> columns("flows")[:5]
['level', 'code', 'measure', 'vintage_from', 'vintage_to']
>>> unit("zan", "annual_pace_ha"), label("allowed_ha")
('ha/an', 'Enveloppe')
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from . import fr

TYPES = ("string", "number", "integer", "year", "boolean", "date")
KINDS = ("output", "input")


@dataclass(frozen=True)
class Column:
    """One column of one output table."""

    table: str
    name: str
    type: str
    unit: str
    optional: bool
    #: ``empty = none``: an empty cell means "no value" (read back as null, e.g. a territory without a
    #: target document); otherwise an empty text cell is the empty string.
    empty_none: bool = False
    #: ``output`` (a table ocsol writes) or ``input`` (the tidy table a reader returns).
    kind: str = "output"


@lru_cache(maxsize=1)
def _rows() -> tuple[Column, ...]:
    text = resources.files("ocsol").joinpath("data/tables.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    out = []
    seen = set()
    for i, r in enumerate(rows, start=2):
        if r["type"] not in TYPES:
            raise ValueError(f"ocsol/data/tables.csv: line {i}: type {r['type']!r} is not one of {', '.join(TYPES)}")
        if (r["table"], r["column"]) in seen:
            raise ValueError(f"ocsol/data/tables.csv: line {i}: {r['table']}.{r['column']} is declared twice")
        seen.add((r["table"], r["column"]))
        if r["empty"] not in ("", "none"):
            raise ValueError(f"ocsol/data/tables.csv: line {i}: empty {r['empty']!r} is not \"none\" or empty")
        if r["kind"] not in KINDS:
            raise ValueError(f"ocsol/data/tables.csv: line {i}: kind {r['kind']!r} is not one of {', '.join(KINDS)}")
        out.append(Column(r["table"], r["column"], r["type"], r["unit"], r["optional"].strip().lower() == "yes",
                          r["empty"] == "none", r["kind"]))
    return tuple(out)


def tables(kind: str = "output") -> list[str]:
    """The declared tables of one kind (``output``: written by ocsol; ``input``: returned by a
    reader), in declaration order."""
    return list(dict.fromkeys(c.table for c in _rows() if c.kind == kind))


def table(name: str) -> list[Column]:
    """The columns of one table, in written order.

    Raises
    ------
    KeyError
        When the table is not declared.
    """
    cols = [c for c in _rows() if c.table == name]
    if not cols:
        raise KeyError(f"ocsol/data/tables.csv declares no table {name!r}")
    return cols


def columns(name: str, *, optional: bool = False, exclude: tuple[str, ...] = ()) -> list[str]:
    """Column names of one table, in written order: the columns every run writes, plus the
    optional ones when ``optional`` is true; ``exclude`` leaves some out (e.g. ``measure``, added
    after the table is built)."""
    return [c.name for c in table(name) if (optional or not c.optional) and c.name not in exclude]


def unit(name: str, column: str) -> str:
    """The unit of ``column`` in table ``name`` (``""`` when it has none)."""
    return next(c.unit for c in table(name) if c.name == column)


def read_types(names: list[str]) -> dict[str, str]:
    """How a reader of the output tables ``names`` reads each text column back: ``"text"`` (an
    empty cell is ``""``) or ``"none"`` (an empty cell is null; ``empty = none``), by column name.

    Raises
    ------
    ValueError
        When one column name is declared both ways in these tables (a reader by name could not
        read both right).
    """
    out: dict[str, str] = {}
    for name in names:
        for c in table(name):
            if c.type not in ("string", "date"):
                continue
            kind = "none" if c.empty_none else "text"
            if out.setdefault(c.name, kind) != kind:
                raise ValueError(f"ocsol/data/tables.csv: column {c.name!r} is text in one table and "
                                 f"'empty = none' in another ({name}); declare it the same way")
    return out


def text_columns() -> set[str]:
    """Every column declared ``string`` or ``date`` in some table: read back as text, never as
    numbers (codes such as ``01001`` keep their zero)."""
    return {c.name for c in _rows() if c.type in ("string", "date") and c.kind == "output"}


def label(column: str) -> str:
    """The French label of a column (``ocsol.fr`` catalogue, group ``column``); ``""`` if none."""
    return fr.text("column", column, default="")


def table_schema_fields(name: str) -> list[dict[str, object]]:
    """Table Schema ``fields`` of one table: name, French title and description (with the unit), type."""
    out: list[dict[str, object]] = []
    for c in table(name):
        desc = fr.text("column_help", c.name, default="")
        out.append({"name": c.name, "title": label(c.name), "description": desc + (f" (en {c.unit})" if c.unit else ""),
                    "type": c.type})
    return out


#: One line on each table for the reference (English, like the rest of docs/ARCHITECTURE.md).
ABOUT: dict[str, str] = {
    "territories": "one row per territory of every level (`level` = `commune` or a parent level key)",
    "stock_summary": "artificialised and impervious land per vintage",
    "stock": "area per couverture × usage and vintage",
    "flows": "artificialisation and imperviousness flows between two vintages",
    "transitions": "area per (couverture, usage) pair of the two vintages",
    "land_account": "opening, additions, reductions, closing per class",
    "consumption": "Cerema consumption of NAF land per year (`naf11art12` is the flow of 2011)",
    "consumption_qa": "per-commune Cerema checks (summarised in `qa.csv`)",
    "zan": "ZAN trajectory of each territory (rules in `docs/consumption.md`)",
    "zan_path": "year-by-year allowed envelope to the horizon",
    "zan_coherence": "territorialisation check of each binding parent per member level",
    "zan_2031": "net artificialisation against the decade after `[zan].period`",
    "efficiency": "consumption per new inhabitant and SDG 11.3.1",
    "fragmentation": "effective mesh size of non-artificial land (with `[fragmentation]`)",
    "fragmentation_change": "change of the effective mesh size between vintages",
    "qa": "what was repaired, ignored or flagged; `key` is worded in French by `ocsol.fr` (group `qa`)",
    "provenance": "input files with sha256 and dates",
    "rule": "the rule table(s) used",
    "indicateurs_territoires": "open data of a batch (`opendata/`): one row per territory, its headline figures",
    # input tables: what a reader returns (``kind = input``)
    "cerema": "`ocsol.io.cerema.read_cerema`: Cerema consumption per commune and year (m²)",
    "zan_targets": "`ocsol.io.targets.read_targets`: `[zan].targets`",
    "zan_documents": "`ocsol.io.targets.read_documents`: `[zan].documents` (garantie communale)",
    "zan_mutualisation": "`ocsol.io.targets.read_mutualisation`: `[zan].mutualisation`",
    "zan_deductions": "`ocsol.io.targets.read_deductions`: `[zan].deductions`",
    "zan_net_targets": "`ocsol.io.targets.net_targets_from_config`: `[[zan.net_targets]]`",
    "cog_changes": "`ocsol.io.cog.read_changes`: `[cog].changes` (INSEE commune changes)",
    "cog_deleguees": "`ocsol.io.cog.read_deleguees`: `[cog].deleguees`, `[zan].guarantee_deleguees`",
    "cog_weights": "`ocsol.io.cog.read_weights`: `[cog].weights`",
    "population": "`ocsol.io.cerema.read_population`: `[population]` (INSEE, inhabitants per commune and year)",
    "households": "`ocsol.io.cerema.read_population(what=\"households\")`: `[households]`",
    "jobs": "`ocsol.io.cerema.read_population(what=\"jobs\")`: `[jobs]`",
}


def reference_markdown() -> str:
    """The table reference of ``docs/ARCHITECTURE.md`` (between its ``tables`` markers).

    Regenerate it after changing ``ocsol/data/tables.csv`` or a label::

        python -c "from pathlib import Path; from ocsol import schema; p = Path('docs/ARCHITECTURE.md'); \\
        d = p.read_text(); s, e = d.index('<!-- tables:'), d.index('<!-- /tables -->') + 17; \\
        p.write_text(d[:s] + schema.reference_markdown() + d[e:])"
    """
    lines = ["<!-- tables: generated by ocsol.schema.reference_markdown() from ocsol/data/tables.csv; "
             "a test keeps it equal -->"]
    for kind in KINDS:
        if kind == "input":
            lines += ["Input tables (`kind = input`): the tidy tables the readers return, which the steps pass "
                      "to the measures.", ""]
        for name in tables(kind):
            cols = table(name)
            lines.append(f"- `{name}{'.csv' if kind == 'output' else ''}`: {ABOUT.get(name, '')}")
            lines.append("")
            lines.append("  | column | type | unit | French label |")
            lines.append("  |---|---|---|---|")
            for c in cols:
                notes = [n for n, on in (("optional", c.optional), ("empty = none", c.empty_none)) if on]
                opt = f" ({', '.join(notes)})" if notes else ""
                lines.append(f"  | `{c.name}`{opt} | {c.type} | {c.unit} | {label(c.name)} |")
            lines.append("")
    lines.append("<!-- /tables -->")
    return "\n".join(lines) + "\n"
