"""The adjacency graph built by chunks of query polygons is the graph of one query."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import box

from ocsol.thresholds import adjacent_pairs

pytestmark = pytest.mark.slow  # generated layers cut into many chunks


@pytest.mark.parametrize("adjacency", ["queen", "rook"])
def test_chunked_adjacency_is_the_brute_force_graph(adjacency: str) -> None:
    from ocsol.synthetic import generate_ocsge

    communes = gpd.GeoDataFrame(geometry=[box(0, 0, 1500, 1000)], crs="EPSG:2154")
    geoms = np.asarray(generate_ocsge(communes, n_polygons=400, seed=3)[2019].geometry.values, dtype=object)
    i, j = np.triu_indices(len(geoms), k=1)  # every pair, tested directly
    hit = shapely.intersects(geoms[i], geoms[j])
    if adjacency == "rook":
        hit[hit] = shapely.relate_pattern(geoms[i[hit]], geoms[j[hit]], "****1****")
    expected = (i[hit], j[hit])
    assert len(expected[0]) > len(geoms)  # a connected layer, not a few pairs
    for chunk in (7, 64, 100_000):
        got = adjacent_pairs(geoms, adjacency=adjacency, chunk=chunk)
        assert got[0].dtype == np.int64 and got[1].dtype == np.int64
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])


def test_hilbert_keys_are_geopandas_hilbert_distance() -> None:
    from ocsol.thresholds import _hilbert

    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 5000, (500, 2))
    geoms = shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + rng.uniform(1, 80, 500), xy[:, 1] + 30)
    expected = gpd.GeoSeries(geoms).hilbert_distance().to_numpy()
    np.testing.assert_array_equal(_hilbert(shapely.bounds(geoms)), expected)


@pytest.fixture(scope="module")
def layer() -> gpd.GeoDataFrame:
    """A generated vintage over three communes (cs, us, artif by the décret matrix), with multipolygons."""
    from ocsol import nomenclature
    from ocsol.synthetic import generate_ocsge

    communes = gpd.GeoDataFrame(geometry=[box(0, 0, 1200, 1000), box(1200, 0, 2000, 1000), box(0, 1000, 2000, 1600)],
                                crs="EPSG:2154")
    lay = generate_ocsge(communes, n_polygons=700, seed=11)[2019].rename(columns={"code_cs": "cs", "code_us": "us"})
    lay = lay[["cs", "us", "geometry"]].reset_index(drop=True)
    geoms = np.asarray(lay.geometry.values, dtype=object)
    for k in range(0, 60, 6):  # ten polygons become two-part multipolygons (a far part of another one)
        geoms[k] = shapely.MultiPolygon([geoms[k], shapely.affinity.translate(geoms[k + 300], 5000, 0)])
    lay = gpd.GeoDataFrame(lay[["cs", "us"]], geometry=geoms, crs="EPSG:2154")
    cl = nomenclature.classify(lay[["cs", "us"]].drop_duplicates(), nomenclature.load_rule("decret-2023"))
    lay["artif"] = lay[["cs", "us"]].merge(cl, on=["cs", "us"], how="left")["artif"].to_numpy(dtype=bool)
    return lay


def _wkb_frame(layer: gpd.GeoDataFrame):
    import pandas as pd

    out = pd.DataFrame(layer.drop(columns="geometry"))
    out["geometry"] = shapely.to_wkb(np.asarray(layer.geometry.values, dtype=object))
    return out


SETTINGS = [{}, {"edge_policy": "protect", "schedule": "fixpoint", "built_scope": "patch"},
            {"adjacency": "rook", "snap_m": 0.01, "exclude_from_connectivity": ["CS1.1.1.2/US4.1.*", "CS2.1.1.1"]}]


@pytest.mark.parametrize("options", SETTINGS)
def test_tiny_chunks_and_wkb_give_the_one_chunk_thresholds(layer, options, monkeypatch) -> None:
    """Chunks of 37 polygons (patches spanning many chunks), decoded from WKB: the one-chunk result, exactly."""
    from ocsol import thresholds
    from ocsol.thresholds import (
        ThresholdSettings,
        apply_thresholds,
        patch_graph,
        patches,
        single_polygons,
    )

    settings = ThresholdSettings(**options)
    whole = apply_thresholds(layer, settings=settings)  # 700 polygons: one chunk
    assert whole["crit_seuil"].sum() > 0 and len(whole) == len(layer) + 10
    monkeypatch.setattr(thresholds, "CHUNK", 37)
    # the chunking is real: some patch has polygons in several spatial chunks
    graph = patch_graph(single_polygons(layer), adjacency=settings.adjacency)
    _, lab = patches(graph, graph.area > 0)
    chunk_of = np.zeros(graph.n, dtype=int)
    for k, ids in enumerate(thresholds.spatial_chunks(graph.bounds, 37)):
        chunk_of[ids] = k
    assert chunk_of.max() > 10 and len(np.unique(chunk_of[lab == np.bincount(lab).argmax()])) > 5
    for given in (layer, _wkb_frame(layer)):
        got = apply_thresholds(given, settings=settings)
        assert got.index.equals(whole.index)
        for col in ("cs", "us", "artif", "artif_seuil", "crit_seuil"):
            np.testing.assert_array_equal(got[col].to_numpy(), whole[col].to_numpy())
        wkb = shapely.to_wkb(np.asarray(whole.geometry.values, dtype=object))
        np.testing.assert_array_equal(thresholds.geometry_values(got) if not isinstance(got, gpd.GeoDataFrame)
                                      else shapely.to_wkb(np.asarray(got.geometry.values, dtype=object)), wkb)
        assert got.attrs["thresholds"] == whole.attrs["thresholds"]


def test_tiny_chunks_and_wkb_give_the_one_chunk_effective_mesh(layer, tmp_path, monkeypatch) -> None:
    """The effective mesh (and the lines cut out) from WKB by chunks of 37: the one-chunk table, exactly."""
    import pandas as pd

    from ocsol import change, thresholds
    from ocsol.fragmentation import fragmentation_table
    from ocsol.io.territories import read_territories

    cg = gpd.GeoDataFrame({"code": ["A", "B", "C"], "dep": "D"},
                          geometry=[box(0, 0, 1200, 1000), box(1200, 0, 2000, 1000), box(0, 1000, 2000, 1600)],
                          crs="EPSG:2154")
    cg.to_file(tmp_path / "c.gpkg", driver="GPKG", engine="pyogrio")
    t = read_territories(tmp_path / "c.gpkg", code="code", levels={"dep": "dep"})
    zones = change.Zones.from_communes(t.communes)
    lines = np.array([shapely.LineString([(0, 500), (2000, 700)]), shapely.LineString([(900, 0), (1000, 1600)])])
    single = layer[layer.geometry.geom_type == "Polygon"]
    for adjacency in ("queen", "rook"):
        kw = {"barrier": "matrix", "status": "artif", "lines": lines, "adjacency": adjacency}
        whole = fragmentation_table({2019: single}, zones, t, **kw)
        assert (whole["meff_km2"] > 0).all() and len(whole) == 4
        with monkeypatch.context() as m:
            m.setattr(thresholds, "CHUNK", 37)
            for given in (single, _wkb_frame(single)):
                pd.testing.assert_frame_equal(fragmentation_table({2019: given}, zones, t, **kw), whole,
                                              check_exact=True)
