"""The adjacency graph built by chunks of query polygons is the graph of one query."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import box

from ocsol.thresholds import adjacent_pairs


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
