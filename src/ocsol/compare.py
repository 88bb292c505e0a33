"""Compare a territory with its neighbours of the same level (centroid distance) or a chosen list."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .errors import SchemaError, TerritoryNotFoundError
from .territories import Territories, aggregate

#: Columns of :func:`neighbours`.
NEIGHBOUR_COLUMNS = ["role", "level", "code", "name", "distance_km", "value"]


def centroids(territories: Territories) -> pd.DataFrame:
    """Centroid (x, y in the working CRS) of every territory of every level.

    A parent's centroid is the area-weighted mean of its communes' centroids (= centroid of
    their union when communes do not overlap).

    Returns
    -------
    DataFrame
        ``level, code, x, y``.

    Raises
    ------
    SchemaError
        When the territories have no geometry.
    """
    if not territories.has_geometry:
        raise SchemaError(
            f"{territories.source or 'territories'}: no geometry, so no centroid distance; give the "
            "territories as polygons or list the territories to compare in [compare].with"
        )
    comm = territories.communes
    c = comm.geometry.centroid
    base = pd.DataFrame({"code": comm["code"].to_numpy(), "w": comm["area_m2"].to_numpy(dtype=float),
                         "x": c.x.to_numpy(), "y": c.y.to_numpy()})
    g = aggregate(base.assign(wx=base["x"] * base["w"], wy=base["y"] * base["w"]), territories,
                  values=["wx", "wy", "w"])
    return pd.DataFrame({"level": g["level"], "code": g["code"].astype(str), "x": g["wx"] / g["w"],
                         "y": g["wy"] / g["w"]})


def neighbours(
    territories: Territories,
    level: str,
    code: str,
    *,
    table: pd.DataFrame,
    value: str,
    n: int = 8,
    with_codes: Sequence[str] | None = None,
    within: Sequence[str] | None = None,
    min_median: int = 3,
) -> pd.DataFrame:
    """A territory, its N nearest territories of the same level (or a given list), and the median.

    Parameters
    ----------
    territories
        Gives the geometry (centroids) and names.
    level, code
        The territory compared.
    table
        Has ``level, code`` and the ``value`` column, one row per territory (filter a year or a
        period first).
    value
        Column compared (``used_pct``, ``m2_per_new_inhabitant`` …).
    n
        Number of nearest territories (by centroid distance) when ``with_codes`` is not given.
    with_codes
        Territories of the same level to compare with instead of the nearest ones.
    within
        Codes the nearest neighbours are taken from (e.g. the same département); all by default.
    min_median
        Fewest neighbour values a median is computed over (else the median is empty).

    Returns
    -------
    DataFrame
        ``role, level, code, name, distance_km, value``: the territory (``role`` =
        ``"territory"``), the neighbours nearest first (``"neighbour"``), then a ``"median"`` row
        holding the neighbours' median value (``code`` empty).

    Raises
    ------
    TerritoryNotFoundError
        When the territory, or a code of ``with_codes``, is unknown at that level.
    SchemaError
        When the table lacks the value column or repeats a territory, or the territories have
        no geometry and no list was given.

    Examples
    --------
    Blois beside its three nearest communes of the CA de Blois, by area:

    >>> from ocsol import read_territories
    >>> terr = read_territories("data/cvl/communes_blois.gpkg", code="CODE_INSEE", name="NOM")
    >>> areas = terr.units().assign(area_ha=lambda d: d["area_m2"] / 1e4)
    >>> neighbours(terr, "commune", "41018", table=areas, value="area_ha", n=3).round(1)
            role    level   code                       name  distance_km   value
    0  territory  commune  41018                      Blois          0.0  3756.0
    1  neighbour  commune  41230  Saint-Sulpice-de-Pommeray          4.1  1169.5
    2  neighbour  commune  41212     Saint-Gervais-la-Forêt          4.7   902.0
    3  neighbour  commune  41032                   Chailles          4.8  1850.0
    4     median  commune                            median          NaN  1169.5
    """
    level, code = territories.find(code, level)
    if value not in table.columns:
        raise SchemaError(f"no column {value!r} to compare; the table has {list(table.columns)}")
    sub = table[table["level"] == level]
    if sub.duplicated(["level", "code"]).any():
        raise SchemaError(f"the table has several rows per {level}; filter one year or period before "
                          f"comparing {value!r}")
    values = sub.set_index("code")[value]
    pool = territories.names.loc[territories.names["level"] == level, "code"].astype(str).tolist()
    dist: pd.Series
    if territories.has_geometry:
        cen = centroids(territories)
        cen = cen[cen["level"] == level].set_index("code")
        d = np.hypot(cen["x"] - cen.at[code, "x"], cen["y"] - cen.at[code, "y"]) / 1000.0
        dist = d
    else:
        dist = pd.Series(np.nan, index=pool)
    if with_codes:
        chosen = [str(c).strip() for c in with_codes]
        unknown = [c for c in chosen if c not in pool]
        if unknown:
            raise TerritoryNotFoundError(
                f"[compare].with: {', '.join(unknown)} not found at level {level}; use codes of that level")
        chosen = [c for c in chosen if c != code]
    else:
        if not territories.has_geometry:
            centroids(territories)  # raises the explanatory error
        cand = dist.drop(index=code)
        if within is not None:
            cand = cand[cand.index.isin([str(c) for c in within])]
        chosen = cand.sort_values(kind="mergesort").index[:n].tolist()
    rows = [("territory", level, code, territories.name_of(level, code), 0.0, values.get(code, np.nan))]
    for c in chosen:
        rows.append(("neighbour", level, c, territories.name_of(level, c), float(dist.get(c, np.nan)),
                     values.get(c, np.nan)))
    neigh = pd.to_numeric(pd.Series([r[5] for r in rows[1:]], dtype=float), errors="coerce")
    rows.append(("median", level, "", "median", np.nan,
                 float(neigh.median()) if neigh.notna().sum() >= min_median else np.nan))
    return pd.DataFrame(rows, columns=NEIGHBOUR_COLUMNS)
