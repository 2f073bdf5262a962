"""The root `users` list, for admins: accounts filtered, sorted and paged."""

import strawberry

import models
from graph.core.connection import Connection
from graph.core.context import Context
from graph.core.root_list import RootList
from graph.entities.user.inputs import USER_ORDERINGS, UserFilter, UserOrder, user_conditions
from graph.entities.user.type import User

USERS_LIST = RootList(
    model=models.User,
    node=User.from_model,
    connection=Connection[User],
    filter=UserFilter,
    filter_description="Only users matching all of this.",
    conditions=lambda _, filter_: user_conditions(filter_),
    order=UserOrder,
    order_description="Sort order; oldest account first when not given.",
    default_order=UserOrder.CREATED_AT_ASC,
    orderings=USER_ORDERINGS,
    authorize=Context.require_admin,
    summary="Page through user accounts; admins only (`FORBIDDEN` for others).",
)
users = USERS_LIST.resolver()


@strawberry.type
class UserListQueries:
    """The users list."""

    users: Connection[User] = strawberry.field(
        resolver=users, description="User accounts, one page at a time. Admins only."
    )
