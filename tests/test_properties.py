"""Accounting invariants as properties, on random tessellations and random reclassifications.

Communes are random vertical strips of a 300 m × 200 m rectangle grouped into random EPCI; each
vintage is a random grid of cells (its own breakpoints, so cells straddle communes) with random
(CS, US) couples. Whatever the draw:

- the stocks of a full vintage sum to the commune areas (area conserved, 1e-6 relative);
- transition matrix margins equal the two stocks, per commune and couple;
- parents equal the sum of their communes, in every table;
- results do not depend on the order of the polygons, nor on splitting a change layer into files.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocsol import change, indicators, nomenclature
from ocsol.io.ocsge import read_ocsge_diff
from ocsol.territories import Territories

pytestmark = pytest.mark.slow  # hypothesis: many generated worlds through the engines

W, H = 300, 200
CRS = "EPSG:2154"
COUPLES = [("CS2.2.1", "US1.1"), ("CS2.1.1.1", "US1.2"), ("CS1.1.1.1", "US5"), ("CS2.2.1", "US5"),
           ("CS1.1.1.2", "US4.1.1"), ("CS2.2.2", "US6.3")]
RULE = nomenclature.load_rule("decret-2023")
SETTINGS = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
TOL = 1e-6


def cuts(n_max: int, size: int):
    return st.lists(st.integers(1, size - 1), min_size=0, max_size=n_max, unique=True).map(
        lambda xs: [0, *sorted(xs), size])


@st.composite
def worlds(draw):
    xs = draw(cuts(3, W))
    n = len(xs) - 1
    epci = draw(st.lists(st.sampled_from(["E1", "E2"]), min_size=n, max_size=n))
    codes = [f"{i + 1:05d}" for i in range(n)]
    geoms = [shapely.box(xs[i], 0, xs[i + 1], H) for i in range(n)]
    communes = gpd.GeoDataFrame({"code": codes, "name": codes, "area_m2": [g.area for g in geoms]},
                                geometry=geoms, crs=CRS)
    terr = Territories(
        communes=communes, membership=pd.DataFrame({"code": codes, "epci": epci}), levels=("epci",),
        names=pd.concat([pd.DataFrame({"level": "commune", "code": codes, "name": codes}),
                         pd.DataFrame({"level": "epci", "code": sorted(set(epci)), "name": sorted(set(epci))})],
                        ignore_index=True),
    )
    v1 = draw(grids())
    same_grid = draw(st.booleans())
    if same_grid:  # identical polygons, random reclassification: the matched path
        k = len(v1)
        idx = draw(st.lists(st.integers(0, len(COUPLES) - 1), min_size=k, max_size=k))
        v2 = v1.assign(cs=[COUPLES[i][0] for i in idx], us=[COUPLES[i][1] for i in idx])
    else:  # another tessellation: the overlay path
        v2 = draw(grids())
    perm = draw(st.permutations(range(len(v2))))
    return terr, v1, v2, list(perm)


@st.composite
def grids(draw):
    xs, ys = draw(cuts(4, W)), draw(cuts(3, H))
    cells = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(len(xs) - 1) for j in range(len(ys) - 1)]
    idx = draw(st.lists(st.integers(0, len(COUPLES) - 1), min_size=len(cells), max_size=len(cells)))
    return gpd.GeoDataFrame({"cs": [COUPLES[i][0] for i in idx], "us": [COUPLES[i][1] for i in idx]},
                            geometry=cells, crs=CRS)


def _classes(*layers):
    pairs = pd.concat([pd.DataFrame({"cs": lay["cs"], "us": lay["us"]}) for lay in layers]).drop_duplicates()
    return nomenclature.classify(pairs, RULE)


def _sum(df: pd.DataFrame, keys: list[str]) -> pd.Series:
    return df.groupby(keys)["area_m2"].sum().sort_index()


def _close(a: pd.Series, b: pd.Series) -> None:
    a, b = a[a.abs() > 1e-9], b[b.abs() > 1e-9]
    assert list(a.index) == list(b.index)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=TOL, atol=1e-6)


@SETTINGS
@given(worlds())
def test_areas_conserved_and_margins_equal_stocks(world):
    terr, v1, v2, _ = world
    res = change.compare_vintages(v1, v2, terr.communes, vintage_from=2019, vintage_to=2022)
    areas = terr.communes.set_index("code")["area_m2"].sort_index()
    for s in (res.stock_from, res.stock_to):
        got = s.groupby("code")["area_m2"].sum().sort_index()
        np.testing.assert_allclose(got.to_numpy(), areas.loc[got.index].to_numpy(), rtol=TOL)
        assert list(got.index) == list(areas.index)
    tr = res.transitions
    assert tr["area_m2"].sum() == pytest.approx(W * H, rel=TOL)
    _close(_sum(tr.rename(columns={"cs_from": "cs", "us_from": "us"}), ["code", "cs", "us"]),
           _sum(res.stock_from, ["code", "cs", "us"]))
    _close(_sum(tr.rename(columns={"cs_to": "cs", "us_to": "us"}), ["code", "cs", "us"]),
           _sum(res.stock_to, ["code", "cs", "us"]))


@SETTINGS
@given(worlds())
def test_parents_are_sums_of_children_and_accounts_close(world):
    terr, v1, v2, _ = world
    res = change.compare_vintages(v1, v2, terr.communes, vintage_from=2019, vintage_to=2022)
    stock_p = pd.concat([res.stock_from, res.stock_to], ignore_index=True)
    t = indicators.build_tables(stock_p, res.transitions, _classes(v1, v2), terr, full_pairs=[(2019, 2022)])
    epci = terr.membership.set_index("code")["epci"]
    for name, keys, values in (
        ("stock", ["vintage", "cs", "us"], ["area_ha"]),
        ("stock_summary", ["vintage"], ["area_ha", "artif_ha", "imper_ha"]),
        ("flows", ["vintage_from", "vintage_to"], ["artif_ha", "desartif_ha", "net_artif_ha", "imper_ha"]),
        ("transitions", ["vintage_from", "vintage_to", "cs_from", "us_from", "cs_to", "us_to"], ["area_ha"]),
    ):
        df = getattr(t, name)
        com = df[df["level"] == "commune"]
        summed = com.assign(code=com["code"].map(epci)).groupby(["code", *keys])[values].sum().sort_index()
        par = df[df["level"] == "epci"].set_index(["code", *keys])[values].sort_index()
        np.testing.assert_allclose(summed.loc[par.index].to_numpy(), par.to_numpy(), rtol=TOL, atol=1e-9)
        assert set(summed.index) == set(par.index), name
    la = t.land_account
    np.testing.assert_allclose(la["closing_ha"], la["opening_ha"] + la["additions_ha"] - la["reductions_ha"],
                               atol=1e-9)
    ss = t.stock_summary.set_index(["level", "code", "vintage"])["artif_ha"]
    for r in t.flows.itertuples():
        assert r.net_artif_ha == pytest.approx(ss[(r.level, r.code, 2022)] - ss[(r.level, r.code, 2019)], abs=1e-6)


@SETTINGS
@given(worlds())
def test_independent_of_row_order(world):
    terr, v1, v2, perm = world
    a = change.compare_vintages(v1, v2, terr.communes, vintage_from=2019, vintage_to=2022)
    shuffled = v2.iloc[perm].reset_index(drop=True)
    reversed_communes = terr.communes.iloc[::-1].reset_index(drop=True)
    b = change.compare_vintages(v1.iloc[::-1].reset_index(drop=True), shuffled, reversed_communes,
                                vintage_from=2019, vintage_to=2022)
    for x, y, keys in ((a.stock_from, b.stock_from, ["code", "cs", "us"]), (a.stock_to, b.stock_to, ["code", "cs", "us"]),
                       (a.transitions, b.transitions, ["code", "cs_from", "us_from", "cs_to", "us_to"])):
        _close(_sum(x, keys), _sum(y, keys))


def _diff_layer(v1: gpd.GeoDataFrame, v2: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The change layer of two vintages: their overlay, only where the couple changes."""
    ov = gpd.overlay(v1.rename(columns={"cs": "cs_2019", "us": "us_2019"}),
                     v2.rename(columns={"cs": "cs_2022", "us": "us_2022"}), how="intersection", keep_geom_type=True)
    ov = ov[(ov["cs_2019"] != ov["cs_2022"]) | (ov["us_2019"] != ov["us_2022"])]
    return ov[ov.geometry.area > 1e-6].reset_index(drop=True)


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(worlds(), st.integers(1, 3))
def test_change_layer_split_into_files_gives_the_same_pieces(tmp_path_factory, world, n_files):
    terr, v1, v2, perm = world
    diff = _diff_layer(v1, v2)
    if not len(diff):
        return
    folder = tmp_path_factory.mktemp("diff")
    paths = []
    order = np.random.default_rng(len(perm)).permutation(len(diff))
    for i, chunk in enumerate(np.array_split(order, n_files)):
        if len(chunk):
            diff.iloc[chunk].to_file(folder / f"part{i}.gpkg")
            paths.append(folder / f"part{i}.gpkg")
    diff.to_file(folder / "whole.gpkg")
    whole, _ = read_ocsge_diff(folder / "whole.gpkg", vintage_from=2019, vintage_to=2022)
    parts, _ = read_ocsge_diff(paths, vintage_from=2019, vintage_to=2022)
    keys = ["code", "cs_from", "us_from", "cs_to", "us_to"]
    a, _ = change.diff_pieces(whole, terr.communes, vintage_from=2019, vintage_to=2022)
    b, _ = change.diff_pieces(parts, terr.communes, vintage_from=2019, vintage_to=2022)
    _close(_sum(a, keys), _sum(b, keys))
    # and the change layer agrees with the overlay of the two full vintages
    full = change.compare_vintages(v1, v2, terr.communes, vintage_from=2019, vintage_to=2022).transitions
    changed = full[(full["cs_from"] != full["cs_to"]) | (full["us_from"] != full["us_to"])]
    _close(_sum(a, keys), _sum(changed, keys))


def test_every_polygon_unchanged_in_geometry_only_reclassified():
    """Regression: when every polygon matched an identical one, match_identical wrote into a read-only array."""
    grid = gpd.GeoDataFrame({"cs": ["CS2.2.1", "CS1.1.1.1"], "us": ["US1.1", "US5"]},
                            geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=CRS)
    communes = gpd.GeoDataFrame({"code": ["00001"]}, geometry=[shapely.box(0, 0, 200, 100)], crs=CRS)
    res = change.compare_vintages(grid, grid.assign(cs=["CS1.1.1.1", "CS1.1.1.1"]), communes,
                                  vintage_from=2019, vintage_to=2022)
    assert res.matched == 2 and res.overlaid == 0
    assert res.transitions["area_m2"].sum() == pytest.approx(20_000.0)
