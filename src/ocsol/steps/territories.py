"""The territories step: the ``territories`` table (units, areas, expected perimeters) and the
territories every other step works on (:func:`load_territories`).
"""

from __future__ import annotations

import pandas as pd

from ..config import Config
from ..errors import ConfigError
from ..io.territories import read_perimeters, read_territories
from ..step_common import StepOutput, file_provenance, qa_row
from ..territories import Territories
from ..units import M2_PER_HA


def load_territories(config: Config) -> Territories:
    """Read the territories named in the configuration."""
    t = config.territories
    if not config.has("territories"):
        raise ConfigError(f"{config.label}: a [territories] section is required")
    return read_territories(
        config.resolve(t.path),
        code=t.code, name=t.name, area=t.area, area_unit=t.area_unit,
        levels=t.levels, level_names=t.names,
        membership=config.resolve(t.membership) if t.membership else None,
        membership_code=t.membership_code, layer=t.layer, crs=config.crs,
    )


def territory_table(config: Config, territories: Territories) -> StepOutput:
    """``territories``: one row per unit (commune and parents) with its area in hectares, and the
    expected perimeters of ``[territories] perimeters``; the QA rows of the territories file."""
    provenance = file_provenance("territories", config.resolve(config.territories.path))
    qa: list[dict] = []
    if territories.repaired:
        qa.append(qa_row("territories", "repaired geometries", territories.repaired, territories.source,
                         key="territories.repaired", files=[territories.source]))
    qa += [qa_row("territories", note, "", territories.source, key="territories.crs_outside",
                  files=[territories.source], fits=note.rsplit("; ", 1)[-1].replace(" would fit", ""))
           for note in territories.notes]
    units = territories.units()
    units["area_ha"] = units.pop("area_m2") / M2_PER_HA
    perimeters = config.territories.perimeters
    if perimeters:
        path = config.resolve(perimeters)
        units = perimeter_columns(units, read_perimeters(path))
        provenance += file_provenance("perimeters", path)
    return StepOutput(tables={"territories": units}, provenance=provenance, qa=qa)


def perimeter_columns(units: pd.DataFrame, expected: pd.DataFrame) -> pd.DataFrame:
    """``territories`` with ``n_communes_expected``, ``perimeter_cog`` and ``perimeter_complete``.

    ``perimeter_complete`` is True/False where an expected count is known (``n_communes`` ≥ it),
    empty otherwise: a parent whose communes in the data are fewer than its members is partial.
    """
    out = units.merge(expected.rename(columns={"n_communes": "n_communes_expected", "cog": "perimeter_cog"}),
                      on=["level", "code"], how="left")
    known = out["n_communes_expected"].notna()
    out["perimeter_complete"] = pd.array([pd.NA] * len(out), dtype="boolean")
    out.loc[known, "perimeter_complete"] = (out.loc[known, "n_communes"] >= out.loc[known, "n_communes_expected"])
    return out
