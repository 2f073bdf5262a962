"""The `User` GraphQL type."""

import datetime as dt
from typing import Self

import strawberry

import models
from graph.global_id import encode_global_id
from graph.types.enums import UserRole
from graph.types.node import Node


@strawberry.type(description="A person with an account.")
class User(Node):
    """A user, as other users see them."""

    row: strawberry.Private[models.User]
    display_name: str = strawberry.field(description="Name shown to other users.")
    email: str = strawberry.field(description="Sign-in email address.")
    role: UserRole = strawberry.field(description="What the user may do.")
    created_at: dt.datetime = strawberry.field(description="When the account was created.")

    @classmethod
    def from_model(cls, row: models.User) -> Self:
        """Map a `users` row."""
        return cls(
            row=row,
            id=strawberry.ID(encode_global_id("User", row.id)),
            display_name=row.display_name,
            email=row.email,
            role=UserRole(row.role),
            created_at=row.created_at,
        )
