"""Front matter, the territory's own editable texts, the R. 101-1 annex, and safe Markdown.

Texts per territory come from Markdown files (``[report].texts = "textes/{level}-{code}.md"``),
one section per first-level heading named by its key::

    # raisons
    La zone d'activités des Grands Champs (12 ha, 2022) …

    # renaturation
    …

Keys: ``raisons`` (mandatory in the CGCT profiles: a missing text is a visible placeholder and a
flag in ``index.html``), ``renaturation``, ``objectifs``, ``autres`` (optional: absent = section
left out). User text is data: raw HTML shows as text and only web links are links
(:func:`ocsol.report.safe.markdown_html`); other user strings (names, codes, file names) go
through :func:`ocsol.report.safe.md` and show literally.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .. import fr
from ..errors import InputFileError
from .data import ReportData
from .measures import vintages_used
from .profiles import TEXT_SECTIONS, sections
from .safe import md

_HEADING = re.compile(r"^#{1,2}\s+(\S+)\s*$")


def _user_block(text: str) -> str:
    """A user's Markdown section: its own Markdown (bold, lists, web links) kept, headings demoted to
    bold lines (the report's numbering stays). The report's Markdown renderer
    (:func:`ocsol.report.safe.markdown_html`) shows any raw HTML and any non-web link as text."""
    out = []
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("#"):
            out.append(f"**{stripped.lstrip('#').strip()}**")
        else:
            out.append(line)
    return "\n".join(out).strip()


def read_texts(path: str | Path) -> dict[str, str]:
    """Sections of a territory's Markdown file: key → text (keys of :data:`TEXT_SECTIONS`).

    Raises
    ------
    InputFileError
        When the file is not UTF-8 or holds a first-level heading that is not a known key.
    """
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{p}: not UTF-8 text ({exc.reason}); save the file as UTF-8") from None
    out: dict[str, list[str]] = {}
    current: str | None = None
    for line in raw.splitlines():
        m = _HEADING.match(line)
        if m and line.startswith("#") and not line.startswith("###"):
            key = m.group(1).lower()
            if key not in TEXT_SECTIONS:
                raise InputFileError(f"{p}: unknown section heading {line.strip()!r}; use "
                                     + ", ".join(f"'# {k}'" for k in TEXT_SECTIONS))
            current = key
            out.setdefault(key, [])
            continue
        if current is not None:
            out[current].append(line)
    return {k: "\n".join(v).strip() for k, v in out.items() if "\n".join(v).strip()}


def texts_path(ctx: ReportData) -> Path | None:
    template = ctx.meta.get("report_texts")
    if not template:
        return None
    return Path(str(template).format(level=ctx.level, code=ctx.code))


def user_texts(ctx: ReportData) -> None:
    """Fill ``raisons``, ``renaturation``, ``objectifs``, ``autres`` from the territory's file."""
    path = texts_path(ctx)
    given = read_texts(path) if path is not None and path.is_file() else {}
    shown_path = path.name if path is not None else "[report].texts"
    for section, mandatory in sections(ctx.profile):
        if section not in TEXT_SECTIONS:
            continue
        if section in given:
            ctx.texts[section] = _user_block(given[section])
            ctx.available[section] = True
        elif mandatory:
            ctx.texts[section] = ("> **Texte à fournir.** "
                                  + fr.text("placeholder", section, path=md(shown_path)))
            ctx.available[section] = True
            ctx.texts_missing.append(section)
        else:
            ctx.available[section] = False  # optional and absent: the section is left out


def front_matter(ctx: ReportData) -> None:
    """The « Objet du rapport » section: period, year, data millésimes, who, debate, transmission."""
    if "front" not in [s for s, _ in sections(ctx.profile)]:
        ctx.available["front"] = False
        return
    ctx.available["front"] = True
    period = ctx.meta.get("report_period")
    cons = ctx.tables.get("consumption")
    if period:
        years = f"{int(period[0])} à {int(period[1])}"
    elif cons is not None and len(cons):
        z = ctx.tables.get("zan")
        first = int(z["reference_start"].iloc[0]) if z is not None and len(z) else int(cons["year"].min())
        years = f"{max(first, int(cons['year'].min()))} à {int(cons['year'].max())}"
    else:
        vint = vintages_used(ctx.tables)
        years = f"{min(vint)} à {max(vint)}" if vint else "non précisées ([report].period)"
    year = ctx.meta.get("report_year") or int(ctx.generated[:4])
    lines = [fr.text("front", "object", years=years), "",
             f"- {fr.text('front', 'year', year=year)}",
             f"- {fr.text('front', 'period_note', years=years)}",
             f"- {fr.text('front', 'vintages', vintages=_vintages(ctx))}"]
    if ctx.profile == "bilan_scot":
        lines.append(f"- {fr.text('front', 'scot')}")
    else:
        lines.append(f"- {fr.text('front', 'who_rnu' if ctx.profile == 'rnu_ddt' else 'who_local')}")
        if ctx.profile != "rnu_ddt":  # the council's debate and vote: communes and EPCI with a document
            lines.append(f"- {fr.text('front', 'debate')}")
            lines.append(f"- {fr.text('front', 'transmit')}")
        lines.append(f"- {fr.text('front', 'content')}")
    if ctx.meta.get("author"):
        lines.append(f"- {fr.text('front', 'author', author=md(ctx.meta['author']))}")
    if ctx.meta.get("report_previous"):
        lines.append(f"- {fr.text('front', 'previous', previous=md(ctx.meta['report_previous']))}")
    ctx.texts["front"] = "\n".join(lines)


def _vintages(ctx: ReportData) -> str:
    parts = []
    cons = ctx.tables.get("consumption")
    if cons is not None and len(cons):
        parts.append(f"fichiers fonciers du Cerema, flux {int(cons['year'].min())} à {int(cons['year'].max())}")
    for raster in (False, True):  # OCS GE and raster millésimes apart (a zone may have both)
        rows = {}
        for name in ("stock_summary", "flows"):
            t = ctx.tables.get(name)
            if t is not None and len(t):
                src = t["source"].astype(str).str.startswith("raster") if "source" in t.columns else \
                    pd.Series(False, index=t.index)
                rows[name] = t[src == raster]
        years = vintages_used(rows)
        if years:
            parts.append(("carte raster" if raster else "OCS GE") + " " + ", ".join(map(str, sorted(years))))
    return " ; ".join(parts) if parts else "aucune"


def annex(ctx: ReportData) -> None:
    """The R. 101-1 nomenclature as an annex table (profiles that have the ``annexe`` section)."""
    if "annexe" not in [s for s, _ in sections(ctx.profile)]:
        ctx.available["annexe"] = False
        return
    from importlib import resources

    ctx.available["annexe"] = True
    path = resources.files("ocsol.fr").joinpath("nomenclature_r101_1.csv")
    with path.open(encoding="utf-8") as f:
        table = pd.read_csv(f, dtype=str)
    ctx.views["annexe"] = table.rename(columns={"categorie": "Catégorie", "statut": "Statut",
                                                "description": "Surfaces", "seuil": "Seuil de référence"})
    ctx.kinds["annexe"] = {}
    ctx.texts["annexe"] = ("Nomenclature annexée à l'article R. 101-1 du code de l'urbanisme (décret n° 2023-1096 "
                           "du 27 novembre 2023), résumée ; les surfaces sont qualifiées selon l'occupation effective "
                           "du sol observée.")
