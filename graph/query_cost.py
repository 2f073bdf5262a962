"""Query cost: how many objects an operation may ask for, known before it runs.

Every field costs 1 for each time it can appear in the response. A list field's page size
(`first`, `last`, or the number of `ids`; its schema default when not given) multiplies the
cost of everything selected below it, so `venues(first: 50) { bookings(first: 10) { user } }`
costs about 50 + 50 x 10 + 50 x 10 — the rows the database would have to produce.
"""

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    value_from_ast,
)

PAGE_ARGUMENTS = ("first", "last")


class _CostWalker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._variables = variables

    def selection_cost(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, seen: frozenset[str]
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field_cost(selection, parent, seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self._schema.get_type(condition.name.value) if condition else parent
                total += self.selection_cost(selection.selection_set, target or parent, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self._fragments.get(name)
                if fragment is None or name in seen:
                    continue  # validation reports unknown and cyclic fragments
                target = self._schema.get_type(fragment.type_condition.name.value) or parent
                total += self.selection_cost(fragment.selection_set, target, seen | {name})
        return total

    def _field_cost(self, node: FieldNode, parent: GraphQLNamedType, seen: frozenset[str]) -> int:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 1
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 1  # __typename and introspection fields
        multiplier = self._page_size(node, definition)
        child_type = get_named_type(definition.type)
        return 1 + multiplier * self.selection_cost(node.selection_set, child_type, seen)

    def _page_size(self, node: FieldNode, definition: GraphQLField) -> int:
        values = self._argument_values(node, definition)
        for name in PAGE_ARGUMENTS:
            if isinstance(values.get(name), int):
                return max(int(values[name]), 0)
        ids = values.get("ids")
        if isinstance(ids, list):
            return len(ids)
        if isinstance(get_nullable_type(definition.type), GraphQLList):
            return 1  # an unpaged list: its size is not known up front
        return 1

    def _argument_values(self, node: FieldNode, definition: GraphQLField) -> dict[str, Any]:
        values: dict[str, Any] = {
            name: argument.default_value
            for name, argument in definition.args.items()
            if argument.default_value is not None
        }
        for argument_node in node.arguments or ():
            argument = definition.args.get(argument_node.name.value)
            if argument is None:
                continue
            values[argument_node.name.value] = value_from_ast(
                argument_node.value, argument.type, dict(self._variables)
            )
        return values


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The cost of the operation `operation_name` (or the only one) of `document`."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    operations = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        and (
            operation_name is None or (definition.name and definition.name.value == operation_name)
        )
    ]
    if not operations:
        return 0
    operation = operations[0]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    walker = _CostWalker(schema, fragments, variables or {})
    return walker.selection_cost(operation.selection_set, root, frozenset())
