"""Review: hostile layouts for the population and IGN readers give the right number or one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocsol.errors import SchemaError
from ocsol.io.cerema import read_population


@pytest.mark.parametrize("header", ["insee_com;pmun2021;pop2021;pop2015", "codgeo;P21_POP;pop21;P15_POP",
                                    "codgeo;pop2021;POP_2021;pop2015"])
def test_two_columns_for_one_year_are_refused(tmp_path: Path, header: str) -> None:
    """Which of two population columns of 2021 (municipale, totale…) was used would be a silent choice."""
    p = tmp_path / "pop.csv"
    p.write_text(f"{header}\n69029;1000;900;800\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"population 2021 .*two columns.*keep one"):
        read_population(p)


def test_one_column_per_year_is_read(tmp_path: Path) -> None:
    p = tmp_path / "pop.csv"
    p.write_text("codgeo;P21_POP;P15_POP;pop1521\n69029;1 000;800;200\n", encoding="utf-8")
    got = read_population(p)
    assert got[["year", "population"]].values.tolist() == [[2015, 800.0], [2021, 1000.0]]


def test_cerema_columns_differing_only_by_case_are_refused(tmp_path: Path) -> None:
    """naf11art12 and NAF11ART12 in one file: one of them would give the 2011 flow silently."""
    from ocsol.io.cerema import read_cerema

    lyon = Path(__file__).resolve().parents[1] / "data" / "lyon" / "conso_communes_cerema_format.csv"
    text = lyon.read_text(encoding="utf-8").splitlines()
    for extra in ("NAF11ART12", "ART11HAB12"):
        rows = [text[0] + f",{extra}"] + [line + ",0" for line in text[1:]]
        (tmp_path / "c.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        with pytest.raises(SchemaError, match=rf"columns '\w+' and '{extra}' both give the .*flow of 2011; keep one"):
            read_cerema(tmp_path / "c.csv")
