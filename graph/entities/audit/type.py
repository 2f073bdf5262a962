"""The `AuditEvent` GraphQL type: one recorded change to a user, venue, booking or media item."""

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Self, cast

import strawberry
from sqlalchemy import ColumnElement, FromClause, Text, case, func, null
from strawberry.scalars import JSON

import models
from graph.core.context import Context
from graph.core.cursors import base64url_sql, sql_constant
from graph.core.global_id import encode_global_id, encode_timestamped_id
from graph.core.node import Node
from graph.core.node_lookup import to_node
from graph.core.permissions import is_self_or_admin
from graph.core.read_model import (
    ToOne,
    column_field,
    computed_field,
    personal_field,
    read_model,
    read_values,
)
from graph.core.viewer import Viewer

if TYPE_CHECKING:
    from graph.entities.user.type import User

UserType = Annotated["User", strawberry.lazy("graph.entities.user.type")]

# The GraphQL type whose global ID an audited table's `record_id` becomes.
TYPE_OF_TABLE = {"users": "User", "venues": "Venue", "bookings": "Booking", "media": "Media"}


@strawberry.enum(description="What a change did to its row.")
class AuditAction(enum.Enum):
    """Audit actions, one to one with the trail's `action` values."""

    INSERT = strawberry.enum_value(models.AuditAction.INSERT.value, description="Created.")
    UPDATE = strawberry.enum_value(
        models.AuditAction.UPDATE.value, description="Changed; `changedFields` lists what."
    )
    SOFT_DELETE = strawberry.enum_value(
        models.AuditAction.SOFT_DELETE.value, description="Deleted; it can still be restored."
    )
    RESTORE = strawberry.enum_value(
        models.AuditAction.RESTORE.value, description="Brought back after a soft delete."
    )
    DELETE = strawberry.enum_value(models.AuditAction.DELETE.value, description="Removed for good.")


def _record_id(row: models.AuditLog) -> str:
    return encode_global_id(TYPE_OF_TABLE[row.table_name], row.record_id)


def _record_id_sql(audit_log: FromClause) -> ColumnElement[str]:
    """`_record_id` in SQL: the global ID of the changed row (of an audited table)."""
    type_name = case(
        *(
            (audit_log.c.table_name == table, sql_constant(name))
            for table, name in TYPE_OF_TABLE.items()
        ),
        else_=null(),
    )
    return base64url_sql(
        func.concat(type_name, sql_constant(":"), audit_log.c.record_id.cast(Text))
    )


@read_model(models.AuditLog, to_one={"actor": ToOne(models.AuditLog.user_id)})
@strawberry.type(description="One recorded change to a user, venue, booking or media item.")
class AuditEvent(Node):
    """An `audit_log` row, written by the database whatever made the change."""

    row: strawberry.Private[models.AuditLog]
    action: AuditAction = column_field(models.AuditLog.action, description="What the change did.")
    table_name: str = column_field(
        models.AuditLog.table_name,
        description="Table of the changed row: `users`, `venues`, `bookings` or `media`.",
    )
    record_id: strawberry.ID = computed_field(
        value=_record_id,
        sql=_record_id_sql,
        description=(
            "Global ID of the changed object (a User, Venue, Booking or Media); it may be gone."
        ),
    )
    changed_fields: list[str] | None = column_field(
        models.AuditLog.changed_fields,
        description="Columns an update changed, sorted; null for inserts and deletes.",
    )
    old_data: JSON | None = column_field(
        models.AuditLog.old_data,
        description=(
            "The row before the change, by column; null for inserts. Secrets are left out. On"
            " updates a user's `preferences` appear only if changed, as the merge patch that"
            " undoes the change (RFC 7396), not the whole document."
        ),
    )
    new_data: JSON | None = column_field(
        models.AuditLog.new_data,
        description=(
            "The row after the change, by column; null for deletes. Secrets are left out. On"
            " updates a user's `preferences` appear only if changed, as the merge patch that"
            " made the change (RFC 7396), not the whole document."
        ),
    )
    actor_email: str | None = personal_field(
        models.AuditLog.user_email,
        owner=models.AuditLog.user_id,
        description=(
            "Email of who made the change, as it was then; shown to admins and the actor,"
            " null for others and when not recorded."
        ),
    )
    ip_address: str | None = personal_field(
        models.AuditLog.ip_address,
        owner=models.AuditLog.user_id,
        description=(
            "IP address the change came from; shown to admins and the actor, null for others"
            " and when not recorded."
        ),
    )
    user_agent: str | None = personal_field(
        models.AuditLog.user_agent,
        owner=models.AuditLog.user_id,
        description=(
            "User agent of the client that made the change; shown to admins and the actor,"
            " null for others and when not recorded."
        ),
    )
    created_at: dt.datetime = column_field(
        models.AuditLog.created_at,
        description=(
            "When the change was written (once any lock it waited for was granted), by the"
            " database's clock."
        ),
    )

    @classmethod
    def from_model(cls, row: models.AuditLog, *, viewer: Viewer | None) -> Self:
        """Map an `audit_log` row as `viewer` may see it.

        Who made a change (their email, IP address and client) is personal data: only admins
        and the actor themselves see it; others see that a change happened, and `actor`.
        """
        reveal_actor = is_self_or_admin(viewer, lambda signed_in: signed_in.user_id == row.user_id)
        values = read_values(cls, row) | {
            "id": strawberry.ID(encode_timestamped_id("AuditEvent", row.id, row.created_at)),
            "actor_email": row.user_email if reveal_actor else None,
            "ip_address": str(row.ip_address) if reveal_actor and row.ip_address else None,
            "user_agent": row.user_agent if reveal_actor else None,
        }
        return cls(row=row, **values)

    @strawberry.field(
        description="Who made the change; null when no one signed in did, or they are gone."
    )
    async def actor(self, info: strawberry.Info[Context]) -> UserType | None:
        """Load the actor through the request's user loader."""
        if self.row.user_id is None:
            return None
        row = await info.context.loaders.user.load(self.row.user_id)
        return cast("User", to_node(row)) if row else None
