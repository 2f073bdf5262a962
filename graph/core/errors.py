"""The errors clients see: each carries a stable `extensions.code` from one documented set."""

import enum
from collections.abc import Mapping
from types import MappingProxyType

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
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    TOO_MANY_OPERATIONS = "TOO_MANY_OPERATIONS"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
    LOGIN_THROTTLED = "LOGIN_THROTTLED"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
    BAD_REQUEST = "BAD_REQUEST"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    BAD_CONSISTENCY_TOKEN = "BAD_CONSISTENCY_TOKEN"  # noqa: S105 - a code, not a secret
    CROSS_ORIGIN_REFUSED = "CROSS_ORIGIN_REFUSED"


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


class LoginThrottledError(ClientError):
    """Too many sign-in attempts for this account or from this address; `retryAfter` seconds."""

    code = ErrorCode.LOGIN_THROTTLED

    def __init__(self, message: str, *, retry_after: int) -> None:
        """The refusal with the seconds to wait in `extensions.retryAfter`."""
        super().__init__(message, retryAfter=retry_after)
        self.retry_after = retry_after


class ServiceBusyError(ClientError):
    """The server is too busy to take this now (HTTP 503 with `Retry-After`); retry shortly."""

    code = ErrorCode.SERVICE_UNAVAILABLE

    def __init__(self, message: str, *, retry_after: int) -> None:
        """The refusal with the seconds to wait in `extensions.retryAfter`."""
        super().__init__(message, retryAfter=retry_after)
        self.retry_after = retry_after


class QueryTooCostlyError(ClientError):
    """The operation would ask for more objects than `max_query_cost` allows."""

    code = ErrorCode.QUERY_TOO_COSTLY


class RequestRefusedError(ClientError):
    """Refused over HTTP before any operation ran; answered with `status_code` and `headers`.

    `json_status_code`, when set, is the status in `application/json` instead: a GraphQL
    request error of a well-formed request answers 200 there (GraphQL over HTTP).
    """

    status_code = 400
    json_status_code: int | None = None
    headers: Mapping[str, str] = MappingProxyType({})


class RequestTooLargeError(RequestRefusedError):
    """The request body (or query string) is over `max_request_bytes`."""

    code = ErrorCode.REQUEST_TOO_LARGE
    status_code = 413


class RequestHeadersTooLargeError(RequestRefusedError):
    """The request's headers together are over `max_header_bytes`."""

    code = ErrorCode.REQUEST_TOO_LARGE
    status_code = 431


class RequestBodyTimeoutError(RequestRefusedError):
    """The client did not finish sending its body within `request_body_timeout_seconds`."""

    code = ErrorCode.REQUEST_TIMEOUT
    status_code = 408


class TooManyOperationsError(RequestRefusedError):
    """A batch (a JSON array of operations): this server takes one operation per request."""

    code = ErrorCode.TOO_MANY_OPERATIONS


class BadRequestError(RequestRefusedError):
    """Not a GraphQL-over-HTTP request: not a JSON object, or a field of the wrong type."""

    code = ErrorCode.BAD_REQUEST


class MethodNotAllowedError(RequestRefusedError):
    """An HTTP method /graphql does not take, or a mutation over GET; `Allow` names the methods."""

    code = ErrorCode.METHOD_NOT_ALLOWED
    status_code = 405

    def __init__(self, message: str, *, allow: str) -> None:
        """Refuse the method; `allow` is the `Allow` header's value ("POST", "GET, POST")."""
        super().__init__(message)
        self.headers = {"Allow": allow}


class UnsupportedMediaTypeError(RequestRefusedError):
    """A POST body that is not `application/json` in UTF-8."""

    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE
    status_code = 415


class OperationResolutionError(RequestRefusedError):
    """The document is valid but names no single operation to run (or not the one asked for)."""

    code = ErrorCode.OPERATION_RESOLUTION_FAILURE
    json_status_code = 200  # GetOperation() raised a request error: 400 in graphql-response+json


class BadConsistencyTokenError(RequestRefusedError):
    """A consistency token (header or `extensions.consistencyToken`) this server never gave."""

    code = ErrorCode.BAD_CONSISTENCY_TOKEN


class CrossOriginRefusedError(RequestRefusedError):
    """A CORS preflight asking for an origin, method or header the server does not allow."""

    code = ErrorCode.CROSS_ORIGIN_REFUSED


class PersistedQueryRefusedError(RequestRefusedError):
    """A persisted document the server will not run: a GraphQL error with its code.

    HTTP 200 as `application/json`: Apollo's HttpLink turns any other status into a network
    error, hiding the code. As `application/graphql-response+json`, which Apollo Client 4 reads
    at any status, the specification's 4xx for a response without `data`.
    """

    json_status_code = 200


class PersistedQueryNotFoundError(PersistedQueryRefusedError):
    """A hash or `documentId` this worker does not know: resend the hash with its document."""

    code = ErrorCode.PERSISTED_QUERY_NOT_FOUND
    # Not 400: older Apollo links (Apollo Client 3.4) stop using persisted queries on a 400.
    status_code = 404


class PersistedQueryNotAllowedError(PersistedQueryRefusedError):
    """The server serves only allow-listed operations, and this is not one of them."""

    code = ErrorCode.PERSISTED_QUERY_NOT_ALLOWED
    status_code = 403


class PersistedQueryInputError(RequestRefusedError):
    """`extensions.persistedQuery` is malformed or its hash does not match the document."""

    code = ErrorCode.BAD_USER_INPUT


def violated_constraint(error: DBAPIError) -> str | None:
    """The name of the constraint a database error reports (asyncpg), if it names one."""
    driver_error = getattr(error.orig, "orig", None)
    name = getattr(driver_error, "constraint_name", None)
    return name if isinstance(name, str) else None
