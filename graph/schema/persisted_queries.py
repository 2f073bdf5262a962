"""Persisted queries: automatic (a hash instead of the document) and the production allow-list.

Automatic persisted queries follow Apollo's convention: a request carries
`extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}`. With the hash alone, the
server runs the document it has under that hash, or answers `PERSISTED_QUERY_NOT_FOUND` so
the client resends it with the document; with both, the server checks the hash and keeps the
document. Documents are kept in a bounded LRU of this worker process (each worker has its
own: a miss costs one round trip more, never a wrong answer).

With `persisted_queries_only`, only the operations of `graph/operations/allowlist.json`
(built by `scripts/build_allowlist.py` from `graph/operations/`) run, sent by hash or in full;
anything else answers `PERSISTED_QUERY_NOT_ALLOWED`.
"""

import dataclasses
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Self

from graphql import (
    DefinitionNode,
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    Node,
    OperationDefinitionNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from strawberry.http import GraphQLRequestData

from graph.core.errors import (
    PersistedQueryInputError,
    PersistedQueryNotAllowedError,
    PersistedQueryNotFoundError,
)
from models.settings import Settings

OPERATIONS_DIR = Path(__file__).resolve().parents[1] / "operations"
ALLOWLIST_FILE = OPERATIONS_DIR / "allowlist.json"
APQ_VERSION = 1
# Apollo's clients recognise a miss by this exact message.
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"
NOT_ALLOWED_MESSAGE = "Only the allow-listed operations of this API's clients are served here."
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(document: str) -> str:
    """The hash a client sends for `document`: SHA-256 of its UTF-8 text, lowercase hex."""
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


class DocumentCache:
    """A bounded, thread-safe LRU of documents by hash."""

    def __init__(self, maxsize: int) -> None:
        """Keep at most `maxsize` documents (0 keeps none)."""
        self._maxsize = maxsize
        self._documents: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha256: str) -> str | None:
        """The document registered under `sha256`, now the most recently used."""
        with self._lock:
            document = self._documents.get(sha256)
            if document is not None:
                self._documents.move_to_end(sha256)
            return document

    def put(self, sha256: str, document: str) -> None:
        """Register `document`, dropping the least recently used past the bound."""
        if self._maxsize == 0:
            return
        with self._lock:
            self._documents[sha256] = document
            self._documents.move_to_end(sha256)
            while len(self._documents) > self._maxsize:
                self._documents.popitem(last=False)

    def __len__(self) -> int:
        """How many documents are kept."""
        return len(self._documents)


class PersistedQueries:
    """Resolves a request's persisted query into its document, or refuses it."""

    def __init__(
        self, *, cache_size: int, allowlist: Mapping[str, str], only_allowed: bool
    ) -> None:
        """`allowlist` maps hashes to documents; `only_allowed` serves nothing else."""
        self.cache = DocumentCache(cache_size)
        self.allowlist = dict(allowlist)
        self.only_allowed = only_allowed

    @classmethod
    def from_settings(cls, settings: Settings, allowlist_file: Path = ALLOWLIST_FILE) -> Self:
        """Configured by `settings`, with the allow-list file the build wrote."""
        return cls(
            cache_size=settings.persisted_queries_cache_size,
            allowlist=load_allowlist(allowlist_file),
            only_allowed=settings.persisted_queries_only,
        )

    def resolve(self, request: GraphQLRequestData) -> GraphQLRequestData:
        """`request` with the document its hash names; raises the refusal otherwise."""
        sha256 = _requested_hash(request.extensions)
        if sha256 is None:
            if self.only_allowed and (
                request.query is None or sha256_hex(request.query) not in self.allowlist
            ):
                raise PersistedQueryNotAllowedError(NOT_ALLOWED_MESSAGE)
            return request
        if request.query is None:
            return dataclasses.replace(request, query=self._document(sha256))
        if sha256_hex(request.query) != sha256:
            message = "`extensions.persistedQuery.sha256Hash` is not the SHA-256 of `query`."
            raise PersistedQueryInputError(message, field="extensions.persistedQuery.sha256Hash")
        if sha256 not in self.allowlist:
            if self.only_allowed:
                raise PersistedQueryNotAllowedError(NOT_ALLOWED_MESSAGE)
            self.cache.put(sha256, request.query)
        return request

    def _document(self, sha256: str) -> str:
        """The document sent earlier (or allow-listed) under `sha256`."""
        document = self.allowlist.get(sha256)
        if document is not None:
            return document
        if self.only_allowed:
            raise PersistedQueryNotAllowedError(NOT_ALLOWED_MESSAGE)
        document = self.cache.get(sha256)
        if document is None:
            raise PersistedQueryNotFoundError(NOT_FOUND_MESSAGE)
        return document


def _requested_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The hash `extensions.persistedQuery` names, checked; None when there is none."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    field = "extensions.persistedQuery"
    if not isinstance(persisted, dict) or persisted.get("version") != APQ_VERSION:
        message = f"`{field}` must be {{version: {APQ_VERSION}, sha256Hash}}."
        raise PersistedQueryInputError(message, field=f"{field}.version")
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256_HEX.match(sha256):
        message = f"`{field}.sha256Hash` must be 64 lowercase hexadecimal digits."
        raise PersistedQueryInputError(message, field=f"{field}.sha256Hash")
    return sha256


# --- The allow-list -----------------------------------------------------------------------------


def load_allowlist(path: Path = ALLOWLIST_FILE) -> dict[str, str]:
    """Hash to document, from the allow-list file (empty when there is none)."""
    if not path.is_file():
        return {}
    entries = json.loads(path.read_text(encoding="utf-8"))
    return {entry["sha256"]: entry["document"] for entry in entries.values()}


def load_allowlist_names(path: Path = ALLOWLIST_FILE) -> frozenset[str]:
    """The names of the allow-listed operations (none when there is no allow-list file)."""
    if not path.is_file():
        return frozenset()
    return frozenset(json.loads(path.read_text(encoding="utf-8")))


def render_allowlist(directory: Path = OPERATIONS_DIR) -> str:
    """The allow-list file's text: each operation's name, hash and document, sorted by name."""
    entries = {
        name: {"sha256": sha256_hex(document), "document": document}
        for name, document in sorted(operation_documents(directory).items())
    }
    return json.dumps(entries, indent=2, ensure_ascii=False) + "\n"


def operation_documents(directory: Path = OPERATIONS_DIR) -> dict[str, str]:
    """Each operation of `directory`'s `.graphql` files as the client sends it.

    That is the printed operation followed by every fragment it spreads, directly or
    through other fragments, from any file, sorted by name (as tests/graph/schema/test_operations.py
    assembles them for the generated client).
    """
    documents = [
        parse(path.read_text(encoding="utf-8")) for path in sorted(directory.rglob("*.graphql"))
    ]
    known: dict[str, FragmentDefinitionNode] = {}
    operations: dict[str, OperationDefinitionNode] = {}
    for document in documents:
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                known.setdefault(definition.name.value, definition)
            elif isinstance(definition, OperationDefinitionNode) and definition.name:
                operations.setdefault(definition.name.value, definition)
    return {
        name: print_ast(DocumentNode(definitions=(operation, *_fragments_used([operation], known))))
        for name, operation in operations.items()
    }


def _fragments_used(
    nodes: Iterable[Node], known: Mapping[str, FragmentDefinitionNode]
) -> list[DefinitionNode]:
    pending = set().union(*(_spread_names(node) for node in nodes))
    found: dict[str, FragmentDefinitionNode] = {}
    while pending:
        name = pending.pop()
        if name in found or name not in known:
            continue
        found[name] = known[name]
        pending |= _spread_names(known[name])
    return [found[name] for name in sorted(found)]


def _spread_names(node: Node) -> set[str]:
    names: set[str] = set()

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: object) -> None:
            names.add(spread.name.value)

    visit(node, Spreads())
    return names
