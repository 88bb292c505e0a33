"""Atomic output: a failed run leaves the previous outputs intact and no half tables.

Every file is written to a temporary name in the same folder, then renamed over the target
(``os.replace`` is atomic on one filesystem). A set of tables is staged in a temporary folder
and moved into place only when all of them were written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent)
    os.close(fd)
    os.unlink(tmp)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            if tmp_path.is_dir():
                shutil.rmtree(tmp_path, ignore_errors=True)
            else:
                tmp_path.unlink()


def write_csv(df: pd.DataFrame, target: str | os.PathLike[str]) -> Path:
    """Write a table as UTF-8 CSV atomically, with stable float formatting (byte-identical reruns)."""
    with atomic_path(target) as tmp:
        df.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n", float_format="%.6f")
    return Path(target)


def write_text(text: str, target: str | os.PathLike[str]) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_bytes(data: bytes, target: str | os.PathLike[str]) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_with(writer: Callable[[Path], None], target: str | os.PathLike[str]) -> Path:
    """Atomically write ``target`` with ``writer(tmp_path)`` (GeoPackage, XLSX, …)."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def publish_files(files: dict[str, Callable[[Path], None]], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write several files as one unit: all staged first, then each renamed into ``out_dir``.

    If any writer fails, nothing in ``out_dir`` changes.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".ocsol-stage-", dir=out))
    try:
        for name, writer in files.items():
            writer(stage / name)
        written = []
        for name in files:
            os.replace(stage / name, out / name)
            written.append(out / name)
        return written
    finally:
        shutil.rmtree(stage, ignore_errors=True)
