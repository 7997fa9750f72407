"""Risk areas: set one, and find the same minute everyone whose recent travel touches it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging, regions
from cordon.auth import Principal
from cordon.bus import outbox
from cordon.clock import local_date
from cordon.contracts import registry
from services.registry.domain import risk
from services.registry.models import RiskArea, TravelRecord
from services.registry.service import audit, evaluation, places, policies


async def travellers(*, session: AsyncSession, region_code: str, since) -> set[uuid.UUID]:
    """People with travel since ``since`` anywhere in the province holding the area (the area itself, its county,
    the city's other counties and the province's other cities, which the county, city and province rules read):
    one indexed range."""
    rows = await session.execute(
        select(TravelRecord.person_id).distinct().where(
            TravelRecord.person_id.is_not(None),
            TravelRecord.last_seen >= since,
            regions.within(TravelRecord.region_code, risk.around(region_code)),
        )
    )
    return set(rows.scalars())


async def reevaluate_area(*, session: AsyncSession, area: RiskArea, now: datetime) -> int:
    policy = await policies.current(session=session)
    today = local_date(now)
    affected = await travellers(session=session, region_code=area.region_code, since=today - timedelta(days=policy.travel_window_days))
    await evaluation.evaluate(session=session, person_ids=affected, now=now, today=today, policy=policy)
    area.evaluated_at = now
    return len(affected)


async def set_risk_area(*, session: AsyncSession, principal: Principal, region_code: str, data, now: datetime) -> tuple[RiskArea, int]:
    await places.require_place(session=session, code=region_code)
    place_name = (await places.names(session=session, codes=[region_code])).get(region_code)
    effective_from = data.effective_from or now
    area = await session.get(RiskArea, region_code)
    previous = area.level if area else None
    if area is None:
        area = RiskArea(region_code=region_code)
        session.add(area)
    area.level, area.effective_from, area.local_cases = data.level, effective_from, data.local_cases
    area.name = data.name or area.name or place_name
    area.updated_at, area.updated_by = now, principal.username or principal.subject
    area.evaluated_at = None
    audit.record(session=session, principal=principal, action="set", entity="risk_area", entity_id=region_code)
    await outbox.add(
        session,
        registry.RiskAreaChanged(
            region_code=region_code, level=data.level, previous_level=previous, name=area.name, effective_from=effective_from,
            local_cases=area.local_cases,
        ),
        key=region_code,
    )
    affected = 0
    if effective_from <= now:
        affected = await reevaluate_area(session=session, area=area, now=now)
    await session.commit()
    return area, affected


async def list_risk_areas(
    *, session: AsyncSession, include_low: bool, limit: int, cursor: str | None
) -> paging.Page[RiskArea]:
    query = select(RiskArea)
    if not include_low:
        query = query.where(or_(RiskArea.level != "low", RiskArea.local_cases))
    return await paging.keyset(session, query, order=(RiskArea.region_code,), limit=limit, cursor=cursor)


async def due_areas(*, session: AsyncSession, now: datetime) -> list[RiskArea]:
    """Areas whose moment has come but whose travellers were not yet looked at."""
    rows = await session.execute(
        select(RiskArea).where(RiskArea.effective_from <= now, RiskArea.evaluated_at.is_(None))
    )
    return list(rows.scalars())
