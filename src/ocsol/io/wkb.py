"""WKB polygons decoded straight from Arrow buffers into flat coordinates.

shapely.from_wkb needs one Python ``bytes`` per geometry: turning an Arrow binary column into
them copies every WKB once more and costs more than GEOS's own decoding (≈ 2 µs a polygon).
These loops read little-endian 2D Polygons and MultiPolygons straight from the Arrow buffers
into the flat coordinates and offsets of ``shapely.from_ragged_array``, which builds the same
geometries. Whatever they do not read exactly as GEOS's WKB reader would — another byte order,
dimension or type, an empty polygon or ring, a ring of fewer than 4 points or not closed, a
truncated value or trailing bytes — is left to ``shapely.from_wkb``, so its errors and
repairs stay GEOS's own.

It lives in ``io`` (the readers' layer) so that :class:`ocsol.io.batches.WkbColumn` decodes
with it without importing an engine; numba is imported on first use (≈ 0.5 s at start-up).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

try:
    import numba

    HAS_NUMBA = True
except ImportError:  # pragma: no cover - numba is a dependency; wheels may lag a new Python
    HAS_NUMBA = False


def _u32(d: np.ndarray, p: int) -> int:  # pragma: no cover - compiled; little-endian uint32 at byte p
    return int(d[p]) | (int(d[p + 1]) << 8) | (int(d[p + 2]) << 16) | (int(d[p + 3]) << 24)


def _wkb_rings_count(d: np.ndarray, p: int, end: int) -> tuple[int, int, int]:  # pragma: no cover - compiled
    # one polygon's body at byte p: (rings, points, next byte), rings = -1 when not read here
    if p + 4 > end:
        return -1, 0, p
    n_rings = int(_u32(d, p))
    p += 4
    if n_rings == 0:
        return -1, 0, p
    pts = 0
    for _ in range(n_rings):
        if p + 4 > end:
            return -1, 0, p
        n = int(_u32(d, p))
        p += 4
        if n < 4 or p + 16 * n > end:  # (whether it is closed is checked on the coordinates)
            return -1, 0, p
        pts += n
        p += 16 * n
    return n_rings, pts, p


def _wkb_count_loop(data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, kind: np.ndarray, pts: np.ndarray,
                    rings: np.ndarray, parts: np.ndarray) -> None:  # pragma: no cover - compiled
    for k in range(rows.size):
        i = rows[k]
        p, end = offsets[i], offsets[i + 1]
        kind[k] = 0
        if end - p < 9 or data[p] != 1:
            continue
        t = _u32(data, p + 1)
        if t == 3:
            nr, npt, q = _wkb_rings_count(data, p + 5, end)
            if nr > 0 and q == end:
                kind[k], pts[k], rings[k], parts[k] = 3, npt, nr, 1
        elif t == 6:
            n_parts = int(_u32(data, p + 5))
            q = p + 9
            tr = 0
            tp = 0
            ok = n_parts > 0
            for _ in range(n_parts):
                if q + 5 > end or data[q] != 1 or _u32(data, q + 1) != 3:
                    ok = False
                    break
                nr, npt, q = _wkb_rings_count(data, q + 5, end)
                if nr <= 0:
                    ok = False
                    break
                tr += nr
                tp += npt
            if ok and q == end:
                kind[k], pts[k], rings[k], parts[k] = 6, tp, tr, n_parts


def _wkb_fill_loop(data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, xy: np.ndarray, ring_off: np.ndarray,
                   part_off: np.ndarray, geom_off: np.ndarray) -> None:  # pragma: no cover - compiled
    # rows all read by _wkb_count_loop (one kind); xy: the coordinates' bytes (uint8, 16 a point)
    c = 0
    r = 0
    g = 0
    ring_off[0] = part_off[0] = geom_off[0] = 0
    for k in range(rows.size):
        p = offsets[rows[k]]
        if _u32(data, p + 1) == 3:
            n_parts = 1
            p += 5
        else:
            n_parts = int(_u32(data, p + 5))
            p += 9 + 5
        for j in range(n_parts):
            if j:
                p += 5  # the part's own header
            n_rings = int(_u32(data, p))
            p += 4
            for _ in range(n_rings):
                n = int(_u32(data, p))
                p += 4
                xy[16 * c:16 * (c + n)] = data[p:p + 16 * n]
                p += 16 * n
                c += n
                r += 1
                ring_off[r] = c
            g += 1
            part_off[g] = r
        geom_off[k + 1] = g


_wkb_count_nb: Any = None
_wkb_fill_nb: Any = None
if HAS_NUMBA:
    _u32 = numba.njit(nogil=True, cache=True, inline="always")(_u32)
    _wkb_rings_count = numba.njit(nogil=True, cache=True)(_wkb_rings_count)
    _wkb_count_nb = numba.njit(nogil=True, cache=True, boundscheck=False)(_wkb_count_loop)
    _wkb_fill_nb = numba.njit(nogil=True, cache=True, boundscheck=False)(_wkb_fill_loop)


def wkb_polygons(data: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shapely geometries of WKB values ``rows`` that are little-endian 2D (Multi)Polygons.

    Parameters
    ----------
    data, offsets
        The bytes of a WKB column (``uint8``) and the ``n + 1`` offsets of its values.
    rows
        Which values to decode.

    Returns
    -------
    (geoms, read)
        An object array of ``len(rows)`` geometries, None where ``read`` is False: the values
        not read here (see the comment above :func:`_wkb_rings_count`), for ``shapely.from_wkb``.
        A value read here gives the same geometry as ``shapely.from_wkb`` (same type, rings and
        coordinates, bit for bit).
    """
    import shapely

    rows = np.asarray(rows, dtype=np.int64)
    out = np.full(len(rows), None, dtype=object)
    read = np.zeros(len(rows), dtype=bool)
    if _wkb_count_nb is None or _wkb_fill_nb is None or sys.byteorder != "little" or not len(rows):
        return out, read  # pragma: no cover - without numba (or on a big-endian machine) shapely reads all
    offsets = np.asarray(offsets, dtype=np.int64)
    kind = np.zeros(len(rows), dtype=np.int8)
    pts, rings, parts = (np.zeros(len(rows), dtype=np.int64) for _ in range(3))
    _wkb_count_nb(data, offsets, rows, kind, pts, rings, parts)
    for k, gtype in ((3, shapely.GeometryType.POLYGON), (6, shapely.GeometryType.MULTIPOLYGON)):
        sel = np.flatnonzero(kind == k)
        if not len(sel):
            continue
        xy, ring_off, part_off, geom_off = _wkb_fill(data, offsets, rows[sel], pts[sel], rings[sel], parts[sel])
        # a ring is closed as GEOS tests it: its first and last points equal as numbers
        first, last = xy[ring_off[:-1]], xy[ring_off[1:] - 1]
        open_ring = (first[:, 0] != last[:, 0]) | (first[:, 1] != last[:, 1])
        if open_ring.any():  # those polygons are left to shapely.from_wkb (it raises as it always did)
            open_geom = np.zeros(len(sel), dtype=bool)
            ring_geom = np.repeat(np.repeat(np.arange(len(sel)), np.diff(geom_off)), np.diff(part_off))
            open_geom[ring_geom[open_ring]] = True
            sel = sel[~open_geom]
            if not len(sel):
                continue
            xy, ring_off, part_off, geom_off = _wkb_fill(data, offsets, rows[sel], pts[sel], rings[sel], parts[sel])
        offs = (ring_off, part_off) if k == 3 else (ring_off, part_off, geom_off)
        out[sel] = shapely.from_ragged_array(gtype, xy, offs)
        read[sel] = True
    return out, read


def _wkb_fill(data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, pts: np.ndarray, rings: np.ndarray,
              parts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(xy, ring offsets, part offsets, geometry offsets) of WKB values ``rows``, all of one kind."""
    assert _wkb_fill_nb is not None
    xy = np.empty((int(pts.sum()), 2), dtype=np.float64)
    ring_off = np.empty(int(rings.sum()) + 1, dtype=np.int64)
    part_off = np.empty(int(parts.sum()) + 1, dtype=np.int64)
    geom_off = np.empty(len(rows) + 1, dtype=np.int64)
    _wkb_fill_nb(data, offsets, rows, xy.reshape(-1).view(np.uint8), ring_off, part_off, geom_off)
    return xy, ring_off, part_off, geom_off
