"""Safe output: atomic files, one run per folder, inputs never overwritten, no formula from data.

- **Atomic.** Every file is written to a temporary name in the same folder, then renamed over the
  target (``os.replace`` is atomic on one filesystem). A set of files is staged in a hidden folder
  and moved into place only when all of them were written (:func:`publish_files`,
  :func:`publish_dir`).
- **One run per folder.** The files a publication wrote are listed in the folder's
  ``manifest.json`` (key ``files``). The next publication into that folder removes the files the
  earlier one listed and this one does not produce; a file ocsol did not list is never touched.
- **One writer at a time.** :func:`output_lock` holds ``.ocsol.lock`` (an OS lock, released even
  when the process is killed) while a run writes a folder; a second run stops with one line.
  Staging folders and temporary files left by a killed run are removed by the next run.
- **Inputs are never overwritten.** :func:`check_out_dir` refuses an output folder that holds
  a file the run reads.
- **No formula from data.** :func:`write_xlsx` writes every string as a text cell (never a
  formula); :func:`defuse_formulas` applies the OWASP CSV-injection rule for CSVs meant to be
  opened in a spreadsheet.
- **Byte-identical reruns.** CSV floats have a fixed format; GeoPackages get a fixed
  ``last_change`` (:func:`write_gpkg`); XLSX archives get fixed dates.
- **Writer errors** (disk full, permission, GDAL) become one :class:`~ocsol.errors.OutputError`
  naming the file; the previous outputs are left as they were.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import OutputError

#: Name of the list of files a publication wrote (inside the folder's manifest.json).
MANIFEST = "manifest.json"
LOCK_NAME = ".ocsol.lock"
STAGE_PREFIX = ".ocsol-stage-"
_TMP_FILE = re.compile(r"^\.(.+)\.[A-Za-z0-9_]{8}\.tmp(\.[^./]*)?$")  # atomic_path's temporary names
#: Files written one by one (not through a manifest) whose temporary copies a killed run may leave.
SINGLE_FILES = frozenset({"index.html", ".ocsol-stamp.json", "headline.json", "rapport.html", "tableaux.xlsx"})
#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# -- atomic files -------------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    An OS or GDAL error while writing becomes an :class:`~ocsol.errors.OutputError` naming
    ``target``; ``target`` itself is left as it was.
    """
    target = Path(target)
    with _writer_errors(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent)
        os.close(fd)
        os.unlink(tmp)
    tmp_path = Path(tmp)
    try:
        with _writer_errors(target):
            yield tmp_path
            os.replace(tmp_path, target)
    finally:
        _remove(tmp_path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        with contextlib.suppress(OSError):
            path.unlink()


def _writer_error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [OSError, sqlite3.Error]
    try:
        from pyogrio.errors import (
            CRSError,
            DataLayerError,
            DataSourceError,
            FieldError,
            GeometryError,
        )

        types += [DataSourceError, DataLayerError, FieldError, GeometryError, CRSError]
    except ImportError:  # pragma: no cover - pyogrio is a dependency
        pass
    return tuple(types)


@contextlib.contextmanager
def _writer_errors(target: Path) -> Iterator[None]:
    """Turn what a writer raises on a full disk, a refused permission or a GDAL failure into one line."""
    try:
        yield
    except OutputError:
        raise
    except _writer_error_types() as exc:
        reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)).strip()
        reason = reason.splitlines()[0][:200] if reason else type(exc).__name__
        raise OutputError(f"{target}: could not write ({reason}); check free space and permissions, "
                          "the previous outputs were left as they were") from None


def write_csv(df: pd.DataFrame, target: str | os.PathLike[str], *, spreadsheet: bool = False) -> Path:
    """Write a table as UTF-8 CSV atomically, with stable float formatting (byte-identical reruns).

    Parameters
    ----------
    spreadsheet
        The file is meant to be opened in a spreadsheet (a report's ``donnees/``): text cells
        that would start a formula are prefixed with ``'`` (:func:`defuse_formulas`).
    """
    table = defuse_formulas(df) if spreadsheet else df
    with atomic_path(target) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n", float_format="%.6f")
    return Path(target)


def write_text(text: str, target: str | os.PathLike[str]) -> Path:
    """Write UTF-8 text atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_bytes(data: bytes, target: str | os.PathLike[str]) -> Path:
    """Write bytes atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_with(writer: Callable[[Path], object], target: str | os.PathLike[str]) -> Path:
    """Atomically write ``target`` with ``writer(tmp_path)`` (GeoPackage, XLSX, …)."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


# -- formulas ----------------------------------------------------------------------------------
def _is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def defuse_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy where every text cell (and header) starting with ``= + - @``, tab or CR gets a ``'`` prefix.

    The OWASP CSV-injection rule: a spreadsheet then shows the text instead of evaluating it.
    Numbers are left alone (``-4.5`` stays a number).

    Examples
    --------
    >>> defuse_formulas(pd.DataFrame({"name": ["=1+1", "Lyon", "-x"], "v": [-1.5, 2, 3]})).to_dict("list")
    {'name': ["'=1+1", 'Lyon', "'-x"], 'v': [-1.5, 2.0, 3.0]}
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = pd.Series([("'" + v) if _is_formula_like(v) else v for v in out[col]], index=out.index,
                                 dtype=out[col].dtype)
    out.columns = [("'" + c) if _is_formula_like(c) else c for c in out.columns]
    return out


def _cell_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def write_xlsx(sheets: dict[str, pd.DataFrame], target: str | os.PathLike[str], *,
               formats: dict[str, dict[str, str]] | None = None) -> Path:
    """Write tables as an XLSX workbook (one sheet each), every string as a text cell.

    A string starting with ``=`` is written as text (never a formula) and marked with Excel's
    quote prefix, so editing the cell does not turn it into one either. The archive carries fixed
    dates, so the same tables give the same bytes. ``formats`` (sheet → column → Excel number
    format) sets number formats; columns are sized to their content and the header row frozen.
    """
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    stamp = _source_date()
    wb = Workbook()
    wb.remove(wb.active)
    for name, df in sheets.items():
        ws = wb.create_sheet(title=str(name)[:31])
        rows = [list(df.columns)] + [list(r) for r in df.itertuples(index=False, name=None)]
        for i, row in enumerate(rows, start=1):
            for j, value in enumerate(row, start=1):
                cell = ws.cell(row=i, column=j)
                v = _cell_value(value)
                if isinstance(v, str):
                    cell.value = v
                    cell.data_type = "s"  # text, even when it starts with "="
                    if _is_formula_like(v):
                        cell.quotePrefix = True
                else:
                    cell.value = v
        fmt = (formats or {}).get(name, {})
        for j, col in enumerate(df.columns, start=1):
            letter = get_column_letter(j)
            width = max([len(str(col))] + [len(str(x)) for x in df[col].head(200)])
            ws.column_dimensions[letter].width = min(max(8, width + 2), 60)
            if col in fmt:
                for cell in ws[letter][1:]:
                    cell.number_format = fmt[col]
        ws.freeze_panes = "A2"
    wb.properties.created = wb.properties.modified = stamp.replace(tzinfo=None)
    buf = io.BytesIO()
    wb.save(buf)
    data = _fixed_zip_dates(buf.getvalue(), stamp)
    return write_bytes(data, target)


def write_zip(data: bytes, target: str | os.PathLike[str]) -> Path:
    """Write an Office (ZIP) document with every member dated like the other outputs (same content,
    same bytes), atomically."""
    return write_bytes(_fixed_zip_dates(data, _source_date()), target)


def _fixed_zip_dates(data: bytes, stamp: datetime) -> bytes:
    """The same ZIP archive with every member dated ``stamp`` (reproducible XLSX)."""
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=date_time)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified" with the time of saving
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + iso.encode(), content)
            dst.writestr(member, content)
    return out.getvalue()


# -- GeoPackage ----------------------------------------------------------------------------------
def _source_date() -> datetime:
    """The date stamped inside outputs: ``SOURCE_DATE_EPOCH`` when set, else 1980-01-01 (fixed).

    Reproducible-builds convention: the same inputs give the same bytes, whatever the day.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    seconds = int(epoch) if epoch.strip().isdigit() else 315532800  # 1980-01-01, the ZIP epoch
    return datetime.fromtimestamp(seconds, tz=UTC)


def write_gpkg(gdf: Any, target: str | os.PathLike[str], *, layer: str) -> None:
    """Write a GeoDataFrame as a GeoPackage whose internal timestamp is fixed (byte-identical reruns).

    GDAL stamps ``gpkg_contents.last_change`` with the current time unless the
    ``OGR_CURRENT_DATE`` configuration option is set; it is set for this write only.
    """
    import pyogrio

    stamp = _source_date().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp})
    try:
        gdf.to_file(target, layer=layer, driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


# -- inputs never overwritten ---------------------------------------------------------------------
def check_out_dir(out: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]], *,
                  label: str = "--out") -> None:
    """Refuse an output folder that is an input file, or that holds one of the run's inputs.

    Raises
    ------
    OutputError
        Naming the folder and the input it holds.
    """
    o = Path(out).expanduser().resolve()
    for p in inputs:
        if p is None:
            continue
        q = Path(p).expanduser().resolve()
        if q == o or o in q.parents:
            where = "is" if q == o else "holds"
            raise OutputError(
                f"{label} {out}: this folder {where} the input {q}, which the run reads; writing there "
                f"could overwrite or delete inputs; choose another folder (e.g. {o / 'ocsol-out'})"
            )


# -- one run per folder: lock, stale staging, manifest ------------------------------------------
_HELD: dict[str, int] = {}


@contextlib.contextmanager
def output_lock(out: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the folder's lock while writing it; clean what a killed run left.

    Re-entrant within one process. A second process asking for the same folder gets an
    :class:`~ocsol.errors.OutputError` at once (it never waits, never mixes its files in).
    """
    folder = Path(out)
    with _writer_errors(folder):
        folder.mkdir(parents=True, exist_ok=True)
    key = str(folder.resolve())
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield folder
        finally:
            _HELD[key] -= 1
        return
    path = folder / LOCK_NAME
    fh = _acquire(path, folder)
    _HELD[key] = 1
    try:
        clean_stale(folder)
        yield folder
    finally:
        del _HELD[key]
        with contextlib.suppress(OSError):
            path.unlink()
        fh.close()


def _acquire(path: Path, folder: Path):
    for _ in range(20):
        with _writer_errors(path):
            fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held until released
        if not _try_lock(fh):
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise OutputError(
                f"{folder}: another ocsol run ({holder}) is writing this folder; wait for it to finish, "
                "or choose another --out"
            )
        try:  # the file we locked must still be the one on disk (not unlinked by a finishing run)
            same = os.fstat(fh.fileno()).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}, started {datetime.now(tz=UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}")
            fh.flush()
            return fh
        fh.close()
    raise OutputError(f"{folder}: could not take the lock {path}; retry")  # pragma: no cover


def _try_lock(fh) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]  # Windows only
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def clean_stale(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove staging folders and temporary files a killed run left in ``folder`` and its sub-folders.

    Only ocsol's own names are matched: ``.ocsol-stage-*`` folders, and ``.<name>.<8 chars>.tmp*``
    files whose ``<name>`` is a file ocsol publishes there (listed in the folder's manifest, or
    one of :data:`SINGLE_FILES`). Call it while holding :func:`output_lock`.
    """
    root = Path(folder)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    dirs = [root] + [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")]
    for d in dirs:
        known = previous_files(d) | SINGLE_FILES
        for p in d.iterdir():
            m = _TMP_FILE.match(p.name)
            if (p.name.startswith(STAGE_PREFIX) and p.is_dir()) or (m and m.group(1) in known and p.is_file()):
                _remove(p)
                removed.append(p)
    return removed


def previous_files(out: str | os.PathLike[str]) -> set[str]:
    """Files an earlier ocsol publication listed in ``out/manifest.json`` (empty when none)."""
    try:
        data = json.loads((Path(out) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        return set()
    return {f for f in files if isinstance(f, str) and _safe_relative(f)}


def _safe_relative(name: str) -> bool:
    p = Path(name)
    return bool(name) and not p.is_absolute() and ".." not in p.parts and not name.startswith(".") \
        and "\\" not in name


def _publish_staged(stage: Path, out: Path, names: list[str]) -> list[Path]:
    """Move the staged ``names`` into ``out``, then remove what the earlier publication listed and
    this one does not produce (emptied sub-folders too)."""
    old = previous_files(out)
    written = []
    for name in names:
        target = out / name
        with _writer_errors(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / name, target)
        written.append(target)
    for name in sorted(old - set(names)):
        target = out / name
        if target.is_file() and not target.is_symlink():
            with contextlib.suppress(OSError):
                target.unlink()
            parent = target.parent
            while parent != out and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
    return written


def manifest_files(names: Iterable[str]) -> list[str]:
    """The sorted list of files a publication writes, ``manifest.json`` included."""
    return sorted(set(names) | {MANIFEST})


def publish_files(files: dict[str, Callable[[Path], object]], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write several files as one unit: all staged first, then each renamed into ``out_dir``.

    If any writer fails, nothing in ``out_dir`` changes. When ``files`` has no ``manifest.json``
    writer, one listing the files is added; a caller writing its own manifest puts
    ``"files": manifest_files(files)`` in it. Files listed by the previous manifest and not
    written now are removed.
    """
    out = Path(out_dir)
    files = dict(files)
    if MANIFEST not in files:
        listing = json.dumps({"files": manifest_files(files)}, indent=1)
        files[MANIFEST] = lambda p: p.write_text(listing, encoding="utf-8")
    with output_lock(out):
        with _writer_errors(out):
            stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=out))
        try:
            for name, writer in files.items():
                target = stage / name
                with _writer_errors(out / name):
                    target.parent.mkdir(parents=True, exist_ok=True)
                    writer(target)
            return _publish_staged(stage, out, list(files))
        finally:
            _remove(stage)


def staging_dir(out: str | os.PathLike[str], *, label: str = "") -> Path:
    """A new hidden staging folder beside ``out`` (same filesystem), for :func:`publish_dir`."""
    out = Path(out)
    with _writer_errors(out.parent):
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{label}-", dir=out.parent))


def publish_dir(stage: str | os.PathLike[str], out: str | os.PathLike[str]) -> list[Path]:
    """Move everything a step wrote in ``stage`` into ``out`` as one publication (see module doc).

    ``stage`` is removed afterwards.
    """
    stage, out = Path(stage), Path(out)
    try:
        names = sorted(str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file())
        names = [n for n in names if n != MANIFEST]
        (stage / MANIFEST).write_text(json.dumps({"files": manifest_files(names)}, indent=1), encoding="utf-8")
        with _writer_errors(out):
            out.mkdir(parents=True, exist_ok=True)
        return _publish_staged(stage, out, names + [MANIFEST])
    finally:
        _remove(stage)
