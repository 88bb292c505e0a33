"""Many reports at once: indicators computed once, parallel workers, skip what is up to date.

:func:`batch_reports` runs the report notebook for a list of territories in worker processes
(:class:`concurrent.futures.ProcessPoolExecutor`). Each worker keeps one kernel alive
(:class:`ocsol.report.export.ReportRunner`) that reads the indicators folder once and slices it
for each territory. A report whose inputs (indicator tables, notebook, template, ocsol version)
have not changed since it was written is skipped unless ``force``. A failing territory never
stops the batch: its error is listed in ``index.html`` and in the result.

Outputs under ``out``: one folder per territory (see :mod:`ocsol.report.export`), ``index.html``
and ``opendata/`` (:mod:`ocsol.report.publish`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from ..cluster import run_tasks
from ..errors import TerritoryNotFoundError, close_matches
from ..io.write import write_text
from ..territories import COMMUNE
from .export import (
    HTML_NAME,
    PDF_NAME,
    PersistentKernelEngine,
    ReportResult,
    ReportRunner,
    chromium_missing_message,
    find_chromium,
    report_folder_name,
    report_notebook,
    template_dir,
)
from .loader import FINGERPRINT_SUFFIXES, Indicators, has_membership, load_indicators
from .publish import write_index, write_opendata

log = logging.getLogger(__name__)

STAMP = ".ocsol-stamp.json"


@dataclass
class BatchResult:
    """What a batch produced: one :class:`ReportResult` per territory (``done``, ``skipped``,
    ``failed``), the index page, the open-data files, the time taken and the processes used.

    Examples
    --------
    :func:`batch_reports` returns one (its example runs the sample); the lists sort the results:

    >>> from pathlib import Path
    >>> from ocsol.report.export import ReportResult
    >>> r = [ReportResult("epci", "200046977", Path("epci-200046977"), ok=True),
    ...      ReportResult("commune", "69123", Path("commune-69123"), ok=True, skipped=True),
    ...      ReportResult("commune", "69999", Path("commune-69999"), ok=False, error="code absent")]
    >>> b = BatchResult(results=r)
    >>> [x.code for x in b.done], [x.code for x in b.skipped], [x.code for x in b.failed]
    (['200046977'], ['69123'], ['69999'])
    """

    results: list[ReportResult] = field(default_factory=list)
    index: Path | None = None
    opendata: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    jobs: int = 1

    @property
    def failed(self) -> list[ReportResult]:
        return [r for r in self.results if not r.ok]

    @property
    def done(self) -> list[ReportResult]:
        return [r for r in self.results if r.ok and not r.skipped]

    @property
    def skipped(self) -> list[ReportResult]:
        return [r for r in self.results if r.skipped]


def select_territories(
    ind: Indicators,
    *,
    level: str | None = None,
    within: str | None = None,
    territories: list[str] | None = None,
) -> list[tuple[str, str]]:
    """The ``(level, code)`` of the territories to report on.

    Parameters
    ----------
    ind
        The indicators (:func:`ocsol.report.load_indicators`).
    level
        Only this level (``commune``, ``epci``…).
    within
        ``LEVEL:CODE``: only the unit itself and its communes (or, with ``level``, the units of
        that level whose communes all belong to it).
    territories
        Explicit codes (``CODE`` or ``LEVEL:CODE``).

    Without any argument: every territory of every level.

    Returns
    -------
    list of (str, str)
        ``(level, code)`` pairs, parents before their communes.

    Raises
    ------
    TerritoryNotFoundError
        For an unknown level, code or a malformed ``within``.

    Examples
    --------
    The Métropole de Lyon and its 58 communes:

    >>> import tempfile
    >>> from ocsol.report import compute_indicators, load_indicators
    >>> from ocsol.sample import sample_config
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     ind = load_indicators(compute_indicators(sample_config("lyon"), tmp))
    >>> chosen = select_territories(ind, within="epci:200046977")
    >>> len(chosen), chosen[:3]
    (59, [('epci', '200046977'), ('commune', '69003'), ('commune', '69029')])
    >>> select_territories(ind, level="epci")
    [('epci', '200046977')]
    """
    terr = ind.territories
    names = terr.names
    if level is not None and level not in terr.all_levels:
        raise TerritoryNotFoundError(f"unknown level {level!r}{close_matches(level, terr.all_levels)}; "
                                     f"levels are {', '.join(terr.all_levels)}")
    if territories:
        out = []
        for item in territories:
            lvl, _, code = str(item).rpartition(":")
            out.append(terr.find(code, lvl or level))
        return list(dict.fromkeys(out))
    pool = [(str(lvl), str(code)) for lvl, code in zip(names["level"], names["code"], strict=True)]
    if within:
        wl, sep, wc = within.partition(":")
        if not sep:
            raise TerritoryNotFoundError(f"--within {within!r}: write LEVEL:CODE, e.g. epci:200046977")
        wl, wc = terr.find(wc, wl)
        if wl != COMMUNE and not has_membership(terr):
            raise TerritoryNotFoundError(
                f"--within {within}: the indicators folder has no membership.csv, so the communes of {wc} "
                "are unknown; recompute with `ocsol batch --config …`")
        members = set(terr.members(wl, wc))
        keep = []
        for lvl, code in pool:
            if lvl == wl and code == wc:
                keep.append((lvl, code))
            elif lvl == COMMUNE and code in members:
                keep.append((lvl, code))
            elif lvl not in (COMMUNE, wl) and level == lvl:
                sub = set(terr.members(lvl, code))
                if sub and sub <= members:
                    keep.append((lvl, code))
        pool = keep
    if level is not None:
        pool = [(lvl, code) for lvl, code in pool if lvl == level]
    order = {lvl: i for i, lvl in enumerate(terr.all_levels)}
    # parents first (in level order), then communes; by code within a level
    return sorted(dict.fromkeys(pool), key=lambda t: (order.get(t[0], 99) if t[0] != COMMUNE else 999, t[1]))


def inputs_fingerprint(indicators: str | os.PathLike[str]) -> str:
    """Hash of everything a report depends on: tables, notebook, template, ocsol version.

    A report whose stamp holds the same key is up to date and is not written again.

    Parameters
    ----------
    indicators
        The indicators folder.

    Returns
    -------
    str
        A sha256 hex digest.

    Examples
    --------
    Any change to a table changes the key, so every report is rewritten:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from ocsol.report import compute_indicators
    >>> from ocsol.sample import sample_config
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = compute_indicators(sample_config("lyon"), tmp)
    ...     before = inputs_fingerprint(folder)
    ...     with open(Path(folder) / "qa.csv", "a", encoding="utf-8") as f:
    ...         _ = f.write("\\n")
    ...     after = inputs_fingerprint(folder)
    >>> len(before), before == after
    (64, False)
    """
    h = hashlib.sha256(__version__.encode())
    folder = Path(indicators)
    for f in sorted(folder.iterdir()):
        if f.is_file() and f.suffix in FINGERPRINT_SUFFIXES:
            h.update(f.name.encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
    h.update(report_notebook().read_bytes())
    for f in sorted(template_dir().glob("*.j2")):
        h.update(f.read_bytes())
    return h.hexdigest()


def _up_to_date(folder: Path, key: str, pdf: bool) -> dict[str, Any] | None:
    stamp = folder / STAMP
    if not stamp.is_file() or not (folder / HTML_NAME).is_file():
        return None
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
    except ValueError:
        return None
    if data.get("key") != key or (pdf and not (folder / PDF_NAME).is_file()):
        return None
    return data


# -- worker side ---------------------------------------------------------------------------------
_RUNNER: Any = None


def _worker_init(persistent: bool) -> None:
    global _RUNNER
    import logging as _logging
    from multiprocessing.util import Finalize

    # A forked worker inherits the parent's kernel handle (when the parent ran reports itself):
    # forget it without shutting it down — it belongs to the parent — and start our own.
    PersistentKernelEngine.kernel = None
    _logging.getLogger("papermill").setLevel(_logging.WARNING)
    _logging.getLogger("traitlets").setLevel(_logging.ERROR)
    _RUNNER = ReportRunner(persistent=persistent)
    Finalize(None, _RUNNER.close, exitpriority=10)


def _worker_run(level: str, code: str, indicators: str, folder: str, pdf: bool) -> ReportResult:
    global _RUNNER
    if _RUNNER is None:  # pragma: no cover - initializer always ran
        _worker_init(True)
    return _RUNNER.run(code, level=level, indicators=indicators, folder=folder, pdf=pdf)


# -- driver ----------------------------------------------------------------------------------------
def batch_reports(
    territories: list[tuple[str, str]],
    *,
    indicators: str | os.PathLike[str],
    out: str | os.PathLike[str] = "reports",
    jobs: int = 2,
    force: bool = False,
    pdf: bool = False,
    progress: bool = True,
    persistent: bool = True,
    publish: bool = True,
    title: str | None = None,
    links: list[tuple[str, str]] | None = None,
    client: Any = None,
) -> BatchResult:
    """Write the reports of many territories, then the index and the open-data tables.

    Parameters
    ----------
    territories
        ``(level, code)`` pairs (see :func:`select_territories`).
    indicators
        The indicators folder (computed once, e.g. with :func:`ocsol.report.compute_indicators`).
    out
        Output folder: one sub-folder per report, ``index.html``, ``opendata/``.
    jobs
        Worker processes (each with its own kernel).
    force
        Rewrite reports that are up to date.
    pdf
        Also print each report to PDF with headless Chromium.
    progress
        Show a progress bar (tqdm) on stderr.
    persistent
        Keep one kernel per worker (fast); False starts a kernel per report.
    publish
        Write ``index.html`` and ``opendata/``.
    title, links
        Heading of the index, and ``(text, href)`` links it shows (other batches).
    client
        A ``dask.distributed`` client: the reports run as tasks on its workers (one kernel per
        worker) instead of ``jobs`` local processes (:mod:`ocsol.cluster`).

    Returns
    -------
    BatchResult
        Every report's result (failures carry their error); the batch itself only raises for
        a missing indicators folder.

    Raises
    ------
    InputFileError
        When the indicators folder is missing.

    Examples
    --------
    The report of the Métropole de Lyon, its index page and open-data tables:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from ocsol.report import compute_indicators
    >>> from ocsol.sample import sample_config
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = compute_indicators(sample_config("lyon"), Path(tmp) / "indicators")
    ...     batch = batch_reports([("epci", "200046977")], indicators=folder, out=Path(tmp) / "reports",
    ...                           jobs=1, progress=False)
    ...     written = sorted(p.name for p in (Path(tmp) / "reports").iterdir())
    ...     report = sorted(p.name for p in (Path(tmp) / "reports" / "epci-200046977").iterdir())
    ...     again = batch_reports([("epci", "200046977")], indicators=folder, out=Path(tmp) / "reports",
    ...                           jobs=1, progress=False)
    >>> len(batch.done), len(batch.failed), written
    (1, 0, ['epci-200046977', 'index.html', 'opendata'])
    >>> report
    ['.ocsol-stamp.json', 'donnees', 'headline.json', 'manifest.json', 'rapport.docx', 'rapport.html', 'rapport.ipynb', 'tableaux.xlsx']
    >>> len(again.done), len(again.skipped)  # nothing changed: the report is kept
    (0, 1)
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    ind_dir = Path(indicators).resolve()
    ind = load_indicators(ind_dir)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    key = inputs_fingerprint(ind_dir)
    results: list[ReportResult] = []
    todo: list[tuple[str, str, Path]] = []
    for lvl, code in territories:
        folder = out / report_folder_name(lvl, code)
        stamp = None if force else _up_to_date(folder, key, pdf)
        if stamp is not None:
            results.append(ReportResult(level=lvl, code=code, folder=folder, ok=True, skipped=True,
                                        headline=_read_json(folder / "headline.json"), pdf=pdf))
        else:
            todo.append((lvl, code, folder))
    if pdf:
        if find_chromium() is None:
            log.warning(chromium_missing_message())
    if client is not None:
        jobs = len(client.nthreads())  # the cluster's workers
    jobs = max(1, min(int(jobs), len(todo) or 1))
    log.info("%d report(s) to write, %d up to date, %d worker(s)", len(todo), len(results), jobs)
    if todo:
        bar = tqdm(total=len(todo), desc="Rapports", unit="rapport", disable=not progress, leave=True)
        try:
            if client is not None:
                results += _run_dask(todo, client, ind_dir=ind_dir, key=key, pdf=pdf, persistent=persistent,
                                     bar=bar)
            else:
                results += _run_pool(todo, ind_dir=ind_dir, key=key, jobs=jobs, pdf=pdf, persistent=persistent,
                                     bar=bar)
        finally:
            bar.close()
    order = {t: i for i, t in enumerate(territories)}
    results.sort(key=lambda r: order.get((r.level, r.code), len(order)))
    batch = BatchResult(results=results, jobs=jobs)
    listed = results + _earlier_reports(out, key, {(r.level, r.code) for r in results})
    if publish:
        # the index and the open data cover every up-to-date report in the folder, not only this
        # batch's: batches run EPCI by EPCI into one folder add up.
        shown = BatchResult(results=listed, jobs=jobs)
        batch.opendata = write_opendata(ind, [(r.level, r.code) for r in listed], out,
                                        links={(r.level, r.code): f"{r.folder.name}/{HTML_NAME}"
                                               for r in listed if r.ok})
        shown.seconds = time.perf_counter() - t0
        batch.index = write_index(shown, ind, out, title=title, links=links)
    batch.seconds = time.perf_counter() - t0
    return batch


def _mp_context() -> Any:
    """``fork`` where available: works from scripts without a main guard, from stdin and from
    notebooks, and costs no re-import; the parent holds no kernel or ZeroMQ socket to inherit."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _run_pool(todo: list[tuple[str, str, Path]], *, ind_dir: Path, key: str, jobs: int, pdf: bool,
              persistent: bool, bar: Any, rounds: int = 3) -> list[ReportResult]:
    """Run the reports; when a worker process dies, the unfinished reports get a new pool
    (up to ``rounds`` times) so that one crashing territory cannot sink the batch."""
    results: list[ReportResult] = []
    pending = list(todo)
    for round_no in range(1, rounds + 1):
        if not pending:
            break
        broken: list[tuple[str, str, Path]] = []
        with ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=_mp_context(),
                                 initializer=_worker_init, initargs=(persistent,)) as pool:
            futures = {pool.submit(_worker_run, lvl, code, str(ind_dir), str(folder.resolve()), pdf):
                       (lvl, code, folder) for lvl, code, folder in pending}
            for fut in as_completed(futures):
                lvl, code, folder = futures[fut]
                try:
                    res = fut.result()
                except BrokenProcessPool:
                    broken.append((lvl, code, folder))
                    continue
                except Exception as exc:  # pragma: no cover - the worker catches report errors
                    res = ReportResult(level=lvl, code=code, folder=folder, ok=False,
                                       error=f"{type(exc).__name__}: {exc}")
                results.append(_finish(res, lvl, folder, key))
                bar.update(1)
        if broken:
            log.warning("a worker process died; %d report(s) left, new workers (round %d of %d)",
                        len(broken), round_no, rounds)
        pending = broken
    for lvl, code, folder in pending:
        res = ReportResult(level=lvl, code=code, folder=folder, ok=False,
                           error="the worker process died while writing this report (crash or out of memory)")
        results.append(_finish(res, lvl, folder, key))
        bar.update(1)
    return results


def _report_plugin(persistent: bool) -> Any:
    """A Dask worker plugin: one report runner (one kernel) per worker, closed with the worker."""
    from dask.distributed import WorkerPlugin

    class ReportPlugin(WorkerPlugin):
        name = "ocsol-reports"

        def setup(self, worker: Any) -> None:
            _worker_init(persistent)

        def teardown(self, worker: Any) -> None:
            global _RUNNER
            if _RUNNER is not None:
                _RUNNER.close()
                _RUNNER = None

    return ReportPlugin()


def _run_dask(todo: list[tuple[str, str, Path]], client: Any, *, ind_dir: Path, key: str, pdf: bool,
              persistent: bool, bar: Any) -> list[ReportResult]:
    """Run the reports as tasks on a Dask cluster; a report whose worker died is a failure."""
    client.register_plugin(_report_plugin(persistent), name="ocsol-reports")

    def failed(i: int, exc: BaseException) -> ReportResult:
        lvl, code, folder = todo[i]
        return ReportResult(level=lvl, code=code, folder=folder, ok=False, error=f"{type(exc).__name__}: {exc}")

    def done(i: int, res: ReportResult) -> None:
        bar.update(1)

    items = [(lvl, code, str(ind_dir), str(folder.resolve()), pdf) for lvl, code, folder in todo]
    out = run_tasks(client, _worker_run, items, labels=[f"{lvl}-{code}" for lvl, code, _ in todo],
                    on_error=failed, on_result=done)
    return [_finish(res, lvl, folder, key) for res, (lvl, code, folder) in zip(out, todo, strict=True)]


def _finish(res: ReportResult, lvl: str, folder: Path, key: str) -> ReportResult:
    res.level = res.level or lvl
    folder.mkdir(parents=True, exist_ok=True)
    if res.ok:
        write_text(json.dumps({"key": key, "pdf": res.pdf}), folder / STAMP)  # atomic: no half stamp
    else:
        (folder / STAMP).unlink(missing_ok=True)
        log.warning("%s %s: %s", lvl, res.code, res.error)
    return res


def _earlier_reports(out: Path, key: str, seen: set[tuple[str, str]]) -> list[ReportResult]:
    """Reports already in ``out`` from earlier batches on the same inputs (same stamp key)."""
    found = []
    for stamp in sorted(out.glob(f"*/{STAMP}")):
        data = _read_json(stamp)
        headline = _read_json(stamp.parent / "headline.json")
        level, code = str(headline.get("level", "")), str(headline.get("code", ""))
        if data.get("key") != key or not level or (level, code) in seen:
            continue
        found.append(ReportResult(level=level, code=code, folder=stamp.parent, ok=True, skipped=True,
                                  headline=headline))
    return found


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


__all__ = ["BatchResult", "batch_reports", "select_territories", "inputs_fingerprint"]
