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


def test_report_loader_text_columns_are_declared_text() -> None:
    """The columns the report loader reads back as text are string (or date) columns of the schema.

    The loader keeps its own shorter list: reading every string column as text would turn empty
    cells of e.g. ``target_document`` from null into "" in ``headline.json`` (an output change).
    """
    from ocsol.report.loader import TEXT_COLUMNS

    assert TEXT_COLUMNS <= schema.text_columns()


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
