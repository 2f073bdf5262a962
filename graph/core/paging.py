"""Page-size rules shared by every list field."""

from graph.core.errors import BadUserInputError

MAX_PAGE_SIZE = 100
# The page a list serves when neither `first` nor `last` is given (the query cost prices it).
DEFAULT_PAGE_SIZE = 20


def checked_page_size(first: int, *, field: str = "first") -> int:
    """Return `first` if it is a page size we serve (0 to 100), else `BAD_USER_INPUT`."""
    if not 0 <= first <= MAX_PAGE_SIZE:
        message = f"`{field}` must be between 0 and {MAX_PAGE_SIZE}; got {first}."
        raise BadUserInputError(message, field=field)
    return first
