"""Which package may import which: the layering the README describes, checked on every run.

Every module under graph/ and models/ is parsed (never imported) and all of its imports are
collected, those inside functions and under `if TYPE_CHECKING:` included, so a rule cannot be
dodged by moving an import into a function. They guard the layout of issue 11.
"""

import ast
import graphlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("graph", "models")
HTTP = "graph.http"

# The packages whose imports may not form a cycle; `graph.entities` stands for one per entity.
LAYERS = (
    "graph.http",
    "graph.schema",
    "graph.compiler",
    "graph.core",
    "graph.search",
    "graph.reports",
    "models",
)
ENTITIES = "graph.entities"


@dataclass(frozen=True)
class Import:
    """One import statement: where it is, and every module it may load."""

    module: str
    line: int
    function: str | None  # the enclosing function (`Class.method`), None at module level
    type_checking: bool  # under `if TYPE_CHECKING:`, so never run
    source: str  # `import x` -> x; `from x import y` -> x
    names: tuple[str, ...]  # source, and source.y for each y (`from graph import http`)
    statement: str

    def loads(self, package: str) -> bool:
        """The statement may load `package` or a module inside it."""
        return any(name == package or name.startswith(f"{package}.") for name in self.names)

    def __str__(self) -> str:
        where = f", in {self.function}()" if self.function else ""
        return f"{self.module} (line {self.line}{where}): {self.statement}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


class _Collector(ast.NodeVisitor):
    """Every import in a module, with the class and function it sits in."""

    def __init__(self, module: str, *, is_package: bool) -> None:
        self.module = module
        self.package = module.split(".") if is_package else module.split(".")[:-1]
        self.scope: list[str] = []
        self.depth = 0  # functions around the current node
        self.type_checking = False
        self.imports: list[Import] = []

    def _add(self, node: ast.Import | ast.ImportFrom, source: str, names: list[str]) -> None:
        function = ".".join(self.scope) if self.depth else None
        statement = ast.unparse(node)
        self.imports.append(
            Import(
                self.module,
                node.lineno,
                function,
                self.type_checking,
                source,
                (source, *names),
                statement,
            )
        )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name, [])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = node.module or ""
        if node.level:  # ruff bans relative imports; resolved anyway so none slips past
            base = self.package[: len(self.package) - node.level + 1]
            source = ".".join([*base, source] if source else base)
        self._add(node, source, [f"{source}.{a.name}" for a in node.names if a.name != "*"])

    def _enter(self, node: ast.AST, name: str, *, function: bool) -> None:
        self.scope.append(name)
        self.depth += function
        self.generic_visit(node)
        self.depth -= function
        self.scope.pop()

    def visit_If(self, node: ast.If) -> None:
        test = ast.unparse(node.test)
        if test not in {"TYPE_CHECKING", "typing.TYPE_CHECKING"} or self.type_checking:
            self.generic_visit(node)
            return
        self.type_checking = True
        for statement in node.body:
            self.visit(statement)
        self.type_checking = False
        for statement in node.orelse:
            self.visit(statement)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._enter(node, node.name, function=False)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._enter(node, node.name, function=True)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._enter(node, node.name, function=True)


def _collect() -> list[Import]:
    imports: list[Import] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            collector = _Collector(_module_name(path), is_package=path.name == "__init__.py")
            collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
            imports.extend(collector.imports)
    return imports


IMPORTS = _collect()


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def _fail(reason: str, offending: Sequence[object]) -> None:
    pytest.fail(reason + "".join(f"\n  {entry}" for entry in offending), pytrace=False)


def _package_of(module: str) -> str | None:
    """The package of the import graph `module` belongs to; None for modules outside them."""
    for layer in LAYERS:
        if _in(module, layer):
            return layer
    if module.startswith(f"{ENTITIES}."):
        return ".".join(module.split(".")[:3])
    return None


def _exists(module: str) -> bool:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imported_module(statement: Import, name: str) -> str:
    """The module `name` (the source, or `source.y`) loads: `source.y` only if it is a module."""
    return name if name == statement.source or _exists(name) else statement.source


def _package_edges() -> dict[tuple[str, str], list[Import]]:
    """Package -> package, with the statements that make each edge, from the imports that run.

    Imports at module level only: those inside functions run later (and are forbidden in
    graph/ anyway), those under `if TYPE_CHECKING:` never.
    """
    edges: dict[tuple[str, str], list[Import]] = {}
    for statement in IMPORTS:
        if statement.function is not None or statement.type_checking:
            continue
        importer = _package_of(statement.module)
        for name in statement.names:
            imported = _package_of(_imported_module(statement, name))
            if importer and imported and importer != imported:
                found = edges.setdefault((importer, imported), [])
                if statement not in found:
                    found.append(statement)
    return edges


def _cycle(edges: Iterable[tuple[str, str]]) -> list[str] | None:
    """A cycle of packages, each importing the next and the last the first again; None if none."""
    dependencies: dict[str, set[str]] = {}
    for importer, imported in edges:
        dependencies.setdefault(importer, set()).add(imported)
    try:
        graphlib.TopologicalSorter(dependencies).prepare()
    except graphlib.CycleError as error:
        # graphlib lists each package before one that depends on it: the importers come after.
        return list(reversed(error.args[1]))
    return None


def test_the_walk_sees_every_package_and_imports_inside_functions():
    # Guards the rules below: a walk that missed a package or function bodies would pass them.
    modules = {i.module for i in IMPORTS}
    assert {"graph.http.app", "graph.schema.root", "models.venue"} <= modules
    assert any(i.function == "_seed" and i.module == "graph.cli" for i in IMPORTS)


def test_models_do_not_import_graph():
    offending = [i for i in IMPORTS if _in(i.module, "models") and i.loads("graph")]
    if offending:
        _fail(
            "models/ is the data layer and knows nothing of GraphQL or HTTP; move what it"
            " needs into models/, or the code that needs graph/ out of models/:",
            offending,
        )


def test_only_the_http_layer_imports_graph_http():
    offending = [
        i for i in IMPORTS if not _in(i.module, HTTP) and i.module != "graph.cli" and i.loads(HTTP)
    ]
    if offending:
        _fail(
            "graph/http/ sits on top (only graph/cli.py, which serves it, is above): the"
            " schema, resolvers and models must not import it;"
            " move what they need out of graph/http/:",
            offending,
        )


def test_the_package_graph_sees_type_checking_blocks_and_every_entity():
    # Guards the cycle test: a graph without the entities, or with the imports under
    # TYPE_CHECKING, would pass or fail it for the wrong reason.
    assert any(i.type_checking for i in IMPORTS)
    packages = {p for edge in _package_edges() for p in edge}
    entities = {p.name for p in (ROOT / "graph" / "entities").iterdir() if p.is_dir()} - {
        "__pycache__"
    }
    assert {f"{ENTITIES}.{e}" for e in entities} <= packages
    assert {"graph.schema", "graph.core", "models"} <= packages


def test_the_cycle_search_finds_a_cycle_and_its_direction():
    # Guards the test below: a search that never found a cycle would always pass it.
    assert _cycle([("a", "b"), ("b", "c")]) is None
    cycle = _cycle([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    assert cycle is not None
    assert {tuple(cycle[i : i + 2]) for i in range(3)} <= {("a", "b"), ("b", "c"), ("c", "a")}


def test_no_import_cycle_between_packages():
    edges = _package_edges()
    cycle = _cycle(edges)
    if cycle:
        lines = [" -> ".join(cycle)]
        for importer, imported in itertools.pairwise(cycle):
            lines.extend(f"    {statement}" for statement in edges[importer, imported])
        _fail(
            "packages import each other in a cycle (issue 11); break it by moving code, by"
            " `strawberry.lazy` for a type, or by `graph.core.node_lookup.to_node` for a row:",
            lines,
        )


def test_no_import_inside_a_function_of_graph_loads_graph():
    offending = [
        i for i in IMPORTS if i.function is not None and _in(i.module, "graph") and i.loads("graph")
    ]
    if offending:
        _fail(
            "an import of graph/ inside a function hides a dependency (and dodges the cycle"
            " test); import at module level, and break a cycle by moving code instead:",
            offending,
        )


def test_core_imports_no_other_graph_package():
    offending = [
        i
        for i in IMPORTS
        if _in(i.module, "graph.core")
        and any(
            _in(name, "graph") and not _in(name, "graph.core") and name != "graph"
            for name in i.names
        )
    ]
    if offending:
        _fail(
            "graph/core/ is what every entity builds on: it imports models/ and itself only;"
            " an entity registers itself with core (as `register_node_type`), core never"
            " reaches for it:",
            offending,
        )


def test_entities_import_no_schema_http_or_compiler():
    above = ("graph.schema", "graph.http", "graph.compiler")
    offending = [
        i for i in IMPORTS if _in(i.module, ENTITIES) and any(i.loads(package) for package in above)
    ]
    if offending:
        _fail(
            "graph/entities/ sit below the schema assembly, the HTTP layer and the compiler,"
            " which import them, never the other way:",
            offending,
        )
