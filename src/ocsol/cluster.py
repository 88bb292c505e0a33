"""Run tasks on ``dask.distributed``: a LocalCluster by default, or an existing scheduler.

One place for the cluster: :func:`open_client` starts (or joins) it, :func:`run_tasks` submits
independent tasks, follows them with a progress bar and returns their results in submission
order — so a run on the cluster gives the same tables, byte for byte, as a run in one process.
``ocsol indicators`` computes each département as a task (:mod:`ocsol.departements`) and
``ocsol batch`` writes its reports as tasks (:mod:`ocsol.report.batch`) through it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .errors import ConfigError

log = logging.getLogger(__name__)


def n_threads(threads: int | None, n: int, *, min_per_thread: int = 2000) -> int:
    """Threads worth starting for ``n`` items (default: one per CPU, at least ``min_per_thread`` items each)."""
    t = threads or os.cpu_count() or 1
    return max(1, min(t, n // min_per_thread))


def thread_map(fn: Callable[[Any], Any], items: Sequence[Any], *, threads: int | None = None) -> list[Any]:
    """``[fn(x) for x in items]`` on a thread pool when there are several items (for work that
    releases the GIL: shapely 2 vectorised functions, numba ``nogil`` kernels, GDAL reads)."""
    if len(items) <= 1 or threads == 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(items), threads or os.cpu_count() or 1),
                            thread_name_prefix="ocsol") as pool:
        return list(pool.map(fn, items))


def chunks(n: int, k: int) -> list[Any]:
    """``k`` contiguous index ranges covering ``range(n)`` (empty ones left out)."""
    import numpy as np

    return [c for c in np.array_split(np.arange(n), max(1, k)) if len(c)]


@contextlib.contextmanager
def open_client(
    *, workers: int | None = None, scheduler: str | None = None, n_tasks: int | None = None,
    processes: bool = True, memory_limit: str | float | None = "auto",
) -> Iterator[Any]:
    """A ``dask.distributed.Client``: on ``scheduler`` when given, else on a new LocalCluster.

    Parameters
    ----------
    workers
        Worker processes of the LocalCluster (default: one per CPU, at most ``n_tasks``).
        Each worker runs one task at a time (one thread), so it holds one département.
    scheduler
        Address of an existing scheduler (``tcp://host:8786``); ``workers`` is then ignored.
    n_tasks
        Number of tasks to come (caps the default number of workers).
    processes
        Workers as processes (default) or as threads of this process (tests, notebooks).
    memory_limit
        Per-worker memory limit of the LocalCluster (dask's ``"auto"``: RAM / workers).

    Yields
    ------
    dask.distributed.Client
        Closed (with its LocalCluster) when the ``with`` block ends.

    Raises
    ------
    ConfigError
        When the scheduler cannot be reached.

    Examples
    --------
    Two sample configurations computed as two tasks of a LocalCluster (here two worker threads);
    :func:`ocsol.compute` and :func:`ocsol.report.batch.batch_reports` take the same ``client``:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from ocsol.report import compute_indicators
    >>> from ocsol.sample import sample_config
    >>> with tempfile.TemporaryDirectory() as tmp, open_client(workers=2, processes=False) as client:
    ...     folders = run_tasks(client, compute_indicators, [(sample_config("lyon"), Path(tmp) / "lyon"),
    ...                                                      (sample_config("arcachon"), Path(tmp) / "arcachon")])
    ...     written = [sorted(p.name for p in f.glob("*.csv"))[:3] for f in folders]
    >>> [f.name for f in folders], written  # doctest: +NORMALIZE_WHITESPACE
    (['lyon', 'arcachon'],
     [['consumption.csv', 'consumption_qa.csv', 'efficiency.csv'], ['flows.csv', 'land_account.csv', 'membership.csv']])
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        raise ConfigError("the Dask path needs dask[distributed]; pip install 'dask[distributed]'") from None
    if not logging.getLogger("ocsol").isEnabledFor(logging.DEBUG):  # Dask's chatter only with -vv
        logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise ConfigError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc}); "
                              "check the address (tcp://host:8786) and that the scheduler runs") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    if n_tasks:
        n = min(n, n_tasks) if not workers else n
    n = max(1, int(n))
    log.info("starting a Dask LocalCluster of %d worker(s)", n)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=":0",
                           memory_limit=memory_limit, silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def run_tasks(
    client: Any, fn: Callable[..., Any], items: Sequence[tuple], *, desc: str = "Tâches", unit: str = "tâche",
    progress: bool = False, labels: Sequence[str] | None = None, on_result: Callable[[int, Any], None] | None = None,
    on_error: Callable[[int, BaseException], Any] | None = None, **shared: Any,
) -> list[Any]:
    """Run ``fn(*item, **shared)`` for every item, on ``client`` (Dask) or here when it is None.

    Results come back in the order of ``items`` whatever the order the tasks finish in. The first
    task that raises stops the run: the error is raised here with its own type (an
    :class:`~ocsol.errors.OcsolError` stays a user error) and the other tasks are cancelled.
    With ``on_error``, a failed task (including a worker that died, ``KilledWorker``) gives
    ``on_error(i, exc)`` as its result instead and the others go on.
    ``shared`` values are sent once to every worker (scattered), not once per task.

    Parameters
    ----------
    client
        A ``dask.distributed.Client`` (:func:`open_client`), or None to run here, in order.
    fn
        A function importable on the workers (module level).
    items
        One tuple of positional arguments per task.
    desc, unit, progress
        The progress bar (tqdm, on stderr).
    labels
        Task names for the Dask dashboard (default: the index).
    on_result, on_error
        Called with each result as it arrives; ``on_error`` turns a failure into a result.
    shared
        Keyword arguments common to every task.

    Returns
    -------
    list
        ``fn``'s results in the order of ``items``.

    Raises
    ------
    Exception
        The first task's error, with its own type, when there is no ``on_error``.

    Examples
    --------
    Without a client the tasks run here, one after another; with one, on its workers — the
    results come back in the same order either way:

    >>> from ocsol.io.cerema import read_cerema
    >>> files = [("data/lyon/conso_communes_cerema_format.csv",)]
    >>> [len(t) for t in run_tasks(None, read_cerema, files, code="idcom")]  # 58 communes × 15 years
    [870]
    """
    from tqdm.auto import tqdm

    bar = tqdm(total=len(items), desc=desc, unit=unit, disable=not progress, leave=False)
    out: list[Any] = [None] * len(items)
    try:
        if client is None:
            for i, item in enumerate(items):
                out[i] = fn(*item, **shared)
                if on_result is not None:
                    on_result(i, out[i])
                bar.update(1)
            return out
        from dask.distributed import as_completed

        scattered = {k: client.scatter(v, broadcast=True) for k, v in shared.items()}
        keys = [f"{fn.__name__}-{labels[i] if labels else i}-{os.getpid()}-{id(items)}" for i in range(len(items))]
        futures = [client.submit(fn, *item, key=k, pure=False, **scattered) for item, k in zip(items, keys, strict=True)]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in as_completed(futures):
                i = index[fut.key]
                if on_error is not None and fut.status == "error":
                    out[i] = on_error(i, fut.exception())
                else:
                    out[i] = fut.result()  # re-raises the task's exception here
                fut.release()
                if on_result is not None:
                    on_result(i, out[i])
                bar.update(1)
        except BaseException:
            client.cancel(futures)
            raise
        return out
    finally:
        bar.close()


__all__ = ["open_client", "run_tasks"]
