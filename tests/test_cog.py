"""Commune-code reconciliation: real CVL (2018 geometries vs COG 2026) and Lyon (69152 → 69149) cases."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from ocsol.cog import build_reconciliation, links_from_changes, links_from_deleguees, reconcile
from ocsol.errors import SchemaError
from ocsol.io.cog import read_changes, read_deleguees, read_weights
from ocsol.pipeline import compute

from .conftest import DATA

SHARED = Path("/work/shared/data")
CVL = SHARED / "centre_val_de_loire"
CVL_DELEGUEES = CVL / "communes_deleguees_associees_cvl_2026.csv"
UNMAPPED_CVL = ["18123", "18131", "18222", "18239", "28205", "36206", "45287"]

CHANGES_HEADER = "MOD,DATE_EFF,TYPECOM_AV,COM_AV,TNCC_AV,NCC_AV,LIBELLE_AV,TYPECOM_AP,COM_AP,TNCC_AP,NCC_AP,LIBELLE_AP\n"
LYON_CHANGES = CHANGES_HEADER + (
    "32,2024-01-01,COM,69149,0,OULLINS,Oullins,COM,69149,0,OULLINS PIERRE BENITE,Oullins-Pierre-Bénite\n"
    "32,2024-01-01,COM,69149,0,OULLINS,Oullins,COMD,69149,0,OULLINS,Oullins\n"
    "32,2024-01-01,COM,69152,0,PIERRE BENITE,Pierre-Bénite,COM,69149,0,OULLINS PIERRE BENITE,Oullins-Pierre-Bénite\n"
    "32,2024-01-01,COM,69152,0,PIERRE BENITE,Pierre-Bénite,COMD,69152,0,PIERRE BENITE,Pierre-Bénite\n"
)


@pytest.fixture(scope="module")
def cvl_codes() -> tuple[list[str], list[str]]:
    if not CVL.exists():
        pytest.skip("shared CVL data not available")
    g2018 = gpd.read_file(CVL / "communes-centre-val-de-loire.geojson", columns=["code"], ignore_geometry=True)
    c2026 = pd.read_csv(CVL / "communes_cvl_cog2026_epci_population.csv", dtype=str)
    return sorted(g2018["code"]), sorted(c2026["insee_com"])


def test_cvl_2018_codes_to_cog_2026_through_deleguees(cvl_codes):
    old, new = cvl_codes
    gone = sorted(set(old) - set(new))
    assert len(gone) == 22
    rec = build_reconciliation(old, new, links=links_from_deleguees(read_deleguees(CVL_DELEGUEES)))
    assert rec.unmapped == UNMAPPED_CVL  # the 7 merged codes the déléguées table does not know
    mapped_gone = sorted(set(rec.mapping["old_code"]) & set(gone))
    assert len(mapped_gone) == 15
    assert (rec.mapping["weight"] == 1.0).all()  # mergers only
    st = rec.status.set_index("code")["correction_status"]
    assert set(st.index) == set(new)
    receivers = set(rec.mapping.loc[rec.mapping["old_code"].isin(mapped_gone), "new_code"])
    assert set(st[st == "merged"].index) == receivers
    assert (st.drop(list(receivers)) == "unchanged").all()
    # values are conserved: every 2018 code but the 7 unmapped lands in exactly one 2026 commune
    t = pd.DataFrame({"code": old, "v": 1.0})
    out = reconcile(t, rec.mapping, values=["v"])
    assert out["v"].sum() == pytest.approx(len(old) - 7)
    assert set(out["code"]) <= set(new)


def test_cvl_changes_table_resolves_a_code_the_deleguees_miss(cvl_codes, tmp_path):
    old, new = cvl_codes
    p = tmp_path / "changes.csv"
    # 18131 → 18173 (commune nouvelle, listed in DOMAIN §3.4): déléguée status since suppressed
    p.write_text(CHANGES_HEADER + "32,2019-01-01,COM,18131,0,X,X,COM,18173,0,Y,Y\n", encoding="utf-8")
    links = pd.concat([links_from_deleguees(read_deleguees(CVL_DELEGUEES)), links_from_changes(read_changes(p))])
    rec = build_reconciliation(old, new, links=links)
    assert "18131" not in rec.unmapped and len(rec.unmapped) == 6
    assert rec.status.set_index("code").loc["18173", "correction_status"] == "merged"


def test_lyon_merger_mapping():
    ch = pd.DataFrame([line.split(",") for line in LYON_CHANGES.splitlines()[1:]],
                      columns=CHANGES_HEADER.strip().split(",")).rename(columns=str.lower)
    rec = build_reconciliation(["69149", "69152", "69123"], ["69149", "69123"], links=links_from_changes(ch))
    assert rec.mapping.values.tolist() == [["69123", "69123", 1.0], ["69149", "69149", 1.0], ["69152", "69149", 1.0]]
    st = rec.status.set_index("code")
    assert st.loc["69149", "correction_status"] == "merged"
    assert st.loc["69149", "source_codes"] == "69149+69152"
    assert st.loc["69123", "correction_status"] == "unchanged"


def test_split_by_area_and_weights_override(tmp_path):
    links = pd.DataFrame({"old_code": ["10001", "10001"], "new_code": ["10001", "10002"]})
    areas = pd.Series({"10001": 300.0, "10002": 100.0})
    rec = build_reconciliation(["10001"], ["10001", "10002", "10003"], links=links, areas=areas)
    assert rec.mapping["weight"].tolist() == [0.75, 0.25]
    st = rec.status.set_index("code")["correction_status"].to_dict()
    assert st == {"10001": "split", "10002": "split", "10003": "missing_from_source"}
    w = tmp_path / "w.csv"
    w.write_text("old_code,new_code,weight\n10001,10001,42.24%\n10001,10002,57.76%\n", encoding="utf-8")
    rec = build_reconciliation(["10001"], ["10001", "10002"], links=links, areas=areas, weights=read_weights(w))
    assert rec.mapping["weight"].tolist() == pytest.approx([0.4224, 0.5776])
    out = rec.apply(pd.DataFrame({"code": ["10001"], "v": [1000.0]}), values=["v"])
    assert out["v"].sum() == pytest.approx(1000.0)
    w.write_text("old_code,new_code,weight\n10001,10001,0.5\n10001,10002,0.4\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"weights of 10001 sum to 0.9, not 1"):
        build_reconciliation(["10001"], ["10001", "10002"], links=links, weights=read_weights(w))
    with pytest.raises(SchemaError, match=r"10001 is split into 10001, 10002 but no areas"):
        build_reconciliation(["10001"], ["10001", "10002"], links=links)


def _lyon_2018(tmp_path: Path) -> Path:
    """The Lyon sample with its Cerema and population files in COG 2018 (69149 and 69152 apart)."""
    for f in (DATA / "lyon").iterdir():
        shutil.copy(f, tmp_path / f.name)
    for name, code in (("conso_communes_cerema_format.csv", "idcom"), ("population_communes_2009_2023.csv", "insee_com")):
        df = pd.read_csv(tmp_path / name, dtype=str, keep_default_na=False)
        i = df.index[df[code] == "69149"][0]
        row = df.loc[i].copy()
        other = row.copy()
        other[code] = "69152"
        for c in df.columns:
            if c != code and row[c] and row[c].replace(".", "", 1).lstrip("-").isdigit():
                v = float(row[c])
                other[c] = repr(float(int(v) // 3)) if float(v).is_integer() else row[c]
                row[c] = repr(v - float(other[c])) if float(v).is_integer() else row[c]
        df.loc[i] = row
        df = pd.concat([df, other.to_frame().T], ignore_index=True)
        df.to_csv(tmp_path / name, index=False)
    (tmp_path / "changes.csv").write_text(LYON_CHANGES, encoding="utf-8")
    return tmp_path / "ocsol.toml"


@pytest.mark.slow
def test_lyon_2018_sources_reconciled_in_the_pipeline(tmp_path):
    reference = compute(DATA / "lyon" / "ocsol.toml")
    config = _lyon_2018(tmp_path)
    without = compute(config)
    assert not ((without["consumption"]["code"] == "69152").any())  # 69152 silently left out before
    config.write_text(config.read_text(encoding="utf-8") + '\n[cog]\nchanges = "changes.csv"\n', encoding="utf-8")
    res = compute(config)
    pd.testing.assert_frame_equal(res["consumption"], reference["consumption"])
    pd.testing.assert_frame_equal(res["zan"], reference["zan"])
    pd.testing.assert_frame_equal(res["efficiency"], reference["efficiency"])
    terr = res["territories"].set_index(["level", "code"])["correction_status"]
    assert terr[("commune", "69149")] == "merged"
    assert terr[("commune", "69123")] == "unchanged"
    assert terr[("epci", "200046977")] == "merged"
    qa = res["qa"]
    merged = qa[qa["item"].str.contains("communes merged by the commune-code reconciliation")]
    assert merged["count"].tolist() == [1] and merged["detail"].tolist() == ["69149"]


@pytest.mark.slow
def test_report_of_a_merged_commune_states_its_correction_status(tmp_path):
    from ocsol.report import build_context

    config = _lyon_2018(tmp_path)
    config.write_text(config.read_text(encoding="utf-8") + '\n[cog]\nchanges = "changes.csv"\n', encoding="utf-8")
    ctx = build_context("69149", "commune", config=str(config), output=str(tmp_path / "out"))
    text = ctx.texts["identite"]
    assert "fusion de communes" in text and "69149, 69152" in text
    assert ctx.headline["correction_status"] == "merged"
    other = build_context("69123", "commune", config=str(config), output=str(tmp_path / "out"))
    assert "données inchangées" in other.texts["identite"]
