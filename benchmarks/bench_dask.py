"""Benchmark: k SYNTHETIC départements through ``ocsol indicators`` on Dask, 1 and 2 workers.

Prints figures; not a test. Usage::

    python benchmarks/bench_dask.py [--deps 18 28 36 41] [--n 100000] [--runs 3]
    python benchmarks/bench_dask.py --n 250000 --runs 2     # département size
    python benchmarks/bench_dask.py --n 250000 --data ../main/benchmarks/out   # inputs cached elsewhere

1. Generates (once, cached in ``benchmarks/out/dask_*``) one synthetic OCS GE pair per
   département (:func:`ocsol.synthetic.generate_ocsge`, ``--n`` polygons per vintage, 3 %
   changed) over the Centre-Val de Loire communes of COG 2018, written as GeoParquet
   ``ocsge_{dep}_{year}.parquet``, and one configuration listing the départements.
2. Runs, each in a fresh subprocess: in one process without Dask (``workers=0``, the baseline),
   then on a LocalCluster of 1 and 2 worker processes; median wall time of ``--runs`` runs,
   the peak resident set of each worker (``VmHWM`` read on the workers after the run) and of
   the driver. Checks that the tables are byte-identical across the three.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

V1, V2 = 2019, 2022


def _vmhwm_gb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2
    return float("nan")


def prepare(deps: list[str], n: int, data: Path = HERE / "out") -> Path:
    import geopandas as gpd
    import pandas as pd
    from bench_ocsge import communes_of

    folder = data / f"dask_{'-'.join(deps)}_n{n}"
    cfg = folder / "ocsol.toml"
    if cfg.exists():
        return cfg
    folder.mkdir(parents=True, exist_ok=True)
    communes = pd.concat([communes_of(d) for d in deps], ignore_index=True)
    gpd.GeoDataFrame(communes, crs=communes.crs).to_file(folder / "communes.gpkg", driver="GPKG", engine="pyogrio")
    for i, dep in enumerate(deps):  # one child per département: its layers are freed before the next
        subprocess.run([sys.executable, __file__, "--generate", dep, "--seed-offset", str(i), "--n", str(n),
                        "--folder", str(folder)], check=True)
    cfg.write_text(
        "# SYNTHETIC OCS GE per département (ocsol.synthetic), benchmark input\n"
        "[territories]\npath = \"communes.gpkg\"\ncode = \"CODE_INSEE\"\nname = \"NOM\"\n"
        "levels = { epci = \"SIREN_EPCI\", dep = \"DEP\" }\n\n"
        f"[ocsge]\ndepartements = {json.dumps(deps)}\n[ocsge.vintages]\n"
        f"{V1} = \"ocsge_{{dep}}_{V1}.parquet\"\n{V2} = \"ocsge_{{dep}}_{V2}.parquet\"\n",
        encoding="utf-8",
    )
    return cfg


def generate(folder: Path, dep: str, n: int, seed_offset: int) -> None:
    """Write the two GeoParquet vintages of one département (run in a child process)."""
    import geopandas as gpd
    from bench_ocsge import SEED

    from ocsol.synthetic import generate_ocsge

    t = time.perf_counter()
    communes = gpd.read_file(folder / "communes.gpkg", engine="pyogrio")
    layers = generate_ocsge(communes[communes["DEP"] == dep], n_polygons=n, vintages=(V1, V2), seed=SEED + seed_offset)
    for year, layer in layers.items():
        layer.to_parquet(folder / f"ocsge_{dep}_{year}.parquet")
    print(f"  generated département {dep}: {len(layers[V1]):,} polygons in {time.perf_counter() - t:.0f} s, "
          f"peak {_vmhwm_gb():.2f} GB", flush=True)


def case(cfg: Path, workers: int, out: Path) -> dict:
    """One run in this (fresh) process: wall time, peaks, a digest of the tables."""
    import logging

    from ocsol.pipeline import compute, write_results

    logging.disable(logging.CRITICAL)
    t0 = time.perf_counter()
    peaks: list[float] = []
    if workers == 0:
        res = compute(cfg, workers=0)
    else:
        from ocsol.cluster import open_client

        with open_client(workers=workers) as client:
            res = compute(cfg, client=client)
            peaks = sorted(client.run(_vmhwm_gb).values())
    seconds = time.perf_counter() - t0
    write_results(res, out)
    digest = hashlib.sha256()
    for p in sorted(out.glob("*.csv")):
        if p.name != "provenance.csv":
            digest.update(p.read_bytes())
    return {"seconds": seconds, "worker_peaks_gb": peaks, "driver_peak_gb": _vmhwm_gb(),
            "digest": digest.hexdigest()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deps", nargs="+", default=["18", "28", "36", "41"], help="CVL départements (k ≥ 4)")
    ap.add_argument("--n", type=int, default=100_000, help="polygons per vintage and département")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", type=Path, default=HERE / "out",
                    help="folder of the cached inputs (e.g. another worktree's benchmarks/out); read only when cached")
    ap.add_argument("--case", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--generate", help=argparse.SUPPRESS)
    ap.add_argument("--seed-offset", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate:
        generate(args.folder, args.generate, args.n, args.seed_offset)
        return
    if args.case is not None:
        out = HERE / "out" / f"dask_tables_w{args.case}"
        print(json.dumps(case(args.config, args.case, out)))
        return
    cfg = prepare(args.deps, args.n, args.data)
    print(f"ocsol on Dask — {len(args.deps)} SYNTHETIC départements {args.deps}, {args.n:,} polygons per vintage "
          f"each, GeoParquet; {os.cpu_count()} CPUs; load average before {os.getloadavg()[0]:.1f}", flush=True)
    results = {}
    for workers in (0, 1, 2):
        runs = []
        for _ in range(args.runs):
            proc = subprocess.run([sys.executable, __file__, "--case", str(workers), "--config", str(cfg)],
                                  capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
            if proc.returncode:
                sys.stderr.write(proc.stderr)
                raise SystemExit(f"case workers={workers} failed")
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        med = statistics.median(r["seconds"] for r in runs)
        results[workers] = {"median_s": med, "runs_s": [round(r["seconds"], 1) for r in runs],
                            "worker_peaks_gb": runs[-1]["worker_peaks_gb"], "driver_peak_gb": runs[-1]["driver_peak_gb"],
                            "digest": runs[-1]["digest"], "load": os.getloadavg()[0]}
        label = "one process, no Dask (baseline)" if workers == 0 else f"LocalCluster, {workers} worker(s)"
        peaks = ", ".join(f"{p:.2f}" for p in runs[-1]["worker_peaks_gb"]) or "-"
        print(f"{label:34s}: median {med:.1f} s of {results[workers]['runs_s']}; peak per worker {peaks} GB; "
              f"driver {runs[-1]['driver_peak_gb']:.2f} GB; load {results[workers]['load']:.1f}", flush=True)
    same = len({r["digest"] for r in results.values()}) == 1
    print(f"speed-up 2 workers vs 1: ×{results[1]['median_s'] / results[2]['median_s']:.2f}; "
          f"2 workers vs one process: ×{results[0]['median_s'] / results[2]['median_s']:.2f}; "
          f"tables byte-identical across the three: {same}")
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "bench_dask.json").write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
