"""The ``ocsol.toml`` configuration: parse once, check every key, resolve paths.

The file is TOML (stdlib :mod:`tomllib`). Paths are relative to the file. It is read once into
frozen dataclasses, one per section (:class:`Territories`, :class:`Ocsge`, :class:`Zan`, …),
gathered in :class:`Config`; the rest of the package reads attributes (``config.zan.period``),
never string keys. Every key is declared here, with its default, its type (:class:`Spec`) and its
help text in the field metadata: an unknown key is an error with a suggestion, never ignored; a
value of the wrong type, range or choice is an error naming its key path. Defaults live here and
only here, and ``docs/config.md`` is generated from these definitions (:func:`reference_markdown`).

>>> cfg = config_from_dict({"territories": {"path": "communes.gpkg"}, "zan": {"period": [2021, 2030]}})
>>> cfg.zan.period, cfg.zan.guarantee_ha, cfg.has("zan"), cfg.has("raster")
([2021, 2030], 1.0, True, False)
"""

from __future__ import annotations

import copy
import functools
import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import date as date_type
from pathlib import Path
from typing import Any, ClassVar

from .errors import ConfigError, close_matches

# --- value types ------------------------------------------------------------------------------
# Every value of the file is checked against its Spec: declared on the key, or inferred from its
# default (text, number, integer, true/false, list, table).


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


def _infer(default: Any) -> Spec:
    """The type of a key from its default: text, number, integer, true/false, list or table."""
    if default is None:
        return Spec("any")
    if isinstance(default, str):
        return TEXT
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


# --- the sections -----------------------------------------------------------------------------
# One frozen dataclass per section. Each field is one key: ``key(default, help, spec)``. The type
# of a key is ``spec`` when given, else inferred from its default (text, number, integer,
# true/false, list, table: :func:`_infer`); a key whose default is ``None`` and has no spec takes
# any value (its reader checks it). ``required=True``: the section needs the key.


def key(default: Any = None, help: str = "", spec: Spec | None = None, *, toml: str | None = None,
        required: bool = False) -> Any:
    """One configuration key: its default, help text (for docs/config.md) and type.

    A required key is ``None`` only when its whole section is absent (``config.has(section)``
    says so); a file with the section but not the key is refused.

    ``toml`` is the key's name in the file when it is not a Python name (``from``, ``with``).
    """
    meta = {"help": help, "spec": spec if spec is not None else _infer(default), "toml": toml,
            "required": required, "default": default}
    if isinstance(default, list | dict | Section):  # mutable: each instance gets its own copy
        return field(default_factory=functools.partial(copy.deepcopy, default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Section:
    """Base of the section dataclasses: the TOML name of each key, and the values as a dict."""

    #: The section's name in the file (``"zan"``, ``"ocsge.thresholds"``; ``""`` for the top level).
    NAME: ClassVar[str] = ""
    #: One sentence for the reference.
    ABOUT: ClassVar[str] = ""

    @classmethod
    def keys(cls) -> dict[str, Any]:
        """TOML key -> dataclass field, in declaration order."""
        return {f.metadata.get("toml") or f.name: f for f in fields(cls)}

    def as_dict(self) -> dict[str, Any]:
        """The values keyed by their TOML names, in declaration order (JSON-able for the manifest)."""
        return {k: getattr(self, f.name) for k, f in self.keys().items()}

    def items(self) -> Iterator[tuple[str, Any, Spec]]:
        """``(toml key, value, spec)`` of every key."""
        for k, f in self.keys().items():
            yield k, getattr(self, f.name), f.metadata["spec"]


@dataclass(frozen=True)
class General(Section):
    NAME = ""
    ABOUT = "Keys at the top of the file, before any section."
    crs: str = key("EPSG:2154", "Working CRS of the vector side (projected, metres).", TEXT)
    title: str | None = key(None, "Title of the run (reports, index, open data).", TEXT)


@dataclass(frozen=True)
class Territories(Section):
    NAME = "territories"
    ABOUT = "The communes and their parent levels (required)."
    path: str | None = key(None, "Commune polygons, or a CSV/XLSX table without geometry.", PATH, required=True)
    layer: str | None = key(None, "Layer of a multi-layer file (GeoPackage).", TEXT)
    code: str | None = key(None, "Commune code column (detected when absent: CODE_INSEE, insee_com, code, …).",
                           COLUMN)
    name: str | None = key(None, "Commune name column.", COLUMN)
    area: str | None = key(None, "Official area column (required without geometry).", COLUMN)
    area_unit: str = key("ha", "Unit of the area column.", Spec("enum", choices=("ha", "m2", "km2")))
    levels: dict[str, str] = key({}, "Parent levels: level = column of the parent's code "
                                     "(`{ epci = \"SIREN_EPCI\" }`).", Spec("table", item=COLUMN))
    membership: str | None = key(None, "Membership table: commune code + one column per level.", PATH)
    membership_code: str | None = key(None, "Commune code column of the membership table.", COLUMN)
    names: dict[str, str] = key({}, "Parent names: level = column of the parent's name.", Spec("table", item=COLUMN))
    perimeters: str | None = key(None, "CSV level, code, n_communes[, cog]: expected members per parent "
                                       "(a partial parent says so and gets no verdict).")
    synthetic: bool = key(False, "The territories are invented (banner on every report).")


@dataclass(frozen=True)
class OcsgeDiff(Section):
    NAME = "[ocsge.diff]"
    ABOUT = "An IGN change layer (fields cs_<Y1>, us_<Y1>, cs_<Y2>, us_<Y2>), one `[[ocsge.diff]]` per pair."
    from_: int = key(None, "First year of the pair.", YEAR, toml="from", required=True)
    to: int = key(None, "Second year of the pair.", YEAR, required=True)
    paths: str | list[str] = key(None, "The change layer file(s) of the pair.",
                                 Spec("either", items=(PATH, Spec("list", item=PATH))), required=True)
    rule: str | None = key(None, "Rule table of this change layer (default: `[ocsge].rule`).", TEXT)
    layer: str | None = key(None, "Layer of a multi-layer file.", TEXT)
    synthetic: bool = key(False, "The layer is synthetic (banner on the reports using it).")


@dataclass(frozen=True)
class ArtifProducts(Section):
    NAME = "ocsge.artif"
    ABOUT = ("IGN OCS GE Artificialisation products (measure `decret_ign`): "
             "`[ocsge.artif.vintages]` year = path.")
    vintages: dict[str, str] = key({}, "year = \"file\" of the artificialisation layers.", Spec("any"))
    layer: str | None = key(None, "Layer of a multi-layer file.", Spec("any"))


@dataclass(frozen=True)
class ArtifDiff(Section):
    NAME = "[ocsge.artif_diff]"
    ABOUT = "An IGN artificialisation difference layer, one `[[ocsge.artif_diff]]` per pair."
    from_: int = key(None, "First year of the pair.", Spec("any"), toml="from", required=True)
    to: int = key(None, "Second year of the pair.", Spec("any"), required=True)
    paths: str | list[str] = key(None, "The difference layer file(s).", Spec("any"), required=True)
    layer: str | None = key(None, "Layer of a multi-layer file.", Spec("any"))


@dataclass(frozen=True)
class Ocsge(Section):
    NAME = "ocsge"
    ABOUT = "OCS GE vintages and change layers (artificialisation by the décret matrix or a rule table)."
    rule: str = key("decret-2023", "`decret-2023`, or a rule CSV: cs,us,artif,imper (shell patterns, "
                                   "first match wins).", TEXT)
    cs_field: str | None = key(None, "Couverture column (detected when absent).", COLUMN)
    us_field: str | None = key(None, "Usage column (detected when absent).", COLUMN)
    layer: str | None = key(None, "Layer of a multi-layer file.", TEXT)
    vintages: dict[str, str] = key({}, "`[ocsge.vintages]` year = \"file\".", VINTAGES)
    diff: list[OcsgeDiff] = key([], "`[[ocsge.diff]]` change layers (see below).", Spec("list", item=Spec("table")))
    min_coverage: float = key(0.99, "A commune a vintage touches must be covered at least this much.", SHARE)
    repair: bool = key(True, "Repair invalid geometries (counted in qa.csv).")
    batch_rows: int = key(100_000, "Polygons decoded at a time while streaming a vintage (memory, not results).")
    departements: Any = key(None, "Per-département inputs: a list of codes for `{dep}` in paths, or a CSV "
                                  "table departement,<year>,… (see docs/scale.md).")
    synthetic: bool = key(False, "The `[ocsge.vintages]` layers are synthetic (banner on the reports using them).")
    artif: ArtifProducts = key(ArtifProducts(), "`[ocsge.artif]` IGN artificialisation products (see below).",
                               Spec("table"))
    artif_diff: list[ArtifDiff] = key([], "`[[ocsge.artif_diff]]` IGN artificialisation differences (see below).")


@dataclass(frozen=True)
class Thresholds(Section):
    NAME = "ocsge.thresholds"
    ABOUT = ("Décret thresholds computed by ocsol from raw OCS GE (rows `measure = decret_thresholds`, "
             "docs/thresholds.md); defaults follow MonDiagArtif's 2024 reference.")
    enabled: bool = key(True, "Compute the thresholds.")
    adjacency: str = key("queen", "`queen` (touching at a point links) or `rook` (a shared edge).")
    schedule: str = key("simultaneous", "Order of the rules: simultaneous, rule1_then_rule2, rule2_then_rule1, "
                                        "fixpoint.")
    edge_policy: str = key("flip", "Patches touching the data edge: `flip` like others, or `protect`.")
    built_scope: str = key("polygon", "R3 keeps the built `polygon` artificial, or its whole `patch`.")
    area_m2: float = key(2500.0, "Area threshold (m²): a patch strictly smaller flips.")
    built_m2: float = key(50.0, "Built-land threshold (m²).")
    built_cs: list[str] = key(["CS1.1.1.1"], "Couverture codes counted as built land.")
    snap_m: float = key(0.0, "Snap to this grid (m) before testing adjacency; 0 = none.")
    edge: str | None = key(None, "Polygon layer of the area the data cover (default: the union of each vintage).")
    exclude_from_connectivity: list[str] = key(
        [], "Polygons taken out of the connectivity graph, `cs/us` patterns such as `[\"CS1.1.1.2/US4.1.*\"]` "
            "(THRESHOLDS.md Q4): roads and rail do not enclose land; off as the reference.", Spec("list", item=TEXT))


@dataclass(frozen=True)
class Fragmentation(Section):
    NAME = "fragmentation"
    ABOUT = "Effective mesh size of non-artificial land (docs/thresholds.md#fragmentation)."
    barrier: str = key("matrix", "Artificial land by the `matrix`, after the `thresholds`, or `both`.")
    adjacency: str = key("queen", "Open land touching at a point is connected (`queen`) or not (`rook`).")
    lines: list[str] = key([], "Extra linear barrier layers (roads, rail…), paths.")
    buffer_m: float = key(0.5, "Half-width given to linear barriers (m).")


_SHEET = Spec("either", items=(TEXT, Spec("integer", low=0)))


@dataclass(frozen=True)
class Consumption(Section):
    NAME = "consumption"
    ABOUT = "Cerema consumption of natural, agricultural and forest land (docs/consumption.md)."
    path: str | None = key(None, "The Cerema file (CSV, XLSX, shapefile, GeoPackage).", PATH, required=True)
    code: str = key("idcom", "Commune code column.", COLUMN)
    sheet: str | int | None = key(None, "Sheet of a workbook (name or 0-based index).", _SHEET)


@dataclass(frozen=True)
class CommuneTable(Section):
    NAME = "population"
    ABOUT = "A per-commune INSEE table (population, households or jobs)."
    path: str | None = key(None, "The table (CSV or XLSX; INSEE séries historiques layouts are read).", PATH,
                    required=True)
    code: str | None = key(None, "Commune code column (detected when absent: insee_com, codgeo, …).", COLUMN)
    sheet: str | int | None = key(None, "Sheet of a workbook (name or 0-based index).", _SHEET)
    header_row: int | None = key(None, "1-based header line under INSEE title lines (detected when absent).")


@dataclass(frozen=True)
class Population(CommuneTable):
    NAME = "population"
    ABOUT = "Population per commune and year (`popYY`, `pmunYYYY`, long or wide)."


@dataclass(frozen=True)
class Households(CommuneTable):
    NAME = "households"
    ABOUT = "Households per commune and year (`menYY`)."


@dataclass(frozen=True)
class Jobs(CommuneTable):
    NAME = "jobs"
    ABOUT = "Jobs per commune and year (`empYY`)."


@dataclass(frozen=True)
class Zan(Section):
    NAME = "zan"
    ABOUT = "ZAN trajectory: targets as documents, guarantee, deductions, after 2031 (docs/consumption.md)."
    reference: list[int] = key([2011, 2020], "Reference decade [first, last] of annual flows.", YEAR_PAIR)
    period: list[int] = key([2021, 2030], "Current period [first, last].", YEAR_PAIR)
    national_default_pct: float = key(50.0, "National default reduction (art. 191 loi 2021-1104); never binding.",
                                      PCT)
    target_pct: float | None = key(None, "Former name of national_default_pct (still read).", PCT)
    region_default_pct: float = key(54.5, "Region default (arrêté du 31 mai 2024): region level only, regions "
                                          "with a SRADDET.", PCT)
    region_level: str = key("region", "Level key of the regions in `[territories].levels`.", TEXT)
    no_sraddet_regions: list[str] = key(["11", "94", "01", "02", "03", "04", "06"],
                                        "Regions without a SRADDET (SDRIF, PADDUC, SAR).", CODES)
    targets: str | None = key(None, "Targets table: level, code, target_pct | envelope_ha, document, "
                                    "doc_status…", PATH)
    guarantee_ha: float = key(1.0, "Garantie communale, first decade, communes only (0 turns it off).", HECTARES)
    documents: str | None = key(None, "Planning documents: code, type (PLU|PLUi|CC|PSMV|RNU), "
                                      "prescription/arret/approval dates.", PATH)
    guarantee_cutoff: str = key("2026-08-22", "A commune is eligible if a document date is before it.",
                                Spec("date"))
    guarantee_deleguees: str | None = key(None, "Communes déléguées table with creation_date.", PATH)
    guarantee_per_deleguee_ha: float = key(0.5, "Guarantee added per commune déléguée (ha).", HECTARES)
    guarantee_cap_ha: float = key(2.0, "Cap of the guarantee (ha).", HECTARES)
    guarantee_cap_applies_to: str = key("total", "The cap applies to the `total` or the `bonus` (DOMAIN §7.2, "
                                                 "unsettled).", Spec("enum", choices=("total", "bonus")))
    commune_nouvelle_since: str = key("2011-01-01", "Communes nouvelles created since this date get the "
                                                    "per-déléguée guarantee.", Spec("date"))
    mutualisation: str | None = key(None, "Table commune, epci: guarantee pooled by the EPCI.", PATH)
    pool_amount: str = key("top_up", "What a pooled commune adds to the pool: `top_up` or `guarantee`.",
                           Spec("enum", choices=("top_up", "guarantee")))
    deductions: str | None = key(None, "Deductions table: code, year, type (pene|pv|renaturation|other), "
                                       "area_ha, reference, source.", PATH)
    count_renaturation: bool = key(False, "Deduct renaturation (R. 2231-1 1° CGCT: an option of the council).")
    confidence_min_years: int = key(3, "Years of the period needed for a projection of medium confidence.")
    confidence_max_year_share: float = key(0.5, "Largest share of one year in the period's consumption for a "
                                                "projection of high confidence.", SHARE)
    decades: list[list[float]] = key([], "Indicative ENAF decades after the period: [[2031, 2040, 50], …].",
                                     Spec("list", item=Spec("tuple", items=(YEAR, YEAR, PCT),
                                                            what="[first year, last year, reduction %]")))
    net_targets: list[dict[str, Any]] = key([], "`[[zan.net_targets]]`: net artificialisation after the ENAF "
                                                "decade (checked by ocsol.io.targets).",
                                            Spec("list", item=Spec("table")))
    horizon: int = key(2050, "Last year of the trajectory.", YEAR)


@dataclass(frozen=True)
class Efficiency(Section):
    NAME = "efficiency"
    ABOUT = "Consumption per new inhabitant and SDG 11.3.1 (docs/consumption.md)."
    periods: list[list[int]] | None = key(None, "List of [start, end]; default: reference decade and current "
                                                "period.", Spec("list", item=YEAR_PAIR))
    sdg_variant: str = key("ln", "SDG 11.3.1 land consumption rate: `ln` or `linear`.",
                           Spec("enum", choices=("ln", "linear")))
    sdg_vintages: list[int] | None = key(None, "OCS GE vintages for SDG 11.3.1.", Spec("list", item=YEAR))


@dataclass(frozen=True)
class Compare(Section):
    NAME = "compare"
    ABOUT = "Comparison with neighbours in the reports."
    neighbours: int = key(8, "Number of neighbours shown.", Spec("integer", low=0))
    with_: list[str] | None = key(None, "Codes compared with, instead of the neighbours.", CODES, toml="with")


@dataclass(frozen=True)
class Raster(Section):
    NAME = "raster"
    ABOUT = "Classified rasters (measure `raster_proxy`, docs/raster.md)."
    legend: str | None = key(None, "A packaged legend (`worldcover`) or a legend CSV.", TEXT, required=True)
    vintages: dict[str, str] = key({}, "`[raster.vintages]` year = \"file\".", VINTAGES)
    block_size: int = key(2048, "Window side in pixels (rounded to the raster's internal blocks).",
                          Spec("integer", low=1))
    allow_version_change: bool = key(True, "Allow vintages of different product versions.")
    unknown: str = key("error", "Values outside the legend: `error` (list them) or `nodata` (uncovered).",
                       Spec("enum", choices=("error", "nodata")))
    threads: int = key(0, "Worker threads for the crosstab; 0 = one per CPU.", Spec("integer", low=0))
    synthetic: bool = key(False, "The rasters are synthetic (banner on the reports).")
    versions: dict[str, str] = key({}, "year = product version (v100, v200): a change across versions is "
                                       "partly method change.")
    min_coverage: float = key(0.99, "Zones covered below this share get empty figures.", SHARE)


@dataclass(frozen=True)
class Cog(Section):
    NAME = "cog"
    ABOUT = "Commune-code reconciliation of commune-keyed sources (docs/reliability.md)."
    changes: str | None = key(None, "INSEE commune changes CSV (MOD, DATE_EFF, TYPECOM_AV, COM_AV, TYPECOM_AP, "
                                    "COM_AP).", PATH)
    deleguees: str | None = key(None, "Communes déléguées/associées CSV (insee_old -> insee_chef_lieu).", PATH)
    weights: str | None = key(None, "Split shares CSV (old_code, new_code, weight); default: area shares.", PATH)
    since: str | None = key(None, "Only changes effective on or after this date (YYYY-MM-DD).", Spec("date"))


@dataclass(frozen=True)
class Report(Section):
    NAME = "report"
    ABOUT = "Reports: profiles, front matter and editable texts (docs/reports.md)."
    title: str | None = key(None, "Title of the reports.", TEXT)
    author: str | None = key(None, "Author shown on the front matter.", TEXT)
    levels: list[str] | None = key(None, "Levels reported by `ocsol batch`.", Spec("list", item=TEXT))
    territories: list[str] | None = key(None, "Codes reported by `ocsol batch`.", CODES)
    profile: str | None = key(None, "Force one profile for every territory (rapport_local, rnu_ddt, "
                                    "bilan_scot, …).")
    profiles: dict[str, str] = key({}, "level or \"level:code\" = profile.")
    year: int | None = key(None, "Year of the report (e.g. 2027); default: the year it is produced.")
    period: list[int] | None = key(None, "[first, last] civil years covered; default: the consumption years "
                                         "shown.")
    texts: str | None = key(None, "Markdown texts per territory, e.g. \"textes/{level}-{code}.md\".")
    previous: str | None = key(None, "Date or reference of the previous report.")


def section(name: str) -> Any:
    """Attach a section to :class:`Config` (field metadata says its name in the file)."""
    return field(metadata={"section": name})


@dataclass(frozen=True)
class Config:
    """A checked configuration: one attribute per section, and where the file was.

    Attributes
    ----------
    general, territories, ocsge, thresholds, fragmentation, consumption, population, households,
    jobs, zan, efficiency, compare, raster, cog, report
        The sections (:class:`General` holds the top-level keys; :class:`Thresholds` is
        ``[ocsge.thresholds]``), defaults filled in for absent sections and keys.
    base_dir
        Folder that relative paths are resolved against.
    source
        The file it was read from, if any.
    present
        Names of the sections the file has.

    Examples
    --------
    The bundled sample of the Métropole de Lyon (Cerema consumption and INSEE population, no OCS GE):

    >>> from ocsol import load_config
    >>> from ocsol.sample import sample_config
    >>> config = load_config(sample_config("lyon"))
    >>> config.zan.period, config.has("consumption"), config.has("ocsge")
    ([2021, 2030], True, False)
    >>> config.resolve(config.consumption.path).name
    'conso_communes_cerema_format.csv'
    """

    general: General = section("")
    territories: Territories = section("territories")
    ocsge: Ocsge = section("ocsge")
    thresholds: Thresholds = section("ocsge.thresholds")
    fragmentation: Fragmentation = section("fragmentation")
    consumption: Consumption = section("consumption")
    population: Population = section("population")
    households: Households = section("households")
    jobs: Jobs = section("jobs")
    zan: Zan = section("zan")
    efficiency: Efficiency = section("efficiency")
    compare: Compare = section("compare")
    raster: Raster = section("raster")
    cog: Cog = section("cog")
    report: Report = section("report")
    base_dir: Path = Path(".")
    source: Path | None = None
    present: frozenset[str] = frozenset()

    def has(self, section: str) -> bool:
        """Whether the file has this section (``[section]``)."""
        return section in self.present

    def sections(self) -> Iterator[tuple[str, Section]]:
        """``(name in the file, section)`` in declaration order, the top level (``""``) first."""
        for f in fields(self):
            if "section" in f.metadata:
                yield f.metadata["section"], getattr(self, f.name)

    def resolve(self, path: str | os.PathLike[str] | None) -> Path:
        """A path from the file, made absolute against the file's folder.

        ``None`` (a required path key left out, which :func:`load_config` refuses) is an error,
        never the folder itself."""
        if path is None:
            raise ConfigError(f"{self.label}: a required path is missing; give the file's path in the "
                              "configuration (see docs/config.md)")
        p = Path(os.path.expanduser(str(path)))
        return Path(os.path.normpath(p if p.is_absolute() else (self.base_dir / p)))

    @property
    def crs(self) -> str:
        return str(self.general.crs)

    @property
    def label(self) -> str:
        return str(self.source) if self.source else "configuration"


#: Section name in the file -> its dataclass (the top level is ``""``).
SECTIONS: dict[str, type[Section]] = {
    "": General, "territories": Territories, "ocsge": Ocsge, "ocsge.thresholds": Thresholds,
    "fragmentation": Fragmentation, "consumption": Consumption, "population": Population,
    "households": Households, "jobs": Jobs, "zan": Zan, "efficiency": Efficiency, "compare": Compare,
    "raster": Raster, "cog": Cog, "report": Report,
}
#: Section name in the file -> attribute of :class:`Config`.
_ATTRS: dict[str, str] = {f.metadata["section"]: f.name for f in fields(Config) if "section" in f.metadata}
if set(_ATTRS) != set(SECTIONS):  # a section added to one and not the other
    raise RuntimeError(f"ocsol.config: sections {set(_ATTRS) ^ set(SECTIONS)} lack a Config attribute or a class")


def spec_of(section: str, key: str) -> Spec:
    """The type of ``[section].key`` (declared on its dataclass field, or inferred from its default)."""
    spec: Spec = SECTIONS[section].keys()[key].metadata["spec"]
    return spec


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


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and check a TOML configuration file.

    Parameters
    ----------
    path
        The ``ocsol.toml``; relative paths inside it are resolved against its folder.

    Returns
    -------
    Config
        One frozen dataclass per section, defaults filled in (``docs/config.md``).

    Raises
    ------
    ConfigError
        On a missing file, a TOML syntax error (with its line), an unknown key (with a
        suggestion) or a value of the wrong kind.

    Examples
    --------
    The sample configuration of the CA de Blois:

    >>> config = load_config("data/cvl/ocsol.toml")
    >>> config.territories.code, config.territories.levels
    ('CODE_INSEE', {'epci': 'SIREN_EPCI', 'dep': 'DEP'})
    >>> config.ocsge.rule, sorted(config.ocsge.vintages)
    ('decret-2023', ['2019', '2022'])
    >>> sorted(config.present)
    ['ocsge', 'territories']
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
    """Check a configuration given as a dict (as parsed from TOML) and build its dataclasses.

    Every problem of the file is gathered and raised at once, in one line.
    """
    label = str(source) if source else "configuration"
    problems: list[str] = []
    values: dict[str, dict[str, Any]] = {}
    present: set[str] = set()
    top_keys = list(General.keys())
    section_names = [s for s in SECTIONS if s]
    top: dict[str, Any] = {}
    data = _nested_sections(data, problems)
    for name, value in data.items():
        if name in SECTIONS and name:
            if not isinstance(value, dict):
                problems.append(f"[{name}] must be a table, found {type(value).__name__}")
                continue
            present.add(name)
            values[name] = _check_section(name, value, problems)
        elif name in top_keys:
            problems += check_value(value, spec_of("", name), name) if value is not None else []
            top[name] = value
        else:
            problems.append(f"unknown key {name!r}" + close_matches(name, top_keys + section_names))
    if problems:
        raise ConfigError(f"{label}: " + "; ".join(problems))
    values[""] = top
    built = {attr: _build(SECTIONS[name], values.get(name, {})) for name, attr in _ATTRS.items()}
    return Config(**built, base_dir=Path(base_dir), source=source, present=frozenset(present))


def _build(cls: type[Section], values: dict[str, Any]) -> Any:
    """A section dataclass from checked values (keys by TOML name; absent keys take their default)."""
    kwargs = {f.name: values[k] for k, f in cls.keys().items() if k in values}
    if cls is Ocsge:
        kwargs["diff"] = [_build(OcsgeDiff, d) for d in values.get("diff") or []]
        kwargs["artif"] = _build(ArtifProducts, values.get("artif") or {})
        kwargs["artif_diff"] = [_build(ArtifDiff, d) for d in values.get("artif_diff") or []]
    return cls(**kwargs)


def _nested_sections(data: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """``[a.b]`` tables that are sections of their own, named ``"a.b"`` (e.g. ``[ocsge.thresholds]``)."""
    out = dict(data)
    for name in SECTIONS:
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


def _check_keys(cls: type[Section], values: dict[str, Any], problems: list[str], *, unknown: str, where: str,
                needs: str, typed: bool = True) -> dict[str, Any]:
    """Check one table against its dataclass: unknown keys, types, required keys.

    ``unknown`` is the place named after an unknown key (``in [zan]``), ``where`` the prefix of a
    value's key path (``[zan]``), ``needs`` the prefix of a missing required key's message.
    """
    schema = cls.keys()
    out: dict[str, Any] = {}
    for k, value in values.items():
        if k not in schema:
            problems.append(f"unknown key {k!r} {unknown}" + close_matches(k, schema))
            continue
        if typed:
            problems += check_value(value, schema[k].metadata["spec"], f"{where} {k}")
        out[k] = value
    for k, f in schema.items():
        if k not in out and f.metadata["required"]:
            problems.append(f"{needs} needs a {k!r} key")
    return out


def _check_section(name: str, values: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    out = _check_keys(SECTIONS[name], values, problems, unknown=f"in [{name}]", where=f"[{name}]",
                      needs=f"[{name}]")
    if name == "ocsge":
        diffs = out.get("diff") or []
        if not isinstance(diffs, list):
            problems.append("[ocsge].diff must be an array of tables: [[ocsge.diff]]")
            diffs = []
        checked = []
        for i, entry in enumerate(diffs, start=1):
            if not isinstance(entry, dict):
                continue  # reported by the type check of [ocsge] diff
            checked.append(_check_keys(OcsgeDiff, entry, problems, unknown=f"in [[ocsge.diff]] #{i}",
                                       where=f"[[ocsge.diff]] #{i}", needs=f"[[ocsge.diff]] #{i}"))
        out["diff"] = checked
        out["artif"], out["artif_diff"] = _check_artif(out.get("artif", {}), out.get("artif_diff", []), problems)
    return out


def _check_artif(artif: Any, diffs: Any, problems: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``[ocsge.artif]`` and ``[[ocsge.artif_diff]]`` (IGN OCS GE Artificialisation products).

    Their values are checked by :mod:`ocsol.ign_artif`, which reads them.
    """
    if not isinstance(artif, dict):
        problems.append("[ocsge].artif must be a table: [ocsge.artif.vintages] with year = path")
        artif = {}
    _check_keys(ArtifProducts, artif, problems, unknown="in [ocsge.artif]", where="[ocsge.artif]",
                needs="[ocsge.artif]", typed=False)
    if not isinstance(artif.get("vintages", {}), dict):
        problems.append("[ocsge.artif].vintages must be a table: [ocsge.artif.vintages] with year = path")
    artif = {"vintages": dict(artif.get("vintages") or {}), "layer": artif.get("layer")}
    if not isinstance(diffs, list) or not all(isinstance(d, dict) for d in diffs):
        problems.append("[ocsge].artif_diff must be an array of tables: [[ocsge.artif_diff]]")
        return artif, []
    checked = [_check_keys(ArtifDiff, entry, problems, unknown=f"in [[ocsge.artif_diff]] #{i}",
                           where=f"[[ocsge.artif_diff]] #{i}", needs=f"[[ocsge.artif_diff]] #{i}", typed=False)
               for i, entry in enumerate(diffs, start=1)]
    return artif, checked


# --- the reference (docs/config.md) ------------------------------------------------------------


def _shown_default(f: Any) -> str:
    if f.metadata["required"]:
        return "required"
    d = f.metadata["default"]
    if d is None:
        return ""
    if isinstance(d, Section) or (isinstance(d, dict) and not d):
        return ""
    if isinstance(d, bool):
        return "`true`" if d else "`false`"
    if isinstance(d, str):
        return f'`"{d}"`'
    if isinstance(d, list):
        return "`[" + ", ".join(f'"{x}"' if isinstance(x, str) else str(x) for x in d) + "]`"
    return f"`{d}`"


def _shown_type(spec: Spec) -> str:
    return _describe(spec).replace("|", "\\|") if spec.kind != "any" else "(checked by its reader)"


def reference_markdown() -> str:
    """``docs/config.md``: every section and key with its type, default and help, from the dataclasses.

    A test keeps the file equal to this text; regenerate it with
    ``python -c "from ocsol.config import reference_markdown as r; print(r(), end='')" > docs/config.md``.
    """
    lines = ["# Configuration reference (`ocsol.toml`)", "",
             "Generated from the dataclasses of `src/ocsol/config.py` (`ocsol.config.reference_markdown`); "
             "do not edit by hand, a test keeps the two equal.", "",
             "Paths are relative to the file. An unknown key is an error with a suggestion; a value of the wrong "
             "type, range or choice is an error naming its key path.", ""]
    order = [("", General)] + [(n, c) for n, c in SECTIONS.items() if n]
    for name, cls in order:
        lines += _reference_table(f"[{name}]" if name else "Top level", cls)
        if cls is Ocsge:
            lines += _reference_table("[[ocsge.diff]]", OcsgeDiff)
            lines += _reference_table("[ocsge.artif]", ArtifProducts)
            lines += _reference_table("[[ocsge.artif_diff]]", ArtifDiff)
    return "\n".join(lines).rstrip("\n") + "\n"


def _reference_table(title: str, cls: type[Section]) -> list[str]:
    out = [f"## {title}", "", cls.ABOUT, "", "| key | type | default | meaning |", "|---|---|---|---|"]
    for k, f in cls.keys().items():
        out.append(f"| `{k}` | {_shown_type(f.metadata['spec'])} | {_shown_default(f)} | "
                   f"{f.metadata['help'].replace('|', chr(92) + '|')} |")
    return [*out, ""]
