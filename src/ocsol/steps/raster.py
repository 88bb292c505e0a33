"""The ``[raster]`` step: classified rasters (ESA WorldCover, CORINE…) crosstabbed per territory.

Reads the ``[raster]`` keys (vintages, legend, block size, unknown values, threads), hands the
engine (:func:`ocsol.crosstab.crosstab_rasters`) plain arguments, and turns its pieces into the
indicator tables under the measure ``raster_proxy``, with zones below ``[raster].min_coverage``
emptied (:mod:`ocsol.raster_coverage`) and the QA rows of what was left out.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pandas as pd

from .. import indicators, raster_coverage
from ..config import Config
from ..errors import ConfigError
from ..legends import load_legend
from ..step_common import StepOutput, file_provenance, partial_qa, qa_row
from ..territories import Territories

if TYPE_CHECKING:
    from ..crosstab import RasterPieces


def raster_pieces(config: Config, territories: Territories, *, progress: bool = False) -> RasterPieces:
    """Crosstab the ``[raster]`` vintages of a configuration over its territories.

    Parameters
    ----------
    config
        A checked configuration with a ``[raster]`` section (``legend``, ``vintages`` year →
        path, ``block_size``, ``unknown``, ``threads``).
    territories
        Communes with geometry (any CRS: they are reprojected to the raster CRS).
    progress
        Show a progress bar over windows.

    Returns
    -------
    RasterPieces

    Raises
    ------
    ConfigError
        No ``[raster]`` section, no vintages, or a bad ``unknown`` / ``threads`` value.
    SchemaError, CRSError, InputFileError
        Unreadable rasters, or vintages not on one grid (with the command that aligns them).
    UnknownCodeError
        Raster values outside the legend, unless ``[raster].unknown = "nodata"``.
    """
    # start-up: rasterio and numba (≈ 1 s), for rasters only
    from ..crosstab import crosstab_rasters

    raster = config.raster
    vintages = raster.vintages or {}
    if not config.has("raster") or not vintages:
        raise ConfigError(
            f"{config.label}: no raster vintages; add [raster] legend = \"worldcover\" and "
            "[raster.vintages] 2020 = \"a.tif\", 2021 = \"b.tif\""
        )
    try:
        years = {int(y): config.resolve(p) for y, p in vintages.items()}
    except ValueError:
        raise ConfigError(
            f"{config.label}: [raster.vintages] keys must be years, found {sorted(vintages)}"
        ) from None
    legend_name = str(raster.legend)
    if legend_name.lower().endswith(".csv"):
        legend_name = str(config.resolve(legend_name))
    return crosstab_rasters(
        territories, years, load_legend(legend_name),
        block_size=int(raster.block_size or 2048),
        unknown=str(raster.unknown or "error"),
        threads=int(raster.threads or 0) or None,
        legend_name=str(raster.legend),
        progress=progress,
    )


def raster_footprint(path: str | os.PathLike[str]) -> tuple[tuple[float, float, float, float], str]:
    """The extent ``(xmin, ymin, xmax, ymax)`` of a raster and its CRS (WKT), from its header."""
    from ..io.raster import open_raster  # start-up: rasterio (≈ 0.5 s), for rasters only

    info = open_raster(path)
    t = info.transform
    x0, x1 = sorted((t.c, t.c + t.a * info.width))
    y0, y1 = sorted((t.f, t.f + t.e * info.height))
    return (x0, y0, x1, y1), info.crs.to_wkt()


def raster_tables(config: Config, territories: Territories, *, progress: bool = False) -> StepOutput:
    """The ``[raster]`` step: indicator tables (measure ``raster_proxy``), provenance and QA rows."""
    tables: dict[str, pd.DataFrame] = {}
    qa: list[dict] = []
    provenance: list[dict] = []
    rp = raster_pieces(config, territories, progress=progress)
    full = sorted({(int(a), int(b)) for a, b in rp.transitions[["vintage_from", "vintage_to"]].itertuples(index=False)})
    t = indicators.build_tables(rp.stock, rp.transitions, rp.classes, territories, full_pairs=full,
                                pieces_from="raster", measure="raster_proxy")

    vint = {int(y): config.resolve(p) for y, p in config.raster.vintages.items()}
    bounds, crs = raster_footprint(vint[min(vint)])
    shares = raster_coverage.coverage_shares(
        rp.covered, territories, raster_coverage.outside_extent_m2(territories, bounds, crs), sorted(vint))
    covered_tables, cov_qa = raster_coverage.apply_min_coverage(
        t.as_dict(), shares, territories, min_coverage=float(config.raster.min_coverage))
    qa += [qa_row(**r) for r in cov_qa]
    qa += partial_qa(t.partial, "raster_proxy", topic="raster")
    no_imper = not rp.classes["imper"].astype(bool).any()
    for name, df in covered_tables.items():
        df = df.assign(source=f"raster:{config.raster.legend}")
        if no_imper:  # the legend says nothing of imperviousness: unknown, not 0 ha
            cols = [c for c in ("imper_ha", "imper_pct", "desimper_ha", "net_imper_ha") if c in df]
            df[cols] = float("nan")
        tables[name] = df
    if no_imper:
        qa.append(qa_row("raster", "imperméabilisation not measured: the legend has no impervious class", "",
                      str(config.raster.legend), key="raster.no_imper",
                      legend=str(config.raster.legend)))
    for year, raster_path in config.raster.vintages.items():
        provenance += file_provenance(f"raster {year}", config.resolve(raster_path))
    for r in rp.unknown.to_dict("records"):
        qa.append(qa_row("raster", f"unknown raster value {r['value']} in {r['vintage']} (counted as no data)",
                      int(r["pixels"]), f"{r['path']}: {r['area_m2'] / 1e4:.4f} ha", key="raster.unknown_value",
                      files=[str(r["path"])], value=str(r["value"]), vintage=str(r["vintage"]),
                      area_ha=float(r["area_m2"]) / 1e4))
    cov = rp.covered
    for col, label in (("nodata_m2", "no data"), ("unknown_m2", "unknown values"),
                       ("other_vintage_m2", "valid in one vintage only")):
        part = cov[cov[col] > 0] if col in cov else cov.iloc[0:0]
        if len(part):
            qa.append(qa_row("raster", f"zone area left out of stocks: {label} (ha)",
                          round(float(part[col].sum()) / 1e4, 4),
                          ", ".join(sorted(set(part["code"].astype(str))))[:200], key=f"raster.{col[:-3]}",
                          codes=sorted(set(part["code"].astype(str)))))
    qa.append(qa_row("raster", "raster figures are proxies (classified imagery), not the OCS GE legal measure",
                  "", str(config.raster.legend), key="raster.proxy",
                  legend=str(config.raster.legend)))
    return StepOutput(tables=tables, provenance=provenance, qa=qa)
