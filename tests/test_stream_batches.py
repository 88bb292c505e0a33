"""Streamed vintages (issue 13): the tables do not depend on the batch size nor on the format.

The vintages are read by Arrow batches; the old one is decoded batch by batch, the new one is
paired from its WKB. A run with batches of 7 polygons must write the same bytes as a run with
the whole layer in one batch, from GeoPackage and from GeoParquet, and agree with the engine on
layers held in memory. The new vintage carries what exercises every branch of the pairing:
rings written from another start vertex or reversed (same polygon, other WKB bytes), a polygon
repeated twice, an invalid polygon repaired in both vintages.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ocsol import change, kernels
from ocsol.io.ocsge import read_ocsge
from ocsol.pipeline import compute, write_results
from ocsol.synthetic import generate_ocsge

DATA = Path(__file__).resolve().parents[1] / "data" / "cvl"
TABLES = ["stock_summary", "stock", "flows", "transitions", "land_account", "qa"]


def _turned(p: shapely.Polygon, k: int, reverse: bool) -> shapely.Polygon:
    ring = np.asarray(p.exterior.coords)[:-1]
    ring = np.roll(ring, -k, axis=0)[::-1 if reverse else 1]
    return shapely.Polygon(np.vstack([ring, ring[:1]]), [h.coords for h in p.interiors])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("stream")
    c = gpd.read_file(DATA / "communes_blois.gpkg")
    communes = c[c["CODE_INSEE"].isin(["41018", "41047", "41276", "41212"])].reset_index(drop=True)
    communes[["CODE_INSEE", "NOM", "geometry"]].to_file(d / "communes.gpkg")
    layers = generate_ocsge(communes, n_polygons=300, change_rate=0.15, seed=13, vertices=(8, 20))
    v1, v2 = layers[2019].copy(), layers[2022].copy()
    # an invalid polygon (a bow tie) in both vintages, in place of a small one
    small = int(v1.area.idxmin())
    x0, y0, x1, y1 = v1.geometry.iloc[small].bounds
    tie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)])
    v1.loc[small, "geometry"] = tie
    v2.loc[v2["ID"] == v1.loc[small, "ID"], "geometry"] = tie
    # the same polygons written from another start vertex, some reversed
    same = v2["ID"].isin(v1["ID"]).to_numpy().nonzero()[0]
    for k, i in enumerate(same[::5]):
        g = v2.geometry.iloc[i]
        if g.geom_type == "Polygon" and g.is_valid:
            v2.loc[v2.index[i], "geometry"] = _turned(g, k % 3 + 1, k % 2 == 0)
    # one polygon repeated in the new vintage (an overlap: for the engine only, the pipeline refuses it)
    dup = gpd.GeoDataFrame(pd.concat([v2, v2.iloc[[same[3]]]], ignore_index=True), geometry="geometry", crs=v1.crs)
    dup.to_parquet(d / "ocsge_2022_dup.parquet")
    for year, layer in ((2019, v1), (2022, v2)):
        layer.to_file(d / f"ocsge_{year}.gpkg")
        layer.to_parquet(d / f"ocsge_{year}.parquet")
    head = '[territories]\npath = "communes.gpkg"\ncode = "CODE_INSEE"\nname = "NOM"\n'
    for fmt in ("gpkg", "parquet"):
        for rows in (7, 100_000):
            (d / f"{fmt}_{rows}.toml").write_text(
                head + f"[ocsge]\nbatch_rows = {rows}\n[ocsge.vintages]\n2019 = \"ocsge_2019.{fmt}\"\n"
                f"2022 = \"ocsge_2022.{fmt}\"\n", encoding="utf-8")
    return d


def _run(config: Path, out: Path) -> dict[str, bytes]:
    write_results(compute(config), out)
    files = {p.name: p.read_bytes() for p in sorted(out.glob("*.csv")) if p.name != "provenance.csv"}
    changes = gpd.read_file(out / "changes.gpkg")
    files["changes"] = changes.drop(columns="geometry").to_csv(index=False).encode()
    files["changes_wkb"] = b"".join(shapely.to_wkb(changes.geometry.values))
    return files


@pytest.mark.slow  # whole pipeline run twice, every table written
def test_small_batches_write_the_same_bytes(inputs, tmp_path):
    runs = {name: _run(inputs / f"{name}.toml", tmp_path / name)
            for name in ("gpkg_7", "gpkg_100000", "parquet_7", "parquet_100000")}
    assert {t + ".csv" for t in TABLES} <= set(runs["gpkg_7"])
    assert runs["gpkg_7"] == runs["gpkg_100000"]
    assert runs["parquet_7"] == runs["parquet_100000"]
    tables = {k: v for k, v in runs["gpkg_7"].items() if k != "qa.csv"}  # qa names the files
    assert tables == {k: v for k, v in runs["parquet_7"].items() if k != "qa.csv"}
    qa = pd.read_csv(tmp_path / "gpkg_7" / "qa.csv", dtype=str)
    repaired = qa[qa["key"] == "ocsge.repaired_vintage"]
    assert sorted(repaired["count"].astype(int)) == [1, 1]  # the bow tie, once per vintage


def test_stream_agrees_with_layers_in_memory(inputs):
    """The streamed pairing against the engine on layers read whole (independent pairing by
    ``equals_exact`` on the decoded geometries)."""
    from ocsol.io.ocsge import OcsgeStream

    communes = gpd.read_file(inputs / "communes.gpkg").rename(columns={"CODE_INSEE": "code"})
    zones = change.Zones.from_communes(communes)
    v1, _ = read_ocsge(inputs / "ocsge_2019.gpkg")
    single = None
    for name in ("ocsge_2022", "ocsge_2022_dup"):
        v2, _ = read_ocsge(inputs / f"{name}.parquet")
        whole = change.compare_vintages(v1, v2, zones, vintage_from=2019, vintage_to=2022)
        streamed = change.compare_vintages(OcsgeStream(inputs / "ocsge_2019.parquet", batch_size=11),
                                           OcsgeStream(inputs / f"{name}.parquet", batch_size=11), zones,
                                           vintage_from=2019, vintage_to=2022, crs=v1.crs)
        assert streamed.matched == whole.matched > 0.7 * len(v1)
        assert streamed.overlaid == whole.overlaid
        for table in ("stock_from", "stock_to", "transitions"):
            pd.testing.assert_frame_equal(getattr(whole, table), getattr(streamed, table), check_exact=False,
                                          rtol=1e-12, atol=1e-6)
        assert streamed.repaired == {"from": 1, "to": 1}
        pd.testing.assert_frame_equal(whole.changes.drop(columns="geometry"), streamed.changes.drop(columns="geometry"),
                                      check_exact=False, rtol=1e-12, atol=1e-6)
        if single is not None:  # the repeated polygon pairs with nothing: it and its old twin are overlaid
            assert streamed.matched == single.matched - 1 and streamed.overlaid == single.overlaid + 1
        single = streamed


def test_wkb_scan_reads_like_vertex_hash():
    rng = np.random.default_rng(3)
    geoms = [shapely.Polygon(rng.uniform(0, 100, (7, 2))).buffer(2) for _ in range(50)]
    geoms += [shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 4, 4).difference(shapely.box(3, 3, 3.5, 3.5))]),
              shapely.box(-0.0, 0.0, 1.0, 1.0), shapely.box(0.0, 0.0, 1.0, 1.0)]
    g = np.array(geoms, dtype=object)
    data = shapely.to_wkb(g)
    offsets = np.r_[0, np.cumsum([len(b) for b in data])]
    h, n, kind = kernels.wkb_scan(np.frombuffer(b"".join(data), dtype=np.uint8), offsets)
    assert (h == kernels._vertex_hash_coords(g)).all()  # the same numbers as from the coordinates
    assert (n == shapely.get_num_coordinates(g)).all()
    # vertex_hash goes through WKB; a 3D polygon, an empty one and a missing one through the coordinates
    z = shapely.Polygon([(0, 0, 5), (1, 0, 5), (1, 1, 5)])
    extra = np.array([*g, z, shapely.Polygon(), None], dtype=object)
    assert (kernels.vertex_hash(extra) == kernels._vertex_hash_coords(extra)).all()
    assert kernels.vertex_hash(extra)[-3] == kernels.vertex_hash(np.array([shapely.force_2d(z)]))[0]
    assert set(kind) == {3, 6}
    assert h[-1] == h[-2]  # -0.0 and 0.0 are the same coordinate
    big = shapely.to_wkb(g[:2], byte_order=0)  # big-endian: left to shapely
    _, _, kind = kernels.wkb_scan(np.frombuffer(b"".join(big), dtype=np.uint8), np.r_[0, np.cumsum([len(b) for b in big])])
    assert (kind == -1).all()


def test_polygon_header_agrees_with_shapely():
    """The reader's header check says "non-empty 2D polygon" only when shapely agrees; every
    other value (missing, empty, another type, byte order or dimension) is decoded and checked."""
    import pyarrow as pa

    from ocsol.io.batches import WkbColumn

    box = shapely.box(0, 0, 1, 1)
    geoms = [box, shapely.MultiPolygon([box, shapely.box(2, 2, 3, 3)]), shapely.Polygon(), shapely.MultiPolygon(),
             shapely.MultiPolygon([shapely.Polygon(), box]), shapely.Point(0, 0), None,
             shapely.Polygon([(0, 0, 1), (1, 0, 1), (1, 1, 1)]), shapely.LineString([(0, 0), (1, 1)])]
    # a multipolygon whose first part is empty (written by hand: shapely drops empty parts)
    empty_first = (b"\x01\x06\x00\x00\x00\x02\x00\x00\x00" + b"\x01\x03\x00\x00\x00\x00\x00\x00\x00"
                   + shapely.to_wkb(box, byte_order=1))
    values = [None if g is None else shapely.to_wkb(g) for g in geoms] + [shapely.to_wkb(box, byte_order=0),
                                                                         empty_first]
    head = WkbColumn(pa.array(values, pa.binary())).polygon_header()
    assert head.tolist() == [True, True, False, False, True, False, False, False, False, False, False]
    assert not shapely.is_empty(shapely.from_wkb(empty_first))  # decoded by the reader, then accepted
    said = np.flatnonzero(head)
    g = shapely.from_wkb(np.array(values, dtype=object)[said])
    assert (np.isin(shapely.get_type_id(g), [3, 6]) & ~shapely.is_empty(g)).all()


@pytest.mark.parametrize("fmt", ["gpkg", "parquet"])
def test_invalid_polygon_in_a_file_is_repaired_and_counted(inputs, tmp_path, fmt):
    """The bow tie of both vintages, read from the file: repaired before its area is used (its
    raw area is 0, the repaired one half its box) and counted once per vintage in qa.csv."""
    out = tmp_path / fmt
    write_results(compute(inputs / f"{fmt}_7.toml"), out)
    qa = pd.read_csv(out / "qa.csv", dtype=str)
    repaired = qa[qa["key"] == "ocsge.repaired_vintage"]
    assert sorted(repaired["count"].astype(int)) == [1, 1]
    v1 = gpd.read_file(inputs / "ocsge_2019.gpkg")
    raw = v1.geometry.values
    tie = np.flatnonzero(~shapely.is_valid(raw))
    assert len(tie) == 1 and shapely.area(raw[tie[0]]) == 0
    repaired = raw.copy()
    repaired[tie[0]] = shapely.make_valid(raw[tie[0]])
    assert shapely.area(repaired[tie[0]]) > 100  # m²: far above the tolerance below
    # the stock of the old vintage holds the repaired area: the layer's area with the repaired tie
    stock = pd.read_csv(out / "stock.csv", dtype={"code": str})
    total = stock.loc[(stock["level"] == "commune") & (stock["vintage"] == 2019), "area_ha"].sum() * 1e4
    communes = gpd.read_file(inputs / "communes.gpkg")
    inside = shapely.area(shapely.intersection(repaired, shapely.union_all(communes.geometry.values)))
    assert total == pytest.approx(inside.sum(), rel=1e-9, abs=1.0)
