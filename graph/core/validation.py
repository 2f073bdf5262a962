"""Input checks the mutation modules share: blank text, lengths, patterns, JSON objects, nulls.

Each refuses bad input with `BAD_USER_INPUT` naming the input field, before any write. Checks
specific to one entity (a venue's hourly rate, a media item's tags) stay with its mutations;
coordinates are checked in `graph.core.geo`.
"""

import re
from collections.abc import Callable
from typing import Any

from graph.core.errors import BadUserInputError

# A check takes the value and the path of its input field (for the error) and returns the value
# to store.
Check = Callable[[Any, str], Any]


def input_path(attribute: str) -> str:
    """The path clients know an input field by: `hourly_rate` is `input.hourlyRate`."""
    head, *rest = attribute.split("_")
    return "input." + head + "".join(word.title() for word in rest)


def refuse_nul(value: str, *, field: str) -> None:
    """Refuse NUL characters, which PostgreSQL text and JSONB cannot store."""
    if "\x00" in value:
        message = f"`{field}` must not contain NUL (U+0000) characters."
        raise BadUserInputError(message, field=field)


def checked_text(value: str, *, field: str, max_length: int, blank_ok: bool = False) -> str:
    """`value` without surrounding whitespace, if not blank (unless allowed) and short enough."""
    refuse_nul(value, field=field)
    stripped = value.strip()
    if not stripped and not blank_ok:
        message = f"`{field}` must not be blank."
        raise BadUserInputError(message, field=field)
    if len(stripped) > max_length:
        message = f"`{field}` may have at most {max_length} characters; got {len(stripped)}."
        raise BadUserInputError(message, field=field)
    return stripped


def text_check(max_length: int, *, blank_ok: bool = False) -> Check:
    """The `Check` of `checked_text` with these limits, for a table of column checks."""
    return lambda value, field: checked_text(
        value, field=field, max_length=max_length, blank_ok=blank_ok
    )


def checked_pattern(value: str, *, field: str, pattern: str, what: str) -> str:
    """`value` if it matches the regular expression `pattern` in full; `what` says what fits."""
    if re.fullmatch(pattern, value) is None:
        message = f"`{field}` must be {what}; got {value!r}."
        raise BadUserInputError(message, field=field)
    return value


def pattern_check(pattern: str, what: str) -> Check:
    """The `Check` of `checked_pattern` with this pattern, for a table of column checks."""
    return lambda value, field: checked_pattern(value, field=field, pattern=pattern, what=what)


def checked_json_object(value: object, field: str) -> dict[str, Any]:
    """`value` if it is a JSON object (not an array, string, number or null)."""
    if not isinstance(value, dict):
        message = f"`{field}` must be a JSON object, such as `{{}}`."
        raise BadUserInputError(message, field=field)
    if _has_nul(value):
        message = f"`{field}` must not contain NUL (U+0000) characters."
        raise BadUserInputError(message, field=field)
    return value


def _has_nul(value: object) -> bool:
    """Whether a JSON value holds a NUL character in any key or string (JSONB refuses them)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def not_null(value: object, *, field: str) -> None:
    """Refuse an explicit null for a field that cannot be cleared (leave it out instead)."""
    if value is None:
        message = f"`{field}` cannot be null; leave it out to keep the current value."
        raise BadUserInputError(message, field=field)
