"""Delete and restore as one flow for every soft-deletable entity's mutations.

Each entity keeps its own mutation fields, inputs and payloads (GraphQL needs distinct types)
and its own rule for who may change a row; writing the change and refreshing the request's
loaders are written once here.
"""

from collections.abc import Callable
from typing import TypeVar

import strawberry

import models
from graph.core.context import Context
from models.base import SoftDelete

Row = TypeVar("Row", bound=SoftDelete)


async def set_deleted(
    info: strawberry.Info[Context],
    row: Row,
    *,
    deleted: bool,
    refresh: Callable[[strawberry.Info[Context], Row], None],
) -> Row:
    """Soft-delete (`deleted`) or restore `row` in one audited write; the row as changed.

    `refresh` updates the request's loaders. Deleting a deleted row, or restoring a live one,
    changes nothing.
    """
    change = models.soft_delete if deleted else models.restore
    changed = await info.context.db.write(info.context.actor, lambda session: change(session, row))
    refresh(info, changed)
    return changed
