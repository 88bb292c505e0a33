"""The legal artificialisation measure from IGN's OCS GE Artificialisation products (``decret_ign``).

IGN publishes, per département and vintage, the OCS GE with the décret n° 2023-1096 matrix **and
its interpretation thresholds** already applied (field ``artif``), and a difference layer between
two vintages (field ``artificialisation`` = 1 / −1). Stocks are the areas of the ``artif``
polygons per commune and flows the areas of the difference polygons per commune, the way Mon
Diagnostic Artificialisation computes them (docs/artificialisation.md): the flags are
IGN's, never recomputed from the codes. Imperviousness is not in the product: it comes from the
configured rule (décret: CS1.1.1.x) and is labelled with the same measure.

The pure functions turn layers into the pieces tables of ``docs/ARCHITECTURE.md`` carrying
their own flags; the step :func:`ocsol.steps.ign_artif.ign_tables` reads the configured files
and builds the tables with them.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from . import change

MEASURE = "decret_ign"


def artif_stock_pieces(layer: gpd.GeoDataFrame, zones: change.Zones, *, vintage: int) -> pd.DataFrame:
    """Area per commune, (cs, us) couple and IGN ``artif`` flag for one vintage.

    Returns ``code, vintage, cs, us, artif, area_m2``.
    """
    flags = layer["artif"].to_numpy(dtype=bool)
    parts = [change.stock_pieces(layer[flags == f], zones, vintage=vintage).assign(artif=bool(f))
             for f in (True, False) if (flags == f).any()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*change.STOCK_COLUMNS, "artif"])


def artif_transition_pieces(
    diff: gpd.GeoDataFrame, zones: change.Zones, *, vintage_from: int, vintage_to: int
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Transitions per commune from IGN's artificialisation difference layer, with its flags.

    Returns the pieces (``code, vintage_from, vintage_to, cs_from, us_from, cs_to, us_to,
    artif_from, artif_to, area_m2``) and the difference polygons cut by commune.
    """
    af, at = diff["artif_from"].to_numpy(dtype=bool), diff["artif_to"].to_numpy(dtype=bool)
    tables, polys = [], []
    for f, t in ((False, True), (True, False), (False, False), (True, True)):
        sel = (af == f) & (at == t)
        if sel.any():
            table, ch = change.diff_pieces(diff[sel], zones, vintage_from=vintage_from, vintage_to=vintage_to)
            tables.append(table.assign(artif_from=f, artif_to=t))
            polys.append(ch.assign(artif_from=f, artif_to=t))
    cols = [*change.TRANSITION_COLUMNS, "artif_from", "artif_to"]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=cols)
    changes = pd.concat(polys, ignore_index=True) if polys else change._empty_changes(diff.crs)
    return table, gpd.GeoDataFrame(changes, geometry="geometry", crs=diff.crs)


def with_imper(pieces: pd.DataFrame, classes: pd.DataFrame, *, suffix: str = "") -> pd.DataFrame:
    """Add the rule's ``imper`` flag of each couple (the product has no imperviousness)."""
    cl = classes[["cs", "us", "imper"]].drop_duplicates(["cs", "us"]).rename(
        columns={"cs": f"cs{suffix}", "us": f"us{suffix}", "imper": f"imper{suffix}"})
    out = pieces.merge(cl, on=[f"cs{suffix}", f"us{suffix}"], how="left", validate="many_to_one")
    out[f"imper{suffix}"] = out[f"imper{suffix}"].fillna(False).astype(bool)
    return out
