"""The schema's hook runner enters the hooks Strawberry's own runner would, in the same order."""

from collections.abc import AsyncIterator, Iterator

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
)
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from graph.schema.extension_hooks import HookRunner
from graph.schema.root import schema


def _strawberry_hooks(manager: type, extensions: list[SchemaExtension]) -> list[tuple[int, bool]]:
    made = manager(extensions)
    return [(extensions.index(hook.extension), hook.is_async) for hook in made.hooks]


def test_every_phase_has_strawberrys_hooks_for_the_schemas_extensions():
    extensions = schema.get_extensions()
    runner = HookRunner(execution_context=None, extensions=extensions)  # type: ignore[arg-type]
    phases = {
        OperationContextManager: runner.operation(),
        ParsingContextManager: runner.parsing(),
        ValidationContextManager: runner.validation(),
        ExecutingContextManager: runner.executing(),
    }

    for strawberry_manager, ours in phases.items():
        expected = _strawberry_hooks(strawberry_manager, extensions)
        found = [(extensions.index(hook.extension), hook.is_async) for hook in ours.hooks]
        assert found == expected, strawberry_manager.HOOK_NAME
        assert expected, "each phase has at least one of our hooks"


@strawberry.type
class _Query:
    @strawberry.field
    def answer(self) -> int:
        return 42


async def test_hooks_run_nested_in_order_with_plain_function_hooks_too():
    entered: list[str] = []

    class Outer(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            entered.append("outer in")
            yield
            entered.append("outer out")

    class Inner(SchemaExtension):
        async def on_execute(self) -> AsyncIterator[None]:
            entered.append("inner in")
            yield
            result = self.execution_context.result
            entered.append(f"inner out: {getattr(result, 'data', None)}")

    class Plain(SchemaExtension):
        # A plain function: Strawberry takes those too (its runner wraps them per request).
        def on_validate(self) -> None:  # type: ignore[override]
            entered.append("plain")

    class Runner(strawberry.Schema):
        def create_extensions_runner(
            self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
        ) -> SchemaExtensionsRunner:
            return HookRunner(execution_context=execution_context, extensions=extensions)

    tested = Runner(query=_Query, extensions=[Outer, Plain, Inner])
    result = await tested.execute("{ answer }")

    assert result.data == {"answer": 42}
    assert entered == ["outer in", "plain", "inner in", "inner out: {'answer': 42}", "outer out"]


async def test_an_error_in_execution_reaches_the_hooks_around_it():
    seen: list[str] = []

    @strawberry.type
    class Failing:
        @strawberry.field
        def boom(self) -> int:
            message = "boom"
            raise ValueError(message)

    class Watch(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            yield
            errors = getattr(self.execution_context.result, "errors", None) or []
            seen.extend(error.message for error in errors)

    class Runner(strawberry.Schema):
        def create_extensions_runner(
            self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
        ) -> SchemaExtensionsRunner:
            return HookRunner(execution_context=execution_context, extensions=extensions)

    result = await Runner(query=Failing, extensions=[Watch]).execute("{ boom }")

    assert result.errors is not None
    assert seen == ["boom"]
