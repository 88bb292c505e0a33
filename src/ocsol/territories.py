"""Territories: communes and the levels they group into (EPCI, SCoT, département, custom).

A :class:`Territories` holds the communes (code, name, area, optional geometry) and a
membership table (commune code -> parent code per level). Every indicator is computed per
commune and summed upward with :func:`aggregate`: parents are sums of their communes' parts,
never re-intersected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from .errors import TerritoryNotFoundError, close_matches
from .io.common import as_code  # the one code normaliser (strip, 2a → 2A)

COMMUNE = "commune"


@dataclass(frozen=True)
class Territories:
    """Communes and their parent levels.

    Attributes
    ----------
    communes
        One row per commune: ``code`` (str), ``name`` (str), ``area_m2`` (float) and, when the
        source had geometry, a ``geometry`` column (GeoDataFrame in the working CRS).
    membership
        ``code`` plus one column per parent level holding the parent's code (str, or None when
        the commune belongs to no unit of that level).
    levels
        Parent level names, in the order given (for instance ``("epci", "scot")``).
    names
        ``level, code, name`` for every unit of every level (parents named by a name column
        when one was given, else by their code).
    repaired
        Number of invalid commune geometries repaired with ``make_valid``.
    source
        Where the communes came from (for messages and provenance).
    notes
        Remarks for ``qa.csv`` found while reading them.

    Examples
    --------
    The 58 communes of the Métropole de Lyon sample:

    >>> from ocsol import load_config
    >>> from ocsol.sample import sample_config
    >>> from ocsol.steps.territories import load_territories
    >>> territories = load_territories(load_config(sample_config("lyon")))
    >>> territories.levels, len(territories.communes), territories.find("69123")
    (('epci', 'dep'), 58, ('commune', '69123'))
    >>> territories.name_of("epci", "200046977"), len(territories.members("epci", "200046977"))
    ('Métropole de Lyon', 58)
    """

    communes: pd.DataFrame
    membership: pd.DataFrame
    levels: tuple[str, ...] = ()
    names: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["level", "code", "name"]))
    repaired: int = 0
    source: str = ""
    notes: tuple[str, ...] = ()  # remarks for qa.csv (e.g. a CRS used outside its area of use)

    @property
    def has_geometry(self) -> bool:
        return "geometry" in self.communes.columns

    @property
    def all_levels(self) -> tuple[str, ...]:
        return (COMMUNE, *self.levels)

    def units(self) -> pd.DataFrame:
        """Every territory of every level: ``level, code, name, area_m2, n_communes``."""
        base = pd.DataFrame(
            {"code": self.communes["code"].to_numpy(), "area_m2": self.communes["area_m2"].to_numpy(),
             "n_communes": 1}
        )
        agg = aggregate(base, self, values=["area_m2", "n_communes"])
        return agg.merge(self.names, on=["level", "code"], how="left")[
            ["level", "code", "name", "area_m2", "n_communes"]
        ]

    def find(self, code: str, level: str | None = None) -> tuple[str, str]:
        """Return ``(level, code)`` for a territory code, inferring the level when unique.

        Raises
        ------
        TerritoryNotFoundError
            When the code names no territory (close codes are suggested) or, without a level,
            names units of several levels.
        """
        code = as_code(pd.Series([str(code)]), column="territory code", source="the command line")[0] or ""
        names = self.names
        if level is not None and level not in self.all_levels:
            raise TerritoryNotFoundError(
                f"unknown level {level!r}{close_matches(level, self.all_levels)}; "
                f"levels are {', '.join(self.all_levels)}"
            )
        hits = names[names["code"] == code]
        if level is not None:
            hits = hits[hits["level"] == level]
        if hits.empty:
            pool = names["code"] if level is None else names.loc[names["level"] == level, "code"]
            raise TerritoryNotFoundError(
                f"territory {code!r} not found{' at level ' + level if level else ''} in "
                f"{self.source or 'the territories'}{close_matches(code, pool.astype(str).tolist())}; "
                "check the code (INSEE for communes, SIREN for EPCI)"
            )
        if len(hits) > 1:
            raise TerritoryNotFoundError(
                f"code {code!r} names territories at levels {', '.join(hits['level'])}; "
                "pass --level to choose one"
            )
        return str(hits["level"].iloc[0]), code

    def members(self, level: str, code: str) -> list[str]:
        """Commune codes of a territory (a commune is its own only member)."""
        if level == COMMUNE:
            return [code]
        m = self.membership
        return m.loc[m[level] == code, "code"].tolist()

    def name_of(self, level: str, code: str) -> str:
        hit = self.names[(self.names["level"] == level) & (self.names["code"] == code)]
        return str(hit["name"].iloc[0]) if len(hit) else code

    def parents(self, code: str, level: str = COMMUNE) -> list[tuple[str, str]]:
        """``(level, code)`` of the units that contain a territory, in level order.

        For a commune: the unit of each level it belongs to. For a unit of a parent level: the
        unit of each other level that holds *all* its communes (a SCoT inside one département).

        >>> comm = pd.DataFrame({"code": ["1", "2"], "area_m2": [1.0, 1.0]})
        >>> memb = pd.DataFrame({"code": ["1", "2"], "epci": ["A", "A"], "dep": ["D", "D"]})
        >>> t = Territories(communes=comm, membership=memb, levels=("epci", "dep"))
        >>> t.parents("1"), t.parents("A", "epci")
        ([('epci', 'A'), ('dep', 'D')], [('dep', 'D')])
        """
        if level == COMMUNE:
            return self._commune_parents.get(code, [])
        members = self.members(level, code)
        if not members:
            return []
        memb = self.membership[self.membership["code"].isin(members)]
        out = []
        for lvl in self.levels:
            if lvl == level:
                continue
            values = memb[lvl].dropna().unique()
            if len(values) == 1 and memb[lvl].notna().all() and str(values[0]):
                out.append((lvl, str(values[0])))
        return out

    @cached_property
    def _commune_parents(self) -> dict[str, list[tuple[str, str]]]:
        """Commune code -> its parents, built once (parents() is called per territory)."""
        out: dict[str, list[tuple[str, str]]] = {}
        m = self.membership
        for lvl in self.levels:
            for code, value in zip(m["code"], m[lvl], strict=True):
                if isinstance(value, str) and value:
                    out.setdefault(code, []).append((lvl, value))
        return out


def aggregate(
    table: pd.DataFrame,
    territories: Territories,
    *,
    values: list[str],
    by: list[str] | None = None,
    levels: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Sum a commune-level table to every level.

    Parameters
    ----------
    table
        Has a ``code`` column (commune code), the ``by`` key columns and the ``values`` columns.
    territories
        Gives the membership of each commune.
    values
        Columns to sum.
    by
        Key columns kept apart (vintage, class, year…).
    levels
        Levels to produce (default: commune and every parent level).

    Returns
    -------
    DataFrame
        ``level, code, *by, *values``; communes first, then each parent level. Communes that
        belong to no unit of a level are left out of that level. Rows are sorted by level order,
        code and keys, so that equal inputs give identical outputs.

    Examples
    --------
    >>> comm = pd.DataFrame({"code": ["1", "2", "3"], "area_m2": [1.0, 1.0, 1.0]})
    >>> memb = pd.DataFrame({"code": ["1", "2", "3"], "epci": ["A", "A", "B"]})
    >>> t = Territories(communes=comm, membership=memb, levels=("epci",))
    >>> aggregate(pd.DataFrame({"code": ["1", "2", "3"], "x": [1, 2, 4]}), t, values=["x"])
         level code  x
    0  commune    1  1
    1  commune    2  2
    2  commune    3  4
    3     epci    A  3
    4     epci    B  4
    """
    by = list(by or [])
    levels = levels or territories.all_levels
    keys = ["code", *by]
    base = table.groupby(keys, dropna=False, sort=False, observed=True)[values].sum().reset_index()
    parts = []
    for lvl in levels:
        if lvl == COMMUNE:
            part = base
        else:
            memb = territories.membership[["code", lvl]].dropna()
            memb = memb[memb[lvl].astype(str) != ""]
            joined = base.merge(memb, on="code", how="inner")
            part = (
                joined.drop(columns="code")
                .rename(columns={lvl: "code"})
                .groupby(keys, dropna=False, sort=False, observed=True)[values]
                .sum()
                .reset_index()
            )
        part.insert(0, "level", lvl)
        parts.append(part)
    return sort_by_level(pd.concat(parts, ignore_index=True), levels, ["code", *by])


def sort_by_level(table: pd.DataFrame, levels: tuple[str, ...], keys: list[str]) -> pd.DataFrame:
    """Rows in level order (communes first, then each parent level), then by ``keys``; stable.

    >>> sort_by_level(pd.DataFrame({"level": ["epci", "commune"], "code": ["A", "1"]}), ("commune", "epci"), ["code"])
         level code
    0  commune    1
    1     epci    A
    """
    order = {lvl: i for i, lvl in enumerate(levels)}
    out = table.assign(_o=table["level"].map(order)).sort_values(["_o", *keys], kind="mergesort")
    return out.drop(columns="_o").reset_index(drop=True)
