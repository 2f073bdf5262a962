"""The fast path: run a supported query as its one compiled statement, inside Strawberry's hooks.

`FastPath.execute` answers a request or returns None (the general path then runs it). For a
supported operation it runs Strawberry's own operation pipeline (every schema extension's
`on_operation`, parsing and validation with their caches, the same operation-type checks) and
only replaces graphql-core's execution by the statement: validation errors and limits come out
exactly as on the general path, and metrics and statement counting see the request.
"""

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import DocumentNode, GraphQLError
from graphql import ExecutionResult as GraphQLExecutionResult
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import _coerce_error
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from graph.compiler.json_sql import ascii_json
from graph.compiler.transpile import Plan, compile_operation, viewer_kind
from graph.core.context import Context
from graph.schema.query_limits import limits_of, parse_cached

# Distinct (document, operation, viewer kind) plans kept; clients send a few dozen documents.
PLANS_CACHED = 512


@dataclass(frozen=True, slots=True)
class RawData:
    """The `data` of a response as JSON bytes, already encoded by PostgreSQL."""

    json: bytes


class PlanCache:
    """A bounded LRU of plans (None for documents the compiler does not support)."""

    def __init__(self, maxsize: int = PLANS_CACHED) -> None:
        """Keep at most `maxsize` plans."""
        self.maxsize = maxsize
        self._plans: OrderedDict[tuple[str, str | None, str], Plan | None] = OrderedDict()
        self._lock = threading.Lock()
        self.compiled = 0

    def __len__(self) -> int:
        """How many plans are cached."""
        return len(self._plans)

    def get(
        self,
        schema: strawberry.Schema,
        query: str,
        operation_name: str | None,
        kind_of: Any,  # noqa: ANN401 - a viewer or None
        *,
        max_tokens: int | None = None,
    ) -> Plan | None:
        """The cached plan, compiled on first use (None past `max_tokens` tokens)."""
        key = (query, operation_name, viewer_kind(kind_of))
        with self._lock:
            if key in self._plans:
                self._plans.move_to_end(key)
                return self._plans[key]
        plan = _compile(schema, query, operation_name, kind_of, max_tokens)
        with self._lock:
            self.compiled += 1
            self._plans[key] = plan
            while len(self._plans) > self.maxsize:
                self._plans.popitem(last=False)
        return plan


def _compile(
    schema: strawberry.Schema,
    query: str,
    operation_name: str | None,
    viewer: Any,  # noqa: ANN401
    max_tokens: int | None,
) -> Plan | None:
    try:
        # Through Strawberry's parser cache, with its options: the parse is shared with the
        # operation pipeline that runs next, and the token limit applies here too.
        document: DocumentNode = parse_cached(query, max_tokens=max_tokens)
    except GraphQLError:
        return None
    return compile_operation(schema._schema, document, operation_name, viewer)  # noqa: SLF001 - graphql-core's schema


class FastPath:
    """Answers supported queries with one statement; owns the plan cache."""

    def __init__(self, schema: strawberry.Schema, *, plans: PlanCache | None = None) -> None:
        """Serve operations of `schema`."""
        self.schema = schema
        self.plans = plans if plans is not None else PlanCache()

    async def execute(  # noqa: PLR0913 - the request's pieces, as Strawberry passes them
        self,
        *,
        query: str | None,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Context,
        allowed_operation_types: Iterable[OperationType],
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult | None:
        """The response of a supported query; None when the general path must run it."""
        if not query or OperationType.QUERY not in set(allowed_operation_types):
            return None
        plan = self.plans.get(
            self.schema,
            query,
            operation_name,
            context.viewer,
            max_tokens=limits_of(context).max_tokens,
        )
        if plan is None:
            return None
        try:
            parameters = plan.bind(variables, context.viewer)
        except GraphQLError:
            # An invalid document (a required argument left out): Strawberry's validation, on
            # the general path, reports it with its code.
            return None
        if parameters is None:
            return None
        return await self._run(
            plan,
            parameters,
            query=query,
            variables=variables,
            operation_name=operation_name,
            context=context,
            allowed_operation_types=allowed_operation_types,
            operation_extensions=operation_extensions,
        )

    async def _run(  # noqa: PLR0913 - as `execute`
        self,
        plan: Plan,
        parameters: tuple[Any, ...],
        *,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Context,
        allowed_operation_types: Iterable[OperationType],
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult:
        # Strawberry's `Schema.execute`, with the statement in place of graphql-core's execute.
        schema = self.schema
        execution_context = schema._create_execution_context(  # noqa: SLF001
            query=query,
            allowed_operation_types=allowed_operation_types,
            variable_values=variables,
            context_value=context,
            root_value=None,
            operation_name=operation_name,
            operation_extensions=operation_extensions,
        )
        extensions = schema.get_extensions()
        for extension in extensions:
            extension.execution_context = execution_context
        runner = schema.create_extensions_runner(execution_context, extensions)
        middleware = schema._get_middleware_manager(extensions)  # noqa: SLF001

        async def run_statement(*_args: Any, **_kwargs: Any) -> GraphQLExecutionResult:  # noqa: ANN401 - graphql-core's execute signature, ignored
            try:
                body = await context.db.run(lambda session: _fetch(session, plan, parameters))
            except Exception as error:  # noqa: BLE001 - as graphql-core: a failure is an error
                # Masked (timeout, unavailable database: 503) by the error extension, as there.
                return GraphQLExecutionResult(
                    data=None, errors=[GraphQLError(str(error), original_error=error)]
                )
            return GraphQLExecutionResult(data=RawData(body), errors=None)  # type: ignore[arg-type]

        try:
            async with runner.operation():
                if errors := await schema._prepare_operation_async(execution_context, runner):  # noqa: SLF001
                    return await schema._handle_execution_result(  # noqa: SLF001
                        execution_context, errors, runner
                    )
                result = await schema._execute_operation(  # noqa: SLF001
                    execution_context,
                    runner,
                    middleware,
                    run_statement,
                    schema._get_custom_context_kwargs(operation_extensions),  # noqa: SLF001
                )
        except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError):
            raise
        except Exception as error:  # noqa: BLE001 - as Strawberry: every failure becomes a GraphQL error
            return await schema._handle_execution_result(  # noqa: SLF001
                execution_context,
                PreExecutionError(data=None, errors=[_coerce_error(error)]),
                runner,
            )
        return await schema._handle_execution_result(  # noqa: SLF001
            execution_context, result, runner, skip_process_errors=True
        )


async def _fetch(session: AsyncSession, plan: Plan, parameters: tuple[Any, ...]) -> bytes:
    connection = await session.connection()
    result = await connection.exec_driver_sql(plan.sql, parameters)
    text: str = result.scalar_one()
    return ascii_json(text.encode())


def encode_response(data: object) -> bytes | None:
    """The response body when `data` (a response or a batch) holds fast-path results; else None.

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
