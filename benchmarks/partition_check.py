"""Time the territories partition check (issue 9, item 7) on a region-sized grid of communes.

Usage: ``python benchmarks/partition_check.py [SIDE] [RUNS]`` (default 200 × 200 = 40 000 communes,
5 runs); prints the median. Real communes have more vertices but about as many neighbours
(≈ 6 per commune), which is what the check's cost depends on.
"""

from __future__ import annotations

import statistics
import sys
import time

import geopandas as gpd
import shapely

from ocsol.io.territories import check_partition


def main(side: int = 200, runs: int = 5) -> None:
    geoms = [shapely.box(i * 10, j * 10, i * 10 + 10, j * 10 + 10) for i in range(side) for j in range(side)]
    communes = gpd.GeoDataFrame({"code": [f"{k:06d}" for k in range(side * side)]}, geometry=geoms,
                                crs="EPSG:2154")
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        check_partition(communes)
        times.append(time.perf_counter() - t)
    print(f"{side * side} communes: median {statistics.median(times):.2f} s over {runs} runs")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
