"""Errors an analyst can act on.

Every user error derives from :class:`OcsolError`. Its message names the file, the field or
code, what was found and how to fix it. The CLI prints it as one line on stderr and exits 2;
a traceback therefore always means a bug in ocsol.
"""

from __future__ import annotations

from collections.abc import Iterable


class OcsolError(ValueError):
    """Base class of every error caused by the user's input or configuration.

    Examples
    --------
    Catch it to tell a user's mistake (one line to show them) from a bug in ocsol:

    >>> from ocsol import load_config
    >>> issubclass(ConfigError, OcsolError), issubclass(OcsolError, ValueError)
    (True, True)
    >>> load_config("no-such-folder/ocsol.toml")
    Traceback (most recent call last):
    ...
    ocsol.errors.ConfigError: no-such-folder/ocsol.toml: configuration file not found; pass --config with an existing ocsol.toml
    """


class InputFileError(OcsolError):
    """A file is missing, unreadable, truncated or of the wrong format.

    Examples
    --------
    >>> from ocsol import read_territories
    >>> read_territories("no-such-file.csv")
    Traceback (most recent call last):
    ...
    ocsol.errors.InputFileError: no-such-file.csv: territories file not found; check the path in ocsol.toml
    """


class SchemaError(OcsolError):
    """A table or layer lacks a field, or a field holds values of the wrong kind.

    Examples
    --------
    The Lyon sample's territories table read as a Cerema consumption file:

    >>> from ocsol import read_cerema
    >>> from ocsol.sample import data_dir
    >>> read_cerema(data_dir() / "lyon" / "communes_metropole_lyon.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ocsol.errors.SchemaError: .../communes_metropole_lyon.csv: no column 'idcom' for the commune code; found [insee_com, nom, surface_ha, epci_siren, epci_nom, dep]; fix consumption.code in ocsol.toml
    """


class CRSError(OcsolError):
    """A layer has no coordinate reference system, or one that cannot be used.

    Examples
    --------
    >>> from ocsol.io.vector import working_crs
    >>> working_crs("EPSG:4326")
    Traceback (most recent call last):
    ...
    ocsol.errors.CRSError: working CRS 'EPSG:4326' is not projected; areas need metres, use e.g. EPSG:2154
    """


class UnknownCodeError(OcsolError):
    """Codes (CS, US, raster values…) that no rule or legend knows.

    Examples
    --------
    A couple the packaged décret rule does not know:

    >>> import pandas as pd
    >>> from ocsol import nomenclature
    >>> nomenclature.classify(pd.DataFrame({"cs": ["XX"], "us": ["YY"]}),
    ...                       nomenclature.load_rule("decret-2023"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ocsol.errors.UnknownCodeError: layer: 1 (couverture, usage) couple(s) not known to the rule table ...: ('XX', 'YY') × 1; correct the codes, or give a rule table (ocsge.rule) with a row for them
    """


class TerritoryNotFoundError(OcsolError):
    """A territory code that is not in the territories table.

    Examples
    --------
    >>> from ocsol import load_config
    >>> from ocsol.sample import sample_config
    >>> from ocsol.steps.territories import load_territories
    >>> territories = load_territories(load_config(sample_config("lyon")))
    >>> territories.find("69999")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ocsol.errors.TerritoryNotFoundError: territory '69999' not found in ...communes_metropole_lyon.csv (did you mean '69199' or '69296' or '69293'?); check the code (INSEE for communes, SIREN for EPCI)
    """


class CoverageError(OcsolError):
    """A layer does not cover the territories, or covers parts of them twice.

    Examples
    --------
    >>> import pandas as pd
    >>> from ocsol.indicators import check_coverage
    >>> summary = pd.DataFrame({"level": ["commune"], "code": ["69123"], "vintage": [2019],
    ...                         "covered_ha": [40.0], "area_ha": [100.0]})
    >>> check_coverage(summary, min_coverage=0.99, source="OCS GE")
    Traceback (most recent call last):
    ...
    ocsol.errors.CoverageError: OCS GE: 1 commune-vintage(s) covered below 99.0 %: 69123 in 2019: 40.0 %; give a layer covering the territories, restrict the territories, or lower ocsge.min_coverage
    """


class ConfigError(OcsolError):
    """The configuration file is malformed or names an unknown key.

    Examples
    --------
    >>> from ocsol import load_config
    >>> from ocsol.sample import sample_config
    >>> config = load_config(sample_config("lyon"))
    >>> config.resolve(None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ocsol.errors.ConfigError: .../ocsol.toml: a required path is missing; give the file's path in the configuration (see docs/config.md)
    """


class InvariantError(OcsolError):
    """An accounting identity does not hold (for instance matrix margins differ from stocks).

    Examples
    --------
    The Lyon sample's Cerema file with destinations no longer summing to the total:

    >>> from ocsol import load_config
    >>> from ocsol.consumption import consumption_qa
    >>> from ocsol.io.cerema import read_cerema
    >>> from ocsol.sample import sample_config
    >>> from ocsol.steps.territories import load_territories
    >>> config = load_config(sample_config("lyon"))
    >>> conso = read_cerema(config.resolve(config.consumption.path))
    >>> conso.loc[conso.index[:3], "habitat_m2"] += 1e6
    >>> consumption_qa(conso, territories=load_territories(config))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ocsol.errors.InvariantError: ...: Cerema identities grossly violated: destinations_sum 69003 2009–2009: expected 3802 m², found 1003802 m²; ...
    """

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
