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

    python benchmarks/bench_reports.py                  # 240 communes + 12 EPCI; 1 process, Dask 1 and 2
    python benchmarks/bench_reports.py --communes 400 --jobs 2 --fresh 0 --runs 3 --dask 1 2

Each mode (no Dask with ``--jobs`` processes, the baseline; a Dask LocalCluster of each
``--dask`` worker count, cluster start included) rewrites every report (HTML + XLSX + DOCX,
counted per run) ``--runs`` times, modes alternating; the median s/report amortised and its
ratio to the baseline are printed, with the load average of each run.

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
    parser.add_argument("--jobs", type=int, default=1,
                        help="worker processes of the baseline without Dask (default 1: one process)")
    parser.add_argument("--runs", type=int, default=2, help="runs of each mode, alternated (median; default 2)")
    parser.add_argument("--fresh", type=int, default=6, help="reports to time with a fresh kernel each (0: skip)")
    parser.add_argument("--out", default=str(HERE / "out" / "reports"), help="output folder (emptied)")
    parser.add_argument("--dask", type=int, nargs="*", default=[1, 2], metavar="WORKERS",
                        help="also run the batch on a Dask LocalCluster of these worker counts (default 1 2; "
                             "none: --dask with no number)")
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

    def formats(folder: Path) -> dict[str, int]:
        """Reports written per format (each report folder: rapport.html, tableaux.xlsx, rapport.docx)."""
        names = {"html": "rapport.html", "xlsx": "tableaux.xlsx", "docx": "rapport.docx"}
        return {ext: sum(1 for _ in folder.glob(f"*/{name}")) for ext, name in names.items()}

    def one_run(mode: int) -> dict[str, object]:
        """One full batch, every report rewritten: mode 0 = no Dask (``--jobs`` worker processes,
        the baseline), mode k ≥ 1 = a Dask LocalCluster of k workers (cluster start included)."""
        folder = out / ("batch" if mode == 0 else f"dask{mode}")
        shutil.rmtree(folder, ignore_errors=True)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        if mode == 0:
            r = batch_reports(territories, indicators=ind_dir, out=folder, jobs=args.jobs, progress=False, force=True)
        else:
            from ocsol.cluster import open_client

            with open_client(workers=mode) as client:
                r = batch_reports(territories, indicators=ind_dir, out=folder, progress=False, force=True,
                                  client=client)
        wall = time.perf_counter() - t0
        return {"wall_s": wall, "s_per_report": wall / max(len(r.done), 1), "reports": len(r.done),
                "failed": len(r.failed), "formats": formats(folder), "load": load,
                "median_in_worker_s": statistics.median(x.seconds for x in r.done) if r.done else None}

    modes = [0, *args.dask]
    runs: dict[int, list[dict[str, object]]] = {m: [] for m in modes}
    for _ in range(args.runs):  # modes alternate, so each sees the same load
        for m in modes:
            runs[m].append(one_run(m))
    base_s = statistics.median(float(r["s_per_report"]) for r in runs[0])  # type: ignore[arg-type]
    for m in modes:
        rs = runs[m]
        med = statistics.median(float(r["s_per_report"]) for r in rs)  # type: ignore[arg-type]
        label = f"no Dask, {args.jobs} process(es) (baseline)" if m == 0 else f"Dask LocalCluster, {m} worker(s)"
        summary[f"dask_{m}" if m else "batch"] = {
            "s_per_report_median": round(med, 3), "runs": rs, "ratio_to_baseline": round(base_s / med, 2)}
        print(f"{label:40s}: {med:.3f} s/report amortised (median of {len(rs)}: "
              f"{[round(float(r['s_per_report']), 3) for r in rs]}), {rs[-1]['reports']} reports, "
              f"{rs[-1]['failed']} failed, formats {rs[-1]['formats']}, load {[round(float(r['load']), 1) for r in rs]}; "
              f"baseline / this ×{base_s / med:.2f}")
    print("re-run on an idle machine:\n  cd " + str(HERE.parent) + " && PYTHONPATH=$PWD/src python "
          f"benchmarks/bench_reports.py --communes {args.communes} --epci {args.epci} --jobs {args.jobs} "
          f"--runs {args.runs} --dask {' '.join(map(str, args.dask)) or '1 2'} --fresh {args.fresh}"
          + (f" --indicators {args.indicators}" if args.indicators else ""))

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
    return 0 if not any(r["failed"] for rs in runs.values() for r in rs) else 1


if __name__ == "__main__":
    sys.exit(main())
