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

from fastapi import Request
from fastapi.responses import HTMLResponse
from strawberry.fastapi import GraphQLRouter
from strawberry.http.ides import get_graphql_ide_html

from graph.context import Context

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
        **kwargs: Any,  # noqa: ANN401 - as *args
    ) -> None:
        """Take Strawberry's arguments; decide once, from `assets_dir`, which page to serve."""
        super().__init__(*args, **kwargs)
        self.assets_dir = assets_dir
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
