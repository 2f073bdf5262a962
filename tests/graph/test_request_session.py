import asyncio

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from graph.request_session import RequestFinishedError, RequestSession
from models import Actor, Venue
from tests.factories import make_user, make_venue


async def test_a_failed_write_leaves_rows_read_earlier_usable(session):
    venue = await make_venue(session, name="Kept")
    db = RequestSession(session)
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
    db = RequestSession(session)

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
    db = RequestSession(session)
    results = await asyncio.gather(
        *(
            db.execute(text("SELECT pg_sleep(0.01), CAST(:n AS int) AS n"), {"n": n})
            for n in range(5)
        )
    )
    assert [result.one().n for result in results] == list(range(5))


async def test_finish_waits_for_the_running_statement_and_refuses_more(session):
    db = RequestSession(session)
    running = asyncio.create_task(db.execute(text("SELECT pg_sleep(0.05)")))
    await asyncio.sleep(0)
    await db.finish()
    assert running.done()
    with pytest.raises(RequestFinishedError):
        await db.execute(text("SELECT 1"))
