"""Catalogue-ready open data: `opendata/datapackage.json` passes `frictionless validate`, and the
ISO 19115/19139 record parses and carries title, abstract, extent, lineage, licence, CRS, date."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
from frictionless import Package, validate

from ocsol import __version__
from ocsol.report import compute_indicators
from ocsol.report.loader import load_indicators
from ocsol.report.publish import write_opendata

NS = {"gmd": "http://www.isotc211.org/2005/gmd", "gco": "http://www.isotc211.org/2005/gco"}


def _text(root: ET.Element, path: str) -> str:
    el = root.find(path, NS)
    assert el is not None, path
    return "".join(el.itertext()).strip()


@pytest.fixture
def opendata(paper: Path, tmp_path: Path) -> Path:
    folder = compute_indicators(paper / "ocsol.toml", tmp_path / "indicateurs")
    ind = load_indicators(folder)
    write_opendata(ind, [("commune", "00001"), ("commune", "00002"), ("epci", "E")], tmp_path / "batch",
                   title="Indicateurs <test> & co")
    return tmp_path / "batch" / "opendata"


@pytest.mark.slow
def test_datapackage_validates_with_frictionless(opendata: Path) -> None:
    report = validate(opendata / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    pkg = json.loads((opendata / "datapackage.json").read_text(encoding="utf-8"))
    assert pkg["licenses"][0]["name"] == "etalab-2.0"
    assert [r["path"] for r in pkg["resources"]] == ["indicateurs_territoires.csv"]
    titles = [s["title"] for s in pkg["sources"]]
    assert any(t.startswith("IGN — OCS GE") for t in titles) and any("territoires" in t for t in titles)
    assert "ocsge_2019.gpkg" in " ".join(s["description"] for s in pkg["sources"])
    assert f"ocsol {__version__}" in {c["title"] for c in pkg["contributors"]}
    rows = Package(opendata / "datapackage.json").get_resource("indicateurs-territoires").read_rows()
    assert [(r["level"], r["code"]) for r in rows] == [("commune", "00001"), ("commune", "00002"), ("epci", "E")]
    assert {r["artif_measure"] for r in rows} == {r["flows_measure"] for r in rows} == {"decret_matrix"}


@pytest.mark.slow
def test_iso19139_record_has_the_inspire_elements(opendata: Path) -> None:
    root = ET.parse(opendata / "indicateurs_territoires.iso19139.xml").getroot()
    assert root.tag == "{http://www.isotc211.org/2005/gmd}MD_Metadata"
    ident = "gmd:identificationInfo/gmd:MD_DataIdentification/"
    assert _text(root, ident + "gmd:citation/gmd:CI_Citation/gmd:title") == "Indicateurs <test> & co"
    assert "R. 2231-1" in _text(root, ident + "gmd:abstract")
    assert _text(root, "gmd:dateStamp/gco:Date") == date.today().isoformat()
    assert _text(root, ident + "gmd:citation/gmd:CI_Citation/gmd:date/gmd:CI_Date/gmd:date/gco:Date") == \
        date.today().isoformat()
    licence = _text(root, ident + "gmd:resourceConstraints/gmd:MD_LegalConstraints/gmd:otherConstraints")
    assert "Licence Ouverte" in licence
    crs = _text(root, "gmd:referenceSystemInfo/gmd:MD_ReferenceSystem/gmd:referenceSystemIdentifier/"
                      "gmd:RS_Identifier/gmd:code")
    assert crs == "EPSG:2154"
    box = ident + "gmd:extent/gmd:EX_Extent/gmd:geographicElement/gmd:EX_GeographicBoundingBox/"
    west, east = (float(_text(root, box + f"gmd:{k}BoundLongitude/gco:Decimal")) for k in ("west", "east"))
    south, north = (float(_text(root, box + f"gmd:{k}BoundLatitude/gco:Decimal")) for k in ("south", "north"))
    geo = gpd.read_file(opendata / "indicateurs_territoires.gpkg").to_crs("EPSG:4326").total_bounds
    assert (west, south, east, north) == pytest.approx(tuple(geo), abs=1e-6)
    lineage = _text(root, "gmd:dataQualityInfo/gmd:DQ_DataQuality/gmd:lineage/gmd:LI_Lineage/gmd:statement")
    assert f"ocsol {__version__}" in lineage and "ocsge_2019.gpkg (sha256 " in lineage
    urls = [u.text for u in root.iter("{http://www.isotc211.org/2005/gmd}URL")]
    assert urls == ["indicateurs_territoires.csv", "indicateurs_territoires.gpkg"]
