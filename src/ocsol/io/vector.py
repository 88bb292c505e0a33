"""Open vector layers (GPKG, SHP, GeoJSON, GeoParquet…) into the working CRS, repairing geometry."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from ..cluster import chunks, n_threads, thread_map
from ..errors import CRSError, InputFileError, SchemaError, close_matches
from .common import VECTOR_SUFFIXES, check_file

log = logging.getLogger(__name__)

POLYGONAL = {"Polygon", "MultiPolygon"}
#: Formats that hold one layer only (the `layer` key is then not needed and not checked).
SINGLE_LAYER_SUFFIXES = {".shp", ".geojson", ".json", ".fgb"}

try:  # reading through Arrow is 2-3x faster for large layers
    import pyarrow  # noqa: F401

    _HAS_ARROW = True
except ImportError:  # pragma: no cover
    _HAS_ARROW = False


def working_crs(crs: str | int | CRS) -> CRS:
    """The working CRS as a pyproj CRS (must be projected, in metres)."""
    try:
        c = CRS.from_user_input(crs)
    except PyprojCRSError as exc:
        raise CRSError(f"working CRS {crs!r} is not understood ({exc}); use e.g. crs = \"EPSG:2154\"") from None
    if not c.is_projected:
        raise CRSError(f"working CRS {crs!r} is not projected; areas need metres, use e.g. EPSG:2154")
    return c


def recognise_crs(crs: CRS | None) -> CRS | None:
    """Recognise well-known CRSs given as bare WKT (IGNF Lambert-93 → EPSG:2154)."""
    if crs is None:
        return None
    epsg = crs.to_epsg()
    if epsg is not None:
        return CRS.from_epsg(epsg)
    code = crs.to_epsg(min_confidence=25)
    if code is not None and CRS.from_epsg(code).equals(crs, ignore_axis_order=True):
        return CRS.from_epsg(code)
    return crs


def field_names(path: str | os.PathLike[str], *, layer: str | None = None) -> list[str] | None:
    """The attribute fields of a vector layer from its metadata (nothing else is read), or None
    when the metadata cannot be read (the full read then reports the problem)."""
    p = os.fspath(path)
    try:
        if p.lower().endswith((".parquet", ".geoparquet")):
            import pyarrow.parquet as pq

            return [n for n in pq.read_schema(p).names]
        import pyogrio

        return [str(f) for f in pyogrio.read_info(p, layer=layer)["fields"]]
    except Exception:  # noqa: BLE001 - any failure: let read_layer name it
        return None


def _parquet_geometry(path: os.PathLike[str]) -> str:
    """The primary geometry column of a GeoParquet file (``geometry`` when not declared)."""
    import json

    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    try:
        return str(json.loads(meta[b"geo"])["primary_column"])
    except (KeyError, ValueError, TypeError):
        return "geometry"


def read_layer(
    path: str | os.PathLike[str],
    *,
    what: str,
    crs: CRS,
    layer: str | None = None,
    columns: list[str] | Callable[[list[str]], list[str]] | None = None,
    polygons: bool = True,
    wants: Callable[[Sequence[str]], bool] | None = None,
    expected: str = "expected fields",
    config_key: str = "its section",
) -> tuple[gpd.GeoDataFrame, int]:
    """Read a vector layer, check it, reproject it and repair invalid geometries.

    Returns the layer and the number of repaired geometries. Raises InputFileError for a
    missing, empty or unreadable file, CRSError without a CRS, SchemaError for non-polygons.
    ``columns`` may be a function choosing the fields to read from the layer's field names
    (read from its metadata): only those are read.
    A file with several layers is read through :func:`pick_layer` (``wants``, ``expected`` and
    ``config_key`` are passed to it).
    """
    p = check_file(path, what=what)
    if p.suffix.lower() not in VECTOR_SUFFIXES:
        raise InputFileError(
            f"{p}: unsupported {what} format {p.suffix!r}; use GeoPackage, Shapefile, GeoJSON or GeoParquet"
        )
    layer = pick_layer(p, layer=layer, what=what, wants=wants, expected=expected, config_key=config_key)
    if callable(columns):
        fields = field_names(p, layer=layer)
        columns = columns(fields) if fields else None
    try:
        with warnings.catch_warnings(record=True) as caught:  # library warnings go to the log, not the terminal
            warnings.simplefilter("always")
            if p.suffix.lower() in {".parquet", ".geoparquet"}:
                gdf = gpd.read_parquet(p, columns=None if columns is None else [*columns, _parquet_geometry(p)])
            elif columns is not None and _HAS_ARROW:
                gdf = _read_batches(p, layer=layer, columns=columns)
            else:
                gdf = gpd.read_file(p, layer=layer, engine="pyogrio", columns=columns, use_arrow=_HAS_ARROW)
        for w in caught:
            log.info("%s: %s", p, w.message)
    except (ValueError, KeyError) as exc:
        raise SchemaError(f"{p}: {exc}") from None
    except Exception as exc:  # pyogrio/GDAL raise many types for corrupt files
        raise InputFileError(f"{p}: cannot read {what} ({type(exc).__name__}: {exc}); check the file is complete") from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.active_geometry_name is None:
        raise SchemaError(f"{p}: no geometry in the {what}; give a spatial layer")
    if gdf.active_geometry_name != "geometry":  # GeoParquet may name it otherwise
        gdf = gdf.rename_geometry("geometry")
    if len(gdf) == 0:
        raise InputFileError(f"{p}: the {what} layer is empty (0 features); check the export or the layer name")
    if gdf.crs is None:
        raise CRSError(
            f"{p}: {what} has no CRS (missing .prj or undefined); define it, e.g. "
            "`ogr2ogr -a_srs EPSG:2154 out.gpkg in.shp`"
        )
    src = recognise_crs(CRS.from_user_input(gdf.crs))
    assert src is not None  # recognise_crs keeps a CRS a CRS
    if src.equals(crs, ignore_axis_order=True):
        gdf = gdf.set_crs(crs, allow_override=True)
        gdf.attrs["reprojected"] = False
    else:
        gdf = gdf.to_crs(crs)
        gdf.attrs["reprojected"] = True
    geom = gdf.geometry.values
    missing = shapely.is_missing(np.asarray(geom)) | shapely.is_empty(np.asarray(geom))
    if missing.any():
        raise SchemaError(
            f"{p}: {int(missing.sum())} feature(s) of the {what} have no geometry; remove or fix them"
        )
    if polygons:
        types = set(gdf.geom_type.unique())
        bad = types - POLYGONAL
        if bad:
            n = int((~gdf.geom_type.isin(list(POLYGONAL))).sum())
            raise SchemaError(
                f"{p}: the {what} must hold polygons; found {n} feature(s) of type {sorted(bad)}; "
                "export the polygon layer"
            )
    gdf, repaired = repair(gdf)
    if repaired:
        log.info("%s: repaired %d invalid geometries with make_valid", p, repaired)
    return gdf, repaired


def _read_batches(path: os.PathLike[str], *, layer: str | None, columns: list[str],
                  batch_size: int = 100_000) -> gpd.GeoDataFrame:
    """Read a layer by Arrow batches, decoding each batch's WKB at once: the whole layer is
    never held twice (as WKB and as geometries)."""
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd
    import pyogrio

    geoms: list = []
    frames: list[pd.DataFrame] = []
    # WKB is decoded on a second thread while GDAL reads the next batch (both release the GIL)
    with pyogrio.open_arrow(path, layer=layer, columns=columns, batch_size=batch_size, use_pyarrow=True) as (meta, reader), \
            ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="ocsol-read") as pool:
        geom_name = meta["geometry_name"] or "wkb_geometry"
        waited = 0
        for batch in reader:
            geoms.append(pool.submit(shapely.from_wkb, batch.column(geom_name).to_numpy(zero_copy_only=False)))
            frames.append(batch.select([c for c in batch.schema.names if c != geom_name]).to_pandas())
            while len(geoms) - waited > 2:  # at most two batches of WKB waiting: memory stays bounded
                geoms[waited].result()
                waited += 1
        geoms = [f.result() for f in geoms]
    if not geoms:
        return gpd.GeoDataFrame(pd.DataFrame(columns=columns), geometry=gpd.GeoSeries([]), crs=meta["crs"])
    attrs = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(attrs, geometry=np.concatenate(geoms), crs=meta["crs"])


def is_geoparquet(path: str | os.PathLike[str]) -> bool:
    """Whether a ``.parquet``/``.geoparquet`` file carries GeoParquet ``geo`` metadata."""
    p = Path(path)
    if p.suffix.lower() not in {".parquet", ".geoparquet"}:
        return False
    if p.suffix.lower() == ".geoparquet":
        return True
    try:
        import pyarrow.parquet as pq

        return b"geo" in (pq.read_schema(p).metadata or {})
    except Exception:  # unreadable: the reader reports it
        return False


def has_fields(*alternatives: Sequence[str]) -> Callable[[Sequence[str]], bool]:
    """A test on a layer's fields: for each group of names, one is present (any case)."""
    def test(fields: Sequence[str]) -> bool:
        lower = {str(f).lower() for f in fields}
        return all(any(str(a).lower() in lower for a in group) for group in alternatives)
    return test


def list_layers(path: str | os.PathLike[str], *, fields: bool = True) -> dict[str, list[str]]:
    """Layer name → field names of a vector file (one entry for single-layer formats).

    With ``fields=False`` only the names are read (the lists are empty).
    """
    import pyogrio

    p = Path(path)
    if p.suffix.lower() in {".parquet", ".geoparquet"}:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        names = [str(n) for n in pyogrio.list_layers(p)[:, 0]]
        if not fields:
            return dict.fromkeys(names, [])
        return {n: [str(f) for f in pyogrio.read_info(p, layer=n)["fields"]] for n in names}


def pick_layer(
    path: str | os.PathLike[str],
    *,
    layer: str | None,
    what: str,
    wants: Callable[[Sequence[str]], bool] | None = None,
    expected: str = "expected fields",
    config_key: str = "its section",
) -> str | None:
    """The layer to read from a file that may hold several (GeoPackage as IGN delivers it).

    A named ``layer`` must exist. Without one, a single-layer file is read as is; with several
    layers, the one whose fields satisfy ``wants`` is read when exactly one does; otherwise
    SchemaError lists each layer with its fields and asks for ``layer = "…"`` (never the first
    layer by chance).
    """
    try:
        layers = list_layers(path, fields=False)
        if len(layers) > 1:
            layers = list_layers(path)
    except Exception:  # unreadable: read_layer reports it with its own message
        return layer
    if layer is not None:
        if len(layers) == 1 and Path(path).suffix.lower() in SINGLE_LAYER_SUFFIXES:
            return None  # a shapefile/GeoJSON has one layer: a section-wide layer name is for its GeoPackages
        if layers and str(layer) not in layers:
            raise SchemaError(
                f"{path}: no layer {layer!r} in this {what} file{close_matches(str(layer), list(layers))}; "
                f"its layers are {_describe(list_layers(path))}; fix layer = \"…\" in {config_key} of ocsol.toml"
            )
        return layer
    if len(layers) <= 1:
        return None
    good = [n for n, fields in layers.items() if wants is not None and wants(fields)]
    if len(good) == 1:
        log.info("%s: reading layer %r (the only one with the %s)", path, good[0], expected)
        return good[0]
    which = "no layer has" if not good else f"{len(good)} layers have"
    raise SchemaError(
        f"{path}: {len(layers)} layers and {which} the {expected}: {_describe(layers)}; "
        f"name the one to read: layer = \"…\" in {config_key} of ocsol.toml"
    )


def _describe(layers: dict[str, list[str]], n: int = 8) -> str:
    out = []
    for name, fields in layers.items():
        shown = ", ".join(fields[:n]) + (f", … {len(fields) - n} more" if len(fields) > n else "")
        out.append(f"{name!r} ({shown})")
    return "; ".join(out)


def repair(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Repair invalid geometries with ``make_valid`` keeping only their polygonal part; count them."""
    arr, invalid = repair_array(np.asarray(gdf.geometry.values))
    n = int(invalid.sum())
    if not n:
        return gdf, 0
    out = gdf.copy()
    out.geometry = gpd.GeoSeries(arr, index=gdf.index, crs=gdf.crs)
    return out, n


def repair_array(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`repair` on an array of geometries: the repaired array (a copy only when something
    was repaired) and the mask of the geometries that were invalid."""
    parts = chunks(len(arr), n_threads(None, len(arr), min_per_thread=20_000))
    invalid = ~np.concatenate(thread_map(lambda c: shapely.is_valid(arr[c]), parts)) if len(arr) else np.zeros(0, bool)
    if not invalid.any():
        return arr, invalid
    fixed = shapely.make_valid(arr[invalid])
    arr = arr.copy()
    arr[invalid] = np.array([_polygonal(g) for g in fixed], dtype=object)
    return arr, invalid


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    if g.geom_type in POLYGONAL:
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in POLYGONAL]
    if not parts:
        return shapely.Polygon()
    flat = []
    for p in parts:
        flat.extend(shapely.get_parts(p))
    return shapely.MultiPolygon(flat) if len(flat) > 1 else flat[0]


#: Margin (degrees) around a CRS's area of use within which territories are still accepted.
AREA_OF_USE_MARGIN_DEG = 0.1


def lonlat_bounds(gdf: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` of a layer in degrees (WGS 84), from its densified convex hull.

    Transforming the hull rather than every geometry keeps this fast for tens of thousands of
    communes; its bounding box would not do (its corners lie far outside a country's outline).
    """
    hull = shapely.convex_hull(shapely.multipoints(shapely.get_coordinates(np.asarray(gdf.geometry.values))))
    x0, y0, x1, y1 = hull.bounds
    hull = shapely.segmentize(hull, max(x1 - x0, y1 - y0, 1e-9) / 256)
    return tuple(float(v) for v in gpd.GeoSeries([hull], crs=gdf.crs).to_crs(4326).total_bounds)  # type: ignore[return-value]


def fitting_crs(bounds: tuple[float, float, float, float]) -> str:
    """A projected CRS fitting these lon/lat bounds: the UTM zone of their centre.

    The French official datum of the place (RGAF09, RGFG95, RGR92, RGM04…) is preferred when
    PROJ knows a UTM zone of it covering the bounds, else WGS 84.

    >>> fitting_crs((-61.8, 15.8, -61.0, 16.5))  # Guadeloupe
    'EPSG:5490 (RGAF09 / UTM zone 20N)'
    """
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    west, south, east, north = bounds
    lon, lat = (west + east) / 2, (south + north) / 2
    aoi = AreaOfInterest(west, south, east, north)
    found = [c for c in query_utm_crs_info(area_of_interest=aoi, contains=True)
             if c.auth_name == "EPSG" and not c.deprecated]
    zone = int((lon + 180) // 6) + 1
    suffix = f"zone {zone}{'N' if lat >= 0 else 'S'}"
    french = sorted(c for c in found if c.name.startswith("RG") and c.name.endswith(suffix))
    if french:
        c = max(french, key=lambda c: c.code)
        return f"EPSG:{c.code} ({c.name})"
    code = (32600 if lat >= 0 else 32700) + zone
    return f"EPSG:{code} (WGS 84 / UTM {suffix})"


def check_area_of_use(gdf: gpd.GeoDataFrame, crs: CRS, *, source: str, what: str = "territories") -> str:
    """Stop when a layer reprojected into the working CRS lies outside that CRS's area of use.

    Areas computed in a projection far from its area of use are wrong (EPSG:2154, Lambert-93,
    doubles areas near the equator); the message names a fitting CRS (the UTM zone). A layer
    already *stored* in the working CRS is measured in that plane as given (its producer chose
    the CRS): no error, but the returned note (else ``""``) goes to qa.csv.
    """
    aou = crs.area_of_use
    if aou is None or not len(gdf):
        return ""
    west, south, east, north = lonlat_bounds(gdf)
    m = AREA_OF_USE_MARGIN_DEG
    inside = (west >= aou.west - m and east <= aou.east + m and south >= aou.south - m and north <= aou.north + m)
    if aou.west > aou.east:  # area of use across the antimeridian: only check latitudes
        inside = south >= aou.south - m and north <= aou.north + m
    if inside:
        return ""
    name = f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else crs.name
    area = aou.name.split(" (")[0].rstrip(".")
    code, label = fitting_crs((west, south, east, north)).split(" ", 1)
    if not gdf.attrs.get("reprojected", True):
        return (f"{what} stored in {name} lie outside its area of use ({area}): areas are measured in "
                f"that plane as given; {code} {label} would fit")
    raise CRSError(
        f"{source}: the {what} (lon {west:.2f}…{east:.2f}, lat {south:.2f}…{north:.2f}) lie outside the area "
        f"of use of the working CRS {name} ({area}); its areas would be wrong there: set "
        f"crs = \"{code}\" in ocsol.toml {label}"
    )
