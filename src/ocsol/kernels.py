"""Compiled inner loops (numba, ``nogil``): the raster pair counter and the polygon vertex hash.

Both run without the GIL, so the thread pools of :mod:`ocsol.crosstab` and :mod:`ocsol.change`
use every core. Each has a NumPy twin giving the same numbers, used when numba is missing
(a platform without wheels) and by the tests to check the compiled loop.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

try:
    import numba

    HAS_NUMBA = True
except ImportError:  # pragma: no cover - numba is a dependency; wheels may lag a new Python
    HAS_NUMBA = False


def _jit(fn):
    if not HAS_NUMBA:  # pragma: no cover
        return None
    return numba.njit(nogil=True, cache=True, boundscheck=False)(fn)


# -- raster: (zone, value_from, value_to) bins --------------------------------------------------
def _pair_bins_loop(zone, a, b, weights, v, n_bins, counts, sums):  # pragma: no cover - compiled
    v2 = v * v
    has_zone = zone.size > 0
    has_w = weights.size > 0
    for i in range(a.size):
        k = np.int64(a[i]) * v + np.int64(b[i])
        if has_zone:
            k += np.int64(zone[i]) * v2
        counts[k] += 1
        if has_w:
            sums[k] += weights[i]


_pair_bins_nb = _jit(_pair_bins_loop)


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
    counts = np.bincount(key, minlength=n_bins)
    sums = np.bincount(key, weights=weights, minlength=n_bins) if weights is not None else None
    return counts, sums


# -- vector: order-free hash of a polygon's vertices ---------------------------------------------
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_G = np.uint64(0x9E3779B97F4A7C15)


def _mix(z):
    """splitmix64 finaliser (vectorised or scalar uint64)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _vertex_sums_loop(xbits, ybits, ring_offsets, geom_ring_start, out):  # pragma: no cover - compiled
    m1 = np.uint64(0xBF58476D1CE4E5B9)
    m2 = np.uint64(0x94D049BB133111EB)
    g = np.uint64(0x9E3779B97F4A7C15)
    s30, s27, s31 = np.uint64(30), np.uint64(27), np.uint64(31)
    for gi in range(out.size):
        acc = np.uint64(0)
        for r in range(geom_ring_start[gi], geom_ring_start[gi + 1]):
            for c in range(ring_offsets[r], ring_offsets[r + 1] - 1):  # the closing vertex repeats the first
                z = xbits[c] * g + ybits[c]
                z = (z ^ (z >> s30)) * m1
                z = (z ^ (z >> s27)) * m2
                z = z ^ (z >> s31)
                acc += z
        out[gi] = acc


_vertex_sums_nb = _jit(_vertex_sums_loop)


def vertex_hash(geoms: np.ndarray, *, compiled: bool = True) -> np.ndarray:
    """A hash of each polygon's vertex set: the same whatever the start vertex or orientation
    of its rings, or the order of its rings and parts (a sum of hashed vertices, closing
    vertices left out). Equal polygons vertex for vertex hash equal; a different polygon
    almost surely does not — callers confirm candidate pairs exactly.

    Parameters
    ----------
    geoms
        Polygons and MultiPolygons (shapely 2 array); empty or missing geometries hash to 0.

    Returns
    -------
    numpy.ndarray
        ``uint64``, one per geometry.
    """
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms), dtype=np.uint64)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return out
    idx = np.flatnonzero(ok)
    kind, coords, offsets = shapely.to_ragged_array(geoms[idx])
    if kind == shapely.GeometryType.POLYGON:
        ring_offsets, geom_ring_start = offsets
    else:  # MultiPolygon: rings → polygons → geometries
        ring_offsets, poly_rings, geom_polys = offsets
        geom_ring_start = poly_rings[geom_polys]
    xy = np.ascontiguousarray(coords[:, :2]) + 0.0  # -0.0 and 0.0 are the same coordinate
    xbits = xy[:, 0].view(np.uint64)
    ybits = xy[:, 1].view(np.uint64)
    sums = np.zeros(len(idx), dtype=np.uint64)
    if compiled and _vertex_sums_nb is not None:
        _vertex_sums_nb(xbits, ybits, ring_offsets.astype(np.int64), geom_ring_start.astype(np.int64), sums)
    else:
        with np.errstate(over="ignore"):
            h = _mix(xbits * _G + ybits)
        closing = ring_offsets[1:] - 1
        h[closing] = 0
        starts = ring_offsets[geom_ring_start[:-1]]
        nonempty = geom_ring_start[1:] > geom_ring_start[:-1]
        cs = np.concatenate([[np.uint64(0)], np.cumsum(h, dtype=np.uint64)])
        ends = ring_offsets[geom_ring_start[1:]]
        sums = np.where(nonempty, cs[ends] - cs[starts], np.uint64(0)).astype(np.uint64)
    out[idx] = sums
    return out
