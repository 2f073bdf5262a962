from sqlalchemy import text

from tests.factories import make_user


async def test_server_values_are_loaded_on_insert_and_update_without_a_refresh(session):
    user = await make_user(session)
    assert user.created_at is not None
    assert user.updated_at == user.created_at
    user.display_name = "Renamed"
    await session.flush()
    # Read straight from the object: a lazy refresh here would fail under asyncio.
    assert user.updated_at >= user.created_at


async def test_the_trigger_stamps_updated_at_on_raw_sql_updates(session):
    user_id = (
        await session.execute(
            text(
                "INSERT INTO users (email, email_key, display_name, created_at, updated_at)"
                " VALUES ('old@example.test', 'old@example.test', 'Old', '2000-01-01Z',"
                " '2000-01-01Z') RETURNING id"
            )
        )
    ).scalar_one()
    await session.execute(
        text("UPDATE users SET display_name = 'New', updated_at = '1999-01-01Z' WHERE id = :id"),
        {"id": user_id},
    )
    created_at, updated_at, now = (
        await session.execute(
            text("SELECT created_at, updated_at, now() FROM users WHERE id = :id"), {"id": user_id}
        )
    ).one()
    assert created_at.year == 2000
    assert updated_at == now
