"""Every string and number a request carries, checked before any resolver runs.

PostgreSQL cannot store U+0000 in text or JSONB, asyncpg cannot encode a lone UTF-16
surrogate, and JSONB refuses `Infinity`; numbers beyond a double are read as `inf`. Such
values used to travel down to a statement and fail there (INTERNAL_SERVER_ERROR and a
traceback). `InputHygiene` refuses them up front, wherever they are: in any argument or
input field, in any key or value inside a `JSON` or `GeoJSON` value, as literals in the
document and as variables. Each refusal is BAD_USER_INPUT with `extensions.field` naming
the argument or variable and the input fields down to the value (`input.name`,
`filter.amenities`), and the `DateTime` and `Decimal` scalars' own refusals
(graph/core/scalars.py) get the same field.

Literals are checked by validation (so cached with the document), through a
`ValuesOfCorrectTypeRule` that also names the field of every literal it refuses; variables
are checked when the operation is about to run, before any resolver.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any

from graphql import (
    SKIP,
    ArgumentNode,
    DocumentNode,
    FloatValueNode,
    GraphQLError,
    GraphQLInputType,
    GraphQLSchema,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    VisitorAction,
    get_operation_ast,
    is_input_object_type,
    is_input_type,
    is_list_type,
    is_non_null_type,
    is_scalar_type,
    type_from_ast,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.utilities import validate_input_literal
from graphql.validation import ValidationContext, ValuesOfCorrectTypeRule
from strawberry.extensions import SchemaExtension

from graph.core.errors import ErrorCode
from graph.core.scalars import (
    ScalarValueError,
    literal_number_problem,
    number_problem,
    scalar_problem,
    text_problem,
)

# Errors reported per value at most: enough to fix a form, not a flood for a hostile one.
MAX_ERRORS = 10


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong with one value, and the field (`input.name`) it was given for."""

    field: str
    problem: str

    def error(self, node: ValueNode | VariableDefinitionNode | None = None) -> GraphQLError:
        """The BAD_USER_INPUT error clients get for it."""
        return GraphQLError(
            f"`{self.field}` {self.problem}.",
            node,
            extensions={"code": ErrorCode.BAD_USER_INPUT.value, "field": self.field},
        )


def _unwrapped(type_: GraphQLInputType | None) -> GraphQLInputType | None:
    return type_.of_type if type_ is not None and is_non_null_type(type_) else type_


def value_problems(value: object, type_: GraphQLInputType | None, field: str) -> Iterator[Problem]:
    """The problems of a variable's value (as decoded from JSON), `type_` its declared type.

    Input objects and lists are followed by type, so `field` grows with input field names;
    inside a scalar (`JSON`, `GeoJSON`), or where the type is unknown, every key, string and
    number is checked and reported against the field holding it. Iterative, so any depth.
    """
    stack: list[tuple[object, GraphQLInputType | None, str]] = [(value, type_, field)]
    while stack:
        item, item_type, path = stack.pop()
        item_type = _unwrapped(item_type)
        if item_type is not None and is_list_type(item_type):
            items = item if isinstance(item, list) else [item]
            stack.extend((each, item_type.of_type, path) for each in reversed(items))
        elif item_type is not None and is_input_object_type(item_type) and isinstance(item, dict):
            for key, each in reversed(item.items()):
                known = item_type.fields.get(key) if isinstance(key, str) else None
                if known is None:
                    stack.append(({key: each}, None, path))
                else:
                    stack.append((each, known.type, f"{path}.{key}"))
        elif item_type is not None and is_scalar_type(item_type) and item is not None:
            error = scalar_problem(item_type.name, item)
            if error is not None:
                yield Problem(path, error.problem)
            else:
                stack.append((item, None, path))
        else:
            yield from _contents_problems(item, path, stack)


def _contents_problems(
    item: object, path: str, stack: list[tuple[object, GraphQLInputType | None, str]]
) -> Iterator[Problem]:
    if isinstance(item, str):
        if problem := text_problem(item):
            yield Problem(path, problem)
    elif isinstance(item, bool):
        return
    elif isinstance(item, int | float):
        if problem := number_problem(item):
            yield Problem(path, problem)
    elif isinstance(item, dict):
        for key, each in reversed(item.items()):
            if isinstance(key, str) and (problem := text_problem(key)):
                yield Problem(path, f"has a key that {problem}")
            stack.append((each, None, path))
    elif isinstance(item, list):
        stack.extend((each, None, path) for each in reversed(item))


def literal_problems(
    node: ValueNode, type_: GraphQLInputType | None, field: str
) -> Iterator[Problem]:
    """The problems of a literal in the document, as `value_problems` for a variable.

    The scalars' own checks have run already (validation calls their parsers), and
    variables inside the literal are checked as variables.
    """
    stack: list[tuple[ValueNode, GraphQLInputType | None, str]] = [(node, type_, field)]
    while stack:
        item, item_type, path = stack.pop()
        item_type = _unwrapped(item_type)
        if isinstance(item, VariableNode):
            continue
        if item_type is not None and is_list_type(item_type):
            items = item.values if isinstance(item, ListValueNode) else (item,)
            stack.extend((each, item_type.of_type, path) for each in reversed(items))
        elif item_type is not None and is_input_object_type(item_type):
            if isinstance(item, ObjectValueNode):
                for each in reversed(item.fields):
                    known = item_type.fields.get(each.name.value)
                    inner = f"{path}.{each.name.value}" if known else path
                    stack.append((each.value, known.type if known else None, inner))
        else:
            yield from _literal_contents_problems(item, path, stack)


def _literal_contents_problems(
    item: ValueNode, path: str, stack: list[tuple[ValueNode, GraphQLInputType | None, str]]
) -> Iterator[Problem]:
    if isinstance(item, StringValueNode):
        if problem := text_problem(item.value):
            yield Problem(path, problem)
    elif isinstance(item, IntValueNode | FloatValueNode):
        if problem := literal_number_problem(item.value):
            yield Problem(path, problem)
    elif isinstance(item, ObjectValueNode):
        stack.extend((each.value, None, path) for each in reversed(item.fields))
    elif isinstance(item, ListValueNode):
        stack.extend((each, None, path) for each in reversed(item.values))


def variable_problems(
    schema: GraphQLSchema,
    document: DocumentNode | None,
    operation_name: str | None,
    variables: object,
) -> list[Problem]:
    """The problems of a request's variables, each named by its variable and input fields."""
    if not isinstance(variables, dict) or not variables:
        return []
    declared: dict[str, GraphQLInputType] = {}
    operation = get_operation_ast(document, operation_name) if document is not None else None
    for definition in (operation.variable_definitions or ()) if operation is not None else ():
        declared_type = type_from_ast(schema, definition.type)
        if declared_type is not None and is_input_type(declared_type):
            declared[definition.variable.name.value] = declared_type
    found: Iterable[Problem] = chain.from_iterable(
        value_problems(
            value,
            declared.get(name),
            name if isinstance(name, str) and not text_problem(name) else "variables",
        )
        for name, value in variables.items()
    )
    return list(islice(found, MAX_ERRORS))


class ValuesOfCorrectTypeNamingField(ValuesOfCorrectTypeRule):
    """graphql-core's check of literals, plus `literal_problems`, each error naming its field.

    graphql-core reports a literal of the wrong type without saying which argument it was
    given for; this rule adds `extensions.field` (`filter.startsAt.from`) and the code.
    """

    def __init__(self, context: ValidationContext) -> None:
        """Start outside any argument."""
        super().__init__(context)
        self._root = ""

    def enter_argument(self, node: ArgumentNode, *_args: object) -> None:
        """Name the values that follow after this argument."""
        self._root = node.name.value

    def enter_variable_definition(self, node: VariableDefinitionNode, *_args: object) -> None:
        """Name a variable's default value after the variable."""
        self._root = node.variable.name.value

    def is_valid_value_node(
        self, node: ValueNode, input_type: GraphQLInputType | None
    ) -> VisitorAction:
        """Check a whole argument (or default value) literal; report each error with its field."""
        if input_type is None:
            return SKIP
        refused: list[tuple[GraphQLError, list[str | int]]] = []
        validate_input_literal(
            node,
            input_type,
            lambda error, path: refused.append((error, path)),
            None,
            None,
            self.context.hide_suggestions,
        )
        for error, path in refused[:MAX_ERRORS]:
            self.report_error(self._named(error, path, node))
        if not refused:
            for problem in islice(literal_problems(node, input_type, self._root), MAX_ERRORS):
                self.report_error(problem.error(node))
        return SKIP

    def _named(self, error: GraphQLError, path: list[str | int], node: ValueNode) -> GraphQLError:
        field = ".".join([self._root, *(part for part in path if isinstance(part, str))])
        if isinstance(error, ScalarValueError):
            return Problem(field, error.problem).error(node)
        # The cause is in the message; keeping a non-GraphQL original would get it masked.
        return GraphQLError(
            error.message,
            error.nodes or node,
            extensions={"code": ErrorCode.BAD_USER_INPUT.value, "field": field},
        )


def _with_field_naming_rule(rules: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(
        ValuesOfCorrectTypeNamingField if rule is ValuesOfCorrectTypeRule else rule
        for rule in rules
    )


class InputHygiene(SchemaExtension):
    """Refuse unstorable strings and numbers, and name the field of every bad literal."""

    def on_validate(self) -> Iterator[None]:
        """Swap in the literal rule that names fields and checks strings and numbers.

        In the validation step, not around the whole operation: a subscription's operation
        lasts as long as it does, and would keep this hook's generator all along.
        """
        context = self.execution_context
        context.validation_rules = _with_field_naming_rule(context.validation_rules)
        yield

    def on_execute(self) -> Iterator[None]:
        """Answer BAD_USER_INPUT instead of running an operation with a bad variable."""
        context = self.execution_context
        if context.result is None:
            problems = variable_problems(
                context.schema._schema,  # noqa: SLF001 - graphql-core's schema, for variable types
                context.graphql_document,
                context.operation_name,
                context.variables,
            )
            if problems:
                errors = [problem.error() for problem in problems]
                # Strawberry runs no execution when an extension has set the result.
                context.result = GraphQLExecutionResult(data=None, errors=errors)
        yield


__all__ = [
    "MAX_ERRORS",
    "InputHygiene",
    "Problem",
    "ValuesOfCorrectTypeNamingField",
    "literal_problems",
    "value_problems",
    "variable_problems",
]
