"""Report profiles, honest labels, editable texts, DOCX and layout, on reports rendered for real.

One report per profile, from the real pipeline: the bundled sample (Lyon EPCI: rapport_local;
Blois commune on synthetic OCS GE: rapport_local + banner; Arcachon SCoT: bilan_scot with a
local rule; Gironde: diagnostic, partial perimeter), generated inputs (an RNU commune: rnu_ddt)
and São Tomé WorldCover (occupation_sol). Expected sentences are written here, not taken from the
catalogue the code uses.
"""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path

import pytest

from ocsol.report import compute_indicators
from ocsol.report.export import HTML_NAME, ReportRunner, chromium_render, find_chromium
from ocsol.sample import sample_config
from ocsol.synthetic_inputs import write_synthetic_inputs

#: Every test here renders real reports (some in Chromium) from a shared, heavy fixture.
pytestmark = pytest.mark.slow

CGCT = "Articles L. 2231-1 et R. 2231-1 du code général des collectivités territoriales"
BANNER = "Données synthétiques"
#: Words of English sentences the computing code writes (QA notes, statuses, sources).
ENGLISH = re.compile(r"\b(the|of the|not|with|from|missing|checked|default|inherited|exceeded|will exceed|"
                     r"polygons|repaired|warning|outside|proxies|clipped|found|Tree cover|Built-up|Cropland)\b")

#: profile → (config, level, code, title, CGCT frame, banner, partial sentence, measure wording)
CASES = {
    "rapport_local": ("sample", "epci", "200046977", "Rapport local de suivi de l'artificialisation des sols",
                      True, False, None, None),
    "rapport_local_synthetic": ("sample", "commune", "41018",
                                "Rapport local de suivi de l'artificialisation des sols", True, True, None,
                                "seuils de 2 500 m² / 50 m² non appliqués : valeurs indicatives"),
    "bilan_scot": ("sample", "scot", "SCOT du Bassin d'Arcachon et Val de Leyre",
                   "Bilan de la consommation d'espaces et de l'artificialisation des sols", False, False, None,
                   "Surfaces anthropisées selon la règle locale « rule_couverture.csv »"),
    "diagnostic": ("sample", "dep", "33", "Diagnostic de la consommation d'espaces et de l'artificialisation",
                   False, False, "Périmètre partiel (17/535 communes", "selon la règle locale"),
    "rnu_ddt": ("generated", "commune", "99004", "commune au règlement national d'urbanisme", True, True, None,
                "seuils de 2 500 m² / 50 m² non appliqués : valeurs indicatives"),
    "occupation_sol": ("saotome", "zone", None, "Évolution de l'occupation du sol", False, True, None,
                       "indicateur approché"),
    "two_measures": ("twodeps", "epci", "999000001", "Rapport local de suivi de l'artificialisation des sols",
                     True, True, None, "seuils appliqués par ocsol"),
}


def two_departements_with_thresholds(folder: Path) -> Path:
    """The demo's generated inputs: an EPCI spanning départements 98 and 99, measured twice (décret
    matrix and décret thresholds); here with an indicative ENAF decade configured after 2031."""
    from ocsol.report.commands import demo_synthetic_inputs

    return demo_synthetic_inputs(folder, extra_toml="\n[zan]\ndecades = [[2031, 2040, 50]]\n")


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("profiles")
    gen = write_synthetic_inputs(base / "gen", n_communes=4, rnu=["99004"])
    texts = base / "gen" / "textes"
    (texts / "commune-99002.md").write_text(
        "# raisons\nUne <script>alert('x')</script> zone [piège](javascript:alert(1)) de **12 ha**.\n\n"
        "## autres\nRien.\n", encoding="utf-8")
    return {"sample": compute_indicators(sample_config("sample"), base / "sample"),
            "generated": compute_indicators(gen, base / "gen_ind"),
            "saotome": compute_indicators(sample_config("saotome"), base / "saotome"),
            "twodeps": compute_indicators(two_departements_with_thresholds(base / "twodeps"), base / "twodeps_ind")}


@pytest.fixture(scope="module")
def reports(folders, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("rendered")
    runner = ReportRunner()
    done = {}
    try:
        for case, (src, level, code, *_rest) in CASES.items():
            if code is None:  # the first São Tomé zone
                import pandas as pd

                terr = pd.read_csv(folders[src] / "territories.csv", dtype=str)
                level, code = terr.iloc[0]["level"], terr.iloc[0]["code"]
            res = runner.run(code, level=level, indicators=str(folders[src]), folder=out / case)
            assert res.ok, res.error
            done[case] = res.folder
        res = runner.run("99002", level="commune", indicators=str(folders["generated"]), folder=out / "texts")
        assert res.ok, res.error
        done["texts"] = res.folder
    finally:
        runner.close()
    return done


def _visible(path: Path) -> str:
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", page, flags=re.S | re.I)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", page))


def _h2(path: Path) -> list[str]:
    page = path.read_text(encoding="utf-8")
    return [htmllib.unescape(re.sub(r"<[^>]+>", "", h)).replace("¶", "").strip()
            for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page, flags=re.S)]


@pytest.mark.parametrize("case", list(CASES))
def test_each_profile_says_what_it_is(reports, case):
    _src, _lvl, _code, title, cgct, banner, partial, measure = CASES[case]
    text = re.sub(r"\s+", " ", _visible(reports[case] / HTML_NAME))
    head = json.loads((reports[case] / "headline.json").read_text(encoding="utf-8"))
    assert title in text, title
    assert (CGCT in text) is cgct
    assert (BANNER in text) is banner
    assert head["synthetic"] is banner
    if partial:
        assert partial in text and "aucune appréciation n'est portée" in text
        assert head["perimeter"] == "partial" and head["verdict"] == "none"
    else:
        assert "Périmètre partiel" not in text
    if measure:
        assert measure in text
    measures = {head.get("artif_measure"), head.get("flows_measure")}
    if "decret_ign" not in measures:  # the legal measure is cited only for the IGN product
        assert "(R. 2231-1 2° du CGCT)" not in text
    english = ENGLISH.findall(text)
    assert not english, f"English words in the report: {sorted(set(english))}"


def test_profiles_have_their_own_sections(reports):
    local = _h2(reports["rapport_local"] / HTML_NAME)
    assert local[0] == "1. Objet du rapport" and "Raisons des évolutions observées" in " ".join(local)
    diag = _h2(reports["diagnostic"] / HTML_NAME)
    assert not any("Objet du rapport" in h or "Raisons" in h for h in diag)
    occ = _h2(reports["occupation_sol"] / HTML_NAME)
    assert [h.split(". ", 1)[1] for h in occ][:2] == ["Identité du territoire", "Évolution de l'occupation du sol"]
    occ_text = _visible(reports["occupation_sol"] / HTML_NAME)
    assert "Cerema" not in occ_text and "garantie communale" not in occ_text and "Commune" not in occ_text
    assert "v100 → v200" in occ_text and "changement de méthode" in occ_text


def test_rnu_report_is_written_by_the_ddt_and_asks_for_its_mandatory_text(reports):
    text = _visible(reports["rnu_ddt"] / HTML_NAME)
    assert "direction départementale des territoires" in text
    assert "Texte à fournir." in text
    head = json.loads((reports["rnu_ddt"] / "headline.json").read_text(encoding="utf-8"))
    assert head["texts_missing"] == ["raisons"] and head["profile"] == "rnu_ddt"


def test_user_text_is_rendered_as_text_never_as_markup(reports):
    page = (reports["texts"] / HTML_NAME).read_text(encoding="utf-8")
    assert "<script>alert" not in page and 'href="javascript' not in page
    assert "&lt;script&gt;alert" in page  # shown as typed
    text = _visible(reports["texts"] / HTML_NAME)
    assert "12 ha" in text and "Texte à fournir" not in text.split("Raisons des évolutions")[1][:200]


def test_docx_has_the_html_section_headings(reports):
    import docx

    for case in CASES:
        doc = docx.Document(str(reports[case] / "rapport.docx"))
        headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
        assert headings == _h2(reports[case] / HTML_NAME), case
        assert len(doc.tables) >= 2 and len(doc.inline_shapes) >= 1, case
    doc = docx.Document(str(reports["rapport_local_synthetic"] / "rapport.docx"))
    assert BANNER in doc.sections[0].header.paragraphs[0].text


def test_members_table_explains_the_sum_of_allowances(reports):
    text = re.sub(r"\s+", " ", _visible(reports["rapport_local"] / HTML_NAME))
    # Lyon: 5 communes lifted to their guarantee; the member envelopes sum above the EPCI's
    m = re.search(r"Somme des enveloppes des communes : ([\d  ,]+) ha ; enveloppe du territoire : ([\d  ,]+) ha", text)
    assert m, "member sum sentence"
    total, parent = (float(x.replace("\u202f", "").replace(" ", "").replace(",", ".")) for x in m.groups())
    assert total > parent and "garanties communales" in text
    assert "Communes membres : référence, enveloppe, garantie et consommation" in text


# -- layout in a real browser ----------------------------------------------------------------
needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="Debian's chromium is not installed")

_MEASURE_JS = """<script>
var w = document.documentElement.clientWidth, out = [];
document.querySelectorAll('table').forEach(function (t) {
  var box = t.parentElement.getBoundingClientRect();
  out.push([t.className, Math.round(t.scrollWidth), Math.round(box.width)]);
});
document.body.setAttribute('data-widths', JSON.stringify({page: w, tables: out,
  doc: document.documentElement.scrollWidth}));
</script></body>"""


def _measured(path: Path, tmp: Path, width: int) -> dict:
    probe = tmp / f"probe-{path.parent.name}.html"
    probe.write_text(path.read_text(encoding="utf-8").replace("</body>", _MEASURE_JS), encoding="utf-8")
    dom = chromium_render(probe, dom=True, window=(width, 1000))
    raw = re.search(r'data-widths="([^"]+)"', dom).group(1)
    return json.loads(htmllib.unescape(raw))


@needs_chromium
def test_pdf_pages_are_numbered_named_and_end_on_no_heading(reports, tmp_path):
    from pypdf import PdfReader

    pdf = tmp_path / "lyon.pdf"
    chromium_render(reports["rapport_local"] / HTML_NAME, pdf=pdf)
    pages = [p.extract_text() for p in PdfReader(str(pdf)).pages]
    n = len(pages)
    assert n >= 4
    headings = set(_h2(reports["rapport_local"] / HTML_NAME))
    for i, text in enumerate(pages, start=1):
        footer = f"Page {i} / {n}"
        assert footer in text and "Métropole de Lyon" in text, i
        body = text.replace(footer, "\n")
        lines = [ln.strip() for ln in body.splitlines() if ln.strip() and ln.strip() != "Métropole de Lyon"]
        if i < n and lines:  # (a page holding only a figure has no text line)
            assert lines[-1] not in headings, f"page {i} ends on the heading {lines[-1]!r}"


#: Marks every table's caption (C), first header cell (H) and body rows (R) with a small white
#: token, positioned absolutely (no effect on layout), that the PDF's text keeps on its page.
_MARK_JS = """<style>.ocsol-mark { position: absolute; left: 0; top: 0; font-size: 6px; color: #fff; }
table.ocsol-table th, table.ocsol-table td, table.ocsol-table caption { position: relative; }</style>
<script>
document.querySelectorAll('table.ocsol-table').forEach(function (t, k) {
  function mark(el, tag) { var s = document.createElement('span'); s.className = 'ocsol-mark';
    s.textContent = 'QQ' + tag + k + 'QQ'; el.appendChild(s); }
  if (t.caption) mark(t.caption, 'C');
  var th = t.querySelector('thead th'); if (th) mark(th, 'H');
  t.querySelectorAll('tbody tr').forEach(function (r) { if (r.cells.length) mark(r.cells[0], 'R'); });
});
</script></body>"""


def _orphaned_headers(html: str, tmp: Path, name: str) -> tuple[int, list[str]]:
    """(pages, tables whose caption or header row is not followed by one of its rows on its page),
    from the PDF Chromium prints of ``html``."""
    from pypdf import PdfReader

    probe, pdf = tmp / f"{name}.html", tmp / f"{name}.pdf"
    probe.write_text(html.replace("</body>", _MARK_JS), encoding="utf-8")
    chromium_render(probe, pdf=pdf)
    pages = [re.findall(r"QQ([CHR])(\d+)QQ", p.extract_text() or "") for p in PdfReader(str(pdf)).pages]
    bad = []
    for number, marks in enumerate(pages[:-1], start=1):
        for i, (kind, table) in enumerate(marks):
            if kind in "CH" and ("R", table) not in marks[i + 1:]:
                bad.append(f"page {number}: table {table} ({'caption' if kind == 'C' else 'header row'})")
    return len(pages), bad


@needs_chromium
def test_no_table_header_is_orphaned_at_a_page_end(reports, tmp_path):
    """Long reports printed by Chromium: no caption or header row ends a page without a row of its
    table after it; and the report's own stylesheet keeps that true where a header falls at every
    height of a page, where the same tables without it do get orphaned (the check can fail)."""
    for case in ("rapport_local", "diagnostic", "two_measures"):
        n, bad = _orphaned_headers((reports[case] / HTML_NAME).read_text(encoding="utf-8"), tmp_path, case)
        assert n >= 3 and not bad, (case, bad)
    page = (reports["rapport_local"] / HTML_NAME).read_text(encoding="utf-8")
    styles = "".join(re.findall(r"<style[^>]*>.*?</style>", page, flags=re.S))
    rows = "".join(f"<tr><td>ligne {i}</td><td>{i}</td></tr>" for i in range(3))
    sweep = "".join(f'<div style="break-before: page; height: {h}px">{h}</div><table class="ocsol-table">'
                    f"<caption>Tableau {h} : un titre assez long pour tenir sur deux lignes, comme ceux des "
                    f"tableaux du rapport quand la page est étroite</caption><thead><tr><th>A</th><th>B</th></tr></thead>"
                    f"<tbody>{rows}</tbody></table>" for h in range(900, 1100, 6))  # around an A4 page end
    _n, bare = _orphaned_headers(f"<html><head><style>@page {{ size: A4; margin: 15mm 12mm 18mm; }}</style>"
                                 f"</head><body>{sweep}</body></html>", tmp_path, "bare")
    assert bare, "without the report's stylesheet some headers end a page: the check sees them"
    _n, styled = _orphaned_headers(f"<html><head>{styles}</head><body>{sweep}</body></html>", tmp_path, "styled")
    assert not styled, styled


@needs_chromium
def test_tables_fit_the_page_width(reports, tmp_path):
    for case in ("rapport_local", "rapport_local_synthetic", "diagnostic", "two_measures"):
        m = _measured(reports[case] / HTML_NAME, tmp_path, 800)  # about an A4 page's CSS width
        assert m["doc"] <= m["page"], case
        wide = [t for t in m["tables"] if t[1] > t[2] + 1]
        assert not wide, f"{case}: tables wider than their column: {wide}"


@needs_chromium
def test_index_flags_and_sorts_missing_last_and_fits_1280(folders, tmp_path):
    from ocsol.report.batch import batch_reports, select_territories
    from ocsol.report.loader import load_indicators

    ind = load_indicators(folders["generated"])
    chosen = select_territories(ind)
    res = batch_reports(chosen, indicators=folders["generated"], out=tmp_path / "b", jobs=1, progress=False)
    index = tmp_path / "b" / "index.html"
    page = index.read_text(encoding="utf-8")
    assert "Données synthétiques" in page and "texte à fournir : raisons" in page and "périmètre partiel" in page
    assert len(res.done) == len(chosen)
    m = _measured(index, tmp_path, 1280)
    assert m["doc"] <= 1280, m
    click = """<script>
    var th = document.querySelectorAll('table.sortable th');
    var col = Array.prototype.findIndex.call(th, function (h) { return h.textContent.indexOf('m²') === 0; });
    th[col].click(); var asc = Array.prototype.map.call(document.querySelectorAll('table.sortable tbody tr'),
      function (r) { return r.cells[col].getAttribute('data-v'); });
    th[col].click(); var desc = Array.prototype.map.call(document.querySelectorAll('table.sortable tbody tr'),
      function (r) { return r.cells[col].getAttribute('data-v'); });
    document.body.setAttribute('data-sorted', JSON.stringify([asc, desc]));
    </script></body>"""
    probe = tmp_path / "b" / "probe.html"
    probe.write_text(page.replace("</body>", click), encoding="utf-8")
    dom = chromium_render(probe, dom=True, window=(1280, 900))
    asc, desc = json.loads(htmllib.unescape(re.search(r'data-sorted="([^"]+)"', dom).group(1)))
    for order in (asc, desc):
        filled = [v for v in order if v != ""]
        assert order[: len(filled)] == filled, order  # missing values last, both directions
    assert [float(v) for v in asc if v] == sorted(float(v) for v in asc if v)


# -- small, fast checks ----------------------------------------------------------------------------
def test_qa_rows_are_the_territorys_own_in_french(folders):
    from ocsol.report import build_context

    lyon = build_context("200046977", indicators=str(folders["sample"]))
    qa = lyon.views.get("controles")
    text = " ".join(qa.astype(str).to_numpy().ravel()) if qa is not None else ""
    assert "33005" not in text and "41" not in qa["Fichiers ou communes"].str[:2].tolist()  # no Gironde/Blois rows
    assert not ENGLISH.findall(text) and "/" not in text  # French, file names only
    arcachon = build_context("33009", indicators=str(folders["sample"]))
    text = " ".join(arcachon.views["controles"].astype(str).to_numpy().ravel())
    assert "Code « INDETERMINE » hors de la nomenclature OCS GE" in text
    assert "A_B_2015_2018.shp" in text and "/work" not in text


def test_bad_texts_file_perimeters_and_profile_are_explained(tmp_path):
    from ocsol.errors import ConfigError, InputFileError, SchemaError
    from ocsol.io.territories import read_perimeters
    from ocsol.report.profiles import choose_profile
    from ocsol.report.texts import read_texts

    md = tmp_path / "t.md"
    md.write_text("# raisons\nok\n# conclusion\nx\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"t\.md: unknown section heading '# conclusion'.*'# raisons'"):
        read_texts(md)
    csv = tmp_path / "p.csv"
    csv.write_text("level,code,n_communes\ndep,33,535.5\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"p\.csv: n_communes must be a positive whole number"):
        read_perimeters(csv)
    csv.write_text("level,code\ndep,33\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="lacks column"):
        read_perimeters(csv)
    with pytest.raises(ConfigError, match=r"\[report\]\.profile = 'rapport'.*rapport_local"):
        choose_profile("commune", "1", tables={}, meta={"report_profile": "rapport"})


def test_numbers_have_fixed_decimals_per_kind():
    from ocsol.fr import format as ff

    assert [ff.fmt(x, "ha") for x in (0.5, 827.7, 12345)] == ["0,50", "827,70", "12\u202f345,00"]
    assert ff.fmt(-3.25, "signed") == "\u22123,25" and ff.fmt(3.25, "signed") == "+3,25"
    assert ff.fmt(12.34, "pct") == "12,3" and ff.fmt(0.149, "pct_area") == "0,15" and ff.fmt(73.4, "m2") == "73"


def test_every_qa_key_of_the_samples_is_worded_in_french(folders):
    import pandas as pd

    from ocsol import fr

    for name in ("sample", "generated", "saotome"):
        qa = pd.read_csv(folders[name] / "qa.csv", dtype=str).fillna("")
        unknown = sorted({k for k in qa["key"] if not (fr.has("qa", k) or fr.has("qa_run", k))})
        assert not unknown, f"{name}: QA keys without French wording: {unknown}"


def test_headline_picks_the_most_authoritative_measure_then_the_latest():
    import pandas as pd

    from ocsol.report.headline import headline_table

    flows = pd.DataFrame({"level": "commune", "code": "1", "measure": ["decret_matrix", "decret_ign", "decret_ign"],
                          "vintage_from": [2019, 2016, 2019], "vintage_to": [2022, 2019, 2022],
                          "net_artif_ha": [5.0, 3.0, 4.0], "net_imper_ha": [1.0, 1.0, 1.0]})
    h = headline_table({"flows": flows}).iloc[0]
    assert (h["flows_measure"], int(h["flows_to"]), h["net_artif_ha"]) == ("decret_ign", 2022, 4.0)


def test_flows_by_couverture_and_usage_add_up_to_the_flows(folders):
    from ocsol.report import build_context

    for code in ("41018", "33009"):
        ctx = build_context(code, indicators=str(folders["sample"]))
        flows = ctx.tables["flows"].sort_values("vintage_to").iloc[-1]
        for name in ("flux_couverture", "flux_usage"):
            v = ctx.views[name]
            assert v.iloc[:, 1].sum() == pytest.approx(float(flows["artif_ha"]), abs=1e-4), (code, name)
            assert v.iloc[:, 2].sum() == pytest.approx(float(flows["imper_ha"]), abs=1e-4), (code, name)
        naf = ctx.views["naf_ocsge"]  # the estimated N/A/F split of the same artificialised hectares
        assert naf.iloc[:, 1].sum() == pytest.approx(float(flows["artif_ha"]), abs=1e-4)
        assert set(naf.iloc[:, 0]) <= {"Naturel", "Agricole", "Forestier"}


def test_two_measures_side_by_side_each_worded_by_its_measure(reports):
    text = re.sub(r"\s+", " ", _visible(reports["two_measures"] / HTML_NAME))
    head = json.loads((reports["two_measures"] / "headline.json").read_text(encoding="utf-8"))
    assert head["artif_measure"] == head["flows_measure"] == "decret_thresholds"  # the picker's first measure
    assert "mesuré de 2 façons" in text and "Les mesures côte à côte" in text
    thresholds = text.index("seuils appliqués par ocsol (estimation)")
    matrix = text.index("matrice du décret n° 2023-1096, seuils non appliqués (valeurs indicatives)")
    assert thresholds < matrix  # the headline measure first
    assert text.count("(estimation) ;") == 1 and text.count("(valeur indicative) ;") == 1  # one net flow each
    import pandas as pd

    sheet = pd.read_excel(reports["two_measures"] / "tableaux.xlsx", sheet_name="mesures")
    assert sheet["Chiffres clés"].tolist() == ["oui", "non"] or sheet["Chiffres clés"].tolist() == [True, False]
    assert len(sheet) == 2 and sheet["Mesure"].str.contains("décret").all()


def test_millesimes_per_departement_for_a_territory_spanning_two(reports, folders):
    from ocsol.report import build_context

    text = re.sub(r"\s+", " ", _visible(reports["two_measures"] / HTML_NAME))
    assert "Millésimes OCS GE utilisés, par département" in text
    ctx = build_context("999000001", "epci", indicators=str(folders["twodeps"]))
    table = ctx.views["millesimes"]
    assert table["Département"].tolist() == ["98", "99"] and table["Communes"].tolist() == [2, 2]
    assert table["Millésimes OCS GE"].tolist() == ["2019, 2022"] * 2
    one = build_context("999000001", "epci", indicators=str(folders["generated"]))  # one département
    assert "millesimes" not in one.views


def test_zan_chart_stops_at_the_end_of_the_period(folders):
    from ocsol.report import build_context

    path = __import__("pandas").read_csv(folders["twodeps"] / "zan_path.csv")
    assert path["year"].max() == 2040  # an indicative ENAF decade is configured after 2031
    ctx = build_context("999000001", "epci", indicators=str(folders["twodeps"]))
    fig = ctx.figures["trajectoire"]
    assert fig["year"].max() == 2030 and fig["allowed_cumulative_ha"].notna().all()
    assert "Après la période, pour la décennie 2031-2041, l'objectif porte sur l'artificialisation nette" \
        in ctx.texts["zan"]


def test_raster_figure_below_min_coverage_says_why_in_french(tmp_path):
    import shapely

    from ocsol.report import build_context
    from ocsol.report.loader import indicators_from_config

    from .test_raster_trust import X0, Y0, _raster_case

    cfg = _raster_case(tmp_path, [shapely.box(X0, Y0 - 40, X0 + 20, Y0), shapely.box(X0 + 20, Y0 - 40, X0 + 60, Y0)])
    indicators_from_config(cfg)
    ctx = build_context("Z2", "commune", config=str(cfg))
    reason = "la carte raster ne couvre que 50,0 % de la zone, sous le seuil de couverture minimale (99,0 %)"
    text = ctx.texts["artificialisation"].replace("\u202f", " ")
    assert f"En 2021, chiffres non disponibles : {reason}" in text
    assert f"Entre 2020 et 2021, flux non disponible : {reason}" in text
    for name in ("stocks", "flux"):
        motif = ctx.views[name]["Motif (chiffre non disponible)"].str.replace("\u202f", " ")
        assert motif.str.startswith(reason).all(), name
    assert not ENGLISH.findall(text)
    z1 = build_context("Z1", "commune", config=str(cfg))  # fully covered: figures, no reason column
    assert "Motif (chiffre non disponible)" not in z1.views["stocks"].columns


def test_heatmap_title_and_class_labels_are_whole_and_xlsx_has_formats(folders, reports):
    """The transition heatmap's title and every class label lie inside the image (nothing cut),
    empty codes read « (code vide) »; the report's XLSX has the report's decimals and column widths."""
    import matplotlib.pyplot as plt
    import openpyxl

    from ocsol.report import build_context

    ctx = build_context("33009", indicators=str(folders["sample"]))  # Arcachon: a class with an empty code
    ax = ctx.draw("transitions")
    fig = ax.figure
    fig.canvas.draw()
    box = fig.bbox
    texts = [ax.title, *ax.get_xticklabels(), *ax.get_yticklabels()]
    try:
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert "(code vide)" in labels and all(label.strip() for label in labels)
        for t in texts:
            ext = t.get_window_extent()
            assert ext.x0 >= box.x0 - 1 and ext.x1 <= box.x1 + 1 and ext.y0 >= box.y0 - 1 and ext.y1 <= box.y1 + 1, \
                t.get_text()
    finally:
        plt.close(fig)
    wb = openpyxl.load_workbook(reports["rapport_local"] / "tableaux.xlsx")
    ws = wb["membres"]
    header = {c.value: c.column_letter for c in ws[1]}
    assert ws[f"{header['Enveloppe (ha)']}2"].number_format == "#,##0.00"
    assert ws[f"{header['Enveloppe utilisée (%)']}2"].number_format == "#,##0.0"
    assert ws.column_dimensions[header["Commune"]].width > ws.column_dimensions[header["Code INSEE"]].width >= 8
