"""Benchmark of the raster crosstab on the full ESA WorldCover tile pair (36,000 × 36,000 px each).

Prints figures; not a test. Each timed run is a fresh subprocess so that its peak RSS
(``resource.getrusage(...).ru_maxrss``) is its own. Usage::

    python benchmarks/bench_raster.py [--runs 3] [--threads 2] [--zones 36] [--baseline-src ../main/src]

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
import os
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

DATA = next((p / "shared" / "data" / "worldcover_saotome" for p in (Path(__file__).resolve().parents[2], Path("/work"))
             if (p / "shared" / "data" / "worldcover_saotome").is_dir()),
            Path("/work/shared/data/worldcover_saotome"))
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
    elif kind == "kernel":
        return kernel_rates(threads)
    else:
        raise SystemExit(f"unknown kind {kind}")
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "pixels": float(pixels), "rss_mb": rss_mb()}
    if trace:
        out["tracemalloc_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    return out


def _old_count(zl: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray, m: int) -> np.ndarray:
    """The counting of ocsol before the compiled kernel (key + weighted ``np.bincount``)."""
    key = np.left_shift(zl.astype(np.intp), 16)
    pair = np.left_shift(a, 8, dtype=np.uint16)
    np.bitwise_or(pair, b, out=pair)
    np.bitwise_or(key, pair, out=key)
    return np.bincount(key, weights=w, minlength=m * 65536)


def kernel_rates(threads: int, repeats: int = 5) -> dict[str, float]:
    """Mixed land: the counting alone on the decoded 4096² window split in ``threads`` bands
    (as the engine's windows are), four zones, geographic row weights. Old vs compiled."""
    from ocsol.kernels import pair_bins

    with rasterio.open(TILES[2020]) as x, rasterio.open(TILES[2021]) as y:
        a, b = x.read(1, window=BASE_WINDOW), y.read(1, window=BASE_WINDOW)
    h, w = a.shape
    zl = np.repeat(np.arange(1, 5, dtype=np.uint16), h * w // 4).reshape(h, w)  # four zones
    weights = np.repeat(np.linspace(100.0, 101.0, h), w).reshape(h, w)
    bands = np.array_split(np.arange(h), threads)
    jobs = [(zl[r].ravel(), a[r].ravel(), b[r].ravel(), weights[r].ravel()) for r in bands]
    pair_bins(*jobs[0][:1], jobs[0][1][:10], jobs[0][2][:10], v=256, n_zones=5, weights=jobs[0][3][:10])  # compile
    out = {}
    for name, fn in (("old", lambda j: _old_count(j[0], j[1], j[2], j[3], 5)),
                     ("new", lambda j: pair_bins(j[0], j[1], j[2], v=256, n_zones=5, weights=j[3])[1])):
        times = []
        with ThreadPoolExecutor(threads) as pool:
            for _ in range(repeats):
                t0 = time.perf_counter()
                res = list(pool.map(fn, jobs))
                times.append(time.perf_counter() - t0)
        out[f"{name}_mpx_s"] = a.size / statistics.median(times) / 1e6
        out[f"{name}_sum"] = float(sum(r.sum() for r in res))
    assert abs(out["old_sum"] - out["new_sum"]) <= 1e-9 * out["old_sum"], out
    out.update(seconds=0.0, pixels=float(a.size), rss_mb=rss_mb())
    return out


def spawn(kind: str, threads: int, n_zones: int, trace: bool = False, src: str | None = None) -> dict[str, float]:
    """One case in a fresh process; ``src``: another checkout's ``src`` folder (the baseline)."""
    cmd = [sys.executable, __file__, "--once", kind, "--threads", str(threads), "--zones", str(n_zones)]
    if trace:
        cmd.append("--trace")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if src:
        env["PYTHONPATH"] = src
    res = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--zones", type=int, default=36)
    ap.add_argument("--once", default=None)
    ap.add_argument("--trace", action="store_true")
    ap.add_argument("--baseline-src", help="src folder of another checkout, timed end to end alternately "
                    "(e.g. /work/main/src)")
    args = ap.parse_args()
    if args.once:
        print(json.dumps(run_once(args.once, args.threads, args.zones, args.trace)))
        return

    kinds = ["full", "decode", "window", "pandas"] + (["base"] if args.baseline_src else [])
    res: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    for _ in range(args.runs):  # alternated, so every case sees the same load
        for k in kinds:
            res[k].append(spawn("full" if k == "base" else k, args.threads, args.zones,
                                src=args.baseline_src if k == "base" else None))

    def med(kind: str) -> dict[str, float]:
        out = {k: statistics.median(r[k] for r in res[kind]) for k in res[kind][0]}
        out["all_seconds"] = [round(r["seconds"], 2) for r in res[kind]]  # type: ignore[assignment]
        return out

    full, dec, win, pdx = med("full"), med("decode"), med("window"), med("pandas")
    traced = spawn("full", args.threads, args.zones, trace=True)
    ker = [spawn("kernel", args.threads, args.zones) for _ in range(args.runs)]
    mpx = full["pixels"] / full["seconds"] / 1e6
    print(f"tile pair {int(full['pixels']):,} px each, {args.zones} zones, {args.threads} threads, "
          f"median of {args.runs} runs")
    print(f"end to end : {full['seconds']:.2f} s {full['all_seconds']}  {mpx:.0f} Mpx/s  "
          f"{2 * full['pixels'] / full['seconds'] / 1e9:.2f} GB/s decoded  peak RSS {full['rss_mb']:.0f} MB  "
          f"tracemalloc peak {traced['tracemalloc_mb']:.0f} MB")
    print(f"decode only: {dec['seconds']:.2f} s {dec['all_seconds']}  {dec['pixels'] / dec['seconds'] / 1e6:.0f} Mpx/s  "
          f"{2 * dec['pixels'] / dec['seconds'] / 1e9:.2f} GB/s  peak RSS {dec['rss_mb']:.0f} MB")
    print(f"end to end / decode only: {dec['seconds'] / full['seconds']:.2f}")
    if args.baseline_src:
        base = med("base")
        print(f"baseline ({args.baseline_src}) end to end: {base['seconds']:.2f} s {base['all_seconds']}  "
              f"{base['pixels'] / base['seconds'] / 1e6:.0f} Mpx/s; baseline / decode only "
              f"{dec['seconds'] / base['seconds']:.2f}; this checkout ×{base['seconds'] / full['seconds']:.2f} faster")
    print(f"load average {os.getloadavg()[0]:.1f}")
    w_rate = win["pixels"] / win["seconds"] / 1e6
    p_rate = pdx["pixels"] / pdx["seconds"] / 1e6
    print(f"4096² window: ocsol end to end {w_rate:.0f} Mpx/s ({win['seconds'] * 1e3:.0f} ms) vs "
          f"pandas.crosstab (decode excluded) {p_rate:.1f} Mpx/s ({pdx['seconds'] * 1e3:.0f} ms): "
          f"×{w_rate / p_rate:.0f}")
    old = statistics.median(k["old_mpx_s"] for k in ker)
    new = statistics.median(k["new_mpx_s"] for k in ker)
    print(f"mixed land, counting alone on the 4096² window, {args.threads} threads (median of {args.runs}): "
          f"before (key + weighted np.bincount, holds the GIL) {old:.0f} Mpx/s, compiled kernel (nogil) "
          f"{new:.0f} Mpx/s: ×{new / old:.1f}; decode-only rate {dec['pixels'] / dec['seconds'] / 1e6:.0f} Mpx/s")


if __name__ == "__main__":
    main()
