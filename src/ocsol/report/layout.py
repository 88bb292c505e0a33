"""What a report shows and how its tables look: the items of each section, the captions and alt
texts, and the French formatting of a display table (HTML and DOCX alike).

Below :mod:`.context` (the HTML page) and :mod:`.docx` (the editable document), which both read it.
"""

from __future__ import annotations

import math

import pandas as pd

from ..fr import format as ff
from . import safe

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
