"""The fragmentation section: effective mesh size of the non-artificial land — beyond the law.

Shown only when the run computed ``fragmentation.csv`` (a ``[fragmentation]`` section) and the
territory has rows in it, in the profiles whose ``report_profiles.csv`` lists it (every profile
but ``rnu_ddt``). It is labelled, in its heading and its first sentence, as an indicator outside
the legal obligation (R. 2231-1 CGCT asks for none), and names the barriers used. Figures come
from ``fragmentation.csv`` and ``fragmentation_change.csv`` (:mod:`ocsol.fragmentation`); words
from the catalogue (:mod:`ocsol.fr`, groups ``fragmentation*``).
"""

from __future__ import annotations

from .. import fr
from ..fr import format as ff
from .data import ReportData
from .safe import md
from .views import add_view as _view

SECTION = "fragmentation"


def _barrier_words(ctx: ReportData, barrier: str) -> str:
    """« surfaces artificialisées selon la matrice du décret » + the linear layers, if any."""
    words = fr.text("fragmentation_barrier", barrier, default=md(barrier))
    frag = ctx.meta.get("fragmentation") or {}
    lines = [str(x) for x in (frag.get("lines") or [])]
    if lines:
        words += fr.text("fragmentation_barrier", "lines", files=md(", ".join(lines)),
                         buffer=ff.number(frag.get("buffer_m"), decimals=1))
    return words


def fragmentation(ctx: ReportData) -> None:
    """Fill the section from the territory's ``fragmentation`` and ``fragmentation_change`` rows."""
    table = ctx.tables.get("fragmentation")
    if table is None or table.empty:
        ctx.available[SECTION] = False
        return
    ctx.available[SECTION] = True
    ctx.intros[SECTION] = fr.text("section_intro", SECTION)
    table = table.sort_values(["barrier", "vintage"], kind="mergesort")
    change = ctx.tables.get("fragmentation_change")
    lines: list[str] = []
    for barrier, rows in table.groupby("barrier", sort=False):
        last = rows.iloc[-1]
        lines.append(fr.text("fragmentation", "barriers", barriers=_barrier_words(ctx, str(barrier))))
        lines.append(fr.text("fragmentation", "latest", vintage=int(last["vintage"]),
                             cbc=ff.fmt_unit(last["meff_cbc_km2"], "km2"),
                             density=ff.fmt(last["seff_per_1000km2"], "mesh"),
                             cut=ff.fmt_unit(last["meff_km2"], "km2")))
        ch = change[change["barrier"] == barrier] if change is not None and len(change) else None
        if ch is not None and len(ch):
            c = ch.sort_values(["vintage_to", "vintage_from"], kind="mergesort").iloc[-1]
            lines.append(fr.text("fragmentation", "change", vintage_from=int(c["vintage_from"]),
                                 vintage_to=int(c["vintage_to"]),
                                 cbc=ff.fmt_unit(c["meff_cbc_change_km2"], "signed_km2"),
                                 pct=ff.fmt_unit(c["meff_cbc_change_pct"], "signed_pct"),
                                 density=ff.fmt(c["seff_change_per_1000km2"], "signed_mesh")))
        else:
            lines.append(fr.text("fragmentation", "one_vintage"))
    lines.append("*" + fr.text("fragmentation", "note") + "*")
    ctx.texts[SECTION] = "\n\n".join(lines)
    shown = table.assign(barrier_fr=[fr.text("fragmentation_short", b, default=md(str(b))) for b in table["barrier"]])
    several = shown["barrier"].nunique() > 1
    _view(ctx, "fragmentation", [("vintage", "year")]
          + ([("barrier_fr", "text")] if several else [])
          + [("meff_km2", "km2"), ("meff_cbc_km2", "km2"), ("seff_per_1000km2", "mesh")], shown)
    if change is not None and len(change):
        ch = change.sort_values(["barrier", "vintage_from", "vintage_to"], kind="mergesort").copy()
        ch["period"] = [f"{int(a)}–{int(b)}" for a, b in zip(ch["vintage_from"], ch["vintage_to"], strict=True)]
        ch["barrier_fr"] = [fr.text("fragmentation_short", b, default=md(str(b))) for b in ch["barrier"]]
        _view(ctx, "fragmentation_evolution", [("period", "text")]
              + ([("barrier_fr", "text")] if several else [])
              + [("meff_change_km2", "signed_km2"), ("meff_cbc_change_km2", "signed_km2"),
                 ("meff_cbc_change_pct", "signed_pct"), ("seff_change_per_1000km2", "signed_mesh")], ch)
