"""Opaque global IDs: base64 of `TypeName:uuid`, the Relay convention."""

import base64
import binascii
import datetime as dt
import uuid

from graph.core.errors import BadUserInputError
from graph.core.scalars import checked_instant

# Far longer than any ID this server hands out (an AuditEvent's is about 120 characters).
MAX_ID_CHARS = 512


def unbase64url(text: str, *, max_chars: int) -> bytes | None:
    """The bytes of unpadded URL-safe base64 `text`; None if it is not that, or too long.

    Strict: characters outside the alphabet make it invalid instead of being skipped.
    """
    if len(text) > max_chars:
        return None
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):  # ValueError: not ASCII
        return None


def _unbase64_text(global_id: str) -> str | None:
    raw = unbase64url(global_id, max_chars=MAX_ID_CHARS)
    try:
        return raw.decode() if raw is not None else None
    except UnicodeDecodeError:
        return None


def _a(type_name: str) -> str:
    return f"an {type_name}" if type_name[:1] in "AEIOU" else f"a {type_name}"


def encode_global_id(type_name: str, row_id: uuid.UUID) -> str:
    """Return the opaque ID clients see for row `row_id` of GraphQL type `type_name`."""
    return base64.urlsafe_b64encode(f"{type_name}:{row_id}".encode()).decode().rstrip("=")


def decode_global_id(global_id: str, *, field: str) -> tuple[str, uuid.UUID]:
    """Split a global ID into type name and row id; `BAD_USER_INPUT` naming `field` if invalid."""
    text = _unbase64_text(global_id)
    type_name, _, raw_id = (text or "").partition(":")
    try:
        return type_name, uuid.UUID(raw_id)
    except ValueError:
        message = f"`{field}` is not a valid ID."
        raise BadUserInputError(message, field=field) from None


def decode_typed_id(global_id: str, expected_type: str, *, field: str) -> uuid.UUID:
    """Decode a global ID that must name an object of `expected_type`."""
    type_name, row_id = decode_global_id(global_id, field=field)
    if type_name != expected_type:
        message = f"`{field}` is not the ID of {_a(expected_type)}."
        raise BadUserInputError(message, field=field)
    return row_id


def global_id_type_name(global_id: str, *, field: str) -> str:
    """The type name a global ID (simple or composite) starts with; `BAD_USER_INPUT` if invalid."""
    type_name, separator, _ = (_unbase64_text(global_id) or "").partition(":")
    if not separator:
        message = f"`{field}` is not a valid ID."
        raise BadUserInputError(message, field=field)
    return type_name


def encode_timestamped_id(type_name: str, row_id: uuid.UUID, created_at: dt.datetime) -> str:
    """The opaque ID of a row keyed by `(id, created_at)`, such as a partitioned table's row."""
    payload = f"{type_name}:{row_id}:{created_at.isoformat()}"
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_timestamped_id(
    global_id: str, expected_type: str, *, field: str
) -> tuple[uuid.UUID, dt.datetime]:
    """Decode an `encode_timestamped_id` ID of `expected_type`; `BAD_USER_INPUT` otherwise.

    Its time must have an offset and stay within the years 1 to 9999 in UTC.
    """
    message = f"`{field}` is not the ID of {_a(expected_type)}."
    type_name, _, rest = (_unbase64_text(global_id) or "").partition(":")
    raw_id, _, raw_created_at = rest.partition(":")
    try:
        row_id, created_at = uuid.UUID(raw_id), dt.datetime.fromisoformat(raw_created_at)
        checked_instant(created_at)
    except ValueError:
        raise BadUserInputError(message, field=field) from None
    if type_name != expected_type or created_at.tzinfo is None:
        raise BadUserInputError(message, field=field)
    return row_id, created_at
