"""Request-level refusals over HTTP: the GraphQL-over-HTTP statuses, as GraphQL-shaped JSON.

A request that is not a well-formed GraphQL-over-HTTP request (a body that is not a JSON
object, a field of the wrong type, a media type or method /graphql does not take) is refused
before any operation runs, with the status the spec gives (400, 405 with `Allow`, 413, 415),
`errors[].extensions.code` and no `data`. The media type is `application/json`, or
`application/graphql-response+json` when the client's `Accept` prefers it; a refusal that is
a GraphQL request error of a well-formed request (no single operation named) is 200 in
`application/json` and 400 in the other, as the spec says of each.
"""

import json
import sys
from collections.abc import Mapping
from http import HTTPStatus

from cross_web import HTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from graph.core.errors import (
    BadRequestError,
    ClientError,
    ErrorCode,
    MethodNotAllowedError,
    OperationResolutionError,
    RequestRefusedError,
    UnsupportedMediaTypeError,
)
from graph.schema.metrics import count_errors

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
GRAPHQL_METHODS = "GET, POST"
NO_QUERY = "No GraphQL document: send `query` or `documentId` (or a persisted query's hash)."


class ErrorResponse(JSONResponse):
    """JSON escaped to ASCII: a refusal may quote what the client sent, lone surrogates too."""

    def render(self, content: object) -> bytes:
        """`content` as compact ASCII JSON (Starlette's UTF-8 cannot encode a lone surrogate)."""
        return json.dumps(content, separators=(",", ":")).encode("ascii")


def response_media_type(accept: str | None) -> str:
    """`application/graphql-response+json` when `accept` prefers it, else `application/json`."""
    weights: dict[str, float] = {}
    for item in (accept or "").split(","):
        media_type, *parameters = (part.strip() for part in item.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media_type.lower()] = max(weight, weights.get(media_type.lower(), 0.0))
    preferred = weights.get(GRAPHQL_RESPONSE_JSON, 0.0)
    return GRAPHQL_RESPONSE_JSON if preferred > 0 and preferred >= weights.get(JSON, 0.0) else JSON


def decode_json(data: bytes | str, *, field: str) -> object:
    """`data` decoded as UTF-8 JSON; `BAD_REQUEST` naming `field` when it is not."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text)
    except UnicodeDecodeError as error:
        problem = "is not UTF-8 text"
        cause: Exception = error
    except RecursionError as error:
        problem, cause = "is JSON nested too deeply", error
    except json.JSONDecodeError as error:
        problem, cause = f"is not valid JSON: {error}", error
    except ValueError as error:
        # An integer over Python's digit limit (sys.get_int_max_str_digits): its message
        # names Python's internals, which are none of the client's business.
        problem = f"holds a number of more than {sys.get_int_max_str_digits()} digits"
        cause = error
    message = f"`{field}` {problem}."
    raise BadRequestError(message, field=field) from cause


def method_not_allowed(method: str) -> MethodNotAllowedError:
    """The refusal of an HTTP method /graphql does not take."""
    message = f"/graphql takes {GRAPHQL_METHODS}, not {method}."
    return MethodNotAllowedError(message, allow=GRAPHQL_METHODS)


class RouteNotFoundError(RequestRefusedError):
    """Nothing is served at the path (or GraphiQL is off and a browser asked for it)."""

    code = ErrorCode.NOT_FOUND
    status_code = 404


def refusal_for(error: Exception, *, method: str) -> RequestRefusedError:
    """The refusal to answer for an exception Strawberry raises about the request itself.

    Strawberry raises its own exceptions from the fast path and wraps them in an
    `HTTPException` (with a plain-text reason) on the general path: both map to one code.
    """
    cause = error.__cause__ if isinstance(error, HTTPException) else error
    if isinstance(cause, InvalidOperationTypeError):
        operation = cause.operation_type.value
        if method == "GET":
            return MethodNotAllowedError(f"A {operation} must be sent with POST.", allow="POST")
        return MethodNotAllowedError(f"A {operation} is not served over {method}.", allow="GET")
    if isinstance(cause, CannotGetOperationTypeError):
        return OperationResolutionError(cause.as_http_error_reason(), field="operationName")
    if isinstance(cause, MissingQueryError):
        return BadRequestError(NO_QUERY, field="query")
    if not isinstance(error, HTTPException):
        raise error
    if error.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        return method_not_allowed(method)
    by_status: dict[int, type[RequestRefusedError]] = {
        HTTPStatus.NOT_FOUND: RouteNotFoundError,
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE: UnsupportedMediaTypeError,
    }
    return by_status.get(error.status_code, BadRequestError)(error.reason)


def refusal(error: RequestRefusedError, *, accept: str | None, count: bool = True) -> Response:
    """The response refusing a request: the error's status (for the media type), no `data`.

    Counted in metrics unless `count` is false (the schema counted it already).
    """
    if count:
        count_errors([error])
    media_type = response_media_type(accept)
    status_code = error.status_code
    if media_type == JSON and error.json_status_code is not None:
        status_code = error.json_status_code
    return ErrorResponse(
        {"errors": [error.formatted]},
        status_code=status_code,
        headers={"Cache-Control": "no-store", **error.headers},
        media_type=media_type,
    )


async def refused_request(request: Request, error: Exception) -> Response:
    """FastAPI's handler for a `RequestRefusedError` raised while reading a request."""
    if not isinstance(error, RequestRefusedError):  # registered for this type only
        raise error
    return refusal(error, accept=request.headers.get("accept"))


async def http_error(request: Request, error: Exception) -> Response:
    """Starlette's routing refusals (404, 405 with `Allow`) as GraphQL-shaped JSON."""
    if not isinstance(error, StarletteHTTPException):  # registered for this type only
        raise error
    refused: ClientError
    if error.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        # Starlette's `Allow` names the methods of the first route at the path only; /graphql
        # refuses every other method itself (graph/http/endpoint.py), with all of its methods.
        allow = (error.headers or {}).get("Allow", "")
        refused = MethodNotAllowedError(
            f"{request.url.path} does not take {request.method}.", allow=allow
        )
    elif error.status_code == HTTPStatus.NOT_FOUND:
        refused = RouteNotFoundError(f"Nothing is served at {request.url.path}.")
    else:
        refused = BadRequestError(str(error.detail))
    headers: Mapping[str, str] = {**(error.headers or {}), **getattr(refused, "headers", {})}
    return ErrorResponse(
        {"errors": [refused.formatted]},
        status_code=error.status_code,
        headers=dict(headers),
        media_type=response_media_type(request.headers.get("accept")),
    )


__all__ = [
    "GRAPHQL_RESPONSE_JSON",
    "JSON",
    "ErrorResponse",
    "RouteNotFoundError",
    "decode_json",
    "http_error",
    "refusal",
    "refusal_for",
    "refused_request",
    "response_media_type",
]
