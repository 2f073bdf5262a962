"""The compiled path inside Strawberry's execution: a schema extension that answers reads.

`CompiledReads` is one of the schema's extensions (graph/schema/root.py). In its `on_execute`
hook, for a query whose context asks for compiled reads (`Context.compiled_reads`, set from
the `fast_path` setting), it plans the already parsed and validated document once, binds the
request's arguments and runs the plan's one statement; it then hands Strawberry the result, and
Strawberry skips graphql-core's execution (`execution_context.result` set before execution is
Strawberry's public way to answer from elsewhere, as its caching examples do). Everything else
about the request (parsing, validation, limits, metrics, the deadline, error masking) is the
same code for both paths, because it is the same pipeline. What the compiler cannot plan runs
on the loader path, and `sartiq_graphql_read_path_total` counts which path answered.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

from graphql import DocumentNode, GraphQLError, GraphQLSchema, get_operation_ast
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import execute as graphql_execute
from graphql.execution.values import VariableValues, get_variable_values
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe

from graph.compiler.builder import decisions
from graph.compiler.json_sql import ascii_json, declined
from graph.compiler.transpile import Plan, compile_operation, viewer_kind
from graph.core.bounded_cache import MISSING, BoundedCache
from graph.core.context import Context

# Distinct (document, operation, viewer kind) plans kept; clients send a few dozen documents.
PLANS_CACHED = 512

READ_PATH = Counter(
    "sartiq_graphql_read_path_total",
    "Query operations by the path that answered them: compiled (one statement) or loaders.",
    ["path"],
)


@dataclass(frozen=True, slots=True)
class RawData:
    """The `data` of a response as JSON bytes, already encoded by PostgreSQL."""

    json: bytes


class PlanCache:
    """A bounded LRU of plans (None for documents the compiler does not support)."""

    def __init__(self, maxsize: int = PLANS_CACHED) -> None:
        """Keep at most `maxsize` plans."""
        self._plans = BoundedCache(maxsize)
        self.compiled = 0

    def __len__(self) -> int:
        """How many plans are cached."""
        return len(self._plans)

    def get(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        key: tuple[str, str | None],
        viewer: Any,  # noqa: ANN401 - a viewer or None
        variables: VariableValues | None = None,
    ) -> Plan | None:
        """The cached plan of `document` (its text and operation name are `key`).

        With `variables`, its `@skip`/`@include` decided by them key the plan too.
        """
        decided = decisions(document, variables) if variables is not None else ()
        cache_key = (*key, viewer_kind(viewer), decided)
        cached = self._plans.get(cache_key)
        if cached is not MISSING:
            return cast("Plan | None", cached)
        plan = compile_operation(schema, document, key[1], viewer, variables)
        self.compiled += 1
        self._plans.put(cache_key, plan)
        return plan


# One cache per process: plans depend on the schema and the document, not on the app.
PLANS = PlanCache()


class CompiledReads(SchemaExtension):
    """Answer a query with its compiled statement when the request allows it and it plans."""

    plans: PlanCache = PLANS

    async def on_execute(self) -> AsyncIterator[None]:
        """Set the compiled answer as the execution's result, or leave execution to graphql-core."""
        execution = self.execution_context
        context = execution.context
        cancelled: asyncio.CancelledError | None = None
        # A result set already is an earlier extension's refusal (a bad variable, a cost over
        # the limit): nothing runs then, on either path.
        if execution.result is None and execution.operation_type is OperationType.QUERY:
            answered = False
            if isinstance(context, Context) and context.compiled_reads:
                try:
                    answer = await self._answer(context)
                except asyncio.CancelledError as error:
                    # Past the deadline: re-raised below, once the hooks entered before this
                    # one (graph/schema/deadline.py) can receive it at their `yield`.
                    cancelled = error
                    answer = GraphQLExecutionResult(data=None, errors=None)
                if answer is not None:
                    execution.result = answer
                    answered = True
            READ_PATH.labels("compiled" if answered else "loaders").inc()
        yield
        if cancelled is not None:
            raise cancelled

    def _plan(self, context: Context, document: DocumentNode) -> Plan | None:
        """The request's plan, its `@skip`/`@include` decided by its variables if it has any."""
        execution = self.execution_context
        schema = execution.schema._schema  # noqa: SLF001 - graphql-core's schema
        variables = None
        if "@" in (execution.query or ""):  # directives (or an @ in a string): decide them
            variables = _coerced_variables(schema, document, execution)
            if variables is None:
                return None
        return self.plans.get(
            schema,
            document,
            (execution.query or "", execution.operation_name),
            context.viewer,
            variables,
        )

    async def _answer(self, context: Context) -> GraphQLExecutionResult | None:
        execution = self.execution_context
        document = execution.graphql_document
        if document is None or execution.pre_execution_errors:
            return None
        plan = self._plan(context, document)
        bound = plan.bind(execution.variables, context, execution.schema) if plan else None
        if plan is None or bound is None:
            # Not planned, or an argument the loader path refuses: it reports the error.
            return None
        try:
            texts = await context.db.run(
                lambda session: _fetch(session, bound.sql, bound.parameters),
                plan_as_search=bound.plan_as_search,
            )
        except Exception as error:  # noqa: BLE001 - as graphql-core: a failure is an error
            # Masked (timeout, unavailable database: 503) by the error extension, as there.
            return GraphQLExecutionResult(
                data=None, errors=[GraphQLError(str(error), original_error=error)]
            )
        if declined(texts):
            # A value the statement could not render as the loader path does (a history the
            # viewer may not read, which it refuses with an error): the loader path answers.
            return None
        loader_document = plan.loader_document(bound.demoted)
        if loader_document is None:
            return GraphQLExecutionResult(data=RawData(_ascii(plan.data(texts, None))))  # type: ignore[arg-type]
        return await self._with_loaded_fields(plan, texts, context, loader_document, bound.demoted)

    async def _with_loaded_fields(
        self,
        plan: Plan,
        texts: list[str],
        context: Context,
        loader_document: DocumentNode,
        demoted: frozenset[int],
    ) -> GraphQLExecutionResult:
        """The statement's fields beside those graphql-core resolves, after it.

        They are the root fields the compiler does not plan (a raw-SQL aggregate) and those
        the request demoted (`demoted`: an ID only the loader path reads); after the
        statement, because the request has one connection.
        """
        execution = self.execution_context
        loaded = await await_maybe(
            graphql_execute(
                execution.schema._schema,  # noqa: SLF001 - graphql-core's schema
                loader_document,
                context_value=context,
                variable_values=execution.variables,
                operation_name=execution.operation_name,
                # Strawberry's own executor, as its execution passes it.
                executor_class=execution.schema.execution_context_class,
            )
        )
        if loaded.data is None:  # a non-null root field failed: no data at all, as there
            return loaded
        return GraphQLExecutionResult(
            data=RawData(_ascii(plan.data(texts, loaded.data, demoted))),  # type: ignore[arg-type]
            errors=loaded.errors,
        )


def _coerced_variables(
    schema: GraphQLSchema, document: DocumentNode, execution: ExecutionContext
) -> VariableValues | None:
    """The operation's variables as graphql-core coerces them; None if they do not coerce."""
    operation = get_operation_ast(document, execution.operation_name)
    if operation is None:
        return None
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), execution.variables or {}
    )
    return None if isinstance(coerced, list) else coerced


def _ascii(text: str) -> bytes:
    return ascii_json(text.encode())


async def _fetch(session: AsyncSession, sql: str, parameters: tuple[Any, ...]) -> list[str]:
    connection = await session.connection()
    result = await connection.exec_driver_sql(sql, parameters)
    return list(result.one())


def encode_response(data: object) -> bytes | None:
    """The response body when `data` (a response or a batch) holds compiled results; else None.

    `{"data": <bytes>}` is spliced without decoding; anything else around it goes through
    the general encoder, as `json.dumps(..., separators=(",", ":"))` writes it.
    """
    if isinstance(data, dict):
        raw = data.get("data")
        if not isinstance(raw, RawData):
            return None
        if data.keys() == {"data"}:
            return b'{"data":' + raw.json + b"}"
        import json  # noqa: PLC0415 - only for the rare response with extensions

        rest = {key: value for key, value in data.items() if key != "data"}
        head = json.dumps(rest, separators=(",", ":")).encode()
        return b'{"data":' + raw.json + b"," + head[1:] if rest else b'{"data":' + raw.json + b"}"
    if isinstance(data, list) and any(
        isinstance(item, dict) and isinstance(item.get("data"), RawData) for item in data
    ):
        import json  # noqa: PLC0415

        parts = [
            encode_response(item) or json.dumps(item, separators=(",", ":")).encode()
            for item in data
        ]
        return b"[" + b",".join(parts) + b"]"
    return None
