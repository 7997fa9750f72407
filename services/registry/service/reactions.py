"""What other services' events change here: results, overdue tests, samples, gathering exposures.

Each runs inside the consumer's transaction (with its inbox row) and never commits itself.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.clock import local_date
from cordon.contracts import events as gatherings
from cordon.contracts import testing
from cordon.db import insert_or_ignore
from services.registry.models import Exposure, Person
from services.registry.service import audit, evaluation, policies, reports
from services.registry.service.health import refresh_codes


async def _person(session: AsyncSession, person_id: uuid.UUID | None, id_number_index: str) -> Person | None:
    person = await session.get(Person, person_id) if person_id else None
    if person is None:
        person = (
            await session.execute(select(Person).where(Person.id_number_index == id_number_index))
        ).scalar_one_or_none()
    return person


async def _refresh(session: AsyncSession, person: Person, now: datetime) -> None:
    await refresh_codes(session, [person.id], today=local_date(now), policy=await policies.current(session))


async def record_result(session: AsyncSession, result: testing.ResultRecorded, now: datetime) -> None:
    if result.correction:  # corrections are the lab's; the trail that answers for them is kept here
        audit.write(session, actor=f"lab:{result.lab}", role="lab", action="correct", entity="result",
                    entity_id=result.sample_id)
    person = await _person(session, result.person_id, result.id_number_index)
    if person is None:
        return  # not registered: the testing service keeps the result; nothing to derive here
    if result.outcome == "positive":
        person.positive_at, person.pool_positive_due_by = result.collected_at, None
    elif result.outcome == "pool_positive" and person.positive_at is None:
        person.pool_positive_due_by = result.retest_due_by
    elif result.outcome == "negative":
        if person.pool_positive_due_by is not None:
            person.pool_positive_due_by = None  # the single-tube retest came back negative
        if result.correction and person.positive_at == result.collected_at:
            person.positive_at = None  # the positive it corrects was a mistake
    await _refresh(session, person, now)


async def record_overdue(session: AsyncSession, schedule: testing.ScheduleOverdue, now: datetime) -> None:
    person = await session.get(Person, schedule.person_id)
    if person is None:
        return
    if person.overdue_since is None or schedule.due_on < person.overdue_since:
        person.overdue_since = schedule.due_on
    await _refresh(session, person, now)


async def record_sample(session: AsyncSession, sample: testing.SampleCollected, now: datetime) -> None:
    """A sample taken on or after the overdue day settles it."""
    person = await _person(session, sample.person_id, sample.id_number_index)
    if person is None:
        return
    await reports.count_test(session, region_code=person.region_code, on=local_date(sample.collected_at))
    if person.overdue_since is None:
        return
    if local_date(sample.collected_at) >= person.overdue_since:
        person.overdue_since = None
        await _refresh(session, person, now)


async def record_exposure(session: AsyncSession, exposure: gatherings.ExposureDetected, now: datetime) -> None:
    """Each other attendee gets the gathering_exposure rule; those not yet registered when they are."""
    matched: set[uuid.UUID] = set()
    for attendee in exposure.attendees:
        subjects = []
        if attendee.id_number_index:
            subjects.append(("id", attendee.id_number_index, Person.id_number_index == attendee.id_number_index))
        if attendee.phone_index:
            subjects.append(("phone", attendee.phone_index, Person.phone_index == attendee.phone_index))
        if not subjects:
            continue
        person_id = (
            await session.execute(select(Person.id).where(or_(*(cond for _, _, cond in subjects))).limit(1))
        ).scalar_one_or_none()
        kind, index, _ = subjects[0]
        await insert_or_ignore(
            session,
            Exposure.__table__,
            {
                "id": uuid.uuid4(), "rule": "gathering_exposure", "key": str(exposure.gathering_id),
                "exposed_on": exposure.gathering_on, "subject": f"{kind}:{index}", "person_id": person_id,
                "created_at": now,
            },
            conflict=["rule", "key", "subject"],
        )
        if person_id:
            matched.add(person_id)
    if matched:
        await evaluation.evaluate(
            session, matched, now=now, today=local_date(now), policy=await policies.current(session)
        )


async def record_decision(session: AsyncSession, decision: gatherings.GatheringFacts, action: str) -> None:
    """Gathering decisions are the events service's; the trail that answers for them is kept here."""
    audit.write(session, actor=decision.by or "unknown", role="official", action=action, entity="gathering",
                entity_id=decision.gathering_id)
