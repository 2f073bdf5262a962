"""Depth, aliases and width of a document, in one pass linear in its size.

A fragment can be spread many times, and a fragment it spreads many times again: inlined,
`fragment F0 { ...F1 ...F1 } ... fragment F21 { ...F22 ...F22 }` holds 2**22 fields in under a
kilobyte. Walking spreads as if inlined (as Strawberry's `QueryDepthLimiter` and
`MaxAliasesLimiter` do) takes time exponential in the document's size. Here every selection
set and every fragment is summarised once, children before parents (fragments in dependency
order, selection sets bottom up, without recursion), and a spread reuses its fragment's summary:
the work is linear in the document, however many times fragments would be inlined.

The summaries give, per operation:

- its depth: how many fields deep its deepest field is (a root field is at depth 0), as
  Strawberry's limiter counts (introspection fields count but are not descended into);
- its aliases and its fields as if every fragment were inlined (exact, however large);

and, per document, its widest selection set: how many fields and spreads one selection set
holds once its inline fragments are merged in. graphql-core's rule that fields can merge
(`OverlappingFieldsCanBeMergedRule`) compares fragments pairwise, and every pair of fields
answering under the same response path (`same_name_pairs`): bounding both bounds its work.

`shape_refusals` turns the figures into errors with their `extensions.code` set here (no code
depends on a message's wording); `limits_rule` reports them during validation.
"""

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)

from graph.core.errors import ErrorCode

NO_FIELDS = -1  # the depth of a selection set without fields


@dataclass(frozen=True, slots=True)
class Summary:
    """A selection set (or fragment) as if its fragments were inlined."""

    depth: int  # how many levels below it its deepest field is; NO_FIELDS when it has none
    aliases: int  # aliased fields
    fields: int  # fields and fragment spreads
    width: int  # fields and spreads of the set itself, its inline fragments' merged in


EMPTY = Summary(depth=NO_FIELDS, aliases=0, fields=0, width=0)


@dataclass(frozen=True, slots=True)
class OperationShape:
    """One operation's figures."""

    name: str
    node: OperationDefinitionNode
    depth: int
    aliases: int
    fields: int


def same_name_pairs(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> int:
    """Pairs of fields that answer under the same response path, fragments inlined.

    graphql-core's `OverlappingFieldsCanBeMergedRule` compares each such pair (and, for each,
    their sub-selections), so this bounds its work: `{ a: venue { id id ... } a: venue { ...
    } ... }` with k copies of k fields holds about k**4 / 2 pairs in 2 k**2 tokens. Walks the
    operation with its fragments inlined: call it only once `fields` is known to be bounded.
    """
    counts: dict[tuple[int, str], int] = {}
    children: dict[tuple[int, str], int] = {}
    inlined: set[tuple[int, str]] = set()
    stack: list[tuple[SelectionSetNode, int, frozenset[str]]] = [
        (operation.selection_set, 0, frozenset())
    ]
    while stack:
        selection_set, merged, path = stack.pop()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = (selection.alias or selection.name).value
                key = (merged, name)
                counts[key] = counts.get(key, 0) + 1
                child = children.setdefault(key, len(children) + 1)
                if selection.selection_set is not None:
                    stack.append((selection.selection_set, child, path))
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, merged, path))
            elif isinstance(selection, FragmentSpreadNode):
                # As graphql-core collects them: a fragment once per merged selection set.
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in path and (merged, name) not in inlined:
                    inlined.add((merged, name))
                    stack.append((fragment.selection_set, merged, path | {name}))
    return sum(count * (count - 1) // 2 for count in counts.values())


@dataclass(frozen=True, slots=True)
class DocumentShape:
    """A document's figures: each operation's, and its widest selection set."""

    operations: tuple[OperationShape, ...]
    widest: int
    widest_node: SelectionSetNode | None
    fragments: dict[str, FragmentDefinitionNode]


def _selection_sets(root: SelectionSetNode) -> list[SelectionSetNode]:
    """`root` and every selection set nested in it, each before those nested in it."""
    found = []
    stack = [root]
    while stack:
        selection_set = stack.pop()
        found.append(selection_set)
        for selection in selection_set.selections:
            nested = getattr(selection, "selection_set", None)
            if nested is not None:
                stack.append(nested)
    return found


class _Summarizer:
    """Summaries of selection sets and fragments, each computed once."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.of_fragment: dict[str, Summary] = {}
        self.widest = 0
        self.widest_node: SelectionSetNode | None = None
        self._summarize_fragments()

    def _summarize_fragments(self) -> None:
        # Depth-first over spreads without recursion; a fragment is summarised once every
        # fragment it spreads is (a spread on a cycle counts as empty: validation reports it).
        spreads = {name: _spreads_in(fragment) for name, fragment in self.fragments.items()}
        for root in self.fragments:
            if root in self.of_fragment:
                continue
            path = [(root, iter(spreads[root]))]
            on_path = {root}
            while path:
                name, pending = path[-1]
                for spread in pending:
                    if (
                        spread in spreads
                        and spread not in self.of_fragment
                        and spread not in on_path
                    ):
                        path.append((spread, iter(spreads[spread])))
                        on_path.add(spread)
                        break
                else:
                    path.pop()
                    on_path.discard(name)
                    self.of_fragment[name] = self.summarize(self.fragments[name].selection_set)

    def summarize(self, root: SelectionSetNode) -> Summary:
        """The summary of `root`, its nested selection sets summarised bottom up."""
        done: dict[int, Summary] = {}
        for selection_set in reversed(_selection_sets(root)):
            summary = self._combine(selection_set.selections, done)
            done[id(selection_set)] = summary
            if summary.width > self.widest:
                self.widest, self.widest_node = summary.width, selection_set
        return done[id(root)]

    def _combine(self, selections: Iterable[Any], done: dict[int, Summary]) -> Summary:
        depth, aliases, fields, width = NO_FIELDS, 0, 0, 0
        for selection in selections:
            if isinstance(selection, FieldNode):
                fields += 1
                width += 1
                aliases += selection.alias is not None
                below = EMPTY
                # Introspection fields count where they stand but are not descended into.
                if selection.selection_set is not None and not selection.name.value.startswith(
                    "__"
                ):
                    below = done[id(selection.selection_set)]
                depth = max(depth, 0, below.depth + 1)
                aliases += below.aliases
                fields += below.fields
            elif isinstance(selection, FragmentSpreadNode):
                width += 1
                fields += 1
                spread = self.of_fragment.get(selection.name.value, EMPTY)
                depth = max(depth, spread.depth)
                aliases += spread.aliases
                fields += spread.fields
            elif isinstance(selection, InlineFragmentNode):
                inline = done[id(selection.selection_set)]
                depth = max(depth, inline.depth)
                aliases += inline.aliases
                fields += inline.fields
                width += inline.width
        return Summary(depth=depth, aliases=aliases, fields=fields, width=width)


def _spreads_in(fragment: FragmentDefinitionNode) -> list[str]:
    return [
        selection.name.value
        for selection_set in _selection_sets(fragment.selection_set)
        for selection in selection_set.selections
        if isinstance(selection, FragmentSpreadNode)
    ]


def document_shape(document: DocumentNode) -> DocumentShape:
    """Each operation's depth, aliases and fields, and the widest selection set, in linear time."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    summarizer = _Summarizer(fragments)
    operations = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            summary = summarizer.summarize(definition.selection_set)
            name = definition.name.value if definition.name else "anonymous"
            operations.append(
                OperationShape(name, definition, summary.depth, summary.aliases, summary.fields)
            )
    return DocumentShape(tuple(operations), summarizer.widest, summarizer.widest_node, fragments)


@dataclass(frozen=True, slots=True)
class ShapeLimits:
    """The limits `shape_refusals` applies."""

    max_depth: int
    max_aliases: int
    max_fields: int
    max_width: int
    max_same_name_pairs: int


def shape_refusals(shape: DocumentShape, limits: ShapeLimits) -> list[GraphQLError]:
    """The errors of a document over `limits`, each with its `extensions.code`."""
    errors = []
    if shape.widest > limits.max_width:
        errors.append(
            GraphQLError(
                f"A selection set holds {shape.widest} fields and fragments (inline fragments "
                f"merged in), over the limit of {limits.max_width}: select fewer, or split "
                "the query.",
                shape.widest_node,
                extensions={
                    "code": ErrorCode.QUERY_TOO_COSTLY.value,
                    "selections": shape.widest,
                    "maxSelections": limits.max_width,
                },
            )
        )
    for operation in shape.operations:
        if operation.depth > limits.max_depth:
            # The message Strawberry's `QueryDepthLimiter` gave, kept for clients that show it.
            errors.append(
                GraphQLError(
                    f"'{operation.name}' exceeds maximum operation depth of {limits.max_depth}",
                    operation.node,
                    extensions={
                        "code": ErrorCode.QUERY_TOO_DEEP.value,
                        "depth": operation.depth,
                        "maxDepth": limits.max_depth,
                    },
                )
            )
        if operation.fields > limits.max_fields:
            errors.append(
                GraphQLError(
                    f"The operation selects {operation.fields} fields and fragments once its "
                    f"fragments are inlined, over the cost limit of {limits.max_fields}: spread "
                    "fewer fragments.",
                    operation.node,
                    extensions={
                        "code": ErrorCode.QUERY_TOO_COSTLY.value,
                        "cost": operation.fields,
                        "maxCost": limits.max_fields,
                    },
                )
            )
        elif (pairs := same_name_pairs(operation.node, shape.fragments)) > (
            limits.max_same_name_pairs
        ):
            errors.append(
                GraphQLError(
                    f"The operation repeats fields under the same name {pairs} times over "
                    f"(pairs that must be checked to merge), over the limit of "
                    f"{limits.max_same_name_pairs}: select each field once.",
                    operation.node,
                    extensions={
                        "code": ErrorCode.QUERY_TOO_COSTLY.value,
                        "sameNamePairs": pairs,
                        "maxSameNamePairs": limits.max_same_name_pairs,
                    },
                )
            )
    aliases = sum(operation.aliases for operation in shape.operations)
    if aliases > limits.max_aliases:
        # Strawberry's `MaxAliasesLimiter` message, counted the same way (fragments inlined).
        errors.append(
            GraphQLError(
                f"{aliases} aliases found. Allowed: {limits.max_aliases}",
                extensions={
                    "code": ErrorCode.TOO_MANY_ALIASES.value,
                    "aliases": aliases,
                    "maxAliases": limits.max_aliases,
                },
            )
        )
    return errors


def refusals(document: DocumentNode, limits: ShapeLimits) -> list[GraphQLError]:
    """The errors of `document` over `limits` (none when within them)."""
    return shape_refusals(document_shape(document), limits)


# Documents known to be within limits, by identity: the parser cache hands out the same
# DocumentNode for the same text, so a client's operations are measured once, not on every
# request. Each entry keeps its document alive, so its id is not reused while it is here.
_WITHIN_LIMITS: OrderedDict[tuple[int, ShapeLimits], DocumentNode] = OrderedDict()
_WITHIN_LIMITS_KEPT = 512


def within_limits(document: DocumentNode, limits: ShapeLimits) -> bool:
    """`document` has no `refusals` under `limits`; remembered for documents that pass."""
    key = (id(document), limits)
    if _WITHIN_LIMITS.get(key) is document:
        _WITHIN_LIMITS.move_to_end(key)
        return True
    if refusals(document, limits):
        return False
    _WITHIN_LIMITS[key] = document
    if len(_WITHIN_LIMITS) > _WITHIN_LIMITS_KEPT:
        _WITHIN_LIMITS.popitem(last=False)
    return True


@lru_cache(maxsize=32)
def limits_rule(limits: ShapeLimits) -> type[ASTValidationRule]:
    """A validation rule reporting `refusals`; one class per limits, so validation caches."""

    class DocumentLimits(ASTValidationRule):
        """Depth, aliases, inlined fields and width within the limits."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for error in refusals(context.document, limits):
                context.report_error(error)

    return DocumentLimits
