"""The context of one territory's report: every table sliced, French texts, section flags.

:func:`build_context` is the single call a report notebook makes. Everything a reader sees is
prepared here (and tested here), so the notebook only displays: ``ctx.md(section)`` (Markdown),
``ctx.table(name)`` (an HTML table in French format), ``ctx.plot(name)`` (an
:mod:`ocsol.plot` figure) and, last, ``ctx.save()`` (headline JSON, figure data CSV, XLSX).

A section whose data is absent for the territory is flagged unavailable
(``ctx.available[section]``) and its Markdown is one sentence saying so; its tables and plots
display nothing.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from .. import fr
from ..fr import format as ff
from ..territories import COMMUNE
from . import safe
from .loader import Indicators, indicators_from_config, load_indicators

log = logging.getLogger(__name__)

HEADLINE_FILE = "headline.json"
#: What each section shows, in order: ("md", text key), ("table", view), ("plot", figure).
SECTION_ITEMS: dict[str, list[tuple[str, str]]] = {
    "front": [("md", "front")],
    "identite": [("md", "identite")],
    "membres": [("md", "membres"), ("plot", "membres_part"), ("plot", "membres_ha"), ("table", "membres")],
    "consommation": [("md", "consommation"), ("plot", "consommation"), ("plot", "destinations"),
                     ("table", "consommation")],
    "zan": [("md", "zan"), ("plot", "trajectoire"), ("table", "zan")],
    "artificialisation": [("md", "artificialisation"), ("table", "mesures"), ("table", "stocks"), ("table", "flux"),
                          ("table", "flux_couverture"), ("table", "flux_usage"), ("table", "naf_ocsge"),
                          ("plot", "stock_couverture"), ("plot", "stock_usage"), ("plot", "transitions"),
                          ("plot", "carte"), ("table", "compte"), ("table", "millesimes")],
    "demographie": [("md", "demographie"), ("table", "demographie")],
    "comparaison": [("md", "comparaison"), ("plot", "comparaison"), ("table", "comparaison")],
    "raisons": [("md", "raisons")],
    "renaturation": [("md", "renaturation")],
    "objectifs": [("md", "objectifs")],
    "autres": [("md", "autres")],
    "fragmentation": [("md", "fragmentation"), ("table", "fragmentation"), ("table", "fragmentation_evolution")],
    "methodologie": [("md", "methodologie"), ("table", "provenance"), ("table", "regles"), ("table", "controles")],
    "annexe": [("md", "annexe"), ("table", "annexe")],
}
#: Alternative texts of the figures.
FIGURE_ALT = {
    "consommation": "Histogramme de la consommation annuelle d'espaces NAF par destination, en hectares",
    "destinations": "Diagramme circulaire de la consommation d'espaces NAF de la période par destination",
    "trajectoire": "Courbes de la consommation cumulée depuis le début de période, de sa projection et de "
                   "l'enveloppe autorisée jusqu'à la fin de la période, en hectares",
    "stock_couverture": "Barres des surfaces par couverture du sol et par millésime, en hectares",
    "stock_usage": "Barres des surfaces par usage du sol et par millésime, en hectares",
    "transitions": "Matrice des surfaces ayant changé de couverture entre deux millésimes, en hectares",
    "carte": "Carte des polygones d'artificialisation et de désartificialisation sur le territoire",
    "comparaison": "Barres comparant le territoire à des territoires de même niveau, avec la médiane",
    "membres_part": "Carte des communes membres colorées selon la consommation depuis le début de période "
                    "rapportée à leur surface",
    "membres_ha": "Carte des communes membres avec des cercles proportionnels à la consommation depuis le début "
                  "de période, en hectares",
}
#: Captions of the display tables.
VIEW_TITLES = {
    "membres": "Communes membres : référence, enveloppe, garantie et consommation",
    "consommation": "Consommation annuelle d'espaces NAF par destination",
    "zan": "Objectif de réduction : chiffres clés",
    "mesures": "Les mesures côte à côte : dernier stock et dernier flux de chacune",
    "millesimes": "Millésimes OCS GE utilisés, par département",
    "stocks": "Surfaces artificialisées et imperméabilisées par millésime",
    "flux": "Flux d'artificialisation et d'imperméabilisation entre millésimes",
    "flux_couverture": "Surfaces artificialisées et rendues imperméables, par couverture d'arrivée",
    "flux_usage": "Surfaces artificialisées et rendues imperméables, par usage d'arrivée",
    "naf_ocsge": "Estimation OCS GE : espaces naturels, agricoles ou forestiers artificialisés, selon leur "
                 "occupation au premier millésime (à rapprocher de la consommation d'ENAF du Cerema)",
    "compte": "Compte foncier par classe (entrées et sorties)",
    "demographie": "Démographie et efficacité de la consommation d'espace",
    "comparaison": "Comparaison avec des territoires de même niveau",
    "provenance": "Fichiers sources (empreinte SHA-256)",
    "regles": "Table de règles d'artificialisation et d'imperméabilisation appliquée",
    "controles": "Contrôles et corrections appliqués aux données du territoire",
    "annexe": "Nomenclature de l'article R. 101-1 du code de l'urbanisme",
    "fragmentation": "Taille effective de maille des espaces non artificialisés par millésime (hors obligation légale)",
    "fragmentation_evolution": "Évolution de la taille effective de maille entre millésimes (hors obligation légale)",
}


def level_label(level: str) -> str:
    """French label of a territory level (``epci`` → ``EPCI``)."""
    return fr.level_label(level)


@dataclass
class ReportContext:
    """Everything one territory's report shows, prepared and labelled in French.

    Attributes
    ----------
    level, code, name
        The territory.
    area_ha, n_communes
        Its area and number of communes (in the data).
    profile
        Its report profile (:mod:`ocsol.report.profiles`): the sections shown and their frame.
    tables
        Raw rows of every indicator table for this territory (``level, code`` columns kept).
    views, kinds
        Display tables (French headers with units, raw values) and, per column, the kind of
        figure that fixes its format (:data:`ocsol.fr.format.DECIMALS`).
    figures
        The data behind each figure (also written as CSV by :meth:`save`).
    texts, intros
        Markdown of each section, and the sentence under its heading.
    available, messages
        Section → whether it has data; section → the one-sentence notice when it has not.
    headline
        Key figures (raw numbers, :mod:`ocsol.report.headline`) written to ``headline.json``.
    synthetic, perimeter, verdict, texts_missing
        Honesty flags: synthetic inputs used, perimeter completeness, kind of verdict
        (``binding``, ``indicative``, ``none``), mandatory texts not supplied.
    """

    level: str
    code: str
    name: str
    area_ha: float
    n_communes: int
    parameters: dict[str, Any]
    profile: str = "rapport_local"
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    views: dict[str, pd.DataFrame] = field(default_factory=dict)
    kinds: dict[str, dict[str, str]] = field(default_factory=dict)
    figures: dict[str, pd.DataFrame] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    intros: dict[str, str] = field(default_factory=dict)
    available: dict[str, bool] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    headline: dict[str, Any] = field(default_factory=dict)
    synthetic: list[str] = field(default_factory=list)
    perimeter: dict[str, Any] = field(default_factory=dict)
    verdict: str = "none"
    texts_missing: list[str] = field(default_factory=list)
    measures: list[str] = field(default_factory=list)
    changes: Any = None
    outline: Any = None
    member_geometry: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    output: Path | None = None
    version: str = ""
    generated: str = ""
    _png: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def display_name(self) -> str:
        """The name, or ``Département 33`` when the data give no name but the code."""
        return self.name if self.name != self.code else f"{fr.level_label(self.level)} {self.code}"

    # -- the report, section by section (the notebook's one display call) ---------------------
    def outline_sections(self) -> list[tuple[int, str, str]]:
        """``(number, section, heading)`` of the sections shown, in the profile's order."""
        from .profiles import sections

        out = []
        for section, _mandatory in sections(self.profile):
            if self.available.get(section) is False and section in ("front", "membres", "annexe", "renaturation",
                                                                     "objectifs", "autres", "fragmentation"):
                continue
            out.append((len(out) + 1, section, fr.text("section", section)))
        return out

    def banner(self) -> str:
        """The synthetic-data banner sentence ('' when no input of this report is synthetic)."""
        if not self.synthetic:
            return ""
        parts = []
        ocs = sorted(int(p.split(":")[1]) for p in self.synthetic if p.startswith("ocsge:"))
        for p in self.synthetic:
            if p in ("territories", "raster", "all"):
                parts.append(fr.text("banner_part", p))
        if ocs:
            parts.append(fr.text("banner_part", "ocsge", vintages=", ".join(map(str, ocs))))
        return fr.text("banner", "synthetic", what=" et ".join(parts))

    def page_html(self) -> str:
        """Print styles (the territory name and page numbers in the footer, the synthetic banner in
        the header of every page) and the banner on screen, as HTML."""
        from .safe import escape

        text = self.banner()
        css = ("<style>@page { @bottom-left { content: " + _css_string(self.display_name)
               + "; font-size: 8pt; color: #5b6675; } "
               "@bottom-right { content: \"Page \" counter(page) \" / \" counter(pages); font-size: 8pt; "
               "color: #5b6675; }"
               + (" @top-center { content: " + _css_string(text) + "; font-size: 8pt; font-weight: bold; "
                  "color: #7a2b00; }" if text else "")
               + " }</style>")
        if text:
            css += f'<div class="ocsol-banner" role="note">{escape(text)}</div>'
        return css

    def show(self) -> None:
        """Display the whole report: banner, title, then each section of the profile."""
        from IPython.display import HTML, Markdown, display

        display(HTML(self.page_html()))
        display(Markdown(self.texts["titre"]))
        for number, section, heading in self.outline_sections():
            self.show_section(section, heading=f"{number}. {heading}")

    def show_section(self, section: str, *, heading: str | None = None) -> None:
        """Display one section: heading, intro and text in one block (the heading never ends a
        page alone), then its tables and figures (or its one-sentence notice)."""
        from IPython.display import Markdown, display

        from .profiles import CONTENT_OF

        content = CONTENT_OF.get(section, section)
        items = SECTION_ITEMS.get(content, [])
        head = [f"## {heading}"] if heading else []
        if self.intros.get(content):
            head.append(self.intros[content])
        rest = items
        if items and items[0][0] == "md":
            text = self.section_markdown(items[0][1])
            if text:
                head.append(text)
            rest = items[1:]
        if head:
            display(Markdown("\n\n".join(head)))
        for kind, name in rest:
            if kind == "md":
                self.md(name)
            elif kind == "table":
                self.table(name)
            else:
                self.plot(name)

    # -- display helpers (each shows its item, or nothing) -----------------------------------
    def md(self, section: str) -> None:
        """Show the Markdown text of a section (or its one-sentence "no data" notice)."""
        from IPython.display import Markdown, display

        text = self.section_markdown(section)
        if text:
            display(Markdown(text))

    def section_markdown(self, section: str) -> str:
        """Markdown of a section: its text, or the notice saying its data is absent."""
        if section in self.messages and not self.available.get(section, True):
            return f"*{self.messages[section]}*"
        if section == "occupation":
            section = "artificialisation"
        return self.texts.get(section, "")

    def table(self, name: str) -> None:
        """Show a display table as HTML in French format (nothing when absent)."""
        from IPython.display import HTML, display

        html = self.table_html(name)
        if html:
            display(HTML(html))

    def table_html(self, name: str) -> str:
        """HTML of a display table with its caption ('' when absent): text columns left-aligned,
        numbers right-aligned, every number in French format."""
        view = self.views.get(name)
        if view is None or view.empty:
            return ""
        return html_table(view, self.kinds.get(name, {}), caption=VIEW_TITLES.get(name), name=name)

    def plot(self, name: str, *, dpi: int = 96) -> None:
        """Draw a figure with :mod:`ocsol.plot`, show it as an embedded PNG and close it.

        The image carries an alternative text (accessibility) and is a data URI, so the exported
        page needs no file beside it. Nothing is shown when the figure's data is absent.
        """
        import base64

        from IPython.display import display

        png = self.figure_png(name, dpi=dpi)
        if png is None:
            return
        b64 = base64.b64encode(png).decode("ascii")
        img = safe.html('<img class="ocsol-figure" alt="{}" src="data:image/png;base64,{}">',
                        FIGURE_ALT.get(name, name), b64)
        display({"text/html": str(img),
                 "text/plain": f"[figure : {FIGURE_ALT.get(name, name)}]"}, raw=True)

    def figure_png(self, name: str, *, dpi: int = 96) -> bytes | None:
        """The PNG bytes of a figure (None when its data is absent); drawn once per context."""
        import io

        import matplotlib
        import matplotlib.pyplot as plt

        key = f"{name}@{dpi}"
        if key in self._png:
            return self._png[key]
        # A title at a fixed height: matplotlib otherwise measures every tick label at each draw to
        # lift the title above them, and no figure of the report has labels above its axes (the
        # same pixels, about a tenth of the drawing time saved).
        with matplotlib.rc_context({"axes.titley": 1.0}):
            ax = self.draw(name)
            if ax is None:
                return None
            buf = io.BytesIO()
            fig = ax.figure
            try:
                # figures made by ocsol.plot have fixed margins: no second layout pass (bbox_inches)
                fig.savefig(buf, format="png", dpi=dpi)
            finally:
                plt.close(fig)
        self._png[key] = buf.getvalue()
        return self._png[key]

    def draw(self, name: str, ax=None):
        """Draw a figure on ``ax`` (a new figure when None) and return the Axes, or None."""
        from .. import plot

        if name in ("membres_part", "membres_ha"):
            g = self.member_geometry
            if g is None or len(g) == 0:
                return None
            if name == "membres_part":
                return plot.members_map(g, value="used_share", kind="choropleth", ax=ax,
                                        label="Consommé depuis le début de période (% de la surface)")
            return plot.members_map(g, value="consumed_since_ha", kind="symbols", ax=ax, label="Consommé (ha)",
                                    title="Consommé depuis le début de période (ha)")
        data = self.figures.get(name)
        if data is None or data.empty:
            return None
        if name == "consommation":
            return plot.consumption_by_destination(data, ax=ax)
        if name == "destinations":
            return plot.destinations_pie(data, ax=ax)
        if name == "trajectoire":
            z = self.tables["zan"].iloc[0]
            return plot.zan_trajectory(data, reference_ha=float(z["reference_ha"]),
                                       reference_label=f"Référence {int(z['reference_start'])}-"
                                                       f"{int(z['reference_end']) + 1}", ax=ax,
                                       title=f"Consommation d'ENAF cumulée et enveloppe {int(z['period_start'])}-"
                                             f"{int(z['period_end']) + 1}")
        if name == "stock_couverture":
            return plot.stock_by_class(data, by="cs", ax=ax)
        if name == "stock_usage":
            return plot.stock_by_class(data, by="us", ax=ax)
        if name == "transitions":
            return plot.transition_matrix(data, ax=ax, labels=data.attrs.get("labels"))
        if name == "carte":
            return plot.change_map(self.changes, outline=self.outline, ax=ax)
        if name == "comparaison":
            return plot.neighbours_comparison(data, value="value", label=str(data.attrs.get("label", "")), ax=ax,
                                              title="Comparaison avec des territoires de même niveau")
        if name == "membres":
            return None
        raise KeyError(f"unknown figure {name!r}; figures are {', '.join(self.figures)}")

    # -- outputs -----------------------------------------------------------------------------
    def save(self, output: str | os.PathLike[str] | None = None, *, docx: bool = True) -> Path:
        """Write ``headline.json``, every figure's data as CSV, the tables as ``tableaux.xlsx`` and
        the editable ``rapport.docx``.

        Parameters
        ----------
        output
            Folder (default: the context's ``output``, else the current folder).
        docx
            Also write ``rapport.docx`` (same sections as the HTML).

        Returns
        -------
        Path
            The headline JSON file.
        """
        from ..io.write import write_csv, write_text, write_xlsx

        out = Path(output or self.output or ".")
        (out / "donnees").mkdir(parents=True, exist_ok=True)
        for name, df in self.figures.items():
            if df is not None and not df.empty:  # opened in spreadsheets: no formula from data
                write_csv(pd.DataFrame(df), out / "donnees" / f"figure_{name}.csv", spreadsheet=True)
        sheets = {name: v for name, v in self.views.items() if v is not None and not v.empty}
        if sheets:
            # strings as text cells, never formulas; numbers with the report's decimals
            write_xlsx(sheets, out / "tableaux.xlsx", formats=xlsx_formats(sheets, self.kinds))
        if docx:
            from .docx import write_docx

            write_docx(self, out / "rapport.docx")
        target = out / HEADLINE_FILE
        write_text(json.dumps(self.headline, ensure_ascii=False, indent=1, default=_json_default), target)
        return target


#: Excel number format of each kind of figure (same decimals as the report).
XLSX_FORMATS = {kind: ("#,##0" + ("." + "0" * d if d else "")) for kind, d in ff.DECIMALS.items()}
XLSX_FORMATS["signed"] = "+#,##0.00;-#,##0.00;0.00"
XLSX_FORMATS["year"] = "0"


def xlsx_formats(sheets: dict[str, pd.DataFrame], kinds: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Sheet → column → Excel number format, from the kinds of the report's columns."""
    return {name: {col: XLSX_FORMATS[k] for col, k in kinds.get(name, {}).items() if k in XLSX_FORMATS}
            for name in sheets}


def _css_string(text: str) -> str:
    """A CSS string literal that cannot close the string, the rule or the style element.

    >>> inner = _css_string('a "b" </style>')[1:-1]
    >>> '"' in inner or "<" in inner
    False
    """
    out = []
    for ch in text:
        out.append(ch if ch.isalnum() or ch in " -'.,:;()«»/_" and ch not in "<>" else f"\\{ord(ch):06X} ")
    return '"' + "".join(out) + '"'


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def html_table(view: pd.DataFrame, kinds: dict[str, str], *, caption: str | None = None, name: str = "") -> str:
    """A small, dependency-free HTML table of a view (faster and more controllable than Styler).

    Every cell is escaped (:func:`ocsol.report.safe.escape`); the page's markup is the literal
    template around them."""
    cls = ["t" if kinds.get(c, "text") in ("text", "bool") else "n" for c in view.columns]
    head = "".join(f'<th class="{k}">{safe.escape(c)}</th>' for c, k in zip(view.columns, cls, strict=True))
    rows = "".join("<tr>" + "".join(f'<td class="{k}">{safe.escape(v)}</td>' for v, k in zip(values, cls, strict=True))
                   + "</tr>" for values in format_cells(view, kinds))
    cap = f"<caption>{safe.escape(caption)}</caption>" if caption else ""
    return (f'<table class="ocsol-table ocsol-{safe.escape(name)}">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def format_cells(view: pd.DataFrame, kinds: dict[str, str]) -> list[tuple[str, ...]]:
    """The rows of a view as tuples of French-formatted strings (fixed decimals per kind).

    A missing number (NaN) is written « n.d. »; ``None`` in an object column means "does not
    apply" (the median's distance) and is left empty."""
    columns = []
    for col in view.columns:
        kind = kinds.get(col, "text")
        values = view[col].tolist()
        if kind == "text":
            columns.append(["" if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v) for v in values])
        else:
            columns.append(["" if v is None else ff.fmt(v, kind) for v in values])
    return list(zip(*columns, strict=True)) if columns else []


def format_table(view: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """A copy of a view with every number written in French format (fixed decimals per kind)."""
    return pd.DataFrame(format_cells(view, kinds), columns=view.columns, index=view.index, dtype=object)


def build_context(
    territory: str,
    level: str | None = None,
    *,
    config: str | None = None,
    indicators: str | None = None,
    output: str | None = None,
) -> ReportContext:
    """Prepare everything the report of one territory shows.

    Parameters
    ----------
    territory
        Code of the territory: INSEE code of a commune, SIREN of an EPCI, or the code of any
        unit of a parent level of the configuration.
    level
        Level of the territory (``commune``, ``epci``…); inferred when the code names one
        territory only.
    config
        An ``ocsol.toml``: the tables are computed from it (cached per process). Ignored when
        ``indicators`` is given. When both are None, the bundled sample is used.
    indicators
        A folder written by ``ocsol indicators`` / :func:`ocsol.report.compute_indicators`:
        the tables are read from it (the fast path of batches).
    output
        Folder where :meth:`ReportContext.save` writes the report's data files (default: the
        current folder).

    Returns
    -------
    ReportContext

    Raises
    ------
    TerritoryNotFoundError
        When the code names no territory, or several at different levels and no level is given.

    Examples
    --------
    >>> ctx = build_context("200046977")  # the bundled sample: Métropole de Lyon
    >>> ctx.level, ctx.profile, ctx.available["zan"]
    ('epci', 'rapport_local', True)
    >>> ctx.section_markdown("zan").splitlines()[0]
    '- Consommation de référence 2011-2021 (flux 2011 à 2020) : **827,75\\u202fha**'
    """
    from .. import __version__
    from . import sections

    ind = _indicators(config=config, indicators=indicators)
    lvl, code = ind.territories.find(str(territory), level)
    units = ind.table("territories")
    row = units[(units["level"] == lvl) & (units["code"] == code)].iloc[0]
    ctx = ReportContext(
        level=lvl, code=code, name=str(row.get("name") or code), area_ha=float(row["area_ha"]),
        n_communes=int(row.get("n_communes", 1) or 1),
        parameters={"territory": territory, "level": level, "config": config, "indicators": indicators,
                    "output": output},
        meta=dict(ind.meta), output=Path(output) if output else None, version=__version__,
        generated=date.today().isoformat(),
    )
    for name in ind.tables:
        if name in ("territories", "rule", "qa"):
            continue
        ctx.tables[name] = ind.slice(name, lvl, code)
    sections.build_all(ctx, ind)
    return ctx


def _indicators(*, config: str | None, indicators: str | None) -> Indicators:
    if indicators:
        return load_indicators(indicators)
    if config is None:
        from ..sample import sample_config

        config = str(sample_config("sample"))
        if not Path(config).is_file():  # the combined sample may not exist in older checkouts
            config = str(sample_config("lyon"))
    return indicators_from_config(config)


def save_headline(headline: dict[str, Any], path: str | os.PathLike[str] | None) -> Path | None:
    """Write key figures as JSON (a notebook's last cell; tests read it). No-op when ``path`` is None.

    Parameters
    ----------
    headline
        The figures (``ReportContext.headline``); dates, numpy numbers and NaN are converted.
    path
        The JSON file to write, or None.

    Returns
    -------
    Path or None
        The file written.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_headline({"territory": "Métropole de Lyon", "consumed_ha": 149.8944}, Path(tmp) / "headline.json")
    ...     text = path.read_text(encoding="utf-8")
    >>> print(text)
    {
     "territory": "Métropole de Lyon",
     "consumed_ha": 149.8944
    }
    """
    if path is None:
        return None
    from ..io.write import write_text

    target = Path(path)
    write_text(json.dumps(headline, ensure_ascii=False, indent=1, default=_json_default), target)
    return target


def read_headline(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The headline figures a report recorded (``headline.json`` in its folder).

    Parameters
    ----------
    folder
        A report folder (``reports/epci-200046977``).

    Returns
    -------
    dict
        The figures :func:`save_headline` wrote.

    Raises
    ------
    FileNotFoundError
        When the folder has no ``headline.json`` (no report was written there).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = save_headline({"territory": "Métropole de Lyon", "consumed_ha": 149.8944}, Path(tmp) / HEADLINE_FILE)
    ...     headline = read_headline(tmp)
    >>> headline["consumed_ha"]
    149.8944
    """
    return json.loads((Path(folder) / HEADLINE_FILE).read_text(encoding="utf-8"))


__all__ = ["ReportContext", "build_context", "read_headline", "save_headline", "level_label", "COMMUNE"]
