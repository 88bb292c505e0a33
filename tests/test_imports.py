"""The import graph of ``src/ocsol``, read with ``ast`` (imports inside functions included).

Four rules (issue 14, items 3 and 4; the layer map is also in ``docs/ARCHITECTURE.md``):

- no import cycle between modules;
- no module imports a module of a higher layer (:data:`LAYERS`, bottom to top);
- a module of the ``measures`` layer (tables in, tables out) never reads a file: it imports no
  reader (``ocsol.io``) and not the configuration (``ocsol.config``): the steps of
  ``ocsol.steps`` read the inputs and pass tables and plain options;
- an ocsol import inside a function is allowed only where it saves start-up time, and its
  line (or the comment line just above it) says so with ``start-up``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "ocsol"
DOC = Path(__file__).resolve().parents[1] / "docs" / "ARCHITECTURE.md"

#: The layers, bottom to top. A module may import modules of its own layer or of lower layers.
#: ``ocsol.io`` stands for the package and every module under it (same for the other packages).
LAYERS: dict[str, list[str]] = {
    # rules as data, French words and formats, errors, units, and dependency-free helpers
    "base": ["ocsol._version", "ocsol.errors", "ocsol.units", "ocsol.fr", "ocsol.nomenclature",
             "ocsol.sample", "ocsol.synthetic", "ocsol.cluster", "ocsol.schema"],
    # reading and writing files, the configuration and the plan of input files, territories
    "io": ["ocsol.io", "ocsol.config", "ocsol.departements", "ocsol.territories", "ocsol.legends"],
    # engines: arrays and frames in, pieces out
    "engines": ["ocsol.kernels", "ocsol.change", "ocsol.crosstab", "ocsol.thresholds"],
    # measures: tidy tables in, tidy tables out
    "measures": ["ocsol.indicators", "ocsol.consumption", "ocsol.demography", "ocsol.zan_rules", "ocsol.zan",
                 "ocsol.zan_2031", "ocsol.compare", "ocsol.cog", "ocsol.consumption_tables",
                 "ocsol.threshold_tables", "ocsol.fragmentation", "ocsol.raster_coverage", "ocsol.ign_artif"],
    # the pipeline and its steps: configuration + territories -> every table
    "pipeline": ["ocsol.step_common", "ocsol.steps", "ocsol.pipeline", "ocsol.threshold_compare",
                 "ocsol.synthetic_inputs"],
    # reports (and the plots they draw)
    "report": ["ocsol.plot", "ocsol.report"],
    # the command line and the public facade (``import ocsol``)
    "cli": ["ocsol", "ocsol.cli", "ocsol.__main__"],
}
LEVEL = {prefix: i for i, mods in enumerate(LAYERS.values()) for prefix in mods}
NAMES = list(LAYERS)


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def layer(module: str) -> int | None:
    """The layer of a module: its own entry, else that of its closest package listed."""
    name = module
    while name:
        if name in LEVEL:
            return LEVEL[name]
        name = name.rpartition(".")[0]
    return None


def _in_function(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inside |= {id(sub) for sub in ast.walk(node) if sub is not node}
    return inside


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The ocsol modules an import statement loads (``from . import x`` names module ``x``)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - node.level + 1]
            stem = ".".join(base + ([node.module] if node.module else []))
        else:
            stem = node.module or ""
        names = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in MODULES else stem for a in node.names]
    out = []
    for name in names:
        while name and name not in MODULES:  # `import ocsol.io.write` → that module
            name = name.rpartition(".")[0]
        if name and name != module:
            out.append(name)
    return list(dict.fromkeys(out))


def import_graph() -> list[tuple[str, str, int, bool]]:
    """Every (importer, imported, line, inside a function) edge between ocsol modules."""
    edges = []
    for module, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
        inside = _in_function(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _targets(node, module, path.name == "__init__.py"):
                    edges.append((module, target, node.lineno, id(node) in inside))
    return edges


EDGES = import_graph()


def _cycles(edges: list[tuple[str, str, int, bool]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for a, b, _line, _func in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_walk_sees_function_level_and_relative_imports():
    """The walker itself: a cycle hidden in a function is a cycle; ``from .. import x`` names ``x``."""
    edges = [("ocsol.a", "ocsol.b", 1, False), ("ocsol.b", "ocsol.c", 5, False), ("ocsol.c", "ocsol.a", 9, True)]
    assert _cycles(edges) == [["ocsol.a", "ocsol.b", "ocsol.c"]]
    node = ast.parse("from .. import fr, units").body[0]
    assert _targets(node, "ocsol.report.context", False) == ["ocsol.fr", "ocsol.units"]
    node = ast.parse("from .write import write_text").body[0]
    assert _targets(node, "ocsol.io", True) == ["ocsol.io.write"]
    node = ast.parse("import ocsol.io.write").body[0]
    assert _targets(node, "ocsol.cli", False) == ["ocsol.io.write"]
    assert any(func for *_e, func in EDGES), "no function-level import seen: the walk is broken"


def test_every_module_has_a_layer():
    missing = sorted(m for m in MODULES if layer(m) is None)
    assert not missing, f"modules without a layer: {missing}; add them to LAYERS (and docs/ARCHITECTURE.md)"


def test_no_import_cycle():
    cycles = _cycles(EDGES)
    detail = [f"{' ↔ '.join(c)}: " + ", ".join(f"{a}:{line} → {b}" for a, b, line, _f in EDGES
                                               if a in c and b in c) for c in cycles]
    assert not cycles, "import cycles:\n" + "\n".join(detail)


def test_no_module_imports_a_higher_layer():
    upward = [f"{a}:{line} ({NAMES[layer(a)]}) imports {b} ({NAMES[layer(b)]})"
              for a, b, line, _func in EDGES
              if layer(a) is not None and layer(b) is not None and layer(b) > layer(a)]
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


#: What a measure may not import: the readers and the configuration (the steps read, measures compute).
READERS = ("ocsol.io", "ocsol.config")


def reads_files(module: str) -> bool:
    """Whether ``module`` is a reader or the configuration (a module the measures may not import)."""
    return any(module == r or module.startswith(r + ".") for r in READERS)


def test_the_reader_rule_sees_a_measure_importing_a_reader():
    """The rule itself: a measure importing ``ocsol.io.cerema`` (even in a function) is caught;
    one importing the schema is not."""
    node = ast.parse("from .io.cerema import read_cerema").body[0]
    targets = _targets(node, "ocsol.consumption_tables", False)
    assert targets == ["ocsol.io.cerema"] and reads_files(targets[0])
    node = ast.parse("from . import schema").body[0]
    assert not any(reads_files(t) for t in _targets(node, "ocsol.consumption", False))
    assert NAMES[layer("ocsol.consumption_tables")] == "measures"


def test_measures_import_no_reader():
    """Item 3: compute modules never read files (function-level imports included)."""
    measures = NAMES.index("measures")
    bad = [f"{a}:{line} imports {b}" for a, b, line, _func in EDGES
           if layer(a) == measures and reads_files(b)]
    assert not bad, ("measure modules importing a reader or the configuration (move the read into the "
                     "source's step in ocsol/steps/, and pass tables and plain options):\n" + "\n".join(bad))


def test_imports_inside_functions_say_they_save_start_up_time():
    lines = {m: p.read_text(encoding="utf-8").splitlines() for m, p in MODULES.items()}
    bare = []
    for a, b, line, func in EDGES:
        if not func:
            continue
        text = lines[a][line - 1]
        above = lines[a][line - 2].strip() if line >= 2 else ""
        if "start-up" not in text and not (above.startswith("#") and "start-up" in above):
            bare.append(f"{a}:{line} imports {b}")
    assert not bare, ("imports inside functions without a `start-up` comment (move them to the top, or say "
                      "what start-up time they save):\n" + "\n".join(sorted(set(bare))))


def test_layer_map_in_the_architecture_doc_is_this_one():
    text = DOC.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \|$", text, flags=re.M)
    doc = {name: re.findall(r"`([\w.]+)`", mods) for name, mods in rows}
    assert doc == LAYERS, "docs/ARCHITECTURE.md's layer table differs from tests/test_imports.py's LAYERS"
