"""Contents of each report section, following R. 2231-1 CGCT (DOMAIN.md §1.7).

One builder per section fills the context's ``texts`` (Markdown), ``views`` (display tables,
French headers with units), ``figures`` (data behind each chart), ``available`` / ``messages``
(one sentence when the data is absent) and ``headline`` (raw key figures).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import plot
from ..territories import COMMUNE
from . import format as fr
from .fragmentation import fragmentation
from .loader import Indicators, has_membership
from .safe import md

log = logging.getLogger(__name__)

DESTINATIONS = {col: label for col, (label, _colour) in plot.DESTINATIONS.items()}  # one list, in plot
#: Verdict against a binding (opposable) target: ``status``.
STATUS_FR = {"within": "dans l'enveloppe", "will_exceed": "dépassement projeté",
             "exceeded": "enveloppe dépassée"}
#: Reading against a non-binding target (default or inherited): ``indicative_status``; no verdict.
INDICATIVE_FR = {"within": "rythme compatible avec l'objectif indicatif",
                 "will_exceed": "rythme supérieur à l'objectif indicatif",
                 "exceeded": "consommation supérieure à l'objectif indicatif"}
TARGET_SOURCE_FR = {"own": "document du territoire", "region_default": "objectif régional par défaut, non "
                    "territorialisé", "national_default": "objectif indicatif : réduction nationale, non "
                    "territorialisée"}
MISSING = {
    "consommation": "Aucune donnée de consommation d'espaces naturels, agricoles et forestiers (fichiers "
                    "fonciers du Cerema) n'est disponible pour ce territoire.",
    "zan": "La trajectoire ZAN n'est pas calculée pour ce territoire, faute de données de consommation "
           "d'espaces NAF.",
    "artificialisation": "Aucune donnée d'occupation du sol (OCS GE ou carte raster) n'est disponible pour ce "
                         "territoire : l'artificialisation et l'imperméabilisation ne sont pas mesurées.",
    "demographie": "Aucune donnée de population n'est disponible pour ce territoire : l'efficacité de la "
                   "consommation d'espace n'est pas calculée.",
    "comparaison": "Aucun territoire de même niveau n'est disponible pour une comparaison.",
}


#: English notes of the indicator tables → French (regular expressions, applied in order).
NOTES_FR: list[tuple[str, str]] = [
    (r"^national_default$", TARGET_SOURCE_FR["national_default"]),
    (r"^region_default$", TARGET_SOURCE_FR["region_default"]),
    (r"^own$", TARGET_SOURCE_FR["own"]),
    (r"^parent:(\S+):(\S+)$", r"hérité de \1 \2 (indicatif)"),
    (r"period clipped to (\S+) \(data available\)", r"période ramenée à \1 (données disponibles)"),
    (r"OCS GE vintages", "millésimes OCS GE"),
    (r"population fell by (\d+): no m² per new inhabitant; LCRPGR not meaningful for PGR < 0 "
     r"\(left empty, read LCR and PGR\)",
     r"population en baisse de \1 habitants : pas de m² par nouvel habitant, LCRPGR non interprétable (PGR < 0)"),
    (r"population unchanged: no m² per new inhabitant, LCRPGR undefined \(PGR = 0\)",
     "population inchangée : pas de m² par nouvel habitant, LCRPGR non défini (PGR = 0)"),
    (r"no OCS GE artificialised stock at (\d+) or (\d+): LCR not computed",
     r"pas de stock artificialisé OCS GE en \1 ou \2 : LCR non calculé"),
    (r"no OCS GE stock: LCR not computed", "pas de stock OCS GE : LCR non calculé"),
    (r"consumption not available for every year (\S+)", r"consommation non disponible pour toutes les années \1"),
    (r"no population at (\d+) or (\d+)", r"pas de population en \1 ou \2"),
    (r"(\d+) commune\(s\) without consumption or population at both dates",
     r"\1 commune(s) sans consommation ou sans population aux deux dates : données incomplètes"),
]


def french_note(text: str) -> str:
    """Translate the known English notes of the indicator tables (others are kept as they are).

    >>> french_note("period clipped to 2021–2022 (data available)")
    'période ramenée à 2021–2022 (données disponibles)'
    """
    import re

    if text in ("", "nan", "None"):
        return ""
    for pattern, repl in NOTES_FR:
        text = re.sub(pattern, repl, text)
    return text


def build_all(ctx: Any, ind: Indicators) -> None:
    """Fill every section of ``ctx`` from the indicators."""
    title(ctx, ind)
    identity(ctx, ind)
    consumption(ctx)
    zan(ctx, ind)
    artificialisation(ctx, ind)
    demography(ctx)
    comparison(ctx, ind)
    fragmentation(ctx, ind)  # issue 15, beyond the law
    methodology(ctx, ind)
    ctx.headline["sections"] = dict(ctx.available)


def _set(ctx: Any, section: str, ok: bool) -> None:
    ctx.available[section] = bool(ok)
    if not ok and section in MISSING:
        ctx.messages[section] = MISSING[section]


def _view(ctx: Any, name: str, columns: list[tuple[str, str, str]], df: pd.DataFrame) -> None:
    """Register a display table: ``columns`` = (source column, French header, kind)."""
    cols = [(src, label, kind) for src, label, kind in columns if src in df.columns]
    view = pd.DataFrame({label: df[src].to_numpy() for src, label, _ in cols})
    ctx.views[name] = view
    ctx.kinds[name] = {label: kind for _, label, kind in cols}


def _f(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _num(value: Any) -> float | None:
    v = _f(value)
    return None if np.isnan(v) else v


def title(ctx: Any, ind: Indicators) -> None:
    from .context import level_label

    heading = md(ctx.meta.get("report_title") or "Rapport local de suivi de l'artificialisation des sols")
    sub = f"{md(level_label(ctx.level))} · code {md(ctx.code)} · rapport produit le {ctx.generated} avec ocsol {ctx.version}"
    author = md(ctx.meta.get("author"))
    ctx.texts["titre"] = (f"# {md(ctx.name)}\n\n**{heading}** (articles L. 2231-1 et R. 2231-1 du code général des "
                          f"collectivités territoriales)\n\n{sub}" + (f" · {author}" if author else ""))


# -- 1. identité ------------------------------------------------------------------------------
CORRECTION_STATUS_FR = {
    "unchanged": "données inchangées (mêmes codes INSEE que le découpage des territoires)",
    "merged": "données corrigées : fusion de communes, les données des anciennes communes sont additionnées",
    "split": "données corrigées : scission de commune, les données sont réparties au prorata de la surface "
             "(ou des poids fournis)",
    "missing_from_source": "données absentes de la source pour cette commune (comptées nulles)",
}


def _status_value(ind: Indicators, level: str, code: str) -> str | None:
    units = ind.units(level)
    if "correction_status" not in units:
        return None
    hit = units.loc[units["code"] == code, "correction_status"]
    return None if hit.empty or pd.isna(hit.iloc[0]) else str(hit.iloc[0])


def _correction_status(ind: Indicators, level: str, code: str) -> str:
    """The commune-code correction status of a territory, in French ('' without [cog])."""
    value = _status_value(ind, level, code)
    if value is None:
        return ""
    text = CORRECTION_STATUS_FR.get(value, value)
    units = ind.units(level)
    if "source_codes" in units:
        src = units.loc[units["code"] == code, "source_codes"]
        if len(src) and isinstance(src.iloc[0], str) and "+" in src.iloc[0]:
            text += f" (codes source : {md(src.iloc[0].replace('+', ', '))})"
    return text


def identity(ctx: Any, ind: Indicators) -> None:
    from .context import level_label

    terr = ind.territories
    ctx.available["identite"] = True
    lines = [f"**{md(ctx.name)}** — {md(level_label(ctx.level))}, code {md(ctx.code)}.", "",
             f"- Surface : **{fr.hectares(ctx.area_ha)}**"]
    parents = terr.parents(ctx.code, ctx.level) if ctx.level == COMMUNE or has_membership(terr) else []
    if ctx.level != COMMUNE:
        lines.append(f"- Nombre de communes : **{fr.integer(ctx.n_communes)}**")
    for lvl, code in parents:
        pname = terr.name_of(lvl, code)
        lines.append(f"- {md(level_label(lvl))} d'appartenance : {md(pname)}" + (f" ({md(code)})" if pname != code else ""))
    status = _correction_status(ind, ctx.level, ctx.code)
    if status:
        lines.append(f"- Codes communes des sources : {status}")
    ctx.texts["identite"] = "\n".join(lines)
    ctx.headline.update({"correction_status": _status_value(ind, ctx.level, ctx.code)})
    ctx.headline.update({"level": ctx.level, "code": ctx.code, "name": ctx.name, "area_ha": ctx.area_ha,
                         "n_communes": ctx.n_communes, "parents": [f"{lvl}:{c}" for lvl, c in parents]})
    if ctx.level != COMMUNE and has_membership(terr):
        members = terr.members(ctx.level, ctx.code)
        units = ind.units(COMMUNE)
        m = units[units["code"].isin(members)].sort_values("name")
        _view(ctx, "communes", [("code", "Code INSEE", "text"), ("name", "Commune", "text"),
                                ("area_ha", "Surface (ha)", "ha")], m)
    # geometry of the territory (for the map)
    if terr.has_geometry:
        codes = terr.members(ctx.level, ctx.code) if has_membership(terr) or ctx.level == COMMUNE else []
        comm = terr.communes
        out = comm[comm["code"].isin(codes)]
        out = out[out.geometry.notna()] if len(out) else out
        ctx.outline = out if len(out) else None
        if ind.changes is not None and codes:
            ch = ind.changes[ind.changes["code"].isin(codes)]
            ctx.changes = ch if len(ch) else None


# -- 2. consommation d'ENAF (R. 2231-1 1°) ------------------------------------------------------
def consumption(ctx: Any) -> None:
    cons = ctx.tables.get("consumption")
    if cons is None or cons.empty:
        _set(ctx, "consommation", False)
        return
    _set(ctx, "consommation", True)
    cons = cons.sort_values("year")
    zan = ctx.tables.get("zan")
    start = int(zan["reference_start"].iloc[0]) if zan is not None and len(zan) else int(cons["year"].min())
    shown = cons[cons["year"] >= start].copy()
    if shown.empty:
        shown = cons.copy()
    shown["pct_area"] = shown["total_ha"] / ctx.area_ha * 100 if ctx.area_ha else np.nan
    first, last = int(shown["year"].min()), int(shown["year"].max())
    total = float(shown["total_ha"].sum())
    prov = shown.loc[shown["provisional"].astype(str).str.lower() == "true", "year"].tolist() \
        if "provisional" in shown else []
    dest = {label: float(shown[c].sum()) for c, label in DESTINATIONS.items() if c in shown}
    top = sorted(dest.items(), key=lambda kv: -kv[1])[:2]
    lines = [
        f"De {first} à {last} ({last - first + 1} flux annuels), le territoire a consommé "
        f"**{fr.hectares(total)}** d'espaces naturels, agricoles et forestiers, soit "
        f"**{fr.percent(total / ctx.area_ha * 100 if ctx.area_ha else None, decimals=2)}** de sa surface.",
    ]
    if total > 0 and top:
        parts = [f"{k.lower()} ({fr.percent(v / total * 100, decimals=0)})" for k, v in top]
        lines.append(f"Principales destinations : {', '.join(parts)}.")
    if zan is not None and len(zan):
        z = zan.iloc[0]
        lines.append(f"Décennie de référence {fr.period(z['reference_start'], z['reference_end'])} : "
                     f"**{fr.hectares(z['reference_ha'])}** "
                     f"({fr.percent(_f(z['reference_ha']) / ctx.area_ha * 100 if ctx.area_ha else None, decimals=2)}"
                     " de la surface).")
    if prov:
        lines.append(f"L'année {', '.join(map(str, prov))} est provisoire (millésime le plus récent des "
                     "fichiers fonciers).")
    lines.append("*Convention : l'année N désigne le flux du 1er janvier N au 1er janvier N+1.*")
    ctx.texts["consommation"] = "\n\n".join(lines)
    cols = [("year", "Année", "year"), ("total_ha", "Total (ha)", "ha2")]
    cols += [(c, f"{label} (ha)", "ha2") for c, label in DESTINATIONS.items()]
    cols += [("pct_area", "Part de la surface (%)", "pct2"), ("provisional", "Provisoire", "bool")]
    _view(ctx, "consommation", cols, shown)
    fig = shown[["year", *[c for c in DESTINATIONS if c in shown], "total_ha"]].copy()
    if "provisional" in shown:
        fig["provisional"] = shown["provisional"].astype(str).str.lower() == "true"
    ctx.figures["consommation"] = fig.reset_index(drop=True)
    ctx.headline.update({"consumption_first_year": first, "consumption_last_year": last,
                         "consumption_total_ha": total})


# -- 3. trajectoire ZAN (R. 2231-1 4°) -----------------------------------------------------------
def zan(ctx: Any, ind: Indicators) -> None:
    z = ctx.tables.get("zan")
    if z is None or z.empty:
        _set(ctx, "zan", False)
        return
    _set(ctx, "zan", True)
    r = z.iloc[0]
    ref = fr.period(r["reference_start"], r["reference_end"])
    per = fr.period(r["period_start"], r["period_end"])
    status = _text(r.get("status"))
    indicative = _text(r.get("indicative_status"))
    n_obs = int(_f(r["years_observed"])) if not np.isnan(_f(r["years_observed"])) else 0
    obs = fr.period(r["period_start"], int(r["period_start"]) + n_obs - 1) if n_obs else "—"
    guarantee = str(r.get("guarantee_applied", "")).lower() == "true"
    binding = str(r.get("binding", "")).lower() == "true"
    envelope = "Enveloppe" if binding else "Enveloppe indicative"
    lines = [
        f"- Consommation de référence {ref} : **{fr.hectares(r['reference_ha'])}**",
        f"- Objectif de réduction : **{fr.percent(r['target_pct'], decimals=0)}** "
        f"({md(french_note(str(r.get('target_source', ''))))})",
        f"- {envelope} {per} : **{fr.hectares(r['allowed_ha'])}**"
        + (f" (garantie communale de {fr.hectares(r.get('guarantee_ha'), decimals=1)} appliquée"
           + (", éligibilité présumée : document d'urbanisme non renseigné"
              if _text(r.get("guarantee_reason")) == "assumed" else "") + ")" if guarantee else ""),
        f"- Consommé depuis {int(r['period_start'])} ({obs}, {n_obs} an{'s' if n_obs > 1 else ''}) : "
        f"**{fr.hectares(r['consumed_since_ha'])}**, soit **{fr.percent(r['used_pct'])}** de l'enveloppe",
        f"- Rythme annuel observé : {fr.hectares(r['annual_pace_ha'], decimals=2)}/an ; projection au "
        f"31 décembre {int(r['period_end'])} : **{fr.hectares(r['projected_ha'])}** "
        f"({fr.percent(r['projected_pct'])} de l'enveloppe)"
        + (" — projection fragile (peu d'années observées ou une année prépondérante)"
           if _text(r.get("projection_confidence")) == "low" else ""),
    ]
    ey = r.get("exhaustion_year")
    if (status or indicative) and not (ey is None or (isinstance(ey, float) and np.isnan(ey))
                                       or str(ey) in ("", "<NA>")):
        if (status or indicative) == "exceeded":  # observed, not extrapolated
            lines.append(f"- L'enveloppe{'' if binding else ' indicative'} a été dépassée au cours de l'année "
                         f"**{fr.year(ey)}**")
        else:
            lines.append(f"- Au rythme actuel, l'enveloppe {'serait' if binding else 'indicative serait'} épuisée "
                         f"au cours de l'année **{fr.year(ey)}**")
    if status:
        verdict = STATUS_FR.get(status, status)
        lines.append(f"- Situation : **{verdict}**")
    elif indicative:
        verdict = INDICATIVE_FR.get(indicative, indicative)
        lines.append(f"- Lecture indicative (aucun objectif opposable propre au territoire) : {verdict}")
    else:
        verdict = "non évaluée (données incomplètes)" if str(r.get("complete", "True")).lower() == "false" else "—"
        lines.append(f"- Situation : {verdict}")
    ctx.texts["zan"] = "\n".join(lines) + (
        f"\n\n*Référence : somme des flux annuels {int(r['reference_start'])} à {int(r['reference_end'])} "
        f"(1er janvier {int(r['reference_start'])} → 1er janvier {int(r['reference_end']) + 1}). "
        "Projection : rythme observé × nombre d'années de la période.*")
    facts = [
        (f"Consommation de référence {ref} (ha)", _num(r["reference_ha"]), "ha"),
        ("Objectif de réduction (%)", _num(r["target_pct"]), "pct"),
        ("Source de l'objectif", french_note(str(r.get("target_source", ""))), "text"),
        (f"{envelope} {per} (ha)", _num(r["allowed_ha"]), "ha"),
        (f"Consommé depuis {int(r['period_start'])} (ha)", _num(r["consumed_since_ha"]), "ha"),
        ("Années observées", n_obs, "int"),
        ("Rythme annuel (ha/an)", _num(r["annual_pace_ha"]), "ha2"),
        (f"Projection {per} (ha)", _num(r["projected_ha"]), "ha"),
        ("Part de l'enveloppe consommée (%)", _num(r["used_pct"]), "pct"),
        ("Part de l'enveloppe projetée (%)", _num(r["projected_pct"]), "pct"),
        ("Situation" if status else "Lecture indicative", verdict, "text"),
    ]
    ctx.views["zan"] = pd.DataFrame({"Indicateur": [f[0] for f in facts],
                                     "Valeur": [_fmt_fact(v, k) for _, v, k in facts]})
    ctx.kinds["zan"] = {}
    ctx.figures["trajectoire"] = _trajectory(ctx, r, ind)
    ctx.headline.update({
        "reference_start": int(r["reference_start"]), "reference_end": int(r["reference_end"]),
        "reference_ha": _num(r["reference_ha"]), "target_pct": _num(r["target_pct"]),
        "allowed_ha": _num(r["allowed_ha"]), "period_start": int(r["period_start"]),
        "period_end": int(r["period_end"]), "consumed_since_ha": _num(r["consumed_since_ha"]),
        "used_pct": _num(r["used_pct"]), "projected_ha": _num(r["projected_ha"]),
        "projected_pct": _num(r["projected_pct"]), "status": status, "indicative_status": indicative,
    })


def _text(value: Any) -> str:
    """A text cell of a table read back from CSV ('' for empty / NaN)."""
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) or str(value) == "<NA>" \
        else str(value)


def _fmt_fact(value: Any, kind: str) -> str:
    if kind == "text":
        return str(value)
    if kind == "int":
        return fr.integer(value)
    return fr.number(value, decimals=2 if kind == "ha2" else 1)


def _trajectory(ctx: Any, r: pd.Series, ind: Indicators) -> pd.DataFrame:
    """Year-by-year data of the trajectory chart: observed, projected and allowed cumulative."""
    p0, p1 = int(r["period_start"]), int(r["period_end"])
    path = ctx.tables.get("zan_path")
    if path is None or path.empty:
        from ..zan import DEFAULT_DECADES, zan_path

        decades = ctx.meta.get("decades") or DEFAULT_DECADES
        path = zan_path(ctx.tables["zan"], decades=decades)
    path = path.sort_values("year")
    years = list(range(p0, int(path["year"].max()) + 1))
    out = pd.DataFrame({"year": years})
    out = out.merge(path[["year", "allowed_cumulative_ha", "annual_allowed_ha"]], on="year", how="left")
    cons = ctx.tables.get("consumption")
    obs = pd.Series(dtype=float)
    if cons is not None and len(cons):
        c = cons[cons["year"] >= p0].set_index("year")["total_ha"].sort_index()
        obs = c.cumsum()
    out["consumption_ha"] = out["year"].map(cons.set_index("year")["total_ha"]) if cons is not None and len(cons) \
        else np.nan
    out["observed_cumulative_ha"] = out["year"].map(obs)
    last = int(obs.index.max()) if len(obs) else p0 - 1
    done = float(obs.iloc[-1]) if len(obs) else 0.0
    pace = _f(r["annual_pace_ha"])
    proj = [done + pace * (y - last) if last <= y <= p1 and not np.isnan(pace) else np.nan for y in years]
    out["projected_cumulative_ha"] = proj
    out["reference_ha"] = _f(r["reference_ha"])
    return out


# -- 4. artificialisation et imperméabilisation (R. 2231-1 2° et 3°) --------------------------
def artificialisation(ctx: Any, ind: Indicators) -> None:
    summ = ctx.tables.get("stock_summary")
    flows = ctx.tables.get("flows")
    stock = ctx.tables.get("stock")
    trans = ctx.tables.get("transitions")
    has_stock = summ is not None and len(summ) > 0
    has_flows = flows is not None and len(flows) > 0
    if not (has_stock or has_flows):
        _set(ctx, "artificialisation", False)
        return
    _set(ctx, "artificialisation", True)
    source = ""
    for t in (summ, flows):
        if t is not None and "source" in t.columns and len(t) and str(t["source"].iloc[0]):
            source = str(t["source"].iloc[0])
    lines = []
    if source.startswith("raster"):
        lines.append("*Mesure indicative issue d'une carte d'occupation du sol raster "
                     f"({md(source.split(':', 1)[-1])}) : ce n'est pas la mesure réglementaire de l'OCS GE.*")
    if has_stock:
        s = summ.sort_values("vintage")
        last = s.iloc[-1]
        lines.append(f"En {int(last['vintage'])}, **{fr.hectares(last['artif_ha'])}** sont artificialisés "
                     f"(**{fr.percent(last['artif_pct'])}** de la surface) et "
                     f"**{fr.hectares(last['imper_ha'])}** imperméabilisés ({fr.percent(last['imper_pct'])}).")
        _view(ctx, "stocks", [("vintage", "Millésime", "year"), ("covered_ha", "Surface couverte (ha)", "ha"),
                              ("artif_ha", "Artificialisé (ha)", "ha"), ("artif_pct", "Artificialisé (%)", "pct"),
                              ("imper_ha", "Imperméabilisé (ha)", "ha"), ("imper_pct", "Imperméabilisé (%)", "pct")], s)
        ctx.headline.update({"artif_vintage": int(last["vintage"]), "artif_ha": _num(last["artif_ha"]),
                             "artif_pct": _num(last["artif_pct"]), "imper_ha": _num(last["imper_ha"]),
                             "imper_pct": _num(last["imper_pct"])})
    else:
        lines.append("Le stock artificialisé n'est pas mesuré (seule une couche de changements est disponible).")
    if has_flows:
        f = flows.sort_values(["vintage_from", "vintage_to"], kind="mergesort").copy()
        f["period"] = [f"{int(a)}–{int(b)}" for a, b in zip(f["vintage_from"], f["vintage_to"], strict=True)]
        lf = f.iloc[-1]
        lines.append(
            f"Entre {int(lf['vintage_from'])} et {int(lf['vintage_to'])} : artificialisation "
            f"**{fr.hectares(lf['artif_ha'], decimals=2)}**, désartificialisation "
            f"{fr.hectares(lf['desartif_ha'], decimals=2)}, soit un **solde de "
            f"{fr.hectares(lf['net_artif_ha'], decimals=2, signed=True)}** (R. 2231-1 2°) ; "
            f"surfaces rendues imperméables : {fr.hectares(lf['imper_ha'], decimals=2)}, solde "
            f"{fr.hectares(lf['net_imper_ha'], decimals=2, signed=True)} (R. 2231-1 3°).")
        _view(ctx, "flux", [("period", "Période", "text"), ("artif_ha", "Artificialisation (ha)", "ha2"),
                            ("desartif_ha", "Désartificialisation (ha)", "ha2"),
                            ("net_artif_ha", "Solde artificialisation (ha)", "signed"),
                            ("imper_ha", "Imperméabilisation (ha)", "ha2"),
                            ("desimper_ha", "Désimperméabilisation (ha)", "ha2"),
                            ("net_imper_ha", "Solde imperméabilisation (ha)", "signed")], f)
        ctx.headline.update({"flows_from": int(lf["vintage_from"]), "flows_to": int(lf["vintage_to"]),
                             "net_artif_ha": _num(lf["net_artif_ha"]), "net_imper_ha": _num(lf["net_imper_ha"])})
    else:
        lines.append("Un seul millésime est disponible : pas de flux entre millésimes.")
    ctx.texts["artificialisation"] = "\n\n".join(lines)
    if stock is not None and len(stock):
        ctx.figures["stock_couverture"] = _stock_figure(stock, "cs")
        if (stock["us"].astype(str) != "").any():
            ctx.figures["stock_usage"] = _stock_figure(stock, "us")
    if trans is not None and len(trans):
        pairs = trans[["vintage_from", "vintage_to"]].drop_duplicates().sort_values(["vintage_to", "vintage_from"])
        a, b = pairs.iloc[-1]
        t = trans[(trans["vintage_from"] == a) & (trans["vintage_to"] == b)]
        m = t.groupby(["cs_from", "cs_to"], as_index=False)["area_ha"].sum()
        m.attrs["period"] = f"{int(a)}–{int(b)}"
        ctx.figures["transitions"] = m.assign(vintage_from=int(a), vintage_to=int(b))
    la = ctx.tables.get("land_account")
    if la is not None and len(la):
        pairs = la[["vintage_from", "vintage_to"]].drop_duplicates().sort_values(["vintage_to", "vintage_from"])
        a, b = pairs.iloc[-1]
        acc = la[(la["vintage_from"] == a) & (la["vintage_to"] == b)]
        acc = acc[(acc["additions_ha"].fillna(0) > 0) | (acc["reductions_ha"].fillna(0) > 0)]
        _view(ctx, "compte", [("class", "Classe", "text"), ("opening_ha", f"Stock {int(a)} (ha)", "ha2"),
                              ("additions_ha", "Entrées (ha)", "ha2"), ("reductions_ha", "Sorties (ha)", "ha2"),
                              ("closing_ha", f"Stock {int(b)} (ha)", "ha2")], acc)
    if ctx.changes is not None and len(ctx.changes):
        ch = ctx.changes
        cols = [c for c in ("code", "vintage_from", "vintage_to", "cs_from", "us_from", "cs_to", "us_to",
                            "artif_from", "artif_to", "imper_from", "imper_to") if c in ch.columns]
        data = pd.DataFrame(ch[cols])
        data["area_ha"] = ch.geometry.area.to_numpy() / 10_000
        ctx.figures["carte"] = data.reset_index(drop=True)


def _stock_figure(stock: pd.DataFrame, by: str) -> pd.DataFrame:
    lab = f"{by}_label"
    keys = ["vintage", by] + ([lab] if lab in stock.columns else [])
    g = stock.groupby(keys, as_index=False, dropna=False)["area_ha"].sum()
    g = g.sort_values(["vintage", by]).reset_index(drop=True)
    source = str(stock["source"].iloc[0]) if "source" in stock.columns and len(stock) else ""
    if by == "cs" and source.startswith("raster:"):  # raster classes: the legend's colours
        try:
            from ..legends import load_legend

            legend = load_legend(source.split(":", 1)[1])
            g["colour"] = g[by].map(dict(zip(legend["value"].astype(str), legend["colour"], strict=False)))
        except Exception as exc:  # a legend given as a path may not be readable here: default palette
            log.debug("no legend colours for %s: %s", source, exc)
    return g


# -- 5. démographie et efficacité (SDG 11.3.1) ---------------------------------------------------
def demography(ctx: Any) -> None:
    eff = ctx.tables.get("efficiency")
    if eff is None or eff.empty:
        _set(ctx, "demographie", False)
        return
    _set(ctx, "demographie", True)
    e = eff.sort_values(["period_start", "period_end"]).copy()
    e["period"] = [fr.period(a, b) for a, b in zip(e["period_start"], e["period_end"], strict=True)]
    if "note" in e:
        e["note"] = [french_note(str(n)) for n in e["note"]]
    lines = []
    for r in e.itertuples(index=False):
        m2 = _f(r.m2_per_new_inhabitant)
        p0, p1 = _f(r.population_start), _f(r.population_end)
        growth = p1 - p0
        text = (f"- {r.period} : {fr.hectares(r.consumption_ha)} consommés ; population "
                f"{fr.integer(p0)} → {fr.integer(p1)} habitants ({fr.number(growth, decimals=0, signed=True)})")
        if not np.isnan(m2):
            text += f", soit **{fr.square_metres(m2)} par nouvel habitant**"
        elif np.isnan(_f(r.consumption_ha)):
            text += " ; consommation d'ENAF non disponible sur la période : pas de m² par nouvel habitant"
        elif np.isnan(growth):
            text += " ; population non disponible aux deux dates : pas de m² par nouvel habitant"
        else:
            text += " ; la consommation par nouvel habitant n'est pas définie (population stable ou en baisse)"
        lines.append(text)
    lines.append("\n*ODD 11.3.1 : rapport entre le taux de consommation d'espace (LCR) et le taux de "
                 "croissance démographique (PGR), LCR = ln(Urb₂/Urb₁)/années, PGR = ln(Pop₂/Pop₁)/années. "
                 "Non interprétable quand la population baisse.*")
    ctx.texts["demographie"] = "\n".join(lines)
    cols = [("period", "Période", "text"), ("consumption_ha", "Consommation (ha)", "ha"),
            ("population_start", "Population début", "int"), ("population_end", "Population fin", "int"),
            ("m2_per_new_inhabitant", "m² par nouvel habitant", "int")]
    if "households_jobs_per_ha" in e.columns:
        cols.append(("households_jobs_per_ha", "(Δménages + Δemplois) par ha", "num1"))
    cols += [("lcr", "LCR (/an)", "rate"), ("pgr", "PGR (/an)", "rate"), ("lcrpgr", "LCRPGR", "ha2"),
             ("note", "Note", "text")]
    _view(ctx, "demographie", cols, e)
    first = e.iloc[0]
    ctx.headline.update({"m2_per_new_inhabitant": _num(first["m2_per_new_inhabitant"]),
                         "efficiency_period": f"{int(first['period_start'])}-{int(first['period_end'])}"})


# -- 6. comparaison ---------------------------------------------------------------------------------
def comparison(ctx: Any, ind: Indicators) -> None:
    terr = ind.territories
    zan = ind.table("zan")
    n = int(ctx.meta.get("neighbours") or 8)
    with_codes = ctx.meta.get("compare_with") or None
    units = ind.units(ctx.level)
    codes: list[str] = []
    how = ""
    try:
        from ..compare import neighbours

        value_table = units[["level", "code", "area_ha"]]
        nb = neighbours(terr, ctx.level, ctx.code, table=value_table, value="area_ha", n=n,
                        with_codes=with_codes if isinstance(with_codes, list) else None)
        codes = nb.loc[nb["role"] == "neighbour", "code"].tolist()
        how = ("les territoires choisis" if with_codes else
               "le territoire de même niveau le plus proche" if len(codes) == 1 else
               f"les {len(codes)} territoires de même niveau les plus proches")
    except Exception as exc:  # no geometry: siblings within the same parent
        log.debug("neighbours by distance unavailable: %s", exc)
        if ctx.level == COMMUNE and has_membership(terr):
            parents = terr.parents(ctx.code)
            if parents:
                plvl, pcode = parents[0]
                codes = [c for c in terr.members(plvl, pcode) if c != ctx.code][:n]
                how = f"les communes du même {plvl.upper() if plvl == 'epci' else plvl} ({md(terr.name_of(plvl, pcode))})"
        if not codes:
            codes = [c for c in units["code"] if c != ctx.code][:n]
            how = "d'autres territoires de même niveau"
    if not codes:
        _set(ctx, "comparaison", False)
        return
    _set(ctx, "comparaison", True)
    rows = units.set_index("code")
    z = zan[zan["level"] == ctx.level].set_index("code") if len(zan) else pd.DataFrame()
    summ = ind.table("stock_summary")
    if len(summ) and "vintage" in summ:
        s = summ[summ["level"] == ctx.level].sort_values("vintage").groupby("code").tail(1).set_index("code")
    else:
        s = pd.DataFrame()
    eff = ind.table("efficiency")
    ef = eff[eff["level"] == ctx.level].sort_values("period_start").groupby("code").head(1).set_index("code") \
        if len(eff) else pd.DataFrame()

    def get(df: pd.DataFrame, code: str, col: str) -> float:
        return _f(df.at[code, col]) if len(df) and code in df.index and col in df.columns else float("nan")

    table = []
    for role, code in [("territoire", ctx.code)] + [("voisin", c) for c in codes]:
        area = get(rows, code, "area_ha")
        ref = get(z, code, "reference_ha")
        table.append({"role": role, "code": code, "name": str(rows.at[code, "name"]) if code in rows.index else code,
                      "area_ha": area, "reference_ha": ref,
                      "reference_pct": ref / area * 100 if area else np.nan,
                      "consumed_since_ha": get(z, code, "consumed_since_ha"), "used_pct": get(z, code, "used_pct"),
                      "artif_pct": get(s, code, "artif_pct"),
                      "m2_per_new_inhabitant": get(ef, code, "m2_per_new_inhabitant")})
    df = pd.DataFrame(table)
    med = {"role": "médiane", "code": "", "name": "Médiane des territoires comparés"}
    for col in df.columns[3:]:
        med[col] = float(df.loc[df["role"] == "voisin", col].median())
    df = pd.concat([df, pd.DataFrame([med])], ignore_index=True)
    df = df.dropna(axis=1, how="all")
    ctx.texts["comparaison"] = (f"Le territoire est comparé avec {how}. La dernière ligne donne la médiane "
                                "des territoires comparés.")
    _view(ctx, "comparaison", [("name", "Territoire", "text"), ("code", "Code", "text"),
                               ("area_ha", "Surface (ha)", "ha"), ("reference_ha", "Conso. référence (ha)", "ha"),
                               ("reference_pct", "Conso. référence (% surface)", "pct2"),
                               ("consumed_since_ha", "Conso. depuis début de période (ha)", "ha"),
                               ("used_pct", "Enveloppe consommée (%)", "pct"),
                               ("artif_pct", "Artificialisé (%)", "pct"),
                               ("m2_per_new_inhabitant", "m² par nouvel habitant", "int")], df)
    value, label = ("reference_pct", "Consommation de référence (% de la surface)")
    if "reference_pct" not in df or df["reference_pct"].isna().all():
        value, label = ("artif_pct", "Part artificialisée (%)")
    if value in df and df[value].notna().any():
        fig = df[["role", "code", "name", value]].rename(columns={value: "value"})
        fig.attrs["label"] = label
        ctx.figures["comparaison"] = fig


# -- 8. méthodologie et provenance -----------------------------------------------------------------
def methodology(ctx: Any, ind: Indicators) -> None:
    ctx.available["methodologie"] = True
    prov = ind.provenance.copy()
    if len(prov):
        prov["file"] = [Path(str(p)).name for p in prov["path"]]
        _view(ctx, "provenance", [("role", "Rôle", "text"), ("file", "Fichier", "text"),
                                  ("sha256", "SHA-256", "text"), ("modified", "Modifié le", "text"),
                                  ("size", "Taille (octets)", "int"), ("rows", "Lignes", "int")], prov)
    rule = ind.table("rule")
    if len(rule) and "cs" in rule.columns:
        _view(ctx, "regles", [("cs", "Couverture (motif)", "text"), ("us", "Usage (motif)", "text"),
                              ("artif", "Artificialisé", "bool"), ("imper", "Imperméabilisé", "bool"),
                              ("category", "Catégorie", "text"), ("note", "Note", "text")], rule)
    qa = ind.table("qa")
    if len(qa) and "item" in qa.columns:
        _view(ctx, "controles", [("topic", "Thème", "text"), ("item", "Contrôle", "text"),
                                 ("count", "Nombre", "text"), ("detail", "Détail", "text")], qa)
    rule_name = ""
    if len(rule) and "rule" in rule.columns:
        rule_name = str(rule["rule"].iloc[0])
    rule_name = rule_name or str(ctx.meta.get("rule") or "")
    lines = [f"Rapport produit le {ctx.generated} avec **ocsol {ctx.version}** à partir de "
             f"{md(Path(ind.source).name or ind.source)}."]
    if ctx.meta.get("synthetic"):
        lines.append("**Attention : données synthétiques (générées pour les tests), sans valeur réelle.**")
    zt = ctx.tables.get("zan")
    z0 = zt.iloc[0] if zt is not None and len(zt) else None
    lines += [
        "- Consommation d'espaces NAF : fichiers fonciers du Cerema, flux annuels au 1er janvier ; les "
        "territoires supra-communaux sont la somme de leurs communes.",
        "- Trajectoire ZAN (loi Climat et résilience, art. 191 et 194) : référence = "
        + (f"somme des flux {int(z0['reference_start'])} à {int(z0['reference_end'])}, " if z0 is not None
           else "somme des flux annuels de la décennie de référence, ")
        + "enveloppe = référence × (1 − objectif) ou enveloppe en hectares du document, garantie communale "
        "pour les communes éligibles (première décennie) ; consommation décomptée = consommation brute − "
        "déductions (PENE, photovoltaïque…) ; projection = rythme observé × nombre d'années de la période ; "
        "situation donnée seulement face à un objectif opposable du territoire.",
        "- Artificialisation (décret n° 2023-1096, nomenclature R. 101-1 du code de l'urbanisme) : "
        "chaque couple couverture × usage de l'OCS GE est classé par la table de règles ci-dessous"
        + (f" (« {md(rule_name)} »)" if rule_name else "") + ".",
        "- Imperméabilisation : zones bâties (CS1.1.1.1) et zones non bâties imperméables (CS1.1.1.2).",
        "- Les fichiers sources sont identifiés par leur empreinte SHA-256 : un même fichier donne les "
        "mêmes chiffres.",
    ]
    ctx.texts["methodologie"] = "\n".join(lines)
    ctx.headline["ocsol_version"] = ctx.version
