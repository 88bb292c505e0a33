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

from ..territories import COMMUNE
from . import format as fr
from . import safe
from .loader import Indicators, indicators_from_config, load_indicators

log = logging.getLogger(__name__)

SECTIONS = ("identite", "consommation", "zan", "artificialisation", "demographie", "comparaison",
            "methodologie")
LEVEL_LABELS = {"commune": "Commune", "epci": "EPCI", "scot": "SCoT", "dep": "Département",
                "departement": "Département", "region": "Région", "pays": "Pays", "zone": "Zone"}
HEADLINE_FILE = "headline.json"
#: Alternative texts of the figures.
FIGURE_ALT = {
    "consommation": "Histogramme de la consommation annuelle d'espaces NAF par destination, en hectares",
    "trajectoire": "Courbes de la consommation cumulée depuis le début de période, de sa projection et de "
                   "l'enveloppe autorisée, en hectares",
    "stock_couverture": "Barres des surfaces par couverture du sol et par millésime, en hectares",
    "stock_usage": "Barres des surfaces par usage du sol et par millésime, en hectares",
    "transitions": "Matrice des surfaces ayant changé de couverture entre deux millésimes, en hectares",
    "carte": "Carte des polygones d'artificialisation et de désartificialisation sur le territoire",
    "comparaison": "Barres comparant le territoire à ses voisins de même niveau, avec la médiane",
}
#: Captions of the display tables.
VIEW_TITLES = {
    "communes": "Communes du territoire",
    "consommation": "Consommation annuelle d'espaces NAF par destination",
    "zan": "Trajectoire ZAN : chiffres clés",
    "stocks": "Surfaces artificialisées et imperméabilisées par millésime",
    "flux": "Flux d'artificialisation et d'imperméabilisation entre millésimes",
    "compte": "Compte foncier par classe (entrées et sorties)",
    "demographie": "Démographie et efficacité de la consommation d'espace",
    "comparaison": "Comparaison avec les territoires voisins",
    "provenance": "Fichiers sources (empreinte SHA-256)",
    "regles": "Table de règles d'artificialisation et d'imperméabilisation",
    "controles": "Contrôles et corrections appliqués aux données",
}


def level_label(level: str) -> str:
    """French label of a territory level (``epci`` → ``EPCI``)."""
    return LEVEL_LABELS.get(level, level.replace("_", " ").capitalize())


@dataclass
class ReportContext:
    """Everything one territory's report shows, prepared and labelled in French.

    Attributes
    ----------
    level, code, name
        The territory.
    area_ha, n_communes
        Its area and number of communes.
    tables
        Raw rows of every indicator table for this territory (``level, code`` columns kept).
    views
        Display tables: French column headers (units in the headers), raw values.
    kinds
        For each view, column → kind (``ha``, ``pct``, ``int``, ``text``…) driving the French format.
    figures
        The data behind each figure (also written as CSV by :meth:`save`).
    texts
        Markdown of each section.
    available, messages
        Section → whether it has data; section → the one-sentence notice when it has not.
    headline
        Key figures (raw numbers) written to ``headline.json``.
    """

    level: str
    code: str
    name: str
    area_ha: float
    n_communes: int
    parameters: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    views: dict[str, pd.DataFrame] = field(default_factory=dict)
    kinds: dict[str, dict[str, str]] = field(default_factory=dict)
    figures: dict[str, pd.DataFrame] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    available: dict[str, bool] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    headline: dict[str, Any] = field(default_factory=dict)
    changes: Any = None
    outline: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    output: Path | None = None
    version: str = ""
    generated: str = ""

    # -- display helpers (used by the notebook: each shows its item, or nothing) ----------------
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
        """The PNG bytes of a figure (None when its data is absent)."""
        import io

        import matplotlib.pyplot as plt

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
        return buf.getvalue()

    def draw(self, name: str, ax=None):
        """Draw a figure on ``ax`` (a new figure when None) and return the Axes, or None."""
        from .. import plot

        data = self.figures.get(name)
        if data is None or data.empty:
            return None
        if name == "consommation":
            return plot.consumption_by_destination(data, ax=ax)
        if name == "trajectoire":
            z = self.tables["zan"].iloc[0]
            return plot.zan_trajectory(data, reference_ha=float(z["reference_ha"]),
                                       reference_label=f"Référence {fr.period(z['reference_start'], z['reference_end'])}",
                                       ax=ax)
        if name == "stock_couverture":
            return plot.stock_by_class(data, by="cs", ax=ax)
        if name == "stock_usage":
            return plot.stock_by_class(data, by="us", ax=ax)
        if name == "transitions":
            return plot.transition_matrix(data, ax=ax)
        if name == "carte":
            return plot.change_map(self.changes, outline=self.outline, ax=ax)
        if name == "comparaison":
            return plot.neighbours_comparison(data, value="value", label=str(data.attrs.get("label", "")), ax=ax)
        raise KeyError(f"unknown figure {name!r}; figures are {', '.join(self.figures)}")

    # -- outputs -----------------------------------------------------------------------------
    def save(self, output: str | os.PathLike[str] | None = None) -> Path:
        """Write ``headline.json``, every figure's data as CSV and the tables as ``tableaux.xlsx``.

        Parameters
        ----------
        output
            Folder (default: the context's ``output``, else the current folder).

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
            write_xlsx(sheets, out / "tableaux.xlsx")  # strings as text cells, never formulas
        target = out / HEADLINE_FILE
        write_text(json.dumps(self.headline, ensure_ascii=False, indent=1, default=_json_default), target)
        return target


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def html_table(view: pd.DataFrame, kinds: dict[str, str], *, caption: str | None = None, name: str = "") -> str:
    """A small, dependency-free HTML table of a view (faster and more controllable than Styler)."""
    cells = format_table(view, kinds)
    cls = ["t" if kinds.get(c, "text") in ("text", "bool") else "n" for c in view.columns]
    head = safe.join(safe.html('<th class="{}">{}</th>', k, c) for c, k in zip(view.columns, cls, strict=True))
    rows = safe.join(safe.html("<tr>{}</tr>", safe.join(safe.html('<td class="{}">{}</td>', k, v)
                                                        for v, k in zip(values, cls, strict=True)))
                     for values in cells.itertuples(index=False))
    cap = safe.html("<caption>{}</caption>", caption) if caption else ""
    return str(safe.html('<table class="ocsol-table ocsol-{}">{}<thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
                         name, cap, head, rows))


def format_table(view: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """A copy of a view with every number written in French format."""
    out = pd.DataFrame(index=view.index)
    for col in view.columns:
        kind = kinds.get(col, "text")
        s = view[col]
        if kind == "ha" or kind == "num1":
            out[col] = [fr.number(v, decimals=1) for v in s]
        elif kind == "ha2":
            out[col] = [fr.number(v, decimals=2) for v in s]
        elif kind == "signed":
            out[col] = [fr.number(v, decimals=1, signed=True) for v in s]
        elif kind == "pct":
            out[col] = [fr.number(v, decimals=1) for v in s]
        elif kind == "pct2":
            out[col] = [fr.number(v, decimals=2) for v in s]
        elif kind == "int":
            out[col] = [fr.integer(v) for v in s]
        elif kind == "year":
            out[col] = [fr.year(v) for v in s]
        elif kind == "rate":
            out[col] = [fr.number(v, decimals=4) for v in s]
        elif kind == "bool":
            out[col] = ["oui" if (v is True or str(v).lower() == "true") else "non" for v in s]
        else:
            out[col] = ["" if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v) for v in s]
    return out


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
    >>> import tempfile
    >>> from ocsol.report.synthetic import write_synthetic_indicators
    >>> folder = write_synthetic_indicators(tempfile.mkdtemp(), n_communes=3, n_epci=1, geometry=False)
    >>> ctx = build_context("999000001", indicators=str(folder))
    >>> ctx.level, ctx.n_communes, ctx.available["zan"]
    ('epci', 3, True)
    >>> ctx.section_markdown("zan").splitlines()[0].startswith("- Consommation de référence 2011–2020")
    True
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
    """Write key figures as JSON (a notebook's last cell; tests read it). No-op when ``path`` is None."""
    if path is None:
        return None
    from ..io.write import write_text

    target = Path(path)
    write_text(json.dumps(headline, ensure_ascii=False, indent=1, default=_json_default), target)
    return target


def read_headline(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The headline figures a report recorded (``headline.json`` in its folder)."""
    return json.loads((Path(folder) / HEADLINE_FILE).read_text(encoding="utf-8"))


__all__ = ["ReportContext", "build_context", "read_headline", "save_headline", "level_label", "SECTIONS", "COMMUNE"]
