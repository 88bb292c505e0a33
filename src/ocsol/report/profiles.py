"""Report profiles: which sections a territory's report has, in which order, under which frame.

A profile is a template of sections (``ocsol/data/report_profiles.csv``: ``profile, section,
mandatory``), not a copy of the report. Five profiles:

- ``rapport_local`` — commune or EPCI with a PLU(i) / carte communale: the CGCT L. 2231-1 /
  R. 2231-1 frame (title, front matter, evaluation of the objectives, reasons for the changes);
- ``rnu_ddt`` — commune under the règlement national d'urbanisme (its ``guarantee_reason`` is
  ``rnu``): the same frame, written by the DDT;
- ``bilan_scot`` — SCoT (L. 143-28 code de l'urbanisme, not L. 2231-1);
- ``diagnostic`` — département, région, any other grouping: no CGCT title, no verdict;
- ``occupation_sol`` — raster-only or non-French zones (no Cerema data): a land-cover change
  report, no CGCT, Cerema or guarantee text.

:func:`choose_profile` picks one from the level and the inputs; ``[report].profile`` (all
territories) and ``[report].profiles`` (``level`` or ``"level:code"`` → profile) override it.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from typing import Any

from ..errors import ConfigError

PROFILES = ("rapport_local", "rnu_ddt", "bilan_scot", "diagnostic", "occupation_sol")
#: Profiles written in the CGCT L. 2231-1 frame (title, front matter, evaluation of objectives).
CGCT = frozenset({"rapport_local", "rnu_ddt"})
#: Profiles that may state whether an objective is met (only against a binding target).
VERDICT = frozenset({"rapport_local", "rnu_ddt", "bilan_scot"})
#: Section whose content is built by another section's builder.
CONTENT_OF = {"occupation": "artificialisation"}
#: Sections filled from the territory's Markdown texts ([report].texts).
TEXT_SECTIONS = ("raisons", "renaturation", "objectifs", "autres")


@lru_cache(maxsize=1)
def _table() -> dict[str, list[tuple[str, bool]]]:
    path = resources.files("ocsol").joinpath("data", "report_profiles.csv")
    out: dict[str, list[tuple[str, bool]]] = {}
    with path.open(encoding="utf-8", newline="") as f:  # type: ignore[call-overload]  # newline= reaches open()
        for r in csv.DictReader(f):
            out.setdefault(r["profile"], []).append((r["section"], r["mandatory"] == "True"))
    return out


def sections(profile: str) -> list[tuple[str, bool]]:
    """``(section, mandatory)`` of a profile, in report order.

    >>> [s for s, _ in sections("occupation_sol")]
    ['identite', 'occupation', 'comparaison', 'fragmentation', 'autres', 'methodologie']
    """
    try:
        return list(_table()[profile])
    except KeyError:
        raise ConfigError(f"[report].profile: unknown profile {profile!r}; choose one of {', '.join(PROFILES)}") from None


def choose_profile(level: str, code: str, *, tables: dict[str, Any], meta: dict[str, Any]) -> str:
    """The profile of one territory: the configured override, else from its level and inputs.

    Parameters
    ----------
    level, code
        The territory.
    tables
        Its sliced indicator tables (``consumption``, ``zan``, ``stock_summary``, ``flows``).
    meta
        The run's manifest (``report_profile``, ``report_profiles``).

    Examples
    --------
    >>> choose_profile("dep", "33", tables={}, meta={})
    'diagnostic'
    >>> choose_profile("dep", "33", tables={}, meta={"report_profiles": {"dep:33": "bilan_scot"}})
    'bilan_scot'
    """
    overrides = meta.get("report_profiles") or {}
    for key in (f"{level}:{code}", level):
        if key in overrides:
            return _checked(overrides[key], f"[report].profiles.{key}")
    if meta.get("report_profile"):
        return _checked(meta["report_profile"], "[report].profile")
    cons = tables.get("consumption")
    has_cons = cons is not None and len(cons) > 0
    land = [t for t in (tables.get("stock_summary"), tables.get("flows")) if t is not None and len(t)]
    # raster-only: every land row is a raster proxy (a zone with OCS GE too is not raster-only)
    raster = bool(land) and all(set(t["measure"].astype(str)) == {"raster_proxy"} if "measure" in t.columns
                                else str(t["source"].iloc[0]).startswith("raster") for t in land)
    if not has_cons and (raster or level == "zone"):
        return "occupation_sol"
    if level == "commune":
        z = tables.get("zan")
        if z is not None and len(z) and "guarantee_reason" in z.columns and str(z["guarantee_reason"].iloc[0]) == "rnu":
            return "rnu_ddt"
        return "rapport_local"
    if level == "epci":
        return "rapport_local"
    if level == "scot":
        return "bilan_scot"
    return "diagnostic"


def _checked(profile: Any, where: str) -> str:
    if profile not in PROFILES:
        raise ConfigError(f"{where} = {profile!r}: unknown report profile; choose one of {', '.join(PROFILES)}")
    return str(profile)
