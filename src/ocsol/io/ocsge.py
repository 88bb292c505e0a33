"""Read OCS GE layers: full vintages and IGN change (DIFF) layers.

Readers validate and hand over clean frames with normalised column names; they do no maths.
- a vintage becomes ``cs, us, geometry``;
- a DIFF layer becomes ``cs_from, us_from, cs_to, us_to, geometry``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence

import geopandas as gpd
import pandas as pd

from ..errors import SchemaError
from .common import find_column
from .vector import has_fields, read_layer, working_crs

log = logging.getLogger(__name__)

CS_CANDIDATES = ["code_cs", "CODE_CS", "couverture"]
US_CANDIDATES = ["code_us", "CODE_US", "usage"]


def read_ocsge(
    path: str | os.PathLike[str],
    *,
    crs: str = "EPSG:2154",
    cs_field: str | None = None,
    us_field: str | None = None,
    layer: str | None = None,
) -> tuple[gpd.GeoDataFrame, int]:
    """Read one OCS GE vintage.

    Parameters
    ----------
    path
        GeoPackage, Shapefile, GeoJSON or GeoParquet.
    crs
        Working CRS; the layer is reprojected to it (an IGNF Lambert-93 WKT is EPSG:2154).
    cs_field, us_field
        Couverture / usage fields; detected among ``code_cs``/``CODE_CS``/``couverture`` and
        ``code_us``/``CODE_US``/``usage`` when not given.

    Returns
    -------
    (GeoDataFrame, int)
        ``cs, us, geometry`` and the number of geometries repaired with ``make_valid``.
    """

    def code_fields(fields: list[str]) -> list[str]:  # read only the two code fields (and the geometry)
        return [find_column(fields, CS_CANDIDATES, given=cs_field, source=str(path), what="couverture (CS)",
                            config_key="ocsge.cs_field"),
                find_column(fields, US_CANDIDATES, given=us_field, source=str(path), what="usage (US)",
                            config_key="ocsge.us_field")]

    gdf, repaired = read_layer(path, what="OCS GE layer", crs=working_crs(crs), layer=layer, columns=code_fields,
                               wants=has_fields([cs_field] if cs_field else CS_CANDIDATES,
                                                 [us_field] if us_field else US_CANDIDATES),
                               expected="couverture/usage fields (code_cs, code_us)", config_key="[ocsge]")
    cs = find_column(gdf.columns, CS_CANDIDATES, given=cs_field, source=str(path), what="couverture (CS)",
                     config_key="ocsge.cs_field")
    us = find_column(gdf.columns, US_CANDIDATES, given=us_field, source=str(path), what="usage (US)",
                     config_key="ocsge.us_field")
    out = gpd.GeoDataFrame(
        {"cs": _codes(gdf[cs], path, cs), "us": _codes(gdf[us], path, us)}, geometry=gdf.geometry.values, crs=gdf.crs
    )
    return out, repaired


def read_ocsge_diff(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    vintage_from: int,
    vintage_to: int,
    crs: str = "EPSG:2154",
    layer: str | None = None,
) -> tuple[gpd.GeoDataFrame, int]:
    """Read an IGN change (DIFF) layer, possibly split into several files.

    Each polygon carries its couverture and usage at both dates in fields ``cs_<Y1>``,
    ``us_<Y1>``, ``cs_<Y2>``, ``us_<Y2>`` (any case).

    Returns
    -------
    (GeoDataFrame, int)
        ``cs_from, us_from, cs_to, us_to, geometry`` and the number of repaired geometries.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    frames = []
    repaired = 0
    for path in paths:
        gdf, rep = read_layer(path, what="OCS GE change layer", crs=working_crs(crs), layer=layer,
                              wants=has_fields(*[[f"{k}_{y}"] for k in ("cs", "us") for y in (vintage_from, vintage_to)]),
                              expected=f"fields cs_{vintage_from}, us_{vintage_from}, cs_{vintage_to}, us_{vintage_to}",
                              config_key="[[ocsge.diff]]")
        repaired += rep
        cols: dict[str, str] = {}
        for role, year in (("from", vintage_from), ("to", vintage_to)):
            for kind in ("cs", "us"):
                col = _year_field(gdf.columns, kind, year)
                if col is None:
                    years = sorted({m.group(1) for c in gdf.columns if (m := re.fullmatch(rf"{kind}_(\d{{4}})", str(c), re.I))})
                    raise SchemaError(
                        f"{path}: no field {kind}_{year} for the {role} vintage; found {kind} fields for "
                        f"years {years or 'none'}; check from/to of this [[ocsge.diff]] entry"
                    )
                cols[f"{kind}_{role}"] = col
        frames.append(
            gpd.GeoDataFrame(
                {k: _codes(gdf[c], path, c) for k, c in cols.items()}, geometry=gdf.geometry.values, crs=gdf.crs
            )
        )
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=frames[0].crs), repaired


def _year_field(columns: pd.Index, kind: str, year: int) -> str | None:
    for c in columns:
        if str(c).lower() == f"{kind}_{year}":
            return str(c)
    return None


def _codes(values: pd.Series, path: object, field: str) -> pd.Series:
    """Codes as stripped strings; an empty code becomes "" (the rule table decides, the QA counts)."""
    s = values.astype("string").str.strip().fillna("")
    n_empty = int((s == "").sum())
    if n_empty:
        log.info("%s: %d polygon(s) with an empty %r code", path, n_empty, field)
    return s.astype(object)
