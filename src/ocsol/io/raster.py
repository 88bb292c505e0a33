"""Open classified rasters (GeoTIFF / COG, any CRS) and check that vintages share one grid.

No maths here: this module opens files, checks their metadata and reads windows of pixels.
The counting lives in :mod:`ocsol.crosstab`.

Two vintages share a grid when they have the same CRS, the same shape and the same transform
(origin and pixel size equal within 1/1000 of a pixel, so that crops cut from the same tile with
float round-off still match). Otherwise the error says how to align them with GDAL or rasterio.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from ..errors import CRSError, InputFileError, SchemaError
from .common import check_file

RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img", ".jp2", ".gtiff"}
#: Tolerance, in pixels, when comparing the transforms of two vintages.
GRID_TOLERANCE = 1e-3


@dataclass(frozen=True)
class RasterInfo:
    """Metadata of one classified raster (band 1 is read).

    Attributes
    ----------
    path
        The file.
    crs
        Its CRS (rasterio).
    transform
        Pixel → CRS affine transform (north-up, no rotation).
    width, height
        Size in pixels.
    dtype
        Pixel type (an integer type).
    nodata
        The nodata value, or None when the file declares none.
    block_shape
        Internal tile / strip size ``(rows, cols)`` of band 1.
    """

    path: Path
    crs: CRS
    transform: Affine
    width: int
    height: int
    dtype: str
    nodata: int | None
    block_shape: tuple[int, int]

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)


@dataclass(frozen=True)
class Grid:
    """The grid shared by every vintage: CRS, transform and shape."""

    crs: CRS
    transform: Affine
    width: int
    height: int
    block_shape: tuple[int, int]

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)


def open_raster(path: str | os.PathLike[str], *, what: str = "raster") -> RasterInfo:
    """Open a classified raster and check it can be counted.

    Raises
    ------
    InputFileError
        Missing, empty or unreadable file, or not a raster.
    CRSError
        The raster has no CRS.
    SchemaError
        Non-integer pixels (a classified raster holds class values) or a rotated grid.
    """
    in_memory = str(path).startswith("/vsimem/")  # an xarray DataArray handed over by ocsol.io.xr
    p = Path(str(path)) if in_memory else check_file(path, what=what, hint="check [raster.vintages] in ocsol.toml")
    try:
        with rasterio.open(p) as ds:
            crs, transform = ds.crs, ds.transform
            width, height, dtype = ds.width, ds.height, ds.dtypes[0]
            nodata, blocks, count = ds.nodata, ds.block_shapes[0], ds.count
    except RasterioIOError as exc:
        raise InputFileError(f"{p}: cannot open the {what} as a raster ({exc}); give a GeoTIFF or COG") from None
    if count < 1:
        raise SchemaError(f"{p}: the {what} has no band")
    if not np.issubdtype(np.dtype(dtype), np.integer):
        raise SchemaError(
            f"{p}: the {what} holds {dtype} pixels; a classified raster holds integer class values "
            "(convert with `gdal_translate -ot Byte` if the values are whole numbers)"
        )
    if crs is None:
        raise CRSError(
            f"{p}: the {what} has no CRS; define it, e.g. `gdal_edit.py -a_srs EPSG:2154 {p.name}`"
        )
    if transform.b != 0 or transform.d != 0:
        raise SchemaError(
            f"{p}: the {what} grid is rotated; warp it to a north-up grid with "
            f"`gdalwarp -r near {p.name} north_up.tif`"
        )
    if nodata is not None:
        if not float(nodata).is_integer():
            raise SchemaError(f"{p}: nodata {nodata} is not an integer; set it with `gdal_edit.py -a_nodata 0`")
        nodata = int(nodata)
    return RasterInfo(
        path=p, crs=crs, transform=transform, width=width, height=height, dtype=str(dtype),
        nodata=nodata, block_shape=(int(blocks[0]), int(blocks[1])),
    )


def check_same_grid(rasters: Mapping[int, RasterInfo]) -> Grid:
    """Check that every vintage shares the first one's grid and return that grid.

    Raises
    ------
    CRSError
        When the CRSs differ.
    SchemaError
        When the pixel size, origin or shape differ; the message gives the command that aligns
        a vintage on the reference one.
    """
    if not rasters:
        raise SchemaError("[raster.vintages] is empty; give at least one year = \"path.tif\"")
    years = sorted(rasters)
    ref = rasters[years[0]]
    for year in years[1:]:
        other = rasters[year]
        fix = _alignment_hint(ref, other)
        if other.crs != ref.crs:
            raise CRSError(
                f"{other.path} ({year}) is in {_crs_name(other.crs)} but {ref.path} ({years[0]}) is in "
                f"{_crs_name(ref.crs)}; the vintages must share one grid: {fix}"
            )
        problems = []
        tol_x = abs(ref.transform.a) * GRID_TOLERANCE
        tol_y = abs(ref.transform.e) * GRID_TOLERANCE
        if abs(other.transform.a - ref.transform.a) > tol_x or abs(other.transform.e - ref.transform.e) > tol_y:
            problems.append(
                f"pixel size {abs(other.transform.a):.6g}×{abs(other.transform.e):.6g} vs "
                f"{abs(ref.transform.a):.6g}×{abs(ref.transform.e):.6g}"
            )
        elif abs(other.transform.c - ref.transform.c) > tol_x or abs(other.transform.f - ref.transform.f) > tol_y:
            dx = (other.transform.c - ref.transform.c) / ref.transform.a
            dy = (other.transform.f - ref.transform.f) / ref.transform.e
            problems.append(f"origin shifted by ({dx + 0.0:.3f}, {dy + 0.0:.3f}) pixels")
        if other.shape != ref.shape:
            problems.append(f"shape {other.height}×{other.width} vs {ref.height}×{ref.width} (rows×cols)")
        if problems:
            raise SchemaError(
                f"{other.path} ({year}) is not on the grid of {ref.path} ({years[0]}): "
                f"{'; '.join(problems)}; {fix}"
            )
    return Grid(crs=ref.crs, transform=ref.transform, width=ref.width, height=ref.height,
                block_shape=ref.block_shape)


def _crs_name(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_string()[:60]


def _alignment_hint(ref: RasterInfo, other: RasterInfo) -> str:
    left, top = ref.transform.c, ref.transform.f
    right = left + ref.transform.a * ref.width
    bottom = top + ref.transform.e * ref.height
    return (
        f"align it on the reference with `rio warp {other.path.name} aligned.tif --like {ref.path.name} "
        f"--resampling nearest` or `gdalwarp -r near -t_srs {_crs_name(ref.crs)} "
        f"-tr {abs(ref.transform.a):.12g} {abs(ref.transform.e):.12g} "
        f"-te {left:.12g} {bottom:.12g} {right:.12g} {top:.12g} {other.path.name} aligned.tif` "
        "(nearest neighbour only: classes must not be averaged)"
    )


def open_vintages(paths: Mapping[int, str | os.PathLike[str]]) -> tuple[dict[int, RasterInfo], Grid]:
    """Open every vintage (year → path) and check they share one grid."""
    infos = {int(year): open_raster(path, what=f"raster {year}") for year, path in paths.items()}
    return infos, check_same_grid(infos)


class WindowReader:
    """Read the same window of several rasters, safely from several threads.

    Each thread opens its own dataset handles (GDAL handles are not thread-safe); rasterio
    releases the GIL while decoding, so a thread pool decodes windows in parallel.
    Use as a context manager so every handle is closed.
    """

    def __init__(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        self.paths = [Path(p) for p in paths]
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[rasterio.io.DatasetReader] = []

    def _datasets(self) -> list[rasterio.io.DatasetReader]:
        ds = getattr(self._local, "ds", None)
        if ds is None:
            ds = [rasterio.open(p) for p in self.paths]
            self._local.ds = ds
            with self._lock:
                self._opened.extend(ds)
        return ds

    def read(self, window: Window) -> list[np.ndarray]:
        """Band 1 of each raster over ``window`` (raw values, nodata left as is)."""
        try:
            return [d.read(1, window=window) for d in self._datasets()]
        except RasterioIOError as exc:
            raise InputFileError(f"cannot decode window {window} ({exc}); the raster may be truncated") from None

    def close(self) -> None:
        with self._lock:
            for d in self._opened:
                d.close()
            self._opened.clear()

    def __enter__(self) -> WindowReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
