"""Which operation of a document runs: the one `operationName` names, or the only one.

graphql-core refuses a document of several operations sent without `operationName`, but
Strawberry, asked for the operation's name, falls back to the document's first operation and
hands that name on, so the first one ran. This extension refuses such a document before it is
validated or costed, with `OPERATION_RESOLUTION_FAILURE` (answered as HTTP 400 by the endpoint).
"""

import re
from collections.abc import Iterator

from graphql import OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from graph.core.errors import OperationResolutionError

# What the GraphQL grammar allows as an operation's name.
GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


def is_operation_name(text: str) -> bool:
    """`text` is a name a GraphQL operation can have."""
    return GRAPHQL_NAME.fullmatch(text) is not None


NAME_REQUIRED = "The document has several operations: name the one to run in `operationName`."


class SingleOperation(SchemaExtension):
    """Refuse a document of several operations when the request names none of them."""

    _requested: str | None = None

    def on_parse(self) -> Iterator[None]:
        """Note the name the request gave, before Strawberry can fall back to the first one.

        Listed before `ParserCache`, so this runs before the document is parsed; not around
        the whole operation, which for a subscription would keep this hook suspended for its
        whole life.
        """
        # Before parsing there is no document to fall back on: this is the request's name.
        self._requested = self.execution_context.operation_name
        yield

    def on_validate(self) -> Iterator[None]:
        """Add the refusal to the document's validation errors (it may be cached valid)."""
        context = self.execution_context
        document = context.graphql_document
        if self._requested is None and document is not None:
            operations = sum(
                isinstance(definition, OperationDefinitionNode)
                for definition in document.definitions
            )
            if operations > 1 and not context.pre_execution_errors:
                error = OperationResolutionError(NAME_REQUIRED, field="operationName")
                context.pre_execution_errors = [error]
        yield
