"""Run the report notebook with papermill and export it: HTML (self-contained), PDF (Chromium).

The report notebook ships inside the package (``ocsol/notebooks/territory_report.ipynb``, the
copy the code runs; ``notebooks/territory_report.ipynb`` in the repository is the same file for
JupyterLab users, and a test keeps the two identical).

Kernel start costs about a second and importing the scientific stack inside it two more, which
would dominate a batch. :class:`ReportRunner` therefore keeps **one kernel alive per process**
and runs each report on it through papermill's engine interface (``engine_name="ocsol"``,
:class:`PersistentKernelEngine`): papermill still injects the parameters and records errors, but
the kernel, its imports and the indicator tables it has read stay warm. The namespace is reset
(``%reset -f``) before each report so nothing leaks from one territory to the next, and a kernel
that died is restarted.

Per report folder: ``rapport.html``, ``rapport.ipynb`` (executed), ``headline.json``,
``donnees/figure_*.csv``, ``tableaux.xlsx`` and, on request, ``rapport.pdf``.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from papermill.engines import NBClientEngine

from .._version import __version__
from ..errors import OcsolError
from ..io.write import publish_dir, staging_dir, write_text
from .context import HEADLINE_FILE, _indicators
from .safe import exporter_class

log = logging.getLogger(__name__)

NOTEBOOK = "territory_report.ipynb"
HTML_NAME = "rapport.html"
NOTEBOOK_NAME = "rapport.ipynb"
PDF_NAME = "rapport.pdf"
ENGINE_NAME = "ocsol"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--mute-audio")


class ReportError(OcsolError):
    """A report could not be produced (its notebook failed, or an export step failed)."""


def report_notebook() -> Path:
    """Path of the report notebook shipped with the package."""
    return Path(str(resources.files("ocsol").joinpath("notebooks", NOTEBOOK)))


def template_dir() -> Path:
    return Path(str(resources.files("ocsol").joinpath("templates")))


# -- a kernel kept alive per process ---------------------------------------------------------
class PersistentKernel:
    """One Jupyter kernel reused for many notebooks (started lazily, restarted if it dies)."""

    def __init__(self, kernel_name: str = "python3", cwd: str | None = None, startup_timeout: int = 60):
        self.kernel_name = kernel_name
        self._own_cwd = cwd is None
        self.cwd = cwd or tempfile.mkdtemp(prefix="ocsol-kernel-")
        self.startup_timeout = startup_timeout
        self.km: Any = None
        self.kc: Any = None
        self.started = 0

    def ensure(self) -> None:
        from jupyter_core.utils import run_sync

        if self.km is not None and run_sync(self.km.is_alive)():
            return
        self.shutdown()
        from jupyter_client.manager import AsyncKernelManager

        # IPC sockets in a private folder: no TCP port opened on the machine, no warning about
        # unencrypted TCP from every kernel.
        self.km = AsyncKernelManager(kernel_name=self.kernel_name, transport="ipc",
                                     ip=os.path.join(self.cwd, "kernel"))
        run_sync(self.km.start_kernel)(cwd=self.cwd)
        self.kc = self.km.client()
        self.kc.start_channels()
        run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
        self.started += 1
        log.debug("kernel started (%d) in %s", self.started, self.cwd)

    def reset(self) -> None:
        """Clear the user namespace (modules and their caches stay imported).

        Not ``%reset``: it runs a full garbage collection over the cached tables (≈ 0.2 s).
        """
        from jupyter_core.utils import run_sync

        code = ("_ip = get_ipython()\n"
                "for _k in [k for k in _ip.user_ns if not k.startswith('_') and k not in _ip.user_ns_hidden]:\n"
                "    del _ip.user_ns[_k]\n"
                "import matplotlib.pyplot as _p; _p.close('all')")
        reply = run_sync(self.kc.execute_interactive)(code, silent=True, store_history=False, timeout=60,
                                                      output_hook=lambda msg: None)
        if reply["content"].get("status") != "ok":
            raise ReportError(f"kernel reset failed: {reply['content'].get('evalue', '')}")

    def shutdown(self) -> None:
        from jupyter_core.utils import run_sync

        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:  # pragma: no cover - best effort at exit
                pass
        if self.km is not None:
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:  # pragma: no cover - best effort at exit
                pass
        self.km = self.kc = None

    def close(self) -> None:
        """Shut the kernel down and remove its private folder."""
        self.shutdown()
        if self._own_cwd:
            shutil.rmtree(self.cwd, ignore_errors=True)


class PersistentKernelEngine(NBClientEngine):
    """papermill engine that runs notebooks on the process's :class:`PersistentKernel`."""

    kernel: PersistentKernel | None = None

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                 stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
        from papermill.clientwrap import PapermillNotebookClient
        from papermill.engines import logger

        if cls.kernel is None:
            cls.kernel = PersistentKernel(kernel_name=kernel_name)
        k = cls.kernel
        k.ensure()
        k.reset()
        client = PapermillNotebookClient(
            nb_man, km=k.km, timeout=execution_timeout, startup_timeout=start_timeout, kernel_name=kernel_name,
            log=logger, log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file,
        )
        client.kc = k.kc
        # papermill rewrites the whole output notebook after every cell (images included);
        # save it once, when the notebook completes or fails, instead.
        output_path, nb_man.output_path = nb_man.output_path, None
        try:
            return client.execute()
        finally:
            nb_man.output_path = output_path


def _register_engine() -> None:
    from papermill.engines import papermill_engines

    if ENGINE_NAME not in papermill_engines._engines:
        papermill_engines.register(ENGINE_NAME, PersistentKernelEngine)


# -- HTML -----------------------------------------------------------------------------------
_EXPORTER: Any = None


def html_exporter() -> Any:
    """The HTML exporter (built once per process: building its Jinja environment is slow)."""
    global _EXPORTER
    if _EXPORTER is None:
        from traitlets.config import Config

        # No code is shown, so the Pygments stylesheet (≈ 30 kB a page) is left out too.
        config = Config({"CSSHTMLHeaderPreprocessor": {"enabled": False}})
        # user strings in Markdown never become markup: ocsol.report.safe renders every Markdown cell
        _EXPORTER = exporter_class()(
            config=config, template_name="lab", language_code="fr", extra_template_paths=[str(template_dir())], template_file="ocsol_report.html.j2",
            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True, exclude_anchor_links=True,
        )
    return _EXPORTER


def notebook_to_html(nb: Any, *, title: str | None = None) -> str:
    """Self-contained HTML of an executed report: inputs hidden, no script, no external resource.

    ``stderr`` streams (warnings) are kept in the executed notebook but left out of the page.
    """
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    if title:
        nb.metadata["title"] = title
    body, _ = html_exporter().from_notebook_node(
        nb, resources={"ocsol_version": __version__})
    return body


# -- PDF ------------------------------------------------------------------------------------
def find_chromium() -> str | None:
    """Path of a Chromium executable (Debian's ``chromium`` package), or None."""
    env = os.environ.get("OCSOL_CHROMIUM")
    for c in ((env,) if env else ()) + CHROMIUM_CANDIDATES:
        path = shutil.which(c) if c else None
        if path:
            return path
    return None


def chromium_missing_message() -> str:
    return ("PDF not written: Chromium was not found (looked for /usr/bin/chromium, chromium, chromium-browser). "
            "Install Debian's package with `apt-get install chromium`, or set OCSOL_CHROMIUM to its path; "
            "the HTML report is complete without it")


def chromium_render(html: str | os.PathLike[str], *, pdf: str | os.PathLike[str] | None = None,
                    png: str | os.PathLike[str] | None = None, dom: bool = False, timeout: float = 120,
                    window: tuple[int, int] = (1200, 1600)) -> str | None:
    """Render a local HTML file with headless Chromium: to PDF, to a PNG screenshot, or dump the DOM.

    Returns the DOM text when ``dom`` is True. Raises :class:`ReportError` when Chromium is
    missing or fails.
    """
    exe = find_chromium()
    if exe is None:
        raise ReportError(chromium_missing_message())
    url = Path(html).resolve().as_uri()
    out = None
    jobs: list[tuple[list[str], Path | None]] = []
    if pdf is not None:
        jobs.append(([f"--print-to-pdf={Path(pdf).resolve()}", "--no-pdf-header-footer"], Path(pdf)))
    if png is not None:
        jobs.append(([f"--screenshot={Path(png).resolve()}", f"--window-size={window[0]},{window[1]}"], Path(png)))
    if dom:
        jobs.append((["--dump-dom", f"--window-size={window[0]},{window[1]}"], None))
    for extra, target in jobs:
        with tempfile.TemporaryDirectory(prefix="ocsol-chromium-") as profile:
            cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
            except subprocess.TimeoutExpired:
                raise ReportError(f"{html}: Chromium did not finish within {timeout:.0f} s") from None
        if target is not None and (not target.is_file() or target.stat().st_size == 0):
            raise ReportError(f"{html}: Chromium wrote no {target.suffix[1:].upper()} (exit {proc.returncode}): "
                              f"{proc.stderr.strip()[-300:]}")
        if target is None:
            out = proc.stdout
    return out


# -- one report ------------------------------------------------------------------------------
@dataclass
class ReportResult:
    """What one report produced."""

    level: str
    code: str
    folder: Path
    ok: bool
    error: str = ""
    seconds: float = 0.0
    headline: dict[str, Any] = field(default_factory=dict)
    pdf: bool = False
    skipped: bool = False


class ReportRunner:
    """Runs reports one after another on a kernel kept alive (see the module docstring).

    Parameters
    ----------
    persistent
        Reuse one kernel for every report (default). False starts a fresh kernel per report
        (papermill's default engine), slower but fully isolated.
    notebook
        The report notebook (default: the one shipped with the package).
    """

    def __init__(self, *, persistent: bool = True, notebook: str | os.PathLike[str] | None = None,
                 timeout: int = 600):
        self.persistent = persistent
        self.notebook = Path(notebook) if notebook else report_notebook()
        self.timeout = timeout
        if persistent:
            _register_engine()

    def run(self, territory: str, *, level: str | None = None, indicators: str | None = None,
            config: str | None = None, folder: str | os.PathLike[str], pdf: bool = False) -> ReportResult:
        """Execute the notebook for one territory and export it into ``folder``.

        Never raises for a failing report: the result carries the error (the executed notebook,
        with the traceback, is kept in the folder).
        """
        import json

        import papermill as pm

        t0 = time.perf_counter()
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        # written in a staging folder, then published as one unit: the folder then holds this
        # run's files only (files listed by the previous run's manifest.json and not rewritten go)
        stage = staging_dir(out, label=out.name)
        # absolute paths: the kernel runs in its own folder
        params = {"territory": str(territory), "level": level,
                  "config": str(Path(config).resolve()) if config else None,
                  "indicators": str(Path(indicators).resolve()) if indicators else None,
                  "output": str(stage.resolve())}
        result = ReportResult(level=level or "", code=str(territory), folder=out, ok=False)
        try:
            nb = pm.execute_notebook(
                str(self.notebook), str(stage / NOTEBOOK_NAME), parameters=params, kernel_name="python3",
                engine_name=ENGINE_NAME if self.persistent else None, progress_bar=False,
                execution_timeout=self.timeout, cwd=str(stage) if not self.persistent else None,
            )
            headline = json.loads((stage / HEADLINE_FILE).read_text(encoding="utf-8"))
            result.headline = headline
            result.level = headline.get("level", result.level)
            name = headline.get("name", territory)
            html = notebook_to_html(nb, title=f"{name} — rapport local de suivi de l'artificialisation des sols")

            write_text(html, stage / HTML_NAME)
            if pdf:
                if find_chromium() is None:
                    log.warning(chromium_missing_message())
                else:
                    chromium_render(stage / HTML_NAME, pdf=stage / PDF_NAME)
                    result.pdf = True
            publish_dir(stage, out)
            result.ok = True
        except Exception as exc:  # isolate the failure; the caller lists it
            result.error = _short_error(exc)
            log.debug("report %s failed", territory, exc_info=True)
            if (stage / NOTEBOOK_NAME).is_file():  # the executed notebook shows where it failed
                os.replace(stage / NOTEBOOK_NAME, out / NOTEBOOK_NAME)
            if self.persistent and PersistentKernelEngine.kernel is not None:
                _recover_kernel()
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        result.seconds = time.perf_counter() - t0
        return result

    def close(self) -> None:
        if PersistentKernelEngine.kernel is not None:
            PersistentKernelEngine.kernel.close()
            PersistentKernelEngine.kernel = None


def _recover_kernel() -> None:
    k = PersistentKernelEngine.kernel
    try:
        from jupyter_core.utils import run_sync

        if k is None or k.km is None or not run_sync(k.km.is_alive)():
            return
        run_sync(k.km.interrupt_kernel)()
    except Exception:  # a kernel that cannot be interrupted is restarted on next use
        if k is not None:
            k.shutdown()


def _short_error(exc: BaseException) -> str:
    """One readable line: the exception raised inside the notebook when there is one."""
    ename = getattr(exc, "ename", None)
    evalue = getattr(exc, "evalue", None)
    if ename:
        return f"{ename}: {evalue}".strip()[:500]
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"[:500]


def render_report(
    territory: str,
    *,
    level: str | None = None,
    indicators: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] = "reports",
    pdf: bool = False,
    persistent: bool = True,
) -> ReportResult:
    """Produce the report of one territory in ``out/<level>-<code>/``.

    Parameters
    ----------
    territory, level
        The territory (level inferred when the code is unambiguous).
    indicators, config
        Where the tables come from (see :func:`ocsol.report.build_context`).
    out
        Parent folder of the report folder.
    pdf
        Also print the HTML to PDF with headless Chromium (a warning when it is missing).
    persistent
        Run through ocsol's papermill engine (a private kernel on IPC sockets, shut down after the
        report); False uses papermill's default engine.

    Raises
    ------
    ReportError
        When the notebook or the export failed (message: the error raised in the notebook).
    """
    ind = _indicators(config=str(config) if config else None, indicators=str(indicators) if indicators else None)
    lvl, code = ind.territories.find(str(territory), level)
    folder = Path(out) / report_folder_name(lvl, code)
    runner = ReportRunner(persistent=persistent)
    try:
        res = runner.run(code, level=lvl, indicators=str(indicators) if indicators else None,
                         config=str(config) if config and not indicators else None, folder=folder, pdf=pdf)
    finally:
        runner.close()
    if not res.ok:
        raise ReportError(f"report of {lvl} {code} failed: {res.error}; see {folder / NOTEBOOK_NAME}")
    return res


def report_folder_name(level: str, code: str) -> str:
    """Folder of a territory's report: ``<level>-<code>`` (safe characters only)."""
    import re

    return re.sub(r"[^\w.-]+", "_", f"{level}-{code}")
