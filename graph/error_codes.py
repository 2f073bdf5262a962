"""Every error a client sees carries `extensions.code`; unexpected ones are logged and masked."""

import logging
import re
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from graph import unavailability
from graph.errors import ClientError, ErrorCode
from graph.unavailability import database_unavailable, statement_timed_out

logger = logging.getLogger("graph.errors")
# What Strawberry's MaskErrors says in place of an unexpected error's message.
UNEXPECTED_MESSAGE = "Unexpected error."

_VARIABLE = re.compile(r"^Variable '\$(?P<name>\w+)'")
_ARGUMENT = re.compile(r"^Argument '(?P<name>\w+)'")
# Messages of graphql-core's ValuesOfCorrectType rule: a literal of the wrong type.
_BAD_LITERAL = re.compile(
    r"(cannot represent|does not exist in|Expected value of type|is required, but it was not)"
)


# Refusals of the query limits (graph/query_limits.py), by the message graphql-core or
# Strawberry gives them; checked before the generic parse and validation codes.
_LIMIT_CODES = (
    (
        re.compile(r"^Syntax Error: Document contains more than \d+ tokens"),
        ErrorCode.TOO_MANY_TOKENS,
    ),
    (re.compile(r"exceeds maximum operation depth of \d+$"), ErrorCode.QUERY_TOO_DEEP),
    (re.compile(r"^\d+ aliases found\. Allowed: \d+$"), ErrorCode.TOO_MANY_ALIASES),
    (re.compile(r"^GraphQL introspection has been disabled"), ErrorCode.INTROSPECTION_DISABLED),
)


def assign_code(error: GraphQLError) -> None:
    """Give an error graphql-core raised about the request itself its `extensions.code`."""
    original = error.original_error
    if (error.extensions or {}).get("code") or isinstance(original, ClientError):
        return
    if original is not None and not isinstance(original, GraphQLError):
        return  # an exception from our code: masked, with its own code, on the way out
    error.extensions = {**(error.extensions or {}), **_classify(error)}


def _classify(error: GraphQLError) -> dict[str, object]:
    message = error.message
    for pattern, code in _LIMIT_CODES:
        if pattern.search(message):
            return {"code": code.value}
    if message.startswith("Syntax Error"):
        return {"code": "GRAPHQL_PARSE_FAILED"}
    if variable := _VARIABLE.match(message):
        return {"code": ErrorCode.BAD_USER_INPUT.value, "field": variable["name"]}
    if argument := _ARGUMENT.match(message):
        return {"code": ErrorCode.BAD_USER_INPUT.value, "field": argument["name"]}
    if _BAD_LITERAL.search(message):
        return {"code": ErrorCode.BAD_USER_INPUT.value}
    return {"code": "GRAPHQL_VALIDATION_FAILED"}


def ensure_codes(errors: list[GraphQLError], *, request_id: str | None) -> list[GraphQLError]:
    """`errors`, each with a code: one that escaped masking is logged and masked here.

    The last check before a response goes out: an exception raised outside the operation's
    extensions (in a validation rule, say) reaches the response unmasked and without a code.
    """
    coded: list[GraphQLError] = []
    for error in errors:
        if (error.extensions or {}).get("code"):
            coded.append(error)
            continue
        logger.error(
            "unexpected error before execution (request %s)",
            request_id,
            exc_info=error.original_error or error,
        )
        coded.append(
            GraphQLError(
                UNEXPECTED_MESSAGE,
                nodes=error.nodes,
                path=error.path,
                extensions={
                    "code": ErrorCode.INTERNAL_SERVER_ERROR.value,
                    "requestId": request_id,
                },
            )
        )
    return coded


class MaskUnexpectedErrors(MaskErrors):
    """Mask exceptions from our code: the client gets the request id, the log the traceback."""

    def __init__(self) -> None:
        """Mask what is not a GraphQL error of ours or of graphql-core."""
        super().__init__(should_mask_error=self._is_unexpected)

    @staticmethod
    def _is_unexpected(error: GraphQLError) -> bool:
        original = error.original_error
        return original is not None and not isinstance(original, GraphQLError)

    def _request_id(self) -> str | None:
        request_id = getattr(self.execution_context.context, "request_id", None)
        return request_id if isinstance(request_id, str) else None

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        """Log the real exception with the request id; show the client only the id and code."""
        request_id = self._request_id()
        if statement_timed_out(error.original_error):
            logger.warning("statement timeout (request %s) at %s", request_id, error.path)
            return GraphQLError(
                message="The query took too long and was cancelled; narrow it or page it.",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": ErrorCode.QUERY_TIMEOUT.value, "requestId": request_id},
            )
        if database_unavailable(error.original_error):
            logger.warning(
                "database unavailable (request %s): %r", request_id, error.original_error
            )
            return GraphQLError(
                message=unavailability.MESSAGE,
                nodes=error.nodes,
                path=error.path,
                extensions={
                    "code": ErrorCode.SERVICE_UNAVAILABLE.value,
                    "requestId": request_id,
                },
            )
        logger.error(
            "unexpected error in %s (request %s)",
            ".".join(str(part) for part in error.path or ()),
            request_id,
            exc_info=error.original_error,
        )
        masked = super().anonymise_error(error)
        masked.extensions = {
            "code": ErrorCode.INTERNAL_SERVER_ERROR.value,
            "requestId": request_id,
        }
        return masked

    def on_operation(self) -> Iterator[None]:
        """Mask, then answer 503 with `Retry-After` when the database left nothing to return."""
        yield from super().on_operation()
        result = self.execution_context.result
        if result is None or result.data is not None or not result.errors:
            return
        codes = {(error.extensions or {}).get("code") for error in result.errors}
        response = getattr(self.execution_context.context, "response", None)
        if ErrorCode.SERVICE_UNAVAILABLE.value in codes and response is not None:
            response.status_code = 503
            response.headers["Retry-After"] = str(unavailability.RETRY_AFTER_SECONDS)
