"""Benchmark: per-report time and batch throughput of ``ocsol batch`` (target ≤ 1 s/report amortised).

Reports are written for N territories computed by the **real pipeline** from generated input
files (:func:`ocsol.synthetic_inputs.write_synthetic_inputs`: communes, two OCS GE vintages,
Cerema consumption, population), so every section has data — the worst case, not a half-empty
page — and a renamed column breaks the benchmark. ``--indicators DIR`` reuses a folder already
computed (e.g. to time another checkout on the same tables: ``PYTHONPATH=../main/src``). Kernel start, notebook
execution, HTML export, figure CSV and XLSX are all included; PDF is not (it is opt-in).

Also measured, on a few reports: the same work with a fresh kernel per report (papermill's
default engine), which is why workers keep their kernel alive.

Usage::

    python benchmarks/bench_reports.py                  # 240 communes + 12 EPCI, 2 jobs
    python benchmarks/bench_reports.py --communes 400 --jobs 2 --fresh 0

Prints one summary line per mode and writes ``benchmarks/out/bench_reports.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=240, help="synthetic communes (default 240)")
    parser.add_argument("--epci", type=int, default=12, help="EPCI groupings (default 12)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--fresh", type=int, default=6, help="reports to time with a fresh kernel each (0: skip)")
    parser.add_argument("--out", default=str(HERE / "out" / "reports"), help="output folder (emptied)")
    parser.add_argument("--dask", type=int, nargs="*", default=[], metavar="WORKERS",
                        help="also run the batch on a Dask LocalCluster of these worker counts (e.g. 1 2)")
    parser.add_argument("--indicators", help="an indicators folder to reuse (default: generate inputs and compute)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from ocsol.report.batch import batch_reports, select_territories
    from ocsol.report.export import ReportRunner
    from ocsol.report.loader import load_indicators

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    if args.indicators:
        ind_dir = Path(args.indicators)
    else:
        from ocsol.report import compute_indicators
        from ocsol.synthetic_inputs import write_synthetic_inputs

        config = write_synthetic_inputs(out.parent / "inputs", n_communes=args.communes, n_epci=args.epci)
        ind_dir = compute_indicators(config, out.parent / "indicators")
    ind = load_indicators(ind_dir)
    territories = select_territories(ind)
    summary: dict[str, object] = {"cpus": os.cpu_count(), "territories": len(territories), "jobs": args.jobs,
                                  "loadavg_before": [round(x, 2) for x in os.getloadavg()]}

    t0 = time.perf_counter()
    res = batch_reports(territories, indicators=ind_dir, out=out / "batch", jobs=args.jobs, progress=True)
    wall = time.perf_counter() - t0
    times = sorted(r.seconds for r in res.done)
    summary["batch"] = {
        "wall_s": round(wall, 2), "s_per_report": round(wall / max(len(res.done), 1), 3),
        "reports": len(res.done), "failed": len(res.failed),
        "per_report_in_worker_median_s": round(statistics.median(times), 3) if times else None,
        "slowest_report_s (includes kernel start)": round(max(times), 2) if times else None,
    }
    print(f"batch (process pool, baseline): {len(res.done)} reports, {len(res.failed)} failed, jobs={res.jobs}, wall {wall:.1f} s, "
          f"{wall / max(len(res.done), 1):.3f} s/report amortised; median {statistics.median(times):.2f} s per "
          f"report inside a worker (one worker = one process + one kernel)")

    for workers in args.dask:
        from ocsol.cluster import open_client

        t0 = time.perf_counter()
        with open_client(workers=workers) as client:
            started = time.perf_counter() - t0
            res_d = batch_reports(territories, indicators=ind_dir, out=out / f"dask{workers}", progress=False,
                                  client=client)
        wall_d = time.perf_counter() - t0
        summary[f"dask_{workers}"] = {"wall_s": round(wall_d, 2), "cluster_start_s": round(started, 2),
                                      "s_per_report": round(wall_d / max(len(res_d.done), 1), 3),
                                      "reports": len(res_d.done), "failed": len(res_d.failed),
                                      "load": round(os.getloadavg()[0], 1)}
        print(f"dask, {workers} worker(s): {len(res_d.done)} reports, {len(res_d.failed)} failed, wall {wall_d:.1f} s "
              f"(cluster start {started:.1f} s), {wall_d / max(len(res_d.done), 1):.3f} s/report amortised; "
              f"load {os.getloadavg()[0]:.1f}")

    t0 = time.perf_counter()
    again = batch_reports(territories, indicators=ind_dir, out=out / "batch", jobs=args.jobs, progress=False)
    summary["rerun_up_to_date_s"] = round(time.perf_counter() - t0, 2)
    print(f"rerun with nothing changed: {len(again.skipped)} skipped in {summary['rerun_up_to_date_s']} s")

    if args.fresh:
        sample = territories[: args.fresh]
        modes = {"fresh kernel per report": False, "kept-alive kernel": True}
        for label, persistent in modes.items():
            runner = ReportRunner(persistent=persistent)
            t0 = time.perf_counter()
            for lvl, code in sample:
                r = runner.run(code, level=lvl, indicators=str(ind_dir), folder=out / "single" / f"{lvl}-{code}")
                assert r.ok, r.error
            dt = time.perf_counter() - t0
            runner.close()
            summary[label] = {"reports": len(sample), "s_per_report_one_process": round(dt / len(sample), 3)}
            print(f"{label}: {dt / len(sample):.2f} s/report, one process, {len(sample)} reports")

    summary["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]  # other processes on the machine
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "bench_reports.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(json.dumps(summary))
    return 0 if not res.failed else 1


if __name__ == "__main__":
    sys.exit(main())
