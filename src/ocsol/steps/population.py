"""The INSEE population step (``[population]``, ``[households]``, ``[jobs]``): the commune tables
of population, households and jobs, as read by :func:`ocsol.io.cerema.read_population`.

They only serve the efficiency of the consumption (:func:`ocsol.demography.efficiency`, computed
with the Cerema tables by :func:`ocsol.consumption_tables.compute_consumption_tables`): they are
read when ``[consumption]`` and ``[population]`` are both configured; each configured file is
listed in the provenance either way. :func:`ocsol.compute` passes this step's output to the Cerema
step (:func:`ocsol.steps.cerema.consumption_tables`), which keeps the provenance in its order:
the Cerema file, then these files, then the ``[zan]`` tables.
"""

from __future__ import annotations

from ..config import Config
from ..io.cerema import read_population
from ..step_common import StepOutput, file_provenance

#: The sections of this step, in provenance order (each names a commune table of one quantity).
SECTIONS = ("population", "households", "jobs")


def population_tables(config: Config) -> StepOutput:
    """The INSEE population step: ``population``, ``households`` and ``jobs`` tables (commune codes
    of the source, ``code, year, <quantity>``) and the provenance of every configured file.

    The tables are read only when the efficiency is computed (``[consumption]`` and
    ``[population]``); a table whose section is absent is left out.
    """
    tables = {}
    provenance: list[dict] = []
    efficiency = config.has("consumption") and config.has("population")
    for name in SECTIONS:
        if not config.has(name):
            continue
        sec = {"population": config.population, "households": config.households, "jobs": config.jobs}[name]
        path = config.resolve(sec.path)
        if efficiency:
            tables[name] = read_population(path, code=sec.code, sheet=sec.sheet, what=name,
                                           header_row=sec.header_row)
        provenance += file_provenance(name, path)
    return StepOutput(tables=tables, provenance=provenance)
