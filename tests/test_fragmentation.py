"""Effective mesh size: the worked example of THRESHOLDS.md §8b, brute force with geometric unions on
generated layers, CBC additivity, and the [fragmentation] section through the pipeline."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import LineString, box

from ocsol import change
from ocsol.config import config_from_dict
from ocsol.errors import ConfigError
from ocsol.fragmentation import cut_by_lines, effective_mesh
from ocsol.io.territories import read_territories
from ocsol.pipeline import compute

KM = 1000.0


def _territories(tmp_path, communes: dict[str, shapely.Geometry], parent: str = "R", name="c.gpkg"):
    g = gpd.GeoDataFrame({"code": list(communes), "dep": parent}, geometry=list(communes.values()), crs="EPSG:2154")
    g.to_file(tmp_path / name, driver="GPKG", engine="pyogrio")
    t = read_territories(tmp_path / name, code="code", levels={"dep": "dep"})
    return t, change.Zones.from_communes(t.communes)


def _km(x0, y0, x1, y1):
    return box(x0 * KM, y0 * KM, x1 * KM, y1 * KM)


def test_worked_example_cut_cbc_and_additivity(tmp_path):
    """R = R1 (60 km²) + R2 (40 km²); patches P1 (30, complete 30), P2 (20 inside, complete 50),
    P3 (50 inside, complete 200), separated by thin line barriers."""
    t, zones = _territories(tmp_path, {"R1": _km(0, 0, 6, 10), "R2": _km(6, 0, 10, 10)})
    land = np.array([_km(0, 0, 3, 10), _km(3, 0, 6, 10), _km(6, 0, 10, 5), _km(6, 5, 10, 10), _km(6, 10, 10, 17.5),
                     _km(3, -15, 13, 0)], dtype=object)
    lines = np.array([LineString([(3 * KM, -20 * KM), (3 * KM, 20 * KM)]), LineString([(6 * KM, 5 * KM), (10 * KM, 5 * KM)]),
                      LineString([(6 * KM, 5 * KM), (6 * KM, 20 * KM)])], dtype=object)
    open_land, _ = cut_by_lines(land, lines, buffer_m=0.01)
    m = effective_mesh(open_land, zones, t).set_index(["level", "code"])
    assert m.loc[("dep", "R"), "meff_km2"] == pytest.approx(38, rel=1e-5)
    assert m.loc[("dep", "R"), "meff_cbc_km2"] == pytest.approx(119, rel=1e-5)
    assert m.loc[("dep", "R"), "seff_per_1000km2"] == pytest.approx(1000 / 119, rel=1e-5)
    assert m.loc[("commune", "R1"), "meff_cbc_km2"] == pytest.approx(115, rel=1e-5)
    assert m.loc[("commune", "R2"), "meff_cbc_km2"] == pytest.approx(125, rel=1e-5)
    assert m.loc[("commune", "R1"), "meff_km2"] == pytest.approx(30, rel=1e-5)
    assert m.loc[("commune", "R2"), "meff_km2"] == pytest.approx(20, rel=1e-5)
    # CBC is additive by area: R computed as one unit gives the same value; CUT is not
    t1, z1 = _territories(tmp_path, {"R": _km(0, 0, 10, 10)}, name="r.gpkg")
    whole = effective_mesh(open_land, z1, t1).set_index(["level", "code"])
    assert whole.loc[("commune", "R"), "meff_cbc_km2"] == pytest.approx(m.loc[("dep", "R"), "meff_cbc_km2"], rel=1e-9)
    assert whole.loc[("commune", "R"), "meff_km2"] == pytest.approx(38, rel=1e-5)
    assert (60 * 30 + 40 * 20) / 100 != pytest.approx(38)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from ocsol import nomenclature
    from ocsol.synthetic import generate_ocsge

    tmp = tmp_path_factory.mktemp("frag")
    communes = {"A": box(0, 0, 1200, 1000), "B": box(1200, 0, 2000, 1000), "C": box(0, 1000, 2000, 1600)}
    t, zones = _territories(tmp, communes)
    lay = generate_ocsge(t.communes, n_polygons=900, seed=5)[2019]
    cl = nomenclature.classify(lay.rename(columns={"code_cs": "cs", "code_us": "us"}), nomenclature.load_rule())
    artif = lay.merge(cl, left_on=["code_cs", "code_us"], right_on=["cs", "us"], how="left")["artif"].to_numpy(bool)
    return t, zones, communes, np.asarray(lay.geometry.values[~artif], dtype=object)


def test_equals_brute_force_with_unions(generated):
    """Rook patches = the parts of the dissolved open land; CUT = the parts of (dissolved ∩ unit)."""
    t, zones, communes, open_land = generated
    m = effective_mesh(open_land, zones, t, adjacency="rook").set_index(["level", "code"])
    patches = shapely.get_parts(shapely.union_all(open_land))
    units = {("commune", c): g for c, g in communes.items()}
    units[("dep", "R")] = shapely.union_all(list(communes.values()))
    for key, unit in units.items():
        a_t = unit.area
        cut = sum(p.area ** 2 for p in shapely.get_parts(shapely.intersection(shapely.union_all(open_land), unit)))
        cbc = sum(shapely.intersection(p, unit).area * p.area for p in patches)
        assert m.loc[key, "meff_km2"] == pytest.approx(cut / a_t / 1e6, rel=1e-6)
        assert m.loc[key, "meff_cbc_km2"] == pytest.approx(cbc / a_t / 1e6, rel=1e-6)
    assert m.loc[("commune", "A"), "meff_km2"] < m.loc[("commune", "A"), "meff_cbc_km2"]


def test_queen_joins_point_contacts():
    t_comm = {"X": box(0, 0, 100, 100)}
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        t, zones = _territories(Path(d), t_comm)
    land = np.array([box(0, 0, 50, 50), box(50, 50, 100, 100)], dtype=object)
    q = effective_mesh(land, zones, t, adjacency="queen").set_index(["level", "code"])
    r = effective_mesh(land, zones, t, adjacency="rook").set_index(["level", "code"])
    assert q.loc[("commune", "X"), "meff_km2"] * 1e6 == pytest.approx(5000**2 / 10000)
    assert r.loc[("commune", "X"), "meff_km2"] * 1e6 == pytest.approx(2 * 2500**2 / 10000)


def _two_generated_vintages(folder, *, n: int, seed: int) -> None:
    """c.gpkg (two communes in département D) and o2019/o2022.gpkg, generated OCS GE over them."""
    from ocsol.synthetic import generate_ocsge

    communes = {"00001": box(0, 0, 1500, 1500), "00002": box(1500, 0, 3000, 1500)}
    cg = gpd.GeoDataFrame({"code": list(communes), "dep": "D"}, geometry=list(communes.values()), crs="EPSG:2154")
    cg.to_file(folder / "c.gpkg", driver="GPKG", engine="pyogrio")
    for y, lay in generate_ocsge(cg, n_polygons=n, seed=seed, change_rate=0.2).items():
        lay.to_file(folder / f"o{y}.gpkg", driver="GPKG", engine="pyogrio")


@pytest.mark.slow
def test_pipeline_fragmentation_table(tmp_path):
    _two_generated_vintages(tmp_path, n=600, seed=2)
    gpd.GeoDataFrame(geometry=[LineString([(0, 700), (3000, 700)])], crs="EPSG:2154").to_file(tmp_path / "road.gpkg")
    base = {"territories": {"path": "c.gpkg", "code": "code", "levels": {"dep": "dep"}},
            "ocsge": {"vintages": {"2019": "o2019.gpkg", "2022": "o2022.gpkg"}, "thresholds": {}}}
    res = compute(config_from_dict({**base, "fragmentation": {"barrier": "both"}}, base_dir=tmp_path))
    fr = res["fragmentation"]
    assert list(fr.columns) == ["level", "code", "vintage", "barrier", "meff_km2", "meff_cbc_km2", "seff_per_1000km2"]
    assert set(fr["barrier"]) == {"matrix", "thresholds"} and len(fr) == 2 * 2 * 3
    assert (fr["meff_km2"] <= fr["meff_cbc_km2"] + 1e-12).all()
    ch = res["fragmentation_change"]
    one = fr[(fr["barrier"] == "matrix") & (fr["code"] == "D")].set_index("vintage")["meff_cbc_km2"]
    assert ch.loc[(ch["code"] == "D") & (ch["barrier"] == "matrix"), "meff_cbc_change_km2"].item() == pytest.approx(
        one[2022] - one[2019])
    with_road = compute(config_from_dict({**base, "fragmentation": {"lines": ["road.gpkg"]}}, base_dir=tmp_path))
    a = fr[(fr["barrier"] == "matrix")].set_index(["level", "code", "vintage"])["meff_cbc_km2"]
    b = with_road["fragmentation"].set_index(["level", "code", "vintage"])["meff_cbc_km2"]
    assert (b < a).all()  # a road across both communes cuts every large patch
    with pytest.raises(ConfigError, match="barrier"):
        compute(config_from_dict({**base, "fragmentation": {"barrier": "roads"}}, base_dir=tmp_path))
    no_thresholds = {**base, "ocsge": {"vintages": base["ocsge"]["vintages"]}, "fragmentation": {"barrier": "thresholds"}}
    with pytest.raises(ConfigError, match=r"needs an \[ocsge.thresholds\]"):
        compute(config_from_dict(no_thresholds, base_dir=tmp_path))
