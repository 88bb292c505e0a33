"""Benchmark of the décret thresholds and of the effective mesh size, on SYNTHETIC département layers.

Prints figures; not a test. Usage::

    python benchmarks/bench_thresholds.py [--n 1000000] [--runs 3] [--dep 41] [--data DIR]
        [--input wkb|shapely] [--baseline-src /tmp/base_eff/src] [--no-calibration]

Inputs are the cached pair of ``benchmarks/bench_ocsge.py`` (generated once, same seed: ``--n``
polygons per vintage over one Centre-Val de Loire département). Every case runs in its own
subprocess so that its peak memory (``VmHWM``) is its own; times are medians of ``--runs``.

Cases:

- ``thresholds``: :func:`ocsol.thresholds.apply_thresholds` on each vintage with the default
  settings (adjacency graph + connected components), then ``fixpoint`` on the same graph, then
  the 32 settings of the calibration on the same two graphs (queen, rook);
- ``tables``: the ``decret_thresholds`` stock and flow tables of the pair (thresholds on both
  vintages + overlay + tables), as the pipeline runs them;
- ``fragmentation``: CUT and CBC effective mesh per commune, EPCI and département for one vintage
  (open land = non-artificial polygons by the matrix); only that vintage is loaded.

``input_gb`` is the resident memory once the layers are loaded, before the case runs: ``peak_gb``
minus it is what the algorithm itself adds.

``--input wkb`` (default) holds the vintages as WKB (``cs, us, artif`` and a ``geometry`` column
of bytes, cached once under ``--wkb-cache``), as a GeoParquet reader hands them: the thresholds
and the effective mesh then decode them by chunks (:data:`ocsol.thresholds.CHUNK`).
``--input shapely`` holds them decoded (GeoDataFrames), as before. The ``tables`` case always
uses GeoDataFrames (the overlay engine decodes). ``--baseline-src`` runs every case a second
time, alternated, with that source tree and GeoDataFrames (a baseline cannot take WKB), and
prints the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_ocsge as base  # noqa: E402  (the cached synthetic pair and the memory helpers)

V1, V2 = base.V1, base.V2


def _wkb_path(cache: Path, folder: Path, year: int) -> Path:
    return cache / folder.name / f"ocsge_{year}_wkb.pkl"


def case_wkb(folder: Path, cache: Path, year: int) -> dict:
    """Write one cached vintage as a frame of ``cs, us`` and WKB (in its own process: decoding peaks)."""
    import shapely

    layer = pd.read_pickle(folder / f"ocsge_{year}.pkl")
    # codes as categories: loaded, each code is one string object, as from a dictionary-encoded column
    out = pd.DataFrame({"cs": layer["code_cs"].astype("category"), "us": layer["code_us"].astype("category"),
                        "geometry": shapely.to_wkb(np.asarray(layer.geometry.values, dtype=object))})
    path = _wkb_path(cache, folder, year)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_pickle(path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)
    return {"case": "wkb", "path": str(path)}


def _classified(folder: Path, years: tuple[int, ...] = (V1, V2), *, wkb: Path | None = None):
    """The cached vintages ``years`` (only those: a case on one vintage never holds the other).

    ``wkb``: the WKB cache folder (frames with a ``geometry`` column of bytes); else GeoDataFrames.
    """
    import geopandas as gpd

    from ocsol import nomenclature

    t = time.perf_counter()
    rule = nomenclature.load_rule("decret-2023")
    out = {}
    for year in years:
        if wkb is not None:
            v = pd.read_pickle(_wkb_path(wkb, folder, year))
            v["cs"], v["us"] = v["cs"].astype(object), v["us"].astype(object)  # shared string objects
        else:
            layer = pd.read_pickle(folder / f"ocsge_{year}.pkl")  # as bench_ocsge.load, one vintage
            v = gpd.GeoDataFrame({"cs": layer["code_cs"].to_numpy(), "us": layer["code_us"].to_numpy()},
                                 geometry=layer.geometry.values, crs=layer.crs)
            del layer
        cl = nomenclature.classify(v[["cs", "us"]].drop_duplicates(), rule)
        v["artif"] = v[["cs", "us"]].merge(cl, on=["cs", "us"], how="left")["artif"].to_numpy(dtype=bool)
        out[year] = v
    return out, time.perf_counter() - t


def _territories(folder: Path):
    from ocsol.io.territories import read_territories

    return read_territories(folder / "communes.gpkg", code="CODE_INSEE", name="NOM",
                            levels={"epci": "SIREN_EPCI", "dep": "DEP"})


def case_thresholds(folder: Path, runs: int, wkb: Path | None = None, calibration: bool = True) -> dict:
    from ocsol.thresholds import (
        ThresholdSettings,
        all_settings,
        apply_thresholds,
        patch_graph,
        run_thresholds,
    )

    layers, load_s = _classified(folder, wkb=wkb)
    input_gb = base._status_gb("VmRSS")
    times, cpu, crit = [], [], 0
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        for v in layers.values():
            out = apply_thresholds(v)
            crit = int(out["crit_seuil"].sum())
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    v = layers[V1]
    t = time.process_time()
    graph = patch_graph(v)
    graph_s = time.process_time() - t
    matrix = v["artif"].to_numpy()
    t = time.process_time()
    res = run_thresholds(graph, matrix, ThresholdSettings())
    run_s = time.process_time() - t
    t = time.process_time()
    fix = run_thresholds(graph, matrix, ThresholdSettings(schedule="fixpoint"))
    fix_s = time.process_time() - t
    rook_s = all_s = float("nan")
    if calibration:
        t = time.process_time()
        rook = patch_graph(v, adjacency="rook")
        rook_s = time.process_time() - t
        t = time.process_time()
        for s in all_settings():
            run_thresholds(rook if s.adjacency == "rook" else graph, matrix, s)
        all_s = time.process_time() - t
    area = graph.area
    return {"case": "thresholds", "times_s": times, "median_s": statistics.median(times), "load_s": load_s,
            "cpu_s": cpu, "median_cpu_s": statistics.median(cpu),
            "input_gb": input_gb, "peak_gb": base.rss_gb(), "polygons": int(len(v)), "edges": int(len(graph.i)),
            "graph_cpu_s": graph_s, "run_cpu_s": run_s, "fixpoint_cpu_s": fix_s, "fixpoint_iterations": fix.iterations,
            "rook_graph_cpu_s": rook_s, "all_32_settings_cpu_s": all_s, "crit_polygons_v2": crit,
            "crit_polygons_v1": int((res.status != matrix).sum()),
            "crit_ha_v1": float(area[res.status != matrix].sum() / 1e4),
            "matrix_artif_ha_v1": float(area[matrix].sum() / 1e4),
            "thresholded_artif_ha_v1": float(area[res.status].sum() / 1e4)}


def case_tables(folder: Path, runs: int, wkb: Path | None = None, calibration: bool = True) -> dict:
    from ocsol import change, nomenclature
    from ocsol.threshold_tables import threshold_layers, threshold_tables
    from ocsol.thresholds import ThresholdSettings

    layers, load_s = _classified(folder)
    territories = _territories(folder)
    rule = nomenclature.load_rule("decret-2023")
    vint = {y: v[["cs", "us", "geometry"]] for y, v in layers.items()}
    classes = nomenclature.classify(pd.concat([v[["cs", "us"]] for v in vint.values()]).drop_duplicates(), rule)
    times, cpu = [], []
    rows = {}
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        zones = change.Zones.from_communes(territories.communes)
        th = threshold_layers(vint, classes, settings=ThresholdSettings())
        tables = threshold_tables(th, classes, zones, territories)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        rows = {k: len(df) for k, df in tables.items()}
        del th, tables
    return {"case": "tables", "times_s": times, "median_s": statistics.median(times), "load_s": load_s,
            "cpu_s": cpu, "median_cpu_s": statistics.median(cpu),
            "peak_gb": base.rss_gb(), "rows": rows}


def case_fragmentation(folder: Path, runs: int, wkb: Path | None = None, calibration: bool = True) -> dict:
    from ocsol import change
    from ocsol.fragmentation import effective_mesh

    layers, load_s = _classified(folder, (V1,), wkb=wkb)  # one vintage: the other was loaded for nothing
    territories = _territories(folder)
    v = layers.pop(V1)
    open_land = (v["geometry"].to_numpy(dtype=object) if wkb is not None
                 else np.asarray(v.geometry.values, dtype=object))[~v["artif"].to_numpy()]
    del v
    input_gb = base._status_gb("VmRSS")
    times, cpu = [], []
    table = None
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        zones = change.Zones.from_communes(territories.communes)
        table = effective_mesh(open_land, zones, territories)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    dep = table[table["level"] == "dep"].iloc[0]
    return {"case": "fragmentation", "times_s": times, "median_s": statistics.median(times), "load_s": load_s,
            "cpu_s": cpu, "median_cpu_s": statistics.median(cpu),
            "input_gb": input_gb, "peak_gb": base.rss_gb(), "open_polygons": int(len(open_land)), "rows": int(len(table)),
            "dep_meff_km2": float(dep["meff_km2"]), "dep_meff_cbc_km2": float(dep["meff_cbc_km2"])}


def _show(name: str, r: dict) -> None:
    print(f"\n== {name}: median {r['median_s']:.1f} s of {[round(x, 1) for x in r['times_s']]} wall, "
          f"{r['median_cpu_s']:.1f} s CPU (single-threaded: CPU time is the time on an idle core); "
          f"peak {r['peak_gb']:.2f} GB", flush=True)
    print("   " + json.dumps({k: v for k, v in r.items() if k not in ("times_s", "case")}, default=float),
          flush=True)


CASES = {"thresholds": case_thresholds, "tables": case_tables, "fragmentation": case_fragmentation}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="polygons per vintage")
    ap.add_argument("--runs", type=int, default=3, help="runs per case (median)")
    ap.add_argument("--dep", default="41", help="CVL département code")
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--tables-runs", type=int, default=1, help="runs of the (slow) tables case")
    ap.add_argument("--data", type=Path, default=base.OUT, help="folder of the cached synthetic inputs")
    ap.add_argument("--input", choices=("wkb", "shapely"), default="wkb", help="how the vintages are held")
    ap.add_argument("--wkb-cache", type=Path, default=base.OUT / "wkb", help="folder of the WKB copies")
    ap.add_argument("--baseline-src", type=Path, help="also run each case with this src tree (GeoDataFrames)")
    ap.add_argument("--out", type=Path, default=base.OUT, help="folder of the JSON report")
    ap.add_argument("--no-calibration", action="store_true", help="thresholds: skip the rook graph and 32 settings")
    ap.add_argument("--case", choices=sorted([*CASES, "wkb"]), help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--year", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case == "wkb":
        print(json.dumps(case_wkb(args.folder, args.wkb_cache, args.year)))
        return
    if args.case:
        wkb = args.wkb_cache if args.input == "wkb" and args.case != "tables" else None
        print(json.dumps(CASES[args.case](args.folder, args.runs, wkb, not args.no_calibration), default=float))
        return
    folder, facts = base.prepare(args.n, args.dep, gpkg=False, data=args.data)
    if args.input == "wkb":
        for year in (V1, V2):
            if not _wkb_path(args.wkb_cache, folder, year).exists():
                base.run_case("wkb", folder, 1, ["--wkb-cache", str(args.wkb_cache), "--year", str(year)],
                              script=__file__)
    print(f"ocsol thresholds/fragmentation benchmark — SYNTHETIC pair over département {args.dep}: "
          f"{facts['polygons']} polygons, {facts['n_communes']} communes, {facts['area_km2']:.0f} km² "
          f"({os.cpu_count()} CPUs)", flush=True)
    report = {"facts": facts}
    extra = ["--input", args.input, "--wkb-cache", str(args.wkb_cache)] + (["--no-calibration"]
                                                                            if args.no_calibration else [])
    base_extra = ["--input", "shapely"] + (["--no-calibration"] if args.no_calibration else [])
    for name in args.cases:
        runs = args.tables_runs if name == "tables" else args.runs
        r = base.run_case(name, folder, runs, extra, script=__file__)
        report[name] = r
        _show(name, r)
        if args.baseline_src:  # alternated: this tree, then the baseline, case by case
            b = base.run_case(name, folder, runs, base_extra, src=args.baseline_src, script=__file__)
            report[name + "_baseline"] = b
            _show(name + f" BASELINE ({args.baseline_src})", b)
            print(f"   ratio baseline/this: time ×{b['median_s'] / r['median_s']:.2f}, "
                  f"peak ×{b['peak_gb'] / r['peak_gb']:.2f}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"bench_thresholds_n{args.n}.json").write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
