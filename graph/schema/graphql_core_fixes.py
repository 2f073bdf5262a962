"""A fix for graphql-core 3.3's "did you mean" suggestions on text whose lower case is longer.

`LexicalDistance` sizes its rows by the input's length but compares lower-cased code points:
`"İ".lower()` is two of them, so an unknown input-object key or enum value such as
`"İstanbul"` in a client's variables raised IndexError while the error message was being
built (INTERNAL_SERVER_ERROR, found by the generated requests). Sized by the lower-cased
input instead, the suggestions come out as graphql-core means them. Installed once, when
graph/schema/root.py is imported; remove when graphql-core sizes the rows itself.
"""

import importlib

from graphql.pyutils.suggestion_list import LexicalDistance

# The module itself: `graphql.pyutils.suggestion_list` as an attribute is the function.
_SUGGESTION_LIST = importlib.import_module("graphql.pyutils.suggestion_list")


class _LexicalDistance(LexicalDistance):
    """graphql-core's distance, with rows as long as the lower-cased input."""

    def __init__(self, input_: str) -> None:
        super().__init__(input_)
        row_size = len(self._input_lower_case) + 1
        self._rows = [[0] * row_size, [0] * row_size, [0] * row_size]


def install() -> None:
    """Make graphql-core's `suggestion_list` measure with the fixed distance."""
    setattr(_SUGGESTION_LIST, "LexicalDistance", _LexicalDistance)  # noqa: B010 - a module global
