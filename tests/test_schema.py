"""The one schema of output tables (ocsol/data/tables.csv): the docs and the written tables follow it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ocsol import schema
from ocsol.pipeline import compute, write_results
from ocsol.sample import sample_config

ROOT = Path(__file__).resolve().parents[1]


def test_architecture_table_reference_is_generated() -> None:
    """The table reference of docs/ARCHITECTURE.md is the text generated from the schema."""
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    start, end = doc.index("<!-- tables:"), doc.index("<!-- /tables -->") + len("<!-- /tables -->\n")
    assert doc[start:end] == schema.reference_markdown()


def test_every_column_has_a_french_label_from_the_catalogue() -> None:
    missing = [f"{c.table}.{c.name}" for t in schema.tables() for c in schema.table(t) if not schema.label(c.name)]
    assert missing == []


@pytest.mark.parametrize("name", ["lyon", "saotome", "arcachon"])
def test_written_tables_follow_the_schema(name: str, tmp_path: Path) -> None:
    """Every CSV a real run writes is a declared table whose columns are the declared ones, in order:
    all required columns, and optional ones only where declared."""
    write_results(compute(sample_config(name)), tmp_path)
    checked = 0
    for f in sorted(tmp_path.glob("*.csv")):
        if f.stem == "membership":  # one column per level of the run
            continue
        written = list(pd.read_csv(f, nrows=0).columns)
        declared = schema.columns(f.stem, optional=True)
        assert [c for c in declared if c in written] == written, f.name  # declared, in declared order
        assert set(schema.columns(f.stem)) <= set(written), f.name  # no required column missing
        checked += 1
    assert checked >= 5


def test_report_loader_text_columns_come_from_the_schema() -> None:
    """The columns the report loader reads back as text are the string (or date) columns of the
    tables it reads; ``empty = none`` ones keep an empty cell null (``headline.json`` writes null
    for a territory without a target document, not "")."""
    from ocsol.report.loader import NULLABLE_TEXT_COLUMNS, TABLES, TEXT_COLUMNS

    declared = {c.name for t in [*TABLES, "provenance"] for c in schema.table(t) if c.type in ("string", "date")}
    assert TEXT_COLUMNS | NULLABLE_TEXT_COLUMNS == declared
    assert not TEXT_COLUMNS & NULLABLE_TEXT_COLUMNS
    assert {"code", "name", "measure"} <= TEXT_COLUMNS
    assert {"target_document", "codes"} <= NULLABLE_TEXT_COLUMNS
    assert TEXT_COLUMNS <= schema.text_columns()


def test_empty_means_none_reads_back_null(tmp_path) -> None:
    """A nullable text column reads an empty cell as null, a text column as "", and neither
    turns a code into a number (``codes`` holding one commune code keeps its zero)."""
    from ocsol.report.loader import _read_csv

    p = tmp_path / "qa.csv"
    p.write_text("topic,key,item,count,detail,codes,files,params\nocsge,,x,1,,01001,,\n", encoding="utf-8")
    row = _read_csv(p).iloc[0]
    assert row["detail"] == "" and row["item"] == "x"
    assert pd.isna(row["key"]) and row["codes"] == "01001"


def test_index_columns_are_open_data_columns_with_catalogue_headers() -> None:
    """Every column of ``index.html`` is a column of the open-data table, its header is in the
    catalogue, and a header that names a unit names the schema's unit."""
    from ocsol import fr
    from ocsol.report.publish import INDEX_COLUMNS, OPENDATA_TABLE

    declared = schema.columns(OPENDATA_TABLE, optional=True)
    for key, _kind in INDEX_COLUMNS:
        assert key in declared, f"index column {key} is not a column of {OPENDATA_TABLE}"
        header = fr.text("index_column", key)
        unit = schema.unit(OPENDATA_TABLE, key)
        assert not unit or unit in header, f"index header {header!r} does not name the unit {unit}"
