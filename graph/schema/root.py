"""The Strawberry schema: root query and the extensions every operation runs through."""

import datetime as dt
from decimal import Decimal

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from graph.compiler import CompiledReads
from graph.core.bounded_cache import BoundedCache
from graph.core.geo import GEOJSON_SCALAR, GeoJSON
from graph.core.node_queries import NodeQueries
from graph.core.scalars import DATETIME_SCALAR, DECIMAL_SCALAR
from graph.entities.booking.mutations import BookingMutations
from graph.entities.booking.queries import BookingListQueries
from graph.entities.booking.type import Booking
from graph.entities.login_session.type import LoginSession
from graph.entities.media.mutations import MediaMutations
from graph.entities.media.queries import MediaListQueries
from graph.entities.media.type import Media
from graph.entities.user.account import AccountMutations
from graph.entities.user.queries import UserListQueries
from graph.entities.user.type import User
from graph.entities.user.viewer import ViewerQueries
from graph.entities.venue.mutations import VenueMutations
from graph.entities.venue.queries import VenueListQueries, VenueQueries
from graph.entities.venue.type import Venue
from graph.live.context import OperationScope
from graph.live.subscriptions import Subscription
from graph.reports.booking_stats import StatsQueries
from graph.reports.database_health import HealthQueries
from graph.schema import graphql_core_fixes
from graph.schema.consistency import ReadConsistency
from graph.schema.deadline import RequestDeadline
from graph.schema.error_codes import MaskUnexpectedErrors, ValidationCodes, assign_code
from graph.schema.extension_hooks import HookRunner
from graph.schema.input_hygiene import InputHygiene
from graph.schema.metrics import OperationMetrics, count_errors
from graph.schema.operation_selection import SingleOperation
from graph.schema.query_limits import PARSED_DOCUMENTS_CACHED, QueryLimiter
from graph.schema.validation_cache import TextValidationCache
from graph.search.queries import SearchQueries


@strawberry.type(description="Everything a client can read.")
class Query(
    VenueQueries,
    NodeQueries,
    ViewerQueries,
    VenueListQueries,
    BookingListQueries,
    MediaListQueries,
    UserListQueries,
    SearchQueries,
    StatsQueries,
    HealthQueries,
):
    """The root query: each area's fields, inherited.

    Strawberry lists inherited fields base by base, in this order, so the bases keep the
    root fields' order of `schema.graphql` (hence `venue` apart from `venues`).
    """


@strawberry.type(description="Everything a client can change.")
class Mutation(AccountMutations, VenueMutations, BookingMutations, MediaMutations):
    """The root mutation: each area's mutations, inherited."""


class Schema(strawberry.Schema):
    """Strawberry's schema, with our error codes and a leaner runner of extension hooks."""

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        """Strawberry's runner, finding each class's hooks once (schema/extension_hooks.py)."""
        return HookRunner(execution_context=execution_context, extensions=extensions)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Give every error its `extensions.code`.

        Strawberry calls this for every result with errors, parse failures included (which
        end before extensions see the result). Unexpected exceptions are logged, with the
        request id, where they are masked.
        """
        del execution_context
        for error in errors:
            assign_code(error)
        count_errors(errors)


graphql_core_fixes.install()

# Shared by every request's validation (graph/schema/validation_cache.py).
VALIDATION_RESULTS = BoundedCache(maxsize=PARSED_DOCUMENTS_CACHED)

schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    # Reachable only through the `Node` interface from the root, so listed explicitly.
    types=[Booking, Media, LoginSession, User, Venue],
    config=StrawberryConfig(
        scalar_map={GeoJSON: GEOJSON_SCALAR, dt.datetime: DATETIME_SCALAR, Decimal: DECIMAL_SCALAR}
    ),
    extensions=[
        InputHygiene,
        # Before ParserCache: its `on_parse` caps the parser's tokens.
        QueryLimiter,
        ValidationCodes,  # after QueryLimiter, whose rules it tags
        # After the extensions setting the rules in their `on_validate`, as it validates in its.
        lambda: TextValidationCache(VALIDATION_RESULTS),
        # After the validation cache, whose errors it adds to; before ParserCache, as its `on_parse`
        # notes the operation name the request gave before the document exists.
        SingleOperation,
        lambda: ParserCache(maxsize=PARSED_DOCUMENTS_CACHED),
        MaskUnexpectedErrors,
        OperationMetrics,
        # Last, so its execution hook is the innermost: it turns the cancellation into
        # QUERY_TIMEOUT before the other extensions see it.
        RequestDeadline,
        # Opens the short session a query or mutation sent over a websocket reads in.
        OperationScope,
        # Inside the websocket's session, before any resolver reads: a mutation's reads, and
        # a request's behind its consistency token, go to the primary.
        ReadConsistency,
        # Innermost of all: it answers a query in place of graphql-core's execution, inside
        # every other extension's hooks (the deadline's included).
        CompiledReads,
    ],
)
