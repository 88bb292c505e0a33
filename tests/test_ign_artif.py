"""IGN OCS GE Artificialisation products (measure `decret_ign`): stocks are the areas of IGN's
`artif` polygons per commune, flows the areas of its difference polygons (`artificialisation`
= 1 / −1) per commune — checked against sums computed here with a plain geopandas overlay.

Fixtures follow the documented schema (docs/artificialisation.md): per-vintage layers `code_cs, code_us,
millesime, artif ∈ {artif, non artif}, crit_seuil`, difference layers `cs_/us_/artif_{Y1,Y2}`,
`artificialisation`, any field case. Geometry and codes are the bundled layers: the synthetic
Blois vintages for stocks, the real Arcachon change polygons for flows. IGN's thresholds are
emulated (small non-built polygons the matrix calls artificialised are `non artif` with
`crit_seuil = true`) so that the product differs from the bare matrix as the real one does.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import ocsol
from ocsol import nomenclature
from ocsol.cli import main
from ocsol.errors import SchemaError

ROOT = Path(__file__).resolve().parents[1]
CVL, ARCACHON = ROOT / "data" / "cvl", ROOT / "data" / "arcachon"
RULE = nomenclature.load_rule("decret-2023")
THRESHOLD_M2 = 2500.0


def _matrix_flags(cs: pd.Series, us: pd.Series) -> np.ndarray:
    cl = nomenclature.classify(pd.DataFrame({"cs": cs, "us": us}).drop_duplicates(), RULE)
    return pd.DataFrame({"cs": cs, "us": us}).merge(cl, on=["cs", "us"], how="left")["artif"].to_numpy(bool)


def make_artif_layer(src: Path, dst: Path, year: int, *, upper: bool = False) -> gpd.GeoDataFrame:
    occ = gpd.read_file(src)
    artif = _matrix_flags(occ["code_cs"], occ["code_us"])
    seuil = artif & ~occ["code_cs"].str.startswith("CS1").to_numpy() & (occ.geometry.area.to_numpy() < THRESHOLD_M2)
    out = gpd.GeoDataFrame({
        "code_cs": occ["code_cs"], "code_us": occ["code_us"], "millesime": f"{year}",
        "artif": np.where(artif & ~seuil, "artif", "non artif"), "crit_seuil": seuil,
    }, geometry=occ.geometry.values, crs=occ.crs)
    if upper:
        out = out.rename(columns={c: c.upper() for c in out.columns if c != "geometry"})
    out.to_file(dst, layer=f"ocsge_artif_{year}", driver="GPKG")
    return out


def make_artif_diff(src: Path, dst: Path, y1: int, y2: int, *, upper: bool = False) -> gpd.GeoDataFrame:
    ch = gpd.read_file(src)
    a1 = _matrix_flags(ch[f"cs_{y1}"], ch[f"us_{y1}"])
    a2 = _matrix_flags(ch[f"cs_{y2}"], ch[f"us_{y2}"])
    keep = a1 != a2  # the product holds artificialisation changes only
    out = gpd.GeoDataFrame({
        f"cs_{y1}": ch[f"cs_{y1}"], f"us_{y1}": ch[f"us_{y1}"], f"cs_{y2}": ch[f"cs_{y2}"], f"us_{y2}": ch[f"us_{y2}"],
        f"artif_{y1}": np.where(a1, "artif", "non artif"), f"artif_{y2}": np.where(a2, "artif", "non artif"),
        "artificialisation": np.where(a2, 1, -1),
    }, geometry=ch.geometry.values, crs=ch.crs)[keep].reset_index(drop=True)
    if upper:
        out = out.rename(columns={c: c.upper() for c in out.columns if c != "geometry"})
    out.to_file(dst, layer=f"d033_zan_evol_{y1}_{y2}", driver="GPKG")
    return out


def _sum_by_commune(layer: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, code: str) -> pd.Series:
    """Area (ha) of the polygons inside each commune, by plain overlay."""
    g = layer.copy()
    g.geometry = shapely.make_valid(g.geometry.values)
    g = g.explode(index_parts=False)
    g = g[g.geom_type.isin(["Polygon", "MultiPolygon"])]
    cut = gpd.overlay(g, communes[[code, "geometry"]].to_crs(g.crs), how="intersection", keep_geom_type=True)
    return cut.geometry.area.groupby(cut[code].astype(str)).sum() / 1e4


@pytest.fixture(scope="module")
def blois(tmp_path_factory) -> tuple[Path, dict[int, gpd.GeoDataFrame]]:
    d = tmp_path_factory.mktemp("blois")
    layers = {2019: make_artif_layer(CVL / "ocsge_synth_2019.gpkg", d / "OCS-GE_2-0_ARTIF_2019.gpkg", 2019),
              2022: make_artif_layer(CVL / "ocsge_synth_2022.gpkg", d / "OCS-GE_2-0_ARTIF_2022.gpkg", 2022,
                                     upper=True)}
    base = (CVL / "ocsol.toml").read_text(encoding="utf-8")
    base = base.replace('path = "communes_blois.gpkg"', f'path = "{(CVL / "communes_blois.gpkg").as_posix()}"')
    base = base.replace('= "ocsge_synth_', f'= "{CVL.as_posix()}/ocsge_synth_')
    base += ('\n[ocsge.artif.vintages]\n2019 = "OCS-GE_2-0_ARTIF_2019.gpkg"\n2022 = "OCS-GE_2-0_ARTIF_2022.gpkg"\n')
    (d / "ocsol.toml").write_text(base, encoding="utf-8")
    return d, layers


@pytest.mark.slow
def test_ign_stocks_are_the_artif_polygons_per_commune(blois) -> None:
    d, layers = blois
    res = ocsol.compute(d / "ocsol.toml")
    ss = res["stock_summary"]
    assert set(ss["measure"]) == {"decret_ign", "decret_matrix"}
    ign = ss[(ss["measure"] == "decret_ign") & (ss["level"] == "commune")].set_index(["code", "vintage"])
    communes = gpd.read_file(CVL / "communes_blois.gpkg")
    for year, layer in layers.items():
        art = layer.rename(columns=str.lower)
        expected = _sum_by_commune(art[art["artif"] == "artif"], communes, "CODE_INSEE")
        got = ign.xs(year, level="vintage")["artif_ha"]
        assert len(got) == len(communes)
        pd.testing.assert_series_equal(got.sort_index(), expected.reindex(got.index).fillna(0.0).sort_index(),
                                       check_names=False, atol=1e-4, rtol=0)
    # parents are sums of communes; the thresholds only ever remove area from the matrix measure
    epci = ss[(ss["measure"] == "decret_ign") & (ss["level"] == "epci")].groupby("vintage")["artif_ha"].sum()
    assert epci.to_dict() == pytest.approx(ign.groupby(level="vintage")["artif_ha"].sum().to_dict())
    mat = ss[(ss["measure"] == "decret_matrix") & (ss["level"] == "commune")].set_index(["code", "vintage"])
    gap = mat["artif_ha"] - ign["artif_ha"].reindex(mat.index)
    assert (gap > -1e-6).all() and (gap > 1e-3).any()
    # stock rows of the product: one (cs, us, artif) per row, both flags possible for one couple
    st = res["stock"].query("measure == 'decret_ign' and level == 'commune'")
    assert st.groupby(["code", "vintage", "cs", "us"])["artif"].nunique().max() == 2
    qa = res["qa"]
    assert qa["item"].str.contains("crit_seuil").any()
    assert qa["item"].str.contains("no IGN artificialisation difference layer for 2019-2022").any()


@pytest.fixture
def arcachon(tmp_path: Path) -> tuple[Path, list[gpd.GeoDataFrame]]:
    diffs = [make_artif_diff(ARCACHON / "A_B_2015_2018.shp", tmp_path / "ARTIF_DIFF_2015_2018_a.gpkg", 2015, 2018,
                             upper=True),
             make_artif_diff(ARCACHON / "A_B_2018_2015.shp", tmp_path / "ARTIF_DIFF_2015_2018_b.gpkg", 2015, 2018)]
    (tmp_path / "ocsol.toml").write_text(f"""
[territories]
path = "{(ARCACHON / 'communes_sybarval.shp').as_posix()}"
code = "CODE_INSEE"
levels = {{ epci = "SIREN_EPCI" }}

[[ocsge.artif_diff]]
from = 2015
to = 2018
paths = ["ARTIF_DIFF_2015_2018_a.gpkg", "ARTIF_DIFF_2015_2018_b.gpkg"]
""", encoding="utf-8")
    return tmp_path, diffs


@pytest.mark.slow
def test_ign_flows_are_the_difference_polygons_per_commune(arcachon, tmp_path: Path) -> None:
    d, diffs = arcachon
    out = tmp_path / "out"
    assert main(["indicators", "-c", str(d / "ocsol.toml"), "-o", str(out), "-q"]) == 0
    fl = pd.read_csv(out / "flows.csv", dtype={"code": str})
    assert list(fl.columns[:3]) == ["level", "code", "measure"] and set(fl["measure"]) == {"decret_ign"}
    com = fl[fl["level"] == "commune"].set_index("code")
    communes = gpd.read_file(ARCACHON / "communes_sybarval.shp")
    both = pd.concat([x.rename(columns=str.lower) for x in diffs], ignore_index=True)
    both = gpd.GeoDataFrame(both, geometry="geometry", crs=diffs[0].crs)
    for sign, col in ((1, "artif_ha"), (-1, "desartif_ha")):
        expected = _sum_by_commune(both[both["artificialisation"] == sign], communes, "CODE_INSEE")
        got = com[col]
        pd.testing.assert_series_equal(got.sort_index(), expected.reindex(got.index).fillna(0.0).sort_index(),
                                       check_names=False, atol=1e-4, rtol=0)
    assert com["artif_ha"].sum() > 10  # real data: hundreds of hectares, not an empty run
    for name in ("transitions", "land_account"):
        assert set(pd.read_csv(out / f"{name}.csv")["measure"]) == {"decret_ign"}
    changes = gpd.read_file(out / "changes.gpkg")
    assert set(changes["measure"]) == {"decret_ign"}
    assert changes.loc[changes["artif_to"] & ~changes["artif_from"], "area_m2"].sum() / 1e4 == pytest.approx(
        com["artif_ha"].sum(), abs=1e-3)


def _tiny(tmp_path: Path, **fields) -> Path:
    g = gpd.GeoDataFrame(fields, geometry=[shapely.box(0, 0, 100, 100)], crs="EPSG:2154")
    g.to_file(tmp_path / "artif.gpkg")
    return tmp_path / "artif.gpkg"


def test_ign_product_errors_name_file_field_and_values(tmp_path: Path) -> None:
    from ocsol.io.ocsge_artif import read_ocsge_artif, read_ocsge_artif_diff

    p = _tiny(tmp_path, code_cs=["CS1.1.1.1"], code_us=["US5"], millesime=["2019"], artif=["oui"])
    with pytest.raises(SchemaError, match=r"artif\.gpkg: field artif must be 'artif' or 'non artif'; found 'oui' × 1"):
        read_ocsge_artif(p, vintage=2019)
    p = _tiny(tmp_path, code_cs=["CS1.1.1.1"], code_us=["US5"], millesime=["2021"], artif=["artif"])
    with pytest.raises(SchemaError, match=r"millesime gives the year\(s\) \[2021\].*as 2019"):
        read_ocsge_artif(p, vintage=2019)
    p = _tiny(tmp_path, code_cs=["CS1.1.1.1"], code_us=["US5"])
    with pytest.raises(SchemaError, match=r"artif\.gpkg: no artif field .*found code_cs, code_us; this is not the IGN"):
        read_ocsge_artif(p, vintage=2019)
    p = _tiny(tmp_path, CS_2019=["CS2.2.1"], US_2019=["US1.1"], CS_2022=["CS1.1.1.1"], US_2022=["US5"],
              ARTIF_2019=["non artif"], ARTIF_2022=["artif"], ARTIFICIALISATION=[-1])
    with pytest.raises(SchemaError, match=r"1 polygon\(s\) whose artificialisation \(1/−1\) contradicts"):
        read_ocsge_artif_diff(p, vintage_from=2019, vintage_to=2022)
    p = _tiny(tmp_path, cs_2019=["CS2.2.1"], us_2019=["US1.1"], cs_2022=["CS1.1.1.1"], us_2022=["US5"],
              artificialisation=[1])
    diff, _ = read_ocsge_artif_diff(p, vintage_from=2019, vintage_to=2022)  # flags from the sign alone
    assert diff[["artif_from", "artif_to"]].iloc[0].tolist() == [False, True]


def test_artif_config_keys_checked(tmp_path: Path) -> None:
    from ocsol.config import config_from_dict
    from ocsol.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown key 'vintage' in \[ocsge.artif\] \(did you mean 'vintages'\?\)"):
        config_from_dict({"ocsge": {"artif": {"vintage": {}}}})
    with pytest.raises(ConfigError, match=r"\[\[ocsge.artif_diff\]\] #1 needs a 'paths' key"):
        config_from_dict({"ocsge": {"artif_diff": [{"from": 2019, "to": 2022}]}})
