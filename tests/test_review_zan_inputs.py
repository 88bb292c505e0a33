"""Review: hostile ZAN tables give the right number or one clear error, never a quiet wrong figure."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from ocsol.cli import main
from ocsol.errors import SchemaError
from ocsol.io.targets import read_deductions, read_targets

sys.path.insert(0, str(Path(__file__).parent))
from test_zan_law import EPCI, ZAN, setup_dir  # noqa: E402


@pytest.mark.parametrize("cell", ["0.5", "0,5", "1", "-0.1", "0.485"])
def test_target_pct_written_as_a_fraction_is_refused(tmp_path: Path, cell: str) -> None:
    """A spreadsheet percent cell (50 % stored as 0.5) would silently become a 0.5 % reduction."""
    p = tmp_path / "t.csv"
    p.write_text(f'level;code;target_pct\nepci;{EPCI};"{cell}"\n', encoding="utf-8")
    with pytest.raises(SchemaError, match=r"target_pct .* ambiguous.*write 50 for 50 %"):
        read_targets(p)


def test_target_pct_in_percent_is_read(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text(f"level;code;target_pct\nepci;{EPCI};54,5 %\ncommune;69029;0\ncommune;69123;1,5\ncommune;69149;0,5 %\n", encoding="utf-8")
    assert read_targets(p)["target_pct"].tolist() == [54.5, 0.0, 1.5, 0.5]


def test_duplicate_deduction_rows_are_refused(tmp_path: Path) -> None:
    """The same deduction pasted twice would be deducted twice."""
    p = tmp_path / "d.csv"
    row = "69029,2021,pene,5.0,arrêté du 31 mai 2024 annexe I\n"
    p.write_text("code,year,type,area_ha,reference\n" + row + row.replace("pene", "PENE"), encoding="utf-8")
    with pytest.raises(SchemaError, match=r"line 3 repeats line 2 \(69029 2021 pene 5 ha"):
        read_deductions(p)
    p.write_text("code,year,type,area_ha,reference\n" + row + row.replace("annexe I", "annexe II"), encoding="utf-8")
    assert read_deductions(p)["area_ha"].sum() == 10.0  # two references: two deductions


@pytest.mark.parametrize(("row", "message"), [
    ("commune,69999,50", r"commune 69999 names no territory of the run"),
    ("epci,200000000,50", r"epci 200000000 names no territory of the run"),
])
@pytest.mark.slow
def test_target_for_an_unknown_territory_stops(tmp_path: Path, capsys, row: str, message: str) -> None:
    """A mistyped code would leave the territory on the indicative national default without a word."""
    block = ZAN.split("documents")[0]
    cfg = setup_dir(tmp_path, block, {"targets.csv": f"level,code,target_pct\n{row}\n"})
    code = main(["indicators", "-c", str(cfg), "-o", str(tmp_path / "out"), "-q"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("ocsol: error: "), lines
    assert re.search(message, lines[0]), lines[0]


@pytest.mark.slow
def test_net_target_for_an_unknown_territory_stops(tmp_path: Path, capsys) -> None:
    block = ZAN.split("targets")[0] + ('\n[[zan.net_targets]]\nlevel = "epci"\ncode = "200046978"\n'
                                       'period = [2031, 2040]\nenvelope_ha = 120.0\n')
    code = main(["indicators", "-c", str(setup_dir(tmp_path, block, {})), "-o", str(tmp_path / "out"), "-q"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert re.search(r"\[\[zan\.net_targets\]\] #1: epci 200046978 names no territory of the run", lines[0]), lines


@pytest.mark.slow
def test_two_net_targets_for_one_territory_stop(tmp_path: Path, capsys) -> None:
    """zan_2031.csv has one row per territory: the second decade's entry would silently replace the first."""
    entry = '\n[[zan.net_targets]]\nlevel = "epci"\ncode = "{c}"\nperiod = [{a}, {b}]\nenvelope_ha = 120.0\n'
    block = ZAN.split("targets")[0] + entry.format(c=EPCI, a=2031, b=2040) + entry.format(c=EPCI, a=2041, b=2050)
    code = main(["indicators", "-c", str(setup_dir(tmp_path, block, {})), "-o", str(tmp_path / "out"), "-q"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert re.search(rf"#2: epci {EPCI} already has entry #1", lines[0]), lines
