"""Fast OCS GE reading: Arrow batches, only the code fields, GeoParquet without conversion."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from ocsol.io.ocsge import read_ocsge


def _layer(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1e4, n)
    return gpd.GeoDataFrame(
        {"ID": [f"SYNTH{i}" for i in range(n)], "code_cs": ["CS2.2.1"] * n, "code_us": [" US1.1 "] * n,
         "extra": np.arange(n)},
        geometry=shapely.box(x, x, x + 5, x + 5), crs="EPSG:2154",
    )


def test_batches_equal_one_read(tmp_path, monkeypatch):
    layer = _layer(2500)
    layer.to_file(tmp_path / "v.gpkg", engine="pyogrio")
    from ocsol.io import vector

    real = vector._read_batches
    monkeypatch.setattr(vector, "_read_batches", lambda p, **kw: real(p, **{**kw, "batch_size": 300}))
    got, repaired = read_ocsge(tmp_path / "v.gpkg")
    assert repaired == 0 and list(got.columns) == ["cs", "us", "geometry"]
    assert (got["us"] == "US1.1").all() and len(got) == 2500
    assert shapely.equals_exact(got.geometry.values, layer.geometry.values, tolerance=0).all()  # order kept


def test_geoparquet_with_another_geometry_name(tmp_path):
    layer = _layer(50).rename_geometry("geom")
    layer.to_parquet(tmp_path / "v.parquet")
    got, _ = read_ocsge(tmp_path / "v.parquet")
    assert list(got.columns) == ["cs", "us", "geometry"] and len(got) == 50
    assert got.crs.to_epsg() == 2154
