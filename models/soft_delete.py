"""Soft deletes as one mechanism: ORM reads skip deleted rows unless a query opts in.

Every ORM `SELECT` run through a `Session` gets a `with_loader_criteria` for classes with
`SoftDelete`, so no query has to remember `WHERE deleted_at IS NULL`. Opt in to deleted rows
with `.execution_options(include_deleted=True)` on the statement (or per call to `execute`).
"""

from typing import TypeVar

from sqlalchemy import ColumnElement, event, func, inspect, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.orm.attributes import set_committed_value

from models.base import SoftDelete

INCLUDE_DELETED = "include_deleted"

SoftDeletable = TypeVar("SoftDeletable", bound=SoftDelete)


def live_rows(cls: type[SoftDelete]) -> ColumnElement[bool]:
    """The rows of `cls` not soft-deleted: what every ORM read adds unless it opts in.

    Core SQL (the compiled path's) gets no criteria: it names this condition itself.
    """
    return cls.deleted_at.is_(None)


@event.listens_for(Session, "do_orm_execute")
def _exclude_soft_deleted(state: ORMExecuteState) -> None:
    if (
        state.is_select
        and not state.is_column_load
        and not state.is_relationship_load
        and not state.execution_options.get(INCLUDE_DELETED, False)
    ):
        state.statement = state.statement.options(
            with_loader_criteria(SoftDelete, live_rows, include_aliases=True)
        )


async def soft_delete(session: AsyncSession, row: SoftDeletable) -> SoftDeletable:
    """Mark a live row deleted; the audit trigger records it as `SOFT_DELETE`.

    Deleting a row that is already deleted changes nothing.
    """
    if row.deleted_at is None:
        await _set_deleted_at(session, row, deleted=True)
    return row


async def restore(session: AsyncSession, row: SoftDeletable) -> SoftDeletable:
    """Bring a soft-deleted row back; the audit trigger records it as `RESTORE`."""
    if row.deleted_at is not None:
        await _set_deleted_at(session, row, deleted=False)
    return row


async def _set_deleted_at(session: AsyncSession, row: SoftDelete, *, deleted: bool) -> None:
    mapper = inspect(type(row))
    table = mapper.local_table
    (pk_column,) = mapper.primary_key
    pk_value = mapper.primary_key_from_instance(row)[0]
    result = await session.execute(
        update(table)
        .where(pk_column == pk_value)
        .values(deleted_at=func.now() if deleted else None)
        .returning(table.c.deleted_at, table.c.updated_at)
    )
    deleted_at, updated_at = result.one()
    # The row now matches the database: record the values as loaded, not as pending changes.
    set_committed_value(row, "deleted_at", deleted_at)
    set_committed_value(row, "updated_at", updated_at)
