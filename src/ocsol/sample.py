"""The bundled sample: where it lives and its ready-made configurations.

The sample is in the repository's ``data/`` folder (see ``data/README.md`` for sources and
licences). It is found next to the source tree (editable install, the README's set-up), in
``$OCSOL_DATA``, or in ``./data``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputFileError

SAMPLES = {
    "arcachon": "arcachon/ocsol.toml",
    "lyon": "lyon/ocsol.toml",
    "cvl": "cvl/ocsol.toml",
    "saotome": "saotome/ocsol.toml",
    "sample": "sample/ocsol.toml",
}


def data_dir() -> Path:
    """The folder of the bundled sample data."""
    candidates = []
    if os.environ.get("OCSOL_DATA"):
        candidates.append(Path(os.environ["OCSOL_DATA"]))
    candidates.append(Path(__file__).resolve().parents[2] / "data")
    candidates.append(Path.cwd() / "data")
    for c in candidates:
        if (c / "README.md").is_file():
            return c
    raise InputFileError(
        "bundled sample not found (looked in " + ", ".join(map(str, candidates)) + "); run from a clone of the "
        "ocsol repository after `pip install -e .`, or set OCSOL_DATA to its data/ folder"
    )


def sample_config(name: str = "sample") -> Path:
    """Path of a bundled sample configuration: ``sample`` (all), ``arcachon``, ``lyon``, ``cvl``, ``saotome``."""
    if name not in SAMPLES:
        raise InputFileError(f"unknown sample {name!r}; choose one of {', '.join(SAMPLES)}")
    return data_dir() / SAMPLES[name]
