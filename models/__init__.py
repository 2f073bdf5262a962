"""SQLAlchemy models and database access for Sartiq; nothing here imports from `graph`."""

from models.actor import Actor, set_actor
from models.audit import AUDITED_TABLES, AuditAction, AuditLog
from models.base import Base
from models.booking import HOLDING_STATUSES, Booking, BookingStatus
from models.booking_stats import (
    EVERY_BOOKING,
    BookingStatsBucket,
    StatsGrouping,
    StatsScope,
    booking_stats,
    booking_stats_query,
    bucket_order,
)
from models.login_session import LoginSession
from models.login_throttle import LoginAttempt
from models.media import Media, ResourceType
from models.soft_delete import INCLUDE_DELETED, live_rows, restore, soft_delete
from models.user import User, UserRole
from models.venue import Venue

__all__ = [
    "AUDITED_TABLES",
    "EVERY_BOOKING",
    "HOLDING_STATUSES",
    "INCLUDE_DELETED",
    "Actor",
    "AuditAction",
    "AuditLog",
    "Base",
    "Booking",
    "BookingStatsBucket",
    "BookingStatus",
    "LoginAttempt",
    "LoginSession",
    "Media",
    "ResourceType",
    "StatsGrouping",
    "StatsScope",
    "User",
    "UserRole",
    "Venue",
    "booking_stats",
    "booking_stats_query",
    "bucket_order",
    "live_rows",
    "restore",
    "set_actor",
    "soft_delete",
]
