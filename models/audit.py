"""The audit trail: one row per write to an audited table, written by a database trigger."""

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, PrimaryKeyConstraint, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

# Tables whose every insert, update, soft delete, restore and delete is recorded.
AUDITED_TABLES = ("users", "venues", "bookings", "media")
# The actor's client and email are cut to their columns' lengths, by the trigger and by
# `set_actor`, so a long header cannot fail the write it audits.
MAX_USER_AGENT_LENGTH = 512
MAX_ACTOR_EMAIL_LENGTH = 320


class AuditAction(enum.StrEnum):
    """What happened to the row."""

    INSERT = "INSERT"
    UPDATE = "UPDATE"
    SOFT_DELETE = "SOFT_DELETE"
    RESTORE = "RESTORE"
    DELETE = "DELETE"


class AuditLog(Base):
    """One change to one row; partitioned by month of `created_at`.

    Written only by triggers, never by application code, so raw SQL, COPY and ORM writes are
    recorded alike: `audit_rows_inserted` once per INSERT or COPY statement for all its rows
    (migration 0009), `audit_row_change` per updated or deleted row. `seq` numbers the rows as
    the triggers write them,
    which for one record is the order its changes committed (the trigger runs once the row's
    lock is held); `created_at` is the trigger's clock time. Users' `preferences` are recorded
    as merge patches on update (see migration 0008), not as the whole document twice.
    """

    __tablename__ = "audit_log"

    id: Mapped[uuid.UUID] = mapped_column(server_default=text("uuid_generate_v7()"))
    table_name: Mapped[str] = mapped_column(String(63))
    record_id: Mapped[uuid.UUID]
    action: Mapped[str] = mapped_column(String(16))
    old_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    new_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    changed_fields: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    user_id: Mapped[uuid.UUID | None]
    user_email: Mapped[str | None] = mapped_column(String(MAX_ACTOR_EMAIL_LENGTH))
    ip_address: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(String(MAX_USER_AGENT_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=text("now()"))
    seq: Mapped[int] = mapped_column(
        BigInteger, server_default=text("nextval('audit_log_seq_seq'::regclass)")
    )

    __table_args__ = (
        PrimaryKeyConstraint("id", "created_at"),
        CheckConstraint(
            "action IN ('INSERT', 'UPDATE', 'SOFT_DELETE', 'RESTORE', 'DELETE')", name="action"
        ),
        Index("ix_audit_log_table_name_record_id_seq", "table_name", "record_id", "seq"),
        Index("ix_audit_log_created_at", "created_at"),
        Index("ix_audit_log_user_id", "user_id"),
        Index("ix_audit_log_action", "action"),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )
