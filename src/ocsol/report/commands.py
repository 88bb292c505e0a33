"""The report commands behind ``ocsol report``, ``ocsol batch`` and ``ocsol demo``.

Plain functions returning an exit code, so the CLI stays a thin shell: ``0`` when every report
was written, ``1`` when some reports failed (the others are written and the failures are listed
in ``index.html``). User errors (unknown territory, bad configuration…) raise
:class:`~ocsol.errors.OcsolError`, which the CLI prints on one line with exit code 2.

The indicator tables are computed once per command into ``<out>/indicateurs/`` (published with
the reports: the full tables behind them) and every report reads its slice from there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd

from ..cluster import open_client
from ..config import load_config
from ..departements import input_paths
from ..errors import OcsolError
from ..io.write import check_out_dir, output_lock, write_text
from ..pipeline import load_territories
from ..sample import sample_config
from ..synthetic_inputs import write_synthetic_inputs
from ..territories import COMMUNE
from .loader import compute_indicators, has_membership, load_indicators

log = logging.getLogger(__name__)

INDICATORS_DIR = "indicateurs"
#: Demo: reports of every unit of every parent level; communes of units with at most this many
#: communes; for larger units, the first DEMO_MAX_COMMUNES communes by code.
DEMO_MAX_COMMUNES = 5
DEMO_SMALL_UNIT = 50


def _config_path(config: str | os.PathLike[str] | None) -> Path:
    if config:
        return Path(config)

    return sample_config("sample")


def _indicators(config: str | os.PathLike[str] | None, out: Path, *, client: Any = None) -> Path:
    cfg = _config_path(config)
    log.info("computing the indicators of %s into %s", cfg, out / INDICATORS_DIR)
    return compute_indicators(cfg, out / INDICATORS_DIR, client=client)


@contextlib.contextmanager
def _out_folder(out: Path, *configs: str | os.PathLike[str] | None) -> Iterator[None]:
    """Refuse an ``--out`` that holds a file the configuration reads, then hold the folder's lock
    (:func:`ocsol.io.write.output_lock`) for the whole command."""
    inputs: list[Path] = []
    for c in configs:
        inputs += input_paths(load_config(_config_path(c)))
    check_out_dir(out, inputs)
    with output_lock(out):
        yield


def _say(text: str) -> None:
    """One line for the user on stderr (the CLI's voice; the library itself only logs)."""
    print(text, file=sys.stderr)


def report_command(
    code: str,
    *,
    level: str | None = None,
    config: str | None = None,
    out: str = "rapport",
    pdf: bool = False,
) -> int:
    """``ocsol report CODE``: the report of one territory, in ``<out>/<level>-<code>/``.

    Returns
    -------
    int
        0 on success, 1 when the report's notebook failed.

    Raises
    ------
    OcsolError
        Unknown territory or ambiguous code (pass ``level``), bad configuration.
    """
    outp = Path(out)
    # an unknown or ambiguous code is a user error before anything is computed or written
    lvl, code = load_territories(load_config(_config_path(config))).find(str(code), level)
    with _out_folder(outp, config):
        return _report(code, lvl, config, outp, pdf)


def _report(code: str, lvl: str, config: str | None, outp: Path, pdf: bool) -> int:
    from .export import (  # start-up: papermill and Jupyter (≈ 2 s), for the report commands only
        HTML_NAME,
        PDF_NAME,
        ReportError,
        chromium_missing_message,
        find_chromium,
        render_report,
    )

    ind_dir = _indicators(config, outp)
    try:
        res = render_report(code, level=lvl, indicators=ind_dir, out=outp, pdf=pdf and find_chromium() is not None)
    except ReportError as exc:
        _say(f"ocsol: {exc}")
        return 1
    _say(f"report written: {res.folder / HTML_NAME} ({res.seconds:.1f} s)")
    if pdf:
        if res.pdf:
            _say(f"PDF written: {res.folder / PDF_NAME}")
        else:
            _say(f"ocsol: {chromium_missing_message()}")
    return 0


def batch_command(
    *,
    config: str | None = None,
    level: str | None = None,
    within: str | None = None,
    jobs: int = 2,
    force: bool = False,
    out: str = "rapports",
    pdf: bool = False,
    progress: bool = True,
    territories: list[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> int:
    """``ocsol batch``: reports for many territories, ``index.html`` and open data.

    Without ``level``, ``within`` or ``territories``, the configuration's ``[report]`` section
    chooses (``levels``, ``territories``), else every territory of every level is reported.
    With ``workers`` (> 0) or ``scheduler``, the indicators (one task per département) and the
    reports (one task each) run on one Dask cluster (:mod:`ocsol.cluster`); else the reports
    run on ``jobs`` local processes.

    Returns
    -------
    int
        0 when every report was written (or was up to date), 1 when some failed.
    """
    outp = Path(out)
    with _out_folder(outp, config):
        return _batch(config=config, level=level, within=within, jobs=jobs, force=force, outp=outp, pdf=pdf,
                      progress=progress, territories=territories, workers=workers, scheduler=scheduler)


def _batch(*, config: str | None, level: str | None, within: str | None, jobs: int, force: bool, outp: Path,
           pdf: bool, progress: bool, territories: list[str] | None, workers: int | None = None,
           scheduler: str | None = None) -> int:
    from .batch import select_territories  # start-up: .batch loads papermill and Jupyter (≈ 2 s)

    with contextlib.ExitStack() as stack:
        client = None
        if scheduler or workers:
            client = stack.enter_context(open_client(workers=workers, scheduler=scheduler))
        ind_dir = _indicators(config, outp, client=client)
        ind = load_indicators(ind_dir)
        chosen = territories or None
        sel: list[tuple[str, str]] | None = None
        if not (level or within or chosen):
            chosen = ind.meta.get("report_territories") or None
            levels = ind.meta.get("report_levels") or None
            if levels and not chosen:
                sel = []
                for lvl in levels:
                    sel += select_territories(ind, level=lvl)
        if sel is None:
            sel = select_territories(ind, level=level, within=within, territories=chosen)
        return _run_batch(ind, ind_dir, sel, outp, jobs=jobs, force=force, pdf=pdf, progress=progress,
                          client=client)


def _run_batch(ind, ind_dir: Path, sel: list[tuple[str, str]], out: Path, *, jobs: int, force: bool, pdf: bool,
               progress: bool, title: str | None = None, links: list[tuple[str, str]] | None = None,
               client: Any = None) -> int:
    from .batch import batch_reports  # start-up: .batch loads papermill and Jupyter (≈ 2 s)

    if not sel:
        raise OcsolError("no territory selected; check --level / --within (levels are "
                         f"{', '.join(ind.territories.all_levels)})")
    res = batch_reports(sel, indicators=ind_dir, out=out, jobs=jobs, force=force, pdf=pdf, progress=progress,
                        title=title, links=links, client=client)
    n_done, n_skip, n_fail = len(res.done), len(res.skipped), len(res.failed)
    rate = f" ({res.seconds / n_done:.2f} s/report, {res.jobs} job(s))" if n_done else ""
    _say(f"{n_done} report(s) written, {n_skip} up to date, {n_fail} failed in {res.seconds:.1f} s{rate}; "
         f"index: {res.index}")
    for r in res.failed:
        _say(f"  failed: {r.level} {r.code}: {r.error}")
    return 1 if n_fail else 0


def demo_selection(ind) -> list[tuple[str, str]]:
    """Territories of the demo: every parent unit, and communes (all of small units, a few of big ones).

    The configuration's ``[report] territories`` list, when given, wins.
    """
    from .batch import select_territories  # start-up: .batch loads papermill and Jupyter (≈ 2 s)

    if ind.meta.get("report_territories"):
        return select_territories(ind, territories=list(ind.meta["report_territories"]))
    terr = ind.territories
    units = terr.names
    parents = [(str(lvl), str(code)) for lvl, code in zip(units["level"], units["code"], strict=True)
               if lvl != COMMUNE]
    communes: list[str] = []
    if has_membership(terr) and terr.levels:
        first = terr.levels[0]
        for code in sorted(terr.membership[first].dropna().unique()):
            members = sorted(terr.members(first, code))
            communes += members if len(members) <= DEMO_SMALL_UNIT else members[:DEMO_MAX_COMMUNES]
        orphans = terr.membership.loc[terr.membership[first].isna(), "code"].tolist()
        communes += sorted(orphans)
    else:
        communes = sorted(terr.communes["code"])
    sel = select_territories(ind, territories=[f"{COMMUNE}:{c}" for c in dict.fromkeys(communes)])
    order = {lvl: i for i, lvl in enumerate(terr.all_levels)}
    return sorted(dict.fromkeys(parents), key=lambda t: (order.get(t[0], 99), t[1])) + sel


def demo_command(*, out: str = "demo", jobs: int = 2, config: str | None = None, progress: bool = True) -> int:
    """``ocsol demo``: the bundled sample's indicators and a batch of reports with ``index.html``.

    Covers the Métropole de Lyon and a few of its communes, the Bassin d'Arcachon communes, the
    synthetic Centre-Val de Loire EPCI and its communes (and whatever else the combined sample
    configuration ``data/sample/ocsol.toml`` holds), plus the São Tomé WorldCover zones in
    ``<out>/saotome/`` (linked from the main index) when that sample is present, and generated
    inputs in ``<out>/synthetique/`` (run through the real pipeline; one commune declared under the
    RNU): together they render every report profile.
    """
    outp = Path(out)
    raster = _raster_sample() if config is None else None
    with _out_folder(outp, config, *([raster] if raster is not None else [])):
        return _demo(outp, jobs=jobs, config=config, raster=raster, progress=progress)


def _demo(outp: Path, *, jobs: int, config: str | None, raster: Path | None, progress: bool) -> int:
    links: list[tuple[str, str]] = []
    code = 0
    extra: list[tuple[Path, Path, str]] = []
    if raster is not None:  # the raster demo (WorldCover, São Tomé) in its own sub-folder and index
        extra.append((raster, outp / "saotome", "São Tomé (raster)"))
    if config is None:  # generated inputs (real pipeline): a DDT's RNU report, among others
        extra.append((_synthetic_sample(outp / "synthetique" / "entrees"), outp / "synthetique",
                      "Échantillon synthétique"))
    for cfg, sub, label in extra:
        sind_dir = _indicators(str(cfg), sub)
        sind = load_indicators(sind_dir)
        ssel = demo_selection(sind)
        _say(f"ocsol demo: {len(ssel)} territories from {cfg}")
        code = max(code, _run_batch(sind, sind_dir, ssel, sub, jobs=jobs, force=False, pdf=False, progress=progress,
                                    title=sind.meta.get("title")))
        links.append((str(sind.meta.get("title") or label), f"{sub.name}/index.html"))
    ind_dir = _indicators(config, outp)
    ind = load_indicators(ind_dir)
    sel = demo_selection(ind)
    _say(f"ocsol demo: {len(sel)} territories from {_config_path(config)}")
    return max(code, _run_batch(ind, ind_dir, sel, outp, jobs=jobs, force=False, pdf=False, progress=progress,
                                title="ocsol — démonstration sur l'échantillon fourni", links=links))


def _synthetic_sample(folder: Path) -> Path:
    """Generated inputs for the demo (:func:`demo_synthetic_inputs`), written once."""
    cfg = folder / "ocsol.toml"
    if not cfg.is_file():
        demo_synthetic_inputs(folder)
    return cfg


def demo_synthetic_inputs(folder: Path, *, extra_toml: str = "") -> Path:
    """Generated inputs that show what the bundled sample does not: commune 99004 is declared under
    the RNU (``rnu_ddt`` profile); communes 99003 and 99004 lie in département 98, so the EPCI spans
    two départements (millésimes per département); the décret thresholds are computed beside the
    matrix (two measures side by side). ``extra_toml`` is appended to the configuration."""
    cfg = write_synthetic_inputs(folder, n_communes=4, rnu=["99004"])
    communes = gpd.read_file(folder / "communes.gpkg", engine="pyogrio")
    communes.loc[communes["CODE_INSEE"].isin(["99003", "99004"]), "DEP"] = "98"
    communes.to_file(folder / "communes.gpkg", driver="GPKG", engine="pyogrio")
    write_text(cfg.read_text(encoding="utf-8") + "\n[ocsge.thresholds]\nenabled = true\n" + extra_toml, cfg)
    return cfg


def _raster_sample() -> Path | None:
    """The São Tomé WorldCover sample's configuration, when the checkout has it."""
    try:
        path = sample_config("saotome")
    except OcsolError:
        return None
    return path if path.is_file() else None
