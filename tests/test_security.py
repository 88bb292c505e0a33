"""User strings are data (issue 9, items 1–3): no markup in any HTML page, no formula in any
spreadsheet, no input overwritten by an output folder.

The hostile strings go through the real pipeline and the real report notebook (one batch of two
reports, ≈ 15 s): territory names, parent names, the configuration's title and author.
"""

from __future__ import annotations

import zipfile
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest

from ocsol.cli import main
from ocsol.errors import OutputError
from ocsol.io.write import FORMULA_START, check_out_dir, defuse_formulas, write_xlsx
from ocsol.report import safe
from ocsol.report.publish import _SORT_JS

SCRIPT_NAME = "Ville <script>alert(1)</script> [x](javascript:alert(2))"
IMG_NAME = "<img src=x onerror=alert(3)>"
FORMULA_NAME = '=HYPERLINK("http://evil.example","clic")'
TITLE = "<script>alert('titre')</script> **Rapport**"
AUTHOR = "[auteur](javascript:alert(4)) <b onmouseover=alert(5)>x</b>"


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of every script element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def _markup_problems(page: str, *, allowed_scripts: tuple[str, ...] = ()) -> list[str]:
    """Script elements, event-handler attributes and javascript:/data:text URLs in a page."""
    p = _Tags()
    p.feed(page)
    problems = [f"script: {s[:60]!r}" for s in p.scripts if s.strip() not in {a.strip() for a in allowed_scripts}]
    for tag, attrs in p.tags:
        problems += [f"<{tag} {k}=…>" for k in attrs if k.lower().startswith("on")]
        for k in ("href", "src"):
            v = (attrs.get(k) or "").strip().lower()
            if v.startswith(("javascript:", "vbscript:", "data:text")):
                problems.append(f"<{tag} {k}={v[:40]}>")
        if tag in ("img", "iframe", "object", "embed") and (attrs.get("src") or "").strip() == "x":
            problems.append(f"<{tag} src=x> from data")
    return problems


# -- 1. HTML -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hostile_batch(tmp_path_factory) -> Path:
    """Two communes and their EPCI with hostile names, reported by `ocsol batch`."""
    import shapely

    d = tmp_path_factory.mktemp("hostile")
    crs = "EPSG:2154"
    gpd.GeoDataFrame(
        {"CODE_INSEE": ["00001", "00002"], "NOM": [SCRIPT_NAME, FORMULA_NAME], "EPCI": ["200000001"] * 2,
         "NOM_EPCI": [IMG_NAME] * 2},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=crs,
    ).to_file(d / "communes.gpkg")
    for year, cs in ((2019, "CS2.2.1"), (2022, "CS1.1.1.1")):
        gpd.GeoDataFrame({"code_cs": ["CS2.2.1", cs], "code_us": ["US1.1", "US5" if cs != "CS2.2.1" else "US1.1"]},
                         geometry=[shapely.box(0, 0, 150, 100), shapely.box(150, 0, 200, 100)],
                         crs=crs).to_file(d / f"ocsge_{year}.gpkg")
    (d / "ocsol.toml").write_text(
        f"""
[territories]
path = "communes.gpkg"
code = "CODE_INSEE"
name = "NOM"
levels = {{ epci = "EPCI" }}
names = {{ epci = "NOM_EPCI" }}

[ocsge.vintages]
2019 = "ocsge_2019.gpkg"
2022 = "ocsge_2022.gpkg"

[report]
title = {TITLE!r}
author = {AUTHOR!r}
""".replace("'", '"').replace('"titre"', "'titre'"),
        encoding="utf-8",
    )
    out = d / "reports"
    code = main(["batch", "-c", str(d / "ocsol.toml"), "-o", str(out), "-j", "1", "-q",
                 "--territories", "epci:200000001", "commune:00001"])
    assert code == 0
    return out


@pytest.mark.slow
def test_report_pages_show_hostile_names_as_text(hostile_batch):
    for folder in ("epci-200000001", "commune-00001"):
        page = (hostile_batch / folder / "rapport.html").read_text(encoding="utf-8")
        assert _markup_problems(page) == [], folder
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the name is there, as text
        assert "[x](javascript:alert(2))" in page
        assert "&lt;img src=x onerror=alert(3)&gt;" in page  # the parent (EPCI) name
        assert "&lt;script&gt;alert(&#39;titre&#39;)&lt;/script&gt;" in page or \
               "&lt;script&gt;alert('titre')&lt;/script&gt;" in page  # config title
        assert "[auteur](javascript:alert(4))" in page and "&lt;b onmouseover=alert(5)&gt;" in page


@pytest.mark.slow
def test_index_shows_hostile_names_as_text(hostile_batch):
    page = (hostile_batch / "index.html").read_text(encoding="utf-8")
    assert _markup_problems(page, allowed_scripts=(_SORT_JS,)) == []
    assert "&lt;img src=x onerror=alert(3)&gt;" in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.slow
def test_markdown_renderer_neutralises_markup_that_skipped_escaping():
    """Defence in depth: a user string pasted into a report's Markdown unescaped still shows as text."""
    for text in (SCRIPT_NAME, IMG_NAME, "<javascript:alert(1)>", "![i](data:text/html;base64,PHNjcmlwdD4=)",
                 "```mermaid\n<script>alert(1)</script>\n```", "<iframe src=javascript:alert(1)></iframe>"):
        page = safe.markdown_html(f"# {text}\n\n**{text}**\n\n{text}")
        assert _markup_problems(page) == [], text
    assert '<a href="https://www.legifrance.gouv.fr">' in safe.markdown_html("[loi](https://www.legifrance.gouv.fr)")


def test_md_keeps_every_character_of_a_name():
    for name in (SCRIPT_NAME, "Saint-Martin-de-Ré (*17*) & co_op", "1. Liste", "# Titre", "a\\b `c` $d$ |e|"):
        page = safe.markdown_html(f"**{safe.md(name)}**")
        text = page.removeprefix("<p><strong>").removesuffix("</strong></p>\n")
        assert text == str(safe.escape(name)).replace("&#39;", "'").replace("&#34;", '"'), name


# -- 2. spreadsheets ---------------------------------------------------------------------------
def test_xlsx_strings_are_text_cells_never_formulas(tmp_path):
    values = [FORMULA_NAME, "+33 1 23", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "Lyon", "=1+1"]
    df = pd.DataFrame({"name": values, "value": range(len(values))})
    write_xlsx({"t": df}, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    cells = [ws.cell(row=i + 2, column=1) for i in range(len(values))]
    assert [c.value for c in cells] == values  # the text, unchanged
    assert all(c.data_type == "s" for c in cells)
    assert [c.quotePrefix for c in cells] == [v.startswith(FORMULA_START) for v in values]
    assert [ws.cell(row=i + 2, column=2).value for i in range(len(values))] == list(range(len(values)))
    with zipfile.ZipFile(tmp_path / "t.xlsx") as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()  # no formula element at all


@pytest.mark.slow
def test_report_spreadsheets_hold_no_formula(hostile_batch):
    folder = hostile_batch / "epci-200000001"
    wb = openpyxl.load_workbook(folder / "tableaux.xlsx")
    texts = [c for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    hit = [c for c in texts if c.value == FORMULA_NAME]
    assert hit and all(c.data_type == "s" and c.quotePrefix for c in hit)
    assert not [c for c in texts if c.data_type == "f"]
    csvs = list((hostile_batch / "commune-00001" / "donnees").glob("*.csv")) + list((folder / "donnees").glob("*.csv"))
    seen = False
    for f in csvs:
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        cells = [v for col in df.columns for v in df[col]] + list(df.columns)
        assert not [v for v in cells if v.startswith(FORMULA_START) and not _is_number(v)], f
        seen = seen or ("'" + FORMULA_NAME) in cells
    assert seen, "the comparison figure's data names the neighbour"
    # open data stays verbatim for programs (documented in docs/reliability.md)
    data = pd.read_csv(hostile_batch / "opendata" / "indicateurs_territoires.csv", dtype=str)
    assert SCRIPT_NAME in set(data["name"])


def _is_number(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def test_defuse_formulas_follows_owasp():
    df = pd.DataFrame({"t": ["=1", "+1", "-a", "@a", "\ta", "\ra", "ok", None], "n": [-1.0, 2, 3, 4, 5, 6, 7, 8]})
    out = defuse_formulas(df)
    assert out["t"].tolist()[:7] == ["'=1", "'+1", "'-a", "'@a", "'\ta", "'\ra", "ok"]
    assert pd.isna(out["t"].iloc[7])
    assert out["n"].tolist() == df["n"].tolist()
    assert df["t"].iloc[0] == "=1"  # the input is not changed


# -- 3. inputs never overwritten -----------------------------------------------------------------
def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("command", [["indicators"], ["report", "00001"], ["batch"], ["demo"]])
def test_out_equal_to_the_config_folder_is_refused(paper, command, capsys):
    before = _tree(paper)
    code = main([*command, "-c", str(paper / "ocsol.toml"), "-o", str(paper), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("ocsol: error: --out ") and str(paper) in err[0], err
    assert "ocsol.toml" in err[0] or ".gpkg" in err[0]
    assert _tree(paper) == before  # nothing written, nothing removed


def test_out_holding_an_input_deeper_is_refused(paper, capsys):
    (paper / "data").mkdir()
    (paper / "ocsge_2019.gpkg").rename(paper / "data" / "ocsge_2019.gpkg")
    cfg = (paper / "ocsol.toml").read_text(encoding="utf-8").replace('"ocsge_2019.gpkg"', '"data/ocsge_2019.gpkg"')
    (paper / "ocsol.toml").write_text(cfg, encoding="utf-8")
    for out in (paper / "data", paper / "data" / "ocsge_2019.gpkg"):
        assert main(["indicators", "-c", str(paper / "ocsol.toml"), "-o", str(out), "-q"]) == 2
        assert "data/ocsge_2019.gpkg" in capsys.readouterr().err
    assert sorted(p.name for p in (paper / "data").iterdir()) == ["ocsge_2019.gpkg"]
    assert main(["indicators", "-c", str(paper / "ocsol.toml"), "-o", str(paper / "out"), "-q"]) == 0


def test_library_write_refuses_an_input_folder(paper):
    import ocsol

    res = ocsol.compute(paper / "ocsol.toml")
    with pytest.raises(OutputError, match=r"output folder .*holds the input .*(communes|ocsge_20)"):
        ocsol.write_results(res, paper)
    with pytest.raises(OutputError, match="holds the input"):
        check_out_dir(paper.parent, [paper / "communes.gpkg"])
