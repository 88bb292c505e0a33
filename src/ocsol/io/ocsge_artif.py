"""Read IGN's OCS GE Artificialisation products (the décret measure, thresholds applied by IGN).

Two products (IGN product documentation, as read by Mon Diagnostic Artificialisation; field names any case):

- an **artificialisation layer per vintage**: ``code_cs, code_us, millesime, artif, crit_seuil``
  where ``artif`` is ``"artif"`` or ``"non artif"`` and ``crit_seuil`` tells whether an
  interpretation threshold decided it → ``cs, us, artif, crit_seuil, geometry``;
- the **artificialisation difference layer** between two vintages (layer name containing
  ``zan_evol``): ``cs_<Y1>, us_<Y1>, cs_<Y2>, us_<Y2>, artif_<Y1>, artif_<Y2>`` and
  ``artificialisation`` (1 = artificialisation, −1 = désartificialisation) →
  ``cs_from, us_from, cs_to, us_to, artif_from, artif_to, geometry``.

The ``artif`` flags are read as IGN gives them, never recomputed from the codes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import SchemaError
from .common import find_column
from .ocsge import CS_CANDIDATES, US_CANDIDATES, _codes
from .vector import has_fields, read_layer, working_crs

#: Values of the ``artif`` field (compared lower-case, spaces/underscores/hyphens alike).
ARTIF_VALUES = {"artif": True, "non artif": False}


def read_ocsge_artif(
    path: str | os.PathLike[str],
    *,
    vintage: int,
    crs: str = "EPSG:2154",
    layer: str | None = None,
) -> tuple[gpd.GeoDataFrame, int]:
    """Read one IGN OCS GE Artificialisation layer (one vintage).

    Parameters
    ----------
    path
        The product's GeoPackage (or any vector format).
    vintage
        The year the configuration gives it; a ``millesime`` field naming another year is an error.
    crs
        Working CRS.
    layer
        Layer name, for a file with several layers that cannot be told apart by their fields.

    Returns
    -------
    (GeoDataFrame, int)
        ``cs, us, artif (bool), crit_seuil (bool or NA), geometry`` and the number of repaired geometries.
    """
    gdf, repaired = read_layer(path, what="OCS GE artificialisation layer", crs=working_crs(crs), layer=layer,
                               wants=has_fields(CS_CANDIDATES, US_CANDIDATES, ["artif"]),
                               expected="fields code_cs, code_us, artif", config_key="[ocsge.artif]")
    cols = list(gdf.columns)
    cs = find_column(cols, CS_CANDIDATES, given=None, source=str(path), what="couverture (code_cs)",
                     config_key="ocsge.artif")
    us = find_column(cols, US_CANDIDATES, given=None, source=str(path), what="usage (code_us)",
                     config_key="ocsge.artif")
    art = find_column(cols, ["artif"], given=None, source=str(path), what="artif", config_key="", required=False)
    if art is None:
        raise SchemaError(
            f"{path}: no artif field ('artif' / 'non artif'); found {', '.join(c for c in cols if c != 'geometry')}; "
            "this is not the IGN OCS GE Artificialisation product: give a plain OCS GE layer in "
            "[ocsge.vintages], not [ocsge.artif.vintages]"
        )
    mil = find_column(cols, ["millesime"], given=None, source=str(path), what="millesime", config_key="ocsge.artif",
                      required=False)
    if mil is not None:
        _check_year(gdf[mil], vintage, path, mil)
    seuil = find_column(cols, ["crit_seuil"], given=None, source=str(path), what="crit_seuil",
                        config_key="ocsge.artif", required=False)
    out = gpd.GeoDataFrame(
        {"cs": _codes(gdf[cs], path, cs), "us": _codes(gdf[us], path, us), "artif": artif_flags(gdf[art], path, art),
         "crit_seuil": _bools(gdf[seuil]) if seuil else pd.array([pd.NA] * len(gdf), dtype="boolean")},
        geometry=gdf.geometry.values, crs=gdf.crs,
    )
    return out, repaired


def read_ocsge_artif_diff(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    vintage_from: int,
    vintage_to: int,
    crs: str = "EPSG:2154",
    layer: str | None = None,
) -> tuple[gpd.GeoDataFrame, int]:
    """Read IGN's artificialisation difference layer between two vintages (possibly several files).

    The flags come from ``artif_<Y1>``/``artif_<Y2>`` when present, else from
    ``artificialisation`` (1: non artif → artif; −1: artif → non artif). When both are there
    they must agree (else SchemaError with the count of disagreeing polygons).

    Returns
    -------
    (GeoDataFrame, int)
        ``cs_from, us_from, cs_to, us_to, artif_from, artif_to, geometry`` and the number of
        repaired geometries.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    y1, y2 = int(vintage_from), int(vintage_to)
    frames, repaired = [], 0
    for path in paths:
        gdf, rep = read_layer(
            path, what="OCS GE artificialisation difference layer", crs=working_crs(crs), layer=layer,
            wants=has_fields([f"cs_{y1}"], [f"cs_{y2}"], [f"artif_{y1}", "artificialisation"]),
            expected=f"fields cs_{y1}, cs_{y2} and artificialisation", config_key="[[ocsge.artif_diff]]")
        repaired += rep
        lower = {str(c).lower(): str(c) for c in gdf.columns}
        cols = {}
        for kind in ("cs", "us"):
            for role, y in (("from", y1), ("to", y2)):
                name = lower.get(f"{kind}_{y}")
                if name is None:
                    years = sorted({m.group(1) for c in lower if (m := re.fullmatch(rf"{kind}_(\d{{4}})", c))})
                    raise SchemaError(
                        f"{path}: no field {kind}_{y} for the {role} vintage; found {kind} fields for years "
                        f"{years or 'none'}; check from/to of this [[ocsge.artif_diff]] entry"
                    )
                cols[f"{kind}_{role}"] = _codes(gdf[name], path, name)
        sign = None
        if "artificialisation" in lower:
            sign = _signs(gdf[lower["artificialisation"]], path, lower["artificialisation"])
        if f"artif_{y1}" in lower and f"artif_{y2}" in lower:
            a_from = artif_flags(gdf[lower[f"artif_{y1}"]], path, lower[f"artif_{y1}"])
            a_to = artif_flags(gdf[lower[f"artif_{y2}"]], path, lower[f"artif_{y2}"])
            if sign is not None:
                expected = np.where(sign == 1, ~a_from & a_to, a_from & ~a_to)
                bad = int((~expected).sum())
                if bad:
                    raise SchemaError(
                        f"{path}: {bad} polygon(s) whose artificialisation (1/−1) contradicts artif_{y1}/artif_{y2}; "
                        "the file is not a consistent IGN artificialisation difference layer"
                    )
        elif sign is not None:
            a_from, a_to = sign == -1, sign == 1
        else:
            raise SchemaError(
                f"{path}: no artif_{y1}/artif_{y2} fields and no artificialisation field; this is not the IGN "
                "artificialisation difference layer (for a plain OCS GE change layer use [[ocsge.diff]])"
            )
        frames.append(gpd.GeoDataFrame({**cols, "artif_from": np.asarray(a_from, dtype=bool),
                                        "artif_to": np.asarray(a_to, dtype=bool)},
                                       geometry=gdf.geometry.values, crs=gdf.crs))
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=frames[0].crs), repaired


def artif_flags(values: pd.Series, path: object, field: str) -> np.ndarray:
    """``artif`` / ``non artif`` (any case) → bool; anything else is a SchemaError with counts."""
    s = values.astype("string").str.strip().str.lower().str.replace(r"[\s_-]+", " ", regex=True)
    flags = s.map(ARTIF_VALUES)
    bad = flags.isna()
    if bad.any():
        counts = values[bad].astype("string").fillna("(vide)").value_counts().head(5)
        found = ", ".join(f"{k!r} × {v}" for k, v in counts.items())
        raise SchemaError(f"{path}: field {field} must be 'artif' or 'non artif'; found {found}")
    return flags.to_numpy(dtype=bool)


def _signs(values: pd.Series, path: object, field: str) -> np.ndarray:
    num = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
    bad = ~num.isin([1, -1])
    if bad.any():
        counts = values[bad].astype("string").fillna("(vide)").value_counts().head(5)
        found = ", ".join(f"{k!r} × {v}" for k, v in counts.items())
        raise SchemaError(f"{path}: field {field} must be 1 (artificialisation) or -1 (désartificialisation); "
                          f"found {found}")
    return num.to_numpy(dtype=int)


def _bools(values: pd.Series) -> pd.arrays.BooleanArray:
    s = values.astype("string").str.strip().str.lower()
    return s.map({"true": True, "1": True, "t": True, "false": False, "0": False, "f": False}).astype("boolean").array


def _check_year(values: pd.Series, vintage: int, path: object, field: str) -> None:
    years = values.astype("string").str.extract(r"((?:19|20)\d{2})")[0].dropna().astype(int).unique()
    other = sorted(set(years.tolist()) - {int(vintage)})
    if other:
        raise SchemaError(f"{path}: field {field} gives the year(s) {other}, but the configuration lists this "
                          f"file as {vintage}; fix the year in [ocsge.artif.vintages]")
