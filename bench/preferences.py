"""Preferences growth: 40 `updatePreferences` patches of 900 new keys each, timed over HTTP.

Signs a fresh member up through the app (in process, over ASGI), then sends the patches one
after another and prints, for each, its status, time, the stored document's size and the
audit trail's bytes for that user. Run on a database migrated to head that you may write to:

    DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1/sartiq_bench \
        uv run python -m bench.preferences
"""

import asyncio
import time
import uuid
from typing import Any

import httpx
from sqlalchemy import text

from graph.http.app import create_app
from models.settings import get_settings

PATCHES = 40
KEYS_PER_PATCH = 900
SIGN_UP = """
mutation SignUp($input: SignUpInput!) { signUp(input: $input) { token user { id } } }
"""
UPDATE = """
mutation Update($patch: JSON!) {
  updatePreferences(input: {patch: $patch}) { user { id } }
}
"""
SIZES = """
SELECT octet_length(u.preferences::text) AS document,
       (SELECT coalesce(sum(octet_length(a.old_data::text) + octet_length(a.new_data::text)), 0)
          FROM audit_log AS a WHERE a.record_id = u.id) AS audit
  FROM users AS u WHERE u.email = :email
"""


def patch_number(n: int) -> dict[str, Any]:
    """The n-th patch: 900 keys never seen before, each with a short value (~15 KB of JSON)."""
    return {f"p{n:02d}k{k:03d}": f"v{k}" for k in range(KEYS_PER_PATCH)}


async def main() -> None:
    """Sign up, send the patches, print one line per patch."""
    app = create_app(get_settings())
    email = f"bench-{uuid.uuid4().hex[:12]}@example.test"
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=120
        ) as client,
    ):
        variables = {"input": {"email": email, "password": "x" * 12, "displayName": "Bench"}}
        signed_up = await client.post("/graphql", json={"query": SIGN_UP, "variables": variables})
        token = signed_up.json()["data"]["signUp"]["token"]
        headers = {"authorization": f"Bearer {token}"}
        engine = app.state.engine
        print("patch status   seconds  document_bytes  audit_bytes  code")  # noqa: T201
        for n in range(1, PATCHES + 1):
            body = {"query": UPDATE, "variables": {"patch": patch_number(n)}}
            started = time.perf_counter()
            response = await client.post("/graphql", json=body, headers=headers)
            elapsed = time.perf_counter() - started
            errors = response.json().get("errors") or [{}]
            code = errors[0].get("extensions", {}).get("code", "")
            async with engine.connect() as connection:
                sizes = (await connection.execute(text(SIZES), {"email": email})).one()
            print(  # noqa: T201
                f"{n:5d} {response.status_code:6d} {elapsed:9.3f} {sizes.document:15d}"
                f" {sizes.audit:12d}  {code}"
            )


if __name__ == "__main__":
    asyncio.run(main())
