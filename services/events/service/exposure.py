"""Exposure detection: a positive result finds the gatherings its person attended and their other attendees.

Runs inside the consumer's transaction (the handler must not commit). One
exposure row per (gathering, positive person) makes a redelivered or repeated
positive a no-op.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.bus import outbox
from cordon.contracts import events, testing
from cordon.db import insert_or_ignore
from cordon.policy import replica
from services.events.domain import exposure as rules
from services.events.models import CheckIn, Exposure, Gathering, PersonRef


async def _keys(session: AsyncSession, result: testing.ResultRecorded) -> tuple[rules.Keys, uuid.UUID | None]:
    ref = (
        await session.execute(select(PersonRef).where(PersonRef.id_number_index == result.id_number_index))
    ).scalar_one_or_none()
    if ref is None:
        return rules.Keys(result.id_number_index), result.person_id
    return rules.Keys(result.id_number_index, ref.phone_index), result.person_id or ref.person_id


async def _ids_for_phones(session: AsyncSession, phone_indexes: set[str]) -> dict[str, str]:
    """ID-number indexes of phone-only attendees the registry has since come to know."""
    if not phone_indexes:
        return {}
    rows = await session.execute(
        select(PersonRef.phone_index, PersonRef.id_number_index).where(PersonRef.phone_index.in_(phone_indexes))
    )
    return {phone: id_index for phone, id_index in rows}


async def detect_exposure(*, session: AsyncSession, result: testing.ResultRecorded, now: datetime) -> list[uuid.UUID]:
    """Mark each gathering the positive person checked in at from the look-back before the sample until the
    result; the ids newly marked."""
    if result.outcome != "positive":
        return []
    policy = (await replica.current(session)).gatherings
    keys, person_id = await _keys(session, result)
    start, end = rules.window(result.collected_at, result.tested_at, policy.exposure_window_days)
    matching = [CheckIn.id_number_index == keys.id_number_index]
    if keys.phone_index:
        matching.append(CheckIn.phone_index == keys.phone_index)
    gathering_ids = (
        await session.execute(
            select(CheckIn.gathering_id).where(or_(*matching), CheckIn.checked_in_at.between(start, end)).distinct()
        )
    ).scalars().all()
    marked = []
    for gathering_id in sorted(gathering_ids):
        exposure_id = uuid.uuid4()
        fresh = await insert_or_ignore(
            session, Exposure.__table__,
            {"id": exposure_id, "gathering_id": gathering_id, "positive_id_number_index": keys.id_number_index,
             "positive_person_id": person_id, "sample_collected_at": result.collected_at, "attendees": 0, "detected_at": now},
            conflict=["gathering_id", "positive_id_number_index"],
        )
        if not fresh:
            continue
        gathering = await session.get(Gathering, gathering_id)
        gathering.exposure = True
        gathering.updated_at = now
        check_ins = (await session.execute(select(CheckIn).where(CheckIn.gathering_id == gathering_id).order_by(CheckIn.seq))).scalars()
        others = [c for c in check_ins if not keys.matches(c.id_number_index, c.phone_index)]
        linked = await _ids_for_phones(session, {c.phone_index for c in others if c.id_number_index is None and c.phone_index})
        attendees = [
            events.Attendee(
                id_number_index=c.id_number_index or linked.get(c.phone_index), phone_index=c.phone_index, checked_in_at=c.checked_in_at
            )
            for c in others
        ]
        await session.execute(update(Exposure).where(Exposure.id == exposure_id).values(attendees=len(attendees)))
        await outbox.add(
            session,
            events.ExposureDetected(
                gathering_id=gathering.id, title=gathering.title, region_code=gathering.region_code,
                gathering_on=gathering.gathering_on, positive_person_id=person_id,
                positive_id_number_index=keys.id_number_index, sample_collected_at=result.collected_at, attendees=attendees,
            ),
            key=gathering.id,
        )
        marked.append(gathering_id)
    return marked
