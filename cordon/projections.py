"""Local copies of another service's data, kept from its events: one row per key, the newest version wins.

Events may arrive out of order (a redelivery after a newer announcement, two consumers).
Each row carries ``updated_at`` = the time of the event it was written from; an event no
newer than the kept row changes nothing. Runs inside the consumer's transaction: nothing
here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.contracts.registry import PersonFacts, RegionChanged
from cordon.db import dialect_insert, slices


async def keep_latest(
    session: AsyncSession, model, *, key: str, key_value: object, values: dict, at: datetime, unique: Sequence[str] = ()
) -> bool:
    """Write ``values`` (and ``updated_at`` = ``at``) into the row of ``model`` whose ``key`` is ``key_value``,
    unless that row holds a version as new or newer. A row of another key holding the same value in a
    ``unique`` column gives way first (one ID number, one person). True if written."""
    key_column = getattr(model, key)
    kept = await session.scalar(select(model.updated_at).where(key_column == key_value))
    if kept is not None and kept >= at:
        return False
    for column in unique:
        await session.execute(
            delete(model).where(getattr(model, column) == values[column], key_column != key_value)
            .execution_options(synchronize_session=False)
        )
    row = {key: key_value, **values, "updated_at": at}
    statement = dialect_insert(session, model).values(**row)
    statement = statement.on_conflict_do_update(
        index_elements=[key],
        set_={name: statement.excluded[name] for name in row if name != key},
        where=model.updated_at < statement.excluded.updated_at,  # and again in the statement: a concurrent writer
    )
    return (await session.execute(statement)).rowcount > 0


async def project_person(session: AsyncSession, model, event: PersonFacts, *, at: datetime) -> bool:
    """A registry person into this service's ``person_ref`` ``model``: the event's fields of the same names as
    its columns. True if written (False: a newer announcement is already kept)."""
    table = model.__table__
    columns = [c.key for c in table.columns if c.key not in ("person_id", "updated_at")]
    unique = [c.key for c in table.columns if c.unique and c.key in columns]
    values = {name: getattr(event, name) for name in columns}
    return await keep_latest(session, model, key="person_id", key_value=event.person_id, values=values, at=at, unique=unique)


async def keep_places(session: AsyncSession, model, event: RegionChanged, *, at: datetime) -> None:
    """The places of a ``registry.region.changed`` into this service's ``place_ref`` ``model`` (code, name,
    updated_at), one statement per thousand; a row kept from a newer announcement stays."""
    latest = {p.code: p.name for p in event.places}  # one event names a place once, but be sure
    rows = [{"code": code, "name": name, "updated_at": at} for code, name in latest.items()]
    for part in slices(rows, 1000):
        statement = dialect_insert(session, model).values(part)
        statement = statement.on_conflict_do_update(
            index_elements=["code"],
            set_={"name": statement.excluded.name, "updated_at": statement.excluded.updated_at},
            where=model.updated_at < statement.excluded.updated_at,
        )
        await session.execute(statement)
