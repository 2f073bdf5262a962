"""Soft deletes: `soft_delete`/`restore`, and ORM reads that skip deleted rows unless told."""

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import selectinload

from models import INCLUDE_DELETED, User, Venue, restore, soft_delete
from tests.factories import make_booking, make_media, make_user, make_venue


async def deleted_at_in_database(session, venue):
    return await session.scalar(
        text("SELECT deleted_at FROM venues WHERE id = :id"), {"id": venue.id}
    )


async def test_soft_delete_marks_the_row_in_the_database_and_in_memory(session):
    venue = await make_venue(session)

    returned = await soft_delete(session, venue)

    assert returned is venue
    assert venue.is_deleted
    assert venue.deleted_at is not None
    assert await deleted_at_in_database(session, venue) == venue.deleted_at


async def test_soft_delete_leaves_no_pending_change_so_the_next_flush_writes_nothing(
    session, count_statements
):
    venue = await make_venue(session)

    await soft_delete(session, venue)

    assert not inspect(venue).modified
    assert venue not in session.dirty
    with count_statements as counted:
        await session.flush()
    assert counted.statements == []


async def test_soft_delete_is_one_update_statement(session, count_statements):
    venue = await make_venue(session)

    with count_statements as counted:
        await soft_delete(session, venue)

    assert len(counted.statements) == 1
    assert counted.statements[0].startswith("UPDATE venues SET deleted_at")


async def test_soft_deleting_twice_is_a_no_op(session, count_statements):
    venue = await make_venue(session)
    await soft_delete(session, venue)
    first_deleted_at = venue.deleted_at

    with count_statements as counted:
        await soft_delete(session, venue)

    assert counted.statements == []
    assert venue.deleted_at == first_deleted_at
    assert await deleted_at_in_database(session, venue) == first_deleted_at


async def test_select_skips_soft_deleted_rows(session):
    owner = await make_user(session, role="host")
    kept = await make_venue(session, owner=owner)
    gone = await make_venue(session, owner=owner)

    await soft_delete(session, gone)

    found = (await session.execute(select(Venue).where(Venue.owner_id == owner.id))).scalars()
    assert {venue.id for venue in found} == {kept.id}


async def test_select_with_include_deleted_returns_soft_deleted_rows(session):
    owner = await make_user(session, role="host")
    kept = await make_venue(session, owner=owner)
    gone = await make_venue(session, owner=owner)
    await soft_delete(session, gone)

    statement = (
        select(Venue).where(Venue.owner_id == owner.id).execution_options(include_deleted=True)
    )

    found = (await session.execute(statement)).scalars()
    assert {venue.id for venue in found} == {kept.id, gone.id}


async def test_include_deleted_can_be_passed_to_execute(session):
    gone = await make_venue(session)
    await soft_delete(session, gone)

    found = await session.execute(
        select(Venue).where(Venue.id == gone.id), execution_options={INCLUDE_DELETED: True}
    )

    assert found.scalar_one() is gone


async def test_soft_deleted_rows_are_skipped_in_orm_joins(session):
    owner = await make_user(session, role="host")
    await make_venue(session, owner=owner)
    await soft_delete(session, await make_venue(session, owner=owner))

    statement = select(User.id).join(Venue, Venue.owner_id == User.id).where(User.id == owner.id)

    assert (await session.execute(statement)).scalars().all() == [owner.id]


async def test_get_returns_an_identity_mapped_object_even_when_soft_deleted(
    session, count_statements
):
    venue = await make_venue(session)
    await soft_delete(session, venue)

    with count_statements as counted:
        found = await session.get(Venue, venue.id)

    # `get` answers from the identity map without SQL, so no criteria apply.
    assert found is venue
    assert counted.statements == []


async def test_get_of_a_soft_deleted_row_not_in_the_identity_map_returns_none(session):
    venue = await make_venue(session)
    await soft_delete(session, venue)
    session.expunge_all()

    assert await session.get(Venue, venue.id) is None


async def test_get_with_include_deleted_loads_a_soft_deleted_row(session):
    venue = await make_venue(session)
    await soft_delete(session, venue)
    session.expunge_all()

    found = await session.get(Venue, venue.id, execution_options={INCLUDE_DELETED: True})

    assert found is not None
    assert found.id == venue.id
    assert found.is_deleted


async def test_selectinload_skips_soft_deleted_related_rows(session):
    owner = await make_user(session, role="host")
    kept = await make_venue(session, owner=owner)
    gone = await make_venue(session, owner=owner)
    await soft_delete(session, gone)
    session.expunge_all()

    statement = select(User).where(User.id == owner.id).options(selectinload(User.venues))

    loaded = (await session.execute(statement)).scalar_one()
    assert [venue.id for venue in loaded.venues] == [kept.id]


async def test_selectinload_with_include_deleted_loads_soft_deleted_related_rows(session):
    owner = await make_user(session, role="host")
    kept = await make_venue(session, owner=owner)
    gone = await make_venue(session, owner=owner)
    await soft_delete(session, gone)
    session.expunge_all()

    statement = (
        select(User)
        .where(User.id == owner.id)
        .options(selectinload(User.venues))
        .execution_options(include_deleted=True)
    )

    loaded = (await session.execute(statement)).scalar_one()
    assert {venue.id for venue in loaded.venues} == {kept.id, gone.id}


async def test_restore_brings_the_row_back(session):
    venue = await make_venue(session)
    await soft_delete(session, venue)

    returned = await restore(session, venue)

    assert returned is venue
    assert venue.deleted_at is None
    assert not venue.is_deleted
    assert not inspect(venue).modified
    assert await deleted_at_in_database(session, venue) is None
    session.expunge_all()
    assert (await session.get(Venue, venue.id)) is not None


async def test_restoring_a_live_row_is_a_no_op(session, count_statements):
    venue = await make_venue(session)

    with count_statements as counted:
        await restore(session, venue)

    assert counted.statements == []
    assert venue.deleted_at is None


@pytest.mark.parametrize("factory", [make_user, make_venue, make_booking, make_media])
async def test_soft_delete_and_restore_work_for_every_soft_deletable_model(session, factory):
    row = await factory(session)
    model = type(row)
    by_id = select(model).where(model.id == row.id)

    await soft_delete(session, row)
    assert (await session.execute(by_id)).first() is None

    await restore(session, row)
    assert (await session.execute(by_id)).scalar_one() is row
