"""Resolvers built from a declaration, given the signature Strawberry reads their arguments from.

Strawberry takes a resolver's GraphQL arguments from its signature and type hints. The resolvers
made at import time from a declaration (a root list, a child connection, a delete or restore
mutation) have arguments only known then; `declare_arguments` sets them, the same way for all.
"""

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import strawberry

from graph.core.context import Context

# The default of an argument the client must give.
REQUIRED = inspect.Parameter.empty


def declare_arguments(
    resolve: Callable[..., Any],
    arguments: Mapping[str, tuple[object, object]],
    *,
    returns: object,
    doc: str,
    method: bool = False,
) -> None:
    """Give `resolve` the parameters `info` and `arguments` (name: annotation, default).

    `method` adds `self` first, for a field of an object type that reads its parent.
    """
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [
        *([inspect.Parameter("self", positional)] if method else []),
        inspect.Parameter("info", positional, annotation=strawberry.Info[Context]),
        *(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
            )
            for name, (annotation, default) in arguments.items()
        ),
    ]
    resolve.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    resolve.__annotations__ = {
        parameter.name: parameter.annotation
        for parameter in parameters
        if parameter.annotation is not inspect.Parameter.empty
    } | {"return": returns}
    resolve.__doc__ = doc
