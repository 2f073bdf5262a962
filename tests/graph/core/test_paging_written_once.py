"""Paging is written once: cursors, keyset conditions and page sizes live in graph/core.

`graph/core/paging.py` holds orderings, windows, the keyset condition and the page-size
constants; `graph/core/cursors.py` the one cursor format (in Python and in SQL). These tests
parse graph/ (never import it) and fail when a second copy of one of them appears: a module
that base64-encodes its own tokens, calls the cursor functions instead of going through an
`Ordering`, or writes a page size as a number.
"""

import ast
from pathlib import Path

import pytest

GRAPH = Path(__file__).resolve().parents[3] / "graph"
CURSORS = "core/cursors.py"
PAGING = "core/paging.py"
# Global IDs are base64 too, by the Relay convention: their own module, their own format.
# Subresource Integrity values (GraphiQL's asset hashes) are base64 by their specification.
BASE64_MODULES = frozenset({CURSORS, "core/global_id.py", "http/graphiql_assets.py"})
# Who may call the cursor functions: `Ordering`, in Python and in SQL (for the compiler).
CURSOR_CALLERS = {
    "encode_cursor": frozenset({PAGING}),
    "decode_cursor": frozenset({PAGING}),
    "encode_cursor_sql": frozenset({PAGING}),
}
PAGE_ARGUMENTS = frozenset({"first", "last"})


def _modules() -> dict[str, ast.Module]:
    return {
        path.relative_to(GRAPH).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(GRAPH.rglob("*.py"))
    }


MODULES = _modules()


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def test_only_the_cursor_and_global_id_modules_use_base64():
    found = [
        f"{module}:{node.lineno}"
        for module, tree in MODULES.items()
        if module not in BASE64_MODULES
        for node in ast.walk(tree)
        if (isinstance(node, ast.Import) and any(a.name == "base64" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and node.module == "base64")
        or (isinstance(node, ast.Constant) and node.value == "base64")
    ]
    if found:
        pytest.fail(
            "base64 outside graph/core/cursors.py and global_id.py: a second cursor format?"
            " Page with an `Ordering` (graph/core/paging.py) instead.\n  " + "\n  ".join(found),
            pytrace=False,
        )


def test_cursors_are_made_and_read_only_through_orderings():
    found = [
        f"{module}:{node.lineno} {_name(node.func)}"
        for module, tree in MODULES.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (callers := CURSOR_CALLERS.get(_name(node.func) or "")) is not None
        and module not in callers
    ]
    if found:
        pytest.fail(
            "cursor functions called directly: use `Ordering.cursor`, `cursor_of` and `decode`,"
            " so the ordering's name and kinds are written once.\n  " + "\n  ".join(found),
            pytrace=False,
        )


def test_page_sizes_are_the_paging_modules_constants():
    found = [
        f"{module}:{node.lineno} {argument.arg}={ast.unparse(default)}"
        for module, tree in MODULES.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for argument, default in _defaults(node.args)
        if argument.arg in PAGE_ARGUMENTS
        and isinstance(default, ast.Constant)
        and isinstance(default.value, int)
    ]
    if found:
        pytest.fail(
            "a page size written as a number: use DEFAULT_PAGE_SIZE or DEFAULT_CHILD_PAGE_SIZE"
            " from graph/core/paging.py.\n  " + "\n  ".join(found),
            pytrace=False,
        )


def _defaults(arguments: ast.arguments) -> list[tuple[ast.arg, ast.expr]]:
    positional = [*arguments.posonlyargs, *arguments.args]
    with_defaults = positional[len(positional) - len(arguments.defaults) :]
    pairs = list(zip(with_defaults, arguments.defaults, strict=True))
    pairs += [
        (argument, default)
        for argument, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        if default is not None
    ]
    return pairs


def test_the_guards_see_what_they_guard():
    """The walk reaches the modules it names, so a rename cannot silently empty a test."""
    assert {CURSORS, PAGING, "compiler/json_sql.py", *BASE64_MODULES} <= MODULES.keys()
