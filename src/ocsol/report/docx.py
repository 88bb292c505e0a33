"""``rapport.docx``: the same report as the HTML, editable in Word or LibreOffice.

Built with python-docx from the same context and the same section outline as the notebook
(:meth:`ocsol.report.context.ReportContext.outline_sections`), so headings are identical; real
heading styles (``Heading 1``), list and quote styles, tables and figures, no manual formatting.
The synthetic-data banner sits in the page header (every page); the footer names the territory
and numbers the pages.
"""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..io.write import write_zip
from .data import ReportData
from .layout import SECTION_ITEMS, VIEW_TITLES, format_cells
from .profiles import CONTENT_OF

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ESCAPED = re.compile(r"\\([\[\]`*_#\\])")


def _plain(text: str) -> str:
    """Markdown-escaped text back to what the reader sees."""
    return html.unescape(_ESCAPED.sub(r"\1", text))


def _runs(paragraph: Any, text: str, *, italic: bool = False) -> None:
    """Add ``text`` to a paragraph, ``**bold**`` parts as bold runs."""
    pos = 0
    for m in _BOLD.finditer(text):
        if m.start() > pos:
            paragraph.add_run(_plain(text[pos:m.start()])).italic = italic or None
        run = paragraph.add_run(_plain(m.group(1)))
        run.bold = True
        run.italic = italic or None
        pos = m.end()
    if pos < len(text):
        paragraph.add_run(_plain(text[pos:])).italic = italic or None


def add_markdown(doc: Any, text: str) -> None:
    """The Markdown subset the report writes: paragraphs, ``- `` lists, ``> `` quotes, bold, italic lines."""
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        if all(ln.lstrip().startswith("- ") for ln in lines):
            for ln in lines:
                _md_line(doc, ln.lstrip()[2:], style="List Bullet")
            continue
        if lines[0].startswith(">"):
            _md_line(doc, " ".join(ln.lstrip("> ").strip() for ln in lines), style="Quote")
            continue
        if lines[0].startswith("# "):
            continue  # the title is written separately
        for ln in lines:
            if ln.lstrip().startswith("- "):
                _md_line(doc, ln.lstrip()[2:], style="List Bullet")
            else:
                _md_line(doc, ln)


def _style(doc: Any, name: str | None) -> Any:
    """A style object, looked up once per document (python-docx's lookup by name is slow)."""
    if name is None:
        return None
    cache = doc.__dict__.setdefault("_ocsol_styles", {})
    if name not in cache:
        cache[name] = doc.styles[name]
    return cache[name]


def _md_line(doc: Any, line: str, *, style: str | None = None) -> None:
    line = line.strip()
    italic = line.startswith("*") and line.endswith("*") and not line.startswith("**")
    if italic:
        line = line[1:-1]
    p = doc.add_paragraph(style=_style(doc, style))
    _runs(p, line, italic=italic)


def _add_table(doc: Any, ctx: ReportData, name: str) -> None:
    view = ctx.views.get(name)
    if view is None or view.empty:
        return
    kinds = ctx.kinds.get(name, {})
    cells = format_cells(view, kinds)
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    if VIEW_TITLES.get(name):
        doc.add_paragraph(VIEW_TITLES[name], style=_style(doc, "Caption"))
    table = doc.add_table(rows=len(cells) + 1, cols=len(view.columns))
    table.style = _style(doc, "Table Grid")
    right = [kinds.get(col, "text") not in ("text", "bool") for col in view.columns]
    grid = table._cells  # all cells at once (row.cells recomputes spans for every row)
    ncol = len(view.columns)
    rows = [[str(c) for c in view.columns]] + [list(vals) for vals in cells]
    for i, values in enumerate(rows):
        for cell, v, r in zip(grid[i * ncol:(i + 1) * ncol], values, right, strict=True):
            par = cell.paragraphs[0]
            run = par.add_run(v)
            if i == 0:
                run.bold = True
            elif r:
                par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _repeat_header(table)


def _repeat_header(table: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _page_field(paragraph: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    for instr in ("PAGE",):
        fld = OxmlElement("w:fldSimple")
        fld.set(qn("w:instr"), instr)
        run = OxmlElement("w:r")
        t = OxmlElement("w:t")
        t.text = "1"
        run.append(t)
        fld.append(run)
        paragraph._p.append(fld)


def build_docx(ctx: ReportData) -> Any:
    """The python-docx ``Document`` of a report context."""
    from docx import Document
    from docx.shared import Cm, Pt

    doc = Document()
    sec = doc.sections[0]
    sec.page_height, sec.page_width = Cm(29.7), Cm(21.0)
    sec.left_margin = sec.right_margin = Cm(2.0)
    doc.styles["Normal"].font.size = Pt(10)
    doc.core_properties.title = ctx.display_name
    doc.core_properties.language = "fr-FR"
    banner = ctx.banner()
    if banner:
        sec.header.paragraphs[0].text = banner
        sec.header.paragraphs[0].style = _style(doc, "Intense Quote")
    foot = sec.footer.paragraphs[0]
    foot.text = f"{ctx.display_name} — page "
    _page_field(foot)
    doc.add_heading(ctx.display_name, level=0)
    title_md = ctx.texts.get("titre", "").split("\n\n", 1)
    if len(title_md) > 1:
        add_markdown(doc, title_md[1])
    for number, section, heading in ctx.outline_sections():
        doc.add_heading(f"{number}. {heading}", level=1)
        content = CONTENT_OF.get(section, section)
        if ctx.intros.get(content):
            add_markdown(doc, ctx.intros[content])
        for kind, name in SECTION_ITEMS.get(content, []):
            if kind == "md":
                text = ctx.section_markdown(name)
                if text:
                    add_markdown(doc, text)
            elif kind == "table":
                _add_table(doc, ctx, name)
            else:
                png = ctx.figure_png(name)
                if png is not None:
                    doc.add_picture(io.BytesIO(png), width=Cm(16.5))
    return doc


def write_docx(ctx: ReportData, path: str | Path) -> Path:
    """Write ``rapport.docx`` atomically, with fixed dates (the same report gives the same bytes)."""
    doc = build_docx(ctx)
    stamp = datetime(2000, 1, 1, tzinfo=UTC)
    doc.core_properties.created = doc.core_properties.modified = stamp.replace(tzinfo=None)
    doc.core_properties.last_printed = stamp.replace(tzinfo=None)
    doc.core_properties.revision = 1
    buf = io.BytesIO()
    doc.save(buf)
    return write_zip(buf.getvalue(), path)
