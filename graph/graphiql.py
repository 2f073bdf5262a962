"""GraphiQL served from local copies of its scripts and styles, so it works offline.

Strawberry's GraphiQL page loads React and GraphiQL from a CDN with SRI `integrity` hashes.
`scripts/fetch_graphiql_assets.py` puts the same files, hash-checked, under `ASSETS_DIR` (laid
out as the CDN's paths). When all of them are there, the router serves the same page with the
CDN prefix replaced by `ASSETS_URL_PATH` (the integrity attributes stay, so the browser still
checks every file); otherwise it serves Strawberry's page unchanged, which loads from the CDN.
"""

import re
from pathlib import Path
from typing import Any

from cross_web import AsyncHTTPRequestAdapter
from fastapi import Request
from fastapi.responses import HTMLResponse
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.ides import get_graphql_ide_html
from strawberry.types.graphql import OperationType

from graph.compiler import FastPath, encode_response
from graph.context import Context
from graph.persisted_queries import PersistedQueries
from graph.query_limits import refuse_batches

ASSETS_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
ASSETS_URL_PATH = "/graphql/assets"
CDN_URL = "https://unpkg.com/"
_CDN_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']https://unpkg\.com/([^"']+)["']""")


def has_local_assets(page: str, assets_dir: Path) -> bool:
    """Every CDN file `page` loads is in `assets_dir`, under the CDN's path."""
    paths = _CDN_REFERENCE.findall(page)
    return bool(paths) and all((assets_dir / path).is_file() for path in paths)


def point_at_local_assets(page: str, assets_url: str) -> str:
    """`page` loading its files from `assets_url` instead of the CDN (integrity attributes kept)."""
    return page.replace(CDN_URL, f"{assets_url.rstrip('/')}/")


class GraphiQLRouter(GraphQLRouter[Context, None]):
    """Strawberry's FastAPI router, whose GraphiQL page loads local assets when they exist."""

    def __init__(
        self,
        *args: Any,  # noqa: ANN401 - Strawberry's arguments, passed through unchanged
        assets_dir: Path = ASSETS_DIR,
        persisted_queries: PersistedQueries | None = None,
        **kwargs: Any,  # noqa: ANN401 - as *args
    ) -> None:
        """Take Strawberry's arguments; decide once, from `assets_dir`, which page to serve."""
        super().__init__(*args, **kwargs)
        self.assets_dir = assets_dir
        self.persisted_queries = persisted_queries
        page = get_graphql_ide_html("graphiql")
        self.local_page = (
            page if self.graphql_ide == "graphiql" and has_local_assets(page, assets_dir) else None
        )

    @property
    def serves_local_assets(self) -> bool:
        """GraphiQL is on and its page points at the local assets (so they must be mounted)."""
        return self.local_page is not None

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """The local-asset page (honouring a proxy's `root_path`), else Strawberry's own."""
        if self.local_page is None:
            return await super().render_graphql_ide(request)
        root_path = str(request.scope.get("root_path", "")).rstrip("/")
        return HTMLResponse(point_at_local_assets(self.local_page, root_path + ASSETS_URL_PATH))

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's parsing, after refusing batches; persisted queries resolved to documents."""
        if request.method == "POST":
            refuse_batches(await request.get_body())
        data = await super().parse_http_body(request)
        if self.persisted_queries is None or isinstance(data, list):
            return data
        return self.persisted_queries.resolve(data)

    fast_path: FastPath | None = None

    async def execute_single(  # noqa: PLR0913, PLR0917 - Strawberry's signature
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Any,  # noqa: ANN401 - Strawberry's
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> Any:  # noqa: ANN401 - Strawberry's ExecutionResult
        """A supported query through the fast path (graph/compiler/); anything else as usual."""
        if self.fast_path is not None:
            allowed = OperationType.from_http(request_adapter.method)
            if not self.allow_queries_via_get and request_adapter.method == "GET":
                allowed = allowed - {OperationType.QUERY}
            result = await self.fast_path.execute(
                query=request_data.query,
                variables=request_data.variables,
                operation_name=request_data.operation_name,
                context=context,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
            if result is not None:
                return result
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )

    def encode_json(self, data: object) -> str | bytes:
        """Fast-path data goes out as PostgreSQL wrote it; everything else as Strawberry does."""
        return encode_response(data) or super().encode_json(data)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """Strawberry's rule, except for a GET carrying a persisted query's hash instead."""
        return super().should_render_graphql_ide(request) and not request.query_params.get(
            "extensions"
        )
