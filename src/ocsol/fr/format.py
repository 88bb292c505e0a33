"""French number formatting (the only one): ``1 234,5 ha``, ``12,3 %``, ``−4,0 ha``.

French number formatting for reports: ``1 234,5 ha``, ``12,3 %``, ``−4,0 ha``.

One convention everywhere (text, tables, chart axes):

- thousands are grouped with a **narrow no-break space** (U+202F, the French typographic norm and
  the CLDR ``fr`` locale), so a number never wraps across two lines;
- the decimal mark is a comma;
- a unit is separated by the same narrow no-break space (``ha``, ``m²``, ``%``);
- negative numbers use the true minus sign (U+2212);
- a missing value (``None``/``NaN``) is written ``n.d.`` (non disponible).

Machine-readable outputs (CSV, XLSX, JSON) keep raw numbers; only what a reader sees is formatted.

Examples
--------
>>> number(1234.56) == "1\\u202f234,6"
True
>>> hectares(1234.5).replace(NNBSP, " ")
'1 234,5 ha'
>>> percent(12.345).replace(NNBSP, " ")
'12,3 %'
>>> number(-4, decimals=0)
'−4'
>>> number(float("nan"))
'n.d.'
"""

from __future__ import annotations

import math
from typing import Any

NNBSP = "\u202f"  #: narrow no-break space, thousands separator and number–unit space
MINUS = "\u2212"
MISSING = "n.d."


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(math.isnan(float(value)))
    except (TypeError, ValueError):
        return True


def number(value: Any, *, decimals: int = 1, signed: bool = False) -> str:
    """A number in French format (``1 234,5``); ``n.d.`` when missing.

    Parameters
    ----------
    value
        Any real number (``None``, NaN and non-numbers give ``n.d.``).
    decimals
        Digits after the decimal comma.
    signed
        Write ``+`` before positive numbers (net flows).

    Examples
    --------
    >>> number(1234567.891, decimals=2).replace(NNBSP, " ")
    '1 234 567,89'
    >>> number(0.5, signed=True)
    '+0,5'
    """
    if _is_missing(value):
        return MISSING
    x = float(value)
    if x == 0:
        x = 0.0  # no "−0,0"
    text = f"{abs(x):,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        x = 0.0
    text = text.replace(",", NNBSP).replace(".", ",")
    if x < 0:
        return MINUS + text
    if signed and x > 0:
        return "+" + text
    return text


def with_unit(value: Any, unit: str, *, decimals: int = 1, signed: bool = False) -> str:
    """A number followed by its unit, separated by a narrow no-break space."""
    text = number(value, decimals=decimals, signed=signed)
    return text if text == MISSING else f"{text}{NNBSP}{unit}"


def hectares(value: Any, *, decimals: int = 1, signed: bool = False) -> str:
    """Hectares: ``1 234,5 ha``."""
    return with_unit(value, "ha", decimals=decimals, signed=signed)


def percent(value: Any, *, decimals: int = 1, signed: bool = False) -> str:
    """A percentage already multiplied by 100: ``12,3 %``."""
    return with_unit(value, "%", decimals=decimals, signed=signed)


def square_metres(value: Any, *, decimals: int = 0) -> str:
    """Square metres: ``1 234 m²``."""
    return with_unit(value, "m²", decimals=decimals)


def integer(value: Any) -> str:
    """A count: ``1 234``."""
    return number(value, decimals=0)


def year(value: Any) -> str:
    """A year without grouping (``2021``), ``n.d.`` when missing."""
    if _is_missing(value):
        return MISSING
    return str(int(float(value)))


def period(start: Any, end: Any) -> str:
    """A span of years with an en dash: ``2011–2020``."""
    return f"{year(start)}–{year(end)}"


def axis_formatter(*, decimals: int = 0, unit: str = ""):
    """A matplotlib tick formatter writing French numbers (``1 234``)."""
    from matplotlib.ticker import FuncFormatter

    def fmt(x: float, _pos: Any) -> str:
        return with_unit(x, unit, decimals=decimals) if unit else number(x, decimals=decimals)

    return FuncFormatter(fmt)




#: Kind of figure → digits after the decimal comma. One kind, one precision, on every page.
DECIMALS: dict[str, int] = {
    "ha": 2,  # every area in hectares (stocks, flows, consumption, envelopes, paces in ha/an)
    "signed": 2,  # net flows in hectares, written with a sign
    "pct": 1,  # shares of an envelope, of a stock (artificialised %, used %)
    "pct_area": 2,  # shares of the territory's area (consumption is a small share)
    "m2": 0,  # square metres (per new inhabitant)
    "int": 0,  # counts, populations
    "rate": 4,  # annual rates (LCR, PGR)
    "ratio": 2,  # ratios (LCRPGR, households + jobs per ha)
    "km2": 2,  # effective mesh sizes (fragmentation)
    "signed_km2": 2,  # their change, with a sign
    "signed_pct": 1,  # a relative change, with a sign
    "mesh": 2,  # effective mesh density, meshes per 1 000 km²
    "signed_mesh": 2,  # its change, with a sign
}


def fmt(value: Any, kind: str) -> str:
    """A figure written by its kind, with the kind's fixed number of decimals (:data:`DECIMALS`).

    Kinds ``year``, ``bool`` and ``text`` are written as such; any other kind must be in
    :data:`DECIMALS`.

    Examples
    --------
    >>> fmt(827.7, "ha").replace(NNBSP, " ")
    '827,70'
    >>> fmt(-3.2, "signed")
    '−3,20'
    >>> fmt(True, "bool"), fmt(2021.0, "year")
    ('oui', '2021')
    """
    if kind == "year":
        return year(value)
    if kind == "bool":
        return "oui" if (value is True or str(value).lower() == "true") else "non"
    if kind == "text":
        return "" if _is_missing(value) and not isinstance(value, str) else str(value)
    return number(value, decimals=DECIMALS[kind], signed=kind.startswith("signed"))


def fmt_unit(value: Any, kind: str) -> str:
    """A figure with its unit: ``827,70 ha``, ``12,3 %``, ``73 m²``."""
    unit = {"ha": "ha", "signed": "ha", "pct": "%", "pct_area": "%", "m2": "m²", "km2": "km²", "signed_km2": "km²",
            "signed_pct": "%"}.get(kind, "")
    text = fmt(value, kind)
    return text if (not unit or text == MISSING) else f"{text}{NNBSP}{unit}"
