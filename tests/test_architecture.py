"""Which package may import which: the layering the README describes, checked on every run.

Every module under graph/ and models/ is parsed (never imported) and all of its imports are
collected, those inside functions and under `if TYPE_CHECKING:` included, so a rule cannot be
dodged by moving an import into a function. They guard the layout of issue 11.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("graph", "models")
HTTP = "graph.http"

# Imports of graph/ inside functions of graph/: today, only the ones by which graph/types reaches
# the types and resolvers that reference it back, the cycle between graph/types and
# graph/resolvers (issue 11). Frozen: this list may only shrink. A new entry is a new cycle
# dodged; break it by moving code (for a type, `strawberry.lazy`), not by adding it here.
# Each entry: (importing module, function, imported module).
CYCLE_BREAKING_IMPORTS = frozenset(
    {
        ("graph.entities.audit.type", "AuditEvent.actor", "graph.entities.user.type"),
        ("graph.entities.session.type", "Session.user", "graph.entities.user.type"),
        ("graph.entities.user.type", "User.sessions", "graph.entities.session.type"),
        ("graph.entities.user.type", "User.nearby_venues", "graph.entities.venue.nearby"),
        ("graph.entities.venue.type", "Venue.bookings", "graph.entities.booking.type"),
        ("graph.entities.venue.type", "Venue.media", "graph.entities.media.type"),
    }
)


@dataclass(frozen=True)
class Import:
    """One import statement: where it is, and every module it may load."""

    module: str
    line: int
    function: str | None  # the enclosing function (`Class.method`), None at module level
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
        self.imports: list[Import] = []

    def _add(self, node: ast.Import | ast.ImportFrom, source: str, names: list[str]) -> None:
        function = ".".join(self.scope) if self.depth else None
        statement = ast.unparse(node)
        self.imports.append(
            Import(self.module, node.lineno, function, source, (source, *names), statement)
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


def _fail(reason: str, offending: list[Import] | list[tuple[str, str, str]]) -> None:
    pytest.fail(reason + "".join(f"\n  {entry}" for entry in offending), pytrace=False)


def _cycle_breaking_imports() -> dict[tuple[str, str, str], Import]:
    """Imports of graph/ inside functions of graph/, keyed as CYCLE_BREAKING_IMPORTS is."""
    return {
        (i.module, i.function, i.source): i
        for i in IMPORTS
        if i.function is not None and _in(i.module, "graph") and i.loads("graph")
    }


def test_the_walk_sees_every_package_and_imports_inside_functions():
    # Guards the rules below: a walk that missed a package or function bodies would pass them.
    modules = {i.module for i in IMPORTS}
    assert {"graph.http.app", "graph.schema.root", "models.venue"} <= modules
    assert any(i.function == "User.nearby_venues" for i in IMPORTS)


def test_models_do_not_import_graph():
    offending = [i for i in IMPORTS if _in(i.module, "models") and i.loads("graph")]
    if offending:
        _fail(
            "models/ is the data layer and knows nothing of GraphQL or HTTP; move what it"
            " needs into models/, or the code that needs graph/ out of models/:",
            offending,
        )


def test_only_the_http_layer_imports_graph_http():
    offending = [i for i in IMPORTS if not _in(i.module, HTTP) and i.loads(HTTP)]
    if offending:
        _fail(
            "graph/http/ sits on top: the schema, resolvers and models must not import it;"
            " move what they need out of graph/http/:",
            offending,
        )


def test_no_new_import_inside_a_function_dodges_a_cycle():
    found = _cycle_breaking_imports()
    new = [found[key] for key in sorted(found.keys() - CYCLE_BREAKING_IMPORTS)]
    if new:
        _fail(
            "an import of graph/ inside a function dodges an import cycle (issue 11); break"
            " the cycle by moving code (for a type, `strawberry.lazy`) instead:",
            new,
        )


def test_the_cycle_breaking_allow_list_names_only_imports_that_exist():
    gone = sorted(CYCLE_BREAKING_IMPORTS - _cycle_breaking_imports().keys())
    if gone:
        _fail(
            "these imports are gone: remove them from CYCLE_BREAKING_IMPORTS, so the list"
            " only shrinks:",
            gone,
        )
