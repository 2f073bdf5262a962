"""Persisted queries: automatic ones, persisted documents and the production allow-list.

Automatic persisted queries follow Apollo's convention: a request carries
`extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}`. With the hash alone, the
server runs the document it has under that hash, or answers `PERSISTED_QUERY_NOT_FOUND` so
the client resends it with the document; with both, the server checks the hash and keeps the
document. Documents are kept in a bounded LRU of this worker process (each worker has its
own: a miss costs one round trip more, never a wrong answer).

A persisted document request (GraphQL over HTTP, appendix A) names its document by a top-level
`documentId` instead of `query`: `sha256:<hex>` of the document's text, or the id a manifest
gives it.

The allow-list is `graph/operations/allowlist.json` (built by `scripts/build_allowlist.py` from
`graph/operations/`) and the manifests that client tooling writes at build time, named by the
`persisted_documents_manifests` setting: GraphQL Code Generator's `persisted-documents.json`
and Apollo's persisted query manifest. Documents are hashed exactly as written there, which is
exactly as those clients send them (Apollo's `__typename`, codegen's normalised text): never
normalised here. Allow-listed documents are known by hash without registering; with
`persisted_queries_only`, only they run, named by hash, by id or sent in full (see
`PersistedQueries` for texts whose definitions come in another order), and any other text
answers `PERSISTED_QUERY_NOT_ALLOWED`.
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
    GraphQLSyntaxError,
    Node,
    OperationDefinitionNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from strawberry.http import GraphQLRequestData

from graph.core.errors import (
    BadRequestError,
    PersistedQueryInputError,
    PersistedQueryNotAllowedError,
    PersistedQueryNotFoundError,
)
from models.settings import Settings

OPERATIONS_DIR = Path(__file__).resolve().parents[1] / "operations"
ALLOWLIST_FILE = OPERATIONS_DIR / "allowlist.json"
APQ_VERSION = 1
APOLLO_MANIFEST_FORMAT = "apollo-persisted-query-manifest"
# Apollo's clients recognise a miss by this exact message.
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"
NOT_ALLOWED_MESSAGE = "Only the allow-listed operations of this API's clients are served here."
NOT_HEX = "`extensions.persistedQuery.sha256Hash` must be 64 lowercase hexadecimal digits."
UNKNOWN_DOCUMENT_ID = "No persisted document has this `documentId`."
SHA256_PREFIX = "sha256:"
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
    """Resolves a request's persisted query into its document, or refuses it.

    With `only_allowed`, a text that is an allow-listed document's definitions, each byte for
    byte, in another order also runs: Apollo's persisted-queries link hashes the operation
    with its fragments in spread order, while Apollo's manifest sorts them by name. The link
    sends the hash alone, gets `PERSISTED_QUERY_NOT_FOUND` and resends it with the text,
    which is checked and kept under that hash (the cache then holds only such texts).
    """

    def __init__(
        self, *, cache_size: int, allowlist: Mapping[str, str], only_allowed: bool
    ) -> None:
        """`allowlist` maps document ids to documents; `only_allowed` serves nothing else.

        Every allow-listed document is also known by the SHA-256 of its text.
        """
        self.cache = DocumentCache(cache_size)
        self.by_id = dict(allowlist)
        self.by_sha256 = {sha256_hex(document): document for document in allowlist.values()}
        self.only_allowed = only_allowed
        # Length, then definitions' texts sorted: a reordering has both (parsed only then).
        self._definitions: dict[int, set[tuple[str, ...]]] = {}
        for document in self.by_sha256.values():
            definitions = _definition_texts(document)
            if definitions is not None:
                self._definitions.setdefault(len(document), set()).add(definitions)

    @classmethod
    def from_settings(cls, settings: Settings, allowlist_file: Path = ALLOWLIST_FILE) -> Self:
        """Configured by `settings`: the allow-list file the build wrote and the manifests."""
        return cls(
            cache_size=settings.persisted_queries_cache_size,
            allowlist=merge_manifests(
                [load_allowlist(allowlist_file)]
                + [load_manifest(path) for path in settings.persisted_documents_manifests]
            ),
            only_allowed=settings.persisted_queries_only,
        )

    def allowed(self, identifier: str) -> str | None:
        """The allow-listed document `identifier` names: a manifest's id or a SHA-256.

        The SHA-256 as lowercase hex (Apollo's `sha256Hash`) or as `sha256:<hex>` (a
        `documentId`).
        """
        document = self.by_id.get(identifier)
        if document is None:
            sha256 = identifier.removeprefix(SHA256_PREFIX)
            document = self.by_sha256.get(sha256) if _SHA256_HEX.match(sha256) else None
        return document

    def is_allowed_text(self, document: str) -> bool:
        """`document` is allow-listed, or an allow-listed document's definitions reordered."""
        if sha256_hex(document) in self.by_sha256:
            return True
        candidates = self._definitions.get(len(document))
        return candidates is not None and _definition_texts(document) in candidates

    def resolve(
        self, request: GraphQLRequestData, document_id: str | None = None
    ) -> GraphQLRequestData:
        """`request` with the document its hash or `document_id` names; raises the refusal."""
        sha256 = _requested_hash(request.extensions)
        if document_id is not None:
            return self._by_document_id(request, document_id, sha256=sha256)
        if sha256 is None:
            if self.only_allowed and (
                request.query is None or not self.is_allowed_text(request.query)
            ):
                raise PersistedQueryNotAllowedError(NOT_ALLOWED_MESSAGE)
            return request
        # Apollo's link with a manifest's own ids (`createOperationId`) sends them as the hash.
        if not _SHA256_HEX.match(sha256) and sha256 not in self.by_id:
            raise PersistedQueryInputError(NOT_HEX, field="extensions.persistedQuery.sha256Hash")
        if request.query is None:
            return dataclasses.replace(request, query=self._document(sha256))
        allowed = self.allowed(sha256)
        if allowed is not None and allowed == request.query:
            return request
        if allowed is not None or sha256_hex(request.query) != sha256:
            message = "`extensions.persistedQuery.sha256Hash` is not the SHA-256 of `query`."
            raise PersistedQueryInputError(message, field="extensions.persistedQuery.sha256Hash")
        if self.only_allowed and not self.is_allowed_text(request.query):
            raise PersistedQueryNotAllowedError(NOT_ALLOWED_MESSAGE)
        self.cache.put(sha256, request.query)
        return request

    def _by_document_id(
        self, request: GraphQLRequestData, document_id: str, *, sha256: str | None
    ) -> GraphQLRequestData:
        """`request` with the document `document_id` names (allow-listed or registered)."""
        if request.query is not None or sha256 is not None:
            message = "Send `documentId` alone: not with `query` or `extensions.persistedQuery`."
            raise BadRequestError(message, field="documentId")
        document = self.allowed(document_id) or self.cache.get(
            document_id.removeprefix(SHA256_PREFIX)
        )
        if document is None:
            raise PersistedQueryNotFoundError(UNKNOWN_DOCUMENT_ID)
        return dataclasses.replace(request, query=document)

    def _document(self, sha256: str) -> str:
        """The document sent earlier (or allow-listed) under `sha256`.

        Not found even with `only_allowed`, so that Apollo's link sends the text, which may be
        an allow-listed document reordered.
        """
        document = self.allowed(sha256) or self.cache.get(sha256)
        if document is None:
            raise PersistedQueryNotFoundError(NOT_FOUND_MESSAGE)
        return document


def _definition_texts(document: str) -> tuple[str, ...] | None:
    """The source text of each of `document`'s definitions, sorted; None if it does not parse."""
    try:
        parsed = parse(document)
    except (GraphQLSyntaxError, RecursionError):
        return None
    return tuple(
        sorted(document[node.loc.start : node.loc.end] for node in parsed.definitions if node.loc)
    )


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
    if not isinstance(sha256, str) or not sha256:
        raise PersistedQueryInputError(NOT_HEX, field=f"{field}.sha256Hash")
    return sha256


# --- The allow-list -----------------------------------------------------------------------------


def load_allowlist(path: Path = ALLOWLIST_FILE) -> dict[str, str]:
    """Hash to document, from the allow-list file (empty when there is none)."""
    if not path.is_file():
        return {}
    entries = json.loads(path.read_text(encoding="utf-8"))
    return {entry["sha256"]: entry["document"] for entry in entries.values()}


class ManifestError(ValueError):
    """A persisted-documents manifest that cannot be read: the server does not start."""


def load_manifest(path: Path) -> dict[str, str]:
    """Document id to document, from a manifest client tooling wrote (or this allow-list).

    Reads GraphQL Code Generator's `persisted-documents.json` (`{"sha256:<hex>": text}`, as
    Relay's and other tools' id-to-text maps), Apollo's persisted query manifest
    (`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{id, body}]}`)
    and `graph/operations/allowlist.json` (`{name: {sha256, document}}`).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        message = f"persisted documents manifest {path}: {error}"
        raise ManifestError(message) from error
    return parse_manifest(data, source=str(path))


def parse_manifest(data: object, *, source: str) -> dict[str, str]:
    """Document id to document, from a manifest's decoded JSON; `source` names it in errors."""
    if not isinstance(data, dict):
        message = f"persisted documents manifest {source}: not a JSON object"
        raise ManifestError(message)
    if "format" in data and "operations" in data:
        documents = _apollo_manifest(data, source=source)
    elif all(isinstance(value, str) for value in data.values()):
        documents = data
    elif all(
        isinstance(value, dict)
        and isinstance(value.get("sha256"), str)
        and isinstance(value.get("document"), str)
        for value in data.values()
    ):
        documents = {value["sha256"]: value["document"] for value in data.values()}
    else:
        message = (
            f"persisted documents manifest {source}: neither `{{id: document}}`, Apollo's "
            "persisted query manifest nor this server's allow-list"
        )
        raise ManifestError(message)
    for identifier, document in documents.items():
        _check_document(identifier, document, source=source)
    return documents


def _apollo_manifest(data: Mapping[str, object], *, source: str) -> dict[str, str]:
    if data.get("format") != APOLLO_MANIFEST_FORMAT or data.get("version") != 1:
        message = (
            f"persisted documents manifest {source}: format {data.get('format')!r} version "
            f"{data.get('version')!r}, expected {APOLLO_MANIFEST_FORMAT!r} version 1"
        )
        raise ManifestError(message)
    operations = data["operations"]
    if not isinstance(operations, list) or not all(
        isinstance(operation, dict)
        and isinstance(operation.get("id"), str)
        and isinstance(operation.get("body"), str)
        for operation in operations
    ):
        message = f"persisted documents manifest {source}: `operations` must be [{{id, body}}]"
        raise ManifestError(message)
    return {operation["id"]: operation["body"] for operation in operations}


def _check_document(identifier: str, document: str, *, source: str) -> None:
    """A manifest's entry names a GraphQL document: a broken build fails at startup."""
    if not identifier:
        message = f"persisted documents manifest {source}: an empty document id"
        raise ManifestError(message)
    try:
        parse(document, no_location=True)
    except GraphQLSyntaxError as error:
        message = f"persisted documents manifest {source}: {identifier} does not parse: {error}"
        raise ManifestError(message) from error


def merge_manifests(manifests: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """One id-to-document map; an id naming two different documents is refused."""
    merged: dict[str, str] = {}
    for manifest in manifests:
        for identifier, document in manifest.items():
            if merged.setdefault(identifier, document) != document:
                message = f"persisted document id {identifier} names two different documents"
                raise ManifestError(message)
    return merged


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
