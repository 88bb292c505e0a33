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
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from .. import fr
from .._version import __version__
from ..fr import format as ff
from ..io.write import write_csv, write_text, write_xlsx
from ..sample import sample_config
from ..territories import COMMUNE
from . import safe, sections
from .data import ReportData
from .docx import write_docx
from .layout import FIGURE_ALT, SECTION_ITEMS
from .loader import Indicators, indicators_from_config, load_indicators
from .profiles import CONTENT_OF
from .safe import escape

log = logging.getLogger(__name__)

HEADLINE_FILE = "headline.json"


def level_label(level: str) -> str:
    """French label of a territory level (``epci`` → ``EPCI``)."""
    return fr.level_label(level)


@dataclass
class ReportContext(ReportData):
    """Everything one territory's report shows, prepared and labelled in French (the notebook's
    object): the data and renderings of :class:`~ocsol.report.data.ReportData`, plus the display
    in a notebook and the files written beside the report (:meth:`save`).

    Examples
    --------
    The context of the Métropole de Lyon's report (bundled sample): its ZAN facts table, as shown.

    >>> from ocsol.report import build_context
    >>> ctx = build_context("200046977")
    >>> type(ctx).__name__, ctx.level, ctx.code
    ('ReportContext', 'epci', '200046977')
    >>> ctx.views["zan"].iloc[1].tolist()
    ['Objectif de réduction (%)', '50,0']"""

    def page_html(self) -> str:
        """Print styles (the territory name and page numbers in the footer, the synthetic banner in
        the header of every page) and the banner on screen, as HTML."""
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

    def table(self, name: str) -> None:
        """Show a display table as HTML in French format (nothing when absent)."""
        from IPython.display import HTML, display

        html = self.table_html(name)
        if html:
            display(HTML(html))

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
