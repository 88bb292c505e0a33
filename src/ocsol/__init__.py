"""ocsol — land consumption (NAF) and artificialisation (ZAN) indicators for French territories.

The public API is listed in ``__all__``; everything else is plumbing.
"""

from __future__ import annotations

from ._version import __version__
from .change import compare_vintages, diff_pieces, stock_pieces, transition_pieces
from .compare import neighbours
from .config import Config, load_config
from .consumption import consumption_by_year
from .demography import efficiency
from .errors import (
    ConfigError,
    CoverageError,
    CRSError,
    InputFileError,
    InvariantError,
    OcsolError,
    SchemaError,
    TerritoryNotFoundError,
    UnknownCodeError,
)
from .indicators import build_tables
from .io.cerema import read_cerema, read_population
from .io.ocsge import read_ocsge, read_ocsge_diff
from .io.territories import read_territories
from .legends import load_legend
from .nomenclature import classify, load_rule
from .pipeline import Results, compute, write_results
from .territories import Territories, aggregate
from .zan import zan_path, zan_trajectory

__all__ = [
    "__version__",
    # one way through: configuration -> tables -> files
    "Config",
    "load_config",
    "compute",
    "write_results",
    "Results",
    # readers
    "read_territories",
    "read_ocsge",
    "read_ocsge_diff",
    "read_cerema",
    "read_population",
    # rules and legends (data)
    "load_rule",
    "classify",
    "load_legend",
    # territories
    "Territories",
    "aggregate",
    # artificialisation
    "stock_pieces",
    "transition_pieces",
    "compare_vintages",
    "diff_pieces",
    "build_tables",
    # consumption and ZAN
    "consumption_by_year",
    "zan_trajectory",
    "zan_path",
    "efficiency",
    "neighbours",
    # errors
    "OcsolError",
    "ConfigError",
    "CoverageError",
    "CRSError",
    "InputFileError",
    "InvariantError",
    "SchemaError",
    "TerritoryNotFoundError",
    "UnknownCodeError",
]
