"""Digest of every output of ``ocsol indicators`` on the sample configs and of ``ocsol demo``.

Issue 14 changes no number: every output must stay byte-identical. This script runs

- ``ocsol indicators --config data/<name>/ocsol.toml`` for every ``data/*/ocsol.toml``, each into
  ``<work>/indicators-<name>/``;
- ``ocsol demo`` into ``<work>/demo/``;

and writes one JSON ``{"relative/path": "sha256", ...}`` of every file written. Compare two runs
with ``--compare A.json B.json``: it lists the files that differ, appear or disappear, and exits 1
when any does.

Normalisation: only what legitimately varies from one run to the next is blanked before hashing,
and nothing else:

- ``YYYY-MM-DD`` dates and ``YYYY-MM-DDTHH:MM:SS`` timestamps (the date of production printed in
  reports, ``manifest.json``, ``headline.json``, the ISO 19139 records, ``datapackage.json``) are
  replaced by ``<date>`` when they equal today's date (UTC or local); other dates (data dates,
  guarantee cut-offs) are kept, so a changed data date still shows;
- the ``ocsol`` version string written in manifests and reports is blanked (it carries the git
  commit in a development checkout);
- absolute paths of the work folder and of the checkout (whose ``data/`` holds the inputs named
  in ``provenance.csv``, ``qa.csv`` and ``manifest.json``) become ``<work>`` and ``<root>``, so a
  copy of an older commit elsewhere compares with this one;
- GeoPackage files (SQLite) hold a ``last_change`` timestamp in ``gpkg_contents``: they are hashed
  from their content instead (each table's rows, in order, with that column dropped);
- papermill's random notebook cell ids (``"id": "…"`` in ``rapport.ipynb``, ``cell-id=…`` in
  ``rapport.html``) become ``<id>``;
- ``.ocsol-stamp.json`` (a batch's cache stamp) holds a ``key``: the sha256 of the indicators
  folder's raw bytes, absolute input paths included, so it changes with the checkout's location;
  the key is blanked (the files it fingerprints are compared themselves);
- PDF, DOCX and XLSX hold creation times in their metadata: DOCX/XLSX are hashed member by member
  with ``docProps/core.xml`` normalised as text; PDF are not written by the demo.

Usage::

    python tools/outputs_digest.py run --out /tmp/digest-before.json [--work DIR] [--only lyon,arcachon]
        [--no-demo]
    python tools/outputs_digest.py compare /tmp/digest-before.json /tmp/digest-after.json \\
        [--noise /tmp/digest-before-again.json]

Some demo files change from one run to the next of the same code (papermill's random notebook
cell ids in ``rapport.ipynb``/``rapport.html``; the synthetic GeoPackages the demo generates, whose
sha256 then shows in ``provenance.csv``, ``datapackage.json``, the ISO record and the report
stamps). ``--noise`` takes a second run of the first code and leaves out what differs between
the two runs, saying how many.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _today_patterns() -> list[str]:
    days = {dt.datetime.now(dt.UTC).date(), dt.date.today()}
    return sorted(d.isoformat() for d in days)


def _version_strings() -> list[str]:
    try:
        import ocsol

        v = str(getattr(ocsol, "__version__", "") or "")
    except Exception:  # noqa: BLE001 - a digest without the version is still a digest
        v = ""
    return [v] if v else []


def normalise_text(text: str, work: Path) -> str:
    """Blank what varies between runs (see the module docstring)."""
    for folder in {str(work), str(work.resolve())}:
        text = text.replace(folder, "<work>")
    for folder in {str(ROOT), str(ROOT.resolve())}:
        text = text.replace(folder, "<root>")
    for day in _today_patterns():
        text = re.sub(re.escape(day) + r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
                      "<date>", text)
    text = re.sub(r'("id": "|cell-id=)[0-9a-f]{8}(?:-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?', r"\1<id>", text)
    for version in _version_strings():
        text = text.replace(version, "<version>")
    return text


TEXT_SUFFIXES = {".csv", ".json", ".html", ".md", ".xml", ".txt", ".qml", ".svg", ".ipynb", ".js", ".css",
                 ".geojson", ".tsv"}


def _gpkg_digest(path: Path) -> str:
    h = hashlib.sha256()
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for t in tables:
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")') if r[1] != "last_change"]
            h.update(f"\n[{t}] {cols}\n".encode())
            if not cols:
                continue
            sel = ", ".join(f'"{c}"' for c in cols)
            for row in con.execute(f'SELECT {sel} FROM "{t}" ORDER BY rowid' if _has_rowid(con, t)
                                   else f'SELECT {sel} FROM "{t}"'):
                h.update(repr(row).encode())
    finally:
        con.close()
    return h.hexdigest()


def _has_rowid(con: sqlite3.Connection, table: str) -> bool:
    try:
        con.execute(f'SELECT rowid FROM "{table}" LIMIT 1')
    except sqlite3.OperationalError:
        return False
    return True


def _zip_digest(path: Path, work: Path) -> str:
    h = hashlib.sha256()
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            data = z.read(name)
            if name.endswith((".xml", ".rels")):
                data = normalise_text(data.decode("utf-8", "replace"), work).encode()
                data = re.sub(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>", b"", data)
            h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def file_digest(path: Path, work: Path) -> str:
    """sha256 of one output, normalised as the module docstring says."""
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        return _gpkg_digest(path)
    if suffix in (".docx", ".xlsx"):
        return _zip_digest(path, work)
    data = path.read_bytes()
    if path.name == ".ocsol-stamp.json":
        data = re.sub(rb'"key": "[0-9a-f]{64}"', b'"key": "<key>"', data)
    if suffix in TEXT_SUFFIXES:
        data = normalise_text(data.decode("utf-8", "replace"), work).encode()
    return hashlib.sha256(data).hexdigest()


def digest_folder(folder: Path, prefix: str, work: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[f"{prefix}/{p.relative_to(folder).as_posix()}"] = file_digest(p, work)
    return out


def _run(args: list[str], cwd: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-m", "ocsol", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"outputs_digest: `ocsol {' '.join(args)}` exited with {proc.returncode}")


def run(out: Path, work: Path, only: list[str] | None, demo: bool) -> dict[str, str]:
    work.mkdir(parents=True, exist_ok=True)
    digests: dict[str, str] = {}
    configs = sorted((ROOT / "data").glob("*/ocsol.toml"))
    for cfg in configs:
        name = cfg.parent.name
        if only and name not in only:
            continue
        target = work / f"indicators-{name}"
        print(f"ocsol indicators --config {cfg.relative_to(ROOT)} -> {target}", file=sys.stderr)
        _run(["indicators", "--config", str(cfg), "--out", str(target), "--quiet"], cwd=work)
        digests.update(digest_folder(target, f"indicators-{name}", work))
    if demo:
        target = work / "demo"
        print(f"ocsol demo -> {target}", file=sys.stderr)
        _run(["demo", "--out", str(target), "--quiet"], cwd=work)
        digests.update(digest_folder(target, "demo", work))
    out.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(digests)} files digested -> {out}", file=sys.stderr)
    return digests


def compare(a: Path, b: Path, noise: Path | None = None) -> int:
    da, db = json.loads(a.read_text()), json.loads(b.read_text())
    changed = sorted(k for k in da.keys() & db.keys() if da[k] != db[k])
    if noise is not None:  # a second run of A's code: files that differ between two runs of the same code
        dn = json.loads(noise.read_text())
        unstable = {k for k in da.keys() & dn.keys() if da[k] != dn[k]}
        print(f"{len(unstable)} files differ between two runs of the same code ({a.name}, {noise.name}): "
              "not compared")
        changed = [k for k in changed if k not in unstable]
    gone, new = sorted(da.keys() - db.keys()), sorted(db.keys() - da.keys())
    print(f"{len(da.keys() & db.keys())} files compared: {len(changed)} differ, {len(gone)} only in {a.name}, "
          f"{len(new)} only in {b.name}")
    for label, keys in (("differs", changed), (f"only in {a.name}", gone), (f"only in {b.name}", new)):
        for k in keys:
            print(f"  {label}: {k}")
    return 1 if changed or gone or new else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the sample configs and the demo, write the digest JSON")
    r.add_argument("--out", required=True, type=Path)
    r.add_argument("--work", type=Path, default=None, help="folder for the outputs (default: a temporary one)")
    r.add_argument("--only", default="", help="comma-separated sample names (default: all)")
    r.add_argument("--no-demo", action="store_true", help="skip `ocsol demo`")
    c = sub.add_parser("compare", help="list the files that differ between two digests")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    c.add_argument("--noise", type=Path, default=None,
                   help="digest of a second run of A's code: files differing between the two runs are left out")
    # `--compare A.json B.json` is accepted as a synonym of `compare A.json B.json`.
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--compare"]:
        argv[0] = "compare"
    args = p.parse_args(argv)
    if args.cmd == "compare":
        return compare(args.a, args.b, args.noise)
    only = [s for s in args.only.split(",") if s] or None
    if args.work is None:
        with tempfile.TemporaryDirectory(prefix="ocsol-digest-") as tmp:
            run(args.out.resolve(), Path(tmp), only, not args.no_demo)
    else:
        run(args.out.resolve(), args.work.resolve(), only, not args.no_demo)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
