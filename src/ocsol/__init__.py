"""ocsol — land consumption (NAF) and artificialisation (ZAN) indicators for French territories.

The public API is listed in ``__all__``; everything else is plumbing.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .config import Config, load_config
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
from .io.territories import read_territories
from .territories import Territories, aggregate

try:
    __version__ = version("ocsol")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "__version__",
    "Config",
    "load_config",
    "read_territories",
    "Territories",
    "aggregate",
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
