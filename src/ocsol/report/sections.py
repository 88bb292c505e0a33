"""Contents of the report sections: title, identity, consumption (R. 2231-1 1°), objectives (4°),
artificialisation (2°, 3°), demography, methodology.

One builder per section fills the context's ``texts`` (Markdown), ``intros`` (the sentence under
the heading), ``views`` (display tables, French headers with units), ``kinds`` (kind of each
column → its fixed decimals), ``figures`` (data behind each chart) and ``available`` /
``messages``. Every word comes from the catalogue (:mod:`ocsol.fr`); every user string goes
through :func:`ocsol.report.safe.md` before it enters Markdown. Members, comparison, front
matter and the territory's own texts are in :mod:`.members` and :mod:`.texts`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pandas as pd

from .. import fr, plot
from ..fr import format as ff
from ..legends import load_legend
from ..nomenclature import couverture, usage
from ..territories import COMMUNE
from ..zan import DEFAULT_DECADES, zan_path
from . import fragmentation, members, methodology, texts
from .data import ReportData
from .headline import MEASURE_ORDER, headline_table, latest_flow, latest_stock
from .loader import Indicators, has_membership
from .measures import perimeter, synthetic_parts, with_measure
from .profiles import CGCT, VERDICT, choose_profile
from .safe import md
from .views import add_view as _view
from .views import measure_params as _measure_params
from .views import to_float as _f

log = logging.getLogger(__name__)

DESTINATIONS = {col: label for col, (label, _colour) in plot.DESTINATIONS.items()}  # one list, in plot


def build_all(ctx: ReportData, ind: Indicators) -> None:
    """Fill every section of ``ctx`` from the indicators, following its profile."""
    units = ind.table("territories")
    row = units[(units["level"] == ctx.level) & (units["code"] == ctx.code)].iloc[0]
    ctx.profile = choose_profile(ctx.level, ctx.code, tables=ctx.tables, meta=ctx.meta)
    ctx.perimeter = perimeter(row) if ctx.level != COMMUNE else {"state": "complete", "n": 1, "expected": 1, "cog": ""}
    rule = ind.table("rule")
    for name in ("stock_summary", "flows", "stock", "transitions", "land_account"):
        if name in ctx.tables:
            ctx.tables[name] = with_measure(ctx.tables[name], rule, default_rule=str(ctx.meta.get("rule") or ""))
    ctx.synthetic = synthetic_parts(ctx.meta, ctx.tables)
    ctx.meta.setdefault("min_coverage_pct", min_coverage_pct(ind))
    title(ctx)
    identity(ctx, ind)
    consumption(ctx)
    zan(ctx)
    artificialisation(ctx, ind)
    demography(ctx)
    members.members(ctx, ind)
    members.comparison(ctx, ind)
    texts.front_matter(ctx)
    texts.user_texts(ctx)
    texts.annex(ctx)
    fragmentation.fragmentation(ctx)  # beyond the law; before the methodology (its QA rows)
    methodology.methodology(ctx, ind)
    headline(ctx)


def headline(ctx: ReportData) -> None:
    """``ctx.headline``: identity, the picked headline figures (:mod:`.headline`), flags."""
    h = headline_table(ctx.tables)
    row = h.iloc[0].to_dict() if len(h) else {}
    clean = {k: _clean(v) for k, v in row.items() if k not in ("level", "code")}
    ctx.headline.update(clean)
    ctx.headline.update({"level": ctx.level, "code": ctx.code, "name": ctx.name, "area_ha": ctx.area_ha,
                         "n_communes": ctx.n_communes, "profile": ctx.profile, "synthetic": bool(ctx.synthetic),
                         "perimeter": ctx.perimeter["state"], "verdict": ctx.verdict,
                         "texts_missing": list(ctx.texts_missing), "sections": dict(ctx.available),
                         "ocsol_version": ctx.version})


def _clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, (float, np.floating)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if v is pd.NA or (isinstance(v, str) and v == "nan"):
        return None
    return v


def _set(ctx: ReportData, section: str, ok: bool) -> None:
    ctx.available[section] = bool(ok)
    if not ok and fr.has("missing", section):
        ctx.messages[section] = fr.text("missing", section)


def _present(value: Any) -> bool:
    return not (value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))
                or str(value) in ("", "nan", "<NA>", "None"))


def _true(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "oui", "yes")


def _level_word(ctx: ReportData) -> str:
    """The level's label; the base units of a non-French land-cover report are zones, not communes."""
    if ctx.profile == "occupation_sol" and ctx.level == COMMUNE:
        return fr.level_label("zone")
    return fr.level_label(ctx.level)


# -- titre -------------------------------------------------------------------------------------
def title(ctx: ReportData) -> None:
    heading = ctx.meta.get("report_title") or fr.text("profile_title", ctx.profile)
    frame = fr.text("profile_frame", ctx.profile)
    year = ctx.meta.get("report_year") or int(ctx.generated[:4])
    sub = (f"{_level_word(ctx)} · code {md(ctx.code)} · {fr.text('front', 'year', year=year)} · "
           f"produit le {ctx.generated} avec ocsol {ctx.version}")
    author = ctx.meta.get("author")
    ctx.texts["titre"] = (f"# {md(ctx.display_name)}\n\n**{md(heading)}**\n\n*{frame}*\n\n{sub}"
                          + (f" · {md(str(author))}" if author else ""))
    ctx.texts["cgct"] = "yes" if ctx.profile in CGCT else ""


# -- identité ------------------------------------------------------------------------------------
def _correction_status(ind: Indicators, level: str, code: str) -> tuple[str | None, str]:
    units = ind.units(level)
    if "correction_status" not in units:
        return None, ""
    hit = units.loc[units["code"] == code]
    if hit.empty or pd.isna(hit["correction_status"].iloc[0]):
        return None, ""
    value = str(hit["correction_status"].iloc[0])
    words = fr.text("correction_status", value, default=value)
    if "source_codes" in units:
        src = hit["source_codes"].iloc[0]
        if isinstance(src, str) and "+" in src:
            words += f" (codes source : {md(src.replace('+', ', '))})"
    return value, words


def identity(ctx: ReportData, ind: Indicators) -> None:
    terr = ind.territories
    ctx.available["identite"] = True
    lines = [f"**{md(ctx.display_name)}** — {_level_word(ctx)}, code {md(ctx.code)}.", "",
             f"- Surface : **{ff.fmt_unit(ctx.area_ha, 'ha')}**"]
    parents = terr.parents(ctx.code, ctx.level) if ctx.level == COMMUNE or has_membership(terr) else []
    if ctx.level != COMMUNE:
        lines.append(f"- Nombre de communes dans les données : **{ff.fmt(ctx.n_communes, 'int')}**")
        p = ctx.perimeter
        cog = f", {p['cog']}" if p.get("cog") else ""
        lines.append("- " + fr.text("perimeter", p["state"], n=p["n"], expected=p["expected"], cog=md(cog)))
    for lvl, code in parents:
        pname = terr.name_of(lvl, code)
        lines.append(f"- {fr.level_label(lvl)} d'appartenance : {md(pname)}"
                     + (f" ({md(code)})" if pname != code else ""))
    value, words = _correction_status(ind, ctx.level, ctx.code)
    if words:
        lines.append(f"- Codes communes des sources : {words}")
    ctx.texts["identite"] = "\n".join(lines)
    ctx.headline.update({"correction_status": value, "parents": [f"{lvl}:{c}" for lvl, c in parents]})
    if terr.has_geometry:
        codes = terr.members(ctx.level, ctx.code) if has_membership(terr) or ctx.level == COMMUNE else []
        comm = terr.communes
        out = comm[comm["code"].isin(codes)]
        out = out[out.geometry.notna()] if len(out) else out
        ctx.outline = out if len(out) else None
        if ind.changes is not None and codes:
            ch = ind.changes[ind.changes["code"].isin(codes)]
            ctx.changes = ch if len(ch) else None


# -- consommation d'ENAF (R. 2231-1 1°) ----------------------------------------------------------
def consumption(ctx: ReportData) -> None:
    cons = ctx.tables.get("consumption")
    if cons is None or cons.empty:
        _set(ctx, "consommation", False)
        return
    _set(ctx, "consommation", True)
    ctx.intros["consommation"] = fr.text("section_intro", "consommation_cgct" if ctx.profile in CGCT else "consommation")
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
        f"**{ff.fmt_unit(total, 'ha')}** d'espaces naturels, agricoles et forestiers, soit "
        f"**{ff.fmt_unit(total / ctx.area_ha * 100 if ctx.area_ha else None, 'pct_area')}** de sa surface.",
    ]
    if total > 0 and top:
        parts = [f"{k.lower()} ({ff.fmt_unit(v / total * 100, 'pct')})" for k, v in top]
        lines.append(f"Principales destinations : {', '.join(parts)}.")
    if zan is not None and len(zan):
        z = zan.iloc[0]
        lines.append(f"Période de référence {_ref_label(z)} : **{ff.fmt_unit(z['reference_ha'], 'ha')}** "
                     f"({ff.fmt_unit(_f(z['reference_ha']) / ctx.area_ha * 100 if ctx.area_ha else None, 'pct_area')}"
                     " de la surface).")
    if prov:
        lines.append(f"L'année {', '.join(map(str, prov))} est provisoire (millésime le plus récent des "
                     "fichiers fonciers).")
    lines.append("*Convention : l'année N désigne le flux du 1er janvier N au 1er janvier N+1.*")
    ctx.texts["consommation"] = "\n\n".join(lines)
    cols: list[tuple[str, ...]] = [("year", "year"), ("total_ha", "ha")]
    cols += [(c, f"{label} (ha)", "ha") for c, label in DESTINATIONS.items()]  # plot's one list of destinations
    cols += [("pct_area", "pct_area"), ("provisional", "bool")]
    _view(ctx, "consommation", cols, shown)
    fig = shown[["year", *[c for c in DESTINATIONS if c in shown], "total_ha"]].copy()
    if "provisional" in shown:
        fig["provisional"] = shown["provisional"].astype(str).str.lower() == "true"
    ctx.figures["consommation"] = fig.reset_index(drop=True)
    dest_total = pd.DataFrame({"destination": list(dest), "area_ha": list(dest.values())})
    ctx.figures["destinations"] = dest_total[dest_total["area_ha"] > 0].reset_index(drop=True)
    ctx.headline.update({"consumption_first_year": first, "consumption_last_year": last,
                         "consumption_total_ha": total})


def _ref_label(z: pd.Series) -> str:
    """``2011-2021 (flux 2011 à 2020)``: the legal decade, then the flows it sums."""
    a, b = int(z["reference_start"]), int(z["reference_end"])
    return f"{a}-{b + 1} (flux {a} à {b})"


def _period_label(z: pd.Series) -> str:
    a, b = int(z["period_start"]), int(z["period_end"])
    return f"{a}-{b + 1} (flux {a} à {b})"


# -- objectifs (R. 2231-1 4°) ----------------------------------------------------------------------
def _target_source(z: pd.Series) -> str:
    doc = z.get("target_document_name") if _present(z.get("target_document_name")) else z.get("target_document")
    src = str(z.get("target_source", "") or "")
    if _present(doc):
        status = z.get("doc_status")
        words = md(str(doc)) + (f" ({md(str(status))})" if _present(status) else "")
        return words if src in ("", "own") else f"{words} — " + _target_source(z.drop(
            [c for c in ("target_document", "target_document_name") if c in z.index]))
    if src.startswith("parent:"):
        _, lvl, code = (src.split(":", 2) + ["", ""])[:3]
        return fr.text("target_source", "parent", level=fr.level_label(lvl), code=md(code))
    if fr.has("target_source", src):
        return fr.text("target_source", src)
    if " (inherited from " in src and src.endswith(")"):
        base, rest = src[:-1].split(" (inherited from ", 1)
        lvl, _, code = rest.partition(" ")
        base_words = fr.text("target_source", base, default=md(base))
        return fr.text("target_source", "inherited", source=base_words, level=fr.level_label(lvl), code=md(code))
    return md(src)


def _verdict(ctx: ReportData, z: pd.Series) -> tuple[str, str]:
    """(kind, sentence): kind = ``binding``, ``indicative`` or ``none``."""
    if ctx.profile not in VERDICT:
        return "none", fr.text("verdict_sentence", "none", reason=fr.text("no_verdict", "diagnostic"))
    p = ctx.perimeter
    if p["state"] == "partial":
        cog = f", {p['cog']}" if p.get("cog") else ""
        return "none", fr.text("verdict_sentence", "none",
                               reason=fr.text("no_verdict", "partial", n=p["n"], expected=p["expected"],
                                              cog=md(cog)))
    if "complete" in z.index and _present(z.get("complete")) and not _true(z.get("complete")):
        return "none", fr.text("verdict_sentence", "none",
                               reason=fr.text("no_verdict", "incomplete", n_missing=ff.fmt(z.get("n_missing"), "int")))
    binding = "binding" in z.index and _true(z.get("binding"))
    if binding and _present(z.get("status")):
        return "binding", fr.text("verdict_sentence", "binding", document=_target_source(z),
                                  status=fr.text("binding_status", str(z["status"]), default=md(str(z["status"]))))
    ind_status = z.get("indicative_status") if "indicative_status" in z.index else z.get("status")
    key = str(ind_status) if _present(ind_status) else ""
    return "indicative", fr.text("verdict_sentence", "indicative",
                                 status=fr.text("indicative_status", key, default=md(key)))


def zan(ctx: ReportData) -> None:
    z = ctx.tables.get("zan")
    if z is None or z.empty:
        _set(ctx, "zan", False)
        ctx.verdict = "none"
        return
    _set(ctx, "zan", True)
    r = z.iloc[0]
    per = _period_label(r)
    ctx.intros["zan"] = fr.text("section_intro", "zan" if ctx.profile in CGCT else "zan_diag", period=per)
    n_obs = int(_f(r["years_observed"])) if not np.isnan(_f(r["years_observed"])) else 0
    obs = ff.period(r["period_start"], int(r["period_start"]) + n_obs - 1) if n_obs else "—"
    guarantee = _true(r.get("guarantee_applied", ""))
    g_words = ""
    if guarantee:
        g_ha = r.get("guarantee_ha") if "guarantee_ha" in r.index else None
        reason = str(r.get("guarantee_reason", "")) if "guarantee_reason" in r.index else ""
        g_words = " (" + (fr.text("guarantee_reason", reason) if fr.has("guarantee_reason", reason) and reason
                          else "garantie communale") + (f" : {ff.fmt_unit(g_ha, 'ha')}" if _present(g_ha) else "") + ")"
    lines = [
        f"- Consommation de référence {_ref_label(r)} : **{ff.fmt_unit(r['reference_ha'], 'ha')}**",
        f"- Objectif de réduction : **{ff.fmt_unit(r['target_pct'], 'pct')}** ({_target_source(r)})",
        f"- Enveloppe {per} : **{ff.fmt_unit(r['allowed_ha'], 'ha')}**{g_words}",
        f"- Consommé depuis {int(r['period_start'])} ({obs}, {n_obs} an{'s' if n_obs > 1 else ''}) : "
        f"**{ff.fmt_unit(r['consumed_since_ha'], 'ha')}**, soit **{ff.fmt_unit(r['used_pct'], 'pct')}** de l'enveloppe",
    ]
    gross, counted = _f(r.get("consumed_gross_ha")), _f(r.get("consumed_counted_ha"))
    if not (np.isnan(gross) or np.isnan(counted)) and abs(gross - counted) > 1e-9:
        kinds = [fr.text("deduction", c) for c in r.index if c.startswith("deducted_") and _f(r.get(c)) > 0
                 and fr.has("deduction", c)]
        lines.append("- " + fr.text("deductions", "sentence", gross=ff.fmt_unit(gross, "ha"),
                                    deducted=ff.fmt_unit(gross - counted, "ha"), kinds=", ".join(kinds) or "—",
                                    counted=ff.fmt_unit(counted, "ha")))
    conf = str(r.get("projection_confidence", "")) if "projection_confidence" in r.index else ""
    if conf != "none":
        lines.append(f"- Rythme annuel observé : {ff.fmt_unit(r['annual_pace_ha'], 'ha')}/an ; projection au "
                     f"1er janvier {int(r['period_end']) + 1} : **{ff.fmt_unit(r['projected_ha'], 'ha')}** "
                     f"({ff.fmt_unit(r['projected_pct'], 'pct')} de l'enveloppe)")
    ey = r.get("exhaustion_year")
    if _present(ey) and conf != "none":
        last_obs = int(r["period_start"]) + n_obs - 1
        kind = "observed" if int(_f(ey)) <= last_obs else "projected"
        lines.append("- " + fr.text("exhaustion", kind, year=ff.year(ey)))
    if fr.has("projection_confidence", conf):
        lines.append("- *" + fr.text("projection_confidence", conf) + "*")
    ctx.verdict, sentence = _verdict(ctx, r)
    lines.append(f"- {sentence}")
    a, b = int(r["reference_start"]), int(r["reference_end"])
    ctx.texts["zan"] = "\n".join(lines) + (
        f"\n\n*Référence : somme des {b - a + 1} flux annuels {a} à {b} (1er janvier {a} → 1er janvier {b + 1}). "
        f"Période : flux {int(r['period_start'])} à {int(r['period_end'])}, soit du 1er janvier "
        f"{int(r['period_start'])} au 1er janvier {int(r['period_end']) + 1} (approximation en années civiles de la "
        "décennie légale). Projection : rythme observé × nombre d'années de la période.*")
    verdict_text = {"binding": fr.text("binding_status", str(r.get("status")), default=""),
                    "indicative": sentence.split("— ")[-1].strip("*. "), "none": "pas d'appréciation"}[ctx.verdict]
    facts = [  # (catalogue key of the row label, value, number kind)
        ("reference_ha", r["reference_ha"], "ha"),
        ("target_pct", r["target_pct"], "pct"),
        ("target_source", _target_source(r).replace("\\", ""), "text"),
        ("allowed_ha", r["allowed_ha"], "ha"),
        ("consumed_since_ha", r["consumed_since_ha"], "ha"),
        ("years_observed", n_obs, "int"),
        ("annual_pace_ha", r["annual_pace_ha"], "ha"),
        ("projected_ha", r["projected_ha"], "ha"),
        ("used_pct", r["used_pct"], "pct"),
        ("projected_pct", r["projected_pct"], "pct"),
        ("verdict", verdict_text.replace("**", ""), "text"),
    ]
    words = {"reference": _ref_label(r), "period": per, "start": str(int(r["period_start"]))}
    ctx.views["zan"] = pd.DataFrame({fr.text("view_column", "zan.fact"): [fr.text("zan_fact", k, **words)
                                                                          for k, _, _ in facts],
                                     fr.text("view_column", "zan.value"): [ff.fmt(v, k) for _, v, k in facts]})
    ctx.kinds["zan"] = {}
    ctx.figures["trajectoire"] = _trajectory(ctx, r)
    after = _after_period(ctx, r)
    if after:
        ctx.texts["zan"] += "\n\n" + after


def _after_period(ctx: ReportData, r: pd.Series) -> str:
    """What follows the period, in words: the net-artificialisation objective of the next decade
    (``zan_2031``) when one is set, else that it is set by the SRADDET and not given here."""
    nxt = ctx.tables.get("zan_2031")
    p1 = int(r["period_end"])
    if nxt is None or nxt.empty:
        return "*" + fr.text("after_period", "none", period=f"{p1 + 1}-{p1 + 11}") + "*"
    n = nxt.sort_values("period_start").iloc[0]
    period = f"{int(n['period_start'])}-{int(n['period_end']) + 1}"
    if _present(n.get("envelope_ha")):
        binding = _true(n.get("binding"))
        return "*" + fr.text("after_period", "binding" if binding else "indicative", period=period,
                             envelope=ff.fmt_unit(n["envelope_ha"], "ha"),
                             measure=fr.text("measure_short", str(n.get("measure", "")), default=md(str(n.get("measure", ""))),
                                             rule="", legend="")) + "*"
    return "*" + fr.text("after_period", "none", period=period) + "*"


def _trajectory(ctx: ReportData, r: pd.Series) -> pd.DataFrame:
    """Year-by-year data of the trajectory chart: observed, projected and allowed cumulative."""
    p0, p1 = int(r["period_start"]), int(r["period_end"])
    path = ctx.tables.get("zan_path")
    if path is None or path.empty:
        path = zan_path(ctx.tables["zan"], decades=ctx.meta.get("decades") or DEFAULT_DECADES)
    # the ENAF curve stops at the end of the period (1 January 2031 for the first decade): after
    # it the objective is net artificialisation, another measure (ZAN_REPORT_REVIEW §3.5), worded
    # in the text by _after_period and never drawn on this chart
    path = path[path["year"] <= p1].sort_values("year")
    years = list(range(p0, p1 + 1))
    out = pd.DataFrame({"year": years})
    out = out.merge(path[["year", "allowed_cumulative_ha", "annual_allowed_ha"]], on="year", how="left")
    cons = ctx.tables.get("consumption")
    obs = pd.Series(dtype=float)
    if cons is not None and len(cons):
        obs = cons[cons["year"] >= p0].set_index("year")["total_ha"].sort_index().cumsum()
        out["consumption_ha"] = out["year"].map(cons.set_index("year")["total_ha"])
    else:
        out["consumption_ha"] = np.nan
    out["observed_cumulative_ha"] = out["year"].map(obs)
    last = int(obs.index.max()) if len(obs) else p0 - 1
    done = float(obs.iloc[-1]) if len(obs) else 0.0
    pace = _f(r["annual_pace_ha"])
    conf = str(r.get("projection_confidence", "")) if "projection_confidence" in r.index else ""
    out["projected_cumulative_ha"] = [done + pace * (y - last) if last <= y <= p1 and not np.isnan(pace)
                                      and conf != "none" else np.nan for y in years]
    out["reference_ha"] = _f(r["reference_ha"])
    return out


# -- artificialisation et imperméabilisation (R. 2231-1 2° et 3°) -----------------------------------
def _measures(*tables: pd.DataFrame | None) -> list[str]:
    present = {str(m) for t in tables if t is not None and len(t) and "measure" in t.columns for m in t["measure"]}
    return [m for m in MEASURE_ORDER if m in present] + sorted(present - set(MEASURE_ORDER))


def artificialisation(ctx: ReportData, ind: Indicators) -> None:
    """Stocks and flows under every measure the territory has (each worded by its measure), a small
    side-by-side comparison when there are several, the per-département millésimes, and the class
    breakdowns of the headline measure."""
    summ, flows = ctx.tables.get("stock_summary"), ctx.tables.get("flows")
    stock, trans = ctx.tables.get("stock"), ctx.tables.get("transitions")
    has_stock = summ is not None and len(summ) > 0
    has_flows = flows is not None and len(flows) > 0
    section = "occupation" if ctx.profile == "occupation_sol" else "artificialisation"
    ctx.available["occupation"] = ctx.available["artificialisation"] = bool(has_stock or has_flows)
    if not (has_stock or has_flows):
        _set(ctx, "artificialisation", False)
        _set(ctx, "occupation", False)
        return
    ctx.intros[section] = fr.text("section_intro", section)
    measures = _measures(summ, flows)
    ctx.measures = measures
    if has_stock and summ is not None:
        summ = ctx.tables["stock_summary"] = summ.assign(reason_fr=empty_reasons(ctx, summ, "stock_summary"))
    if has_flows and flows is not None:
        flows = ctx.tables["flows"] = flows.assign(reason_fr=empty_reasons(ctx, flows, "flows"))
    lines: list[str] = []
    several = len(measures) > 1
    if several:
        lines.append(fr.text("measures", "several", n=len(measures), headline=fr.text(
            "measure_short", measures[0], default=md(measures[0]), **_measure_params(ctx, _of(flows, measures[0])))))
    for m in measures:
        s = summ[summ["measure"] == m] if has_stock and summ is not None else None
        f = flows[flows["measure"] == m] if has_flows and flows is not None else None
        params = _measure_params(ctx, f if f is not None and len(f) else s)
        lines.append(f"**{fr.text('measure_title', m, default=md(m), **params)}**")
        if s is not None and len(s):
            last = s.sort_values("vintage").iloc[-1]
            if last["reason_fr"]:
                lines.append(fr.text("empty", "stock", vintage=int(last["vintage"]), reason=last["reason_fr"]))
            elif np.isnan(_f(last["imper_ha"])):  # a legend without an impervious class
                lines.append(f"En {int(last['vintage'])}, **{ff.fmt_unit(last['artif_ha'], 'ha')}** sont "
                             f"classés artificialisés (**{ff.fmt_unit(last['artif_pct'], 'pct')}** de la surface) ; "
                             + fr.text("empty_reason", "no_imper", **params) + ".")
            else:
                lines.append(f"En {int(last['vintage'])}, **{ff.fmt_unit(last['artif_ha'], 'ha')}** sont "
                             f"classés artificialisés (**{ff.fmt_unit(last['artif_pct'], 'pct')}** de la surface) et "
                             f"**{ff.fmt_unit(last['imper_ha'], 'ha')}** imperméabilisés "
                             f"({ff.fmt_unit(last['imper_pct'], 'pct')}).")
        elif has_stock or not several:
            lines.append("Le stock n'est pas mesuré (seule une couche de changements est disponible).")
        if f is not None and len(f):
            lf = f.sort_values(["vintage_to", "vintage_from"], kind="mergesort").iloc[-1]
            if lf["reason_fr"]:
                lines.append(fr.text("empty", "flow", vintage_from=int(lf["vintage_from"]),
                                     vintage_to=int(lf["vintage_to"]), reason=lf["reason_fr"]))
            else:
                net = fr.text("measure_net", m, default="soit un solde de {net}",
                              net=ff.fmt_unit(lf["net_artif_ha"], "signed"))
                legal = m == "decret_ign"
                imper = (f"surfaces rendues imperméables : {ff.fmt_unit(lf['imper_ha'], 'ha')}, solde "
                         f"{ff.fmt_unit(lf['net_imper_ha'], 'signed')}" + (" (R. 2231-1 3° du CGCT)" if legal else "")
                         if not np.isnan(_f(lf["imper_ha"])) else fr.text("empty_reason", "no_imper", **params))
                lines.append(
                    f"Entre {int(lf['vintage_from'])} et {int(lf['vintage_to'])} : artificialisation "
                    f"**{ff.fmt_unit(lf['artif_ha'], 'ha')}**, désartificialisation "
                    f"{ff.fmt_unit(lf['desartif_ha'], 'ha')}, {net} ; {imper}.")
            lines.append(_version_change(ctx, int(lf["vintage_from"]), int(lf["vintage_to"])))
        elif not several:
            lines.append("Un seul millésime est disponible : pas de flux entre millésimes.")
        lines.append("*" + fr.text("measure_note", m, default=md(m), **params) + "*")
    ctx.texts["artificialisation"] = "\n\n".join(x for x in lines if x)
    label = {m: fr.text("measure_short", m, default=m, **_measure_params(ctx, _of(flows, m) if has_flows else
                                                                          _of(summ, m)))
             for m in measures}
    if several:
        _measures_view(ctx, measures, label, summ if has_stock else None, flows if has_flows else None)
    note = [("reason_fr", "text")]
    if has_stock and summ is not None:
        rank = {m: i for i, m in enumerate(measures)}  # the headline measure first, as in the text
        s = summ.assign(_rank=summ["measure"].map(rank)).sort_values(["_rank", "vintage"], kind="mergesort")
        s = s.assign(measure_fr=s["measure"].map(label))
        cols = [("vintage", "year")] + ([("measure_fr", "text")] if several else [])
        _view(ctx, "stocks", cols + [("covered_ha", "ha"), ("artif_ha", "ha"), ("artif_pct", "pct"),
                                     ("imper_ha", "ha"), ("imper_pct", "pct")]
              + (note if (s["reason_fr"] != "").any() else []), s)
    if has_flows and flows is not None:
        rank = {m: i for i, m in enumerate(measures)}
        f = flows.assign(_rank=flows["measure"].map(rank)).sort_values(["_rank", "vintage_from", "vintage_to"],
                                                                        kind="mergesort")
        f["period"] = [f"{int(a)}–{int(b)}" for a, b in zip(f["vintage_from"], f["vintage_to"], strict=True)]
        f["measure_fr"] = f["measure"].map(label)
        cols = [("period", "text")] + ([("measure_fr", "text")] if several else [])
        _view(ctx, "flux", cols + [("artif_ha", "ha"), ("desartif_ha", "ha"), ("net_artif_ha", "signed"),
                                   ("imper_ha", "ha"), ("desimper_ha", "ha"), ("net_imper_ha", "signed")]
              + (note if (f["reason_fr"] != "").any() else []), f)
    for name in ("stocks", "flux"):  # imperviousness not measured at all (raster legend): said in the text
        v = ctx.views.get(name)
        if v is not None and len(v):
            empty = [c for c in v.columns if c.startswith(("Imperméabilisé", "Désimperméabilisé", "Solde imper"))
                     and pd.to_numeric(v[c], errors="coerce").isna().all()]
            ctx.views[name] = v.drop(columns=empty)
    millesimes_by_departement(ctx, ind)
    if stock is not None and len(stock):
        ctx.figures["stock_couverture"] = _stock_figure(stock, "cs")
        if (stock["us"].astype(str) != "").any():
            ctx.figures["stock_usage"] = _stock_figure(stock, "us")
    if trans is not None and len(trans):
        pairs = trans[["vintage_from", "vintage_to"]].drop_duplicates().sort_values(["vintage_to", "vintage_from"])
        a, b = pairs.iloc[-1]
        t = trans[(trans["vintage_from"] == a) & (trans["vintage_to"] == b)]
        m = t.groupby(["cs_from", "cs_to"], as_index=False)["area_ha"].sum()
        fig = m.assign(vintage_from=int(a), vintage_to=int(b))
        fig.attrs["labels"] = _raster_labels(stock)
        ctx.figures["transitions"] = fig
    la = ctx.tables.get("land_account")
    if la is not None and len(la):
        pairs = la[["vintage_from", "vintage_to"]].drop_duplicates().sort_values(["vintage_to", "vintage_from"])
        a, b = pairs.iloc[-1]
        acc = la[(la["vintage_from"] == a) & (la["vintage_to"] == b)].copy()
        acc = acc[(acc["additions_ha"].fillna(0) > 0) | (acc["reductions_ha"].fillna(0) > 0)]
        labels = _raster_labels(stock)
        acc["class_fr"] = [f"{plot.class_label(c)} {labels[c]}" if labels.get(c) else plot.class_label(c)
                           for c in acc["class"]]
        _view(ctx, "compte", [("class_fr", "text"), ("opening_ha", "ha"), ("additions_ha", "ha"),
                              ("reductions_ha", "ha"), ("closing_ha", "ha")], acc, start=int(a), end=int(b))
    if ctx.changes is not None and len(ctx.changes):
        ch = ctx.changes
        keep = [c for c in ("code", "vintage_from", "vintage_to", "cs_from", "us_from", "cs_to", "us_to",
                            "artif_from", "artif_to", "imper_from", "imper_to") if c in ch.columns]
        data = pd.DataFrame(ch[keep])
        data["area_ha"] = ch.geometry.area.to_numpy() / 10_000
        ctx.figures["carte"] = data.reset_index(drop=True)
        _flows_by_class(ctx, data)


def _of(df: pd.DataFrame | None, measure: str) -> pd.DataFrame | None:
    """The rows of one measure (None when the table is absent)."""
    if df is None or df.empty or "measure" not in df.columns:
        return df
    return df[df["measure"] == measure]


def _measures_view(ctx: ReportData, measures: list[str], label: dict[str, str], summ: pd.DataFrame | None,
                   flows: pd.DataFrame | None) -> None:
    """``mesures``: each measure's latest stock and latest flow side by side (same picker and
    ordering as the headline, :mod:`.headline`); the first row is the headline measure."""
    rows = []
    for m in measures:
        row: dict[str, Any] = {"measure_fr": label[m], "headline": m == measures[0]}
        s = latest_stock(_of(summ, m)) if summ is not None else None
        if s is not None and len(s):
            row.update(s.iloc[0].to_dict())
        f = latest_flow(_of(flows, m)) if flows is not None else None
        if f is not None and len(f):
            row.update(f.iloc[0].to_dict())
            row["period"] = f"{int(row['flows_from'])}–{int(row['flows_to'])}"
        rows.append(row)
    df = pd.DataFrame(rows)
    _view(ctx, "mesures", [("measure_fr", "text"), ("headline", "bool"), ("artif_vintage", "year"),
                           ("artif_ha", "ha"), ("artif_pct", "pct"), ("period", "text"),
                           ("net_artif_ha", "signed"), ("net_imper_ha", "signed")], df)


def min_coverage_pct(ind: Indicators) -> str:
    """``[raster].min_coverage`` of the run, as the QA row ``raster.below_min_coverage`` records it ('')."""
    qa = ind.table("qa")
    if qa is None or qa.empty or "key" not in qa.columns or "params" not in qa.columns:
        return ""
    hit = qa[qa["key"] == "raster.below_min_coverage"]
    if hit.empty or not str(hit["params"].iloc[0]).startswith("{"):
        return ""
    return str(json.loads(hit["params"].iloc[0]).get("pct", ""))


def empty_reasons(ctx: ReportData, df: pd.DataFrame, table: str) -> list[str]:
    """Why each row's figures are empty, in French ('' where they are not).

    Worded from the row's data through the catalogue (never from the computing code's English
    ``note``): a raster zone covered below ``[raster].min_coverage`` says its covered share and
    the threshold; any other emptied row carrying a note points to its table."""
    value = "artif_ha"
    if value not in df.columns:
        return [""] * len(df)
    notes = df["note"].astype(str).replace("nan", "") if "note" in df.columns else pd.Series("", index=df.index)
    shares = _covered_shares(ctx, df)
    minimum = ctx.meta.get("min_coverage_pct") or ""
    out = []
    for empty, note, share in zip(df[value].isna(), notes, shares, strict=True):
        if not empty:
            out.append("")
        elif not np.isnan(share) and share < 100:
            out.append(fr.text("empty_reason", "coverage", covered=ff.fmt_unit(share, "pct"),
                               minimum=f"{ff.number(float(minimum), decimals=1)}\u202f%" if minimum else
                               "[raster].min_coverage"))
        elif note:
            out.append(fr.text("empty_reason", "other", table=table))
        else:
            out.append(fr.text("empty_reason", "unknown"))
    return out


def _covered_shares(ctx: ReportData, df: pd.DataFrame) -> list[float]:
    """Covered share (%) of each row: its ``covered_pct``, or for a flow the smaller of its two vintages'."""
    if "covered_pct" in df.columns:
        return [_f(v) for v in df["covered_pct"]]
    summ = ctx.tables.get("stock_summary")
    if "vintage_from" not in df.columns or summ is None or "covered_pct" not in summ.columns:
        return [float("nan")] * len(df)
    cov = {(str(m), int(v)): _f(c) for m, v, c in zip(summ.get("measure", pd.Series("", index=summ.index)),
                                                        summ["vintage"], summ["covered_pct"], strict=True)}
    ms = df["measure"] if "measure" in df.columns else pd.Series("", index=df.index)
    return [min(cov.get((str(m), int(a)), np.nan), cov.get((str(m), int(b)), np.nan))
            for m, a, b in zip(ms, df["vintage_from"], df["vintage_to"], strict=True)]


#: Parent levels naming a commune's département (first present in the membership wins).
DEPARTEMENT_LEVELS = ("dep", "departement")


def millesimes_by_departement(ctx: ReportData, ind: Indicators) -> None:
    """``millesimes``: for a territory spanning several départements, each département's OCS GE
    millésimes (stocks) and pairs (flows) actually used by its communes' rows."""
    if ctx.level == COMMUNE:
        return
    terr = ind.territories
    if not has_membership(terr):
        return
    codes = set(terr.members(ctx.level, ctx.code))
    dep, dep_level = _departement_of(terr, codes)
    if dep is None or dep.nunique() < 2:
        return
    rows = []
    summ, flows = ind.table("stock_summary"), ind.table("flows")
    own = [m for m in ctx.measures if m != "raster_proxy"]
    for d, members_ in dep.groupby(dep).groups.items():
        inside = set(members_)
        s = summ[(summ["level"] == COMMUNE) & summ["code"].isin(inside)] if len(summ) else summ
        f = flows[(flows["level"] == COMMUNE) & flows["code"].isin(inside)] if len(flows) else flows
        if "measure" in s.columns:
            s = s[s["measure"].isin(own)]
        if "measure" in f.columns:
            f = f[f["measure"].isin(own)]
        s = s[s["artif_ha"].notna()] if "artif_ha" in s.columns else s
        years = sorted({int(v) for v in s["vintage"]}) if "vintage" in s.columns else []
        pairs = sorted({(int(a), int(b)) for a, b in zip(f.get("vintage_from", []), f.get("vintage_to", []),
                                                          strict=True)})
        rows.append({"dep": str(d), "name": terr.name_of(dep_level, str(d)) if dep_level else str(d),
                     "n": len(inside), "vintages": ", ".join(map(str, years)) or "—",
                     "pairs": ", ".join(f"{a}–{b}" for a, b in pairs) or "—"})
    df = pd.DataFrame(rows).sort_values("dep", kind="mergesort")
    df["name"] = [n if n != d else "" for n, d in zip(df["name"], df["dep"], strict=True)]
    _view(ctx, "millesimes", [("dep", "text"), ("name", "text"), ("n", "int"), ("vintages", "text"),
                              ("pairs", "text")], df)
    if (df["name"] == "").all():
        ctx.views["millesimes"] = ctx.views["millesimes"].drop(columns=fr.text("view_column", "name"))
    ctx.headline["millesimes_by_dep"] = {r["dep"]: r["vintages"] for r in rows}


def _departement_of(terr: Any, codes: set[str]) -> tuple[pd.Series | None, str]:
    """Département of each member commune and the level it comes from: its ``dep`` parent in the
    membership, else the INSEE code's département part (2 characters, 3 overseas; level '');
    (None, '') when neither is known."""
    mem = terr.membership
    mem = mem[mem["code"].isin(codes)]
    for lvl in DEPARTEMENT_LEVELS:
        if lvl in mem.columns and mem[lvl].notna().all():
            return pd.Series(mem[lvl].astype(str).to_numpy(), index=mem["code"].to_numpy()), lvl
    insee = mem["code"].astype(str)
    if insee.empty or not insee.str.fullmatch(r"(\d{5}|2[AB]\d{3})").all():
        return None, ""
    return pd.Series([c[:3] if c.startswith("97") else c[:2] for c in insee], index=insee.to_numpy()), ""


def _flows_by_class(ctx: ReportData, changes: pd.DataFrame) -> None:
    """Artificialisation and imperméabilisation of the latest pair by couverture and by usage of
    arrival (R. 2231-1 2° and 3°, broken down), from the change polygons and their rule's flags."""
    need = {"artif_from", "artif_to", "imper_from", "imper_to", "cs_to", "us_to"}
    if not need <= set(changes.columns) or changes.empty:
        return
    last = changes[["vintage_from", "vintage_to"]].drop_duplicates().sort_values(["vintage_to", "vintage_from"]).iloc[-1]
    c = changes[(changes["vintage_from"] == last["vintage_from"]) & (changes["vintage_to"] == last["vintage_to"])]
    flag = {k: c[k].astype(str).str.lower() == "true" for k in ("artif_from", "artif_to", "imper_from", "imper_to")}
    c = c.assign(artif=np.where(~flag["artif_from"] & flag["artif_to"], c["area_ha"], 0.0),
                 imper=np.where(~flag["imper_from"] & flag["imper_to"], c["area_ha"], 0.0))
    period = f"{int(last['vintage_from'])}–{int(last['vintage_to'])}"
    _naf_split(ctx, c[c["artif"] > 0], period)
    for by, table, name in (("cs_to", couverture(), "flux_couverture"), ("us_to", usage(), "flux_usage")):
        g = c.groupby(by, as_index=False)[["artif", "imper"]].sum()
        g = g[(g["artif"] > 0) | (g["imper"] > 0)].sort_values("artif", ascending=False)
        if g.empty:
            continue
        labels = table.set_index("code")["label_short"]
        g["class_fr"] = [f"{plot.class_label(k)} {labels.get(k, '')}".strip() for k in g[by]]
        _view(ctx, name, [("class_fr", "text"), ("artif", "ha"), ("imper", "ha")], g, period=period)


def _raster_labels(stock: pd.DataFrame | None) -> dict[str, str]:
    """Raster class value → legend label (``10`` → ``Couvert arboré``); empty for OCS GE codes."""
    if stock is None or stock.empty or "cs_label" not in stock.columns or "source" not in stock.columns:
        return {}
    if not str(stock["source"].iloc[0]).startswith("raster"):
        return {}
    pairs = stock[["cs", "cs_label"]].dropna().drop_duplicates("cs")
    return {str(c): str(lab).split(" (")[0] for c, lab in zip(pairs["cs"], pairs["cs_label"], strict=True)}


def _naf_split(ctx: ReportData, new: pd.DataFrame, period: str) -> None:
    """Estimated natural / agricultural / forest split of the newly artificialised land, by its class
    at the first vintage (rules: ``ocsol/data/naf_split.csv``, first match wins; an estimate)."""
    from importlib import resources

    if new.empty:
        return
    with resources.files("ocsol").joinpath("data", "naf_split.csv").open(encoding="utf-8") as f:
        rules = pd.read_csv(f, dtype=str, keep_default_na=False)
    space = pd.Series("", index=new.index, dtype=object)
    for r in rules.itertuples(index=False):
        col = new["us_from" if r.field == "us" else "cs_from"].astype(str)
        hit = (space == "") & col.str.startswith(r.prefix)
        space[hit] = r.space
    g = new.assign(space=space).groupby("space")["artif"].sum()
    order = [s for s in ("naturel", "agricole", "forestier") if s in g.index]
    df = pd.DataFrame({"space": [s.capitalize() for s in order], "area_ha": [float(g[s]) for s in order]})
    df["share"] = df["area_ha"] / df["area_ha"].sum() * 100
    _view(ctx, "naf_ocsge", [("space", "text"), ("area_ha", "ha"), ("share", "pct")], df, period=period)


def _version_change(ctx: ReportData, a: int, b: int) -> str:
    versions = ctx.meta.get("raster_versions") or {}
    va, vb = versions.get(str(a)), versions.get(str(b))
    if va and vb and va != vb:
        return fr.text("version_change", "raster", vintages=f"{a} et {b}", versions=f"{md(va)} → {md(vb)}")
    return ""


def _stock_figure(stock: pd.DataFrame, by: str) -> pd.DataFrame:
    lab = f"{by}_label"
    keys = ["vintage", by] + ([lab] if lab in stock.columns else [])
    g = stock.groupby(keys, as_index=False, dropna=False)["area_ha"].sum()
    g = g.sort_values(["vintage", by]).reset_index(drop=True)
    source = str(stock["source"].iloc[0]) if "source" in stock.columns and len(stock) else ""
    if by == "cs" and source.startswith("raster:") and lab in g.columns:  # French name only, not "(Tree cover)"
        g[lab] = g[lab].astype(str).str.split(" (", n=1, regex=False).str[0]
    if by == "cs" and source.startswith("raster:"):  # raster classes: the legend's colours
        try:
            legend = load_legend(source.split(":", 1)[1])
            g["colour"] = g[by].map(dict(zip(legend["value"].astype(str), legend["colour"], strict=False)))
        except Exception as exc:  # a legend given as a path may not be readable here: default palette
            log.debug("no legend colours for %s: %s", source, exc)
    return g


# -- démographie et efficacité (SDG 11.3.1) ---------------------------------------------------------
def _efficiency_note(r: Any) -> str:
    p0, p1 = _f(r.population_start), _f(r.population_end)
    keys = []
    if np.isnan(_f(r.consumption_ha)):
        keys.append("no_consumption")
    if np.isnan(p0) or np.isnan(p1):
        keys.append("no_population")
    elif p1 < p0:
        keys.append("population_fell")
    elif p1 == p0:
        keys.append("population_stable")
    if np.isnan(_f(getattr(r, "lcr", np.nan))) and "no_population" not in keys:
        keys.append("no_stock")
    return " ; ".join(fr.text("efficiency_note", k) for k in keys)


def demography(ctx: ReportData) -> None:
    eff = ctx.tables.get("efficiency")
    if eff is None or eff.empty:
        _set(ctx, "demographie", False)
        return
    _set(ctx, "demographie", True)
    ctx.intros["demographie"] = fr.text("section_intro", "demographie")
    e = eff.sort_values(["period_start", "period_end"]).copy()
    e["period"] = [ff.period(a, b) for a, b in zip(e["period_start"], e["period_end"], strict=True)]
    e["note_fr"] = [_efficiency_note(r) for r in e.itertuples(index=False)]
    lines = []
    for r in e.itertuples(index=False):
        m2 = _f(r.m2_per_new_inhabitant)
        p0, p1 = _f(r.population_start), _f(r.population_end)
        text = (f"- {r.period} : {ff.fmt_unit(r.consumption_ha, 'ha')} consommés ; population "
                f"{ff.fmt(p0, 'int')} → {ff.fmt(p1, 'int')} habitants ({ff.number(p1 - p0, decimals=0, signed=True)})")
        if not np.isnan(m2):
            text += f", soit **{ff.fmt_unit(m2, 'm2')} par nouvel habitant**"
        elif r.note_fr:
            text += f" ; {r.note_fr}"
        lines.append(text)
    lines.append("\n*ODD 11.3.1 : rapport entre le taux de croissance de la surface artificialisée (LCR, "
                 "OCS GE) et le taux de croissance démographique (PGR) ; LCR = ln(Urb₂/Urb₁)/années, "
                 "PGR = ln(Pop₂/Pop₁)/années. Non interprétable quand la population baisse.*")
    ctx.texts["demographie"] = "\n".join(lines)
    cols = [("period", "text"), ("consumption_ha", "ha"), ("population_start", "int"),
            ("population_end", "int"), ("m2_per_new_inhabitant", "m2")]
    if "households_jobs_per_ha" in e.columns:
        cols.append(("households_jobs_per_ha", "ratio"))
    cols += [("lcr", "rate"), ("pgr", "rate"), ("lcrpgr", "ratio"), ("note_fr", "text")]
    _view(ctx, "demographie", cols, e)
