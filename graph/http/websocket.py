"""The /graphql websocket: graphql-transport-ws with authentication, limits and close codes.

Strawberry speaks the protocol; this module adds what it leaves to the application. Its
`connection_init` handling and its subscription cap are replaced so that every refusal closes
the socket with a code of `CloseCode` (Strawberry's own, 4403 for any refused connection and
an `error` message for a cap, say less), the allow-list (graph/schema/persisted_queries.py)
applies to `subscribe` messages as to HTTP requests, and a connection signed in with a session
that is revoked or expires is closed with `SESSION_ENDED`.
"""

import asyncio
import datetime as dt
import enum
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

import models
from graph.core.authentication import authenticate_request
from graph.core.errors import RequestRefusedError
from graph.core.viewer import Viewer
from graph.http.request_data import RequestData
from graph.live.context import ConnectionContext
from graph.live.events import Event, Resync, SessionRevoked
from graph.schema.consistency import TRANSPORT_EXTENSIONS
from graph.schema.persisted_queries import PersistedQueries

logger = logging.getLogger("graph.live")

# How long the close for a revoked session waits for `sessionRevoked` to tell the client.
REVOCATION_NOTICE_SECONDS = 2.0
DEFAULT_MAX_SUBSCRIPTIONS = 20


class CloseCode(enum.IntEnum):
    """The websocket close codes of /graphql (the README's table); stable for clients."""

    # The worker holds `LIVE_MAX_CONNECTIONS_PER_WORKER` connections, or the database did not
    # answer the sign-in: retry later (another worker may take it).
    TRY_AGAIN_LATER = 1013
    # A malformed message: not JSON, no `type`, a `connection_init` payload that is not an
    # object, an `Authorization` that is not `Bearer <token>`, a `subscribe` without `query`.
    BAD_REQUEST = 4400
    # The token in `connection_init` is invalid, expired or revoked; or `subscribe` came
    # before `connection_ack`. Sign in again.
    UNAUTHORIZED = 4401
    # The client offered no subprotocol this server speaks (graphql-transport-ws).
    SUBPROTOCOL_NOT_ACCEPTABLE = 4406
    # No `connection_init` within `LIVE_CONNECTION_INIT_TIMEOUT_SECONDS`.
    CONNECTION_INIT_TIMEOUT = 4408
    # A `subscribe` reused the id of a running subscription.
    SUBSCRIBER_ALREADY_EXISTS = 4409
    # A second `connection_init`.
    TOO_MANY_INITIALISATION_REQUESTS = 4429
    # More than `LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION` subscriptions at once.
    TOO_MANY_SUBSCRIPTIONS = 4430
    # The connection's login session was revoked or expired: sign in again.
    SESSION_ENDED = 4440


@dataclass(frozen=True, slots=True)
class LiveLimits:
    """The websocket limits one app applies (from settings)."""

    max_connections: int
    max_subscriptions: int
    init_timeout_seconds: float
    max_window_days: int


class WebsocketRefusedError(ConnectionRejectionError):
    """`connection_init` refused: close with `code`."""

    def __init__(self, code: CloseCode, reason: str) -> None:
        """Close the connection with `code` and `reason` (at most 123 bytes)."""
        super().__init__({"code": int(code), "reason": reason})
        self.code = code
        self.reason = reason


async def sign_in(context: ConnectionContext) -> None:
    """Authenticate `connection_init`'s payload; set the viewer or raise the refusal.

    `{"Authorization": "Bearer <token>"}` signs in (the key in any case); no such key
    connects anonymously (availability is public).
    """
    params: dict[str, Any] = context.connection_params or {}
    authorization = next(
        (value for key, value in params.items() if key.lower() == "authorization"), None
    )
    if authorization is None:
        return
    if not isinstance(authorization, str) or not authorization.lower().startswith("bearer "):
        raise WebsocketRefusedError(
            CloseCode.BAD_REQUEST, "Authorization must be the string `Bearer <token>`"
        )
    if context.open_database is None:
        raise WebsocketRefusedError(CloseCode.TRY_AGAIN_LATER, "Not ready")
    try:
        async with context.open_database() as db:
            authentication = await authenticate_request(db, authorization)
            viewer = authentication.viewer
            expires_at = None
            if viewer is not None:
                session_id = viewer.session_id
                expires_at = await db.run(
                    lambda session: session.scalar(
                        select(models.LoginSession.expires_at).where(
                            models.LoginSession.id == session_id
                        )
                    )
                )
    except Exception:
        logger.exception("websocket sign-in failed")
        raise WebsocketRefusedError(
            CloseCode.TRY_AGAIN_LATER, "Sign-in is unavailable; retry"
        ) from None
    if viewer is None or expires_at is None:
        raise WebsocketRefusedError(
            CloseCode.UNAUTHORIZED, "The token is invalid, expired or revoked; sign in again"
        )
    context.viewer = viewer
    context.session_expires_at = expires_at


class LiveTransportHandler(BaseGraphQLTransportWSHandler[ConnectionContext, None]):
    """Strawberry's graphql-transport-ws handler with our close codes, limits and session end."""

    context: ConnectionContext
    _session_watch: asyncio.Task[None] | None = None

    @property
    def max_subscriptions(self) -> int:
        """The view's cap on one connection's subscriptions."""
        limits: LiveLimits | None = getattr(self.view, "live_limits", None)
        return limits.max_subscriptions if limits is not None else DEFAULT_MAX_SUBSCRIPTIONS

    @property
    def persisted_queries(self) -> PersistedQueries | None:
        """The view's allow-list and persisted documents (as for HTTP)."""
        return getattr(self.view, "persisted_queries", None)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        """Sign in with the payload's token: acknowledge, or close with a `CloseCode`."""
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
            # Not kept for the connection's life: a cancelled task holds its CancelledError,
            # with the traceback and frames (about 2 KB per connection).
            self.connection_init_timeout_task = None
        payload = message.get("payload")
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            await self._close(
                CloseCode.BAD_REQUEST, "The connection_init payload must be an object"
            )
            return
        if self.connection_init_received:
            await self._close(
                CloseCode.TOO_MANY_INITIALISATION_REQUESTS, "Too many initialisation requests"
            )
            return
        self.connection_init_received = True
        self.context.connection_params = payload
        try:
            await self.view.on_ws_connect(self.context)
        except WebsocketRefusedError as refused:
            await self._close(refused.code, refused.reason)
            return
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True
        viewer = self.context.viewer
        if viewer is not None:
            self._session_watch = asyncio.create_task(self._watch_session(viewer))

    async def handle_subscribe(self, message: SubscribeMessage) -> None:  # noqa: PLR0911 - one return per refusal
        """Check the message, the cap and the allow-list; then Strawberry runs it."""
        if not self.connection_acknowledged:
            await self._close(CloseCode.UNAUTHORIZED, "Unauthorized")
            return
        payload = message.get("payload")
        if not isinstance(message.get("id"), str) or not isinstance(payload, dict):
            await self._close(CloseCode.BAD_REQUEST, "subscribe needs an id and a payload object")
            return
        if message["id"] in self.operations:
            reason = f"Subscriber for {message['id'][:64]} already exists"
            await self._close(CloseCode.SUBSCRIBER_ALREADY_EXISTS, reason)
            return
        if len(self.operations) >= self.max_subscriptions:
            reason = f"At most {self.max_subscriptions} subscriptions per connection"
            await self._close(CloseCode.TOO_MANY_SUBSCRIPTIONS, reason)
            return
        query = payload.get("query")
        variables = payload.get("variables")
        operation_name = payload.get("operationName")
        extensions = payload.get("extensions")
        document_id = payload.get("documentId")
        if (
            not isinstance(query, str | None)
            or not isinstance(variables, dict | None)
            or not isinstance(operation_name, str | None)
            or not isinstance(extensions, dict | None)
            or not isinstance(document_id, str | None)
            or (query is None and document_id is None and extensions is None)
        ):
            await self._close(CloseCode.BAD_REQUEST, "Malformed subscribe payload")
            return
        request: GraphQLRequestData = RequestData(
            query=query,
            variables=variables,
            operation_name=operation_name,
            extensions=extensions,
            document_id=document_id,
        )
        try:
            if self.persisted_queries is not None:
                request = self.persisted_queries.resolve(request, document_id)
            if not request.query:
                await self._close(CloseCode.BAD_REQUEST, "Malformed subscribe payload")
                return
        except RequestRefusedError as refused:
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [refused.formatted]}
            )
            return
        resolved: SubscribeMessage = {
            "id": message["id"],
            "type": "subscribe",
            "payload": {
                "query": request.query,
                "variables": variables,
                "operationName": operation_name,
            },
        }
        # Strawberry starts the operation without the payload's extensions (the consistency
        # token): its task inherits them from here.
        started = TRANSPORT_EXTENSIONS.set(extensions)
        try:
            await super().handle_subscribe(resolved)
        finally:
            TRANSPORT_EXTENSIONS.reset(started)

    async def shutdown(self) -> None:
        """Stop watching the session, then Strawberry's shutdown."""
        if self._session_watch is not None:
            self._session_watch.cancel()
        await super().shutdown()

    async def _close(self, code: CloseCode, reason: str) -> None:
        await self.websocket.close(code=int(code), reason=reason)

    async def _watch_session(self, viewer: Viewer) -> None:
        """Close the connection with `SESSION_ENDED` when its session is revoked or expires."""
        context = self.context
        listener = context.require_listener()
        session_id = viewer.session_id

        def accepts(event: Event) -> bool:
            return isinstance(event, SessionRevoked) and event.session_id == session_id

        try:
            with listener.subscribe(accepts) as subscription:
                while True:
                    expires_at = context.session_expires_at
                    left = (
                        (expires_at - dt.datetime.now(dt.UTC)).total_seconds()
                        if expires_at is not None
                        else None
                    )
                    try:
                        event = await asyncio.wait_for(subscription.next(), left)
                    except TimeoutError:
                        break  # expired
                    if isinstance(event, Resync) and await self._session_active(session_id):
                        continue
                    break
            delivered = context.revocation_delivered
            if context.revocation_watchers and delivered is not None:
                # Let `sessionRevoked` say so before the connection goes.
                await asyncio.wait(
                    [asyncio.ensure_future(delivered.wait())],
                    timeout=REVOCATION_NOTICE_SECONDS,
                )
            await self._close(CloseCode.SESSION_ENDED, "Session ended; sign in again")
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("watching a websocket's session failed")

    async def _session_active(self, session_id: Any) -> bool:  # noqa: ANN401 - a uuid
        """Whether the session still authenticates (after events may have been missed)."""
        context = self.context
        if context.open_database is None:
            return False
        async with context.open_database() as db:
            active = await db.run(
                lambda session: session.scalar(
                    select(models.LoginSession.id).where(
                        models.LoginSession.id == session_id,
                        models.LoginSession.revoked_at.is_(None),
                        models.LoginSession.expires_at > dt.datetime.now(dt.UTC),
                    )
                )
            )
        return active is not None
