"""GraphiQL served from local copies of its scripts and styles, so it works offline.

Strawberry's GraphiQL page loads React and GraphiQL from a CDN with SRI `integrity` hashes.
`scripts/fetch_graphiql_assets.py` puts the same files, hash-checked, under `ASSETS_DIR` (laid
out as the CDN's paths). When all of them are there, the endpoint serves the same page with the
CDN prefix replaced by `ASSETS_URL_PATH` (the integrity attributes stay, so the browser still
checks every file); otherwise it serves Strawberry's page unchanged, which loads from the CDN.
"""

import re
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent.parent / "static" / "graphiql"
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
