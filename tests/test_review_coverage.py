"""Review: a figure of a parent territory is the sum of all its communes, or absent with the reason.

An IGN OCS GE Artificialisation product (measure ``decret_ign``) that covers only some communes of
an EPCI must not give the EPCI a partial ``decret_ign`` total that the headline picker would prefer
over the complete ``decret_matrix`` figure (the ``paper`` fixture: communes A and B of EPCI E).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import ocsol
from ocsol.indicators import headline_measure

IGN = '\n[ocsge.artif.vintages]\n2019 = "artif_2019.gpkg"\n2022 = "artif_2022.gpkg"\n'


def _ign_over_a(folder: Path) -> None:
    """IGN product over commune A only (x 0–100): in 2022 the garden x 50–100 × y 50–100 is `artif`."""
    crs = "EPSG:2154"
    v1 = gpd.GeoDataFrame({"code_cs": ["CS2.2.1", "CS2.1.1.1"], "code_us": ["US1.1", "US1.2"],
                           "millesime": "2019", "artif": ["non artif", "non artif"], "crit_seuil": [False, False]},
                          geometry=[shapely.box(0, 0, 100, 50), shapely.box(0, 50, 100, 100)], crs=crs)
    v2 = gpd.GeoDataFrame({"code_cs": ["CS2.2.1", "CS2.1.1.1", "CS2.2.1"], "code_us": ["US1.1", "US1.2", "US5"],
                           "millesime": "2022", "artif": ["non artif", "non artif", "artif"],
                           "crit_seuil": [False, False, False]},
                          geometry=[shapely.box(0, 0, 100, 50), shapely.box(0, 50, 50, 100),
                                    shapely.box(50, 50, 100, 100)], crs=crs)
    v1.to_file(folder / "artif_2019.gpkg", layer="ocsge_artif_2019")
    v2.to_file(folder / "artif_2022.gpkg", layer="ocsge_artif_2022")
    toml = folder / "ocsol.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + IGN, encoding="utf-8")


@pytest.mark.slow
def test_partial_ign_product_gives_no_parent_total(paper: Path) -> None:
    _ign_over_a(paper)
    res = ocsol.compute(paper / "ocsol.toml")
    ss = res["stock_summary"]
    ign = ss[ss["measure"] == "decret_ign"]
    assert set(zip(ign["level"], ign["code"], strict=True)) == {("commune", "00001")}  # no partial EPCI total
    got = ign.set_index("vintage")["artif_ha"]
    assert got[2022] == pytest.approx(0.25) and got[2019] == 0.0
    # the EPCI headline is the complete matrix figure: garden 5 000 m² + road 5 000 m² in 2022
    head = headline_measure(ss).set_index(["level", "code", "vintage"])
    assert head.loc[("epci", "E", 2022), "measure"] == "decret_matrix"
    assert head.loc[("epci", "E", 2022), "artif_ha"] == pytest.approx(1.0)
    assert head.loc[("commune", "00001", 2022), "measure"] == "decret_ign"
    for name in ("stock", "stock_summary"):
        t = res[name]
        assert not ((t["measure"] == "decret_ign") & (t["level"] != "commune")).any(), name
    qa = res["qa"]
    row = qa[qa["item"].str.contains("decret_ign") & qa["item"].str.contains("not all")]
    assert len(row) == 1 and "epci E" in row["detail"].iloc[0] and "1 of 2" in row["detail"].iloc[0]


@pytest.mark.slow
def test_commune_partly_covered_by_the_ign_product_stops(paper: Path, capsys) -> None:
    """A commune the IGN product touches but covers at 60 % only: one line, exit 2 (as for OCS GE vintages)."""
    from ocsol.cli import main

    _ign_over_a(paper)
    for year in (2019, 2022):
        g = gpd.read_file(paper / f"artif_{year}.gpkg")
        g.geometry = g.geometry.clip(shapely.box(0, 0, 60, 100))
        g.to_file(paper / f"artif_{year}.gpkg", layer=f"ocsge_artif_{year}")
    code = main(["indicators", "-c", str(paper / "ocsol.toml"), "-o", str(paper / "out"), "-q"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("ocsol: error: OCS GE artificialisation:") and "00001 in 2019: 60.0 %" in lines[0]


@pytest.mark.slow
def test_ign_flows_cover_the_communes_of_both_ign_stocks(paper: Path) -> None:
    """IGN stocks over A and B, a difference layer whose only change lies in A: B gets a 0 flow (both IGN
    stocks cover it), so EPCI E keeps its decret_ign flow (it is not a partial sum)."""
    crs = "EPSG:2154"
    for year, artif in ((2019, "non artif"), (2022, "artif")):
        gpd.GeoDataFrame({"code_cs": ["CS2.2.1", "CS1.1.1.1"], "code_us": ["US1.1", "US5"], "millesime": str(year),
                          "artif": ["non artif", "artif"], "crit_seuil": [False, False]},
                         geometry=[shapely.box(0, 0, 150, 100), shapely.box(150, 0, 200, 100)], crs=crs
                         ).to_file(paper / f"artif_{year}.gpkg", layer=f"ocsge_artif_{year}")
        if artif == "artif":  # 2022: x 10–30 × y 10–30 (400 m², in A) artificialised
            g = gpd.read_file(paper / f"artif_{year}.gpkg")
            g.geometry = g.geometry.difference(shapely.box(10, 10, 30, 30))
            extra = gpd.GeoDataFrame({"code_cs": ["CS1.1.1.1"], "code_us": ["US5"], "millesime": "2022",
                                      "artif": ["artif"], "crit_seuil": [False]},
                                     geometry=[shapely.box(10, 10, 30, 30)], crs=crs)
            gpd.GeoDataFrame(pd.concat([g, extra], ignore_index=True), crs=crs).to_file(
                paper / f"artif_{year}.gpkg", layer=f"ocsge_artif_{year}")
    gpd.GeoDataFrame({"cs_2019": ["CS2.2.1"], "us_2019": ["US1.1"], "cs_2022": ["CS1.1.1.1"], "us_2022": ["US5"],
                      "artif_2019": ["non artif"], "artif_2022": ["artif"], "artificialisation": [1]},
                     geometry=[shapely.box(10, 10, 30, 30)], crs=crs).to_file(paper / "diff.gpkg",
                                                                               layer="d041_zan_evol_2019_2022")
    toml = paper / "ocsol.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + IGN
                    + '\n[[ocsge.artif_diff]]\nfrom = 2019\nto = 2022\npaths = ["diff.gpkg"]\n', encoding="utf-8")
    res = ocsol.compute(toml)
    fl = res["flows"]
    ign = fl[fl["measure"] == "decret_ign"].set_index(["level", "code"])
    assert ign.loc[("commune", "00002"), "artif_ha"] == 0.0
    assert ign.loc[("epci", "E"), "artif_ha"] == pytest.approx(0.04)
    assert ign.loc[("commune", "00001"), "artif_ha"] == pytest.approx(0.04)
