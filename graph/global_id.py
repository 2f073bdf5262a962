"""Opaque global IDs: base64 of `TypeName:uuid`, the Relay convention."""

import base64
import binascii
import datetime as dt
import uuid

from graph.errors import BadUserInputError


def encode_global_id(type_name: str, row_id: uuid.UUID) -> str:
    """Return the opaque ID clients see for row `row_id` of GraphQL type `type_name`."""
    return base64.urlsafe_b64encode(f"{type_name}:{row_id}".encode()).decode().rstrip("=")


def decode_global_id(global_id: str, *, field: str) -> tuple[str, uuid.UUID]:
    """Split a global ID into type name and row id; `BAD_USER_INPUT` naming `field` if invalid."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw_id = base64.urlsafe_b64decode(padded).decode().partition(":")
        return type_name, uuid.UUID(raw_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        message = f"`{field}` is not a valid ID."
        raise BadUserInputError(message, field=field) from None


def decode_typed_id(global_id: str, expected_type: str, *, field: str) -> uuid.UUID:
    """Decode a global ID that must name an object of `expected_type`."""
    type_name, row_id = decode_global_id(global_id, field=field)
    if type_name != expected_type:
        message = f"`{field}` is not the ID of a {expected_type}."
        raise BadUserInputError(message, field=field)
    return row_id


def global_id_type_name(global_id: str, *, field: str) -> str:
    """The type name a global ID (simple or composite) starts with; `BAD_USER_INPUT` if invalid."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, separator, _ = base64.urlsafe_b64decode(padded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        separator = ""
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
    """Decode an `encode_timestamped_id` ID of `expected_type`; `BAD_USER_INPUT` otherwise."""
    message = f"`{field}` is not the ID of a {expected_type}."
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, rest = base64.urlsafe_b64decode(padded).decode().partition(":")
        raw_id, _, raw_created_at = rest.partition(":")
        row_id, created_at = uuid.UUID(raw_id), dt.datetime.fromisoformat(raw_created_at)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInputError(message, field=field) from None
    if type_name != expected_type or created_at.tzinfo is None:
        raise BadUserInputError(message, field=field)
    return row_id, created_at
