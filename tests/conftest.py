"""Shared fixtures: tiny hand-made layers whose areas can be checked on paper; the slow doctests."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"

#: Doctests of ``src/ocsol`` marked ``slow`` like the slow tests (``pytest -m "not slow"`` leaves them
#: out): the whole sample through the pipeline or a report, matplotlib, the Markdown exporter, numba.
SLOW_DOCTESTS = {
    "ocsol.report.context.build_context",
    "ocsol.pipeline.compute",
    "ocsol.plot",
    "ocsol.report.safe",
    "ocsol.kernels.vertex_hash",
    "ocsol.report.batch.batch_reports",
    "ocsol.report.batch.select_territories",
    "ocsol.report.batch.inputs_fingerprint",
    "ocsol.report.context.ReportContext",
    "ocsol.cluster.open_client",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if type(item).__name__ == "DoctestItem" and item.name in SLOW_DOCTESTS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def paper(tmp_path: Path) -> Path:
    """Two 100 m × 100 m communes A (x 0–100) and B (x 100–200) in EPCI E, and two vintages.

    2019: west strip x 0–150 × y 0–50 farmland (CS2.2.1/US1.1), x 0–150 × y 50–100 forest
          (CS2.1.1.1/US1.2), x 150–200 built (CS1.1.1.1/US5).
    2022: the farmland polygon is unchanged; the forest polygon becomes two: x 0–50 stays forest,
          x 50–150 becomes a garden (CS2.2.1/US5, artificialised, not impervious); the built
          polygon (x 150–200) is unchanged in geometry but becomes a road (CS1.1.1.2/US4.1.1).
    On paper (m²): A = 10 000, B = 10 000.
      artificialisation 2019→2022: garden x 50–150 × y 50–100 = 5 000 m², of which 2 500 in A and 2 500 in B.
      imperméabilisation: none new (built → road stays impervious).
    """
    crs = "EPSG:2154"
    communes = gpd.GeoDataFrame(
        {"CODE_INSEE": ["00001", "00002"], "NOM": ["A", "B"], "EPCI": ["E", "E"]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
        crs=crs,
    )
    v1 = gpd.GeoDataFrame(
        {"code_cs": ["CS2.2.1", "CS2.1.1.1", "CS1.1.1.1"], "code_us": ["US1.1", "US1.2", "US5"]},
        geometry=[shapely.box(0, 0, 150, 50), shapely.box(0, 50, 150, 100), shapely.box(150, 0, 200, 100)],
        crs=crs,
    )
    v2 = gpd.GeoDataFrame(
        {"code_cs": ["CS2.2.1", "CS2.1.1.1", "CS2.2.1", "CS1.1.1.2"], "code_us": ["US1.1", "US1.2", "US5", "US4.1.1"]},
        geometry=[shapely.box(0, 0, 150, 50), shapely.box(0, 50, 50, 100), shapely.box(50, 50, 150, 100),
                  shapely.box(150, 0, 200, 100)],
        crs=crs,
    )
    communes.to_file(tmp_path / "communes.gpkg")
    v1.to_file(tmp_path / "ocsge_2019.gpkg")
    v2.to_file(tmp_path / "ocsge_2022.gpkg")
    (tmp_path / "ocsol.toml").write_text(
        """
[territories]
path = "communes.gpkg"
code = "CODE_INSEE"
name = "NOM"
levels = { epci = "EPCI" }

[ocsge.vintages]
2019 = "ocsge_2019.gpkg"
2022 = "ocsge_2022.gpkg"
""",
        encoding="utf-8",
    )
    return tmp_path
