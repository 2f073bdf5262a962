"""Validation results kept per document text, as Strawberry's `ValidationCache` keeps them per tree.

Strawberry's cache is an `lru_cache` of `validate_document(schema, document, rules)`: its key
hashes the parsed document, every node of it, on every request (about 5 % of a small read's
CPU, py-spy, Viewer). The parser cache hands out one tree per text, so the text names the
tree: this cache keys on the text (whose hash Python keeps) and the rules, and validates as
Strawberry does on a miss. A request that brings a parsed document and no text is validated
without the cache.
"""

from collections.abc import Iterator

from graphql import GraphQLSchema
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from graph.core.bounded_cache import MISSING, BoundedCache

Key = tuple[GraphQLSchema, str, tuple[type[ASTValidationRule], ...]]


class TextValidationCache(SchemaExtension):
    """Validate each document text once per set of rules (`results` is shared by every request)."""

    results: BoundedCache

    def __init__(self, results: BoundedCache) -> None:
        """Use `results`, made once for the schema."""
        super().__init__()
        self.results = results

    def on_validate(self) -> Iterator[None]:
        """Set the document's validation errors, from the cache when its text was seen."""
        context = self.execution_context
        schema = context.schema._schema  # noqa: SLF001 - graphql-core's schema, as Strawberry's cache
        document = context.graphql_document
        rules = tuple(context.validation_rules)
        if context.query is None or document is None:
            context.pre_execution_errors = validate_document(schema, document, rules)  # type: ignore[arg-type]
            yield
            return
        key: Key = (schema, context.query, rules)
        errors = self.results.get(key)
        if errors is MISSING:
            errors = validate_document(schema, document, rules)
            self.results.put(key, errors)
        context.pre_execution_errors = errors
        yield
