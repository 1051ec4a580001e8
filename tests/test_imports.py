"""The import structure of src/striate, read with ``ast`` (nothing is imported): no cycles between modules
or between parts, no private names taken from another module, and only the allowed directions between parts.

Every ``import`` of a striate module counts, at module level and inside functions alike: an import hidden in a
function is still a dependency, and a cycle through one is still a cycle. ``from striate.x import name`` is an
import of the module ``striate.x.name`` when that is a module, else of ``striate.x``; ``import striate`` is an
import of the package's ``__init__`` (part "striate").

A part is the first name under striate: ``striate/data/...`` is part "data", a top-level module such as
``striate/errors.py`` is its own part ("errors"), and ``striate/__init__.py`` is part "striate".
"""

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = REPO_ROOT / "src" / "striate"
ROOT = "striate"

# The import directions between parts: each part and the parts it may import. This is the picture in
# ../shared/DESIGN.md's "Import directions" paragraph; change the two together. A part not listed here may
# neither import nor be imported across parts. Imports within a part are always allowed.
FOUNDATION = {"errors", "version", "files", "recipes", "pretrained", "console"}  # any part may import these (their own rows below hold for them)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "version": set(),
    "files": {"errors"},
    "console": set(),  # the striate logger: progress lines, notes, train.log
    "recipes": {"errors"},
    "pretrained": set(),
    "layers": set(),
    "data": set(),
    "models": {"layers"},
    "inspect": {"models", "layers"},
    "training": set(),
    "tasks": {"data", "training"},
    "session": {"layers", "data", "models", "training", "tasks", "inspect"},
    "diagnose": {"session", "models", "layers", "data", "training", "tasks", "inspect"},
    "visualize": {"session", "diagnose", "inspect", "models", "layers", "data", "training", "tasks"},
    "transfer": {"session", "models", "layers", "data", "training", "tasks"},
    "export": {"session", "models", "layers", "data", "training", "tasks"},
    "serve": {"export", "session", "models", "data", "training", "tasks"},
    "experiments": {"session", "training", "tasks", "data", "visualize"},
    "reference": set(),
}
ALLOWED["cli"] = set(ALLOWED) - {"striate"}  # the command line wires everything, but not the public API
ALLOWED["__main__"] = {"cli"}  # python -m striate: the command line
ALLOWED["api"] = set(ALLOWED) - {"cli", "striate"}  # the Python API (striate.api): everything but the CLI
ALLOWED["striate"] = set(ALLOWED) - {"cli"}  # the package __init__: the public API, everything but the CLI


def may_import(importer: str, imported: str) -> bool:
    """Whether part ``importer`` may import part ``imported`` (parts missing from ALLOWED may not)."""
    if importer == imported:
        return True
    if importer not in ALLOWED or imported not in ALLOWED:
        return False
    return imported in ALLOWED[importer] or (imported in FOUNDATION and importer not in FOUNDATION)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, e.g. striate.data.sources
    path: Path  # its file
    line: int
    target: str  # the imported striate module, e.g. striate.data.registry
    names: tuple[str, ...]  # the names taken from it by 'from target import ...' (empty for 'import target')
    function: str | None  # the enclosing function when the import is inside one

    def where(self) -> str:
        return f"{self.path.relative_to(REPO_ROOT)}:{self.line}"

    def describe(self) -> str:
        names = f" ({', '.join(self.names)})" if self.names else ""
        inside = f" inside {self.function}()" if self.function else ""
        return f"{self.where()} imports {self.target}{names}{inside}"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else ROOT


MODULES: dict[str, Path] = {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}
PARTS = {part_of(module) for module in MODULES}


class _Collector(ast.NodeVisitor):
    """The striate imports of one file, with the function each sits in; unresolvable ones go to ``unknown``."""

    def __init__(self, module: str, path: Path):
        self.module, self.path = module, path
        self.is_package = path.name == "__init__.py"
        self.functions: list[str] = []
        self.imports: list[Import] = []
        self.unknown: list[str] = []

    def _visit_function(self, node) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = _visit_function

    def _add(self, node, target: str, names: tuple[str, ...] = ()) -> None:
        function = ".".join(self.functions) or None
        if target not in MODULES:
            self.unknown.append(f"{self.path.relative_to(REPO_ROOT)}:{node.lineno} imports {target}, which is no "
                                "module under src/striate")
            return
        self.imports.append(Import(self.module, self.path, node.lineno, target, names, function))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._resolve(node)
        if base != ROOT and not base.startswith(ROOT + "."):
            return
        taken: dict[str, list[str]] = defaultdict(list)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            if submodule in MODULES:
                taken.setdefault(submodule, [])  # 'from striate.data import sources': that module
            else:
                taken[base].append(alias.name)
        for target, names in taken.items():
            self._add(node, target, tuple(names))

    def _resolve(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        package = self.module.split(".") if self.is_package else self.module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        return ".".join(package + ([node.module] if node.module else []))


def _collect() -> tuple[list[Import], list[str]]:
    imports, unknown = [], []
    for module, path in MODULES.items():
        collector = _Collector(module, path)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        imports += collector.imports
        unknown += collector.unknown
    return imports, unknown


IMPORTS, UNKNOWN = _collect()


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the components with more than one node (each a set of nodes on a common cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _cycle_report(kind: str, components: list[list[str]], node_of) -> str:
    lines = []
    for component in components:
        members = set(component)
        lines.append(f"import cycle among {len(component)} {kind}: {', '.join(component)}")
        for item in sorted(IMPORTS, key=lambda i: (str(i.path), i.line)):
            source, target = node_of(item.source), node_of(item.target)
            if source != target and source in members and target in members:
                lines.append(f"  {item.describe()}  [{source} -> {target}]")
    return "\n".join(lines)


def test_the_collector_reads_every_kind_of_import():
    """A guard for the tests below, on a made-up module striate.data.example."""
    code = (
        "import numpy\n"
        "import striate\n"
        "from striate.errors import DataError, _hidden\n"
        "from . import dataset\n"
        "from .. import errors\n"
        "def load():\n"
        "    from striate.data import dataset, ImageSet\n"
        "    import striate.nowhere\n"
    )
    collector = _Collector("striate.data.example", PACKAGE_DIR / "data" / "example.py")
    collector.visit(ast.parse(code))
    found = {(item.line, item.target, item.names, item.function) for item in collector.imports}
    assert found == {
        (2, "striate", (), None),
        (3, "striate.errors", ("DataError", "_hidden"), None),
        (4, "striate.data.dataset", (), None),
        (5, "striate.errors", (), None),
        (7, "striate.data.dataset", (), "load"),
        (7, "striate.data", ("ImageSet",), "load"),
    }
    assert collector.unknown == [
        "src/striate/data/example.py:8 imports striate.nowhere, which is no module under src/striate"]
    assert MODULES["striate"].name == "__init__.py" and part_of("striate.errors") == "errors"
    assert part_of("striate.data.sources") == "data" and part_of("striate") == "striate"


def test_cycles_are_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]


def test_every_striate_import_names_an_existing_module():
    if UNKNOWN:
        pytest.fail("imports of striate modules that do not exist:\n" + "\n".join(UNKNOWN), pytrace=False)


def test_no_cycle_between_modules():
    graph: dict[str, set[str]] = defaultdict(set)
    for item in IMPORTS:
        if item.target != item.source:
            graph[item.source].add(item.target)
    components = strongly_connected(graph)
    if components:
        pytest.fail(_cycle_report("modules", components, lambda module: module), pytrace=False)


def test_no_cycle_between_parts():
    graph: dict[str, set[str]] = defaultdict(set)
    for item in IMPORTS:
        source, target = part_of(item.source), part_of(item.target)
        if source != target:
            graph[source].add(target)
    components = strongly_connected(graph)
    if components:
        pytest.fail(_cycle_report("parts", components, part_of), pytrace=False)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_private_name_imported_from_another_module():
    """``from striate.x import _helper`` from another module reaches into x's insides; so does importing a
    private module (``striate.models._util``) from outside its own package."""
    offences = []
    for item in IMPORTS:
        if item.target == item.source:
            continue
        private = [name for name in item.names if _private(name)]
        if private:
            offences.append(f"{item.describe()}: private name {', '.join(private)}")
        pieces = item.target.split(".")
        for depth, piece in enumerate(pieces):
            package = ".".join(pieces[:depth])
            if _private(piece) and not (item.source == package or item.source.startswith(package + ".")):
                offences.append(f"{item.describe()}: private module {'.'.join(pieces[:depth + 1])} from outside "
                                f"{package}")
    if offences:
        pytest.fail("imports of private names from other striate modules:\n" + "\n".join(offences), pytrace=False)


def test_imports_between_parts_follow_the_allowed_directions():
    offences = []
    for item in sorted(IMPORTS, key=lambda i: (str(i.path), i.line, i.target)):
        source, target = part_of(item.source), part_of(item.target)
        if may_import(source, target):
            continue
        unlisted = [part for part in (source, target) if part not in ALLOWED]
        why = f": part {' and '.join(unlisted)} not in ALLOWED" if unlisted else ""
        offences.append(f"{item.describe()} (part {source} -> part {target} not allowed{why})")
    if offences:
        pytest.fail(f"{len(offences)} imports against the directions in ALLOWED (tests/test_imports.py, "
                    "../shared/DESIGN.md 'Import directions'):\n" + "\n".join(offences), pytrace=False)


def test_the_table_names_only_parts_that_exist():
    named: dict[str, list[str]] = defaultdict(list)
    for importer, imported in ALLOWED.items():
        named[importer].append("its own row")
        for part in sorted(imported):
            named[part].append(f"the row of {importer}")
    for part in sorted(FOUNDATION):
        named[part].append("FOUNDATION")
    missing = [f"{part} (in {', '.join(where)})" for part, where in sorted(named.items()) if part not in PARTS]
    if missing:
        pytest.fail(f"ALLOWED names parts that do not exist under src/striate: {'; '.join(missing)}. "
                    f"The parts are {', '.join(sorted(PARTS))}", pytrace=False)
