"""The installed version of ocsol, in the bottom layer so that any module may name it
(:mod:`ocsol` re-exports it as ``ocsol.__version__``)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ocsol")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
