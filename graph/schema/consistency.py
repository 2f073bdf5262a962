"""Read-your-writes across replicas: the consistency token, and mutations read on the primary.

With replicas configured (graph/core/read_routing.py), a response to a request that wrote
carries a consistency token: where the primary's WAL stood after the commit, in
`extensions.consistencyToken` and the `Sartiq-Consistency-Token` header. A request that sends
a token back (the header, or `extensions.consistencyToken`) reads only from a replica that has
replayed that far, else from the primary, so a client sees its own writes. A mutation's
request reads everything on the primary.

Which operation runs is known only once the document is parsed, after the request's viewer
was read: when that read went to a replica the operation may not read from (a mutation's, or
one behind the token sent in `extensions`), the viewer is read again where the operation
reads. Without replicas, nothing here runs a statement or adds a field.
"""

import contextvars
from collections.abc import AsyncIterator, Mapping
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from starlette.requests import Request
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from graph.core.authentication import authenticate_request
from graph.core.context import Context
from graph.core.errors import BadConsistencyTokenError
from graph.core.request_database import RequestDatabase
from models.replication import format_lsn, parse_lsn

# The `extensions` of the operation running in this task, for transports that pass none to
# the schema: Strawberry's graphql-transport-ws handler drops a `subscribe` payload's, so the
# websocket sets this around starting the operation (its task inherits the value).
TRANSPORT_EXTENSIONS: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "graph_operation_extensions", default=None
)
CONSISTENCY_HEADER = "Sartiq-Consistency-Token"
TOKEN_EXTENSION = "consistencyToken"  # noqa: S105 - a field name, not a secret

NOT_OURS = (
    "The consistency token is not one this server gives: send back the `consistencyToken` of a"
    " response (or its `Sartiq-Consistency-Token` header) unchanged."
)


def parse_token(token: object, *, field: str) -> int:
    """The WAL position a token names; BAD_CONSISTENCY_TOKEN for anything else."""
    if not isinstance(token, str):
        raise BadConsistencyTokenError(NOT_OURS, field=field)
    try:
        return parse_lsn(token.strip())
    except ValueError:
        raise BadConsistencyTokenError(NOT_OURS, field=field) from None


def header_position(headers: Mapping[str, str]) -> int | None:
    """The header's token as a position; None when absent or malformed (reported later)."""
    token = headers.get(CONSISTENCY_HEADER)
    if token is None:
        return None
    try:
        return parse_token(token, field=CONSISTENCY_HEADER)
    except BadConsistencyTokenError:
        return None


def response_token(db: RequestDatabase) -> str | None:
    """The token a response carries: where the request's last write left the primary's WAL."""
    position = db.written_position
    return None if position is None else format_lsn(position)


class ReadConsistency(SchemaExtension):
    """Route a mutation's reads to the primary; honour a token; hand the new token back."""

    _token: str | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        """Before execution: route by the operation type and the token; after: note the token."""
        execution = self.execution_context
        context = execution.context
        db = getattr(context, "db", None)
        if not isinstance(db, RequestDatabase) or not db.routes_reads:
            yield
            return
        try:
            extensions = execution.operation_extensions or TRANSPORT_EXTENSIONS.get()
            position = self._requested_position(context, extensions)
        except BadConsistencyTokenError as error:
            execution.result = GraphQLExecutionResult(data=None, errors=[error])
            yield
            return
        read_again = False
        if execution.operation_type is OperationType.MUTATION:
            read_again = await db.read_on_primary()
        if position is not None:
            read_again = await db.require_position(position) or read_again
        if read_again and isinstance(context, Context):
            await _authenticate_again(context)
        yield
        self._token = response_token(db)

    def get_results(self) -> dict[str, Any]:
        """`extensions.consistencyToken` when the request wrote (with replicas)."""
        return {TOKEN_EXTENSION: self._token} if self._token is not None else {}

    @staticmethod
    def _requested_position(context: object, extensions: Mapping[str, Any] | None) -> int | None:
        positions = []
        request = getattr(context, "request", None)
        if isinstance(request, Request):
            token = request.headers.get(CONSISTENCY_HEADER)
            if token is not None:
                positions.append(parse_token(token, field=CONSISTENCY_HEADER))
        # null: no token yet (a client sending `token ?? null` before its first write).
        if extensions and extensions.get(TOKEN_EXTENSION) is not None:
            field = f"extensions.{TOKEN_EXTENSION}"
            positions.append(parse_token(extensions[TOKEN_EXTENSION], field=field))
        return max(positions, default=None)


async def _authenticate_again(context: Context) -> None:
    """Read the viewer again, where the operation reads (its first read went elsewhere)."""
    request = context.request
    authorization = request.headers.get("authorization") if isinstance(request, Request) else None
    if not authorization:
        return
    authentication = await authenticate_request(context.db, authorization)
    context.viewer = authentication.viewer
    context.auth_failure = authentication.failure
    context.forget_loaders()
