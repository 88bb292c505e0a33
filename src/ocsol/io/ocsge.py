"""Read OCS GE layers: full vintages and IGN change (DIFF) layers.

Readers validate and hand over clean frames with normalised column names; they do no maths.
- a vintage becomes ``cs, us, geometry``;
- a DIFF layer becomes ``cs_from, us_from, cs_to, us_to, geometry``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import CRSError, InputFileError, SchemaError
from .batches import VintageBatch, WkbColumn
from .common import VECTOR_SUFFIXES, check_file, find_column
from .vector import field_names, has_fields, pick_layer, read_layer, recognise_crs, working_crs

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
    layer
        Layer name inside a multi-layer file (GeoPackage); the one with code fields by default.

    Returns
    -------
    (GeoDataFrame, int)
        ``cs, us, geometry`` and the number of geometries repaired with ``make_valid``.

    Raises
    ------
    InputFileError
        When the file is missing, unreadable or has no layer with couverture/usage fields.
    SchemaError
        When a code field is missing or holds empty codes.

    Examples
    --------
    The synthetic 2019 vintage of the CA de Blois (9 009 polygons covering its 79 337 ha):

    >>> layer, repaired = read_ocsge("data/cvl/ocsge_synth_2019.gpkg")
    >>> layer[["cs", "us"]].head(3)
              cs     us
    0    CS2.2.1  US1.1
    1  CS2.1.1.2  US1.2
    2  CS2.1.1.2  US1.2
    >>> len(layer), repaired, round(layer.area.sum() / 1e4)
    (9009, 0, 79337)
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

    Parameters
    ----------
    paths
        One file or several (IGN splits a change layer in two: anthropised one way, the other).
    vintage_from, vintage_to
        The two years, which name the fields (``cs_2015`` …).
    crs
        Working CRS; the layer is reprojected to it.
    layer
        Layer name inside a multi-layer file.

    Returns
    -------
    (GeoDataFrame, int)
        ``cs_from, us_from, cs_to, us_to, geometry`` and the number of repaired geometries.

    Raises
    ------
    InputFileError
        When a file is missing, unreadable or lacks the four code fields.
    SchemaError
        When a code field holds empty codes.

    Examples
    --------
    The two IGN change layers of the Bassin d'Arcachon, 2015 → 2018 (5 266 polygons, 473 ha;
    3 invalid polygons repaired):

    >>> diff, repaired = read_ocsge_diff(["data/arcachon/A_B_2015_2018.shp", "data/arcachon/A_B_2018_2015.shp"],
    ...                                  vintage_from=2015, vintage_to=2018)
    >>> diff.drop(columns="geometry").head(3)
         cs_from us_from      cs_to    us_to
    0    CS2.2.1   US4.3  CS1.1.2.1  US4.1.2
    1  CS2.1.1.2   US1.2  CS1.1.1.2  US4.1.1
    2    CS1.2.1   US6.3  CS1.1.1.2  US4.1.1
    >>> len(diff), repaired, round(diff.area.sum() / 1e4)
    (5266, 3, 473)
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


def _arrow_codes(values: Any) -> np.ndarray:
    """Codes of an Arrow column like :func:`_codes` (stripped strings, "" when empty), normalised
    once per distinct value: an object array sharing one ``str`` per code."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.DictionaryArray):
        values = values.dictionary.take(values.indices)
    enc = pc.dictionary_encode(values)
    words = [("" if v is None else str(v).strip()) for v in enc.dictionary.to_pylist()]
    lookup = np.array([*words, ""], dtype=object)  # the last one for missing values
    idx = enc.indices.fill_null(len(words)).to_numpy(zero_copy_only=False)
    return np.asarray(lookup[idx])


def use_jemalloc_pool() -> None:
    """Make jemalloc Arrow's memory pool for this process, when the wheel has it.

    Called by the command line only (``ocsol indicators``, ``demo``, ``thresholds``): the
    pool is process-wide, so a script or notebook that imports ocsol keeps the pool it chose.
    An explicit ``ARROW_DEFAULT_MEMORY_POOL`` is always respected.

    Why: the Parquet reader fills a fresh buffer of ≈ 65 MB per batch of WKB; Arrow's default pool
    (mimalloc) gives freed pages back to the system at once, so every batch faulted its pages in
    again and the kernel zeroed them (≈ 1 s of system time per 1 M vintage, `perf`: ``clear_page``
    under ``memcpy``). jemalloc keeps them for the next batch: the same bytes are read, the
    tables are unchanged.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return  # chosen on purpose
    import pyarrow as pa

    if pa.default_memory_pool().backend_name != "mimalloc":
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except (NotImplementedError, pa.ArrowNotImplementedError):  # a build without jemalloc
        return


_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 4: "MultiPoint", 5: "MultiLineString",
               7: "GeometryCollection"}


class OcsgeStream:
    """One OCS GE vintage read batch by batch (Arrow), never held whole.

    Iterating yields :class:`ocsol.io.batches.VintageBatch` es of ``batch_size`` polygons in file
    order, holding the two code fields (normalised like :func:`read_ocsge`) and the WKB as read
    (decoded and repaired by the engine only where needed); a layer in another CRS than the
    working one is decoded and reprojected here. Each pass opens the file again. The checks of
    :func:`read_ocsge` hold: a missing, empty or non-polygon geometry or an empty layer stops the
    pass with the counts of the whole file.
    """

    def __init__(self, path: str | os.PathLike[str], *, crs: str = "EPSG:2154", cs_field: str | None = None,
                 us_field: str | None = None, layer: str | None = None, batch_size: int = 100_000) -> None:
        from pyproj import CRS


        self.what = "OCS GE layer"
        p = check_file(path, what=self.what)
        if p.suffix.lower() not in VECTOR_SUFFIXES:
            raise InputFileError(
                f"{p}: unsupported {self.what} format {p.suffix!r}; use GeoPackage, Shapefile, GeoJSON or GeoParquet")
        self.path, self.batch_size = p, max(1, int(batch_size))
        self.parquet = p.suffix.lower() in {".parquet", ".geoparquet"}
        self.layer = None if self.parquet else pick_layer(
            p, layer=layer, what=self.what, wants=has_fields([cs_field] if cs_field else CS_CANDIDATES,
                                                            [us_field] if us_field else US_CANDIDATES),
            expected="couverture/usage fields (code_cs, code_us)", config_key="[ocsge]")
        src, self.geometry, self.bounds = self._meta()  # an unreadable file stops here
        fields = field_names(p, layer=self.layer)
        if fields is None:
            raise InputFileError(f"{p}: cannot read {self.what} fields; check the file is complete")
        self.cs = find_column(fields, CS_CANDIDATES, given=cs_field, source=str(p), what="couverture (CS)",
                              config_key="ocsge.cs_field")
        self.us = find_column(fields, US_CANDIDATES, given=us_field, source=str(p), what="usage (US)",
                              config_key="ocsge.us_field")
        if src is None:
            raise CRSError(f"{p}: {self.what} has no CRS (missing .prj or undefined); define it, e.g. "
                           "`ogr2ogr -a_srs EPSG:2154 out.gpkg in.shp`")
        self.crs = working_crs(crs)
        self.src_crs = recognise_crs(CRS.from_user_input(src))
        assert self.src_crs is not None  # recognise_crs keeps a CRS a CRS
        self.reproject = not self.src_crs.equals(self.crs, ignore_axis_order=True)

    def _meta(self) -> tuple[object, str, tuple[float, float, float, float] | None]:
        """(CRS, geometry column, bounds or None) from the file's metadata."""
        import json

        import pyarrow.parquet as pq
        import pyogrio

        try:
            if self.parquet:
                meta = json.loads((pq.read_schema(self.path).metadata or {}).get(b"geo", b"{}"))
                name = meta.get("primary_column", "geometry")
                col = meta.get("columns", {}).get(name, {})
                if str(col.get("encoding", "WKB")).upper() != "WKB":
                    raise SchemaError(f"{self.path}: geometry encoding {col.get('encoding')!r}; ocsol reads "
                                      "GeoParquet with WKB geometries (write it with geopandas or GDAL)")
                bbox = col.get("bbox")
                return col.get("crs", "OGC:CRS84"), name, (tuple(bbox) if bbox and len(bbox) == 4 else None)
            info = pyogrio.read_info(self.path, layer=self.layer, force_total_bounds=True)  # not a stale extent
        except (SchemaError, InputFileError):
            raise
        except Exception as exc:  # noqa: BLE001 - GDAL/Arrow raise many types for corrupt files
            raise InputFileError(f"{self.path}: cannot read {self.what} ({type(exc).__name__}: {exc}); "
                                 "check the file is complete") from None
        bounds = info.get("total_bounds")
        return info.get("crs"), "", (tuple(bounds) if bounds is not None else None)

    def _arrow(self) -> Iterator[tuple[Any, Any, Any]]:
        """Arrow record batches: the code fields and the WKB (Arrow arrays)."""
        if self.parquet:
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)  # streamed, not held
            for batch in pf.iter_batches(batch_size=self.batch_size, columns=[self.cs, self.us, self.geometry]):
                yield batch.column(self.cs), batch.column(self.us), batch.column(self.geometry)
            return
        import pyogrio

        with pyogrio.open_arrow(self.path, layer=self.layer, columns=[self.cs, self.us], batch_size=self.batch_size,
                                use_pyarrow=True) as (meta, reader):
            geom = meta["geometry_name"] or "wkb_geometry"
            for batch in reader:
                yield batch.column(self.cs), batch.column(self.us), batch.column(geom)

    def __iter__(self) -> Iterator[VintageBatch]:
        import shapely

        n = missing = empty = 0
        others: dict[str, int] = {}
        failed = False
        try:
            for cs, us, geom in self._arrow():
                w = WkbColumn(geom)
                # a header that says "non-empty 2D polygon" is enough here; the others are decoded
                null = w.missing if w.missing is not None else np.zeros(len(w), bool)
                odd = np.flatnonzero(~w.polygon_header() & ~null)
                g_odd = w.decode(odd) if len(odd) else np.zeros(0, dtype=object)
                types = shapely.get_type_id(g_odd)
                n += len(w)
                missing += int(null.sum()) + int(shapely.is_missing(g_odd).sum())
                empty += int((shapely.is_empty(g_odd) & ~shapely.is_missing(g_odd)).sum())
                for t in np.unique(types[(types != 3) & (types != 6) & (types >= 0)]):
                    name = _TYPE_NAMES.get(int(t), str(t))
                    others[name] = others.get(name, 0) + int((types == t).sum())
                failed = failed or bool(missing or empty or others)
                if failed:  # count the rest of the file for the message, hand nothing more over
                    continue
                codes = [_arrow_codes(c) for c in (cs, us)]
                if self.reproject:
                    g = gpd.GeoSeries(w.decode(np.arange(len(w))), crs=self.src_crs).to_crs(self.crs).values
                    yield VintageBatch(codes[0], codes[1], geoms=np.asarray(g), needs_repair=True)
                else:
                    yield VintageBatch(codes[0], codes[1], wkb=w.arr)
        except (SchemaError, InputFileError):
            raise
        except Exception as exc:  # noqa: BLE001 - pyogrio/GDAL/Arrow raise many types for corrupt files
            raise InputFileError(f"{self.path}: cannot read {self.what} ({type(exc).__name__}: {exc}); "
                                 "check the file is complete") from None
        if n == 0:
            raise InputFileError(f"{self.path}: the {self.what} layer is empty (0 features); check the export "
                                 "or the layer name")
        if missing or empty:
            raise SchemaError(f"{self.path}: {missing + empty} feature(s) of the {self.what} have no geometry; "
                              "remove or fix them")
        if others:
            raise SchemaError(
                f"{self.path}: the {self.what} must hold polygons; found {sum(others.values())} feature(s) of type "
                f"{sorted(others)}; export the polygon layer")
