"""xarray in the raster API: DataArrays (CRS + pixel-centre y/x coordinates, as rioxarray gives
them) are measured without writing files, and change maps come back as DataArrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from pyproj import CRS

from ocsol.crosstab import crosstab_rasters
from ocsol.errors import CRSError
from ocsol.io.xr import change_map


def _raster_helpers():
    """The hand-counted grids and fixtures of test_raster.py (one copy of them)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_ocsol_test_raster", Path(__file__).with_name("test_raster.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_tr = _raster_helpers()
V2020, V2021, X0, Y0, as_dict, pair, zones_ab = (_tr.V2020, _tr.V2021, _tr.X0, _tr.Y0, _tr.as_dict, _tr.pair,
                                                 _tr.zones_ab)
legend = _tr.legend  # the fixture


def _da(arr: np.ndarray, how: str = "spatial_ref") -> xr.DataArray:
    x = X0 + 5 + 10 * np.arange(arr.shape[1])
    y = Y0 - 5 - 10 * np.arange(arr.shape[0])
    da = xr.DataArray(arr.astype("uint8"), coords={"y": y, "x": x}, dims=("y", "x"), attrs={"nodata": 0})
    if how == "spatial_ref":  # what rioxarray / GDAL write (CF grid mapping)
        da = da.assign_coords(spatial_ref=xr.DataArray(0, attrs={"crs_wkt": CRS.from_epsg(2154).to_wkt()}))
    elif how == "attrs":
        da.attrs["crs"] = "EPSG:2154"
    return da


@pytest.mark.parametrize("how", ["spatial_ref", "attrs"])
def test_dataarrays_measure_like_files(tmp_path: Path, legend: pd.DataFrame, how: str) -> None:
    from_files = crosstab_rasters(zones_ab(), pair(tmp_path), legend, threads=1)
    files = sorted(tmp_path.rglob("*"))
    from_arrays = crosstab_rasters(zones_ab(), {2020: _da(V2020, how), 2021: _da(V2021, how)}, legend, threads=2)
    assert sorted(tmp_path.rglob("*")) == files  # nothing written
    for name in ("stock", "transitions", "covered"):
        pd.testing.assert_frame_equal(getattr(from_arrays, name), getattr(from_files, name))
    assert as_dict(from_arrays.transitions, ["code", "cs_from", "cs_to"])[("A", "3", "1")] == 100.0


def test_change_map_is_a_dataarray(legend: pd.DataFrame) -> None:
    before, after = _da(V2020), _da(V2021)
    ch = change_map(before, after, legend)
    assert isinstance(ch, xr.DataArray) and ch.dims == ("y", "x")
    np.testing.assert_array_equal(ch["x"].values, before["x"].values)
    # by hand: class 1 = built (artif). 2020 → 2021: (0,1) 1→2 désartif; (2,1) 3→1 artif; nodata at (2,2), (3,2)
    expected = np.zeros((4, 4), dtype=np.int8)
    expected[0, 1] = -1
    expected[2, 1] = 1
    expected[2, 2] = expected[3, 2] = -128
    np.testing.assert_array_equal(ch.values, expected)
    assert ch.attrs["measure"] == "raster_proxy"


def test_dataarray_without_crs_is_one_clear_error(legend: pd.DataFrame) -> None:
    with pytest.raises(CRSError, match=r"raster 2020 \(DataArray\): the DataArray has no CRS"):
        crosstab_rasters(zones_ab(), {2020: _da(V2020, "none"), 2021: _da(V2021, "none")}, legend)
