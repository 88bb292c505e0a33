"""Catalogue-ready open data: a Frictionless Data Package and an ISO 19115/19139 record.

``ocsol batch`` publishes ``opendata/`` (:mod:`ocsol.report.publish`); this module adds

- ``opendata/datapackage.json``: a Frictionless *tabular data package* over the open-data CSV,
  pointing at its Table Schema, with licence, sources (from the run's input files) and
  contributors — what data.gouv.fr and CKAN/Frictionless tools read;
- ``opendata/<dataset>.iso19139.xml``: one ISO 19115 metadata record per published dataset
  (ISO 19139 XML encoding, INSPIRE-style elements: title, abstract, extent, lineage naming the
  input files and the ocsol version, licence, CRS, dates), which GeoNetwork (PRODIGE) imports.

Pure builders (:func:`datapackage`, :func:`iso19139`) and the publish step's writers (:func:`catalogue_files`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd

from .._version import __version__

LICENCE = {"name": "etalab-2.0", "title": "Licence Ouverte / Open Licence version 2.0",
           "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence"}

#: Input role (prefix in provenance.csv) → the product it is, as a source title.
SOURCE_TITLES = {
    "ocsge artificialisation": "IGN — OCS GE Artificialisation (Licence Ouverte 2.0)",
    "ocsge": "IGN — OCS GE, occupation du sol à grande échelle (Licence Ouverte 2.0)",
    "consumption": "Cerema — consommation d'espaces NAF, fichiers fonciers (Licence Ouverte 2.0)",
    "population": "INSEE — populations (Licence Ouverte 2.0)",
    "households": "INSEE — ménages (Licence Ouverte 2.0)",
    "jobs": "INSEE — emplois (Licence Ouverte 2.0)",
    "territories": "Communes et groupements (fichier des territoires)",
    "raster": "Carte d'occupation du sol raster (voir sa licence)",
    "rule": "Règle de classement (décret n° 2023-1096 ou règle utilisateur)",
    "zan targets": "Objectifs ZAN des documents d'urbanisme",
}


def _source_title(role: str) -> str:
    for prefix in sorted(SOURCE_TITLES, key=len, reverse=True):
        if str(role).startswith(prefix):
            return SOURCE_TITLES[prefix]
    return str(role)


def sources(provenance: pd.DataFrame) -> list[dict[str, str]]:
    """One Data Package source per input product (file names and sha256 in the description)."""
    out: dict[str, list[str]] = {}
    for r in provenance.to_dict("records") if len(provenance) else []:
        out.setdefault(_source_title(r.get("role", "")), []).append(
            f"{Path(str(r.get('path', ''))).name} (sha256 {str(r.get('sha256', ''))[:12]}…, {r.get('modified', '')})")
    return [{"title": t, "description": "; ".join(files)} for t, files in out.items()]


def datapackage(
    resources: list[dict[str, Any]], *, title: str, description: str, provenance: pd.DataFrame,
    author: str | None = None, version: str, created: str,
) -> dict[str, Any]:
    """The ``datapackage.json`` content (Frictionless tabular data package).

    ``resources``: ``{"name", "path", "schema", "title", "description"}`` per CSV (``schema``
    = the Table Schema file name, relative to the package).
    """
    res = []
    for r in resources:
        res.append({"name": r["name"], "path": r["path"], "profile": "tabular-data-resource", "format": "csv",
                    "mediatype": "text/csv", "encoding": "utf-8", "title": r.get("title", r["name"]),
                    "description": r.get("description", ""), "schema": r["schema"],
                    "dialect": {"delimiter": ",", "header": True}})
    contributors = [{"title": f"ocsol {version}", "role": "author"}]
    if author:
        contributors.insert(0, {"title": str(author), "role": "publisher"})
    return {
        "profile": "tabular-data-package",
        "name": "ocsol-" + "-".join(str(r["name"]) for r in resources)[:80],
        "title": title,
        "description": description,
        "version": version,
        "created": f"{created}T00:00:00Z",  # RFC 3339 datetime
        "licenses": [LICENCE],
        "sources": sources(provenance),
        "contributors": contributors,
        "keywords": ["ZAN", "artificialisation", "consommation d'espaces", "occupation du sol"],
        "resources": res,
    }


def _t(text: Any) -> str:
    return f"<gco:CharacterString>{escape(str(text))}</gco:CharacterString>"


def iso19139(
    *, identifier: str, title: str, abstract: str, created: str, crs: str | None,
    bbox: tuple[float, float, float, float] | None, extent_name: str, lineage: str,
    files: list[tuple[str, str]], organisation: str, version: str,
) -> str:
    """An ISO 19115 record in ISO 19139 XML (``gmd:MD_Metadata``) for one dataset.

    ``bbox`` = (west, south, east, north) in degrees (WGS 84); ``files`` = (name, format).
    """
    def date_block(kind: str) -> str:
        return (f"<gmd:date><gmd:CI_Date><gmd:date><gco:Date>{created}</gco:Date></gmd:date><gmd:dateType>"
                f'<gmd:CI_DateTypeCode codeList="http://standards.iso.org/iso/19139/resources/gmxCodelists.xml'
                f'#CI_DateTypeCode" codeListValue="{kind}">{kind}</gmd:CI_DateTypeCode></gmd:dateType></gmd:CI_Date>'
                "</gmd:date>")

    party = (f"<gmd:CI_ResponsibleParty><gmd:organisationName>{_t(organisation)}</gmd:organisationName>"
             '<gmd:role><gmd:CI_RoleCode codeList="http://standards.iso.org/iso/19139/resources/gmxCodelists.xml'
             '#CI_RoleCode" codeListValue="pointOfContact">pointOfContact</gmd:CI_RoleCode></gmd:role>'
             "</gmd:CI_ResponsibleParty>")
    crs_block = ""
    if crs:
        crs_block = ("<gmd:referenceSystemInfo><gmd:MD_ReferenceSystem><gmd:referenceSystemIdentifier>"
                     f"<gmd:RS_Identifier><gmd:code>{_t(crs)}</gmd:code><gmd:codeSpace>{_t('EPSG')}</gmd:codeSpace>"
                     "</gmd:RS_Identifier></gmd:referenceSystemIdentifier></gmd:MD_ReferenceSystem>"
                     "</gmd:referenceSystemInfo>")
    geo = ""
    if bbox is not None:
        w, s, e, n = (f"{v:.6f}" for v in bbox)
        geo = ("<gmd:geographicElement><gmd:EX_GeographicBoundingBox>"
               f"<gmd:westBoundLongitude><gco:Decimal>{w}</gco:Decimal></gmd:westBoundLongitude>"
               f"<gmd:eastBoundLongitude><gco:Decimal>{e}</gco:Decimal></gmd:eastBoundLongitude>"
               f"<gmd:southBoundLatitude><gco:Decimal>{s}</gco:Decimal></gmd:southBoundLatitude>"
               f"<gmd:northBoundLatitude><gco:Decimal>{n}</gco:Decimal></gmd:northBoundLatitude>"
               "</gmd:EX_GeographicBoundingBox></gmd:geographicElement>")
    formats = "".join(f"<gmd:distributionFormat><gmd:MD_Format><gmd:name>{_t(fmt)}</gmd:name>"
                      f"<gmd:version>{_t('-')}</gmd:version></gmd:MD_Format></gmd:distributionFormat>"
                      for _, fmt in files)
    online = "".join(f"<gmd:onLine><gmd:CI_OnlineResource><gmd:linkage><gmd:URL>{escape(name)}</gmd:URL>"
                     f"</gmd:linkage><gmd:name>{_t(name)}</gmd:name></gmd:CI_OnlineResource></gmd:onLine>"
                     for name, _ in files)
    code_list = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco" '
        'xmlns:gml="http://www.opengis.net/gml" xmlns:xlink="http://www.w3.org/1999/xlink">\n'
        f"<gmd:fileIdentifier>{_t(identifier)}</gmd:fileIdentifier>"
        f'<gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" codeListValue="fre">'
        "fre</gmd:LanguageCode></gmd:language>"
        f'<gmd:characterSet><gmd:MD_CharacterSetCode codeList="{code_list}#MD_CharacterSetCode" '
        'codeListValue="utf8">utf8</gmd:MD_CharacterSetCode></gmd:characterSet>'
        f'<gmd:hierarchyLevel><gmd:MD_ScopeCode codeList="{code_list}#MD_ScopeCode" codeListValue="dataset">'
        "dataset</gmd:MD_ScopeCode></gmd:hierarchyLevel>"
        f"<gmd:contact>{party}</gmd:contact>"
        f"<gmd:dateStamp><gco:Date>{created}</gco:Date></gmd:dateStamp>"
        f"<gmd:metadataStandardName>{_t('ISO 19115:2003/19139')}</gmd:metadataStandardName>"
        f"<gmd:metadataStandardVersion>{_t('1.0')}</gmd:metadataStandardVersion>\n"
        f"{crs_block}\n"
        "<gmd:identificationInfo><gmd:MD_DataIdentification>"
        f"<gmd:citation><gmd:CI_Citation><gmd:title>{_t(title)}</gmd:title>"
        f"{date_block('creation')}{date_block('revision')}"
        f"<gmd:edition>{_t('ocsol ' + version)}</gmd:edition></gmd:CI_Citation></gmd:citation>"
        f"<gmd:abstract>{_t(abstract)}</gmd:abstract>"
        f"<gmd:pointOfContact>{party}</gmd:pointOfContact>"
        "<gmd:descriptiveKeywords><gmd:MD_Keywords>"
        + "".join(f"<gmd:keyword>{_t(k)}</gmd:keyword>" for k in
                  ("Usage des sols", "Occupation des terres", "artificialisation", "ZAN", "consommation d'espaces"))
        + "</gmd:MD_Keywords></gmd:descriptiveKeywords>"
        "<gmd:resourceConstraints><gmd:MD_LegalConstraints>"
        f'<gmd:accessConstraints><gmd:MD_RestrictionCode codeList="{code_list}#MD_RestrictionCode" '
        'codeListValue="otherRestrictions">otherRestrictions</gmd:MD_RestrictionCode></gmd:accessConstraints>'
        f"<gmd:otherConstraints>{_t(LICENCE['title'] + ' — ' + LICENCE['path'])}</gmd:otherConstraints>"
        "</gmd:MD_LegalConstraints></gmd:resourceConstraints>"
        f'<gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" codeListValue="fre">'
        "fre</gmd:LanguageCode></gmd:language>"
        "<gmd:topicCategory><gmd:MD_TopicCategoryCode>planningCadastre</gmd:MD_TopicCategoryCode></gmd:topicCategory>"
        f"<gmd:extent><gmd:EX_Extent><gmd:description>{_t(extent_name)}</gmd:description>{geo}</gmd:EX_Extent>"
        "</gmd:extent></gmd:MD_DataIdentification></gmd:identificationInfo>\n"
        f"<gmd:distributionInfo><gmd:MD_Distribution>{formats}<gmd:transferOptions><gmd:MD_DigitalTransferOptions>"
        f"{online}</gmd:MD_DigitalTransferOptions></gmd:transferOptions></gmd:MD_Distribution></gmd:distributionInfo>\n"
        "<gmd:dataQualityInfo><gmd:DQ_DataQuality><gmd:scope><gmd:DQ_Scope><gmd:level>"
        f'<gmd:MD_ScopeCode codeList="{code_list}#MD_ScopeCode" codeListValue="dataset">dataset</gmd:MD_ScopeCode>'
        "</gmd:level></gmd:DQ_Scope></gmd:scope>"
        f"<gmd:lineage><gmd:LI_Lineage><gmd:statement>{_t(lineage)}</gmd:statement></gmd:LI_Lineage></gmd:lineage>"
        "</gmd:DQ_DataQuality></gmd:dataQualityInfo>\n"
        "</gmd:MD_Metadata>\n"
    )


def catalogue_files(
    *, basename: str, schema: dict[str, Any], provenance: pd.DataFrame, geometries: Any = None,
    title: str | None = None, author: str | None = None, formats: list[str] | None = None,
) -> dict[str, Callable[[Path], object]]:
    """Writers of ``datapackage.json`` and ``<basename>.iso19139.xml``, published with the CSV.

    ``schema`` is the CSV's Table Schema (its title and description are the dataset's);
    ``geometries`` (GeoDataFrame) gives the extent and CRS when the territories have polygons.
    Returns file name → writer, for :func:`ocsol.io.write.publish_files`.
    """
    created = date.today().isoformat()
    ds_title = title or schema.get("title") or basename
    abstract = schema.get("description", "")
    pkg = datapackage(
        [{"name": basename.replace("_", "-"), "path": f"{basename}.csv", "schema": f"{basename}.schema.json",
          "title": ds_title, "description": abstract}],
        title=ds_title, description=abstract, provenance=provenance, author=author, version=__version__,
        created=created,
    )
    crs, bbox, extent_name = None, None, "Territoires du tableau (voir la colonne code)"
    if geometries is not None and len(geometries) and geometries.geometry.notna().any():
        g = geometries[geometries.geometry.notna()]
        epsg = g.crs.to_epsg() if g.crs is not None else None
        crs = f"EPSG:{epsg}" if epsg else (g.crs.to_string() if g.crs is not None else None)
        west, south, east, north = (float(v) for v in g.to_crs("EPSG:4326").total_bounds)
        bbox = (west, south, east, north)
        names = g["code"].astype(str).tolist() if "code" in g else []
        extent_name = "Territoires : " + ", ".join(names[:20]) + (" …" if len(names) > 20 else "")
    files = [f"{Path(str(r['path'])).name} (sha256 {r['sha256']})" for r in provenance.to_dict("records")] \
        if len(provenance) else []
    lineage = (f"Produit par ocsol {__version__} (rapport local de suivi de l'artificialisation, art. R. 2231-1 "
               "du CGCT) à partir de : " + ("; ".join(files) if files else "fichiers non renseignés") + ". "
               "Territoires supra-communaux : somme de leurs communes. Méthodes : docs/ du paquet ocsol.")
    record = iso19139(
        identifier=str(uuid.uuid5(uuid.NAMESPACE_URL, f"ocsol:{basename}:{ds_title}")),
        title=ds_title, abstract=abstract, created=created, crs=crs, bbox=bbox, extent_name=extent_name,
        lineage=lineage, organisation=author or "ocsol", version=__version__,
        files=[(f"{basename}.{ext}", {"csv": "CSV", "gpkg": "GeoPackage"}[ext]) for ext in (formats or ["csv"])],
    )
    package = json.dumps(pkg, ensure_ascii=False, indent=1)
    return {
        "datapackage.json": lambda p: p.write_text(package, encoding="utf-8"),
        f"{basename}.iso19139.xml": lambda p: p.write_text(record, encoding="utf-8"),
    }
