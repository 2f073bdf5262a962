from alembic.script import ScriptDirectory
from sqlalchemy import text

from models.provisioning import alembic_config


async def test_database_is_migrated(session, count_statements):
    with count_statements as counted:
        version = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert (
        version
        == ScriptDirectory.from_config(alembic_config("postgresql://unused")).get_current_head()
    )
    assert counted.count == 1
