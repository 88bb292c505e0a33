"""The methodology section: the measures' notes, the rule table applied, the input files that
matter to this territory, and its QA rows (``qa.csv``) worded in French.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import fr
from ..fr import format as ff
from ..territories import COMMUNE
from .data import ReportData
from .loader import Indicators, has_membership
from .measures import vintages_used
from .safe import md
from .views import add_view, measure_params, to_float


# -- méthodologie et provenance -----------------------------------------------------------------------
def _relevant_topics(ctx: ReportData) -> set[str]:
    topics = {"territories"}
    if ctx.tables.get("consumption") is not None and len(ctx.tables["consumption"]):
        topics |= {"consumption_qa", "cog_qa", "population"}
    land = [m for m in getattr(ctx, "measures", [])]
    if any(m != "raster_proxy" for m in land):
        topics.add("ocsge")
    if "raster_proxy" in land:
        topics.add("raster")
    if "decret_thresholds" in land:
        topics.add("thresholds")
    if ctx.available.get("fragmentation"):
        topics.add("fragmentation")
    return topics


def qa_rows(ctx: ReportData, qa: pd.DataFrame, members_codes: set[str]) -> pd.DataFrame:
    """The QA rows that concern this territory, in French: ``topic_fr, item_fr, count, where``."""
    if qa is None or qa.empty or "key" not in qa.columns:
        return pd.DataFrame(columns=["topic_fr", "item_fr", "count", "where"])
    topics = _relevant_topics(ctx)
    used = vintages_used(ctx.tables)
    rows = []
    for r in qa.itertuples(index=False):
        key = str(r.key)
        if fr.has("qa_run", key) or str(r.topic) not in topics:
            continue
        params = json.loads(r.params) if isinstance(r.params, str) and r.params else {}
        years = {int(params[k]) for k in ("y1", "y2", "vintage") if k in params and str(params[k]).isdigit()}
        if years and not years & used:
            continue
        codes = [c for c in str(r.codes or "").split(";") if c and c != "nan"]
        count: Any = r.count
        where = str(r.files or "").replace(";", ", ") if str(r.files or "") != "nan" else ""
        if codes:
            concerned = [c for c in codes if c in members_codes]
            if not concerned:
                continue
            if set(codes) - set(concerned):
                count = len(concerned)
            where = ", ".join(concerned[:10]) + (" …" if len(concerned) > 10 else "")
        safe = {k: str(v) for k, v in params.items()}
        words = fr.text("qa", key, **safe) if fr.has("qa", key) else fr.text("qa_other", "", topic=str(r.topic))
        rows.append({"topic_fr": fr.text("qa_topic", str(r.topic), default=str(r.topic)), "item_fr": words,
                     "count": "" if count is None or str(count) in ("nan", "") else ff.number(count, decimals=_dec(count)),
                     "where": where})
    return pd.DataFrame(rows, columns=["topic_fr", "item_fr", "count", "where"])


def _dec(value: Any) -> int:
    v = to_float(value)
    return 0 if np.isnan(v) or float(v).is_integer() else 2


def methodology(ctx: ReportData, ind: Indicators) -> None:
    ctx.available["methodologie"] = True
    terr = ind.territories
    member_codes = set(terr.members(ctx.level, ctx.code)) if (ctx.level == COMMUNE or has_membership(terr)) \
        else {ctx.code}
    member_codes.add(ctx.code)
    prov = ind.provenance.copy()
    if len(prov):
        prov["file"] = [Path(str(p)).name for p in prov["path"]]
        prov = prov[[_role_relevant(ctx, str(r)) for r in prov["role"]]]
        prov["role_fr"] = [_role_fr(str(r)) for r in prov["role"]]
        add_view(ctx, "provenance", [("role_fr", "text"), ("file", "text"), ("sha256", "text"),
                                     ("modified", "text"), ("size", "int")], prov)
    rule = ind.table("rule")
    measures = getattr(ctx, "measures", [])
    if len(rule) and "cs" in rule.columns and any(m in ("decret_matrix", "custom_rule") for m in measures):
        applied = _rules_used(ctx)
        r = rule[rule["rule"].astype(str).isin(applied)] if "rule" in rule.columns and applied else rule
        r = r.assign(rule_file=[Path(str(x)).name for x in r.get("rule", pd.Series([""] * len(r)))],
                     artif_fr=r["artif"], imper_fr=r["imper"])
        add_view(ctx, "regles", [("rule_file", "text"), ("cs", "text"), ("us", "text"), ("artif_fr", "bool"),
                                 ("imper_fr", "bool"), ("category", "text"), ("note", "text")], r)
    qa = qa_rows(ctx, ind.table("qa"), member_codes)
    if len(qa):
        add_view(ctx, "controles", [("topic_fr", "text"), ("item_fr", "text"), ("count", "text"),
                                    ("where", "text")], qa)
    lines = [f"Rapport produit le {ctx.generated} avec **ocsol {ctx.version}** à partir de "
             f"« {md(Path(ind.source).name or ind.source)} »."]
    if ctx.tables.get("consumption") is not None and len(ctx.tables["consumption"]):
        lines.append("- Consommation d'espaces NAF : fichiers fonciers du Cerema, flux annuels au 1er janvier ; les "
                     "territoires supra-communaux sont la somme de leurs communes.")
    if ctx.tables.get("zan") is not None and len(ctx.tables["zan"]):
        lines.append("- Objectifs (loi Climat et résilience, art. 191 et 194) : enveloppe = référence × (1 − objectif) ; "
                     "une appréciation n'est portée que face à un objectif opposable, sinon la comparaison est "
                     "indicative ; projection = rythme observé × nombre d'années de la période.")
    for m in measures:
        lines.append("- " + fr.text("measure_note", m, default=md(m), **measure_params(ctx, ctx.tables.get("flows"))))
    if "ocsge" in _relevant_topics(ctx):
        lines.append("- Imperméabilisation : zones bâties (CS1.1.1.1) et zones non bâties imperméables (CS1.1.1.2).")
    lines.append("- Les fichiers sources sont identifiés par leur empreinte SHA-256 : un même fichier donne les "
                 "mêmes chiffres.")
    ctx.texts["methodologie"] = "\n".join(lines)


def _rules_used(ctx: ReportData) -> set[str]:
    out: set[str] = set()
    for name in ("stock_summary", "flows"):
        t = ctx.tables.get(name)
        if t is not None and len(t) and "rule_name" in t.columns:
            out |= {str(x) for x in t["rule_name"] if str(x)}
    return out


def _role_relevant(ctx: ReportData, role: str) -> bool:
    head, _, rest = role.partition(" ")
    years = [int(y) for y in re.findall(r"\d{4}", rest)]
    if head in ("ocsge", "raster", "rule"):
        ocs = [m for m in ctx.measures if m != "raster_proxy"] if head != "raster" else \
            [m for m in ctx.measures if m == "raster_proxy"]
        if not ocs:
            return False
        return not years or bool(set(years) & vintages_used(ctx.tables))
    if head in ("consumption", "population", "households", "jobs", "zan"):
        return ctx.tables.get("consumption") is not None and len(ctx.tables["consumption"]) > 0
    return True


def _role_fr(role: str) -> str:
    head, _, rest = role.partition(" ")
    rest = rest.replace("diff ", "changements ")
    return fr.text("provenance_role", head, default=head) + (f" {rest}" if rest else "")
