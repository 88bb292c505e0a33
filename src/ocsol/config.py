"""The ``ocsol.toml`` configuration: parse, check every key, resolve paths.

The file is TOML (stdlib :mod:`tomllib`). Paths are relative to the file. Every key is known
in advance (:data:`SCHEMA`): an unknown key is an error with a suggestion, never ignored.
Defaults live here and only here.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from dataclasses import dataclass, field
from datetime import date as date_type
from pathlib import Path
from typing import Any

from .errors import ConfigError, close_matches

# Sentinel meaning "a sub-table whose keys are free (years → paths, level → column)".
FREE_TABLE = "free-table"

#: section -> key -> default. ``None`` means optional with no default; ``REQUIRED`` must be given.
REQUIRED = object()

SCHEMA: dict[str, dict[str, Any]] = {
    "": {"crs": "EPSG:2154", "title": None},
    "territories": {
        "path": REQUIRED,
        "layer": None,
        "code": None,  # detected when absent (CODE_INSEE, insee_com, code, …)
        "name": None,
        "area": None,
        "area_unit": "ha",
        "levels": FREE_TABLE,
        "membership": None,
        "membership_code": None,
        "names": FREE_TABLE,
        # reports (i12): honest perimeters and synthetic inputs
        "perimeters": None,  # CSV level, code, n_communes[, cog]: expected members (partial parents say so)
        "synthetic": False,  # the territories themselves are invented (banner on every report)
    },
    "ocsge": {
        "rule": "decret-2023",
        "cs_field": None,
        "us_field": None,
        "layer": None,
        "vintages": FREE_TABLE,
        "diff": [],
        "min_coverage": 0.99,
        "repair": True,
        "batch_rows": 100_000,  # polygons decoded at a time while streaming a vintage (memory, not results)
        # issue 13 (France-wide on Dask): inputs per département, see ocsol.departements
        "departements": None,  # list of codes for {dep} in paths, or a CSV table departement,<year>,…
        "synthetic": False,  # the [ocsge.vintages] layers are SYNTHETIC (banner on the reports using them)
        # IGN OCS GE Artificialisation products (measure decret_ign, issue 10):
        # [ocsge.artif] vintages = {year = path}, layer; [[ocsge.artif_diff]] from, to, paths, layer
        "artif": {},
        "artif_diff": [],
    },
    # issue 15: décret thresholds computed by ocsol from raw OCS GE (docs/thresholds.md). Written
    # [ocsge.thresholds] in the file; defaults follow MonDiagArtif's 2024 reference (THRESHOLDS.md §2)
    "ocsge.thresholds": {
        "enabled": True,
        "adjacency": "queen",  # "queen" (touching at a point links) or "rook" (a shared edge)
        "schedule": "simultaneous",  # order of the rules: simultaneous, rule1_then_rule2, rule2_then_rule1, fixpoint
        "edge_policy": "flip",  # patches touching the data edge: "flip" like others, or "protect"
        "built_scope": "polygon",  # R3 keeps the built "polygon" artificial, or its whole "patch"
        "area_m2": 2500.0,  # area threshold (a patch strictly smaller flips)
        "built_m2": 50.0,  # built-land threshold
        "built_cs": ["CS1.1.1.1"],  # couverture codes counted as built land
        "snap_m": 0.0,  # snap to this grid (m) before testing adjacency; 0 = none
        "edge": None,  # polygon layer of the area the data cover (default: the union of each vintage)
        # polygons taken out of the connectivity graph, "cs/us" patterns (THRESHOLDS.md Q4); off as the reference
        "exclude_from_connectivity": [],  # e.g. ["CS1.1.1.2/US4.1.*"]: roads and rail do not enclose land
    },
    # issue 15: effective mesh size of non-artificial land (docs/thresholds.md#fragmentation)
    "fragmentation": {
        "barrier": "matrix",  # artificial land by the "matrix", after the "thresholds", or "both"
        "adjacency": "queen",  # open land touching at a point is connected ("queen") or not ("rook")
        "lines": [],  # extra linear barrier layers (roads, rail…), paths
        "buffer_m": 0.5,  # half-width given to linear barriers (m)
    },
    "consumption": {"path": REQUIRED, "code": "idcom", "sheet": None},
    # code: detected when absent (insee_com, codgeo, …); header_row: 1-based header line under
    # INSEE title lines, detected when absent (issue 10, INSEE tables as published)
    "population": {"path": REQUIRED, "code": None, "sheet": None, "header_row": None},
    "households": {"path": REQUIRED, "code": None, "sheet": None, "header_row": None},
    "jobs": {"path": REQUIRED, "code": None, "sheet": None, "header_row": None},
    "zan": {  # ZAN trajectory (issue 11: targets as documents, guarantee, deductions, after 2031)
        "reference": [2011, 2020],
        "period": [2021, 2030],
        "national_default_pct": 50.0,  # art. 191 loi 2021-1104; never binding
        "target_pct": None,  # former name of national_default_pct (still read)
        "region_default_pct": 54.5,  # arrêté du 31 mai 2024: region level only, regions with a SRADDET
        "region_level": "region",  # level key of the regions in [territories].levels
        "no_sraddet_regions": ["11", "94", "01", "02", "03", "04", "06"],  # SDRIF, PADDUC, SAR
        "targets": None,  # level, code, target_pct | envelope_ha, document, doc_status…
        "guarantee_ha": 1.0,  # garantie communale, first decade, communes only (0 turns it off)
        "documents": None,  # code, type (PLU|PLUi|CC|PSMV|RNU), prescription/arret/approval dates
        "guarantee_cutoff": "2026-08-22",  # eligible if a document date is before it
        "guarantee_deleguees": None,  # communes déléguées table with creation_date
        "guarantee_per_deleguee_ha": 0.5,
        "guarantee_cap_ha": 2.0,
        "guarantee_cap_applies_to": "total",  # "total" or "bonus" (DOMAIN §7.2, unsettled)
        "commune_nouvelle_since": "2011-01-01",
        "mutualisation": None,  # commune, epci: guarantee pooled by the EPCI
        "pool_amount": "top_up",  # "top_up" or "guarantee": what a pooled commune adds to the pool
        "deductions": None,  # code, year, type (pene|pv|renaturation|other), area_ha, reference, source
        "count_renaturation": False,  # R. 2231-1 1° CGCT: an option of the council
        "confidence_min_years": 3,
        "confidence_max_year_share": 0.5,
        "decades": [],  # indicative ENAF decades after the period: [[2031, 2040, 50], …]; none by default
        "net_targets": [],  # [[zan.net_targets]]: net artificialisation after the ENAF decade
        "horizon": 2050,
    },
    "efficiency": {
        "periods": None,  # list of [start, end]; default: reference decade and current period
        "sdg_variant": "ln",
        "sdg_vintages": None,
    },
    "compare": {"neighbours": 8, "with": None},
    "raster": {
        "legend": REQUIRED,
        "vintages": FREE_TABLE,
        "block_size": 2048,  # window side in pixels (rounded to the raster's internal blocks)
        "allow_version_change": True,
        "unknown": "error",  # values outside the legend: "error" (list them) or "nodata" (uncovered)
        "threads": 0,  # worker threads for the crosstab; 0 = one per CPU
        "synthetic": False,  # the rasters are SYNTHETIC (banner on the reports)
        "versions": FREE_TABLE,  # year -> product version (v100, v200): a change across versions is partly method change
        # raster coverage (issue 9, item 10): zones covered below this share get empty figures
        "min_coverage": 0.99,
    },
    "cog": {  # commune-code reconciliation of commune-keyed sources (ocsol.cog)
        "changes": None,  # INSEE commune changes CSV (MOD, DATE_EFF, TYPECOM_AV, COM_AV, TYPECOM_AP, COM_AP)
        "deleguees": None,  # communes déléguées/associées CSV (insee_old -> insee_chef_lieu)
        "weights": None,  # split shares CSV (old_code, new_code, weight); default: area shares
        "since": None,  # only changes effective on or after this date (YYYY-MM-DD)
    },
    "report": {
        "title": None,
        "author": None,
        "levels": None,
        "territories": None,
        # report profiles, front matter and editable texts (i12)
        "profile": None,  # force one profile for every territory (rapport_local, rnu_ddt, bilan_scot, ...)
        "profiles": FREE_TABLE,  # level or "level:code" -> profile
        "year": None,  # year of the report (e.g. 2027); default: the year it is produced
        "period": None,  # [first, last] civil years covered; default: the consumption years shown
        "texts": None,  # Markdown texts per territory, e.g. "textes/{level}-{code}.md"
        "previous": None,  # date or reference of the previous report
    },
}

DIFF_KEYS = {"from": REQUIRED, "to": REQUIRED, "paths": REQUIRED, "rule": None, "layer": None, "synthetic": False}
ARTIF_KEYS = {"vintages": FREE_TABLE, "layer": None}  # [ocsge.artif]
ARTIF_DIFF_KEYS = {"from": REQUIRED, "to": REQUIRED, "paths": REQUIRED, "layer": None}  # [[ocsge.artif_diff]]


# --- value types ------------------------------------------------------------------------------
# Every value of the file is checked against one schema. The type of a key is inferred from its
# default in SCHEMA (text, number, integer, true/false, list); TYPES gives it explicitly where the
# default does not say enough (None defaults, years, enumerations, ranges, tables). A key added
# to SCHEMA with a typed default is therefore checked without touching TYPES.


@dataclass(frozen=True)
class Spec:
    """The type of one configuration value.

    ``kind`` is one of ``text``, ``number``, ``integer``, ``year``, ``bool``, ``date``, ``enum``,
    ``list`` (``item`` = type of each element, ``length`` = exact length), ``tuple`` (``items`` =
    type of each position), ``table`` (``item`` = type of each value, ``keys`` = ``"year"`` when
    the keys are years), ``either`` (``items`` = the alternatives) or ``any``.
    """

    kind: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    item: Spec | None = None
    items: tuple[Spec, ...] = ()
    length: int | None = None
    keys: str = ""
    what: str = ""


TEXT = Spec("text")
PATH = Spec("text", what="a file path")
COLUMN = Spec("text", what="a column name")
YEAR = Spec("year")
SHARE = Spec("number", low=0.0, high=1.0, what="a share between 0 and 1")
PCT = Spec("number", low=0.0, high=100.0, what="a percentage between 0 and 100 (a number, no % sign)")
HECTARES = Spec("number", low=0.0, what="hectares (a number ≥ 0)")
YEAR_PAIR = Spec("tuple", items=(YEAR, YEAR), what="[first year, last year]")
CODES = Spec("list", item=Spec("text", what="a territory code written as text (\"01001\")"))
VINTAGES = Spec("table", keys="year", item=PATH, what="year = \"file\"")

#: Explicit types, section -> key -> Spec, where the default does not say enough.
TYPES: dict[str, dict[str, Spec]] = {
    "": {"crs": TEXT, "title": TEXT},
    "territories": {
        "path": PATH, "layer": TEXT, "code": COLUMN, "name": COLUMN, "area": COLUMN,
        "area_unit": Spec("enum", choices=("ha", "m2", "km2")), "levels": Spec("table", item=COLUMN),
        "membership": PATH, "membership_code": COLUMN, "names": Spec("table", item=COLUMN),
    },
    "ocsge": {"rule": TEXT, "cs_field": COLUMN, "us_field": COLUMN, "layer": TEXT, "vintages": VINTAGES,
              "diff": Spec("list", item=Spec("table")), "min_coverage": SHARE},
    "ocsge.thresholds": {"exclude_from_connectivity": Spec("list", item=TEXT)},
    **{s: {"path": PATH, "code": COLUMN, "sheet": Spec("either", items=(TEXT, Spec("integer", low=0)))}
       for s in ("consumption", "population", "households", "jobs")},
    "zan": {
        "reference": YEAR_PAIR, "period": YEAR_PAIR, "national_default_pct": PCT, "target_pct": PCT,
        "region_default_pct": PCT, "region_level": TEXT, "no_sraddet_regions": CODES, "targets": PATH,
        "guarantee_ha": HECTARES, "documents": PATH, "guarantee_cutoff": Spec("date"),
        "guarantee_deleguees": PATH, "guarantee_per_deleguee_ha": HECTARES, "guarantee_cap_ha": HECTARES,
        "guarantee_cap_applies_to": Spec("enum", choices=("total", "bonus")),
        "commune_nouvelle_since": Spec("date"), "mutualisation": PATH,
        "pool_amount": Spec("enum", choices=("top_up", "guarantee")), "deductions": PATH,
        "confidence_max_year_share": SHARE, "horizon": YEAR,
        "decades": Spec("list", item=Spec("tuple", items=(YEAR, YEAR, PCT), what="[first year, last year, "
                                                                                  "reduction %]")),
        "net_targets": Spec("list", item=Spec("table")),
    },
    "efficiency": {"periods": Spec("list", item=YEAR_PAIR), "sdg_variant": Spec("enum", choices=("ln", "linear")),
                   "sdg_vintages": Spec("list", item=YEAR)},
    "compare": {"neighbours": Spec("integer", low=0), "with": CODES},
    "raster": {"legend": TEXT, "vintages": VINTAGES, "block_size": Spec("integer", low=1),
               "unknown": Spec("enum", choices=("error", "nodata")), "threads": Spec("integer", low=0),
               "min_coverage": SHARE},
    "cog": {"changes": PATH, "deleguees": PATH, "weights": PATH, "since": Spec("date")},
    "report": {"title": TEXT, "author": TEXT, "levels": Spec("list", item=TEXT), "territories": CODES},
}
DIFF_TYPES = {"from": YEAR, "to": YEAR, "paths": Spec("either", items=(PATH, Spec("list", item=PATH))),
              "rule": TEXT, "layer": TEXT}


def spec_of(section: str, key: str) -> Spec:
    """The type of ``[section].key``: explicit in :data:`TYPES`, else inferred from its default."""
    explicit = TYPES.get(section, {}).get(key)
    if explicit is not None:
        return explicit
    return _infer(SCHEMA.get(section, {}).get(key))


def _infer(default: Any) -> Spec:
    if default is REQUIRED or default is None:
        return Spec("any")
    if isinstance(default, str):
        return Spec("table") if default == FREE_TABLE else TEXT
    if isinstance(default, bool):
        return Spec("bool")
    if isinstance(default, int):
        return Spec("integer")
    if isinstance(default, float):
        return Spec("number")
    if isinstance(default, list):
        return Spec("list", item=_infer(default[0]) if default else Spec("any"))
    if isinstance(default, dict):
        return Spec("table")
    return Spec("any")


def _shown(value: Any) -> str:
    kind = {bool: "true/false", int: "integer", float: "number", str: "text", list: "list", dict: "table"}
    text = repr(value) if not isinstance(value, dict | list) else str(value)
    return f"{kind.get(type(value), type(value).__name__)} {text[:40]}"


def check_value(value: Any, spec: Spec, where: str) -> list[str]:
    """Problems of one value against its type, each naming the key path (empty when fine).

    >>> print(*check_value("50%", spec_of("zan", "target_pct"), "[zan] target_pct"))
    [zan] target_pct: expected a percentage between 0 and 100 (a number, no % sign), found text '50%'
    >>> print(*check_value({"epci": 5}, spec_of("territories", "levels"), "[territories] levels"))
    [territories] levels.epci: expected a column name (text), found integer 5
    """
    k = spec.kind
    want = spec.what
    if k == "any":
        return []
    if k == "either":
        if any(not check_value(value, alt, where) for alt in spec.items):
            return []
        return [f"{where}: expected {want or ' or '.join(_describe(a) for a in spec.items)}, found {_shown(value)}"]
    ok = True
    problems: list[str] = []
    if k == "date" and isinstance(value, date_type):  # a TOML date
        return []
    if k in ("text", "enum", "date"):
        ok = isinstance(value, str)
        if ok and k == "enum" and value not in spec.choices:
            return [f"{where} = {value!r}: use one of {', '.join(repr(c) for c in spec.choices)}"]
        if ok and k == "date" and not _is_date(value):
            return [f"{where} = {value!r}: expected a date YYYY-MM-DD (or DD/MM/YYYY)"]
    elif k == "bool":
        ok = isinstance(value, bool)
    elif k in ("number", "integer", "year"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and k in ("integer", "year") and not float(value).is_integer():
            ok = False
        if ok and k == "year" and not 1900 <= value <= 2100:
            return [f"{where} = {value}: not a plausible year (1900–2100)"]
        if ok and ((spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high)):
            return [f"{where} = {value}: expected {want or _describe(spec)}"]
    elif k in ("list", "tuple"):
        ok = isinstance(value, list)
        n = len(spec.items) if k == "tuple" else spec.length
        if ok and n is not None and len(value) != n:
            return [f"{where}: expected {want or _describe(spec)}, found a list of {len(value)}"]
        if ok:
            for i, v in enumerate(value):
                sub = spec.items[i] if k == "tuple" else spec.item
                if sub is not None:
                    problems += check_value(v, sub, f"{where}[{i}]")
    elif k == "table":
        ok = isinstance(value, dict)
        if ok:
            years: dict[int, str] = {}
            for key, v in value.items():
                if spec.keys == "year":
                    year = _as_year(key)
                    if year is None:
                        problems.append(f"{where}: vintage {key!r} is not a year; use e.g. 2019")
                    elif year in years:
                        problems.append(f"{where}: keys {years[year]!r} and {key!r} name the same vintage {year}; "
                                        "keep one")
                    else:
                        years[year] = str(key)
                if spec.item is not None:
                    problems += check_value(v, spec.item, f"{where}.{key}")
    if not ok:
        expected = (want + (" (text)" if k == "text" else "")) if want else _describe(spec)
        return [f"{where}: expected {expected}, found {_shown(value)}"]
    return problems


def _describe(spec: Spec) -> str:
    names = {"text": "text", "number": "a number", "integer": "an integer", "year": "a year", "bool": "true or false",
             "date": "a date YYYY-MM-DD", "list": "a list", "tuple": "a list", "table": "a table",
             "enum": "one of " + ", ".join(spec.choices), "any": "a value"}
    out = spec.what or names.get(spec.kind, spec.kind)
    if spec.kind in ("number", "integer") and not spec.what and (spec.low is not None or spec.high is not None):
        out += f" in [{spec.low if spec.low is not None else '…'}, {spec.high if spec.high is not None else '…'}]"
    return out


def _as_year(key: object) -> int | None:
    try:
        year = int(str(key).strip())
    except ValueError:
        return None
    return year if 1900 <= year <= 2100 else None


def _is_date(text: str) -> bool:
    import re

    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})|(\d{2})/(\d{2})/(\d{4})", text.strip())
    if not m:
        return False
    y, mo, d = (m[1], m[2], m[3]) if m[1] else (m[6], m[5], m[4])
    try:
        date_type(int(y), int(mo), int(d))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Config:
    """A checked configuration.

    Attributes
    ----------
    sections
        Section name -> dict of values, defaults filled in ("" is the top level).
    base_dir
        Folder that relative paths are resolved against.
    source
        The file it was read from, if any.
    """

    sections: dict[str, dict[str, Any]]
    base_dir: Path
    source: Path | None = None
    present: frozenset[str] = field(default_factory=frozenset)

    def has(self, section: str) -> bool:
        """Whether the file has this section (``[section]``)."""
        return section in self.present

    def get(self, section: str, key: str, default: Any = None) -> Any:
        value = self.sections.get(section, {}).get(key)
        return default if value is None else value

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """A path from the file, made absolute against the file's folder."""
        p = Path(os.path.expanduser(str(path)))
        return Path(os.path.normpath(p if p.is_absolute() else (self.base_dir / p)))

    def input_paths(self) -> list[Path]:
        """Every existing file the configuration names (any string value that resolves to a file),
        and the configuration file itself: what an output folder must never hold."""
        found: list[Path] = [self.source.resolve()] if self.source else []

        def walk(value: Any) -> None:
            if isinstance(value, str) and value.strip():
                p = self.resolve(value)
                with contextlib.suppress(OSError, ValueError):
                    if p.is_file():
                        found.append(p)
            elif isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list | tuple):
                for v in value:
                    walk(v)

        walk(self.sections)
        if self.sections.get("ocsge", {}).get("departements"):  # per-département files ({dep}, table)
            from .departements import plan_ocsge
            from .errors import OcsolError

            with contextlib.suppress(OcsolError, OSError):
                for inputs in plan_ocsge(self):
                    walk([str(p) for p in inputs.vintages.values()])
                    walk([str(p) for d in inputs.diffs for p in d.paths])
        return list(dict.fromkeys(found))

    @property
    def crs(self) -> str:
        return str(self.sections[""]["crs"])

    @property
    def label(self) -> str:
        return str(self.source) if self.source else "configuration"


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and check a TOML configuration file.

    Raises
    ------
    ConfigError
        On a missing file, a TOML syntax error (with its line), an unknown key (with a
        suggestion) or a value of the wrong kind.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: configuration file not found; pass --config with an existing ocsol.toml")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: TOML syntax error: {exc}; fix the file at that line") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text ({exc.reason}); save the file as UTF-8") from None
    return config_from_dict(data, base_dir=p.parent.resolve(), source=p)


def config_from_dict(
    data: dict[str, Any], *, base_dir: str | os.PathLike[str] = ".", source: Path | None = None
) -> Config:
    """Check a configuration given as a dict (as parsed from TOML)."""
    label = str(source) if source else "configuration"
    problems: list[str] = []
    sections: dict[str, dict[str, Any]] = {}
    present: set[str] = set()
    top_keys = set(SCHEMA[""])
    section_names = [s for s in SCHEMA if s]
    top: dict[str, Any] = {}
    data = _nested_sections(data, problems)
    for key, value in data.items():
        if key in SCHEMA and key:
            if not isinstance(value, dict):
                problems.append(f"[{key}] must be a table, found {type(value).__name__}")
                continue
            present.add(key)
            sections[key] = _check_section(key, value, problems)
        elif key in top_keys:
            problems += check_value(value, spec_of("", key), key) if value is not None else []
            top[key] = value
        else:
            problems.append(
                f"unknown key {key!r}" + close_matches(key, list(top_keys) + section_names)
            )
    sections[""] = {k: top.get(k, d) for k, d in SCHEMA[""].items()}
    for name in section_names:
        if name not in sections:
            sections[name] = {
                k: (None if d is REQUIRED else ({} if d == FREE_TABLE else d))
                for k, d in SCHEMA[name].items()
            }
    if problems:
        raise ConfigError(f"{label}: " + "; ".join(problems))
    return Config(sections=sections, base_dir=Path(base_dir), source=source, present=frozenset(present))


def _nested_sections(data: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """``[a.b]`` tables known to :data:`SCHEMA` as sections named ``"a.b"`` (e.g. ``[ocsge.thresholds]``)."""
    out = dict(data)
    for name in SCHEMA:
        if "." not in name:
            continue
        parent, child = name.split(".", 1)
        if isinstance(out.get(parent), dict) and child in out[parent]:
            value = out[parent][child]
            out[parent] = {k: v for k, v in out[parent].items() if k != child}
            if not isinstance(value, dict):
                problems.append(f"[{name}] must be a table, found {type(value).__name__}")
                continue
            out[name] = value
    return out


def _check_section(name: str, values: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    schema = SCHEMA[name]
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in schema:
            problems.append(f"unknown key {key!r} in [{name}]" + close_matches(key, schema))
            continue
        problems += check_value(value, spec_of(name, key), f"[{name}] {key}")
        out[key] = value
    for key, default in schema.items():
        if key in out:
            continue
        if default is REQUIRED:
            problems.append(f"[{name}] needs a {key!r} key")
            out[key] = None
        elif default == FREE_TABLE:
            out[key] = {}
        else:
            out[key] = default
    if name == "ocsge":
        diffs = out.get("diff") or []
        if not isinstance(diffs, list):
            problems.append("[ocsge].diff must be an array of tables: [[ocsge.diff]]")
            diffs = []
        for i, entry in enumerate(diffs, start=1):
            if not isinstance(entry, dict):
                continue  # reported by the type check of [ocsge] diff
            for key in entry:
                if key not in DIFF_KEYS:
                    problems.append(
                        f"unknown key {key!r} in [[ocsge.diff]] #{i}" + close_matches(key, DIFF_KEYS)
                    )
                else:
                    problems += check_value(entry[key], DIFF_TYPES[key], f"[[ocsge.diff]] #{i} {key}")
            for key, default in DIFF_KEYS.items():
                if default is REQUIRED and key not in entry:
                    problems.append(f"[[ocsge.diff]] #{i} needs a {key!r} key")
        out["diff"] = diffs
        out["artif"], out["artif_diff"] = _check_artif(out.get("artif"), out.get("artif_diff"), problems)
    return out


def _check_artif(artif: Any, diffs: Any, problems: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``[ocsge.artif]`` and ``[[ocsge.artif_diff]]`` (IGN OCS GE Artificialisation products)."""
    if not isinstance(artif, dict):
        problems.append("[ocsge].artif must be a table: [ocsge.artif.vintages] with year = path")
        artif = {}
    for key in artif:
        if key not in ARTIF_KEYS:
            problems.append(f"unknown key {key!r} in [ocsge.artif]" + close_matches(key, ARTIF_KEYS))
    if not isinstance(artif.get("vintages", {}), dict):
        problems.append("[ocsge.artif].vintages must be a table: [ocsge.artif.vintages] with year = path")
    artif = {"vintages": dict(artif.get("vintages") or {}), "layer": artif.get("layer")}
    if not isinstance(diffs, list) or not all(isinstance(d, dict) for d in diffs):
        problems.append("[ocsge].artif_diff must be an array of tables: [[ocsge.artif_diff]]")
        return artif, []
    for i, entry in enumerate(diffs, start=1):
        for key in entry:
            if key not in ARTIF_DIFF_KEYS:
                problems.append(f"unknown key {key!r} in [[ocsge.artif_diff]] #{i}" + close_matches(key, ARTIF_DIFF_KEYS))
        for key, default in ARTIF_DIFF_KEYS.items():
            if default is REQUIRED and key not in entry:
                problems.append(f"[[ocsge.artif_diff]] #{i} needs a {key!r} key")
    return artif, diffs
