import asyncio

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from graph.core.request_database import RequestDatabase, RequestFinishedError
from models import Actor, Venue
from models.database import AUTOCOMMIT_READS, create_session_factory, database_unavailable
from tests.factories import make_user, make_venue


async def test_a_failed_write_leaves_rows_read_earlier_usable(session):
    venue = await make_venue(session, name="Kept")
    db = RequestDatabase(session)
    loaded = (await db.execute(select(Venue).where(Venue.id == venue.id))).scalar_one()

    async def violate(write_session):
        await write_session.execute(
            text("UPDATE venues SET hourly_rate = -1 WHERE id = :id"), {"id": venue.id}
        )

    with pytest.raises(IntegrityError):
        await db.write(Actor(), violate)

    # No lazy load (which would fail under asyncio): the row is still loaded.
    assert loaded.name == "Kept"
    assert loaded.owner_id == venue.owner_id
    rate = (await db.execute(select(Venue.hourly_rate).where(Venue.id == venue.id))).scalar_one()
    assert rate == venue.hourly_rate


async def test_writes_commit_and_are_audited_with_the_actor(session):
    user = await make_user(session)
    db = RequestDatabase(session)

    async def rename(write_session):
        await write_session.execute(
            text("UPDATE users SET display_name = 'Renamed' WHERE id = :id"), {"id": user.id}
        )
        return "done"

    assert await db.write(Actor(user_id=user.id, email=user.email), rename) == "done"
    row = (
        await db.execute(
            text("SELECT user_email FROM audit_log WHERE record_id = :id AND action = 'UPDATE'"),
            {"id": user.id},
        )
    ).scalar_one()
    assert row == user.email


async def test_concurrent_statements_queue_instead_of_colliding(session):
    db = RequestDatabase(session)
    results = await asyncio.gather(
        *(
            db.execute(text("SELECT pg_sleep(0.01), CAST(:n AS int) AS n"), {"n": n})
            for n in range(5)
        )
    )
    assert [result.one().n for result in results] == list(range(5))


async def test_finish_waits_for_the_running_statement_and_refuses_more(session):
    db = RequestDatabase(session)
    running = asyncio.create_task(db.execute(text("SELECT pg_sleep(0.05)")))
    await asyncio.sleep(0)
    await db.finish()
    assert running.done()
    with pytest.raises(RequestFinishedError):
        await db.execute(text("SELECT 1"))


async def test_a_cancelled_reader_lets_its_statement_finish_on_a_kept_connection(session):
    db = RequestDatabase(session)
    before = await session.connection()
    reader = asyncio.create_task(db.execute(text("SELECT pg_sleep(0.1), 1 AS n")))
    await asyncio.sleep(0.02)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    # The statement ran to its end: the session's connection (the test's transaction) lives.
    assert await session.connection() is before
    assert (await db.execute(text("SELECT 2 AS n"))).one().n == 2


async def test_cancel_interrupts_the_running_statement(session):
    db = RequestDatabase(session)
    reader = asyncio.create_task(db.execute(text("SELECT pg_sleep(5)")))
    await asyncio.sleep(0.05)
    started = asyncio.get_running_loop().time()
    db.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert asyncio.get_running_loop().time() - started < 1
    with pytest.raises(RequestFinishedError):
        await db.execute(text("SELECT 1"))


async def test_a_failed_non_null_root_field_keeps_the_request_connection(session, client):
    # `nodes` is non-null: its bad ID nulls `data`, and graphql-core cancels the sibling list
    # while its statement runs. The statement finishes instead, so the connection (here the
    # test's own transaction) survives.
    host = await make_user(session, role="host")
    for _ in range(3):
        await make_venue(session, owner=host)
    query = (
        '{ nodes(ids: ["x"]) { id } '
        "venues(first: 50) { edges { node { id name bookings { totalCount } } } } }"
    )
    response = await client.post("/graphql", json={"query": query})
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await session.execute(select(Venue.id).where(Venue.owner_id == host.id))).all()


PLAN_CACHE_MODE = text("SELECT current_setting('plan_cache_mode')")


@pytest.mark.parametrize("autocommit_reads", [True, False], ids=["autocommit", "transaction"])
async def test_a_read_planned_as_search_sets_the_plan_mode_for_itself_only(
    session, autocommit_reads
):
    session.info[AUTOCOMMIT_READS] = autocommit_reads
    db = RequestDatabase(session)

    during = (await db.execute(PLAN_CACHE_MODE, plan_as_search=True)).scalar_one()
    usual = (await db.execute(PLAN_CACHE_MODE)).scalar_one()

    assert during == "force_custom_plan"
    if autocommit_reads:  # a transaction's SET LOCAL ends with it
        assert usual == "auto"


async def test_a_search_read_whose_connection_dies_reports_the_connection_loss(engine):
    # Resetting the plan mode after the read ran on a dead connection failed in turn
    # (PendingRollbackError), hiding the loss: the request answered INTERNAL_SERVER_ERROR
    # instead of SERVICE_UNAVAILABLE, and a replica's read was not retried on the primary.
    factory = create_session_factory(engine)
    async with factory() as own_session:
        db = RequestDatabase(own_session)

        async def killed(session):
            return await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

        with pytest.raises(DBAPIError) as raised:
            await db.run(killed, plan_as_search=True)
        assert database_unavailable(raised.value)
        # The request's next read runs on a fresh connection.
        assert (await db.execute(text("SELECT 1"))).scalar_one() == 1
        await db.finish()
