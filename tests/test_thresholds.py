"""The 13 fixtures of THRESHOLDS.md §7 under the settings they name, and properties of the thresholds."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import box

from ocsol import nomenclature
from ocsol.errors import ConfigError
from ocsol.thresholds import (
    ThresholdSettings,
    all_settings,
    apply_thresholds,
    patch_graph,
    run_thresholds,
)

KINDS = {
    "field": ("CS2.2.1", "US1.1"),
    "wood": ("CS2.1.1.1", "US5"),
    "parking": ("CS1.1.1.2", "US5"),
    "gravel": ("CS1.1.2.1", "US1.1"),
    "building": ("CS1.1.1.1", "US1.1"),
    "road": ("CS1.1.1.2", "US4.1.1"),
    "meadow": ("CS2.2.1", "US1.1"),
}
DATASET = box(0, 0, 400, 400)


def layer(named: dict[str, tuple[str, shapely.Geometry]], *, field: str = "field") -> gpd.GeoDataFrame:
    """Polygons by name (kind, geometry); the field fills the rest of the dataset square."""
    rest = DATASET.difference(shapely.union_all([g for _, g in named.values()]))
    items = {**named, field: ("field", rest)}
    names = list(items)
    cs = [KINDS[items[n][0]][0] for n in names]
    us = [KINDS[items[n][0]][1] for n in names]
    g = gpd.GeoDataFrame({"name": names, "cs": cs, "us": us}, geometry=[items[n][1] for n in names], crs="EPSG:2154")
    classes = nomenclature.classify(g[["cs", "us"]], nomenclature.load_rule())
    g["artif"] = g.merge(classes[["cs", "us", "artif"]], on=["cs", "us"], how="left")["artif"].to_numpy(dtype=bool)
    return g


def run(named, **settings):
    out = apply_thresholds(layer(named), settings=ThresholdSettings(**settings))
    status = {n: ("artif" if a else "non artif", bool(c)) for n, a, c in
              zip(out["name"], out["artif_seuil"], out["crit_seuil"], strict=True)}
    stock = float(out.loc[out["artif_seuil"], "geometry"].area.sum())
    return status, stock


def ring(outer, hole):
    return box(*outer).difference(box(*hole))


def test_f1_fill_hole():
    st, stock = run({"parking": ("parking", ring((100, 100, 300, 300), (180, 180, 220, 220))),
                     "hole": ("wood", box(180, 180, 220, 220))})
    assert st["hole"] == ("artif", True) and st["parking"] == ("artif", False) and st["field"] == ("non artif", False)
    assert stock == pytest.approx(40_000)


def test_f2_equality_stays_and_just_below_flips():
    st, stock = run({"parking": ("parking", ring((100, 100, 300, 300), (175, 175, 225, 225))),
                     "hole": ("wood", box(175, 175, 225, 225))})
    assert st["hole"] == ("non artif", False) and stock == pytest.approx(37_500)
    hole = box(175, 175, 225, 224.98)
    st, _ = run({"parking": ("parking", box(100, 100, 300, 300).difference(hole)), "hole": ("wood", hole)})
    assert st["hole"] == ("artif", True)


def test_f3_isolated_yard_dropped():
    st, stock = run({"gravel": ("gravel", box(185, 185, 215, 215))})
    assert st["gravel"] == ("non artif", True) and stock == 0


def test_f4a_building_alone_stays():
    st, stock = run({"building": ("building", box(190, 192.5, 210, 207.5))})
    assert st["building"] == ("artif", False) and stock == pytest.approx(300)


@pytest.mark.parametrize(("scope", "building", "gravel", "stock"), [
    ("polygon", ("artif", False), ("non artif", True), 300),
    ("patch", ("artif", False), ("artif", False), 900),
])
def test_f4b_built_scope(scope, building, gravel, stock):
    st, s = run({"building": ("building", box(190, 200, 210, 215)), "gravel": ("gravel", box(190, 170, 210, 200))},
                built_scope=scope)
    assert st["building"] == building and st["gravel"] == gravel and s == pytest.approx(stock)


def test_f5_patch_not_polygon():
    st, stock = run({"parking": ("parking", box(160, 180, 200, 220)), "gravel": ("gravel", box(200, 180, 225, 220))})
    assert st["parking"] == ("artif", False) and st["gravel"] == ("artif", False) and stock == pytest.approx(2600)


@pytest.mark.parametrize(("adjacency", "expected", "stock"), [
    ("queen", ("artif", False), 3200), ("rook", ("non artif", True), 0)])
def test_f6_point_contact(adjacency, expected, stock):
    st, s = run({"p1": ("parking", box(160, 160, 200, 200)), "p2": ("parking", box(200, 200, 240, 240))},
                adjacency=adjacency)
    assert st["p1"] == expected and st["p2"] == expected and s == pytest.approx(stock)


@pytest.mark.parametrize(("policy", "expected"), [("flip", ("non artif", True)), ("protect", ("artif", False))])
def test_f7_dataset_edge(policy, expected):
    st, _ = run({"gravel": ("gravel", box(0, 100, 30, 130))}, edge_policy=policy)
    assert st["gravel"] == expected
    # mirror: a wood scrap inside a large car park, touching the edge
    mirror = {"parking": ("parking", ring((0, 50, 100, 200), (0, 100, 30, 130))), "wood": ("wood", box(0, 100, 30, 130))}
    st, _ = run(mirror, edge_policy=policy)
    assert st["wood"] == {"flip": ("artif", True), "protect": ("non artif", False)}[policy]


@pytest.mark.parametrize(("schedule", "ring_", "hole", "stock"), [
    ("simultaneous", ("non artif", True), ("artif", True), 400),
    ("fixpoint", ("non artif", True), ("non artif", False), 0),
    ("rule1_then_rule2", ("non artif", True), ("non artif", False), 0),
    ("rule2_then_rule1", ("non artif", True), ("non artif", False), 0),
])
def test_f8a_nested_island(schedule, ring_, hole, stock):
    st, s = run({"ring": ("parking", ring((175, 180, 225, 220), (190, 190, 210, 210))),
                 "hole": ("wood", box(190, 190, 210, 210))}, schedule=schedule)
    assert (st["ring"], st["hole"], s) == (ring_, hole, pytest.approx(stock))


@pytest.mark.parametrize(("schedule", "ring_", "hole", "stock"), [
    ("rule1_then_rule2", ("artif", False), ("artif", True), 2800),
    ("rule2_then_rule1", ("non artif", True), ("non artif", False), 0),
    ("simultaneous", ("non artif", True), ("artif", True), 600),
    ("fixpoint", ("non artif", True), ("non artif", False), 0),
])
def test_f8b_nested_order(schedule, ring_, hole, stock):
    st, s = run({"ring": ("parking", ring((172, 175, 228, 225), (185, 190, 215, 210))),
                 "hole": ("wood", box(185, 190, 215, 210))}, schedule=schedule)
    assert (st["ring"], st["hole"], s) == (ring_, hole, pytest.approx(stock))


def test_f9_road_frame_fills_meadow():
    st, stock = run({"frame": ("road", ring((150, 150, 200, 230), (160, 160, 190, 220))),
                     "spur": ("road", box(200, 185, 300, 195)), "meadow": ("meadow", box(160, 160, 190, 220))})
    assert st["meadow"] == ("artif", True) and st["frame"] == ("artif", False) and st["spur"] == ("artif", False)
    assert stock == pytest.approx(5000)


@pytest.mark.slow
def test_invariants_on_every_fixture_and_setting():
    """Σ area unchanged (no geometry touched); crit_seuil ⇔ final ≠ matrix; under every setting."""
    g = layer({"ring": ("parking", ring((172, 175, 228, 225), (185, 190, 215, 210))),
               "hole": ("wood", box(185, 190, 215, 210)), "gravel": ("gravel", box(0, 100, 30, 130)),
               "b": ("building", box(300, 300, 320, 315))})
    for s in all_settings():
        out = apply_thresholds(g, settings=s)
        assert out.geometry.area.sum() == pytest.approx(g.geometry.area.sum(), rel=1e-12)
        assert (out["crit_seuil"] == (out["artif_seuil"] != out["artif"])).all()
    assert len(all_settings()) == 32


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="adjacency = 'bishop'"):
        ThresholdSettings(adjacency="bishop")
    with pytest.raises(ConfigError, match="area_m2"):
        ThresholdSettings(area_m2=-1)


def test_multipolygon_parts_judged_separately():
    """Two 1 600 m² car-park parts of one multipolygon, far apart: each is a patch < 2 500."""
    mp = shapely.MultiPolygon([box(50, 50, 90, 90), box(300, 300, 340, 340)])
    g = layer({"mp": ("parking", mp)})
    out = apply_thresholds(g)
    assert len(out) == 3 and not out.loc[out["name"] == "mp", "artif_seuil"].any()


def test_fixpoint_oscillation_ends_artificial():
    """A courtyard enclosed by a building in a field: R1 fills it, R2 would drop it again."""
    g = layer({"bldg": ("building", ring((180, 180, 220, 220), (195, 195, 205, 205))),
               "court": ("field", box(195, 195, 205, 205))}, field="outer")
    graph = patch_graph(g)
    res = run_thresholds(graph, g["artif"].to_numpy(), ThresholdSettings(schedule="fixpoint"))
    assert res.oscillating == 1 and res.status.all() == False  # noqa: E712 (outer field stays non artif)
    assert res.status[list(g["name"]).index("court")]


# ----------------------------------------------------------------------------------------------
# properties on generated layers


@pytest.fixture(scope="module")
def generated():
    from ocsol.synthetic import generate_ocsge

    communes = gpd.GeoDataFrame(geometry=[box(0, 0, 3000, 2000)], crs="EPSG:2154")
    layers = generate_ocsge(communes, n_polygons=1500, seed=7)
    out = {}
    rule = nomenclature.load_rule()
    for year, lay in layers.items():
        g = gpd.GeoDataFrame({"cs": lay["code_cs"].to_numpy(dtype=object), "us": lay["code_us"].to_numpy(dtype=object)},
                             geometry=lay.geometry.values, crs=lay.crs)
        cl = nomenclature.classify(g, rule)
        g["artif"] = g.merge(cl[["cs", "us", "artif"]], on=["cs", "us"], how="left")["artif"].to_numpy(dtype=bool)
        out[year] = g
    return out


@pytest.mark.slow
def test_fixpoint_result_is_stable_and_idempotent(generated):
    g = generated[2019]
    res = apply_thresholds(g, settings=ThresholdSettings(schedule="fixpoint"))
    assert res["crit_seuil"].any()  # the thresholds bite on this layer
    again = apply_thresholds(res.drop(columns=["artif", "crit_seuil"]).rename(columns={"artif_seuil": "artif"}),
                             settings=ThresholdSettings(schedule="simultaneous"))
    assert (again["artif_seuil"] == res["artif_seuil"]).all()  # a fixed point of the simultaneous rule


@pytest.mark.slow
def test_simultaneous_matches_dissolved_patches(generated):
    """Independent check with geometric unions (rook = the parts of the dissolved layer): every
    polygon of a same-status patch ≥ 2 500 m² keeps its status; in smaller patches, every polygon
    flips except artificial buildings."""
    g = generated[2019]
    res = apply_thresholds(g, settings=ThresholdSettings(adjacency="rook"))
    assert res["crit_seuil"].any()
    for status in (True, False):
        part = g[g["artif"] == status]
        dissolved = np.array(shapely.get_parts(shapely.union_all(part.geometry.values)), dtype=object)
        pts = shapely.point_on_surface(part.geometry.values)
        pi, di = shapely.STRtree(dissolved).query(pts, predicate="intersects")
        assert len(np.unique(pi)) == len(part) == len(pi)  # every polygon in exactly one patch
        patch_area = np.empty(len(part))
        patch_area[pi] = shapely.area(dissolved[di])
        built = (part["cs"] == "CS1.1.1.1").to_numpy() & status
        expected = np.where((patch_area < 2500) & ~built, not status, status)
        assert (res.loc[part.index, "artif_seuil"].to_numpy() == expected).all()


# ----------------------------------------------------------------------------------------------
# exclude_from_connectivity (THRESHOLDS.md §4 and Q4)

ROADS = ["CS1.1.1.2/US4.1.*"]


def test_f9_roads_excluded_from_connectivity_leave_the_meadow():
    """F9 with roads out of the graph: the meadow meets the field across the frame and stays."""
    named = {"frame": ("road", ring((150, 150, 200, 230), (160, 160, 190, 220))),
             "spur": ("road", box(200, 185, 300, 195)), "meadow": ("meadow", box(160, 160, 190, 220))}
    for schedule in CHOICES_SCHEDULE:
        st, stock = run(named, schedule=schedule, exclude_from_connectivity=ROADS)
        assert st["meadow"] == ("non artif", False) and st["frame"] == ("artif", False), schedule
        assert stock == pytest.approx(3200), schedule


def test_excluded_road_links_the_land_on_its_two_sides():
    """Two 1 600 m² car parks on each side of a road: 3 200 m² across it, both stay; a road
    polygon is never judged (it keeps its matrix status even when alone and small)."""
    named = {"p1": ("parking", box(160, 160, 200, 200)), "road": ("road", box(200, 100, 210, 300)),
             "p2": ("parking", box(210, 160, 250, 200))}
    st, _ = run(named, exclude_from_connectivity=ROADS)
    assert st["p1"] == st["p2"] == ("artif", False)
    st, _ = run({"p1": ("parking", box(160, 160, 200, 200)), "road": ("road", box(200, 100, 210, 300))},
                exclude_from_connectivity=ROADS)
    assert st["p1"] == ("non artif", True) and st["road"] == ("artif", False)  # 1 600 m² alone: dropped


def test_exclusion_patterns_are_checked():
    with pytest.raises(ConfigError, match="exclude_from_connectivity"):
        ThresholdSettings(exclude_from_connectivity=["CS1.1.1.2/US4/x"])
    assert ThresholdSettings(exclude_from_connectivity="CS1.1.1.2").exclude_from_connectivity == ("CS1.1.1.2",)


def test_exclusion_matching_nothing_changes_nothing(generated):
    g = generated[2019]
    base = apply_thresholds(g)
    none = apply_thresholds(g, settings=ThresholdSettings(exclude_from_connectivity=["CS9.9/US9.9"]))
    assert (base["artif_seuil"].to_numpy() == none["artif_seuil"].to_numpy()).all()


def test_excluded_polygons_as_connectors_match_dissolved_patches(generated):
    """Independent check with geometric unions: with excluded polygons pairwise apart, a patch of
    status s is a part of the union of the s polygons and the excluded ones, its area without
    the excluded ones; excluded polygons keep their matrix status."""
    g = generated[2019].reset_index(drop=True)
    graph = patch_graph(g, adjacency="rook")
    rng = np.random.default_rng(3)
    excluded = np.zeros(len(g), dtype=bool)
    near = [set() for _ in range(len(g))]
    for a, b in zip(graph.i, graph.j, strict=True):
        near[a].add(b)
        near[b].add(a)
    for k in rng.permutation(len(g)):  # a random set of polygons, none touching another
        if rng.random() < 0.3 and not any(excluded[m] for m in near[k]):
            excluded[k] = True
    graph.excluded = excluded
    matrix = g["artif"].to_numpy(dtype=bool)
    status = run_thresholds(graph, matrix, ThresholdSettings(adjacency="rook")).status
    assert (status[excluded] == matrix[excluded]).all() and (status != matrix).any()
    geoms = np.asarray(g.geometry.values, dtype=object)
    for s in (True, False):
        members = np.flatnonzero((matrix == s) & ~excluded)
        dissolved = np.array(shapely.get_parts(shapely.union_all(geoms[(matrix == s) | excluded])), dtype=object)
        tree = shapely.STRtree(dissolved)
        pi, di = tree.query(shapely.point_on_surface(geoms[members]), predicate="intersects")
        ex_i, ex_d = tree.query(shapely.point_on_surface(geoms[excluded]), predicate="intersects")
        ex_area = np.bincount(ex_d, weights=shapely.area(geoms[excluded])[ex_i], minlength=len(dissolved))
        patch_area = np.empty(len(members))
        patch_area[pi] = shapely.area(dissolved[di]) - ex_area[di]
        built = (g["cs"].to_numpy()[members] == "CS1.1.1.1") & s
        expected = np.where((patch_area < 2500 - 1e-6) & ~built, not s, s)
        assert (status[members] == expected).all()


CHOICES_SCHEDULE = ("simultaneous", "rule1_then_rule2", "rule2_then_rule1", "fixpoint")


def test_chunked_coverage_union_is_the_union() -> None:
    """The edge of the data, united by spatial chunks, is the same point set as one union."""
    import numpy as np
    import shapely

    from ocsol.thresholds import _coverage_union, touches_edge

    rng = np.random.default_rng(7)
    pts = shapely.multipoints(rng.uniform(0, 1000, (300, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=shapely.box(0, 0, 1000, 1000)))
    cells = shapely.intersection(cells, shapely.Polygon([(0, 0), (1000, 0), (1000, 700), (500, 1000), (0, 800)]))
    cells = np.append(cells, shapely.Polygon())  # an empty part has no place on the curve
    whole = shapely.coverage_union_all(cells)
    chunked = _coverage_union(cells, chunk=17)
    assert shapely.equals(whole, chunked)
    on_edge = touches_edge(cells)
    assert 0 < on_edge.sum() < len(cells)
    assert (on_edge == touches_edge(cells, edge=whole)).all()
