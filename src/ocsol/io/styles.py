"""QGIS layer style (QML) for the change polygons, in the colours of the report's change map.

``changes.qml`` sits next to ``changes.gpkg`` / ``changes.parquet``: QGIS loads a ``.qml`` of
the same name as the data file as its default style (or load it with *Layer Properties → Style →
Load Style*). Three rules on the ``artif_from``/``artif_to`` flags: artificialisation,
désartificialisation, other change; colours from :data:`ocsol.nomenclature.CHANGE_COLOURS`.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from ..nomenclature import CHANGE_COLOURS

#: QGIS filter expression of each kind of change.
CHANGE_FILTERS = {
    "Artificialisation": '"artif_from" = 0 AND "artif_to" = 1',
    "Désartificialisation": '"artif_from" = 1 AND "artif_to" = 0',
    "Autre changement": "ELSE",
}


def _rgba(colour: str) -> str:
    c = colour.lstrip("#")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},255"


def change_layer_qml() -> str:
    """The QML document (rule-based renderer, one rule per kind of change)."""
    rules, symbols = [], []
    for i, (label, colour) in enumerate(CHANGE_COLOURS.items()):
        rules.append(f'      <rule key="r{i}" symbol="{i}" label={quoteattr(label)} '
                     f'filter={quoteattr(CHANGE_FILTERS[label])}/>')
        symbols.append(
            f'      <symbol type="fill" name="{i}" alpha="1" clip_to_extent="1" force_rhr="0">\n'
            f'        <layer class="SimpleFill" enabled="1" locked="0" pass="0">\n'
            f'          <Option type="Map">\n'
            f'            <Option type="QString" name="color" value="{_rgba(colour)}"/>\n'
            f'            <Option type="QString" name="outline_color" value="{_rgba(colour)}"/>\n'
            f'            <Option type="QString" name="outline_width" value="0.1"/>\n'
            f'            <Option type="QString" name="style" value="solid"/>\n'
            f'          </Option>\n'
            f'        </layer>\n'
            f'      </symbol>')
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.28.0" styleCategories="Symbology">\n'
        '  <renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0">\n'
        '    <rules key="root">\n' + "\n".join(rules) + "\n    </rules>\n"
        "    <symbols>\n" + "\n".join(symbols) + "\n    </symbols>\n"
        "  </renderer-v2>\n"
        "  <layerGeometryType>2</layerGeometryType>\n"
        "</qgis>\n"
    )
