"""Arrow's memory pool is process-wide: only the command line switches it to jemalloc.

Each case runs in a fresh interpreter, since the pool cannot be reset once a buffer was made.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pytestmark = pytest.mark.slow  # fresh interpreters


SRC = str(Path(__file__).resolve().parents[1] / "src")

STREAM = """
import geopandas as gpd, pyarrow as pa, shapely
from ocsol.io.ocsge import OcsgeStream
before = pa.default_memory_pool().backend_name
g = gpd.GeoDataFrame({"code_cs": ["CS1.1.1.1"] * 3, "code_us": ["US1.1"] * 3},
                     geometry=[shapely.box(i, 0, i + 1, 1) for i in range(3)], crs="EPSG:2154")
g.to_parquet(r"{path}")
n = sum(len(b.cs) for b in OcsgeStream(r"{path}", batch_size=2))
print(before, pa.default_memory_pool().backend_name, n)
"""


def _run(code: str, **env_extra: str) -> list[str]:
    """Printed words of ``code`` run by a fresh interpreter on this checkout's ``src``."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    env.update(PYTHONPATH=SRC, **env_extra)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.split()


def test_reading_geoparquet_from_the_library_keeps_the_pool(tmp_path: Path) -> None:
    code = STREAM.replace("{path}", str(tmp_path / "v.parquet"))
    before, after, n = _run(code)[-3:]
    assert n == "3"
    assert after == before


def test_the_command_line_switch_respects_an_explicit_pool() -> None:
    code = ("import pyarrow as pa; from ocsol.io.ocsge import use_jemalloc_pool; use_jemalloc_pool(); "
            "print(pa.default_memory_pool().backend_name)")
    assert _run(code, ARROW_DEFAULT_MEMORY_POOL="system") == ["system"]
    [default] = _run("import pyarrow as pa; print(pa.default_memory_pool().backend_name)")
    [switched] = _run(code)
    if default == "mimalloc" and "jemalloc" in pa.supported_memory_backends():
        assert switched == "jemalloc"
    else:
        assert switched == default
