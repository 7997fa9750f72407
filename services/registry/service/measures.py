"""Measures: list, assign by hand, release early, follow up; and the clockwork that moves them along."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging
from cordon.auth import Principal
from cordon.bus import outbox
from cordon.clock import local_date
from cordon.contracts import registry
from cordon.db import insert_or_ignore, skip_locked
from cordon.errors import Conflict, NotFound, Unprocessable
from services.registry.domain import accountability, engine
from services.registry.domain.measures import status
from services.registry.models import Exposure, FollowUp, Measure, Person
from services.registry.service import audit, evaluation, follow_up_duties, policies, releases
from services.registry.service.health import refresh_codes, set_overdue

MANUAL_RULE = "manual"


class MeasureNotFound(NotFound):
    code = "measure_not_found"


class MeasureNotOpen(Conflict):
    code = "invalid_transition"


async def visible_measure(*, session: AsyncSession, principal: Principal, measure_id: uuid.UUID) -> tuple[Measure, Person]:
    measure = await session.get(Measure, measure_id)
    person = await session.get(Person, measure.person_id) if measure else None
    if measure is None or person is None or not principal.sees_region(person.region_code):
        raise MeasureNotFound("No such measure.")
    return measure, person


def current_status(measure: Measure, today: date) -> str:
    """Read from the dates, so an answer is right even before the clockwork has run today; a measure whose
    release is blocked stays active past its end."""
    if measure.release_blocked is not None and measure.status == "active":
        return "active"
    return status(measure.starts_on, measure.ends_on, today, released=measure.status == "released")


async def list_measures(
    *, session: AsyncSession, person_id: uuid.UUID, limit: int, cursor: str | None
) -> paging.Page[Measure]:
    query = select(Measure).where(Measure.person_id == person_id)
    order = (Measure.starts_on, Measure.kind, Measure.id)
    return await paging.keyset(session, query, order=order, limit=limit, cursor=cursor)


async def assign_by_hand(*, session: AsyncSession, principal: Principal, person: Person, data, now: datetime) -> list[Measure]:
    """A rule the policy lets an official assign (a close contact, a secondary contact...) from an exposure date,
    with its chain and test days; or an explicit measure."""
    policy = await policies.current(session=session)
    today = local_date(now)
    extra: dict[uuid.UUID, list[engine.Requirement]] = {}
    if data.rule is not None:
        rule = policy.rules.get(data.rule)
        if rule is None or not rule.by_hand:
            raise Unprocessable(
                f"The active policy has no rule an official may assign by hand named {data.rule!r}; "
                f"these are: {', '.join(policy.assignable())}.",
                code="rule_unknown",
            )
        if all(r.ends_on < today for r in engine.chain(data.rule, rule, "", data.exposure_date)):
            raise Unprocessable("The whole chain from this exposure date lies in the past.", code="chain_in_past")
        await insert_or_ignore(  # the same decision posted again is the same trigger
            session,
            Exposure.__table__,
            {"id": uuid.uuid4(), "rule": data.rule, "key": data.exposure_date.isoformat(),
             "exposed_on": data.exposure_date, "subject": f"person:{person.id}", "person_id": person.id, "created_at": now},
            conflict=["rule", "key", "subject"],
        )
    else:
        ends_on = data.starts_on + timedelta(days=data.days - 1)
        if ends_on < today:
            raise Unprocessable("The measure would end in the past.", code="chain_in_past")
        extra[person.id] = [engine.Requirement(MANUAL_RULE, f"manual:{uuid.uuid4()}", data.kind, data.starts_on, ends_on)]
    touched = await evaluation.measures_by_id(session=session, ids=await evaluation.evaluate(
        session=session, person_ids=[person.id], now=now, today=today, policy=policy, extra=extra))
    for measure in touched:
        if data.rule is None and measure.rule == MANUAL_RULE:
            measure.reason = data.reason
        audit.record(session=session, principal=principal, action="assign", entity="measure", entity_id=measure.id)
    await session.commit()
    return touched


async def release(*, session: AsyncSession, principal: Principal, measure: Measure, person: Person, reason: str, now: datetime) -> Measure:
    today = local_date(now)
    if current_status(measure, today) not in ("scheduled", "active"):
        raise MeasureNotOpen(f"A {current_status(measure, today)} measure cannot be released.")
    measure.status, measure.released_on, measure.released_by = "released", today, principal.username or principal.subject
    measure.reason, measure.updated_at, measure.release_blocked = reason, now, None
    policy = await policies.current(session=session)
    if person.overdue_since is not None:  # testing cancels the released measure's open tests: their overdue goes too
        held = (await session.execute(select(Measure.test_days).where(
            Measure.person_id == person.id, Measure.id != measure.id, Measure.status.in_(("scheduled", "active", "completed"))
        ))).scalars()
        days = [date.fromisoformat(d) for test_days in held for d in test_days]
        await set_overdue(session=session, person=person, overdue_since=accountability.overdue_after_release(
            person.overdue_since, days, today - timedelta(days=policy.testing.overdue_after_days)))
    audit.record(session=session, principal=principal, action="release", entity="measure", entity_id=measure.id)
    await outbox.add(
        session,
        evaluation.measure_event(registry.MeasureReleased, measure, person.region_code, reason=reason, released_on=today),
        key=measure.id,
    )
    await refresh_codes(session=session, person_ids=[person.id], today=today, policy=policy)
    await session.commit()
    return measure


async def follow_up(*, session: AsyncSession, principal: Principal, measure: Measure, person: Person, data, now: datetime) -> FollowUp:
    today = local_date(now)
    active = current_status(measure, today) == "active"
    if not accountability.may_follow_up(active=active, fever=person.fever_celsius is not None):
        raise Conflict("Follow-ups are recorded on an active measure.", code="measure_not_active")
    policy = await policies.current(session=session)
    record = FollowUp(
        id=uuid.uuid4(), measure_id=measure.id, person_id=person.id, temperature=data.temperature,
        symptoms=list(data.symptoms), note=data.note, recorded_by=principal.username or principal.subject, recorded_at=now,
    )
    session.add(record)
    if active:
        await follow_up_duties.fulfil(session=session, person=person, measure=measure, follow_up_id=record.id, now=now, policy=policy)
    else:  # a fever re-check after the measure ended: it clears the flag and makes up what was missed
        await follow_up_duties.make_up(session=session, person=person, measure=measure, follow_up_id=record.id, now=now)
    # The latest reading decides: a fever turns the code yellow, a normal reading after it clears it.
    person.fever_celsius = data.temperature if data.temperature >= policy.follow_ups.fever_celsius else None
    audit.record(session=session, principal=principal, action="follow_up", entity="measure", entity_id=measure.id)
    await refresh_codes(session=session, person_ids=[person.id], today=today, policy=policy)
    await session.commit()
    return record


async def advance(*, session: AsyncSession, now: datetime) -> int:
    """Start measures whose day has come, end those whose last day has passed (completed, or kept active with
    their release blocked while the negative it needs is missing); recompute those people's codes."""
    today = local_date(now)
    query = select(Measure).where(
        or_(
            (Measure.status == "scheduled") & (Measure.starts_on <= today),
            (Measure.status == "active") & (Measure.ends_on < today) & Measure.release_blocked.is_(None),
        )
    ).limit(2000)
    query = skip_locked(session, query)  # replicas share the work, never double it
    moved = list((await session.execute(query)).scalars())
    if not moved:
        return 0
    policy = await policies.current(session=session)
    regions = dict(
        (await session.execute(select(Person.id, Person.region_code).where(Person.id.in_({m.person_id for m in moved})))).all()
    )
    ending = []
    for measure in moved:
        was = measure.status
        measure.status, measure.updated_at = status(measure.starts_on, measure.ends_on, today), now
        if measure.status == "completed":
            ending.append(measure)
        elif was == "scheduled" and measure.status == "active":  # the counters of measures in force follow it
            await outbox.add(session, evaluation.measure_event(registry.MeasureStarted, measure, regions[measure.person_id]), key=measure.id)
    await releases.block_or_complete(session=session, measures=ending, regions=regions, today=today, now=now, policy=policy)
    await refresh_codes(session=session, person_ids=list(regions), today=today, policy=policy)
    await session.commit()
    return len(moved)


async def settle_blocked(*, session: AsyncSession, now: datetime) -> int:
    """The clockwork's sweep of blocked measures whose negative arrived while they were being blocked."""
    people = await releases.blocked_people(session=session)
    policy = await policies.current(session=session)
    if people and await releases.settle(session=session, person_ids=people, now=now, policy=policy):
        await refresh_codes(session=session, person_ids=people, today=local_date(now), policy=policy)
    await session.commit()
    return len(people)
