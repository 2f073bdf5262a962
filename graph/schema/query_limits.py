"""Query safety: token, depth, alias, width and cost limits and the introspection switch.

All of them are checked before execution, so a refused operation runs no SQL, and each in time
linear in the document. The token limit stops the parser. Depth, aliases, width and the number
of fields once fragments are inlined (graph/schema/query_depth.py) are checked right after parsing:
a document over them is refused before graphql-core's own validation rules run (some of
which take time quadratic in a selection set's width), and they are also a validation rule,
cached with the document's validation, with Strawberry's `DisableIntrospection`. The cost
(graph/schema/query_cost.py) is computed once the operation is valid, just before it would run. The
limits come from the settings of the app serving the request (`app.state.query_limits`), else
from the process settings.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Self, cast

from graphql import (
    ASTValidationRule,
    GraphQLSchema,
    OperationDefinitionNode,
    get_operation_ast,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.values import get_variable_values
from strawberry.extensions import DisableIntrospection, SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from graph.core.bounded_cache import MISSING, BoundedCache
from graph.core.errors import QueryTooCostlyError
from graph.schema.query_cost import operation_cost
from graph.schema.query_depth import ShapeLimits, limits_rule, within_limits
from models.settings import Settings, get_settings

# Distinct operation documents kept parsed and validated; clients send a few dozen.
PARSED_DOCUMENTS_CACHED = 512
# Costs kept per (document, operation, variables); variables longer than this are not keyed.
COSTS_CACHED = 2048
MAX_KEYED_VARIABLES_CHARS = 512


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """The limits one app applies to every operation."""

    max_depth: int
    max_aliases: int
    max_tokens: int
    max_cost: int
    max_selections: int
    max_same_name_pairs: int
    introspection: bool
    request_timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The limits `settings` configure."""
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_cost=settings.max_query_cost,
            max_selections=settings.max_selections,
            max_same_name_pairs=settings.max_same_name_pairs,
            introspection=settings.introspection,
            request_timeout_seconds=settings.request_timeout_seconds,
        )

    # Made once (graph/schema/query_depth.py checks it on every request's document).
    shape: ShapeLimits = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Derive the limits checked on the document's shape."""
        shape = ShapeLimits(
            max_depth=self.max_depth,
            max_aliases=self.max_aliases,
            # A document whose fields, fragments inlined, outnumber the cost limit costs
            # more than it whatever its variables (each field costs at least 1 per page).
            max_fields=self.max_cost,
            max_width=self.max_selections,
            max_same_name_pairs=self.max_same_name_pairs,
        )
        object.__setattr__(self, "shape", shape)  # frozen: set once, here


@lru_cache(maxsize=32)
def validation_rules(limits: QueryLimits) -> tuple[type[ASTValidationRule], ...]:
    """The rules enforcing `limits`: the same classes every time, so validation stays cached."""
    rules: list[type[ASTValidationRule]] = [limits_rule(limits.shape)]
    if not limits.introspection:
        rules.extend(DisableIntrospection().validation_rules)
    return tuple(rules)


def limits_of(context: object) -> QueryLimits:
    """The limits of the app serving the request, else those of the process settings."""
    request = getattr(context, "request", None)
    state = getattr(getattr(request, "app", None), "state", None)
    limits = getattr(state, "query_limits", None)
    if isinstance(limits, QueryLimits):
        return limits
    return _process_limits()


@lru_cache(maxsize=1)
def _process_limits() -> QueryLimits:
    return QueryLimits.from_settings(get_settings())


class QueryLimiter(SchemaExtension):
    """Refuse, before execution, operations over the limits of `limits_of(context)`."""

    def on_parse(self) -> Iterator[None]:
        """Cap the parser's tokens and add the limits' rules; then check the document's shape.

        Set up here rather than around the whole operation: a subscription's operation lasts
        as long as it does, and would keep this hook suspended all along. The extension is
        listed before `ParserCache`, whose hook parses, so the cap applies to that parse.

        A document over the shape limits is refused before the costlier validation rules
        run: validation then runs only the rule reporting the refusal (the same class as in
        the full set, so the validation cache still applies).
        """
        context = self.execution_context
        self._limits = limits_of(context.context)
        # What Strawberry's MaxTokensLimiter does, with the limit known only per request.
        context.parse_options["max_tokens"] = self._limits.max_tokens
        context.validation_rules = (*context.validation_rules, *validation_rules(self._limits))
        yield
        document = context.graphql_document
        if document is not None and not within_limits(document, self._limits.shape):
            context.validation_rules = (limits_rule(self._limits.shape),)

    def on_execute(self) -> Iterator[None]:
        """Answer `QUERY_TOO_COSTLY` instead of running a valid operation that costs too much."""
        context = self.execution_context
        if context.result is None and context.graphql_document is not None:
            cost = COSTS.cost(context)
            if cost is not None and cost > self._limits.max_cost:
                message = (
                    f"The operation would cost {cost}, over the limit of "
                    f"{self._limits.max_cost}: ask for smaller pages or fewer nested lists."
                )
                error = QueryTooCostlyError(
                    message,
                    cost=cost,
                    maxCost=self._limits.max_cost,
                )
                if context.operation_type is OperationType.SUBSCRIPTION:
                    # Strawberry starts a subscription whatever result an extension set; an
                    # error raised here ends it before it starts, answered as its result.
                    raise error
                # Strawberry runs no execution when an extension has set the result.
                context.result = GraphQLExecutionResult(data=None, errors=[error])
        yield


class OperationCosts:
    """Operation costs, computed once per document, operation and variables (a bounded LRU).

    The walk with the variables coerced was about a twentieth of a small read's time, and a
    client sends the same few documents with the same few variable sets over and over. The
    key is the document's text with the variables as sent (JSON), so a cost is never reused
    for another document; variables too long to key are walked every time.
    """

    def __init__(self, maxsize: int = COSTS_CACHED) -> None:
        """Keep at most `maxsize` costs."""
        self._costs = BoundedCache(maxsize)

    def cost(self, context: ExecutionContext) -> int | None:
        """The cost of the request's operation; None when its variables do not coerce."""
        key = _cost_key(context)
        if key is not None:
            cached = self._costs.get(key)
            if cached is not MISSING:
                return cast("int | None", cached)
        cost = _walk_cost(context)
        if key is not None:
            self._costs.put(key, cost)
        return cost


def _cost_key(context: ExecutionContext) -> tuple[str, str | None, str] | None:
    if context.query is None:
        return None
    try:
        variables = json.dumps(context.variables or {}, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):  # values a Python caller passed, not JSON
        return None
    if len(variables) > MAX_KEYED_VARIABLES_CHARS:
        return None
    return context.query, context.operation_name, variables


def _walk_cost(context: ExecutionContext) -> int | None:
    document = context.graphql_document
    if document is None:
        return None
    schema = context.schema._schema  # noqa: SLF001 - graphql-core's schema, which the cost walks
    operation = get_operation_ast(document, context.operation_name)
    variables = _coerced_variables(schema, operation, context.variables)
    if variables is None:
        return None
    return operation_cost(
        schema, document, operation_name=context.operation_name, variables=variables
    )


# One per process: a cost depends on the schema and the request only.
COSTS = OperationCosts()


def _coerced_variables(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode | None,
    variables: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """The variables with their defaults applied; None when invalid (execution reports it)."""
    if operation is None:
        return None
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), variables or {}, max_errors=1
    )
    return None if isinstance(coerced, list) else dict(coerced.coerced)
