"""The order of a user's `sessions`: newest first, as the other lists' orderings are declared."""

import enum

import models
from graph.core.cursors import KeyKind
from graph.core.paging import Ordering, SortKey

# Ties on the start time go to the higher id, so the order is total. The name is part of
# every `sessions` cursor.
SESSIONS_NEWEST_FIRST = Ordering(
    "Session.CREATED_AT_DESC",
    (
        SortKey.column(models.LoginSession.created_at, KeyKind.DATETIME, descending=True),
        SortKey.column(models.LoginSession.id, KeyKind.UUID, descending=True),
    ),
)


class SessionOrder(enum.Enum):
    """The one order a user's sessions come in (the field takes no `orderBy`)."""

    CREATED_AT_DESC = "CREATED_AT_DESC"
