"""Refuse oversized (413, 431) or stalled (408) requests before the body is parsed.

Limits: `max_request_bytes` for the body and the query string (GET requests carry the
document there), `max_header_bytes` for all headers together, `body_timeout_seconds` for the
body to arrive. An ASGI middleware: a `Content-Length` over the limit is refused before the
body is read; a body without one (chunked) is read up to the limit and refused as soon as it
passes it. A body within the limit is handed on unchanged. A client that goes away before its
body is complete gets no answer and leaves one log line, not a traceback.
"""

import asyncio
import logging

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.core.errors import (
    RequestBodyTimeoutError,
    RequestHeadersTooLargeError,
    RequestRefusedError,
    RequestTooLargeError,
)
from graph.http.errors import refusal

logger = logging.getLogger(__name__)


class RequestSizeLimit:
    """Answer 413 with a GraphQL-shaped `REQUEST_TOO_LARGE` for requests over `max_bytes`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        max_header_bytes: int = 32_768,
        body_timeout_seconds: float = 10.0,
    ) -> None:
        """Wrap `app`, refusing requests over `max_bytes` or slower than the body timeout."""
        self.app = app
        self.max_bytes = max_bytes
        self.max_header_bytes = max_header_bytes
        self.body_timeout_seconds = body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared size, then read the body up to the limit and replay it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes = sum(len(name) + len(value) for name, value in scope.get("headers", ()))
        if header_bytes > self.max_header_bytes:
            reason = f"The request's headers are over {self.max_header_bytes} bytes."
            error = RequestHeadersTooLargeError(reason, maxHeaderBytes=self.max_header_bytes)
            await self._answer(error, scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > self.max_bytes or self._declared_too_large(scope):
            await self._refuse(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout_seconds):
                while True:
                    message = await receive()
                    messages.append(message)
                    if message["type"] != "http.request":
                        # Gone before its body was complete: nobody to answer.
                        logger.info("client disconnected before sending its whole body")
                        return
                    size += len(message.get("body", b""))
                    if size > self.max_bytes:
                        await self._refuse(scope, receive, send)
                        return
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            reason = f"The request body did not arrive within {self.body_timeout_seconds:g} s."
            await self._answer(RequestBodyTimeoutError(reason), scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    def _declared_too_large(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    return int(value) > self.max_bytes
                except ValueError:
                    return False
        return False

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"The request is over {self.max_bytes} bytes; send a smaller document."
        error = RequestTooLargeError(message, maxBytes=self.max_bytes)
        await self._answer(error, scope, receive, send)

    @staticmethod
    async def _answer(
        error: RequestRefusedError, scope: Scope, receive: Receive, send: Send
    ) -> None:
        accept = Headers(scope=scope).get("accept")
        response = refusal(error, accept=accept)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
