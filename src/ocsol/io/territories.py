"""Read the territories: communes (polygons or a plain table) and their parent levels."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import CoverageError, SchemaError
from ..territories import COMMUNE, Territories
from .common import VECTOR_SUFFIXES, as_code, check_file, find_column, parse_numbers, read_table
from .vector import check_area_of_use, has_fields, is_geoparquet, read_layer, working_crs

log = logging.getLogger(__name__)

CODE_CANDIDATES = ["CODE_INSEE", "insee_com", "code_insee", "INSEE_COM", "codgeo", "code_commune", "idcom", "code"]
NAME_CANDIDATES = ["NOM", "nom", "name", "libelle", "NOM_COM", "nom_commune", "idcomtxt"]


def read_territories(
    path: str | os.PathLike[str],
    *,
    code: str | None = None,
    name: str | None = None,
    area: str | None = None,
    area_unit: str = "ha",
    levels: dict[str, str] | None = None,
    level_names: dict[str, str] | None = None,
    membership: str | os.PathLike[str] | None = None,
    membership_code: str | None = None,
    layer: str | None = None,
    crs: str = "EPSG:2154",
) -> Territories:
    """Read communes and their parent levels.

    Parameters
    ----------
    path
        Commune polygons (GPKG, SHP, GeoJSON, GeoParquet) or a table without geometry
        (CSV, XLSX) that then needs an ``area`` column.
    code, name, area
        Columns of the commune code, name and official area (detected when not given; the area
        comes from the geometry in the working CRS when no area column is named).
    area_unit
        Unit of the area column: ``ha``, ``m2`` or ``km2``.
    levels
        Parent level -> column of the layer holding the parent code, e.g. ``{"epci": "SIREN_EPCI"}``.
    level_names
        Parent level -> column holding the parent's name, e.g. ``{"epci": "NOM_EPCI"}``.
    membership
        Optional table: commune code + one column per level (column name = level name).
    membership_code
        Column of the commune code in ``membership`` (detected when not given).
    layer
        Layer name inside a multi-layer file.
    crs
        Working CRS (projected, metres).

    Returns
    -------
    Territories
        Communes (``code, name, area_m2``, geometry when the file has one), their membership in
        each parent level and the parents' names.

    Raises
    ------
    InputFileError
        When the file is missing or unreadable.
    SchemaError
        When a named column is missing, codes are empty or duplicated, or polygons overlap.

    Examples
    --------
    The 43 communes of the CA de Blois in the bundled sample:

    >>> terr = read_territories("data/cvl/communes_blois.gpkg", code="CODE_INSEE", name="NOM",
    ...                         levels={"epci": "SIREN_EPCI"}, level_names={"epci": "NOM_EPCI"})
    >>> terr.communes[["code", "name"]].head(3)
        code               name
    0  41009            Averdon
    1  41018              Blois
    2  41029  Candé-sur-Beuvron
    >>> epci = terr.units().query("level == 'epci'").iloc[0]
    >>> epci["code"], epci["name"], int(epci["n_communes"]), round(epci["area_m2"] / 1e4)
    ('200030385', 'CA de Blois « Agglopolys »', 43, 79337)
    """
    p = check_file(path, what="territories")
    crs_note = ""
    levels = dict(levels or {})
    level_names = dict(level_names or {})
    repaired = 0
    if p.suffix.lower() in VECTOR_SUFFIXES and p.suffix.lower() != ".parquet" or is_geoparquet(p):
        gdf, repaired = read_layer(p, what="territories", crs=working_crs(crs), layer=layer,
                                   wants=has_fields([code] if code else CODE_CANDIDATES),
                                   expected="commune code field", config_key="[territories]")
        crs_note = check_area_of_use(gdf, working_crs(crs), source=str(p))
        table = gdf
    else:
        table = read_table(p, what="territories")
    cols = list(table.columns)
    code_col = find_column(cols, CODE_CANDIDATES, given=code, source=str(p), what="commune code",
                           config_key="territories.code")
    name_col = find_column(cols, NAME_CANDIDATES, given=name, source=str(p), what="commune name",
                           config_key="territories.name", required=False)
    codes = as_code(table[code_col], width=5, column=code_col, source=str(p))
    if codes.isna().any():
        n = int(codes.isna().sum())
        raise SchemaError(f"{p}: {n} row(s) with an empty commune code in column {code_col!r}; fill or remove them")
    dup = codes[codes.duplicated()].unique().tolist()
    if dup:
        raise SchemaError(
            f"{p}: duplicate commune codes in column {code_col!r}: {', '.join(map(str, dup[:10]))}"
            f"{' …' if len(dup) > 10 else ''}; each commune must appear once (dissolve multi-part rows)"
        )
    if area:
        area_col = find_column(cols, [], given=area, source=str(p), what="area", config_key="territories.area")
        factor = {"ha": 10_000.0, "m2": 1.0, "km2": 1_000_000.0}.get(area_unit)
        if factor is None:
            raise SchemaError(f"territories.area_unit = {area_unit!r}; use 'ha', 'm2' or 'km2'")
        area_m2 = parse_numbers(table[area_col], column=area_col, source=str(p)) * factor
        bad = area_m2.isna() | (area_m2 <= 0)
        if bad.any():
            raise SchemaError(
                f"{p}: column {area_col!r} has {int(bad.sum())} missing, non-numeric or non-positive "
                f"area(s), e.g. commune {codes[bad].iloc[0]}; fix the values"
            )
    elif "geometry" in table.columns:
        area_m2 = table.geometry.area
    else:
        raise SchemaError(
            f"{p}: a territories table without geometry needs an area column; set territories.area in ocsol.toml"
        )
    communes = pd.DataFrame(
        {"code": codes.to_numpy(), "name": (table[name_col].astype(str).to_numpy() if name_col else codes.to_numpy()),
         "area_m2": pd.to_numeric(area_m2).to_numpy(dtype=float)}
    )
    if "geometry" in table.columns:
        import geopandas as gpd

        communes = gpd.GeoDataFrame(communes, geometry=table.geometry.to_numpy(), crs=table.crs)
        check_partition(communes, source=str(p))

    memb = pd.DataFrame({"code": codes.to_numpy()})
    names_parts = [pd.DataFrame({"level": COMMUNE, "code": communes["code"], "name": communes["name"]})]
    for lvl, col in levels.items():
        c = find_column(cols, [], given=col, source=str(p), what=f"{lvl} code", config_key=f"territories.levels.{lvl}")
        memb[lvl] = as_code(table[c], column=c, source=str(p)).to_numpy()
        ncol = level_names.get(lvl)
        if ncol:
            nc = find_column(cols, [], given=ncol, source=str(p), what=f"{lvl} name",
                             config_key=f"territories.names.{lvl}")
            nm = pd.DataFrame({"code": memb[lvl], "name": table[nc].astype(str).to_numpy()})
        else:
            nm = pd.DataFrame({"code": memb[lvl], "name": memb[lvl]})
        nm = nm.dropna(subset=["code"]).drop_duplicates("code")
        nm.insert(0, "level", lvl)
        names_parts.append(nm)
    level_order = list(levels)
    if membership is not None:
        mt = read_table(membership, what="membership")
        mcode = find_column(list(mt.columns), CODE_CANDIDATES, given=membership_code, source=str(membership),
                            what="commune code", config_key="territories.membership_code")
        extra = [c for c in mt.columns if c != mcode and not c.endswith("_name")]
        mt = mt.assign(**{mcode: as_code(mt[mcode], width=5, column=mcode, source=str(membership))})
        unknown = sorted(set(mt[mcode]) - set(codes))
        if unknown:
            log.warning("%s: %d commune code(s) not in the territories ignored: %s", membership, len(unknown),
                        ", ".join(unknown[:5]))
        for lvl in extra:
            series = mt.set_index(mcode)[lvl]
            memb[lvl] = as_code(memb["code"].map(series)).to_numpy()
            name_col_m = f"{lvl}_name"
            if name_col_m in mt.columns:
                nm = pd.DataFrame({"code": as_code(mt[lvl], column=lvl, source=str(membership)),
                                   "name": mt[name_col_m].astype(str)})
            else:
                nm = pd.DataFrame({"code": memb[lvl], "name": memb[lvl]})
            nm = nm.dropna(subset=["code"]).drop_duplicates("code")
            nm.insert(0, "level", lvl)
            names_parts.append(nm)
            if lvl not in level_order:
                level_order.append(lvl)
    names = pd.concat(names_parts, ignore_index=True)
    names = names.drop_duplicates(["level", "code"]).reset_index(drop=True)
    return Territories(
        communes=communes.reset_index(drop=True),
        membership=memb,
        levels=tuple(level_order),
        names=names,
        repaired=repaired,
        source=str(Path(path)),
        notes=(crs_note,) if crs_note else (),
    )


#: Overlap between two territories tolerated as digitising noise: both bounds must be exceeded.
OVERLAP_M2 = 1.0
OVERLAP_SHARE = 1e-6


def check_partition(communes: pd.DataFrame, *, source: str = "territories") -> None:
    """Raise when two territory polygons overlap (they would be counted twice).

    Two polygons overlap when their interiors meet over more than :data:`OVERLAP_M2` m² *and*
    more than :data:`OVERLAP_SHARE` of the smaller one (shared borders and digitising slivers
    pass). Candidate pairs come from an STR-tree query, and only pairs whose interiors meet
    (intersecting, not merely touching) are intersected, so a region of tens of thousands of
    communes is checked in seconds.

    Raises
    ------
    CoverageError
        Naming both codes and the overlap area (ha), or saying that two codes carry the same
        geometry.
    """
    import shapely

    geoms = np.asarray(communes.geometry.values)
    codes = communes["code"].astype(str).to_numpy()
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    inner = ~shapely.touches(geoms[i], geoms[j])
    i, j = i[inner], j[inner]
    if not len(i):
        return
    overlap = shapely.area(shapely.intersection(geoms[i], geoms[j]))
    smaller = np.minimum(shapely.area(geoms[i]), shapely.area(geoms[j]))
    bad = (overlap > OVERLAP_M2) & (overlap > OVERLAP_SHARE * smaller)
    if not bad.any():
        return
    order = np.argsort(-overlap[bad], kind="stable")
    bi, bj, bo = i[bad][order], j[bad][order], overlap[bad][order]
    same = shapely.equals(geoms[bi], geoms[bj])
    items = []
    for a, b, area, eq in zip(bi[:5], bj[:5], bo[:5], same[:5], strict=True):
        items.append(f"{codes[a]} and {codes[b]} " + ("have the same geometry" if eq else
                                                      f"overlap by {area / 1e4:.4f} ha"))
    more = f" (and {len(bi) - 5} more pair(s))" if len(bi) > 5 else ""
    raise CoverageError(
        f"{source}: the territories must not overlap (each area would be counted twice): "
        + "; ".join(items) + more + "; fix the polygons (QGIS 'Check validity' / 'Remove overlaps') "
        "or remove the duplicated rows"
    )


def read_perimeters(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the expected member counts of parent units (``[territories].perimeters``).

    Columns ``level``, ``code``, ``n_communes`` (members in the official geography, e.g. the COG)
    and optionally ``cog`` (which geography, printed in the report: ``COG 2024``).

    Raises
    ------
    SchemaError
        When a column is missing, a count is not a positive whole number, or a unit repeats.
    """
    p = check_file(path, what="perimeters table", hint="set [territories].perimeters to a CSV")
    df = read_table(p, what="perimeters table")
    missing = [c for c in ("level", "code", "n_communes") if c not in df.columns]
    if missing:
        raise SchemaError(f"{p}: perimeters table lacks column(s) {', '.join(missing)}; found "
                          f"[{', '.join(df.columns)}]; expected level, code, n_communes[, cog]")
    out = pd.DataFrame({"level": df["level"].astype(str).str.strip(), "code": as_code(df["code"])})
    n = pd.to_numeric(df["n_communes"], errors="coerce")
    bad = df.loc[n.isna() | (n <= 0) | (n % 1 != 0), "n_communes"].tolist()
    if bad:
        raise SchemaError(f"{p}: n_communes must be a positive whole number; found {bad[:5]}")
    out["n_communes"] = n.astype(int)
    out["cog"] = df["cog"].fillna("").astype(str) if "cog" in df.columns else ""
    dup = out[out.duplicated(["level", "code"], keep=False)]
    if len(dup):
        raise SchemaError(f"{p}: unit listed twice: {', '.join(sorted(set(dup['level'] + ':' + dup['code'])))}; "
                          "keep one row per level and code")
    return out
