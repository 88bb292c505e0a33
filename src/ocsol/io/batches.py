"""Batches of an OCS GE vintage as the readers hand them to the pairing engine.

A :class:`VintageBatch` holds consecutive polygons of one vintage: their two code fields and
either shapely geometries or their WKB as read (an Arrow binary column, decoded by the engine
only where it needs geometry). The type lives in ``io`` so that the streamed reader
(:class:`ocsol.io.ocsge.OcsgeStream`) and the engine (:mod:`ocsol.change`) share it without the
reader importing an engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

#: Polygons per batch when a layer is streamed (``[ocsge] batch_rows``); the tables do not depend on it.
BATCH_ROWS = 100_000


@dataclass
class VintageBatch:
    """Consecutive polygons of a vintage: their codes and either their geometries or their WKB.

    ``wkb`` is an Arrow binary array (little-endian 2D WKB is hashed and compared without
    decoding); ``geoms`` are shapely geometries already in the working CRS and repaired unless
    ``needs_repair``.
    """

    cs: np.ndarray
    us: np.ndarray
    geoms: np.ndarray | None = None
    wkb: Any | None = None  # pyarrow.BinaryArray
    needs_repair: bool = False  # geometries not yet checked with is_valid (reprojected by the reader)


def layer_batches(layer: gpd.GeoDataFrame, size: int | None = None) -> Iterator[VintageBatch]:
    """A layer read in memory (``cs, us, geometry``) as :class:`VintageBatch` es of ``size`` rows."""
    geoms = np.asarray(layer.geometry.values)
    cs, us = layer["cs"].to_numpy(), layer["us"].to_numpy()
    step = max(1, size or BATCH_ROWS)
    for lo in range(0, len(geoms), step):
        yield VintageBatch(cs[lo:lo + step], us[lo:lo + step], geoms=geoms[lo:lo + step])


class WkbColumn:
    """The WKB of one batch as NumPy views of its Arrow buffers (nothing copied)."""

    def __init__(self, arr: Any) -> None:
        import pyarrow as pa

        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if isinstance(arr.type, pa.ExtensionType):
            arr = arr.storage
        self.arr = arr
        bufs = arr.buffers()
        dtype = np.int64 if pa.types.is_large_binary(arr.type) else np.int32
        self.offsets: np.ndarray = np.frombuffer(bufs[1], dtype=dtype)[arr.offset:arr.offset + len(arr) + 1].astype(
            np.int64)
        self.data: np.ndarray = (np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None
                                 else np.zeros(0, np.uint8))
        self.missing: np.ndarray | None = (np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
                                           if arr.null_count else None)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def decode(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Geometries of rows ``idx`` (every row when None).

        Little-endian 2D (Multi)Polygons are read straight from the Arrow buffers into flat
        coordinates (:func:`ocsol.io.wkb.wkb_polygons`, no ``bytes`` object per row); the
        other rows (a missing value, another type, byte order or dimension, a malformed value)
        go through ``shapely.from_wkb``, which decodes or rejects them as it always did.
        """
        # start-up: numba (≈ 0.5 s), compiled on first use
        from .wkb import wkb_polygons

        rows = np.arange(len(self), dtype=np.int64) if idx is None else np.asarray(idx, dtype=np.int64)
        if self.missing is not None:
            out, read = np.full(len(rows), None, dtype=object), np.zeros(len(rows), dtype=bool)
            there = np.flatnonzero(~self.missing[rows])
            out[there], read[there] = wkb_polygons(self.data, self.offsets, rows[there])
            read[self.missing[rows]] = True  # a missing value is None
        else:
            out, read = wkb_polygons(self.data, self.offsets, rows)
        rest = np.flatnonzero(~read)
        if len(rest):
            d, o = self.data, self.offsets
            out[rest] = shapely.from_wkb(np.array([d[o[i]:o[i + 1]].tobytes() for i in rows[rest]], dtype=object))
        return out

    def polygon_header(self) -> np.ndarray:
        """Which rows start like a non-empty little-endian 2D Polygon or MultiPolygon.

        Only the header is read: byte order, type and the first ring's (first part's) counts.
        The other rows (missing, empty, another type, byte order or dimension) need
        :meth:`decode` to be told apart; a truncated value is found by the engine's decoding.
        """
        start, size = self.offsets[:-1], np.diff(self.offsets)
        d = self.data
        if len(d) < 4:
            return np.zeros(len(start), dtype=bool)
        # every 4-byte window of the buffer as a little-endian uint32 (an unaligned view, no copy)
        words = np.ndarray(shape=(len(d) - 3,), dtype="<u4", buffer=d, strides=(1,))

        def word(at: np.ndarray, k: int) -> np.ndarray:
            return np.asarray(words[np.minimum(at + k, len(words) - 1)])

        little = d[np.minimum(start, len(d) - 1)] == 1
        kind = word(start, 1)
        polygon = little & (kind == 3) & (size >= 13) & (word(start, 5) > 0) & (word(start, 9) > 0)
        multi = little & (kind == 6) & (size >= 22)
        if multi.any():  # parts, then the first part's header, ring count and first ring's points
            m = np.flatnonzero(multi)
            at = start[m]
            multi[m] = ((word(at, 5) > 0) & (d[at + 9] == 1) & (word(at, 10) == 3) & (word(at, 14) > 0)
                        & (word(at, 18) > 0))
        out = polygon | multi
        if self.missing is not None:
            out &= ~self.missing
        return np.asarray(out, dtype=bool)
