"""Validation results kept per document text, as Strawberry's `ValidationCache` keeps them per tree.

Strawberry's cache is an `lru_cache` of `validate_document(schema, document, rules)`: its key
hashes the parsed document, every node of it, on every request (about 5 % of a small read's
CPU, py-spy, Viewer). The parser cache hands out one tree per text, so the text names the
tree: this cache keys on the text (whose hash Python keeps) and the rules, and validates as
Strawberry does on a miss. A request that brings a parsed document and no text is validated
without the cache.
"""

from collections import OrderedDict
from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSchema
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

Key = tuple[GraphQLSchema, str, tuple[type[ASTValidationRule], ...]]


class ValidationResults:
    """A bounded LRU of validation errors by (schema, document text, rules)."""

    def __init__(self, maxsize: int) -> None:
        """Keep at most `maxsize` results."""
        self.maxsize = maxsize
        self._results: OrderedDict[Key, list[GraphQLError]] = OrderedDict()

    def __len__(self) -> int:
        """How many results are kept."""
        return len(self._results)

    def get(self, key: Key) -> list[GraphQLError] | None:
        """The errors kept for `key` (empty: valid), or None if it was not validated yet."""
        errors = self._results.get(key)
        if errors is not None:
            self._results.move_to_end(key)
        return errors

    def put(self, key: Key, errors: list[GraphQLError]) -> None:
        """Keep `errors` for `key`, forgetting the least recently used beyond the bound."""
        self._results[key] = errors
        while len(self._results) > self.maxsize:
            self._results.popitem(last=False)


class TextValidationCache(SchemaExtension):
    """Validate each document text once per set of rules (`results` is shared by every request)."""

    results: ValidationResults

    def __init__(self, results: ValidationResults) -> None:
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
        key = (schema, context.query, rules)
        errors = self.results.get(key)
        if errors is None:
            errors = validate_document(schema, document, rules)
            self.results.put(key, errors)
        context.pre_execution_errors = errors
        yield
