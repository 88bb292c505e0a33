"""Reports: context, French format, notebooks (papermill), export, batch, Chromium rendering.

The real bundled sample (``data/sample/ocsol.toml``) is computed once per session; the batch
tests run the real pipeline on generated input files (:mod:`ocsol.synthetic_inputs`).
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import papermill as pm
import pytest

import ocsol
from ocsol.errors import TerritoryNotFoundError
from ocsol.fr import format as fr
from ocsol.report import build_context, compute_indicators
from ocsol.report.batch import batch_reports, select_territories
from ocsol.report.commands import demo_selection, report_command
from ocsol.report.export import (
    HTML_NAME,
    ReportRunner,
    chromium_render,
    find_chromium,
    report_notebook,
)
from ocsol.report.loader import load_indicators
from ocsol.sample import sample_config
from ocsol.synthetic_inputs import write_synthetic_inputs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
LYON = "200046977"
HEADINGS = [  # the rapport_local profile of an EPCI
    "1. Objet du rapport",
    "2. Identité du territoire",
    "3. Communes membres",
    "4. Consommation d'espaces naturels, agricoles et forestiers",
    "5. Respect des objectifs de réduction de la consommation d'espaces",
    "6. Artificialisation et imperméabilisation des sols",
    "7. Raisons des évolutions observées",
    "8. Démographie et efficacité de la consommation d'espace",
    "9. Comparaison avec des territoires de même niveau",
    "10. Méthodologie et provenance des données",
    "11. Annexe : nomenclature de l'article R. 101-1 du code de l'urbanisme",
]
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sample_indicators(tmp_path_factory) -> Path:
    """The bundled sample's indicator tables, computed once with the real pipeline."""
    return compute_indicators(sample_config("sample"), tmp_path_factory.mktemp("sample") / "indicateurs")


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory) -> Path:
    """Generated input files (4 communes, 1 EPCI, département 99) through the real pipeline."""
    folder = tmp_path_factory.mktemp("synth")
    config = write_synthetic_inputs(folder / "entrees", n_communes=4, n_epci=1, rnu=["99004"])
    return compute_indicators(config, folder / "indicateurs")


@pytest.fixture(scope="module")
def runner():
    r = ReportRunner()
    yield r
    r.close()


@pytest.fixture(scope="module")
def lyon_report(runner, sample_indicators, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports") / f"epci-{LYON}"
    res = runner.run(LYON, level="epci", indicators=str(sample_indicators), folder=folder)
    assert res.ok, res.error
    return res


# -- French format ---------------------------------------------------------------------------
def test_french_numbers_use_narrow_no_break_space_and_comma():
    assert fr.hectares(1234.5) == "1\u202f234,5\u202fha"
    assert fr.percent(12.345) == "12,3\u202f%"
    assert fr.number(-0.04) == "0,0"  # no negative zero
    assert fr.number(-1234.56, decimals=2) == "\u22121\u202f234,56"
    assert fr.number(None) == fr.MISSING and fr.number("x") == fr.MISSING
    assert fr.square_metres(73.4) == "73\u202fm²"
    assert fr.period(2011, 2020) == "2011–2020"


# -- notebooks: contract and hygiene ---------------------------------------------------------------
def test_report_notebook_parameters_match_build_context():
    params = pm.inspect_notebook(str(report_notebook()))
    signature = inspect.signature(build_context).parameters
    assert list(params) == list(signature)
    for name, p in params.items():
        default = signature[name].default
        if default is not inspect.Parameter.empty:
            assert p["default"] == repr(default), name
        assert p["help"], f"parameter {name} has no help comment"


def test_repository_notebook_is_the_packaged_one():
    assert (NOTEBOOKS / "territory_report.ipynb").read_bytes() == report_notebook().read_bytes(), (
        "notebooks/territory_report.ipynb and src/ocsol/notebooks/territory_report.ipynb differ: "
        "edit one, copy it over the other"
    )


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_committed_clean_with_one_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "clear the outputs"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1


def test_report_notebook_is_thin():
    nb = nbformat.read(report_notebook(), as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for forbidden in ("def ", "groupby", "for ", "while ", "lambda", "read_csv", "if "):
        assert forbidden not in code, f"the report notebook must stay thin: found {forbidden!r}"
    assert code.count("build_context(") == 1


# -- context ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_context_slices_tables_and_headline_equals_tables(synthetic):
    ctx = build_context("99001", indicators=str(synthetic))
    ind = load_indicators(synthetic)
    z = ind.slice("zan", "commune", "99001").iloc[0]
    assert ctx.level == "commune" and ctx.name == "Commune synthétique 1"
    for key in ("reference_ha", "allowed_ha", "consumed_since_ha", "used_pct", "projected_pct"):
        assert ctx.headline[key] == pytest.approx(float(z[key]), rel=0, abs=1e-12)
    data_sections = ("identite", "consommation", "zan", "artificialisation", "demographie", "comparaison")
    assert all(ctx.available[s] for s in data_sections)
    assert not ctx.available["membres"]  # a commune has no members
    assert set(ctx.tables["consumption"]["code"]) == {"99001"}
    assert {"consommation", "trajectoire", "stock_couverture", "transitions", "carte", "comparaison"} <= set(
        ctx.figures)
    assert "EPCI d'appartenance : CC synthétique 1" in ctx.texts["identite"]


@pytest.mark.slow
def test_level_is_inferred_and_unknown_codes_are_explained(synthetic):
    assert build_context("999000001", indicators=str(synthetic)).level == "epci"
    with pytest.raises(TerritoryNotFoundError, match="'99099' not found"):
        build_context("99099", indicators=str(synthetic))
    with pytest.raises(TerritoryNotFoundError, match="unknown level 'epic'"):
        build_context("99001", "epic", indicators=str(synthetic))


@pytest.mark.slow
def test_absent_sections_say_so_in_one_sentence(sample_indicators):
    lyon = build_context(LYON, indicators=str(sample_indicators))  # consumption, no OCS GE
    assert lyon.available["zan"] and not lyon.available["artificialisation"]
    text = lyon.section_markdown("artificialisation")
    assert text.startswith("*Aucune donnée d'occupation du sol") and text.count(".") == 1
    assert "carte" not in lyon.figures and lyon.table_html("stocks") == ""
    arcachon = build_context("33009", indicators=str(sample_indicators))  # OCS GE changes, no consumption
    assert arcachon.available["artificialisation"] and not arcachon.available["consommation"]
    assert "fichiers fonciers du Cerema" in arcachon.section_markdown("consommation")
    assert "carte" in arcachon.figures and "trajectoire" not in arcachon.figures


@pytest.mark.slow
def test_save_writes_headline_figure_csv_and_xlsx(synthetic, tmp_path):
    ctx = build_context("999000001", indicators=str(synthetic), output=str(tmp_path))
    path = ctx.save()
    assert json.loads(path.read_text(encoding="utf-8"))["code"] == "999000001"
    for name, df in ctx.figures.items():
        back = pd.read_csv(tmp_path / "donnees" / f"figure_{name}.csv")
        assert len(back) == len(df)
    sheets = pd.read_excel(tmp_path / "tableaux.xlsx", sheet_name=None)
    assert set(sheets) == set(ctx.views)
    assert sheets["zan"].columns.tolist() == ["Indicateur", "Valeur"]


@pytest.mark.slow
def test_plots_draw_on_a_given_axes(synthetic):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ctx = build_context("99002", indicators=str(synthetic))
    for name in ctx.figures:
        fig, ax = plt.subplots()
        assert ctx.draw(name, ax=ax) is ax
        plt.close(fig)


# -- notebooks executed on the sample --------------------------------------------------------------
@pytest.mark.slow
def test_report_headline_equals_direct_api_call(lyon_report):
    res = ocsol.compute(sample_config("sample"))
    z = res.tables["zan"].set_index(["level", "code"]).loc[("epci", LYON)]
    h = json.loads((lyon_report.folder / "headline.json").read_text(encoding="utf-8"))
    assert (h["reference_start"], h["reference_end"]) == (2011, 2020)
    assert (h["period_start"], h["period_end"]) == (2021, 2030)
    for key in ("reference_ha", "allowed_ha", "consumed_since_ha", "used_pct", "projected_ha"):
        assert h[key] == pytest.approx(float(z[key]), abs=1e-6), key  # tables go through CSV (6 decimals)
    assert h["status"] == z["status"]


@pytest.mark.slow
def test_report_html_is_self_contained_without_errors(lyon_report):
    html = (lyon_report.folder / HTML_NAME).read_text(encoding="utf-8")
    nb = nbformat.read(lyon_report.folder / "rapport.ipynb", as_version=4)
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert "Traceback" not in html and "Error" not in html and "vnd.jupyter.stderr" not in html
    assert not EXTERNAL.findall(html), EXTERNAL.findall(html)[:3]
    assert "<script" not in html.lower()
    imgs = re.findall(r"<img [^>]*>", html)
    # member maps (2), consumption bars and pie, trajectory; no comparison (no other EPCI in the Rhône)
    assert len(imgs) == 5 and all(re.search(r'alt="[^"]{20,}"', i) for i in imgs)  # described figures
    assert '<html lang="fr">' in html
    assert "data:image/png;base64," in html
    assert "def " not in html and "build_context" not in html  # inputs hidden
    for heading in HEADINGS:
        assert heading.replace("'", "&#39;") in html or heading in html, heading
    assert "Métropole de Lyon" in html and "2011-2021 (flux 2011 à 2020)" in html and "2021-2031" in html
    assert "827,75\u202fha" in html  # the reference decade, in French format (2 decimals for hectares)


@pytest.mark.slow
def test_explore_notebook_runs_and_records_api_numbers(tmp_path):
    out = tmp_path / "explore.json"
    pm.execute_notebook(str(NOTEBOOKS / "explore.ipynb"), str(tmp_path / "explore.ipynb"),
                        parameters={"headline_path": str(out)}, progress_bar=False, cwd=str(NOTEBOOKS))
    h = json.loads(out.read_text(encoding="utf-8"))
    z = ocsol.compute(sample_config("sample")).tables["zan"].set_index("code").loc[LYON]
    assert h["reference_ha"] == pytest.approx(float(z["reference_ha"]), rel=1e-12)
    assert h["allowed_ha"] == pytest.approx(float(z["allowed_ha"]), rel=1e-12)


# -- batch --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_batch_isolates_a_broken_territory_and_skips_up_to_date_reports(synthetic, tmp_path):
    ind = load_indicators(synthetic)
    chosen = select_territories(ind, within="epci:999000001")
    assert chosen[0] == ("epci", "999000001") and len(chosen) == 5
    chosen.insert(2, ("commune", "00000"))  # not in the tables: its notebook fails
    res = batch_reports(chosen, indicators=synthetic, out=tmp_path, jobs=2, progress=False)
    assert [(r.level, r.code) for r in res.failed] == [("commune", "00000")]
    assert "TerritoryNotFoundError" in res.failed[0].error
    assert len(res.done) == 5 and all((r.folder / HTML_NAME).is_file() for r in res.done)
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Rapports en échec" in index and "00000" in index and "commune-99001/rapport.html" in index
    assert not EXTERNAL.findall(index)
    data = pd.read_csv(tmp_path / "opendata" / "indicateurs_territoires.csv", dtype={"code": str})
    assert len(data) == 6
    schema = json.loads((tmp_path / "opendata" / "indicateurs_territoires.schema.json").read_text())
    assert [f["name"] for f in schema["fields"]] == data.columns.tolist()
    from frictionless import validate  # the batch's datapackage.json over the CSV (issue 10)

    assert validate(tmp_path / "opendata" / "datapackage.json").valid
    assert (tmp_path / "opendata" / "indicateurs_territoires.iso19139.xml").is_file()
    import geopandas as gpd

    geo = gpd.read_file(tmp_path / "opendata" / "indicateurs_territoires.gpkg")
    epci = geo[geo["code"] == "999000001"]
    assert float(epci.geometry.area.iloc[0]) / 1e4 == pytest.approx(float(epci["area_ha"].iloc[0]))
    again = batch_reports(chosen, indicators=synthetic, out=tmp_path, jobs=2, progress=False)
    assert len(again.skipped) == 5 and len(again.failed) == 1 and not again.done


@pytest.mark.slow
def test_select_territories_errors(synthetic):
    ind = load_indicators(synthetic)
    with pytest.raises(TerritoryNotFoundError, match="LEVEL:CODE"):
        select_territories(ind, within="999000001")
    assert select_territories(ind, level="epci") == [("epci", "999000001")]


@pytest.mark.slow
def test_demo_selection_covers_the_sample(sample_indicators):
    sel = set(demo_selection(load_indicators(sample_indicators)))
    assert ("epci", LYON) in sel
    assert len([s for s in sel if s[0] == "commune" and s[1].startswith("69")]) == 5  # a few Lyon communes
    assert {("commune", c) for c in ("33009", "33529", "33051")} <= sel  # Arcachon communes
    blois = [s for s in sel if s[0] == "commune" and s[1].startswith("41")]
    assert len(blois) >= 10


@pytest.mark.slow
def test_report_command_writes_a_report_and_rejects_unknown_codes(tmp_path):
    assert report_command("69123", config=str(sample_config("lyon")), out=str(tmp_path)) == 0
    assert (tmp_path / "commune-69123" / HTML_NAME).is_file()
    with pytest.raises(TerritoryNotFoundError, match="99999"):
        report_command("99999", config=str(sample_config("lyon")), out=str(tmp_path))


# -- real browser ---------------------------------------------------------------------------------
@pytest.mark.skipif(find_chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it: "
                                                     "apt-get install chromium)")
@pytest.mark.slow
def test_report_renders_in_headless_chromium_to_pdf_and_png(lyon_report, tmp_path):
    from PIL import Image

    html = lyon_report.folder / HTML_NAME
    chromium_render(html, pdf=tmp_path / "r.pdf", png=tmp_path / "r.png", window=(1000, 1400))
    pdf = (tmp_path / "r.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 3  # several A4 pages
    img = Image.open(tmp_path / "r.png")
    assert img.size == (1000, 1400)
    assert len(img.convert("L").getcolors(1 << 16) or []) > 20  # not a blank page
    dom = chromium_render(html, dom=True)
    headings = [re.sub(r"<[^>]+>", "", h).replace("&#39;", "'").strip()
                for h in re.findall(r"<h2[^>]*>(.*?)</h2>", dom, flags=re.S)]
    assert headings == HEADINGS
    assert "Métropole de Lyon" in re.sub(r"<[^>]+>", "", re.findall(r"<h1[^>]*>(.*?)</h1>", dom, flags=re.S)[0])


@pytest.mark.slow
def test_interrupted_batch_restarts_without_redoing_finished_reports(synthetic, tmp_path):
    """A batch killed mid-way leaves reports without their stamp; a rerun redoes only those."""
    from ocsol.report.batch import STAMP

    ind = load_indicators(synthetic)
    chosen = select_territories(ind, within="epci:999000001")
    first = batch_reports(chosen, indicators=synthetic, out=tmp_path, jobs=1, progress=False)
    assert len(first.done) == 5
    (first.done[1].folder / STAMP).unlink()  # killed after the HTML, before the stamp
    (first.done[2].folder / HTML_NAME).unlink()  # killed before the HTML
    kept = first.done[3].folder / HTML_NAME
    before = kept.stat().st_mtime_ns
    again = batch_reports(chosen, indicators=synthetic, out=tmp_path, jobs=1, progress=False)
    assert sorted((r.level, r.code) for r in again.done) == sorted(
        (r.level, r.code) for r in (first.done[1], first.done[2]))
    assert len(again.skipped) == 3 and kept.stat().st_mtime_ns == before


@pytest.mark.slow
def test_zan_reading_is_indicative_without_a_binding_target(lyon_report):
    """No targets table: the national default binds nobody, so no verdict, an indicative reading in French."""
    html_text = (lyon_report.folder / HTML_NAME).read_text(encoding="utf-8")
    assert "rythme supérieur à l'objectif indicatif" in html_text
    assert "dépassement projeté" not in html_text and "à ne pas dépasser" not in html_text
    assert "will_exceed" not in html_text and "will exceed" not in html_text
