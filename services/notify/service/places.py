"""The place names this service keeps (place_ref): from registry.region.changed, newest announcement wins."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import projections
from cordon.contracts.registry import RegionChanged
from cordon.db import slices
from services.notify.domain import places
from services.notify.models import PlaceRef


async def keep_places(*, session: AsyncSession, event: RegionChanged, at: datetime) -> None:
    await projections.keep_places(session, PlaceRef, event, at=at)


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
