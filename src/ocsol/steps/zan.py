"""The ZAN step after 2031 (``[[zan.net_targets]]``): each territory's net artificialisation
trajectory for the decade after ``[zan].period``, from the OCS GE flows (:mod:`ocsol.zan_2031`).
"""

from __future__ import annotations

import pandas as pd

from ..config import Config
from ..errors import ConfigError
from ..io.targets import net_targets_from_config
from ..territories import Territories
from ..zan_2031 import net_trajectory


def zan_2031_table(config: Config, territories: Territories, flows: pd.DataFrame | None) -> pd.DataFrame | None:
    """``zan_2031``: None when there are neither net targets nor flows."""
    net_targets = config.zan.net_targets or []
    if not (net_targets or len(flows if flows is not None else ())):
        return None
    per_end = int(config.zan.period[1])
    nt = net_targets_from_config(net_targets)
    exists = set(zip(territories.names["level"], territories.names["code"], strict=True))
    exists |= {("commune", c) for c in territories.communes["code"]}
    seen: dict[tuple[str, str], int] = {}
    for i, r in enumerate(nt.itertuples(index=False), start=1):
        if (r.level, r.code) not in exists:  # else a phantom row, and the unit left without its target
            raise ConfigError(f"{config.label}: [[zan.net_targets]] #{i}: {r.level} {r.code} names no territory "
                              "of the run; fix level and code (INSEE/SIREN code as text)")
        if (r.level, r.code) in seen:  # zan_2031.csv has one decade per territory: one entry would be lost
            raise ConfigError(f"{config.label}: [[zan.net_targets]] #{i}: {r.level} {r.code} already has entry "
                              f"#{seen[(r.level, r.code)]}; give one entry per territory (the decade after "
                              "[zan].period)")
        seen[(r.level, r.code)] = i
    return net_trajectory(flows, nt,
                         period=(per_end + 1, per_end + 10), horizon=int(config.zan.horizon))
