"""The errors clients see: each carries a stable `extensions.code` from one documented set."""

import enum

from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError


class ErrorCode(enum.StrEnum):
    """Values of `extensions.code`; clients branch on these, so they never change meaning."""

    BAD_USER_INPUT = "BAD_USER_INPUT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BOOKING_CONFLICT = "BOOKING_CONFLICT"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    QUERY_TIMEOUT = "QUERY_TIMEOUT"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class ClientError(GraphQLError):
    """An error meant for the client: shown as is, never masked."""

    code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR

    def __init__(self, message: str, **extensions: object) -> None:
        """Build the error with `extensions.code` and any extra extension fields."""
        super().__init__(message, extensions={"code": self.code.value, **extensions})


class BadUserInputError(ClientError):
    """The request's input is malformed or out of range; `extensions.field` names the input."""

    code = ErrorCode.BAD_USER_INPUT


class NotFoundError(ClientError):
    """The object does not exist or the viewer may not know it exists."""

    code = ErrorCode.NOT_FOUND


class UnauthenticatedError(ClientError):
    """No valid bearer token: missing, malformed, expired or revoked."""

    code = ErrorCode.UNAUTHENTICATED


class ForbiddenError(ClientError):
    """Signed in, but not allowed to do this."""

    code = ErrorCode.FORBIDDEN


class BookingConflictError(ClientError):
    """The slot overlaps a live booking of the same venue."""

    code = ErrorCode.BOOKING_CONFLICT


class InvalidTransitionError(ClientError):
    """The booking's status does not allow this change."""

    code = ErrorCode.INVALID_TRANSITION


def violated_constraint(error: DBAPIError) -> str | None:
    """The name of the constraint a database error reports (asyncpg), if it names one."""
    driver_error = getattr(error.orig, "orig", None)
    name = getattr(driver_error, "constraint_name", None)
    return name if isinstance(name, str) else None
