"""Compiled inner loops (numba, ``nogil``): the raster pair counter and the polygon vertex hash.

Both run without the GIL, so the thread pools of :mod:`ocsol.crosstab` and :mod:`ocsol.change`
use every core. Each has a NumPy twin giving the same numbers, used when numba is missing
(a platform without wheels) and by the tests to check the compiled loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

log = logging.getLogger(__name__)

try:
    import numba

    HAS_NUMBA = True
except ImportError:  # pragma: no cover - numba is a dependency; wheels may lag a new Python
    HAS_NUMBA = False


def _jit(fn: Callable[..., None]) -> Callable[..., None] | None:
    if not HAS_NUMBA:  # pragma: no cover
        return None
    return numba.njit(nogil=True, cache=True, boundscheck=False)(fn)


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
        parts, part_geom = shapely.get_parts(geoms, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        xy, ring_of = shapely.get_coordinates(rings, return_index=True)
        n_vert = np.bincount(ring_of, minlength=len(rings))
        self.xs = np.ascontiguousarray(xy[:, 0])
        self.ys = np.ascontiguousarray(xy[:, 1])
        self.ring_off = np.concatenate([[0], np.cumsum(n_vert)]).astype(np.int64)
        ring_geom = part_geom[ring_part]
        self.geom_ring = np.concatenate([[0], np.cumsum(np.bincount(ring_geom, minlength=len(geoms)))]).astype(np.int64)
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
def _mix(x, y):  # pragma: no cover - compiled
    z = x * np.uint64(0x9E3779B97F4A7C15) + y
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


_NEG_ZERO = np.uint64(0x8000000000000000)


def _ring_sums_loop(xbits, ybits, ring_offsets, geom_of_ring, out):  # pragma: no cover - compiled
    for r in range(ring_offsets.size - 1):
        acc = np.uint64(0)
        for k in range(ring_offsets[r], ring_offsets[r + 1] - 1):  # the closing vertex left out
            acc += _mix(xbits[k], ybits[k])
        out[geom_of_ring[r]] += acc


def _u32(d, p):  # pragma: no cover - compiled; little-endian uint32 at byte p
    return np.uint32(d[p]) | (np.uint32(d[p + 1]) << np.uint32(8)) | (np.uint32(d[p + 2]) << np.uint32(16)) \
        | (np.uint32(d[p + 3]) << np.uint32(24))


def _u64(d, p):  # pragma: no cover - compiled; little-endian 64 bits at byte p (-0.0 read as 0.0)
    v = np.uint64(0)
    for b in range(8):
        v |= np.uint64(d[p + b]) << np.uint64(8 * b)
    return np.uint64(0) if v == _NEG_ZERO else v


def _wkb_polygon(d, p, end):  # pragma: no cover - compiled; (hash, vertices, next byte, ok)
    if p + 4 > end:
        return np.uint64(0), 0, p, False
    n_rings = _u32(d, p)
    p += 4
    acc = np.uint64(0)
    n = 0
    for _ in range(n_rings):
        if p + 4 > end:
            return acc, n, p, False
        n_pts = np.int64(_u32(d, p))
        p += 4
        if p + 16 * n_pts > end:
            return acc, n, p, False
        for k in range(n_pts - 1):  # the closing vertex left out
            acc += _mix(_u64(d, p + 16 * k), _u64(d, p + 16 * k + 8))
        p += 16 * n_pts
        n += n_pts
    return acc, n, p, True


def _wkb_scan_loop(data, offsets, out_hash, out_n, out_kind):  # pragma: no cover - compiled
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


def _wkb_equal_loop(d1, o1, i1, d2, o2, i2, out):  # pragma: no cover - compiled
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
_wkb_scan_nb = _jit(_wkb_scan_loop)
_wkb_equal_nb = _jit(_wkb_equal_loop)


def vertex_hash(geoms: np.ndarray) -> np.ndarray:
    """A hash of each polygon's vertex set: the same whatever the start vertex or orientation
    of its rings, or the order of its rings and parts (a sum of hashed vertices, the closing
    vertex of each ring left out). Polygons equal vertex for vertex hash equal; different
    polygons almost surely do not — callers confirm candidate pairs exactly.
    :func:`wkb_scan` gives the same numbers from WKB without decoding it.

    Parameters
    ----------
    geoms
        Polygons and MultiPolygons (shapely 2 array) with closed rings; missing or empty
        geometries hash to 0.

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
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms), dtype=np.uint64)
    if len(geoms) == 0:
        return out
    # through little-endian 2D WKB and the scan kernel: writing WKB costs a fraction of
    # extracting the coordinates and ring offsets (to_ragged_array), and the numbers are the same
    data, offsets = wkb_buffers(shapely.to_wkb(geoms, output_dimension=2, byte_order=1))
    h, _, kind = wkb_scan(data, offsets)
    out[:] = h
    other = np.flatnonzero(kind < 0)  # missing, or not read by the kernel: coordinates
    if len(other):
        out[other] = _vertex_hash_coords(geoms[other])
    return out


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
