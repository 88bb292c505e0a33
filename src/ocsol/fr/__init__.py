"""French words and number formats of every report, index and open-data label — one place.

The computing code emits keys and values (``status = "will exceed"``, ``measure =
"decret_matrix"``, a QA row keyed ``ocsge.repaired_vintage``); the reports word them here:

- :func:`text` — a sentence or label of the catalogue (``catalogue.csv``: ``group, key, text``,
  ``{name}`` placeholders filled from keyword arguments);
- :mod:`ocsol.fr.format` — the one number formatter (:func:`~ocsol.fr.format.fmt`: fixed
  decimals per kind of figure).

This package imports nothing else from ocsol (bottom level): any layer may use it.

Examples
--------
>>> text("level", "epci")
'EPCI'
>>> text("measure_short", "decret_matrix")
'matrice du décret, seuils non appliqués (valeurs indicatives)'
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from typing import Any

from . import format
from .format import fmt, fmt_unit

__all__ = ["text", "has", "keys", "fmt", "fmt_unit", "format", "level_label"]


@lru_cache(maxsize=1)
def _catalogue() -> dict[tuple[str, str], str]:
    path = resources.files("ocsol.fr").joinpath("catalogue.csv")
    with path.open(encoding="utf-8", newline="") as f:  # type: ignore[call-overload]  # newline= reaches open()
        rows = list(csv.DictReader(f))
    out: dict[tuple[str, str], str] = {}
    for r in rows:
        k = (r["group"], r["key"])
        if k in out:
            raise ValueError(f"ocsol/fr/catalogue.csv: duplicate key {k}")
        out[k] = r["text"]
    return out


def has(group: str, key: str) -> bool:
    """Whether the catalogue words ``key`` in ``group``."""
    return (group, str(key)) in _catalogue()


def keys(group: str) -> list[str]:
    """The keys of one group, in catalogue order."""
    return [k for g, k in _catalogue() if g == group]


def text(group: str, key: Any, default: str | None = None, **params: Any) -> str:
    """The French text of ``key`` in ``group``, placeholders filled from ``params``.

    Raises
    ------
    KeyError
        When the key is not in the catalogue and no ``default`` is given.
    """
    template = _catalogue().get((group, str(key)))
    if template is None:
        if default is None:
            raise KeyError(f"ocsol/fr/catalogue.csv has no key {key!r} in group {group!r}")
        template = default
    return template.format_map(_Params(params))


class _Params(dict):
    """Placeholders without a value are written ``n.d.`` (visible), never dropped silently."""

    def __missing__(self, key: str) -> str:
        return format.MISSING


def level_label(level: str) -> str:
    """French label of a territory level (``epci`` → ``EPCI``; unknown levels capitalised)."""
    return text("level", level, default=level.replace("_", " ").capitalize())
