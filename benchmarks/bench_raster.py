"""Benchmark of the raster crosstab on the full ESA WorldCover tile pair (36,000 × 36,000 px each).

Prints figures; not a test. Each timed run is a fresh subprocess so that its peak RSS
(``resource.getrusage(...).ru_maxrss``) is its own. Usage::

    python benchmarks/bench_raster.py [--runs 3] [--threads 2] [--zones 36]

Figures:
* end to end: zones → pieces over the whole tile pair (every pixel lies in a zone), Mpx/s of
  pixel pairs and GB/s of decoded pixels (2 bytes per pair), peak RSS, tracemalloc peak;
* decode only: the same windows read by the same thread pool, no counting (the ceiling);
* baseline: ``pandas.crosstab`` of (zone, 2020, 2021) on one 4096 × 4096 window (pixels already
  decoded) against ocsol end to end on that same window.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.windows import Window

from ocsol.crosstab import crosstab_rasters
from ocsol.legends import load_legend

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "worldcover_saotome"
TILES = {2020: DATA / "ESA_WorldCover_10m_2020_v100_N00E006_Map.tif",
         2021: DATA / "ESA_WorldCover_10m_2021_v200_N00E006_Map.tif"}
BASE_WINDOW = Window(26400, 31000, 4096, 4096)  # over São Tomé island (land, city, sea)


def grid_zones(n_side: int, bounds: tuple[float, float, float, float] = (6.0, 0.0, 9.0, 3.0)) -> gpd.GeoDataFrame:
    """``n_side²`` square zones tiling the bounds, in EPSG:4326."""
    w, s, e, n = bounds
    xs, ys = np.linspace(w, e, n_side + 1), np.linspace(s, n, n_side + 1)
    geoms, codes = [], []
    for j in range(n_side):
        for i in range(n_side):
            geoms.append(shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]))
            codes.append(f"Z{j:02d}{i:02d}")
    return gpd.GeoDataFrame({"code": codes}, geometry=geoms, crs="EPSG:4326")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run_once(kind: str, threads: int, n_zones: int, trace: bool) -> dict[str, float]:
    legend = load_legend("worldcover")
    with rasterio.open(TILES[2020]) as ds:
        height, width = ds.height, ds.width
        bounds = tuple(ds.bounds)
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    if kind == "full":
        zones = grid_zones(int(round(n_zones ** 0.5)), bounds)
        r = crosstab_rasters(zones, TILES, legend, threads=threads, unknown="nodata")
        pixels = r.meta["pixels_in_zones"]
        assert pixels == height * width, pixels
    elif kind == "decode":
        windows = [Window(c, r, min(2048, width - c), min(2048, height - r))
                   for r in range(0, height, 2048) for c in range(0, width, 2048)]

        def read(w: Window) -> int:
            with rasterio.open(TILES[2020]) as a, rasterio.open(TILES[2021]) as b:
                return min(a.read(1, window=w).size, b.read(1, window=w).size)

        with rasterio.Env(GDAL_CACHEMAX=64), ThreadPoolExecutor(threads) as pool:
            pixels = sum(pool.map(read, windows))
    elif kind == "window":
        with rasterio.open(TILES[2020]) as ds:
            box = shapely.box(*rasterio.windows.bounds(BASE_WINDOW, ds.transform))
        zones = gpd.GeoDataFrame({"code": ["W"]}, geometry=[box], crs="EPSG:4326")
        r = crosstab_rasters(zones, TILES, legend, threads=threads, unknown="nodata")
        pixels = r.meta["pixels_in_zones"]
    elif kind == "pandas":
        with rasterio.open(TILES[2020]) as a, rasterio.open(TILES[2021]) as b:
            x, y = a.read(1, window=BASE_WINDOW), b.read(1, window=BASE_WINDOW)
        zone = np.repeat(np.arange(4) // 2, x.size // 4)  # four stripes, two zones
        t0 = time.perf_counter()  # decoding excluded: pandas gets pixels for free
        pd.crosstab([zone, x.ravel()], y.ravel())
        pixels = x.size
    else:
        raise SystemExit(f"unknown kind {kind}")
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "pixels": float(pixels), "rss_mb": rss_mb()}
    if trace:
        out["tracemalloc_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    return out


def spawn(kind: str, threads: int, n_zones: int, trace: bool = False) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--once", kind, "--threads", str(threads), "--zones", str(n_zones)]
    if trace:
        cmd.append("--trace")
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--zones", type=int, default=36)
    ap.add_argument("--once", default=None)
    ap.add_argument("--trace", action="store_true")
    args = ap.parse_args()
    if args.once:
        print(json.dumps(run_once(args.once, args.threads, args.zones, args.trace)))
        return

    def med(kind: str, runs: int) -> dict[str, float]:
        res = [spawn(kind, args.threads, args.zones) for _ in range(runs)]
        out = {k: statistics.median(r[k] for r in res) for k in res[0]}
        out["all_seconds"] = [round(r["seconds"], 2) for r in res]  # type: ignore[assignment]
        return out

    full = med("full", args.runs)
    dec = med("decode", args.runs)
    win = med("window", args.runs)
    pdx = med("pandas", args.runs)
    traced = spawn("full", args.threads, args.zones, trace=True)
    mpx = full["pixels"] / full["seconds"] / 1e6
    print(f"tile pair {int(full['pixels']):,} px each, {args.zones} zones, {args.threads} threads, "
          f"median of {args.runs} runs")
    print(f"end to end : {full['seconds']:.2f} s {full['all_seconds']}  {mpx:.0f} Mpx/s  "
          f"{2 * full['pixels'] / full['seconds'] / 1e9:.2f} GB/s decoded  peak RSS {full['rss_mb']:.0f} MB  "
          f"tracemalloc peak {traced['tracemalloc_mb']:.0f} MB")
    print(f"decode only: {dec['seconds']:.2f} s {dec['all_seconds']}  {dec['pixels'] / dec['seconds'] / 1e6:.0f} Mpx/s  "
          f"{2 * dec['pixels'] / dec['seconds'] / 1e9:.2f} GB/s  peak RSS {dec['rss_mb']:.0f} MB")
    print(f"end to end / decode only: {dec['seconds'] / full['seconds']:.2f}")
    w_rate = win["pixels"] / win["seconds"] / 1e6
    p_rate = pdx["pixels"] / pdx["seconds"] / 1e6
    print(f"4096² window: ocsol end to end {w_rate:.0f} Mpx/s ({win['seconds'] * 1e3:.0f} ms) vs "
          f"pandas.crosstab (decode excluded) {p_rate:.1f} Mpx/s ({pdx['seconds'] * 1e3:.0f} ms): "
          f"×{w_rate / p_rate:.0f}")


if __name__ == "__main__":
    main()
