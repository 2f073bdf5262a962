"""Arguments of the `users` list: `UserFilter` and `UserOrder`."""

import enum

import strawberry
from sqlalchemy import ColumnElement

import models
from graph.core.cursors import KeyKind
from graph.core.enums import UserRole
from graph.core.paging import Ordering, SortedColumn, column_orderings
from models.email_address import email_key


@strawberry.input(description="Which users to list; every field given must match.")
class UserFilter:
    """Conditions on users, combined with AND."""

    role: UserRole | None = strawberry.field(default=None, description="Users with this role.")
    email: str | None = strawberry.field(
        default=None, description="The user with this email address (case ignored)."
    )


@strawberry.enum(
    description="Orders of the `users` list. Ties go to the older account in an `_ASC` order; "
    "each `_DESC` order is its `_ASC` order reversed, ties included."
)
class UserOrder(enum.Enum):
    """How users are sorted."""

    CREATED_AT_ASC = strawberry.enum_value("CREATED_AT_ASC", description="Oldest account first.")
    CREATED_AT_DESC = strawberry.enum_value("CREATED_AT_DESC", description="Newest account first.")
    DISPLAY_NAME_ASC = strawberry.enum_value("DISPLAY_NAME_ASC", description="By name, A to Z.")
    DISPLAY_NAME_DESC = strawberry.enum_value("DISPLAY_NAME_DESC", description="By name, Z to A.")


USER_ORDERINGS: dict[UserOrder, Ordering] = column_orderings(
    "User",
    models.User.id,
    [
        SortedColumn(
            UserOrder.CREATED_AT_ASC,
            UserOrder.CREATED_AT_DESC,
            models.User.created_at,
            KeyKind.DATETIME,
        ),
        SortedColumn(
            UserOrder.DISPLAY_NAME_ASC,
            UserOrder.DISPLAY_NAME_DESC,
            models.User.display_name,
            KeyKind.TEXT,
        ),
    ],
)


def user_conditions(user_filter: UserFilter | None) -> list[ColumnElement[bool]]:
    """The SQL conditions of a `UserFilter`."""
    if user_filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if user_filter.role is not None:
        conditions.append(models.User.role == user_filter.role.value)
    if user_filter.email is not None:
        conditions.append(models.User.email_key == email_key(user_filter.email))
    return conditions
