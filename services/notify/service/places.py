"""The place names this service keeps (place_ref): from registry.region.changed, newest announcement wins."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.contracts.registry import RegionChanged
from cordon.db import dialect_insert, slices
from services.notify.domain import places
from services.notify.models import PlaceRef


async def keep_places(*, session: AsyncSession, event: RegionChanged, at: datetime) -> None:
    """Every place of the event, in one statement per thousand: a row kept from a newer announcement stays."""
    latest = {p.code: p.name for p in event.places}  # one event names a place once, but be sure
    rows = [{"code": code, "name": name, "updated_at": at} for code, name in latest.items()]
    for part in slices(rows, 1000):
        statement = dialect_insert(session, PlaceRef).values(part)
        statement = statement.on_conflict_do_update(
            index_elements=["code"],
            set_={"name": statement.excluded.name, "updated_at": statement.excluded.updated_at},
            where=PlaceRef.updated_at < statement.excluded.updated_at,
        )
        await session.execute(statement)


async def names(*, session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    """code -> name of every known place among ``codes`` and the places above them (one query per thousand)."""
    found: dict[str, str] = {}
    for part in slices(sorted(places.wanted(codes)), 1000):
        found.update((await session.execute(select(PlaceRef.code, PlaceRef.name).where(PlaceRef.code.in_(part)))).all())
    return found


async def labels(*, session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    """code -> the place as texts to staff name it."""
    codes = [c for c in dict.fromkeys(codes) if c]
    known = await names(session=session, codes=codes)
    return {code: places.label(code, known) for code in codes}


async def label(*, session: AsyncSession, code: str | None) -> str:
    return (await labels(session=session, codes=[code]))[code] if code else "—"
