"""Global IDs to objects and rows to GraphQL objects, through types each entity registers.

Each entity package registers its `Node` type when it is imported (the schema assembly imports
them all), with how to load it by ID and how to map its row. So `node(id:)`, `nodes(ids:)` and
any type that reaches another entity's rows (`Venue.owner`, `Session.user`, the search results)
find the mapping here, and core imports no entity: the dependency runs one way.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from graph.core.context import Context
from graph.core.errors import BadUserInputError
from graph.core.global_id import decode_global_id, global_id_type_name
from graph.core.node import Node
from graph.core.paging import MAX_PAGE_SIZE

RowT = TypeVar("RowT")
KeyT = TypeVar("KeyT")


@dataclass(frozen=True)
class _NodeType:
    """How to read one type's global IDs and load what they name."""

    decode: Callable[[str, str], object]  # (global ID, field) -> key; BAD_USER_INPUT if invalid
    load: Callable[[Context, Any], Awaitable[Node | None]]  # key -> object, None if gone


_BY_TYPE_NAME: dict[str, _NodeType] = {}
_TO_NODE: dict[type, Callable[[Any], Node]] = {}


def _row_id(global_id: str, field: str) -> uuid.UUID:
    return decode_global_id(global_id, field=field)[1]


def _register(type_name: str, node_type: _NodeType) -> None:
    if type_name in _BY_TYPE_NAME:
        message = f"The Node type {type_name} is registered twice."
        raise RuntimeError(message)
    _BY_TYPE_NAME[type_name] = node_type


def register_node_type(
    type_name: str,
    *,
    model: type[RowT],
    load: Callable[[Context, uuid.UUID], Awaitable[RowT | None]],
    to_node: Callable[[RowT], Node],
) -> None:
    """Make `type_name`'s global IDs loadable and its `model` rows mappable with `to_node`.

    `load` goes through the request's loaders, so the IDs of one type in `nodes(ids:)` batch
    into one statement.
    """

    async def load_node(context: Context, row_id: uuid.UUID) -> Node | None:
        row = await load(context, row_id)
        return to_node(row) if row is not None else None

    _register(type_name, _NodeType(decode=_row_id, load=load_node))
    _TO_NODE[model] = to_node


def register_node_loader(
    type_name: str,
    *,
    decode: Callable[[str, str], KeyT],
    load: Callable[[Context, KeyT], Awaitable[Node | None]],
) -> None:
    """Make `type_name`'s global IDs loadable, for a type whose IDs or rows need more.

    `decode` reads the key from a global ID (an `AuditEvent`'s holds a time as well) and
    `load` applies the type's own access rule.
    """
    _register(type_name, _NodeType(decode=decode, load=load))


def registered_type_names() -> frozenset[str]:
    """The types whose global IDs `node(id:)` loads: every entity imported so far registered."""
    return frozenset(_BY_TYPE_NAME)


def to_node(row: object) -> Node:
    """The GraphQL object of `row`, mapped as its registered type maps it.

    Typed `Node`: a caller that names the type lazily (to import no other entity) casts it.
    """
    try:
        mapping = _TO_NODE[type(row)]
    except KeyError:
        message = f"No Node type is registered for {type(row).__name__} rows."
        raise LookupError(message) from None
    return mapping(row)


def _decoded(global_id: str, *, field: str) -> tuple[_NodeType | None, object]:
    """The registered type a global ID names (None if none) and its key; checks the ID."""
    node_type = _BY_TYPE_NAME.get(global_id_type_name(global_id, field=field))
    if node_type is None:
        return None, _row_id(global_id, field)  # invalid IDs fail whatever their type
    return node_type, node_type.decode(global_id, field)


async def load_node(context: Context, global_id: str, *, field: str) -> Node | None:
    """Load the live object a global ID names, through the request's loaders; None if gone."""
    node_type, key = _decoded(global_id, field=field)
    if node_type is None:
        return None
    return await node_type.load(context, key)


def decoded_node_id(global_id: str, *, field: str) -> tuple[str | None, object]:
    """The registered type a global ID names (None if none) and its key, as `node` reads it.

    `BAD_USER_INPUT` naming `field` if the ID is invalid (for its type, if it names one).
    """
    node_type, key = _decoded(global_id, field=field)
    return (global_id_type_name(global_id, field=field) if node_type else None), key


def decoded_node_ids(global_ids: Sequence[str], *, field: str) -> list[tuple[str | None, object]]:
    """Per ID, the registered type it names (None if none) and its key, as `nodes` reads them.

    `BAD_USER_INPUT` naming `field` for more than `MAX_PAGE_SIZE` IDs, or at the first invalid
    one. Both paths check `nodes(ids:)` here (the compiled path, then, reads the keys).
    """
    if len(global_ids) > MAX_PAGE_SIZE:
        message = f"`{field}` takes at most {MAX_PAGE_SIZE} IDs; got {len(global_ids)}."
        raise BadUserInputError(message, field=field)
    return [decoded_node_id(global_id, field=field) for global_id in global_ids]


async def load_nodes(
    context: Context, global_ids: Sequence[str], *, field: str
) -> list[Node | None]:
    """Load many global IDs at once; loaders batch them into one statement per type."""
    # Decode everything first so one bad ID fails the field before any statement runs.
    decoded_node_ids(global_ids, field=field)
    # Started together, the loads of each type batch into one statement.
    return list(await asyncio.gather(*(load_node(context, i, field=field) for i in global_ids)))
