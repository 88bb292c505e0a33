"""The fragmentation section of the reports and the French wording of the thresholds and
fragmentation QA rows, on reports rendered from a real pipeline run.

Generated inputs (communes, two OCS GE vintages) with ``[ocsge.thresholds]`` and
``[fragmentation] barrier = "both"``; reports of the EPCI (rapport_local), the département
(diagnostic) and an RNU commune (rnu_ddt, which has no fragmentation section). Expected words are
written here, not taken from the catalogue the code uses.
"""

from __future__ import annotations

import html as htmllib
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ocsol import fr
from ocsol.report import compute_indicators
from ocsol.report.export import HTML_NAME, ReportRunner
from ocsol.synthetic_inputs import write_synthetic_inputs

pytestmark = pytest.mark.slow  # real pipeline runs and report rendering

HEADING = "Fragmentation des espaces non artificialisés (indicateur hors obligation légale)"
LABEL = "indicateur hors obligation légale"
#: Words of English sentences the computing code writes in qa.csv (``item``, ``detail``).
ENGLISH = re.compile(r"\b(the|of the|not|with|from|polygons|whose|changed|split|judged|beyond|barriers|"
                     r"linear feature|computed by|made artificial|oscillating|taken out)\b")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("frag")
    cfg = write_synthetic_inputs(base / "in", n_communes=4, rnu=["99004"])
    with cfg.open("a", encoding="utf-8") as f:
        f.write('\n[ocsge.thresholds]\n\n[fragmentation]\nbarrier = "both"\n')
    ind = compute_indicators(cfg, base / "ind")
    bare = base / "ind_bare"  # the same run without its fragmentation tables
    shutil.copytree(ind, bare)
    for name in ("fragmentation.csv", "fragmentation_change.csv"):
        (bare / name).unlink()
    out = {"ind": ind}
    runner = ReportRunner()
    try:
        for case, folder, level, code in (("epci", ind, "epci", "999000001"), ("dep", ind, "dep", "99"),
                                          ("rnu", ind, "commune", "99004"), ("bare", bare, "epci", "999000001")):
            res = runner.run(code, level=level, indicators=str(folder), folder=base / "reports" / case)
            assert res.ok, res.error
            out[case] = res.folder
    finally:
        runner.close()
    return out


def _h2(path: Path) -> list[str]:
    page = path.read_text(encoding="utf-8")
    return [htmllib.unescape(re.sub(r"<[^>]+>", "", h)).replace("¶", "").strip()
            for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page, flags=re.S)]


def _visible(path: Path) -> str:
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", page, flags=re.S | re.I)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", page)))


def _section(text: str) -> str:
    """The text of the fragmentation section (from its heading to the next numbered heading)."""
    start = text.rindex(HEADING)
    nxt = re.search(r" \d+\. [A-ZÉ]", text[start + len(HEADING):])
    return text[start:start + len(HEADING) + (nxt.start() if nxt else len(text))]


@pytest.mark.parametrize("case", ["epci", "dep"])
def test_section_is_labelled_names_its_barriers_and_matches_the_table(run, case):
    import docx

    heads = _h2(run[case] / HTML_NAME)
    assert [h.split(". ", 1)[1] for h in heads].count(HEADING) == 1, heads
    doc = docx.Document(str(run[case] / "rapport.docx"))
    assert [p.text for p in doc.paragraphs if p.style.name == "Heading 1"] == heads
    text = _section(_visible(run[case] / HTML_NAME))
    assert text.lower().count(LABEL) >= 2  # heading and first sentence
    assert "selon la matrice du décret n° 2023-1096 (seuils non appliqués)" in text
    assert "seuils appliqués par ocsol" in text
    assert "mailles pour 1 000 km²" in text and "Entre 2019 et 2022" in text
    frag = pd.read_csv(run["ind"] / "fragmentation.csv", dtype={"code": str})
    level = "epci" if case == "epci" else "dep"
    row = frag[(frag["level"] == level) & (frag["barrier"] == "matrix") & (frag["vintage"] == 2022)].iloc[0]
    assert fr.fmt(row["meff_cbc_km2"], "km2") in text  # the figure of the table, French format
    assert "2022" in text and "km²" in text
    docx_text = "\n".join(p.text for p in doc.paragraphs)
    assert LABEL in docx_text and "Barrières retenues" in docx_text


def test_section_absent_for_the_rnu_profile_and_without_the_table(run):
    assert not any(HEADING in h for h in _h2(run["rnu"] / HTML_NAME))  # rnu_ddt does not list it
    assert not any(HEADING in h for h in _h2(run["bare"] / HTML_NAME))  # no table: no section, no notice
    assert LABEL not in _visible(run["bare"] / HTML_NAME)


def test_thresholds_and_fragmentation_qa_rows_are_keyed_and_reach_reports_in_french(run):
    qa = pd.read_csv(run["ind"] / "qa.csv", dtype=str, keep_default_na=False)
    ours = qa[qa["topic"].isin(["thresholds", "fragmentation"])]
    assert {"thresholds", "fragmentation"} <= set(ours["topic"])
    missing = [(t, k, i) for t, k, i in zip(ours["topic"], ours["key"], ours["item"], strict=True)
               if not fr.has("qa", k)]
    assert not missing, f"QA rows without a catalogue key: {missing}"
    text = _visible(run["epci"] / HTML_NAME)
    controls = text[text.rindex("Contrôles et corrections"):]
    assert "Seuils du décret (calcul ocsol)" in controls  # topic words
    assert "pas le produit de l'IGN" in controls
    assert "Fragmentation (hors obligation légale)" in controls
    assert "Autre contrôle" not in controls
    english = ENGLISH.findall(text)
    assert not english, f"English words in the report: {sorted(set(english))}"
