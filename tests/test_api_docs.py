"""docs/api.md lists the public API exactly, and every public function has a numpydoc docstring.

The public API is the ``__all__`` of :data:`PUBLIC_MODULES`. Its functions' examples run as
doctests (``--doctest-modules``, see pyproject); this file checks they exist and say what they
take and return.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api.md"
PUBLIC_MODULES = ("ocsol", "ocsol.report", "ocsol.report.batch", "ocsol.cluster")
#: one line of docs/api.md: - [`dotted.name`](../src/ocsol/module.py) — purpose
LINE = re.compile(r"^- \[`(?P<name>[\w.]+)`\]\(\.\./(?P<path>src/ocsol/[\w/]+\.py)\) — (?P<purpose>\S.*)$")
SECTION = re.compile(r"^(?P<title>[A-Z][A-Za-z ]+)\n-{3,}$", re.MULTILINE)


def resolve(dotted: str) -> object:
    """The object a dotted public name points to (``ocsol.report.batch.batch_reports``)."""
    module, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def public() -> dict[int, tuple[str, object]]:
    """id(object) -> (first public name, object) over the ``__all__`` of the public modules."""
    out: dict[int, tuple[str, object]] = {}
    for m in PUBLIC_MODULES:
        mod = importlib.import_module(m)
        for name in mod.__all__:
            obj = getattr(mod, name)
            out.setdefault(id(obj), (f"{m}.{name}", obj))
    return out


def listed() -> list[re.Match[str]]:
    lines = [ln for ln in API.read_text(encoding="utf-8").splitlines() if ln.startswith("- [`")]
    bad = [ln for ln in lines if not LINE.match(ln)]
    assert not bad, f"docs/api.md: lines not of the form - [`name`](../src/ocsol/x.py) — purpose: {bad}"
    return [m for ln in lines if (m := LINE.match(ln))]


def functions() -> list[tuple[str, object]]:
    return sorted((n, o) for n, o in public().values() if inspect.isfunction(o))


def test_api_page_lists_every_public_name_once_and_nothing_else():
    entries = listed()
    names = [m["name"] for m in entries]
    assert len(names) == len(set(names)), "a name is listed twice in docs/api.md"
    pub = public()
    objs = {}
    for name in names:
        try:
            obj = resolve(name)
        except (ImportError, AttributeError):
            pytest.fail(f"docs/api.md lists {name}, which does not exist")
        assert id(obj) in pub, f"docs/api.md lists {name}, which is in no __all__ of {PUBLIC_MODULES}"
        assert id(obj) not in objs, f"docs/api.md lists {name} and {objs[id(obj)]}, the same object"
        objs[id(obj)] = name
    missing = sorted(n for i, (n, _) in pub.items() if i not in objs)
    assert not missing, f"public names missing from docs/api.md: {missing}"


def test_api_page_links_to_the_module_that_defines_each_name():
    for m in listed():
        obj = resolve(m["name"])
        if inspect.isfunction(obj) or inspect.isclass(obj):
            where = Path(inspect.getsourcefile(inspect.unwrap(obj))).resolve()
        else:  # a value (``__version__``): defined in the module the name is taken from
            where = Path(importlib.import_module(m["name"].rpartition(".")[0]).__file__).resolve()
        assert where == (ROOT / m["path"]).resolve(), f"{m['name']} is defined in {where}, not {m['path']}"


def sections(doc: str) -> dict[str, str]:
    """numpydoc section title -> its text."""
    heads = list(SECTION.finditer(doc))
    return {h["title"]: doc[h.end(): heads[i + 1].start() if i + 1 < len(heads) else len(doc)]
            for i, h in enumerate(heads)}


@pytest.mark.parametrize("name,fn", functions(), ids=[n for n, _ in functions()])
def test_public_function_has_numpydoc_docstring_with_example(name, fn):
    doc = inspect.getdoc(fn) or ""
    assert doc and not SECTION.match(doc), f"{name}: no one-line summary"
    sec = sections(doc)
    assert "Examples" in sec and ">>>" in sec["Examples"], f"{name}: no Examples section with a doctest"
    assert "Returns" in sec or "Yields" in sec, f"{name}: no Returns (or Yields) section"
    params = [p for p in inspect.signature(fn).parameters.values() if p.kind is not p.VAR_POSITIONAL]
    if not params:
        return
    assert "Parameters" in sec, f"{name}: no Parameters section"
    described = set()
    for line in sec["Parameters"].splitlines():
        if line and not line[0].isspace():  # "a, b" or "a : type" at the margin names parameters
            described |= {w.strip().lstrip("*") for w in line.split(":")[0].split(",")}
    undocumented = [p.name for p in params if p.name not in described]
    assert not undocumented, f"{name}: parameters not in its Parameters section: {undocumented}"


def classes() -> list[tuple[str, object]]:
    return sorted((n, o) for n, o in public().values() if inspect.isclass(o))


@pytest.mark.parametrize("name,cls", classes(), ids=[n for n, _ in classes()])
def test_public_class_has_a_docstring_with_example(name, cls):
    """A public class says what it is and shows itself in an example that runs as a doctest
    (``--doctest-modules`` collects it from the class's docstring)."""
    doc = inspect.getdoc(cls) or ""
    assert doc and not SECTION.match(doc), f"{name}: no one-line summary"
    sec = sections(doc)
    assert "Examples" in sec and ">>>" in sec["Examples"], f"{name}: no Examples section with a doctest"


def test_errors_are_public_once_from_ocsol_errors():
    """An error class is public from ``ocsol`` (defined in ``ocsol.errors``), never re-exported by
    another public module: ``from ocsol.errors import OcsolError`` is the one way to import it."""
    for m in PUBLIC_MODULES:
        mod = importlib.import_module(m)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isclass(obj) and issubclass(obj, Exception) and m != "ocsol":
                pytest.fail(f"{m}.__all__ re-exports {name}; import it from ocsol.errors")
