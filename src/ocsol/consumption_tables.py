"""The one entry point the pipeline calls for the Cerema / ZAN / efficiency tables."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from .config import Config
from .consumption import consumption_by_year, consumption_qa
from .demography import efficiency
from .errors import ConfigError
from .io.cerema import read_cerema, read_population
from .io.targets import read_targets
from .territories import Territories
from .zan import zan_path, zan_trajectory

log = logging.getLogger(__name__)


def _pair(value: Any, key: str) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be two years [first, last], found {value!r}") from None
    return a, b


def compute_consumption_tables(
    config: Config,
    territories: Territories,
    *,
    stock_summary: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Read the Cerema, population, households and jobs files named in the config and compute.

    Parameters
    ----------
    config
        Checked configuration; uses ``[consumption]``, ``[population]``, ``[households]``,
        ``[jobs]``, ``[zan]`` and ``[efficiency]``.
    territories
        The territories of the run.
    stock_summary
        Optional OCS GE ``stock_summary`` table (``level, code, vintage, artif_ha``): Urb for
        SDG 11.3.1.

    Returns
    -------
    dict
        ``{"consumption", "consumption_qa", "zan", "zan_path", "efficiency"}`` — only the
        tables whose inputs are configured: nothing without ``[consumption]``; ``efficiency``
        only with ``[population]``. ``zan_path`` is the year-by-year allowed envelope to 2050
        (:func:`ocsol.zan.zan_path`) for the trajectory chart.

    Raises
    ------
    OcsolError
        From the readers (bad files) or the computations (reference years not covered…).
    """
    if not config.has("consumption"):
        return {}
    section = config.sections["consumption"]
    conso = read_cerema(config.resolve(section["path"]), code=section.get("code") or "idcom",
                        sheet=section.get("sheet"))
    qa = consumption_qa(conso, territories=territories)
    consumption = consumption_by_year(conso, territories)
    zan_cfg = config.sections["zan"]
    reference = _pair(zan_cfg["reference"], "[zan].reference")
    period = _pair(zan_cfg["period"], "[zan].period")
    targets = read_targets(config.resolve(zan_cfg["targets"])) if zan_cfg.get("targets") else None
    zan = zan_trajectory(
        consumption, territories, reference=reference, period=period,
        target_pct=float(zan_cfg["target_pct"]), guarantee_ha=float(zan_cfg["guarantee_ha"] or 0.0),
        targets=targets, decades=zan_cfg["decades"] or [],
    )
    path = zan_path(zan, decades=zan_cfg["decades"] or [])
    out = {"consumption": consumption, "consumption_qa": qa, "zan": zan, "zan_path": path}
    if config.has("population"):
        def read(name: str) -> pd.DataFrame | None:
            if not config.has(name):
                return None
            s = config.sections[name]
            return read_population(config.resolve(s["path"]), code=s.get("code") or "insee_com",
                                   sheet=s.get("sheet"), what=name)

        eff = config.sections["efficiency"]
        out["efficiency"] = efficiency(
            consumption, read("population"), territories,
            periods=eff.get("periods"), households=read("households"), jobs=read("jobs"),
            stock_summary=stock_summary, sdg_variant=eff.get("sdg_variant") or "ln",
            sdg_vintages=eff.get("sdg_vintages"), reference=reference, period=period,
        )
    log.info("consumption tables: %s", ", ".join(f"{k} ({len(v)} rows)" for k, v in out.items()))
    return out
