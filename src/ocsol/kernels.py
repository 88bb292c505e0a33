"""Compiled inner loops (numba, ``nogil``): the raster pair counter, the polygon vertex hash and
the area of the intersection of two polygons.

All run without the GIL, so the thread pools of :mod:`ocsol.crosstab` and :mod:`ocsol.change`
use every core. The counters and the hash have a NumPy twin giving the same numbers, used when
numba is missing (a platform without wheels) and by the tests to check the compiled loop;
without numba the area kernel answers nothing and GEOS cuts every polygon.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np

log = logging.getLogger(__name__)

try:
    import numba

    HAS_NUMBA = True
except ImportError:  # pragma: no cover - numba is a dependency; wheels may lag a new Python
    HAS_NUMBA = False


_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(fn: _F) -> _F | None:
    if not HAS_NUMBA:  # pragma: no cover
        return None
    return cast("_F", numba.njit(nogil=True, cache=True, boundscheck=False)(fn))


# -- raster: (zone, value_from, value_to) bins --------------------------------------------------
def _pair_bins_loop(zone: np.ndarray, a: np.ndarray, b: np.ndarray, weights: np.ndarray, v: int, n_bins: int,
                    counts: np.ndarray, sums: np.ndarray) -> None:  # pragma: no cover - compiled
    # A run of pixels with the same bin (a field, the sea…) is counted in registers and stored
    # once: the weights are still added one by one in pixel order, so the sums are the same
    # bit for bit as one ``sums[k] += weights[i]`` per pixel.
    if a.size == 0:
        return
    v2 = v * v
    has_zone = zone.size > 0
    has_w = weights.size > 0
    run_k = np.int64(-1)
    run_n = 0
    run_s = 0.0
    for i in range(a.size):
        k = np.int64(a[i]) * v + np.int64(b[i])
        if has_zone:
            k += np.int64(zone[i]) * v2
        if k != run_k:
            if run_k >= 0:
                counts[run_k] += run_n
                if has_w:
                    sums[run_k] = run_s
            run_k = k
            run_n = 0
            if has_w:
                run_s = sums[k]
        run_n += 1
        if has_w:
            run_s += weights[i]
    counts[run_k] += run_n
    if has_w:
        sums[run_k] = run_s


def _pair_bins_rows_loop(zone: np.ndarray, a: np.ndarray, b: np.ndarray, row_weights: np.ndarray, v: int,
                         counts: np.ndarray, sums: np.ndarray) -> None:  # pragma: no cover - compiled
    # 2-D twin of _pair_bins_loop with one weight per row (geographic rasters): the same
    # additions in the same order, without a weight array the size of the window.
    v2 = v * v
    has_zone = zone.size > 0
    h, w = a.shape
    run_k = np.int64(-1)
    run_n = 0
    run_s = 0.0
    for r in range(h):
        wr = row_weights[r]
        for c in range(w):
            k = np.int64(a[r, c]) * v + np.int64(b[r, c])
            if has_zone:
                k += np.int64(zone[r, c]) * v2
            if k != run_k:
                if run_k >= 0:
                    counts[run_k] += run_n
                    sums[run_k] = run_s
                run_k = k
                run_n = 0
                run_s = sums[k]
            run_n += 1
            run_s += wr
    if run_k >= 0:
        counts[run_k] += run_n
        sums[run_k] = run_s


def _zone_row_counts_loop(zone: np.ndarray, m: int, out: np.ndarray) -> None:  # pragma: no cover - compiled
    # zones cover long runs of a row: count runs, one store per run
    h, w = zone.shape
    for r in range(h):
        cur = zone[r, 0]
        run = 0
        for c in range(w):
            z = zone[r, c]
            if z != cur:
                if cur < m:
                    out[cur, r] += run
                cur = z
                run = 0
            run += 1
        if w > 0 and cur < m:
            out[cur, r] += run


def _burn_zones_loop(xs: np.ndarray, ys: np.ndarray, ring_off: np.ndarray, geom_ring: np.ndarray, cand: np.ndarray,
                     a: float, c: float, e: float, f: float, eps: float, w: int, out: np.ndarray,
                     rows: np.ndarray) -> bool:  # pragma: no cover - compiled
    # GDAL's polygon scanline fill (llrasterize.cpp, pixel-centre rule): for each row y, the
    # crossings of the line y + 0.5 with every edge of every ring of the geometry (an edge
    # counts where dy1 <= y + 0.5 < dy2) are rounded as floor(x + 0.5), sorted, and filled in
    # pairs [x0, x1 - 1]. Geometries are burnt in order, the last one wins. Returns False as
    # soon as a vertex or a crossing lies within the rounding margin of a pixel centre: there
    # GDAL's own arithmetic decides, and the caller hands the window to GDAL.
    # ``rows[label, r]`` gets the pixels of each label in row r; ``out`` (unless it is 0 × 0)
    # the labels themselves.
    h = rows.shape[1]
    m = cand.size
    has_img = out.shape[0] > 0
    # pixel coordinates of the candidates' vertices
    nv = 0
    for jj in range(m):
        nv += ring_off[geom_ring[cand[jj] + 1]] - ring_off[geom_ring[cand[jj]]]
    px = np.empty(nv)
    py = np.empty(nv)
    base = np.empty(m + 1, np.int64)
    base[0] = 0
    for jj in range(m):
        g = cand[jj]
        v0 = ring_off[geom_ring[g]]
        v1 = ring_off[geom_ring[g + 1]]
        o = base[jj]
        for k in range(v0, v1):
            y = (ys[k] - f) / e
            px[o + k - v0] = (xs[k] - c) / a
            py[o + k - v0] = y
            r = np.floor(y)
            if r >= 0 and r < h and abs(y - r - 0.5) <= eps:
                return False
        base[jj + 1] = o + v1 - v0
    # crossings per (candidate, row), CSR; two passes over the edges
    cnt = np.zeros(m * h + 1, np.int64)
    for step in range(2):
        if step == 1:
            for i in range(m * h):
                cnt[i + 1] += cnt[i]
            xsec = np.empty(cnt[m * h])
            fill = cnt[:m * h].copy()
        for jj in range(m):
            g = cand[jj]
            shift = base[jj] - ring_off[geom_ring[g]]
            for r_ in range(geom_ring[g], geom_ring[g + 1]):
                for k in range(ring_off[r_] + shift, ring_off[r_ + 1] - 1 + shift):
                    y1 = py[k]
                    y2 = py[k + 1]
                    if y1 == y2:
                        continue
                    if y1 < y2:
                        dx1, dy1, dx2, dy2 = px[k], y1, px[k + 1], y2
                    else:
                        dx1, dy1, dx2, dy2 = px[k + 1], y2, px[k], y1
                    r0 = int(max(np.floor(dy1 - 0.5) + 1, 0.0))
                    r1 = int(min(np.ceil(dy2 - 0.5) - 1, h - 1.0))
                    if r1 < r0:
                        continue
                    if step == 0:
                        for r in range(r0, r1 + 1):
                            cnt[jj * h + r + 1] += 1
                        continue
                    margin = eps * (2.0 + 2.0 * abs(dx2 - dx1) / (dy2 - dy1))
                    for r in range(r0, r1 + 1):
                        t = (r + 0.5 - dy1) * (dx2 - dx1) / (dy2 - dy1) + dx1 + 0.5
                        if t >= -1.0 and t <= w + 1.0 and abs(t - np.floor(t + 0.5)) <= margin:
                            return False
                        xsec[fill[jj * h + r]] = min(max(np.floor(t), -1.0), w + 1.0)
                        fill[jj * h + r] += 1
    # rows: spans in burn order, counted per label (overlapping spans: from the burnt row)
    span0 = np.empty(cnt[m * h] // 2 + 1, np.int64)
    span1 = np.empty(cnt[m * h] // 2 + 1, np.int64)
    spanl = np.empty(cnt[m * h] // 2 + 1, np.int64)
    rowbuf = np.zeros(w, np.int64)
    for r in range(h):
        ns = 0
        for jj in range(m):
            lo = cnt[jj * h + r]
            hi = cnt[jj * h + r + 1]
            if (hi - lo) % 2:
                return False  # odd crossings: a degenerate ring; GDAL decides
            for i in range(lo + 1, hi):  # insertion sort (few crossings per row)
                v = xsec[i]
                j = i - 1
                while j >= lo and xsec[j] > v:
                    xsec[j + 1] = xsec[j]
                    j -= 1
                xsec[j + 1] = v
            for i in range(lo, hi, 2):
                s0 = int(max(xsec[i], 0.0))
                s1 = int(min(xsec[i + 1], float(w)))
                if s1 > s0:
                    span0[ns] = s0
                    span1[ns] = s1
                    spanl[ns] = jj + 1
                    ns += 1
                    if has_img:
                        out[r, s0:s1] = jj + 1
        overlap = False
        for i in range(ns):
            for j in range(i + 1, ns):
                if span0[i] < span1[j] and span0[j] < span1[i]:
                    overlap = True
        if not overlap:
            total = 0
            for i in range(ns):
                rows[spanl[i], r] += span1[i] - span0[i]
                total += span1[i] - span0[i]
            rows[0, r] += w - total
        else:
            rowbuf[:] = 0
            for i in range(ns):
                rowbuf[span0[i]:span1[i]] = spanl[i]
            for col in range(w):
                rows[rowbuf[col], r] += 1
    return True


_pair_bins_nb = _jit(_pair_bins_loop)
_pair_bins_rows_nb = _jit(_pair_bins_rows_loop)
_zone_row_counts_nb = _jit(_zone_row_counts_loop)
_burn_zones_nb = _jit(_burn_zones_loop)


def pair_bins(zone: np.ndarray | None, a: np.ndarray, b: np.ndarray, *, v: int, n_zones: int,
              weights: np.ndarray | None = None, compiled: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Pixel counts (and weight sums) per bin ``(zone × v + a) × v + b``, in one pass.

    Parameters
    ----------
    zone
        Local zone label of each pixel (0 = outside every zone), or None for one zone.
    a, b
        Codes of the two vintages (``0 ≤ code < v``), flat, same length.
    v
        Code space (256 for raw bytes).
    n_zones
        Number of zone labels (``max(zone) + 1``), 1 without ``zone``.
    weights
        Weight (area) of each pixel, or None for counts only.
    compiled
        Use the numba loop (False: NumPy ``bincount``, same numbers; sums in the same order).

    Returns
    -------
    (counts, sums)
        ``int64`` counts and ``float64`` sums (None without weights), ``n_zones × v²`` bins.
    """
    n_bins = n_zones * v * v
    if compiled and _pair_bins_nb is not None:
        counts = np.zeros(n_bins, dtype=np.int64)
        sums = np.zeros(n_bins if weights is not None else 0, dtype=np.float64)
        empty_z = np.zeros(0, dtype=np.uint8)
        empty_w = np.zeros(0, dtype=np.float64)
        _pair_bins_nb(empty_z if zone is None else zone, a, b, empty_w if weights is None else weights,
                      v, n_bins, counts, sums)
        return counts, (sums if weights is not None else None)
    key = a.astype(np.int64) * v + b
    if zone is not None:
        key += zone.astype(np.int64) * (v * v)
    bin_counts = np.bincount(key, minlength=n_bins)
    bin_sums = np.bincount(key, weights=weights, minlength=n_bins) if weights is not None else None
    return bin_counts, bin_sums


def pair_bins_rows(zone: np.ndarray | None, a: np.ndarray, b: np.ndarray, row_weights: np.ndarray, *, v: int,
                   n_zones: int, compiled: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pair_bins` over a 2-D window whose weight is one value per row (a geographic
    raster: every pixel of a row has the same area), without a weight array per pixel.

    The sums are those of ``pair_bins(zone.ravel(), a.ravel(), b.ravel(), weights=...)`` with
    ``weights`` the row weights repeated along each row, bit for bit.
    """
    n_bins = n_zones * v * v
    if compiled and _pair_bins_rows_nb is not None:
        counts = np.zeros(n_bins, dtype=np.int64)
        sums = np.zeros(n_bins, dtype=np.float64)
        _pair_bins_rows_nb(np.zeros((0, 0), dtype=np.uint8) if zone is None else zone, a, b,
                           np.ascontiguousarray(row_weights, dtype=np.float64), v, counts, sums)
        return counts, sums
    weights = np.repeat(np.asarray(row_weights, dtype=np.float64), a.shape[1])
    flat_counts, flat_sums = pair_bins(None if zone is None else zone.reshape(-1), a.reshape(-1), b.reshape(-1),
                                       v=v, n_zones=n_zones, weights=weights, compiled=compiled)
    assert flat_sums is not None
    return flat_counts, flat_sums


class ZoneRings:
    """Zone polygons as flat vertex arrays for :func:`burn_zones` (raster CRS coordinates).

    ``usable`` is False when some zone is not a (multi)polygon with finite coordinates and
    rings of four or more vertices: such zones are left to GDAL.
    """

    def __init__(self, geoms: np.ndarray) -> None:
        import shapely

        geoms = np.asarray(geoms, dtype=object)
        kinds = shapely.get_type_id(geoms)
        rings = polygon_rings(geoms, signs=False)  # the layout the area kernels read
        xy, n_vert = rings.xy, np.diff(rings.ring_off)
        self.xs = np.ascontiguousarray(xy[:, 0])
        self.ys = np.ascontiguousarray(xy[:, 1])
        self.ring_off, self.geom_ring = rings.ring_off, rings.geom_ring
        self.usable = bool(
            _burn_zones_nb is not None and np.isin(kinds, (3, 6)).all() and (n_vert >= 4).all()
            and np.isfinite(xy).all())
        self.extent = float(np.abs(xy).max()) if len(xy) else 0.0


def burn_zones(zones: ZoneRings, cand: np.ndarray, transform: tuple[float, float, float, float, float, float],
               shape: tuple[int, int], *, image: bool = True) -> tuple[np.ndarray | None, np.ndarray] | None:
    """Burn zones ``cand`` (labels 1, 2, … in that order, the last wins) onto a ``shape``
    window by the pixel-centre rule of ``rasterio.features.rasterize(all_touched=False)``,
    pixel for pixel, without the GIL.

    ``transform`` is the window's affine ``(a, b, c, d, e, f)``. Returns ``(labels, rows)``:
    the label image (uint8/16/32 by the number of zones; None unless ``image``) and the pixels
    of each label in each row (``rows[label, row]``, label 0 = outside every zone). Returns
    None where the result would hang on rounding (a vertex or an edge crossing within a few
    ulps of a pixel centre), for a rotated grid, or for zones that are not plain
    (multi)polygons: the caller then burns the window with GDAL.
    """
    a, b, c, d, e, f = transform
    if not zones.usable or b != 0 or d != 0 or a == 0 or e == 0:
        return None
    # Rounding of GDAL's geo → pixel transform: a few ulps of the largest pixel coordinate; the
    # margin is 100 times that.
    scale = (zones.extent + abs(c)) / abs(a) + (zones.extent + abs(f)) / abs(e)
    eps = 1e-9 + 1e-13 * scale
    h, w = shape
    m = len(cand)
    dtype = np.uint8 if m < 255 else np.uint16 if m < 65535 else np.uint32
    out = np.zeros((h, w) if image else (0, 0), dtype=dtype)
    rows = np.zeros((m + 1, h), dtype=np.int64)
    assert _burn_zones_nb is not None  # checked by the caller (``burn_zones`` takes GDAL without numba)
    if not _burn_zones_nb(zones.xs, zones.ys, zones.ring_off, zones.geom_ring, np.asarray(cand, dtype=np.int64),
                          a, c, e, f, eps, w, out, rows):
        return None
    return (out if image else None), rows


def is_uniform(x: np.ndarray) -> bool:
    """True when every element of ``x`` equals the first. NumPy's SIMD ``min``/``max`` beat a
    scalar loop; a mixed window is usually told by its first 4096 values."""
    flat = x.reshape(-1)
    if flat.size == 0:
        return True
    head = flat[:4096]
    return bool(head.min() == head.max() and flat.min() == flat.max())


def zone_row_counts(zone: np.ndarray, n_zones: int) -> np.ndarray:
    """Pixels of each zone label (``0 ≤ label < n_zones``) in each row of a 2-D label window:
    ``out[label, row]``, int64, in one pass (labels ≥ ``n_zones`` are left out)."""
    out = np.zeros((n_zones, zone.shape[0]), dtype=np.int64)
    if _zone_row_counts_nb is not None:
        _zone_row_counts_nb(zone, n_zones, out)
        return out
    for j in range(n_zones):  # pragma: no cover - without numba
        out[j] = np.count_nonzero(zone == j, axis=1)
    return out


# -- vector: order-free hash of a polygon's vertices ---------------------------------------------
def _mix(x: np.uint64, y: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    z = x * np.uint64(0x9E3779B97F4A7C15) + y
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


_NEG_ZERO = np.uint64(0x8000000000000000)


def _ring_sums_loop(xbits: np.ndarray, ybits: np.ndarray, ring_offsets: np.ndarray, geom_of_ring: np.ndarray,
                    out: np.ndarray) -> None:  # pragma: no cover - compiled
    for r in range(ring_offsets.size - 1):
        acc = np.uint64(0)
        for k in range(ring_offsets[r], ring_offsets[r + 1] - 1):  # the closing vertex left out
            acc += _mix(xbits[k], ybits[k])
        out[geom_of_ring[r]] += acc


def _geom_sums_loop(bits: np.ndarray, ring_off: np.ndarray, geom_ring: np.ndarray,
                    out: np.ndarray) -> None:  # pragma: no cover - compiled
    # _ring_sums_loop over the (x, y) bits of :class:`Rings`, -0.0 read as 0.0
    for g in range(geom_ring.size - 1):
        acc = np.uint64(0)
        for r in range(geom_ring[g], geom_ring[g + 1]):
            for k in range(ring_off[r], ring_off[r + 1] - 1):  # the closing vertex left out
                x, y = bits[k, 0], bits[k, 1]
                acc += _mix(np.uint64(0) if x == _NEG_ZERO else x, np.uint64(0) if y == _NEG_ZERO else y)
        out[g] = acc


def _u32(d: np.ndarray, p: int) -> np.uint32:  # pragma: no cover - compiled; little-endian uint32 at byte p
    return np.uint32(d[p]) | (np.uint32(d[p + 1]) << np.uint32(8)) | (np.uint32(d[p + 2]) << np.uint32(16)) \
        | (np.uint32(d[p + 3]) << np.uint32(24))


def _u64(d: np.ndarray, p: int) -> np.uint64:  # pragma: no cover - compiled; little-endian 64 bits at byte p
    # (-0.0 read as 0.0)
    v = np.uint64(0)
    for b in range(8):
        v |= np.uint64(d[p + b]) << np.uint64(8 * b)
    return np.uint64(0) if v == _NEG_ZERO else v


def _wkb_polygon(d: np.ndarray, p: int, end: int) -> tuple[np.uint64, int, int, bool]:  # pragma: no cover
    # compiled; (hash, vertices, next byte, ok)
    if p + 4 > end:
        return np.uint64(0), 0, p, False
    n_rings = _u32(d, p)
    p += 4
    acc = np.uint64(0)
    n = 0
    for _ in range(n_rings):
        if p + 4 > end:
            return acc, n, p, False
        n_pts = int(_u32(d, p))
        p += 4
        if p + 16 * n_pts > end:
            return acc, n, p, False
        for k in range(n_pts - 1):  # the closing vertex left out
            acc += _mix(_u64(d, p + 16 * k), _u64(d, p + 16 * k + 8))
        p += 16 * n_pts
        n += n_pts
    return acc, n, p, True


def _wkb_scan_loop(data: np.ndarray, offsets: np.ndarray, out_hash: np.ndarray, out_n: np.ndarray,
                   out_kind: np.ndarray) -> None:  # pragma: no cover - compiled
    for i in range(offsets.size - 1):
        p, end = offsets[i], offsets[i + 1]
        out_kind[i] = -1  # not read here (big-endian, Z/M, another type): shapely decodes it
        if end - p < 9 or data[p] != 1:
            continue
        kind = _u32(data, p + 1)
        if kind == 3:
            h, n, q, ok = _wkb_polygon(data, p + 5, end)
            if ok and q == end:
                out_hash[i], out_n[i] = h, n
                out_kind[i] = 3 if n > 0 else 0
        elif kind == 6:
            n_parts = _u32(data, p + 5)
            q = p + 9
            h = np.uint64(0)
            n = 0
            ok = True
            for _ in range(n_parts):
                if q + 5 > end or data[q] != 1 or _u32(data, q + 1) != 3:
                    ok = False
                    break
                hp, np_, q, ok = _wkb_polygon(data, q + 5, end)
                if not ok:
                    break
                h += hp
                n += np_
            if ok and q == end:
                out_hash[i], out_n[i] = h, n
                out_kind[i] = 6 if n > 0 else 0


def _wkb_equal_loop(d1: np.ndarray, o1: np.ndarray, i1: np.ndarray, d2: np.ndarray, o2: np.ndarray, i2: np.ndarray,
                    out: np.ndarray) -> None:  # pragma: no cover - compiled
    for k in range(i1.size):
        a, b = o1[i1[k]], o2[i2[k]]
        n = o1[i1[k] + 1] - a
        same = n == o2[i2[k] + 1] - b
        j = 0
        while same and j < n:
            same = d1[a + j] == d2[b + j]
            j += 1
        out[k] = same


if HAS_NUMBA:
    _mix = numba.njit(nogil=True, cache=True, inline="always")(_mix)
    _u32 = numba.njit(nogil=True, cache=True, inline="always")(_u32)
    _u64 = numba.njit(nogil=True, cache=True, inline="always")(_u64)
    _wkb_polygon = numba.njit(nogil=True, cache=True)(_wkb_polygon)
_ring_sums_nb = _jit(_ring_sums_loop)
_geom_sums_nb = _jit(_geom_sums_loop)
_wkb_scan_nb = _jit(_wkb_scan_loop)
_wkb_equal_nb = _jit(_wkb_equal_loop)


def vertex_hash(geoms: np.ndarray, *, rings: Rings | None = None) -> np.ndarray:
    """A hash of each polygon's vertex set: the same whatever the start vertex or orientation
    of its rings, or the order of its rings and parts (a sum of hashed vertices, the closing
    vertex of each ring left out). Polygons equal vertex for vertex hash equal; different
    polygons almost surely do not — callers confirm candidate pairs exactly.
    :func:`wkb_scan` gives the same numbers from WKB without decoding it (the tests check both).

    Parameters
    ----------
    geoms
        Polygons and MultiPolygons (shapely 2 array) with closed rings; missing or empty
        geometries hash to 0.
    rings
        :func:`polygon_rings` of ``geoms`` when the caller already has them (they are then
        not read again: one ``get_coordinates`` serves the hash and :func:`clip_area`).

    Returns
    -------
    numpy.ndarray
        ``uint64``, one per geometry.

    Examples
    --------
    >>> import shapely
    >>> sq = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    >>> turned = shapely.Polygon([(1, 1), (1, 0), (0, 0), (0, 1)])  # other start, reversed
    >>> h = vertex_hash(np.array([sq, turned, shapely.box(0, 0, 1, 2)]))
    >>> bool(h[0] == h[1]), bool(h[0] == h[2])
    (True, False)
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms), dtype=np.uint64)
    if len(geoms) == 0:
        return out
    # from the flat coordinates (about a third of the cost of writing WKB for wkb_scan)
    if rings is None:
        rings = polygon_rings(geoms, signs=False)
    out[:] = _ring_hashes(rings, len(geoms))
    other = np.flatnonzero(~rings.ok)  # missing, empty or not polygonal: the general path
    if len(other):
        out[other] = _vertex_hash_coords(geoms[other])
    return out


def _ring_hashes(rings: Rings, n: int) -> np.ndarray:
    """:func:`vertex_hash` of the ``n`` geometries of ``rings`` (0 for those without rings)."""
    sums = np.zeros(n, dtype=np.uint64)
    if len(rings.ring_off) < 2:
        return sums
    bits = rings.xy.view(np.uint64)  # (x, y) bits, no copy
    if _geom_sums_nb is not None:
        _geom_sums_nb(bits, rings.ring_off, rings.geom_ring, sums)
    else:  # pragma: no cover - without numba: the same loop in Python
        _geom_sums_loop(bits, rings.ring_off, rings.geom_ring, sums)
    return sums


def wkb_buffers(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bytes and ``n + 1`` offsets of an array of WKB values (``None`` as empty), for
    :func:`wkb_scan`."""
    lens = np.fromiter((0 if b is None else len(b) for b in values), dtype=np.int64, count=len(values))
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    data = np.frombuffer(b"".join(b for b in values if b is not None), dtype=np.uint8)
    return data, offsets


def _vertex_hash_coords(geoms: np.ndarray) -> np.ndarray:
    """:func:`vertex_hash` from the coordinates (any dimension; missing and empty hash to 0)."""
    import shapely

    out = np.zeros(len(geoms), dtype=np.uint64)
    ok = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    if len(ok) == 0:
        return out
    _, coords, offsets = shapely.to_ragged_array(shapely.force_2d(geoms[ok]))
    offsets = [np.asarray(o, dtype=np.int64) for o in offsets]  # rings, polygons[, multipolygons]
    ring_off = offsets[0]
    geom_of_ring = np.repeat(np.arange(len(offsets[1]) - 1), np.diff(offsets[1]))
    if len(offsets) == 3:  # MultiPolygons: polygon -> geometry
        geom_of_ring = np.repeat(np.arange(len(offsets[2]) - 1), np.diff(offsets[2]))[geom_of_ring]
    xy = np.ascontiguousarray(coords, dtype=np.float64)
    xbits = np.ascontiguousarray(xy[:, 0]).view(np.uint64)
    ybits = np.ascontiguousarray(xy[:, 1]).view(np.uint64)
    xbits = np.where(xbits == _NEG_ZERO, np.uint64(0), xbits)  # -0.0 and 0.0 are the same coordinate
    ybits = np.where(ybits == _NEG_ZERO, np.uint64(0), ybits)
    sums = np.zeros(len(ok), dtype=np.uint64)
    if _ring_sums_nb is not None:
        _ring_sums_nb(xbits, ybits, ring_off, geom_of_ring, sums)
    else:  # pragma: no cover - without numba: the same loop in Python
        _ring_sums_loop(xbits, ybits, ring_off, geom_of_ring, sums)
    out[ok] = sums
    return out


def wkb_scan(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read little-endian 2D WKB polygons and multipolygons without decoding them.

    Parameters
    ----------
    data, offsets
        The bytes of a WKB column (``uint8``) and the ``n + 1`` offsets of its values
        (an Arrow binary array's buffers).

    Returns
    -------
    (hash, vertices, kind)
        :func:`vertex_hash` of each geometry, its vertex count (``shapely.get_num_coordinates``)
        and its kind: 3 Polygon, 6 MultiPolygon, 0 empty, -1 not read here (another type,
        byte order or dimension: decode it with shapely).
    """
    n = len(offsets) - 1
    h = np.zeros(n, dtype=np.uint64)
    cnt = np.zeros(n, dtype=np.int64)
    kind = np.full(n, -1, dtype=np.int8)
    if _wkb_scan_nb is None:  # pragma: no cover - without numba every geometry is decoded
        return h, cnt, kind
    _wkb_scan_nb(data, np.asarray(offsets, dtype=np.int64), h, cnt, kind)
    return h, cnt, kind


def wkb_equal(d1: np.ndarray, o1: np.ndarray, i1: np.ndarray, d2: np.ndarray, o2: np.ndarray,
              i2: np.ndarray) -> np.ndarray:
    """Whether WKB value ``i1[k]`` of column 1 and ``i2[k]`` of column 2 are the same bytes."""
    out = np.zeros(len(i1), dtype=bool)
    if _wkb_equal_nb is None:  # pragma: no cover
        for k, (a, b) in enumerate(zip(i1, i2, strict=True)):
            out[k] = bytes(d1[o1[a]:o1[a + 1]]) == bytes(d2[o2[b]:o2[b + 1]])
        return out
    _wkb_equal_nb(d1, np.asarray(o1, dtype=np.int64), np.asarray(i1, dtype=np.int64), d2,
                  np.asarray(o2, dtype=np.int64), np.asarray(i2, dtype=np.int64), out)
    return out


# -- vector: areas of simple polygons from their rings (as GEOS computes them) -------------------
def _simple_areas_loop(xy: np.ndarray, ring_off: np.ndarray, geom_ring: np.ndarray, out: np.ndarray,
                       done: np.ndarray) -> None:  # pragma: no cover - compiled
    # GEOS's Area::ofRing (shoelace from the first vertex's x, the same operations in the same
    # order) for the geometries made of one ring
    for g in range(geom_ring.size - 1):
        if geom_ring[g + 1] - geom_ring[g] != 1:
            continue
        lo, hi = ring_off[geom_ring[g]], ring_off[geom_ring[g] + 1]
        s = 0.0
        if hi - lo >= 3:
            x0 = xy[lo, 0]
            for i in range(lo + 1, hi - 1):
                s += (xy[i, 0] - x0) * (xy[i - 1, 1] - xy[i + 1, 1])
        out[g] = 0.0 + abs(s / 2.0)
        done[g] = True


_simple_areas_nb = _jit(_simple_areas_loop)


def simple_areas(rings: Rings) -> tuple[np.ndarray, np.ndarray]:
    """``shapely.area`` of the geometries of ``rings`` made of one ring (a polygon without
    holes), from the flat coordinates already read: the same numbers, bit for bit (GEOS's
    formula, operation for operation; ``tests/test_overlap_touching.py`` checks it).

    Returns ``(area, done)``: ``done`` is False for the other geometries (holes, several parts,
    not polygonal), whose area is left at 0 for the caller to ask GEOS, and for all without numba.
    """
    n = len(rings.geom_ring) - 1
    area = np.zeros(n, dtype=np.float64)
    done = np.zeros(n, dtype=bool)
    if _simple_areas_nb is not None and n:
        _simple_areas_nb(rings.xy, rings.ring_off, rings.geom_ring, area, done)
    return area, done


# -- vector: area of the intersection of two polygons, without building it ----------------------
#
# Green's theorem: the area of a region is the integral of x dy along its boundary, shells turned
# counter-clockwise and holes clockwise. The boundary of A ∩ B is made of the parts of A's edges
# inside B and the parts of B's edges inside A (when no boundaries touch or overlap), so
#     area(A ∩ B) = Σ ∫ x dy over A's edges inside B + Σ ∫ x dy over B's edges inside A.
# Every topological decision (does an edge cross another, is a vertex inside the other polygon)
# is taken from the SIGN of an orientation determinant, computed with Shewchuk's filter: the
# sign is returned only when the floating-point value provably has the sign of the exact
# determinant; otherwise (and when it is exactly 0: a vertex on an edge, collinear edges) the
# pair is left undecided and the caller asks GEOS. Only the crossing points and the sums are
# rounded (each crossing point once, shared by both edges, so the boundary stays closed), so an
# answer differs from the exact area by a few units in the last place of the coordinates times
# the perimeter — like GEOS's own result, which rounds its crossing points too.

#: Shewchuk's ``ccwerrboundA``: |det| above this times the sum of the two products has a certain sign
_CCW_ERRBOUND_A = (3.0 + 16.0 * 2.0**-53) * 2.0**-53

#: ``clip_area`` states
CLIP_UNDECIDED, CLIP_INSIDE, CLIP_DISJOINT, CLIP_CROSSING = 0, 1, 2, 3


def _orient(ax: float, ay: float, bx: float, by: float, cx: float,
            cy: float) -> float:  # pragma: no cover - compiled
    # twice the signed area of (a, b, c) when its sign is certain (> 0: c left of a→b), else 0.0
    detleft = (ax - cx) * (by - cy)
    detright = (ay - cy) * (bx - cx)
    det = detleft - detright
    if detleft > 0.0:
        if detright <= 0.0:
            return det  # the two products have opposite signs: the sign of det is exact
        detsum = detleft + detright
    elif detleft < 0.0:
        if detright >= 0.0:
            return det
        detsum = -detleft - detright
    else:
        return det
    if abs(det) >= _CCW_ERRBOUND_A * detsum:
        return det
    return 0.0


def _inside(px: float, py: float, xy: np.ndarray, ring_off: np.ndarray, r0: int,
            r1: int) -> tuple[bool, bool]:  # pragma: no cover - compiled
    # (inside, decided): crossing number of a ray from p towards +x over rings r0..r1 (holes and
    # parts included: parity). Undecided when p lies on (or too near to tell) a crossed edge.
    inside = False
    for r in range(r0, r1):
        for e in range(ring_off[r], ring_off[r + 1] - 1):
            cy, dy = xy[e, 1], xy[e + 1, 1]
            if cy == py and dy == py and min(xy[e, 0], xy[e + 1, 0]) <= px <= max(xy[e, 0], xy[e + 1, 0]):
                return False, False  # on a horizontal edge
            if (cy > py) != (dy > py):  # half-open: a vertex on the ray counts once (exact test)
                o = _orient(xy[e, 0], cy, xy[e + 1, 0], dy, px, py)
                if o == 0.0:
                    return False, False
                if (o > 0.0) == (dy > cy):  # p left of an upward edge / right of a downward one
                    inside = not inside
    return inside, True


def _sort(key: np.ndarray, px: np.ndarray, py: np.ndarray, n: int) -> None:  # pragma: no cover - compiled
    # insertion sort of the first n crossings by key, their points along
    for i in range(1, n):
        k, x, y = key[i], px[i], py[i]
        j = i - 1
        while j >= 0 and key[j] > k:
            key[j + 1], px[j + 1], py[j + 1] = key[j], px[j], py[j]
            j -= 1
        key[j + 1], px[j + 1], py[j + 1] = k, x, y


def _edge_integral(ax: float, ay: float, bx: float, by: float, px: np.ndarray, py: np.ndarray, n: int,
                   inside: bool) -> tuple[float, bool]:  # pragma: no cover - compiled
    # ∫ x dy over the pieces of a→b inside the other polygon; px, py[:n] are the points where it
    # crosses the other boundary, in order from a; ``inside`` is the state at a. Returns
    # (integral, state at b).
    total = 0.0
    x0, y0 = ax, ay
    for q in range(n + 1):
        x1, y1 = (px[q], py[q]) if q < n else (bx, by)
        if inside:
            total += 0.5 * (x0 + x1) * (y1 - y0)
        if q < n:
            inside = not inside
        x0, y0 = x1, y1
    return total, inside


def _clip_area_pair(axy: np.ndarray, aring: np.ndarray, asign: np.ndarray, ar0: int, ar1: int,
                    bxy: np.ndarray, bring: np.ndarray, bsign: np.ndarray, br0: int, br1: int,
                    cand: np.ndarray, key: np.ndarray, kx: np.ndarray, ky: np.ndarray, cj: np.ndarray,
                    cx_: np.ndarray, cy_: np.ndarray, touch: bool) -> tuple[float, int]:  # pragma: no cover
    # (area, state) of A (rings ar0..ar1) ∩ B (rings br0..br1); see clip_area. With ``touch``
    # (see clip_area_touching), edges meeting at a common vertex or identical are handled too.
    v0, v1 = aring[ar0], aring[ar1]
    if v1 <= v0:
        return 0.0, CLIP_UNDECIDED
    xmin, xmax = axy[v0, 0], axy[v0, 0]
    ymin, ymax = axy[v0, 1], axy[v0, 1]
    for v in range(v0, v1):
        xmin, xmax = min(xmin, axy[v, 0]), max(xmax, axy[v, 0])
        ymin, ymax = min(ymin, axy[v, 1]), max(ymax, axy[v, 1])
    # B's edges whose box meets A's box: the others lie outside A and cannot cross it
    nc = 0
    for r in range(br0, br1):
        for e in range(bring[r], bring[r + 1] - 1):
            cx, cy, dx, dy = bxy[e, 0], bxy[e, 1], bxy[e + 1, 0], bxy[e + 1, 1]
            if (cx == dx and cy == dy) or max(cx, dx) < xmin or min(cx, dx) > xmax \
                    or max(cy, dy) < ymin or min(cy, dy) > ymax:
                continue
            cand[nc, 0] = e
            cand[nc, 1] = r
            cand[nc, 2] = 0  # bits: 1 c is a vertex of A, 2 d is, 4 the edge is one of A's
            nc += 1
    if nc == 0:  # B's boundary is away from A: A is wholly inside B or wholly outside
        inside, ok = _inside(axy[v0, 0], axy[v0, 1], bxy, bring, br0, br1)
        if not ok:
            return 0.0, CLIP_UNDECIDED
        return 0.0, (CLIP_INSIDE if inside else CLIP_DISJOINT)
    # Integrals in coordinates relative to A's box corner (differences of nearby doubles: exact).
    # Each crossing point is computed once and used as an end of both edges' pieces, so the
    # pieces close up into rings whatever the rounding of the point (a gap would not cancel).
    ox, oy = xmin, ymin
    total = 0.0
    n_cross = 0
    a_in = False  # some of A's boundary inside B
    a_out = False  # some of A's boundary outside B
    inside = False
    for r in range(ar0, ar1):
        if not touch:
            inside, ok = _inside(axy[aring[r], 0], axy[aring[r], 1], bxy, bring, br0, br1)
            if not ok:
                return 0.0, CLIP_UNDECIDED
        ring_total = 0.0
        for e in range(aring[r], aring[r + 1] - 1):
            ax, ay, bx, by = axy[e, 0], axy[e, 1], axy[e + 1, 0], axy[e + 1, 1]
            if ax == bx and ay == by:
                continue
            exmin, exmax, eymin, eymax = min(ax, bx), max(ax, bx), min(ay, by), max(ay, by)
            nt = 0
            a_shared = False  # a is a vertex of B
            b_shared = False
            same = 0  # the edge is one of B's: +1 with B's interior on the same side, -1 opposite
            for i in range(nc):
                k = cand[i, 0]
                cx, cy, dx, dy = bxy[k, 0], bxy[k, 1], bxy[k + 1, 0], bxy[k + 1, 1]
                if max(cx, dx) < exmin or min(cx, dx) > exmax or max(cy, dy) < eymin or min(cy, dy) > eymax:
                    continue
                if touch:  # contacts at common vertices: exact equality of coordinates
                    ca = cx == ax and cy == ay
                    cb = cx == bx and cy == by
                    da = dx == ax and dy == ay
                    db = dx == bx and dy == by
                    if (ca and db) or (cb and da):  # the same edge
                        cand[i, 2] |= 7
                        s_ab = asign[r] * bsign[cand[i, 1]] * (1.0 if ca else -1.0)
                        same = 1 if s_ab > 0.0 else -1
                        a_shared = b_shared = True
                        continue
                    if ca or cb or da or db:  # one common end p: they meet there only, unless they
                        # leave p in the same direction (a collinear overlap)
                        px, py = (ax, ay) if ca or da else (bx, by)
                        qx, qy = (bx, by) if ca or da else (ax, ay)  # A's other end
                        if ca or cb:
                            cand[i, 2] |= 1
                            rx, ry = dx, dy  # B's other end
                        else:
                            cand[i, 2] |= 2
                            rx, ry = cx, cy
                        if _orient(ax, ay, bx, by, rx, ry) == 0.0 and (qx - px) * (rx - px) + (qy - py) * (ry - py) >= 0.0:
                            return 0.0, CLIP_UNDECIDED  # collinear overlap (or too close to tell)
                        a_shared |= ca or da
                        b_shared |= cb or db
                        continue
                o1 = _orient(ax, ay, bx, by, cx, cy)
                o2 = _orient(ax, ay, bx, by, dx, dy)
                if (o1 > 0.0 and o2 > 0.0) or (o1 < 0.0 and o2 < 0.0):
                    continue  # c and d strictly on one side of a→b
                o3 = _orient(cx, cy, dx, dy, ax, ay)
                o4 = _orient(cx, cy, dx, dy, bx, by)
                if (o3 > 0.0 and o4 > 0.0) or (o3 < 0.0 and o4 < 0.0):
                    continue
                if o1 == 0.0 or o2 == 0.0 or o3 == 0.0 or o4 == 0.0:
                    return 0.0, CLIP_UNDECIDED  # touching, collinear, or too close to tell
                if n_cross == cj.size:
                    return 0.0, CLIP_UNDECIDED  # more crossings than the scratch holds: GEOS
                t = o3 / (o3 - o4)  # a proper crossing, at a + t (b - a)
                x = (ax - ox) + t * (bx - ax)
                y = (ay - oy) + t * (by - ay)
                key[nt], kx[nt], ky[nt] = t, x, y
                nt += 1
                cj[n_cross], cx_[n_cross], cy_[n_cross] = i, x, y
                n_cross += 1
            _sort(key, kx, ky, nt)
            if touch:
                if same != 0:  # an edge of both: once, where both interiors are on one side
                    if same > 0:
                        a_in = True
                        ring_total += 0.5 * ((ax - ox) + (bx - ox)) * (by - ay)
                    else:
                        a_out = True
                    continue
                # the state at a, from a point of the edge that is not a vertex of B
                inside, ok = _end_state(ax, ay, bx, by, a_shared, b_shared, nt, bxy, bring, br0, br1)
                if not ok:
                    return 0.0, CLIP_UNDECIDED
            if nt:
                a_in = a_out = True
            elif inside:
                a_in = True
            else:
                a_out = True
            part, inside = _edge_integral(ax - ox, ay - oy, bx - ox, by - oy, kx, ky, nt, inside)
            ring_total += part
        total += asign[r] * ring_total
    b_in = False  # some of B's boundary inside A
    for i in range(nc):
        k, r = cand[i, 0], cand[i, 1]
        if cand[i, 2] & 4:
            continue  # an edge of both: counted with A's
        cx, cy = bxy[k, 0] - ox, bxy[k, 1] - oy
        dx, dy = bxy[k + 1, 0] - ox, bxy[k + 1, 1] - oy
        nu = 0
        for m in range(n_cross):
            if cj[m] == i:  # ordered along c→d by the projection of the shared point
                key[nu] = (cx_[m] - cx) * (dx - cx) + (cy_[m] - cy) * (dy - cy)
                kx[nu], ky[nu] = cx_[m], cy_[m]
                nu += 1
        _sort(key, kx, ky, nu)
        if touch:
            inside, ok = _end_state(bxy[k, 0], bxy[k, 1], bxy[k + 1, 0], bxy[k + 1, 1], (cand[i, 2] & 1) != 0,
                                    (cand[i, 2] & 2) != 0, nu, axy, aring, ar0, ar1)
        else:
            inside, ok = _inside(bxy[k, 0], bxy[k, 1], axy, aring, ar0, ar1)
        if not ok:
            return 0.0, CLIP_UNDECIDED
        if nu or inside:
            b_in = True
        part, _ = _edge_integral(cx, cy, dx, dy, kx, ky, nu, inside)
        total += bsign[r] * part
    if not b_in and not a_out:
        return 0.0, CLIP_INSIDE
    if not b_in and not a_in:
        return 0.0, CLIP_DISJOINT
    return total, CLIP_CROSSING


def _end_state(ax: float, ay: float, bx: float, by: float, a_shared: bool, b_shared: bool, n: int,
               xy: np.ndarray, ring_off: np.ndarray, r0: int, r1: int) -> tuple[bool, bool]:  # pragma: no cover
    # (inside at a, decided) for the edge a→b crossing the other boundary n times: from a, else
    # from b (the state flips at each crossing), else from the middle of an edge without
    # crossings; never from a vertex of the other polygon (it lies on that boundary)
    if not a_shared:
        inside, ok = _inside(ax, ay, xy, ring_off, r0, r1)
        if ok:
            return inside, True
    if not b_shared:
        inside, ok = _inside(bx, by, xy, ring_off, r0, r1)
        if ok:
            return inside != (n % 2 == 1), True
    if n == 0:
        return _inside(0.5 * (ax + bx), 0.5 * (ay + by), xy, ring_off, r0, r1)
    return False, False


def _clip_area_loop(axy: np.ndarray, aring: np.ndarray, ageom: np.ndarray, asign: np.ndarray,
                    bxy: np.ndarray, bring: np.ndarray, bgeom: np.ndarray, bsign: np.ndarray,
                    ia: np.ndarray, ib: np.ndarray, area: np.ndarray,
                    state: np.ndarray, touch: bool) -> None:  # pragma: no cover - compiled
    max_b = 1
    for r in range(bring.size - 1):
        max_b += bring[r + 1] - bring[r]
    cand = np.empty((max_b, 3), dtype=np.int64)
    key = np.empty(max_b + 4096, dtype=np.float64)  # crossings of one edge
    kx = np.empty(max_b + 4096, dtype=np.float64)
    ky = np.empty(max_b + 4096, dtype=np.float64)
    cj = np.empty(4096, dtype=np.int64)  # every crossing of a pair: B's edge, point
    cx_ = np.empty(4096, dtype=np.float64)
    cy_ = np.empty(4096, dtype=np.float64)
    for k in range(ia.size):
        a, b = ia[k], ib[k]
        area[k], state[k] = _clip_area_pair(axy, aring, asign, ageom[a], ageom[a + 1], bxy, bring, bsign,
                                            bgeom[b], bgeom[b + 1], cand, key, kx, ky, cj, cx_, cy_, False)
        if touch and state[k] == CLIP_UNDECIDED:  # again, with contacts at common vertices
            area[k], state[k] = _clip_area_pair(axy, aring, asign, ageom[a], ageom[a + 1], bxy, bring, bsign,
                                                bgeom[b], bgeom[b + 1], cand, key, kx, ky, cj, cx_, cy_, True)


def _ring_signs_loop(xy: np.ndarray, ring_off: np.ndarray, shell: np.ndarray,
                     out: np.ndarray) -> None:  # pragma: no cover - compiled
    for r in range(ring_off.size - 1):
        s = 0.0
        lo, hi = ring_off[r], ring_off[r + 1]
        for v in range(lo, hi - 1):
            s += (xy[v, 0] - xy[lo, 0]) * (xy[v + 1, 1] - xy[lo, 1]) - (xy[v + 1, 0] - xy[lo, 0]) * (xy[v, 1] - xy[lo, 1])
        out[r] = 1.0 if (s > 0.0) == bool(shell[r]) else -1.0


if HAS_NUMBA:
    _orient = numba.njit(nogil=True, cache=True, inline="always")(_orient)
    _inside = numba.njit(nogil=True, cache=True)(_inside)
    _sort = numba.njit(nogil=True, cache=True)(_sort)
    _edge_integral = numba.njit(nogil=True, cache=True)(_edge_integral)
    _end_state = numba.njit(nogil=True, cache=True)(_end_state)
    _clip_area_pair = numba.njit(nogil=True, cache=True, boundscheck=False)(_clip_area_pair)
_clip_area_nb = _jit(_clip_area_loop)
_ring_signs_nb = _jit(_ring_signs_loop)


@dataclass
class Rings:
    """Polygons as flat coordinate arrays: the rings of geometry ``g`` are ``geom_ring[g]`` to
    ``geom_ring[g + 1]``, the vertices of ring ``r`` (closing vertex included) ``xy[ring_off[r]]``
    to ``xy[ring_off[r + 1] - 1]``, and ``sign[r]`` turns the ring's ``∫ x dy`` into area (+ for
    shells, − for holes, whatever the ring's orientation). ``ok[g]`` is False for a geometry that
    is not made of polygons (it has no rings here). ``signed`` is False when the signs were not
    computed (``polygon_rings(..., signs=False)``): such rings hold vertices, not areas."""

    xy: np.ndarray
    ring_off: np.ndarray
    geom_ring: np.ndarray
    sign: np.ndarray
    ok: np.ndarray
    signed: bool = True


def polygon_rings(geoms: np.ndarray, *, signs: bool = True) -> Rings:
    """The :class:`Rings` of Polygons and MultiPolygons (2D: Z is dropped), from their coordinates.

    Most polygons have one ring, whose vertices are all its coordinates: only those with holes
    or several parts are taken apart (``get_rings``), so the cost is about one
    ``get_coordinates``. A missing geometry or one of another kind has no rings (``ok`` False).
    ``signs=False`` leaves every ``sign`` at 1 (for callers that only read the vertices).

    >>> import shapely
    >>> ring = [(0, 0), (2, 0), (2, 1), (0, 1)]  # counter-clockwise, the hole too
    >>> r = polygon_rings(np.array([shapely.Polygon(ring, [[(x / 4 + 0.5, y / 4 + 0.25) for x, y in ring]])]))
    >>> r.geom_ring.tolist(), r.ring_off.tolist(), r.sign.tolist()
    ([0, 2], [0, 5, 10], [1.0, -1.0])
    """
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    kind = shapely.get_type_id(geoms)
    ok = (kind == 3) | (kind == 6)
    n_coords = np.where(ok, shapely.get_num_coordinates(geoms), 0)
    ok &= n_coords > 0
    holes = np.zeros(n, dtype=np.int64)
    single = np.flatnonzero(ok & (kind == 3))
    holes[single] = shapely.get_num_interior_rings(geoms[single])
    simple = ok & (kind == 3) & (holes == 0)  # one ring: its vertices are the polygon's
    multi = np.flatnonzero(ok & ~simple)
    rings_of = simple.astype(np.int64)
    ring_len_multi = np.zeros(0, dtype=np.int64)
    shell_multi = np.zeros(0, dtype=bool)
    ring_geom = np.zeros(0, dtype=np.int64)
    if len(multi):
        parts, part_of = shapely.get_parts(geoms[multi], return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        ring_len_multi = shapely.get_num_coordinates(rings).astype(np.int64)
        shell_multi = np.r_[True, ring_part[1:] != ring_part[:-1]]
        ring_geom = multi[part_of[ring_part]]
        rings_of[multi] = np.bincount(part_of[ring_part], minlength=len(multi))
    geom_ring = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(rings_of, out=geom_ring[1:])
    ring_len = np.zeros(int(geom_ring[-1]), dtype=np.int64)
    shell = np.zeros(int(geom_ring[-1]), dtype=bool)
    ring_len[geom_ring[:-1][simple]] = n_coords[simple]
    shell[geom_ring[:-1][simple]] = True
    if len(multi):  # rings come geometry by geometry: the k-th ring of g is at geom_ring[g] + k
        first = np.r_[0, np.flatnonzero(ring_geom[1:] != ring_geom[:-1]) + 1]
        rank = np.arange(len(ring_geom)) - np.repeat(first, np.diff(np.r_[first, len(ring_geom)]))
        ring_len[geom_ring[ring_geom] + rank] = ring_len_multi
        shell[geom_ring[ring_geom] + rank] = shell_multi
    ring_off = np.zeros(len(ring_len) + 1, dtype=np.int64)
    np.cumsum(ring_len, out=ring_off[1:])
    xy = np.ascontiguousarray(shapely.get_coordinates(geoms[ok]), dtype=np.float64)
    sign = np.ones(len(ring_len), dtype=np.float64)
    if signs and _ring_signs_nb is not None and len(ring_len):
        _ring_signs_nb(xy, ring_off, shell, sign)
    return Rings(xy, ring_off, geom_ring, sign, ok, signed=signs)


def clip_area(a: Rings, ia: np.ndarray, b: Rings, ib: np.ndarray, *,
              touching: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Area of ``A[ia[k]] ∩ B[ib[k]]`` for each k, from the edges of both polygons (Green's theorem).

    What it computes: the sum of ``∫ x dy`` over the parts of A's edges inside B and the parts
    of B's edges inside A, shells counted positive and holes negative — the area of the
    intersection, without building it.

    Why it is exact where it answers: whether two edges cross, and whether a vertex is inside
    the other polygon, are read from signs of orientation determinants that are certain
    (Shewchuk's error bound), so the topology is the exact one; an edge's parts inside the
    other polygon alternate at its crossings. Only the crossing points are rounded, and each is
    computed once and shared by the two edges that meet there, so the pieces still close up
    into rings and the error is that of moving a vertex by a rounding error (GEOS rounds its
    crossing points too: the two agree to about 1e-11 of the polygon's area).

    When it falls back: a vertex on the other polygon's boundary, collinear overlapping edges,
    a determinant too close to 0 to tell its sign, a geometry that is not polygonal, or more
    than 4096 crossings: ``state`` is then :data:`CLIP_UNDECIDED` and the caller asks GEOS.

    ``touching=True`` (for two vintages of a land cover, whose polygons share vertices and
    edges): a pair left undecided is computed again, accepting edges that meet only at a
    common vertex (equal coordinates; their other ends not collinear, a certain sign) and
    identical edges (counted once, where both interiors lie on the same side, else not at all).
    Each edge's state is then read from a point of it that is not a vertex of the other polygon.
    A vertex on the other's edge (not a vertex of it) and partly overlapping collinear edges
    still fall back. :data:`CLIP_INSIDE` then means A lies in B (their boundaries may touch).

    Returns
    -------
    (area, state)
        ``float64`` areas and ``int8`` states: :data:`CLIP_CROSSING` (the area is the
        intersection's), :data:`CLIP_INSIDE` (A lies in B's interior: the area is A's own,
        left at 0 here for the caller to take from its own area), :data:`CLIP_DISJOINT`
        (interiors and boundaries do not meet: 0), :data:`CLIP_UNDECIDED`. Each pair is
        computed on its own, so results do not depend on how pairs are split among threads.
    """
    ia = np.asarray(ia, dtype=np.int64)
    ib = np.asarray(ib, dtype=np.int64)
    area = np.zeros(len(ia), dtype=np.float64)
    state = np.zeros(len(ia), dtype=np.int8)
    if not (a.signed and b.signed):  # a hole counted as a shell would be a wrong area, not an error
        raise ValueError("clip_area needs ring signs: build the rings with polygon_rings(..., signs=True)")
    if _clip_area_nb is None or len(ia) == 0:  # pragma: no cover - without numba GEOS does all
        return area, state
    _clip_area_nb(a.xy, a.ring_off, a.geom_ring, a.sign, b.xy, b.ring_off, b.geom_ring, b.sign, ia, ib, area, state,
                  touching)
    state[~(a.ok[ia] & b.ok[ib])] = CLIP_UNDECIDED
    return area, state
