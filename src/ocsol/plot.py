"""Charts of the indicators, in French, units shown, OCS GE colours from the nomenclature tables.

Every function takes tidy data (the tables of ``docs/ARCHITECTURE.md``, or a report context's
``figures``), an optional ``ax`` and returns the :class:`~matplotlib.axes.Axes`. None calls
``plt.show()`` or ``savefig``: the caller decides (a notebook shows it, a report embeds it).

Examples
--------
>>> import pandas as pd
>>> cons = pd.DataFrame({"year": [2021, 2022], "habitat_ha": [1.0, 2.0], "route_ha": [0.5, 0.0]})
>>> ax = consumption_by_destination(cons)
>>> ax.get_ylabel()
'Consommation (ha)'
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import nomenclature
from .fr import format as fr
from .fr import text

#: Kinds of change polygons and their colours (one list, in the nomenclature: the QGIS style uses it too).
CHANGE_COLOURS = nomenclature.CHANGE_COLOURS
DESTINATIONS = {"habitat_ha": ("Habitat", "#e4572e"), "activite_ha": ("Activité", "#4c72b0"),
                "mixte_ha": ("Mixte", "#8172b2"), "route_ha": ("Route", "#7f7f7f"),
                "ferroviaire_ha": ("Ferroviaire", "#3b3b3b"), "inconnu_ha": ("Inconnu", "#c7c7c7")}
FIGSIZE = (8.0, 4.2)


def _axes(ax: Any, figsize: tuple[float, float] = FIGSIZE) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _fig, ax = plt.subplots(figsize=figsize)
    ax._ocsol_owns_figure = True  # the margins are ours to set (see _margins)
    return ax


def _margins(ax: Any, *, left: float, right: float, bottom: float, top: float) -> None:
    """Fixed margins, in inches, on a figure this module created.

    Cheaper than ``bbox_inches="tight"`` or a layout engine, which lay every text out once more
    at each save (a third of a report's drawing time); margins are sized for the labels drawn.
    """
    if not getattr(ax, "_ocsol_owns_figure", False):
        return
    fig = ax.figure
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=min(left / w, 0.7), right=max(1 - right / w, 0.3),
                        bottom=min(bottom / h, 0.7), top=max(1 - top / h, 0.3))


CHAR_IN = 0.068  #: width of an average character at 8 pt (DejaVu Sans), in inches


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def consumption_by_destination(
    consumption: pd.DataFrame, *, ax: Any = None, title: str | None = "Consommation d'espaces NAF par destination"
) -> Any:
    """Annual NAF consumption as bars stacked by destination (ha per year).

    Parameters
    ----------
    consumption
        ``year`` and destination columns (``habitat_ha`` … ``inconnu_ha``, those present are
        drawn); optional boolean ``provisional`` (hatched bars).
    """
    ax = _axes(ax)
    df = consumption.sort_values("year")
    years = df["year"].astype(int).to_numpy()
    bottom = np.zeros(len(df))
    prov = df["provisional"].to_numpy(dtype=bool) if "provisional" in df else np.zeros(len(df), bool)
    for col, (label, colour) in DESTINATIONS.items():
        if col not in df:
            continue
        vals = df[col].fillna(0).to_numpy(dtype=float)
        bars = ax.bar(years, vals, bottom=bottom, color=colour, label=label, width=0.8)
        for b, p in zip(bars, prov, strict=True):
            if p:
                b.set_hatch("///")
                b.set_edgecolor("white")
        bottom += vals
    ax.set_ylabel("Consommation (ha)")
    ax.set_xlabel("Année (flux du 1er janvier au 1er janvier suivant)")
    ax.yaxis.set_major_formatter(fr.axis_formatter(decimals=1 if bottom.max(initial=0) < 10 else 0))
    ax.set_xticks(years)
    ax.set_xticklabels([str(y) for y in years], rotation=45 if len(years) > 8 else 0)
    if prov.any():
        from matplotlib.patches import Patch

        handles, labels = ax.get_legend_handles_labels()
        handles.append(Patch(facecolor="white", edgecolor="#555555", hatch="///"))
        labels.append("Provisoire")
        ax.legend(handles, labels, frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _style(ax)
    if title:
        ax.set_title(title, fontsize=11, loc="left")
    _margins(ax, left=0.8, right=1.25, bottom=0.95 if len(years) > 8 else 0.7, top=0.4)
    return ax


def zan_trajectory(
    trajectory: pd.DataFrame,
    *,
    reference_ha: float | None = None,
    reference_label: str = "Consommation de référence",
    ax: Any = None,
    title: str | None = "Trajectoire ZAN : consommation cumulée et enveloppes",
) -> Any:
    """Cumulative consumption since the period start against the allowance, to 2050.

    Parameters
    ----------
    trajectory
        ``year``, ``allowed_cumulative_ha`` (the allowance path by decade),
        ``observed_cumulative_ha`` (NaN after the last observed year) and
        ``projected_cumulative_ha`` (pace-based projection to the period end).
    reference_ha
        The reference consumption, drawn as a horizontal line.
    """
    ax = _axes(ax)
    t = trajectory.sort_values("year")
    start = int(t["year"].min())
    # cumulative values hold at the end of each flow year (1 January of the next): start at 0.
    x = np.concatenate([[start], t["year"].astype(int).to_numpy() + 1])
    allowed = np.concatenate([[0.0], t["allowed_cumulative_ha"].to_numpy(dtype=float)])
    ax.plot(x, allowed, color="#2a9d8f", linewidth=2, label="Enveloppe cumulée autorisée (trajectoire ZAN)")
    if "observed_cumulative_ha" in t and t["observed_cumulative_ha"].notna().any():
        obs = t[t["observed_cumulative_ha"].notna()]
        ax.plot(np.concatenate([[start], obs["year"].astype(int).to_numpy() + 1]),
                np.concatenate([[0.0], obs["observed_cumulative_ha"].to_numpy(dtype=float)]),
                "o-", color="#e4572e", linewidth=2, markersize=4, label="Consommation cumulée observée")
    if "projected_cumulative_ha" in t and t["projected_cumulative_ha"].notna().any():
        pr = t[t["projected_cumulative_ha"].notna()]
        ax.plot(pr["year"].astype(int) + 1, pr["projected_cumulative_ha"], "--", color="#e4572e",
                label="Projection au rythme actuel")
    if reference_ha is not None and np.isfinite(reference_ha):
        ax.axhline(reference_ha, color="#555555", linestyle=":", linewidth=1.2, label=reference_label)
    ax.set_ylabel("Consommation cumulée (ha)")
    ax.set_xlabel(f"Au 1er janvier de l'année (cumul depuis le 1er janvier {start})")
    ax.yaxis.set_major_formatter(fr.axis_formatter(decimals=0))
    ax.set_ylim(bottom=0)
    if getattr(ax, "_ocsol_owns_figure", False):
        fig = ax.figure
        ax.legend(frameon=False, fontsize=8, loc="lower center", ncols=2, bbox_to_anchor=(0.5, 0.01),
                  bbox_transform=fig.transFigure)
    else:
        ax.legend(frameon=False, fontsize=8, loc="upper left")
    _style(ax)
    if title:
        ax.set_title(title, fontsize=11, loc="left")
    _margins(ax, left=0.8, right=0.3, bottom=1.15, top=0.4)
    return ax


def class_colours(codes: list[str], by: str = "cs") -> dict[str, str | tuple[float, float, float, float]]:
    """Colour of each OCS GE code from the nomenclature tables (others: a qualitative palette)."""
    from matplotlib import colormaps

    table = pd.DataFrame(columns=["code", "colour"])
    try:
        table = nomenclature.couverture() if by == "cs" else nomenclature.usage()
    except Exception:  # nomenclature tables missing: palette only
        pass
    known = dict(zip(table["code"], table["colour"], strict=False))
    palette = colormaps["tab20"]
    out = {}
    for i, c in enumerate(codes):
        colour = known.get(c)
        out[c] = colour if isinstance(colour, str) and colour.startswith("#") else palette(i % 20)
    return out


def stock_by_class(
    stock: pd.DataFrame, *, by: str = "cs", ax: Any = None, title: str | None = None
) -> Any:
    """Area by couverture (``by="cs"``) or usage (``by="us"``), one bar per vintage and class.

    Parameters
    ----------
    stock
        ``vintage``, the ``by`` column, ``area_ha`` and optionally ``<by>_label`` and ``colour``
        (else OCS GE colours from the nomenclature tables, else a palette).
    """
    g = stock.groupby(["vintage", by], as_index=False)["area_ha"].sum()
    labels = {}
    lab = f"{by}_label"
    if lab in stock.columns:
        labels = dict(zip(stock[by], stock[lab], strict=False))
    classes = sorted(g[by].unique().tolist(), key=str)
    vintages = sorted(g["vintage"].unique().tolist())
    ax = _axes(ax, figsize=(8.0, 0.45 * max(len(classes), 3) + 1.6))
    colours = class_colours(classes, by)
    if "colour" in stock.columns:  # explicit colours (raster legends) win
        given = stock.dropna(subset=["colour"]).drop_duplicates(by).set_index(by)["colour"]
        colours.update({c: given[c] for c in classes if c in given.index})
    h = 0.8 / max(len(vintages), 1)
    ypos = np.arange(len(classes))
    piv = g.pivot(index=by, columns="vintage", values="area_ha").reindex(classes).fillna(0)
    for i, v in enumerate(vintages):
        alpha = 0.45 + 0.55 * (i + 1) / len(vintages)
        ax.barh(ypos + (i - (len(vintages) - 1) / 2) * h, piv[v].to_numpy(), height=h,
                color=[colours[c] for c in classes], alpha=alpha, edgecolor="#333333", linewidth=0.3,
                label=str(v))
    names = [f"{c} {labels.get(c, '')}".strip() if labels.get(c) and str(labels.get(c)) != str(c)
             else class_label(c) for c in classes]
    names = [n if len(n) <= 48 else n[:47] + "…" for n in names]
    ax.set_yticks(ypos, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("Surface (ha)")
    ax.xaxis.set_major_formatter(fr.axis_formatter(decimals=0))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if len(vintages) > 1:
        if getattr(ax, "_ocsol_owns_figure", False):  # in the bottom margin, clear of the bars
            ax.legend(title="Millésime (plus foncé = plus récent)", frameon=False, fontsize=8, title_fontsize=8,
                      loc="lower right", bbox_to_anchor=(0.99, 0.0), bbox_transform=ax.figure.transFigure,
                      ncols=len(vintages))
        else:
            ax.legend(title="Millésime (plus foncé = plus récent)", frameon=False, fontsize=8, title_fontsize=8)
    default = "Surfaces par couverture du sol" if by == "cs" else "Surfaces par usage du sol"
    ax.set_title(title or default, fontsize=11, loc="left")
    _margins(ax, left=0.25 + CHAR_IN * max(len(n) for n in names), right=0.3,
             bottom=1.05 if len(vintages) > 1 else 0.6, top=0.4)
    return ax


def transition_matrix(
    transitions: pd.DataFrame, *, by: str = "cs", ax: Any = None, show_diagonal: bool = False,
    title: str | None = None, labels: dict[str, str] | None = None,
) -> Any:
    """Heat map of the areas changing class between two vintages (ha).

    Parameters
    ----------
    transitions
        ``<by>_from``, ``<by>_to``, ``area_ha`` (one pair of vintages).
    show_diagonal
        Also colour the unchanged areas (they dwarf the changes, so hidden by default).
    labels
        Class code → label (raster legends: ``10`` → ``Couvert arboré``), shown after the code.
    """
    f, t = f"{by}_from", f"{by}_to"
    m = transitions.groupby([f, t])["area_ha"].sum().unstack(fill_value=0.0)
    classes = sorted(set(m.index) | set(m.columns), key=str)
    if not show_diagonal:  # only the classes that gained or lost area
        moved = transitions[(transitions[f] != transitions[t]) & (transitions["area_ha"] > 0)]
        if len(moved):
            classes = sorted(set(moved[f]) | set(moved[t]), key=str)
    m = m.reindex(index=classes, columns=classes, fill_value=0.0)
    values = m.to_numpy(dtype=float).copy()
    if not show_diagonal:
        np.fill_diagonal(values, np.nan)
    n = len(classes)
    ax = _axes(ax, figsize=(min(max(6.5, 2.0 + 0.6 * n), 10.0), min(max(3.5, 1.6 + 0.5 * n), 9.0)))
    labels = labels or {}
    names = [f"{class_label(c)} {labels[c]}"[:34] if labels.get(c) else class_label(c) for c in classes]
    masked = np.ma.masked_invalid(np.where(values > 0, values, np.nan))
    im = ax.imshow(masked, cmap="OrRd", aspect="auto")
    ax.set_xticks(range(n), names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n), names, fontsize=7)
    ax.set_xlabel("Classe d'arrivée")
    ax.set_ylabel("Classe de départ")
    if n <= 14:
        for i in range(n):
            for j in range(n):
                v = values[i, j]
                if np.isfinite(v) and v > 0:
                    ax.text(j, i, fr.number(v, decimals=1 if v < 100 else 0), ha="center", va="center",
                            fontsize=6)
    cb = ax.figure.colorbar(im, ax=ax, shrink=0.8)
    cb.set_label("Surface (ha)")
    period = ""
    if "vintage_from" in transitions and len(transitions):
        period = f" {int(transitions['vintage_from'].iloc[0])}–{int(transitions['vintage_to'].iloc[0])}"
    ax.set_title(title or f"Changements de couverture{period}\n(hors surfaces inchangées)", fontsize=10, loc="left")
    longest = max((len(str(c)) for c in names), default=4)
    _margins(ax, left=0.55 + 0.06 * longest, right=1.1, bottom=0.5 + 0.05 * longest, top=0.6)
    return ax


def class_label(code: Any) -> str:
    """A class code as shown in charts and tables: an empty code is ``(code vide)``, never blank.

    >>> class_label(""), class_label("CS1.1.1.1")
    ('(code vide)', 'CS1.1.1.1')
    """
    s = "" if code is None or (isinstance(code, float) and np.isnan(code)) else str(code).strip()
    return s if s and s.lower() != "nan" else text("class", "")


def members_map(members: Any, *, value: str, kind: str = "choropleth", label: str = "", ax: Any = None,
                title: str | None = None) -> Any:
    """Map of a parent's member communes: shares as a choropleth, hectares as proportional symbols.

    Parameters
    ----------
    members
        GeoDataFrame of the communes with the ``value`` column.
    kind
        ``"choropleth"`` (value as colour) or ``"symbols"`` (circle area ∝ value, on grey communes).
    """
    import matplotlib as mpl
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import PathPatch

    ax = _axes(ax, figsize=(7.0, 6.0))
    geoms = list(members.geometry)
    vals = pd.to_numeric(members[value], errors="coerce").to_numpy(dtype=float)
    paths = [_polygon_paths([g]) for g in geoms]
    finite = vals[np.isfinite(vals)]
    vmax = float(finite.max()) if len(finite) and finite.max() > 0 else 1.0
    if kind == "choropleth":
        cmap = mpl.colormaps["OrRd"]
        norm = mpl.colors.Normalize(vmin=0, vmax=vmax)
        patches, colours = [], []
        for ps, v in zip(paths, vals, strict=True):
            for p in ps:
                patches.append(PathPatch(p))
                colours.append(cmap(norm(v)) if np.isfinite(v) else "#eeeeee")
        ax.add_collection(PatchCollection(patches, facecolor=colours, edgecolor="#555555", linewidth=0.3))
        sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
        cb = ax.figure.colorbar(sm, ax=ax, shrink=0.7)
        cb.set_label(label or value)
        cb.ax.yaxis.set_major_formatter(fr.axis_formatter(decimals=1))
    else:
        patches = [PathPatch(p) for ps in paths for p in ps]
        ax.add_collection(PatchCollection(patches, facecolor="#eeeeee", edgecolor="#888888", linewidth=0.3))
        pts = members.geometry.representative_point()
        size = np.where(np.isfinite(vals) & (vals > 0), vals / vmax * 900.0, 0.0)
        ax.scatter(pts.x, pts.y, s=size, color="#e4572e", alpha=0.6, edgecolor="#7a1f0a", linewidth=0.5)
        for frac in (1.0, 0.25):
            ax.scatter([], [], s=900.0 * frac, color="#e4572e", alpha=0.6,
                       label=f"{fr.number(vmax * frac, decimals=1)} ha")
        ax.legend(title=label or value, frameon=False, fontsize=8, title_fontsize=8, loc="upper left",
                  bbox_to_anchor=(1.0, 1.0), labelspacing=1.5)
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title or label or value, fontsize=10, loc="left")
    _margins(ax, left=0.2, right=1.6, bottom=0.2, top=0.5)
    return ax


def _polygon_paths(geoms: Any) -> list[Any]:
    """Matplotlib paths of (multi)polygons, holes included."""
    import shapely
    from matplotlib.path import Path

    paths = []
    for geom in geoms:
        if geom is None or geom.is_empty:
            continue
        parts = shapely.get_parts(geom) if geom.geom_type.startswith("Multi") or geom.geom_type == "GeometryCollection" \
            else [geom]
        for poly in parts:
            if poly.geom_type != "Polygon":
                continue
            rings = [poly.exterior, *poly.interiors]
            verts, codes = [], []
            for ring in rings:
                xy = np.asarray(ring.coords)
                if len(xy) < 3:
                    continue
                verts.append(xy)
                c = np.full(len(xy), Path.LINETO, dtype=Path.code_type)
                c[0], c[-1] = Path.MOVETO, Path.CLOSEPOLY
                codes.append(c)
            if verts:
                paths.append(Path(np.concatenate(verts), np.concatenate(codes)))
    return paths


def _add_polygons(ax: Any, geoms: Any, **style: Any) -> Any:
    """Draw polygons as one PathCollection (geopandas' .plot redraws the whole figure per call)."""
    from matplotlib.collections import PathCollection

    paths = _polygon_paths(geoms)
    if not paths:
        return None
    coll = PathCollection(paths, **style)
    ax.add_collection(coll, autolim=True)
    return coll


def change_map(changes: Any, *, outline: Any = None, ax: Any = None, title: str | None = None) -> Any:
    """Map of change polygons over the territory's communes.

    Polygons are coloured by kind: artificialisation (``artif_to`` and not ``artif_from``),
    désartificialisation, other change. Coordinates are in the working CRS (metres).
    """
    from matplotlib.patches import Patch

    ax = _axes(ax, figsize=(7.0, 7.0))
    bounds = []
    if outline is not None and len(outline):
        _add_polygons(ax, outline.geometry, facecolor="#f4f4f4", edgecolor="#666666", linewidth=0.5)
        bounds.append(outline.total_bounds)
    handles = []
    if changes is not None and len(changes):
        bounds.append(changes.total_bounds)
        kind = np.full(len(changes), "Autre changement", dtype=object)
        if {"artif_from", "artif_to"} <= set(changes.columns):
            a0 = changes["artif_from"].fillna(False).astype(bool).to_numpy()
            a1 = changes["artif_to"].fillna(False).astype(bool).to_numpy()
            kind[~a0 & a1] = "Artificialisation"
            kind[a0 & ~a1] = "Désartificialisation"
        for k, colour in CHANGE_COLOURS.items():
            sel = changes[kind == k]
            if len(sel):
                _add_polygons(ax, sel.geometry, facecolor=colour, edgecolor=colour, linewidth=0.3)
                handles.append(Patch(color=colour, label=f"{k} ({fr.hectares(sel.geometry.area.sum() / 1e4)})"))
    if bounds:
        b = np.array(bounds, dtype=float)
        x0, y0, x1, y1 = np.nanmin(b[:, 0]), np.nanmin(b[:, 1]), np.nanmax(b[:, 2]), np.nanmax(b[:, 3])
        pad = 0.03 * max(x1 - x0, y1 - y0, 1.0)
        ax.set_xlim(x0 - pad, x1 + pad)
        ax.set_ylim(y0 - pad, y1 + pad)
    if handles:
        ax.legend(handles=handles, frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.02))
    ax.set_aspect("equal")
    ax.set_axis_off()
    _scale_bar(ax)
    ax.set_title(title or "Localisation des changements d'occupation du sol", fontsize=11, loc="left")
    _margins(ax, left=0.1, right=0.1, bottom=0.8, top=0.4)
    return ax


def _scale_bar(ax: Any) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    span = x1 - x0
    if span <= 0 or not np.isfinite(span):
        return
    target = span / 5
    length = 10 ** np.floor(np.log10(target))
    for m in (5, 2, 1):
        if m * length <= target:
            length *= m
            break
    x, y = x0 + span * 0.05, y0 + (y1 - y0) * 0.04
    ax.plot([x, x + length], [y, y], color="black", linewidth=2)
    text = f"{fr.number(length / 1000, decimals=0 if length >= 1000 else 1)} km"
    ax.text(x + length / 2, y + (y1 - y0) * 0.015, text, ha="center", va="bottom", fontsize=8)


def neighbours_comparison(
    table: pd.DataFrame, *, value: str = "value", label: str = "", ax: Any = None, title: str | None = None
) -> Any:
    """Horizontal bars of one value for a territory and its neighbours, median as a line.

    Parameters
    ----------
    table
        ``role`` (``territoire``/``territory``, ``voisin``/``neighbour``, ``médiane``/``median``),
        ``name`` and the ``value`` column (as :func:`ocsol.compare.neighbours` returns).
    """
    roles_self = {"territoire", "territory"}
    roles_med = {"médiane", "median"}
    body = table[~table["role"].isin(roles_med) & table[value].notna()].copy()  # no bar for missing values
    med = table.loc[table["role"].isin(roles_med), value]
    body = body.sort_values(value, ascending=True, na_position="first")
    ax = _axes(ax, figsize=(8.0, 0.35 * max(len(body), 3) + 1.2))
    colours = ["#e4572e" if r in roles_self else "#9fb7d1" for r in body["role"]]
    names = [n if len(str(n)) <= 40 else str(n)[:39] + "…" for n in body["name"]]
    ax.barh(range(len(body)), body[value].fillna(0).to_numpy(dtype=float), color=colours)
    ax.set_yticks(range(len(body)), names, fontsize=8)
    if len(med) and np.isfinite(med.iloc[0]):
        ax.axvline(float(med.iloc[0]), color="#333333", linestyle="--", linewidth=1,
                   label=f"Médiane des territoires comparés ({fr.number(float(med.iloc[0]), decimals=2)})")
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_xlabel(label or value)
    ax.xaxis.set_major_formatter(fr.axis_formatter(decimals=2 if body[value].max() < 10 else 0))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_title(title or "Comparaison avec les territoires voisins", fontsize=11, loc="left")
    _margins(ax, left=0.25 + CHAR_IN * max((len(n) for n in names), default=4), right=0.3, bottom=0.6, top=0.4)
    return ax


__all__ = ["consumption_by_destination", "zan_trajectory", "stock_by_class", "transition_matrix", "change_map",
           "neighbours_comparison", "class_colours", "class_label", "members_map", "destinations_pie"]


def destinations_pie(data: pd.DataFrame, *, ax: Any = None, title: str | None = None) -> Any:
    """Consumption of the whole period by destination (``destination``, ``area_ha``), as a pie."""
    ax = _axes(ax, figsize=(7.0, 3.6))
    colours = {label: colour for label, colour in DESTINATIONS.values()}
    vals = data["area_ha"].to_numpy(dtype=float)
    total = vals.sum()
    labels = [f"{d} ({fr.number(v / total * 100 if total else 0, decimals=1)} %)" for d, v in
              zip(data["destination"], vals, strict=True)]
    ax.pie(vals, colors=[colours.get(d, "#999999") for d in data["destination"]], startangle=90,
           counterclock=False, wedgeprops={"linewidth": 0.5, "edgecolor": "white"})
    ax.legend(labels, frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_aspect("equal")
    ax.set_title(title or "Consommation de la période par destination", fontsize=10, loc="left")
    _margins(ax, left=0.2, right=3.4, bottom=0.2, top=0.5)
    return ax
