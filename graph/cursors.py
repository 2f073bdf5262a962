"""Opaque keyset cursors: the sort key of the row a page ended on, base64-encoded JSON."""

import base64
import binascii
import json

from graph.errors import BadUserInputError


def encode_cursor(*values: object) -> str:
    """Encode a row's sort-key values (str()-able scalars) as an opaque cursor."""
    payload = json.dumps([str(value) for value in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, size: int, field: str) -> list[str]:
    """Decode a cursor made by `encode_cursor` with `size` values; `BAD_USER_INPUT` otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        values = None
    if not isinstance(values, list) or len(values) != size:
        message = f"`{field}` is not a valid cursor."
        raise BadUserInputError(message, field=field)
    return [str(value) for value in values]
