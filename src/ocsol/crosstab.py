"""Per-territory crosstab of classified rasters: stock and transition pieces at decode speed.

How pixels are counted
----------------------
* **Zones**: the territories' polygons are reprojected to the raster CRS and burnt onto the
  raster grid window by window by the rule of :func:`rasterio.features.rasterize`
  (``all_touched=False``): a pixel belongs to the zone that contains its **centre** (the GDAL
  pixel-centre rule), wholly or not at all. Each pixel is thus counted once; where zones
  overlap the one listed last wins. A zone's pixel area (``zone_m2`` in
  :attr:`RasterPieces.covered`) therefore differs from its polygon area by about half a pixel
  along its boundary. A window wholly inside one zone is not burnt. The others are burnt by a
  compiled copy of GDAL's scanline fill (:func:`ocsol.kernels.burn_zones`, without the GIL,
  ≈ 10× faster), which also gives each zone's pixels per row (a window uniform in both
  vintages needs no label image); where a vertex or a boundary crossing lies within rounding
  of a pixel centre, so that GDAL's own arithmetic decides, the window is burnt by GDAL.
* **Streaming**: the raster is read in windows aligned on its internal blocks (``block_size``
  pixels a side, :mod:`ocsol.io.raster`), only over the zones' bounds; windows that no zone
  touches are never decoded. Windows are processed by a thread pool (rasterio releases the GIL
  while decoding), so memory stays bounded (≈ 30 bytes per pixel of a window per thread)
  whatever the raster size.
* **Counting**: per window, one compiled pass (:func:`ocsol.kernels.pair_bins`, without the GIL,
  so every thread counts) over a key ``(zone, value_from, value_to)``.
  For 8-bit rasters the raw byte pair is the key (no lookup per pixel); the legend is applied
  to the few non-empty bins afterwards. Wider types are first mapped to legend indices.
  A run of pixels in one bin is counted in registers; in a geographic CRS the kernel takes one
  weight per row. Windows uniform in both vintages (the sea, nodata) skip the kernel: their
  pixels are counted per zone and row in one pass. None of this changes a sum's order.
* **Areas**: in a projected CRS, ``count × |pixel width × pixel height|`` (in the CRS plane;
  use an equal-area projection such as EPSG:2154 / EPSG:3035 for true areas). In a geographic
  CRS, every pixel row gets its exact area on the CRS ellipsoid (the area of a latitude band of
  one pixel's longitude width, closed form via the authalic function ``q(φ)``), and counts
  are weighted by row area.
* **Footprint**: stocks and transitions are counted on the pixels that hold a legend class in
  both vintages of a pair, so that the transition matrix margins equal the stocks and a nodata
  gap is never read as a land change. Nodata and unknown pixels inside a zone are reported per
  zone and vintage (:attr:`RasterPieces.covered`).
* **Unknown values** (neither in the legend nor nodata) are counted per vintage and value
  (:attr:`RasterPieces.unknown`). With ``unknown="error"`` (the default) they raise
  :class:`~ocsol.errors.UnknownCodeError` listing every value and its pixel count; with
  ``unknown="nodata"`` they are treated like nodata (uncovered) and still reported.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import CRS
from rasterio.features import rasterize
from rasterio.windows import Window

from .errors import ConfigError, SchemaError, UnknownCodeError, format_problems
from .io.raster import Grid, RasterInfo, WindowReader, open_vintages
from .io.xr import raster_sources
from .kernels import ZoneRings, burn_zones, is_uniform, pair_bins, pair_bins_rows, zone_row_counts

if TYPE_CHECKING:
    import geopandas as gpd

    from .territories import Territories

log = logging.getLogger(__name__)

STOCK_COLUMNS = ["code", "vintage", "cs", "us", "area_m2"]
TRANSITION_COLUMNS = ["code", "vintage_from", "vintage_to", "cs_from", "us_from", "cs_to", "us_to", "area_m2"]
CLASS_COLUMNS = ["cs", "us", "artif", "imper", "cs_label", "us_label"]
COVERED_COLUMNS = ["code", "vintage", "zone_m2", "covered_m2", "uncovered_m2", "nodata_m2", "unknown_m2",
                   "other_vintage_m2"]
UNKNOWN_COLUMNS = ["vintage", "path", "value", "pixels", "area_m2"]
UNKNOWN_POLICIES = ("error", "nodata")
#: GDAL block cache while counting (MB): windows are read once, so a large cache only costs memory.
GDAL_CACHE_MB = 64


@dataclass(frozen=True)
class RasterPieces:
    """What the raster engine hands to :func:`ocsol.indicators.build_tables`.

    Attributes
    ----------
    stock
        Stock pieces: ``code, vintage, cs, us, area_m2`` (``cs`` = class value as str, ``us`` = "").
    transitions
        Transition pieces: ``code, vintage_from, vintage_to, cs_from, us_from, cs_to, us_to,
        area_m2`` for consecutive vintages, unchanged pixels (``cs_from == cs_to``) included.
    classes
        ``cs, us, artif, imper, cs_label, us_label`` for every legend class.
    covered
        Per zone and vintage: ``zone_m2`` (pixels whose centre is in the zone), ``covered_m2``
        (valid in both vintages of the pair: the footprint of stock and transitions),
        ``uncovered_m2`` = zone − covered, split into ``nodata_m2``, ``unknown_m2`` (this
        vintage) and ``other_vintage_m2`` (valid here, invalid in the paired vintage).
    unknown
        Raster values found inside the zones that are neither legend classes nor nodata:
        ``vintage, path, value, pixels, area_m2`` (empty when all values are known).
    meta
        Provenance: legend, CRS, area method, pixel counts, windows read.
    """

    stock: pd.DataFrame
    transitions: pd.DataFrame
    classes: pd.DataFrame
    covered: pd.DataFrame
    unknown: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


def crosstab_rasters(
    territories: Territories | gpd.GeoDataFrame,
    vintages: Mapping[int, str | os.PathLike[str]],
    legend: pd.DataFrame,
    *,
    block_size: int = 2048,
    unknown: str = "error",
    threads: int | None = None,
    legend_name: str = "",
    progress: bool = False,
) -> RasterPieces:
    """Count, per zone, the area of every class and of every class change between vintages.

    Parameters
    ----------
    territories
        :class:`~ocsol.territories.Territories` with geometry, or a GeoDataFrame with a ``code``
        column; any CRS.
    vintages
        Year → raster path, or an :class:`xarray.DataArray` with a CRS and ``y``/``x``
        coordinates (:mod:`ocsol.io.xr`); every raster on the same grid.
    legend
        As returned by :func:`ocsol.legends.load_legend`.
    block_size
        Window side in pixels (rounded to the raster's internal blocks).
    unknown
        ``"error"`` (raise on values outside the legend) or ``"nodata"`` (count them as
        uncovered); both report them in :attr:`RasterPieces.unknown`.
    threads
        Worker threads (default: the number of CPUs).
    legend_name
        For messages and provenance.
    progress
        Show a progress bar over windows.

    Returns
    -------
    RasterPieces
    """
    if unknown not in UNKNOWN_POLICIES:
        raise ConfigError(f"[raster].unknown = {unknown!r}; use one of {', '.join(UNKNOWN_POLICIES)}")
    zones = _zones(territories)
    vintages, _in_memory = raster_sources(vintages)  # xarray DataArrays → in-memory GeoTIFFs
    infos, grid = open_vintages(vintages)
    years = sorted(infos)
    pairs = list(zip(years[:-1], years[1:], strict=True)) or [(years[0], years[0])]
    counter = _Counter(zones, infos, grid, legend, pairs, block_size=block_size)
    windows = counter.windows()
    n_threads = max(1, threads or os.cpu_count() or 1)
    log.info("raster crosstab: %d zone(s), %d vintage(s), %d window(s), %d thread(s)",
             len(zones), len(years), len(windows), n_threads)
    parts: list[np.ndarray] = []
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), WindowReader([infos[y].path for y in years]) as reader:
        def work(task: tuple[Window, np.ndarray]) -> np.ndarray | None:
            return counter.count(reader, *task)

        results: Iterator[np.ndarray | None]
        if n_threads == 1:
            results = map(work, windows)
        else:
            pool = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="ocsol-raster")
            results = pool.map(work, windows)
        if progress:
            from tqdm.auto import tqdm

            results = tqdm(results, total=len(windows), unit="window")
        try:
            parts = [r for r in results if r is not None]
        finally:
            if n_threads > 1:
                pool.shutdown(wait=True, cancel_futures=True)
    return counter.assemble(parts, unknown=unknown, legend_name=legend_name, n_windows=len(windows))


def _zones(territories: Territories | gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    import geopandas as gpd

    frame = getattr(territories, "communes", territories)
    if not isinstance(frame, gpd.GeoDataFrame) or "geometry" not in frame.columns:
        raise SchemaError(
            "raster crosstab needs territories with polygons (a GeoPackage, Shapefile or GeoJSON of "
            "communes); a table without geometry cannot be laid over a raster"
        )
    if frame.crs is None:
        raise SchemaError("the territories have no CRS; they cannot be laid over the raster")
    if "code" not in frame.columns:
        raise SchemaError("the territories have no 'code' column")
    return frame[["code", "geometry"]].reset_index(drop=True)


def row_areas(grid: Grid) -> np.ndarray | float:
    """Area in m² of one pixel: a float in a projected CRS, one value per row in a geographic CRS.

    In a geographic CRS the pixel of row ``r`` spans latitudes ``φ1..φ2`` and a longitude width
    ``Δλ``; its area on the ellipsoid (semi-major axis ``a``, eccentricity ``e``) is
    ``a²/2 · Δλ · |q(φ2) − q(φ1)|`` with the authalic function
    ``q(φ) = (1 − e²) [sin φ / (1 − e² sin² φ) − ln((1 − e sin φ)/(1 + e sin φ)) / (2e)]``.
    """
    crs = CRS.from_user_input(grid.crs.to_wkt())
    t = grid.transform
    if not crs.is_geographic:
        unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        return abs(t.a * t.e) * unit * unit
    ell = crs.ellipsoid
    assert ell is not None  # pyproj gives every geographic CRS an ellipsoid
    a = ell.semi_major_metre
    inv_f = ell.inverse_flattening
    e2 = 0.0 if not inv_f or math.isinf(inv_f) else (2 - 1 / inv_f) / inv_f
    to_rad = crs.axis_info[0].unit_conversion_factor if crs.axis_info else math.pi / 180
    lat_edges = np.clip((t.f + t.e * np.arange(grid.height + 1)) * to_rad, -math.pi / 2, math.pi / 2)
    dlon = abs(t.a) * to_rad
    s = np.sin(lat_edges)
    if e2 == 0.0:
        q = 2 * s
    else:
        e = math.sqrt(e2)
        q = (1 - e2) * (s / (1 - e2 * s * s) - np.log((1 - e * s) / (1 + e * s)) / (2 * e))
    return cast(np.ndarray, a * a / 2 * dlon * np.abs(np.diff(q)))


class _Counter:
    """The per-window counting and the final assembly (one object shared by the threads)."""

    def __init__(self, zones: gpd.GeoDataFrame, infos: dict[int, RasterInfo], grid: Grid,
                 legend: pd.DataFrame, pairs: list[tuple[int, int]], *, block_size: int) -> None:
        self.infos, self.grid, self.legend, self.pairs = infos, grid, legend, pairs
        self.years = sorted(infos)
        self.codes = zones["code"].astype(str).to_numpy()
        self.geoms = np.asarray(zones.to_crs(grid.crs.to_wkt()).geometry.values)
        self.tree = shapely.STRtree(self.geoms)
        shapely.prepare(self.geoms)
        self.rings = ZoneRings(self.geoms)
        self.block_size = block_size
        self.area = row_areas(grid)
        self.geographic = isinstance(self.area, np.ndarray)
        values = legend["value"].to_numpy(dtype=np.int64)
        self.k = len(values)
        self.byte = all(np.dtype(i.dtype) == np.uint8 for i in infos.values())
        # Code space: raw bytes (V = 256) or legend index with nodata = K, unknown = K + 1.
        self.v = 256 if self.byte else self.k + 2
        self.values = values
        self._local = threading.local()
        self.unknown_lut = {y: self._classify(np.arange(256), y) == self.k + 1 for y in self.years} if self.byte else {}

    # ------------------------------------------------------------------ windows
    def windows(self) -> list[tuple[Window, np.ndarray]]:
        """Block-aligned windows over the zones' bounds, each with its candidate zones."""
        g, t = self.grid, self.grid.transform
        bh, bw = g.block_shape
        if bw >= g.width:  # striped file: full-width windows
            win_w = g.width
            win_h = max(bh, (self.block_size * self.block_size // max(g.width, 1)) // bh * bh)
        else:
            win_w = max(bw, round(self.block_size / bw) * bw)
            win_h = max(bh, round(self.block_size / bh) * bh)
        xmin, ymin, xmax, ymax = shapely.total_bounds(self.geoms)
        inv = ~t
        c0, r0 = inv @ (xmin, ymax)
        c1, r1 = inv @ (xmax, ymin)
        cmin, cmax = sorted((c0, c1))
        rmin, rmax = sorted((r0, r1))
        col_lo = max(0, int(math.floor(cmin)) // win_w * win_w)
        row_lo = max(0, int(math.floor(rmin)) // win_h * win_h)
        col_hi = min(g.width, int(math.ceil(cmax)))
        row_hi = min(g.height, int(math.ceil(rmax)))
        out = []
        for row in range(row_lo, row_hi, win_h):
            for col in range(col_lo, col_hi, win_w):
                w = Window(col, row, min(win_w, g.width - col), min(win_h, g.height - row))
                box = self._centres_box(w)
                cand = self.tree.query(box)
                if len(cand):
                    out.append((w, np.sort(cand)))
        return out

    def _centres_box(self, w: Window) -> shapely.Geometry:
        t = self.grid.transform
        x0, y0 = t @ (w.col_off + 0.5, w.row_off + 0.5)
        x1, y1 = t @ (w.col_off + w.width - 0.5, w.row_off + w.height - 0.5)
        return shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    # ------------------------------------------------------------------ counting
    def _encode(self, arr: np.ndarray, info: RasterInfo) -> np.ndarray:
        if self.byte:
            return arr
        idx = np.searchsorted(self.values, arr)
        idx = np.minimum(idx, self.k - 1)
        known = self.values[idx] == arr
        out = np.where(known, idx, self.k + 1).astype(np.int64)
        if info.nodata is not None:
            out[arr == info.nodata] = self.k
        return out

    def _buffers(self, n: int) -> dict[str, Any]:
        """Per-thread scratch arrays, reused from window to window (no page faults per window)."""
        buf = getattr(self._local, "buf", None)
        if buf is None or buf["w"].size < n:
            buf = {"w": np.empty(n, np.float64), "w_at": None}
            self._local.buf = buf
        return buf

    def _weights(self, buf: dict[str, Any], window: Window) -> np.ndarray:
        h, w = int(window.height), int(window.width)
        at = (int(window.row_off), h, w)
        out = buf["w"][: h * w]
        if buf["w_at"] != at:  # windows of one row band share their weights
            out.reshape(h, w)[:] = cast(np.ndarray, self.area)[at[0]:at[0] + h, None]
            buf["w_at"] = at
        return cast(np.ndarray, out)

    def _labels(self, window: Window, cand: np.ndarray, *, image: bool) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Zone labels of ``window``: ``(labels, rows)``.

        ``labels``: the label of every pixel (``j + 1`` for ``cand[j]``, 0 outside every zone),
        None when not ``image``; ``rows[label, row]``: pixels of each label in each row, or None.
        The compiled scanline fill (:func:`ocsol.kernels.burn_zones`, no GIL) gives GDAL's pixels
        and the row counts with them; where a vertex or a boundary crossing lies within rounding
        of a pixel centre (or for zones it cannot read), GDAL burns the window (labels only).
        """
        h, w = int(window.height), int(window.width)
        t = rasterio.windows.transform(window, self.grid.transform)
        burnt = burn_zones(self.rings, cand, (t.a, t.b, t.c, t.d, t.e, t.f), (h, w), image=image)
        if burnt is not None:
            return burnt
        dtype = np.uint8 if len(cand) < 255 else np.uint16 if len(cand) < 65535 else np.uint32
        shapes = ((self.geoms[i], j + 1) for j, i in enumerate(cand))
        return rasterize(shapes, out_shape=(h, w), transform=t, fill=0, all_touched=False, dtype=dtype), None

    def count(self, reader: WindowReader, window: Window, cand: np.ndarray) -> np.ndarray | None:
        """Non-empty bins of one window.

        Rows ``(zone, pair, code_from, code_to, raw_from, raw_to, pixels, area_m2)``; ``pixels`` is
        NaN where only the area was needed (geographic CRS, known classes), and one row with zone
        −3 carries the number of pixels inside zones.
        """
        h, w = int(window.height), int(window.width)
        n = h * w
        single = len(cand) == 1 and bool(shapely.contains(self.geoms[cand[0]], self._centres_box(window)))
        zl: np.ndarray | None = None
        zone_rows: np.ndarray | None = None
        m = 1 if single else len(cand) + 1
        if single:
            inside = n
        else:
            # row counts first (no image): a window with no pixel centre in a zone is not decoded
            zl, zone_rows = self._labels(window, cand, image=False)
            inside = int(np.count_nonzero(zl)) if zl is not None else n - int(cast(np.ndarray, zone_rows)[0].sum())
            if not inside:
                return None
        arrs = reader.read(window)
        raws = dict(zip(self.years, arrs, strict=True))
        codes = {y: self._encode(a, self.infos[y]) for y, a in raws.items()}
        flat = {y: c.reshape(-1) for y, c in codes.items()}
        uniform_year = {y: is_uniform(c) for y, c in flat.items()}
        uniform_pair = [uniform_year[ya] and uniform_year[yb] for ya, yb in self.pairs]
        if not single and zl is None and (not self.byte or m > 9 or not all(uniform_pair)):
            zl, _ = self._labels(window, cand, image=True)  # the kernel needs every pixel's label
        row_w = cast(np.ndarray, self.area)[window.row_off:window.row_off + h] if self.geographic else None
        # a weight per pixel only where raw unknown values of wide types need it
        weights = self._weights(self._buffers(n), window) if self.geographic and not self.byte else None
        v2 = self.v * self.v
        rows = [np.array([[-3, -1, -1, -1, -1, -1, inside, 0.0]])]
        for p, (ya, yb) in enumerate(self.pairs):
            a, b = flat[ya], flat[yb]
            uniform = uniform_pair[p]
            if single and uniform:
                # uniform window (sea, nodata, one crop…): one bin, no pass over the pixels
                area = float(cast(np.ndarray, self.area)[window.row_off:window.row_off + h].sum() * w) if self.geographic \
                    else n * float(self.area)
                rows.append(np.array([[cand[0], p, a[0], b[0], -1, -1, n, area]], dtype=np.float64))
                if not self.byte:
                    wts = None if weights is None else weights.reshape(h, w)
                    rows.extend(self._unknown_raw(raws, codes, zl, wts, p, ya, yb, cand))
                continue
            if not single and m <= 9 and uniform:
                # uniform pixels over a few zones: exact per-row zone counts, no key
                if zone_rows is None:
                    zone_rows = zone_row_counts(cast(np.ndarray, zl), m)  # pixels of each zone in each row
                for j, gid in enumerate(cand, start=1):
                    per_row = zone_rows[j]
                    cnt = int(per_row.sum())
                    if cnt:
                        area = float(per_row @ cast(np.ndarray, self.area)[window.row_off:window.row_off + h]) \
                            if self.geographic else cnt * float(self.area)
                        rows.append(np.array([[gid, p, a[0], b[0], -1, -1, cnt, area]], dtype=np.float64))
                if not self.byte:
                    wts = None if weights is None else weights.reshape(h, w)
                    rows.extend(self._unknown_raw(raws, codes, zl, wts, p, ya, yb, cand))
                continue
            # one pass without the GIL (ocsol.kernels): counts and weighted sums together
            if row_w is None:
                counts, sums = pair_bins(None if zl is None else zl.reshape(-1), a, b, v=self.v, n_zones=m)
            else:
                counts, sums = pair_bins_rows(zl, codes[ya], codes[yb], row_w, v=self.v, n_zones=m)
            if row_w is None:
                nz = np.flatnonzero(counts)
                areas = counts[nz] * float(self.area)
                pixels = counts[nz].astype(np.float64)
            else:
                assert sums is not None  # pair_bins sums the weights it is given
                nz = np.flatnonzero(sums)
                areas = sums[nz]
                pixels = np.full(len(nz), np.nan)
                cf_, ct_ = np.divmod(nz % v2, self.v)
                if self.byte and (self.unknown_lut[ya][cf_] | self.unknown_lut[yb][ct_]).any():
                    pixels = counts[nz].astype(np.float64)  # exact counts for QA
            local, pair_code = np.divmod(nz, v2)
            if zl is None:
                zone = np.full(len(nz), cand[0])
            else:
                keep = local > 0
                local, pair_code, areas, pixels = local[keep], pair_code[keep], areas[keep], pixels[keep]
                zone = cand[local - 1]
            cf, ct = np.divmod(pair_code, self.v)
            block = np.empty((len(zone), 8), dtype=np.float64)
            block[:, 0], block[:, 1], block[:, 2], block[:, 3] = zone, p, cf, ct
            block[:, 4], block[:, 5] = -1, -1
            block[:, 6], block[:, 7] = pixels, areas
            rows.append(block)
            if not self.byte:
                wts = None if weights is None else weights.reshape(h, w)
                rows.extend(self._unknown_raw(raws, codes, zl, wts, p, ya, yb, cand))
        return np.concatenate(rows)

    def _unknown_raw(self, raws: dict[int, np.ndarray], codes: dict[int, np.ndarray], zl: np.ndarray | None,
                     weights: np.ndarray | None, p: int, ya: int, yb: int, cand: np.ndarray) -> list[np.ndarray]:
        """Raw values of unknown pixels (wide types only: 8-bit keys keep the raw values)."""
        out = []
        inside = np.ones(codes[ya].shape, bool) if zl is None else zl > 0
        for side, y in ((0, ya), (1, yb)):
            mask = (codes[y] == self.k + 1) & inside
            if not mask.any():
                continue
            vals, inv = np.unique(raws[y][mask], return_inverse=True)
            cnt = np.bincount(inv, minlength=len(vals))
            area = (np.bincount(inv, weights=weights.reshape(mask.shape)[mask], minlength=len(vals))
                    if weights is not None else cnt * float(self.area))
            block = np.zeros((len(vals), 8))
            block[:, 0], block[:, 1], block[:, 2 + side] = -1, p, -2
            block[:, 4 + side], block[:, 6], block[:, 7] = vals, cnt, area
            out.append(block)
        return out

    # ------------------------------------------------------------------ assembly
    def _classify(self, codes: np.ndarray, year: int) -> np.ndarray:
        """Code (raw byte or legend index) → legend index, K for nodata, K + 1 for unknown."""
        if not self.byte:
            return codes.astype(np.int64)
        lut = np.full(256, self.k + 1, dtype=np.int64)
        inrange = (self.values >= 0) & (self.values < 256)
        lut[self.values[inrange]] = np.arange(self.k)[inrange]
        nodata = self.infos[year].nodata
        if nodata is not None and 0 <= nodata < 256:
            lut[nodata] = self.k
        return lut[codes.astype(np.int64)]

    def assemble(self, parts: list[np.ndarray], *, unknown: str, legend_name: str, n_windows: int) -> RasterPieces:
        cols = ["zone", "pair", "cf", "ct", "raw_from", "raw_to", "pixels", "area_m2"]
        data = pd.DataFrame(np.concatenate(parts) if parts else np.empty((0, 8)), columns=cols)
        inside = int(data.loc[data["zone"] == -3, "pixels"].sum())
        raw = data[data["zone"] == -1]
        data = data[data["zone"] >= 0]
        data = data.groupby(["zone", "pair", "cf", "ct"], as_index=False)[["pixels", "area_m2"]].sum()
        zone = data["zone"].to_numpy(dtype=np.int64)
        k = self.k
        legend = self.legend
        cs = legend["value"].astype(str).to_numpy(dtype=object)
        stock_parts, trans_parts, cover_parts, unknown_parts = [], [], [], []
        for p, (ya, yb) in enumerate(self.pairs):
            sel = (data["pair"] == p).to_numpy()
            ia = self._classify(data["cf"].to_numpy()[sel], ya)
            ib = self._classify(data["ct"].to_numpy()[sel], yb)
            z, area, px = zone[sel], data["area_m2"].to_numpy()[sel], data["pixels"].to_numpy()[sel]
            valid = (ia < k) & (ib < k)
            if ya != yb:
                trans_parts.append(pd.DataFrame({
                    "code": self.codes[z[valid]], "vintage_from": ya, "vintage_to": yb,
                    "cs_from": cs[ia[valid]], "us_from": "", "cs_to": cs[ib[valid]], "us_to": "",
                    "area_m2": area[valid]}))
            sides = [(ya, ia, ib)] if p < len(self.pairs) - 1 else [(ya, ia, ib), (yb, ib, ia)]
            if ya == yb:
                sides = sides[:1]
            for year, mine, other in sides:
                stock_parts.append(pd.DataFrame({"code": self.codes[z[valid]], "vintage": year,
                                                 "cs": cs[mine[valid]], "us": "", "area_m2": area[valid]}))
                cover_parts.append(pd.DataFrame({
                    "zone": z, "vintage": year, "zone_m2": area, "covered_m2": np.where(valid, area, 0.0),
                    "nodata_m2": np.where(mine == k, area, 0.0), "unknown_m2": np.where(mine == k + 1, area, 0.0),
                    "other_vintage_m2": np.where((mine < k) & (other >= k), area, 0.0)}))
                if self.byte:
                    bad = mine == k + 1
                    side_codes = (data["cf"] if year == ya else data["ct"]).to_numpy()[sel]
                    unknown_parts.append(pd.DataFrame({"vintage": year, "value": side_codes[bad],
                                                       "pixels": px[bad], "area_m2": area[bad]}))
                else:
                    side = 0 if year == ya else 1
                    r = raw[(raw["pair"] == p) & (raw["cf" if side == 0 else "ct"] == -2)]
                    unknown_parts.append(pd.DataFrame({"vintage": year, "value": r["raw_from" if side == 0 else "raw_to"],
                                                       "pixels": r["pixels"], "area_m2": r["area_m2"]}))
        stock = _sum(stock_parts, ["code", "vintage", "cs", "us"], STOCK_COLUMNS)
        transitions = _sum(trans_parts, ["code", "vintage_from", "vintage_to", "cs_from", "us_from", "cs_to", "us_to"],
                           TRANSITION_COLUMNS)
        cover = pd.concat(cover_parts, ignore_index=True) if cover_parts else pd.DataFrame(
            columns=["zone", "vintage", *COVERED_COLUMNS[2:]])
        cover = cover.groupby(["zone", "vintage"], as_index=False).sum()
        cover.insert(0, "code", self.codes[cover.pop("zone").to_numpy(dtype=np.int64)])
        cover["uncovered_m2"] = cover["zone_m2"] - cover["covered_m2"]
        cover = cover[COVERED_COLUMNS].sort_values(["code", "vintage"], kind="mergesort").reset_index(drop=True)
        unk = pd.concat(unknown_parts, ignore_index=True) if unknown_parts else pd.DataFrame(
            columns=["vintage", "value", "pixels", "area_m2"])
        unk = unk.astype({"value": np.int64, "pixels": np.int64, "area_m2": float, "vintage": np.int64})
        unk = unk.groupby(["vintage", "value"], as_index=False)[["pixels", "area_m2"]].sum()
        unk.insert(1, "path", [str(self.infos[int(y)].path) for y in unk["vintage"]])
        unk = unk[UNKNOWN_COLUMNS].reset_index(drop=True)
        if len(unk) and unknown == "error":
            raise UnknownCodeError(_unknown_message(unk, legend_name, self.infos))
        if len(unk):
            log.warning("%d raster value(s) outside legend %s counted as uncovered", len(unk), legend_name)
        classes = pd.DataFrame({"cs": cs, "us": "", "artif": legend["artif"].to_numpy(dtype=bool),
                                "imper": legend["imper"].to_numpy(dtype=bool),
                                "cs_label": legend["label"].to_numpy(dtype=object), "us_label": ""})
        meta = {"legend": legend_name, "crs": self.grid.crs.to_string(), "vintages": self.years,
                "area_method": "geodesic rows (ellipsoid)" if self.geographic else "projected pixel area",
                "pixel_rule": "pixel centre", "windows": n_windows, "proxy": True,
                "pixels_in_zones": inside}
        return RasterPieces(stock=stock, transitions=transitions, classes=classes[CLASS_COLUMNS],
                            covered=cover, unknown=unk, meta=meta)


def _sum(parts: list[pd.DataFrame], keys: list[str], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "area_m2" else object) for c in columns})
    df = pd.concat(parts, ignore_index=True)
    df = df.groupby(keys, as_index=False, sort=True)["area_m2"].sum()
    df = df[df["area_m2"] > 0]
    for c in keys:
        if c.startswith("vintage"):
            df[c] = df[c].astype(np.int64)
    return df[columns].reset_index(drop=True)


def _unknown_message(unk: pd.DataFrame, legend_name: str, infos: Mapping[int, RasterInfo]) -> str:
    problems = []
    for year, part in unk.groupby("vintage"):
        info = infos[int(year)]
        listed = ", ".join(f"{int(v)} ({int(n):,} px)".replace(",", " ")
                           for v, n in zip(part["value"], part["pixels"], strict=True))
        problems.append(f"{info.path} ({year}): {len(part)} value(s) not in legend {legend_name!r} "
                        f"and not nodata ({info.nodata}): {listed}")
    return (format_problems(problems) + "; add them to a legend CSV (value,label,colour,artif) and set "
            "[raster].legend to its path, or set [raster].unknown = \"nodata\" to count them as uncovered")
