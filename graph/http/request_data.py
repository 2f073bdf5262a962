"""A GraphQL-over-HTTP request read into Strawberry's `GraphQLRequestData`, or refused.

Replaces Strawberry's parsing, which answers 500 for a body that is JSON but not an object, not
UTF-8 or nested too deeply, takes `operationName` of any type and runs batches. Every refusal is
a `RequestRefusedError` with a code, answered by the endpoint with its GraphQL-over-HTTP status.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type

from graph.core.errors import BadRequestError, TooManyOperationsError, UnsupportedMediaTypeError
from graph.http.errors import JSON, decode_json
from graph.schema.operation_selection import is_operation_name

BATCH_REFUSED = (
    "Batched requests are not supported: send one operation per request (HTTP/2 multiplexes them)."
)


@dataclass
class RequestData(GraphQLRequestData):
    """Strawberry's request fields and `documentId` (GraphQL over HTTP, appendix A).

    `documentId` names a persisted document instead of sending it as `query`.
    """

    document_id: str | None = None


def request_data_from_query_string(parameters: Mapping[str, object]) -> RequestData:
    """A GET request's operation, from its query string."""
    return _request_data(_query_parameters(parameters))


def request_data_from_body(content_type: str | None, body: bytes) -> RequestData:
    """A POST request's one operation, from its JSON body."""
    _check_media_type(content_type)
    _refuse_batches(body)
    return _request_data(decode_json(body, field="body"))


def _refuse_batches(body: bytes) -> None:
    """Refuse a JSON array of operations: batching is off (one operation per request)."""
    if body.lstrip()[:1] == b"[":
        raise TooManyOperationsError(BATCH_REFUSED)


def _check_media_type(content_type: str | None) -> None:
    """A POST body is `application/json` in UTF-8 (the only one GraphQL over HTTP requires)."""
    if not _is_json_in_utf8(content_type or ""):
        message = f"Send the request as `{JSON}` (UTF-8), not `{content_type or 'no type'}`."
        raise UnsupportedMediaTypeError(message)


# Clients send one spelling each, so a few dozen cover them all; parsing a content type (with
# the e-mail package's header parser) was about 3 % of a small read's CPU.
@lru_cache(maxsize=64)
def _is_json_in_utf8(content_type: str) -> bool:
    media_type, parameters = parse_content_type(content_type)
    charset = parameters.get("charset", "utf-8").lower()
    # Media types are case-insensitive (RFC 9110, 8.3.1): `APPLICATION/JSON` is JSON.
    return media_type.lower() == JSON and charset in {"utf-8", "utf8"}


def _query_parameters(parameters: Mapping[str, object]) -> dict[str, object]:
    """A GET request's parameters, `variables` and `extensions` decoded from JSON."""
    data: dict[str, object] = {}
    getlist = getattr(parameters, "getlist", None)
    for name in ("query", "documentId", "operationName", "variables", "extensions"):
        values = getlist(name) if getlist is not None else [parameters.get(name)]
        values = [value for value in values if value is not None]
        if len(values) > 1:
            message = f"`{name}` is given more than once."
            raise BadRequestError(message, field=name)
        if values and values[0] != "":
            data[name] = values[0]
    for name in ("variables", "extensions"):
        value = data.get(name)
        if isinstance(value, str):
            data[name] = decode_json(value, field=name)
    return data


def _request_data(data: object) -> RequestData:
    """The request's fields, each of its GraphQL-over-HTTP type (or absent)."""
    if not isinstance(data, dict):
        message = "The request body must be a JSON object: {query, operationName, variables}."
        raise BadRequestError(message, field="body")
    for name, kind, described in (
        ("query", str, "a string"),
        ("documentId", str, "a string"),
        ("operationName", str, "a string"),
        ("variables", dict, "an object"),
        ("extensions", dict, "an object"),
    ):
        value = data.get(name)
        if value is not None and not isinstance(value, kind):
            message = f"`{name}` must be {described} or null."
            raise BadRequestError(message, field=name)
    operation_name = data.get("operationName")
    if operation_name and not is_operation_name(operation_name):
        # No operation can have it; refused here, it is never echoed back, whatever it holds.
        message = "`operationName` must be a GraphQL name: letters, digits and `_`."
        raise BadRequestError(message, field="operationName")
    if data.get("documentId") == "":
        # Not the same as leaving it out: a client that meant to name a document would
        # otherwise have its `query` run instead, or be told no document was sent.
        message = "`documentId` is empty: name a persisted document, or leave it out."
        raise BadRequestError(message, field="documentId")
    return RequestData(
        query=data.get("query"),
        variables=data.get("variables"),
        operation_name=data.get("operationName") or None,
        extensions=data.get("extensions"),
        protocol="http",
        document_id=data.get("documentId") or None,
    )
