"""xarray inputs and outputs of the raster engine: measure arrays already in a notebook.

A classified raster opened with rioxarray (``rioxarray.open_rasterio(...).squeeze()``) or built
in memory is an :class:`xarray.DataArray` with ``y``/``x`` coordinates (pixel centres, regular
spacing) and a CRS — from rioxarray's ``.rio`` accessor, the CF ``spatial_ref`` coordinate
(``crs_wkt`` / ``spatial_ref`` attribute, as rioxarray and GDAL write it) or ``attrs["crs"]``.
:func:`raster_sources` hands such arrays to the engine as in-memory GeoTIFFs (GDAL ``/vsimem``:
no file is written), so :func:`ocsol.crosstab.crosstab_rasters` takes them in place of paths.
:func:`change_map` returns the artificialisation change of two vintages as a DataArray.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from affine import Affine
from pyproj import CRS

from ..errors import CRSError, SchemaError

#: Values of :func:`change_map`.
ARTIFICIALISATION, DESARTIFICIALISATION, NO_CHANGE, NO_DATA = 1, -1, 0, -128


def is_dataarray(obj: Any) -> bool:
    """Whether ``obj`` is an xarray DataArray (without importing xarray for file paths)."""
    return type(obj).__name__ == "DataArray" and hasattr(obj, "dims")


def grid_of(da: Any, *, name: str = "array") -> tuple[CRS, Affine, int | None]:
    """CRS, pixel transform and nodata of a 2-D DataArray (``y``, ``x`` pixel-centre coordinates).

    Raises
    ------
    CRSError
        When the array carries no CRS.
    SchemaError
        When it is not 2-D, its coordinates are not regular, or its values are not integers.
    """
    arr = da.squeeze(drop=True) if da.ndim > 2 else da
    if arr.ndim != 2:
        raise SchemaError(f"{name}: a classified raster is 2-D (y, x); this DataArray has dims {da.dims}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise SchemaError(f"{name}: holds {arr.dtype} values; a classified raster holds integer class values "
                          "(use .astype('uint8') when they are whole numbers)")
    crs = None
    rio = getattr(arr, "rio", None) if "rio" in dir(arr) else None
    if rio is not None:
        try:
            crs = rio.crs
        except Exception:  # rioxarray present but no CRS: try the attributes
            crs = None
    if crs is None and "spatial_ref" in arr.coords:
        attrs = arr.coords["spatial_ref"].attrs
        wkt = attrs.get("crs_wkt") or attrs.get("spatial_ref")
        crs = CRS.from_wkt(wkt) if wkt else None
    if crs is None and arr.attrs.get("crs") is not None:
        crs = CRS.from_user_input(arr.attrs["crs"])
    if crs is None:
        raise CRSError(f"{name}: the DataArray has no CRS; open it with rioxarray or set attrs['crs'] = 'EPSG:2154'")
    ydim, xdim = arr.dims
    x = np.asarray(arr.coords[xdim].values, dtype=float) if xdim in arr.coords else None
    y = np.asarray(arr.coords[ydim].values, dtype=float) if ydim in arr.coords else None
    if x is None or y is None or len(x) < 2 or len(y) < 2:
        raise SchemaError(f"{name}: needs {ydim}/{xdim} coordinates (pixel centres) with at least 2 pixels each")
    dx, dy = np.diff(x), np.diff(y)
    if not (np.allclose(dx, dx[0], rtol=1e-9) and np.allclose(dy, dy[0], rtol=1e-9)):
        raise SchemaError(f"{name}: the {xdim}/{ydim} coordinates are not regularly spaced; regrid the array")
    transform = Affine(dx[0], 0.0, x[0] - dx[0] / 2, 0.0, dy[0], y[0] - dy[0] / 2)
    nodata = None
    if rio is not None:
        try:
            nodata = rio.nodata
        except Exception:
            nodata = None
    if nodata is None:
        nodata = arr.attrs.get("nodata", arr.attrs.get("_FillValue"))
    return CRS.from_user_input(crs), transform, None if nodata is None else int(nodata)


def raster_sources(vintages: Mapping[int, Any]) -> tuple[dict[int, str | os.PathLike[str]], list[Any]]:
    """Year → path for the engine: DataArrays become in-memory GeoTIFFs (``/vsimem``), paths stay.

    Returns the mapping and the in-memory files, which must be kept alive while they are read.
    """
    if not any(is_dataarray(v) for v in vintages.values()):
        return dict(vintages), []
    from rasterio.io import MemoryFile

    out: dict[int, Any] = {}
    keep: list[Any] = []
    for year, v in vintages.items():
        if not is_dataarray(v):
            out[year] = v
            continue
        crs, transform, nodata = grid_of(v, name=f"raster {year} (DataArray)")
        arr = np.asarray((v.squeeze(drop=True) if v.ndim > 2 else v).values)
        mem = MemoryFile(filename=f"ocsol_{year}.tif")
        with mem.open(driver="GTiff", height=arr.shape[0], width=arr.shape[1], count=1, dtype=arr.dtype.name,
                      crs=crs.to_wkt(), transform=transform, nodata=nodata) as dst:
            dst.write(arr, 1)
        keep.append(mem)
        out[year] = mem.name
    return out, keep


def change_map(before: Any, after: Any, legend: pd.DataFrame) -> Any:
    """Per-pixel artificialisation change between two vintages on one grid, as a DataArray.

    Values: 1 artificialisation (non-artificialised class → artificialised), −1
    désartificialisation, 0 no change of the flag, −128 no data (nodata or a value outside the
    legend in either vintage). Coordinates and CRS are those of ``before``.
    """
    import xarray as xr

    crs_a, tr_a, nod_a = grid_of(before, name="before")
    crs_b, tr_b, nod_b = grid_of(after, name="after")
    if not crs_a.equals(crs_b) or not tr_a.almost_equals(tr_b) or before.shape != after.shape:
        raise SchemaError("before/after: the two DataArrays are not on the same grid (CRS, transform, shape)")
    flags = dict(zip(legend["value"].astype(int), legend["artif"].astype(bool), strict=True))
    a, b = np.asarray(before.values), np.asarray(after.values)

    def lookup(v: np.ndarray, nodata: int | None) -> tuple[np.ndarray, np.ndarray]:
        known = np.isin(v, list(flags))
        if nodata is not None:
            known &= v != nodata
        art = np.isin(v, [k for k, f in flags.items() if f])
        return art, known

    fa, ka = lookup(a, nod_a)
    fb, kb = lookup(b, nod_b)
    out = np.full(a.shape, NO_CHANGE, dtype=np.int8)
    out[~fa & fb] = ARTIFICIALISATION
    out[fa & ~fb] = DESARTIFICIALISATION
    out[~(ka & kb)] = NO_DATA
    res = xr.DataArray(out, coords=before.coords, dims=before.dims, name="artif_change",
                       attrs={"crs": crs_a.to_string(), "nodata": NO_DATA,
                              "description": "1 artificialisation, -1 désartificialisation, 0 no change, -128 no data",
                              "measure": "raster_proxy"})
    return res
