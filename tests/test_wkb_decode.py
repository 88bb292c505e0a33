"""WKB decoded from Arrow buffers (``WkbColumn.decode``) gives what ``shapely.from_wkb`` gives.

Little-endian 2D (Multi)Polygons are read by a numba loop into flat coordinates; every other
value must fall back to shapely and behave exactly as before (same geometry, same error).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import shapely

from ocsol.io.batches import WkbColumn


def _column(values: list[bytes | None]) -> WkbColumn:
    return WkbColumn(pa.array(values, type=pa.binary()))


def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if y is None:
            assert x is None
            continue
        assert shapely.get_type_id(x) == shapely.get_type_id(y)
        assert shapely.to_wkb(x, byte_order=1) == shapely.to_wkb(y, byte_order=1)  # bit for bit


def _random_polygons(rng: np.random.Generator, n: int) -> list[shapely.Geometry]:
    out = []
    for k in range(n):
        x, y = rng.uniform(0, 1e6, 2)
        shell = shapely.Point(x, y).buffer(rng.uniform(5, 50), quad_segs=int(rng.integers(1, 9)))
        if k % 3 == 0:  # a hole
            shell = shell.difference(shapely.Point(x, y).buffer(1.0))
        if k % 5 == 0:  # a MultiPolygon of two parts, the second with a hole
            other = shapely.Point(x + 200, y).buffer(20).difference(shapely.Point(x + 200, y).buffer(2))
            shell = shapely.MultiPolygon([shell, other])
        if k % 7 == 0:  # a bow tie: invalid, decoded as is (repair is the engine's business)
            shell = shapely.Polygon([(x, y), (x + 10, y + 10), (x + 10, y), (x, y + 10), (x, y)])
        out.append(shell)
    return out


def test_random_polygons_decode_bit_for_bit() -> None:
    rng = np.random.default_rng(13)
    geoms = _random_polygons(rng, 500)
    geoms[3] = shapely.Polygon([(0.0, -0.0), (1, 0), (1, 1), (-0.0, 0.0)])  # -0.0 kept as read
    values = [shapely.to_wkb(g, byte_order=1) for g in geoms]
    w = _column(values)
    ref = shapely.from_wkb(np.array(values, dtype=object))
    _same(w.decode(), ref)
    idx = np.array([499, 0, 7, 7, 250, 5])
    _same(w.decode(idx), ref[idx])


def test_values_not_read_by_the_kernel_fall_back_to_shapely() -> None:
    poly = shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)])
    values: list[bytes | None] = [
        shapely.to_wkb(poly, byte_order=1),
        shapely.to_wkb(poly, byte_order=0),  # big-endian
        shapely.to_wkb(shapely.force_3d(poly, 2.0), byte_order=1),  # 3D
        shapely.to_wkb(shapely.Polygon(), byte_order=1),  # empty
        shapely.to_wkb(shapely.MultiPolygon(), byte_order=1),  # empty multi
        shapely.to_wkb(shapely.LineString([(0, 0), (1, 1)]), byte_order=1),  # another type
        shapely.to_wkb(shapely.set_srid(poly, 2154), byte_order=1, include_srid=True),  # EWKB with an SRID
        None,  # missing
        shapely.to_wkb(shapely.MultiPolygon([poly, shapely.box(10, 10, 11, 11)]), byte_order=1),
    ]
    w = _column(values)
    got = w.decode()
    ref = np.array([None if v is None else shapely.from_wkb(v) for v in values], dtype=object)
    _same(got, ref)
    assert shapely.get_srid(got[6]) == shapely.get_srid(ref[6])


def test_malformed_polygons_behave_as_in_shapely() -> None:
    ok = shapely.to_wkb(shapely.box(0, 0, 1, 1), byte_order=1)
    unclosed = bytearray(ok)
    unclosed[-16:-8] = np.float64(0.5).tobytes()  # last point's x no longer equals the first's
    nan = bytearray(ok)
    nan[-16:-8] = nan[-80:-72] = np.float64("nan").tobytes()  # first and last x NaN: not equal as numbers
    three = bytearray(ok[:9]) + np.uint32(3).tobytes() + ok[13:13 + 32] + ok[13:13 + 16]  # a ring of 3 points
    raised = 0
    for bad in (bytes(unclosed), bytes(nan), bytes(three), ok[:-3], ok + b"\x00"):
        try:
            expected = shapely.from_wkb(bad)
        except shapely.errors.GEOSException as exc:
            raised += 1
            with pytest.raises(type(exc)):
                _column([ok, bad]).decode()
        else:
            _same(_column([ok, bad]).decode(), np.array([shapely.from_wkb(ok), expected], dtype=object))
    assert raised >= 3  # unclosed, NaN and truncated rings are errors for GEOS
