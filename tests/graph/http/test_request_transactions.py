"""The served app's transactions: reads run without one, each write is exactly one.

The app runs with its own pool here (not the test's session), as in production; rows are
committed through the `engine` fixture and deleted afterwards. The server's own statistics
(pg_stat_statements, per database) show which transaction statements the app sent.
"""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from graph.core.global_id import encode_global_id
from models.settings import Settings
from tests.factories import make_login_session, make_user
from tests.graph.serving import http_client, served_app

UPDATE_PREFERENCES = """
mutation Update($input: UpdatePreferencesInput!) {
  updatePreferences(input: $input) { user { id preferences } }
}
"""


@dataclass(frozen=True)
class SignedIn:
    user_id: uuid.UUID
    email: str
    token: str


@pytest.fixture
async def signed_in(engine: AsyncEngine) -> AsyncIterator[SignedIn]:
    async with AsyncSession(engine, expire_on_commit=False) as setup:
        user = await make_user(setup)
        token = f"reader-{uuid.uuid4()}"
        await make_login_session(setup, user=user, token=token)
        await setup.commit()
    try:
        yield SignedIn(user_id=user.id, email=user.email, token=token)
    finally:
        async with engine.begin() as connection:
            for statement in (
                "DELETE FROM sessions WHERE user_id = :id",
                "DELETE FROM users WHERE id = :id",
                "DELETE FROM audit_log WHERE record_id = :id",
            ):
                await connection.execute(text(statement), {"id": user.id})


async def _transaction_statements(engine: AsyncEngine) -> dict[str, int]:
    """Calls of BEGIN and ROLLBACK in this database so far, as the server counted them."""
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        rows = await connection.execute(
            text(
                "SELECT upper(query) AS query, sum(calls)::int AS calls FROM pg_stat_statements"
                " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND upper(query) ~ '^(BEGIN|ROLLBACK|COMMIT|SAVEPOINT|RELEASE)' GROUP BY 1"
            )
        )
        return {row.query: row.calls for row in rows}


async def test_read_requests_send_no_transaction_statements(test_database, engine, signed_in):
    headers = {"Authorization": f"Bearer {signed_in.token}"}
    async with (
        served_app(Settings(database_url=test_database.url)) as application,
        http_client(application) as http,
    ):
        # The pool's first connection is set up (SQLAlchemy reads the server's settings) in a
        # transaction of its own, once.
        await http.post("/graphql", json={"query": "{ venues(first: 1) { totalCount } }"})
        before = await _transaction_statements(engine)
        for _ in range(5):
            response = await http.post(
                "/graphql",
                json={"query": "{ viewer { email } venues(first: 2) { totalCount } }"},
                headers=headers,
            )
            assert response.json()["data"]["viewer"] == {"email": signed_in.email}
        after = await _transaction_statements(engine)
    assert after == before


async def test_a_write_is_one_transaction_carrying_its_actor(test_database, engine, signed_in):
    headers = {"Authorization": f"Bearer {signed_in.token}"}
    variables = {"input": {"patch": {"theme": "dark"}}}
    async with (
        served_app(Settings(database_url=test_database.url)) as application,
        http_client(application) as http,
    ):
        response = await http.post(
            "/graphql", json={"query": UPDATE_PREFERENCES, "variables": variables}, headers=headers
        )
    user = response.json()["data"]["updatePreferences"]["user"]
    assert user["id"] == encode_global_id("User", signed_in.user_id)
    assert user["preferences"]["theme"] == "dark"
    async with engine.connect() as connection:
        audited = (
            (
                await connection.execute(
                    text(
                        "SELECT user_email FROM audit_log"
                        " WHERE record_id = :id AND action = 'UPDATE' ORDER BY seq"
                    ),
                    {"id": signed_in.user_id},
                )
            )
            .scalars()
            .all()
        )
    # The actor is set with set_config(..., is_local => true): it reaches the audit trigger
    # only when the update runs in the same database transaction.
    assert audited == [signed_in.email]
