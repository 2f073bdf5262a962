"""The root `users` list, for admins: accounts filtered, sorted and paged."""

from typing import Annotated

import strawberry
from sqlalchemy import select

import models
from graph.context import Context
from graph.inputs.users import USER_ORDERINGS, UserFilter, UserOrder, user_conditions
from graph.pagination import (
    After,
    Before,
    First,
    IncludeDeleted,
    Last,
    deleted_rows_options,
    page_window,
    paginate,
)
from graph.types.connection import Connection
from graph.types.user import User


async def users(  # noqa: PLR0913 - Relay arguments plus filter, order and includeDeleted
    info: strawberry.Info[Context],
    *,
    first: First = None,
    after: After = None,
    last: Last = None,
    before: Before = None,
    filter_: Annotated[
        UserFilter | None,
        strawberry.argument(name="filter", description="Only users matching all of this."),
    ] = None,
    order_by: Annotated[
        UserOrder | None,
        strawberry.argument(description="Sort order; oldest account first when not given."),
    ] = None,
    include_deleted: IncludeDeleted = False,
) -> Connection[User]:
    """Page through user accounts; admins only (`FORBIDDEN` for others)."""
    info.context.require_admin()
    deleted_rows = deleted_rows_options(info.context, include_deleted)
    ordering = USER_ORDERINGS[order_by or UserOrder.CREATED_AT_ASC]
    window = page_window(ordering, first=first, after=after, last=last, before=before)
    statement = (
        select(models.User).where(*user_conditions(filter_)).execution_options(**deleted_rows)
    )

    return await paginate(
        info.context.db,
        statement,
        ordering=ordering,
        window=window,
        node=User.from_model,
    )
