"""Artificialisation indicators from the commune-level pieces tables (pure: tables in, tables out).

- stock per vintage: area by (CS, US) couple, artificialised and impervious area, covered area;
- flows between two vintages: artificialisation, désartificialisation, net, and the same for
  imperméabilisation;
- the full transition matrix and a land account per class (SEEA: opening, additions,
  reductions, closing);
- invariants checked on every run.

Every table is computed per commune and summed to the parent levels
(:func:`ocsol.territories.aggregate`). Areas are m² until the last step, which converts to ha.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import schema
from .errors import CoverageError, InvariantError
from .territories import COMMUNE, Territories, aggregate
from .units import M2_PER_HA

log = logging.getLogger(__name__)

#: Absolute tolerance of the invariants, m² (plus a relative part, see :func:`check_invariants`).
TOLERANCE_M2 = 0.5
RELATIVE_TOLERANCE = 1e-6


@dataclass
class Tables:
    """The artificialisation tables at every level (hectares).

    ``partial`` lists the parent rows left out because some member communes are outside the
    layers (``level, code, n_missing, n_members``; see :func:`complete_parents`).
    """

    stock_summary: pd.DataFrame
    stock: pd.DataFrame
    flows: pd.DataFrame
    transitions: pd.DataFrame
    land_account: pd.DataFrame
    partial: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PARTIAL_COLS))

    def as_dict(self) -> dict[str, pd.DataFrame]:
        return {
            "stock_summary": self.stock_summary,
            "stock": self.stock,
            "flows": self.flows,
            "transitions": self.transitions,
            "land_account": self.land_account,
        }


def _ha(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = df.copy()
    for c in cols:
        out[c.replace("_m2", "_ha")] = out.pop(c) / M2_PER_HA
    return out


def flag(pieces: pd.DataFrame, classes: pd.DataFrame, *, suffix: str = "") -> pd.DataFrame:
    """Join the ``artif``/``imper`` flags of each (cs, us) couple onto a pieces table.

    Pieces that already carry both flags (e.g. from an IGN artificialisation product, where the
    flag depends on the polygon, not only on its couple) keep them.
    """
    if {f"artif{suffix}", f"imper{suffix}"} <= set(pieces.columns):
        out = pieces.copy()
        out[f"artif{suffix}"] = out[f"artif{suffix}"].astype(bool)
        out[f"imper{suffix}"] = out[f"imper{suffix}"].astype(bool)
        return out
    cl = classes[["cs", "us", "artif", "imper"]].rename(
        columns={"cs": f"cs{suffix}", "us": f"us{suffix}", "artif": f"artif{suffix}", "imper": f"imper{suffix}"}
    )
    out = pieces.merge(cl, on=[f"cs{suffix}", f"us{suffix}"], how="left", validate="many_to_one")
    missing = out[f"artif{suffix}"].isna()
    if missing.any():  # classes come from the same pieces: this is a bug, not a user error
        raise AssertionError(f"unclassified couples: {out.loc[missing, [f'cs{suffix}', f'us{suffix}']].drop_duplicates()}")
    out[f"artif{suffix}"] = out[f"artif{suffix}"].astype(bool)
    out[f"imper{suffix}"] = out[f"imper{suffix}"].astype(bool)
    return out


def stock(stock_pieces: pd.DataFrame, classes: pd.DataFrame, territories: Territories) -> pd.DataFrame:
    """Area per (CS, US) couple and vintage, at every level.

    Returns ``level, code, vintage, cs, us, artif, imper, area_ha, cs_label, us_label``.
    """
    flagged = {"artif", "imper"} <= set(stock_pieces.columns)  # flags per piece (IGN product)
    by = ["vintage", "cs", "us", "artif", "imper"] if flagged else ["vintage", "cs", "us"]
    agg = aggregate(stock_pieces, territories, by=by, values=["area_m2"])
    out = flag(agg, classes)
    labels = classes[["cs", "us", "cs_label", "us_label"]].drop_duplicates(["cs", "us"])
    out = out.merge(labels, on=["cs", "us"], how="left")
    out = _ha(out, ["area_m2"])
    return out[["level", "code", "vintage", "cs", "us", "artif", "imper", "area_ha", "cs_label", "us_label"]]


def stock_summary(stock_pieces: pd.DataFrame, classes: pd.DataFrame, territories: Territories) -> pd.DataFrame:
    """Territory area, covered area, artificialised and impervious stocks per vintage, every level.

    Every commune that some vintage touches gets a row for every vintage (``covered_ha`` shows
    how much of it each vintage covers); communes outside every layer get no row. Percentages
    are of the territory area.
    """
    p = flag(stock_pieces, classes)
    p["artif_m2"] = np.where(p["artif"], p["area_m2"], 0.0)
    p["imper_m2"] = np.where(p["imper"], p["area_m2"], 0.0)
    per = p.groupby(["code", "vintage"], as_index=False)[["area_m2", "artif_m2", "imper_m2"]].sum()
    per = per.rename(columns={"area_m2": "covered_m2"})
    vintages = sorted(stock_pieces["vintage"].unique())
    # communes that no vintage touches are outside the layers' extent: no rows (not "0 ha")
    touched = territories.communes.loc[territories.communes["code"].isin(per["code"]), "code"]
    grid = pd.MultiIndex.from_product([touched, vintages], names=["code", "vintage"]).to_frame(index=False)
    full = grid.merge(per, on=["code", "vintage"], how="left").fillna(
        {"covered_m2": 0.0, "artif_m2": 0.0, "imper_m2": 0.0}
    )
    full = full.merge(territories.communes[["code", "area_m2"]], on="code", how="left")
    agg = aggregate(full, territories, by=["vintage"], values=["area_m2", "covered_m2", "artif_m2", "imper_m2"])
    agg["artif_pct"] = agg["artif_m2"] / agg["area_m2"] * 100
    agg["imper_pct"] = agg["imper_m2"] / agg["area_m2"] * 100
    agg = _ha(agg, ["area_m2", "covered_m2", "artif_m2", "imper_m2"])
    return agg[["level", "code", "vintage", "area_ha", "covered_ha", "artif_ha", "artif_pct", "imper_ha", "imper_pct"]]


def transitions(transition_pieces: pd.DataFrame, territories: Territories) -> pd.DataFrame:
    """The transition matrix in long form at every level:
    ``level, code, vintage_from, vintage_to, cs_from, us_from, cs_to, us_to, area_ha``."""
    keys = ["vintage_from", "vintage_to", "cs_from", "us_from", "cs_to", "us_to"]
    agg = aggregate(transition_pieces, territories, by=keys, values=["area_m2"])
    return _ha(agg, ["area_m2"])


def flows(
    transition_pieces: pd.DataFrame,
    classes: pd.DataFrame,
    territories: Territories,
    *,
    extent: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Artificialisation and imperméabilisation flows between vintages, every level.

    ``artif`` = area non-artificialised at the first vintage and artificialised at the second;
    pieces that already carry ``artif_from, imper_from, artif_to, imper_to`` (each pair flagged
    with its own rule) keep those flags;
    ``desartif`` the reverse; ``net_artif = artif − desartif`` (the same for ``imper``).
    Communes of a pair's extent without any change get 0: ``extent`` lists them
    (``code, vintage_from, vintage_to``); by default every commune of every pair.
    """
    t = transition_pieces
    if not set(FLAG_COLUMNS) <= set(t.columns):  # pieces may come flagged by their own rule
        t = flag(flag(t, classes, suffix="_from"), classes, suffix="_to")
    a = t["area_m2"].to_numpy()
    af, at = t["artif_from"].to_numpy(dtype=bool), t["artif_to"].to_numpy(dtype=bool)
    imf, imt = t["imper_from"].to_numpy(dtype=bool), t["imper_to"].to_numpy(dtype=bool)
    t = t[["code", "vintage_from", "vintage_to"]].assign(  # a new frame: the caller's is never changed
        artif_m2=np.where(~af & at, a, 0.0), desartif_m2=np.where(af & ~at, a, 0.0),
        imper_m2=np.where(~imf & imt, a, 0.0), desimper_m2=np.where(imf & ~imt, a, 0.0))
    vals = ["artif_m2", "desartif_m2", "imper_m2", "desimper_m2"]
    per = t.groupby(["code", "vintage_from", "vintage_to"], as_index=False)[vals].sum()
    if extent is None:
        pairs = transition_pieces[["vintage_from", "vintage_to"]].drop_duplicates()
        grid = territories.communes[["code"]].merge(pairs, how="cross")
    else:
        pairs = transition_pieces[["vintage_from", "vintage_to"]].drop_duplicates()
        ext = extent.merge(pairs, on=["vintage_from", "vintage_to"], how="inner")  # only this table's pairs
        grid = pd.concat([ext[["code", "vintage_from", "vintage_to"]], per[["code", "vintage_from", "vintage_to"]]])
        grid = grid.drop_duplicates().reset_index(drop=True)
    full = grid.merge(per, on=["code", "vintage_from", "vintage_to"], how="left").fillna(dict.fromkeys(vals, 0.0))
    agg = aggregate(full, territories, by=["vintage_from", "vintage_to"], values=vals)
    agg["net_artif_m2"] = agg["artif_m2"] - agg["desartif_m2"]
    agg["net_imper_m2"] = agg["imper_m2"] - agg["desimper_m2"]
    agg = _ha(agg, [*vals, "net_artif_m2", "net_imper_m2"])
    return agg[["level", "code", "vintage_from", "vintage_to", "artif_ha", "desartif_ha", "net_artif_ha",
                "imper_ha", "desimper_ha", "net_imper_ha"]]


def land_account(
    transitions_table: pd.DataFrame, *, by: str = "cs", stocks_known: set[tuple[int, int]] | None = None
) -> pd.DataFrame:
    """SEEA land account per class from a transitions table (ha, any level).

    ``opening = Σ_j T[i,j]``, ``closing = Σ_i T[i,j]``, ``additions_k = Σ_{i≠k} T[i,k]``,
    ``reductions_k = Σ_{j≠k} T[k,j]``; so ``closing = opening + additions − reductions``.
    With a change (DIFF) layer alone, the matrix holds only the changed area: opening and
    closing are then unknown (NaN) — pass ``stocks_known`` = the (from, to) pairs that come
    from two full vintages.
    """
    t = transitions_table
    keys = ["level", "code", "vintage_from", "vintage_to"]
    fr, to = f"{by}_from", f"{by}_to"
    opening = t.groupby([*keys, fr], as_index=False)["area_ha"].sum().rename(columns={fr: "class", "area_ha": "opening_ha"})
    closing = t.groupby([*keys, to], as_index=False)["area_ha"].sum().rename(columns={to: "class", "area_ha": "closing_ha"})
    moved = t[t[fr] != t[to]]
    adds = moved.groupby([*keys, to], as_index=False)["area_ha"].sum().rename(columns={to: "class", "area_ha": "additions_ha"})
    reds = moved.groupby([*keys, fr], as_index=False)["area_ha"].sum().rename(columns={fr: "class", "area_ha": "reductions_ha"})
    out = opening.merge(closing, on=[*keys, "class"], how="outer")
    out = out.merge(adds, on=[*keys, "class"], how="left").merge(reds, on=[*keys, "class"], how="left")
    out = out.fillna({"opening_ha": 0.0, "closing_ha": 0.0, "additions_ha": 0.0, "reductions_ha": 0.0})
    if stocks_known is not None:
        known = pd.Series(list(zip(out["vintage_from"], out["vintage_to"], strict=True))).isin(stocks_known).to_numpy()
        out.loc[~known, ["opening_ha", "closing_ha"]] = np.nan
    return out[[*keys, "class", "opening_ha", "additions_ha", "reductions_ha", "closing_ha"]].reset_index(drop=True)


def check_invariants(
    stock_pieces: pd.DataFrame,
    transition_pieces: pd.DataFrame,
    territories: Territories,
    *,
    full_pairs: list[tuple[int, int]],
    pieces_from: str = "vector",
) -> pd.DataFrame:
    """Check the accounting identities; raise with the numbers when one fails.

    1. Within a vintage, the covered area of a commune does not exceed its area (else polygons
       overlap: double counting). Not checked for raster pieces (``pieces_from="raster"``): a
       zone's pixels (pixel-centre rule) may exceed its polygon by up to half a pixel along its
       boundary, and each pixel is counted in one zone only by construction.
    2. For two full vintages, the transition matrix margins equal the two stocks, per commune
       and (CS, US) couple — hence the net flows equal the stock differences.

    Returns a small table of what was checked (``check, vintage_from, vintage_to, max_gap_m2``).
    """
    checks = []
    area = territories.communes.set_index("code")["area_m2"]
    covered = stock_pieces.groupby(["code", "vintage"])["area_m2"].sum()
    limit = area.reindex(covered.index.get_level_values(0)).to_numpy()
    excess = covered.to_numpy() - limit * (1 + RELATIVE_TOLERANCE) - TOLERANCE_M2
    if pieces_from == "raster":
        excess = np.zeros(0)
    if (excess > 0).any():
        k = int(np.argmax(excess))
        code, vintage = covered.index[k]
        raise CoverageError(
            f"vintage {vintage}: polygons cover {covered.iloc[k] / M2_PER_HA:.4f} ha of commune {code} whose area is "
            f"{limit[k] / M2_PER_HA:.4f} ha ({int((excess > 0).sum())} commune(s) affected): the layer has overlapping "
            "polygons (double counting); fix the layer's topology (e.g. QGIS 'Check validity' / 'Remove overlaps')"
        )
    checks.append({"check": "covered <= commune area" if pieces_from != "raster" else "one zone per pixel (by construction)",
                   "vintage_from": None, "vintage_to": None,
                   "max_gap_m2": float(max(excess.max(initial=-np.inf), 0.0))})
    for vf, vt in full_pairs:
        t = transition_pieces[(transition_pieces["vintage_from"] == vf) & (transition_pieces["vintage_to"] == vt)]
        for side, v in (("from", vf), ("to", vt)):
            margin = t.groupby(["code", f"cs_{side}", f"us_{side}"])["area_m2"].sum()
            margin.index.names = ["code", "cs", "us"]
            st = stock_pieces[stock_pieces["vintage"] == v].groupby(["code", "cs", "us"])["area_m2"].sum()
            both = pd.concat([margin.rename("matrix"), st.rename("stock")], axis=1).fillna(0.0)
            gap = (both["matrix"] - both["stock"]).abs()
            tol = TOLERANCE_M2 + RELATIVE_TOLERANCE * area.reindex(both.index.get_level_values(0)).to_numpy()
            bad = gap.to_numpy() > tol
            if bad.any():
                worst = gap[bad].sort_values(ascending=False)
                (code, cs, us) = worst.index[0]
                row = both.loc[(code, cs, us)]
                why = ("the two vintages do not cover the same extent (gaps or overlaps in one of them); check both "
                       "layers cover the territories") if pieces_from != "raster" else (
                       "the raster counts are inconsistent (a bug in ocsol's raster engine: please report it "
                       "with the rasters' gdalinfo)")
                raise InvariantError(
                    f"vintages {vf}→{vt}: the transition matrix {side}-margin differs from the {v} stock in "
                    f"{int(bad.sum())} cell(s); worst: commune {code}, ({cs}, {us}): matrix "
                    f"{row['matrix'] / M2_PER_HA:.4f} ha vs stock {row['stock'] / M2_PER_HA:.4f} ha: {why}"
                )
            checks.append({"check": f"matrix {side}-margin = stock {v}", "vintage_from": vf, "vintage_to": vt,
                           "max_gap_m2": float(gap.max()) if len(gap) else 0.0})
    return pd.DataFrame(checks)


def check_coverage(stock_summary_table: pd.DataFrame, *, min_coverage: float, source: str = "") -> None:
    """Raise CoverageError when a vintage covers less than ``min_coverage`` of a commune."""
    c = stock_summary_table[stock_summary_table["level"] == "commune"]
    frac = c["covered_ha"] / c["area_ha"]
    bad = c[(frac < min_coverage)]
    if len(bad):
        worst = bad.assign(frac=frac[bad.index]).sort_values("frac")
        items = [f"{r.code} in {r.vintage}: {r.frac * 100:.1f} %" for r in worst.head(5).itertuples()]
        raise CoverageError(
            f"{source or 'OCS GE'}: {len(bad)} commune-vintage(s) covered below {min_coverage * 100:.1f} %: "
            + "; ".join(items)
            + "; give a layer covering the territories, restrict the territories, or lower ocsge.min_coverage"
        )


def build_tables(
    stock_pieces: pd.DataFrame,
    transition_pieces: pd.DataFrame,
    classes: pd.DataFrame,
    territories: Territories,
    *,
    full_pairs: list[tuple[int, int]] | None = None,
    extent: pd.DataFrame | None = None,
    pieces_from: str = "vector",
    measure: str = "decret_matrix",
) -> Tables:
    """All artificialisation tables at every level, after checking the invariants.

    A parent gets rows only for the vintages (pairs) whose figures cover all its communes: a
    sum over some of them would pass for the whole territory. The parents left out are in
    ``Tables.partial`` (to be reported in ``qa.csv``).

    Parameters
    ----------
    stock_pieces, transition_pieces
        Commune-level pieces (``docs/ARCHITECTURE.md``).
    classes
        Flags and labels per (cs, us) couple (:func:`ocsol.nomenclature.classify`).
    territories
        Communes and levels.
    full_pairs
        (from, to) vintage pairs computed from two full vintages (their matrix margins must
        equal the stocks); pairs from change layers are not checked that way.
    extent
        ``code, vintage_from, vintage_to``: the communes each pair of vintages covers, which
        get a flow row even without change (default: every commune).
    pieces_from
        ``"vector"`` (OCS GE polygons) or ``"raster"`` (pixel counts): chooses which invariants
        apply and how their messages explain a failure (:func:`check_invariants`).
    measure
        What the figures measure (a key of :data:`MEASURES`), written in a ``measure`` column
        right after ``code`` in every table.
    """
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; one of {', '.join(MEASURES)}")
    full_pairs = list(full_pairs or [])
    if len(stock_pieces) or len(transition_pieces):
        check_invariants(stock_pieces, transition_pieces, territories, full_pairs=full_pairs, pieces_from=pieces_from)
    st = stock(stock_pieces, classes, territories) if len(stock_pieces) else _empty(STOCK_COLS)
    ss = stock_summary(stock_pieces, classes, territories) if len(stock_pieces) else _empty(SUMMARY_COLS)
    tr = transitions(transition_pieces, territories) if len(transition_pieces) else _empty(TRANS_COLS)
    fl = flows(transition_pieces, classes, territories, extent=extent) if len(transition_pieces) else _empty(FLOW_COLS)
    la = land_account(tr, stocks_known=set(full_pairs)) if len(tr) else _empty(ACCOUNT_COLS)
    if len(fl) and len(ss) and full_pairs:
        _check_net_flow(fl, ss, full_pairs)
    stock_cover = ss.loc[ss["level"] == COMMUNE, ["code", "vintage"]]
    flow_cover = fl.loc[fl["level"] == COMMUNE, ["code", "vintage_from", "vintage_to"]]
    (ss, p1), (st, _) = (complete_parents(t, stock_cover, territories, keys=["vintage"]) for t in (ss, st))
    (fl, p3), (tr, _), (la, _) = (complete_parents(t, flow_cover, territories, keys=["vintage_from", "vintage_to"])
                                    for t in (fl, tr, la))
    partial = pd.concat([p1, p3], ignore_index=True).groupby(["level", "code"], as_index=False).max()
    ss, st, fl, tr, la = (with_measure(t, measure) for t in (ss, st, fl, tr, la))
    return Tables(stock_summary=ss, stock=st, flows=fl, transitions=tr, land_account=la,
                  partial=partial[PARTIAL_COLS])


PARTIAL_COLS: list[str] = ["level", "code", "n_missing", "n_members"]


def complete_parents(
    table: pd.DataFrame, covered: pd.DataFrame, territories: Territories, *, keys: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table without the parent rows whose communes are not all covered (a partial sum).

    Parameters
    ----------
    table
        A table at every level (``level, code, *keys, …``).
    covered
        ``code, *keys``: the communes that have figures for each key (vintage or pair).
    territories
        Communes and levels.
    keys
        The columns telling the figures apart (``vintage``; ``vintage_from, vintage_to``).

    Returns
    -------
    (DataFrame, DataFrame)
        The table with communes and complete parents only, and the parents left out
        (``level, code, n_missing, n_members``, the worst key).

    Examples
    --------
    >>> comm = pd.DataFrame({"code": ["1", "2", "3"], "area_m2": [1.0, 1.0, 1.0]})
    >>> memb = pd.DataFrame({"code": ["1", "2", "3"], "epci": ["A", "A", "B"]})
    >>> t = Territories(communes=comm, membership=memb, levels=("epci",))
    >>> tab = pd.DataFrame({"level": ["commune", "commune", "epci", "epci"], "code": ["1", "3", "A", "B"],
    ...                     "vintage": 2019, "x": [1, 2, 1, 2]})
    >>> kept, left = complete_parents(tab, tab[tab["level"] == "commune"], t, keys=["vintage"])
    >>> kept["code"].tolist(), left.values.tolist()
    (['1', '3', 'B'], [['epci', 'A', 1, 2]])
    """
    if table.empty or covered.empty:
        return table, pd.DataFrame(columns=PARTIAL_COLS)
    combos = covered[keys].drop_duplicates()
    have = covered[["code", *keys]].drop_duplicates().assign(_in=True)
    base = territories.communes[["code"]].merge(combos, how="cross").merge(have, on=["code", *keys], how="left")
    base["n_missing"] = base["_in"].isna().astype(int)
    base["n_members"] = 1
    count = aggregate(base, territories, by=keys, values=["n_missing", "n_members"])
    bad = count[(count["level"] != COMMUNE) & (count["n_missing"] > 0)]
    if bad.empty:
        return table, pd.DataFrame(columns=PARTIAL_COLS)
    hit = table[["level", "code", *keys]].merge(bad[["level", "code", *keys]].assign(_bad=True),
                                                on=["level", "code", *keys], how="left")["_bad"].notna().to_numpy()
    left = bad.groupby(["level", "code"], as_index=False)[["n_missing", "n_members"]].max()
    return table[~hit].reset_index(drop=True), left[PARTIAL_COLS]


#: What an artificialisation figure measures, in order of preference for a headline figure
#: (the legal measure first). Every artificialisation table has a ``measure`` column.
MEASURES = {
    "decret_ign": "IGN OCS GE Artificialisation product: décret n° 2023-1096 with its interpretation "
                  "thresholds applied by IGN (the legal measure)",
    "decret_thresholds": "décret n° 2023-1096 matrix with the interpretation thresholds computed by ocsol",
    "decret_matrix": "décret n° 2023-1096 matrix on raw OCS GE, interpretation thresholds not applied",
    "custom_rule": "a user rule table (not the décret)",
    "raster_proxy": "classified raster (proxy, not the OCS GE legal measure)",
}


def with_measure(table: pd.DataFrame, measure: str) -> pd.DataFrame:
    """The table with a ``measure`` column placed right after ``code`` (replaced if present)."""
    out = table.drop(columns=["measure"], errors="ignore")
    at = list(out.columns).index("code") + 1 if "code" in out.columns else 0
    out.insert(at, "measure", pd.Series([measure] * len(out), index=out.index, dtype=object))
    return out


def headline_measure(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of the most authoritative measure present (order of :data:`MEASURES`), per territory.

    A table without a ``measure`` column is returned unchanged.
    """
    if "measure" not in table.columns or table.empty:
        return table
    rank = table["measure"].map({m: i for i, m in enumerate(MEASURES)}).fillna(len(MEASURES))
    best = rank.groupby([table["level"], table["code"]]).transform("min")
    return table[rank == best]


def _check_net_flow(fl: pd.DataFrame, ss: pd.DataFrame, full_pairs: list[tuple[int, int]]) -> None:
    s = ss.set_index(["level", "code", "vintage"])
    for vf, vt in full_pairs:
        f = fl[(fl["vintage_from"] == vf) & (fl["vintage_to"] == vt)].set_index(["level", "code"])
        for kind in ("artif", "imper"):
            d = (s.xs(vt, level="vintage")[f"{kind}_ha"] - s.xs(vf, level="vintage")[f"{kind}_ha"]).reindex(f.index)
            gap = (f[f"net_{kind}_ha"] - d).abs()
            tol = (TOLERANCE_M2 / M2_PER_HA) * 10 + RELATIVE_TOLERANCE * s.xs(vf, level="vintage")["area_ha"].reindex(f.index)
            bad = gap > tol
            if bad.any():
                lvl, code = gap[bad].idxmax()
                raise InvariantError(
                    f"{lvl} {code}, {vf}→{vt}: net {kind} flow {f.at[(lvl, code), f'net_{kind}_ha']:.4f} ha differs from "
                    f"the stock difference {d[(lvl, code)]:.4f} ha"
                )


FLAG_COLUMNS = ["artif_from", "imper_from", "artif_to", "imper_to"]
# Columns of the tables as built here (``measure`` is added after): ocsol/data/tables.csv (ocsol.schema).
STOCK_COLS = schema.columns("stock", exclude=("measure",))
SUMMARY_COLS = schema.columns("stock_summary", exclude=("measure",))
TRANS_COLS = schema.columns("transitions", exclude=("measure",))
FLOW_COLS = schema.columns("flows", exclude=("measure",))
ACCOUNT_COLS = schema.columns("land_account", exclude=("measure",))


def _empty(cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
