"""OCS GE inputs listed per département: the plan of files each département task reads.

IGN delivers OCS GE by département. A configuration may list them in ``[ocsge] departements``:

- a list of codes, used in paths holding ``{dep}``
  (``2019 = "ocsge/{dep}/OCCUPATION_SOL_2019.gpkg"``, also in ``[[ocsge.diff]] paths``);
- or a CSV table with a ``departement`` column and one column per vintage year holding the
  paths (``departement,2019,2022``); ``[[ocsge.diff]]`` paths may then use ``{dep}``.

Each département is then one task (:func:`ocsol.pipeline.ocsge_departement`, run by
:func:`ocsol.pipeline.run_departements`): it reads its own
layers, cuts them by the communes its layers reach and returns commune-level pieces tables.
The driver concatenates the pieces in the order of the list and aggregates the parents once,
so a parent spanning départements (EPCI, SCoT, région) is the sum of all its communes.
Tasks run on :mod:`ocsol.cluster` (Dask) or one after another here (``workers=0``): the tables
are the same, byte for byte.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .config import ArtifDiff, Config, OcsgeDiff, Section
from .errors import ConfigError, OcsolError
from .io.common import read_table

log = logging.getLogger(__name__)

DEP_TOKEN = "{dep}"
DEP_COLUMN = "departement"
_DEP_CODE = re.compile(r"^(\d{2}|2[AB]|97\d)$")


@dataclass(frozen=True)
class DiffInput:
    """One ``[[ocsge.diff]]`` entry with its resolved files."""

    number: int
    vintage_from: int
    vintage_to: int
    paths: tuple[Path, ...]
    layer: str | None = None
    rule: str | None = None


@dataclass(frozen=True)
class OcsgeInputs:
    """The OCS GE files of one département (``dep`` is None for a configuration without départements)."""

    dep: str | None
    vintages: dict[int, Path]
    diffs: tuple[DiffInput, ...] = ()


@dataclass
class OcsgePieces:
    """What one département (or the whole input) gives before parents are aggregated."""

    stock: list[pd.DataFrame] = field(default_factory=list)
    transitions: list[pd.DataFrame] = field(default_factory=list)
    changes: list[Any] = field(default_factory=list)
    classes: list[pd.DataFrame] = field(default_factory=list)
    extents: list[pd.DataFrame] = field(default_factory=list)
    rule_tables: list[pd.DataFrame] = field(default_factory=list)
    full_pairs: list[tuple[int, int]] = field(default_factory=list)
    provenance: list[dict] = field(default_factory=list)
    qa: list[dict] = field(default_factory=list)


def parse_year(value: object, config: Config) -> int:
    """A vintage year from the configuration (an int between 1900 and 2100)."""
    try:
        year = int(str(value))
    except ValueError:
        raise ConfigError(f"{config.label}: vintage {value!r} is not a year; use e.g. 2019") from None
    if not 1900 <= year <= 2100:
        raise ConfigError(f"{config.label}: vintage {year} is not a plausible year")
    return year


def plan_ocsge(config: Config) -> list[OcsgeInputs]:
    """The OCS GE inputs of the configuration, one entry per département (or one for all).

    Raises
    ------
    ConfigError
        ``{dep}`` in a path without ``departements``, a malformed département code or table,
        a change layer whose years are equal, reversed or already given.
    """
    sec = config.ocsge
    deps, table = _departements(config, sec.departements)
    vintages = {parse_year(k, config): str(v) for k, v in sec.vintages.items()}
    if table is not None:
        years = [c for c in table.columns if c != DEP_COLUMN]
        vintages = {parse_year(c, config): c for c in years}
    years = sorted(vintages)
    full_pairs = set(zip(years, years[1:], strict=False))
    diffs = _diffs(config, sec.diff, full_pairs)
    if deps is None:
        for text in [*vintages.values(), *(p for d in diffs for p in d[3])]:
            if DEP_TOKEN in text:
                raise ConfigError(f"{config.label}: path {text!r} holds {DEP_TOKEN} but [ocsge] has no departements; "
                                  'list them: departements = ["33", "40"] (or a CSV table departement,<year>…)')
        return [OcsgeInputs(None, {y: config.resolve(vintages[y]) for y in years},
                            tuple(_diff_input(config, d, None) for d in diffs))]
    plan = []
    for dep in deps:
        if table is not None:
            row = table.loc[table[DEP_COLUMN] == dep].iloc[0]
            paths = {y: str(row[vintages[y]]).strip() for y in years}
            empty = [str(y) for y, p in paths.items() if p in ("", "nan")]
            if empty:
                raise ConfigError(f"{sec.departements}: département {dep} has no path for {', '.join(empty)}; "
                                  "fill the cells (every département needs every vintage)")
        else:
            paths = {y: vintages[y].replace(DEP_TOKEN, dep) for y in years}
        plan.append(OcsgeInputs(dep, {y: config.resolve(paths[y]) for y in years},
                                tuple(_diff_input(config, d, dep) for d in diffs)))
    return plan


def _departements(config: Config, value: Any) -> tuple[list[str] | None, pd.DataFrame | None]:
    if value is None or value == []:
        return None, None
    table = None
    if isinstance(value, str):
        src = config.resolve(value)
        table = read_table(src, what="table of départements")
        if DEP_COLUMN not in table.columns:
            raise ConfigError(f"{src}: no {DEP_COLUMN!r} column; found {list(table.columns)}; "
                              f"give {DEP_COLUMN},<year>,<year>… with one row per département")
        table = table.fillna("")
        table[DEP_COLUMN] = table[DEP_COLUMN].astype(str).str.strip()
        deps = table[DEP_COLUMN].tolist()
        where = str(src)
    elif isinstance(value, list):
        deps = [str(v).strip() for v in value]
        where = f"{config.label}: [ocsge].departements"
    else:
        raise ConfigError(f"{config.label}: [ocsge].departements must be a list of codes or a CSV path, "
                          f"found {value!r}")
    bad = [d for d in deps if not _DEP_CODE.match(d)]
    if bad:
        raise ConfigError(f"{where}: département code(s) {bad[:5]} are not codes like 33, 2A or 974; fix them")
    dup = sorted({d for d in deps if deps.count(d) > 1})
    if dup:
        raise ConfigError(f"{where}: département(s) {dup} listed twice; list each once")
    return deps, table


def _diffs(config: Config, entries: list[OcsgeDiff], full_pairs: set[tuple[int, int]]) -> list[tuple]:
    out, seen = [], set()
    for i, entry in enumerate(entries, start=1):
        y1, y2 = parse_year(entry.from_, config), parse_year(entry.to, config)
        if y1 == y2:
            raise ConfigError(f"{config.label}: [[ocsge.diff]] #{i}: from and to are both {y1}; give two different years")
        if y1 > y2:
            raise ConfigError(f"{config.label}: [[ocsge.diff]] #{i}: from = {y1} is after to = {y2}; swap them")
        if (y1, y2) in full_pairs or (y1, y2) in seen:
            raise ConfigError(
                f"{config.label}: [[ocsge.diff]] #{i}: the pair {y1}→{y2} is already given "
                f"({'by the vintages' if (y1, y2) in full_pairs else 'by another change entry'}); "
                "list all files of one pair in the same entry's paths, or use a separate configuration"
            )
        seen.add((y1, y2))
        paths = entry.paths if isinstance(entry.paths, list) else [entry.paths]
        out.append((i, y1, y2, [str(p) for p in paths], entry.layer, entry.rule))
    return out


def _diff_input(config: Config, d: tuple, dep: str | None) -> DiffInput:
    i, y1, y2, paths, layer, rule = d
    resolved = tuple(config.resolve(p.replace(DEP_TOKEN, dep) if dep else p) for p in paths)
    return DiffInput(i, y1, y2, resolved, layer, rule)


def entry_paths(config: Config, entry: OcsgeDiff | ArtifDiff) -> list[Path]:
    """The files of a ``[[ocsge.diff]]`` / ``[[ocsge.artif_diff]]`` entry, resolved."""
    paths = entry.paths if isinstance(entry.paths, list) else [entry.paths]
    return [config.resolve(x) for x in paths]


def merge_pieces(parts: list[OcsgePieces], deps: list[str | None]) -> OcsgePieces:
    """Concatenate the pieces of the départements in the order given (the order fixes the bytes).

    Extents and rule tables repeated by several départements are kept once; QA notes without
    a detail name their département.
    """
    if len(parts) == 1:
        return parts[0]
    out = OcsgePieces()
    for dep, p in zip(deps, parts, strict=True):
        out.stock += p.stock
        out.transitions += p.transitions
        out.changes += p.changes
        out.classes += p.classes
        out.extents += p.extents
        out.rule_tables += p.rule_tables
        out.provenance += p.provenance
        out.full_pairs += [fp for fp in p.full_pairs if fp not in out.full_pairs]
        out.qa += [{**q, "detail": q["detail"] or f"département {dep}"} for q in p.qa]
    if out.extents:
        out.extents = [pd.concat(out.extents, ignore_index=True).drop_duplicates(ignore_index=True)]
    if out.rule_tables:
        rules = pd.concat(out.rule_tables, ignore_index=True)
        out.rule_tables = [rules.drop_duplicates(ignore_index=True)]
    return out


def input_paths(config: Config) -> list[Path]:
    """Every existing file the configuration names (any string value that resolves to a file, and the
    files of every département), and the configuration file itself: what an output folder must never hold."""
    found: list[Path] = [config.source.resolve()] if config.source else []

    def walk(value: Any) -> None:
        if isinstance(value, Section):
            for _, v, _ in value.items():
                walk(v)
        elif isinstance(value, str) and value.strip():
            p = config.resolve(value)
            with contextlib.suppress(OSError, ValueError):
                if p.is_file():
                    found.append(p)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    for _, sec in config.sections():
        walk(sec)
    if config.ocsge.departements:  # per-département files ({dep}, table)
        with contextlib.suppress(OcsolError, OSError):
            for inputs in plan_ocsge(config):
                walk([str(p) for p in inputs.vintages.values()])
                walk([str(p) for d in inputs.diffs for p in d.paths])
    return list(dict.fromkeys(found))
