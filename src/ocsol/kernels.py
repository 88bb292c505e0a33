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
    bin_counts = np.bincount(key, minlength=n_bins)
    bin_sums = np.bincount(key, weights=weights, minlength=n_bins) if weights is not None else None
    return bin_counts, bin_sums


# -- vector: order-free hash of a polygon's vertices ---------------------------------------------
def _vertex_sums_loop(xbits: np.ndarray, ybits: np.ndarray, geom_of: np.ndarray,
                      out: np.ndarray) -> None:  # pragma: no cover - compiled
    m1 = np.uint64(0xBF58476D1CE4E5B9)
    m2 = np.uint64(0x94D049BB133111EB)
    g = np.uint64(0x9E3779B97F4A7C15)
    s30, s27, s31 = np.uint64(30), np.uint64(27), np.uint64(31)
    n = xbits.size
    c = 0
    while c < n:
        gi = geom_of[c]
        start = c  # a ring starts here and ends where its first vertex comes back
        c += 1
        while c < n and geom_of[c] == gi and not (xbits[c] == xbits[start] and ybits[c] == ybits[start]):
            c += 1
        last = c if c < n and geom_of[c] == gi else c - 1  # the closing vertex (or an open end)
        acc = np.uint64(0)
        for k in range(start, last):
            z = xbits[k] * g + ybits[k]
            z = (z ^ (z >> s30)) * m1
            z = (z ^ (z >> s27)) * m2
            z = z ^ (z >> s31)
            acc += z
        out[gi] += acc
        c = last + 1


_vertex_sums_nb = _jit(_vertex_sums_loop)


def vertex_hash(geoms: np.ndarray) -> np.ndarray:
    """A hash of each polygon's vertex set: the same whatever the start vertex or orientation
    of its rings, or the order of its rings and parts (a sum of hashed vertices, the closing
    vertex of each ring left out). Polygons equal vertex for vertex hash equal; different
    polygons almost surely do not — callers confirm candidate pairs exactly.

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
    coords, geom_of = shapely.get_coordinates(geoms, return_index=True)
    if len(coords) == 0:
        return out
    xy = coords + 0.0  # -0.0 and 0.0 are the same coordinate
    xbits = np.ascontiguousarray(xy[:, 0]).view(np.uint64)
    ybits = np.ascontiguousarray(xy[:, 1]).view(np.uint64)
    if _vertex_sums_nb is not None:
        _vertex_sums_nb(xbits, ybits, geom_of.astype(np.int64), out)
    else:  # pragma: no cover - without numba: the same loop in Python
        _vertex_sums_loop(xbits, ybits, geom_of, out)
    return out
