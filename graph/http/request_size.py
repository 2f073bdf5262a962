"""Refuse requests over `max_request_bytes` with HTTP 413, before the body is parsed.

An ASGI middleware: a `Content-Length` over the limit is refused before the body is read;
a body without one (chunked) is read up to the limit and refused as soon as it passes it.
A body within the limit is handed on unchanged. The query string counts too, since GET
requests carry the document there.
"""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.errors import RequestTooLargeError
from graph.http.errors import refusal


class RequestSizeLimit:
    """Answer 413 with a GraphQL-shaped `REQUEST_TOO_LARGE` for requests over `max_bytes`."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        """Wrap `app`, refusing requests over `max_bytes`."""
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared size, then read the body up to the limit and replay it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > self.max_bytes or self._declared_too_large(scope):
            await self._refuse(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away: let the app see it
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

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
        accept = Headers(scope=scope).get("accept")
        response = refusal(error, accept=accept)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
