"""One escaping path for every user string that reaches HTML (reports, index, any page).

Territory names, parent names, codes, file names, the configuration's ``title``/``author``,
quality notes… are **data**: they must show as text, never as markup. This module is the only
place that turns them into HTML:

- :func:`escape` / :func:`html`: a user string in an HTML page goes through :mod:`markupsafe`
  (the escaping of Jinja2's autoescape); :func:`html` formats a trusted template whose arguments
  are escaped, so a page is built without escaping by hand at each call site.
- :func:`md`: a user string placed inside a Markdown text shows literally (Markdown punctuation
  and HTML are neutralised).
- :func:`markdown_html`: the Markdown renderer of the reports (the nbconvert exporter uses it for
  every Markdown cell and output). Raw HTML in the Markdown is shown as text, and only web,
  mail and relative links are links: a ``javascript:``/``data:``/``vbscript:`` link or image
  is shown as its text. So even a string that reached a report's Markdown without :func:`md`
  cannot bring markup or script.

Examples
--------
>>> str(escape("Ville <script>alert(1)</script>"))
'Ville &lt;script&gt;alert(1)&lt;/script&gt;'
>>> str(html('<td title="{}">{}</td>', 'a"b', "<b>"))
'<td title="a&#34;b">&lt;b&gt;</td>'
>>> markdown_html("**" + md("[x](javascript:alert(1)) <b>") + "**")
'<p><strong>[x](javascript:alert(1)) &lt;b&gt;</strong></p>\\n'
>>> "<script" in markdown_html("# Ville <script>alert(1)</script>")
False
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from markupsafe import Markup
from markupsafe import escape as _ms_escape

#: Characters a Markdown parser may read as inline syntax or raw HTML anywhere in a line. CommonMark
#: lets any ASCII punctuation be backslash-escaped; an escaped character is plain text.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&!|~$#{}])")
#: What opens a block (list item, numbered item, setext underline) at the start of a line.
_MD_BLOCK_START = re.compile(r"^(\d+)([.)])|^([-+=])")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*):")


def escape(value: Any) -> Markup:
    """A value as HTML text (``None`` → empty); already-safe :class:`~markupsafe.Markup` kept."""
    if value is None:
        return Markup("")
    return _ms_escape(value if isinstance(value, Markup) else str(value))


def html(template: str, *args: Any, **kwargs: Any) -> Markup:
    """A trusted HTML template (``str.format`` syntax) with every argument escaped.

    Pass pre-built fragments as :class:`~markupsafe.Markup` (e.g. the result of another
    :func:`html` call) to insert them unchanged.
    """
    return Markup(template).format(*args, **kwargs)


def join(parts: Any, sep: str = "") -> Markup:
    """Join fragments, escaping those that are not already :class:`~markupsafe.Markup`."""
    return Markup(sep).join(escape(p) for p in parts)


def md(value: Any) -> str:
    """A user string for a Markdown text: shows literally once rendered.

    Line breaks become spaces, the characters Markdown reads as inline syntax or HTML
    (``\\ ` * _ [ ] < > & ! | ~ $ # { }``) are backslash-escaped, and so is a leading list
    marker (``-``, ``+``, ``1.``): ``<``, ``[``, ``*``… are text, not syntax. Other punctuation
    (``, . : ; ( ) - '``) is kept as is, so the Markdown stays readable.

    >>> md("Oullins-Pierre-Bénite (69149, 69152)")
    'Oullins-Pierre-Bénite (69149, 69152)'
    >>> md("1. <b>x</b>")
    '1\\\\. \\\\<b\\\\>x\\\\</b\\\\>'
    """
    if value is None:
        return ""
    text = _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))
    return _MD_BLOCK_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1) else f"\\{m.group(3)}", text)


def safe_url(url: str) -> bool:
    """Whether a link target may be a link: web, mail, in-page or relative (no other scheme)."""
    u = url.strip().lower()
    if u.startswith(_SAFE_SCHEMES) or u.startswith("#"):
        return True
    return _SCHEME.match(u) is None


@lru_cache(maxsize=1)
def _renderer_class() -> type:
    from markupsafe import escape as esc
    from nbconvert.filters.markdown_mistune import IPythonRenderer

    class SafeRenderer(IPythonRenderer):
        """nbconvert's Markdown renderer with raw HTML escaped and unsafe links shown as text."""

        def __init__(self, **kwargs: Any) -> None:
            kwargs.update(escape=True, allow_harmful_protocols=False)
            super().__init__(**kwargs)

        def link(self, text: str, url: str, title: str | None = None) -> str:
            if not safe_url(url):
                return f"[{text}]({esc(url)})"
            return super().link(text, url, title)

        def image(self, text: str, url: str, title: str | None = None) -> str:
            if not safe_url(url) and not url.startswith("attachment:"):
                return f"![{esc(text)}]({esc(url)})"
            return super().image(text, url, title)

        def block_mermaidjs(self, code: str) -> str:  # no diagram script in a report
            return super(IPythonRenderer, self).block_code(code)

    return SafeRenderer


def markdown_html(source: str, **renderer_options: Any) -> str:
    """Markdown → HTML for reports: raw HTML shown as text, unsafe links and images shown as text.

    ``renderer_options`` go to nbconvert's ``IPythonRenderer`` (``exclude_anchor_links``…).
    """
    from nbconvert.filters.markdown_mistune import MarkdownWithMath

    return MarkdownWithMath(renderer=_renderer_class()(**renderer_options)).render(source)


@lru_cache(maxsize=1)
def exporter_class() -> type:
    """nbconvert's ``HTMLExporter`` rendering every Markdown cell and output with :func:`markdown_html`."""
    from jinja2 import pass_context
    from nbconvert import HTMLExporter

    class SafeHTMLExporter(HTMLExporter):
        @pass_context
        def markdown2html(self, context: Any, source: str) -> str:
            cell = context.get("cell", {})
            return markdown_html(
                source, attachments=cell.get("attachments", {}), embed_images=self.embed_images,
                path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                anchor_link_text=self.anchor_link_text, exclude_anchor_links=self.exclude_anchor_links,
                **self.lexer_options,
            )

    return SafeHTMLExporter


__all__ = ["escape", "html", "join", "md", "markdown_html", "safe_url", "exporter_class"]
