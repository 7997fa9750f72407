"""What other services' events change here: results (kept by blind index until their person registers),
overdue tests, samples, gathering exposures.

Each runs inside the consumer's transaction (with its inbox row) and never commits itself.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cordon.clock import local_date
from cordon.contracts import events as gatherings
from cordon.contracts import testing
from cordon.db import insert_or_ignore, skip_locked
from cordon.policy import Policy
from services.registry.domain import results
from services.registry.models import Exposure, Person, WaitingResult
from services.registry.service import audit, cases, evaluation, policies, releases, reports
from services.registry.service.health import refresh_codes, set_overdue


async def _person(session: AsyncSession, person_id: uuid.UUID | None, id_number_index: str) -> Person | None:
    person = await session.get(Person, person_id) if person_id else None
    if person is None:
        person = (
            await session.execute(select(Person).where(Person.id_number_index == id_number_index))
        ).scalar_one_or_none()
    return person


async def _refresh(session: AsyncSession, person: Person, now: datetime, policy: Policy | None = None) -> None:
    """The person's code again, under ``policy`` when the caller has read it already (else the one in force)."""
    policy = policy or await policies.current(session=session)
    await refresh_codes(session=session, person_ids=[person.id], today=local_date(now), policy=policy)


def _apply_result(person: Person, *, outcome: str, collected_at: datetime, retest_due_by: datetime | None,
                  correction: bool) -> None:
    state = results.after_result(
        results.ResultState(positive_at=person.positive_at, pool_positive_due_by=person.pool_positive_due_by),
        outcome=outcome, collected_at=collected_at, retest_due_by=retest_due_by, correction=correction,
    )
    person.positive_at, person.pool_positive_due_by = state.positive_at, state.pool_positive_due_by


async def record_result(*, session: AsyncSession, result: testing.ResultRecorded, now: datetime) -> None:
    if result.relinked:
        return  # the same result again, now with its person: it was applied (or kept waiting) when first told
    if result.correction:  # corrections are the lab's; the trail that answers for them is kept here
        audit.write(session=session, actor=f"lab:{result.lab}", role="lab", action="correct", entity="result",
                    entity_id=result.sample_id)
    person = await _person(session, result.person_id, result.id_number_index)
    if person is None:
        # Nobody registered under this ID number yet: kept by its blind index, applied at registration.
        session.add(WaitingResult(
            id_number_index=result.id_number_index, sample_id=result.sample_id, outcome=result.outcome,
            collected_at=result.collected_at, retest_due_by=result.retest_due_by, correction=result.correction,
            received_at=now,
        ))
        return
    positive_at = person.positive_at
    _apply_result(person, outcome=result.outcome, collected_at=result.collected_at, retest_due_by=result.retest_due_by,
                  correction=result.correction)
    if positive_at is not None and person.positive_at is None and result.correction:
        await cases.withdraw_for_correction(session=session, person=person, corrected_positive_at=positive_at,
                                            lab=result.lab, now=now)
    await releases.record_sample(session=session, person_id=person.id, sample_id=result.sample_id,
                                 collected_at=result.collected_at, outcome=result.outcome)
    policy = await policies.current(session=session)
    await releases.settle(session=session, person_ids=[person.id], now=now, policy=policy)
    await _refresh(session, person, now, policy)


async def claim_waiting_results(*, session: AsyncSession, person: Person) -> bool:
    """Inside a registration: the results that waited for this person's ID number become theirs, in the order
    they arrived (the caller refreshes the code). Whether there were any."""
    waiting = list((await session.execute(
        select(WaitingResult).where(WaitingResult.id_number_index == person.id_number_index).order_by(WaitingResult.seq)
    )).scalars())
    for row in waiting:
        _apply_result(person, outcome=row.outcome, collected_at=row.collected_at, retest_due_by=row.retest_due_by,
                      correction=row.correction)
        await releases.record_sample(session=session, person_id=person.id, sample_id=row.sample_id,
                                     collected_at=row.collected_at, outcome=row.outcome)
    if waiting:
        await session.execute(delete(WaitingResult).where(WaitingResult.seq.in_([row.seq for row in waiting])))
    return bool(waiting)


async def apply_waiting_results(*, sessionmaker: async_sessionmaker[AsyncSession], now: datetime, batch: int = 500) -> int:
    """The clockwork's sweep: results kept waiting whose person is registered by now (a result and a registration
    committed at the same moment miss each other). Row locks on PostgreSQL, so replicas share the work."""
    settled = 0
    while True:
        async with sessionmaker() as session:
            query = (
                select(Person)
                .where(Person.id_number_index.in_(select(WaitingResult.id_number_index)))
                .order_by(Person.id)
                .limit(batch)
            )
            people = list((await session.execute(skip_locked(session, query))).scalars())
            for person in people:
                await claim_waiting_results(session=session, person=person)
            if people:
                await refresh_codes(session=session, person_ids=[p.id for p in people], today=local_date(now),
                                    policy=await policies.current(session=session))
            await session.commit()
        settled += len(people)
        if len(people) < batch:
            return settled


async def record_overdue(*, session: AsyncSession, schedule: testing.ScheduleOverdue, now: datetime) -> None:
    person = await session.get(Person, schedule.person_id)
    if person is None:
        return
    if person.overdue_since is None or schedule.due_on < person.overdue_since:
        await set_overdue(session=session, person=person, overdue_since=schedule.due_on)
    await _refresh(session, person, now)


async def record_sample(*, session: AsyncSession, sample: testing.SampleCollected, now: datetime) -> None:
    """A sample taken on or after the overdue day settles it."""
    person = await _person(session, sample.person_id, sample.id_number_index)
    if person is None:
        return
    await reports.count_test(session=session, region_code=person.region_code, on=local_date(sample.collected_at))
    await releases.record_sample(session=session, person_id=person.id, sample_id=sample.sample_id,
                                 collected_at=sample.collected_at, outcome="pending")
    policy = await policies.current(session=session)
    if await releases.settle(session=session, person_ids=[person.id], now=now, policy=policy):
        await _refresh(session, person, now, policy)  # an arrival test lifted a province-rule measure
    if person.overdue_since is None:
        return
    if local_date(sample.collected_at) >= person.overdue_since:
        await set_overdue(session=session, person=person, overdue_since=None)
        await _refresh(session, person, now, policy)


async def record_exposure(*, session: AsyncSession, exposure: gatherings.ExposureDetected, now: datetime) -> None:
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
            session=session, person_ids=matched, now=now, today=local_date(now), policy=await policies.current(session=session)
        )


async def record_decision(*, session: AsyncSession, decision: gatherings.GatheringFacts, action: str) -> None:
    """Gathering decisions are the events service's; the trail that answers for them is kept here."""
    audit.write(session=session, actor=decision.by or "unknown", role="official", action=action, entity="gathering",
                entity_id=decision.gathering_id)
