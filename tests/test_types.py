"""The type checker on ``src/ocsol``: mypy with the configuration of ``pyproject.toml`` finds no error.

Strict on the engines, the measures and the configuration, lenient elsewhere (``[tool.mypy]``).
mypy is in the ``[test]`` extra; its cache (``.mypy_cache/``) makes a second run take seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # a cold mypy run checks every module (≈ 40 s of CPU)


def test_mypy_finds_no_error_in_the_package():
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"),
                                "--cache-dir", str(ROOT / ".mypy_cache"), str(ROOT / "src" / "ocsol")])
    assert status == 0, f"mypy (exit {status}):\n{out}{err}"
    assert "Success: no issues found" in out
