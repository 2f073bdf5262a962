"""Calls from browser pages on other origins: Starlette's CORS, its refusals as JSON with a code.

Starlette's middleware answers a preflight it refuses (an origin, method or header not
allowed) with a plain-text 400. Browsers do not read that body, but every other refusal of
this server is GraphQL-shaped JSON with `extensions.code`, and tools that probe the API
(and people reading their output) should not meet the one exception: the refusal keeps
Starlette's status and headers and says, with `CROSS_ORIGIN_REFUSED`, what was not allowed.
"""

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from graph.core.errors import CrossOriginRefusedError
from graph.http.errors import refusal

# How Starlette words its refusal: "Disallowed CORS origin, headers".
_STARLETTE_REFUSAL = "Disallowed CORS "


class CrossOrigin(CORSMiddleware):
    """Starlette's CORS middleware, refusing preflights with a coded JSON error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        """Starlette's answer to a preflight; a refusal rewritten as JSON with its headers."""
        response = super().preflight_response(request_headers)
        if response.status_code < 400:  # noqa: PLR2004 - a refusal is a client error
            return response
        body = bytes(response.body).decode(errors="replace")
        refused = body.partition(_STARLETTE_REFUSAL)[2]  # "origin, headers"; "" if reworded
        message = (
            f"This cross-origin request is not allowed: its {refused}."
            if refused
            else "This cross-origin request is not allowed."
        )
        error = CrossOriginRefusedError(message)
        error.status_code = response.status_code
        answer = refusal(error, accept=request_headers.get("accept"))
        for name, value in response.headers.items():
            if name.lower().startswith("access-control-") or name.lower() == "vary":
                answer.headers[name] = value
        return answer
