"""GraphiQL's page: opening on an example over the demo data, its files served locally.

Strawberry's GraphiQL page loads React and GraphiQL from a CDN with SRI `integrity` hashes.
`graph/http/graphiql_assets.py` puts the same files, hash-checked, under `ASSETS_DIR` (laid
out as the CDN's paths); the app fetches them at startup when they are missing. When all of
them are there, the endpoint serves the page with the CDN prefix replaced by `ASSETS_URL_PATH`
(the integrity attributes stay, so the browser still checks every file); otherwise the page
loads them from the CDN.

Either way the editor opens on `EXAMPLE_OPERATION` instead of Strawberry's generic welcome: a
query that runs signed out, and comments saying how to sign in and where the token goes. The
page keeps the Headers tab in the browser's local storage (GraphiQL's `shouldPersistHeaders`,
which Strawberry's page sets), so a token survives reloads. Subscriptions go over the
websocket of the same URL: GraphiQL's fetcher (graphql-ws) sends the Headers tab as
`connection_init`'s payload, which is where the server looks for `Authorization`.
"""

import re
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

from graph.http.graphiql_assets import DEFAULT_DEST

ASSETS_DIR = DEFAULT_DEST
ASSETS_URL_PATH = "/graphql/assets"
CDN_URL = "https://unpkg.com/"
TITLE = "Sartiq Graph · GraphiQL"
_CDN_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']https://unpkg\.com/([^"']+)["']""")
# Strawberry's welcome text: a JavaScript template literal the page starts the editor with.
_EXAMPLE_QUERY = re.compile(r"const EXAMPLE_QUERY = `.*?`;", re.DOTALL)
_TITLE = re.compile(r"<title>.*?</title>", re.DOTALL)

EXAMPLE_OPERATION = """\
# Sartiq Graph on the demo data. Run this with Ctrl-Enter (or the play button).
#
# Venues are public. Bookings show only to someone signed in who may see them:
# the guest who booked, the venue's host, an admin. To sign in, run this
# mutation with a demo account (admin@sartiq.demo, host@sartiq.demo or
# member@sartiq.demo, password sartiq-demo; see the README):
#
#   mutation LogIn {
#     logIn(input: {email: "admin@sartiq.demo", password: "sartiq-demo"}) {
#       token
#     }
#   }
#
# then open the Headers tab below and paste the token as
#
#   {"Authorization": "Bearer <token>"}
#
# and run this query again: `viewer` is then you, and bookings appear.
# The headers are kept in this browser across reloads; `logOut` ends the session.
# The Docs button (top left) lists every type and field. Subscriptions run too,
# signed in by the same Headers: subscription { sessionRevoked { current } }

query Demo {
  viewer {
    id
    displayName
    role
  }
  venues(first: 5, orderBy: HOURLY_RATE_ASC) {
    totalCount
    edges {
      node {
        id
        name
        city
        hourlyRate
        currency
        owner {
          id
          displayName
        }
        bookings(first: 3) {
          totalCount
          edges {
            node {
              id
              startsAt
              status
              amount
            }
          }
        }
      }
    }
  }
}
"""


def _template_literal(text: str) -> str:
    """`text` as a JavaScript template literal (backticks, `${` and backslashes escaped)."""
    escaped = text.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${")
    return f"`{escaped}`"


def graphiql_page(example: str = EXAMPLE_OPERATION) -> str:
    """Strawberry's GraphiQL page, titled for this API and opening on `example`."""
    page = get_graphql_ide_html("graphiql")
    page = _TITLE.sub(lambda _: f"<title>{TITLE}</title>", page, count=1)
    literal = _template_literal(example)
    return _EXAMPLE_QUERY.sub(lambda _: f"const EXAMPLE_QUERY = {literal};", page, count=1)


def has_local_assets(page: str, assets_dir: Path) -> bool:
    """Every CDN file `page` loads is in `assets_dir`, under the CDN's path."""
    paths = _CDN_REFERENCE.findall(page)
    return bool(paths) and all((assets_dir / path).is_file() for path in paths)


def point_at_local_assets(page: str, assets_url: str) -> str:
    """`page` loading its files from `assets_url` instead of the CDN (integrity attributes kept)."""
    return page.replace(CDN_URL, f"{assets_url.rstrip('/')}/")
