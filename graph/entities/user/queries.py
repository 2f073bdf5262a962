"""The root `users` list, for admins: accounts filtered, sorted and paged."""

from typing import Annotated

import strawberry

import models
from graph.core.connection import Connection
from graph.core.context import Context
from graph.core.list_page import list_page
from graph.core.pagination import After, Before, First, IncludeDeleted, Last
from graph.entities.user.inputs import USER_ORDERINGS, UserFilter, UserOrder, user_conditions
from graph.entities.user.type import User


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
    return await list_page(
        info,
        models.User,
        conditions=lambda: user_conditions(filter_),
        order=order_by,
        default_order=UserOrder.CREATED_AT_ASC,
        orderings=USER_ORDERINGS,
        first=first,
        after=after,
        last=last,
        before=before,
        include_deleted=include_deleted,
        node=User.from_model,
    )


@strawberry.type
class UserListQueries:
    """The users list."""

    users: Connection[User] = strawberry.field(
        resolver=users, description="User accounts, one page at a time. Admins only."
    )
