"""Errors an analyst can act on.

Every user error derives from :class:`OcsolError`. Its message names the file, the field or
code, what was found and how to fix it. The CLI prints it as one line on stderr and exits 2;
a traceback therefore always means a bug in ocsol.
"""

from __future__ import annotations

from collections.abc import Iterable


class OcsolError(ValueError):
    """Base class of every error caused by the user's input or configuration."""


class InputFileError(OcsolError):
    """A file is missing, unreadable, truncated or of the wrong format."""


class SchemaError(OcsolError):
    """A table or layer lacks a field, or a field holds values of the wrong kind."""


class CRSError(OcsolError):
    """A layer has no coordinate reference system, or one that cannot be used."""


class UnknownCodeError(OcsolError):
    """Codes (CS, US, raster values…) that no rule or legend knows."""


class TerritoryNotFoundError(OcsolError):
    """A territory code that is not in the territories table."""


class CoverageError(OcsolError):
    """A layer does not cover the territories, or covers parts of them twice."""


class ConfigError(OcsolError):
    """The configuration file is malformed or names an unknown key."""


class InvariantError(OcsolError):
    """An accounting identity does not hold (for instance matrix margins differ from stocks)."""


def format_problems(problems: Iterable[str], *, limit: int = 10) -> str:
    """Join several problems into one message, keeping it short.

    >>> format_problems(["a", "b"])
    'a; b'
    >>> format_problems([str(i) for i in range(12)], limit=3)
    '0; 1; 2; … and 9 more'
    """
    items = list(problems)
    head = "; ".join(items[:limit])
    if len(items) > limit:
        head += f"; … and {len(items) - limit} more"
    return head


def close_matches(word: str, candidates: Iterable[str], *, n: int = 3) -> str:
    """A ' (did you mean …?)' suffix, or '' when nothing is close.

    >>> close_matches("terirtories", ["territories", "ocsge"])
    " (did you mean 'territories'?)"
    """
    import difflib

    found = difflib.get_close_matches(word, list(candidates), n=n, cutoff=0.6)
    if not found:
        return ""
    return " (did you mean " + " or ".join(repr(f) for f in found) + "?)"


class OutputError(OcsolError):
    """An output cannot be written: disk full, permission, a folder locked by another run, or an
    output folder that holds the run's inputs."""
