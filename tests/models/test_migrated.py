from sqlalchemy import text


async def test_database_is_migrated(session, count_statements):
    with count_statements as counted:
        version = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version == "0007"
    assert counted.count == 1
