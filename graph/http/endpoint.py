"""/graphql: where GraphQL over HTTP is spoken.

Strawberry's ASGI view with our edges: the request read by graph/http/request_data.py (one
JSON object, each field of its type), every refusal answered as JSON with a code and the status
of graph/http/errors.py, request errors without `data` (400 in
`application/graphql-response+json`, 200 in `application/json`, as GraphQL over HTTP says),
persisted queries resolved (graph/schema/persisted_queries.py), caching headers and 304s
(graph/http/caching.py), GraphiQL from local assets when they are there
(graph/http/graphiql.py), and subscriptions over the graphql-transport-ws websocket
(graph/http/websocket.py) when the app gives it `live_limits`.

It is a plain ASGI app on a Starlette route, not a FastAPI router: FastAPI's dependency
solving and routing around each request were about a fifth of a small read's time. The
request's context (its database session and viewer) comes from `open_context`, which the app
supplies and which closes the session once the response is built.
"""

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException, StarletteRequestAdapter
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketClose
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.schema.base import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from graph.compiler import encode_response
from graph.core.context import Context
from graph.core.errors import BadRequestError, ErrorCode, RequestRefusedError
from graph.core.request_database import RequestDatabase
from graph.http.authentication import client_ip
from graph.http.caching import VARY, apply_caching
from graph.http.errors import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    NO_QUERY,
    RouteNotFoundError,
    method_not_allowed,
    refusal,
    refusal_for,
    response_media_type,
)
from graph.http.graphiql import (
    ASSETS_DIR,
    ASSETS_URL_PATH,
    graphiql_page,
    has_local_assets,
    point_at_local_assets,
)
from graph.http.request_data import request_data_from_body, request_data_from_query_string
from graph.http.websocket import CloseCode, LiveLimits, LiveTransportHandler, sign_in
from graph.live.context import ConnectionContext, EventDatabase
from graph.live.listener import Listener
from graph.schema import unavailability
from graph.schema.consistency import CONSISTENCY_HEADER, response_token
from graph.schema.error_codes import ensure_codes
from graph.schema.persisted_queries import PersistedQueries
from graph.schema.unavailability import DatabaseUnavailableError

# The methods /graphql takes; it refuses every other one itself, with this `Allow`.
METHODS = ("GET", "POST")

# Opens a request's context and closes what it holds (its database session) on exit.
OpenContext = Callable[[Request], AbstractAsyncContextManager[Context]]
# Opens a short database session for a websocket's event (graph/live/context.py).
OpenDatabase = Callable[[HTTPConnection], AbstractAsyncContextManager[RequestDatabase]]


class _RequestAdapter(StarletteRequestAdapter):
    """Strawberry's view of a request, keeping the request itself (for its `state`)."""

    def __init__(self, request: Request) -> None:
        super().__init__(request)
        self.request = request


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI view: coded refusals, compiled reads, GraphiQL from local assets."""

    request_adapter_class = _RequestAdapter
    graphql_transport_ws_handler_class = LiveTransportHandler  # type: ignore[assignment]

    def __init__(  # noqa: PLR0913 - Strawberry's arguments and our edges, by keyword
        self,
        schema: BaseSchema,
        *,
        open_context: OpenContext | None = None,
        assets_dir: Path = ASSETS_DIR,
        persisted_queries: PersistedQueries | None = None,
        cache_max_age_seconds: int = 60,
        live_limits: LiveLimits | None = None,
        open_database: OpenDatabase | None = None,
        **kwargs: Any,  # noqa: ANN401 - Strawberry's arguments, passed through unchanged
    ) -> None:
        """Take Strawberry's arguments; decide once, from `assets_dir`, which page to serve.

        Without `open_context` the endpoint serves only GraphiQL's page (a test of it).
        `cache_max_age_seconds` is how long caches may keep an anonymous persisted GET's answer.
        Without `live_limits` and `open_database`, websockets are refused (no subscriptions).
        """
        live = live_limits is not None and open_database is not None
        if live_limits is not None:
            kwargs["connection_init_wait_timeout"] = dt.timedelta(
                seconds=live_limits.init_timeout_seconds
            )
        super().__init__(
            schema,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,) if live else (),
            # Our handler enforces the cap, closing with a code (graph/http/websocket.py).
            max_subscriptions_per_connection=None,
            **kwargs,
        )
        self.live_limits = live_limits if live else None
        self.open_database = open_database
        self.live_connections = 0
        self.open_context = open_context
        self.assets_dir = assets_dir
        self.persisted_queries = persisted_queries
        self.cache_max_age_seconds = cache_max_age_seconds
        self.ide_page = graphiql_page()
        self.local_page = (
            self.ide_page
            if self.graphql_ide == "graphiql" and has_local_assets(self.ide_page, assets_dir)
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer an HTTP request, or serve a websocket (refused, HTTP 403, without subscriptions).

        Without subscriptions Strawberry would accept the upgrade and then close it; closing
        first is what a route without websockets does, and what clients take as "no
        subscriptions here".
        """
        if scope["type"] == "websocket":
            if self.live_limits is None:
                await WebSocketClose()(scope, receive, send)
                return
            await self.serve_websocket(WebSocket(scope, receive, send), self.live_limits)
            return
        request = Request(scope, receive)
        response = await self.handle(request)
        if "vary" not in response.headers:
            response.headers["Vary"] = VARY
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        """The response to one HTTP request on /graphql."""
        accept = request.headers.get("accept")
        if request.method not in METHODS:
            return refusal(method_not_allowed(request.method), accept=accept)
        if request.method == "GET" and self.should_render_graphql_ide(
            self.request_adapter_class(request)
        ):
            if self.graphql_ide:
                return await self.render_graphql_ide(request)
            message = (
                "GraphiQL is off on this server: /graphql answers GraphQL requests"
                " (`query` or `documentId`), not pages."
            )
            return refusal(RouteNotFoundError(message), accept=accept)
        if self.open_context is None:
            message = "GraphQLEndpoint needs open_context to answer operations"
            raise RuntimeError(message)
        try:
            async with self.open_context(request) as context:
                context.request = request
                request.state.graphql_context = context  # for `get_context` and `process_result`
                response = await self.run(request)
                token = response_token(context.db)
                if token is not None:
                    response.headers[CONSISTENCY_HEADER] = token
                return response
        except DatabaseUnavailableError:
            return database_unavailable_response(accept)

    async def serve_websocket(self, websocket: WebSocket, limits: LiveLimits) -> None:
        """One graphql-transport-ws connection, if the worker has room for it (else 1013)."""
        if self.live_connections >= limits.max_connections:
            offered = websocket.scope.get("subprotocols") or []
            protocol = (
                GRAPHQL_TRANSPORT_WS_PROTOCOL if GRAPHQL_TRANSPORT_WS_PROTOCOL in offered else None
            )
            await websocket.accept(subprotocol=protocol)
            reason = "This server holds its maximum of connections; retry later"
            await websocket.close(code=int(CloseCode.TRY_AGAIN_LATER), reason=reason)
            return
        self.live_connections += 1
        try:
            # Strawberry's own `run` (ours answers HTTP): the protocol, with our handler.
            await super().run(websocket)
        finally:
            self.live_connections -= 1

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        """The context `handle` opened, with the response whose headers resolvers may set.

        A websocket's: its connection's, reading in a short session per event.
        """
        if isinstance(request, WebSocket):
            return self.connection_context(request)
        context: Context = request.state.graphql_context
        context.response = response  # type: ignore[assignment]
        return context

    def connection_context(self, websocket: WebSocket) -> ConnectionContext:
        """A websocket connection's context: anonymous until `connection_init` signs it in."""
        open_database = self.open_database
        assert open_database is not None  # noqa: S101 - only served with `live_limits`
        state = websocket.app.state
        listener: Listener = state.listener
        limits = self.live_limits
        context = ConnectionContext(
            db=EventDatabase(),
            ip_address=client_ip(websocket.client.host if websocket.client else None),
            user_agent=websocket.headers.get("user-agent"),
            probe_engine=getattr(state, "probe_engine", None),
            open_database=lambda: open_database(websocket),
            listener=listener,
            max_window_days=limits.max_window_days if limits else 93,
        )
        context.request = websocket
        return context

    async def on_ws_connect(self, context: Context) -> None:
        """Sign the connection in with `connection_init`'s token (graph/http/websocket.py)."""
        if isinstance(context, ConnectionContext):
            await sign_in(context)

    @property
    def serves_local_assets(self) -> bool:
        """GraphiQL is on and its page points at the local assets (so they must be mounted)."""
        return self.local_page is not None

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL on our example: from local assets (under a proxy's `root_path`) or the CDN."""
        if self.graphql_ide != "graphiql":
            return await super().render_graphql_ide(request)
        if self.local_page is None:
            return HTMLResponse(self.ide_page)
        root_path = str(request.scope.get("root_path", "")).rstrip("/")
        return HTMLResponse(point_at_local_assets(self.local_page, root_path + ASSETS_URL_PATH))

    async def run(  # type: ignore[override]
        self,
        request: Request,
        context: Context | UnsetType = UNSET,
        root_value: None = UNSET,
    ) -> Response:
        """Strawberry's handling, with every refusal as GraphQL-shaped JSON with a code.

        Strawberry answers its own refusals (bad JSON, a mutation over GET, an unknown
        operation) in plain text without a code; they become the refusals of
        graph/http/errors.py, with the GraphQL-over-HTTP statuses.
        """
        accept = request.headers.get("accept")
        method = request.scope["method"]
        try:
            response = await super().run(request, context=context, root_value=root_value)  # type: ignore[arg-type]
        except RequestRefusedError as error:
            return refusal(error, accept=accept)
        except _RefusedResultError as refused:
            return refusal(refused.error, accept=accept, count=False)
        except HTTPException as error:
            return refusal(refusal_for(error, method=method), accept=accept)
        if not isinstance(response, Response):
            return response
        if response.media_type == JSON:
            response.headers["content-type"] = response_media_type(accept)
        return apply_caching(
            request,
            response,
            persisted=getattr(request.state, "persisted_document", False),
            succeeded=response.status_code == 200  # noqa: PLR2004 - HTTP OK
            and not getattr(request.state, "graphql_errors", True),
            max_age=self.cache_max_age_seconds,
        )

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """The request's one operation, checked; a persisted query resolved to its document.

        Replaces Strawberry's parsing, which answers 500 for a body that is JSON but not an
        object, not UTF-8 or nested too deeply, and takes `operationName` of any type.
        """
        if request.method == "GET":
            request_data = request_data_from_query_string(request.query_params)
        else:
            request_data = request_data_from_body(request.content_type, await request.get_body())
        resolved: GraphQLRequestData = request_data
        if self.persisted_queries is not None:
            resolved = self.persisted_queries.resolve(request_data, request_data.document_id)
            named = request_data.query is None and resolved.query is not None
            if named and isinstance(request, _RequestAdapter):
                # The document came from the persisted store or the allow-list, named by
                # the request: its GET answer may be cached publicly (graph/http/caching.py).
                request.request.state.persisted_document = True
        if not resolved.query:
            raise BadRequestError(NO_QUERY, field="query")
        return resolved

    async def execute_single(  # noqa: PLR0913, PLR0917 - Strawberry's signature
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Any,  # noqa: ANN401 - Strawberry's
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> Any:  # noqa: ANN401 - Strawberry's ExecutionResult
        """Strawberry's execution (a read may be answered by graph/compiler/ inside it).

        A refusal among the result's errors (graph/schema/operation_selection.py) answers as
        a refusal; a request error answers HTTP 400 when the client asked for
        `application/graphql-response+json` (200 in `application/json`), as GraphQL over
        HTTP says.
        """
        try:
            result = await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except (CannotGetOperationTypeError, InvalidOperationTypeError, MissingQueryError) as error:
            raise refusal_for(error, method=request_adapter.method) from error
        refused = next(
            (error for error in result.errors or () if isinstance(error, RequestRefusedError)),
            None,
        )
        if refused is not None:
            raise _RefusedResultError(refused)
        if _is_request_error(result) and _wants_graphql_response(request):
            sub_response.status_code = 400
        return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Strawberry's response, with a code on every error; a request error without `data`.

        The GraphQL specification: an error raised before execution begins leaves `data`
        out, whichever media type carries it (Strawberry writes `"data": null`).
        """
        if result.errors:
            context = getattr(request.state, "graphql_context", None)
            request_id = getattr(context, "request_id", None)
            result.errors = ensure_codes(result.errors, request_id=request_id)
        request.state.graphql_errors = bool(result.errors)  # read by graph/http/caching.py
        response = await super().process_result(request, result)
        if _is_request_error(result):
            response.pop("data", None)
        return response

    def encode_json(self, data: object) -> str | bytes:
        """Fast-path data goes out as PostgreSQL wrote it; everything else as Strawberry does."""
        return encode_response(data) or super().encode_json(data)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """A browser's GET without a document; not an API client's, nor a persisted query's.

        Strawberry also serves the page for `Accept: */*` (curl, most HTTP libraries), whose
        callers read JSON: they get the JSON refusal of a request without a query instead.
        Browsers name `text/html` when they navigate.
        """
        return (
            super().should_render_graphql_ide(request)
            and "text/html" in request.headers.get("accept", "")
            and not request.query_params.get("extensions")
            and not request.query_params.get("documentId")
        )


def database_unavailable_response(accept: str | None) -> Response:
    """A GraphQL-shaped 503 when the database fails before the operation could run.

    No `data`: nothing ran (as for a request error), in the media type `Accept` asks for.
    """
    error = {"message": unavailability.MESSAGE, "extensions": {"code": "SERVICE_UNAVAILABLE"}}
    return JSONResponse(
        {"errors": [error]},
        status_code=503,
        headers={
            "Retry-After": str(unavailability.RETRY_AFTER_SECONDS),
            "Cache-Control": "no-store",
        },
        media_type=response_media_type(accept),
    )


class _RefusedResultError(Exception):
    """A refusal found among a result's errors (already counted by the schema)."""

    def __init__(self, error: RequestRefusedError) -> None:
        super().__init__(error.message)
        self.error = error


# The codes of errors raised before execution starts: parsing, validation (the limits, the
# cost and introspection included) and the coercion of variables (BAD_USER_INPUT).
_REQUEST_ERROR_CODES = frozenset(
    code.value
    for code in (
        ErrorCode.GRAPHQL_PARSE_FAILED,
        ErrorCode.GRAPHQL_VALIDATION_FAILED,
        ErrorCode.BAD_USER_INPUT,
        ErrorCode.TOO_MANY_TOKENS,
        ErrorCode.QUERY_TOO_DEEP,
        ErrorCode.TOO_MANY_ALIASES,
        ErrorCode.QUERY_TOO_COSTLY,
        ErrorCode.INTROSPECTION_DISABLED,
        ErrorCode.OPERATION_RESOLUTION_FAILURE,
    )
)


def _is_request_error(result: ExecutionResult) -> bool:
    """A GraphQL request error: the operation never started, so the response has no `data`.

    Known by its errors, not by Strawberry's `PreExecutionError`, which also wraps what an
    extension raises once execution has begun (QUERY_TIMEOUT); and a variable that does not
    coerce is reported by graphql-core's execution, yet the operation never ran. Field
    errors have a path; request errors never do.
    """
    return (
        bool(result.errors)
        and result.data is None
        and all(
            error.path is None and (error.extensions or {}).get("code") in _REQUEST_ERROR_CODES
            for error in result.errors or ()
        )
    )


def _wants_graphql_response(request: Request) -> bool:
    return response_media_type(request.headers.get("accept")) == GRAPHQL_RESPONSE_JSON
