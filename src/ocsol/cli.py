"""The ``ocsol`` command: a thin shell over :mod:`ocsol.pipeline` and :mod:`ocsol.report`.

User errors (:class:`~ocsol.errors.OcsolError`) print one line on stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ._version import __version__
from .config import load_config
from .departements import input_paths
from .errors import OcsolError
from .io.write import check_out_dir
from .pipeline import compute, write_results
from .sample import sample_config

log = logging.getLogger("ocsol")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="count", default=0, help="more messages (-vv for debug)")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors")


def _add_cluster(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Dask (per-département inputs, reports)")
    g.add_argument("--workers", type=int, default=None,
                   help="Dask LocalCluster workers (default: one per CPU); 0 = no Dask, one after another here")
    g.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing Dask scheduler (tcp://host:8786)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ocsol",
        description="Land consumption (NAF) and artificialisation (ZAN) indicators and reports for French territories.",
    )
    parser.add_argument("--version", action="version", version=f"ocsol {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("indicators", help="compute every indicator table (CSV) and the change polygons (GPKG)")
    p.add_argument("--config", "-c", help="ocsol.toml (default: the bundled sample)")
    p.add_argument("--out", "-o", default="indicateurs", help="output folder (default: indicateurs)")
    _add_cluster(p)
    _add_common(p)

    p = sub.add_parser("report", help="write the report of one territory")
    p.add_argument("code", help="territory code (INSEE for a commune, SIREN for an EPCI, …)")
    p.add_argument("--level", help="level of the code (inferred when the code names one territory only)")
    p.add_argument("--config", "-c", help="ocsol.toml (default: the bundled sample)")
    p.add_argument("--out", "-o", default="rapport", help="output folder (default: rapport)")
    p.add_argument("--pdf", action="store_true", help="also print a PDF with headless Chromium")
    _add_common(p)

    p = sub.add_parser("batch", help="write the reports of many territories, an index and open-data tables")
    p.add_argument("--config", "-c", help="ocsol.toml (default: the bundled sample)")
    p.add_argument("--level", help="only territories of this level")
    p.add_argument("--within", help="only territories within LEVEL:CODE (e.g. epci:200046977)")
    p.add_argument("--jobs", "-j", type=int, default=2, help="worker processes (default: 2)")
    p.add_argument("--force", action="store_true", help="rewrite reports that are up to date")
    p.add_argument("--pdf", action="store_true", help="also print each report to PDF with headless Chromium")
    p.add_argument("--territories", nargs="+", metavar="CODE", help="only these territories (CODE or LEVEL:CODE)")
    p.add_argument("--out", "-o", default="rapports", help="output folder (default: rapports)")
    _add_cluster(p)
    _add_common(p)

    p = sub.add_parser("demo", help="the main job on the bundled sample: indicators and a batch of reports")
    p.add_argument("--config", "-c", help="another configuration to demonstrate (default: the bundled sample)")
    p.add_argument("--out", "-o", default="demo", help="output folder (default: demo)")
    p.add_argument("--jobs", "-j", type=int, default=2, help="worker processes (default: 2)")
    _add_common(p)

    p = sub.add_parser("thresholds", help="décret thresholds computed by ocsol: calibration against IGN")
    tsub = p.add_subparsers(dest="action", required=True)
    c = tsub.add_parser("compare", help="run every threshold setting on raw OCS GE and rank them by distance to "
                                        "IGN's artificialisation product of the same millésime")
    c.add_argument("--config", "-c", required=True, help="ocsol.toml naming the territories and the raw vintage")
    c.add_argument("--vintage", type=int, required=True, help="millésime of the IGN product (a year of [ocsge.vintages])")
    c.add_argument("--ign", required=True, help="IGN OCS GE Artificialisation layer (artif = 'artif' / 'non artif')")
    c.add_argument("--ign-layer", help="layer name in the IGN file")
    c.add_argument("--out", "-o", default="out", help="output folder (default: out)")
    _add_common(c)

    p = sub.add_parser("versions", help="versions of ocsol, GDAL/PROJ/GEOS and the Python libraries (for bug reports)")
    _add_common(p)
    return parser


def _configure_logging(args: argparse.Namespace) -> None:
    level = logging.ERROR if args.quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # library warnings (GDAL/pyogrio, openpyxl, pandas…) go to the log, shown with -v only
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.INFO if args.verbose else logging.ERROR)


def _config_path(value: str | None) -> str:
    if value:
        return value

    return str(sample_config("sample"))


def cmd_indicators(args: argparse.Namespace) -> int:
    config = load_config(_config_path(args.config))
    check_out_dir(args.out, input_paths(config))  # before computing: refuse at once
    results = compute(config, progress=not args.quiet, workers=args.workers, scheduler=args.scheduler)
    written = write_results(results, args.out)
    if not args.quiet:
        print(f"wrote {len(written)} files to {Path(args.out)}/: " + ", ".join(p.name for p in written))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    # start-up: the report modules (≈ 0.1 s) are imported by the commands that write reports only
    from .report.commands import report_command

    return report_command(args.code, level=args.level, config=_config_path(args.config), out=args.out, pdf=args.pdf)


def cmd_batch(args: argparse.Namespace) -> int:
    # start-up: the report modules, for the commands that write reports only
    from .report.commands import batch_command

    return batch_command(config=_config_path(args.config), level=args.level, within=args.within, jobs=args.jobs,
                         force=args.force, out=args.out, pdf=args.pdf, progress=not args.quiet,
                         territories=args.territories, workers=args.workers, scheduler=args.scheduler)


def cmd_demo(args: argparse.Namespace) -> int:
    # start-up: the report modules, for the commands that write reports only
    from .report.commands import demo_command

    return demo_command(out=args.out, jobs=args.jobs, config=args.config, progress=not args.quiet)


def cmd_thresholds(args: argparse.Namespace) -> int:
    # start-up: scipy.sparse (≈ 0.5 s), for this command only
    from .threshold_compare import compare_command

    res = compare_command(config=args.config, vintage=args.vintage, ign=args.ign, ign_layer=args.ign_layer,
                          out=args.out)
    if not args.quiet:
        cols = ["rank", "settings", "disagree_ha", "share_polygons_disagree", "stock_gap_ha"]
        print(res.total[cols].head(8).to_string(index=False))
        best = res.recommended["settings"].tolist()
        print(f"closest to IGN: {' = '.join(best) if best else 'none (the matrix alone is closest)'}"
              + (f" ({len(best)} settings give the same result on this layer)" if len(best) > 1 else ""))
        print(f"wrote {Path(args.out)}/thresholds_compare.csv and thresholds_compare_communes.csv")
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    import importlib.metadata as md

    import pyproj
    import shapely

    lines = [f"ocsol {__version__}", f"python {sys.version.split()[0]}"]
    for pkg in ("geopandas", "shapely", "pyogrio", "pyproj", "rasterio", "numpy", "pandas", "xarray",
                "matplotlib", "papermill", "nbconvert"):
        try:
            lines.append(f"{pkg} {md.version(pkg)}")
        except md.PackageNotFoundError:
            lines.append(f"{pkg} (not installed)")
    try:
        import pyogrio

        lines.append(f"GDAL {pyogrio.__gdal_version_string__}")
    except Exception:  # pragma: no cover
        pass
    lines.append(f"GEOS {shapely.geos_version_string}")
    lines.append(f"PROJ {pyproj.proj_version_str}")
    print("\n".join(lines))
    return 0


COMMANDS = {
    "indicators": cmd_indicators,
    "report": cmd_report,
    "batch": cmd_batch,
    "demo": cmd_demo,
    "thresholds": cmd_thresholds,
    "versions": cmd_versions,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args)
    if args.command in ("indicators", "demo", "thresholds"):
        # start-up: imported here, the other commands start without pyarrow and shapely
        from .io.ocsge import use_jemalloc_pool

        use_jemalloc_pool()  # process-wide, hence here and not in the library
    try:
        return COMMANDS[args.command](args)
    except OcsolError as exc:
        print(f"ocsol: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # disk full, permission denied… while reading or writing
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"ocsol: error: {where}{exc.strerror or exc}; check free space and permissions "
              "(previous outputs were left as they were)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ocsol: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
