"""The data of one territory's report and the renderings every exporter uses.

:class:`ReportData` is what the section builders fill (:mod:`.sections`, :mod:`.members`,
:mod:`.methodology`, :mod:`.texts`) and what the DOCX writer reads (:mod:`.docx`); it sits below
them. :class:`ocsol.report.context.ReportContext` adds the notebook display and :meth:`save`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from .. import fr, plot
from .layout import VIEW_TITLES, html_table
from .profiles import sections as profile_sections


@dataclass
class ReportData:
    """The data of one territory's report, prepared and labelled in French, and its renderings
    (outline, banner, section Markdown, table HTML, figure PNG) that every exporter uses.

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
    measures
        The measures of the territory's artificialisation figures, most authoritative first.
    changes, outline, member_geometry
        Its change polygons, its communes (the map's outline) and its members with their
        consumption (the members' maps), or None.
    meta, output, version, generated
        Settings from the indicators' manifest, the report folder, the ocsol version, the date.
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
    changes: gpd.GeoDataFrame | None = None
    outline: gpd.GeoDataFrame | None = None
    member_geometry: gpd.GeoDataFrame | None = None
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
        out: list[tuple[int, str, str]] = []
        for section, _mandatory in profile_sections(self.profile):
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

    def section_markdown(self, section: str) -> str:
        """Markdown of a section: its text, or the notice saying its data is absent."""
        if section in self.messages and not self.available.get(section, True):
            return f"*{self.messages[section]}*"
        if section == "occupation":
            section = "artificialisation"
        return self.texts.get(section, "")

    def table_html(self, name: str) -> str:
        """HTML of a display table with its caption ('' when absent): text columns left-aligned,
        numbers right-aligned, every number in French format."""
        view = self.views.get(name)
        if view is None or view.empty:
            return ""
        return html_table(view, self.kinds.get(name, {}), caption=VIEW_TITLES.get(name), name=name)

    def figure_png(self, name: str, *, dpi: int = 96) -> bytes | None:
        """The PNG bytes of a figure (None when its data is absent); drawn once per context."""
        import io

        import matplotlib  # not at the top: a process that draws nothing never loads it
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

    def draw(self, name: str, ax: Any = None) -> Any:
        """Draw a figure on ``ax`` (a new figure when None) and return the Axes, or None."""
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
