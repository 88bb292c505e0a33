"""OCS GE indicators: exact values on paper, the Arcachon real layers, invariants and errors."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ocsol import change, nomenclature
from ocsol.cli import main
from ocsol.config import load_config
from ocsol.errors import (
    ConfigError,
    CoverageError,
    CRSError,
    InputFileError,
    SchemaError,
    UnknownCodeError,
)
from ocsol.pipeline import compute

from .conftest import DATA


def _row(df, **eq):
    m = np.ones(len(df), dtype=bool)
    for k, v in eq.items():
        m &= (df[k] == v).to_numpy()
    assert m.sum() == 1, (eq, df[m])
    return df[m].iloc[0]


def test_paper_stocks_and_flows(paper):
    res = compute(paper / "ocsol.toml")
    ss = res["stock_summary"]
    a19 = _row(ss, level="commune", code="00001", vintage=2019)
    assert a19["area_ha"] == pytest.approx(1.0)
    assert a19["covered_ha"] == pytest.approx(1.0)
    assert a19["artif_ha"] == pytest.approx(0.0)
    b19 = _row(ss, level="commune", code="00002", vintage=2019)
    assert b19["artif_ha"] == pytest.approx(0.5)  # built x 150–200
    assert b19["imper_ha"] == pytest.approx(0.5)
    assert b19["artif_pct"] == pytest.approx(50.0)
    a22 = _row(ss, level="commune", code="00001", vintage=2022)
    assert a22["artif_ha"] == pytest.approx(0.25)  # garden x 50–100 × y 50–100
    assert a22["imper_ha"] == pytest.approx(0.0)
    fl = res["flows"]
    a = _row(fl, level="commune", code="00001")
    assert (a["artif_ha"], a["desartif_ha"], a["net_artif_ha"]) == pytest.approx((0.25, 0.0, 0.25))
    e = _row(fl, level="epci", code="E")
    assert e["artif_ha"] == pytest.approx(0.5)
    assert e["imper_ha"] == pytest.approx(0.0) and e["desimper_ha"] == pytest.approx(0.0)


def test_paper_transitions_and_land_account(paper):
    res = compute(paper / "ocsol.toml")
    tr = res["transitions"]
    t = _row(tr, level="commune", code="00002", cs_from="CS1.1.1.1", cs_to="CS1.1.1.2")
    assert t["area_ha"] == pytest.approx(0.5)
    g = _row(tr, level="epci", code="E", cs_from="CS2.1.1.1", cs_to="CS2.2.1")
    assert g["area_ha"] == pytest.approx(0.5)
    la = res["land_account"]
    forest = _row(la, level="epci", code="E", **{"class": "CS2.1.1.1"})
    assert forest["opening_ha"] == pytest.approx(0.75)
    assert forest["reductions_ha"] == pytest.approx(0.5)
    assert forest["closing_ha"] == pytest.approx(0.25)
    assert forest["closing_ha"] == pytest.approx(forest["opening_ha"] + forest["additions_ha"] - forest["reductions_ha"])


def test_parents_are_sums_of_communes(paper):
    res = compute(paper / "ocsol.toml")
    st = res["stock"]
    com = st[st["level"] == "commune"].groupby(["vintage", "cs", "us"])["area_ha"].sum()
    epci = st[st["level"] == "epci"].set_index(["vintage", "cs", "us"])["area_ha"]
    pd.testing.assert_series_equal(com.sort_index(), epci.sort_index(), check_names=False)


def test_inputs_not_modified_and_engine_on_frames(paper):
    communes = gpd.read_file(paper / "communes.gpkg").rename(columns={"CODE_INSEE": "code"})
    v1 = gpd.read_file(paper / "ocsge_2019.gpkg").rename(columns={"code_cs": "cs", "code_us": "us"})
    v2 = gpd.read_file(paper / "ocsge_2022.gpkg").rename(columns={"code_cs": "cs", "code_us": "us"})
    before = (v1.copy(), v2.copy())
    res = change.compare_vintages(v1, v2, communes, vintage_from=2019, vintage_to=2022)
    pd.testing.assert_frame_equal(v1, before[0])
    pd.testing.assert_frame_equal(v2, before[1])
    assert res.matched == 2  # farmland and built polygons have identical geometry
    assert res.transitions["area_m2"].sum() == pytest.approx(20_000.0)
    assert res.changes["area_m2"].sum() == pytest.approx(5_000.0 + 5_000.0)  # garden + built→road


def test_result_independent_of_row_order(paper):
    communes = gpd.read_file(paper / "communes.gpkg").rename(columns={"CODE_INSEE": "code"})
    v1 = gpd.read_file(paper / "ocsge_2019.gpkg").rename(columns={"code_cs": "cs", "code_us": "us"})
    v2 = gpd.read_file(paper / "ocsge_2022.gpkg").rename(columns={"code_cs": "cs", "code_us": "us"})
    a = change.compare_vintages(v1, v2, communes, vintage_from=2019, vintage_to=2022).transitions
    b = change.compare_vintages(v1.iloc[::-1], v2.iloc[::-1], communes.iloc[::-1], vintage_from=2019,
                                vintage_to=2022).transitions
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow
def test_arcachon_flows_equal_change_polygon_areas():
    """With the couverture-only rule, artificialisation = area of A_B_2015_2018 inside each commune."""
    res = compute(DATA / "arcachon" / "ocsol.toml")
    fl = res["flows"]
    communes = gpd.read_file(DATA / "arcachon" / "communes_sybarval.shp")
    diff = gpd.read_file(DATA / "arcachon" / "A_B_2015_2018.shp").set_crs(2154, allow_override=True)
    diff["geometry"] = shapely.make_valid(diff.geometry.values)
    expected = gpd.overlay(diff[["geometry"]], communes[["CODE_INSEE", "geometry"]], how="intersection",
                           keep_geom_type=True)
    expected = expected.assign(a=expected.area).groupby("CODE_INSEE")["a"].sum() / 1e4
    got = fl[fl["level"] == "commune"].set_index("code")["artif_ha"]
    assert len(got) == 17
    pd.testing.assert_series_equal(got.sort_index(), expected.reindex(got.index).fillna(0).sort_index(),
                                   check_names=False, rtol=1e-4)
    scot = fl[fl["level"] == "scot"].iloc[0]
    assert scot["artif_ha"] == pytest.approx(got.sum())
    assert res["qa"]["item"].str.contains("repaired").any()


def test_cli_writes_tables(paper, tmp_path):
    out = tmp_path / "out"
    assert main(["indicators", "--config", str(paper / "ocsol.toml"), "--out", str(out), "-q"]) == 0
    for name in ("stock_summary", "stock", "flows", "transitions", "land_account"):
        df = pd.read_csv(out / f"{name}.csv", dtype={"code": str})
        assert list(df.columns[:2]) == ["level", "code"]
    assert (out / "changes.gpkg").exists()
    summary = pd.read_csv(out / "stock_summary.csv", dtype={"code": str})
    assert list(summary.columns) == ["level", "code", "measure", "vintage", "area_ha", "covered_ha", "artif_ha", "artif_pct",
                                     "imper_ha", "imper_pct"]


@pytest.mark.slow
def test_deterministic_outputs(paper, tmp_path):
    main(["indicators", "-c", str(paper / "ocsol.toml"), "-o", str(tmp_path / "a"), "-q"])
    main(["indicators", "-c", str(paper / "ocsol.toml"), "-o", str(tmp_path / "b"), "-q"])
    for name in ("stock.csv", "flows.csv", "transitions.csv", "land_account.csv", "stock_summary.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_rule_first_match_wins(tmp_path):
    p = tmp_path / "rule.csv"
    p.write_text("cs,us,artif,imper\nCS1.1*,*,true,false\nCS1.1.1.1,*,false,true\n*,*,false,false\n")
    rule = nomenclature.load_rule(p)
    cl = nomenclature.classify(pd.DataFrame({"cs": ["CS1.1.1.1", "CS2.2.1"], "us": ["US5", "X"]}), rule)
    assert cl["artif"].tolist() == [True, False]
    assert cl["imper"].tolist() == [False, False]


@pytest.mark.parametrize(
    ("cs", "us", "artif", "imper"),
    [
        ("CS1.1.1.1", "US1.1", True, True),  # farm building
        ("CS1.1.1.2", "US4.1.1", True, True),
        ("CS1.1.2.1", "US1.3", False, False),  # quarry
        ("CS1.1.2.1", "US2", True, False),
        ("CS2.2.1", "US5", True, False),  # garden
        ("CS2.2.1", "US6.1", True, False),  # chantier
        ("CS2.2.1", "US1.1", False, False),
        ("CS2.2.2", "US6.3", False, False),
        ("CS2.1.1.1", "US5", False, False),  # trees in a garden
        ("CS1.2.2", "US4.1.4", False, False),
    ],
)
def test_decret_2023_matrix(cs, us, artif, imper):
    cl = nomenclature.classify(pd.DataFrame({"cs": [cs], "us": [us]}), nomenclature.load_rule("decret-2023"))
    assert (bool(cl["artif"].iloc[0]), bool(cl["imper"].iloc[0])) == (artif, imper)


# --- bad input: one clear error each -------------------------------------------------------------

def _cfg(tmp, text):
    (tmp / "ocsol.toml").write_text(text, encoding="utf-8")
    return tmp / "ocsol.toml"


def test_error_missing_file(paper):
    (paper / "ocsge_2022.gpkg").unlink()
    with pytest.raises(InputFileError, match=r"ocsge_2022.gpkg: OCS GE layer file not found"):
        compute(paper / "ocsol.toml")


def test_error_missing_column(paper):
    v = gpd.read_file(paper / "ocsge_2019.gpkg").rename(columns={"code_us": "autre"})
    v.to_file(paper / "ocsge_2019.gpkg")
    with pytest.raises(SchemaError, match=r"no usage \(US\) column.*found \[code_cs, autre\].*ocsge.us_field"):
        compute(paper / "ocsol.toml")


def test_error_unknown_codes_with_counts(paper):
    v = gpd.read_file(paper / "ocsge_2019.gpkg")
    v.loc[0, "code_us"] = "US9.9"
    v.to_file(paper / "ocsge_2019.gpkg")
    with pytest.raises(UnknownCodeError, match=r"\('CS2.2.1', 'US9.9'\) × 1 = 0.75 ha"):
        compute(paper / "ocsol.toml")


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_error_no_crs(paper):
    v = gpd.read_file(paper / "ocsge_2019.gpkg")
    v = v.set_crs(None, allow_override=True)
    v.to_file(paper / "nocrs.geojson", driver="GeoJSON")
    # GeoJSON without crs member is read as WGS84 by GDAL; a shapefile without .prj has none
    v.to_file(paper / "nocrs.shp")
    (paper / "nocrs.prj").unlink(missing_ok=True)
    text = (paper / "ocsol.toml").read_text().replace("ocsge_2019.gpkg", "nocrs.shp")
    with pytest.raises(CRSError, match=r"nocrs.shp: OCS GE layer has no CRS"):
        compute(_cfg(paper, text))


def test_error_points_instead_of_polygons(paper):
    v = gpd.read_file(paper / "ocsge_2019.gpkg")
    v["geometry"] = v.centroid
    v.to_file(paper / "ocsge_2019.gpkg")
    with pytest.raises(SchemaError, match=r"must hold polygons; found 3 feature\(s\) of type \['Point'\]"):
        compute(paper / "ocsol.toml")


def test_error_empty_layer(paper):
    v = gpd.read_file(paper / "ocsge_2019.gpkg").iloc[0:0]
    v.to_file(paper / "ocsge_2019.gpkg")
    with pytest.raises(InputFileError, match=r"layer is empty"):
        compute(paper / "ocsol.toml")


def test_error_duplicate_territory_codes(paper):
    c = gpd.read_file(paper / "communes.gpkg")
    c.loc[1, "CODE_INSEE"] = "00001"
    c.to_file(paper / "communes.gpkg")
    with pytest.raises(SchemaError, match=r"duplicate commune codes in column 'CODE_INSEE': 00001"):
        compute(paper / "ocsol.toml")


def test_error_layer_not_covering(paper):
    for y in (2019, 2022):
        v = gpd.read_file(paper / f"ocsge_{y}.gpkg")
        v = v[v.geometry.bounds["minx"] < 100]
        v.to_file(paper / f"ocsge_{y}.gpkg")
    with pytest.raises(CoverageError, match=r"covered below 99.0 %: 00002 in 2019: 50.0 %"):
        compute(paper / "ocsol.toml")


def test_error_overlapping_polygons(paper):
    v = gpd.read_file(paper / "ocsge_2019.gpkg")
    v = pd.concat([v, v.iloc[[0]]], ignore_index=True)
    gpd.GeoDataFrame(v, crs=2154).to_file(paper / "ocsge_2019.gpkg")
    with pytest.raises(CoverageError, match=r"overlapping polygons \(double counting\)"):
        compute(paper / "ocsol.toml")


@pytest.mark.parametrize(("a", "b", "msg"), [(2018, 2018, "both 2018"), (2018, 2015, "is after")])
def test_error_equal_or_reversed_vintages(tmp_path, a, b, msg):
    text = (DATA / "arcachon" / "ocsol.toml").read_text().replace("from = 2015", f"from = {a}").replace(
        "to = 2018", f"to = {b}")
    for f in (DATA / "arcachon").iterdir():
        (tmp_path / f.name).symlink_to(f)
    (tmp_path / "ocsol.toml").unlink()
    with pytest.raises(ConfigError, match=msg):
        compute(_cfg(tmp_path, text))


def test_error_config_syntax_with_line(tmp_path):
    p = _cfg(tmp_path, "[territories]\npath = 'x.gpkg'\ncode = \n")
    with pytest.raises(ConfigError, match=r"TOML syntax error.*line 3"):
        load_config(p)


def test_error_unknown_config_key_suggests(tmp_path):
    p = _cfg(tmp_path, "[territories]\npath = 'x.gpkg'\ncodee = 'X'\n")
    with pytest.raises(ConfigError, match=r"unknown key 'codee' in \[territories\] \(did you mean 'code'\?\)"):
        load_config(p)


def test_cli_user_error_exit_2_no_outputs(paper, tmp_path, capsys):
    (paper / "ocsge_2022.gpkg").unlink()
    out = tmp_path / "out"
    assert main(["indicators", "-c", str(paper / "ocsol.toml"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() or not any(out.glob("*.csv"))


def test_failed_run_keeps_previous_outputs(paper, tmp_path):
    out = tmp_path / "out"
    assert main(["indicators", "-c", str(paper / "ocsol.toml"), "-o", str(out), "-q"]) == 0
    before = (out / "flows.csv").read_bytes()
    (paper / "ocsge_2022.gpkg").unlink()
    assert main(["indicators", "-c", str(paper / "ocsol.toml"), "-o", str(out), "-q"]) == 2
    assert (out / "flows.csv").read_bytes() == before
    assert not list(out.glob(".ocsol-stage-*"))


def test_overlap_error_names_the_files(paper):
    v = gpd.read_file(paper / "ocsge_2019.gpkg")
    v = pd.concat([v, v.iloc[[0]]], ignore_index=True)
    gpd.GeoDataFrame(v, crs=2154).to_file(paper / "ocsge_2019.gpkg")
    with pytest.raises(CoverageError, match=r"OCS GE vintages: 2019 = .*ocsge_2019.gpkg"):
        compute(paper / "ocsol.toml")


def test_cli_write_failure_is_one_line(paper, tmp_path, capsys, monkeypatch):
    import ocsol.pipeline

    def full(*a, **k):
        raise OSError(28, "No space left on device", str(tmp_path / "out" / "flows.csv"))

    monkeypatch.setattr(ocsol.pipeline, "publish_files", full)
    assert main(["indicators", "-c", str(paper / "ocsol.toml"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err


def test_three_vintages_chain_pairs(paper):
    """A third vintage (2025, equal to 2022 except one reclassification) adds a second pair."""
    v3 = gpd.read_file(paper / "ocsge_2022.gpkg")
    v3.loc[0, ["code_cs", "code_us"]] = ["CS1.1.1.1", "US2"]  # the farmland strip is built on
    v3.to_file(paper / "ocsge_2025.gpkg")
    cfg = (paper / "ocsol.toml").read_text().replace('2022 = "ocsge_2022.gpkg"', '2022 = "ocsge_2022.gpkg"\n2025 = "ocsge_2025.gpkg"')
    (paper / "ocsol.toml").write_text(cfg)
    res = compute(paper / "ocsol.toml")
    assert sorted(res["stock_summary"]["vintage"].unique().tolist()) == [2019, 2022, 2025]
    fl = res["flows"]
    e = fl[(fl["level"] == "epci") & (fl["vintage_from"] == 2022)].iloc[0]
    assert e["vintage_to"] == 2025
    assert (e["artif_ha"], e["imper_ha"]) == pytest.approx((0.75, 0.75))  # x 0–150 × y 0–50
    assert len(fl[fl["level"] == "epci"]) == 2


def test_change_layer_repeating_a_vintage_pair_is_a_config_error(paper):
    """Same years given twice would count the change twice: refuse it, say how to fix it."""
    v = gpd.read_file(paper / "ocsge_2019.gpkg").rename(columns={"code_cs": "cs_2019", "code_us": "us_2019"})
    v["cs_2022"], v["us_2022"] = v["cs_2019"], v["us_2019"]
    v.to_file(paper / "diff.gpkg")
    text = (paper / "ocsol.toml").read_text() + '\n[[ocsge.diff]]\nfrom = 2019\nto = 2022\npaths = ["diff.gpkg"]\n'
    (paper / "ocsol.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"pair 2019→2022 is already given \(by the vintages\)"):
        compute(paper / "ocsol.toml")
