"""What a batch publishes besides the reports: ``index.html`` and the open-data tables.

- ``index.html``: one self-contained page (inline CSS and a few lines of inline JavaScript to sort
  the table by any column; no external resource) listing every territory with its headline
  figures, a link to its report, and the error of any report that failed.
- ``opendata/indicateurs_territoires.csv``: one row per territory (UTF-8, comma, dot decimal),
  described by ``opendata/indicateurs_territoires.schema.json``, a Table Schema in the style of
  schema.data.gouv.fr; ``opendata/indicateurs_territoires.gpkg``: the same rows with the
  territories' polygons (parents = union of their communes), when the communes have geometry.
  Ready to publish on data.gouv.fr or a PRODIGE catalogue.

The figures come from the indicator tables themselves (not from the reports), so a failed
report does not leave a hole in the open data.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import fr as words
from .. import schema
from .._version import __version__
from ..fr import format as fr
from ..indicators import MEASURES
from ..io.write import publish_files, write_gpkg, write_text
from ..territories import COMMUNE
from . import safe
from .catalogue import catalogue_files  # datapackage.json + ISO 19139 record (issue 10)
from .context import level_label
from .headline import headline_table
from .loader import Indicators, has_membership
from .measures import with_measure

log = logging.getLogger(__name__)

OPENDATA = "opendata"
BASENAME = "indicateurs_territoires"

#: The open-data table's columns, types and units: ``ocsol/data/tables.csv`` (table
#: ``indicateurs_territoires``, :mod:`ocsol.schema`); French titles and descriptions: ``ocsol.fr``
#: (groups ``column`` and ``column_help``).
OPENDATA_TABLE = "indicateurs_territoires"


def summary_table(ind: Indicators, territories: list[tuple[str, str]]) -> pd.DataFrame:
    """One row per territory with its headline indicators (columns of :data:`OPENDATA_TABLE`), picked by
    :func:`ocsol.report.headline.headline_table` (the same figures as the reports)."""
    keys = pd.DataFrame(territories, columns=["level", "code"])
    units = ind.table("territories")
    df = keys.merge(units[[c for c in ("level", "code", "name", "area_ha", "n_communes", "perimeter_complete")
                           if c in units]], on=["level", "code"], how="left")

    tables = {n: ind.table(n) for n in ("zan", "stock_summary", "flows", "efficiency")}
    for n in ("stock_summary", "flows"):
        if len(tables[n]):
            tables[n] = with_measure(tables[n], ind.table("rule"), default_rule=str(ind.meta.get("rule") or ""))
    head = headline_table(tables)
    if len(head):
        df = df.merge(head, on=["level", "code"], how="left")
    df["status_fr"] = [_status_words(r) for r in df.to_dict("records")]
    cols = schema.columns(OPENDATA_TABLE, exclude=("report",))
    for c in cols:
        if c not in df:
            df[c] = np.nan
    out = df[cols].copy()
    for c, t in ((f.name, f.type) for f in schema.table(OPENDATA_TABLE)):
        if c in out and t in ("integer", "year"):
            out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
    return out


def _status_words(row: dict[str, Any]) -> str:
    """The French words of a territory's ZAN status: a verdict only against a binding target."""
    status = row.get("status")
    if status is None or (isinstance(status, float) and np.isnan(status)) or str(status) in ("", "nan", "<NA>"):
        status = row.get("indicative_status")
    if status is None or (isinstance(status, float) and np.isnan(status)) or str(status) in ("", "nan", "<NA>"):
        return ""
    perim = row.get("perimeter_complete")
    if perim is not None and not (isinstance(perim, float) and np.isnan(perim)) and perim is not pd.NA \
            and str(perim).lower() == "false":
        return "périmètre partiel : pas d'appréciation"
    if str(row.get("binding", "")).lower() == "true":
        return words.text("binding_status", str(status), default=str(status))
    return words.text("indicative_status", str(status), default=str(status))


def table_schema(*, title: str | None = None) -> dict[str, Any]:
    """The Table Schema (JSON) of the open-data CSV, in the style of schema.data.gouv.fr."""
    today = date.today().isoformat()
    fields = []
    for f in schema.table_schema_fields(OPENDATA_TABLE):
        name, ftype = f["name"], f["type"]
        if name in ("level", "code"):
            f["constraints"] = {"required": True}
        if name == "status":
            f["constraints"] = {"enum": ["within", "will_exceed", "exceeded", ""]}
        if name in ("artif_measure", "flows_measure"):
            f["constraints"] = {"enum": list(MEASURES)}
        if ftype == "number":
            f["example"] = "12.5"
        fields.append(f)
    return {
        "$schema": "https://frictionlessdata.io/schemas/table-schema.json",
        "name": "ocsol-indicateurs-territoires",
        "title": title or "Consommation d'espaces NAF, trajectoire ZAN et artificialisation par territoire",
        "description": "Indicateurs du rapport local de suivi de l'artificialisation des sols (art. L. 2231-1 et "
                       "R. 2231-1 du CGCT) par territoire, produits par ocsol. Un territoire par ligne ; les "
                       "territoires supra-communaux sont la somme de leurs communes.",
        "countryCode": "FR",
        "version": __version__,
        "created": today,
        "lastModified": today,
        "contributors": [{"title": "ocsol", "role": "author"}],
        "licenses": [{"title": "Licence Ouverte / Open Licence version 2.0",
                      "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence"}],
        "fields": fields,
        "primaryKey": ["level", "code"],
        "missingValues": [""],
    }


def write_opendata(
    ind: Indicators,
    territories: list[tuple[str, str]],
    out: str | os.PathLike[str],
    *,
    links: dict[tuple[str, str], str] | None = None,
    title: str | None = None,
) -> list[Path]:
    """Write the CSV, its Table Schema and (with geometry) the GeoPackage into ``out/opendata``.

    Published as one unit (:func:`ocsol.io.write.publish_files`): a GeoPackage of an earlier batch
    is removed when this one has no geometry. The CSV keeps every value verbatim, for programs
    (no spreadsheet-formula defusing; see docs/reliability.md).
    """
    folder = Path(out) / OPENDATA
    table = summary_table(ind, territories)
    links = links or {}
    table["report"] = [links.get((lvl, code), "") for lvl, code in zip(table["level"], table["code"], strict=True)]
    schema_json = json.dumps(table_schema(title=title), ensure_ascii=False, indent=1)
    files = {
        f"{BASENAME}.csv": lambda p: table.to_csv(p, index=False, encoding="utf-8", lineterminator="\n",
                                                  float_format="%.6f"),
        f"{BASENAME}.schema.json": lambda p: p.write_text(schema_json, encoding="utf-8"),
    }
    geo = territory_geometries(ind, territories)
    if geo is not None:
        import geopandas as gpd

        gdf = gpd.GeoDataFrame(table.merge(geo, on=["level", "code"], how="left"), geometry="geometry", crs=geo.crs)
        for c, t in ((f.name, f.type) for f in schema.table(OPENDATA_TABLE)):
            if t in ("integer", "year") and c in gdf:
                gdf[c] = gdf[c].astype("float64")  # GPKG: nullable integers as reals
        files[f"{BASENAME}.gpkg"] = lambda p: write_gpkg(gdf, p, layer=BASENAME)
    else:
        log.info("no commune polygons in the indicators: no GeoPackage in %s", folder)

    files |= catalogue_files(basename=BASENAME, schema=table_schema(title=title), provenance=ind.provenance,
                             geometries=geo, title=title, author=ind.meta.get("author"),
                             formats=["csv", "gpkg"] if geo is not None else ["csv"])
    return [p for p in publish_files(files, folder) if p.name != "manifest.json"]


def territory_geometries(ind: Indicators, territories: list[tuple[str, str]]) -> Any:
    """Polygons of the territories (parents: union of their communes), or None without geometry."""
    terr = ind.territories
    if not terr.has_geometry or terr.communes.geometry.isna().all():
        return None
    import geopandas as gpd

    comm = terr.communes.set_index("code").geometry
    rows = []
    for lvl, code in territories:
        if lvl == COMMUNE:
            geom = comm.get(code)
        elif has_membership(terr):
            members = [c for c in terr.members(lvl, code) if c in comm.index]
            geom = comm.loc[members].union_all() if members else None
        else:
            geom = None
        rows.append({"level": lvl, "code": code, "geometry": geom})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=terr.communes.crs)


# -- index.html ----------------------------------------------------------------------------------
INDEX_COLUMNS: list[tuple[str, str, str]] = [  # key, header, kind
    ("name", "Territoire", "link"),
    ("level", "Niveau", "text"),
    ("code", "Code", "text"),
    ("reference_ha", "Conso. de référence (ha)", "ha"),
    ("allowed_ha", "Enveloppe de la période (ha)", "ha"),
    ("consumed_since_ha", "Consommé depuis le début de période (ha)", "ha"),
    ("used_pct", "Enveloppe consommée (%)", "pct"),
    ("status_fr", "Situation", "status"),
    ("artif_pct", "Artificialisé (%)", "pct"),
    ("net_artif_ha", "Solde artif. (ha)", "signed"),
    ("m2_per_new_inhabitant", "m²/nouvel habitant", "m2"),
]

_SORT_JS = """
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].getAttribute('data-v'), y = b.cells[col].getAttribute('data-v');
      if (x === '' || y === '') { return (x === '') - (y === ''); }  // missing values last, both ways
      var nx = parseFloat(x), ny = parseFloat(y);
      var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : (isNaN(nx) ? (isNaN(ny) ? x.localeCompare(y, 'fr') : 1) : -1);
      return asc ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""

_CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #1d2733; margin: 0; }
main { max-width: 80rem; margin: 0 auto; padding: 1rem 1rem; }
h1 { color: #000091; font-size: 1.6rem; border-bottom: 3px solid #000091; }
h2 { color: #000091; font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.74rem; width: 100%; }
th { background: #eef0f6; cursor: pointer; text-align: left; padding: 0.3rem 0.35rem; border-bottom: 2px solid #c8cdd6;
     position: sticky; top: 0; vertical-align: bottom; }
th[aria-sort=ascending]::after { content: " ▲"; } th[aria-sort=descending]::after { content: " ▼"; }
td { padding: 0.2rem 0.35rem; border-bottom: 1px solid #e1e4ea; text-align: right; white-space: nowrap; }
td.t { text-align: left; white-space: normal; } tr.failed td { background: #fff1f0; }
.banner { background: #fff4e5; border: 2px solid #b34000; color: #7a2b00; font-weight: bold; padding: 0.4rem 0.8rem; }
.flag { color: #b34000; font-size: 0.7rem; display: block; }
.within { color: #18753c; } .will-exceed { color: #b34000; } .exceeded { color: #ce0500; font-weight: bold; }
.note { color: #5b6675; font-size: 0.85rem; }
"""


def write_index(batch: Any, ind: Indicators, out: str | os.PathLike[str], *, title: str | None = None,
                links: list[tuple[str, str]] | None = None) -> Path:
    """Write ``index.html``: a sortable table of the batch's territories with links and errors."""
    results = batch.results
    table = summary_table(ind, [(r.level, r.code) for r in results]).set_index(["level", "code"])
    columns = _index_columns(table)
    rows_html = []
    for r in results:
        key = (r.level, r.code)
        row = table.loc[key] if key in table.index else pd.Series(dtype=object)
        cells = []
        for col, _header, kind in columns:
            value = row.get(col) if col not in ("level", "code") else (r.level if col == "level" else r.code)
            cells.append(_cell(value, kind, r, level_label))
        cells.append(_flags_cell(r.headline or {}))
        state = "à jour" if r.skipped else ("écrit" if r.ok else "échec")
        err = r.error or ""
        short = (err[:80] + "…") if len(err) > 80 else err
        cells.append(safe.html('<td class="t" data-v="{}" title="{}">{}{}</td>', state, err, state,
                               " : " + short if short else ""))
        rows_html.append(safe.html("<tr{}>{}</tr>", safe.Markup("" if r.ok else ' class="failed"'),
                                   safe.join(cells)))
    headers = (safe.join(safe.html("<th>{}</th>", h) for _, h, _ in columns)
               + safe.html("<th>À vérifier</th><th>Rapport</th>"))
    synthetic = [r for r in results if (r.headline or {}).get("synthetic")]
    failed = [r for r in results if not r.ok]
    n_ok = len(results) - len(failed)
    heading = title or ind.meta.get("title") or "Rapports de suivi de l'artificialisation des sols"
    gpkg = (Path(out) / OPENDATA / f"{BASENAME}.gpkg").is_file()
    parts = [
        "<!DOCTYPE html>", '<html lang="fr">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        safe.html("<title>{}</title>", heading), f"<style>{_CSS}</style>", "</head>", "<body><main>",
        safe.html("<h1>{}</h1>", heading),
        *([safe.html('<p class="banner">Données synthétiques : {} rapport(s) reposent sur des données générées pour '
                     "les tests et démonstrations (signalés dans la colonne « À vérifier ») ; leurs chiffres ne "
                     "décrivent pas les territoires réels.</p>", fr.integer(len(synthetic)))] if synthetic else []),
        safe.html("<p>{} territoires : {} rapports disponibles{}. Produit le {} avec ocsol {} ({} s, {} processus). "
                  "Cliquer sur un en-tête de colonne pour trier.</p>",
                  fr.integer(len(results)), fr.integer(n_ok),
                  safe.html(", <strong>{} en échec</strong>", fr.integer(len(failed))) if failed else "",
                  date.today().isoformat(), __version__, fr.number(batch.seconds, decimals=1), batch.jobs),
        '<p class="note">Données ouvertes : <a href="opendata/indicateurs_territoires.csv">CSV</a>, '
        '<a href="opendata/indicateurs_territoires.schema.json">schéma (Table Schema)</a>'
        + (', <a href="opendata/indicateurs_territoires.gpkg">GeoPackage</a>' if gpkg else "") + ".</p>",
        *([safe.html('<p class="note">Voir aussi : {}.</p>', safe.join(
            (safe.html('<a href="{}">{}</a>', href if safe.safe_url(href) else "#", text) for text, href in links),
            ", "))] if links else []),
        safe.html('<table class="sortable"><thead><tr>{}</tr></thead><tbody>', headers),
        *rows_html, "</tbody></table>",
    ]
    if failed:
        parts.append("<h2>Rapports en échec</h2><ul>")
        for r in failed:
            parts.append(safe.html('<li><strong>{} {}</strong> : {} (notebook exécuté : '
                                   '<a href="{}/rapport.ipynb">rapport.ipynb</a>)</li>',
                                   level_label(r.level), r.code, r.error, r.folder.name))
        parts.append("</ul>")
    parts += [f"<script>{_SORT_JS}</script>", "</main></body></html>"]
    target = Path(out) / "index.html"
    write_text("\n".join(str(p) for p in parts), target)
    return target


def _index_columns(table: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Index columns, with the reference and period years of the tables in the headers."""
    def years(a: str, b: str) -> str | None:
        if a in table and b in table and table[a].notna().any():
            pairs = table[[a, b]].dropna().astype(int).drop_duplicates()
            if len(pairs) == 1:
                return fr.period(pairs.iloc[0, 0], pairs.iloc[0, 1])
        return None

    ref, per = years("reference_start", "reference_end"), years("period_start", "period_end")
    start = per.split("–")[0] if per else None
    names = {"reference_ha": f"Conso. {ref} (ha)" if ref else "Conso. de référence (ha)",
             "allowed_ha": f"Enveloppe {per} (ha)" if per else "Enveloppe (ha)",
             "consumed_since_ha": f"Consommé depuis {start} (ha)" if start else "Consommé depuis le début de période (ha)"}
    return [(key, names.get(key, header), kind) for key, header, kind in INDEX_COLUMNS]


def _cell(value: Any, kind: str, r: Any, level_label: Any) -> safe.Markup:
    """One cell of the index (every value escaped through :mod:`ocsol.report.safe`)."""
    missing = value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA
    if kind == "link":
        raw = str(value if not missing else r.code)
        name = f"{level_label(r.level)} {raw}" if raw == r.code and r.level != COMMUNE else raw
        if r.ok:
            return safe.html('<td class="t" data-v="{}"><a href="{}/rapport.html">{}</a></td>', name, r.folder.name, name)
        return safe.html('<td class="t" data-v="{}">{}</td>', name, name)
    if kind == "text":
        text = level_label(str(value)) if value == r.level else str(value)
        return safe.html('<td class="t" data-v="{}">{}</td>', str(value), text)
    if kind == "status":
        v = "" if missing else str(value)
        return safe.html('<td class="t" data-v="{}">{}</td>', v, v or fr.MISSING)
    if missing:
        return safe.html('<td data-v="">{}</td>', fr.MISSING)
    num = float(value)
    return safe.html('<td data-v="{}">{}</td>', repr(num), fr.fmt(num, kind))


def _flags_cell(headline: dict[str, Any]) -> safe.Markup:
    """What the reader must check before using a report: synthetic data, partial perimeter, texts to write."""
    flags = []
    if headline.get("synthetic"):
        flags.append("données synthétiques")
    if headline.get("perimeter") == "partial":
        flags.append("périmètre partiel")
    missing = headline.get("texts_missing") or []
    if missing:
        flags.append("texte à fournir : " + ", ".join(missing))
    return safe.html('<td class="t" data-v="{}">{}</td>', "; ".join(flags),
                     safe.join(safe.html('<span class="flag">{}</span>', f) for f in flags))
