"""What every answer of /graphql must be, whatever was sent: the issue 10 contract.

No 5xx, a JSON body (GraphQL-shaped, with `extensions.code` on every error and never a masked
INTERNAL_SERVER_ERROR), 405 with `Allow`, nothing logged at ERROR, and an answer within the
budget. The budget is generous on purpose: it catches stalls, not slowness.
"""

import json
import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BUDGET_SECONDS = 5.0
JSON_TYPES = ("application/json", "application/graphql-response+json")
PREVIEW = 300


@dataclass(frozen=True)
class Sent:
    """One request as sent, for the failure message (and a minimal reproduction)."""

    method: str
    path: str
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """The request in a line or two, its body cut short."""
        body = self.content[:PREVIEW]
        more = f"... ({len(self.content)} bytes)" if len(self.content) > PREVIEW else ""
        return f"{self.method} {_cut(self.path)} headers={self.headers} body={body!r}{more}"


ROOT = Path(__file__).resolve().parents[3]


def raised_at(error: BaseException) -> str:
    """The exception's type and the deepest frame of ours (graph/, models/) it passed through."""
    ours = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename.startswith((str(ROOT / "graph"), str(ROOT / "models")))
    ]
    where = f" at {Path(ours[-1].filename).relative_to(ROOT)}:{ours[-1].lineno}" if ours else ""
    return f"{type(error).__name__}{where}"


def _cut(text: str) -> str:
    return text if len(text) <= PREVIEW else f"{text[:PREVIEW]}... ({len(text)} chars)"


@dataclass(frozen=True)
class Observed:
    """What the server did besides answering: time taken, log records, database connection."""

    elapsed: float
    records: list[logging.LogRecord]
    connection_invalidated: bool = False


def problems(sent: Sent, response: httpx.Response, observed: Observed) -> list[str]:
    """Every way the answer breaks the contract; empty when it keeps it."""
    found: list[str] = []
    status = response.status_code
    elapsed, records = observed.elapsed, observed.records
    if observed.connection_invalidated:
        # SQLAlchemy drops a connection whose statement was cancelled mid-flight.
        found.append("the request's database connection was invalidated (a statement cancelled)")
    if status >= 500:
        found.append(f"HTTP {status}")
    if elapsed > BUDGET_SECONDS:
        found.append(f"answered after {elapsed:.1f} s (budget {BUDGET_SECONDS} s)")
    found.extend(
        f"logged at {record.levelname} by {record.name}: {record.getMessage()[:120]}"
        + (f" ({raised_at(record.exc_info[1])})" if record.exc_info and record.exc_info[1] else "")
        for record in records
        if record.levelno >= logging.ERROR
    )
    if status == 405 and "allow" not in response.headers:
        found.append("405 without Allow")
    if sent.method == "HEAD":
        return found
    return found + _body_problems(response)


def _body_problems(response: httpx.Response) -> list[str]:
    found: list[str] = []
    status = response.status_code
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in JSON_TYPES:
        found.append(f"content type {content_type or 'none'!r} ({_cut(response.text)!r})")
        return found
    try:
        payload = response.json()
    except ValueError:
        return [*found, f"body is not JSON: {_cut(response.text)!r}"]
    if not isinstance(payload, dict) or not ({"data", "errors"} & payload.keys()):
        return [*found, f"body is not GraphQL-shaped: {_cut(response.text)!r}"]
    errors = payload.get("errors") or []
    if status >= 400 and not errors:
        found.append(f"HTTP {status} without errors")
    for error in errors:
        code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
        if not code:
            found.append(f"error without extensions.code: {_cut(json.dumps(error))}")
        elif code == "INTERNAL_SERVER_ERROR":
            found.append(f"INTERNAL_SERVER_ERROR at {error.get('path')}")
    return found


def check(sent: Sent, response: httpx.Response, observed: Observed) -> None:
    """Fail with the request and every broken promise of its answer."""
    found = problems(sent, response, observed)
    assert not found, f"{sent.describe()}\n-> HTTP {response.status_code}: " + "; ".join(found)


def unhandled(sent: Sent, error: Exception) -> httpx.Response:
    """Fail for an exception that left the app: served to a real client as a bare 500."""
    message = f"{sent.describe()}\n-> unhandled in the app, a bare 500: {raised_at(error)}: {error}"
    raise AssertionError(message[:2_000]) from error
