"""HTTP caching of /graphql answers: who may keep one, for how long, and revalidation.

- A request with `Authorization` (a viewer, or a token that may name one) is never stored:
  `private, no-store`, whatever else holds.
- A POST, and any answer that is not a 200 without errors, is never stored: `no-store`.
  (Mutations go by POST only: over GET they are refused.)
- An anonymous GET whose document came from the server's persisted store or allow-list (the
  request named it by hash) may be kept by any cache for `max_age` seconds:
  `public, max-age=N`. Its answer depends only on the URL (document and variables) and
  `Accept`: what the app's frontends publish, so what a CDN in front of the API can serve.
- Any other anonymous GET (a document sent in full) is `no-cache`: caches may keep it but
  revalidate it every time, so the server decides each time and the document needs no
  freshness lifetime of its own; a revalidation saves the body, not the work.

Both kinds of anonymous GET carry a strong `ETag` (a hash of the media type and the body),
and a request whose `If-None-Match` matches it gets `304 Not Modified` without a body. Every
answer of /graphql has `Vary: Accept, Authorization`: the media type follows `Accept`
(graph/http/errors.py), and a token changes what is seen.
"""

import hashlib

from starlette.requests import Request
from starlette.responses import Response

VARY = "Accept, Authorization"
PRIVATE = "private, no-store"
NO_STORE = "no-store"
REVALIDATE = "no-cache"
# Headers a 304 repeats from the 200 it stands for (RFC 9110, 15.4.5).
_NOT_MODIFIED_HEADERS = ("cache-control", "etag", "vary")


def cache_control(
    *, method: str, authorized: bool, persisted: bool, succeeded: bool, max_age: int
) -> str:
    """The `Cache-Control` of an answer to a request of `method` (see the module's rules)."""
    if authorized:
        return PRIVATE
    if method != "GET" or not succeeded:
        return NO_STORE
    return f"public, max-age={max_age}" if persisted else REVALIDATE


def entity_tag(media_type: str, body: bytes) -> str:
    """A strong `ETag` for `body` as `media_type`: the JSON and graphql-response variants differ."""
    digest = hashlib.blake2b(media_type.encode("ascii"), digest_size=16)
    digest.update(b"\n")
    digest.update(body)
    return f'"{digest.hexdigest()}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether `If-None-Match` names `tag` (or `*`); compared weakly, as RFC 9110 says."""
    if not if_none_match:
        return False
    candidates = (candidate.strip() for candidate in if_none_match.split(","))
    return any(candidate in {"*", tag, f"W/{tag}"} for candidate in candidates)


def apply_caching(
    request: Request, response: Response, *, persisted: bool, succeeded: bool, max_age: int
) -> Response:
    """`response` with its caching headers, or a 304 when the client holds the same body."""
    control = cache_control(
        method=request.method,
        authorized="authorization" in request.headers,
        persisted=persisted,
        succeeded=succeeded,
        max_age=max_age,
    )
    response.headers["Cache-Control"] = control
    response.headers["Vary"] = VARY
    if control in {PRIVATE, NO_STORE}:
        return response
    tag = entity_tag(response.headers.get("content-type", ""), bytes(response.body))
    response.headers["ETag"] = tag
    if not matches(request.headers.get("if-none-match"), tag):
        return response
    headers = {name: response.headers[name] for name in _NOT_MODIFIED_HEADERS}
    return Response(status_code=304, headers=headers, background=response.background)


__all__ = ["VARY", "apply_caching", "cache_control", "entity_tag", "matches"]
